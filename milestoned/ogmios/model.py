"""Typed values for what Ogmios v6.x and v7.0 send back.

Why typed values at all: the rest of the daemon (indexer, tx builder, doctor) should not know JSON key names
or the v6/v7 differences; it gets these frozen dataclasses instead. The shapes follow the official schema
(`shared/ogmios/schema/*/cardano.json`), not the prose docs. Unknown fields are ignored, so a newer Ogmios
that adds fields keeps working; what we do not model is still reachable through `raw` where it is kept.

Conventions:
- hashes, ids, addresses and CBOR stay as the lower-case hex / bech32 strings Ogmios sends;
- lovelace and asset quantities are `int`; ratios (`"num/den"` strings) are `fractions.Fraction`;
- the genesis point/tip is the string `"origin"` (`ORIGIN`), exactly as on the wire;
- nested JSON we do not interpret (metadata labels, native-script JSON, thresholds) is kept as decoded JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, FrozenInstanceError, dataclass, field, fields
from typing import Any, Final, Literal, TypeVar

from milestoned.ogmios.substring import contains

_C = TypeVar("_C", bound=type)


def fast_init(cls: _C) -> _C:
    """Give a frozen, slotted dataclass a faster `__init__` with the same signature and behaviour.

    Why: the generated `__init__` of a frozen dataclass stores each field through `object.__setattr__`,
    which makes a 20-field transaction cost microseconds; chain sync types thousands per block. This one
    stores through the slot descriptors directly. The instances stay frozen: assignment still raises.
    """
    namespace: dict[str, Any] = {"_MISSING": MISSING}
    params: list[str] = []
    body: list[str] = []
    for f in fields(cls):
        if f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"if {f.name} is _MISSING: {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        body.append(f"_set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


ORIGIN: Final = "origin"
Origin = Literal["origin"]

EMPTY_ASSETS: Final[Mapping[str, Mapping[str, int]]] = {}
EMPTY_MAPPING: Final[Mapping[str, Any]] = {}
"""Shared empty mappings for absent fields (saves an allocation per transaction). Never mutate them."""


@fast_init
@dataclass(frozen=True, slots=True)
class Point:
    """A block on the chain: its slot and header hash."""

    slot: int
    id: str

    def to_json(self) -> dict[str, Any]:
        return {"slot": self.slot, "id": self.id}


PointOrOrigin = Point | Origin


@fast_init
@dataclass(frozen=True, slots=True)
class Tip:
    """The node's chain tip: a point plus the block height."""

    slot: int
    id: str
    height: int

    @property
    def point(self) -> Point:
        return Point(self.slot, self.id)


TipOrOrigin = Tip | Origin


def point_to_json(point: PointOrOrigin) -> dict[str, Any] | str:
    """The wire form of a point, as `findIntersection` and `acquireLedgerState` expect it."""
    return ORIGIN if point == ORIGIN else point.to_json()


@fast_init
@dataclass(frozen=True, slots=True)
class OutputReference:
    """Names one transaction output: the id of the transaction that created it and its index."""

    transaction_id: str
    index: int

    def to_json(self) -> dict[str, Any]:
        return {"transaction": {"id": self.transaction_id}, "index": self.index}

    def __str__(self) -> str:
        return f"{self.transaction_id}#{self.index}"


@fast_init
@dataclass(frozen=True, slots=True)
class Value:
    """Lovelace plus native assets (policy id → asset name hex → quantity). Mint uses signed quantities."""

    lovelace: int
    assets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def quantity(self, policy_id: str, asset_name: str = "") -> int:
        return self.assets.get(policy_id, {}).get(asset_name, 0)

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"ada": {"lovelace": self.lovelace}}
        value.update({policy: dict(names) for policy, names in self.assets.items()})
        return value


@fast_init
@dataclass(frozen=True, slots=True)
class Script:
    """A script as Ogmios shows it: `language` is native, plutus:v1…v3 (v7: plutus:v4)."""

    language: str
    cbor: str | None = None
    json: Any = None


