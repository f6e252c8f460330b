"""Whether a byte string occurs in a large frame: the C library's `memmem` where there is one.

Why not `needle in haystack`: the chain follower asks, for every ~100 KB block frame, whether a known
schedule's policy id occurs in it. A policy id is 56 hex digits and the frame is mostly hex, so CPython's
search (two-way, skipping on single bytes) can rarely skip far: ~23 µs per frame. glibc's `memmem` skips
on pairs of bytes, and few of the 256 hex-digit pairs occur in one id, so it skips most of the needle's
length at each step: ~8 µs for the same answer (`bench/indexer.py` prints both). ctypes also releases the
GIL for the call, so a search never holds up another thread.

Where no C library with `memmem` can be loaded (Windows), `bytes.find` answers; the result is the same.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from typing import Final

MEMMEM_MIN_BYTES: Final = 4096
"""Below this, the ctypes call costs more than CPython's own search saves."""


def _load_memmem() -> Callable[[bytes, int, bytes, int], int | None] | None:
    for name in (None, ctypes.util.find_library("c")):
        try:
            function = ctypes.CDLL(name).memmem
        except (OSError, AttributeError, TypeError):
            continue
        function.restype = ctypes.c_void_p
        function.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
        return function
    return None


_memmem: Final = _load_memmem()


def memmem_available() -> bool:
    return _memmem is not None


def contains(haystack: bytes, needle: bytes) -> bool:
    """`needle in haystack`, faster on large haystacks (see the module docstring)."""
    if _memmem is None or len(haystack) < MEMMEM_MIN_BYTES or not needle:
        return needle in haystack
    return _memmem(haystack, len(haystack), needle, len(needle)) is not None
