"""Child process of the indexer's kill -9 drill: follow the devnet into the log until killed.

Usage: python kill9_follower.py OGMIOS_URL LOG_PATH VALIDATOR_HASH_HEX

It prints "following" once it has folded the log and is about to connect, so the parent can kill it at
a random moment of real work (reading the log, intersecting, writing blocks, checkpointing).
"""

from __future__ import annotations

import asyncio
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
    print("following", flush=True)
    asyncio.run(follower.run(url))


if __name__ == "__main__":
    main(*sys.argv[1:4])