@fast_init
@dataclass(frozen=True, slots=True)
class TransactionOutput:
    """An output: address, value, and at most one of datum hash / inline datum (hex CBOR), plus a script."""

    address: str
    value: Value
    datum_hash: str | None = None
    datum: str | None = None
    script: Script | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "value": self.value.to_json()}
        if self.datum_hash is not None:
            out["datumHash"] = self.datum_hash
        if self.datum is not None:
            out["datum"] = self.datum
        if self.script is not None:
            script: dict[str, Any] = {"language": self.script.language}
            if self.script.cbor is not None:
                script["cbor"] = self.script.cbor
            if self.script.json is not None:
                script["json"] = self.script.json
            out["script"] = script
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class Utxo:
    """An unspent output together with its reference."""

    reference: OutputReference
    output: TransactionOutput

    @property
    def address(self) -> str:
        return self.output.address

    @property
    def value(self) -> Value:
        return self.output.value

    def to_json(self) -> dict[str, Any]:
        """The `additionalUtxo` wire form for `evaluateTransaction`."""
        out = self.output.to_json()
        out["transaction"] = {"id": self.reference.transaction_id}
        out["index"] = self.reference.index
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class ExecutionUnits:
    memory: int
    cpu: int


@fast_init
@dataclass(frozen=True, slots=True)
class RedeemerPointer:
    """Which script a redeemer or budget is for: purpose (spend, mint, publish, withdraw…) and index."""

    purpose: str
    index: int


@fast_init
@dataclass(frozen=True, slots=True)
class Redeemer:
    validator: RedeemerPointer
    data: str
    """The redeemer's Plutus data, hex CBOR."""
    execution_units: ExecutionUnits


@fast_init
@dataclass(frozen=True, slots=True)
class ValidityInterval:
    """Slots: valid from `invalid_before` (inclusive) until `invalid_after` (exclusive); None = unbounded."""

    invalid_before: int | None = None
    invalid_after: int | None = None


NO_VALIDITY_INTERVAL: Final = ValidityInterval()


@fast_init
@dataclass(frozen=True, slots=True)
class Metadata:
    """Auxiliary data: its hash and the labels as Ogmios renders them (`{"json": …}` and/or `{"cbor": …}`)."""

    hash: str
    labels: Mapping[str, Any]


@fast_init
@dataclass(frozen=True, slots=True)
class Signatory:
    key: str
    signature: str


