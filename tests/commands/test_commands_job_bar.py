"""The job bar's position (`jobs_cmd.bar_position`): by allocations when the job knows its total (a large
registration or release, so the bar and its time estimate are right from the first transaction), else by
transactions."""

from __future__ import annotations

from typing import Any

from milestoned.commands.jobs_cmd import _counts, bar_position


def job(kind: str, phase: str = "submitting", **counts: Any) -> dict[str, Any]:
    base = {"kind": kind, "phase": phase, "built": 5, "submitted": 3, "confirmed": 1}
    base.update({"allocations_total": None, "allocations_built": 0, "allocations_submitted": 0})
    return {**base, **counts}


def test_a_registration_moves_by_allocations_built_and_a_release_by_allocations_submitted() -> None:
    assert bar_position(job("register", allocations_total=10_100, allocations_built=722)) == (10_100, 722)
    release = job("release", allocations_total=10_000, allocations_built=5_104, allocations_submitted=5_000)
    assert bar_position(release) == (10_000, 5_000)
    assert _counts(release).startswith("5,000/10,000 allocations")


def test_without_a_total_the_bar_counts_transactions_submitted_then_confirmed() -> None:
    assert bar_position(job("release")) == (5, 3)
    assert bar_position(job("release", phase="confirming")) == (5, 1)
    assert bar_position(job("release", built=0, submitted=0)) == (None, 0)
    assert "allocations" not in _counts(job("release"))
