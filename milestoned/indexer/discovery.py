"""Discovery: recognising a schedule from the chain alone, as its registration transactions arrive. Pure.

Why: the chain, not the local log, is the source of truth for everything it can prove (DESIGN §1, §10).
After a lost disk, on a second server or for an auditor, a schedule must be learnt from its registration:
transactions that mint auth tokens under a policy id P into the allocation validator and carry the
label-1967 metadata (`domain.registration_metadata`). Metadata alone proves nothing (anyone can copy it);
a mint alone says nothing of the rules. A schedule is discovered only when

1. every part is a transaction that mints exactly as many auth tokens under P as its metadata says it
   registers, each locked at the validator with a datum naming P (what the policy enforces on register);
2. the parts cover every allocation once, their text matches the announced hash, and it parses as a
   schedule definition of this network;
3. the definition re-derives exactly P (`contracts.loader.schedule_id`): the policy that minted commits to
   the admin, the oracles, the quorum and the deadline the metadata states;
4. the follow rules (`FollowPolicy`) take it.

Each part is recorded as a `RegistrationPartSeen` chain event (so a registration split over several blocks
is assembled across restarts, and a rollback of any part forgets just that part); completion gives
`ScheduleDiscovered` followed by the `AllocationLocked` of every part, all at the completing block's point,
so a rollback below it undoes the schedule and its allocations together, and a rollback above it nothing.
Anything that fails a check is a `Rejection` (a reason code for the metrics counter, and a message for the
one log line), never an exception and never a schedule.

The schedule parser is imported with this module, not at the first registration met: that registration
comes in the first blocks of a daemon's catch-up, while it answers its first clients, and importing the
parser then took 20-50 ms of the follower's thread (bench/scale_queries.py, traced).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cbor2

from milestoned.domain.registration_metadata import (
    SCHEDULE_METADATA_LABEL,
    MalformedRegistration,
    RegistrationPart,
    assemble,
    read_part,
)
from milestoned.domain.schedule_canonical import schedule_document
from milestoned.domain.schedule_file import ScheduleValidationError, parse_schedule_json
from milestoned.eventlog.events import (
    AllocationLocked,
    ChainEvent,
    ChainPoint,
    RegistrationPartSeen,
    ScheduleDiscovered,
    SchedulePolicy,
)
from milestoned.indexer.filter import AUTH_TOKEN_NAME_HEX, WatchedContract, allocation_locked
from milestoned.ogmios.errors import OgmiosProtocolError
from milestoned.ogmios.frames import loads, transaction_spans
from milestoned.ogmios.model import Block, Transaction
from milestoned.ogmios.parsing import parse_transaction
from milestoned.ogmios.substring import contains

LABEL_KEY: Final = str(SCHEDULE_METADATA_LABEL)

Derive = Callable[[Any], str]
"""A schedule definition → the schedule id (policy id, hex) its parameters give under our scripts."""


@dataclass(frozen=True, slots=True)
class FollowPolicy:
    """Which schedules found on chain the daemon follows (schedules registered through it always are).

    `everything` is for auditors and explorers: every schedule of our validator. Otherwise a schedule is
    followed when its admin key hash or its id is listed. The screen runs twice: on each part, with the
    transaction's required signers (the policy makes the admin one), so registrations of others are not
    even recorded; and on the reassembled definition, which is what counts.
    """

    everything: bool = False
    admin_key_hashes: frozenset[str] = frozenset()
    schedule_ids: frozenset[str] = frozenset()

    @property
    def follows_nothing(self) -> bool:
        """No schedule found on chain can ever be followed: discovery need not even look."""
        return not (self.everything or self.admin_key_hashes or self.schedule_ids)

    def may_follow(self, schedule_id: str, signers: Iterable[str]) -> bool:
        return (
            self.everything
            or schedule_id in self.schedule_ids
            or not self.admin_key_hashes.isdisjoint(signers)
        )

    def follows(self, schedule_id: str, admin_key_hash: str) -> bool:
        return self.everything or schedule_id in self.schedule_ids or admin_key_hash in self.admin_key_hashes

    def describe(self) -> str:
        if self.everything:
            return "every schedule of the validator"
        return (
            f"{len(self.admin_key_hashes)} admin key hash(es) and {len(self.schedule_ids)} schedule id(s), "
            "plus schedules registered here"
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A registration (part) that is not, or not yet, a schedule the daemon follows."""

    reason: str
    tx_id: str
    schedule_id: str | None
    message: str


def registration_transactions(block: Block) -> Iterator[Transaction]:
    """The block's transactions that carry label-1967 metadata, typed; the others are not typed.

    One substring search of the frame (a few microseconds) rules out nearly every block.
    """
    return labelled_transactions(block, LABEL_KEY)