@fast_init
@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction of a block.

    `spends` is "inputs" for a valid transaction and "collaterals" for one whose scripts failed (phase 2):
    then only `collaterals` are consumed and only `collateral_return` is produced. Use `consumed` and
    `produced` rather than `inputs`/`outputs` so failed transactions are handled correctly.
    """

    id: str
    spends: str
    inputs: tuple[OutputReference, ...]
    outputs: tuple[TransactionOutput, ...] = ()
    references: tuple[OutputReference, ...] = ()
    collaterals: tuple[OutputReference, ...] = ()
    collateral_return: TransactionOutput | None = None
    total_collateral: int | None = None
    fee: int | None = None
    mint: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    withdrawals: Mapping[str, int] = field(default_factory=dict)
    redeemers: tuple[Redeemer, ...] = ()
    datums: Mapping[str, str] = field(default_factory=dict)
    scripts: Mapping[str, Script] = field(default_factory=dict)
    signatories: tuple[Signatory, ...] = ()
    required_extra_signatories: tuple[str, ...] = ()
    validity_interval: ValidityInterval = NO_VALIDITY_INTERVAL
    metadata: Metadata | None = None
    script_integrity_hash: str | None = None
    network: str | None = None
    cbor: str | None = None

    @property
    def failed(self) -> bool:
        """True when phase-2 validation failed and the collateral was taken instead."""
        return self.spends == "collaterals"

    @property
    def consumed(self) -> tuple[OutputReference, ...]:
        """The outputs this transaction really spends."""
        return self.collaterals if self.spends == "collaterals" else self.inputs

    @property
    def produced(self) -> tuple[Utxo, ...]:
        """The outputs this transaction really creates (the collateral return sits at index len(outputs))."""
        if self.spends == "collaterals":
            if self.collateral_return is None:
                return ()
            ref = OutputReference(self.id, len(self.outputs))
            return (Utxo(ref, self.collateral_return),)
        tx_id = self.id
        return tuple(Utxo(OutputReference(tx_id, i), out) for i, out in enumerate(self.outputs))


class LazyTransactions:
    """Parses a block's transactions on first access and keeps them.

    Why: decoding ~5,000 JSON nodes of a 100 KB block costs several times what receiving the frame does.
    Chain sync only needs the header to move its cursor, so transactions are typed when someone asks.
    """

    __slots__ = ("_load", "_value")

    def __init__(
        self,
        value: tuple[Transaction, ...] | None = None,
        load: Callable[[], tuple[Transaction, ...]] | None = None,
    ) -> None:
        if value is None and load is None:
            raise ValueError("LazyTransactions needs either parsed transactions or a loader")
        self._value = value
        self._load = load

    def get(self) -> tuple[Transaction, ...]:
        if self._value is None:
            assert self._load is not None
            self._value = self._load()
            self._load = None
        return self._value

    @property
    def loaded(self) -> bool:
        return self._value is not None


BlockExtras = tuple[int | None, str | None, "ProtocolVersion | None"]
"""The header fields chain sync rarely needs: size in bytes, issuer key, protocol version."""

_FROZEN_MESSAGE: Final = "Block is immutable (frozen)"


class Block:
    """A block of any era. Byron EBBs have no slot and no transactions; `type` is ebb, bft or praos.

    Immutable, compared by its header. Why not a dataclass: a block that arrived in a frame of the usual
    shape (see `frames.next_block_from_frame`) knows its type, era, id, ancestor, height and slot from a
    cheap scan of the frame's first bytes; its size, issuer and protocol version are read from the frame
    only if someone asks (`extras`), and its transactions likewise (`LazyTransactions`). The indexer skips
    almost every block without paying for either.
    """

    __slots__ = (
        "_extras",
        "_load_extras",
        "_transactions",
        "ancestor",
        "era",
        "height",
        "id",
        "slot",
        "source",
        "type",
    )
    __match_args__ = ("type", "era", "id", "ancestor", "height", "slot")

    type: str
    era: str
    id: str
    ancestor: str
    height: int
    slot: int | None
    _extras: BlockExtras | None
    _load_extras: Callable[[], BlockExtras] | None
    _transactions: LazyTransactions
    source: bytes | None
    """The raw JSON frame the block came in, when it was parsed lazily (see `may_contain`)."""

    def __init__(
        self,
        type: str,
        era: str,
        id: str,
        ancestor: str,
        height: int,
        slot: int | None,
        size_bytes: int | None,
        issuer: str | None,
        protocol_version: ProtocolVersion | None,
        _transactions: LazyTransactions,
        source: bytes | None = None,
    ) -> None:
        _set_block_fields(self, type, era, id, ancestor, height, slot, _transactions, source)
        _SET_EXTRAS(self, (size_bytes, issuer, protocol_version))
        _SET_LOAD_EXTRAS(self, None)

    @classmethod
    def with_lazy_extras(
        cls,
        type: str,
        era: str,
        id: str,
        ancestor: str,
        height: int,
        slot: int | None,
        load_extras: Callable[[], BlockExtras],
        transactions: LazyTransactions,
        source: bytes | None,
    ) -> Block:
        """A block whose size, issuer and protocol version are read by `load_extras` on first access."""
        block = cls.__new__(cls)
        _set_block_fields(block, type, era, id, ancestor, height, slot, transactions, source)
        _SET_EXTRAS(block, None)
        _SET_LOAD_EXTRAS(block, load_extras)
        return block

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"{_FROZEN_MESSAGE}: cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"{_FROZEN_MESSAGE}: cannot delete field {name!r}")

    @property
    def extras(self) -> BlockExtras:
        """(size_bytes, issuer, protocol_version), read from the frame the first time."""
        extras = self._extras
        if extras is None:
            load = self._load_extras
            assert load is not None
            extras = load()
            _SET_EXTRAS(self, extras)
            _SET_LOAD_EXTRAS(self, None)
        return extras

    @property
    def size_bytes(self) -> int | None:
        return self.extras[0]

    @property
    def issuer(self) -> str | None:
        """The issuer's (cold) verification key, when the block has one."""
        return self.extras[1]

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        return self.extras[2]

    def _header(self) -> tuple[Any, ...]:
        return (self.type, self.era, self.id, self.ancestor, self.height, self.slot, *self.extras)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Block:
            return NotImplemented
        assert isinstance(other, Block)
        return self._header() == other._header()

    def __hash__(self) -> int:
        return hash(self._header())

    def __repr__(self) -> str:
        size, issuer, version = self.extras
        return (
            f"Block(type={self.type!r}, era={self.era!r}, id={self.id!r}, ancestor={self.ancestor!r}, "
            f"height={self.height!r}, slot={self.slot!r}, size_bytes={size!r}, issuer={issuer!r}, "
            f"protocol_version={version!r})"
        )

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        return self._transactions.get()

    @property
    def point(self) -> Point | None:
        """The block's point, or None for a Byron epoch-boundary block (it has no slot of its own)."""
        return None if self.slot is None else Point(self.slot, self.id)

    def may_contain(self, *needles: str) -> bool:
        """A cheap pre-filter on the raw JSON.

        False means none of the strings (addresses, policy ids, transaction ids…) occurs anywhere in this
        block, so the block cannot concern them. True means: look closer.
        """
        source = self.source
        if source is None:
            return True
        return any(contains(source, needle.encode()) for needle in needles)


