"""Opening JSON-RPC frames: read the envelope (`id`, `result`/`error`) without paying for what we do not need.

Why this module exists: a mainnet-shaped `nextBlock` frame is ~100 KB of JSON with ~5,000 nodes. Decoding
all of it into Python objects (orjson: ~250 µs) costs several times what receiving it does (~100 µs), which
would cap chain sync far below the network floor. So large frames are opened with simdjson's lazy parser
(~35 µs, C-side tape, no Python objects); the chain-sync decoder then reads only the block header and keeps
the raw frame so the transactions are typed on first access (`model.LazyTransactions`).

Chain sync goes further (`next_block_from_frame`): a RollForward frame in Ogmios' usual shape is not parsed
at all. Two small regular expressions, anchored at the frame's first and last bytes, read the block's
type, era, id, ancestor, height and slot and the tip (~2 µs); the rest of the header and the transactions
are read from the kept frame when asked for. A frame of any other shape (other key order, whitespace, a
RollBackward, an error, an EBB, a member a newer Ogmios added) is opened and parsed in full as below, so
correctness never depends on the key order. The price: a malformed frame that still begins and ends
exactly like a RollForward is only found malformed when its header extras or transactions are read.

The chain follower, for the few blocks that name a known schedule, asks for the transactions one by one
as JSON text (`transaction_spans`, msgspec: validated and split in C, ~40 µs, no Python objects for the
rest), so it decodes only the transaction that matters instead of the whole frame.

Small frames, and any frame simdjson refuses (integers beyond 64 bits), go through orjson, and then the
standard library (arbitrary-precision integers) as the last resort. simdjson is optional: without it every
frame is decoded eagerly, with the same typed results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import msgspec
import orjson

from milestoned.ogmios.errors import OgmiosProtocolError, error_from_json
from milestoned.ogmios.model import Block, BlockExtras, LazyTransactions, NextBlock, RollForward, Tip
from milestoned.ogmios.parsing import (
    block_from_header,
    parse_next_block,
    parse_transactions,
    protocol_version_of,
    size_of,
)

try:  # optional accelerator, see the module docstring
    import simdjson as _simdjson
except ImportError:  # pragma: no cover - exercised only where pysimdjson is not installed
    _simdjson = None  # type: ignore[assignment]

T = TypeVar("T")

LAZY_MIN_BYTES: Final = 16 * 1024
"""Frames at least this large are opened lazily (when simdjson is available)."""


def simdjson_available() -> bool:
    return _simdjson is not None


def loads(frame: bytes | str) -> Any:
    """Decode a whole JSON document: orjson, or the standard library for integers orjson cannot hold."""
    try:
        return orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(frame)
        except ValueError:
            raise OgmiosProtocolError(f"Ogmios sent a frame that is not JSON: {exc}") from exc


def materialize(value: Any) -> Any:
    """A plain Python value from either a decoded value or a simdjson lazy view."""
    if _simdjson is not None:
        if isinstance(value, _simdjson.Object):
            return value.as_dict()
        if isinstance(value, _simdjson.Array):
            return value.as_list()
    return value


@dataclass(frozen=True, slots=True)
class Envelope:
    """The JSON-RPC envelope of one response. `result`/`error` may be lazy views when `lazy` is True."""

    id: Any
    method: str | None
    result: Any
    error: Any
    has_result: bool
    frame: bytes
    lazy: bool


_shared_parser: Any = None


def _parse_lazily(frame: bytes) -> Any:
    """simdjson's lazy document, or None if simdjson refuses the frame (e.g. an integer beyond 64 bits).

    One parser is reused: a fresh one per frame re-allocates its buffers (hundreds of KB) every time,
    which costs as much as the parse. pysimdjson refuses to reuse a parser while views into its last
    document are alive (say, held by a traceback); then we simply start a new one.
    """
    global _shared_parser
    if _shared_parser is None:
        _shared_parser = _simdjson.Parser()
    try:
        return _shared_parser.parse(frame)
    except RuntimeError as exc:
        if "re-use a parser" not in str(exc):
            return None
    except ValueError:
        return None
    _shared_parser = _simdjson.Parser()
    try:
        return _shared_parser.parse(frame)
    except (ValueError, RuntimeError):
        return None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def open_envelope(frame: bytes) -> Envelope:
    """Read the envelope of a response frame (bytes as received). Raises OgmiosProtocolError if malformed."""
    if _simdjson is not None and len(frame) >= LAZY_MIN_BYTES:
        doc = _parse_lazily(frame)
        if doc is not None and isinstance(doc, _simdjson.Object):
            has_result = "result" in doc
            return Envelope(
                id=materialize(doc.get("id")),
                method=_text_or_none(doc.get("method")),
                result=doc["result"] if has_result else None,
                error=materialize(doc.get("error")),
                has_result=has_result,
                frame=frame,
                lazy=True,
            )
    message = loads(frame)
    if not isinstance(message, dict):
        raise OgmiosProtocolError(
            f"expected a JSON-RPC response object from Ogmios, got {str(message)[:200]}"
        )
    return Envelope(
        id=message.get("id"),
        method=message.get("method"),
        result=message.get("result"),
        error=message.get("error"),
        has_result="result" in message,
        frame=frame,
        lazy=False,
    )


def plain_result(envelope: Envelope) -> Any:
    """The result as plain Python values (what the typed parsers take)."""
    return materialize(envelope.result) if envelope.lazy else envelope.result


def typed(parse: Callable[[Any], T]) -> Callable[[Envelope], T]:
    """A response decoder that hands the plain result to one of the `parsing` functions."""

    def decode(envelope: Envelope) -> T:
        return parse(plain_result(envelope))

    decode.__name__ = f"typed_{getattr(parse, '__name__', 'result')}"
    return decode


class _TransactionSpans(msgspec.Struct):
    transactions: list[msgspec.Raw] = []


class _ForwardResult(msgspec.Struct):
    block: _TransactionSpans


class _ForwardFrame(msgspec.Struct):
    result: _ForwardResult


_TRANSACTION_SPANS: Final = msgspec.json.Decoder(_ForwardFrame)


def transaction_spans(frame: bytes) -> list[bytes] | None:
    """Each transaction of a RollForward frame as its own JSON text, or None if the frame is not one.

    Why: the chain follower must look inside the few blocks that mention a known schedule, and usually
    one of their 20–60 transactions matters. Decoding the whole frame with orjson builds ~5,000 Python
    objects, mostly hex strings of scripts, datums and witnesses (~210 µs warm; more in a live process,
    where its thousands of dicts and lists set off full garbage collections of the daemon's heap).
    msgspec validates the same JSON and skips everything but the transactions' boundaries in C
    (~40 µs); the follower then screens each span as bytes and decodes only those that may matter.
    None: the frame has another shape (a RollBackward, an error, no valid JSON); the caller decodes it
    the usual way.
    """
    try:
        decoded = _TRANSACTION_SPANS.decode(frame)
    except msgspec.DecodeError:  # ValidationError included
        return None
    return [bytes(span) for span in decoded.result.block.transactions]


def _load_transactions(frame: bytes) -> Any:
    message = loads(frame)
    return parse_transactions(message["result"]["block"].get("transactions"))


def next_block_from_envelope(envelope: Envelope) -> NextBlock:
    """A typed nextBlock result. From a lazy envelope only the header is read now; transactions wait."""
    result = envelope.result
    if not envelope.lazy:
        if not isinstance(result, dict) or result.get("direction") != "forward":
            return parse_next_block(result)
        # Decoded already; still defer typing the transactions until someone asks for them.
        try:
            decoded = result["block"].get("transactions")
            tip = result["tip"]
            deferred = LazyTransactions(load=lambda: parse_transactions(decoded))
            return RollForward(
                block_from_header(result["block"], deferred, envelope.frame),
                Tip(int(tip["slot"]), str(tip["id"]), int(tip["height"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise OgmiosProtocolError(f"cannot read a nextBlock result from Ogmios: {exc!r}") from exc
    try:
        if result["direction"] != "forward":
            return parse_next_block(materialize(result))
        tip = result["tip"]
        frame = envelope.frame
        lazy = LazyTransactions(load=lambda: _load_transactions(frame))
        # The header is read straight from the lazy view; no view outlives this call (see _parse_lazily).
        return RollForward(
            block_from_header(result["block"], lazy, frame),
            Tip(int(tip["slot"]), str(tip["id"]), int(tip["height"])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OgmiosProtocolError(f"cannot read a nextBlock result from Ogmios: {exc!r}") from exc


# --- the fast path for nextBlock frames of Ogmios' usual shape ------------------------------------------

_RESPONSE_ID: Final = re.compile(rb',"id":(\d{1,18})\}[ \t\r\n]*\Z')
"""The request id as the last member of a response object (where Ogmios puts it)."""

_ID_WINDOW: Final = 40

_FORWARD_HEAD: Final = re.compile(
    rb'\{"jsonrpc":"2\.0","method":"nextBlock","result":\{"direction":"forward","block":\{'
    rb'"type":"(praos|bft)","era":"([a-z]{1,20})","id":"([0-9a-f]{64})",'
    rb'"ancestor":"([0-9a-f]{64}|genesis)",(?:"nonce":\{[^{}\\]{0,400}\},)?'
    rb'"height":(\d{1,18}),"slot":(\d{1,18})[,}]'
)
"""A RollForward frame's opening as Ogmios v6/v7 writes it, up to the block's slot. Anchored at the frame's
first byte and made of keys and values that cannot contain a quote, so a match is the real thing (no
string inside the block can fake it)."""

_FORWARD_TAIL: Final = re.compile(
    rb'\},"tip":\{"slot":(\d{1,18}),"id":"([0-9a-f]{64})","height":(\d{1,18})\}\},"id":\d{1,18}\}'
    rb"[ \t\r\n]*\Z"
)
"""The same frame's end: the block closes, then the tip (the result's last member), then the id."""

_TAIL_WINDOW: Final = 256


def response_id(frame: bytes) -> int | None:
    """The integer id of a response frame, if it ends the way Ogmios ends responses (`…,"id":N}`).

    Why this is safe without parsing: in JSON a quote inside a string is escaped, so `,"id":N}` closing
    the frame can only be the last member of the top-level object, i.e. the response's id. None means
    "look properly" (the caller parses the frame), never "no id".
    """
    match = _RESPONSE_ID.search(frame, max(0, len(frame) - _ID_WINDOW))
    return None if match is None else int(match[1])


def _extras_of(frame: bytes) -> Callable[[], BlockExtras]:
    def load() -> BlockExtras:
        try:
            header = loads(frame)["result"]["block"]
            issuer = header.get("issuer")
            key = issuer.get("verificationKey") if isinstance(issuer, dict) else None
            return (
                size_of(header.get("size")),
                None if key is None else str(key),
                protocol_version_of(header.get("protocol")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise OgmiosProtocolError(f"cannot read the header of a block from Ogmios: {exc!r}") from exc

    return load


def next_block_from_frame(frame: bytes) -> NextBlock:
    """A typed nextBlock answer straight from its frame, touching as little of it as possible.

    A RollForward in Ogmios' usual shape (see `_FORWARD_HEAD` / `_FORWARD_TAIL`) costs two small regular
    expression matches at the frame's ends: the block's id, ancestor, height and slot and the tip are read
    there, the rest of the header and the transactions when someone asks. Any other frame (a RollBackward,
    an error, other key orders, whitespace, an EBB, fields added by a newer Ogmios) is opened and parsed
    in full, so correctness never depends on the key order.
    """
    head = _FORWARD_HEAD.match(frame)
    if head is not None:
        tail_start = frame.rfind(b'},"tip":{', max(head.end(), len(frame) - _TAIL_WINDOW))
        tail = _FORWARD_TAIL.match(frame, tail_start) if tail_start >= 0 else None
        if tail is not None:
            block = Block.with_lazy_extras(
                head[1].decode(),
                head[2].decode(),
                head[3].decode(),
                head[4].decode(),
                int(head[5]),
                int(head[6]),
                _extras_of(frame),
                LazyTransactions(load=lambda: _load_transactions(frame)),
                frame,
            )
            return RollForward(block, Tip(int(tail[1]), tail[2].decode(), int(tail[3])))
    return next_block_from_opened(open_envelope(frame))


def next_block_from_opened(envelope: Envelope) -> NextBlock:
    """A typed nextBlock answer from an opened envelope; an error answer raises its `OgmiosError`."""
    if not envelope.has_result or envelope.error is not None:
        raise error_from_json(envelope.error, "nextBlock")
    return next_block_from_envelope(envelope)
