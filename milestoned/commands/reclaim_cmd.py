"""`milestonectl reclaim`: after the reclaim deadline, the admin takes back the unreleased allocations.

The daemon checks the deadline against chain time before building anything. With `--admin-address` and
`--unsigned-out DIR` it builds the transactions unsigned (the usual path: the admin's key stays with the
admin, in cardano-cli or a hardware wallet), and this command writes them as text envelopes to sign and
then submit with `milestonectl tx submit`. Without them the daemon's operator wallet signs and submits,
which the scripts only accept when that wallet is the schedule's admin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from milestoned.commands.daemon_cmd import show_refused, with_iso_times
from milestoned.commands.output import CommandError, ExitCode, Output
from milestoned.commands.socket_client import call


def reclaim(
    socket: Path,
    schedule_id: str,
    allocations: list[str],
    admin_address: str | None,
    unsigned_out: Path | None,
    dry_run: bool,
    out: Output,
) -> int:
    if (admin_address is None) != (unsigned_out is None):
        raise CommandError(
            "--admin-address and --unsigned-out go together",
            "give both to get unsigned transactions for the admin to sign, or neither to have the daemon's "
            "operator wallet (when it is the admin) sign and submit",
        )
    params: dict[str, Any] = {"schedule_id": schedule_id, "dry_run": dry_run}
    if allocations:
        params["allocations"] = allocations
    if admin_address:
        params["admin_address"] = admin_address
    result = call(socket, "reclaim", params)
    written: list[str] = []
    if unsigned_out is not None:
        unsigned_out.mkdir(parents=True, exist_ok=True)
        for number, envelope in enumerate(result.get("unsigned", []), start=1):
            target = unsigned_out / f"reclaim-{number}.unsigned.json"
            target.write_text(json.dumps(envelope, indent=2) + "\n")
            written.append(str(target))
    if out.json_mode:
        out.emit_json({"ok": True, "result": with_iso_times(result), "written": written})
        return ExitCode.OK
    plan = result["plan"]
    reclaimed = sum(len(t.get("allocations", [])) for t in plan["transactions"])
    out.line(
        f"{'dry run: ' if dry_run else ''}{len(plan['transactions'])} reclaim transaction(s) for {reclaimed} "
        f"allocation(s), fee {plan['total_fee_lovelace']} lovelace"
    )
    for tx_id in result.get("submitted", []):
        out.line(f"submitted {tx_id}", style="green")
    if written:
        out.line(
            f"unsigned transactions written to {unsigned_out}/reclaim-N.unsigned.json: sign them with the "
            "admin key (cardano-cli conway transaction sign, or the hardware wallet) and submit them with "
            "`milestonectl tx submit FILE...`"
        )
    show_refused(out, plan.get("refused", []), "not reclaimed")
    return ExitCode.OK
