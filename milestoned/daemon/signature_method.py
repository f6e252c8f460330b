"""The socket's `signature.commit`: oracle attestations checked against the registered schedules and
appended as `OracleSignatureCommitted` events.

Why a module of its own: it is the one command that turns files signed elsewhere into log events, and its
checks (registered schedule, known milestone, known oracle, an attestation and not a cancellation, a
signature that verifies) are all refused together, before anything is appended, so that an operator fixes
a folder of files in one round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.local_index import LocalIndex
from milestoned.domain.attestation import Statement, verify_attestation
from milestoned.eventlog.events import OracleSignatureCommitted

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.commands")


async def signature_commit(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"attestations"})
    attestations = param(params, "attestations", list)
    if not attestations:
        raise RpcError(jsonrpc.INVALID_PARAMS, '"attestations" is empty', "pass at least one attestation")
    from milestoned.domain.attestation_file import parse_attestation_document, parse_attestation_json
    from milestoned.domain.validation_errors import InputProblem

    async with service.write_lock:
        await service.afold()
        problems: list[dict[str, Any]] = []
        events: list[OracleSignatureCommitted] = []
        results: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()
        for number, item in enumerate(attestations):
            try:
                attestation = (
                    parse_attestation_json(item)
                    if isinstance(item, str)
                    else parse_attestation_document(item)
                )
            except InputProblem as exc:
                problems.append({"index": number, "message": f"attestation {number + 1} {exc}"})
                continue
            sid = attestation.schedule_id.hex()
            mid = attestation.milestone_id.hex()
            key = attestation.signature.oracle_key.hex()
            label = attestation.milestone_label
            problem = attestation_problem(service.index, sid, attestation.milestone_id, key, label)
            if problem is None and attestation.statement is not Statement.ATTEST:
                problem = (
                    f"is a cancellation of milestone {label!r} (attest sign --cancel), not an "
                    "attestation: it never counts toward a release; commit only attestation files (a "
                    "quorum's cancellations go to `milestonectl milestone cancel`)"
                )
            if problem is None and not verify_attestation(
                attestation.signature, attestation.schedule_id, attestation.milestone_id
            ):
                problem = (
                    f"the signature does not verify: oracle {key[:16]}… did not sign milestone {label!r} "
                    f"of schedule {sid} (altered file, or signed for another schedule/milestone)"
                )
            if problem is not None:
                problems.append({"index": number, "message": f"attestation {number + 1}: {problem}"})
                continue
            entry = {"index": number, "schedule_id": sid, "milestone": label, "oracle_key": key}
            if service.index.has_signature(sid, mid, key) or (sid, mid, key) in seen:
                results.append({**entry, "status": "duplicate"})
                continue
            seen.add((sid, mid, key))
            events.append(
                OracleSignatureCommitted(
                    schedule_id=sid,
                    milestone_id=mid,
                    oracle_key=key,
                    signature=attestation.signature.signature.hex(),
                )
            )
            results.append({**entry, "status": "committed"})
        if problems:
            raise RpcError(
                jsonrpc.VALIDATION_FAILED,
                f"{len(problems)} of {len(attestations)} attestations were refused; nothing was committed",
                "fix or leave out the refused files and commit again; "
                "`milestonectl attest verify FILE --schedule SCHEDULE` explains each one offline",
                problems=problems,
            )
        position = await service.aappend(list(events)) if events else service.log.head().position
    if events:
        log.info("oracle signatures committed", count=len(events), caller=peer.describe())
    touched = {(r["schedule_id"], r["milestone"]) for r in results}
    states = [m for m in await service.milestones({}, peer) if (m["schedule_id"], m["milestone"]) in touched]
    return {
        "committed": sum(1 for r in results if r["status"] == "committed"),
        "duplicates": sum(1 for r in results if r["status"] == "duplicate"),
        "results": results,
        "milestones": states,
        "log_position": position,
    }


def attestation_problem(index: LocalIndex, sid: str, milestone: bytes, key: str, label: str) -> str | None:
    """Why an attestation cannot count for this daemon's schedules (None: it names a registered schedule,
    one of its milestones and one of its oracles)."""
    registered = index.schedules.get(sid)
    if registered is None:
        return (
            f"schedule {sid} is not registered with this daemon; register it first "
            "(milestonectl schedule register FILE)"
        )
    milestones = {
        str(a["milestone_identifier"]).encode()
        for a in registered.definition.get("beneficiary_allocations", ())
    }
    if milestone not in milestones:
        known = ", ".join(sorted(m.decode() for m in milestones))
        return f"schedule {sid} has no milestone {label!r} (its milestones: {known})"
    if key not in registered.policy.oracle_keys:
        return f"{key} is not one of the schedule's {len(registered.policy.oracle_keys)} oracles"
    return None
