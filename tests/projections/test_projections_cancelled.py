"""A milestone's cancellation in the projections (issue 15, point 1): the allocations it took back are
reclaims marked by their milestone's cancellation, shown `milestone_cancelled` (not `already_claimed`);
a rollback below the cancellation's block undoes it, on both backends (the table is new)."""

from __future__ import annotations

from milestoned.eventlog.events import (
    AllocationCancelled,
    AllocationLocked,
    AllocationReleased,
    ChainCursorCheckpointed,
    ChainPoint,
    MilestoneCancelled,
    RolledBack,
)
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import TEST_SLOTS, StoreHarness, make_schedule
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore
from milestoned.web.viewmodels import reasons

SCHEDULE = make_schedule(0)
SID = SCHEDULE.schedule_id
ALICE = "addr_test1qalice"
CANCEL_TX = "ca" * 32


def point(slot: int) -> ChainPoint:
    return ChainPoint(slot=slot, header_hash=f"{slot:064x}")


def locked(n: int, milestone: str) -> AllocationLocked:
    return AllocationLocked(
        point(10), f"{n:064x}", SID, f"{n:064x}#0", ALICE, 10 * n, milestone, TEST_SLOTS.slot_to_posix_ms(5)
    )


def test_cancelled_allocations_show_milestone_cancelled_until_a_rollback_undoes_it(
    store: StoreHarness,
) -> None:
    log, projections = EventLog(store.config("log")), ProjectionStore(store.config("proj"))
    projector = Projector(log, projections, TEST_SLOTS)
    log.append([SCHEDULE])
    log.append(
        [
            locked(1, "01"),
            locked(2, "01"),
            locked(3, "01"),
            locked(4, "02"),
            ChainCursorCheckpointed(point(10)),
        ]
    )
    log.append([AllocationReleased(point(20), f"{9:064x}", SID, f"{3:064x}#0")])  # released before
    log.append(
        [
            AllocationCancelled(point(30), CANCEL_TX, SID, f"{1:064x}#0"),
            MilestoneCancelled(point(30), CANCEL_TX, SID, "01", (0, 2)),
        ]
    )
    projector.catch_up()
    status = {
        a.out_ref[:64].lstrip("0"): (a.status, a.reclaimed, a.claimable_now) for a in projections.claimable()
    }
    assert status == {
        "1": ("milestone_cancelled", True, False),  # taken back by the cancellation
        "2": ("milestone_cancelled", False, False),  # still locked (another batch): never claimable
        "3": ("already_claimed", False, False),  # released before: that stays first
        "4": ("milestone_not_verified", False, False),
    }
    states = {m.milestone_id: m for m in projections.milestone_states()}
    assert states["01"].cancelled_in == (CANCEL_TX,) and states["01"].allocations_reclaimed == 1
    assert not states["02"].cancelled
    assert [a.status for a in projections.claimable(ALICE)][:2] == ["milestone_cancelled"] * 2
    assert [reasons(a, in_flight=False) for a in projections.claimable()][:3] == [  # the web view's words
        ["milestone_cancelled"],
        ["milestone_cancelled"],
        ["already_claimed"],
    ]

    log.append([RolledBack(point(20))])
    projector.catch_up()
    assert {a.status for a in projections.claimable()} == {"milestone_not_verified", "already_claimed"}
    assert not any(m.cancelled for m in projections.milestone_states())
    log.close()
    projections.close()
