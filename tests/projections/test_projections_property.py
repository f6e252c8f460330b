"""Property: whatever forks happen, the live projections equal those of the final chain alone.

Random chains (blocks with locks, releases and reclaims), random rollbacks of depth 1 to 50 (down to the
origin), local commands in between, and catch-up at random moments in random batch sizes. The expected
projection is computed from a separate log holding only what survived.
"""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestoned.eventlog.events import Event, ReleaseSubmitted, SubmissionExpired
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import (
    TEST_SLOTS,
    ChainSimulator,
    StoreHarness,
    make_schedule,
    oracle_signature,
    surviving_events,
)
from milestoned.projections.projector import Projector
from milestoned.projections.replay import replay
from milestoned.projections.store import ProjectionStore

STEP = st.tuples(
    st.sampled_from(["block", "block", "block", "rollback", "sign", "submit"]), st.integers(1, 50)
)
_examples = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(STEP, min_size=1, max_size=40), seed=st.integers(0, 2**16), batch_size=st.integers(1, 25)
)
def test_live_projection_equals_projection_of_the_final_chain(
    store: StoreHarness, steps: list[tuple[str, int]], seed: int, batch_size: int
) -> None:
    n = next(_examples)
    simulator = ChainSimulator(rng=random.Random(seed))
    log, live = EventLog(store.config(f"log{n}")), ProjectionStore(store.config(f"live{n}"))
    projector = Projector(log, live, TEST_SLOTS, batch_size=batch_size)
    history: list[Event] = [make_schedule(0), make_schedule(1)]
    log.append(history)
    for kind, number in steps:
        batch: list[Event]
        if kind == "block":
            batch = simulator.next_block()
        elif kind == "rollback":
            batch = [simulator.rollback(number)]
        elif kind == "sign":
            batch = [
                oracle_signature(
                    number % 2, number % 3, ("01", "02", "03")[number % 3], valid=number % 7 != 0
                )
            ]
        else:
            tx = f"{number:064x}"
            batch = [ReleaseSubmitted(tx_id=tx, allocation_refs=(f"{tx}#0",), validity_upper_slot=number)]
            batch += [SubmissionExpired(tx_id=tx, reason="validity upper slot passed")] if number % 2 else []
        log.append(batch)
        history += batch
        if number % 3 == 0:
            projector.catch_up_once()
    projector.catch_up()

    final_chain_log = EventLog(store.config(f"final{n}"))
    final_chain_log.append(surviving_events(history))
    expected = ProjectionStore(store.config(f"expected{n}"))
    replay(final_chain_log, expected, TEST_SLOTS)

    assert live.dump(include_position=False) == expected.dump(include_position=False)
    assert live.claimable() == expected.claimable()
    assert live.milestone_states() == expected.milestone_states()
    for handle in (log, live, final_chain_log, expected):
        handle.close()
