"""Allocation UTxOs on chain, recognised by auth token (never by address alone), and batching over them.

A UTxO at the validator counts as an allocation of a schedule only when it holds exactly one auth
token of that schedule and its inline datum decodes as an `AllocationDatum` naming the schedule: a
UTxO sent there without an auth token, whatever its datum says, is not an allocation (it stays locked
only as long as the policy its datum names refuses the burn; see docs/onchain.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pycardano import (
    Address,
    AssetName,
    Network,
    ScriptHash,
    TransactionInput,
    TransactionOutput,
    UTxO,
    Value,
)

from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.domain.allocation import Allocation
from milestoned.ogmios.state_queries import ProtocolParameters
from milestoned.txbuilder import fees
from milestoned.txbuilder.assembly import BuiltTx, TooLarge
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import TxBuildError
from milestoned.txbuilder.utxo_codec import input_text

T = TypeVar("T")


@dataclass(frozen=True)
class AllocationUtxo:
    """One locked allocation: its UTxO and its decoded datum."""

    input: TransactionInput
    output: TransactionOutput
    datum: ot.AllocationDatum
    beneficiary: str
    """Canonical bech32 address of the beneficiary."""

    @property
    def reference(self) -> str:
        return input_text(self.input)

    @property
    def utxo(self) -> UTxO:
        return UTxO(self.input, self.output)

    @property
    def lovelace(self) -> int:
        amount = self.output.amount
        return amount if isinstance(amount, int) else amount.coin

    @property
    def allocation(self) -> Allocation:
        return Allocation(
            self.beneficiary, self.datum.amount, self.datum.milestone_id, self.datum.vesting_time
        )

    @property
    def sort_key(self) -> tuple[bytes, int]:
        """The ledger's input order, which the policy walks to match payouts."""
        return (self.input.transaction_id.payload, self.input.index)


def auth_tokens(output: TransactionOutput, schedule_id: bytes) -> int:
    amount = output.amount
    if isinstance(amount, int):
        return 0
    return int(amount.multi_asset.get(ScriptHash(schedule_id), {}).get(AssetName(ot.AUTH_TOKEN_NAME), 0))


def as_allocation(utxo: UTxO, schedule_id: bytes, network: Network) -> AllocationUtxo | None:
    """The allocation this UTxO is, or None when it is not one of `schedule_id`'s."""
    if auth_tokens(utxo.output, schedule_id) != 1 or utxo.output.datum is None:
        return None
    try:
        datum = ot.decode_allocation_datum(utxo.output.datum)
    except ot.OnchainDecodeError:
        return None
    if datum.schedule_id != schedule_id:
        return None
    beneficiary = canonical_address(ot.plutus_to_address(datum.beneficiary, network))
    return AllocationUtxo(utxo.input, utxo.output, datum, beneficiary)


async def locked_allocations(
    chain: OgmiosChain, schedule_id: bytes, validator_address: Address
) -> list[AllocationUtxo]:
    """Every allocation of the schedule still locked at the ledger tip, in ledger input order."""
    found = [
        a
        for u in await chain.utxos_at([validator_address])
        if (a := as_allocation(u, schedule_id, validator_address.network)) is not None
    ]
    return sorted(found, key=lambda a: a.sort_key)


def payout_value(params: ProtocolParameters, output: TransactionOutput, lovelace: int) -> TransactionOutput:
    return fees.with_minimum_lovelace(params, output, at_least=lovelace)


def shrink(count: int, exc: TooLarge, params: ProtocolParameters) -> int:
    """A smaller batch after `exc`: in proportion to the limit it broke, else by a third."""
    limits = fees.max_units(params)
    ratios = [fees.max_tx_size(params) / exc.size] if exc.size > fees.max_tx_size(params) else []
    if exc.mem is not None and exc.mem > limits.memory:
        ratios.append(limits.memory / exc.mem)
    if exc.cpu is not None and exc.cpu > limits.cpu:
        ratios.append(limits.cpu / exc.cpu)
    if ratios:
        return max(1, min(count - 1, int(count * min(ratios) * 0.97)))
    return max(1, count * 2 // 3)


async def build_in_batches(
    items: Sequence[T],
    first_guess: int,
    params: ProtocolParameters,
    build: Callable[[Sequence[T]], Awaitable[BuiltTx]],
) -> list[BuiltTx]:
    """Build transactions over `items` in order, each as large as the limits allow (measured, not guessed).

    `build` assembles one transaction for a slice (and must chain it after the previous ones); a slice
    that breaks a limit is shrunk in proportion and retried, the next slice starts at the size that fitted.
    """
    built: list[BuiltTx] = []
    position = 0
    batch = max(1, min(first_guess, len(items)))
    while position < len(items):
        count = min(batch, len(items) - position)
        try:
            tx = await build(items[position : position + count])
        except TooLarge as exc:
            if count == 1:
                raise TxBuildError(f"even a single item does not fit one transaction: {exc}") from exc
            batch = shrink(count, exc, params)
            continue
        built.append(tx)
        position += count
        batch = count
    return built


def value_of(output: TransactionOutput) -> Value:
    return Value(output.amount) if isinstance(output.amount, int) else output.amount
