"""High availability figures (issue 12): chaos with kill -9, takeover time, and socket latency during a
catch-up.

- `ha.kills`, `ha.takeover_s` (median, from the kill to the follower's health answer saying leader),
  `ha.duplicate_submissions` (must be 0), `ha.lost_events` (must be 0): two daemons on one PostgreSQL
  schema and a devnet, auto-release running and an admin committing signatures, the leader killed with
  `kill -9` KILLS times at seeded random moments (every third restart dies inside its next submission,
  after its intent or after its send). Then the log is audited, verified and replayed
  (`ha.verify_ok`, `ha.replay_equal`: 1 when true). Floor: `ha.takeover_floor_s`, the followers' retry
  interval (a takeover cannot be noticed sooner).
- `ha.sqlite_kills`, `ha.sqlite_duplicate_submissions`, `ha.sqlite_lost_events`: the same with one daemon
  on SQLite, restarted after each kill.
- `ha.catch_up_status_p99_ms` / `ha.catch_up_claimable_p99_ms`: socket answers while the daemon catches
  its projections up over CATCH_UP_EVENTS events (store work in worker threads, not on the loop), next to
  the floor `ha.idle_status_p99_ms`, the same query once caught up.

PostgreSQL figures need a server on 127.0.0.1:5432; without one they are reported missing, not invented.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "daemon"))

from daemon_process import Daemon, short_folder, write_config
from devnet_process import devnet_thread
from ha_chaos import chaos, fund, operator_key, settle_and_audit, signed_and_due
from ha_cluster import cluster

from milestoned.eventlog import EventLog
from milestoned.eventlog.config import PostgresConfig, SQLiteConfig
from milestoned.eventlog.events import Event, ReleaseSubmitted, SubmissionFailed
from milestoned.eventlog.testing import postgres_for_tests, postgres_unreachable_reason

KILLS = 20
SQLITE_KILLS = 20
SEED = 1212
ALLOCATIONS = 60
TAKEOVER_S = 6.0
CATCH_UP_EVENTS = 100_000
CLIENTS = 8


def _release(wallet: Path) -> dict[str, Any]:
    return {"wallet_key": str(wallet), "auto": True, "interval_seconds": 2, "validity_seconds": 60}


def _signed(daemon: Daemon, devnet: Any, admin: Any) -> str:
    return signed_and_due(daemon, devnet, admin, ALLOCATIONS)


def _postgres_chaos(server: PostgresConfig) -> dict[str, float]:
    with devnet_thread() as devnet:
        folder = short_folder()
        wallet = operator_key(folder)
        admin = fund(devnet, wallet)
        sections = {"release": _release(wallet), "ha": {"takeover_seconds": TAKEOVER_S}}
        with cluster(server, devnet.url, **sections) as group:
            daemons = [group.add("d0"), group.add("d1")]
            for daemon in daemons:
                daemon.start()
            leader = daemons[0].wait_until(group.leader, "a leader")
            schedule_id = _signed(leader, devnet, admin)
            store = group.store
            report = chaos(daemons, schedule_id, store, kills=KILLS, seed=SEED, hook_every=3)
            devnet.call(lambda d: d.advance(400))  # past every validity: inherited intents may expire
            settle_and_audit(daemons, store, report, timeout=600)
        shutil.rmtree(folder, ignore_errors=True)
    for problem in report.problems:
        print(f"  problem: {problem}")
    print(
        f"  postgres: {report.kills} kills (+{report.hook_deaths} inside a submission), takeover median "
        f"{report.takeover_median_s:.2f} s (max {max(report.takeovers_s):.2f} s; followers retry every "
        f"{TAKEOVER_S / 3:.2f} s), terms {report.terms[:3]}…{report.terms[-1:]}, "
        f"{report.releases_confirmed} allocations released, duplicates {report.duplicate_submissions}, "
        f"lost {report.lost_events}, twice {report.duplicated_events}, verify {report.verify_ok}, "
        f"replay equal {report.replay_equal}"
    )
    return {
        "ha.kills": report.kills,
        "ha.kills_inside_submission": report.hook_deaths,
        "ha.takeover_s": report.takeover_median_s,
        "ha.takeover_max_s": max(report.takeovers_s),
        "ha.takeover_retry_s": TAKEOVER_S / 3,
        "ha.election_floor_s": _election_floor(server),
        "ha.duplicate_submissions": report.duplicate_submissions,
        "ha.lost_events": report.lost_events + report.duplicated_events,
        "ha.releases_confirmed": report.releases_confirmed,
        "ha.verify_ok": float(report.verify_ok),
        "ha.replay_equal": float(report.replay_equal),
    }


def _election_floor(server: PostgresConfig, rounds: int = 20) -> float:
    """Median seconds of one election round on a free lock, with the fenced `LeaderElected` append."""
    import uuid

    from ha_cluster import drop_schema

    from milestoned.daemon.leadership import PostgresElection
    from milestoned.eventlog.events import LeaderElected

    schema = f"hb_{uuid.uuid4().hex[:12]}"
    config = PostgresConfig(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        dbname=server.dbname,
        schema=schema,
    )
    samples = []
    try:
        with EventLog(config) as log:
            for _ in range(rounds):
                election = PostgresElection(config, "bench", TAKEOVER_S)
                begun = time.perf_counter()
                elected = election.try_lead()
                log.fence = election.fence(elected.term)
                log.head(refresh=True)
                log.append([LeaderElected(term=elected.term, leader="bench")])
                samples.append(time.perf_counter() - begun)
                election.close()
    finally:
        drop_schema(server, schema)
    floor = statistics.median(samples)
    print(f"  floor: one election round on a free lock {floor * 1000:.1f} ms (median of {rounds})")
    return floor


def _sqlite_chaos() -> dict[str, float]:
    with devnet_thread() as devnet:
        folder = short_folder()
        wallet = operator_key(folder)
        admin = fund(devnet, wallet)
        config = write_config(
            folder, chain={"ogmios_url": devnet.url, "start": "origin"}, release=_release(wallet)
        )
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        try:
            daemon.start()
            schedule_id = _signed(daemon, devnet, admin)
            store = SQLiteConfig(folder / "data" / "events.db")
            report = chaos([daemon], schedule_id, store, kills=SQLITE_KILLS, seed=SEED, hook_every=3)
            settle_and_audit([daemon], store, report, timeout=600)
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)
    for problem in report.problems:
        print(f"  problem: {problem}")
    print(
        f"  sqlite: {report.kills} kills (+{report.hook_deaths} inside a submission), "
        f"{report.releases_confirmed} allocations released, duplicates {report.duplicate_submissions}, "
        f"lost {report.lost_events}, twice {report.duplicated_events}, verify {report.verify_ok}, "
        f"replay equal {report.replay_equal}"
    )
    return {
        "ha.sqlite_kills": report.kills,
        "ha.sqlite_kills_inside_submission": report.hook_deaths,
        "ha.sqlite_duplicate_submissions": report.duplicate_submissions,
        "ha.sqlite_lost_events": report.lost_events + report.duplicated_events,
    }


def _build_log(path: Path, events: int) -> None:
    """`events` local events (release submissions and their failures: each a projection row)."""
    with EventLog(SQLiteConfig(path)) as log:
        batch: list[Event] = []
        for n in range(events // 2):
            tx_id = n.to_bytes(32, "big").hex()
            batch.append(
                ReleaseSubmitted(tx_id=tx_id, allocation_refs=(f"{tx_id}#0",), validity_upper_slot=1)
            )
            batch.append(SubmissionFailed(tx_id=tx_id, reason="bench"))
            if len(batch) >= 2000:
                log.append(batch)
                batch = []
        if batch:
            log.append(batch)


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _catch_up_latency() -> dict[str, float]:
    folder = short_folder()
    try:
        started = time.perf_counter()
        _build_log(folder / "data" / "events.db", CATCH_UP_EVENTS)
        print(f"  built a log of {CATCH_UP_EVENTS} events in {time.perf_counter() - started:.1f} s")
        daemon = Daemon(write_config(folder), folder / "d.sock", folder / "daemon.log")
        daemon.start(states=("synced", "syncing", "disconnected", "failing"))
        try:
            samples: dict[str, list[float]] = {"status": [], "claimable": []}
            done = threading.Event()

            def client(method: str) -> None:
                while not done.is_set():
                    begun = time.perf_counter()
                    answer = daemon.call(method)
                    samples[method].append(time.perf_counter() - begun)
                    assert "result" in answer, answer

            def caught_up() -> bool:
                status = daemon.call("status")["result"]
                return bool(status["projections"]["position"] == status["log"]["position"])

            threads = [
                threading.Thread(target=client, args=("status" if i % 2 else "claimable",), daemon=True)
                for i in range(CLIENTS)
            ]
            begun = time.perf_counter()
            for thread in threads:
                thread.start()
            daemon.wait_until(caught_up, "the projections caught up", timeout=600)
            catch_up_s = time.perf_counter() - begun
            done.set()
            for thread in threads:
                thread.join(60)
            during = {m: list(s) for m, s in samples.items()}
            idle = []
            for _ in range(200):
                begun = time.perf_counter()
                daemon.call("status")
                idle.append(time.perf_counter() - begun)
        finally:
            daemon.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures = {
        "ha.catch_up_s": catch_up_s,
        "ha.catch_up_status_p99_ms": _p99(during["status"]),
        "ha.catch_up_claimable_p99_ms": _p99(during["claimable"]),
        "ha.idle_status_p99_ms": _p99(idle),
    }
    print(
        f"  catch-up of {CATCH_UP_EVENTS} events: {catch_up_s:.1f} s with {CLIENTS} socket clients; "
        f"status p99 "
        f"{figures['ha.catch_up_status_p99_ms']:.1f} ms ({len(during['status'])} answers), claimable p99 "
        f"{figures['ha.catch_up_claimable_p99_ms']:.1f} ms; floor: idle status p99 "
        f"{figures['ha.idle_status_p99_ms']:.1f} ms, median {statistics.median(idle) * 1000:.1f} ms"
    )
    return figures


def run() -> dict[str, float]:
    figures = _catch_up_latency()
    server = postgres_for_tests()
    reason = postgres_unreachable_reason(server)
    if reason is None:
        figures.update(_postgres_chaos(server))
    else:
        print(f"  PostgreSQL chaos not measured: {reason}")
    figures.update(_sqlite_chaos())
    return figures


if __name__ == "__main__":
    print(run())
