"""Transactions a Conway node refuses while decoding are refused at decoding here, with Ogmios's -32602.

The worst of them (issue 14, point 1): an output reference listed twice among the inputs. The ledger
counts it once while a script context built from the list sees it twice, so a script validates against
the wrong input; a node on protocol 9+ never gets that far. Each test builds an otherwise valid
transaction, so before the decoding rules it was accepted (or answered another code).
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from devnet_support import (
    ALICE,
    ALWAYS_SUCCEEDS,
    BOB,
    OgmiosProbe,
    funds_of,
    integrity_hash,
    lock,
    payment,
    redeemer_map,
    script_address,
    signed,
)
from pycardano import (
    Asset,
    AssetName,
    ExecutionUnits,
    MultiAsset,
    PlutusData,
    RedeemerTag,
    ScriptHash,
    TransactionOutput,
    Value,
)
from pycardano.serialization import RawCBOR

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.ledger import EvaluationContextError
from milestoned.devnet.service import Devnet
from milestoned.devnet.transaction import decode_transaction
from milestoned.devnet.wellformed import DecodingFailure, check_transaction

ERAS = {"shelley", "allegra", "mary", "alonzo", "babbage", "conway"}
UNITS = ExecutionUnits(1_000_000, 500_000_000)


async def decoding_error(probe: OgmiosProbe, cbor_hex: str) -> str:
    """Submit and evaluate `cbor_hex`; both must answer -32602 with an error per era; the Conway one."""
    error = await probe.error("submitTransaction", {"transaction": {"cbor": cbor_hex}})
    assert error["code"] == -32602, error
    assert set(error["data"]) == ERAS
    evaluation = await probe.error("evaluateTransaction", {"transaction": {"cbor": cbor_hex}})
    assert evaluation["code"] == -32602
    message: str = error["data"]["conway"]
    return message


def raw_signed(body: dict[int, Any], *, witnesses: dict[int, Any] | None = None) -> str:
    """A transaction from a hand-made CBOR body, signed by ALICE over exactly those body bytes."""
    body_bytes = cbor2.dumps(body)
    signature = ALICE.signing_key.sign(blake2b_256(body_bytes))
    witness_set = {0: [[bytes(ALICE.verification_key.payload), signature]], **(witnesses or {})}
    return (b"\x84" + body_bytes + cbor2.dumps(witness_set) + b"\xf5\xf6").hex()


async def test_an_input_listed_twice_is_refused_and_spends_nothing(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    txin, _ = funds_of(devnet, ALICE)
    body = payment(devnet, ALICE, [TransactionOutput(BOB.address, 5_000_000)])
    body.inputs = [txin, txin]
    message = await decoding_error(probe, signed(body, ALICE).to_cbor_hex())
    assert "inputs" in message and f"{txin.transaction_id}#{txin.index}" in message
    assert txin in devnet.chain.utxo and devnet.pending() == []


async def test_a_script_input_listed_twice_never_reaches_the_script(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    """The attack: the script output twice, so the context's inputs differ from what the ledger spends."""
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    collateral = funds_of(devnet, ALICE)[0]
    redeemers = redeemer_map((RedeemerTag.SPEND, 0, PlutusData(), UNITS))
    body = payment(
        devnet,
        ALICE,
        [],
        inputs=[locked, locked],
        collateral=[collateral],
        script_data_hash=integrity_hash(redeemers),
    )
    tx = signed(body, ALICE, plutus_v3_script=[ALWAYS_SUCCEEDS], redeemer=redeemers)
    message = await decoding_error(probe, tx.to_cbor_hex())
    assert f"{locked.transaction_id}#{locked.index}" in message
    assert locked in devnet.chain.utxo


