"""No database work on the daemon's event loop (issue 12, point 2): while another PostgreSQL connection holds
the event table locked, so that a commit's append waits inside the database, the same daemon answers
status, health, milestones and claimable on its socket and keeps sending systemd watchdog pings; the
commit completes once the lock is gone, written whole. The assertions are on the order of events (the
commit still unanswered while the others answer), never on durations."""

from __future__ import annotations

import select
import shutil
import socket
import uuid

import orjson
import pytest
from daemon_process import (
    Daemon,
    demo_attestations,
    example_schedule_document,
    read_line,
    short_folder,
    write_config,
)
from ha_cluster import drop_schema, store_url

from milestoned.eventlog.config import PostgresConfig

M1 = "M1-testnet-launch"
M2 = "M2-security-audit"


@pytest.mark.postgres
def test_a_locked_store_does_not_stall_socket_answers_or_the_watchdog(
    postgres_server: PostgresConfig,
) -> None:
    import psycopg

    schema = f"ol_{uuid.uuid4().hex[:12]}"
    folder = short_folder()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(folder / "notify.sock"))
    daemon = Daemon(
        write_config(folder, store={"url": store_url(postgres_server, schema)}),
        folder / "d.sock",
        folder / "daemon.log",
        env={"NOTIFY_SOCKET": str(folder / "notify.sock"), "WATCHDOG_USEC": "1000000"},
    )
    locker = psycopg.connect(**postgres_server.conninfo())  # type: ignore[arg-type]
    try:
        daemon.start()
        assert "error" not in daemon.call("schedule.register", {"schedule": example_schedule_document()})
        head = daemon.call("status")["result"]["log"]["position"]

        locker.execute(f'LOCK TABLE "{schema}".stored_events IN EXCLUSIVE MODE')  # appends now wait
        commit = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        commit.connect(str(daemon.socket_path))
        request = {"jsonrpc": "2.0", "id": 7, "method": "signature.commit"}
        commit.sendall(
            orjson.dumps({**request, "params": {"attestations": demo_attestations(M1, 2)}}) + b"\n"
        )
        daemon.wait_until(
            lambda: _append_waiting(postgres_server, schema), "the commit's append waits for the lock"
        )

        while select.select([notify], [], [], 0)[0]:  # pings from before: not evidence
            notify.recv(4096)
        for method in ("status", "health", "milestones", "claimable", "schedules", "submissions"):
            assert "result" in daemon.call(method), method
        notify.settimeout(30)
        assert b"WATCHDOG=1" in _next_ping(notify)
        assert _append_waiting(postgres_server, schema), "the lock was still held while they answered"
        assert not select.select([commit], [], [], 0)[0], "the commit answered while its append could not run"

        locker.rollback()  # the lock goes: the append runs
        commit.settimeout(60)
        answer = orjson.loads(read_line(commit))
        assert answer["result"]["committed"] == 2
        status = daemon.call("status")["result"]
        assert status["log"]["position"] >= head + 2
        assert daemon.call("log.verify")["result"]["ok"] is True
        states = {m["milestone"]: m for m in daemon.call("milestones")["result"]}
        assert states[M1]["signatures"] == 2

        # the database ends the append's session while it waits inside its transaction: the append is
        # retried on a new connection or refused, never half-written, and the signature is there once
        locker.execute(f'LOCK TABLE "{schema}".stored_events IN EXCLUSIVE MODE')
        commit.sendall(
            orjson.dumps({**request, "params": {"attestations": demo_attestations(M2, 2)}}) + b"\n"
        )
        daemon.wait_until(lambda: _append_waiting(postgres_server, schema), "the second append waits")
        assert _terminate_waiting_append(postgres_server, schema) == 1
        locker.rollback()
        second = orjson.loads(read_line(commit))
        assert "result" in second or second["error"]["message"], second
        assert daemon.call("log.verify")["result"]["ok"] is True
        states = {m["milestone"]: m for m in daemon.call("milestones")["result"]}
        assert states[M2]["signatures"] == (2 if "result" in second else 0)
        assert daemon.call("log.replay")["result"]["equal"] is True
    except BaseException:
        print(daemon.logs()[-6000:])
        raise
    finally:
        locker.close()
        notify.close()
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)
        drop_schema(postgres_server, schema)


def _append_waiting(server: PostgresConfig, schema: str) -> bool:
    import psycopg

    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
            "JOIN pg_namespace n ON c.relnamespace = n.oid "
            "WHERE c.relname = 'stored_events' AND n.nspname = %s AND NOT l.granted",
            (schema,),
        ).fetchone()
    return bool(row and row[0])


def _terminate_waiting_append(server: PostgresConfig, schema: str) -> int:
    import psycopg

    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        rows = conn.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
            "JOIN pg_namespace n ON c.relnamespace = n.oid "
            "WHERE c.relname = 'stored_events' AND n.nspname = %s AND NOT l.granted",
            (schema,),
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


def _next_ping(notify: socket.socket) -> bytes:
    while True:
        message = notify.recv(4096)
        if b"WATCHDOG=1" in message:
            return message
