"""Each ledger rule, broken by one transaction, answered with the Ogmios error code and data shape.

Every submission goes through `OgmiosProbe`, so each error response is also validated against the
official schema.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b
from typing import Any

import cbor2
import websockets
from devnet_support import (
    ALICE,
    ALWAYS_FAILS,
    ALWAYS_SUCCEEDS,
    BOB,
    FEE,
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
    Address,
    Asset,
    AssetName,
    AuxiliaryData,
    ExecutionUnits,
    Metadata,
    MultiAsset,
    Network,
    PlutusData,
    PlutusV3Script,
    RedeemerMap,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    datum_hash,
)
from pycardano.nativescript import InvalidBefore, ScriptAll, ScriptPubkey

from milestoned.contracts.evaluation import SlotConfig, evaluate_transaction
from milestoned.devnet.service import Devnet, run_devnet

UNITS = ExecutionUnits(1_000_000, 500_000_000)


async def submit_error(probe: OgmiosProbe, tx: Transaction) -> dict[str, Any]:
    return await probe.error("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})


async def submit_ok(probe: OgmiosProbe, tx: Transaction) -> None:
    result = await probe.result("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert result == {"transaction": {"id": str(tx.id)}}


def pay_bob(devnet: Devnet, lovelace: int = 5_000_000, **fields: Any) -> TransactionBody:
    return payment(devnet, ALICE, [TransactionOutput(BOB.address, lovelace)], **fields)


async def test_a_valid_payment_is_accepted_and_lands_in_a_block(probe: OgmiosProbe, devnet: Devnet) -> None:
    tx = signed(pay_bob(devnet), ALICE)
    await submit_ok(probe, tx)
    block = devnet.produce_block()
    assert [t.decoded.id_hex for t in block.transactions] == [str(tx.id)]
    assert devnet.chain.utxo[TransactionInput(tx.id, 0)].amount.coin == 5_000_000


async def test_3117_unknown_or_spent_input(probe: OgmiosProbe, devnet: Devnet) -> None:
    tx = signed(pay_bob(devnet), ALICE)
    await submit_ok(probe, tx)
    devnet.produce_block()
    error = await submit_error(probe, tx)  # the same inputs again: a double spend
    assert error["code"] == 3117
    spent = tx.transaction_body.inputs[0]
    assert error["data"]["unknownOutputReferences"] == [
        {"transaction": {"id": str(spent.transaction_id)}, "index": spent.index}
    ]


async def test_3118_outside_validity_interval(probe: OgmiosProbe, devnet: Devnet) -> None:
    slot = devnet.chain.slot
    expired = signed(pay_bob(devnet, ttl=slot), ALICE)
    error = await submit_error(probe, expired)
    assert error["code"] == 3118
    assert error["data"] == {"validityInterval": {"invalidAfter": slot}, "currentSlot": slot}
    early = signed(pay_bob(devnet, validity_start=slot + 10), ALICE)
    assert (await submit_error(probe, early))["code"] == 3118
    devnet.advance(10)
    await submit_ok(probe, early)


async def test_3101_missing_signature_and_3100_invalid_signature(probe: OgmiosProbe, devnet: Devnet) -> None:
    body = pay_bob(devnet)
    error = await submit_error(probe, signed(body, BOB))
    assert error["code"] == 3101
    assert error["data"] == {"missingSignatories": [ALICE.key_hash.hex()]}
    other_body = pay_bob(devnet, lovelace=6_000_000)
    forged = Transaction(body, TransactionWitnessSet(vkey_witnesses=[ALICE.witness(other_body)]))
    error = await submit_error(probe, forged)
    assert error["code"] == 3100
    assert error["data"] == {"invalidSignatories": [bytes(ALICE.verification_key.payload).hex()]}


async def test_3101_required_signer_must_sign(probe: OgmiosProbe, devnet: Devnet) -> None:
    body = pay_bob(devnet, required_signers=[BOB.verification_key.hash()])
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3101 and error["data"]["missingSignatories"] == [BOB.key_hash.hex()]
    await submit_ok(probe, signed(body, ALICE, BOB))


async def test_3122_fee_too_small(probe: OgmiosProbe, devnet: Devnet) -> None:
    tx = signed(pay_bob(devnet, fee=100_000), ALICE)
    error = await submit_error(probe, tx)
    assert error["code"] == 3122
    expected = 44 * len(tx.to_cbor()) + 155_381
    assert error["data"] == {
        "minimumRequiredFee": {"ada": {"lovelace": expected}},
        "providedFee": {"ada": {"lovelace": 100_000}},
    }


async def test_3123_value_not_conserved(probe: OgmiosProbe, devnet: Devnet) -> None:
    body = pay_bob(devnet)
    body.outputs[-1] = TransactionOutput(ALICE.address, body.outputs[-1].amount.coin + 1)
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3123
    consumed, produced = error["data"]["valueConsumed"], error["data"]["valueProduced"]
    assert produced["ada"]["lovelace"] - consumed["ada"]["lovelace"] == 1


async def test_3125_output_below_min_utxo(probe: OgmiosProbe, devnet: Devnet) -> None:
    error = await submit_error(probe, signed(pay_bob(devnet, lovelace=800_000), ALICE))
    assert error["code"] == 3125
    [underfunded] = error["data"]["insufficientlyFundedOutputs"]
    assert underfunded["output"]["address"] == str(BOB.address)
    assert underfunded["minimumRequiredValue"]["ada"]["lovelace"] > 800_000


async def test_3125_min_utxo_measures_the_output_as_submitted(probe: OgmiosProbe, devnet: Devnet) -> None:
    """The ledger sizes each output by the bytes it was decoded from (Babbage's `Sized` outputs): an
    output whose coin is written in 9 bytes where 5 would do needs 4 bytes' more ADA than the same
    output written canonically, which passes at exactly its minimum."""
    params = devnet.chain.params
    minimum = params.minimum_lovelace(len(TransactionOutput(BOB.address, 1_000_000).to_cbor()))
    canonical = pay_bob(devnet, lovelace=minimum)
    body = canonical.to_cbor()
    address = cbor2.dumps(bytes(BOB.address))
    short = address + cbor2.dumps(minimum)
    assert body.count(short) == 1 and cbor2.dumps(minimum)[0] == 0x1A  # a 5-byte unsigned integer
    wide = body.replace(short, address + b"\x1b" + minimum.to_bytes(8, "big"))
    witness = [
        bytes(ALICE.verification_key.payload),
        ALICE.signing_key.sign(blake2b(wide, digest_size=32).digest()),
    ]
    raw = b"\x84" + wide + cbor2.dumps({0: [witness]}) + b"\xf5\xf6"
    error = await probe.error("submitTransaction", {"transaction": {"cbor": raw.hex()}})
    assert error["code"] == 3125
    [underfunded] = error["data"]["insufficientlyFundedOutputs"]
    assert underfunded["output"]["address"] == str(BOB.address)
    assert (
        underfunded["minimumRequiredValue"]["ada"]["lovelace"]
        == minimum + 4 * params.min_utxo_deposit_coefficient
    )
    await submit_ok(probe, signed(canonical, ALICE))


async def test_3120_output_value_too_large(probe: OgmiosProbe, devnet: Devnet) -> None:
    policy = ScriptPubkey(ALICE.verification_key.hash())
    names = {AssetName(i.to_bytes(2, "big") * 14): 1 for i in range(170)}
    mint = MultiAsset({ScriptHash(policy.hash().payload): Asset(names)})
    output = TransactionOutput(BOB.address, Value(60_000_000, mint))
    body = payment(devnet, ALICE, [output], mint=mint)
    error = await submit_error(probe, signed(body, ALICE, native_scripts=[policy]))
    assert error["code"] == 3120
    assert len(error["data"]["excessivelyLargeOutputs"]) == 1


async def test_3119_transaction_too_large(probe: OgmiosProbe, devnet: Devnet) -> None:
    metadata = AuxiliaryData(Metadata({674: ["x" * 64] * 270}))
    body = pay_bob(devnet, auxiliary_data_hash=metadata.hash())
    tx = Transaction(
        body, TransactionWitnessSet(vkey_witnesses=[ALICE.witness(body)]), auxiliary_data=metadata
    )
    error = await submit_error(probe, tx)
    assert error["code"] == 3119
    assert error["data"]["maximumTransactionSize"] == {"bytes": 16_384}
    assert error["data"]["measuredTransactionSize"] == {"bytes": len(tx.to_cbor())}


async def test_3105_3106_3107_metadata_and_its_hash(probe: OgmiosProbe, devnet: Devnet) -> None:
    metadata = AuxiliaryData(Metadata({674: {"msg": ["milestoned"]}}))
    body = pay_bob(devnet)
    tx = Transaction(
        body, TransactionWitnessSet(vkey_witnesses=[ALICE.witness(body)]), auxiliary_data=metadata
    )
    assert (await submit_error(probe, tx))["code"] == 3105
    other = AuxiliaryData(Metadata({674: {"msg": ["other"]}}))
    body = pay_bob(devnet, auxiliary_data_hash=other.hash())
    assert (await submit_error(probe, signed(body, ALICE)))["code"] == 3106
    tx = Transaction(
        body, TransactionWitnessSet(vkey_witnesses=[ALICE.witness(body)]), auxiliary_data=metadata
    )
    error = await submit_error(probe, tx)
    assert error["code"] == 3107
    assert error["data"]["computed"] == {"hash": str(metadata.hash())}
    body = pay_bob(devnet, auxiliary_data_hash=metadata.hash())
    tx = Transaction(
        body, TransactionWitnessSet(vkey_witnesses=[ALICE.witness(body)]), auxiliary_data=metadata
    )
    await submit_ok(probe, tx)
    block = devnet.produce_block()
    assert block.transactions[0].decoded.auxiliary_data_bytes is not None


async def test_3121_empty_inputs_and_3164_input_also_referenced(probe: OgmiosProbe, devnet: Devnet) -> None:
    empty = TransactionBody(inputs=[], outputs=[TransactionOutput(BOB.address, 2_000_000)], fee=FEE)
    assert (await submit_error(probe, signed(empty, ALICE)))["code"] == 3121
    txin, _ = funds_of(devnet, ALICE)
    body = pay_bob(devnet, reference_inputs=[txin])
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3164
    assert error["data"]["conflictingReferences"] == [
        {"transaction": {"id": str(txin.transaction_id)}, "index": txin.index}
    ]


async def test_native_scripts_3102_missing_3103_failing_3104_extraneous(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    both = ScriptAll([ScriptPubkey(ALICE.verification_key.hash()), ScriptPubkey(BOB.verification_key.hash())])
    locked = lock(devnet, ALICE, Address(both.hash(), network=Network.TESTNET))
    body = pay_bob(devnet, inputs=[locked])
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3102 and error["data"] == {"missingScripts": [str(both.hash())]}
    error = await submit_error(probe, signed(body, ALICE, native_scripts=[both]))
    assert error["code"] == 3103 and error["data"] == {"failingNativeScripts": [str(both.hash())]}
    spare = ScriptPubkey(BOB.verification_key.hash())
    error = await submit_error(probe, signed(body, ALICE, BOB, native_scripts=[both, spare]))
    assert error["code"] == 3104 and error["data"] == {"extraneousScripts": [str(spare.hash())]}
    await submit_ok(probe, signed(body, ALICE, BOB, native_scripts=[both]))


def plutus_spend(
    devnet: Devnet,
    locked: TransactionInput,
    *,
    script: Any = ALWAYS_SUCCEEDS,
    redeemers: Callable[[int], RedeemerMap] | None = None,
    datums: list[Any] | None = None,
    collateral: list[TransactionInput] | None = None,
    **fields: Any,
) -> Transaction:
    """ALICE spends the script output `locked` back to herself, paying collateral from her funds.

    `redeemers` receives the index of `locked` among the sorted inputs (what a spend redeemer points to).
    """
    collateral = collateral if collateral is not None else [funds_of(devnet, ALICE)[0]]
    # No collateral is no field 13 at all: a node refuses an empty collateral set while decoding.
    collateral = collateral or None
    draft = payment(devnet, ALICE, [], inputs=[locked], collateral=collateral)
    index = sorted(draft.inputs, key=lambda i: (i.transaction_id.payload, i.index)).index(locked)
    chosen = (redeemers or spend_redeemer)(index)
    fields.setdefault("script_data_hash", integrity_hash(chosen, datums))
    body = payment(devnet, ALICE, [], inputs=[locked], collateral=collateral, **fields)
    return signed(
        body, ALICE, plutus_v3_script=[script] if script else None, redeemer=chosen, plutus_data=datums
    )


def spend_redeemer(index: int, units: ExecutionUnits = UNITS) -> RedeemerMap:
    return redeemer_map((RedeemerTag.SPEND, index, PlutusData(), units))


async def test_plutus_v3_spend_with_inline_datum_is_accepted(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    tx = plutus_spend(devnet, locked)
    await submit_ok(probe, tx)
    block = devnet.produce_block()
    assert block.transactions[0].spends == "inputs"
    assert locked not in devnet.chain.utxo


async def test_3109_missing_and_3110_extraneous_redeemers(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    mint_redeemer = redeemer_map((RedeemerTag.MINT, 0, PlutusData(), UNITS))
    error = await submit_error(probe, plutus_spend(devnet, locked, redeemers=lambda i: mint_redeemer))
    assert error["code"] == 3109
    assert error["data"]["missingRedeemers"] == [
        {
            "purpose": "spend",
            "outputReference": {"transaction": {"id": str(locked.transaction_id)}, "index": 0},
        }
    ]

    def spare(index: int) -> RedeemerMap:
        return redeemer_map(
            (RedeemerTag.SPEND, index, PlutusData(), UNITS),
            (RedeemerTag.SPEND, 1 - index, PlutusData(), UNITS),
        )

    error = await submit_error(probe, plutus_spend(devnet, locked, redeemers=spare))
    assert error["code"] == 3110
    assert error["data"]["extraneousRedeemers"][0]["purpose"] == "spend"


async def test_3111_missing_and_3112_extraneous_datums(probe: OgmiosProbe, devnet: Devnet) -> None:
    datum = PlutusData()
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum_hash=datum_hash(datum))
    error = await submit_error(probe, plutus_spend(devnet, locked))
    assert error["code"] == 3111 and error["data"] == {"missingDatums": [str(datum_hash(datum))]}
    spare = 42
    error = await submit_error(probe, plutus_spend(devnet, locked, datums=[datum, spare]))
    assert error["code"] == 3112 and error["data"] == {"extraneousDatums": [str(datum_hash(spare))]}
    await submit_ok(probe, plutus_spend(devnet, locked, datums=[datum]))


async def test_3113_script_integrity_hash_mismatch(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    wrong = integrity_hash(spend_redeemer(0, ExecutionUnits(1, 1)))
    tx = plutus_spend(devnet, locked, script_data_hash=wrong)
    error = await submit_error(probe, tx)
    assert error["code"] == 3113
    assert error["data"]["providedScriptIntegrity"] == str(wrong)
    assert error["data"]["computedScriptIntegrity"] == str(
        integrity_hash(tx.transaction_witness_set.redeemer)
    )


async def test_collateral_rules_3132_3129_3128_3133_3135_3131(probe: OgmiosProbe, devnet: Devnet) -> None:
    address = script_address(ALWAYS_SUCCEEDS)
    locked = lock(devnet, ALICE, address, datum=PlutusData())
    assert (await submit_error(probe, plutus_spend(devnet, locked, collateral=[])))["code"] == 3132
    other_locked = lock(devnet, ALICE, address, datum=PlutusData())
    error = await submit_error(probe, plutus_spend(devnet, locked, collateral=[other_locked]))
    assert error["code"] == 3129
    small = lock(devnet, ALICE, ALICE.address, lovelace=1_000_000)
    error = await submit_error(probe, plutus_spend(devnet, locked, collateral=[small]))
    assert error["code"] == 3128
    assert error["data"] == {
        "providedCollateral": {"ada": {"lovelace": 1_000_000}},
        "minimumRequiredCollateral": {"ada": {"lovelace": FEE * 150 // 100}},
    }
    tokens = devnet.fund(ALICE.address, 5_000_000, {b"tok": 7})
    token_input = TransactionInput(tokens.transactions[0].id, 0)
    error = await submit_error(probe, plutus_spend(devnet, locked, collateral=[token_input]))
    assert error["code"] == 3133
    assert error["data"]["unsuitableCollateralValue"][devnet.faucet.policy_id.hex()] == {b"tok".hex(): 7}
    error = await submit_error(probe, plutus_spend(devnet, locked, total_collateral=123))
    assert error["code"] == 3135
    assert error["data"]["declaredTotalCollateral"] == {"ada": {"lovelace": 123}}
    many = [lock(devnet, ALICE, ALICE.address, lovelace=2_000_000) for _ in range(4)]
    error = await submit_error(probe, plutus_spend(devnet, locked, collateral=many))
    assert error["code"] == 3131
    assert error["data"] == {"maximumCollateralInputs": 3, "countedCollateralInputs": 4}


async def test_3134_execution_units_above_the_transaction_maximum(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())

    def huge(index: int) -> RedeemerMap:
        return spend_redeemer(index, ExecutionUnits(14_000_001, 1))

    error = await submit_error(probe, plutus_spend(devnet, locked, redeemers=huge, fee=5_000_000))
    assert error["code"] == 3134
    assert error["data"]["maximumExecutionUnits"] == {"memory": 14_000_000, "cpu": 10_000_000_000}


async def test_failing_script_is_refused_by_default_like_a_node(probe: OgmiosProbe, devnet: Devnet) -> None:
    """A transaction marked valid whose script fails is refused at submission (3136), as a node does."""
    locked = lock(devnet, ALICE, script_address(ALWAYS_FAILS), datum=PlutusData())
    collateral_input, _ = funds_of(devnet, ALICE)
    tx = plutus_spend(devnet, locked, script=ALWAYS_FAILS)
    error = await submit_error(probe, tx)
    assert error["code"] == 3136
    assert error["data"]["declaredSpending"] == "inputs"
    assert devnet.pending() == [] and collateral_input in devnet.chain.utxo
    # Marked invalid (is_valid false), the same transaction is what a node accepts: collateral only.
    tx.valid = False
    await submit_ok(probe, tx)
    [included] = devnet.produce_block().transactions
    assert included.spends == "collaterals" and locked in devnet.chain.utxo
    assert collateral_input not in devnet.chain.utxo


async def test_failing_script_takes_the_collateral_behind_the_test_switch() -> None:
    """`failing_scripts="collateral"` (the documented test switch) includes it and takes the collateral."""
    funds = {str(ALICE.address): 1_000_000_000_000}
    async with (
        run_devnet(port=0, clock=False, funds=funds, failing_scripts="collateral") as devnet,
        websockets.connect(devnet.url, max_size=None) as socket,
    ):
        await _failing_script_consumes_the_collateral(OgmiosProbe(socket), devnet)


async def _failing_script_consumes_the_collateral(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_FAILS), datum=PlutusData())
    collateral_input, collateral_output = funds_of(devnet, ALICE)
    returned = TransactionOutput(ALICE.address, collateral_output.amount.coin - 2_000_000)
    tx = plutus_spend(
        devnet, locked, script=ALWAYS_FAILS, collateral_return=returned, total_collateral=2_000_000
    )
    # evaluateTransaction reports the failure with the script's trace.
    error = await probe.error("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert error["code"] == 3010
    [failure] = error["data"]
    assert failure["validator"]["purpose"] == "spend"
    assert failure["error"]["code"] == 3012 and failure["error"]["data"]["traces"] == ["boom"]
    # Submitted anyway, it is included as invalid: only the collateral is spent, the return is created.
    await submit_ok(probe, tx)
    block = devnet.produce_block()
    [included] = block.transactions
    assert included.spends == "collaterals"
    assert locked in devnet.chain.utxo and collateral_input not in devnet.chain.utxo
    outputs = len(tx.transaction_body.outputs)
    assert devnet.chain.utxo[TransactionInput(tx.id, outputs)].amount.coin == returned.amount.coin
    assert TransactionInput(tx.id, 0) not in devnet.chain.utxo
    await probe.result("findIntersection", {"points": [devnet.chain.blocks[-2].point]})
    await probe.result("nextBlock")
    encoded = (await probe.result("nextBlock"))["block"]["transactions"][0]
    assert encoded["spends"] == "collaterals"
    assert encoded["collateralReturn"]["value"]["ada"]["lovelace"] == returned.amount.coin


async def test_3136_declared_invalid_but_scripts_pass(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    tx = plutus_spend(devnet, locked)
    tx.valid = False
    error = await submit_error(probe, tx)
    assert error["code"] == 3136
    assert error["data"]["declaredSpending"] == "collaterals"


async def test_evaluate_reports_budgets_and_takes_additional_utxo(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    tx = plutus_spend(devnet, locked)
    budgets = await probe.result("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    # The budget is what the project's evaluator measures for this transaction, nothing else.
    resolved = {
        t: devnet.chain.utxo[t] for t in [*tx.transaction_body.inputs, *tx.transaction_body.collateral]
    }
    slot_config = SlotConfig(devnet.network.start_time_ms, 0, devnet.network.slot_length_ms)
    [expected] = evaluate_transaction(tx, resolved, slot_config)
    assert expected.ok
    assert budgets == [
        {
            "validator": {"purpose": "spend", "index": expected.index},
            "budget": {"memory": expected.mem, "cpu": expected.cpu},
        }
    ]
    # The same transaction spending an output the ledger does not know, supplied by the caller.
    ghost = TransactionInput(tx.id, 7)
    ghost_entry = {
        "transaction": {"id": str(tx.id)},
        "index": 7,
        "address": str(script_address(ALWAYS_SUCCEEDS)),
        "value": {"ada": {"lovelace": 3_000_000}},
        "datum": PlutusData().to_cbor_hex(),
    }
    ghost_tx = plutus_spend(devnet, ghost)
    params: dict[str, Any] = {"transaction": {"cbor": ghost_tx.to_cbor_hex()}}
    assert (await probe.error("evaluateTransaction", params))["code"] == 3010
    params["additionalUtxo"] = [ghost_entry]
    assert (await probe.result("evaluateTransaction", params))[0]["budget"] == budgets[0]["budget"]
    overlapping = {**ghost_entry, "transaction": {"id": str(locked.transaction_id)}, "index": locked.index}
    params["additionalUtxo"] = [overlapping]
    error = await probe.error("evaluateTransaction", params)
    assert error["code"] == 3002


async def test_undecodable_transaction_is_a_deserialisation_error(probe: OgmiosProbe) -> None:
    error = await probe.error("submitTransaction", {"transaction": {"cbor": "84a0"}})
    assert error["code"] == -32602
    assert set(error["data"]) == {"shelley", "allegra", "mary", "alonzo", "babbage", "conway"}
    error = await probe.error("evaluateTransaction", {"transaction": {"cbor": "zz"}})
    assert error["code"] == -32602


async def test_mint_and_burn_balance(probe: OgmiosProbe, devnet: Devnet) -> None:
    policy = ScriptPubkey(ALICE.verification_key.hash())
    policy_id = ScriptHash(policy.hash().payload)
    mint = MultiAsset({policy_id: Asset({AssetName(b"milestone"): 100})})
    body = payment(devnet, ALICE, [TransactionOutput(BOB.address, Value(2_000_000, mint))], mint=mint)
    await submit_ok(probe, signed(body, ALICE, native_scripts=[policy]))
    devnet.produce_block()
    minted = TransactionInput(body.id, 0)
    burn = MultiAsset({policy_id: Asset({AssetName(b"milestone"): -100})})
    burn_body = TransactionBody(
        inputs=[minted, funds_of(devnet, ALICE)[0]],
        outputs=[TransactionOutput(ALICE.address, funds_of(devnet, ALICE)[1].amount.coin + 2_000_000 - FEE)],
        fee=FEE,
        mint=burn,
    )
    await submit_ok(probe, signed(burn_body, ALICE, BOB, native_scripts=[policy]))
    devnet.produce_block()
    assert minted not in devnet.chain.utxo
    unbalanced = TransactionBody(
        inputs=[funds_of(devnet, ALICE)[0]],
        outputs=[TransactionOutput(ALICE.address, funds_of(devnet, ALICE)[1].amount.coin - FEE)],
        fee=FEE,
        mint=MultiAsset({policy_id: Asset({AssetName(b"other"): 5})}),
    )
    error = await submit_error(probe, signed(unbalanced, ALICE, native_scripts=[policy]))
    assert error["code"] == 3123
    assert error["data"]["valueConsumed"][str(policy_id)] == {b"other".hex(): 5}


async def test_3124_outputs_to_mainnet_addresses(probe: OgmiosProbe, devnet: Devnet) -> None:
    mainnet_bob = Address(BOB.verification_key.hash(), network=Network.MAINNET)
    body = payment(devnet, ALICE, [TransactionOutput(mainnet_bob, 5_000_000)])
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3124
    assert error["data"] == {
        "expectedNetwork": "testnet",
        "discriminatedType": "address",
        "invalidEntities": [str(mainnet_bob)],
    }


async def test_3166_reference_scripts_too_large(probe: OgmiosProbe, devnet: Devnet) -> None:
    holders = []
    for i in range(14):
        big = PlutusV3Script(bytes([i]) * 15_000)
        holders.append(lock(devnet, ALICE, ALICE.address, lovelace=70_000_000, script=big))
    body = pay_bob(devnet, reference_inputs=holders)
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3166
    assert error["data"]["maximumReferenceScriptsSize"] == {"bytes": 204_800}
    assert error["data"]["measuredReferenceScriptsSize"]["bytes"] > 204_800
    # Under the limit, reference scripts are accepted and priced into the minimum fee (tiered, 15/byte).
    body = pay_bob(devnet, reference_inputs=holders[:2], fee=200_000)
    error = await submit_error(probe, signed(body, ALICE))
    assert error["code"] == 3122
    size = len(signed(body, ALICE).to_cbor())
    reference_fee = 15 * 25_600 + int(15 * 1.2 * (2 * len(bytes(PlutusV3Script(b"x" * 15_000))) - 25_600))
    assert error["data"]["minimumRequiredFee"]["ada"]["lovelace"] == 44 * size + 155_381 + reference_fee


async def test_3103_native_script_time_locks(probe: OgmiosProbe, devnet: Devnet) -> None:
    unlock_slot = devnet.chain.slot + 50
    after = ScriptAll([ScriptPubkey(ALICE.verification_key.hash()), InvalidBefore(unlock_slot)])
    locked = lock(devnet, ALICE, Address(after.hash(), network=Network.TESTNET))
    early = pay_bob(devnet, inputs=[locked], validity_start=devnet.chain.slot)
    error = await submit_error(probe, signed(early, ALICE, native_scripts=[after]))
    assert error["code"] == 3103 and error["data"] == {"failingNativeScripts": [str(after.hash())]}
    devnet.advance(50)
    on_time = pay_bob(devnet, inputs=[locked], validity_start=unlock_slot)
    await submit_ok(probe, signed(on_time, ALICE, native_scripts=[after]))


async def test_fund_without_a_block_leaves_the_payment_in_the_mempool(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    funded = await probe.result(
        "devnet/fund", {"address": str(BOB.address), "lovelace": 3_000_000, "produceBlock": False}
    )
    assert "block" not in funded
    await probe.result("acquireMempool")
    assert await probe.result("hasTransaction", {"id": funded["transaction"]["id"]}) is True
    assert await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]}) == []
    devnet.produce_block()
    assert len(await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]})) == 1
