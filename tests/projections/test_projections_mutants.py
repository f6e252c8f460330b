"""Projection store details: tests for mutants of `projections/store.py` that survived (issue 19)."""

from __future__ import annotations

import orjson
import pytest
from eventsourcing.persistence import ConnectionPoolClosedError, OperationalError

from milestoned.eventlog.testing import StoreHarness
from milestoned.projections.store import ProjectionStore


def test_an_empty_store_is_at_position_zero_in_its_dump(store: StoreHarness) -> None:
    with ProjectionStore(store.config("p")) as projections:
        assert projections.position() == 0
        document = orjson.loads(projections.dump())
    assert document["position"] == 0 and document["position"] is not False
    assert all(rows == [] for rows in document["tables"].values())


def test_leaving_the_with_block_closes_the_store(store: StoreHarness) -> None:
    """The store's connections are released at the end of the block: it cannot be used after it
    (SQLite's pool says it is closed; PostgreSQL's pool that it cannot be reused)."""
    with ProjectionStore(store.config("p")) as projections:
        assert projections.position() == 0
    closed = ConnectionPoolClosedError if store.backend == "sqlite" else OperationalError
    with pytest.raises(closed):
        projections.position()


def test_of_several_tip_moves_in_one_batch_the_last_is_the_tip(store: StoreHarness) -> None:
    from milestoned.projections.changes import MoveTip

    moves = [MoveTip(10, "aa" * 32, 1_000), MoveTip(11, "bb" * 32, 1_200), MoveTip(12, "cc" * 32, 1_400)]
    with ProjectionStore(store.config("p")) as projections:
        projections.apply(moves, position=3)
        tip = projections.chain_tip()
        assert tip is not None and (tip.slot, tip.header_hash) == (12, "cc" * 32)


def test_a_dump_neither_waits_for_a_write_in_progress_nor_sees_it(store: StoreHarness) -> None:
    """The daemon dumps the projections (a log check asked over the socket) while its follower may be in
    the middle of a batch on the same store: a dump is a read, served beside the open write transaction
    (on SQLite the writer's connection is exclusive), and it shows only what is committed."""
    from milestoned.projections.changes import MoveTip

    with ProjectionStore(store.config("p")) as projections:
        projections.apply([MoveTip(10, "aa" * 32, 1_000)], position=1)
        committed = projections.dump()
        with projections._transaction() as cursor:  # the follower's batch, not yet committed
            cursor.execute("DELETE FROM proj_chain_tip")
            assert projections.dump() == committed
        tables = orjson.loads(projections.dump())["tables"]
    # the one tip row (id 1) was committed before the write began; the delete shows once committed
    assert orjson.loads(committed)["tables"]["proj_chain_tip"] == [[1, 10, "aa" * 32, 1_000]]
    assert tables["proj_chain_tip"] == []
