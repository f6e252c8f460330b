"""`assemble` end to end on hand-built plans: tests for mutants of `txbuilder/assembly.py` that survived
(issue 19).

The chain is a stub standing in for a cardano-node's evaluator (which cannot run here): it answers the
mainnet Conway protocol parameters the devnet uses and, for `evaluate`, a scripted budget or a scripted
3010 failure, and records what it was asked. That makes the boundaries exact: the declared execution
units are the evaluated ones plus 1% plus one unit, the per-transaction limits are inclusive, change
under its min-ADA is refused (and change exactly at it is not), and the built transaction conserves
value to the lovelace and the token.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from pycardano import (
    Address,
    Asset,
    AssetName,
    MultiAsset,
    Network,
    PlutusData,
    PlutusV3Script,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    UTxO,
    Value,
    VerificationKey,
    VerificationKeyHash,
    VerificationKeyWitness,
)

from milestoned.devnet.encode import protocol_parameters
from milestoned.devnet.parameters import MAINNET_CONWAY
from milestoned.ogmios.errors import ScriptExecutionFailure
from milestoned.ogmios.model import ExecutionUnits, RedeemerPointer
from milestoned.ogmios.parsing import parse_protocol_parameters
from milestoned.ogmios.state_queries import ScriptBudget
from milestoned.txbuilder import fees
from milestoned.txbuilder.assembly import (
    FEE_RESERVE,
    BuiltTx,
    TooLarge,
    TxPlan,
    assemble,
    least_covering_fee,
    pick_collateral,
    select_inputs,
)
from milestoned.txbuilder.errors import EvaluationFailed, InsufficientFunds

PARAMS = parse_protocol_parameters(protocol_parameters(MAINNET_CONWAY))
LIMITS = fees.max_units(PARAMS)  # 14,000,000 memory, 10,000,000,000 CPU
WALLET = Address(VerificationKeyHash(bytes(range(28))), network=Network.TESTNET)
PAYEE = Address(VerificationKeyHash(bytes([9] * 28)), network=Network.TESTNET)
SCRIPT = Address(ScriptHash(bytes([3] * 28)), network=Network.TESTNET)
POLICY = bytes([7] * 28)
MINT_POLICY = bytes([8] * 28)


@dataclass
class Nothing(PlutusData):
    CONSTR_ID = 0


def tokens(policy: bytes, **names: int) -> MultiAsset:
    return MultiAsset({ScriptHash(policy): Asset({AssetName(n.encode()): q for n, q in names.items()})})


def utxo(n: int, amount: int | Value, address: Address = WALLET) -> UTxO:
    return UTxO(TransactionInput(TransactionId(bytes([n]) * 32), 0), TransactionOutput(address, amount))


@dataclass
class StubChain:
    """The node's side of `assemble`: protocol parameters and a scripted evaluator (asked, as
    `evaluation="node"` says, instead of running the scripts here)."""

    evaluation = "node"
    budgets: Sequence[tuple[str, int, int, int]] = ()  # purpose, index, memory, cpu
    failure: ScriptExecutionFailure | None = None
    evaluated: list[tuple[Transaction, dict[TransactionInput, TransactionOutput]]] = field(
        default_factory=list
    )

    async def protocol_parameters(self) -> Any:
        return PARAMS

    async def evaluate(
        self, tx: Transaction, unconfirmed: Mapping[TransactionInput, TransactionOutput] = {}
    ) -> tuple[ScriptBudget, ...]:
        self.evaluated.append((tx, dict(unconfirmed)))
        if self.failure is not None:
            raise self.failure
        return tuple(
            ScriptBudget(RedeemerPointer(purpose, index), ExecutionUnits(memory, cpu))
            for purpose, index, memory, cpu in self.budgets
        )


def build(chain: StubChain, plan: TxPlan) -> BuiltTx:
    return asyncio.run(assemble(chain, plan))  # type: ignore[arg-type]


def mint_plan(*wallet: UTxO, outputs: Sequence[TransactionOutput] = ()) -> TxPlan:
    """Mints one token under MINT_POLICY (a script run: collateral and evaluation) and pays it out."""
    minted = tokens(MINT_POLICY, A=1)
    return TxPlan(
        kind="release",
        outputs=[TransactionOutput(PAYEE, Value(2_000_000, minted)), *outputs],
        wallet=list(wallet),
        change_address=WALLET,
        mint=minted,
        mint_redeemers={MINT_POLICY: Nothing()},
    )


def value_of(output: TransactionOutput) -> Value:
    return Value(output.amount) if isinstance(output.amount, int) else output.amount


def assert_balanced(built: BuiltTx) -> None:
    """What goes in (spent inputs and the mint) is what comes out (outputs and the fee), exactly."""
    body = built.tx.transaction_body
    assert set(built.spent) == set(body.inputs)
    spent = Value(0, MultiAsset())
    for output in built.spent.values():
        spent = spent + value_of(output)
    produced = Value(body.fee, MultiAsset())
    for output in body.outputs:
        produced = produced + value_of(output)
    minted = Value(0, body.mint) if body.mint is not None else Value(0, MultiAsset())
    assert (spent + minted).coin == produced.coin
    assert (spent + minted).multi_asset.normalize() == produced.multi_asset.normalize()


def test_declared_units_are_the_evaluated_ones_plus_one_percent_plus_one() -> None:
    chain = StubChain(budgets=[("mint", 0, 1_000_000, 123_456_789)])
    built = build(chain, mint_plan(utxo(1, 20_000_000)))
    [redeemer] = built.tx.transaction_witness_set.redeemer
    assert (redeemer.tag, redeemer.index) == (RedeemerTag.MINT, 0)
    # 1,000,000 * 101 // 100 + 1 and 123,456,789 * 101 // 100 + 1
    assert (redeemer.ex_units.mem, redeemer.ex_units.steps) == (1_010_001, 124_691_357)
    assert (built.mem, built.cpu) == (1_010_001, 124_691_357)
    assert built.fee == fees.minimum_fee(PARAMS, built_size(built), 1_010_001, 124_691_357, 0)
    assert_balanced(built)


def witness() -> VerificationKeyWitness:
    return VerificationKeyWitness(VerificationKey(bytes(32)), bytes(64))


def built_size(built: BuiltTx) -> int:
    """The size the fee was computed for: the transaction with one vkey witness per signer (an ed25519
    witness: a 32-byte key and a 64-byte signature)."""
    witnessed = Transaction(
        built.tx.transaction_body,
        TransactionWitnessSet(
            vkey_witnesses=[
                VerificationKeyWitness(VerificationKey(bytes(32)), bytes(64)) for _ in built.signers
            ],
            redeemer=built.tx.transaction_witness_set.redeemer,
        ),
        auxiliary_data=built.tx.auxiliary_data,
    )
    return len(witnessed.to_cbor())


# The largest evaluated memory and CPU whose declared units (x * 101 // 100 + 1) stay within the limits.
MAX_MEMORY = 13_861_386  # declares 14,000,000; one more declares 14,000,001
MAX_CPU = 9_900_990_099  # declares 10,000,000,000; one more declares 10,000,000,002


def test_the_declared_units_may_reach_the_limits_but_not_pass_them() -> None:
    at_limits = build(StubChain(budgets=[("mint", 0, MAX_MEMORY, MAX_CPU)]), mint_plan(utxo(1, 20_000_000)))
    assert (at_limits.mem, at_limits.cpu) == (LIMITS.memory, LIMITS.cpu) == (14_000_000, 10_000_000_000)
    for memory, cpu in ((MAX_MEMORY + 1, 1_000), (1_000, MAX_CPU + 1)):
        with pytest.raises(TooLarge) as refused:
            build(StubChain(budgets=[("mint", 0, memory, cpu)]), mint_plan(utxo(1, 20_000_000)))
        declared = (memory * 101 // 100 + 1, cpu * 101 // 100 + 1)
        assert (refused.value.mem, refused.value.cpu) == declared
        assert str(refused.value).startswith(
            f"this release needs {declared[0]:,} memory and {declared[1]:,} CPU units (with a 1% margin)"
        )


def failure(message: str, validation_error: str | None = None) -> ScriptExecutionFailure:
    data: dict[str, Any] = {"validationError": validation_error} if validation_error else {}
    error = {"code": 3012, "message": message, "data": data}
    item = {"validator": {"purpose": "mint", "index": 0}, "error": error}
    return ScriptExecutionFailure(3010, "Some scripts of the transactions terminated with error(s).", [item])


@pytest.mark.parametrize(
    "answer",
    [
        failure("The script ran out of its Budget."),
        failure("Validation failed", "overspending the budget: memory"),
    ],
)
def test_an_exhausted_budget_is_too_large_not_a_failure(answer: ScriptExecutionFailure) -> None:
    with pytest.raises(TooLarge) as refused:
        build(StubChain(failure=answer), mint_plan(utxo(1, 20_000_000)))
    assert (refused.value.mem, refused.value.cpu) == (None, None)
    assert str(refused.value) == "this release needs more execution units than one transaction may use"


def test_a_script_that_fails_is_an_evaluation_failure_that_says_why() -> None:
    answer = failure("Validation failed", "the validator crashed / exited prematurely: auth token not burned")
    with pytest.raises(EvaluationFailed) as refused:
        build(StubChain(failure=answer), mint_plan(utxo(1, 20_000_000)))
    assert not isinstance(refused.value, TooLarge)
    assert str(refused.value) == (
        "this release would fail, so it was not submitted: the node's evaluator says its scripts fail: "
        f"{answer}"
    )
    assert "auth token not burned" in str(refused.value)


def test_only_the_unconfirmed_outputs_the_transaction_uses_go_to_the_evaluator() -> None:
    wallet_input = utxo(1, 20_000_000)
    collateral = utxo(2, 9_000_000)
    reference = utxo(3, 2_000_000, PAYEE)
    unrelated = utxo(4, 7_000_000)
    plan = mint_plan(wallet_input, collateral)
    plan.reference_inputs = [reference]
    plan.unconfirmed = {u.input: u.output for u in (wallet_input, collateral, reference, unrelated)}
    chain = StubChain(budgets=[("mint", 0, 1_000, 1_000)])
    built = build(chain, plan)
    assert built.tx.transaction_body.collateral == [collateral.input]
    assert built.tx.transaction_body.inputs == [wallet_input.input]
    [(_, sent)] = chain.evaluated
    assert sent == {u.input: u.output for u in (wallet_input, collateral, reference)}


def payment_plan(*wallet: UTxO, outputs: int = 1) -> TxPlan:
    """No script runs: pays 2 ADA to PAYEE `outputs` times."""
    return TxPlan(
        kind="release",
        outputs=[TransactionOutput(PAYEE, 2_000_000) for _ in range(outputs)],
        wallet=list(wallet),
        change_address=WALLET,
    )


MANY = tokens(POLICY, **{f"token-{n:02}-{'x' * 20}": 1 for n in range(40)})
"""A wallet UTxO holding 40 tokens: the change that carries them back needs several ADA."""


@pytest.mark.parametrize("outputs", [1, 2, 3])
def test_change_under_its_min_ada_is_refused_and_change_at_it_is_accepted(outputs: int) -> None:
    roomy = build(StubChain(), payment_plan(utxo(1, Value(40_000_000, MANY)), outputs=outputs))
    change = roomy.tx.transaction_body.outputs[-1]
    assert change.address == WALLET and value_of(change).multi_asset == MANY
    minimum = fees.minimum_lovelace(PARAMS, change)
    assert minimum > 5_000_000  # far more than the 3 ADA the selection reserves beyond the outputs
    exact = outputs * 2_000_000 + roomy.fee + minimum
    at_minimum = build(StubChain(), payment_plan(utxo(1, Value(exact, MANY)), outputs=outputs))
    assert (at_minimum.fee, value_of(at_minimum.tx.transaction_body.outputs[-1]).coin) == (roomy.fee, minimum)
    assert_balanced(at_minimum)
    with pytest.raises(InsufficientFunds) as refused:
        build(StubChain(), payment_plan(utxo(1, Value(exact - 1, MANY)), outputs=outputs))
    assert (refused.value.needed, refused.value.available) == (minimum, minimum - 1)
    assert str(refused.value) == (
        f"the change of this release would hold {minimum - 1:,} lovelace, under the {minimum:,} an output "
        f"needs; send more lovelace to {WALLET}"
    )


def test_outputs_paid_by_script_inputs_need_only_the_fee_reserve_from_the_wallet() -> None:
    """A release: the script input pays the output in full; the wallet adds only the fee reserve."""
    reserve = utxo(1, 3_000_000)  # exactly FEE_RESERVE
    with_tokens = utxo(2, Value(10_000_000, tokens(POLICY, B=1)))  # plain ones are taken first
    locked = utxo(5, 5_000_000, SCRIPT)
    plan = TxPlan(
        kind="release",
        outputs=[TransactionOutput(PAYEE, 5_000_000)],
        wallet=[reserve, with_tokens],
        change_address=WALLET,
        script_inputs=[locked],
        spend_redeemer=Nothing(),
    )
    built = build(StubChain(budgets=[("spend", 1, 1_000, 1_000)]), plan)  # inputs sorted: locked is 2nd
    assert built.tx.transaction_body.inputs == [reserve.input, locked.input]
    assert built.tx.transaction_body.collateral == [with_tokens.input]
    assert_balanced(built)


def test_a_single_needed_token_is_selected_and_the_transaction_balances() -> None:
    holder = utxo(1, Value(2_000_000, tokens(POLICY, B=3)))
    plain = utxo(2, 30_000_000)
    plan = payment_plan(plain, holder)
    plan.outputs = [TransactionOutput(PAYEE, Value(2_000_000, tokens(POLICY, B=1)))]
    built = build(StubChain(), plan)
    assert set(built.tx.transaction_body.inputs) == {holder.input, plain.input}
    change = value_of(built.tx.transaction_body.outputs[-1])
    assert change.multi_asset.normalize() == tokens(POLICY, B=2)
    assert_balanced(built)


def test_a_surplus_in_the_script_inputs_does_not_lower_the_reserve_the_wallet_must_hold() -> None:
    """The script input holds 1 ADA more than the outputs: the wallet must still hold the whole reserve."""
    plan = TxPlan(
        kind="release",
        outputs=[TransactionOutput(PAYEE, 5_000_000)],
        wallet=[utxo(1, 2_999_999)],
        change_address=WALLET,
        script_inputs=[utxo(5, 6_000_000, SCRIPT)],
        spend_redeemer=Nothing(),
    )
    with pytest.raises(InsufficientFunds) as refused:
        build(StubChain(budgets=[("spend", 1, 1_000, 1_000)]), plan)
    assert (refused.value.needed, refused.value.available) == (3_000_000, 2_999_999)


def test_a_budget_for_a_purpose_the_plan_cannot_have_is_an_evaluation_failure() -> None:
    with pytest.raises(EvaluationFailed) as refused:
        build(StubChain(budgets=[("publish", 0, 1_000, 1_000)]), mint_plan(utxo(1, 20_000_000)))
    assert str(refused.value) == (
        "this release would fail, so it was not submitted: unexpected redeemer purpose publish in the "
        "evaluation"
    )


def test_a_built_transaction_describes_itself_for_dry_runs() -> None:
    built = build(StubChain(budgets=[("mint", 0, 1_000_000, 123_456_789)]), mint_plan(utxo(1, 20_000_000)))
    built.details["allocations"] = ["x#0"]
    body = built.tx.transaction_body
    assert built.to_json() == {
        "kind": "release",
        "id": str(built.tx.id),
        "fee_lovelace": built.fee,
        "size_bytes": len(built.tx.to_cbor()),
        "execution_units": {"memory": 1_010_001, "cpu": 124_691_357},
        "validity": {"invalid_before": None, "invalid_hereafter": None},
        "inputs": [f"{bytes([1]).hex() * 32}#0"],
        "signers": [bytes(range(28)).hex()],
        "allocations": ["x#0"],
    }
    assert body.inputs == [utxo(1, 0).input]


def test_a_utxo_holding_a_single_token_is_a_holder() -> None:
    single = utxo(1, Value(2_000_000, tokens(POLICY, B=1)))
    plan = payment_plan(single, utxo(2, 30_000_000))
    assert select_inputs(plan, Value(0, tokens(POLICY, B=1)), 0) == [single]


def test_the_lovelace_target_is_the_outputs_plus_the_reserve_whatever_tokens_they_need() -> None:
    """2 ADA and a token out: the holder's 2 ADA and a 3 ADA UTxO are exactly the outputs and the reserve."""
    holder = utxo(1, Value(2_000_000, tokens(POLICY, B=1)))
    reserve = utxo(2, 3_000_000)
    plan = payment_plan(holder, reserve)
    plan.outputs = [TransactionOutput(PAYEE, Value(2_000_000, tokens(POLICY, B=1)))]
    built = build(StubChain(), plan)
    assert set(built.tx.transaction_body.inputs) == {holder.input, reserve.input}
    assert_balanced(built)


