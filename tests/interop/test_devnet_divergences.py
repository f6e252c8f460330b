"""Where a third-party client showed the devnet answering differently from a node + Ogmios, each fix
with a test that failed before it (issue 14, point 15). In-process devnet, frozen clock, no Node."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import cbor2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "devnet"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from devnet_support import ALICE, FEE, funds_of
from interop_support import rpc
from pycardano import StakeSigningKey, TransactionBody, TransactionOutput
from pycardano import certificate as cert

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.service import Devnet, run_devnet
from milestoned.devnet.transaction import decode_transaction


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    async with run_devnet(port=0, clock=False, funds={str(ALICE.address): 1_000_000_000_000}) as running:
        yield running


async def test_a_certificate_set_in_tag_258_reads_as_untagged(devnet: Devnet) -> None:
    """Blaze (cardano-js-sdk) sends the certificates as a tag-258 set; pycardano then left them as
    plain lists and the devnet refused a legacy stake registration with 3997 "certificates of type
    0", which a Conway node accepts."""
    stake = StakeSigningKey.generate().to_verification_key()
    txin, funds = funds_of(devnet, ALICE)
    deposit = devnet.chain.params.stake_credential_deposit
    body = TransactionBody(
        inputs=[txin],
        outputs=[TransactionOutput(ALICE.address, funds.amount.coin - FEE - deposit)],
        fee=FEE,
        certificates=[cert.StakeRegistration(cert.StakeCredential(stake.hash()))],
    )
    primitive = cbor2.loads(body.to_cbor())
    primitive[4] = cbor2.CBORTag(258, list(primitive[4]))  # the certificates as a tagged set
    body_bytes = cbor2.dumps(primitive)
    signature = ALICE.signing_key.sign(blake2b_256(body_bytes))
    witnesses = {0: [[ALICE.verification_key.payload, signature]]}
    raw = b"\x84" + body_bytes + cbor2.dumps(witnesses) + cbor2.dumps(True) + cbor2.dumps(None)

    result = devnet.chain.submit(decode_transaction(raw))
    assert not isinstance(result, LedgerError), result
    devnet.produce_block()
    key = stake.hash().payload.hex()
    summaries = await asyncio.to_thread(
        rpc, devnet.port, "queryLedgerState/rewardAccountSummaries", {"keys": [key]}
    )
    assert [s["deposit"]["ada"]["lovelace"] for s in summaries] == [deposit]
