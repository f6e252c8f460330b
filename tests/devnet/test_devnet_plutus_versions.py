"""Outputs locked at Plutus V1 and V2 script addresses are spendable, as on a node (issue 14, point 4).

Before, the devnet refused every V1/V2 script ("only Plutus V3 runs here"), so such outputs could never
be spent. Now each runs on its own context (`milestoned.contracts.legacy_context`): the scripts below
read the transaction's signatories at the field where each version's `TxInfo` keeps them (index 7 in
V1, 8 in V2), so a context of the wrong shape makes them fail. And V1 refuses what Conway's ledger
cannot show it (inline datums), and V1/V2 outputs without a datum stay unspendable (3114).
"""

from __future__ import annotations

from typing import Any

from devnet_support import (
    ALICE,
    BOB,
    OgmiosProbe,
    funds_of,
    lock,
    payment,
    redeemer_map,
    script_address,
    signed,
)
from pycardano import (
    CostModels,
    ExecutionUnits,
    PlutusData,
    PlutusV1Script,
    PlutusV2Script,
    RedeemerTag,
    Transaction,
    TransactionInput,
    TransactionOutput,
    VerificationKeyHash,
    datum_hash,
)
from pycardano.utils import script_data_hash
from uplc import flatten, parse

from milestoned.devnet.parameters import plutus_cost_models
from milestoned.devnet.service import Devnet

UNITS = ExecutionUnits(2_000_000, 1_000_000_000)
LANGUAGE_ID = {PlutusV1Script: 0, PlutusV2Script: 1}


def always(version: type) -> Any:
    return version(flatten(parse("(program 1.0.0 (lam d (lam r (lam ctx (con unit ())))))")))


def signed_by(version: type, key_hash: bytes) -> Any:
    """A spending script that passes only when `key_hash` is the first signatory of its TxInfo."""
    field = 7 if version is PlutusV1Script else 8
    tx_info = "[(force (builtin headList)) [(force (force (builtin sndPair))) [(builtin unConstrData) ctx]]]"
    fields = f"[(force (force (builtin sndPair))) [(builtin unConstrData) {tx_info}]]"
    for _ in range(field):
        fields = f"[(force (builtin tailList)) {fields}]"
    first_signer = (
        f"[(force (builtin headList)) [(builtin unListData) [(force (builtin headList)) {fields}]]]"
    )
    source = (
        "(program 1.0.0 (lam d (lam r (lam ctx (force [(force (builtin ifThenElse)) "
        f"[(builtin equalsByteString) (con bytestring #{key_hash.hex()}) [(builtin unBData) {first_signer}]] "
        "(delay (con unit ())) (delay (error))])))))"
    )
    return version(flatten(parse(source)))


def spend(
    devnet: Devnet, locked: TransactionInput, script: Any, datums: list[Any] | None = None, **body: Any
) -> Transaction:
    collateral = funds_of(devnet, ALICE)[0]
    draft = payment(devnet, ALICE, [], inputs=[locked], collateral=[collateral], **body)
    index = sorted(draft.inputs, key=lambda i: (i.transaction_id.payload, i.index)).index(locked)
    redeemers = redeemer_map((RedeemerTag.SPEND, index, PlutusData(), UNITS))
    language = LANGUAGE_ID[type(script)]
    cost_models = CostModels({language: dict(enumerate(plutus_cost_models()[f"plutus:v{language + 1}"]))})
    final = payment(
        devnet,
        ALICE,
        [],
        inputs=[locked],
        collateral=[collateral],
        script_data_hash=script_data_hash(redeemers, datums, cost_models),
        **body,
    )
    group = "plutus_v1_script" if language == 0 else "plutus_v2_script"
    return signed(final, ALICE, redeemer=redeemers, plutus_data=datums, **{group: [script]})