def test_one_lovelace_short_of_the_outputs_and_the_reserve_is_refused_whatever_tokens_they_need() -> None:
    """As above with the 3 ADA UTxO one lovelace short: the tokens the outputs need add nothing to or take
    nothing from the lovelace target, so the wallet lacks exactly one lovelace."""
    holder = utxo(1, Value(2_000_000, tokens(POLICY, B=1, C=1)))
    plan = payment_plan(holder, utxo(2, 2_999_999))
    plan.outputs = [TransactionOutput(PAYEE, Value(2_000_000, tokens(POLICY, B=1, C=1)))]
    with pytest.raises(InsufficientFunds) as refused:
        build(StubChain(), plan)
    assert (refused.value.needed, refused.value.available) == (5_000_000, 4_999_999)


def test_required_signers_are_counted_as_witnesses() -> None:
    extra = VerificationKeyHash(bytes([4]) * 28)
    plan = payment_plan(utxo(1, 20_000_000))
    plan.required_signers = [extra]
    built = build(StubChain(), plan)
    assert built.signers == [VerificationKeyHash(bytes(range(28))), extra]
    assert built.tx.transaction_body.required_signers == [extra]
    assert built.fee == fees.minimum_fee(PARAMS, built_size(built), 0, 0, 0)


def test_a_wallet_behind_a_native_script_has_no_key_witness_to_count() -> None:
    multisig = Address(ScriptHash(bytes([6]) * 28), network=Network.TESTNET)
    plan = payment_plan(utxo(1, 20_000_000, multisig))
    plan.change_address = multisig
    built = build(StubChain(), plan)
    assert built.signers == []
    assert built.fee == fees.minimum_fee(PARAMS, len(built.tx.to_cbor()), 0, 0, 0)
    assert_balanced(built)


