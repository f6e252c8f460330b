"""Where a move transaction's outputs go, and which wallet inputs pay for it. Pure.

Why: the allocation validator's `Move(index)` ties each moved allocation to two positions that must be
equal: the allocation's place among the transaction's inputs as the ledger sorts them (by transaction id,
then output index), and the place of its re-locked copy among the outputs. So the outputs cannot be
laid out before the inputs are known, and every output position below the last moved allocation that
is not a moved allocation (it is the position of a wallet input) needs an output of its own: a filler,
paid back to the wallet (each above the min-UTxO, so the wallet must hold that much more). Wallet
inputs that sort after every moved allocation need no filler, so they are preferred.

An input is named by its sort key `(transaction id bytes, output index)`, the ledger's order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

InputKey = tuple[bytes, int]


@dataclass(frozen=True)
class MoveLayout:
    """The sorted inputs of a move and the outputs they call for.

    `outputs[i]` is the moved allocation whose re-locked copy is output `i` (its input is input `i`
    too), or None for a filler paid to the wallet. The change comes after them all."""

    inputs: tuple[InputKey, ...]
    outputs: tuple[InputKey | None, ...]

    @property
    def positions(self) -> dict[InputKey, int]:
        """Each moved allocation's index: the `Move(index)` redeemer's."""
        return {key: i for i, key in enumerate(self.outputs) if key is not None}

    @property
    def fillers(self) -> int:
        return sum(1 for key in self.outputs if key is None)


def move_layout(allocations: Collection[InputKey], wallet_inputs: Iterable[InputKey]) -> MoveLayout:
    """The layout of a move spending `allocations` (at least one) and `wallet_inputs`."""
    if not allocations:
        raise ValueError("a move spends at least one allocation")
    moved = set(allocations)
    inputs = tuple(sorted(moved | set(wallet_inputs)))
    last = max(i for i, key in enumerate(inputs) if key in moved)
    return MoveLayout(inputs, tuple(key if key in moved else None for key in inputs[: last + 1]))


def choose_wallet_inputs(
    allocations: Collection[InputKey],
    wallet: Sequence[tuple[InputKey, int]],
    reserve: int,
    filler_lovelace: int,
) -> tuple[InputKey, ...] | None:
    """Wallet inputs (key, lovelace) whose lovelace covers `reserve` (fee and change) plus one
    `filler_lovelace` per filler they cause; None when no choice of the wallet's inputs can.

    Inputs that sort after every allocation cause no filler: when they alone cover, the fewest of them
    (largest first) are taken. Otherwise an input that sorts before the last allocation brings its
    lovelace less the filler its position calls for (it adds exactly one: its own position, the others'
    stay as they were), so one holding no more than a filler is never worth taking; inputs are taken by
    what they bring, most first, until the sum covers, and when the worthwhile ones together fall short,
    nothing can cover.
    """
    if not allocations:
        raise ValueError("a move spends at least one allocation")
    last = max(allocations)

    def brings(item: tuple[InputKey, int]) -> int:
        key, lovelace = item
        return lovelace - filler_lovelace if key < last else lovelace

    after = sorted((item for item in wallet if item[0] > last), key=lambda item: (-item[1], item[0]))
    if sum(lovelace for _, lovelace in after) >= reserve:
        candidates = after
    else:
        candidates = sorted(wallet, key=lambda item: (-brings(item), item[0]))
    chosen: list[InputKey] = []
    have = 0
    for key, lovelace in candidates:
        if brings((key, lovelace)) <= 0:
            break
        chosen.append(key)
        have += lovelace
        if have >= reserve + move_layout(allocations, chosen).fillers * filler_lovelace:
            return tuple(chosen)
    return None
