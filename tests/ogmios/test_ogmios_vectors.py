"""Every relevant Ogmios v6.14.0 and v7.0.0 test vector parses into typed values that agree with the raw JSON.

The vectors are read from ../shared/ogmios/vectors (beside the repo), never copied into it.
"""

from __future__ import annotations

from datetime import UTC
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson
import pytest

from milestoned.ogmios.errors import (
    ERROR_NAMES,
    IntersectionInterleaved,
    IntersectionNotFound,
    OgmiosError,
    ScriptExecutionFailure,
    error_from_json,
)
from milestoned.ogmios.frames import next_block_from_envelope, open_envelope
from milestoned.ogmios.model import ORIGIN, Point, RollBackward, RollForward, Tip
from milestoned.ogmios.parsing import (
    parse_block_height,
    parse_bound,
    parse_era_summaries,
    parse_evaluation,
    parse_genesis_configuration,
    parse_intersection,
    parse_next_block,
    parse_point,
    parse_protocol_parameters,
    parse_start_time,
    parse_submitted,
    parse_utxos,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "ogmios" / "vectors"

CATEGORIES = (
    "NextBlockResponse",
    "QueryLedgerStateProtocolParameters",
    "QueryLedgerStateUtxo",
    "SubmitTransactionResponse",
    "EvaluateTransactionResponse",
    "QueryLedgerStateEraSummaries",
    "QueryLedgerStateEraStart",
    "FindIntersectionResponse",
    "QueryLedgerStateTip",
    "QueryNetworkTip",
    "QueryNetworkStartTime",
    "QueryNetworkBlockHeight",
    "QueryLedgerStateEpoch",
    "QueryNetworkGenesisConfiguration",
)


def _files() -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, id="vectors-missing")]
    files = [
        path
        for version in ("v6.14.0", "v7.0.0")
        for path in sorted((VECTORS / version).glob("*/*.json"))
        if path.parent.name.split("_")[0] in CATEGORIES
    ]
    return [pytest.param(path, id=str(path.relative_to(VECTORS))) for path in files]


def _message(path: Path | None) -> dict[str, Any]:
    if path is None:
        pytest.fail(
            f"Ogmios test vectors not found at {VECTORS}: "
            "shared/ogmios/vectors must sit beside the repository (as on the CI machine).",
            pytrace=False,
        )
    message: dict[str, Any] = orjson.loads(path.read_bytes())
    return message


def test_the_vector_set_is_complete() -> None:
    """Guard against silently testing nothing: the categories hold the numbers SOURCE.md documents."""
    params = _files()
    assert params[0].id != "vectors-missing", f"vectors missing at {VECTORS}"
    by_category: dict[str, int] = {}
    for param in params:
        version, category, _ = param.id.split("/")
        key = f"{version}/{category.split('_')[0]}"
        by_category[key] = by_category.get(key, 0) + 1
    assert by_category["v6.14.0/NextBlockResponse"] == 50
    assert by_category["v6.14.0/SubmitTransactionResponse"] == 200
    assert by_category["v7.0.0/SubmitTransactionResponse"] == 200
    assert by_category["v7.0.0/QueryLedgerStateProtocolParameters"] == 30
    assert by_category["v7.0.0/QueryNetworkGenesisConfiguration"] == 40


def _check_error(message: dict[str, Any]) -> None:
    raw = message["error"]
    error = error_from_json(raw, message["method"])
    assert isinstance(error, OgmiosError)
    assert error.code == raw["code"]
    assert error.message == raw["message"]
    assert error.data == raw.get("data")
    assert error.method == message["method"]
    assert error.name in ERROR_NAMES.values(), f"code {error.code} has no schema name"
    assert str(error.code) in str(error)
    if error.code == 1000:
        assert isinstance(error, IntersectionNotFound)
        tip = raw["data"]["tip"]
        assert error.tip == (ORIGIN if tip == ORIGIN else Tip(tip["slot"], tip["id"], tip["height"]))
    if error.code == 1001:
        assert isinstance(error, IntersectionInterleaved)
    if error.code == 3010:
        assert isinstance(error, ScriptExecutionFailure)
        assert len(error.failures) == len(raw["data"])
        for failure, item in zip(error.failures, raw["data"], strict=True):
            assert failure.code == item["error"]["code"]
            assert failure.validator.purpose == item["validator"]["purpose"]
            assert failure.validator.index == item["validator"]["index"]


