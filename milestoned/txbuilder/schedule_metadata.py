"""The schedule definition in registration metadata, so that an auditor can verify a schedule from the chain.

Label 1967 (ours; not registered in CIP-10), in the spirit of CIP-20: metadata strings are limited to
64 bytes, so the canonical JSON of the definition (`schedule_canonical.canonical_schedule_json`) is
cut into strings of at most 64 UTF-8 bytes, never inside a character. A schedule registered in several
transactions carries in each the slice of the text proportional to the allocations it registers:

    1967: {"v": 1, "schedule": <schedule id hex>, "allocations": [first, end], "of": <allocation count>,
           "hash": <blake2b-256 of the whole canonical JSON, hex>, "json": [<= 64-byte strings]}

The slice of a transaction registering allocations [first, end) of N is characters
[len*first//N, len*end//N) of the text, so each part depends only on its own transaction (a chain of
transactions can be signed one by one, without knowing how many will follow). An auditor sorts the
parts by `first`, checks they cover [0, N), concatenates the `json` strings, checks the hash, parses
the schedule and re-derives its id (`milestoned.contracts.loader.schedule_id`): it must equal `schedule`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pycardano import AuxiliaryData, Metadata

SCHEDULE_METADATA_LABEL = 1967
CHUNK_BYTES = 64
METADATA_VERSION = 1


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


def schedule_metadata(schedule_id: bytes, full_text: str, first: int, end: int, total: int) -> AuxiliaryData:
    """The auxiliary data of the registration transaction of allocations [first, end) of `total`."""
    document: dict[str, Any] = {
        "v": METADATA_VERSION,
        "schedule": schedule_id.hex(),
        "allocations": [first, end],
        "of": total,
        "hash": hashlib.blake2b(full_text.encode("utf-8"), digest_size=32).hexdigest(),
        "json": chunk_text(text_slice(full_text, first, end, total)),
    }
    return AuxiliaryData(Metadata({SCHEDULE_METADATA_LABEL: document}))


def reassemble(parts: list[dict[str, Any]]) -> bytes:
    """The canonical JSON from every part's label-1967 document, checked for coverage and hash."""
    ordered = sorted(parts, key=lambda p: int(p["allocations"][0]))
    position = 0
    for part in ordered:
        first, end = (int(x) for x in part["allocations"])
        if first != position:
            raise ValueError(f"schedule metadata parts leave allocations {position}..{first - 1} uncovered")
        position = end
    if not ordered or position != int(ordered[0]["of"]):
        raise ValueError(f"schedule metadata parts cover {position} allocations, not all of them")
    text = "".join("".join(p["json"]) for p in ordered).encode("utf-8")
    if hashlib.blake2b(text, digest_size=32).hexdigest() != ordered[0]["hash"]:
        raise ValueError("the reassembled schedule does not match the hash its metadata carries")
    return text
