"""Turn a plan (what a transaction must do) into a balanced, evaluated, unsigned transaction.

Every builder (registration, release, reclaim) says only what is specific to it: script inputs and
their redeemer, outputs, mint, reference inputs, required signers, validity interval, metadata. This
module does the rest the same way for all of them:

1. select the paying wallet's UTxOs to cover outputs, tokens, fee and change;
2. pick a collateral UTxO (ADA only) and declare `total_collateral` with a collateral return, so a
   large UTxO can serve without being forfeited whole;
3. evaluate each redeemer's execution units (never guessed; locally from the UTxOs resolved in step 1,
   or by the node: `txbuilder.evaluation`), declare them with a 1% margin (the final transaction
   differs from the evaluated one in its fee and change amounts);
4. pay the lowest fee that covers the ledger's minimum fee for the transaction's own size (vkey
   witnesses counted): the fee moves the CBOR width of itself, the change and the collateral return
   (`least_covering_fee`).

A transaction that would exceed the size or execution limits raises `TooLarge` with the figures, so
the batching builders can shrink the batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycardano import (
    Address,
    AuxiliaryData,
    CostModels,
    ExecutionUnits,
    MultiAsset,
    NativeScript,
    PlutusData,
    Redeemer,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionBody,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    UTxO,
    Value,
    VerificationKey,
    VerificationKeyHash,
    VerificationKeyWitness,
    script_data_hash,
)

from milestoned.ogmios.state_queries import ProtocolParameters
from milestoned.txbuilder import fees
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import EvaluationFailed, InsufficientFunds, NoCollateral, TxBuildError
from milestoned.txbuilder.evaluation import PURPOSE_TAGS, ScriptsFail, measure_units
from milestoned.txbuilder.utxo_codec import input_text

UNITS_MARGIN_PERCENT = 1
FEE_RESERVE = 3_000_000
"""Lovelace set aside for the fee while selecting inputs, before the fee is known."""


class TooLarge(TxBuildError):
    """The transaction exceeds a per-transaction limit; the figures say by how much."""

    def __init__(self, message: str, *, size: int, mem: int | None, cpu: int | None) -> None:
        self.size = size
        self.mem = mem
        self.cpu = cpu
        super().__init__(message)


@dataclass
class TxPlan:
    """What one transaction must do; `assemble` adds inputs for the fee, collateral, fee and change."""

    kind: str
    outputs: list[TransactionOutput]
    wallet: list[UTxO]
    """UTxOs of the paying wallet (the change goes back to `change_address`)."""
    change_address: Address
    script_inputs: list[UTxO] = field(default_factory=list)
    spend_redeemer: PlutusData | None = None
    mint: MultiAsset | None = None
    mint_redeemers: dict[bytes, PlutusData] = field(default_factory=dict)
    reference_inputs: list[UTxO] = field(default_factory=list)
    required_signers: list[VerificationKeyHash] = field(default_factory=list)
    validity_start: int | None = None
    ttl: int | None = None
    auxiliary_data: AuxiliaryData | None = None
    unconfirmed: dict[TransactionInput, TransactionOutput] = field(default_factory=dict)
    """Outputs of earlier transactions of the same chain that are not on chain yet."""
    wallet_inputs: list[UTxO] | None = None
    """The wallet inputs, chosen by the builder instead of `select_inputs` (a move's output positions
    depend on where its inputs sort, so they must be known before the outputs are laid out)."""
    spend_redeemers: dict[TransactionInput, PlutusData] = field(default_factory=dict)
    """A script input's own spend redeemer (a move's `Move(index)`), instead of `spend_redeemer`."""
    required_inputs: list[UTxO] = field(default_factory=list)
    """Wallet UTxOs the transaction must spend whatever they hold (the state seed of an `InitState`);
    coin selection adds others only when these do not cover the outputs and the fee."""


@dataclass
class BuiltTx:
    """An unsigned, balanced transaction and what it does."""

    kind: str
    tx: Transaction
    fee: int
    spent: dict[TransactionInput, TransactionOutput]
    """Every input (script and wallet), resolved."""
    mem: int
    cpu: int
    signers: list[VerificationKeyHash]
    """Key hashes whose witnesses the transaction needs (wallet inputs, collateral, required signers)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Kind-specific facts for dry runs and the lifecycle (allocations, schedule id…)."""

    @functools.cached_property
    def tx_id(self) -> TransactionId:
        """The transaction id (hashing a large body is slow in pycardano, so it is computed once)."""
        return self.tx.id

    @property
    def id(self) -> str:
        return str(self.tx_id)

    @functools.cached_property
    def size(self) -> int:
        return len(self.tx.to_cbor())

    @property
    def produced(self) -> dict[TransactionInput, TransactionOutput]:
        tx_id = self.tx_id
        return {TransactionInput(tx_id, i): o for i, o in enumerate(self.tx.transaction_body.outputs)}

    @property
    def validity(self) -> tuple[int | None, int | None]:
        body = self.tx.transaction_body
        return body.validity_start, body.ttl

    def to_json(self) -> dict[str, Any]:
        body = self.tx.transaction_body
        return {
            "kind": self.kind,
            "id": self.id,
            "fee_lovelace": self.fee,
            "size_bytes": self.size,
            "execution_units": {"memory": self.mem, "cpu": self.cpu},
            "validity": {"invalid_before": body.validity_start, "invalid_hereafter": body.ttl},
            "inputs": [input_text(i) for i in body.inputs],
            "signers": [h.payload.hex() for h in self.signers],
            **self.details,
        }


def asset_delta(value: Value) -> dict[tuple[bytes, bytes], int]:
    return {
        (policy.payload, bytes(name.payload)): quantity
        for policy, names in value.multi_asset.items()
        for name, quantity in names.items()
        if quantity
    }


def _sum_values(values: Sequence[Value | int]) -> Value:
    total = Value(0, MultiAsset())
    for v in values:
        total = total + (Value(v) if isinstance(v, int) else v)
    return total


def _amount(output: TransactionOutput) -> Value:
    return Value(output.amount) if isinstance(output.amount, int) else output.amount


def is_plain(output: TransactionOutput) -> bool:
    """ADA only, no datum, no script: what collateral must be and what fee selection prefers."""
    amount = _amount(output)
    return (
        not asset_delta(amount)
        and output.datum is None
        and output.datum_hash is None
        and output.script is None
    )


def _key_hash(address: Address) -> VerificationKeyHash | None:
    part = address.payment_part
    return part if isinstance(part, VerificationKeyHash) else None


def select_inputs(plan: TxPlan, needed: Value, lovelace_reserve: int) -> list[UTxO]:
    """Wallet UTxOs covering `needed` tokens and lovelace + reserve: token holders first, then largest ADA."""
    available = [u for u in plan.wallet if u.output.datum is None and u.output.script is None]
    chosen: list[UTxO] = list(plan.required_inputs)
    have = _sum_values([_amount(u.output) for u in chosen])
    for unit, quantity in asset_delta(needed).items():
        if quantity <= 0:
            continue
        holders = sorted(
            (u for u in available if asset_delta(_amount(u.output)).get(unit, 0) > 0 and u not in chosen),
            key=lambda u: -asset_delta(_amount(u.output))[unit],
        )
        for utxo in holders:
            if asset_delta(have).get(unit, 0) >= quantity:
                break
            chosen.append(utxo)
            have = have + _amount(utxo.output)
        if asset_delta(have).get(unit, 0) < quantity:
            policy, name = unit
            raise InsufficientFunds(
                f"the paying wallet {plan.change_address} holds {asset_delta(have).get(unit, 0)} of token "
                f"{policy.hex()}.{name.hex()} but this {plan.kind} needs {quantity}; send the "
                "tokens to it first",
                needed=quantity,
                available=asset_delta(have).get(unit, 0),
            )
    target = needed.coin + lovelace_reserve
    rest = sorted(
        (u for u in available if u not in chosen),
        key=lambda u: (not is_plain(u.output), -_amount(u.output).coin),
    )
    for utxo in rest:
        if have.coin >= target:
            break
        chosen.append(utxo)
        have = have + _amount(utxo.output)
    if have.coin < target:
        total = sum(_amount(u.output).coin for u in available)
        raise InsufficientFunds(
            f"the paying wallet {plan.change_address} has {total:,} lovelace; this {plan.kind} needs about "
            f"{target:,} (outputs {needed.coin:,} plus up to {lovelace_reserve:,} for fee and change); "
            f"send at least {target - total:,} more lovelace to it",
            needed=target,
            available=total,
        )
    return chosen


def pick_collateral(plan: TxPlan, params: ProtocolParameters, fee_bound: int) -> UTxO:
    """A key-locked UTxO of the wallet covering the collateral for `fee_bound` plus its return.

    Plain (ADA-only) UTxOs are preferred, smallest first; a UTxO holding tokens serves too, as the
    collateral return gives the tokens back (the ledger only forbids tokens in the collateral *taken*).
    """
    needed = fees.required_collateral(params, fee_bound)

    def return_minimum(utxo: UTxO) -> int:
        kept = Value(_amount(utxo.output).coin, _amount(utxo.output).multi_asset)
        return fees.minimum_lovelace(params, TransactionOutput(plan.change_address, kept))

    usable = [
        u
        for u in plan.wallet
        if u.output.datum is None
        and u.output.datum_hash is None
        and u.output.script is None
        and _key_hash(u.output.address) is not None
    ]
    candidates = sorted(
        (u for u in usable if _amount(u.output).coin >= needed + return_minimum(u)),
        key=lambda u: (not is_plain(u.output), _amount(u.output).coin),
    )
    if not candidates:
        held = [_amount(u.output).coin for u in usable]
        raise NoCollateral(
            f"no collateral: this {plan.kind} runs scripts and needs a key-locked UTxO at "
            f"{plan.change_address} "
            f"holding at least {needed:,} lovelace of collateral "
            f"({params.collateral_percentage or 150}% of a "
            f"fee up to {fee_bound:,}) plus the min-ADA of its collateral return (about 1 ADA); "
            "its UTxOs hold "
            f"{', '.join(f'{c:,}' for c in sorted(held, reverse=True)) or 'nothing'} lovelace; "
            f"send {needed + 2_000_000:,} lovelace or more to it"
        )
    return candidates[0]


def _redeemers(
    plan: TxPlan,
    inputs: Sequence[TransactionInput],
    units: Mapping[tuple[RedeemerTag, int], ExecutionUnits] | None,
) -> list[Redeemer]:
    script_inputs = {u.input for u in plan.script_inputs}
    placeholder = ExecutionUnits(0, 0)
    redeemers: list[Redeemer] = []
    if plan.spend_redeemer is not None or plan.spend_redeemers:
        for index, tx_in in enumerate(inputs):
            if tx_in in script_inputs:
                data = plan.spend_redeemers.get(tx_in, plan.spend_redeemer)
                if data is None:
                    raise TxBuildError(
                        f"script input {input_text(tx_in)} of this {plan.kind} has no redeemer"
                    )
                r = Redeemer(data, placeholder)
                r.tag, r.index = RedeemerTag.SPEND, index
                redeemers.append(r)
    if plan.mint is not None:
        policies = sorted(p.payload for p in plan.mint)
        for index, policy in enumerate(policies):
            if policy in plan.mint_redeemers:
                r = Redeemer(plan.mint_redeemers[policy], placeholder)
                r.tag, r.index = RedeemerTag.MINT, index
                redeemers.append(r)
    if units is not None:
        for r in redeemers:
            r.ex_units = units[(r.tag, r.index)]
    return redeemers


def _fake_witness() -> VerificationKeyWitness:
    return VerificationKeyWitness(VerificationKey(bytes(32)), bytes(64))


def script_bytes_size(script: object) -> int:
    """The size the ledger charges a reference script for (native scripts: their CBOR)."""
    if isinstance(script, NativeScript):
        return len(script.to_cbor())
    return len(bytes(script))  # type: ignore[call-overload]


def _reference_scripts_size(plan: TxPlan, inputs: Sequence[UTxO]) -> int:
    """Conway charges for the scripts of spent inputs and of reference inputs alike."""
    return sum(
        script_bytes_size(u.output.script)
        for u in [*inputs, *plan.reference_inputs]
        if u.output.script is not None
    )


FEE_ROUNDS = 8


def least_covering_fee(needs: Callable[[int], int], estimate: int) -> int | None:
    """The lowest fee that covers what the transaction paying it needs (`needs(fee) <= fee`); None when
    raising the fee to what it needs does not settle within `FEE_ROUNDS`.

    Why a search and not the first fixed point: the change and the collateral return shrink as the fee
    grows, and each is a 9-byte CBOR integer from 2^32 lovelace and a 5-byte one below, so a fee raised
    to cover a wide amount can narrow it (or both) and need less again; stopping there, or going back
    and forth, overpays by up to 2 x 4 bytes' price. `needs` only falls as the fee rises (a higher fee
    only narrows those amounts; the fee and `total_collateral` keep their 5-byte width from 65,536 to
    2^32 lovelace, and the smallest fee is 155,381), so no fee under `needs(fee)` covers and every fee
    over one that covers does too: raise the fee until it covers, then bisect between what it needs and
    itself. When the estimate is what its size asks for (nearly always) that is one build; an estimate
    a few bytes high is two; only an amount at a width edge costs the bisection (at most 9 more).
    """
    fee = estimate
    for _ in range(FEE_ROUNDS):
        needed = needs(fee)
        if needed <= fee:
            break
        fee = needed
    else:
        return None
    low = needs(fee)  # no lower fee covers (see above); when it is `fee` itself, that is the answer
    if needs(low) <= low:
        return low
    low += 1
    while low < fee:
        middle = (low + fee) // 2
        if needs(middle) <= middle:
            fee = middle
        else:
            low = middle + 1
    return fee


async def assemble(chain: OgmiosChain, plan: TxPlan) -> BuiltTx:
    """Select, evaluate and balance `plan` into an unsigned transaction (see the module docstring)."""
    params = await chain.protocol_parameters()
    limits = fees.max_units(params)
    inputs_value = _sum_values([_amount(u.output) for u in plan.script_inputs])
    outputs_value = _sum_values([_amount(o) for o in plan.outputs])
    minted = Value(0, plan.mint) if plan.mint is not None else Value(0, MultiAsset())
    needed = outputs_value - inputs_value - minted
    needed_assets = Value(max(needed.coin, 0), MultiAsset())
    for (policy, name), quantity in asset_delta(needed).items():
        if quantity > 0:
            needed_assets = needed_assets + Value(0, MultiAsset.from_primitive({policy: {name: quantity}}))
    runs_scripts = plan.spend_redeemer is not None or bool(plan.spend_redeemers or plan.mint_redeemers)
    wallet_inputs = (
        list(plan.wallet_inputs)
        if plan.wallet_inputs is not None
        else select_inputs(plan, needed_assets, FEE_RESERVE)
    )
    collateral = pick_collateral(plan, params, FEE_RESERVE) if runs_scripts else None
    all_inputs = sorted(
        [*plan.script_inputs, *wallet_inputs], key=lambda u: (u.input.transaction_id.payload, u.input.index)
    )
    input_refs = [u.input for u in all_inputs]
    in_value = _sum_values([_amount(u.output) for u in all_inputs]) + minted
    ref_size = _reference_scripts_size(plan, all_inputs)
    cost_models = CostModels({2: dict(enumerate(params.plutus_cost_models.get("plutus:v3", ())))})
    signers: list[VerificationKeyHash] = []
    for utxo in [*wallet_inputs, *([collateral] if collateral else [])]:
        h = _key_hash(utxo.output.address)
        if h is not None and h not in signers:
            signers.append(h)
    for h in plan.required_signers:
        if h not in signers:
            signers.append(h)

    data_hashes: dict[int, Any] = {}
    """The script data hash by `id(units)`: the fee loop rebuilds with the same units, and hashing the
    redeemers (a release's carries every attestation) is costly."""

    def build(fee: int, units: Mapping[tuple[RedeemerTag, int], ExecutionUnits] | None) -> Transaction:
        change_value = in_value - outputs_value - Value(fee)
        change = TransactionOutput(plan.change_address, change_value)
        outputs = [*plan.outputs, change]
        redeemers = _redeemers(plan, input_refs, units)
        if redeemers and id(units) not in data_hashes:
            data_hashes[id(units)] = script_data_hash(redeemers, None, cost_models)
        collateral_fields: dict[str, Any] = {}
        if collateral is not None:
            total = fees.required_collateral(params, fee)
            collateral_fields = {
                "collateral": [collateral.input],
                "total_collateral": total,
                "collateral_return": TransactionOutput(
                    plan.change_address, _amount(collateral.output) - Value(total)
                ),
            }
        body = TransactionBody(
            inputs=list(input_refs),
            outputs=outputs,
            fee=fee,
            ttl=plan.ttl,
            validity_start=plan.validity_start,
            mint=plan.mint,
            required_signers=list(plan.required_signers) or None,
            reference_inputs=[u.input for u in plan.reference_inputs] or None,
            auxiliary_data_hash=plan.auxiliary_data.hash() if plan.auxiliary_data is not None else None,
            script_data_hash=data_hashes[id(units)] if redeemers else None,
            **collateral_fields,
        )
        witness = TransactionWitnessSet(redeemer=redeemers or None)
        return Transaction(body, witness, auxiliary_data=plan.auxiliary_data)

    def sized(tx: Transaction) -> int:
        witnessed = Transaction(
            tx.transaction_body,
            TransactionWitnessSet(
                vkey_witnesses=[_fake_witness() for _ in signers] or None,
                redeemer=tx.transaction_witness_set.redeemer,
            ),
            auxiliary_data=tx.auxiliary_data,
        )
        return len(witnessed.to_cbor())

    units: dict[tuple[RedeemerTag, int], ExecutionUnits] | None = None
    mem = cpu = 0
    first = build(FEE_RESERVE, None)
    size = sized(first)
    if runs_scripts:
        if size > fees.max_tx_size(params):
            raise TooLarge(
                f"this {plan.kind} would be {size:,} bytes, over the limit of {fees.max_tx_size(params):,}",
                size=size,
                mem=None,
                cpu=None,
            )
        # only what this transaction spends or reads: looked up, not scanned (the chain's unconfirmed
        # outputs grow with every transaction of a large registration)
        wanted = [*input_refs, *(u.input for u in plan.reference_inputs)]
        if collateral:
            wanted.append(collateral.input)
        unconfirmed = {i: plan.unconfirmed[i] for i in wanted if i in plan.unconfirmed}
        resolved = {u.input: u.output for u in [*all_inputs, *plan.reference_inputs]}
        if collateral is not None:
            resolved[collateral.input] = collateral.output
        try:
            measured = await measure_units(chain, first, resolved, unconfirmed)
        except ScriptsFail as exc:
            if exc.over_budget:
                raise TooLarge(
                    f"this {plan.kind} needs more execution units than one transaction may use",
                    size=size,
                    mem=None,
                    cpu=None,
                ) from exc
            raise EvaluationFailed(f"this {plan.kind} would fail, so it was not submitted: {exc}") from exc
        units = {
            key: ExecutionUnits(
                m * (100 + UNITS_MARGIN_PERCENT) // 100 + 1, c * (100 + UNITS_MARGIN_PERCENT) // 100 + 1
            )
            for key, (m, c) in measured.items()
        }
        mem = sum(u.mem for u in units.values())
        cpu = sum(u.steps for u in units.values())
        if mem > limits.memory or cpu > limits.cpu:
            raise TooLarge(
                f"this {plan.kind} needs {mem:,} memory and {cpu:,} CPU units (with a "
                f"{UNITS_MARGIN_PERCENT}% "
                f"margin); one transaction may use {limits.memory:,} and {limits.cpu:,}",
                size=size,
                mem=mem,
                cpu=cpu,
            )
    # The fee's own CBOR width moves the size: start from the size without units or fee, plus what the
    # declared units add to the placeholders' encoding (so the first round usually settles: each round
    # encodes the whole transaction).
    grown = sum(fees.uint_width(u.mem) + fees.uint_width(u.steps) - 2 for u in (units or {}).values())
    tried: dict[int, tuple[Transaction, int, int]] = {}

    def needs(fee: int) -> int:
        """The fee the transaction paying `fee` needs for its size (each fee built once)."""
        if fee not in tried:
            paying = build(fee, units)
            paying_size = sized(paying)
            tried[fee] = (paying, paying_size, fees.minimum_fee(params, paying_size, mem, cpu, ref_size))
        return tried[fee][2]

    settled = least_covering_fee(needs, fees.minimum_fee(params, size + grown, mem, cpu, ref_size))
    if settled is None:
        raise TxBuildError(
            f"the fee of this {plan.kind} did not settle (last {max(tried):,} lovelace); please report it"
        )
    fee = settled
    tx, size, _ = tried[fee]
    if size > fees.max_tx_size(params):
        raise TooLarge(
            f"this {plan.kind} would be {size:,} bytes, over the limit of {fees.max_tx_size(params):,}",
            size=size,
            mem=mem,
            cpu=cpu,
        )
    change = tx.transaction_body.outputs[-1]
    change_min = fees.minimum_lovelace(params, change)
    if _amount(change).coin < change_min:
        raise InsufficientFunds(
            f"the change of this {plan.kind} would hold {_amount(change).coin:,} lovelace, under the "
            f"{change_min:,} an output needs; send more lovelace to {plan.change_address}",
            needed=change_min,
            available=_amount(change).coin,
        )
    spent = {u.input: u.output for u in all_inputs}
    return BuiltTx(plan.kind, tx, fee, spent, mem, cpu, signers)


__all__ = [
    "PURPOSE_TAGS",
    "BuiltTx",
    "ScriptHash",
    "TooLarge",
    "TxPlan",
    "assemble",
    "is_plain",
    "select_inputs",
]
