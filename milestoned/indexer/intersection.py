"""Which points to offer `findIntersection` when (re)starting. Pure.

Why several points: the newest point we recorded may have left the chain (a fork while we were away, or a
rollback we never saw). Like Kupo, we offer the most recent points one by one, then points at
exponentially growing distances back, so a short fork intersects close to where we stopped (re-reading
little) and a deep one still intersects somewhere instead of failing. Ogmios takes the first point of
the list that is on its chain, so the list goes newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

P = TypeVar("P")

RECENT_POINTS: Final = 10
"""How many of the newest points are offered one by one."""
MAX_POINTS: Final = 30
"""The whole list stays short: Ogmios checks each point against the node's chain."""


def spread(
    points_newest_first: Sequence[P], recent: int = RECENT_POINTS, max_points: int = MAX_POINTS
) -> list[P]:
    """The `recent` newest points, then points 2, 4, 8 … further back, always ending with the oldest."""
    if recent < 1 or max_points < recent:
        raise ValueError(f"need 1 <= recent <= max_points, got recent={recent}, max_points={max_points}")
    count = len(points_newest_first)
    if count <= recent:
        return list(points_newest_first)
    indexes = list(range(recent))
    step = 2
    while indexes[-1] + step < count - 1 and len(indexes) < max_points - 1:
        indexes.append(indexes[-1] + step)
        step *= 2
    indexes.append(count - 1)
    return [points_newest_first[i] for i in indexes]
