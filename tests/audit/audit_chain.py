"""A devnet chain for the audit's tests, and what the test knows of it without asking the audit.

`make_chain` registers two schedules through the real txbuilder (label-1967 metadata included): S1, the
example schedule (10 allocations, 3 milestones, 5 beneficiaries) in one transaction, and S2 (60
allocations) split over several transactions landing in separate blocks, of which all but the first are
rolled back and land again on the fork. It releases S1's first milestone (oracles 1 and 2) and one S2
beneficiary's allocations (oracles 2 and 3), reclaims the rest of S1 after its deadline, and puts three
pieces of bad registration metadata on chain that must never become a schedule:

- a copy of a real registration part (of S3, never registered) on a plain payment: nothing minted;
- label-1967 metadata of the wrong shape;
- S4: a real registration (its policy mints, its allocations are locked) whose metadata carries the
  definition of S5, which derives another policy id.

`Expected` holds the facts as the test made them (definitions, transaction ids, who signed), from
which the tests compute what the audit must say: never from the audit's own code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pycardano import AuxiliaryData, Metadata, TransactionOutput
from txbuilder_support import (
    ADMIN,
    ADMIN_ADDRESS,
    OPERATOR,
    OPERATOR_ADDRESS,
    World,
    large_schedule,
    oracle_signature,
    relative_schedule,
)

from milestoned.domain.registration_metadata import SCHEDULE_METADATA_LABEL, part_document
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_canonical import canonical_schedule_json
from milestoned.txbuilder.assembly import TxPlan, assemble
from milestoned.txbuilder.reclaim import build_reclaim
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit

M1 = "M1-testnet-launch"
S2_ALLOCATIONS = 60

CaughtUp = Callable[[], Awaitable[None]]


@dataclass
class Expected:
    s1: ScheduleDefinition
    s1_id: str
    s1_registration: list[str]
    s1_release: str
    s1_reclaims: list[str]
    s2: ScheduleDefinition
    s2_id: str
    s2_parts: list[str]
    s2_beneficiary: str
    s2_release: str
    s3_id: str
    s4_id: str
    oracle_keys: dict[str, set[str]] = field(default_factory=dict)
    """Schedule id -> the oracle keys whose signatures the test put in its release."""


async def _produce(w: World, caught_up: CaughtUp) -> None:
    w.devnet.produce_block()
    await caught_up()


async def make_chain(w: World, caught_up: CaughtUp) -> Expected:
    """Build the chain; `caught_up` is awaited after every block that matters (the followers' turn)."""
    s1 = relative_schedule(w.devnet, w.now_ms)
    plan1 = await w.register(s1)
    await caught_up()
    s1_id = plan1.schedule_id.hex()

    s2 = large_schedule(w.devnet, w.now_ms, S2_ALLOCATIONS)
    plan2 = await build_registration(w.chain, s2, ADMIN_ADDRESS)
    parts = [t for t in plan2.txs if t.kind == "registration"]
    assert len(parts) >= 2, "S2 must be registered over several transactions"
    for built in plan2.txs:  # the policy's reference script first, then each part in a block of its own
        await submit(w.chain, sign(built, [ADMIN]))
        await _produce(w, caught_up)
    w.devnet.rollback(len(parts) - 1)  # every part but the first leaves the chain…
    await caught_up()
    w.settle()  # …and lands again on the fork
    await caught_up()

    s3 = relative_schedule(w.devnet, w.now_ms, nonce="33" * 16)
    plan3 = await build_registration(w.chain, s3, ADMIN_ADDRESS)
    copied = plan3.txs[-1].tx.auxiliary_data
    await _pay_with_metadata(w, copied)
    await _pay_with_metadata(
        w, AuxiliaryData(Metadata({SCHEDULE_METADATA_LABEL: {"v": 1, "schedule": "zz"}}))
    )
    s4_id = await _register_with_foreign_definition(w)
    await caught_up()

    m1_vested = max(a.vesting_time_ms for a in s1.allocations if a.milestone_id == M1.encode())
    w.advance_ms(m1_vested - w.now_ms + 1_000)
    signatures = [oracle_signature(1, plan1.schedule_id, M1), oracle_signature(2, plan1.schedule_id, M1)]
    release1 = await build_release(w.chain, s1, {M1.encode(): signatures}, OPERATOR_ADDRESS)
    [release1_tx] = release1.txs
    await submit(w.chain, sign(release1_tx, [OPERATOR]))
    w.settle()
    await caught_up()

    beneficiary = sorted({a.beneficiary_address for a in s2.allocations})[0]
    s2_signatures = [
        oracle_signature(2, plan2.schedule_id, "M1"),
        oracle_signature(3, plan2.schedule_id, "M1"),
    ]
    release2 = await build_release(
        w.chain, s2, {b"M1": s2_signatures}, OPERATOR_ADDRESS, beneficiary=beneficiary
    )
    [release2_tx] = release2.txs
    await submit(w.chain, sign(release2_tx, [OPERATOR]))
    w.settle()
    await caught_up()

    w.advance_ms(s1.reclaim_deadline_ms - w.now_ms + 1_000)
    reclaim = await build_reclaim(w.chain, s1, ADMIN_ADDRESS)
    for built in reclaim.txs:
        await submit(w.chain, sign(built, [ADMIN]))
    w.settle()
    await caught_up()
    return Expected(
        s1=s1,
        s1_id=s1_id,
        s1_registration=[t.id for t in plan1.txs if t.kind == "registration"],
        s1_release=release1_tx.id,
        s1_reclaims=[t.id for t in reclaim.txs],
        s2=s2,
        s2_id=plan2.schedule_id.hex(),
        s2_parts=[t.id for t in parts],
        s2_beneficiary=beneficiary,
        s2_release=release2_tx.id,
        s3_id=plan3.schedule_id.hex(),
        s4_id=s4_id,
        oracle_keys={
            s1_id: {s.oracle_key.hex() for s in signatures},
            plan2.schedule_id.hex(): {s.oracle_key.hex() for s in s2_signatures},
        },
    )


async def _pay_with_metadata(w: World, metadata: AuxiliaryData) -> None:
    """A plain payment of the admin to itself carrying `metadata` (mints nothing)."""
    snapshot = await w.chain.snapshot([ADMIN_ADDRESS])
    plan = TxPlan(
        "metadata",
        [TransactionOutput(ADMIN_ADDRESS, 2_000_000)],
        snapshot.utxos(ADMIN_ADDRESS),
        ADMIN_ADDRESS,
        auxiliary_data=metadata,
    )
    built = await assemble(w.chain, plan)
    await submit(w.chain, sign(built, [ADMIN]))
    w.settle()


async def _register_with_foreign_definition(w: World) -> str:
    """Register S4 for real, but with metadata whose definition (S5's: S4 with another nonce, so the
    same size) derives another policy id. Returns S4's id."""
    s4 = relative_schedule(w.devnet, w.now_ms, nonce="44" * 16)
    s5 = relative_schedule(w.devnet, w.now_ms, nonce="55" * 16)
    plan = await build_registration(w.chain, s4, ADMIN_ADDRESS)
    *setup, registration = plan.txs
    assert registration.kind == "registration"
    for built in setup:
        await submit(w.chain, sign(built, [ADMIN]))
    count = len(s4.allocations)
    text = canonical_schedule_json(s5).decode()
    foreign = AuxiliaryData(
        Metadata({SCHEDULE_METADATA_LABEL: part_document(plan.schedule_id, text, 0, count, count)})
    )
    tx = registration.tx
    tx.auxiliary_data = foreign
    tx.transaction_body.auxiliary_data_hash = foreign.hash()
    await submit(w.chain, sign(tx, [ADMIN]))
    w.settle()
    return plan.schedule_id.hex()
