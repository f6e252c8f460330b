"""The reconnect delay policy, checked as a pure function."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestoned.ogmios.backoff import BackoffPolicy, backoff_delay

policies = st.builds(
    BackoffPolicy,
    initial=st.floats(0.01, 5),
    maximum=st.floats(5, 120),
    factor=st.floats(1, 4),
    jitter=st.floats(0, 1),
)


@given(policies, st.integers(0, 10_000), st.floats(0, 1))
def test_delay_stays_between_the_jitter_floor_and_the_cap(
    policy: BackoffPolicy, attempt: int, u: float
) -> None:
    delay = backoff_delay(policy, attempt, u)
    try:
        base = min(policy.maximum, policy.initial * policy.factor**attempt)
    except OverflowError:
        base = policy.maximum
    assert base * (1 - policy.jitter) - 1e-9 <= delay <= base + 1e-9
    assert delay <= policy.maximum + 1e-9


@given(policies, st.integers(0, 60), st.floats(0, 1))
def test_delay_never_shrinks_as_attempts_grow(policy: BackoffPolicy, attempt: int, u: float) -> None:
    assert backoff_delay(policy, attempt + 1, u) >= backoff_delay(policy, attempt, u) - 1e-12


def test_the_default_policy_doubles_from_half_a_second_up_to_thirty() -> None:
    policy = BackoffPolicy()
    assert [backoff_delay(policy, n, 0.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(policy, 3, 1.0) == 2.0  # full jitter halves it


def test_jitter_spreads_delays() -> None:
    policy = BackoffPolicy(initial=1, maximum=1, jitter=0.5)
    assert {backoff_delay(policy, 0, u) for u in (0.0, 0.5, 1.0)} == {1.0, 0.75, 0.5}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": 0}, "0 < initial"),
        ({"initial": 10, "maximum": 1}, "initial <= maximum"),
        ({"factor": 0.5}, "factor must be >= 1"),
        ({"jitter": 1.5}, "jitter is a fraction"),
    ],
)
def test_bad_policies_are_refused_with_the_reason(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BackoffPolicy(**kwargs)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="attempt counts from 0"):
        backoff_delay(BackoffPolicy(), -1, 0.5)
    with pytest.raises(ValueError, match="random_fraction"):
        backoff_delay(BackoffPolicy(), 0, 2.0)