def _check_output(typed: Any, raw: dict[str, Any]) -> None:
    assert typed.address == raw["address"]
    assert typed.value.to_json() == raw["value"]
    assert typed.datum_hash == raw.get("datumHash")
    assert typed.datum == raw.get("datum")
    if "script" in raw:
        assert typed.script.language == raw["script"]["language"]
        assert typed.script.cbor == raw["script"].get("cbor")
    else:
        assert typed.script is None


def _check_next_block(result: dict[str, Any], frame: bytes) -> None:
    typed = parse_next_block(result)
    if result["direction"] == "backward":
        assert isinstance(typed, RollBackward)
        point = result["point"]
        assert typed.point == (ORIGIN if point == ORIGIN else Point(point["slot"], point["id"]))
        return
    assert isinstance(typed, RollForward)
    raw_block = result["block"]
    block = typed.block
    assert (block.type, block.era, block.id, block.height) == (
        raw_block["type"],
        raw_block["era"],
        raw_block["id"],
        raw_block["height"],
    )
    assert block.slot == raw_block.get("slot")  # EBBs have none
    assert (block.point is None) == ("slot" not in raw_block)
    assert typed.tip == Tip(result["tip"]["slot"], result["tip"]["id"], result["tip"]["height"])
    raw_txs = raw_block.get("transactions", [])
    assert [tx.id for tx in block.transactions] == [tx["id"] for tx in raw_txs]
    for tx, raw in zip(block.transactions, raw_txs, strict=True):
        assert tx.spends == raw["spends"]
        assert [r.to_json() for r in tx.inputs] == raw["inputs"]
        assert [r.to_json() for r in tx.references] == raw.get("references", [])
        assert [r.to_json() for r in tx.collaterals] == raw.get("collaterals", [])
        assert len(tx.outputs) == len(raw.get("outputs", []))
        for out, raw_out in zip(tx.outputs, raw.get("outputs", []), strict=True):
            _check_output(out, raw_out)
        if "collateralReturn" in raw:
            assert tx.collateral_return is not None
            _check_output(tx.collateral_return, raw["collateralReturn"])
        assert dict(tx.mint) == raw.get("mint", {})
        assert len(tx.redeemers) == len(raw.get("redeemers", []))
        for redeemer, raw_redeemer in zip(tx.redeemers, raw.get("redeemers", []), strict=True):
            assert redeemer.data == raw_redeemer["redeemer"]
            assert redeemer.validator.purpose == raw_redeemer["validator"]["purpose"]
            assert redeemer.execution_units.cpu == raw_redeemer["executionUnits"]["cpu"]
        assert [s.key for s in tx.signatories] == [s["key"] for s in raw["signatories"]]
        interval = raw.get("validityInterval", {})
        assert tx.validity_interval.invalid_before == interval.get("invalidBefore")
        assert tx.validity_interval.invalid_after == interval.get("invalidAfter")
        assert tx.fee == (raw["fee"]["ada"]["lovelace"] if "fee" in raw else None)
        assert (tx.metadata is None) == ("metadata" not in raw)
        if tx.metadata is not None:
            assert tx.metadata.labels == raw["metadata"]["labels"]
        # What a failed (phase-2) transaction really consumes and produces.
        if raw["spends"] == "collaterals":
            assert tx.failed and tx.consumed == tx.collaterals
            produced = tx.produced
            assert len(produced) == (1 if "collateralReturn" in raw else 0)
            if produced:
                assert produced[0].reference.index == len(raw.get("outputs", []))
        else:
            assert tx.consumed == tx.inputs
            assert [u.reference.index for u in tx.produced] == list(range(len(raw.get("outputs", []))))
    # The lazy path (what the chain-sync client uses) gives the same values.
    lazy = next_block_from_envelope(open_envelope(frame))
    assert lazy == typed
    assert isinstance(lazy, RollForward)
    assert lazy.block.transactions == block.transactions


