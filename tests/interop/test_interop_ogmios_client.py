"""The official `@cardano-ogmios/client` (npm, pinned in js/package-lock.json) against a devnet process:
every ledger-state query it exposes, chain sync from the origin and from the tip across a rollback,
evaluate, submit and mempool monitoring (issue 14, point 15). One node process runs every step; the
test then checks the chain itself through the devnet's Ogmios."""

from __future__ import annotations

from typing import Any

from interop_support import Keys, rpc, run_node, utxo_at
from pycardano import (
    Asset,
    AssetName,
    ExecutionUnits,
    MultiAsset,
    PlutusData,
    RedeemerTag,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    VerificationKeyWitness,
    plutus_script_hash,
)

from milestoned.devnet.parameters import plutus_cost_models

FEE = 1_000_000


def _fund(port: int, address: str, lovelace: int) -> TransactionInput:
    funded = rpc(port, "devnet/fund", {"address": address, "lovelace": lovelace})
    return TransactionInput.from_primitive([bytes.fromhex(funded["transaction"]["id"]), funded["index"]])


def _sign(body: TransactionBody, keys: Keys, **witnesses: Any) -> str:
    vkey = keys.payment.to_verification_key()
    witness = VerificationKeyWitness(vkey, keys.payment.sign(body.hash()))
    return Transaction(body, TransactionWitnessSet(vkey_witnesses=[witness], **witnesses)).to_cbor_hex()


def _mint_to_evaluate(source: TransactionInput, lovelace: int, keys: Keys) -> tuple[str, str]:
    """A transaction minting under an always-succeeding Plutus V3 policy (its budget left at zero)."""
    from pycardano import CostModels, PlutusV3Script, RedeemerKey, RedeemerMap, RedeemerValue
    from pycardano.utils import script_data_hash
    from uplc import flatten, parse

    script = PlutusV3Script(flatten(parse("(program 1.1.0 (lam ctx (con unit ())))")))
    policy = plutus_script_hash(script)
    minted = MultiAsset({policy: Asset({AssetName(b"interop"): 1})})
    redeemers = RedeemerMap(
        {RedeemerKey(RedeemerTag.MINT, 0): RedeemerValue(PlutusData(), ExecutionUnits(0, 0))}
    )
    cost_models = CostModels({2: dict(enumerate(plutus_cost_models()["plutus:v3"]))})
    body = TransactionBody(
        inputs=[source],
        outputs=[TransactionOutput(keys.enterprise, Value(lovelace - FEE, minted))],
        fee=FEE,
        mint=minted,
        collateral=[source],
        script_data_hash=script_data_hash(redeemers, [], cost_models),
    )
    return _sign(body, keys, plutus_v3_script=[script], redeemer=redeemers), policy.payload.hex()


def test_official_ogmios_client(node: str, devnet_process: Any) -> None:
    port = devnet_process.port
    alice, bob = Keys(), Keys()
    paid = _fund(port, str(alice.enterprise), 20_000_000)
    for_mint = _fund(port, str(alice.enterprise), 30_000_000)
    payment = TransactionBody(
        inputs=[paid],
        outputs=[
            TransactionOutput(bob.enterprise, 5_000_000),
            TransactionOutput(alice.enterprise, 20_000_000 - 5_000_000 - FEE),
        ],
        fee=FEE,
    )
    submit_cbor = _sign(payment, alice)
    evaluate_cbor, _ = _mint_to_evaluate(for_mint, 30_000_000, alice)

    report = run_node(
        node,
        "ogmios_client.mjs",
        {
            "port": port,
            "address": str(alice.enterprise),
            "reference": {"transaction": {"id": paid.transaction_id.payload.hex()}, "index": paid.index},
            "stakeKeyHash": alice.stake.to_verification_key().hash().payload.hex(),
            "evaluate": evaluate_cbor,
            "submit": submit_cbor,
            "submitId": str(Transaction.from_cbor(bytes.fromhex(submit_cbor)).id),
        },
    )
    q = report["queries"]
    # The queries, decoded by the client: compare with what the devnet answers for the same state.
    assert q["epoch"] == rpc(port, "queryLedgerState/epoch") or q["epoch"] + 1 == rpc(
        port, "queryLedgerState/epoch"
    )
    assert int(q["protocolParameters"]["minUtxoDepositCoefficient"]) == 4310
    assert (
        q["genesis_shelley"]["networkMagic"]
        == rpc(port, "queryNetwork/genesisConfiguration", {"era": "shelley"})["networkMagic"]
    )
    assert q["genesis_byron"] and q["genesis_alonzo"] and q["genesis_conway"]
    assert q["eraSummaries"] and q["eraSummaries"][-1]["parameters"]["slotLength"]
    assert {u["transaction"]["id"] for u in q["utxoByAddress"]} == {
        paid.transaction_id.payload.hex(),
        for_mint.transaction_id.payload.hex(),
    }
    assert [int(u["value"]["ada"]["lovelace"]) for u in q["utxoByReference"]] == [20_000_000]
    assert q["acquiredTip"] == q["ledgerTip"]
    assert q["networkBlockHeight"] >= 2
    for name in (
        "stakePools",
        "stakePoolsPerformances",
        "liveStakeDistribution",
        "constitution",
        "governanceProposals",
        "rewardAccountSummaries",
        "projectedRewards",
    ):
        assert name in q and q[name] is not None, name

    # Chain sync from the origin saw every block up to the tip it started from, in order.
    heights = [b["height"] for b in report["fromOrigin"]]
    assert heights == list(range(1, len(heights) + 1))
    assert report["fromOrigin"][-1]["id"] == q["networkTip"]["id"]

    # Evaluation: one mint redeemer with a budget the devnet also gives.
    [evaluation] = report["evaluation"]
    assert evaluation["validator"] == {"purpose": "mint", "index": 0}
    [ours] = rpc(port, "evaluateTransaction", {"transaction": {"cbor": evaluate_cbor}})
    assert evaluation["budget"] == ours["budget"] and ours["budget"]["cpu"] > 0

    # Submission and mempool monitoring.
    tx_id = report["submitted"]
    assert tx_id == Transaction.from_cbor(bytes.fromhex(submit_cbor)).id.payload.hex()
    assert report["hasTransaction"] is True
    assert report["nextTransaction"]["id"] == tx_id
    assert report["sizeOfMempool"]["transactions"]["count"] == 1
    assert report["afterLast"] is None

    # Chain sync from the tip, across the rollback of the block holding the payment.
    events = report["events"]
    assert events[0]["direction"] == "backward"  # to the intersection, as Ogmios starts
    holding = [e for e in events if e["direction"] == "forward" and tx_id in e["transactions"]]
    assert len(holding) == 2 and holding[0]["id"] != holding[1]["id"]
    rolled = [point["id"] for point in report["rollback"]["rolledBack"]]
    assert holding[0]["id"] in rolled
    backward = [e for e in events if e["direction"] == "backward"][1:]
    assert backward and backward[0]["point"]["slot"] < holding[0]["slot"]
    # The chain now holds the payment once, in the fork's block, and Bob has it.
    assert [u["value"]["ada"]["lovelace"] for u in utxo_at(port, str(bob.enterprise))] == [5_000_000]
