"""The asyncio client against a real WebSocket server that speaks Ogmios (see conftest.FakeOgmios)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from milestoned.ogmios.backoff import BackoffPolicy, backoff_delay
from milestoned.ogmios.client import OgmiosClient, connect_with_backoff, run_with_reconnect
from milestoned.ogmios.errors import (
    AcquireLedgerStateFailure,
    EraMismatch,
    IntersectionInterleaved,
    IntersectionNotFound,
    OgmiosConnectionError,
    ScriptExecutionFailure,
    SubmissionError,
)
from milestoned.ogmios.model import (
    ORIGIN,
    OutputReference,
    Point,
    RollBackward,
    RollForward,
    Tip,
    TransactionOutput,
    Utxo,
    Value,
)

V6 = "v6.14.0"
V7 = "v7.0.0"


def _point(result: dict[str, Any]) -> Point:
    return Point(result["block"]["slot"], result["block"]["id"])


async def test_answers_are_dispatched_by_id_even_when_they_come_back_reversed(
    fake_ogmios: Any, load_vector: Any
) -> None:
    tip = load_vector(f"{V6}/QueryLedgerStateTip/000.json")
    epoch = load_vector(f"{V6}/QueryLedgerStateEpoch/001.json")
    params = load_vector(f"{V6}/QueryLedgerStateProtocolParameters/000.json")
    summaries = load_vector(f"{V6}/QueryLedgerStateEraSummaries/000.json")
    height = load_vector(f"{V6}/QueryNetworkBlockHeight/002.json")
    for method, message in [
        ("queryLedgerState/tip", tip),
        ("queryLedgerState/epoch", epoch),
        ("queryLedgerState/protocolParameters", params),
        ("queryLedgerState/eraSummaries", summaries),
        ("queryNetwork/blockHeight", height),
    ]:
        fake_ogmios.answer(method, message)
    fake_ogmios.reverse_batch = 5
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        got = await asyncio.gather(
            client.ledger_tip(),
            client.epoch(),
            client.protocol_parameters(),
            client.era_summaries(),
            client.block_height(),
        )
    assert got[0] == Point(tip["result"]["slot"], tip["result"]["id"])
    assert got[1] == epoch["result"]
    assert got[2].min_fee_coefficient == params["result"]["minFeeCoefficient"]
    assert len(got[3]) == len(summaries["result"])
    assert got[4] == height["result"]
    ids = [r["id"] for r in fake_ogmios.received]
    assert len(set(ids)) == len(ids) == 5, "every request carries its own id"


async def test_an_answer_with_an_unknown_id_is_logged_and_dropped(
    fake_ogmios: Any, load_vector: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ogmios.answer("queryLedgerState/epoch", load_vector(f"{V6}/QueryLedgerStateEpoch/000.json"))
    fake_ogmios.stray_before_answer = True
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        with caplog.at_level(logging.WARNING, logger="milestoned.ogmios.connection"):
            assert await client.epoch() == load_vector(f"{V6}/QueryLedgerStateEpoch/000.json")["result"]
        assert client.connection.dropped_responses == 1
    assert any("unknown id 987654321" in record.getMessage() for record in caplog.records)


async def test_results_equal_to_zero_come_back_as_zero(fake_ogmios: Any) -> None:
    fake_ogmios.answer("queryLedgerState/epoch", {"result": 0})
    fake_ogmios.answer("queryNetwork/blockHeight", {"result": 0})
    fake_ogmios.answer("queryNetwork/tip", {"result": "origin"})
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        assert await client.epoch() == 0
        assert await client.block_height() == 0
        assert await client.network_tip() == ORIGIN


async def test_pipeline_keeps_the_configured_number_of_requests_in_flight(
    fake_ogmios: Any, small_chain: list[dict[str, Any]], wait_until: Any
) -> None:
    """Between `in_flight - refill_batch + 1` and `in_flight` requests are with the server at any time:
    top-ups are written once `refill_batch` of them are due, never more than `in_flight` in all."""
    fake_ogmios.chain = small_chain
    fake_ogmios.available = 0  # the node is "at the tip" until we release blocks
    async with await OgmiosClient.connect(fake_ogmios.url, in_flight=10) as client:
        batch = client.chain_sync.refill_batch
        assert batch == 2
        first = await client.next_block()
        assert first == RollBackward(ORIGIN, ORIGIN)  # Ogmios starts with a rollback to the cursor
        waiting = asyncio.create_task(client.next_block())
        await wait_until(lambda: fake_ogmios.outstanding >= 10 - batch + 1)
        await asyncio.sleep(0.05)
        assert 10 - batch < fake_ogmios.outstanding <= 10 and fake_ogmios.max_outstanding <= 10

        fake_ogmios.available = 25
        await fake_ogmios.pump()
        blocks = [await waiting] + [await client.next_block() for _ in range(24)]
        heights = [b.block.height for b in blocks if isinstance(b, RollForward)]
        assert heights == [r["block"]["height"] for r in small_chain[:25]], "in chain order"

        waiting = asyncio.create_task(client.next_block())
        await wait_until(lambda: fake_ogmios.outstanding >= 10 - batch + 1)
        await asyncio.sleep(0.05)
        assert 10 - batch < fake_ogmios.outstanding <= 10, "topped up as answers are taken"
        assert fake_ogmios.max_outstanding <= 10, "never more than in_flight"
        sent = sum(1 for r in fake_ogmios.received if r["method"] == "nextBlock")
        assert sent == 1 + 25 + fake_ogmios.outstanding
        waiting.cancel()


async def test_pipeline_is_drained_before_find_intersection(
    fake_ogmios: Any, small_chain: list[dict[str, Any]], wait_until: Any
) -> None:
    fake_ogmios.chain = small_chain
    fake_ogmios.available = 8
    async with await OgmiosClient.connect(fake_ogmios.url, in_flight=10) as client:
        assert isinstance(await client.next_block(), RollBackward)
        for _ in range(3):
            assert isinstance(await client.next_block(), RollForward)
        await wait_until(lambda: fake_ogmios.outstanding > 0)  # some requests wait at the "tip"
        assert client.chain_sync.outstanding == 9  # in_flight minus the one just taken

        # Control: without draining, Ogmios refuses with 1001 (that is what the drain avoids).
        with pytest.raises(IntersectionInterleaved) as refused:
            await client.connection.request("findIntersection", {"points": ["origin"]})
        assert refused.value.code == 1001

        target = _point(small_chain[2])
        finding = asyncio.create_task(client.find_intersection([target, ORIGIN]))
        await asyncio.sleep(0.05)
        assert not finding.done(), "find_intersection waits for the outstanding nextBlock answers"
        fake_ogmios.available = 30
        await fake_ogmios.pump()
        intersection = await finding
        assert intersection.point == target
        assert fake_ogmios.outstanding_at_find[-1] == 0, "nothing was in flight when findIntersection arrived"
        assert client.chain_sync.outstanding == 0

        rollback = await client.next_block()
        assert isinstance(rollback, RollBackward) and rollback.point == target
        following = await client.next_block()
        assert isinstance(following, RollForward)
        assert following.block.id == small_chain[3]["block"]["id"]


async def test_intersection_not_found_carries_the_tip(
    fake_ogmios: Any, small_chain: list[dict[str, Any]]
) -> None:
    fake_ogmios.chain = small_chain
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        with pytest.raises(IntersectionNotFound) as error:
            await client.find_intersection([Point(1, "00" * 32)])
    assert error.value.code == 1000
    tip = error.value.tip
    assert isinstance(tip, Tip) and tip.id == small_chain[-1]["tip"]["id"]


async def test_errors_keep_their_ogmios_code_and_data(fake_ogmios: Any, load_vector: Any) -> None:
    submit = load_vector(f"{V6}/SubmitTransactionResponse/012.json")
    evaluate = load_vector(f"{V6}/EvaluateTransactionResponse/000.json")
    acquire = load_vector(f"{V6}/AcquireLedgerStateResponse/000.json")
    params = load_vector(f"{V7}/QueryLedgerStateProtocolParameters/010.json")
    fake_ogmios.answer("submitTransaction", submit)
    fake_ogmios.answer("evaluateTransaction", evaluate)
    fake_ogmios.answer("acquireLedgerState", acquire)
    fake_ogmios.answer("queryLedgerState/protocolParameters", params)
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        with pytest.raises(SubmissionError) as submitted:
            await client.submit_transaction("84a300")
        assert submitted.value.code == 3101 and submitted.value.name == "MissingSignatories"
        assert submitted.value.data == submit["error"]["data"]
        assert submitted.value.method == "submitTransaction"

        with pytest.raises(ScriptExecutionFailure) as evaluated:
            await client.evaluate_transaction("84a300")
        assert evaluated.value.code == 3010
        assert [f.code for f in evaluated.value.failures] == [
            i["error"]["code"] for i in evaluate["error"]["data"]
        ]

        with pytest.raises(AcquireLedgerStateFailure) as acquired:
            await client.acquire_ledger_state(Point(1, "aa" * 32))
        assert acquired.value.data == acquire["error"]["data"]

        with pytest.raises(EraMismatch) as mismatch:
            await client.protocol_parameters()
        assert mismatch.value.data == params["error"]["data"]


async def test_protocol_parameters_of_v6_and_v7_servers(fake_ogmios: Any, load_vector: Any) -> None:
    v6 = load_vector(f"{V6}/QueryLedgerStateProtocolParameters/000.json")
    v7 = load_vector(f"{V7}/QueryLedgerStateProtocolParameters/000.json")
    assert "maxReferenceScriptsSize" in v6["result"]
    assert "maxReferenceScriptsSizePerTransaction" in v7["result"]
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        fake_ogmios.answer("queryLedgerState/protocolParameters", v6)
        from_v6 = await client.protocol_parameters()
        fake_ogmios.answer("queryLedgerState/protocolParameters", v7)
        from_v7 = await client.protocol_parameters()
    assert from_v6.max_reference_scripts_size == v6["result"]["maxReferenceScriptsSize"]["bytes"]
    assert (
        from_v7.max_reference_scripts_size == v7["result"]["maxReferenceScriptsSizePerTransaction"]["bytes"]
    )
    assert from_v6.min_fee_coefficient == v6["result"]["minFeeCoefficient"]
    assert from_v7.min_fee_coefficient == v7["result"]["minFeeCoefficient"]
    assert set(from_v7.plutus_cost_models) == set(v7["result"]["plutusCostModels"])


async def test_submit_and_evaluate_send_the_documented_params(fake_ogmios: Any, load_vector: Any) -> None:
    fake_ogmios.answer("submitTransaction", load_vector(f"{V6}/SubmitTransactionResponse/147.json"))
    evaluation = load_vector(f"{V6}/EvaluateTransactionResponse/010.json")
    fake_ogmios.answer("evaluateTransaction", evaluation)
    extra = Utxo(
        OutputReference("11" * 32, 3),
        TransactionOutput(
            "addr_test1vz" + "q" * 50, Value(2_000_000, {"ab" * 28: {"cafe": 5}}), datum="d87980"
        ),
    )
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        tx_id = await client.submit_transaction("84a4ff")
        budgets = await client.evaluate_transaction("84a4ff", additional_utxo=[extra])
        with pytest.raises(ValueError, match="even-length hex"):
            await client.submit_transaction("not hex")
    assert tx_id == load_vector(f"{V6}/SubmitTransactionResponse/147.json")["result"]["transaction"]["id"]
    assert len(budgets) == len(evaluation["result"])
    submit_request, evaluate_request = fake_ogmios.received
    assert submit_request["params"] == {"transaction": {"cbor": "84a4ff"}}
    assert evaluate_request["params"]["additionalUtxo"] == [
        {
            "transaction": {"id": "11" * 32},
            "index": 3,
            "address": "addr_test1vz" + "q" * 50,
            "value": {"ada": {"lovelace": 2_000_000}, "ab" * 28: {"cafe": 5}},
            "datum": "d87980",
        }
    ]


async def test_closing_fails_requests_still_waiting(
    fake_ogmios: Any, small_chain: list[dict[str, Any]]
) -> None:
    fake_ogmios.chain = small_chain
    fake_ogmios.available = 0
    client = await OgmiosClient.connect(fake_ogmios.url, in_flight=3)
    assert isinstance(await client.next_block(), RollBackward)
    waiting = asyncio.create_task(client.next_block())
    await asyncio.sleep(0.05)
    await client.close()
    with pytest.raises(OgmiosConnectionError):
        await waiting
    with pytest.raises(OgmiosConnectionError, match="cannot send"):
        await client.epoch()


async def test_connect_with_backoff_retries_then_gives_up_with_a_clear_error() -> None:
    delays: list[float] = []

    async def no_sleep(seconds: float) -> None:
        delays.append(seconds)

    policy = BackoffPolicy(initial=0.1, maximum=1.0, factor=2.0, jitter=0.5)
    with pytest.raises(OgmiosConnectionError, match="cannot connect to Ogmios"):
        await connect_with_backoff(
            "ws://127.0.0.1:9", policy=policy, max_attempts=4, sleep=no_sleep, random_fraction=lambda: 0.5
        )
    assert delays == [backoff_delay(policy, attempt, 0.5) for attempt in range(3)]


async def test_chain_sync_resumes_without_gaps_after_the_server_drops_the_connection(
    fake_ogmios: Any, small_chain: list[dict[str, Any]]
) -> None:
    fake_ogmios.chain = small_chain
    fake_ogmios.drop_after_blocks = 12
    seen: list[RollForward] = []
    pauses: list[float] = []

    async def no_sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def follow(client: OgmiosClient) -> int:
        points = [seen[-1].block.point] if seen else []
        await client.find_intersection([*points, ORIGIN])  # type: ignore[list-item]
        while len(seen) < len(small_chain):
            result = await client.next_block()
            if isinstance(result, RollForward):
                seen.append(result)
            else:  # a rollback to where we already are
                assert result.point == (seen[-1].block.point if seen else ORIGIN)
        return len(seen)

    policy = BackoffPolicy(initial=0.01, maximum=0.05)
    total = await run_with_reconnect(
        fake_ogmios.url, follow, policy=policy, sleep=no_sleep, max_reconnects=3, in_flight=5
    )
    assert total == 30
    assert [b.block.height for b in seen] == [r["block"]["height"] for r in small_chain]
    assert fake_ogmios.connections == 2
    assert len(pauses) == 1 and 0 < pauses[0] <= 0.01


async def test_every_query_method_round_trips_a_vector(fake_ogmios: Any, load_vector: Any) -> None:
    acquired = load_vector(f"{V6}/AcquireLedgerStateResponse/002.json")
    utxo = load_vector(f"{V7}/QueryLedgerStateUtxo/000.json")
    genesis = load_vector(f"{V7}/QueryNetworkGenesisConfiguration_shelley/000.json")
    start = load_vector(f"{V6}/QueryNetworkStartTime/000.json")
    era_start = load_vector(f"{V6}/QueryLedgerStateEraStart/000.json")
    for method, message in [
        ("acquireLedgerState", acquired),
        ("releaseLedgerState", load_vector(f"{V6}/ReleaseLedgerStateResponse/000.json")),
        ("queryLedgerState/utxo", utxo),
        ("queryNetwork/genesisConfiguration", genesis),
        ("queryNetwork/startTime", start),
        ("queryLedgerState/eraStart", era_start),
        ("queryNetwork/tip", load_vector(f"{V6}/QueryNetworkTip/000.json")),
        ("acquireMempool", load_vector(f"{V6}/AcquireMempoolResponse/000.json")),
        ("hasTransaction", {"result": False}),
        ("sizeOfMempool", load_vector(f"{V6}/SizeOfMempoolResponse/007.json")),
        ("nextTransaction", {"result": {"transaction": None}}),
        ("releaseMempool", {"result": {"released": "mempool"}}),
    ]:
        fake_ogmios.answer(method, message)
    point = Point(acquired["result"]["point"]["slot"], acquired["result"]["point"]["id"])
    async with await OgmiosClient.connect(fake_ogmios.url) as client:
        assert (await client.acquire_ledger_state(point)).point == point
        by_address = await client.utxo_by_addresses(["addr_test1vz" + "q" * 50])
        by_reference = await client.utxo_by_output_references([OutputReference("22" * 32, 0)])
        await client.release_ledger_state()
        shelley = await client.genesis_configuration("shelley")
        started = await client.start_time()
        bound = await client.era_start()
        tip = await client.network_tip()
        snapshot = await client.acquire_mempool()
        assert await client.has_transaction("33" * 32) is False
        sizes = await client.size_of_mempool()
        assert await client.next_transaction() is None
        await client.release_mempool()
        with pytest.raises(ValueError, match="era must be one of"):
            await client.genesis_configuration("goguen")
        with pytest.raises(ValueError, match="at least one address"):
            await client.utxo_by_addresses([])
    assert len(by_address) == len(by_reference) == len(utxo["result"])
    assert shelley.network_magic == genesis["result"]["networkMagic"]
    assert started.year == 1864
    assert bound.slot == era_start["result"]["slot"]
    assert tip != ORIGIN
    assert snapshot.slot == load_vector(f"{V6}/AcquireMempoolResponse/000.json")["result"]["slot"]
    assert (
        sizes.transactions
        == load_vector(f"{V6}/SizeOfMempoolResponse/007.json")["result"]["transactions"]["count"]
    )
    params = {r["method"]: r.get("params") for r in fake_ogmios.received}
    assert params["acquireLedgerState"] == {"point": {"slot": point.slot, "id": point.id}}
    assert params["queryNetwork/genesisConfiguration"] == {"era": "shelley"}
    utxo_requests = [r["params"] for r in fake_ogmios.received if r["method"] == "queryLedgerState/utxo"]
    assert utxo_requests == [
        {"addresses": ["addr_test1vz" + "q" * 50]},
        {"outputReferences": [{"transaction": {"id": "22" * 32}, "index": 0}]},
    ]
    assert "params" not in next(r for r in fake_ogmios.received if r["method"] == "releaseLedgerState")


async def test_async_for_follows_the_chain_in_order(
    fake_ogmios: Any, small_chain: list[dict[str, Any]]
) -> None:
    fake_ogmios.chain = small_chain
    heights = []
    async with await OgmiosClient.connect(fake_ogmios.url, in_flight=4) as client:
        await client.find_intersection([ORIGIN])
        async for result in client.follow():
            if isinstance(result, RollForward):
                heights.append(result.block.height)
                if len(heights) == 10:
                    break
    assert heights == [r["block"]["height"] for r in small_chain[:10]]


async def test_blocks_that_arrived_before_a_drop_are_still_handed_out(
    fake_ogmios: Any, small_chain: list[dict[str, Any]]
) -> None:
    fake_ogmios.chain = small_chain
    fake_ogmios.drop_after_blocks = 6
    async with await OgmiosClient.connect(fake_ogmios.url, in_flight=10) as client:
        assert isinstance(await client.next_block(), RollBackward)
        await client.connection.wait_closed()
        heights = []
        with pytest.raises(OgmiosConnectionError):
            while True:
                result = await client.next_block()
                assert isinstance(result, RollForward)
                heights.append(result.block.height)
    assert heights == [r["block"]["height"] for r in small_chain[:6]]