def test_collateral_is_key_locked_even_when_a_smaller_utxo_sits_at_a_script_address() -> None:
    at_script = utxo(1, 6_000_000, SCRIPT)  # smallest first would take it
    key_locked = utxo(2, 9_000_000)
    assert pick_collateral(mint_plan(at_script, key_locked), PARAMS, 1_000_000) == key_locked


@dataclass
class LimitedChain(StubChain):
    """The stub with another per-transaction size limit."""

    max_size: int = 16_384

    async def protocol_parameters(self) -> Any:
        return dataclasses.replace(PARAMS, max_transaction_size=self.max_size)


def test_a_script_run_exactly_at_the_size_limit_is_evaluated_before_its_final_size_refuses_it() -> None:
    """The first build (the fee reserve as fee, no units yet) may be exactly as large as allowed: it is
    evaluated; the final build, with its units, is larger, and is refused with the figures."""
    budgets = [("mint", 0, 1_000_000, 123_456_789)]
    with pytest.raises(TooLarge) as probe:
        build(LimitedChain(budgets=budgets, max_size=100), mint_plan(utxo(1, 20_000_000)))
    first = probe.value.size
    assert (probe.value.mem, probe.value.cpu) == (None, None)  # refused before evaluation
    chain = LimitedChain(budgets=budgets, max_size=first)
    with pytest.raises(TooLarge) as refused:
        build(chain, mint_plan(utxo(1, 20_000_000)))
    assert len(chain.evaluated) == 1
    assert (refused.value.mem, refused.value.cpu) == (1_010_001, 124_691_357)
    assert refused.value.size > first
    assert str(refused.value) == (
        f"this release would be {refused.value.size:,} bytes, over the limit of {first:,}"
    )


