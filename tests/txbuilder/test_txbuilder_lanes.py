"""`all_or_none`, how a release's lanes run: when one lane fails, the others stop building.

Why it matters: every transaction a lane builds is handed to the daemon's sender. With a bare `gather`, the
other lanes went on building and handing over transactions after one lane ran out of funds, while the
daemon, already holding the error, built the same allocations again for its retry."""

from __future__ import annotations

import asyncio

import pytest

from milestoned.txbuilder.release import all_or_none


class OutOfFunds(Exception):
    pass


async def test_one_lane_failing_cancels_the_others_before_they_hand_over_more() -> None:
    handed_over: list[str] = []

    async def lane(name: str, steps: int, fail_at: int | None = None) -> str:
        for step in range(steps):
            await asyncio.sleep(0)
            if step == fail_at:
                raise OutOfFunds(name)
            handed_over.append(f"{name}{step}")
        return name

    with pytest.raises(OutOfFunds) as failed:  # the lane's own error, not an ExceptionGroup
        await all_or_none([lane("a", 100), lane("b", 100, fail_at=3)])
    assert str(failed.value) == "b"
    after_failure = list(handed_over)
    for _ in range(20):  # nothing of the other lane runs any more
        await asyncio.sleep(0)
    assert handed_over == after_failure
    assert "a99" not in handed_over


async def test_every_lane_s_result_in_order_when_none_fails() -> None:
    async def lane(name: str, delay_steps: int) -> str:
        for _ in range(delay_steps):
            await asyncio.sleep(0)
        return name

    assert await all_or_none([lane("slow", 5), lane("fast", 0)]) == ["slow", "fast"]
