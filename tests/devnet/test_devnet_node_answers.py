"""Answers shaped as a node's (issue 14, point 11): a clear error for `"points": "origin"`, a block's
size as its header states it (the whole body), and block producer keys that are real keys."""

from __future__ import annotations

import json
from typing import Any

import cbor2
from devnet_support import ALICE, BOB, OgmiosProbe, payment, signed
from nacl.signing import VerifyKey
from pycardano import AuxiliaryData, Metadata, TransactionOutput

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.service import Devnet


async def test_points_given_as_a_string_get_a_clear_error(probe: OgmiosProbe) -> None:
    error = await probe.error("findIntersection", {"points": "origin"})
    assert error["code"] == -32602
    assert 'write "points": ["origin"]' in error["message"]
    assert await probe.result("findIntersection", {"points": ["origin"]})


def body_size_by_hand(raws: list[bytes]) -> int:
    """A block body built with cbor2 from the decoded transactions: what the header's size counts.

    A Conway block body is four items one after the other (not an array): transaction bodies, witness
    sets, auxiliary data by index, indices of invalid transactions.
    """
    decoded = [cbor2.loads(raw) for raw in raws]
    body = [
        [tx[0] for tx in decoded],
        [tx[1] for tx in decoded],
        {i: tx[3] for i, tx in enumerate(decoded) if tx[3] is not None},
        [i for i, tx in enumerate(decoded) if tx[2] is False],
    ]
    return sum(len(cbor2.dumps(part)) for part in body)


async def test_block_size_is_the_size_of_the_whole_body(probe: OgmiosProbe, devnet: Devnet) -> None:
    empty = devnet.produce_block()
    first = block_json(empty.json)
    assert first["size"] == {"bytes": 4}  # [] [] {} []: an empty body still has its four parts
    metadata = AuxiliaryData(Metadata({674: {"msg": ["a block with metadata"]}}))
    body = payment(
        devnet, ALICE, [TransactionOutput(BOB.address, 5_000_000)], auxiliary_data_hash=metadata.hash()
    )
    tx = signed(body, ALICE)
    tx.auxiliary_data = metadata
    await probe.result("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    funded = await probe.result("devnet/fund", {"address": str(BOB.address), "lovelace": 3_000_000})
    block = devnet.chain.block_by_id(bytes.fromhex(funded["block"]["id"]))
    assert block is not None and len(block.transactions) == 2
    expected = body_size_by_hand([t.decoded.raw for t in block.transactions])
    assert block_json(block.json)["size"] == {"bytes": expected}


async def test_block_issuer_keys_are_real_and_stable(devnet: Devnet) -> None:
    issuers = [block_json(block.json)["issuer"] for block in [devnet.produce_block(), devnet.produce_block()]]
    assert issuers[0] == issuers[1]
    keys = [
        issuers[0]["verificationKey"],
        issuers[0]["vrfVerificationKey"],
        issuers[0]["operationalCertificate"]["kes"]["verificationKey"],
    ]
    assert len(set(keys)) == 3 and all(len(bytes.fromhex(k)) == 32 for k in keys)
    VerifyKey(bytes.fromhex(keys[0]))  # a valid Ed25519 point
    assert keys[0] != blake2b_256(b"").hex()


def block_json(raw: bytes) -> Any:
    return json.loads(raw)
