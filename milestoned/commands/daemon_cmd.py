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

from milestoned.commands.output import Column, CommandError, ExitCode, Output, verdict_style
from milestoned.commands.socket_client import REQUEST_TOO_LARGE, DaemonClient, DaemonRefused, call
from milestoned.commands.textfiles import SMALL_FILE_MAX_BYTES, read_text
from milestoned.domain.timestamps import format_timestamp


def _ok(out: Output, result: Any, health: dict[str, Any] | None = None) -> None:
    """The daemon's answer for programs, with every POSIX-ms time also in ISO 8601 (`x_ms` -> `x_iso`),
    and, for queries, whether the answer may lag the chain (`stale`: the daemon is not synced)."""
    document: dict[str, Any] = {"ok": True, "result": with_iso_times(result)}
    if health is not None:
        document["daemon_state"] = health["state"]
        document["stale"] = health["state"] != "synced"
        document["lag_slots"] = health["lag_slots"]
    out.emit_json(document)


EARLIEST_TIME_MS = 10**12
"""Values of `*_ms` keys from here on (September 2001) are instants, not durations."""


def with_iso_times(value: Any) -> Any:
    """`value` with an ISO 8601 `<name>_iso` beside every `<name>_ms` instant, at any depth."""
    if isinstance(value, list):
        return [with_iso_times(item) for item in value]
    if not isinstance(value, dict):
        return value
    document: dict[str, Any] = {}
    for key, item in value.items():
        document[key] = with_iso_times(item)
        if (
            isinstance(key, str)
            and key.endswith("_ms")
            and isinstance(item, int)
            and not isinstance(item, bool)
            and item >= EARLIEST_TIME_MS
        ):
            document[f"{key[:-3]}_iso"] = format_timestamp(item)
    return document


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
            *(
                [("paused by guardians", ", ".join(result["paused_schedules"]))]
                if result.get("paused_schedules")
                else []
            ),
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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


def _syncing_note(client: DaemonClient, out: Output) -> dict[str, Any]:
    """The daemon's health; people are told when answers may lag the chain (JSON carries `stale`)."""
    health: dict[str, Any] = client.call("health")
    if not out.json_mode and health["state"] != "synced":
        out.line(
            f"note: the daemon is {health['state']} (lag "
            f"{health['lag_slots']} slots); answers may lag the chain "
            "(`milestonectl status --wait` shows progress)",
            style="yellow",
        )
    return health


# --- schedule register -----------------------------------------------------------------------------------


def schedule_register(
    socket: Path,
    file: Path,
    dry_run: bool,
    admin_address: str | None,
    unsigned_out: Path | None,
    out: Output,
    *,
    force: bool = False,
    resume: bool = False,
) -> int:
    from milestoned.commands.schedule_source import load_schedule
    from milestoned.domain.schedule_canonical import schedule_document
    from milestoned.domain.schedule_timing import timing_notes

    if resume and not admin_address:
        raise CommandError(
            "--resume builds the registration transactions not yet locked, which needs the admin's address",
            "add --admin-address ADDR (the wallet that pays the registration) and --unsigned-out DIR",
            ExitCode.USAGE,
        )
    if unsigned_out is not None and unsigned_out.is_dir():
        earlier = sorted(p.name for p in unsigned_out.glob("register-*.json"))
        if earlier:  # a new build's register-1..k beside an old build's k+1..N: `tx submit DIR` mixes them
            raise CommandError(
                f"{unsigned_out} already holds {len(earlier)} registration file(s) of an earlier build "
                f"({earlier[0]}...): the new files would be mixed with them",
                "give an empty or new folder to --unsigned-out (keep the old files apart if they were sent)",
                ExitCode.USAGE,
            )
    definition = load_schedule(file)  # every problem at once, before bothering the daemon
    timing = timing_notes(definition, int(time.time() * 1000))
    if timing.reclaim_deadline_past and not force:
        raise CommandError(
            f"the reclaim deadline {format_timestamp(timing.reclaim_deadline_ms)} is already past: the admin "
            "could reclaim every allocation as soon as it is locked",
            'set "reclaim_deadline" in the future (check the year), or pass --force if this is intended',
            ExitCode.FAILED,
        )
    if not out.json_mode:
        for warning in timing.warnings():
            out.line(f"warning: {warning}", style="yellow")
    params: dict[str, Any] = {"schedule": schedule_document(definition), "dry_run": dry_run}
    if admin_address:  # the daemon builds the registration transactions: minutes when large, so a job
        params["admin_address"] = admin_address
        params["background"] = True
        if resume:
            params["resume"] = True
    try:
        result = call(socket, "schedule.register", params)
    except DaemonRefused as refused:
        if refused.code != REQUEST_TOO_LARGE or not isinstance(refused.data.get("limit"), int):
            raise
        result = _register_in_parts(socket, params, refused.data["limit"], out)
    if "job_id" in result:
        from milestoned.commands.jobs_cmd import raise_if_failed, watch

        job = watch(socket, result["job_id"], out, until_settled=False)
        raise_if_failed(job)
        result = job["result"]
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
            kinds = [t.get("kind") for t in plan["transactions"]]
            if "init state" in kinds:
                out.line(
                    f"register-{kinds.index('init state') + 1} creates the schedule's state (it has "
                    f"guardians), spending its state seed {plan.get('state_seed')}; the admin signs it like "
                    "the others, and it must be sent before the allocations (`tx submit DIR` sends them in "
                    "order)"
                )
    return ExitCode.OK


