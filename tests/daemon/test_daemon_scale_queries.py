"""The short version of the scale-queries benchmark (`make bench` runs 10,000 allocations and 50 clients):
a real `milestoned run` process with a fresh store follows a devnet chain of 200 allocations (40
beneficiaries x 5 milestones, 3-of-5 oracles) from the origin, while clients of its real Unix socket ask
`status` and `claimable --beneficiary` from the moment the socket opens.

What must hold, counted and never timed: every answer is correct (no error; a claimable answer names
only the beneficiary asked about and holds nothing its final answer does not; the final answers equal
the schedule), and answers were given while the catch-up was still under way, at several indexer
positions: none waited for the whole catch-up."""

from __future__ import annotations

from bench.chain_fixture import bench_chain
from bench.scale_queries import measure_daemon, shape_for

ALLOCATIONS = 200
BLOCKS = 2_000
CLIENTS = 5


async def test_socket_answers_are_right_and_do_not_wait_for_the_catch_up() -> None:
    shape = shape_for(ALLOCATIONS)
    assert (shape.beneficiaries, shape.milestones, shape.oracles, shape.quorum) == (40, 5, 5, 3)
    async with bench_chain(1, ALLOCATIONS, BLOCKS, reclaims=0, quiet=True, shape=shape) as chain:
        report = await measure_daemon(chain, shape, clients=CLIENTS, think_s=0.01, idle_s=0.5)
    assert report["problems"] == []
    assert report["answers"] > CLIENTS
    assert report["answers_while_moving"] >= 2, report["answers_while_moving"]
    assert report["slots_while_moving"] >= 2, "answers at one indexer position only"
    for phase in ("during", "idle"):
        for method in ("status", "claimable"):
            assert report["latencies"][phase][method], f"no {method} answer {phase} the catch-up"
