"""`milestoned`: the daemon's command line.

Sub-commands are registered here as the units that implement them arrive; each one lives in its own
module and this file only wires them to argparse, so the CLI never grows logic of its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from milestoned import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestoned",
        description=(
            "Milestone-based token distribution on Cardano. Follows the chain through Ogmios, keeps an "
            "append-only event log and serves milestonectl over a Unix socket."
        ),
    )
    parser.add_argument("--version", action="version", version=f"milestoned {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from milestoned.daemon.run_cmd import add_arguments as add_run_arguments

    add_run_arguments(
        sub.add_parser(
            "run",
            help="run the daemon: follow the chain, keep the event log, serve milestonectl on a Unix socket",
            description="Run milestoned with a TOML configuration (every key overridable by "
            "MILESTONED_<SECTION>_<KEY> environment variables). Runs under systemd as Type=notify with a "
            "watchdog; SIGTERM stops it gracefully.",
        )
    )
    demo = sub.add_parser(
        "demo",
        help="the daemon on the embedded devnet with the example schedule live on chain (`make run`)",
        description="Start milestoned on the embedded devnet, register the example schedule on chain "
        "through the daemon's socket, commit two demo oracle signatures and let auto-release pay the first "
        "milestone. Then keep running so that milestonectl can be pointed at the socket it prints.",
    )
    demo.add_argument(
        "--examples",
        type=Path,
        default=Path("examples"),
        help="folder with schedule.json and the demo keys (default: ./examples of a source checkout)",
    )
    demo.add_argument(
        "--linger",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds once the demo is set up (default: run until Ctrl-C)",
    )
    demo.add_argument(
        "--exit-after-release",
        action="store_true",
        help="stop as soon as the first auto-release is confirmed on chain (for scripted rehearsals)",
    )
    from milestoned.daemon.store_cmd import add_rebuild_arguments, add_verify_arguments

    add_verify_arguments(
        sub.add_parser(
            "verify",
            help="verify the event log offline (hash chain and recorded head), without a running daemon",
            description="Check the configured event log where it lies: every record's hash and link, dense "
            "positions, and that the log still reaches the head recorded outside it (log-head.json). "
            "Exit 0 when it verifies, 1 when it does not (each problem with its position).",
        )
    )
    add_rebuild_arguments(
        sub.add_parser(
            "rebuild",
            help="move the store aside and rebuild the event log from the chain (from a point or the card)",
            description="Move the current store aside (kept under damaged-<time>, never deleted), follow the "
            "chain from --from, the recovery card's earliest schedule or the origin, until the node's tip, "
            "and list what only the old log held with the command that commits it again.",
        )
    )
    from milestoned.devnet.cli import add_arguments as add_devnet_arguments

    add_devnet_arguments(
        sub.add_parser(
            "devnet",
            help="run a local Cardano devnet that speaks Ogmios v6 (for tests, demos and rehearsals)",
            description="A local Conway chain with real ledger rules and Plutus V3, served as Ogmios v6 "
            "over WebSocket. Prints the network start time, the Ogmios URL and the funded addresses; "
            "Ctrl-C stops it.",
        )
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "run":
        from milestoned.daemon.run_cmd import main as run_command

        return run_command(args)
    if args.command == "demo":
        from milestoned.daemon.demo_wiring import main as run_demo

        return run_demo(args.examples, linger_s=args.linger, exit_after_release=args.exit_after_release)
    if args.command in ("verify", "rebuild"):
        from milestoned.daemon import store_cmd

        return store_cmd.verify_main(args) if args.command == "verify" else store_cmd.rebuild_main(args)
    if args.command == "devnet":
        from milestoned.devnet.cli import main as run_devnet_command

        return run_devnet_command(args)
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
