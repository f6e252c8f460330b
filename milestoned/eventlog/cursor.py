"""Where the indexer stands on chain, read back from the log (pure functions over events).

The log holds every chain event with its block point, cursor checkpoints, and rollbacks. Walking it
newest-first, a rollback to slot `s` hides everything older with a slot above `s` (those blocks left the
chain); whatever remains are points on the current chain, which is what `findIntersection` must be
offered after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from milestoned.eventlog.events import ChainEvent, ChainPoint, Event, RolledBack


def live_points_newest_first(events_newest_first: Iterable[Event]) -> Iterator[ChainPoint]:
    """Distinct points still on the chain, newest first, from events given newest first."""
    ceiling: int | None = None
    last: ChainPoint | None = None
    for event in events_newest_first:
        if not isinstance(event, ChainEvent):
            continue
        point = event.point
        if ceiling is not None and point.slot > ceiling:
            continue
        if isinstance(event, RolledBack):
            ceiling = point.slot if ceiling is None else min(ceiling, point.slot)
        if point != last:
            last = point
            yield point
            if point.is_origin:
                return


def spread_points(points_newest_first: Sequence[ChainPoint], max_points: int) -> list[ChainPoint]:
    """A few points spaced out over the given ones (newest, then 1, 2, 4, 8 … back, and the oldest).

    Offering points at growing distances lets `findIntersection` succeed with a recent point after a
    short fork and still find an older one after a deep fork, without sending thousands of points.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    if not points_newest_first:
        return []
    indexes = [0]
    step = 1
    while step < len(points_newest_first) and len(indexes) < max_points - 1:
        indexes.append(step)
        step *= 2
    oldest = len(points_newest_first) - 1
    if oldest not in indexes and len(indexes) < max_points:
        indexes.append(oldest)
    return [points_newest_first[i] for i in indexes]