def test_a_payment_over_the_size_limit_is_refused_with_its_size() -> None:
    with pytest.raises(TooLarge) as probe:
        build(LimitedChain(max_size=100), payment_plan(utxo(1, 20_000_000)))
    assert (probe.value.mem, probe.value.cpu) == (0, 0)
    assert probe.value.size > 100
    at_limit = build(LimitedChain(max_size=probe.value.size), payment_plan(utxo(1, 20_000_000)))
    assert at_limit.size <= probe.value.size


def test_a_change_at_the_edge_of_a_cbor_width_settles_on_the_lowest_fee_that_covers_it() -> None:
    """A change just over 2^32 lovelace is a 9-byte integer, just under it a 5-byte one: raising the fee
    by those 4 bytes' price pushes the change under 2^32, which makes the lower fee enough again. The
    loop must neither go back and forth nor keep the raised fee: the lowest fee that covers its size is
    the first that makes the change a 5-byte integer (2^32 - 1), 89 lovelace over the lower fee, whose
    size asks for the lower fee alone; every fee under it leaves the change wide and falls short."""
    width_fee = 4 * 44  # the 4 more bytes of a 9-byte change, at 44 lovelace a byte
    low = build(StubChain(), payment_plan(utxo(1, 2**32 - 10_000_000)))  # change far under 2^32
    edge = 2**32 + 2_000_000 + low.fee + width_fee // 2  # change at the lower fee: 2^32 + 88
    built = build(StubChain(), payment_plan(utxo(1, edge)))
    change = value_of(built.tx.transaction_body.outputs[-1]).coin
    assert built.fee == low.fee + width_fee // 2 + 1
    assert change == 2**32 - 1
    assert fees.minimum_fee(PARAMS, built_size(built), 0, 0, 0) == low.fee < built.fee
    assert_balanced(built)


