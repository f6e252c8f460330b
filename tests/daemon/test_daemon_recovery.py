"""The chain as the source of truth: a lost, truncated or dropped store is rebuilt from the chain.

The real daemon (in-process, its real socket) follows a devnet that outlives it, as a cardano-node does.
A schedule is registered on chain, its first milestone signed and released, a second milestone signed
but not released (a fact only the local log holds). Then the store is damaged in the ways an operator
meets (the newest rows deleted, a hash digit flipped in the file, the file truncated, the data directory
lost, the PostgreSQL schema dropped, rows deleted there) and the daemon
restarted: it must rebuild the log from the chain, starting at the recovery card it kept outside the data
directory, and answer `milestones`, `claimable` and `schedules` as before; what only the old log held is
listed with the command that commits it again, and that command gives the rest back.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from daemon_process import eventually, pass_vesting
from rich.console import Console

from milestoned.daemon.app import RunningDaemon, StartupError, running_daemon
from milestoned.daemon.demo_wiring import commit_demo_signatures, demo_config, register_demo_schedule, rpc
from milestoned.devnet.service import Devnet, run_devnet
from milestoned.eventlog.config import PostgresConfig
from milestoned.eventlog.testing import postgres_for_tests
from milestoned.shared.config import DaemonConfig, with_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1, M2 = "M1-testnet-launch", "M2-security-audit"


@dataclass
class Shim:
    """What `register_demo_schedule` needs of a daemon: its devnet (here one that outlives it)."""

    devnet: Devnet
    service: Any


@asynccontextmanager
async def daemon(config: DaemonConfig) -> AsyncIterator[tuple[RunningDaemon, Path]]:
    async with running_daemon(config) as running:
        yield running, Path(config.socket.path)


def config_for(folder: Path, devnet: Devnet, card: Path, store_url: str = "") -> DaemonConfig:
    return with_overrides(
        demo_config(folder),
        chain={"ogmios_url": devnet.url, "network": "devnet", "start": "tip"},
        store={"data_dir": str(folder), "url": store_url, "recovery_card": str(card)},
        release={"auto": False, "wallet_key": str(folder.parent / "operator.skey")},
    )


async def snapshot(sock: Path) -> dict[str, Any]:
    """What a user sees: schedules, milestone states and every allocation's state."""
    milestones = await rpc(sock, "milestones")
    claimable = (await rpc(sock, "claimable"))["allocations"]
    return {
        "schedules": sorted(s["schedule_id"] for s in await rpc(sock, "schedules")),
        "milestones": sorted(
            (
                m["schedule_id"],
                m["milestone"],
                m["signatures"],
                m["quorum_reached"],
                m["allocations_locked"],
                m["allocations_released"],
            )
            for m in milestones
        ),
        "allocations": sorted(
            (a["allocation"], a["amount"], a["released"], a["reclaimed"]) for a in claimable
        ),
    }


async def recovered(sock: Path) -> dict[str, Any]:
    async def done() -> Any:
        status = await rpc(sock, "status")
        recovery = status["recovery"]
        return status if recovery is not None and recovery["state"] == "done" else None

    return await eventually(done, "the rebuild from the chain to finish")


