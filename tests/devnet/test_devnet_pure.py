"""Pure pieces of the devnet: fee arithmetic, script-integrity encoding, decoding with original bytes."""

from __future__ import annotations

from fractions import Fraction

import cbor2
import pytest
from devnet_support import ALICE, BOB, signed
from pycardano import TransactionBody, TransactionInput, TransactionOutput

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.ledger import language_views
from milestoned.devnet.parameters import MAINNET_CONWAY, ExUnits
from milestoned.devnet.transaction import MalformedTransaction, decode_transaction


def test_script_fee_rounds_the_exact_sum_up_once() -> None:
    # 577/10000 * 3 + 721/10_000_000 * 7 = 0.1731 + 0.0005047 -> 1
    assert MAINNET_CONWAY.script_fee(ExUnits(3, 7)) == 1
    exact = Fraction(577, 10_000) * 1_000_000 + Fraction(721, 10_000_000) * 500_000_000
    assert MAINNET_CONWAY.script_fee(ExUnits(1_000_000, 500_000_000)) == -(
        -exact.numerator // exact.denominator
    )


def test_reference_scripts_fee_is_tiered_by_25600_bytes() -> None:
    assert MAINNET_CONWAY.reference_scripts_fee(0) == 0
    assert MAINNET_CONWAY.reference_scripts_fee(25_600) == 15 * 25_600
    assert MAINNET_CONWAY.reference_scripts_fee(25_601) == 15 * 25_600 + 18  # 15 * 1.2 for the next tier
    assert MAINNET_CONWAY.reference_scripts_fee(51_200 + 10) == 15 * 25_600 + 18 * 25_600 + int(
        Fraction(216, 10) * 10
    )


def test_language_views_encode_v3_as_a_definite_list_under_key_2() -> None:
    views = cbor2.loads(language_views(MAINNET_CONWAY, ["plutus:v3"]))
    assert views == {2: list(MAINNET_CONWAY.cost_models["plutus:v3"])}
    v1 = cbor2.loads(language_views(MAINNET_CONWAY, ["plutus:v1"]))
    [(key, value)] = v1.items()
    assert key == b"\x00"  # Alonzo's quirk: the language id and the parameters are CBOR inside bytes
    assert cbor2.loads(value) == list(MAINNET_CONWAY.cost_models["plutus:v1"])


def _a_transaction() -> bytes:
    body = TransactionBody(
        inputs=[TransactionInput.from_primitive([b"\x01" * 32, 0])],
        outputs=[TransactionOutput(BOB.address, 2_000_000)],
        fee=200_000,
    )
    return bytes(signed(body, ALICE).to_cbor())


def test_the_id_is_the_hash_of_the_body_bytes_as_submitted() -> None:
    raw = _a_transaction()
    decoded = decode_transaction(raw)
    assert decoded.id == bytes(decoded.tx.id.payload)
    # The same transaction with an indefinite-length outer array: same body bytes, same id.
    items = cbor2.loads(raw)
    indefinite = b"\x9f" + b"".join(cbor2.dumps(item) for item in items[:2]) + b"\xf5\xf6\xff"
    assert decode_transaction(indefinite).id == decoded.id
    # A body whose map is re-encoded indefinitely hashes differently, as on-chain: its own bytes count.
    body = cbor2.loads(decoded.body_bytes)
    body_bytes = b"\xbf" + b"".join(cbor2.dumps(k) + cbor2.dumps(v) for k, v in body.items()) + b"\xff"
    reencoded = b"\x84" + body_bytes + raw[1 + len(decoded.body_bytes) :]
    assert decode_transaction(reencoded).id == blake2b_256(body_bytes) != decoded.id


@pytest.mark.parametrize(
    "raw", [b"", b"\x80", b"\x84\x01", cbor2.dumps([1, 2, 3, 4]), _a_transaction() + b"\x00"]
)
def test_malformed_transactions_are_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(MalformedTransaction):
        decode_transaction(raw)
