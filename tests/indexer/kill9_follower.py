"""Child processes of the indexer's kill -9 drill: followers of the devnet into the log until killed.

Usage: python kill9_follower.py OGMIOS_URL LOG_PATH VALIDATOR_HASH_HEX   (one follower)
       python kill9_follower.py --serve                                (a fork server, for the drill)

A follower prints "following PID" once it has opened the log and is about to connect, so the parent can
kill it at a random moment of real work (reading the log, intersecting, writing blocks, checkpointing).

Why a fork server: the imports (pycardano above all) take over a second, and the drill starts twenty
followers. The server pays them once and forks each follower from there; a forked follower opens the log
and connects to Ogmios itself, as a new interpreter would, and it is killed with SIGKILL all the same.
Lines on its stdin: `follow URL LOG_PATH VALIDATOR_HASH STDERR_PATH` forks one (it answers `following
PID` itself, its stderr in STDERR_PATH); `kill PID` answers `killed CODE` when the follower was still
running (then killed with SIGKILL, CODE its exit code: -9) or `exited CODE` when it had ended by itself.
On end of input the server kills the followers still running and exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import traceback
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


def serve() -> None:
    running: set[int] = set()
    print("ready", flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "follow":
            url, log_path, validator_hash, stderr_path = arguments
            pid = os.fork()
            if pid == 0:  # the follower: never returns into this loop
                try:
                    os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
                    main(url, log_path, validator_hash)
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(1)
            running.add(pid)
        elif command == "kill":
            pid = int(arguments[0])
            ended, status = os.waitpid(pid, os.WNOHANG)
            if not ended:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            running.discard(pid)
            print(f"{'exited' if ended else 'killed'} {os.waitstatus_to_exitcode(status)}", flush=True)
    for pid in running:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main(*sys.argv[1:4])
