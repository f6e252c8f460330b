"""milestonectl commands that talk to the daemon: status, schedule register, signature commit, queries,
release, and the auditor's log verify / log replay.

Each command sends one request (the daemon does the checking and the committing), then prints the answer
as rich tables, or, with --json, exactly the daemon's answer wrapped as {"ok": true, ...}. Files are read
here, on the caller's side (a schedule's .vkey paths are relative to the caller's file), and sent as
content: the daemon never opens a path a client names.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from milestoned.commands.output import Column, CommandError, ExitCode, Output, verdict_style
from milestoned.commands.socket_client import DaemonClient, call
from milestoned.commands.textfiles import SMALL_FILE_MAX_BYTES, read_text
from milestoned.domain.timestamps import format_timestamp


def _ok(out: Output, result: Any) -> None:
    out.emit_json({"ok": True, "result": result})


def _time(ms: int | None) -> str:
    return "" if ms is None else format_timestamp(ms)


def _short(text: str, keep: int = 12) -> str:
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep:]}"


# --- status --------------------------------------------------------------------------------------------


def status(socket: Path, out: Output, wait: bool = False, wait_timeout_s: float = 3600.0) -> int:
    if wait:
        return _wait_until_synced(socket, out, wait_timeout_s)
    result = call(socket, "status")
    if out.json_mode:
        _ok(out, result)
        return ExitCode.OK
    health = result["health"]
    out.fields(
        f"milestoned {result['version']} on {result['network']}",
        [
            ("state", result["state"]),
            *((f"problem: {p['check']}", p["reason"]) for p in health.get("problems", [])),
            (
                "ogmios",
                result["ogmios_url"] + (" (embedded devnet)" if result.get("embedded_devnet") else ""),
            ),
            ("node tip slot", str(health["node_tip_slot"])),
            ("indexer slot", str(health["indexer_slot"])),
            ("lag (slots)", str(health["lag_slots"])),
            ("log head", f"{result['log']['position']} {_short(result['log']['hash'])}"),
            ("log store", result["log"]["store"]),
            ("projection position", str(result["projections"]["position"])),
            ("schedules", str(result["schedules"])),
            ("pending submissions", str(result["pending_submissions"])),
            ("auto-release", "on" if result["auto_release"] else "off"),
            (
                "you",
                f"uid {result['caller']['uid']} ({'admin' if result['caller']['admin'] else 'read-only'})",
            ),
        ],
    )
    return ExitCode.OK


def _wait_until_synced(socket: Path, out: Output, timeout_s: float) -> int:
    """Show a progress bar of the indexer's slot against the node's tip until the daemon is synced."""
    deadline = time.monotonic() + timeout_s
    with DaemonClient(socket) as client:
        first = client.call("health")
        if out.json_mode:
            while first["state"] not in ("synced", "failing") and time.monotonic() < deadline:
                time.sleep(1.0)
                first = client.call("health")
            _ok(out, first)
            return ExitCode.OK if first["state"] == "synced" else ExitCode.FAILED
        start_slot = first["indexer_slot"] or 0
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=out.stdout,
            transient=False,
        ) as progress:
            task = progress.add_task("syncing", total=1.0, detail="")
            health = first
            while True:
                tip, ours = health["node_tip_slot"], health["indexer_slot"]
                if tip is not None and ours is not None and tip > start_slot:
                    done = max(0.0, min(1.0, (ours - start_slot) / max(1, tip - start_slot)))
                else:
                    done = 0.0
                progress.update(
                    task,
                    completed=1.0 if health["state"] == "synced" else done,
                    description=health["state"],
                    detail=f"slot {ours} of {tip}, lag {health['lag_slots']}",
                )
                if health["state"] in ("synced", "failing") or time.monotonic() >= deadline:
                    break
                time.sleep(1.0)
                health = client.call("health")
    if health["state"] == "failing":
        raise CommandError(
            "the daemon is failing: "
            + "; ".join(f"{p['check']}: {p['reason']}" for p in health.get("problems", [])),
            "fix what the problems name; `milestonectl doctor` checks the setup",
            ExitCode.FAILED,
        )
    if health["state"] != "synced":
        raise CommandError(
            f"the daemon is still {health['state']} after {timeout_s:.0f} s",
            "check `milestonectl doctor` and the daemon's log",
            ExitCode.FAILED,
        )
    return ExitCode.OK


def _syncing_note(client: DaemonClient, out: Output) -> None:
    if out.json_mode:
        return
    health = client.call("health")
    if health["state"] != "synced":
        out.line(
            f"note: the daemon is {health['state']} (lag "
            f"{health['lag_slots']} slots); answers may lag the chain "
            "(`milestonectl status --wait` shows progress)",
            style="yellow",
        )


# --- schedule register -----------------------------------------------------------------------------------


def schedule_register(
    socket: Path, file: Path, dry_run: bool, admin_address: str | None, unsigned_out: Path | None, out: Output
) -> int:
    from milestoned.commands.schedule_source import load_schedule
    from milestoned.domain.schedule_canonical import schedule_document

    definition = load_schedule(file)  # every problem at once, before bothering the daemon
    params: dict[str, Any] = {"schedule": schedule_document(definition), "dry_run": dry_run}
    if admin_address:
        params["admin_address"] = admin_address
    result = call(socket, "schedule.register", params)
    transactions = result.get("transactions")
    if unsigned_out is not None and transactions:
        unsigned_out.mkdir(parents=True, exist_ok=True)
        for number, envelope in enumerate(transactions["unsigned"], start=1):
            (unsigned_out / f"register-{number}.unsigned.json").write_text(
                json.dumps(envelope, indent=2) + "\n"
            )
    if out.json_mode:
        _ok(out, result)
        return ExitCode.OK
    if dry_run:
        verdict = "dry run: nothing was recorded"
    elif result["registered"]:
        verdict = f"registered (log position {result['log_position']})"
    else:
        verdict = "already registered (nothing new recorded)"
    out.fields(
        f"schedule {result['schedule_id']}",
        [
            ("result", verdict),
            ("validator address", result["validator_address"]),
            ("network", result["network"]),
            ("oracles / quorum", f"{result['oracles']} / {result['quorum']}"),
            ("milestones", ", ".join(result["milestones"])),
            ("allocations", str(result["allocations"])),
            ("total amount", str(result["total_amount"])),
        ],
    )
    if transactions:
        plan = transactions["plan"]
        out.line(
            f"{len(plan['transactions'])} registration transaction(s), "
            f"total fee {plan['total_fee_lovelace']} lovelace"
        )
        if unsigned_out is not None:
            out.line(
                "unsigned transactions written to "
                f"{unsigned_out}/register-N.unsigned.json: sign them with the "
                "admin key (cardano-cli conway transaction sign) and "
                "submit with `milestonectl tx submit FILE...`"
            )
    return ExitCode.OK


# --- signatures ------------------------------------------------------------------------------------------


def signature_commit(socket: Path, files: list[Path], out: Output) -> int:
    attestations = [read_text(f, "attestation file", SMALL_FILE_MAX_BYTES) for f in files]
    result = call(socket, "signature.commit", {"attestations": attestations})
    if out.json_mode:
        _ok(out, result)
        return ExitCode.OK
    out.table(
        f"{result['committed']} committed, {result['duplicates']} already committed",
        (Column("file"), Column("milestone"), Column("oracle", no_wrap=True), Column("result")),
        [
            (str(files[r["index"]]), r["milestone"], _short(r["oracle_key"]), r["status"])
            for r in result["results"]
        ],
    )
    _milestone_table(out, result["milestones"], "quorum now")
    return ExitCode.OK


# --- queries ---------------------------------------------------------------------------------------------


def _milestone_table(out: Output, rows: list[dict[str, Any]], title: str) -> None:
    out.table(
        title,
        (
            Column("schedule", no_wrap=True),
            Column("milestone"),
            Column("signatures"),
            Column("quorum"),
            Column("locked"),
            Column("released"),
            Column("reclaimed"),
        ),
        [
            (
                _short(r["schedule_id"], 8),
                r["milestone"],
                f"{r['signatures']}/{r['quorum']}",
                "reached" if r["quorum_reached"] else "pending",
                f"{r['allocations_locked']} ({r['amount_locked']})",
                f"{r['allocations_released']} ({r['amount_released']})",
                f"{r['allocations_reclaimed']} ({r['amount_reclaimed']})",
            )
            for r in rows
        ],
    )


def milestones(socket: Path, schedule_id: str | None, out: Output) -> int:
    with DaemonClient(socket) as client:
        _syncing_note(client, out)
        result = client.call("milestones", {"schedule_id": schedule_id} if schedule_id else {})
    if out.json_mode:
        _ok(out, result)
    elif not result:
        out.line("no milestones yet: register a schedule with `milestonectl schedule register FILE`")
    else:
        _milestone_table(out, result, "milestones")
    return ExitCode.OK


def claimable(socket: Path, beneficiary: str | None, schedule_id: str | None, out: Output) -> int:
    params: dict[str, Any] = {}
    if beneficiary:
        params["beneficiary"] = beneficiary
    if schedule_id:
        params["schedule_id"] = schedule_id
    with DaemonClient(socket) as client:
        _syncing_note(client, out)
        result = client.call("claimable", params)
    if out.json_mode:
        _ok(out, result)
        return ExitCode.OK
    rows = result["allocations"]
    if not rows:
        out.line("no locked allocations" + (f" for {beneficiary}" if beneficiary else ""))
        return ExitCode.OK

    def state(r: dict[str, Any]) -> str:
        if r["released"]:
            return "released"
        if r["reclaimed"]:
            return "reclaimed"
        if r["in_flight"]:
            return "release in flight"
        if r["claimable_now"]:
            return "claimable now"
        if not r["milestone_verified"]:
            return "waiting for oracles"
        return f"vests {_time(r['next_unlock_ms'])}"

    out.table(
        "allocations",
        (
            Column("beneficiary", no_wrap=True),
            Column("allocation", no_wrap=True),
            Column("milestone"),
            Column("amount"),
            Column("status"),
        ),
        [
            (_short(r["beneficiary"]), _short(r["allocation"]), r["milestone"], str(r["amount"]), state(r))
            for r in rows
        ],
    )
    totals = result["claimable_now_by_beneficiary"]
    out.table(
        "claimable now",
        (Column("beneficiary", no_wrap=True), Column("amount")),
        [(b, str(a)) for b, a in sorted(totals.items())],
    )
    return ExitCode.OK


def submissions(socket: Path, out: Output) -> int:
    result = call(socket, "submissions")
    if out.json_mode:
        _ok(out, result)
    elif not result:
        out.line("no release transactions submitted by this daemon")
    else:
        out.table(
            "submissions",
            (Column("tx", no_wrap=True), Column("allocations"), Column("valid until slot"), Column("status")),
            [
                (s["tx_id"], str(len(s["allocations"])), str(s["validity_upper_slot"]), s["status"])
                for s in result
            ],
        )
    return ExitCode.OK


# --- release and transactions ------------------------------------------------------------------------------


def release(
    socket: Path,
    schedule_id: str,
    allocations: list[str],
    beneficiary: str | None,
    dry_run: bool,
    out: Output,
) -> int:
    params: dict[str, Any] = {"schedule_id": schedule_id, "dry_run": dry_run}
    if allocations:
        params["allocations"] = allocations
    if beneficiary:
        params["beneficiary"] = beneficiary
    result = call(socket, "release", params)
    if out.json_mode:
        _ok(out, result)
        return ExitCode.OK
    plan = result["plan"]
    out.line(
        f"{'dry run: ' if dry_run else ''}{len(plan['transactions'])} release transaction(s), "
        f"fee {plan['total_fee_lovelace']} lovelace"
    )
    for tx_id in result.get("submitted", []):
        out.line(f"submitted {tx_id}", style="green")
    for refused in plan.get("refused", []):
        out.line(f"not released {refused['allocation']}: {refused['message']}", style="yellow")
    return ExitCode.OK


def tx_submit(socket: Path, files: list[Path], out: Output) -> int:
    envelopes = []
    for file in files:
        try:
            envelopes.append(json.loads(read_text(file, "transaction file", 16 * 1024 * 1024)))
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{file} is not JSON: {exc}", "give the signed text envelope cardano-cli wrote"
            ) from None
    result = call(socket, "tx.submit", {"transactions": envelopes})
    if out.json_mode:
        _ok(out, result)
    else:
        for tx_id in result["submitted"]:
            out.line(f"submitted {tx_id}", style="green")
    return ExitCode.OK


# --- auditing ---------------------------------------------------------------------------------------


def log_verify(socket: Path, out: Output) -> int:
    result = call(socket, "log.verify")
    if out.json_mode:
        _ok(out, result)
    else:
        out.line(result["summary"], style=verdict_style(result["ok"]))
    return ExitCode.OK if result["ok"] else ExitCode.FAILED


def log_replay(socket: Path, out: Output) -> int:
    result = call(socket, "log.replay")
    if out.json_mode:
        _ok(out, result)
    elif result["equal"]:
        out.line(
            f"replay of {result['events_replayed']} events equals the live projections at position "
            f"{result['position']}",
            style="green",
        )
    else:
        out.line(
            f"replay DIFFERS from the live projections at position {result['position']}: tables "
            f"{', '.join(result['differing_tables'])}",
            style="red",
        )
    return ExitCode.OK if result["equal"] else ExitCode.FAILED