def labelled_transactions(block: Block, label: str) -> Iterator[Transaction]:
    """The block's transactions whose metadata has `label`, typed (a frame without the label as a JSON
    key is ruled out by one substring search, and only the transactions that name it are typed)."""
    needle = f'"{label}"'.encode()
    source = block.source
    if source is None:
        yield from (tx for tx in block.transactions if metadatum(tx, label) is not None)
        return
    if not contains(source, needle):
        return
    spans = transaction_spans(source)
    if spans is None:
        yield from (tx for tx in block.transactions if metadatum(tx, label) is not None)
        return
    for span in spans:
        if not contains(span, needle):
            continue
        try:
            raw = loads(span)
        except OgmiosProtocolError:
            continue
        if isinstance(raw, dict):
            tx = parse_transaction(raw)
            if metadatum(tx, label) is not None:
                yield tx


def _document(tx: Transaction) -> object | None:
    return metadatum(tx, LABEL_KEY)


def metadatum(tx: Transaction, label: str) -> object | None:
    """The `label` metadatum of `tx` as JSON-like data (from its CBOR when Ogmios gives it), or None."""
    if tx.metadata is None:
        return None
    entry = tx.metadata.labels.get(label)
    if not isinstance(entry, Mapping):
        return None
    cbor_hex = entry.get("cbor")
    if isinstance(cbor_hex, str):
        try:
            return cbor2.loads(bytes.fromhex(cbor_hex))
        except (ValueError, cbor2.CBORDecodeError):
            return _Unreadable
    return entry.get("json", _Unreadable)


_Unreadable: Final = object()


def part_seen(
    tx: Transaction,
    point: ChainPoint,
    contract: WatchedContract,
    known: Collection[str],
    follow: FollowPolicy,
) -> RegistrationPartSeen | Rejection | None:
    """The registration part `tx` is, or why it is not one; None when it is none of our business (no
    label-1967 metadata, a failed transaction, or a part of a schedule already known)."""
    document = _document(tx)
    if document is None or tx.failed:
        return None
    try:
        part = read_part(document)
    except MalformedRegistration as exc:
        return Rejection(f"metadata_{exc.reason}", tx.id, None, str(exc))
    sid = part.schedule_id
    if sid in known:
        return None
    if not follow.may_follow(sid, tx.required_extra_signatories):
        return Rejection("not_followed", tx.id, sid, f"schedule {sid}: no signer of {tx.id} is followed")
    minted = tx.mint.get(sid, {})
    if minted != {AUTH_TOKEN_NAME_HEX: part.count}:
        return Rejection(
            "mint_mismatch",
            tx.id,
            sid,
            f"the metadata registers {part.count} allocation(s) of {sid} but the transaction mints "
            f"{dict(minted) or 'nothing'} under that policy",
        )
    locks = [
        locked
        for utxo in tx.produced
        if (locked := allocation_locked(tx, point, utxo.output, utxo.reference.index, contract, (sid,)))
    ]
    if len(locks) != part.count:
        return Rejection(
            "locks_mismatch",
            tx.id,
            sid,
            f"{part.count} auth token(s) minted but {len(locks)} well-formed allocation(s) locked",
        )
    return RegistrationPartSeen(
        point=point,
        tx_id=tx.id,
        schedule_id=sid,
        part=part.to_document(),
        locks={"allocations": [_lock_document(lock) for lock in locks]},
    )


def _lock_document(lock: AllocationLocked) -> dict[str, Any]:
    return {
        "out_ref": lock.out_ref,
        "beneficiary": lock.beneficiary,
        "amount": lock.amount,
        "milestone_id": lock.milestone_id,
        "vesting_time_ms": lock.vesting_time_ms,
    }


def complete(
    parts: Sequence[RegistrationPartSeen],
    point: ChainPoint,
    contract: WatchedContract,
    follow: FollowPolicy,
    derive: Derive,
    network: str | None = None,
) -> list[ChainEvent] | Rejection | None:
    """`ScheduleDiscovered` and the schedule's `AllocationLocked` events once `parts` complete a
    registration that checks out; None while parts are missing; a `Rejection` when it cannot be one."""
    if _still_missing(parts):
        return None
    newest = parts[-1]
    sid = newest.schedule_id
    read = [read_part(p.part) for p in parts]
    try:
        text = assemble(read)
    except MalformedRegistration as exc:
        return Rejection(exc.reason, newest.tx_id, sid, str(exc))
    if text is None:
        return None
    try:
        definition = parse_schedule_json(text)
    except ScheduleValidationError as exc:
        return Rejection("definition_invalid", newest.tx_id, sid, f"the definition does not read: {exc}")
    if definition.network.pycardano_network != contract.network or network not in (
        None,
        definition.network.value,
    ):
        return Rejection(
            "wrong_network", newest.tx_id, sid, f"the definition is for {definition.network.value}"
        )
    derived = derive(definition)
    if derived != sid:
        return Rejection(
            "policy_mismatch",
            newest.tx_id,
            sid,
            f"the definition derives schedule id {derived}, not the policy {sid} that minted",
        )
    admin = definition.admin_key_hash.hex()
    if not follow.follows(sid, admin):
        return Rejection("not_followed", newest.tx_id, sid, f"schedule {sid}: admin {admin} is not followed")
    ordered = sorted(zip(read, parts, strict=True), key=lambda pair: pair[0].first)
    discovered = ScheduleDiscovered(
        point=point,
        schedule_id=sid,
        definition=schedule_document(definition),
        policy=SchedulePolicy.from_parameters(definition.to_parameters()),
        registration={"transactions": [_transaction_document(r, p) for r, p in ordered]},
    )
    events: list[ChainEvent] = [discovered]
    for _, seen in ordered:
        for lock in seen.locks["allocations"]:
            events.append(
                AllocationLocked(
                    point=point,
                    tx_id=lock["out_ref"].split("#")[0],
                    schedule_id=sid,
                    out_ref=lock["out_ref"],
                    beneficiary=lock["beneficiary"],
                    amount=lock["amount"],
                    milestone_id=lock["milestone_id"],
                    vesting_time_ms=lock["vesting_time_ms"],
                )
            )
    return events