def _check_protocol_parameters(result: dict[str, Any]) -> None:
    params = parse_protocol_parameters(result)
    assert params.min_fee_coefficient == result["minFeeCoefficient"]
    assert params.min_fee_constant == result["minFeeConstant"]["ada"]["lovelace"]
    assert params.min_utxo_deposit_constant == result["minUtxoDepositConstant"]["ada"]["lovelace"]
    per_tx = result.get("maxReferenceScriptsSizePerTransaction", result.get("maxReferenceScriptsSize"))
    assert params.max_reference_scripts_size == (per_tx["bytes"] if per_tx else None)
    assert params.treasury_expansion == Fraction(result["treasuryExpansion"])
    num, den = result["monetaryExpansion"].split("/")
    assert params.monetary_expansion == Fraction(int(num), int(den))
    assert {k: list(v) for k, v in params.plutus_cost_models.items()} == result.get("plutusCostModels", {})
    assert params.version.major == result["version"]["major"]
    if "scriptExecutionPrices" in result:
        assert params.script_execution_prices is not None
        assert params.script_execution_prices.cpu == Fraction(result["scriptExecutionPrices"]["cpu"])


def _check_utxo(result: list[dict[str, Any]]) -> None:
    utxos = parse_utxos(result)
    assert len(utxos) == len(result)
    for utxo, raw in zip(utxos, result, strict=True):
        assert utxo.reference.transaction_id == raw["transaction"]["id"]
        assert utxo.reference.index == raw["index"]
        _check_output(utxo.output, raw)
        assert utxo.to_json()["value"] == raw["value"]


def _check_era_summaries(result: list[dict[str, Any]]) -> None:
    summaries = parse_era_summaries(result)
    assert len(summaries) == len(result)  # summaries without `end` are kept, not dropped
    for summary, raw in zip(summaries, result, strict=True):
        assert summary.start.time_seconds == raw["start"]["time"]["seconds"]
        assert summary.start.slot == raw["start"]["slot"]
        assert (summary.end is None) == ("end" not in raw)
        assert summary.slot_length_ms == raw["parameters"]["slotLength"]["milliseconds"]
        assert summary.safe_zone == raw["parameters"]["safeZone"]


def _check_result(category: str, result: Any, frame: bytes) -> None:
    if category == "NextBlockResponse":
        _check_next_block(result, frame)
    elif category == "QueryLedgerStateProtocolParameters":
        _check_protocol_parameters(result)
    elif category == "QueryLedgerStateUtxo":
        _check_utxo(result)
    elif category == "SubmitTransactionResponse":
        assert parse_submitted(result) == result["transaction"]["id"]
    elif category == "EvaluateTransactionResponse":
        budgets = parse_evaluation(result)
        assert [(b.validator.purpose, b.validator.index, b.budget.memory, b.budget.cpu) for b in budgets] == [
            (r["validator"]["purpose"], r["validator"]["index"], r["budget"]["memory"], r["budget"]["cpu"])
            for r in result
        ]
    elif category == "QueryLedgerStateEraSummaries":
        _check_era_summaries(result)
    elif category == "QueryLedgerStateEraStart":
        bound = parse_bound(result)
        assert (bound.time_seconds, bound.slot, bound.epoch) == (
            result["time"]["seconds"],
            result["slot"],
            result["epoch"],
        )
    elif category == "FindIntersectionResponse":
        intersection = parse_intersection(result)
        raw_point = result["intersection"]
        assert intersection.point == (
            ORIGIN if raw_point == ORIGIN else Point(raw_point["slot"], raw_point["id"])
        )
        assert (intersection.tip == ORIGIN) == (result["tip"] == ORIGIN)
    elif category in ("QueryLedgerStateTip", "QueryNetworkTip"):
        assert parse_point(result) == Point(result["slot"], result["id"])
    elif category == "QueryNetworkStartTime":
        start = parse_start_time(result)
        assert start.tzinfo is UTC
        assert start.strftime("%Y-%m-%dT%H:%M:%S") == result.split(".")[0].rstrip("Z")
        if "." in result:  # fractional seconds are kept (to the microsecond)
            assert start.microsecond == int(result.split(".")[1].rstrip("Z")[:6].ljust(6, "0"))
    elif category == "QueryNetworkBlockHeight":
        assert parse_block_height(result) == result
    elif category == "QueryLedgerStateEpoch":
        assert isinstance(result, int)
    elif category == "QueryNetworkGenesisConfiguration":
        genesis = parse_genesis_configuration(result)
        assert genesis.era == result["era"]
        if result["era"] == "shelley":
            assert genesis.network_magic == result["networkMagic"]
            assert genesis.security_parameter == result["securityParameter"]
            assert genesis.active_slots_coefficient == Fraction(result["activeSlotsCoefficient"])
            assert genesis.start_time is not None and genesis.start_time.year == int(result["startTime"][:4])
    else:  # pragma: no cover - CATEGORIES and this function must agree
        raise AssertionError(f"no check for {category}")


