"""Key files and signing: tests for mutants that survived (issue 19).

Each refused key file gets its own exact error (missing, group-readable, not JSON, unreadable as its
type, not a payment key), an extended key loads as one, and a transaction signed without a list of
required signers carries a witness of every key given.
"""

from __future__ import annotations

import json
from pathlib import Path

import cbor2
import pytest
from pycardano import (
    Address,
    HDWallet,
    Network,
    PaymentExtendedSigningKey,
    PaymentSigningKey,
    StakeSigningKey,
    Transaction,
    TransactionBody,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
)

from milestoned.txbuilder.assembly import BuiltTx
from milestoned.txbuilder.errors import SigningError
from milestoned.txbuilder.signing import (
    assemble_witnesses,
    key_hash,
    load_signing_key,
    sign,
    signed_envelope,
    transaction_from_envelope,
    witness_envelope,
)

SEED = "a1" * 32


def key_file(tmp_path: Path, document: object, mode: int = 0o600) -> Path:
    path = tmp_path / "key.skey"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    path.chmod(mode)
    return path


def test_a_missing_key_file_is_named_with_what_to_pass(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.skey"
    with pytest.raises(SigningError) as refused:
        load_signing_key(missing)
    assert (
        str(refused.value) == f"signing key file {missing} does not exist; pass the path of the admin's .skey"
    )


@pytest.mark.parametrize("mode", [0o640, 0o620, 0o604, 0o602])
def test_a_key_file_others_can_read_or_write_is_refused_before_reading(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path, "not even json", mode)
    with pytest.raises(SigningError) as refused:
        load_signing_key(path)
    assert str(refused.value).startswith(f"{path} is readable or writable by others (mode {mode:04o});")
    assert str(refused.value).endswith(f"Fix: chmod 600 {path}")


def test_a_key_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, "not even json")
    with pytest.raises(SigningError) as refused:
        load_signing_key(path)
    assert str(refused.value).startswith(f"{path} is not a cardano-cli key file (a JSON text envelope): ")


def test_an_extended_payment_key_loads_as_one(tmp_path: Path) -> None:
    key = PaymentExtendedSigningKey.from_hdwallet(HDWallet.from_seed(SEED))
    path = key_file(tmp_path, json.loads(key.to_json()))
    loaded = load_signing_key(path)
    assert isinstance(loaded, PaymentExtendedSigningKey) and loaded.payload == key.payload


def test_a_payment_key_that_does_not_decode_is_refused_with_its_type(tmp_path: Path) -> None:
    document = {"type": "PaymentSigningKeyShelley_ed25519", "description": "", "cborHex": "zz"}
    path = key_file(tmp_path, document)
    with pytest.raises(SigningError) as refused:
        load_signing_key(path)
    assert str(refused.value).startswith(f"{path} could not be read as a PaymentSigningKeyShelley_ed25519: ")


def test_a_stake_key_is_not_a_payment_key(tmp_path: Path) -> None:
    stake = StakeSigningKey.generate()
    path = key_file(tmp_path, json.loads(stake.to_json()))
    with pytest.raises(SigningError) as refused:
        load_signing_key(path)
    assert str(refused.value) == (
        f"{path} holds a StakeSigningKeyShelley_ed25519; a payment signing key "
        "(PaymentSigningKeyShelley_ed25519) is needed"
    )


KEYS = [PaymentSigningKey.generate(), PaymentSigningKey.generate()]
BODY = TransactionBody(
    inputs=[TransactionInput(TransactionId(bytes(32)), 0)],
    outputs=[TransactionOutput(Address(key_hash(KEYS[0]), network=Network.TESTNET), 2_000_000)],
    fee=200_000,
)


def built(signers: list[int]) -> BuiltTx:
    tx = Transaction(BODY, TransactionWitnessSet())
    return BuiltTx("release", tx, 200_000, {}, 0, 0, [key_hash(KEYS[i]) for i in signers])


