"""The event log's head published on chain: a transaction's metadata (label 1968). Pure.

Why on chain: a head kept on the daemon's own machine (`eventlog.anchor`) catches rows deleted from the
database, but whoever can rewrite both the database and that file can rewrite history consistently. A head
published in a transaction cannot be changed afterwards, and its block dates it: a log rewritten later no
longer has that hash at that position. The operator wallet pays for it (about 0.17 ADA each), so it is
opt-in and periodic (`[anchor] every_seconds`), and only transactions signed by the operator's key count.

    1968: {"v": 1, "log": "milestoned", "network": "preprod", "position": N, "hash": "<64 hex>"}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

HEAD_ANCHOR_LABEL: Final = 1968
ANCHOR_VERSION: Final = 1
_HASH = re.compile(r"\A[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class HeadAnchor:
    network: str
    position: int
    hash: str

    def to_document(self) -> dict[str, Any]:
        return {
            "v": ANCHOR_VERSION,
            "log": "milestoned",
            "network": self.network,
            "position": self.position,
            "hash": self.hash,
        }


def read_anchor(document: object) -> HeadAnchor | None:
    """The anchor a label-1968 document states, or None when it is not one of ours (never raises)."""
    if not isinstance(document, Mapping) or set(document) != {"v", "log", "network", "position", "hash"}:
        return None
    position, digest, network = document["position"], document["hash"], document["network"]
    if document["v"] != ANCHOR_VERSION or document["log"] != "milestoned" or not isinstance(network, str):
        return None
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        return None
    if not isinstance(digest, str) or not _HASH.match(digest):
        return None
    return HeadAnchor(network, position, digest)


def mismatches(anchors: list[HeadAnchor], hash_at: Mapping[int, str], head_position: int) -> list[str]:
    """Each published anchor the log does not match: a different hash at its position, or a log that
    ends before it. Empty when the log agrees with everything published."""
    problems = []
    for anchor in anchors:
        if anchor.position > head_position:
            problems.append(
                f"an anchor published position {anchor.position}, but the log ends at {head_position} "
                "(events were cut off)"
            )
        elif hash_at.get(anchor.position) != anchor.hash:
            problems.append(
                f"position {anchor.position}: the log's hash differs from the one published on chain "
                f"({anchor.hash[:16]}…): the history was rewritten after it was anchored"
            )
    return problems
