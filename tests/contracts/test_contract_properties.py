"""The properties of DESIGN.md §3, each shown by evaluating the compiled scripts on real transactions.

Every case builds a pycardano transaction (reference scripts, fee input, collateral, key witnesses),
builds its V3 script contexts and runs the committed scripts with uplc. A rejection must come from the
check it is about: the test looks for that check's trace message in the failing script's logs.
The execution units of every case are printed at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from pycardano import Address, AssetName, PlutusData, RedeemerTag, ScriptHash, TransactionOutput, Value

from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import RedeemerEvaluation
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import attestation_message

Evaluate = Callable[[str, sc.Built], list[RedeemerEvaluation]]

VESTING = sc.SLOT_CONFIG.zero_time_ms + 1_000_000
B1 = sc.beneficiary("alice")
B2 = sc.beneficiary("bob", staked=False)


@dataclass
class UnknownRedeemer(PlutusData):
    """A policy redeemer of none of the three constructors (Register 0, Release 1, Reclaim 2)."""

    CONSTR_ID = 3


def accepted(evaluations: Sequence[RedeemerEvaluation]) -> None:
    bad = [f"{e.tag.name}#{e.index}: {e.error} {list(e.logs)}" for e in evaluations if not e.ok]
    assert evaluations and not bad, bad


def rejected(evaluations: Sequence[RedeemerEvaluation], reason: str, tag: RedeemerTag | None = None) -> None:
    failed = [e for e in evaluations if not e.ok and (tag is None or e.tag == tag)]
    assert failed, "expected a script to reject the transaction, all accepted"
    texts = [" ".join(e.logs) + " " + (e.error or "") for e in failed]
    assert any(reason in text for text in texts), f"no failure mentions {reason!r}: {texts}"


def alloc(beneficiary: Address = B1, amount: int = 500, milestone: bytes = b"m1") -> sc.Allocation:
    return sc.Allocation(beneficiary, amount, milestone, VESTING)


def release(
    schedule: sc.Schedule,
    allocations: Sequence[sc.Allocation],
    attestations: Sequence[ot.MilestoneAttestation] | None = None,
    *,
    payouts: Sequence[TransactionOutput] | None = None,
    start: int | None = VESTING,
) -> sc.Built:
    spent = sc.allocation_utxos(schedule, allocations)
    return sc.release_tx(
        schedule,
        spent,
        [schedule.attestation(b"m1", [0, 1])] if attestations is None else attestations,
        payouts=sc.correct_payouts(schedule, allocations) if payouts is None else payouts,
        validity_start_ms=start,
    )


# --- quorum and oracles ------------------------------------------------------------------------------------


def test_release_with_quorum_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    accepted(evaluate("release 1, quorum 2 of 3", release(schedule, [alloc()])))


def test_release_above_quorum_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m1", [0, 1, 2])
    accepted(evaluate("release 1, 3 of 3 signatures", release(schedule, [alloc()], [attestation])))


def test_release_one_signature_short_of_quorum_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m1", [2])
    rejected(evaluate("quorum one short", release(schedule, [alloc()], [attestation])), "quorum not reached")


def test_duplicate_oracle_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m1", [1, 1])
    rejected(evaluate("duplicate oracle", release(schedule, [alloc()], [attestation])), "indices must ascend")


def test_a_schedule_with_quorum_zero_releases_nothing(evaluate: Evaluate) -> None:
    """With quorum 0 an empty attestation would release everything: the policy refuses it (finding F4)."""
    quorum_zero = sc.Schedule(label="quorum-0", oracle_count=3, quorum=0)
    empty = ot.MilestoneAttestation(b"m1", [])
    rejected(
        evaluate("quorum 0: release with no signature", release(quorum_zero, [alloc()], [empty])),
        "quorum must be at least 1",
        RedeemerTag.MINT,
    )
    rejected(
        evaluate("quorum 0: register", sc.register_tx(quorum_zero, [alloc()])), "quorum must be at least 1"
    )


def test_descending_oracle_indices_are_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m1", [1, 0])
    rejected(
        evaluate("descending oracles", release(schedule, [alloc()], [attestation])), "indices must ascend"
    )


def test_unknown_oracle_index_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m1", [0, 3], signers=[0, 2])
    rejected(evaluate("unknown oracle index", release(schedule, [alloc()], [attestation])), "unknown oracle")


def test_signature_of_a_key_outside_the_oracle_set_is_rejected(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    outsider = SigningKey(sc.seed("outsider"))
    forged = outsider.sign(attestation_message(schedule.schedule_id, b"m1")).signature
    good = schedule.attestation(b"m1", [0]).signatures[0]
    attestation = ot.MilestoneAttestation(b"m1", [good, ot.OracleSignature(1, forged)])
    rejected(
        evaluate("outsider key as oracle 1", release(schedule, [alloc()], [attestation])), "bad signature"
    )


def test_signature_for_another_milestone_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m1", [0, 1], signed_milestone=b"m2")
    rejected(
        evaluate("signature for another milestone", release(schedule, [alloc()], [attestation])),
        "bad signature",
    )


def test_attestation_of_another_milestone_does_not_release(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    attestation = schedule.attestation(b"m2", [0, 1])
    rejected(
        evaluate("valid attestation of another milestone", release(schedule, [alloc()], [attestation])),
        "milestone not attested",
    )


def test_signature_for_another_schedule_is_rejected(
    schedule: sc.Schedule, other_schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    attestation = schedule.attestation(b"m1", [0, 1], signed_schedule=other_schedule.schedule_id)
    rejected(
        evaluate("signature for another schedule", release(schedule, [alloc()], [attestation])),
        "bad signature",
    )


def test_milestones_of_a_batch_need_each_their_attestation(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    allocations = [alloc(B1, 100, b"m1"), alloc(B2, 200, b"m2")]
    both = [schedule.attestation(b"m1", [0, 1]), schedule.attestation(b"m2", [1, 2])]
    accepted(evaluate("release 2 milestones", release(schedule, allocations, both)))
    rejected(
        evaluate("2 milestones, 1 attested", release(schedule, allocations, both[:1])),
        "milestone not attested",
    )


# --- vesting -----------------------------------------------------------------------------------------------


def test_release_before_vesting_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    rejected(evaluate("before vesting", release(schedule, [alloc()], start=VESTING - 1_000)), "not vested")


def test_release_without_lower_bound_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    rejected(evaluate("no validity lower bound", release(schedule, [alloc()], start=None)), "no lower bound")


def test_release_after_vesting_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    accepted(evaluate("after vesting", release(schedule, [alloc()], start=VESTING + 86_400_000)))


# --- payouts -----------------------------------------------------------------------------------------------


def test_underpaid_beneficiary_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    payouts = [schedule.payout(B1, 499)]
    rejected(
        evaluate("beneficiary underpaid", release(schedule, [alloc()], payouts=payouts)),
        "payouts do not match",
    )


def test_untagged_payout_does_not_count(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    payouts = [schedule.payout(B1, 500, tag=None)]
    rejected(
        evaluate("payout without schedule tag", release(schedule, [alloc()], payouts=payouts)),
        "payouts do not",
    )


def test_payout_to_another_address_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    payouts = [schedule.payout(B2, 500)]
    rejected(
        evaluate("payout to someone else", release(schedule, [alloc()], payouts=payouts)), "payouts do not"
    )


def test_one_payout_cannot_satisfy_two_allocations_of_a_schedule(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    allocations = [alloc(B1, 300), alloc(B1, 300)]
    one = [schedule.payout(B1, 300)]
    rejected(
        evaluate("double satisfaction within schedule", release(schedule, allocations, payouts=one)),
        "payouts",
    )
    two = [schedule.payout(B1, 300), schedule.payout(B1, 300)]
    rejected(
        evaluate("two payouts for one merged run", release(schedule, allocations, payouts=two)), "payouts"
    )
    merged = [schedule.payout(B1, 600, lovelace=2 * sc.ALLOCATION_LOVELACE)]
    accepted(evaluate("two allocations, one summed payout", release(schedule, allocations, payouts=merged)))


def test_allocations_of_a_beneficiary_split_by_another_are_paid_per_run(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    allocations = [alloc(B1, 100), alloc(B2, 200), alloc(B1, 300)]
    runs = [schedule.payout(B1, 100), schedule.payout(B2, 200), schedule.payout(B1, 300)]
    accepted(evaluate("runs b1, b2, b1", release(schedule, allocations, payouts=runs)))
    swapped = [schedule.payout(B2, 200), schedule.payout(B1, 100), schedule.payout(B1, 300)]
    rejected(
        evaluate("runs b1, b2, b1 paid out of order", release(schedule, allocations, payouts=swapped)),
        "payouts do not match the allocations: wrong address or order",
    )
    summed = [schedule.payout(B1, 400), schedule.payout(B2, 200)]
    rejected(
        evaluate("runs b1, b2, b1 paid as sums", release(schedule, allocations, payouts=summed)), "payouts"
    )


def test_one_payout_cannot_satisfy_two_schedules(
    schedule: sc.Schedule, other_schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    mine = sc.allocation_utxos(schedule, [alloc(B1, 500)])
    theirs = sc.allocation_utxos(other_schedule, [alloc(B1, 500)], label="other-registration")

    def both(payouts: list[TransactionOutput]) -> sc.Built:
        other_release = ot.Release([other_schedule.attestation(b"m1", [0, 1])])
        return sc.release_tx(
            schedule,
            {**mine, **theirs},
            [schedule.attestation(b"m1", [0, 1])],
            payouts=payouts,
            validity_start_ms=VESTING,
            extra_schedules=[(other_schedule, other_release, 1)],
        )

    shared = both([schedule.payout(B1, 500)])
    rejected(
        evaluate("double satisfaction across schedules", shared), "payouts do not match", RedeemerTag.MINT
    )
    sum_once = both([schedule.payout(B1, 1_000)])
    rejected(
        evaluate("one summed payout for two schedules", sum_once), "payouts do not match", RedeemerTag.MINT
    )
    separate = both([schedule.payout(B1, 500), other_schedule.payout(B1, 500)])
    accepted(evaluate("two schedules, one payout each", separate))


def test_payout_with_the_locked_ada_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    exact = [schedule.payout(B1, 500, lovelace=sc.ALLOCATION_LOVELACE)]
    accepted(evaluate("payout with exactly the locked ADA", release(schedule, [alloc()], payouts=exact)))
    more = [schedule.payout(B1, 500, lovelace=sc.ALLOCATION_LOVELACE + 1)]
    accepted(evaluate("payout with more than the locked ADA", release(schedule, [alloc()], payouts=more)))


def test_payout_short_of_the_locked_ada_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    """Whoever submits a release must not keep the ADA locked with the allocation (finding F1)."""
    short = [
        schedule.payout(B1, 500, lovelace=1_000_000),
        TransactionOutput(sc.wallet_address("releaser"), Value(1_000_000)),
    ]
    rejected(
        evaluate("payout of 1 ADA, 2 ADA locked", release(schedule, [alloc()], payouts=short)),
        "payout carries less ADA than its allocations locked",
        RedeemerTag.MINT,
    )
    one_lovelace_short = [schedule.payout(B1, 500, lovelace=sc.ALLOCATION_LOVELACE - 1)]
    rejected(
        evaluate("payout 1 lovelace short", release(schedule, [alloc()], payouts=one_lovelace_short)),
        "payout carries less ADA than its allocations locked",
    )


def test_a_merged_run_must_carry_the_ada_of_all_its_allocations(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    allocations = [alloc(B1, 300), alloc(B1, 300)]
    one_share = [schedule.payout(B1, 600, lovelace=sc.ALLOCATION_LOVELACE)]
    rejected(
        evaluate("merged run with one allocation's ADA", release(schedule, allocations, payouts=one_share)),
        "payout carries less ADA than its allocations locked",
    )


def test_more_tagged_payouts_than_runs_are_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    # the extra one first: the policy matches from the last tagged output back, so this one is left over
    extra = [schedule.payout(B2, 1), schedule.payout(B1, 500)]
    rejected(
        evaluate("an extra tagged payout", release(schedule, [alloc()], payouts=extra)),
        "more tagged payouts than runs",
    )


# --- spoofed allocations -----------------------------------------------------------------------------------


def spoofed(schedule: sc.Schedule) -> tuple[sc.TransactionInput, TransactionOutput]:
    """A UTxO at the validator with a perfect datum for `schedule` but no auth token."""
    output = schedule.allocation_output(alloc(B2, 700), auth_tokens=0)
    return sc.tx_input("spoof"), output


def test_spoofed_utxo_cannot_ride_along_a_release(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    real = sc.allocation_utxos(schedule, [alloc(B1, 500)])
    spoof_in, spoof_out = spoofed(schedule)
    built = sc.release_tx(
        schedule,
        {**real, spoof_in: spoof_out},
        [schedule.attestation(b"m1", [0, 1])],
        payouts=[schedule.payout(B1, 500), schedule.payout(B2, 700)],
        validity_start_ms=VESTING,
    )
    rejected(evaluate("spoofed UTxO beside a real allocation", built), "burn count", RedeemerTag.MINT)


def test_spoofed_utxo_cannot_be_spent_without_burning(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    spoof_in, spoof_out = spoofed(schedule)
    built = sc.assemble(
        spent={spoof_in: spoof_out},
        outputs=[TransactionOutput(B2, spoof_out.amount)],
        mint={},
        mint_redeemers={},
        schedules=[schedule],
        signers=[],
    )
    rejected(evaluate("spoofed UTxO alone", built), "script failed", RedeemerTag.SPEND)


def test_allocation_cannot_be_spent_while_registering(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    """The admin may mint but not take allocations: spending needs a burn, not a mint."""
    existing = sc.allocation_utxos(schedule, [alloc(B1, 500)])
    new = alloc(B2, 100)
    built = sc.assemble(
        spent=existing,
        outputs=[schedule.allocation_output(new), TransactionOutput(B2, Value(2_000_000))],
        mint={schedule.schedule_id: 1},
        mint_redeemers={schedule.schedule_id: ot.Register()},
        schedules=[schedule],
        signers=[schedule.admin],
    )
    rejected(evaluate("spend an allocation in a registration", built), "not burned", RedeemerTag.SPEND)


# --- reclaim -----------------------------------------------------------------------------------------------


def test_reclaim_after_deadline_by_admin_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    spent = sc.allocation_utxos(schedule, [alloc(B1, 500), alloc(B2, 250)])
    built = sc.reclaim_tx(schedule, spent, validity_start_ms=schedule.reclaim_deadline_ms)
    accepted(evaluate("reclaim after deadline", built))


def test_reclaim_before_deadline_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    spent = sc.allocation_utxos(schedule, [alloc()])
    built = sc.reclaim_tx(schedule, spent, validity_start_ms=schedule.reclaim_deadline_ms - 1_000)
    rejected(evaluate("reclaim before deadline", built), "before reclaim deadline")


def test_reclaim_without_admin_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    spent = sc.allocation_utxos(schedule, [alloc()])
    intruder = sc.signing_key("intruder")
    built = sc.reclaim_tx(schedule, spent, validity_start_ms=schedule.reclaim_deadline_ms, signers=[intruder])
    rejected(evaluate("reclaim without admin", built), "admin signature missing")


def test_reclaim_with_an_unknown_redeemer_constructor_is_rejected(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """Only Reclaim takes the reclaim branch: Constr 3 [] from the admin after the deadline is refused."""
    spent = sc.allocation_utxos(schedule, [alloc()])
    reclaim = sc.reclaim_tx(schedule, spent, validity_start_ms=schedule.reclaim_deadline_ms)
    built = sc.assemble(
        spent=spent,
        outputs=reclaim.tx.transaction_body.outputs[:1],
        mint={schedule.schedule_id: -1},
        mint_redeemers={schedule.schedule_id: UnknownRedeemer()},
        schedules=[schedule],
        signers=[schedule.admin],
        validity_start_ms=schedule.reclaim_deadline_ms,
    )
    rejected(evaluate("reclaim with redeemer Constr 3 []", built), "unknown redeemer", RedeemerTag.MINT)


def test_reclaim_must_burn_every_auth_token(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    spent = sc.allocation_utxos(schedule, [alloc(B1, 500), alloc(B2, 250)])
    built = sc.reclaim_tx(schedule, spent, validity_start_ms=schedule.reclaim_deadline_ms, burn=-1)
    rejected(evaluate("burn fewer tokens than allocations", built), "burn count", RedeemerTag.MINT)


# --- register ----------------------------------------------------------------------------------------------


def test_register_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    allocations = [alloc(B1, 500), alloc(B2, 250, b"m2"), alloc(B1, 1, b"m3")]
    accepted(evaluate("register 3", sc.register_tx(schedule, allocations)))


def register_with(schedule: sc.Schedule, output: TransactionOutput, **kwargs: object) -> sc.Built:
    return sc.register_tx(schedule, [alloc()], outputs=[output], **kwargs)  # type: ignore[arg-type]


def test_register_to_a_wrong_address_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    output = schedule.allocation_output(alloc(), address=sc.wallet_address(f"admin/{schedule.label}"))
    rejected(evaluate("register: wrong address", register_with(schedule, output)), "wrong address")


def test_register_to_a_script_address_with_another_script_is_rejected(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    elsewhere = Address(ScriptHash(schedule.schedule_id), network=sc.NETWORK)
    output = schedule.allocation_output(alloc(), address=elsewhere)
    rejected(evaluate("register: other script address", register_with(schedule, output)), "wrong address")


def test_register_without_datum_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    output = schedule.allocation_output(alloc(), datum=None)
    rejected(evaluate("register: missing datum", register_with(schedule, output)), "no inline datum")


def test_register_with_malformed_datum_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    output = schedule.allocation_output(alloc(), datum=ot.Register())
    rejected(evaluate("register: malformed datum", register_with(schedule, output)), "script failed")


def test_register_underfunded_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    output = schedule.allocation_output(alloc(amount=500), funded=499)
    rejected(
        evaluate("register: underfunded", register_with(schedule, output)), "differs from the datum amount"
    )


def test_register_overfunded_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    """A release pays exactly the datum amount, so extra tokens would be up for grabs (finding F2)."""
    output = schedule.allocation_output(alloc(amount=500), funded=501)
    rejected(
        evaluate("register: overfunded", register_with(schedule, output)), "differs from the datum amount"
    )


def test_register_for_another_schedule_id_is_rejected(
    schedule: sc.Schedule, other_schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    datum = schedule.datum(alloc(), schedule_id=other_schedule.schedule_id)
    output = schedule.allocation_output(alloc(), datum=datum)
    rejected(
        evaluate("register: datum names another schedule", register_with(schedule, output)),
        "wrong schedule id",
    )


def test_register_zero_amount_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    output = schedule.allocation_output(alloc(amount=0))
    rejected(evaluate("register: zero amount", register_with(schedule, output)), "amount not positive")


def test_register_two_auth_tokens_in_one_output_is_rejected(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    output = schedule.allocation_output(alloc(), auth_tokens=2)
    built = register_with(schedule, output, minted=2)
    rejected(evaluate("register: two auth tokens in one UTxO", built), "one auth token per output")


def test_register_without_admin_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    built = sc.register_tx(schedule, [alloc()], signers=[sc.signing_key("intruder")])
    rejected(evaluate("register: no admin signature", built), "admin signature missing")


# --- batches -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [10, 40])
def test_batch_release_is_accepted(schedule: sc.Schedule, evaluate: Evaluate, count: int) -> None:
    built = sc.batch_release(schedule, count)
    evaluations = evaluate(f"batch release of {count}", built)
    accepted(evaluations)
    assert len(evaluations) == count + 1  # one spend per allocation, the policy once
    assert built.size <= 16_384
    assert sum(e.mem for e in evaluations) <= 14_000_000
    assert sum(e.cpu for e in evaluations) <= 10_000_000_000


def test_batch_release_with_one_underpaid_is_rejected(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    allocations = sc.batch_allocations(20)
    payouts = sc.correct_payouts(schedule, allocations)
    last = allocations[-1]
    payouts[-1] = schedule.payout(last.beneficiary, last.amount - 1)
    spent = sc.allocation_utxos(schedule, allocations)
    built = sc.release_tx(
        schedule, spent, [schedule.attestation(b"m1", [0, 1])], payouts=payouts, validity_start_ms=VESTING
    )
    rejected(evaluate("batch of 20, last one underpaid", built), "payouts do not match")


def test_register_batch_is_accepted(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    allocations = sc.batch_allocations(30)
    accepted(evaluate("register 30", sc.register_tx(schedule, allocations)))


# --- the off-chain payout rule and the on-chain one agree ---------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    owners=st.lists(st.sampled_from(["alice", "bob", "carol"]), min_size=1, max_size=6),
    amounts=st.lists(st.integers(min_value=1, max_value=10**12), min_size=6, max_size=6),
    shortfall=st.integers(min_value=0, max_value=5),
)
def test_payouts_from_payout_runs_are_exactly_what_the_policy_accepts(
    schedule: sc.Schedule, owners: list[str], amounts: list[int], shortfall: int
) -> None:
    allocations = [alloc(sc.beneficiary(o), a) for o, a in zip(owners, amounts, strict=False)]
    payouts = sc.correct_payouts(schedule, allocations)
    accepted(release(schedule, allocations, payouts=payouts).evaluate())
    if shortfall < len(payouts):  # take one token from one payout: must be rejected
        short = payouts[shortfall]
        amount = short.amount.multi_asset[ScriptHash(sc.TOKEN_POLICY_ID)][AssetName(sc.TOKEN_NAME)]
        payouts[shortfall] = schedule.payout(short.address, amount - 1, lovelace=short.amount.coin)
        # a payout left with no token at all fails on the token lookup rather than the comparison
        reason = "payouts do not match" if amount > 1 else "script failed"
        rejected(release(schedule, allocations, payouts=payouts).evaluate(), reason)
        # and with all its tokens but one lovelace less than its allocations locked
        payouts[shortfall] = schedule.payout(short.address, amount, lovelace=short.amount.coin - 1)
        rejected(release(schedule, allocations, payouts=payouts).evaluate(), "less ADA than its allocations")
