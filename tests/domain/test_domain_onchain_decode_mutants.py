"""Decoding Plutus constructors and naming JSON types: tests for domain mutants that survived
(issue 19). Every constructor encoding CBOR allows is tried at the ends of its tag range.
"""

from __future__ import annotations

import cbor2

from milestoned.domain.json_types import json_type_name
from milestoned.domain.onchain_types import _constructor, _show


def test_constructor_tags_at_the_ends_of_their_ranges() -> None:
    assert _constructor(cbor2.CBORTag(121, [1])) == (0, [1])
    assert _constructor(cbor2.CBORTag(127, [])) == (6, [])
    assert _constructor(cbor2.CBORTag(128, [])) is None
    assert _constructor(cbor2.CBORTag(1279, [])) is None
    assert _constructor(cbor2.CBORTag(1280, [])) == (7, [])
    assert _constructor(cbor2.CBORTag(1400, [])) == (127, [])
    assert _constructor(cbor2.CBORTag(1401, [])) is None


def test_the_general_constructor_form_is_index_and_fields() -> None:
    assert _constructor(cbor2.CBORTag(102, [200, [5]])) == (200, [5])
    assert _constructor(cbor2.CBORTag(102, [200, [5], 9])) is None
    assert _constructor(cbor2.CBORTag(102, [200])) is None
    assert _constructor(cbor2.CBORTag(102, [True, []])) is None
    assert _constructor(cbor2.CBORTag(121, 5)) is None
    assert _constructor(5) is None


def test_long_values_are_shortened_in_messages() -> None:
    assert _show("a" * 118) == repr("a" * 118)  # 120 characters with the quotes
    assert _show("a" * 119) == repr("a" * 119)[:117] + "..."


def test_json_type_names() -> None:
    assert [json_type_name(v) for v in (None, True, 1, 1.5, "s", [], (), {})] == [
        "null",
        "a boolean",
        "a whole number",
        "a fractional number",
        "a string",
        "a list",
        "a list",
        "an object",
    ]
    assert json_type_name(b"x") == "bytes"
