"""The chain audit's reconciliation: what the chain alone says about each schedule, checked. Pure.

Why beside the indexer's filter (DESIGN §10): an auditor with nothing but an Ogmios endpoint must be able
to verify a schedule. `audit_pass` turns blocks into the very events the indexer writes (plus what the
spending transactions show: oracle signatures and payouts); this module folds those items, after the
chain's rollbacks, into a report per schedule:

- the definition the registration metadata carries, and whether it re-derives the schedule id (the
  policy that minted: recomputed here, not taken from discovery);
- every allocation's life: locked (registration transaction, slot), then released or reclaimed (spending
  transaction, slot), or still locked;
- who was paid what: the release outputs tagged with the schedule id;
- which oracle keys attested each milestone, from the release redeemers, each signature verified again
  against the schedule's oracle keys;
- the reconciliation, per beneficiary and in total: defined (metadata) = allocated (locked on chain) =
  released + reclaimed + still locked, and paid = released; plus per transaction: each release pays each
  beneficiary exactly what it releases of theirs, shows a quorum for every milestone it releases, and each
  reclaim carries the Reclaim redeemer (or, for a milestone's cancellation, the Cancel one) and the
  admin's signature.

Every difference is a `Flag` (a code, a message, the allocation or transaction concerned); a schedule is
`ok` when it has none. The checks are the chain's own rules seen from outside: on a sound chain they all
pass, and that is what an auditor wants shown, not assumed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from milestoned.domain.attestation import OracleSignature, verify_attestation
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReassigned,
    AllocationReclaimed,
    AllocationReleased,
    RegistrationPartSeen,
    RolledBack,
    ScheduleDiscovered,
    SchedulePolicy,
)
from milestoned.indexer.audit_pass import (
    CANCEL_CONSTRUCTOR,
    RECLAIM_CONSTRUCTOR,
    RELEASE_CONSTRUCTOR,
    AuditItem,
    SeenRejection,
    SpendWitness,
)
from milestoned.indexer.audit_report import (
    LOCKED,
    MOVED,
    RECLAIMED,
    RELEASED,
    TOTAL,
    AllocationLife,
    AuditReport,
    Balance,
    Flag,
    MilestoneWitness,
    Payment,
    ScheduleAudit,
    milestone_label,
)

Derive = Callable[[Any], str]


def surviving(items: Iterable[AuditItem]) -> tuple[list[AuditItem], int]:
    """The items still on the chain after its rollbacks (in chain order), and how many rollbacks undid any.

    A `RolledBack` to slot s removes every item above s; items come in chain order, so they are popped
    from the end."""
    kept: list[AuditItem] = []
    rollbacks = 0
    for item in items:
        if isinstance(item, RolledBack):
            rollbacks += 1
            while kept and kept[-1].point.slot > item.point.slot:
                kept.pop()
        else:
            kept.append(item)
    return kept, rollbacks


def reconcile(
    items: Iterable[AuditItem],
    derive: Derive,
    requested: Collection[str] = (),
    unspent: Collection[str] | None = None,
) -> AuditReport:
    """The report for the schedules the items discovered (all of them, or `requested` ones only).

    `unspent`, when given, are the allocations still locked per the chain's items that the ledger at
    the same tip holds unspent (the shell asks Ogmios): each still-locked allocation missing from it is
    flagged, a second opinion on "still locked" from the ledger itself."""
    kept, rollbacks = surviving(items)
    discovered: dict[str, ScheduleDiscovered] = {}
    locks: dict[str, list[AllocationLocked]] = defaultdict(list)
    spends: dict[str, AllocationReleased | AllocationReclaimed] = {}
    moves: dict[str, AllocationReassigned] = {}
    witnesses: dict[tuple[str, str], SpendWitness] = {}
    parts: dict[str, list[RegistrationPartSeen]] = defaultdict(list)
    rejections: list[SeenRejection] = []
    for item in kept:
        if isinstance(item, ScheduleDiscovered):
            discovered.setdefault(item.schedule_id, item)
        elif isinstance(item, AllocationLocked):
            locks[item.schedule_id].append(item)
        elif isinstance(item, AllocationReleased | AllocationReclaimed):
            spends.setdefault(item.out_ref, item)
        elif isinstance(item, AllocationReassigned):
            moves.setdefault(item.out_ref, item)
        elif isinstance(item, SpendWitness):
            witnesses[(item.tx_id, item.schedule_id)] = item
        elif isinstance(item, RegistrationPartSeen):
            parts[item.schedule_id].append(item)
        elif isinstance(item, SeenRejection) and (not requested or item.schedule_id in requested):
            rejections.append(item)
    wanted = sorted(requested) if requested else sorted(discovered)
    schedules = tuple(
        _schedule(discovered[sid], locks[sid], spends, witnesses, derive, unspent, moves)
        for sid in wanted
        if sid in discovered
    )
    incomplete = {
        sid: ranges
        for sid, seen in sorted(parts.items())
        if sid not in discovered
        and (not requested or sid in requested)
        and not _covers(ranges := _ranges(seen), int(seen[0].part["of"]))
    }
    missing = tuple(sid for sid in wanted if sid not in discovered)
    flags = [
        Flag(
            "registration_incomplete",
            f"schedule {sid}: only allocations {', '.join(f'[{a}, {b})' for a, b in ranges)} of its "
            "registration are on chain; it is no schedule until every part is",
        )
        for sid, ranges in incomplete.items()
    ]
    flags += [
        Flag(
            "schedule_not_found",
            f"no registration of schedule {sid} that checks out was read: none on chain after the start "
            "point (start before its first registration transaction), or its metadata was refused (see "
            "the refused registrations)",
        )
        for sid in missing
    ]
    return AuditReport(
        schedules, tuple(rejections), incomplete, missing, rollbacks, tuple(flags), unspent is not None
    )


def _ranges(parts: list[RegistrationPartSeen]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((int(p.part["allocations"][0]), int(p.part["allocations"][1])) for p in parts))


def _covers(ranges: tuple[tuple[int, int], ...], total: int) -> bool:
    """Whether the parts cover every allocation: then the registration is complete but was refused
    (its reason is among the rejections), not waiting for parts."""
    position = 0
    for first, end in ranges:
        if first > position:
            return False
        position = max(position, end)
    return position >= total


def _schedule(
    found: ScheduleDiscovered,
    locks: list[AllocationLocked],
    spends: Mapping[str, AllocationReleased | AllocationReclaimed],
    witnesses: Mapping[tuple[str, str], SpendWitness],
    derive: Derive,
    unspent: Collection[str] | None = None,
    moves: Mapping[str, AllocationReassigned] | None = None,
) -> ScheduleAudit:
    """One schedule's report. A moved allocation (issue 15) lives on at its new out-ref: the old life
    ends `moved`, the new one (locked by the move, for the new beneficiary) is not a lock of the
    definition but the same allocation moved in, and its release pays the new beneficiary."""
    sid = found.schedule_id
    moves = moves or {}
    arrived = {move.new_out_ref for move in moves.values() if move.schedule_id == sid}
    flags: list[Flag] = []
    definition, derived_id = _rederive(found, derive, flags)
    registration = tuple(found.registration.get("transactions", ()))
    lock_slots = {t["tx_id"]: int(t["slot"]) for t in registration}
    lives: list[AllocationLife] = []
    released_in: dict[str, list[AllocationLife]] = defaultdict(list)
    for lock in locks:
        spend: AllocationReleased | AllocationReclaimed | AllocationReassigned | None = spends.get(
            lock.out_ref
        ) or moves.get(lock.out_ref)
        state = (
            LOCKED
            if spend is None
            else RELEASED
            if isinstance(spend, AllocationReleased)
            else MOVED
            if isinstance(spend, AllocationReassigned)
            else RECLAIMED
        )
        life = AllocationLife(
            out_ref=lock.out_ref,
            beneficiary=lock.beneficiary,
            amount=lock.amount,
            milestone_id=lock.milestone_id,
            vesting_time_ms=lock.vesting_time_ms,
            locked_tx=lock.tx_id,
            locked_slot=lock_slots.get(lock.tx_id, lock.point.slot),
            state=state,
            spent_tx=None if spend is None else spend.tx_id,
            spent_slot=None if spend is None else spend.point.slot,
        )
        lives.append(life)
        if spend is not None and state != MOVED:
            released_in[spend.tx_id].append(life)
    lives.sort(key=lambda life: (life.locked_slot, life.out_ref))
    if unspent is not None:
        for life in lives:
            if life.state == LOCKED and life.out_ref not in unspent:
                flags.append(
                    Flag(
                        "ledger_disagrees",
                        f"still locked per the chain, but the ledger at the tip does not hold {life.out_ref}",
                        out_ref=life.out_ref,
                    )
                )
    attestations: list[MilestoneWitness] = []
    payments: list[Payment] = []
    for tx_id in sorted(released_in, key=lambda t: (released_in[t][0].spent_slot or 0, t)):
        spent = released_in[tx_id]
        witness = witnesses.get((tx_id, sid))
        if witness is None:
            flags.append(Flag("no_witness", "the spending transaction was not seen", tx_id=tx_id))
            continue
        if spent[0].state == RELEASED:
            attestations += _check_release(witness, spent, found.policy, flags)
            payments += [
                Payment(tx_id, witness.point.slot, p.address, p.amount, p.lovelace) for p in witness.payouts
            ]
        else:
            _check_reclaim(witness, found.policy, flags)
    if definition is not None:
        _check_definition(definition, [life for life in lives if life.out_ref not in arrived], flags)
    balances, total = _balances(definition, lives, payments, arrived)
    for line in [*balances, total]:
        for difference in line.differences():
            who = "in total" if line.beneficiary == TOTAL else f"for {line.beneficiary}"
            flags.append(Flag("unbalanced", f"{who}: {difference}"))
    return ScheduleAudit(
        schedule_id=sid,
        definition=found.definition,
        derived_id=derived_id,
        discovered_at=found.point,
        registration=registration,
        allocations=tuple(lives),
        attestations=tuple(attestations),
        payments=tuple(payments),
        balances=balances,
        total=total,
        flags=tuple(flags),
    )


def _rederive(found: ScheduleDiscovered, derive: Derive, flags: list[Flag]) -> tuple[Any, str | None]:
    """The definition read back from the metadata's document, and the schedule id it derives."""
    from milestoned.domain.schedule_file import ScheduleValidationError, parse_schedule_document

    try:
        definition = parse_schedule_document(dict(found.definition))
    except ScheduleValidationError as exc:
        flags.append(Flag("definition_invalid", f"the definition does not read: {exc}"))
        return None, None
    derived = derive(definition)
    if derived != found.schedule_id:
        flags.append(
            Flag(
                "policy_mismatch", f"the definition derives {derived}, not the policy id {found.schedule_id}"
            )
        )
    if SchedulePolicy.from_parameters(definition.to_parameters()) != found.policy:
        flags.append(Flag("policy_parameters", "the recorded policy parameters differ from the definition's"))
    return definition, derived