async def submit(probe: OgmiosProbe, tx: Transaction) -> dict[str, Any]:
    return await probe.call("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})


async def test_v1_and_v2_always_succeeds_lock_and_spend(probe: OgmiosProbe, devnet: Devnet) -> None:
    datum = PlutusData()
    v1 = always(PlutusV1Script)
    locked = lock(devnet, ALICE, script_address(v1), datum_hash=datum_hash(datum))
    answer = await submit(probe, spend(devnet, locked, v1, datums=[datum]))
    assert "error" not in answer, answer
    assert [tx.spends for tx in devnet.produce_block().transactions] == ["inputs"]
    v2 = always(PlutusV2Script)
    locked_v2 = lock(devnet, ALICE, script_address(v2), datum=datum)
    answer = await submit(probe, spend(devnet, locked_v2, v2))
    assert "error" not in answer, answer
    assert [tx.spends for tx in devnet.produce_block().transactions] == ["inputs"]
    assert locked not in devnet.chain.utxo and locked_v2 not in devnet.chain.utxo


async def test_v1_and_v2_scripts_read_their_own_context_shape(probe: OgmiosProbe, devnet: Devnet) -> None:
    bob = VerificationKeyHash(BOB.key_hash)
    for version in (PlutusV1Script, PlutusV2Script):
        script = signed_by(version, BOB.key_hash)
        datum = PlutusData()
        locked = lock(devnet, ALICE, script_address(script), datum_hash=datum_hash(datum))
        # Not signed by Bob: the script fails, and the node refuses the transaction.
        error = (await submit(probe, spend(devnet, locked, script, datums=[datum])))["error"]
        assert error["code"] == 3136, error
        tx = spend(devnet, locked, script, datums=[datum], required_signers=[bob])
        tx.transaction_witness_set.vkey_witnesses.append(BOB.witness(tx.transaction_body))
        evaluation = await probe.result("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        assert evaluation[0]["validator"] == {"purpose": "spend", "index": 0}
        assert 0 < evaluation[0]["budget"]["cpu"] <= UNITS.steps
        answer = await submit(probe, tx)
        assert "error" not in answer, (version.__name__, answer)
        devnet.produce_block()
        assert locked not in devnet.chain.utxo


async def test_v1_refuses_inline_datums_and_outputs_without_datum_stay_locked(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    v1 = always(PlutusV1Script)
    inline = lock(devnet, ALICE, script_address(v1), datum=PlutusData())
    tx = spend(devnet, inline, v1)
    error = (await submit(probe, tx))["error"]
    assert error["code"] == 3997 and "InlineDatumsNotSupported" in error["message"]
    assert inline in devnet.chain.utxo
    error = await probe.error("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert error["code"] == 3004 and "InlineDatumsNotSupported" in error["data"]["reason"]

    # An inline datum among the transaction's outputs cannot be shown to V1 either.
    datum = PlutusData()
    hashed = lock(devnet, ALICE, script_address(v1), datum_hash=datum_hash(datum))
    output = TransactionOutput(BOB.address, 2_000_000, datum=PlutusData())
    collateral = funds_of(devnet, ALICE)[0]
    tx = _spend_paying(devnet, hashed, v1, [datum], output, collateral)
    error = (await submit(probe, tx))["error"]
    assert error["code"] == 3997 and "InlineDatumsNotSupported (output 0)" in error["message"]

    # V2 sees inline datums; V1/V2 outputs without any datum are unspendable (3114).
    v2 = always(PlutusV2Script)
    orphan = lock(devnet, ALICE, script_address(v2))
    error = (await submit(probe, spend(devnet, orphan, v2)))["error"]
    assert error["code"] == 3114
    assert error["data"] == {
        "orphanScriptInputs": [{"transaction": {"id": str(orphan.transaction_id)}, "index": 0}]
    }


def _spend_paying(
    devnet: Devnet,
    locked: TransactionInput,
    script: Any,
    datums: list[Any],
    output: TransactionOutput,
    collateral: Any,
) -> Transaction:
    draft = payment(devnet, ALICE, [output], inputs=[locked], collateral=[collateral])
    index = sorted(draft.inputs, key=lambda i: (i.transaction_id.payload, i.index)).index(locked)
    redeemers = redeemer_map((RedeemerTag.SPEND, index, PlutusData(), UNITS))
    cost_models = CostModels({0: dict(enumerate(plutus_cost_models()["plutus:v1"]))})
    body = payment(
        devnet,
        ALICE,
        [output],
        inputs=[locked],
        collateral=[collateral],
        script_data_hash=script_data_hash(redeemers, datums, cost_models),
    )
    return signed(body, ALICE, redeemer=redeemers, plutus_data=datums, plutus_v1_script=[script])
