"""Chain time: converting a slot to POSIX milliseconds, as the ledger does for validity intervals.

A projection knows time only through the chain: "vesting passed" means the latest block seen is at or
after the vesting time, never the wall clock of the machine that runs the daemon. That keeps replays
deterministic and matches what the on-chain check (validity range from the vesting time) will accept.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SlotConfig:
    """Linear slot clock from a reference slot (the Shelley start on public networks)."""

    zero_time_ms: int
    zero_slot: int
    slot_length_ms: int

    def __post_init__(self) -> None:
        if self.slot_length_ms <= 0:
            raise ValueError(f"slot_length_ms must be positive, got {self.slot_length_ms}")

    def slot_to_posix_ms(self, slot: int) -> int:
        return self.zero_time_ms + (slot - self.zero_slot) * self.slot_length_ms

    def posix_ms_to_slot(self, posix_ms: int) -> int:
        """The first slot whose start is at or after `posix_ms`."""
        return self.zero_slot + -(-(posix_ms - self.zero_time_ms) // self.slot_length_ms)


MAINNET = SlotConfig(zero_time_ms=1596059091000, zero_slot=4492800, slot_length_ms=1000)
PREPROD = SlotConfig(zero_time_ms=1655769600000, zero_slot=86400, slot_length_ms=1000)
PREVIEW = SlotConfig(zero_time_ms=1666656000000, zero_slot=0, slot_length_ms=1000)