def _check_release(
    witness: SpendWitness, spent: list[AllocationLife], policy: SchedulePolicy, flags: list[Flag]
) -> list[MilestoneWitness]:
    tx_id = witness.tx_id
    if witness.redeemer != RELEASE_CONSTRUCTOR:
        flags.append(Flag("redeemer", "a release without the policy's Release redeemer", tx_id=tx_id))
    if witness.problem:
        flags.append(Flag("redeemer", witness.problem, tx_id=tx_id))
    shown = {a.milestone_id: a for a in witness.attestations}
    found: list[MilestoneWitness] = []
    for milestone_id in sorted({life.milestone_id for life in spent}):
        attested = shown.get(milestone_id)
        keys: list[str] = []
        invalid: list[str] = []
        for index, signature in () if attested is None else attested.signatures:
            if not 0 <= index < len(policy.oracle_keys):
                invalid.append(f"{index}:no such oracle")
                continue
            key = policy.oracle_keys[index]
            signed = OracleSignature(bytes.fromhex(key), bytes.fromhex(signature))
            if not verify_attestation(
                signed, bytes.fromhex(witness.schedule_id), bytes.fromhex(milestone_id)
            ):
                invalid.append(f"{index}:bad signature")
            elif key not in keys:
                keys.append(key)
        seen = MilestoneWitness(
            milestone_id, tx_id, witness.point.slot, tuple(keys), policy.quorum, tuple(invalid)
        )
        found.append(seen)
        if not seen.reached:
            flags.append(
                Flag(
                    "quorum_not_shown",
                    f"milestone {seen.milestone} released with {len(keys)} valid oracle signature(s) of "
                    f"{policy.quorum} required" + (f" ({', '.join(invalid)})" if invalid else ""),
                    tx_id=tx_id,
                )
            )
    owed: Counter[str] = Counter()
    for life in spent:
        owed[life.beneficiary] += life.amount
    paid: Counter[str] = Counter()
    for payout in witness.payouts:
        paid[payout.address] += payout.amount
    for address in sorted(set(owed) | set(paid)):
        if owed[address] != paid[address]:
            flags.append(
                Flag(
                    "payout_mismatch",
                    f"{address} was released {owed[address]} but paid {paid[address]} by this transaction",
                    tx_id=tx_id,
                )
            )
    return found


