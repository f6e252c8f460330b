"""`milestoned rebuild` and `milestoned verify`: the store's two offline checks an operator runs by hand.

- `verify` checks the event log where it lies (hash chain, positions, and the head recorded outside the
  log), without a running daemon: a damaged log is exactly when the daemon may not start.
- `rebuild` moves the current store aside (kept, never deleted) and rebuilds the log from the chain from a
  point (`--from`, the recovery card, or the origin), shows its progress, and lists what only the old log
  held. It is what the daemon does by itself at start when the store fails verification.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

EXIT_PROBLEM = 1
EXIT_CONFIG = 2


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="the daemon's TOML configuration")


def add_rebuild_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="the daemon's TOML configuration")
    parser.add_argument(
        "--from",
        dest="start",
        metavar="POINT",
        help="rebuild from this chain point: 'origin' or SLOT.HEADER_HASH (default: the recovery card's "
        "earliest schedule, else the origin)",
    )
    parser.add_argument(
        "--card",
        type=Path,
        metavar="FILE",
        help="the recovery card to rebuild from (default: store.recovery_card, else the data directory's)",
    )


def _config(path: Path | None, **overrides: Any) -> Any:
    from milestoned.shared.config import ConfigError, load_config, with_overrides

    try:
        config = load_config(path)
    except ConfigError as exc:
        sys.stderr.write(f"milestoned: {exc}\n")
        return None
    return with_overrides(config, **overrides) if overrides else config


def verify_main(args: argparse.Namespace) -> int:
    config = _config(args.config)
    if config is None:
        return EXIT_CONFIG
    from milestoned.daemon.recovery import check_store

    check = check_store(config)
    where = config.store.log_url
    if check.sound:
        print(f"the event log at {where} verifies: hash chain intact, and it reaches its recorded head")
        return 0
    print(f"the event log at {where} does NOT verify:")
    for problem in check.problems:
        print(f"  - {problem}")
    print(
        "The daemon will not append to it: at its next start it moves the store aside (kept) and rebuilds "
        "the log from the chain; `milestoned rebuild` does the same now."
    )
    return EXIT_PROBLEM


def rebuild_main(args: argparse.Namespace) -> int:
    from milestoned.eventlog.recovery_card import parse_point

    overrides: dict[str, Any] = {}
    if args.card is not None:
        overrides["store"] = {"recovery_card": str(args.card)}
    config = _config(args.config, **overrides)
    if config is None:
        return EXIT_CONFIG
    start = None
    if args.start is not None:
        try:
            start = parse_point(args.start)
        except ValueError as exc:
            sys.stderr.write(f"milestoned rebuild: --from: {exc}\n")
            return EXIT_CONFIG
    from milestoned.daemon.logs import configure_logging

    configure_logging(config.log.format, "warning")
    return asyncio.run(_rebuild(config, start))


async def _rebuild(config: Any, start: Any) -> int:
    from milestoned.daemon.app import StartupError, running_daemon

    try:
        async with running_daemon(config, rebuild=True, rebuild_from=start) as daemon:
            service = daemon.service
            recovery = service.recovery
            print(f"rebuilding the event log from {recovery.to_json()['from']} ({recovery.source})")
            if recovery.moved_to:
                print(f"the previous store was moved aside to {recovery.moved_to}")
            while recovery.state == "recovering":
                await asyncio.sleep(2.0)
                progress = service.follower.progress() if service.follower is not None else None
                tip = service.link.tip_slot if service.link is not None else None
                position = getattr(progress.position, "slot", None) if progress is not None else None
                if position is not None and tip:
                    print(
                        f"  at slot {position} of {tip} ({100 * position // max(tip, 1)}%), "
                        f"{service.log.head().position} events"
                    )
            if recovery.state != "done":
                print(f"the rebuild was refused: {recovery.error}")
                return EXIT_PROBLEM
            print(f"done: {service.log.head().position} events, {len(service.index.schedules)} schedule(s)")
            for fact in recovery.local_only:
                print(f"only the old log held: {fact.description}\n  give it back: {fact.command}")
    except StartupError as exc:
        sys.stderr.write(f"milestoned rebuild: {exc}\n")
        return EXIT_PROBLEM
    return 0
