"""The V3 ScriptContext built from pycardano transactions follows the ledger's translation."""

from __future__ import annotations

import cbor2
import pytest
from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    PlutusV2Script,
    PointerAddress,
    Redeemer,
    RedeemerTag,
    ScriptHash,
    StakeCredential,
    StakeDelegation,
    StakeRegistration,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    datum_hash,
    plutus_script_hash,
)
from pycardano.hash import PoolKeyHash
from uplc.ast import (
    PlutusByteString,
    PlutusConstr,
    PlutusData,
    PlutusInteger,
    PlutusList,
    PlutusMap,
    plutus_cbor_dumps,
)

from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import evaluate_transaction
from milestoned.contracts.loader import default_blueprint
from milestoned.contracts.script_context import (
    ScriptContextError,
    SlotConfig,
    address_data,
    build_script_context,
    build_tx_info,
    slot_to_posix_ms,
)
from milestoned.domain import onchain_types as ot

SLOTS = SlotConfig(zero_time_ms=1_666_656_000_000, zero_slot=0, slot_length_ms=1000)
ALWAYS = default_blueprint().validator  # any V3 script will do to own an input
SCRIPT_ADDRESS = Address(plutus_script_hash(ALWAYS), network=Network.TESTNET)
WALLET = sc.wallet_address("context")


def field(data: PlutusData, index: int) -> PlutusData:
    assert isinstance(data, PlutusConstr)
    return data.fields[index]


def items(data: PlutusData) -> list[PlutusData]:
    assert isinstance(data, PlutusList)
    return list(data.value)


def tx_with(
    body: TransactionBody, redeemers: list[Redeemer], datums: list[object] | None = None
) -> Transaction:
    return Transaction(
        body, TransactionWitnessSet(redeemer=redeemers, plutus_data=datums, plutus_v3_script=[ALWAYS])
    )


def redeemer(tag: RedeemerTag, index: int, data: object = 0) -> Redeemer:
    r = Redeemer(data, ExecutionUnits(1_000_000, 1_000_000_000))
    r.tag, r.index = tag, index
    return r


@pytest.fixture
def spend_case() -> tuple[Transaction, dict[TransactionInput, TransactionOutput]]:
    """Two inputs given out of order, one locked by a script with an inline datum, a required signer,
    a mint and a validity interval."""
    script_in = sc.tx_input("b-script", 1)
    wallet_in = sc.tx_input("a-wallet", 0)
    ref_in = sc.tx_input("c-ref", 2)
    utxos = {
        script_in: TransactionOutput(SCRIPT_ADDRESS, Value(2_000_000), datum=ot.Register()),
        wallet_in: TransactionOutput(WALLET, Value(5_000_000)),
        ref_in: TransactionOutput(WALLET, Value(9_000_000), script=ALWAYS),
    }
    ordered = sorted([script_in, wallet_in], key=lambda i: i.transaction_id.payload)
    signer = sc.key_hash(sc.signing_key("signer"))
    policy = plutus_script_hash(ALWAYS).payload
    body = TransactionBody(
        inputs=[script_in, wallet_in],
        outputs=[TransactionOutput(WALLET, Value(1_000_000, sc.tokens(policy, b"t", 5)))],
        fee=200_000,
        validity_start=100,
        ttl=400,
        mint=sc.tokens(policy, b"t", 5),
        required_signers=[signer],
        reference_inputs=[ref_in],
    )
    spend_index = ordered.index(script_in)
    tx = tx_with(body, [redeemer(RedeemerTag.MINT, 0, 7), redeemer(RedeemerTag.SPEND, spend_index, 42)])
    return tx, utxos


