"""Reconnect delays: exponential backoff with jitter, as a pure function.

Why pure: the delay policy decides how hard a restarting daemon hits an Ogmios that is down; tests check it
without sleeping, and the reconnecting shell (`client.connect_with_backoff`) only feeds it a random number.
Jitter spreads reconnects of many daemons (or many sockets of one) so they do not arrive in lock-step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """delay(n) = min(maximum, initial × factor^n), then scaled into [1 − jitter, 1] of itself at random."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial:
            raise ValueError(
                f"backoff needs 0 < initial <= maximum, got initial={self.initial}, maximum={self.maximum}"
            )
        if self.factor < 1:
            raise ValueError(f"backoff factor must be >= 1 (delays must not shrink), got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter is a fraction in [0, 1], got {self.jitter}")


def backoff_delay(policy: BackoffPolicy, attempt: int, random_fraction: float) -> float:
    """Seconds to wait before reconnect attempt number `attempt` (0 = the first retry).

    `random_fraction` is a uniform number in [0, 1) supplied by the caller (`random.random()`).
    """
    if attempt < 0:
        raise ValueError(f"attempt counts from 0, got {attempt}")
    if not 0 <= random_fraction <= 1:
        raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction}")
    # A power too large for a float raises OverflowError (or gives inf): either way the cap applies. No
    # cut-off on the attempt number: a factor just above 1 stays far below the cap for thousands of attempts.
    try:
        base = min(policy.maximum, policy.initial * policy.factor**attempt)
    except OverflowError:
        base = policy.maximum
    return base * (1 - policy.jitter * random_fraction)
