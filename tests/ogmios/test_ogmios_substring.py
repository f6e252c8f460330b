"""`substring.contains` answers exactly what `in` answers, wherever the needle is and whatever the bytes."""

from __future__ import annotations

import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestoned.ogmios import substring
from milestoned.ogmios.substring import MEMMEM_MIN_BYTES, contains

HEX = b"0123456789abcdef"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memmem is only required where glibc is")
def test_the_c_search_is_used_on_linux() -> None:
    assert substring.memmem_available()


@settings(max_examples=300, deadline=None)
@given(
    filler=st.binary(min_size=1, max_size=64),
    size=st.integers(0, 3 * MEMMEM_MIN_BYTES),
    needle=st.binary(min_size=0, max_size=80),
    at=st.one_of(st.none(), st.floats(0, 1)),
)
def test_contains_is_in(filler: bytes, size: int, needle: bytes, at: float | None) -> None:
    haystack = (filler * (size // len(filler) + 1))[:size]
    if at is not None:  # plant the needle at the start, the end or anywhere between
        cut = round(at * len(haystack))
        haystack = haystack[:cut] + needle + haystack[cut:]
    assert contains(haystack, needle) == (needle in haystack)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    size=st.integers(MEMMEM_MIN_BYTES, 4 * MEMMEM_MIN_BYTES),
    cut=st.integers(0, 55),
)
def test_a_policy_id_in_hex_noise_is_found_only_whole(seed: int, size: int, cut: int) -> None:
    """Frames are mostly hex: the case where a search skips least. A near miss (the id with one digit
    changed, or cut short by the end of the frame) must not count."""
    policy = bytes(HEX[(7 * i) % 16] for i in range(56))
    noise = random.Random(seed).randbytes(size).hex().encode()[:size]
    assert contains(noise + policy + noise, policy)
    near_miss = policy[:cut] + (b"x" if policy[cut : cut + 1] != b"x" else b"y") + policy[cut + 1 :]
    assert contains(noise + near_miss + noise, policy) == (policy in noise + near_miss + noise)
    assert contains(noise + policy[:cut], policy) == (policy in noise + policy[:cut])
