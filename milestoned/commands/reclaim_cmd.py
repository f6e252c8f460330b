"""`milestonectl reclaim`: after the reclaim deadline, the admin takes back the unreleased allocations.

The daemon checks the deadline against chain time before building anything. With `--admin-address` and
`--unsigned-out DIR` it builds the transactions unsigned (the usual path: the admin's key stays with the
admin, in cardano-cli or a hardware wallet), and this command writes them as text envelopes to sign and
then submit with `milestonectl tx submit`. Without them the daemon's operator wallet signs and submits,
which the scripts only accept when that wallet is the schedule's admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.commands.daemon_cmd import show_refused, with_iso_times
from milestoned.commands.output import CommandError, ExitCode, Output
from milestoned.commands.socket_client import call
from milestoned.commands.textfiles import write_envelopes


def reclaim(
    socket: Path,
    schedule_id: str,
    allocations: list[str],
    admin_address: str | None,
    unsigned_out: Path | None,
    dry_run: bool,
    out: Output,
) -> int:
    check_admin_path(admin_address, unsigned_out)
    params: dict[str, Any] = {"schedule_id": schedule_id, "dry_run": dry_run}
    if allocations:
        params["allocations"] = allocations

    def summary(result: dict[str, Any], transactions: int, allocations: int) -> list[str]:
        fee = result["plan"]["total_fee_lovelace"]
        return [
            f"{'dry run: ' if dry_run else ''}{transactions} reclaim transaction(s) for {allocations} "
            f"allocation(s), fee {fee} lovelace"
        ]

    return run_for_admin(
        AdminCall(socket, "reclaim", params, admin_address, unsigned_out, "reclaim"),
        out,
        summary,
        "not reclaimed",
    )


# --- what a reclaim and a cancellation (`cancel_cmd`, a kind of reclaim) share ----------------------------


def check_admin_path(admin_address: str | None, unsigned_out: Path | None) -> None:
    """The admin signs elsewhere (both given) or the operator wallet signs here (neither)."""
    if (admin_address is None) != (unsigned_out is None):
        raise CommandError(
            "--admin-address and --unsigned-out go together",
            "give both to get unsigned transactions for the admin to sign, or neither to have the daemon's "
            "operator wallet (when it is the admin) sign and submit",
        )


@dataclass(frozen=True)
class AdminCall:
    """A daemon method that takes allocations back to the admin: `params` without the admin's address,
    and `files`, the name of the unsigned files (FILES-N.unsigned.json)."""

    socket: Path
    method: str
    params: dict[str, Any]
    admin_address: str | None
    unsigned_out: Path | None
    files: str


def run_for_admin(
    request: AdminCall,
    out: Output,
    summary: Callable[[dict[str, Any], int, int], list[str]],
    refused_verb: str,
) -> int:
    """Call the method, write the unsigned transactions it answers, and show the outcome: `summary`
    (of the answer, its transaction and allocation counts) says what was built, `refused_verb` what
    happened to the allocations it left out."""
    params = dict(request.params)
    if request.admin_address:
        params["admin_address"] = request.admin_address
    result = call(request.socket, request.method, params)
    written: list[str] = []
    if request.unsigned_out is not None:
        written = write_envelopes(request.unsigned_out, request.files, result.get("unsigned", []))
    if out.json_mode:
        out.emit_json({"ok": True, "result": with_iso_times(result), "written": written})
        return ExitCode.OK
    plan = result["plan"]
    taken = sum(len(t.get("allocations", [])) for t in plan["transactions"])
    for line in summary(result, len(plan["transactions"]), taken):
        out.line(line)
    for tx_id in result.get("submitted", []):
        out.line(f"submitted {tx_id}", style="green")
    if written:
        out.line(
            f"unsigned transactions written to {request.unsigned_out}/{request.files}-N.unsigned.json: sign "
            "them with the admin key (cardano-cli conway transaction sign, or the hardware wallet) and "
            "submit them with `milestonectl tx submit FILE...`"
        )
    show_refused(out, plan.get("refused", []), refused_verb)
    return ExitCode.OK