def test_a_fee_raised_past_two_width_edges_is_lowered_to_the_one_that_covers_it() -> None:
    """Two amounts move with the fee: the change (down by the fee) and the collateral return (down by
    150% of it). Each is a 9-byte integer at 2^32 lovelace or more and a 5-byte one below. Here the
    first estimate E (both under 2^32 at the fee reserve) makes both wide, so the next round asks for
    E + 2 x 176; that pushes the change under 2^32 but leaves the collateral return wide, so E + 176 is
    enough, and it covers its own size (the collateral return stays wide until the fee passes E + 352).
    The loop must try that lower fee once rather than keep the E + 352 it overshot to; no lower fee
    covers its size (under E + 176 the change or both amounts are wide)."""
    width_fee = 4 * 44  # the 4 more bytes of a 9-byte amount, at 44 lovelace a byte
    budgets = [("mint", 0, 1_000_000, 123_456_789)]
    narrow = build(StubChain(budgets=budgets), mint_plan(utxo(1, 20_000_000), utxo(2, 10_000_000)))
    estimate = narrow.fee  # both amounts 5-byte integers, as at the fee reserve
    change_edge = 2**32 + 2_000_000 + estimate  # the change is 2^32 at the fee `estimate`, under it above
    return_edge = 2**32 + fees.required_collateral(PARAMS, estimate + 2 * width_fee)  # 2^32 at E + 352
    built = build(StubChain(budgets=budgets), mint_plan(utxo(1, change_edge), utxo(2, return_edge)))
    body = built.tx.transaction_body
    assert body.collateral == [utxo(2, return_edge).input] and body.inputs == [utxo(1, change_edge).input]
    assert built.fee == estimate + width_fee
    assert value_of(body.outputs[-1]).coin == 2**32 - width_fee  # the change: a 5-byte integer
    assert value_of(body.collateral_return).coin >= 2**32  # the collateral return: a 9-byte integer
    assert built.fee == fees.minimum_fee(PARAMS, built_size(built), built.mem, built.cpu, 0)
    assert_balanced(built)


