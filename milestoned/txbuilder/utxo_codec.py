"""UTxOs between our Ogmios client's typed values and pycardano's objects, both ways.

Why both ways: queries come back as `milestoned.ogmios.model.Utxo` and transactions are built from
pycardano `UTxO`s; a chained transaction spends outputs that are not on chain yet, and evaluating it
means sending those outputs back to Ogmios as `additionalUtxo`, in Ogmios' own shape.
"""

from __future__ import annotations

from pycardano import (
    Address,
    Asset,
    AssetName,
    DatumHash,
    MultiAsset,
    NativeScript,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    RawPlutusData,
    ScriptHash,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    UTxO,
    Value,
)
from pycardano.serialization import RawCBOR

from milestoned.ogmios import model

PLUTUS_LANGUAGES = {"plutus:v1": PlutusV1Script, "plutus:v2": PlutusV2Script, "plutus:v3": PlutusV3Script}


class UtxoCodecError(ValueError):
    """An output that cannot be represented on the other side (e.g. a script in a language we do not know)."""


def reference_to_input(reference: model.OutputReference) -> TransactionInput:
    return TransactionInput(TransactionId(bytes.fromhex(reference.transaction_id)), reference.index)


def input_to_reference(tx_input: TransactionInput) -> model.OutputReference:
    return model.OutputReference(tx_input.transaction_id.payload.hex(), tx_input.index)


def input_text(tx_input: TransactionInput) -> str:
    """`<tx id hex>#<index>`, the spelling cardano-cli and our projections use."""
    return f"{tx_input.transaction_id.payload.hex()}#{tx_input.index}"


def parse_input_text(text: str) -> TransactionInput:
    """The reverse of `input_text`; raises ValueError saying what a reference looks like."""
    tx_id, sep, index = text.partition("#")
    if not sep or len(tx_id) != 64 or not index.isdigit():
        raise ValueError(f"{text!r} is not an output reference; write it as <64 hex digits>#<index>")
    return TransactionInput(TransactionId(bytes.fromhex(tx_id)), int(index))


def value_to_pycardano(value: model.Value) -> Value:
    assets = MultiAsset()
    for policy, names in value.assets.items():
        assets[ScriptHash(bytes.fromhex(policy))] = Asset(
            {AssetName(bytes.fromhex(name)): quantity for name, quantity in names.items()}
        )
    return Value(value.lovelace, assets)


def value_to_ogmios(value: Value | int) -> model.Value:
    if isinstance(value, int):
        return model.Value(value, {})
    assets = {
        policy.payload.hex(): {bytes(name.payload).hex(): q for name, q in names.items() if q}
        for policy, names in value.multi_asset.items()
    }
    return model.Value(value.coin, {policy: names for policy, names in assets.items() if names})


def _script_to_pycardano(
    script: model.Script,
) -> NativeScript | PlutusV1Script | PlutusV2Script | PlutusV3Script:
    if script.cbor is None:
        raise UtxoCodecError(f"a {script.language} reference script came without its CBOR")
    raw = bytes.fromhex(script.cbor)
    if script.language == "native":
        return NativeScript.from_cbor(raw)
    kind = PLUTUS_LANGUAGES.get(script.language)
    if kind is None:
        raise UtxoCodecError(f"reference scripts in {script.language} are not supported")
    return kind(raw)


def output_to_pycardano(output: model.TransactionOutput) -> TransactionOutput:
    return TransactionOutput(
        Address.from_primitive(output.address),
        value_to_pycardano(output.value),
        datum_hash=None if output.datum_hash is None else DatumHash(bytes.fromhex(output.datum_hash)),
        datum=None if output.datum is None else RawPlutusData.from_cbor(bytes.fromhex(output.datum)),
        script=None if output.script is None else _script_to_pycardano(output.script),
    )


def utxo_to_pycardano(utxo: model.Utxo) -> UTxO:
    return UTxO(reference_to_input(utxo.reference), output_to_pycardano(utxo.output))


def _datum_hex(datum: object) -> str:
    if isinstance(datum, RawCBOR):
        return bytes(datum.cbor).hex()
    to_cbor = getattr(datum, "to_cbor", None)
    if to_cbor is None:
        import cbor2

        return bytes(cbor2.dumps(datum)).hex()
    return bytes(to_cbor()).hex()


def _script_to_ogmios(script: object) -> model.Script:
    if isinstance(script, PlutusV3Script):
        return model.Script("plutus:v3", bytes(script).hex())
    if isinstance(script, PlutusV2Script):
        return model.Script("plutus:v2", bytes(script).hex())
    if isinstance(script, PlutusV1Script):
        return model.Script("plutus:v1", bytes(script).hex())
    if isinstance(script, NativeScript):
        return model.Script("native", script.to_cbor().hex())
    raise UtxoCodecError(f"cannot send a {type(script).__name__} to Ogmios as a reference script")


def output_to_ogmios(output: TransactionOutput) -> model.TransactionOutput:
    return model.TransactionOutput(
        str(output.address),
        value_to_ogmios(output.amount),
        None if output.datum_hash is None else output.datum_hash.payload.hex(),
        None if output.datum is None else _datum_hex(output.datum),
        None if output.script is None else _script_to_ogmios(output.script),
    )


def utxo_to_ogmios(tx_input: TransactionInput, output: TransactionOutput) -> model.Utxo:
    return model.Utxo(input_to_reference(tx_input), output_to_ogmios(output))