def _still_missing(parts: Sequence[RegistrationPartSeen]) -> bool:
    """True when `assemble` would return None for these parts: they agree and do not overlap, and a part
    is still to come. Read from each part's recorded span alone (checked by `read_part` when the part
    was seen), so that a registration of P parts arriving one by one costs P span checks each, not P
    full readings of every part's text (a 10,000-allocation schedule has hundreds of parts). Anything
    else (a complete set, parts that disagree or overlap) is left to `assemble` to judge, as before."""
    head = parts[0].part
    for seen in parts:
        document = seen.part
        if (document["schedule"], document["of"], document["hash"]) != (
            head["schedule"],
            head["of"],
            head["hash"],
        ):
            return False
    position = 0
    for first, end in sorted(seen.part["allocations"] for seen in parts):
        if first < position:
            return False
        if first > position:
            return True
        position = end
    return bool(position != head["of"])


def _transaction_document(part: RegistrationPart, seen: RegistrationPartSeen) -> dict[str, Any]:
    return {
        "tx_id": seen.tx_id,
        "slot": seen.point.slot,
        "header_hash": seen.point.header_hash,
        "first": part.first,
        "end": part.end,
    }


def first_point(discovered: ScheduleDiscovered) -> ChainPoint:
    """The point of the earliest registration transaction: where a rebuild needs to start for it."""
    transactions = discovered.registration["transactions"]
    earliest = min(transactions, key=lambda t: t["slot"])
    return ChainPoint(earliest["slot"], earliest["header_hash"])


def derive_schedule_id(definition: Any) -> str:
    """The schedule id our committed scripts give `definition` (the default `Derive`)."""
    from milestoned.contracts.loader import schedule_id

    return schedule_id(definition.to_parameters()).hex()


class Discovery:
    """Applies `part_seen` and `complete` to one block, given what the follower knows (no state of its
    own: the parts seen so far live in the follower's state, folded from the log)."""

    def __init__(
        self,
        contract: WatchedContract,
        follow: FollowPolicy,
        derive: Derive = derive_schedule_id,
        network: str | None = None,
    ) -> None:
        self.contract = contract
        self.follow = follow
        self._derive = derive
        self.network = network
        """The network name a definition must state ("devnet", "preprod"…); None: any of the contract's
        kind (mainnet or a testnet)."""

    def block_events(
        self,
        block: Block,
        known: Collection[str],
        pending: Mapping[str, Mapping[int, RegistrationPartSeen]],
        *,
        safe_point: Callable[[], object] | None = None,
    ) -> tuple[list[ChainEvent], list[Rejection]]:
        """The discovery events of `block` (parts, then each completed schedule and its allocations),
        and the rejections met; `pending` (schedule id → first allocation → part) is not modified.
        `safe_point` is called between two registration transactions (see `filter.block_events`)."""
        events: list[ChainEvent] = []
        rejections: list[Rejection] = []
        if block.slot is None or self.follow.follows_nothing:
            return events, rejections
        new_parts: dict[str, dict[int, RegistrationPartSeen]] = {}
        done: set[str] = set()
        point: ChainPoint | None = None
        for n, tx in enumerate(registration_transactions(block)):
            if n and safe_point is not None:
                safe_point()
            point = point or ChainPoint(block.slot, block.id)
            seen = part_seen(tx, point, self.contract, set(known) | done, self.follow)
            if seen is None:
                continue
            if isinstance(seen, Rejection):
                rejections.append(seen)
                continue
            sid = seen.schedule_id
            parts = {**pending.get(sid, {}), **new_parts.get(sid, {})}
            first = int(seen.part["allocations"][0])
            if first in parts:
                rejections.append(
                    Rejection("duplicate_part", seen.tx_id, sid, f"allocations from {first} already seen")
                )
                continue
            new_parts.setdefault(sid, {})[first] = seen
            events.append(seen)
            outcome = complete(
                [*parts.values(), seen], point, self.contract, self.follow, self._derive, self.network
            )
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
            elif outcome is not None:
                events.extend(outcome)
                done.add(sid)
        return events, rejections
