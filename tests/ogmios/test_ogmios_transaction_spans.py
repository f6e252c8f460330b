"""`frames.transaction_spans`: each transaction of a RollForward frame as its own JSON text.

The chain follower decodes only the spans that may matter, so a span must be exactly the transaction
(decoding it gives what decoding the whole frame gives), and a frame of any other shape must say None
(the caller then decodes it the usual way) rather than a wrong answer.
"""

from __future__ import annotations

import json

import orjson
import pytest

from milestoned.ogmios.frames import transaction_spans
from milestoned.ogmios.synthetic import synthetic_roll_forward_results


def frame_of(result: object) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "method": "nextBlock", "result": result, "id": 7})


@pytest.mark.parametrize("result", synthetic_roll_forward_results(6, seed=11))
def test_each_span_decodes_to_its_transaction(result: dict[str, object]) -> None:
    frame = frame_of(result)
    spans = transaction_spans(frame)
    assert spans is not None
    expected = orjson.loads(frame)["result"]["block"]["transactions"]
    assert [orjson.loads(span) for span in spans] == expected
    assert len(spans) >= 20


def test_spans_keep_the_text_as_sent_whitespace_and_big_integers_included() -> None:
    transactions = [{"id": "aa" * 32, "metadata": {"labels": {"1": {"int": 2**70}}}}, {"id": "bb" * 32}]
    frame = json.dumps(
        {"jsonrpc": "2.0", "result": {"direction": "forward", "block": {"transactions": transactions}}},
        indent=2,
    ).encode()
    spans = transaction_spans(frame)
    assert spans is not None and len(spans) == 2
    assert json.loads(spans[0]) == transactions[0]  # orjson cannot hold 2**70; the text is intact
    assert spans[0].startswith(b"{\n") and b"\n" in spans[0]


def test_a_block_without_transactions_has_none() -> None:
    assert transaction_spans(frame_of({"direction": "forward", "block": {"type": "ebb"}})) == []


@pytest.mark.parametrize(
    "frame",
    [
        frame_of({"direction": "backward", "point": "origin", "tip": "origin"}),
        b'{"jsonrpc":"2.0","error":{"code":-32602,"message":"bad"},"id":1}',
        frame_of({"direction": "forward", "block": {"transactions": None}}),
        frame_of({"direction": "forward", "block": {"transactions": {"not": "a list"}}}),
        frame_of({"direction": "forward", "block": {"transactions": [{"id": "aa"}]}})[:-9],  # truncated
        b"not json at all",
    ],
)
def test_a_frame_of_another_shape_gives_none(frame: bytes) -> None:
    assert transaction_spans(frame) is None
