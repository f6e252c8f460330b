"""The layout of a move transaction (issue 15): each moved allocation's re-locked output at its input's
sorted position, fillers elsewhere, and the wallet inputs that pay for it. Pure, property-tested."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestoned.domain.move_layout import InputKey, choose_wallet_inputs, move_layout

KEYS = st.lists(
    st.tuples(st.binary(min_size=2, max_size=2), st.integers(0, 3)), min_size=1, max_size=12, unique=True
)


def split(keys: list[InputKey], data: st.DataObject) -> tuple[list[InputKey], list[InputKey]]:
    count = data.draw(st.integers(1, len(keys)))
    return keys[:count], keys[count:]


@given(KEYS, st.data())
def test_each_moved_allocation_sits_at_its_sorted_input_position(
    keys: list[InputKey], data: st.DataObject
) -> None:
    allocations, wallet = split(keys, data)
    layout = move_layout(allocations, wallet)
    assert list(layout.inputs) == sorted(keys)
    assert sorted(layout.positions) == sorted(allocations)
    for key, index in layout.positions.items():
        assert layout.inputs[index] == key and layout.outputs[index] == key
    last = max(layout.positions.values())
    assert len(layout.outputs) == last + 1  # the change follows the last moved allocation
    assert layout.fillers == sum(1 for key in wallet if key < max(allocations))


def test_a_wallet_input_sorting_first_needs_one_filler() -> None:
    layout = move_layout([(b"\x05", 0), (b"\x07", 1)], [(b"\x01", 0), (b"\x09", 0)])
    assert layout.outputs == (None, (b"\x05", 0), (b"\x07", 1))
    assert layout.positions == {(b"\x05", 0): 1, (b"\x07", 1): 2} and layout.fillers == 1
    with pytest.raises(ValueError, match="at least one allocation"):
        move_layout([], [(b"\x01", 0)])


FILLER = 1_000


@given(KEYS, st.data(), st.integers(1, 20_000))
def test_the_chosen_wallet_inputs_cover_the_fee_and_their_fillers(
    keys: list[InputKey], data: st.DataObject, reserve: int
) -> None:
    allocations, wallet_keys = split(keys, data)
    wallet = [(key, data.draw(st.integers(1, 8_000))) for key in wallet_keys]
    chosen = choose_wallet_inputs(allocations, wallet, reserve, FILLER)
    last = max(allocations)
    worth = sum(max(0, lovelace - (FILLER if key < last else 0)) for key, lovelace in wallet)
    if chosen is None:
        assert worth < reserve  # nothing could have covered it
        return
    lovelace = dict(wallet)
    fillers = move_layout(allocations, chosen).fillers
    assert sum(lovelace[k] for k in chosen) >= reserve + fillers * FILLER
    if sum(lovelace for key, lovelace in wallet if key > last) >= reserve:
        assert fillers == 0  # inputs after the allocations suffice: no filler is paid for
    fewer = move_layout(allocations, chosen[:-1]).fillers
    assert sum(lovelace[k] for k in chosen[:-1]) < reserve + fewer * FILLER  # none taken beyond need


def test_inputs_after_the_allocations_come_first_and_small_ones_before_are_never_taken() -> None:
    allocation = (b"\x50", 0)
    before, after, crumb = ((b"\x10", 0), 9_000), ((b"\x90", 0), 5_000), ((b"\x11", 0), 900)
    assert choose_wallet_inputs([allocation], [before, after], 4_000, FILLER) == (after[0],)
    assert choose_wallet_inputs([allocation], [before, after], 7_000, FILLER) == (before[0],)
    assert choose_wallet_inputs([allocation], [crumb], 1, FILLER) is None
