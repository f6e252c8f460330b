"""What each page shows, as plain JSON-able dicts computed from a snapshot (pure).

The same dict is the page's JSON answer (`Accept: application/json` or `?format=json`) and what the
templates render, so the HTML and the JSON cannot disagree. Amounts are token units as integers, times
POSIX milliseconds with an ISO 8601 twin (as the socket's answers give them).

Words used for amounts, per schedule and per beneficiary:
- released: spent from the validator to the beneficiary; reclaimed: taken back by the admin;
- locked: still at the validator (claimable included); claimable: could be released now.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from milestoned.domain.timestamps import format_timestamp
from milestoned.projections.readmodels import ClaimableAllocation
from milestoned.web.snapshot import ScheduleInfo, Snapshot
from milestoned.web.timeline import build_timeline

PER_PAGE = 50
MAX_QUERY_CHARS = 120


class NotFound(LookupError):
    """A schedule or beneficiary this daemon does not know; the message says what to try instead."""


def label(milestone_hex: str) -> str:
    try:
        return bytes.fromhex(milestone_hex).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return milestone_hex


def when(posix_ms: int | None) -> str | None:
    return None if posix_ms is None else format_timestamp(posix_ms)


def token_label(info: ScheduleInfo) -> str:
    name = label(info.policy.token_name)
    return f"{name} ({info.policy.token_policy_id[:8]}…)"


def reasons(a: ClaimableAllocation, in_flight: bool) -> list[str]:
    """Why an allocation is not claimable now (empty when it is), in the words `claim` uses."""
    if a.released:
        return ["already_claimed"]
    if a.milestone_cancelled:  # taken back (or to be) by the admin with the milestone's cancellation
        return ["milestone_cancelled"]
    if a.reclaimed:
        return ["reclaimed"]
    found = ["schedule_paused"] if a.schedule_paused else []  # its guardians' pause: no release at all
    if not a.milestone_verified:
        found.append("milestone_not_verified")
    if not a.vesting_passed:
        found.append("vesting_not_passed")
    if in_flight:
        found.append("release_in_flight")
    return found


def totals(rows: Iterable[ClaimableAllocation]) -> dict[str, int]:
    out = {"total": 0, "locked": 0, "claimable": 0, "released": 0, "reclaimed": 0}
    for a in rows:
        out["total"] += a.amount
        if a.released:
            out["released"] += a.amount
        elif a.reclaimed:
            out["reclaimed"] += a.amount
        else:
            out["locked"] += a.amount
            if a.claimable_now:
                out["claimable"] += a.amount
    return out


def _tip(snapshot: Snapshot) -> dict[str, Any] | None:
    tip = snapshot.facts.tip
    if tip is None:
        return None
    return {
        "slot": tip.slot,
        "header_hash": tip.header_hash,
        "time_ms": tip.chain_time_ms,
        "time": when(tip.chain_time_ms),
    }


def _common(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "network": snapshot.network,
        "version": snapshot.version,
        "log": {"position": snapshot.log_position, "hash": snapshot.log_hash},
        "chain_tip": _tip(snapshot),
    }


def _milestone_ids(info: ScheduleInfo) -> list[str]:
    seen: dict[str, None] = {}
    for allocation in info.definition.get("beneficiary_allocations", ()):
        seen.setdefault(str(allocation["milestone_identifier"]).encode().hex(), None)
    return list(seen)


def milestones(snapshot: Snapshot, info: ScheduleInfo) -> list[dict[str, Any]]:
    states = {m.milestone_id: m for m in snapshot.index.milestones if m.schedule_id == info.schedule_id}
    ids = list(dict.fromkeys([*_milestone_ids(info), *sorted(states)]))
    out = []
    for milestone_id in ids:
        state = states.get(milestone_id)
        signed = set(state.signed_by) if state is not None else set()
        count = len(signed)
        quorum = info.policy.quorum
        out.append(
            {
                "milestone": label(milestone_id),
                "milestone_id": milestone_id,
                "quorum": quorum,
                "signatures": count,
                "status": "pending" if count < quorum else "met" if count == quorum else "exceeded",
                "oracles": [{"key": key, "signed": key in signed} for key in info.policy.oracle_keys],
            }
        )
    return out


def schedules_view(snapshot: Snapshot) -> dict[str, Any]:
    cached = snapshot.memo.get("schedules")
    if cached is not None:
        return dict(cached)
    rows = []
    for info in snapshot.schedules:
        allocations = snapshot.index.by_schedule.get(info.schedule_id, ())
        states = milestones(snapshot, info)
        rows.append(
            {
                "schedule_id": info.schedule_id,
                "token": token_label(info),
                "token_policy_id": info.policy.token_policy_id,
                "token_name": info.policy.token_name,
                "allocations": len(allocations),
                "allocations_defined": len(info.definition.get("beneficiary_allocations", ())),
                **totals(allocations),
                "milestones": len(states),
                "milestones_met": sum(1 for m in states if m["status"] != "pending"),
                "source": info.source,
                "registered_at": info.registered_at,
                "log_status": "all allocations locked on chain"
                if len(allocations) == len(info.definition.get("beneficiary_allocations", ()))
                else "registration not fully seen on chain yet",
            }
        )
    return {**_common(snapshot), "schedules": rows}


def schedule_info(snapshot: Snapshot, schedule_id: str) -> ScheduleInfo:
    info = snapshot.index.schedules.get(schedule_id)
    if info is None:
        known = ", ".join(s.schedule_id[:12] + "…" for s in snapshot.schedules[:5]) or "none yet"
        raise NotFound(f"schedule {schedule_id} is not followed by this daemon (followed: {known})")
    return info


def allocation_row(snapshot: Snapshot, a: ClaimableAllocation) -> dict[str, Any]:
    in_flight = a.out_ref in snapshot.in_flight
    release = snapshot.index.releases.get(a.out_ref)
    status = (
        "released"
        if a.released
        else "reclaimed"
        if a.reclaimed
        else "claimable"
        if a.claimable_now
        else "waiting"
    )
    return {
        "allocation": a.out_ref,
        "schedule_id": a.schedule_id,
        "beneficiary": a.beneficiary,
        "milestone": label(a.milestone_id),
        "amount": a.amount,
        "vesting_time_ms": a.vesting_time_ms,
        "vesting_time": when(a.vesting_time_ms),
        "status": status,
        "reasons": reasons(a, in_flight),
        "in_flight": in_flight,
        "release_tx": None if release is None else release.tx_id,
    }


def _schedule_parts(snapshot: Snapshot, schedule_id: str) -> dict[str, Any]:
    """What a schedule page shows whatever the page and search: computed once per snapshot."""
    key = ("schedule", schedule_id)
    cached = snapshot.memo.get(key)
    if cached is not None:
        return dict(cached)
    info = schedule_info(snapshot, schedule_id)
    allocations = snapshot.index.by_schedule.get(schedule_id, ())
    policy = info.policy
    tip = snapshot.facts.tip
    timeline = build_timeline(
        allocations,
        snapshot.index.releases,
        snapshot.index.reclaims,
        snapshot.index.lock_slots,
        snapshot.slots,
        None if tip is None else tip.chain_time_ms,
        policy.reclaim_deadline_ms,
    )
    parts = {
        **_common(snapshot),
        "schedule_id": schedule_id,
        "definition": {
            "admin": info.definition.get("admin"),
            "admin_key_hash": policy.admin_key_hash,
            "token": token_label(info),
            "token_policy_id": policy.token_policy_id,
            "token_name": policy.token_name,
            "oracles": list(policy.oracle_keys),
            "quorum": policy.quorum,
            "reclaim_deadline_ms": policy.reclaim_deadline_ms,
            "reclaim_deadline": when(policy.reclaim_deadline_ms),
            "source": info.source,
            "registered_at": info.registered_at,
        },
        "paused": schedule_id in snapshot.facts.paused,
        "totals": totals(allocations),
        "milestones": milestones(snapshot, info),
        "timeline": {
            "now_ms": timeline.now_ms,
            "reclaim_deadline_ms": timeline.reclaim_deadline_ms,
            "reclaim_deadline": when(timeline.reclaim_deadline_ms),
            "total": timeline.total,
            "vesting_times": timeline.vesting_times,
            "points": [
                {
                    "time_ms": p.time_ms,
                    "time": when(p.time_ms),
                    "locked": p.locked,
                    "vested": p.vested,
                    "claimable": p.claimable,
                    "released": p.released,
                    "vesting_mark": p.vesting_mark,
                }
                for p in timeline.points
            ],
        },
    }
    snapshot.memo[key] = parts
    return dict(parts)


def warm(snapshot: Snapshot) -> Snapshot:
    """Compute every schedule's page figures now (the daemon does it in a worker thread, so that the
    first reader after a block does not pay for a 10,000-allocation timeline on the event loop)."""
    for info in snapshot.schedules:
        _schedule_parts(snapshot, info.schedule_id)
    snapshot.memo["schedules"] = schedules_view(snapshot)
    return snapshot


def schedule_view(
    snapshot: Snapshot, schedule_id: str, page: int = 1, query: str = "", per_page: int = PER_PAGE
) -> dict[str, Any]:
    view = _schedule_parts(snapshot, schedule_id)
    allocations = snapshot.index.by_schedule.get(schedule_id, ())
    needle = query.strip().lower()
    matching = [a for a in allocations if needle in a.beneficiary] if needle else allocations
    pages = max(1, -(-len(matching) // per_page))
    page = min(max(1, page), pages)
    shown = matching[(page - 1) * per_page : page * per_page]
    view["allocations"] = {
        "query": query,
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "matching": len(matching),
        "rows": [allocation_row(snapshot, a) for a in shown],
    }
    return view


def release_command(schedule_id: str, beneficiary: str) -> str:
    return f"milestonectl release --schedule-id {schedule_id} --beneficiary {beneficiary}"


def beneficiary_view(snapshot: Snapshot, address: str) -> dict[str, Any]:
    allocations = snapshot.index.by_beneficiary.get(address, ())
    if not allocations:
        raise NotFound(f"no allocation of a schedule this daemon follows names {address}")
    rows = [allocation_row(snapshot, a) for a in allocations]
    upcoming = [a.next_unlock_ms for a in allocations if a.next_unlock_ms is not None]
    releases = []
    for a in allocations:
        exit_ = snapshot.index.releases.get(a.out_ref)
        if exit_ is not None:
            time_ms = None if snapshot.slots is None else snapshot.slots.slot_to_posix_ms(exit_.slot)
            releases.append(
                {
                    "allocation": a.out_ref,
                    "schedule_id": a.schedule_id,
                    "milestone": label(a.milestone_id),
                    "amount": a.amount,
                    "tx_id": exit_.tx_id,
                    "slot": exit_.slot,
                    "time_ms": time_ms,
                    "time": when(time_ms),
                }
            )
    releases.sort(key=lambda r: (r["slot"], r["tx_id"]))
    schedules = sorted({a.schedule_id for a in allocations})
    claimable_schedules = sorted({a.schedule_id for a in allocations if a.claimable_now})
    return {
        **_common(snapshot),
        "beneficiary": address,
        "claimable_now": sum(a.amount for a in allocations if a.claimable_now),
        "totals": totals(allocations),
        "next_unlock_ms": min(upcoming) if upcoming else None,
        "next_unlock": when(min(upcoming)) if upcoming else None,
        "schedules": schedules,
        "allocations": rows,
        "releases": releases,
        "release_commands": [release_command(sid, address) for sid in (claimable_schedules or schedules)],
    }


def activity_view(snapshot: Snapshot) -> dict[str, Any]:
    verification = snapshot.verification
    return {
        **_common(snapshot),
        "verification": None
        if verification is None
        else {
            "ok": verification.ok,
            "events_checked": verification.events_checked,
            "head_position": verification.head_position,
            "summary": verification.summary,
            "at_ms": verification.at_ms,
            "at": when(verification.at_ms),
        },
        "events": [
            {"position": e.position, "topic": e.topic, "hash": e.hash, "fields": dict(e.fields)}
            for e in reversed(snapshot.recent)
        ],
        "submissions": [
            {
                "tx_id": s.tx_id,
                "allocations": list(s.allocation_refs),
                "validity_upper_slot": s.validity_upper_slot,
                "status": s.status,
                "reason": s.reason,
            }
            for s in snapshot.submissions
        ],
    }
