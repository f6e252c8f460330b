"""Our V1/V2 contexts and the V3 Certifying/Rewarding contexts, cross-checked against Aiken's evaluator.

Aiken (through biglup-cometa's native library) builds script contexts from the transaction's CBOR and
the resolved outputs, independently of `milestoned.contracts`. The scripts here serialise their whole
context (`serialiseData`, or
`equalsData` of the context with itself: both cost more the larger the data) or read a field at a
version-specific position, so equal budgets mean contexts of the same shape and size.
"""

from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest
from devnet_support import (
    ALICE,
    BOB,
    commit,
    funds_of,
    lock,
    redeemer_map,
    script_address,
    signed,
    uplc_script,
)
from pycardano import (
    CostModels,
    ExecutionUnits,
    PlutusData,
    PlutusV1Script,
    PlutusV2Script,
    PoolKeyHash,
    RedeemerTag,
    Transaction,
    TransactionInput,
    TransactionOutput,
    VerificationKeyHash,
    Withdrawals,
    datum_hash,
)
from pycardano import certificate as cert
from pycardano.utils import script_data_hash
from test_devnet_plutus_versions import signed_by, spend
from test_devnet_staking import DEPOSIT, body_for, reward_account, script_credential
from uplc import flatten, parse

from milestoned.contracts.evaluation import evaluate_transaction
from milestoned.devnet.parameters import plutus_cost_models
from milestoned.devnet.plutus import slot_config_of
from milestoned.devnet.service import Devnet

cometa = pytest.importorskip("cometa", reason="biglup-cometa (Aiken's evaluator) is not installed")
from cometa._aiken_ffi import aiken_ffi, aiken_lib  # noqa: E402

UNITS = ExecutionUnits(5_000_000, 2_000_000_000)
SERIALISE_V2 = PlutusV2Script(
    flatten(parse("(program 1.0.0 (lam d (lam r (lam ctx [(builtin serialiseData) ctx]))))"))
)
MEASURE_V3 = uplc_script(
    # equalsData's cost grows with the size of its arguments (uplc's serialiseData cannot encode maps
    # keyed by nested constructors, which a V3 redeemers map of certificates has)
    "(program 1.1.0 (lam ctx [(lam s (con unit ())) [(builtin equalsData) ctx ctx]]))"
)


def aiken(tx: Transaction, utxos: dict[TransactionInput, TransactionOutput], devnet: Devnet) -> Any:
    """Aiken's budgets by (tag, index), or its error."""
    slots = slot_config_of(devnet.network)
    inputs = list(utxos)
    models = plutus_cost_models()
    config = aiken_ffi.new("SlotConfig*")
    config.slot_length, config.zero_slot, config.zero_time = (
        slots.slot_length_ms,
        slots.zero_slot,
        slots.zero_time_ms,
    )
    budget = aiken_ffi.new("InitialBudget*")
    budget.mem, budget.cpu = 14_000_000, 10_000_000_000
    arguments = [
        tx.to_cbor().hex(),
        cbor2.dumps([cbor2.loads(i.to_cbor()) for i in inputs]).hex(),
        cbor2.dumps([cbor2.loads(utxos[i].to_cbor()) for i in inputs]).hex(),
        cbor2.dumps({n: list(models[f"plutus:v{n + 1}"]) for n in range(3)}).hex(),
    ]
    pointer = aiken_lib.eval_phase_two(*(a.encode() + b"\0" for a in arguments), budget, config)
    try:
        result = json.loads(aiken_ffi.string(pointer))
    finally:
        aiken_lib.drop_char_pointer(pointer)
    assert result.get("status", "").upper() == "SUCCESS", result
    return {(r[0], r[1]): (r[3][0], r[3][1]) for r in cbor2.loads(bytes.fromhex(result["redeemer_cbor"]))}


def ours(tx: Transaction, utxos: dict[TransactionInput, TransactionOutput], devnet: Devnet) -> Any:
    results = evaluate_transaction(tx, utxos, slot_config_of(devnet.network))
    assert all(r.ok for r in results), [r.error for r in results]
    return {(r.tag.value, r.index): (r.mem, r.cpu) for r in results}


def resolved(devnet: Devnet, tx: Transaction) -> dict[TransactionInput, TransactionOutput]:
    body = tx.transaction_body
    wanted = [*body.inputs, *(body.reference_inputs or []), *(body.collateral or [])]
    return {t: devnet.chain.utxo[t] for t in wanted}


async def test_v1_and_v2_contexts_match_aiken(devnet: Devnet) -> None:
    datum = PlutusData()
    for script in (
        signed_by(PlutusV1Script, BOB.key_hash),
        signed_by(PlutusV2Script, BOB.key_hash),
        SERIALISE_V2,
    ):
        locked = lock(devnet, ALICE, script_address(script), datum_hash=datum_hash(datum))
        tx = spend(
            devnet, locked, script, datums=[datum], required_signers=[VerificationKeyHash(BOB.key_hash)]
        )
        utxos = resolved(devnet, tx)
        assert ours(tx, utxos, devnet) == aiken(tx, utxos, devnet), type(script).__name__


async def test_v3_certifying_and_rewarding_contexts_match_aiken(devnet: Devnet) -> None:
    credential = script_credential(MEASURE_V3)
    # Registered beforehand without a deposit field (no witness): the Aiken in cometa does not ask a
    # witness of a Conway registration with a deposit, where the ledger does (TxCert.hs,
    # getScriptWitnessConwayTxCert), so the transaction compared here only delegates.
    register = cert.StakeRegistration(credential)
    commit(devnet, signed(body_for(devnet, deposits=DEPOSIT, certificates=[register]), ALICE))
    pool = PoolKeyHash(next(iter(devnet.chain.pools)))
    to_pool = cert.StakeDelegation(credential, pool)
    delegate = cert.VoteDelegation(credential, cert.DRep(cert.DRepKind.ALWAYS_ABSTAIN))
    redeemers = redeemer_map(
        (RedeemerTag.CERTIFICATE, 0, 42, UNITS),
        (RedeemerTag.CERTIFICATE, 1, 43, UNITS),
    )
    cost_models = CostModels({2: dict(enumerate(plutus_cost_models()["plutus:v3"]))})
    body = body_for(
        devnet,
        certificates=[to_pool, delegate],
        collateral=[funds_of(devnet, ALICE)[0]],
        script_data_hash=script_data_hash(redeemers, None, cost_models),
    )
    tx = signed(body, ALICE, plutus_v3_script=[MEASURE_V3], redeemer=redeemers)
    utxos = resolved(devnet, tx)
    assert ours(tx, utxos, devnet) == aiken(tx, utxos, devnet)

    withdraw = redeemer_map((RedeemerTag.WITHDRAWAL, 0, 44, UNITS))
    body = body_for(
        devnet,
        withdraws=Withdrawals({reward_account(credential): 0}),
        collateral=[funds_of(devnet, ALICE)[0]],
        script_data_hash=script_data_hash(withdraw, None, cost_models),
        validity_start=devnet.chain.slot,
        ttl=devnet.chain.slot + 100,
    )
    tx = signed(body, ALICE, plutus_v3_script=[MEASURE_V3], redeemer=withdraw)
    utxos = resolved(devnet, tx)
    assert ours(tx, utxos, devnet) == aiken(tx, utxos, devnet)