def test_tx_info_follows_the_v3_ledger_translation(
    spend_case: tuple[Transaction, dict[TransactionInput, TransactionOutput]],
) -> None:
    tx, utxos = spend_case
    info = build_tx_info(tx, utxos, SLOTS)
    assert isinstance(info, PlutusConstr) and info.constructor == 0 and len(info.fields) == 16
    body = tx.transaction_body
    refs = [field(i, 0) for i in items(field(info, 0))]
    ids = [(field(r, 0).value, field(r, 1).value) for r in refs]
    assert ids == sorted((i.transaction_id.payload, i.index) for i in body.inputs)
    assert len(items(field(info, 1))) == 1  # reference inputs
    assert field(info, 3) == PlutusInteger(200_000)  # fee, a plain integer in V3
    mint = field(info, 4)
    assert isinstance(mint, PlutusMap) and PlutusByteString(b"") not in mint.value  # no ADA entry in V3
    out_value = field(items(field(info, 2))[0], 1)
    assert isinstance(out_value, PlutusMap) and next(iter(out_value.value)) == PlutusByteString(
        b""
    )  # ADA first
    lower, upper = field(field(info, 7), 0), field(field(info, 7), 1)
    assert field(lower, 0) == PlutusConstr(1, [PlutusInteger(slot_to_posix_ms(100, SLOTS))])
    assert field(lower, 1) == PlutusConstr(1, [])  # closed
    assert field(upper, 0) == PlutusConstr(1, [PlutusInteger(SLOTS.zero_time_ms + 400_000)])
    assert field(upper, 1) == PlutusConstr(0, [])  # open
    signer = body.required_signers[0].payload
    assert items(field(info, 8)) == [PlutusByteString(signer)]  # required signers, not key witnesses
    redeemers = field(info, 9)
    assert isinstance(redeemers, PlutusMap)
    purposes = [k.constructor for k in redeemers.value]
    assert purposes == [1, 0]  # spending before minting, as the ledger orders them
    assert field(info, 11) == PlutusByteString(body.id.payload)
    assert field(info, 14) == PlutusConstr(1, []) and field(info, 15) == PlutusConstr(1, [])


def test_spending_script_info_carries_the_datum(
    spend_case: tuple[Transaction, dict[TransactionInput, TransactionOutput]],
) -> None:
    tx, utxos = spend_case
    spend = next(r for r in tx.transaction_witness_set.redeemer if r.tag == RedeemerTag.SPEND)
    context = build_script_context(tx, utxos, SLOTS, RedeemerTag.SPEND, spend.index)
    assert field(context, 1) == PlutusInteger(42)
    info = field(context, 2)
    assert isinstance(info, PlutusConstr) and info.constructor == 1
    assert field(info, 1) == PlutusConstr(0, [PlutusConstr(0, [])])  # Just Register()
    mint_context = build_script_context(tx, utxos, SLOTS, RedeemerTag.MINT, 0)
    assert field(mint_context, 2) == PlutusConstr(0, [PlutusByteString(plutus_script_hash(ALWAYS).payload)])


def test_datum_hash_outputs_find_their_witness_datum() -> None:
    datum = ot.Reclaim()
    script_in = sc.tx_input("hashed")
    utxos = {script_in: TransactionOutput(SCRIPT_ADDRESS, Value(2_000_000), datum_hash=datum_hash(datum))}
    body = TransactionBody(inputs=[script_in], outputs=[TransactionOutput(WALLET, Value(1_000_000))], fee=1)
    tx = tx_with(body, [redeemer(RedeemerTag.SPEND, 0)], datums=[datum])
    context = build_script_context(tx, utxos, SLOTS, RedeemerTag.SPEND, 0)
    assert field(field(context, 2), 1) == PlutusConstr(0, [PlutusConstr(2, [])])
    datums = field(field(context, 0), 10)
    assert isinstance(datums, PlutusMap)
    assert datums.value == {PlutusByteString(datum_hash(datum).payload): PlutusConstr(2, [])}


def test_addresses_encode_like_the_datum_codec() -> None:
    key = sc.key_hash(sc.signing_key("k"))
    for address in (
        Address(key, network=Network.TESTNET),
        Address(key, sc.key_hash(sc.signing_key("s")), network=Network.TESTNET),
        Address(ScriptHash(bytes(28)), key, network=Network.MAINNET),
        Address(key, PointerAddress(10, 2, 0), network=Network.TESTNET),
    ):
        expected = cbor2.loads(ot.address_to_plutus(address).to_cbor())
        assert cbor2.loads(plutus_cbor_dumps(address_data(address))) == expected


def test_certificates_and_withdrawals_use_v3_shapes() -> None:
    key = sc.key_hash(sc.signing_key("stake"))
    credential = StakeCredential(key)
    reward = bytes([0xE0]) + key.payload
    wallet_in = sc.tx_input("w")
    utxos = {wallet_in: TransactionOutput(WALLET, Value(5_000_000))}
    body = TransactionBody(
        inputs=[wallet_in],
        outputs=[TransactionOutput(WALLET, Value(1_000_000))],
        fee=1,
        certificates=[StakeRegistration(credential), StakeDelegation(credential, PoolKeyHash(bytes(28)))],
        withdraws={reward: 5},
    )
    info = build_tx_info(Transaction(body, TransactionWitnessSet()), utxos, SLOTS)
    registration, delegation = items(field(info, 5))
    assert registration == PlutusConstr(
        0, [PlutusConstr(0, [PlutusByteString(key.payload)]), PlutusConstr(1, [])]
    )
    assert delegation == PlutusConstr(
        2, [PlutusConstr(0, [PlutusByteString(key.payload)]), PlutusConstr(0, [PlutusByteString(bytes(28))])]
    )
    withdrawals = field(info, 6)
    assert isinstance(withdrawals, PlutusMap)
    assert withdrawals.value == {PlutusConstr(0, [PlutusByteString(key.payload)]): PlutusInteger(5)}