def test_without_required_signers_every_key_given_signs() -> None:
    keys, body = KEYS, BODY
    signed = sign(Transaction(body, TransactionWitnessSet()), keys)
    witnesses = signed.transaction_witness_set.vkey_witnesses or []
    assert sorted(w.vkey.hash().payload for w in witnesses) == sorted(key_hash(k).payload for k in keys)
    only_first = sign(Transaction(body, TransactionWitnessSet()), keys, required=[key_hash(keys[0])])
    assert [w.vkey.hash() for w in only_first.transaction_witness_set.vkey_witnesses or []] == [
        key_hash(keys[0])
    ]


def test_signing_a_signed_transaction_keeps_its_signatures() -> None:
    """Issue 15: the admin signs, then each guardian adds theirs to the same file; signing again with a key
    that already signed replaces its witness, never duplicates it."""
    first = sign(Transaction(BODY, TransactionWitnessSet()), [KEYS[0]])
    both = sign(first, [KEYS[1]])
    hashes = [w.vkey.hash() for w in both.transaction_witness_set.vkey_witnesses or []]
    assert hashes == [key_hash(KEYS[0]), key_hash(KEYS[1])]
    again = sign(both, [KEYS[0]])
    assert sorted(
        w.vkey.hash().payload for w in again.transaction_witness_set.vkey_witnesses or []
    ) == sorted(h.payload for h in hashes)


def test_no_key_means_no_witness_set_entry() -> None:
    assert sign(Transaction(BODY, TransactionWitnessSet()), []).transaction_witness_set.vkey_witnesses is None


def test_a_signed_envelope_is_a_plain_conway_transaction() -> None:
    tx = sign(Transaction(BODY, TransactionWitnessSet()), KEYS)
    envelope = signed_envelope(tx, "d")
    assert envelope == {"type": "Tx ConwayEra", "description": "d", "cborHex": tx.to_cbor_hex()}
    assert transaction_from_envelope(envelope).id == tx.id


def test_an_envelope_whose_cbor_is_not_a_transaction_is_refused() -> None:
    with pytest.raises(SigningError) as refused:
        transaction_from_envelope({"type": "Tx ConwayEra", "cborHex": "a0"})
    assert str(refused.value).startswith("the envelope's cborHex is not a Conway transaction: ")


@pytest.mark.parametrize(
    ("second", "kind"), [({"type": "Tx ConwayEra", "cborHex": ""}, "'Tx ConwayEra'"), ([1, 2], "'list'")]
)
def test_a_witness_of_the_wrong_kind_is_named_by_its_position(second: object, kind: str) -> None:
    target = built([0, 1])
    good = witness_envelope(target, KEYS[0])
    with pytest.raises(SigningError) as refused:
        assemble_witnesses(target, [good, second])  # type: ignore[list-item]
    assert str(refused.value) == f"witness 2 is a {kind}, not a TxWitness ConwayEra text envelope"


def test_witnesses_of_every_signer_assemble() -> None:
    target = built([0, 1])
    tx = assemble_witnesses(target, [witness_envelope(target, k) for k in KEYS])
    assert {w.vkey.hash() for w in tx.transaction_witness_set.vkey_witnesses or []} == set(target.signers)


@pytest.mark.parametrize(
    ("cbor_hex", "reason"),
    [
        (
            cbor2.dumps([1, [bytes(32), bytes(64)]]).hex(),
            "only key witnesses (tag 0) are supported, not bootstrap witnesses",
        ),
        ("zz", "non-hexadecimal number found in fromhex() arg at position 0"),
    ],
)
def test_a_witness_that_is_not_a_key_witness_says_why(cbor_hex: str, reason: str) -> None:
    target = built([0])
    envelope = {"type": "TxWitness ConwayEra", "cborHex": cbor_hex}
    with pytest.raises(SigningError) as refused:
        assemble_witnesses(target, [envelope])
    assert str(refused.value) == f"witness 1 is not a key witness: {reason}"