@pytest.mark.parametrize("path", _files())
def test_vector_parses(path: Path | None) -> None:
    message = _message(path)
    assert path is not None
    category = path.parent.name.split("_")[0]
    if "error" in message:
        _check_error(message)
    else:
        _check_result(category, message["result"], path.read_bytes())


def test_results_equal_to_zero_are_results() -> None:
    assert parse_block_height(0) == 0
    assert parse_block_height("origin") == ORIGIN
    zero_epoch = orjson.loads(b'{"jsonrpc":"2.0","method":"queryLedgerState/epoch","result":0,"id":null}')
    envelope = open_envelope(orjson.dumps(zero_epoch))
    assert envelope.has_result and envelope.result == 0


def test_v7_transaction_without_outputs_or_validity_interval() -> None:
    tx = {"id": "ab" * 32, "spends": "inputs", "inputs": [], "signatories": [], "brandNewField": {"x": 1}}
    result = {
        "direction": "forward",
        "tip": {"slot": 2, "id": "cd" * 32, "height": 1},
        "block": {
            "type": "praos",
            "era": "dijkstra",
            "id": "cd" * 32,
            "ancestor": "genesis",
            "height": 1,
            "slot": 2,
            "size": {"bytes": 10},
            "protocol": {"version": {"major": 11, "minor": 0}},
            "issuer": {"verificationKey": "ee" * 32},
            "transactions": [tx],
            "someFutureField": [1, 2, 3],
        },
    }
    typed = parse_next_block(result)
    assert isinstance(typed, RollForward)
    (parsed,) = typed.block.transactions
    assert parsed.outputs == () and parsed.produced == ()
    assert parsed.validity_interval.invalid_before is None
    assert typed.block.era == "dijkstra"


def _next_block_files() -> list[Any]:
    return [p for p in _files() if p.values[0] is None or p.values[0].parent.name == "NextBlockResponse"]


@pytest.mark.parametrize("path", _next_block_files())
def test_lazy_frame_path_equals_eager_parse(path: Path | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the lazy (simdjson) path on the small vector frames and compare with the eager parse."""
    from milestoned.ogmios import frames

    message = _message(path)
    assert path is not None
    monkeypatch.setattr(frames, "LAZY_MIN_BYTES", 0)
    envelope = open_envelope(path.read_bytes())
    assert envelope.lazy == frames.simdjson_available()
    lazy = next_block_from_envelope(envelope)
    eager = parse_next_block(message["result"])
    assert lazy == eager
    if isinstance(lazy, RollForward):
        assert isinstance(eager, RollForward)
        assert lazy.block.transactions == eager.block.transactions
        assert lazy.block.may_contain(lazy.block.id)
        assert not lazy.block.may_contain("this-string-is-in-no-block")
