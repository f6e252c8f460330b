"""How the follower runs: where it starts the first time, how often it checkpoints, when a link is stalled.

Why these knobs: the start point only matters for an empty log (afterwards the log says where we are);
checkpoints trade a write every N blocks / T seconds against blocks re-read after a crash; the stall
timeout must exceed the gap between blocks at the tip (20 s on average on mainnet, minutes at worst),
which is why silence alone never triggers a reconnect: a tip probe decides (see `follower`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from milestoned.ogmios.model import ORIGIN, Point

StartPoint = Point | Literal["origin", "tip"]

_POINT = re.compile(r"\A(\d+)\.([0-9a-fA-F]{64})\Z")


def parse_start_point(text: str) -> StartPoint:
    """`origin`, `tip`, or `SLOT.HEADER_HASH` (as Kupo writes points), e.g. `4492800.f8084c61…`."""
    value = text.strip()
    if value in (ORIGIN, "tip"):
        return value  # type: ignore[return-value]
    match = _POINT.match(value)
    if match is None:
        raise ValueError(
            f"start point {text!r} is not understood; write 'origin', 'tip', or SLOT.HEADER_HASH "
            "(the slot number, a dot, and the block's 64-hex-digit header hash)"
        )
    return Point(int(match.group(1)), match.group(2).lower())


DEFAULT_CHECKPOINT_BLOCKS: Final = 1000
DEFAULT_CHECKPOINT_SECONDS: Final = 5.0


@dataclass(frozen=True, slots=True)
class FollowerConfig:
    """Settings of the chain follower (all have working defaults except, arguably, `start`)."""

    start: StartPoint = "tip"
    """Where to start when the log has no chain point yet."""
    checkpoint_every_blocks: int = DEFAULT_CHECKPOINT_BLOCKS
    checkpoint_every_seconds: float = DEFAULT_CHECKPOINT_SECONDS
    """A block with nothing for us is recorded (cursor only) when this many blocks or seconds passed."""
    write_batch_blocks: int = 100
    """While catching up, at most this many blocks with events wait for one write (at the tip: none)."""
    stall_timeout_seconds: float = 60.0
    """After this long without a chain-sync message, probe the node's tip (see `follower`)."""
    probe_timeout_seconds: float = 10.0
    """A tip probe unanswered for this long means the connection is dead: reconnect."""
    lookback_points: int = 2160
    """How many recorded points back (at most) to draw intersection candidates from (k on mainnet)."""
    schedule_refresh_seconds: float = 1.0
    """How often to look in the log for schedules registered meanwhile (by the command socket)."""
    in_flight: int = 100
    """`nextBlock` requests kept in flight."""

    def __post_init__(self) -> None:
        if self.checkpoint_every_blocks < 1:
            raise ValueError(
                f"checkpoint_every_blocks must be at least 1, got {self.checkpoint_every_blocks}"
            )
        for name in ("checkpoint_every_seconds", "stall_timeout_seconds", "probe_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {getattr(self, name)}")
        if self.schedule_refresh_seconds < 0:
            raise ValueError(f"schedule_refresh_seconds must be >= 0, got {self.schedule_refresh_seconds}")
        if self.write_batch_blocks < 1:
            raise ValueError(f"write_batch_blocks must be at least 1, got {self.write_batch_blocks}")
        if self.lookback_points < 1:
            raise ValueError(f"lookback_points must be at least 1, got {self.lookback_points}")
        if self.in_flight < 1:
            raise ValueError(f"in_flight must be at least 1, got {self.in_flight}")
