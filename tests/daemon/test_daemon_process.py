"""The real daemon process on the embedded devnet, through its real Unix socket and HTTP endpoint."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from daemon_process import (
    REPO,
    Daemon,
    demo_attestations,
    example_schedule_document,
    read_line,
    running,
    short_folder,
)
from devnet_process import free_port

M1 = "M1-testnet-launch"


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    folder = short_folder()
    with running(folder, socket={"max_request_bytes": 65536}, http={"port": free_port()}) as started:
        yield started


def result(answer: dict[str, object]) -> object:
    assert "error" not in answer, answer
    return answer["result"]


def test_status_and_health_answer_on_the_socket(daemon: Daemon) -> None:
    status = result(daemon.call("status"))
    assert isinstance(status, dict)
    assert status["network"] == "devnet"
    assert str(status["embedded_devnet"]).startswith("ws://127.0.0.1:")
    assert status["caller"]["uid"] == os.getuid()
    health = daemon.wait_until(
        lambda: (h := result(daemon.call("health"))) and h["state"] == "synced" and h, "synced"
    )
    assert health["node_tip_slot"] is not None and health["lag_slots"] is not None
    # The socket answers before the indexer's first write; once synced, the start point is in the log.
    synced_status = result(daemon.call("status"))
    assert isinstance(synced_status, dict)
    assert synced_status["log"]["position"] >= 1


def test_socket_is_created_0660(daemon: Daemon) -> None:
    mode = stat.S_IMODE(daemon.socket_path.stat().st_mode)
    assert stat.S_ISSOCK(daemon.socket_path.stat().st_mode)
    assert mode == 0o660


def test_http_health_and_metrics(daemon: Daemon) -> None:
    port = None
    for line in daemon.logs().splitlines():
        if "metrics and health endpoint listening" in line:
            port = orjson.loads(line)["port"]
    assert port, daemon.logs()
    daemon.wait_until(lambda: result(daemon.call("health"))["state"] == "synced", "synced")  # type: ignore[index]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
        health = orjson.loads(response.read())
    assert health["state"] == "synced" and health["connected"] is True
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert "milestoned_log_position" in text and "milestoned_ogmios_connected 1.0" in text
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=10)
    assert missing.value.code == 404


def test_bad_requests_get_errors_and_the_daemon_keeps_serving(daemon: Daemon) -> None:
    before = result(daemon.call("status"))["log"]["position"]  # type: ignore[index]
    malformed = daemon.raw(b'{"jsonrpc": "2.0", "id": 1, "method": \n')
    assert malformed["error"]["code"] == -32700 and "not valid JSON" in malformed["error"]["message"]
    unknown = daemon.call("no.such.method")
    assert unknown["error"]["code"] == -32601 and "status" in unknown["error"]["data"]["hint"]
    wrong = daemon.call("milestones", {"schedule_id": 42})
    assert wrong["error"]["code"] == -32602 and "schedule_id" in wrong["error"]["message"]
    extra = daemon.call("status", {"verbose": True})
    assert extra["error"]["code"] == -32602
    not_rpc = daemon.raw(b"[1, 2, 3]\n")
    assert not_rpc["error"]["code"] == -32600
    bad_schedule = daemon.call("schedule.register", {"schedule": {"network": "devnet"}})
    assert bad_schedule["error"]["code"] == -32010
    assert any(e["path"] for e in bad_schedule["error"]["data"]["errors"])
    oversized = daemon.raw(
        b'{"jsonrpc": "2.0", "id": 7, "method": "status", "params": {"x": "' + b"a" * 70000
    )
    assert oversized["error"]["code"] == -32002 and "65536" in oversized["error"]["message"]
    # several requests on one connection, the bad one in the middle does not end the conversation
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(daemon.socket_path))
        sock.sendall(
            b'{"jsonrpc":"2.0","id":1,"method":"health"}\nnot json\n'
            b'{"jsonrpc":"2.0","id":3,"method":"health"}\n'
        )
        answers = [orjson.loads(line) for line in _lines(sock, 3)]
    assert [a["id"] for a in answers] == [1, None, 3]
    assert "result" in answers[0] and answers[1]["error"]["code"] == -32700 and "result" in answers[2]
    assert daemon.process is not None and daemon.process.poll() is None
    after = result(daemon.call("status"))["log"]["position"]  # type: ignore[index]
    assert after >= before  # nothing lost (the indexer may have checkpointed meanwhile)
    assert result(daemon.call("log.verify"))["ok"] is True  # type: ignore[index]


def _lines(sock: socket.socket, count: int) -> list[bytes]:
    buffer = b""
    while buffer.count(b"\n") < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return buffer.split(b"\n")[:count]


def test_signature_commit_reaches_quorum_and_is_idempotent(daemon: Daemon) -> None:
    registered = result(daemon.call("schedule.register", {"schedule": example_schedule_document()}))
    assert isinstance(registered, dict)
    schedule_id = registered["schedule_id"]
    again = result(daemon.call("schedule.register", {"schedule": example_schedule_document()}))
    assert again["already_registered"] is True and again["registered"] is False  # type: ignore[index]

    one, two = demo_attestations(M1, 2)
    first = result(daemon.call("signature.commit", {"attestations": [one]}))
    assert first["committed"] == 1  # type: ignore[index]
    assert first["milestones"][0]["quorum_reached"] is False  # type: ignore[index]
    second = result(daemon.call("signature.commit", {"attestations": [one, two]}))
    assert second["committed"] == 1 and second["duplicates"] == 1  # type: ignore[index]
    states = result(daemon.call("milestones", {"schedule_id": schedule_id}))
    assert isinstance(states, list)
    by_name = {s["milestone"]: s for s in states}
    assert by_name[M1]["quorum_reached"] is True and by_name[M1]["signatures"] == 2
    assert by_name["M2-security-audit"]["quorum_reached"] is False

    tampered = dict(demo_attestations("M2-security-audit", 1)[0])
    tampered["milestone_id"] = "M3-mainnet-launch"  # signed for M2, claimed for M3
    head = result(daemon.call("status"))["log"]["position"]  # type: ignore[index]
    refused = daemon.call("signature.commit", {"attestations": [tampered]})
    assert refused["error"]["code"] == -32010
    assert "does not verify" in refused["error"]["data"]["problems"][0]["message"]
    # a valid cancellation (the oracle signed that M2 will never be delivered) is no attestation
    [cancellation] = demo_attestations("M2-security-audit", 1, cancel=True)
    refused = daemon.call("signature.commit", {"attestations": [cancellation]})
    assert refused["error"]["code"] == -32010
    assert refused["error"]["data"]["problems"][0]["message"] == (
        "attestation 1: is a cancellation of milestone 'M2-security-audit' (attest sign --cancel), not an "
        "attestation: it never counts toward a release; commit only attestation files (a quorum's "
        "cancellations go to `milestonectl milestone cancel`)"
    )
    # ... and the daemon process's own cancellation method (issue 15) checks the files before anything is
    # built: one oracle short of the quorum, a milestone the schedule lacks, attestations as cancellations
    # (a cancellation carried out on the process, and the pause and the move: test_governance_process.py)
    cancel = {"schedule_id": schedule_id, "milestone": "M2-security-audit", "dry_run": True}
    short = daemon.call("milestone.cancel", {**cancel, "cancellations": [cancellation]})
    assert short["error"]["code"] == -32010
    assert (
        "1 valid cancellation signature(s) of distinct oracles, of the 2 required"
        in short["error"]["message"]
    )
    unknown = daemon.call(
        "milestone.cancel",
        {
            **cancel,
            "milestone": "M9-unknown",
            "cancellations": demo_attestations("M9-unknown", 2, cancel=True),
        },
    )
    assert f"schedule {schedule_id} has no milestone 'M9-unknown'" in unknown["error"]["message"]
    attested = daemon.call(
        "milestone.cancel", {**cancel, "cancellations": demo_attestations("M2-security-audit", 2)}
    )
    assert attested["error"]["data"]["problems"][0].startswith(
        "cancellation file 1 is an attestation of milestone 'M2-security-audit' (`attest sign`), "
        "not a cancellation"
    )
    logged = [e for e in _events(daemon) if e["topic"].startswith("OracleSignatureCommitted")]
    assert len(logged) == 2
    assert result(daemon.call("status"))["log"]["position"] >= head  # type: ignore[index]

    replay = result(daemon.call("log.replay"))
    assert replay["equal"] is True and replay["events_replayed"] >= 4  # type: ignore[index]


def _events(daemon: Daemon) -> list[dict[str, object]]:
    from milestoned.eventlog import EventLog, SQLiteConfig

    with EventLog(SQLiteConfig(daemon.config.parent / "data" / "events.db")) as log:
        return [{"topic": e.event.topic, "position": e.position} for e in log.iter_events()]


def ask_as(path: Path, requests: list[bytes], uid: int | None) -> list[bytes]:
    """Send `requests` on one connection from a forked child running as `uid` (no exec: the venv's
    interpreter may not be readable by that user); the answers come back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to `uid`, talk, report, and leave without running pytest's cleanup
        status = 1
        try:
            os.close(read_end)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(30)
                sock.connect(str(path))
                answers = b""
                for request in requests:
                    sock.sendall(request + b"\n")
                    answers += read_line(sock) + b"\n"
            os.write(write_end, answers)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the read-only client failed"
    return b"".join(chunks).splitlines()


