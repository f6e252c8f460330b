"""The pure rules of high availability: who may write, the fence, and when an inherited intent may expire."""

from __future__ import annotations

import pytest

from milestoned.domain.leadership import (
    Leadership,
    Role,
    fence_admits,
    inherited_intent_may_expire,
    may_write,
    next_term,
)


def test_only_a_follower_may_not_write() -> None:
    assert may_write(Role.LEADER) and may_write(Role.SINGLE)
    assert not may_write(Role.FOLLOWER)
    assert Leadership(Role.FOLLOWER, 4, "a").to_json() == {"role": "follower", "term": 4, "leader": "a"}
    assert Leadership(Role.SINGLE, 0).to_json()["leader"] is None


def test_the_fence_admits_only_the_current_term() -> None:
    assert fence_admits(5, 5)
    assert not fence_admits(6, 5)  # deposed: another daemon was elected since
    assert not fence_admits(4, 5)


def test_terms_only_go_up() -> None:
    assert next_term(0) == 1 and next_term(41) == 42
    with pytest.raises(ValueError, match="never negative"):
        next_term(-1)


@pytest.mark.parametrize(
    ("intent_term", "own_term", "validity", "tip", "expected"),
    [
        (3, 3, 500, 100, True),  # our own intent, found nowhere: never sent
        (0, 0, 500, None, True),  # the single daemon of an SQLite store
        (2, 3, 500, 100, False),  # the deposed leader may still send it
        (2, 3, 500, None, False),  # no tip known: wait
        (2, 3, 500, 499, False),
        (2, 3, 500, 500, True),  # its validity has ended: the node refuses it now
        (2, 3, 0, 10_000, False),  # no validity end recorded: never expired by time
    ],
)
def test_an_inherited_intent_expires_only_after_its_validity(
    intent_term: int, own_term: int, validity: int, tip: int | None, expected: bool
) -> None:
    assert inherited_intent_may_expire(intent_term, own_term, validity, tip) is expected