_SET_TYPE = Block.__dict__["type"].__set__
_SET_ERA = Block.__dict__["era"].__set__
_SET_ID = Block.__dict__["id"].__set__
_SET_ANCESTOR = Block.__dict__["ancestor"].__set__
_SET_HEIGHT = Block.__dict__["height"].__set__
_SET_SLOT = Block.__dict__["slot"].__set__
_SET_EXTRAS = Block.__dict__["_extras"].__set__
_SET_LOAD_EXTRAS = Block.__dict__["_load_extras"].__set__
_SET_TRANSACTIONS = Block.__dict__["_transactions"].__set__
_SET_SOURCE = Block.__dict__["source"].__set__


def _set_block_fields(
    block: Block,
    type: str,
    era: str,
    id: str,
    ancestor: str,
    height: int,
    slot: int | None,
    transactions: LazyTransactions,
    source: bytes | None,
) -> None:
    _SET_TYPE(block, type)
    _SET_ERA(block, era)
    _SET_ID(block, id)
    _SET_ANCESTOR(block, ancestor)
    _SET_HEIGHT(block, height)
    _SET_SLOT(block, slot)
    _SET_TRANSACTIONS(block, transactions)
    _SET_SOURCE(block, source)


@fast_init
@dataclass(frozen=True, slots=True)
class RollForward:
    block: Block
    tip: Tip


@dataclass(frozen=True, slots=True)
class RollBackward:
    """Rewind to `point`. The first answer after every `findIntersection` is one, to the intersection."""

    point: PointOrOrigin
    tip: TipOrOrigin


NextBlock = RollForward | RollBackward


@dataclass(frozen=True, slots=True)
class Intersection:
    point: PointOrOrigin
    tip: TipOrOrigin


@dataclass(frozen=True, slots=True)
class ProtocolVersion:
    major: int
    minor: int
    patch: int | None = None