def test_read_only_caller_may_query_but_not_change(tmp_path: Path) -> None:
    folder = short_folder()
    if os.getuid() == 0:
        # root is always an admin, so the read-only caller is `nobody`, allowed in by the socket's group
        sections = {"socket": {"group": "nogroup", "admin_uids": [12345]}}
        as_user: int | None = 65534
    else:
        sections = {"socket": {"admin_uids": [os.getuid() + 1]}}
        as_user = None
    with running(folder, **sections) as daemon:
        requests = [
            b'{"jsonrpc":"2.0","id":1,"method":"status"}',
            orjson.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "schedule.register",
                    "params": {"schedule": example_schedule_document()},
                }
            ),
            b'{"jsonrpc":"2.0","id":3,"method":"signature.commit","params":{"attestations":[]}}',
        ]
        lines = ask_as(daemon.socket_path, requests, as_user)
        status, register, commit = (orjson.loads(line) for line in lines)
        assert status["result"]["caller"]["admin"] is False
        assert register["error"]["code"] == -32001 and "not an admin" in register["error"]["message"]
        assert commit["error"]["code"] == -32001
        assert result(daemon.call("schedules")) == []  # nothing was registered


def test_committed_events_survive_sigkill_and_sigterm_stops_cleanly() -> None:
    folder = short_folder()
    with running(folder) as daemon:
        registered = result(daemon.call("schedule.register", {"schedule": example_schedule_document()}))
        result(daemon.call("signature.commit", {"attestations": demo_attestations(M1, 2)}))
        head = result(daemon.call("status"))["log"]["position"]  # type: ignore[index]
        assert daemon.process is not None
        os.kill(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=30)
        daemon.start()  # the stale socket file is replaced
        status = result(daemon.call("status"))
        assert status["log"]["position"] >= head  # type: ignore[index]
        states = result(daemon.call("milestones", {"schedule_id": registered["schedule_id"]}))  # type: ignore[index]
        assert {s["milestone"]: s["quorum_reached"] for s in states}[M1] is True  # type: ignore[union-attr]
        assert result(daemon.call("log.verify"))["ok"] is True  # type: ignore[index]
        assert result(daemon.call("log.replay"))["equal"] is True  # type: ignore[index]
        topics = [e["topic"] for e in _events(daemon)]
        assert topics.count("ScheduleRegistered/v1") == 1
        assert topics.count("OracleSignatureCommitted/v1") == 2

        code = daemon.signal(signal.SIGTERM)
        assert code == 0, daemon.logs()[-3000:]
        assert not daemon.socket_path.exists()
        assert '"stopped"' in daemon.logs()


