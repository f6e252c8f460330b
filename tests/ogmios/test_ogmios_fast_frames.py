"""The cheap path for chain-sync frames (read the ends of the frame, parse the rest on demand) and its
fallback to a full parse whenever a frame is not in Ogmios' usual shape; batched `nextBlock` writes; and
dropping (not closing) a failed connection before reconnecting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from milestoned.ogmios.client import OgmiosClient, run_with_reconnect
from milestoned.ogmios.errors import OgmiosConnectionError, OgmiosError
from milestoned.ogmios.frames import next_block_from_frame, response_id
from milestoned.ogmios.model import ORIGIN, RollBackward, RollForward
from milestoned.ogmios.parsing import parse_next_block
from milestoned.ogmios.synthetic import SyntheticChainShape, synthetic_roll_forward_results

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "ogmios" / "vectors"


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


SMALL = SyntheticChainShape(min_transactions=2, max_transactions=4, target_bytes=4_000)


def _frame(result: dict[str, Any], request_id: Any = 42, **extra: Any) -> bytes:
    return orjson.dumps(
        {"jsonrpc": "2.0", "method": "nextBlock", "result": result, "id": request_id, **extra}
    )


def _took_the_fast_path(decoded: Any) -> bool:
    """Blocks read by the fast path leave size/issuer/protocol unread until asked; a full parse types them."""
    return isinstance(decoded, RollForward) and decoded.block._extras is None


def _same(decoded: Any, result: dict[str, Any]) -> None:
    eager = parse_next_block(result)
    assert decoded == eager
    if isinstance(eager, RollForward):
        assert isinstance(decoded, RollForward)
        assert decoded.tip == eager.tip
        assert decoded.block.transactions == eager.block.transactions
        assert decoded.block.point == eager.block.point


def test_the_usual_frames_take_the_fast_path_and_equal_a_full_parse() -> None:
    for result in synthetic_roll_forward_results(6, seed=11):
        decoded = next_block_from_frame(_frame(result))
        assert _took_the_fast_path(decoded)
        _same(decoded, result)  # reads the extras and transactions: still equal to the eager parse


def test_every_vector_frame_decodes_like_a_full_parse() -> None:
    paths = sorted(VECTORS.glob("*/NextBlockResponse/*.json"))
    assert paths, f"no NextBlockResponse vectors under {VECTORS}"
    fast = 0
    for path in paths:
        message = orjson.loads(path.read_bytes())
        _same(next_block_from_frame(path.read_bytes()), message["result"])  # ids here: null or strings
        message["id"] = 9  # as our client numbers its requests; the key stays last
        decoded = next_block_from_frame(orjson.dumps(message))
        fast += _took_the_fast_path(decoded)  # before comparing: comparing reads the extras
        _same(decoded, message["result"])
    assert fast > 0, "some vector frames are in the usual shape"


@pytest.mark.parametrize(
    "variant",
    ["reordered keys", "indented", "trailing newline", "extra field in the tip", "extra member after tip"],
)
def test_frames_of_another_shape_fall_back_to_a_full_parse(variant: str) -> None:
    (result,) = synthetic_roll_forward_results(1, seed=12, shape=SMALL)
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": "nextBlock", "result": result, "id": 5}
    if variant == "reordered keys":
        frame = orjson.dumps(_reversed_keys(message))
    elif variant == "indented":
        frame = orjson.dumps(message, option=orjson.OPT_INDENT_2)
    elif variant == "trailing newline":
        frame = orjson.dumps(message) + b"\n"
    elif variant == "extra field in the tip":
        result["tip"]["epoch"] = 7
        frame = orjson.dumps(message)
    else:
        result["newInV8"] = {"tip": {"slot": 1, "id": "00" * 32, "height": 1}}
        frame = orjson.dumps(message)
    decoded = next_block_from_frame(frame)
    if variant != "trailing newline":
        assert not _took_the_fast_path(decoded)
    _same(decoded, result)


def test_block_content_that_looks_like_an_envelope_does_not_fool_the_fast_path() -> None:
    (result,) = synthetic_roll_forward_results(1, seed=13, shape=SMALL)
    tip = result["tip"]
    fake = {"slot": tip["slot"] + 1, "id": "ff" * 32, "height": tip["height"] + 1}
    result["block"]["transactions"][0]["metadata"] = {
        "hash": "aa" * 32,
        "labels": {
            "674": {
                "json": {
                    "direction": "backward",
                    "point": "origin",
                    "tip": fake,
                    "text": '"},"tip":{"slot":1,"id":"' + "ee" * 32 + '","height":1}},"id":9}',
                }
            }
        },
    }
    frame = _frame(result)
    assert b'"direction":"backward"' in frame
    decoded = next_block_from_frame(frame)
    assert isinstance(decoded, RollForward)
    _same(decoded, result)
    assert decoded.tip.id == tip["id"]


def test_backward_answers_errors_and_ebbs_are_read_in_full() -> None:
    backward = {"direction": "backward", "point": "origin", "tip": "origin"}
    assert next_block_from_frame(_frame(backward)) == RollBackward(ORIGIN, ORIGIN)
    error = orjson.dumps(
        {"jsonrpc": "2.0", "method": "nextBlock", "error": {"code": -32000, "message": "node lost"}, "id": 3}
    )
    with pytest.raises(OgmiosError) as raised:
        next_block_from_frame(error)
    assert raised.value.code == -32000
    ebb = {
        "direction": "forward",
        "block": {"type": "ebb", "era": "byron", "id": "ab" * 32, "ancestor": "cd" * 32, "height": 0},
        "tip": {"slot": 5, "id": "ef" * 32, "height": 9},
    }
    decoded = next_block_from_frame(_frame(ebb))
    assert isinstance(decoded, RollForward) and decoded.block.slot is None and decoded.block.point is None


def test_response_ids_are_read_off_the_end_only_when_it_is_unambiguous() -> None:
    assert response_id(b'{"jsonrpc":"2.0","result":{"a":1},"id":7}') == 7
    assert response_id(b'{"jsonrpc":"2.0","result":{"note":",\\"id\\":5}"},"id":7}') == 7
    assert response_id(b'{"jsonrpc":"2.0","result":{"a":1},"id":7}\n') == 7
    assert response_id(b'{"id":7,"jsonrpc":"2.0","result":{"a":1}}') is None
    assert response_id(b'{"jsonrpc":"2.0","result":{"a":1},"id":"seven"}') is None
    assert response_id(b'{"jsonrpc":"2.0","result":{"a":1}, "id" : 7}') is None


@pytest.mark.parametrize("style", ["reordered", "indented"])
async def test_chain_sync_gives_the_same_blocks_whatever_the_frame_style(
    fake_ogmios: Any, small_chain: list[dict[str, Any]], style: str
) -> None:
    fake_ogmios.chain = small_chain
    seen: dict[str, list[RollForward]] = {}
    for current in ("ogmios", style):
        fake_ogmios.frame_style = current
        async with await OgmiosClient.connect(fake_ogmios.url, in_flight=7) as client:
            await client.find_intersection([ORIGIN])
            blocks: list[RollForward] = []
            while len(blocks) < len(small_chain):
                result = await client.next_block()
                if isinstance(result, RollForward):
                    blocks.append(result)
            seen[current] = blocks
    assert seen["ogmios"] == seen[style]
    assert [b.block.transactions for b in seen["ogmios"]] == [b.block.transactions for b in seen[style]]
    assert [b.block.height for b in seen[style]] == [r["block"]["height"] for r in small_chain]


async def test_fragmented_messages_are_joined_for_chain_sync_and_queries_alike(
    fake_ogmios: Any, small_chain: list[dict[str, Any]], load_vector: Any
) -> None:
    """Ogmios sends each answer as one WebSocket frame, but a proxy may fragment it: the messages the
    connection takes straight from websockets' parser must be whole all the same."""
    fake_ogmios.chain = small_chain
    epoch = load_vector("v6.14.0/QueryLedgerStateEpoch/001.json")
    fake_ogmios.answer("queryLedgerState/epoch", epoch)
    fake_ogmios.fragment_bytes = 97  # a prime, so pieces end anywhere, mid-string included
    blocks: list[RollForward] = []
    # a hang guard, not a time assertion: pieces taken for whole messages leave answers unmatched
    async with asyncio.timeout(30), await OgmiosClient.connect(fake_ogmios.url, in_flight=5) as client:
        assert await client.epoch() == epoch["result"]
        await client.find_intersection([ORIGIN])
        while len(blocks) < len(small_chain):
            result = await client.next_block()
            if isinstance(result, RollForward):
                blocks.append(result)
                assert await client.epoch() == epoch["result"]  # queries interleave with chain sync
    assert [b.block.height for b in blocks] == [r["block"]["height"] for r in small_chain]
    assert [len(b.block.transactions) for b in blocks] == [
        len(r["block"].get("transactions", [])) for r in small_chain
    ]


