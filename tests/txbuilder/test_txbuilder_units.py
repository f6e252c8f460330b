"""Pure pieces: metadata chunks, min-ADA against pycardano's, the UTxO codec, attestations in the redeemer."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycardano import (
    Address,
    Asset,
    AssetName,
    MultiAsset,
    Network,
    PlutusV3Script,
    RawPlutusData,
    ScriptHash,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    Value,
    min_lovelace_post_alonzo,
)
from txbuilder_support import demo_key, enterprise, example_document, oracle_signature

from milestoned.domain.attestation import OracleSignature
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.registration_metadata import chunk_text, reassemble, text_slice
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.ogmios import model, state_queries
from milestoned.txbuilder import fees
from milestoned.txbuilder.chain_context import ChainTime, SnapshotChainContext
from milestoned.txbuilder.release_checks import attestations, quorums
from milestoned.txbuilder.schedule_metadata import schedule_metadata
from milestoned.txbuilder.utxo_codec import output_to_ogmios, output_to_pycardano, parse_input_text

PARAMS = state_queries.ProtocolParameters(
    min_fee_coefficient=44,
    min_fee_constant=155_381,
    min_utxo_deposit_coefficient=4_310,
    min_utxo_deposit_constant=0,
    max_block_body_size=90_112,
    max_block_header_size=1_100,
    max_transaction_size=16_384,
    max_value_size=5_000,
    stake_credential_deposit=2_000_000,
    stake_pool_deposit=500_000_000,
    stake_pool_retirement_epoch_bound=18,
    desired_number_of_stake_pools=500,
    stake_pool_pledge_influence=Fraction(3, 10),
    monetary_expansion=Fraction(3, 1000),
    treasury_expansion=Fraction(1, 5),
    min_stake_pool_cost=170_000_000,
    collateral_percentage=150,
    max_collateral_inputs=3,
    plutus_cost_models={},
    script_execution_prices=state_queries.ExecutionPrices(Fraction(577, 10_000), Fraction(721, 10_000_000)),
    max_execution_units_per_transaction=model.ExecutionUnits(14_000_000, 10_000_000_000),
    max_execution_units_per_block=model.ExecutionUnits(62_000_000, 20_000_000_000),
    max_reference_scripts_size=204_800,
    max_reference_scripts_size_per_block=None,
    min_fee_reference_scripts=state_queries.ReferenceScriptsFee(15.0, 25_600, 1.2),
    governance_action_deposit=None,
    delegate_representative_deposit=None,
    version=model.ProtocolVersion(10, 0),
)


@given(st.text(min_size=1, max_size=400))
def test_chunks_are_at_most_64_bytes_and_rejoin(text: str) -> None:
    chunks = chunk_text(text)
    assert "".join(chunks) == text
    assert all(0 < len(c.encode("utf-8")) <= 64 for c in chunks)


def test_metadata_parts_reassemble_whatever_the_split() -> None:
    text = '{"milestone":"Jalon été ✓ 🚀","x":"' + "ä" * 300 + '"}'
    bounds = [(0, 3), (3, 4), (4, 10)]
    parts = [schedule_metadata(bytes(28), text, a, b, 10).data[1967] for a, b in bounds]
    assert "".join(text_slice(text, a, b, 10) for a, b in bounds) == text
    assert reassemble(list(reversed(parts))) == text.encode()
    with pytest.raises(ValueError, match="do not cover all the allocations"):
        reassemble(parts[:2])


def test_min_lovelace_matches_pycardano_through_the_snapshot_context() -> None:
    tip = state_queries.EraSummary(state_queries.Bound(Fraction(0), 0, 0), None, 1000, Fraction(1000), 1000)
    context = SnapshotChainContext(
        PARAMS,
        ChainTime(5, (tip,), datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
        0,
        CardanoNetwork.DEVNET,
    )
    tokens = MultiAsset({ScriptHash(bytes(28)): Asset({AssetName(b"MILE"): 10**12})})
    for output in [
        TransactionOutput(enterprise(demo_key("admin")), Value(2_000_000, tokens)),
        TransactionOutput(
            enterprise(demo_key("admin")), 5_000_000, datum=RawPlutusData.from_cbor(b"\x44abcd")
        ),
        TransactionOutput(
            enterprise(demo_key("admin")), 50_000_000, script=PlutusV3Script(b"\x41\x01" * 500)
        ),
    ]:
        assert fees.minimum_lovelace(PARAMS, output) == min_lovelace_post_alonzo(output, context)
    assert context.protocol_param.coins_per_utxo_byte == 4_310
    assert context.last_block_slot == 5 and context.network == Network.TESTNET


def test_fees_follow_the_ledger_formula() -> None:
    assert fees.minimum_fee(PARAMS, 1_000, 0, 0, 0) == 44 * 1_000 + 155_381
    assert fees.script_fee(PARAMS, 1_000_000, 1_000_000_000) == 57_700 + 72_100
    assert fees.reference_scripts_fee(PARAMS, 10_000) == 150_000
    assert fees.reference_scripts_fee(PARAMS, 30_000) == 25_600 * 15 + (4_400 * 18)
    assert fees.required_collateral(PARAMS, 333_333) == 500_000


def test_utxo_codec_round_trip() -> None:
    output = TransactionOutput(
        Address.from_primitive(example_document()["beneficiary_allocations"][0]["beneficiary_address"]),
        Value(3_000_000, MultiAsset({ScriptHash(bytes(range(28))): Asset({AssetName(b""): 1})})),
        datum=RawPlutusData.from_cbor(bytes.fromhex("d8799f4100ff")),
        script=PlutusV3Script(b"\x01\x02"),
    )
    back = output_to_pycardano(output_to_ogmios(output))
    assert back.to_cbor() == output.to_cbor()
    assert parse_input_text("ab" * 32 + "#7") == TransactionInput(TransactionId(bytes([0xAB] * 32)), 7)


def test_the_redeemer_takes_the_first_quorum_of_valid_signatures_in_oracle_order() -> None:
    definition = parse_schedule_document(example_document())
    schedule_id = bytes(range(28))
    m1 = b"M1-testnet-launch"
    signed = [
        OracleSignature(
            oracle_signature(1, schedule_id, "M1-testnet-launch").oracle_key, bytes(64)
        ),  # invalid
        oracle_signature(3, schedule_id, "M1-testnet-launch"),
        oracle_signature(2, schedule_id, "M1-testnet-launch"),
        oracle_signature(1, schedule_id, "M1-testnet-launch"),
    ]
    quorum_of = quorums(definition, schedule_id, [m1], {m1: signed})
    [attestation] = attestations(definition, schedule_id, quorum_of, {m1: signed}, [m1, m1])
    assert [s.oracle_index for s in attestation.signatures] == [0, 1]
    assert attestation.signatures[0].signature == signed[3].signature
