"""The chain audit's pass over blocks: the indexer's filter and discovery, in memory, plus what only an
auditor needs from the spending transactions. No I/O.

Why a pass of its own and not the follower: an audit needs no daemon and no log (DESIGN §10, issue 10),
so nothing is written anywhere; the follower's state (`FollowerState`) is folded in memory from exactly
the events the indexer would write (the same `filter.block_events` and `Discovery`), so the audit sees
the chain the way the daemon does. What the indexer's events leave out, the pass adds as `SpendWitness`
items, read from the release and reclaim transactions themselves: the oracle signatures of the policy's
`Release` redeemer (who attested each milestone) and the outputs tagged with the schedule id (who was
paid what). Registration metadata that was met and refused is kept too (`SeenRejection`), so the report
can say why something that looked like a schedule is not one.

The items come out in chain order, `RolledBack` included; `audit.reconcile` folds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cbor2

from milestoned.domain import onchain_types as ot
from milestoned.domain.head_anchor import HEAD_ANCHOR_LABEL, HeadAnchor, read_anchor
from milestoned.eventlog.events import (
    AllocationReclaimed,
    AllocationReleased,
    ChainEvent,
    ChainPoint,
    RolledBack,
)
from milestoned.indexer.discovery import Discovery, FollowPolicy, labelled_transactions, metadatum
from milestoned.indexer.filter import WatchedContract, block_events, mint_redeemer_data, plutus_constructor
from milestoned.indexer.state import FollowerState
from milestoned.ogmios.model import Block, Transaction

RELEASE_CONSTRUCTOR = 1
RECLAIM_CONSTRUCTOR = 2
CANCEL_CONSTRUCTOR = 3  # a milestone's cancellation (issue 15): a reclaim before the deadline


@dataclass(frozen=True, slots=True)
class Attested:
    """One milestone's signatures in a release redeemer: (oracle index, signature hex) in redeemer order."""

    milestone_id: str
    signatures: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Payout:
    """An output of a release tagged with the schedule id: who was paid, how many tokens, how much ADA."""

    address: str
    amount: int
    lovelace: int


@dataclass(frozen=True, slots=True)
class SpendWitness:
    """What a transaction spending allocations of `schedule_id` shows beyond the indexer's events.

    `redeemer` is the constructor the schedule's policy was given (1 release, 2 reclaim, 3 cancel, None:
    absent or unreadable); `attestations` are read from a release redeemer (`problem` says why they could
    not be); `signers` are the transaction's required signers (a reclaim needs the admin's)."""

    point: ChainPoint
    tx_id: str
    schedule_id: str
    redeemer: int | None
    attestations: tuple[Attested, ...]
    payouts: tuple[Payout, ...]
    signers: tuple[str, ...]
    problem: str = ""


@dataclass(frozen=True, slots=True)
class SeenRejection:
    """Registration metadata met on chain and refused by discovery (never a schedule), where it was."""

    point: ChainPoint
    reason: str
    tx_id: str
    schedule_id: str | None
    message: str


AuditItem = ChainEvent | SpendWitness | SeenRejection


@dataclass(frozen=True, slots=True)
class PublishedAnchor:
    """A log head published on chain (metadata label 1968, `domain.head_anchor`) by transaction `tx_id`."""

    point: ChainPoint
    tx_id: str
    anchor: HeadAnchor


ANCHOR_LABEL = str(HEAD_ANCHOR_LABEL)


