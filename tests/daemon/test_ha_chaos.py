"""Chaos, short (issue 12, point 4; the long run is `bench/ha.py`): the writing daemon is killed with
`kill -9` while auto-release runs and an admin commits signatures, once at a random (seeded) moment and
once inside a submission (after its intent is recorded, before it is sent), on PostgreSQL with a second
daemon taking over, and on SQLite with the one daemon restarted. Afterwards: no allocation in two live
submissions, nothing acknowledged lost, nothing twice, `log verify` passes, a replay equals the live
projections, and releases did happen."""

from __future__ import annotations

import shutil

import pytest
from daemon_process import SETTLE_SECONDS, Daemon, short_folder, write_config
from devnet_process import devnet_thread
from ha_chaos import chaos, fund, operator_key, settle_and_audit, signed_and_due
from ha_cluster import cluster

from milestoned.eventlog.config import PostgresConfig, SQLiteConfig

ALLOCATIONS = 12
KILLS = 2
SQLITE_KILLS = 2
SEED = 12


def _release(wallet: str) -> dict[str, object]:
    return {
        "wallet_key": wallet,
        "auto": True,
        "interval_seconds": 2,
        "validity_seconds": 60,
        "settle_seconds": SETTLE_SECONDS,
    }


def _start_signed(daemon: Daemon, devnet: object, admin: object) -> str:
    return signed_and_due(daemon, devnet, admin, ALLOCATIONS)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_chaos_on_postgresql_two_daemons(postgres_server: PostgresConfig) -> None:
    with devnet_thread() as devnet:
        folder = short_folder()
        wallet = operator_key(folder)
        admin = fund(devnet, wallet)
        with cluster(
            postgres_server, devnet.url, release=_release(str(wallet)), ha={"takeover_seconds": 3}
        ) as group:
            daemons = [group.add("d0"), group.add("d1")]
            for daemon in daemons:
                daemon.start()
            leader = daemons[0].wait_until(group.leader, "a leader")
            schedule_id = _start_signed(leader, devnet, admin)
            store = group.store
            report = chaos(daemons, schedule_id, store, kills=KILLS, seed=SEED, hook_every=2)
            devnet.call(lambda d: d.advance(400))  # past every validity: inherited intents may expire
            settle_and_audit(daemons, store, report)
            logs = "\n".join(d.logs() for d in daemons)
        shutil.rmtree(folder, ignore_errors=True)
    assert report.kills == KILLS and len(report.takeovers_s) == KILLS
    assert report.hook_kills >= 1
    assert report.duplicate_submissions == 0, report.problems
    assert report.lost_events == 0, report.problems
    assert report.duplicated_events == 0, report.problems
    assert report.verify_ok and report.replay_equal
    assert len(report.terms) >= KILLS + 1 and report.terms == sorted(report.terms)
    assert report.releases_confirmed > 0, "no release happened during the run"
    assert "Traceback" not in logs


def test_chaos_on_sqlite_one_daemon_restarted() -> None:
    with devnet_thread() as devnet:
        folder = short_folder()
        wallet = operator_key(folder)
        admin = fund(devnet, wallet)
        config = write_config(
            folder, chain={"ogmios_url": devnet.url, "start": "origin"}, release=_release(str(wallet))
        )
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        try:
            daemon.start()
            schedule_id = _start_signed(daemon, devnet, admin)
            store = SQLiteConfig(folder / "data" / "events.db")
            report = chaos([daemon], schedule_id, store, kills=SQLITE_KILLS, seed=SEED, hook_every=2)
            settle_and_audit([daemon], store, report)
            logs = daemon.logs()
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)
    assert report.kills == SQLITE_KILLS and report.hook_kills >= 1
    assert report.hook_deaths >= 1, "no daemon died inside a submission"
    assert report.duplicate_submissions == 0, report.problems
    assert report.lost_events == 0, report.problems
    assert report.duplicated_events == 0, report.problems
    assert report.verify_ok and report.replay_equal
    assert report.terms == []  # one daemon on SQLite: no elections
    assert report.releases_confirmed > 0, "no release happened during the run"
    assert "Traceback" not in logs