async def live_schedule(running: RunningDaemon, sock: Path, devnet: Devnet) -> tuple[str, dict[str, Any]]:
    """Register on chain, release M1 (2 signatures), and leave one M2 signature unused."""
    schedule_id = await register_demo_schedule(Shim(devnet, running.service), EXAMPLES, Console(quiet=True))
    await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
    await pass_vesting(devnet, sock, schedule_id, M1)

    async def m1_claimable() -> bool:
        rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        return all(r["claimable_now"] for r in rows if r["milestone"] == M1)

    await eventually(m1_claimable, "M1 to vest")
    m1 = sorted(
        a["allocation"]
        for a in (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        if a["milestone"] == M1
    )
    await rpc(sock, "release", {"schedule_id": schedule_id, "allocations": m1})

    async def released() -> bool:
        rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        return all(r["released"] for r in rows if r["milestone"] == M1)

    await eventually(released, "the release to be seen on chain")
    from milestoned.daemon.demo_wiring import demo_seed
    from milestoned.domain.attestation import sign_attestation

    m2 = sign_attestation(demo_seed("oracle-3"), bytes.fromhex(schedule_id), M2.encode())
    await rpc(
        sock,
        "signature.commit",
        {
            "attestations": [
                {
                    "schedule_id": schedule_id,
                    "milestone_id": M2,
                    "oracle_key": m2.oracle_key.hex(),
                    "signature": m2.signature.hex(),
                }
            ]
        },
    )
    before = await snapshot(sock)
    assert next(m for m in before["milestones"] if m[1] == M2)[2] == 1  # the unused signature counts

    async def settled() -> bool:  # its outcome comes after the M2 signature in the log
        subs = await rpc(sock, "submissions")
        return bool(subs) and all(s["status"] == "confirmed" for s in subs)

    await eventually(settled, "the release's submission to be confirmed")
    return schedule_id, before


async def second_daemon_agrees(folder: Path, devnet: Devnet, before: dict[str, Any]) -> None:
    folder.mkdir()
    config = with_overrides(
        config_for(folder, devnet, folder / "card.json"),
        chain={"ogmios_url": devnet.url, "network": "devnet", "start": "origin"},
        follow={"all": True},
    )
    async with daemon(config) as (_, sock):

        async def synced() -> Any:
            status = await rpc(sock, "status")
            return status["state"] == "synced" and status["projections"]["ready"]

        await eventually(synced, "the second daemon to sync")
        await eventually(
            lambda: _same_allocations(sock, before), "the second daemon to see every allocation", timeout=180
        )
        after = await snapshot(sock)
        assert after["schedules"] == before["schedules"]
        assert [m for m in after["milestones"] if m[1] != M2] == [
            m for m in before["milestones"] if m[1] != M2
        ]
        [m2] = [m for m in after["milestones"] if m[1] == M2]
        assert m2[2] == 0  # the committed-but-unused signature is the first daemon's local fact


async def _same_allocations(sock: Path, before: dict[str, Any]) -> bool:
    return (await snapshot(sock))["allocations"] == before["allocations"]


def delete_newest_rows(database: Path, count: int) -> None:
    with sqlite3.connect(database) as db:
        db.execute(
            "DELETE FROM stored_events WHERE rowid IN (SELECT rowid FROM stored_events "
            f"ORDER BY originator_version DESC LIMIT {count})"
        )


def _checkpointed(database: Path) -> bytes:
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return database.read_bytes()


def flip_a_hash_digit(database: Path) -> None:
    """One hex digit of a stored record's hash changed in the file itself (bit rot, or a hand edit)."""
    data = bytearray(_checkpointed(database))
    at = data.index(b'"h":"', data.index(b'"h":"') + 1) + 5
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    database.write_bytes(bytes(data))


def truncate_file(database: Path) -> None:
    """The file cut short (a full disk while copying it back, a bad restore)."""
    size = len(_checkpointed(database))
    with open(database, "r+b") as handle:
        handle.truncate(size // 2)


def delete_newest_pg_rows(server: PostgresConfig, schema: str, count: int) -> None:
    import psycopg

    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(
            f'DELETE FROM "{schema}".stored_events WHERE originator_version > '
            f'(SELECT max(originator_version) - {count} FROM "{schema}".stored_events)'
        )


def drop_schema(server: PostgresConfig, schema: str) -> None:
    import psycopg

    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Any:
    if request.param == "sqlite":
        return None
    server: PostgresConfig = request.getfixturevalue("postgres_server")
    return server


async def test_a_damaged_then_lost_store_is_rebuilt_from_the_chain(backend: PostgresConfig | None) -> None:
    schema = f"rc_{uuid.uuid4().hex[:12]}"
    server = backend or postgres_for_tests()
    store_url = "" if backend is None else f"{server.describe().split('?')[0]}?schema={schema}"
    with tempfile.TemporaryDirectory(prefix="mrc-", dir="/tmp") as top:
        folder, card = Path(top) / "data", Path(top) / "card.json"
        folder.mkdir()
        try:
            async with run_devnet(port=0, slot_length=0.2) as devnet:
                config = config_for(folder, devnet, card, store_url)
                async with daemon(config) as (running, sock):
                    schedule_id, before = await live_schedule(running, sock, devnet)
                    await eventually(
                        lambda: _card_names(card, schedule_id), "the recovery card to be written"
                    )
                    from milestoned.commands.cli import main as milestonectl

                    exported = Path(top) / "exported-card.json"
                    argv = ["--socket", str(sock), "recovery", "card", "--output", str(exported)]
                    assert await asyncio.to_thread(milestonectl, argv) == 0
                    card_document = orjson.loads(exported.read_bytes())
                    assert [s["schedule_id"] for s in card_document["schedules"]] == [schedule_id]
                    assert card_document["log_head"]["position"] > 0
                    # 0. A second daemon that follows every schedule of the validator, from scratch on the
                    # same chain, sees the same chain facts (not the unused M2 signature: local to the first)
                    await second_daemon_agrees(Path(top) / "second", devnet, before)

                # 1. The newest rows deleted (SQLite) or the schema dropped (PostgreSQL): caught, moved aside,
                # rebuilt; the unused M2 signature is listed with the command that gives it back.
                if backend is None:
                    delete_newest_rows(folder / "events.db", 1)
                else:
                    drop_schema(server, schema)
                async with daemon(config) as (running, sock):
                    status = await recovered(sock)
                    recovery = status["recovery"]
                    assert recovery["source"].startswith("recovery card")
                    assert any(
                        ("cut off" in r or "missing" in r or "anchor" in r) for r in recovery["reasons"]
                    ), recovery["reasons"]
                    assert recovery["moved_aside_to"]
                    after = await snapshot(sock)
                    assert after["schedules"] == before["schedules"]
                    assert after["allocations"] == before["allocations"]
                    assert [m for m in after["milestones"] if m[1] == M1] == [
                        m for m in before["milestones"] if m[1] == M1
                    ]  # the release's signatures came back from the chain
                    if backend is None:  # the damaged SQLite copy is readable: its local facts are listed
                        [fact] = recovery["local_only"]
                        assert fact["kind"] == "oracle_signature" and M2 in fact["description"]
                        path = fact["command"].split()[-1]
                        attestation = orjson.loads(Path(path).read_bytes())
                        await rpc(sock, "signature.commit", {"attestations": [attestation]})
                        assert await snapshot(sock) == before
                    [listed] = await rpc(sock, "schedules")
                    assert listed["source"] == "discovered on chain" and listed["rebuild_from"]

                # 1b. More damage of the kinds met in the field, each caught at start and rebuilt.
                damages = (
                    [flip_a_hash_digit, truncate_file]
                    if backend is None
                    else [lambda _: delete_newest_pg_rows(server, schema, 2)]
                )
                for damage in damages:
                    damage(folder / "events.db")
                    async with daemon(config) as (running, sock):
                        status = await recovered(sock)
                        assert status["recovery"]["moved_aside_to"], damage
                        assert (await snapshot(sock))["allocations"] == before["allocations"], damage
                        assert (await rpc(sock, "log.verify"))["ok"] is True

                # 2. The data directory lost (a dead disk, a new server): the card kept elsewhere suffices.
                shutil.rmtree(folder)
                folder.mkdir()
                if backend is not None:
                    drop_schema(server, schema)
                async with daemon(config) as (running, sock):
                    status = await recovered(sock)
                    assert status["recovery"]["moved_aside_to"] == ""  # nothing was there to move
                    after = await snapshot(sock)
                    assert after["allocations"] == before["allocations"]
                    assert after["schedules"] == before["schedules"]
                    assert (await rpc(sock, "log.verify"))["ok"] is True
                    assert (await rpc(sock, "log.replay"))["equal"] is True

                # 3. `milestoned rebuild --from origin` by hand: the sound store is moved aside all the same.
                from milestoned.daemon.store_cmd import _rebuild
                from milestoned.eventlog.events import ChainPoint

                assert await _rebuild(config, ChainPoint.origin()) == 0
                assert len(list(folder.glob("damaged-*"))) == 1
                async with daemon(config) as (running, sock):
                    assert (await rpc(sock, "status"))["recovery"] is None  # a sound log: used as it is
                    assert (await snapshot(sock))["allocations"] == before["allocations"]
        finally:
            if backend is not None:
                drop_schema(server, schema)
                import psycopg

                with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
                    for (name,) in conn.execute(
                        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
                        (f"{schema}_damaged_%",),
                    ).fetchall():
                        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _card_names(card: Path, schedule_id: str) -> Awaitable[bool]:
    async def check() -> bool:
        try:
            document = orjson.loads(card.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return False
        return any(s["schedule_id"] == schedule_id for s in document["schedules"])

    return check()


async def test_a_card_off_the_chain_is_refused_and_changes_wait() -> None:
    with tempfile.TemporaryDirectory(prefix="mrc-", dir="/tmp") as top:
        folder, card = Path(top) / "data", Path(top) / "card.json"
        folder.mkdir()
        card.write_bytes(
            orjson.dumps(
                {
                    "card": "milestoned/recovery-card/v1",
                    "network": "devnet",
                    "log_head": {"position": 10, "hash": "ab" * 32},
                    "schedules": [
                        {
                            "schedule_id": "cd" * 28,
                            "registered_at": f"900000.{'ef' * 32}",
                            "rebuild_from": f"899000.{'01' * 32}",
                        }
                    ],
                }
            )
        )
        async with run_devnet(port=0, slot_length=0.2) as devnet:
            config = config_for(folder, devnet, card)
            async with daemon(config) as (_, sock):

                async def refused() -> Any:
                    status = await rpc(sock, "status")
                    return status if status["recovery"]["state"] == "refused" else None

                status = await eventually(refused, "the card to be refused", timeout=180)
                assert status["state"] == "recovering"
                assert (
                    "899000" in status["recovery"]["error"]
                    and "not on the node's chain" in (status["recovery"]["error"])
                )
                with pytest.raises(RuntimeError, match="being rebuilt from the chain"):
                    await rpc(sock, "signature.commit", {"attestations": []})
                assert (await rpc(sock, "schedules")) == []  # reads still answer

            card.write_bytes(b'{"card": "milestoned/recovery-card/v1", "network": "preprod"}')
            with pytest.raises(StartupError, match="for 'preprod' but this daemon follows 'devnet'"):
                async with daemon(config):
                    pass
