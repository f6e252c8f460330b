"""Opening JSON-RPC frames: read the envelope (`id`, `result`/`error`) without paying for what we do not need.

Why this module exists: a mainnet-shaped `nextBlock` frame is ~100 KB of JSON with ~5,000 nodes. Decoding
all of it into Python objects (orjson: ~250 µs) costs several times what receiving it does (~100 µs), which
would cap chain sync far below the network floor. So large frames are opened with simdjson's lazy parser
(~35 µs, C-side tape, no Python objects); the chain-sync decoder then reads only the block header and keeps
the raw frame so the transactions are typed on first access (`model.LazyTransactions`).

Small frames, and any frame simdjson refuses (integers beyond 64 bits), go through orjson, and then the
standard library (arbitrary-precision integers) as the last resort. simdjson is optional: without it every
frame is decoded eagerly, with the same typed results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import orjson

from milestoned.ogmios.errors import OgmiosProtocolError
from milestoned.ogmios.model import LazyTransactions, NextBlock, RollForward, Tip
from milestoned.ogmios.parsing import block_from_header, parse_next_block, parse_transactions

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