@pytest.mark.parametrize(
    ("change_wide_to", "return_wide_to", "lowest"),
    [
        (100, 300, 176),  # over E + 100 only the collateral return is wide: E + 176 covers, nothing under it
        (100, 120, 121),  # over E + 120 neither is wide: E + 121 covers (the size's fee is E), E + 120 not
    ],
)
def test_a_fee_that_narrows_both_amounts_at_once_comes_down_to_the_lowest_that_covers(
    change_wide_to: int, return_wide_to: int, lowest: int
) -> None:
    """Both the change and the collateral return near 2^32 lovelace: each is a 9-byte integer while the
    fee is at most E + `change_wide_to` (the change) or E + `return_wide_to` (the collateral return),
    where E is the fee with both at 5 bytes. The first estimate E makes both wide, which asks for
    E + 2 x 176; there both are narrow again, whose size asks only for E. Going back and forth between
    the two and keeping E + 352 overpays: the lowest fee that covers its own size is E + `lowest`, the
    first fee that is at least what its size asks for (E + 352 while both are wide, E + 176 while one is,
    E when none is)."""
    budgets = [("mint", 0, 1_000_000, 123_456_789)]
    narrow = build(StubChain(budgets=budgets), mint_plan(utxo(1, 20_000_000), utxo(2, 10_000_000)))
    estimate = narrow.fee  # both amounts 5-byte integers, as at the fee reserve
    change_edge = 2**32 + 2_000_000 + estimate + change_wide_to  # the change is 2^32 at E + change_wide_to
    return_edge = 2**32 + fees.required_collateral(PARAMS, estimate + return_wide_to)
    built = build(StubChain(budgets=budgets), mint_plan(utxo(1, change_edge), utxo(2, return_edge)))
    body = built.tx.transaction_body
    assert body.collateral == [utxo(2, return_edge).input] and body.inputs == [utxo(1, change_edge).input]
    assert built.fee == estimate + lowest
    assert value_of(body.outputs[-1]).coin == 2**32 + change_wide_to - lowest < 2**32
    wide_return = value_of(body.collateral_return).coin >= 2**32
    assert wide_return == (lowest <= return_wide_to)
    needed = fees.minimum_fee(PARAMS, built_size(built), built.mem, built.cpu, 0)
    assert needed == estimate + (176 if wide_return else 0) <= built.fee
    assert_balanced(built)