def test_unresolved_input_is_a_clear_error(
    spend_case: tuple[Transaction, dict[TransactionInput, TransactionOutput]],
) -> None:
    tx, utxos = spend_case
    missing = tx.transaction_body.reference_inputs[0]
    partial = {k: v for k, v in utxos.items() if k != missing}
    with pytest.raises(
        ScriptContextError, match=f"{missing.transaction_id.payload.hex()}#2 is not in the resolved"
    ):
        build_tx_info(tx, partial, SLOTS)


def test_redeemer_pointing_past_the_inputs_is_a_clear_error() -> None:
    wallet_in = sc.tx_input("w")
    utxos = {wallet_in: TransactionOutput(WALLET, Value(5_000_000))}
    body = TransactionBody(inputs=[wallet_in], outputs=[], fee=1)
    with pytest.raises(ScriptContextError, match="SPEND #3 points past the transaction's 1 inputs"):
        evaluate_transaction(tx_with(body, [redeemer(RedeemerTag.SPEND, 3)]), utxos, SLOTS)


def test_evaluation_reports_units_and_missing_or_foreign_scripts() -> None:
    built = sc.batch_release(sc.Schedule(label="ctx"), 1)
    results = evaluate_transaction(built.tx, built.utxos, sc.SLOT_CONFIG)
    assert [(r.tag, r.ok) for r in results] == [(RedeemerTag.SPEND, True), (RedeemerTag.MINT, True)]
    assert all(r.mem > 0 and r.cpu > 0 and r.error is None for r in results)
    # Without the reference inputs the scripts cannot be found.
    built.tx.transaction_body.reference_inputs = None
    missing = evaluate_transaction(built.tx, built.utxos, sc.SLOT_CONFIG)
    assert not any(r.ok for r in missing)
    assert all("neither in the witness set nor a reference script" in (r.error or "") for r in missing)


def test_v2_spend_without_datum_is_reported_not_run() -> None:
    v2 = PlutusV2Script(bytes(ALWAYS))
    script_in = sc.tx_input("v2")
    utxos = {
        script_in: TransactionOutput(
            Address(plutus_script_hash(v2), network=Network.TESTNET), Value(2_000_000)
        )
    }
    body = TransactionBody(inputs=[script_in], outputs=[], fee=1)
    tx = Transaction(
        body, TransactionWitnessSet(redeemer=[redeemer(RedeemerTag.SPEND, 0)], plutus_v2_script=[v2])
    )
    (result,) = evaluate_transaction(tx, utxos, SLOTS)
    # V1/V2 scripts run (issue 14.4), but never on an output without a datum.
    assert not result.ok and "no datum; a Plutus V2 script cannot run" in (result.error or "")


def test_failing_script_reports_its_trace() -> None:
    script_in = sc.tx_input("no-burn")
    utxos = {script_in: TransactionOutput(SCRIPT_ADDRESS, Value(2_000_000), datum=ot.Register())}
    body = TransactionBody(inputs=[script_in], outputs=[], fee=1)
    (result,) = evaluate_transaction(tx_with(body, [redeemer(RedeemerTag.SPEND, 0)]), utxos, SLOTS)
    assert (
        not result.ok
        and result.error is not None
        and result.error.startswith("redeemer SPEND #0: script failed")
    )
    assert result.mem > 0


def test_a_decoded_transaction_evaluates_like_the_built_one() -> None:
    """The devnet receives CBOR: decoding it must give the same contexts, tx id and units."""
    built = sc.batch_release(sc.Schedule(label="decoded"), 3)
    decoded = Transaction.from_cbor(built.tx.to_cbor())
    assert decoded.id == built.tx.id
    original = evaluate_transaction(built.tx, built.utxos, sc.SLOT_CONFIG)
    utxos = {
        TransactionInput.from_cbor(i.to_cbor()): TransactionOutput.from_cbor(o.to_cbor())
        for i, o in built.utxos.items()
    }
    again = evaluate_transaction(decoded, utxos, sc.SLOT_CONFIG)
    assert [(r.tag, r.index, r.ok, r.mem, r.cpu) for r in again] == [
        (r.tag, r.index, r.ok, r.mem, r.cpu) for r in original
    ]
    assert all(r.ok for r in again)
