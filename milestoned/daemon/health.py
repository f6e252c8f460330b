"""The health answer: synced, syncing or disconnected, with the tip, our position and the lag. Pure.

Why slots and not blocks: the node's tip and our cursor are both points, and the slot gap is what an
operator can turn into time (a slot is a second on the public networks). "synced" allows a small gap
because the tip moves while we look at it; the projections must also have caught up with the log, or
answers to queries would be behind what the log already knows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SYNCED_WITHIN_SLOTS = 120
PROJECTION_BEHIND_EVENTS = 100


@dataclass(frozen=True, slots=True)
class Health:
    state: str  # "synced" | "syncing" | "disconnected"
    connected: bool
    node_tip_slot: int | None
    indexer_slot: int | None
    lag_slots: int | None
    log_position: int
    projection_position: int

    @property
    def ok(self) -> bool:
        return self.state == "synced"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def assess(
    *,
    connected: bool,
    node_tip_slot: int | None,
    indexer_slot: int | None,
    log_position: int,
    projection_position: int,
    synced_within_slots: int = SYNCED_WITHIN_SLOTS,
) -> Health:
    lag = None if node_tip_slot is None or indexer_slot is None else max(0, node_tip_slot - indexer_slot)
    if not connected:
        state = "disconnected"
    elif (
        lag is None
        or lag > synced_within_slots
        or log_position - projection_position > PROJECTION_BEHIND_EVENTS
    ):
        state = "syncing"
    else:
        state = "synced"
    return Health(state, connected, node_tip_slot, indexer_slot, lag, log_position, projection_position)