async def test_repeated_collateral_reference_inputs_and_signers_are_refused(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    other = lock(devnet, ALICE, BOB.address)
    txin, _ = funds_of(devnet, ALICE)
    cases: tuple[tuple[str, list[Any]], ...] = (
        ("collateral", [txin, txin]),
        ("reference_inputs", [other, other]),
        ("required_signers", [ALICE.verification_key.hash()] * 2),
    )
    for field, value in cases:
        fields: dict[str, Any] = {field: value}
        body = payment(devnet, ALICE, [TransactionOutput(BOB.address, 5_000_000)], **fields)
        message = await decoding_error(probe, signed(body, ALICE).to_cbor_hex())
        assert "does not match the total count" in message, (field, message)


async def test_a_negative_quantity_in_an_output_is_refused_at_decoding(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    policy = ScriptHash(b"\x01" * 28)
    negative = Value(3_000_000, MultiAsset({policy: Asset({AssetName(b"X"): -5})}))
    body = payment(devnet, ALICE, [TransactionOutput(BOB.address, negative)])
    message = await decoding_error(probe, signed(body, ALICE).to_cbor_hex())
    assert "must be positive, got -5" in message


async def test_plutus_data_bytes_longer_than_64_must_be_chunked(probe: OgmiosProbe, devnet: Devnet) -> None:
    unchunked = TransactionOutput(BOB.address, 5_000_000, datum=b"x" * 65)
    body = payment(devnet, ALICE, [unchunked])
    message = await decoding_error(probe, signed(body, ALICE).to_cbor_hex())
    assert "65 bytes is not chunked" in message
    # The same 65 bytes as an indefinite-length string of chunks of at most 64 bytes are fine.
    chunked = b"\x5f" + cbor2.dumps(b"x" * 64) + cbor2.dumps(b"x") + b"\xff"
    body = payment(devnet, ALICE, [TransactionOutput(BOB.address, 5_000_000, datum=RawCBOR(chunked))])
    result = await probe.result(
        "submitTransaction", {"transaction": {"cbor": signed(body, ALICE).to_cbor_hex()}}
    )
    assert result["transaction"]["id"] == str(body.id)


async def test_an_empty_body_and_a_repeated_body_key_are_refused(probe: OgmiosProbe, devnet: Devnet) -> None:
    assert "Missing required key" in await decoding_error(probe, "84a0a0f5f6")
    txin, funds = funds_of(devnet, ALICE)
    fee = 1_000_000
    change = [bytes(ALICE.address), funds.amount.coin - fee]
    body = {0: [[txin.transaction_id.payload, txin.index]], 1: [change], 2: fee}
    valid = raw_signed(body)
    # The same body with its fee listed twice: a CBOR map with a repeated key.
    body_bytes = cbor2.dumps(body)
    doubled = b"\xa4" + body_bytes[1:] + cbor2.dumps(2) + cbor2.dumps(fee)
    signature = ALICE.signing_key.sign(blake2b_256(doubled))
    witness = cbor2.dumps({0: [[bytes(ALICE.verification_key.payload), signature]]})
    repeated = b"\x84" + doubled + witness + b"\xf5\xf6"
    assert "Duplicate key: 2" in await decoding_error(probe, repeated.hex())
    result = await probe.result("submitTransaction", {"transaction": {"cbor": valid}})
    assert result["transaction"]["id"] == blake2b_256(body_bytes).hex()


async def test_sets_tagged_258_still_decode(probe: OgmiosProbe, devnet: Devnet) -> None:
    txin, funds = funds_of(devnet, ALICE)
    fee = 1_000_000
    inputs = cbor2.CBORTag(258, [[txin.transaction_id.payload, txin.index]])
    body = {0: inputs, 1: [[bytes(ALICE.address), funds.amount.coin - fee]], 2: fee}
    result = await probe.result("submitTransaction", {"transaction": {"cbor": raw_signed(body)}})
    assert result["transaction"]["id"] == blake2b_256(cbor2.dumps(body)).hex()


def test_the_decoding_rules_on_hand_made_transactions() -> None:
    """The rules without a devnet: each input breaks one of them."""
    txin = [b"\x11" * 32, 0]
    output = [b"\x60" + b"\x22" * 28, 2_000_000]

    def tx(body: dict[int, Any], witnesses: dict[int, Any] | None = None) -> bytes:
        return cbor2.dumps([body, witnesses or {}, True, None])

    check_transaction(tx({0: [txin], 1: [output], 2: 200_000}))
    cases = {
        "Duplicate key": b"\x84\xa4\x00\x81"
        + cbor2.dumps(txin)
        + b"\x01\x81"
        + cbor2.dumps(output)
        + b"\x02\x01\x02\x01\xa0\xf5\xf6",
        "Missing required key": tx({0: [txin], 1: [output]}),
        "invalid field 6": tx({0: [txin], 1: [output], 2: 1, 6: 0}),
        "must be non-empty": tx({0: [txin], 1: [output], 2: 1, 13: []}),
        "total count": tx({0: [txin], 1: [output], 2: 1, 18: [txin, [b"\x11" * 32, 0]]}),
        "positive": tx({0: [txin], 1: [[output[0], [2_000_000, {b"\x01" * 28: {b"": -1}}]]], 2: 1}),
        "cannot contain zeros": tx(
            {0: [txin], 1: [[output[0], [2_000_000, {b"\x01" * 28: {b"": 0}}]]], 2: 1}
        ),
        "Empty Assets": tx({0: [txin], 1: [[output[0], [2_000_000, {b"\x01" * 28: {}}]]], 2: 1}),
        "overflow": tx({0: [txin], 1: [output], 2: 1, 9: {b"\x01" * 28: {b"": 2**63}}}),
        "not chunked": tx({0: [txin], 1: [output], 2: 1}, {4: [cbor2.CBORTag(121, [b"y" * 65])]}),
        "Expected redeemers map to be non-empty": tx({0: [txin], 1: [output], 2: 1}, {5: {}}),
        "is_valid": cbor2.dumps([{0: [txin], 1: [output], 2: 1}, {}, 1, None]),
        "trailing bytes": tx({0: [txin], 1: [output], 2: 1}) + b"\x00",
    }
    for expected, raw in cases.items():
        try:
            check_transaction(raw)
        except DecodingFailure as exc:
            assert expected in str(exc), (expected, str(exc))
        else:
            raise AssertionError(f"accepted a transaction that should fail with {expected!r}")
    # Repeated key witnesses are collapsed by Conway's decoder (not refused); repeated scripts are refused.
    witness = [b"\x33" * 32, b"\x44" * 64]
    check_transaction(tx({0: [txin], 1: [output], 2: 1}, {0: [witness, witness]}))
    try:
        check_transaction(tx({0: [txin], 1: [output], 2: 1}, {7: [b"\x01\x02", b"\x01\x02"]}))
    except DecodingFailure as exc:
        assert "total count" in str(exc)
    else:
        raise AssertionError("repeated Plutus scripts were accepted")


async def test_script_contexts_never_see_a_repeated_input_even_past_decoding(devnet: Devnet) -> None:
    """Defence in depth: a transaction object that bypassed decoding (a repeated input) gets no context."""
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    redeemers = redeemer_map((RedeemerTag.SPEND, 0, PlutusData(), UNITS))
    body = payment(
        devnet,
        ALICE,
        [],
        inputs=[locked],
        collateral=[funds_of(devnet, ALICE)[0]],
        script_data_hash=integrity_hash(redeemers),
    )
    decoded = decode_transaction(
        signed(body, ALICE, plutus_v3_script=[ALWAYS_SUCCEEDS], redeemer=redeemers).to_cbor()
    )
    assert devnet.chain.evaluator is not None
    resolved = {t: devnet.chain.utxo[t] for t in [*decoded.inputs, *decoded.collaterals]}
    assert all(run.ok for run in devnet.chain.evaluator(decoded, resolved))
    decoded.tx.transaction_body.inputs = [*decoded.tx.transaction_body.inputs, locked]
    with pytest.raises(EvaluationContextError, match="repeated"):
        devnet.chain.evaluator(decoded, resolved)
