"""The chain audit's report: what it found per schedule, as frozen values that render to JSON. Pure.

Why apart from the reconciliation (`indexer.audit`): these are the nouns the command shows (tables, JSON,
HTML) and the tests read; the reconciliation is the verbs that fill them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from milestoned.eventlog.events import ChainPoint
from milestoned.indexer.audit_pass import SeenRejection

LOCKED, RELEASED, RECLAIMED = "locked", "released", "reclaimed"
MOVED = "moved"
"""A life that ended in a beneficiary's move (issue 15): the allocation lives on at a new out-ref."""
TOTAL = "total"


@dataclass(frozen=True, slots=True)
class Flag:
    """One difference the audit found: `code` for programs, `message` for people."""

    code: str
    message: str
    out_ref: str = ""
    tx_id: str = ""

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "out_ref": self.out_ref, "tx_id": self.tx_id}


@dataclass(frozen=True, slots=True)
class AllocationLife:
    out_ref: str
    beneficiary: str
    amount: int
    milestone_id: str
    vesting_time_ms: int
    locked_tx: str
    locked_slot: int
    state: str
    spent_tx: str | None = None
    spent_slot: int | None = None

    @property
    def milestone(self) -> str:
        return milestone_label(self.milestone_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "out_ref": self.out_ref,
            "beneficiary": self.beneficiary,
            "amount": self.amount,
            "milestone": self.milestone,
            "milestone_id": self.milestone_id,
            "vesting_time_ms": self.vesting_time_ms,
            "locked": {"tx_id": self.locked_tx, "slot": self.locked_slot},
            "state": self.state,
            "spent": None if self.spent_tx is None else {"tx_id": self.spent_tx, "slot": self.spent_slot},
        }


@dataclass(frozen=True, slots=True)
class MilestoneWitness:
    """The oracles a release transaction shows for one milestone: those whose signature verifies."""

    milestone_id: str
    tx_id: str
    slot: int
    oracle_keys: tuple[str, ...]
    quorum: int
    invalid: tuple[str, ...] = ()
    """Signatures that do not verify, or name no oracle of the schedule (as `index:reason`)."""

    @property
    def milestone(self) -> str:
        return milestone_label(self.milestone_id)

    @property
    def reached(self) -> bool:
        return len(self.oracle_keys) >= self.quorum and not self.invalid

    def to_json(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone,
            "milestone_id": self.milestone_id,
            "tx_id": self.tx_id,
            "slot": self.slot,
            "oracle_keys": list(self.oracle_keys),
            "quorum": self.quorum,
            "quorum_reached": self.reached,
            "invalid": list(self.invalid),
        }


@dataclass(frozen=True, slots=True)
class Payment:
    tx_id: str
    slot: int
    address: str
    amount: int
    lovelace: int

    def to_json(self) -> dict[str, Any]:
        return {
            "tx_id": self.tx_id,
            "slot": self.slot,
            "address": self.address,
            "amount": self.amount,
            "lovelace": self.lovelace,
        }


@dataclass(frozen=True, slots=True)
class Balance:
    """One line of the reconciliation: a beneficiary's (or the schedule's total) token amounts."""

    beneficiary: str
    defined: int = 0
    allocated: int = 0
    released: int = 0
    reclaimed: int = 0
    still_locked: int = 0
    paid: int = 0
    moved_in: int = 0
    """Allocations moved to this beneficiary by their former one (issue 15)."""
    moved_out: int = 0
    """Allocations this beneficiary moved to another address."""

    def differences(self) -> list[str]:
        found = []
        if self.defined != self.allocated:
            found.append(f"the definition gives {self.defined}, the chain locked {self.allocated}")
        accounted = self.released + self.reclaimed + self.still_locked + self.moved_out
        if self.allocated + self.moved_in != accounted:
            moved = (
                f" (moved in {self.moved_in}, moved out {self.moved_out})"
                if self.moved_in or self.moved_out
                else ""
            )
            found.append(
                f"allocated {self.allocated} != released {self.released} + reclaimed {self.reclaimed} "
                f"+ still locked {self.still_locked} = {accounted}{moved}"
            )
        if self.paid != self.released:
            found.append(f"paid {self.paid} but released {self.released}")
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "beneficiary": self.beneficiary,
            "defined": self.defined,
            "allocated": self.allocated,
            "released": self.released,
            "reclaimed": self.reclaimed,
            "still_locked": self.still_locked,
            "paid": self.paid,
            "moved_in": self.moved_in,
            "moved_out": self.moved_out,
            "ok": not self.differences(),
        }


@dataclass(frozen=True, slots=True)
class ScheduleAudit:
    schedule_id: str
    definition: Mapping[str, Any]
    derived_id: str | None
    discovered_at: ChainPoint
    registration: tuple[Mapping[str, Any], ...]
    allocations: tuple[AllocationLife, ...]
    attestations: tuple[MilestoneWitness, ...]
    payments: tuple[Payment, ...]
    balances: tuple[Balance, ...]
    total: Balance
    flags: tuple[Flag, ...]

    @property
    def derives(self) -> bool:
        return self.derived_id == self.schedule_id

    @property
    def ok(self) -> bool:
        return not self.flags

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "ok": self.ok,
            "definition": dict(self.definition),
            "derives_policy_id": self.derives,
            "derived_id": self.derived_id,
            "discovered_at": {"slot": self.discovered_at.slot, "id": self.discovered_at.header_hash},
            "registration": [dict(r) for r in self.registration],
            "allocations": [a.to_json() for a in self.allocations],
            "attestations": [a.to_json() for a in self.attestations],
            "payments": [p.to_json() for p in self.payments],
            "reconciliation": {
                "beneficiaries": [b.to_json() for b in self.balances],
                "total": self.total.to_json(),
            },
            "flags": [f.to_json() for f in self.flags],
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    schedules: tuple[ScheduleAudit, ...]
    rejections: tuple[SeenRejection, ...]
    incomplete: Mapping[str, tuple[tuple[int, int], ...]]
    """Schedules whose registration is only partly on chain: schedule id -> allocation ranges seen (a
    complete registration that discovery refused is among `rejections` instead)."""
    missing: tuple[str, ...]
    """Requested schedule ids no registration was found for."""
    rollbacks: int
    flags: tuple[Flag, ...] = field(default=())
    ledger_checked: bool = False
    """Whether every still-locked allocation was checked against the ledger at the tip."""
    """Report-level differences (a requested schedule not found, a registration left incomplete)."""

    @property
    def ok(self) -> bool:
        return not self.flags and all(s.ok for s in self.schedules)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "schedules": [s.to_json() for s in self.schedules],
            "rejected_registrations": [
                {
                    "slot": r.point.slot,
                    "tx_id": r.tx_id,
                    "schedule_id": r.schedule_id,
                    "reason": r.reason,
                    "message": r.message,
                }
                for r in self.rejections
            ],
            "incomplete_registrations": {
                sid: [list(r) for r in ranges] for sid, ranges in self.incomplete.items()
            },
            "missing": list(self.missing),
            "rollbacks": self.rollbacks,
            "still_locked_checked_against_ledger": self.ledger_checked,
            "flags": [f.to_json() for f in self.flags],
        }


def milestone_label(milestone_id: str) -> str:
    """A milestone id (hex) as text for people; bytes that are not UTF-8 are shown escaped."""
    return bytes.fromhex(milestone_id).decode("utf-8", errors="backslashreplace")
