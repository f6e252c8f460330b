"""The ledger's arithmetic for fees, min-ADA and collateral, from the protocol parameters. Pure.

Why our own rather than pycardano's: the builders need exactly the ledger's numbers (a fee one
lovelace short is a rejected transaction), including Conway's tiered reference-script fee and exact
rational prices, from the parameters our client parsed, with no chain context in reach.
"""

from __future__ import annotations

from copy import deepcopy
from fractions import Fraction

from pycardano import MultiAsset, TransactionOutput, Value

from milestoned.ogmios.model import ExecutionUnits
from milestoned.ogmios.state_queries import ProtocolParameters

MIN_UTXO_OVERHEAD_BYTES = 160


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def script_fee(params: ProtocolParameters, mem: int, cpu: int) -> int:
    prices = params.script_execution_prices
    if prices is None:
        return 0
    return _ceil(prices.memory * mem + prices.cpu * cpu)


def reference_scripts_fee(params: ProtocolParameters, size: int) -> int:
    """Conway: `base` lovelace per byte, each further `range` bytes `multiplier` times dearer (floored)."""
    tiers = params.min_fee_reference_scripts
    if tiers is None or size <= 0:
        return 0
    price = Fraction(str(tiers.base))
    multiplier = Fraction(str(tiers.multiplier))
    total = Fraction(0)
    remaining = size
    while remaining >= tiers.range:
        total += tiers.range * price
        price *= multiplier
        remaining -= tiers.range
    total += remaining * price
    return total.numerator // total.denominator


def minimum_fee(
    params: ProtocolParameters, tx_size: int, mem: int, cpu: int, reference_scripts_size: int
) -> int:
    return (
        params.min_fee_coefficient * tx_size
        + params.min_fee_constant
        + script_fee(params, mem, cpu)
        + reference_scripts_fee(params, reference_scripts_size)
    )


def uint_width(value: int) -> int:
    """Bytes of a CBOR unsigned integer: the head alone below 24, then 1, 2, 4 or 8 more."""
    if value < 24:
        return 1
    if value < 0x100:
        return 2
    if value < 0x10000:
        return 3
    if value < 0x100000000:
        return 5
    return 9


def minimum_lovelace(params: ProtocolParameters, output: TransactionOutput) -> int:
    """Babbage/Conway min-UTxO of `output`, with its lovelace field at the width the result needs.

    The output is encoded once (with a one-byte coin); only the coin's width depends on the answer, so
    the fixed point is found by arithmetic, not by encoding again (a release computes this for every
    payout of every batch it tries: encoding dominated its build time).
    """
    amount = output.amount if isinstance(output.amount, int) else deepcopy(output.amount)
    probe = TransactionOutput(output.address, amount, datum=output.datum, script=output.script)
    probe.post_alonzo = True
    floor = max(output.amount, 1) if isinstance(output.amount, int) else 1
    if isinstance(probe.amount, int):
        probe.amount = 0
    else:
        probe.amount.coin = 0
    base = len(probe.to_cbor()) - uint_width(0)
    required = 0
    for _ in range(4):  # the coin's own CBOR width depends on the answer; it settles at once
        size = base + uint_width(max(required, floor))
        needed = (MIN_UTXO_OVERHEAD_BYTES + size) * params.min_utxo_deposit_coefficient
        if needed <= required:
            return required
        required = needed
    return required


def with_minimum_lovelace(
    params: ProtocolParameters, output: TransactionOutput, at_least: int = 0
) -> TransactionOutput:
    """`output` holding max(its minimum, `at_least`) lovelace (a copy; the argument is not changed)."""
    coin = max(minimum_lovelace(params, output), at_least)
    assets = output.amount.multi_asset if isinstance(output.amount, Value) else MultiAsset()
    return TransactionOutput(
        output.address,
        Value(coin, deepcopy(assets)),
        datum_hash=output.datum_hash,
        datum=output.datum,
        script=output.script,
        post_alonzo=output.post_alonzo,
    )


def required_collateral(params: ProtocolParameters, fee: int) -> int:
    """`collateralPercentage` of the fee, rounded up."""
    percentage = params.collateral_percentage if params.collateral_percentage is not None else 150
    return _ceil(Fraction(fee * percentage, 100))


def max_units(params: ProtocolParameters) -> ExecutionUnits:
    limits = params.max_execution_units_per_transaction
    return limits if limits is not None else ExecutionUnits(14_000_000, 10_000_000_000)


def max_tx_size(params: ProtocolParameters) -> int:
    return params.max_transaction_size if params.max_transaction_size is not None else 16_384
