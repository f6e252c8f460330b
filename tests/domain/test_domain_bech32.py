"""`domain.bech32` (a checksum from a table) reads and spells exactly what the BIP's reference code does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pycardano.crypto import bech32 as reference

from milestoned.domain import bech32

HRPS = st.sampled_from(["addr", "addr_test", "stake", "stake_test", "x", "addr_vkh"])
PAYLOADS = st.binary(min_size=1, max_size=60)
CHARACTERS = st.sampled_from("qpzry9x8gf2tvdw0s3jn54khce6mua7lB1 ")
"""Replacements: the data alphabet, a capital, the separator, a space."""


def _expected(text: str) -> tuple[str, list[int]] | None:
    hrp, data, spec = reference.bech32_decode(text)
    return (hrp, data) if spec is reference.Encoding.BECH32 else None


@settings(max_examples=300, deadline=None)
@given(HRPS, PAYLOADS, st.integers(min_value=0, max_value=200), CHARACTERS)
def test_spelling_and_reading_agree_with_the_reference(hrp: str, payload: bytes, at: int, char: str) -> None:
    data = reference.convertbits(payload, 8, 5)
    text = reference.bech32_encode(hrp, data, reference.Encoding.BECH32)
    assert bech32.encode(hrp, data) == text
    assert bech32.decode(text) == (hrp, data)
    at %= len(text)
    damaged = [
        text[:at] + char + text[at + 1 :],  # one character changed (or a space, a capital, a separator)
        text[:at] + text[at + 1 :],  # one dropped
        text.upper(),
        text[:at] + text[at:].upper(),  # mixed case
        reference.bech32_encode(hrp, data, reference.Encoding.BECH32M),  # Bech32m: not Cardano's
        text + "q" * 60,  # too long
    ]
    for candidate in damaged:
        assert bech32.decode(candidate) == _expected(candidate), candidate
