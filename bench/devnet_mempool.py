"""Devnet benchmark: forging blocks from a long mempool (the devnet's own cost, in process, no network).

A node re-applies its whole mempool after each block; the devnet does the same, so each block costs
the re-validation of every transaction still waiting. `MEMPOOL` chained payments (each spends the
previous one's change and pays `OUTPUTS` outputs) are submitted without a block, then blocks are forged
until the mempool is empty (a block holds a prefix of about 60 of them).

- `devnet.mempool_forge_s`: the seconds to forge those blocks;
- floor, same run: `devnet.mempool_forge_floor_s`, the same transactions forged one block each as they
  are submitted (a mempool of one: nothing waits, nothing is re-validated).

Before output sizes were cached on the decoded transaction (session 7), every validation re-encoded
the transaction's outputs (twice each): this benchmark on that code (e972d70) gave 2.92 s, floor 2.23 s;
on the code after, 0.48 s, floor 0.50 s (one after the other, load about 7).
"""

from __future__ import annotations

import asyncio
import time

from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
)

from milestoned.devnet.service import Devnet, run_devnet
from milestoned.devnet.transaction import decode_transaction
from milestoned.txbuilder.signing import sign

MEMPOOL = 200
OUTPUTS = 20
FEE = 1_000_000
PAYMENT = 2_000_000


def _payments(key: PaymentSigningKey, source: TransactionInput, lovelace: int) -> list[bytes]:
    """`MEMPOOL` signed chained payments from `source`, each paying `OUTPUTS` outputs and its change."""
    vkey = PaymentVerificationKey.from_signing_key(key)
    address = Address(vkey.hash(), network=Network.TESTNET)
    raw = []
    for _ in range(MEMPOOL):
        lovelace -= FEE + OUTPUTS * PAYMENT
        outputs = [TransactionOutput(address, PAYMENT) for _ in range(OUTPUTS)]
        body = TransactionBody(
            inputs=[source], outputs=[*outputs, TransactionOutput(address, lovelace)], fee=FEE
        )
        tx = sign(Transaction(body, TransactionWitnessSet()), [key])
        raw.append(tx.to_cbor())
        source = TransactionInput(tx.id, OUTPUTS)
    return raw


async def _forge(raw: list[bytes], *, one_per_block: bool) -> float:
    """Seconds spent forging blocks for `raw` on a fresh devnet (submission not counted)."""
    async with run_devnet(port=0, clock=False, funds={_ADDRESS: _FUNDS}) as devnet:
        forging = 0.0
        for tx in raw:
            _submit(devnet, tx)
            if one_per_block:
                began = time.perf_counter()
                devnet.produce_block()
                forging += time.perf_counter() - began
        began = time.perf_counter()
        while devnet.chain.mempool:
            devnet.produce_block()
        return forging + time.perf_counter() - began


def _submit(devnet: Devnet, raw: bytes) -> None:
    result = devnet.chain.submit(decode_transaction(raw))
    if not hasattr(result, "consumed"):
        raise AssertionError(f"the devnet refused a benchmark payment: {result}")


_SIGNING = PaymentSigningKey.generate()
_ADDRESS = str(Address(PaymentVerificationKey.from_signing_key(_SIGNING).hash(), network=Network.TESTNET))
_FUNDS = 1_000_000_000_000


async def measure() -> dict[str, float]:
    async with run_devnet(port=0, clock=False, funds={_ADDRESS: _FUNDS}) as devnet:
        # the genesis funds: the same input on every fresh devnet given these funds
        [(source, output)] = [(t, o) for t, o in devnet.chain.utxo.items() if str(o.address) == _ADDRESS]
    lovelace = output.amount if isinstance(output.amount, int) else output.amount.coin
    raw = _payments(_SIGNING, source, lovelace)
    long = await _forge(raw, one_per_block=False)
    floor = await _forge(raw, one_per_block=True)
    print(
        f"  {MEMPOOL} chained payments of {OUTPUTS} outputs: forged from one mempool in {long:.2f} s; "
        f"floor, one block each as submitted: {floor:.2f} s"
    )
    return {"devnet.mempool_forge_s": long, "devnet.mempool_forge_floor_s": floor}


def run() -> dict[str, float]:
    return asyncio.run(measure())
