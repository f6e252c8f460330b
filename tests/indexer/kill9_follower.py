"""Child processes of the indexer's kill -9 drill: followers of the devnet into the log until killed.

Usage: python kill9_follower.py OGMIOS_URL LOG_PATH VALIDATOR_HASH_HEX   (one follower)
       python kill9_follower.py --serve                                (a fork server, for the drill)

A follower prints "following PID" once it has opened the log and is about to connect, so the parent can
kill it at a random moment of real work (reading the log, intersecting, writing blocks, checkpointing).

Why a fork server (tests/fork_server.py): the imports (pycardano above all) take over a second, and the
drill starts twenty followers. `start STDERR_PATH URL LOG_PATH VALIDATOR_HASH` forks one; it answers
`following PID` itself once it has opened the log.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pycardano import Network

from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.filter import WatchedContract
from milestoned.indexer.follower import ChainFollower


def main(url: str, log_path: str, validator_hash: str) -> None:
    event_log = EventLog(SQLiteConfig(Path(log_path)))
    config = FollowerConfig(
        start="origin", checkpoint_every_blocks=2, checkpoint_every_seconds=0.05, in_flight=20
    )
    follower = ChainFollower(
        event_log, WatchedContract(bytes.fromhex(validator_hash), Network.TESTNET), config
    )
    print(f"following {os.getpid()}", flush=True)
    asyncio.run(follower.run(url))


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fork server
        from fork_server import serve

        serve(main)
    else:
        main(*sys.argv[1:4])
