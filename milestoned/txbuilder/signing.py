"""Signing keys from cardano-cli files, signing, and text envelopes for signing elsewhere.

Why the permission check comes first: a signing key that group or others can read is as good as
published, so the file is refused, with the `chmod` that fixes it, before a byte of it is read.
Unsigned transactions go out as cardano-cli text envelopes (`Unwitnessed Tx ConwayEra`) so that
cardano-cli or a hardware wallet can sign them; what comes back (`Tx ConwayEra`, or cardano-cli's
`Witnessed Tx ConwayEra`) is checked to be the very transaction that was built, and fully signed.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pycardano import (
    ExtendedSigningKey,
    ExtendedVerificationKey,
    PaymentExtendedSigningKey,
    PaymentSigningKey,
    PaymentVerificationKey,
    SigningKey,
    Transaction,
    TransactionWitnessSet,
    VerificationKeyHash,
    VerificationKeyWitness,
)

from milestoned.txbuilder.assembly import BuiltTx
from milestoned.txbuilder.errors import SigningError

UNSIGNED_TYPE = "Unwitnessed Tx ConwayEra"
SIGNED_TYPES = ("Tx ConwayEra", "Witnessed Tx ConwayEra")
AnySigningKey: TypeAlias = SigningKey | ExtendedSigningKey


def load_signing_key(path: str | Path) -> AnySigningKey:
    """A payment signing key from a cardano-cli `.skey`; refused when others may read or write it."""
    file = Path(path)
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise SigningError(
            f"signing key file {file} does not exist; pass the path of the admin's .skey"
        ) from None
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningError(
            f"{file} is readable or writable by others (mode {stat.S_IMODE(mode):04o}); anyone "
            "who can read it "
            f"can sign with it, so it is refused. Fix: chmod 600 {shlex.quote(str(file))}"
        )
    try:
        document = json.loads(file.read_text())
        key_type = str(document.get("type", ""))
    except (OSError, ValueError, AttributeError) as exc:
        raise SigningError(f"{file} is not a cardano-cli key file (a JSON text envelope): {exc}") from exc
    try:
        if "Extended" in key_type:
            return PaymentExtendedSigningKey.load(str(file))
        if key_type.startswith("PaymentSigningKey"):
            return PaymentSigningKey.load(str(file))
    except Exception as exc:
        raise SigningError(f"{file} could not be read as a {key_type}: {exc}") from exc
    raise SigningError(
        f"{file} holds a {key_type or 'key of no type'}; a payment signing key "
        "(PaymentSigningKeyShelley_ed25519) is needed"
    )


def key_hash(key: AnySigningKey) -> VerificationKeyHash:
    return key.to_verification_key().hash()


def sign(
    built: BuiltTx | Transaction,
    keys: Sequence[AnySigningKey],
    *,
    required: Sequence[VerificationKeyHash] = (),
) -> Transaction:
    """The transaction with a vkey witness from each key; every required signer must be among them.

    Witnesses the transaction already has are kept, so that several people can sign one file in turn."""
    tx = built.tx if isinstance(built, BuiltTx) else built
    needed = list(built.signers) if isinstance(built, BuiltTx) else list(required)
    by_hash = {key_hash(k): k for k in keys}
    missing = [h for h in needed if h not in by_hash]
    if missing:
        raise SigningError(
            f"transaction {tx.id} needs signatures from key hashes "
            f"{', '.join(h.payload.hex() for h in missing)}; "
            "pass their signing keys, or export it unsigned and sign it with cardano-cli or a hardware wallet"
        )
    body_hash = bytes(built.tx_id.payload) if isinstance(built, BuiltTx) else tx.transaction_body.hash()
    witnesses = [
        VerificationKeyWitness(k.to_verification_key(), k.sign(body_hash))
        for h, k in by_hash.items()
        if not needed or h in needed
    ]
    old = tx.transaction_witness_set
    # signatures already there are kept (a guardian adds theirs to a file the admin signed: issue 15)
    new_keys = {w.vkey.hash() for w in witnesses}
    kept = [w for w in old.vkey_witnesses or [] if w.vkey.hash() not in new_keys]
    witnesses = kept + witnesses
    witness_set = TransactionWitnessSet(
        vkey_witnesses=witnesses or None,
        native_scripts=old.native_scripts,
        plutus_v3_script=old.plutus_v3_script,
        plutus_data=old.plutus_data,
        redeemer=old.redeemer,
    )
    return Transaction(tx.transaction_body, witness_set, tx.valid, tx.auxiliary_data)


def unsigned_envelope(built: BuiltTx) -> dict[str, str]:
    """A cardano-cli text envelope of the unsigned transaction (`cardano-cli conway transaction sign`)."""
    return {
        "type": UNSIGNED_TYPE,
        "description": f"milestoned {built.kind}; sign with key hashes "
        + ", ".join(h.payload.hex() for h in built.signers),
        "cborHex": built.tx.to_cbor_hex(),
    }


def signed_envelope(tx: Transaction, description: str = "") -> dict[str, str]:
    return {"type": SIGNED_TYPES[0], "description": description, "cborHex": tx.to_cbor_hex()}


def transaction_from_envelope(
    envelope: dict[str, Any] | str, *, expected: BuiltTx | None = None
) -> Transaction:
    """A signed transaction back from its text envelope, checked against the one that was built."""
    document = json.loads(envelope) if isinstance(envelope, str) else envelope
    kind = document.get("type") if isinstance(document, dict) else None
    if kind not in SIGNED_TYPES:
        hint = " (it is still unsigned: sign it first)" if kind == UNSIGNED_TYPE else ""
        raise SigningError(
            f"expected a text envelope of type {' or '.join(SIGNED_TYPES)}, got {kind!r}{hint}"
        )
    try:
        tx = Transaction.from_cbor(bytes.fromhex(str(document["cborHex"])))
    except Exception as exc:
        raise SigningError(f"the envelope's cborHex is not a Conway transaction: {exc}") from exc
    if expected is not None:
        if tx.id != expected.tx.id:
            raise SigningError(
                f"the signed transaction is {tx.id}, not the {expected.kind} {expected.id} that was built; "
                "sign the exported file without rebuilding it"
            )
        present = {w.vkey.hash() for w in tx.transaction_witness_set.vkey_witnesses or []}
        missing = [h.payload.hex() for h in expected.signers if h not in present]
        if missing:
            raise SigningError(
                f"transaction {tx.id} still lacks signatures from key hashes {', '.join(missing)}"
            )
    return tx


WITNESS_TYPE = "TxWitness ConwayEra"


def witness_envelope(built: BuiltTx, key: AnySigningKey) -> dict[str, str]:
    """A cardano-cli key-witness envelope (`cardano-cli conway transaction witness` writes the same)."""
    vkey = key.to_verification_key()
    if isinstance(vkey, ExtendedVerificationKey):
        vkey = vkey.to_non_extended()
    signature = key.sign(built.tx.transaction_body.hash())
    return {
        "type": WITNESS_TYPE,
        "description": "Key Witness ShelleyEra",
        "cborHex": cbor2.dumps([0, [vkey.payload, signature]]).hex(),
    }


def assemble_witnesses(built: BuiltTx, envelopes: Sequence[dict[str, Any] | str]) -> Transaction:
    """The transaction with the key witnesses of `envelopes` (from cardano-cli or a hardware wallet).

    Each witness must verify against this transaction's body, and together they must cover every
    required signer; otherwise nothing is assembled and the error says which key is wrong or missing.
    """
    body_hash = built.tx.transaction_body.hash()
    witnesses: list[VerificationKeyWitness] = []
    for position, envelope in enumerate(envelopes, start=1):
        document = json.loads(envelope) if isinstance(envelope, str) else envelope
        if not isinstance(document, dict) or document.get("type") != WITNESS_TYPE:
            kind = document.get("type") if isinstance(document, dict) else type(document).__name__
            raise SigningError(f"witness {position} is a {kind!r}, not a {WITNESS_TYPE} text envelope")
        try:
            tag, (vkey_bytes, signature) = cbor2.loads(bytes.fromhex(str(document["cborHex"])))
            if tag != 0:
                raise ValueError("only key witnesses (tag 0) are supported, not bootstrap witnesses")
            VerifyKey(vkey_bytes).verify(body_hash, signature)
        except BadSignatureError:
            raise SigningError(
                f"witness {position} does not sign transaction {built.id}: it was made for another "
                "transaction (rebuilt since?); sign the exported file again"
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise SigningError(f"witness {position} is not a key witness: {exc}") from exc
        vkey = PaymentVerificationKey(vkey_bytes)
        witnesses.append(VerificationKeyWitness(vkey, signature))
    present = {w.vkey.hash() for w in witnesses}
    missing = [h.payload.hex() for h in built.signers if h not in present]
    if missing:
        raise SigningError(
            f"transaction {built.id} still lacks signatures from key hashes {', '.join(missing)}"
        )
    old = built.tx.transaction_witness_set
    witness_set = TransactionWitnessSet(vkey_witnesses=witnesses, redeemer=old.redeemer)
    return Transaction(built.tx.transaction_body, witness_set, built.tx.valid, built.tx.auxiliary_data)
