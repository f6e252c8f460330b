"""Bech32 (BIP 173) as Cardano addresses use it, with the checksum computed from a table. Pure.

Why not pycardano's `pycardano.crypto.bech32` (the BIP's reference code): its checksum loops over the
five generator bits of every character, about 75 µs an address, and the daemon reads thousands of them
at once: a discovered 10,000-allocation schedule's 2,000 beneficiaries are decoded and spelt again
(about 300 ms of the follower's 580 ms parse, bench/scale_queries.py traced), and every locked allocation's
beneficiary is spelt from its datum. The table folds the five steps into one lookup; everything else
(what is refused, the HRP expansion, the checksum's place) is the reference's, and a test compares the
two on valid and damaged addresses.
"""

from __future__ import annotations

from pycardano.crypto.bech32 import CHARSET

_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_TABLE = tuple(
    _GENERATOR[0] * (top & 1)
    ^ _GENERATOR[1] * (top >> 1 & 1)
    ^ _GENERATOR[2] * (top >> 2 & 1)
    ^ _GENERATOR[3] * (top >> 3 & 1)
    ^ _GENERATOR[4] * (top >> 4 & 1)
    for top in range(32)
)
"""The generator terms the reference XORs in for each value of the checksum's top five bits."""
_VALUES = {char: value for value, char in enumerate(CHARSET)}
MAX_LENGTH = 108
"""The longest string the reference decodes (Cardano's own limit; BIP 173 says 90)."""


def _polymod(values: list[int]) -> int:
    chk = 1
    table = _TABLE
    for value in values:
        chk = (chk & 0x1FFFFFF) << 5 ^ value ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def decode(text: str) -> tuple[str, list[int]] | None:
    """(HRP, 5-bit data without the checksum) of a valid Bech32 string (not Bech32m), else None; the
    reference's `bech32_decode` with `Encoding.BECH32`."""
    if any(ord(x) < 33 or ord(x) > 126 for x in text) or (text.lower() != text and text.upper() != text):
        return None
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > MAX_LENGTH:
        return None
    values = _VALUES
    try:
        data = [values[x] for x in text[pos + 1 :]]
    except KeyError:
        return None
    hrp = text[:pos]
    if _polymod(_hrp_expand(hrp) + data) != 1:
        return None
    return hrp, data[:-6]


def encode(hrp: str, data: list[int]) -> str:
    """The Bech32 string of `hrp` and 5-bit `data` (the reference's `bech32_encode`, `Encoding.BECH32`)."""
    polymod = _polymod(_hrp_expand(hrp) + data + [0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join([CHARSET[d] for d in data + checksum])
