"""Phase-1 checks of what a transaction carries for its scripts: metadata, datums, the script
integrity hash and collateral.

WHY apart from ledger.py: each is a function of the transaction's bytes, the resolved outputs and the
protocol parameters only, with its own Ogmios error; ledger.py calls them in the node's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import cbor2
from pycardano import ScriptHash, TransactionInput, TransactionOutput

from milestoned.devnet import encode
from milestoned.devnet.errors import LedgerError, err, refs_json
from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.parameters import ProtocolParameters
from milestoned.devnet.scripts import AnyScript, is_plutus, plutus_language
from milestoned.devnet.transaction import DecodedTransaction, _array_item_spans, _head
from milestoned.devnet.values import bag_of, total

UtxoSet = Mapping[TransactionInput, TransactionOutput]


def payment_script_hash(output: TransactionOutput) -> bytes | None:
    part = output.address.payment_part
    return bytes(part.payload) if isinstance(part, ScriptHash) else None


def witness_datums(decoded: DecodedTransaction) -> dict[bytes, bytes]:
    """Witness datums by hash, hashed over their bytes as submitted."""
    raw = decoded.datums_bytes
    if raw is None:
        return {}
    pos = 0
    major, _, after = _head(raw, pos)
    if major == 6:  # tag 258: a set
        pos = after
    spans = _array_item_spans(raw[pos:], 0)
    body = raw[pos:]
    return {blake2b_256(body[start:end]): body[start:end] for start, end in spans}


def language_views(params: ProtocolParameters, languages: Iterable[str]) -> bytes:
    """The cost-model part of the script-integrity hash (Alonzo's peculiar V1 encoding included)."""
    entries: list[tuple[bytes, bytes]] = []
    for language in set(languages):
        model = list(params.cost_models[language])
        if language == "plutus:v1":
            key = cbor2.dumps(cbor2.dumps(0))
            value = cbor2.dumps(b"\x9f" + b"".join(cbor2.dumps(v) for v in model) + b"\xff")
        else:
            key = cbor2.dumps({"plutus:v2": 1, "plutus:v3": 2}[language])
            value = cbor2.dumps(model)
        entries.append((key, value))
    entries.sort(key=lambda kv: (len(kv[0]), kv[0]))
    return _map_header(len(entries)) + b"".join(k + v for k, v in entries)


def _map_header(count: int) -> bytes:
    encoded = cbor2.dumps(count)
    return bytes([encoded[0] | 0xA0]) + encoded[1:]


def script_integrity_hash(
    params: ProtocolParameters, decoded: DecodedTransaction, languages: Iterable[str]
) -> bytes | None:
    if decoded.redeemers_bytes is None and decoded.datums_bytes is None:
        return None
    redeemers = decoded.redeemers_bytes if decoded.redeemers_bytes is not None else b"\xa0"
    datums = decoded.datums_bytes or b""
    return blake2b_256(redeemers + datums + language_views(params, languages))


def check_metadata(decoded: DecodedTransaction) -> LedgerError | None:
    declared = decoded.tx.transaction_body.auxiliary_data_hash
    aux = decoded.auxiliary_data_bytes
    if aux is not None and declared is None:
        return err(
            3105,
            "The transaction has metadata but its body has no auxiliary data hash.",
            {"metadata": {"hash": blake2b_256(aux).hex()}},
        )
    if aux is None and declared is not None:
        return err(
            3106,
            "The body declares an auxiliary data hash but the transaction has no metadata.",
            {"metadata": {"hash": bytes(declared.payload).hex()}},
        )
    if aux is not None and declared is not None and blake2b_256(aux) != bytes(declared.payload):
        return err(
            3107,
            "The auxiliary data hash in the body does not match the metadata.",
            {
                "provided": {"hash": bytes(declared.payload).hex()},
                "computed": {"hash": blake2b_256(aux).hex()},
            },
        )
    return None


def check_datums(
    utxo: UtxoSet,
    decoded: DecodedTransaction,
    ordered_inputs: Sequence[TransactionInput],
    references: Sequence[TransactionInput],
    available: Mapping[bytes, AnyScript],
) -> LedgerError | None:
    witness = witness_datums(decoded)
    required: set[bytes] = set()
    orphans = [
        txin
        for txin in ordered_inputs
        if (h := payment_script_hash(utxo[txin])) is not None
        and (script := available.get(h)) is not None
        and is_plutus(script)
        and plutus_language(script) != "plutus:v3"
        and utxo[txin].datum is None
        and utxo[txin].datum_hash is None
    ]
    if orphans:
        # Only V3 may spend an output without a datum (CIP-69); V1/V2 outputs without one are
        # unspendable (UnspendableUTxONoDatumHash).
        return err(
            3114,
            "Some inputs are locked by Plutus V1/V2 scripts but carry no datum; they cannot be spent.",
            {"orphanScriptInputs": refs_json(orphans)},
        )
    for txin in ordered_inputs:
        output = utxo[txin]
        script = (h := payment_script_hash(output)) is not None and available.get(h)
        # Plutus V3 may spend outputs without a datum (CIP-69); a datum hash must be resolved.
        if script and is_plutus(script) and output.datum_hash is not None:
            required.add(bytes(output.datum_hash.payload))
    missing = sorted(required - set(witness))
    if missing:
        return err(
            3111,
            "Some datums of spent script inputs are missing from the witness set.",
            {"missingDatums": [h.hex() for h in missing]},
        )
    allowed = set(required)
    body = decoded.tx.transaction_body
    for output in list(body.outputs) + [utxo[t] for t in references]:
        if output.datum_hash is not None:
            allowed.add(bytes(output.datum_hash.payload))
    extraneous = sorted(set(witness) - allowed)
    if extraneous:
        return err(
            3112,
            "The witness set carries datums that no input or output needs.",
            {"extraneousDatums": [h.hex() for h in extraneous]},
        )
    return None


def check_collateral(
    utxo: UtxoSet,
    params: ProtocolParameters,
    decoded: DecodedTransaction,
    collaterals: Sequence[TransactionInput],
) -> LedgerError | None:
    body = decoded.tx.transaction_body
    if not collaterals:
        return err(3132, "The transaction runs Plutus scripts but has no collateral input.")
    if len(collaterals) > params.max_collateral_inputs:
        return err(
            3131,
            f"Too many collateral inputs: at most {params.max_collateral_inputs}.",
            {
                "maximumCollateralInputs": params.max_collateral_inputs,
                "countedCollateralInputs": len(collaterals),
            },
        )
    locked = [t for t in collaterals if payment_script_hash(utxo[t]) is not None]
    if locked:
        return err(
            3129,
            "Collateral inputs must be locked by keys, not scripts.",
            {"unsuitableCollateralInputs": refs_json(locked)},
        )
    balance = total(bag_of(utxo[t].amount) for t in dict.fromkeys(collaterals))
    if body.collateral_return is not None:
        balance = balance - bag_of(body.collateral_return.amount)
    if balance.assets:
        return err(
            3133,
            "The collateral (inputs minus collateral return) must be ada only; return the tokens.",
            {"unsuitableCollateralValue": balance.to_ogmios()},
        )
    required = -((-body.fee * params.collateral_percentage) // 100)
    if balance.lovelace * 100 < body.fee * params.collateral_percentage:
        return err(
            3128,
            f"Collateral of {balance.lovelace} lovelace is below the required {required}.",
            {
                "providedCollateral": encode.ada(balance.lovelace),
                "minimumRequiredCollateral": encode.ada(required),
            },
        )
    if body.total_collateral is not None and body.total_collateral != balance.lovelace:
        return err(
            3135,
            "The declared total collateral differs from collateral inputs minus collateral return.",
            {
                "declaredTotalCollateral": encode.ada(body.total_collateral),
                "computedTotalCollateral": encode.ada(balance.lovelace),
            },
        )
    return None
