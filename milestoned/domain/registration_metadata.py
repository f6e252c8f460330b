"""The schedule definition in registration metadata (label 1967): its layout, and reading it back. Pure.

Why it is in the domain: both sides use it. The transaction builder writes it, and the indexer and the
chain audit read it to recognise a schedule from the chain alone (DESIGN §10, "Discovery"); nothing here
does I/O.

Metadata strings are limited to 64 bytes, so the canonical JSON of the definition
(`schedule_canonical.canonical_schedule_json`) is cut into strings of at most 64 UTF-8 bytes, never inside
a character. A schedule registered in several transactions carries in each the slice of the text
proportional to the allocations it registers:

    1967: {"v": 1, "schedule": <schedule id hex>, "allocations": [first, end], "of": <allocation count>,
           "hash": <blake2b-256 of the whole canonical JSON, hex>, "json": [<= 64-byte strings]}

The slice of a transaction registering allocations [first, end) of N is characters
[len*first//N, len*end//N) of the text, so each part depends only on its own transaction (a chain of
transactions can be signed one by one, without knowing how many will follow). A reader sorts the parts by
`first`, checks they cover [0, N) exactly, concatenates the `json` strings, checks the hash, parses the
schedule and re-derives its id (`milestoned.contracts.loader.schedule_id`): it must equal `schedule`.
Metadata alone proves nothing: only the re-derivation (and a mint under that policy) does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

SCHEDULE_METADATA_LABEL: Final = 1967
CHUNK_BYTES: Final = 64
METADATA_VERSION: Final = 1
MAX_ALLOCATIONS: Final = 1_000_000
"""More allocations than any schedule file can hold (a file is limited in size): a larger `of` is a lie."""

_HEX56 = re.compile(r"\A[0-9a-f]{56}\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_KEYS: Final = frozenset({"v", "schedule", "allocations", "of", "hash", "json"})


class MalformedRegistration(ValueError):
    """Registration metadata that cannot be (part of) a schedule's definition; `reason` is a short code
    (for the log line and the metrics counter), the message says what exactly is wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def chunk_text(text: str, limit: int = CHUNK_BYTES) -> list[str]:
    """`text` as strings of at most `limit` UTF-8 bytes each, cut only between characters."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for character in text:
        width = len(character.encode("utf-8"))
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(character)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


def text_slice(text: str, first: int, end: int, total: int) -> str:
    """The characters of `text` a part registering allocations [first, end) of `total` carries."""
    return text[len(text) * first // total : len(text) * end // total]


def text_hash(text: bytes) -> str:
    return hashlib.blake2b(text, digest_size=32).hexdigest()


def part_document(schedule_id: bytes, full_text: str, first: int, end: int, total: int) -> dict[str, Any]:
    """The label-1967 document of the registration transaction of allocations [first, end) of `total`."""
    return {
        "v": METADATA_VERSION,
        "schedule": schedule_id.hex(),
        "allocations": [first, end],
        "of": total,
        "hash": text_hash(full_text.encode("utf-8")),
        "json": chunk_text(text_slice(full_text, first, end, total)),
    }


@dataclass(frozen=True, slots=True)
class RegistrationPart:
    """One transaction's label-1967 document, read strictly."""

    schedule_id: str
    first: int
    end: int
    of: int
    text_hash: str
    chunks: tuple[str, ...]

    @property
    def count(self) -> int:
        """How many allocations (and so auth tokens) this part registers."""
        return self.end - self.first

    def to_document(self) -> dict[str, Any]:
        return {
            "v": METADATA_VERSION,
            "schedule": self.schedule_id,
            "allocations": [self.first, self.end],
            "of": self.of,
            "hash": self.text_hash,
            "json": list(self.chunks),
        }


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRegistration("wrong_type", f"{what} must be an integer, got {value!r:.60}")
    return value


def read_part(document: object) -> RegistrationPart:
    """The part a label-1967 document describes; `MalformedRegistration` says why it is not one."""
    if not isinstance(document, Mapping):
        raise MalformedRegistration(
            "wrong_type", f"the document must be a map, got {type(document).__name__}"
        )
    keys = set(document)
    if keys != _KEYS:
        raise MalformedRegistration(
            "wrong_fields",
            f"the document must have exactly the fields {sorted(_KEYS)}, got {sorted(map(str, keys))}",
        )
    if _int(document["v"], "v") != METADATA_VERSION:
        raise MalformedRegistration("unknown_version", f"version {document['v']} is not {METADATA_VERSION}")
    schedule = document["schedule"]
    if not isinstance(schedule, str) or not _HEX56.match(schedule):
        raise MalformedRegistration("wrong_type", "schedule must be a policy id (56 lowercase hex digits)")
    digest = document["hash"]
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise MalformedRegistration(
            "wrong_type", "hash must be a blake2b-256 digest (64 lowercase hex digits)"
        )
    span = document["allocations"]
    if not isinstance(span, Sequence) or isinstance(span, str) or len(span) != 2:
        raise MalformedRegistration("wrong_type", "allocations must be a pair [first, end]")
    first, end = _int(span[0], "allocations[0]"), _int(span[1], "allocations[1]")
    of = _int(document["of"], "of")
    if not 0 <= first < end <= of <= MAX_ALLOCATIONS:
        raise MalformedRegistration(
            "out_of_range", f"allocations [{first}, {end}) of {of} is not a range 0 <= first < end <= of"
        )
    chunks = document["json"]
    if not isinstance(chunks, Sequence) or isinstance(chunks, str):
        raise MalformedRegistration("wrong_type", "json must be a list of strings")
    for chunk in chunks:
        if not isinstance(chunk, str):
            raise MalformedRegistration("wrong_type", "json must be a list of strings")
        if len(chunk.encode("utf-8")) > CHUNK_BYTES:
            raise MalformedRegistration("oversized", f"a json string is over {CHUNK_BYTES} bytes")
    return RegistrationPart(schedule, first, end, of, digest, tuple(chunks))


def assemble(parts: Sequence[RegistrationPart]) -> bytes | None:
    """The canonical JSON the parts carry once they cover every allocation, None while some are missing.

    Raises `MalformedRegistration` when the parts cannot belong to one registration: different schedules,
    counts or hashes, overlapping ranges, or a text whose hash is not the one announced.
    """
    if not parts:
        return None
    head = parts[0]
    for part in parts:
        if (part.schedule_id, part.of, part.text_hash) != (head.schedule_id, head.of, head.text_hash):
            raise MalformedRegistration(
                "inconsistent_parts", "the parts disagree on the schedule, the allocation count or the hash"
            )
    ordered = sorted(parts, key=lambda p: p.first)
    position = 0
    for part in ordered:
        if part.first < position:
            raise MalformedRegistration(
                "overlapping_parts", f"allocations {part.first}..{position - 1} are registered twice"
            )
        if part.first > position:
            return None  # a gap: a part is still to come
        position = part.end
    if position != head.of:
        return None
    text = "".join("".join(part.chunks) for part in ordered).encode("utf-8")
    if text_hash(text) != head.text_hash:
        raise MalformedRegistration(
            "hash_mismatch", "the reassembled definition does not match the hash its metadata announces"
        )
    return text


def reassemble(parts: list[dict[str, Any]]) -> bytes:
    """The canonical JSON from every part's label-1967 document, all of them required (an auditor's
    check on a complete set of documents; `ValueError` when incomplete or inconsistent)."""
    read = [read_part(part) for part in parts]
    text = assemble(read)
    if text is None:
        raise ValueError("schedule metadata parts do not cover all the allocations")
    return text
