"""`freeze_startup_heap`: what is alive at start-up leaves the collector's scans; later garbage is still
collected (a frozen heap must not turn every later reference cycle into a leak)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from milestoned.daemon.heap import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def frozen_heap() -> Iterator[int]:
    try:
        yield freeze_startup_heap()
    finally:
        gc.unfreeze()


def test_startup_objects_are_frozen_and_later_cycles_still_collected(frozen_heap: int) -> None:
    assert frozen_heap > 1000  # the interpreter's and the test run's own objects at least
    assert 0 < gc.get_freeze_count() <= frozen_heap  # refcounting still frees frozen objects
    first, second = Node(), Node()
    first.other, second.other = second, first  # a cycle: only the collector can free it
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None
