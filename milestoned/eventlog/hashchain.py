"""The hash chain that makes the log tamper-evident, and the stored record layout that carries it.

Each record's hash covers its position, its topic, the canonical bytes of its event and the previous
record's hash. Changing an event changes its hash; removing, inserting or reordering records breaks either
the position sequence or a `prev` link. Only the end of the log can be cut off without a trace inside the
log itself, which is why `verify` also accepts an anchor (a position and hash recorded elsewhere, such as
an earlier report or the projections' position).

A stored record is the canonical JSON object `{"e": event fields, "h": hash, "p": previous hash}`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from milestoned.eventlog.codec import EventDecodeError, canonical_json, decode_event, encode_event
from milestoned.eventlog.events import Event

HASH_DOMAIN = b"milestoned/eventlog/v1\x00"
GENESIS_HASH = "00" * 32


def link_hash(position: int, topic: str, event_bytes: bytes, prev_hash: str) -> str:
    """The hash of the record at `position` (hex sha256), chained to `prev_hash`."""
    digest = hashlib.sha256()
    digest.update(HASH_DOMAIN)
    digest.update(position.to_bytes(8, "big"))
    digest.update(topic.encode())
    digest.update(b"\x00")
    digest.update(event_bytes)
    digest.update(bytes.fromhex(prev_hash))
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class LogHead:
    """The last record of the log: its position (0 when empty) and its hash."""

    position: int
    hash: str

    @classmethod
    def empty(cls) -> LogHead:
        return cls(position=0, hash=GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """An event ready to store: its position, topic and state bytes (event + chain links)."""

    position: int
    topic: str
    state: bytes
    hash: str


def seal(event: Event, position: int, prev_hash: str) -> SealedRecord:
    """Chain `event` onto `prev_hash` at `position`."""
    event_bytes = encode_event(event)
    record_hash = link_hash(position, event.topic, event_bytes, prev_hash)
    # Same bytes as canonical_json({"e": ..., "h": ..., "p": ...}) without re-encoding the event.
    state = (
        b'{"e":' + event_bytes + b',"h":"' + record_hash.encode() + b'","p":"' + prev_hash.encode() + b'"}'
    )
    return SealedRecord(position=position, topic=event.topic, state=state, hash=record_hash)


def seal_batch(events: list[Event] | tuple[Event, ...], head: LogHead) -> list[SealedRecord]:
    """Chain a batch of events after `head`, at consecutive positions."""
    records = []
    prev = head.hash
    for offset, event in enumerate(events, start=1):
        record = seal(event, head.position + offset, prev)
        records.append(record)
        prev = record.hash
    return records


@dataclass(frozen=True, slots=True)
class OpenedRecord:
    """A stored record taken apart: the event, the links, and the problems found while checking it."""

    event: Event | None
    hash: str
    prev_hash: str
    problems: tuple[str, ...]


def open_record(position: int, topic: str, state: bytes) -> OpenedRecord:
    """Parse and check one stored record: canonical encoding, decodable event, and its own hash."""
    problems: list[str] = []
    try:
        obj: Any = orjson.loads(state)
    except orjson.JSONDecodeError as exc:
        return OpenedRecord(None, "", "", (f"record is not JSON: {exc}",))
    if not isinstance(obj, dict) or set(obj) != {"e", "h", "p"}:
        return OpenedRecord(None, "", "", ("record is not an {e, h, p} object",))
    stored_hash, prev_hash, body = obj["h"], obj["p"], obj["e"]
    if not isinstance(stored_hash, str) or not isinstance(prev_hash, str) or not _is_hash(prev_hash):
        return OpenedRecord(None, "", "", ("record hash fields are malformed",))
    if canonical_json(obj) != bytes(state):
        problems.append("record bytes are not in canonical form (edited by hand?)")
    event: Event | None
    try:
        event = decode_event(topic, body)
    except EventDecodeError as exc:
        event = None
        problems.append(str(exc))
    expected = link_hash(position, topic, canonical_json(body), prev_hash)
    if expected != stored_hash:
        problems.append("hash does not match the record's content, position and previous hash")
    return OpenedRecord(event, stored_hash, prev_hash, tuple(problems))


def _is_hash(value: str) -> bool:
    if len(value) != 64:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True