def test_milestonectl_talks_to_the_daemon(daemon: Daemon) -> None:
    env = {**os.environ, "MILESTONED_SOCKET": str(daemon.socket_path)}

    def ctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "milestoned.commands.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
            cwd=REPO,
        )

    status = ctl("status", "--json")
    assert status.returncode == 0, status.stderr
    assert orjson.loads(status.stdout)["result"]["network"] == "devnet"
    register = ctl("--json", "schedule", "register", str(REPO / "examples" / "schedule.json"), "--dry-run")
    assert register.returncode == 0, register.stderr
    assert orjson.loads(register.stdout)["result"]["registered"] is False
    waited = ctl("status", "--wait", "--timeout", "60")
    assert waited.returncode == 0 and "synced" in waited.stdout
    table = ctl("milestones")
    assert table.returncode == 0 and "milestone" in table.stdout
    verify = ctl("log", "verify")
    assert verify.returncode == 0 and "event log OK" in verify.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "milestoned.commands.cli", "--socket", "/tmp/no-such.sock", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2 and "no daemon socket" in missing.stderr and "fix:" in missing.stderr


def test_doctor_checks_and_says_how_to_fix(daemon: Daemon, tmp_path: Path) -> None:
    key = tmp_path / "operator.skey"
    key.write_text((REPO / "examples" / "admin.skey").read_text())
    key.chmod(0o644)
    env = {**os.environ, "MILESTONED_RELEASE_WALLET_KEY": str(key)}
    done = subprocess.run(
        [sys.executable, "-m", "milestoned.commands.cli", "--json", "doctor", "--config", str(daemon.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    report = orjson.loads(done.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["ogmios reachable"]["status"] == "ok"
    assert checks["network magic"]["status"] == "ok" and "42" in checks["network magic"]["detail"]
    assert checks["socket mode"]["status"] == "ok" and checks["daemon answers"]["status"] == "ok"
    assert checks["store"]["status"] == "ok"
    assert checks["wallet key"]["status"] == "fail" and "chmod 600" in checks["wallet key"]["fix"]
    assert done.returncode == 1 and report["ok"] is False

    key.chmod(0o600)
    fixed = subprocess.run(
        [sys.executable, "-m", "milestoned.commands.cli", "--json", "doctor", "--config", str(daemon.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stdout
    gone = subprocess.run(
        [sys.executable, "-m", "milestoned.commands.cli", "doctor", "--socket", str(tmp_path / "none.sock")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MILESTONED_STORE_DATA_DIR": str(tmp_path)},
    )
    assert gone.returncode == 1 and "no socket at" in gone.stdout and "start the daemon" in gone.stdout


def test_systemd_notify_ready_watchdog_and_stopping() -> None:
    from daemon_process import write_config

    folder = short_folder()
    notify_path = folder / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(60)
        config = write_config(folder)
        daemon = Daemon(
            config,
            folder / "d.sock",
            folder / "daemon.log",
            env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "1000000"},
        )
        daemon.start()
        try:
            messages: list[str] = []
            while not any("WATCHDOG=1" in m for m in messages):
                messages.append(notify.recv(4096).decode())
            assert any(m.startswith("READY=1") for m in messages)
            assert daemon.signal(signal.SIGTERM) == 0
            while not any("STOPPING=1" in m for m in messages):
                messages.append(notify.recv(4096).decode())
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)
