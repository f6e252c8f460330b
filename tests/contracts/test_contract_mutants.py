"""Tests that kill mutants of the scripts the attack catalogue and the properties let survive.

Each is named after the rule the mutant broke, and each is, as everywhere in the contract tests, one
change to a transaction the same test first shows accepted, refused by exactly the named redeemer with
exactly its rule's trace message (`make mutants`, bench/mutants.json; the ones no test can tell apart
are argued in bench/mutants-equivalent.md).
"""

from __future__ import annotations

import copy

import pytest
from pycardano import (
    Asset,
    AssetName,
    MultiAsset,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionOutput,
    Value,
)

from milestoned.contracts import attacks
from milestoned.contracts import scenarios as sc
from milestoned.contracts.attacks import B1, B2, alloc

from .conftest import Evaluate
from .test_contract_properties import accepted, refused_by, release


def with_mint(built: sc.Built, mint: MultiAsset) -> sc.Built:
    """The same transaction with another mint field (evaluation only: the scripts see the new field)."""
    body = copy.deepcopy(built.tx.transaction_body)
    body.mint = mint
    return sc.Built(Transaction(body, built.tx.transaction_witness_set), built.utxos, built.spec)


def test_spends_read_the_auth_tokens_burn_not_another_token_of_the_policy(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """A release that also mints a second token name under the schedule's policy is refused by the
    policy alone ("mint only the auth token"): each spend reads the auth token's burn, the policy's first
    mint entry, and passes. (Kills the validator reading the last entry instead.)"""
    built = release(schedule, [alloc(B1, 500)])
    accepted(evaluate("release 1 (mint as built)", built))
    policy = ScriptHash(schedule.schedule_id)
    extra = MultiAsset({policy: Asset({AssetName(b""): -1, AssetName(b"x"): 1})})
    evaluations = evaluate("release 1, a second token minted", with_mint(built, extra))
    refused_by(evaluations, "mint only the auth token")
    assert [e.tag for e in evaluations].count(RedeemerTag.SPEND) == 1  # the spend ran, and passed


def test_a_reclaim_that_spends_no_allocation_cannot_mint(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    """The admin, after the deadline, reclaims nothing and mints a token of another name under the
    schedule's policy instead of burning auth tokens: refused ("burn count": at least one allocation must
    be spent, so `minted_count == -spent` cannot hold with nothing). (Kills `spent > 0` becoming `>=`.)"""
    deadline = schedule.reclaim_deadline_ms
    spent = sc.allocation_utxos(schedule, [alloc(B1, 500)])
    accepted(evaluate("reclaim 1", sc.reclaim_tx(schedule, spent, validity_start_ms=deadline)))
    nothing_spent = sc.reclaim_tx(schedule, {}, validity_start_ms=deadline)
    minted = MultiAsset({ScriptHash(schedule.schedule_id): Asset({AssetName(b"x"): 1})})
    refused_by(evaluate("reclaim of nothing, minting", with_mint(nothing_spent, minted)), "burn count")


def test_one_key_with_two_staking_parts_is_two_runs(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    """Consecutive allocations to two addresses that share the payment key but not the staking part are
    two runs, paid by two payouts; one payout of both to the first address is refused. (Kills the run
    merge comparing payment credentials only: the second address's tokens would go to the first.)"""
    allocations = [alloc(B1, 300), alloc(sc.beneficiary("alice", staked=False), 200)]
    accepted(evaluate("release to one key, two staking parts", release(schedule, allocations)))
    merged = [schedule.payout(B1, 500, lovelace=2 * sc.ALLOCATION_LOVELACE)]
    refused_by(
        evaluate(
            "release to one key, two staking parts, one payout",
            release(schedule, allocations, payouts=merged),
        ),
        attacks.NOT_MATCHED + "wrong address or order",
    )


def test_a_negative_oracle_index_is_refused(schedule: sc.Schedule, evaluate: Evaluate) -> None:
    """Oracle 2 signs twice, once as index -1 (read from the end of the list, it names oracle 2 again) and
    once as index 2: the indices ascend from -1, but the first must be at least 0, so the quorum of two
    is not filled by one oracle ("oracle indices must ascend"). (Kills `previous = -1` becoming -2.)"""
    twice = schedule.attestation(b"m1", [1, 2])
    accepted(
        evaluate("release 1, oracles 1 and 2", release(schedule, [alloc(B1, 500)], attestations=[twice]))
    )
    negative = schedule.attestation(b"m1", [-1, 2], signers=[2, 2])
    refused_by(
        evaluate(
            "release 1, oracle 2 as -1 and 2", release(schedule, [alloc(B1, 500)], attestations=[negative])
        ),
        "oracle indices must ascend",
    )


def test_a_registration_counts_the_auth_token_it_mints_not_another_name(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """A registration of one allocation that mints one token of another name under the schedule's policy
    instead of the auth token is refused ("mint count": the count reads the auth token, absent here, as
    0). (Kills the count's default 0 becoming 1, which would read the other name's mint as one auth
    token minted.)"""
    built = attacks.register(attacks.Schedules(), schedule=schedule)
    accepted(evaluate("register 1 (mint as built)", built))
    other_name = MultiAsset({ScriptHash(schedule.schedule_id): Asset({AssetName(b"x"): 1})})
    refused_by(evaluate("register 1, another name minted", with_mint(built, other_name)), "mint count")


def test_a_release_must_burn_the_auth_token_not_another_name(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """A release of one allocation that burns one token of another name under the schedule's policy
    instead of its auth token (which would then leave the validator) is refused by the policy alone
    ("burn count"; the spend passes, it sees a burn under the policy). (Kills the count's default 0
    becoming -1, which would read that burn as the auth token's.)"""
    built = release(schedule, [alloc(B1, 500)])
    accepted(evaluate("release 1 (mint as built)", built))
    other_name = MultiAsset({ScriptHash(schedule.schedule_id): Asset({AssetName(b"x"): -1})})
    evaluations = evaluate("release 1, another name burned", with_mint(built, other_name))
    refused_by(evaluations, "burn count")
    assert [e.tag for e in evaluations].count(RedeemerTag.SPEND) == 1


def with_policy_token(schedule: sc.Schedule, out: TransactionOutput, name: bytes) -> TransactionOutput:
    """`out` also holding one token `name` under the schedule's policy."""
    extra = sc.tokens(schedule.schedule_id, name, 1)
    return TransactionOutput(
        out.address, Value(out.amount.coin, out.amount.multi_asset + extra), datum=out.datum
    )


def test_an_allocation_output_holds_the_auth_token_and_no_other_name_of_the_policy(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """A registration whose allocation output holds, beside its auth token, a token of another name
    under the schedule's policy, or that other token instead of the auth token, is refused ("one auth
    token per output"; one auth token is minted either way). (Kills the output check dropping
    `len(auth) == 1`, and its read of the auth token defaulting to 1 instead of 0.)"""
    schedules = attacks.Schedules()
    accepted(evaluate("register 1", attacks.register(schedules, schedule=schedule)))
    with_auth = schedule.allocation_output(alloc())
    without_auth = schedule.allocation_output(alloc(), auth_tokens=0)
    for case, out in (
        ("register 1, another name beside the auth token", with_policy_token(schedule, with_auth, b"x")),
        (
            "register 1, another name instead of the auth token",
            with_policy_token(schedule, without_auth, b"x"),
        ),
    ):
        built = attacks.register(schedules, schedule=schedule, outputs=[out], minted=1)
        refused_by(evaluate(case, built), "one auth token per output")


def test_an_allocation_of_one_token_registers_and_holding_none_is_refused(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """The smallest allocation, 1 token, registers; the same allocation output holding none of the token
    is refused ("token amount held differs from the datum amount"). (Kills `amount > 0` becoming
    `> 1`, and the held amount's default 0 becoming 1, which would take an unfunded output for 1.)"""
    schedules = attacks.Schedules()
    one = alloc(B1, 1)
    accepted(
        evaluate("register 1 of 1 token", attacks.register(schedules, schedule=schedule, allocations=[one]))
    )
    unfunded = schedule.allocation_output(one, funded=0)
    refused_by(
        evaluate(
            "register 1 of 1 token, holding none",
            attacks.register(schedules, schedule=schedule, allocations=[one], outputs=[unfunded]),
        ),
        "token amount held differs from the datum amount",
    )


def test_a_run_of_two_allocations_must_be_paid_the_ada_of_both(
    schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    """Two consecutive allocations of one beneficiary are one run, paid by one payout carrying the ADA
    both locked; one lovelace less is refused ("payout carries less ADA than its allocations locked").
    (Kills the merged allocation's ADA read from its value's last policy entry, an auth token's 1 or the
    token amount, instead of ADA: the run's locked ADA would be undercounted.)"""
    allocations = [alloc(B1, 300), alloc(B1, 250)]
    both = 2 * sc.ALLOCATION_LOVELACE
    paid = [schedule.payout(B1, 550, lovelace=both)]
    accepted(evaluate("release of a run of two", release(schedule, allocations, payouts=paid)))
    short = [schedule.payout(B1, 550, lovelace=both - 1)]
    refused_by(
        evaluate("release of a run of two, 1 lovelace short", release(schedule, allocations, payouts=short)),
        attacks.LESS_ADA,
    )


def wrong_payout(schedule: sc.Schedule, how: str, amount: int) -> TransactionOutput:
    """B1's payout of a run of `amount` tokens, one token short or one lovelace short of its ADA."""
    if how == "wrong token amount":
        return schedule.payout(B1, amount - 1)
    return schedule.payout(B1, amount, lovelace=sc.ALLOCATION_LOVELACE - 1)


@pytest.mark.parametrize(
    ("first_run", "last_run", "reason"),
    [
        ("wrong token amount", "less ADA", attacks.LESS_ADA),
        ("less ADA", "wrong token amount", attacks.NOT_MATCHED + "wrong token amount"),
    ],
    ids=["amount, then ADA", "ADA, then amount"],
)
def test_a_release_with_two_wrong_payout_runs_names_the_rule_of_the_run_checked_first(
    schedule: sc.Schedule, evaluate: Evaluate, first_run: str, last_run: str, reason: str
) -> None:
    """Runs b1, b2, b1 paid with the first and the last payout wrong, each breaking another rule: refused
    with the rule of the last run. The policy checks the runs last first (it walks the inputs last
    first); once one mismatches, the runs before it are no longer compared, and the message comes from
    `explain_unpaid` on the mismatched one (the uplc review's note): it must name that run's rule, not
    the other wrong run's, nor a mix."""
    runs = [schedule.payout(B1, 100), schedule.payout(B2, 200), schedule.payout(B1, 300)]
    accepted(evaluate("runs b1, b2, b1", release(schedule, attacks.RUNS, payouts=runs)))
    runs[0], runs[2] = wrong_payout(schedule, first_run, 100), wrong_payout(schedule, last_run, 300)
    refused_by(
        evaluate(
            f"runs b1, b2, b1, the first ({first_run}) and last ({last_run}) payout wrong",
            release(schedule, attacks.RUNS, payouts=runs),
        ),
        reason,
    )