def test_the_least_covering_fee_is_the_lowest_that_covers_from_any_estimate() -> None:
    """Against every fee tried one by one: a size fee that falls by 176 at each of two edges (the change
    and the collateral return turning 5-byte integers), at pairs of edges around E, from estimates under,
    at and over the answer; the lowest fee as estimate costs one build when it is exactly what its size
    asks for, any other a bisection, not a walk."""
    base = 200_000
    asked: list[int] = []
    for change_edge in range(base - 28, base + 400, 7):  # both grids hold E itself: the lowest is then E + 1
        for return_edge in range(base - 33, base + 400, 11):

            def needs(fee: int, c: int = change_edge, r: int = return_edge) -> int:
                asked.append(fee)
                return base + 176 * (fee <= c) + 176 * (fee <= r)

            lowest = next(fee for fee in range(base, base + 353) if needs(fee) <= fee)
            fixed_point = needs(lowest) == lowest  # no search can then find a lower fee
            for estimate in (base, base + 100, base + 176, base + 352, lowest):
                asked.clear()
                assert least_covering_fee(needs, estimate) == lowest, (change_edge, return_edge, estimate)
                assert len(set(asked)) <= (1 if estimate == lowest and fixed_point else 12)

    def flat(fee: int) -> int:
        asked.append(fee)
        return base

    asked.clear()
    assert least_covering_fee(flat, base) == base and set(asked) == {base}
    assert least_covering_fee(lambda fee: fee + 1, base) is None  # never settles: the caller reports it