def _check_reclaim(witness: SpendWitness, policy: SchedulePolicy, flags: list[Flag]) -> None:
    # a milestone's cancellation (issue 15) takes allocations back before the deadline: a reclaim too
    if witness.redeemer not in (RECLAIM_CONSTRUCTOR, CANCEL_CONSTRUCTOR):
        flags.append(
            Flag(
                "redeemer",
                "a reclaim without the policy's Reclaim (or Cancel) redeemer",
                tx_id=witness.tx_id,
            )
        )
    if policy.admin_key_hash not in witness.signers:
        flags.append(Flag("admin_signature", "a reclaim the admin did not sign", tx_id=witness.tx_id))


def _check_definition(definition: Any, lives: list[AllocationLife], flags: list[Flag]) -> None:
    """Every allocation of the definition locked exactly once, and nothing else locked."""
    defined = Counter(
        (a.beneficiary_address, a.token_amount, a.milestone_id.hex(), a.vesting_time_ms)
        for a in definition.allocations
    )
    locked = Counter(
        (life.beneficiary, life.amount, life.milestone_id, life.vesting_time_ms) for life in lives
    )
    for key in sorted(set(defined) | set(locked)):
        beneficiary, amount, milestone, vesting = key
        if defined[key] > locked[key]:
            flags.append(
                Flag(
                    "not_locked",
                    f"{defined[key] - locked[key]} allocation(s) of the definition are not locked on chain: "
                    f"{amount} to {beneficiary} for {milestone_label(milestone)} vesting at {vesting} ms",
                )
            )
        elif locked[key] > defined[key]:
            flags.append(
                Flag(
                    "not_defined",
                    f"{locked[key] - defined[key]} allocation(s) locked on chain are not in the definition: "
                    f"{amount} to {beneficiary} for {milestone_label(milestone)} vesting at {vesting} ms",
                )
            )


def _balances(
    definition: Any, lives: list[AllocationLife], payments: list[Payment], arrived: Collection[str] = ()
) -> tuple[tuple[Balance, ...], Balance]:
    lines: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if definition is not None:
        for allocation in definition.allocations:
            lines[allocation.beneficiary_address]["defined"] += allocation.token_amount
    for life in lives:
        line = lines[life.beneficiary]
        line["moved_in" if life.out_ref in arrived else "allocated"] += life.amount
        line[
            "still_locked" if life.state == LOCKED else "moved_out" if life.state == MOVED else life.state
        ] += life.amount
    for payment in payments:
        lines[payment.address]["paid"] += payment.amount
    balances = tuple(Balance(who, **values) for who, values in sorted(lines.items()))
    total = Balance(
        TOTAL,
        **{
            name: sum(getattr(b, name) for b in balances)
            for name in (
                "defined",
                "allocated",
                "released",
                "reclaimed",
                "still_locked",
                "paid",
                "moved_in",
                "moved_out",
            )
        },
    )
    return balances, total
