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


def _with_checksum_only(hrp: str, symbols: int) -> str | None:
    """`hrp` + "1" + `symbols` data characters whose checksum over the whole string is valid, when some
    exist: the checksum is linear over GF(2) in the symbols' bits, so solve for them (None if it cannot)."""

    def polymod(tail: list[int]) -> int:
        return bech32._polymod(bech32._hrp_expand(hrp) + tail)

    zero = polymod([0] * symbols)
    columns = []
    for bit in range(5 * symbols):
        tail = [0] * symbols
        tail[bit // 5] = 1 << (bit % 5)
        columns.append((polymod(tail) ^ zero, 1 << bit))
    target, chosen = 1 ^ zero, 0
    basis: list[
        tuple[int, int]
    ] = []  # Gaussian elimination over 30-bit rows, each with the bits that make it
    for column, bits in columns:
        for pivot, pivot_bits in basis:
            if column ^ pivot < column:
                column, bits = column ^ pivot, bits ^ pivot_bits
        if column:
            basis.append((column, bits))
            basis.sort(reverse=True)
    for pivot, pivot_bits in basis:
        if target ^ pivot < target:
            target, chosen = target ^ pivot, chosen ^ pivot_bits
    if target:
        return None
    tail = [(chosen >> (5 * i)) & 31 for i in range(symbols)]
    assert polymod(tail) == 1
    return hrp + "1" + "".join(reference.CHARSET[v] for v in tail)


def test_the_edges_the_reference_refuses_or_accepts() -> None:
    """Each limit of the reference's `bech32_decode`, on strings whose checksum is valid: a human-readable
    part of the outermost printable characters ('!' and '~') is read, a space or an empty part is not, a
    tail of 5 characters is too short for a checksum, and 108 characters is the longest read."""
    short = next(t for t in (_with_checksum_only(f"h{n}", 5) for n in range(400)) if t is not None)
    read = {
        bech32.encode("a!b", [1, 2, 3]): True,
        bech32.encode("a~b", [1, 2, 3]): True,
        bech32.encode("a b", [1, 2, 3]): False,
        bech32.encode("", [1, 2, 3]): False,
        short: False,
        bech32.encode("addr", [0] * (108 - len("addr1") - 6)): True,
        bech32.encode("addr", [0] * (109 - len("addr1") - 6)): False,
    }
    for text, readable in read.items():
        assert (bech32.decode(text) is not None) == readable, text
        assert bech32.decode(text) == _expected(text), text
