"""Every attack of the catalogue (`milestoned.contracts.attacks`), refused by its own rule.

Each case builds the accepted transaction and the attack from the same arguments but one, shows the
accepted one accepted by the compiled scripts, and then asserts exactly which redeemers fail on the
attack and that each failed with its rule's trace message and nothing else: a transaction refused for
an unrelated reason (a missing signature, a malformed context) fails this test.
"""

from __future__ import annotations

import pytest

from milestoned.contracts import attacks
from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import RedeemerEvaluation

from .conftest import Evaluate, failures


@pytest.fixture(scope="module")
def schedules() -> attacks.Schedules:
    return attacks.Schedules()


def outcome(evaluations: list[RedeemerEvaluation]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(tag, index, trace messages) of every failed redeemer."""
    return sorted((e.tag.value, e.index, e.logs) for e in evaluations if not e.ok)


@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=lambda a: a.name)
def test_attack_is_refused_by_its_rule(
    attack: attacks.Attack, schedules: attacks.Schedules, evaluate: Evaluate
) -> None:
    good, bad = attack.transactions(schedules)
    accepted = evaluate(f"{attack.name}: accepted twin", good)
    assert accepted and all(e.ok for e in accepted), failures(accepted)
    refused = evaluate(attack.name, bad)
    expected = sorted((tag.value, index, (reason,)) for tag, index, reason in attack.expected(schedules, bad))
    assert outcome(refused) == expected, failures(refused)


def test_every_attack_changes_one_argument_of_an_accepted_transaction(schedules: attacks.Schedules) -> None:
    """The catalogue refuses a change that is not one (a new argument, or the same value again)."""
    first = attacks.ATTACKS[0]
    not_an_argument = attacks.Attack("x", first.builder, first.base, lambda s: ("spoof", True), first.reason)
    with pytest.raises(ValueError, match="not an argument"):
        not_an_argument.transactions(schedules)
    unchanged = attacks.Attack(
        "y", first.builder, first.base, lambda s: ("start", attacks.VESTING), first.reason
    )
    with pytest.raises(ValueError, match="as it was"):
        unchanged.transactions(schedules)
    assert len(attacks.by_name()) == len(attacks.ATTACKS)


def test_the_base_transactions_differ_from_their_attacks_in_the_changed_part_only(
    schedules: attacks.Schedules,
) -> None:
    """A spot check that `transactions` builds both from the same arguments: a release whose attack
    changes the validity start differs only in the body's validity start (and so in the witnesses)."""
    good, bad = attacks.by_name()["release before vesting"].transactions(schedules)
    g, b = good.tx.transaction_body, bad.tx.transaction_body
    assert g.validity_start != b.validity_start
    assert (g.inputs, g.outputs, g.mint, g.required_signers) == (
        b.inputs,
        b.outputs,
        b.mint,
        b.required_signers,
    )
    assert sc.slot_at(attacks.VESTING) == g.validity_start