def reference_scripts_plan(wallet: int, collateral: int, script_size: int) -> TxPlan:
    """`mint_plan` with a reference input carrying a `script_size`-byte script: its fee raises the
    transaction's without changing its size."""
    scripts = utxo(3, Value(20_000_000), PAYEE)
    scripts.output.script = PlutusV3Script(bytes(script_size))
    plan = mint_plan(utxo(1, wallet), utxo(2, collateral))
    plan.reference_inputs = [scripts]
    return plan


@pytest.mark.parametrize(
    ("under_reserve", "return_wide_to"),
    [
        (250, 250),  # the estimate E + 176 covers its size: an estimate short of it climbs to E + 352
        (150, 370),  # the estimate E + 352 overshoots: it must come down to E + 176, not climb to it
    ],
)
def test_a_fee_near_the_reserve_with_two_amounts_at_a_width_edge_is_the_least_that_covers_it(
    under_reserve: int, return_wide_to: int
) -> None:
    """A fee close to the 3 ADA reserve (large reference scripts) and both the change and the collateral
    return near 2^32 lovelace, where each is a 9-byte integer instead of a 5-byte one. E is the fee
    when both are 5 bytes, between `under_reserve` and `under_reserve` - 100 lovelace under the reserve;
    the first estimate is the fee the sizes at the reserve need. The change is 9 bytes up to a fee of
    E + 150, the collateral return up to E + `return_wide_to`. So under E + 176 the change (or both) is
    9 bytes and the fee does not cover its size; E + 176, with only the collateral return at 9 bytes,
    does. The fee loop must settle on it, whether its first estimate is E + 176 (first row) or E + 352
    (second row), and an estimate one byte off either way must not move it."""
    width_fee = 4 * 44  # the 4 more bytes of a 9-byte amount, at 44 lovelace a byte
    budgets = [("mint", 0, 1_000_000, 123_456_789)]
    probe = build(StubChain(budgets=budgets), reference_scripts_plan(20_000_000, 10_000_000, 1_000))
    base = probe.fee - fees.reference_scripts_fee(PARAMS, 1_000)  # E without the reference scripts

    def fee_at(script_size: int) -> int:
        return base + fees.reference_scripts_fee(PARAMS, script_size)

    low, high = 1_000, 200_000  # the smallest script size whose E reaches the reserve - under_reserve
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if fee_at(middle) < FEE_RESERVE - under_reserve else (low, middle)
    size, estimate = low, fee_at(low)
    assert FEE_RESERVE - under_reserve <= estimate < FEE_RESERVE - under_reserve + 100
    change_edge = 2**32 + 2_000_000 + estimate + 150
    return_edge = 2**32 + fees.required_collateral(PARAMS, estimate + return_wide_to)
    built = build(StubChain(budgets=budgets), reference_scripts_plan(change_edge, return_edge, size))
    body = built.tx.transaction_body
    assert body.collateral == [utxo(2, return_edge).input] and body.inputs == [utxo(1, change_edge).input]
    assert built.fee == estimate + width_fee
    assert value_of(body.outputs[-1]).coin < 2**32 <= value_of(body.collateral_return).coin
    assert built.fee == fees.minimum_fee(PARAMS, built_size(built), built.mem, built.cpu, size)
    assert fees.reference_scripts_fee(PARAMS, size) > 2_000_000  # the scripts bring the fee near the reserve
    assert_balanced(built)