class ChainAudit:
    """Folds blocks into audit items, as the indexer would, keeping everything in memory."""

    def __init__(self, contract: WatchedContract, follow: FollowPolicy) -> None:
        self.contract = contract
        self.discovery = Discovery(contract, follow)
        self.state = FollowerState()
        self.items: list[AuditItem] = []
        self.anchors: list[PublishedAnchor] = []
        """Log heads published on chain, for the comparison with a log (`--against-log`)."""
        self.blocks = 0
        self.tip: ChainPoint | None = None

    def roll_forward(self, block: Block) -> None:
        if block.slot is None:
            return
        self.blocks += 1
        point = ChainPoint(block.slot, block.id)
        self.tip = point
        for tx in labelled_transactions(block, ANCHOR_LABEL):
            anchor = read_anchor(metadatum(tx, ANCHOR_LABEL))
            if anchor is not None and not tx.failed:
                self.anchors.append(PublishedAnchor(point, tx.id, anchor))
        events = block_events(
            block,
            self.contract,
            self.state.schedules,
            self.state.open_allocations,
            beneficiaries=self.state.beneficiaries,
        )
        found, rejections = self.discovery.block_events(
            block, self.state.schedules, self.state.registration_parts
        )
        events = [*events, *found]
        self.items.extend(
            SeenRejection(point, r.reason, r.tx_id, r.schedule_id, r.message) for r in rejections
        )
        if not events:
            return
        self.state.apply_all(events)
        self.items.extend(events)
        spends: dict[str, set[str]] = {}  # one transaction may spend allocations of several schedules
        for event in events:
            if isinstance(event, AllocationReleased | AllocationReclaimed):
                spends.setdefault(event.tx_id, set()).add(event.schedule_id)
        if spends:
            self.items.extend(self._witnesses(block, point, spends))

    def roll_backward(self, point: ChainPoint) -> None:
        """The chain switched to a fork at `point`: recorded (as the indexer does) when it undoes anything
        (an event, a witness or a refused registration above `point`)."""
        self.tip = point
        self.anchors = [a for a in self.anchors if a.point.slot <= point.slot]
        if self.items and self.items[-1].point.slot > point.slot:
            rolled = RolledBack(point=point)
            self.state.apply(rolled)
            self.items.append(rolled)

    def _witnesses(
        self, block: Block, point: ChainPoint, spends: dict[str, set[str]]
    ) -> Iterator[SpendWitness]:
        for tx in block.transactions:
            for schedule_id in sorted(spends.get(tx.id, ())):
                yield spend_witness(tx, point, schedule_id, self._token(schedule_id))

    def _token(self, schedule_id: str) -> tuple[str, str]:
        policy = self.state.schedules[schedule_id]
        return policy.token_policy_id, policy.token_name


def spend_witness(
    tx: Transaction, point: ChainPoint, schedule_id: str, token: tuple[str, str]
) -> SpendWitness:
    """The witness of `tx`, spending allocations of `schedule_id` whose token is `token` (policy, name)."""
    data = mint_redeemer_data(tx, schedule_id)
    redeemer = None if data is None else plutus_constructor(data)
    attestations: tuple[Attested, ...] = ()
    problem = ""
    if redeemer == RELEASE_CONSTRUCTOR and data is not None:
        try:
            read = ot.release_attestations_from_cbor(bytes.fromhex(data))
            attestations = tuple(
                Attested(
                    a.milestone_id.hex(), tuple((s.oracle_index, s.signature.hex()) for s in a.signatures)
                )
                for a in read
            )
        except (ot.OnchainDecodeError, ValueError) as exc:
            problem = f"the release redeemer does not read: {exc}"
    elif data is None:
        problem = "the transaction gives the schedule's policy no redeemer"
    tag = cbor2.dumps(bytes.fromhex(schedule_id)).hex()
    policy, name = token
    payouts = tuple(
        Payout(
            utxo.output.address,
            utxo.output.value.assets.get(policy, {}).get(name, 0),
            utxo.output.value.lovelace,
        )
        for utxo in tx.produced
        if utxo.output.datum == tag
    )
    return SpendWitness(
        point=point,
        tx_id=tx.id,
        schedule_id=schedule_id,
        redeemer=redeemer,
        attestations=attestations,
        payouts=payouts,
        signers=tuple(tx.required_extra_signatories),
        problem=problem,
    )