async def test_next_block_requests_are_written_in_batches(
    fake_ogmios: Any, small_chain: list[dict[str, Any]]
) -> None:
    chain = small_chain * 4  # heights repeat; the server does not care
    fake_ogmios.chain = chain
    async with await OgmiosClient.connect(fake_ogmios.url, in_flight=40) as client:
        transport = client.connection._ws.transport
        writes: list[int] = []
        real_write = transport.write

        def counting_write(data: Any) -> None:
            writes.append(len(data))
            real_write(data)

        transport.write = counting_write  # type: ignore[method-assign]
        taken = 0
        while taken < len(chain):
            if isinstance(await client.next_block(), RollForward):
                taken += 1
        requested = sum(1 for r in fake_ogmios.received if r["method"] == "nextBlock")
        assert requested >= len(chain) + 1
        assert len(writes) < requested, "several requests per write"
        assert client.chain_sync.outstanding <= 40


async def test_a_failed_connection_is_dropped_at_once_and_a_finished_one_closed_cleanly(
    fake_ogmios: Any,
) -> None:
    fake_ogmios.answer("queryLedgerState/epoch", {"result": 3})
    calls = 0

    async def session(client: OgmiosClient) -> int:
        nonlocal calls
        calls += 1
        epoch = await client.epoch()
        if calls == 1:
            raise OgmiosConnectionError("the link stalled (simulated)")
        return epoch

    async def no_sleep(seconds: float) -> None:
        pass

    assert await run_with_reconnect(fake_ogmios.url, session, sleep=no_sleep, max_reconnects=1) == 3
    for _ in range(100):
        if len(fake_ogmios.close_codes) == 2:
            break
        await asyncio.sleep(0.01)
    # 1006: the socket was dropped without a close handshake (which over a stalled link could only time
    # out); 1000: a clean close after the session finished.
    assert fake_ogmios.close_codes == [1006, 1000]
