"""Child process of the kill -9 drill: append blocks and run catch-up forever, until killed.

Usage: python kill9_appender.py LOG_URL PROJECTIONS_URL JOURNAL SEED   (one appender)
       python kill9_appender.py --serve                                 (a fork server, for the drill)

After every acknowledged append it writes the new head position to JOURNAL, so the parent can check
that nothing acknowledged was ever lost. On start it resumes the simulated chain from the log itself,
exactly as the indexer resumes from its cursor. It prints "appending PID" once started. The drill forks
its twenty appenders from a server that imported these modules once (tests/fork_server.py).
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from milestoned.eventlog.config import parse_store_url
from milestoned.eventlog.events import Event
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import TEST_SLOTS, ChainSimulator, make_schedule, oracle_signature
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore


def main(log_url: str, projections_url: str, journal_path: str, seed: str) -> None:
    print(f"appending {os.getpid()}", flush=True)
    log = EventLog(parse_store_url(log_url))
    projections = ProjectionStore(parse_store_url(projections_url))
    projector = Projector(log, projections, TEST_SLOTS, batch_size=7)
    rng = random.Random(int(seed))
    if log.head().position == 0:
        log.append([make_schedule(0), make_schedule(1)])
    simulator = ChainSimulator.resume((e.event for e in log.iter_events()), rng=rng)
    with open(journal_path, "a", buffering=1) as journal:
        while True:
            draw = rng.random()
            batch: list[Event]
            if draw < 0.08 and simulator.chain:
                batch = [simulator.rollback(rng.randint(1, 5))]
            elif draw < 0.2:
                batch = [oracle_signature(rng.randrange(2), rng.randrange(3), rng.choice(["01", "02"]))]
            else:
                batch = simulator.next_block(max_locks=5, max_exits=3)
            head = log.append(batch)
            journal.write(f"{head.position}\n")
            if rng.random() < 0.5:
                projector.catch_up_once()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fork server
        from fork_server import serve

        serve(main)
    else:
        main(*sys.argv[1:5])
