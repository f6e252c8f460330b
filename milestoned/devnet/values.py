"""Value arithmetic for the ledger's balance rules, as plain dictionaries.

WHY not pycardano's Value: the balance rule compares consumed and produced values that can hold
negative quantities (burns) and zero entries; a flat `{(policy, name): quantity}` bag with zeros
dropped makes equality exact and the error data easy to encode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pycardano import MultiAsset, Value

AssetKey = tuple[bytes, bytes]


@dataclass(frozen=True)
class Bag:
    """Lovelace plus native assets keyed by (policy id, asset name); zero entries never stored."""

    lovelace: int = 0
    assets: Mapping[AssetKey, int] = field(default_factory=dict)

    def __add__(self, other: Bag) -> Bag:
        merged = dict(self.assets)
        for key, quantity in other.assets.items():
            merged[key] = merged.get(key, 0) + quantity
        return Bag(self.lovelace + other.lovelace, {k: q for k, q in merged.items() if q != 0})

    def __neg__(self) -> Bag:
        return Bag(-self.lovelace, {k: -q for k, q in self.assets.items()})

    def __sub__(self, other: Bag) -> Bag:
        return self + (-other)

    def to_ogmios(self) -> dict[str, Any]:
        encoded: dict[str, Any] = {"ada": {"lovelace": self.lovelace}}
        for (policy, name), quantity in sorted(self.assets.items()):
            encoded.setdefault(policy.hex(), {})[name.hex()] = quantity
        return encoded


def bag_of(amount: Value | int) -> Bag:
    if isinstance(amount, int):
        return Bag(amount)
    return Bag(amount.coin, multi_asset_entries(amount.multi_asset))


def multi_asset_entries(multi_asset: MultiAsset | None) -> dict[AssetKey, int]:
    entries: dict[AssetKey, int] = {}
    for policy, assets in (multi_asset or {}).items():
        for name, quantity in assets.items():
            if quantity != 0:
                key = (bytes(policy.payload), bytes(name.payload))
                entries[key] = entries.get(key, 0) + quantity
    return entries


def total(bags: Iterable[Bag]) -> Bag:
    result = Bag()
    for bag in bags:
        result = result + bag
    return result