def _register_in_parts(socket: Path, params: dict[str, Any], limit: int, out: Output) -> Any:
    """A schedule over the socket's request limit: upload its text in base64 parts below the limit
    (`schedule.upload`), then register the upload."""
    import base64
    import secrets

    text = json.dumps(params.pop("schedule"), ensure_ascii=False).encode("utf-8")
    part_bytes = max(256, (limit - 512) * 3 // 4)  # base64 makes 4 bytes of 3; 512 for the envelope
    parts = [text[i : i + part_bytes] for i in range(0, len(text), part_bytes)]
    upload_id = secrets.token_hex(16)
    if not out.json_mode:
        out.line(
            f"the schedule ({len(text):,} bytes) is larger than the daemon's request limit "
            f"({limit:,} bytes): sending it in {len(parts)} parts"
        )
    with DaemonClient(socket) as client:
        for index, part in enumerate(parts):
            client.call(
                "schedule.upload",
                {
                    "upload_id": upload_id,
                    "index": index,
                    "count": len(parts),
                    "data": base64.b64encode(part).decode("ascii"),
                },
            )
        return client.call("schedule.register", {**params, "upload_id": upload_id})


# --- signatures ------------------------------------------------------------------------------------------


def signature_commit(socket: Path, files: list[Path], out: Output) -> int:
    attestations = [read_text(f, "attestation file", SMALL_FILE_MAX_BYTES) for f in files]
    try:
        result = call(socket, "signature.commit", {"attestations": attestations})
    except DaemonRefused as refused:
        _show_refused_files(out, files, refused)
        raise
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


def _show_refused_files(out: Output, files: list[Path], refused: DaemonRefused) -> None:
    """Each refused file and why, before the error itself (JSON callers have them in error.data)."""
    problems = refused.data.get("problems")
    if out.json_mode or not isinstance(problems, list):
        return
    out.table(
        "refused attestations",
        (Column("file"), Column("why")),
        [
            (
                str(files[p["index"]])
                if isinstance(p.get("index"), int) and p["index"] < len(files)
                else "?",
                str(p.get("message", "")),
            )
            for p in problems
            if isinstance(p, dict)
        ],
    )


# --- queries ---------------------------------------------------------------------------------------------


def _milestone_table(out: Output, rows: list[dict[str, Any]], title: str) -> None:
    out.table(
        title,
        (
            Column("schedule", no_wrap=True),
            Column("milestone"),
            Column("signatures"),
            Column("quorum"),
            Column("still locked"),
            Column("released"),
            Column("reclaimed"),
        ),
        [
            (
                _short(r["schedule_id"], 8),
                r["milestone"],
                f"{r['signatures']}/{r['quorum']}",
                "cancelled" if r.get("cancelled") else "reached" if r["quorum_reached"] else "pending",
                _still_locked(r),
                f"{r['allocations_released']} ({r['amount_released']})",
                f"{r['allocations_reclaimed']} ({r['amount_reclaimed']})",
            )
            for r in rows
        ],
    )


def _still_locked(row: dict[str, Any]) -> str:
    """Allocations still at the validator: every one ever locked, less those released or reclaimed."""
    count = row["allocations_locked"] - row["allocations_released"] - row["allocations_reclaimed"]
    amount = row["amount_locked"] - row["amount_released"] - row["amount_reclaimed"]
    return f"{count} ({amount})"


def milestones(socket: Path, schedule_id: str | None, out: Output) -> int:
    with DaemonClient(socket) as client:
        health = _syncing_note(client, out)
        result = client.call("milestones", {"schedule_id": schedule_id} if schedule_id else {})
    if out.json_mode:
        _ok(out, result, health)
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
        health = _syncing_note(client, out)
        result = client.call("claimable", params)
    if out.json_mode:
        _ok(out, result, health)
        return ExitCode.OK
    rows = result["allocations"]
    if not rows:
        out.line("no locked allocations" + (f" for {beneficiary}" if beneficiary else ""))
        return ExitCode.OK

    def state(r: dict[str, Any]) -> str:
        if r["released"]:
            return "released"
        if r.get("milestone_cancelled"):
            return "milestone cancelled" + (": back to the admin" if r["reclaimed"] else "")
        if r["reclaimed"]:
            return "reclaimed"
        if r["in_flight"]:
            return "release in flight"
        if r["claimable_now"]:
            return "claimable now"
        if not r["milestone_verified"]:
            vests = r.get("vesting_time_ms")
            return "waiting for oracles" + (f" (vests {_time(vests)})" if vests else "")
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
    with DaemonClient(socket) as client:
        health = _syncing_note(client, out)
        result = client.call("submissions")
    if out.json_mode:
        _ok(out, result, health)
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
    *,
    wait: bool = True,
) -> int:
    """A dry run answers at once; a release runs as a job in the daemon, followed with a progress bar
    (built, submitted, confirmed) until its transactions are confirmed, or left running (`wait=False`)."""
    from milestoned.commands.jobs_cmd import raise_if_failed, watch

    params: dict[str, Any] = {"schedule_id": schedule_id, "dry_run": dry_run}
    if allocations:
        params["allocations"] = allocations
    if beneficiary:
        params["beneficiary"] = beneficiary
    if dry_run:
        result = call(socket, "release", params)
    else:
        job_id = call(socket, "release", {**params, "background": True})["job_id"]
        if not wait:
            if out.json_mode:
                _ok(out, {"job_id": job_id})
            else:
                out.line(f"release job {job_id} started; follow it with `milestonectl jobs watch {job_id}`")
            return ExitCode.OK
        job = watch(socket, job_id, out)
        raise_if_failed(job)
        result = job["result"]
        if out.json_mode:
            _ok(out, {**result, "job": {k: v for k, v in job.items() if k != "result"}})
            return ExitCode.OK
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
    show_refused(out, plan.get("refused", []), "not released")
    return ExitCode.OK


def show_refused(out: Output, refused: list[dict[str, Any]], verb: str, listed: int = 3) -> None:
    """Allocations left out of a plan, summarised by rule: a whole-schedule release may leave out
    hundreds, and one line each buried the transactions that were built. --json keeps every one."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for item in refused:
        by_rule.setdefault(str(item.get("rule", "")), []).append(item)
    for rule, items in sorted(by_rule.items(), key=lambda pair: -len(pair[1])):
        if len(items) <= listed:
            for item in items:
                out.line(f"{verb} {item['allocation']}: {item['message']}", style="yellow")
            continue
        out.line(
            f"{verb}: {len(items)} allocations ({rule or 'refused'}), e.g. {items[0]['allocation']}: "
            f"{items[0]['message']}",
            style="yellow",
        )
    if refused:
        out.line(f"({len(refused)} not included in all; --json lists each one)")


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
