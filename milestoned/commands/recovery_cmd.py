"""`milestonectl recovery card`: the daemon's recovery card, to keep somewhere the data disk is not.

The card (schedule ids, the chain points of their registrations, the log head) is what a rebuild of a
lost log from the chain starts from, and a copy of the head published off the machine; see
docs/operations.md, "Disaster recovery".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from milestoned.commands.output import CommandError, ExitCode, Output


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    group = sub.add_parser(
        "recovery", help="the recovery card (operators)", description="the recovery card (operators)"
    )
    group.set_defaults(group_parser=group)
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    card = actions.add_parser(
        "card",
        help="print (or write) the daemon's recovery card, to keep off the data disk",
        description="The schedule ids this daemon knows, the chain point of each one's first registration "
        "transaction and the point a rebuild starts from, and the event log's head (position, hash). "
        "`milestoned rebuild --card FILE` and the daemon's auto-recovery rebuild the log from it.",
        epilog=epilog,
    )
    card.add_argument("--output", type=Path, metavar="FILE", help="write the card to FILE instead")
    card.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    card.add_argument("--socket", type=Path, default=argparse.SUPPRESS, help="the daemon's socket")
    card.set_defaults(handler=run_card)


def run_card(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.socket_client import call, socket_path

    document = call(socket_path(getattr(args, "socket", None)), "recovery.card")
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.output is None:
        out.emit_json(document)
        return ExitCode.OK
    try:
        args.output.write_text(text)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc}", "choose a writable path") from None
    out.line(
        f"recovery card written to {args.output}: {len(document['schedules'])} schedule(s), log head at "
        f"position {document['log_head']['position']}"
    )
    return ExitCode.OK
