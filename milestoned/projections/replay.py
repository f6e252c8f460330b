"""Replay: rebuild the projections from the log into a fresh store, and compare with the live ones.

Projections are disposable (DESIGN.md §1): this is how an auditor, or an operator after a bug fix,
derives them again from the single source of truth. Equality is byte equality of canonical dumps.
"""

from __future__ import annotations

from dataclasses import dataclass

from milestoned.eventlog.store import EventLog
from milestoned.projections.projector import Projector
from milestoned.projections.slots import SlotConfig
from milestoned.projections.store import ProjectionStore


class ReplayTargetNotEmptyError(RuntimeError):
    """Replay was pointed at a store that already holds projections."""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    events_replayed: int
    position: int


@dataclass(frozen=True, slots=True)
class Comparison:
    equal: bool
    live_position: int
    replayed_position: int
    differing_tables: tuple[str, ...]


def replay(
    log: EventLog, target: ProjectionStore, slots: SlotConfig, *, batch_size: int = 5000
) -> ReplayReport:
    """Project the whole log into `target`, which must be empty."""
    if target.position() != 0:
        raise ReplayTargetNotEmptyError(
            f"the replay target {target.config.describe()} is already at position {target.position()}; "
            "point replay at a new SQLite file or an empty PostgreSQL schema"
        )
    replayed = Projector(log, target, slots, batch_size=batch_size).catch_up()
    return ReplayReport(events_replayed=replayed, position=target.position())


def compare(live: ProjectionStore, replayed: ProjectionStore) -> Comparison:
    """Byte-compare two projection stores, naming the tables that differ."""
    import orjson

    live_dump, replayed_dump = live.dump(), replayed.dump()
    live_doc, replayed_doc = orjson.loads(live_dump), orjson.loads(replayed_dump)
    differing = tuple(
        sorted(
            name
            for name in set(live_doc["tables"]) | set(replayed_doc["tables"])
            if live_doc["tables"].get(name) != replayed_doc["tables"].get(name)
        )
    )
    return Comparison(
        equal=live_dump == replayed_dump,
        live_position=live_doc["position"],
        replayed_position=replayed_doc["position"],
        differing_tables=differing,
    )
