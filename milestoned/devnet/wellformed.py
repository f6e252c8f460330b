"""Conway's decoding rules for a transaction, applied to its raw CBOR before anything else reads it.

WHY here and not in the ledger rules: a node (protocol 9 and later) refuses these transactions while
*decoding* them, before any ledger rule runs, and Ogmios then answers -32602 ("did not deserialise").
pycardano is lenient where the node is strict: it keeps an output reference listed twice among the
inputs, decodes negative asset quantities in outputs, and accepts Plutus data byte strings longer than
64 bytes in one piece. A lenient decoder is a security bug here, not a nicety: with an input listed
twice the ledger counts it once while a script context built from the list sees it twice, so a script
validates against the wrong input. So every transaction passes this check first, and what the ledger
and the script contexts see afterwards has no repeated element in any set.

The rules follow cardano-ledger's decoders for Conway (`decodeSet`, `decodeMap`, `SparseKeyed`,
`fieldGuarded`, `decodeMultiAsset`, the Alonzo witness set) and plutus-core's `Data` decoder; the
messages repeat the ledger's wording where it has one, prefixed with where in the transaction it is.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_DATA_BYTES = 64
"""Plutus data byte strings: at most 64 bytes, or an indefinite-length string of such chunks."""

UINT64_MAX = 2**64 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class DecodingFailure(ValueError):
    """The transaction does not decode as a Conway transaction; the message says where and why."""


# --- a CBOR reader that keeps what the ledger's decoders see: duplicates, chunking, tags ---------------


@dataclass(frozen=True)
class Bytes:
    value: bytes
    longest_chunk: int
    """The length of the string if definite, else of its longest chunk."""


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Array:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Map:
    pairs: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class Tag:
    tag: int
    value: Any


@dataclass(frozen=True)
class Simple:
    value: Any
    """True, False, None, a float, or the number of another simple value."""


def parse(data: bytes) -> Any:
    """The one CBOR item `data` holds. Raises DecodingFailure on malformed or trailing bytes."""
    try:
        item, end = _item(data, 0)
    except (IndexError, struct.error, UnicodeDecodeError, RecursionError) as exc:
        raise DecodingFailure(f"malformed CBOR: {type(exc).__name__}") from exc
    if end != len(data):
        raise DecodingFailure(f"{len(data) - end} trailing bytes after the transaction")
    return item


def _argument(data: bytes, pos: int) -> tuple[int, int | None, int]:
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    if info <= 27:
        width = 1 << (info - 24)
        if pos + width > len(data):
            raise DecodingFailure("malformed CBOR: truncated item head")
        return major, int.from_bytes(data[pos : pos + width], "big"), pos + width
    if info == 31 and major in (2, 3, 4, 5, 7):
        return major, None, pos
    raise DecodingFailure(f"malformed CBOR: reserved additional information {info} at byte {pos - 1}")


def _item(data: bytes, pos: int) -> tuple[Any, int]:
    start = pos
    major, argument, pos = _argument(data, pos)
    if major == 0:
        return argument, pos
    if major == 1:
        assert argument is not None
        return -1 - argument, pos
    if major in (2, 3):
        if argument is None:
            chunks: list[bytes] = []
            while data[pos] != 0xFF:
                chunk_major, length, pos = _argument(data, pos)
                if chunk_major != major or length is None:
                    raise DecodingFailure("malformed CBOR: a chunk of another type in an indefinite string")
                chunks.append(data[pos : pos + length])
                pos += length
            raw, longest, pos = b"".join(chunks), max((len(c) for c in chunks), default=0), pos + 1
        else:
            if pos + argument > len(data):
                raise DecodingFailure("malformed CBOR: truncated string")
            raw, longest, pos = data[pos : pos + argument], argument, pos + argument
        return (Bytes(raw, longest) if major == 2 else Text(raw.decode())), pos
    if major in (4, 5):
        per_entry = 2 if major == 5 else 1
        flat: list[Any] = []
        if argument is None:
            while data[pos] != 0xFF:
                value, pos = _item(data, pos)
                flat.append(value)
            pos += 1
            if len(flat) % per_entry:
                raise DecodingFailure("malformed CBOR: a map with a key and no value")
        else:
            if argument > len(data):
                raise DecodingFailure("malformed CBOR: a collection longer than the transaction")
            for _ in range(argument * per_entry):
                value, pos = _item(data, pos)
                flat.append(value)
        if major == 4:
            return Array(tuple(flat)), pos
        return Map(tuple(zip(flat[::2], flat[1::2], strict=True))), pos
    if major == 6:
        assert argument is not None
        value, pos = _item(data, pos)
        return Tag(argument, value), pos
    # major 7
    info = data[start] & 0x1F
    if info == 20:
        return Simple(False), pos
    if info == 21:
        return Simple(True), pos
    if info in (22, 23):
        return Simple(None), pos
    if info == 25:
        return Simple(_half_float(data[start + 1 : pos])), pos
    if info in (26, 27):
        return Simple(struct.unpack(">f" if info == 26 else ">d", data[start + 1 : pos])[0]), pos
    if argument is None:
        raise DecodingFailure("malformed CBOR: an unexpected break")
    return Simple(argument), pos


def _half_float(raw: bytes) -> float:
    return float(struct.unpack(">e", raw)[0])


def plain(item: Any) -> Any:
    """A hashable value for comparing decoded items the way the ledger does (encoding details dropped)."""
    if isinstance(item, Bytes):
        return ("b", item.value)
    if isinstance(item, Text):
        return ("t", item.value)
    if isinstance(item, Array):
        return ("a", tuple(plain(i) for i in item.items))
    if isinstance(item, Map):
        return ("m", tuple((plain(k), plain(v)) for k, v in item.pairs))
    if isinstance(item, Tag):
        return ("g", item.tag, plain(item.value))
    if isinstance(item, Simple):
        return ("s", item.value)
    return item


# --- Conway's rules ------------------------------------------------------------------------------------

BODY_FIELDS = {
    0: "inputs",
    1: "outputs",
    2: "fee",
    3: "time to live",
    4: "certificates",
    5: "withdrawals",
    7: "auxiliary data hash",
    8: "validity interval start",
    9: "mint",
    11: "script integrity hash",
    13: "collateral inputs",
    14: "required signers",
    15: "network id",
    16: "collateral return",
    17: "total collateral",
    18: "reference inputs",
    19: "voting procedures",
    20: "proposal procedures",
    21: "current treasury value",
    22: "treasury donation",
}
REQUIRED_BODY_FIELDS = (0, 1, 2)
WITNESS_FIELDS = {
    0: "verification key witnesses",
    1: "native scripts",
    2: "bootstrap witnesses",
    3: "Plutus V1 scripts",
    4: "datums",
    5: "redeemers",
    6: "Plutus V2 scripts",
    7: "Plutus V3 scripts",
}


def check_transaction(raw: bytes) -> None:
    """Raise DecodingFailure if a Conway node would not decode `raw` as a transaction."""
    tx = parse(raw)
    if not isinstance(tx, Array) or len(tx.items) != 4:
        raise DecodingFailure(
            "a Conway transaction is a CBOR array of 4 items (body, witnesses, is_valid, auxiliary data)"
        )
    body, witnesses, is_valid, _auxiliary = tx.items
    _check_body(body)
    _check_witnesses(witnesses)
    if not (isinstance(is_valid, Simple) and isinstance(is_valid.value, bool)):
        raise DecodingFailure("the third item of a transaction (is_valid) must be true or false")


def _fields(item: Any, what: str, names: dict[int, str]) -> dict[int, Any]:
    """A `SparseKeyed` record: a map with small unsigned keys, each known and present at most once."""
    if not isinstance(item, Map):
        raise DecodingFailure(f"{what}: expected a CBOR map")
    fields: dict[int, Any] = {}
    for key, value in item.pairs:
        if not isinstance(key, int) or key < 0 or key not in names:
            raise DecodingFailure(f"{what}: invalid field {plain(key)!r}")
        if key in fields:
            raise DecodingFailure(f"{what}: Duplicate key: {key} ({names[key]})")
        fields[key] = value
    return fields


def _check_body(body: Any) -> None:
    fields = _fields(body, "TxBody", BODY_FIELDS)
    missing = [f"{key} ({BODY_FIELDS[key]})" for key in REQUIRED_BODY_FIELDS if key not in fields]
    if missing:
        raise DecodingFailure(f"TxBody: Missing required key(s): {', '.join(missing)}")
    for key, value in fields.items():
        where = f"TxBody field {key} ({BODY_FIELDS[key]})"
        check = _BODY_CHECKS.get(key)
        if check is not None:
            check(value, where)


def _set_items(item: Any, where: str, *, non_empty: bool, no_duplicates: bool) -> tuple[Any, ...]:
    """A Conway set: an array (tag 258 allowed); duplicates fail the decoder where the ledger says so."""
    if isinstance(item, Tag) and item.tag == 258:
        item = item.value
    if not isinstance(item, Array):
        raise DecodingFailure(f"{where}: expected a set (an array, optionally tagged 258)")
    if non_empty and not item.items:
        raise DecodingFailure(f"{where}: must be non-empty when supplied")
    if no_duplicates:
        seen: set[Any] = set()
        repeated = []
        for element in item.items:
            key = plain(element)
            if key in seen:
                repeated.append(element)
            seen.add(key)
        if repeated:
            raise DecodingFailure(
                f"{where}: Final number of elements: {len(seen)} does not match the total count that was "
                f"decoded: {len(item.items)} (repeated: {', '.join(_describe(r) for r in repeated)}); "
                "list each element once"
            )
    return item.items


def _describe(item: Any) -> str:
    """An element named as a person reads it: an output reference as `txid#index`, bytes as hex."""
    if (
        isinstance(item, Array)
        and len(item.items) == 2
        and isinstance(item.items[0], Bytes)
        and isinstance(item.items[1], int)
    ):
        return f"{item.items[0].value.hex()}#{item.items[1]}"
    if isinstance(item, Bytes):
        return item.value.hex()
    return repr(plain(item))


def _map_pairs(item: Any, where: str, *, non_empty: bool) -> tuple[tuple[Any, Any], ...]:
    """A Conway map: duplicate keys fail the decoder (protocol 9 and later)."""
    if not isinstance(item, Map):
        raise DecodingFailure(f"{where}: expected a CBOR map")
    if non_empty and not item.pairs:
        raise DecodingFailure(f"{where}: must be non-empty when supplied")
    keys = [plain(k) for k, _ in item.pairs]
    if len(set(keys)) != len(keys):
        raise DecodingFailure(
            f"{where}: Final number of elements: {len(set(keys))} does not match the total count that was "
            f"decoded: {len(keys)} (a key is repeated); list each key once"
        )
    return item.pairs


def _check_inputs(non_empty: bool) -> Callable[[Any, str], None]:
    def check(value: Any, where: str) -> None:
        for element in _set_items(value, where, non_empty=non_empty, no_duplicates=True):
            if not (
                isinstance(element, Array)
                and len(element.items) == 2
                and isinstance(element.items[0], Bytes)
                and len(element.items[0].value) == 32
                and isinstance(element.items[1], int)
                and 0 <= element.items[1] <= 0xFFFF
            ):
                raise DecodingFailure(f"{where}: an output reference is [transaction id (32 bytes), index]")

    return check


def _check_signers(value: Any, where: str) -> None:
    for element in _set_items(value, where, non_empty=True, no_duplicates=True):
        if not (isinstance(element, Bytes) and len(element.value) == 28):
            raise DecodingFailure(f"{where}: a required signer is a 28-byte key hash")


def _check_coin(value: Any, where: str) -> None:
    if not isinstance(value, int) or not 0 <= value <= UINT64_MAX:
        raise DecodingFailure(f"{where}: expected an unsigned 64-bit integer, got {plain(value)!r}")


def _check_positive_coin(value: Any, where: str) -> None:
    _check_coin(value, where)
    if value == 0:
        raise DecodingFailure(f"{where}: must be non-zero when supplied")


def _check_outputs(value: Any, where: str) -> None:
    if not isinstance(value, Array):
        raise DecodingFailure(f"{where}: expected an array of outputs")
    for index, output in enumerate(value.items):
        _check_output(output, f"{where}, output {index}")


def _check_output(output: Any, where: str) -> None:
    if isinstance(output, Array):  # legacy: [address, value, ? datum hash]
        if not 2 <= len(output.items) <= 3:
            raise DecodingFailure(f"{where}: a legacy output is [address, value, ? datum hash]")
        _check_value(output.items[1], f"{where}, value")
        return
    if not isinstance(output, Map):
        raise DecodingFailure(f"{where}: an output is an array or a map")
    fields = _fields(output, where, {0: "address", 1: "value", 2: "datum", 3: "script reference"})
    if 0 not in fields or 1 not in fields:
        raise DecodingFailure(f"{where}: Missing required key(s): 0 (address), 1 (value)")
    _check_value(fields[1], f"{where}, value")
    datum = fields.get(2)
    if datum is not None:
        if not (isinstance(datum, Array) and len(datum.items) == 2 and datum.items[0] in (0, 1)):
            raise DecodingFailure(f"{where}, datum: expected [0, datum hash] or [1, #6.24(datum bytes)]")
        if datum.items[0] == 1:
            inline = datum.items[1]
            if not (isinstance(inline, Tag) and inline.tag == 24 and isinstance(inline.value, Bytes)):
                raise DecodingFailure(f"{where}, inline datum: expected #6.24(bytes)")
            _check_data(parse_nested(inline.value.value, f"{where}, inline datum"), f"{where}, inline datum")


def parse_nested(raw: bytes, where: str) -> Any:
    try:
        return parse(raw)
    except DecodingFailure as exc:
        raise DecodingFailure(f"{where}: {exc}") from exc


def _check_value(value: Any, where: str) -> None:
    """Mary values as Conway decodes them in outputs: quantities unsigned 64-bit and non-zero."""
    if isinstance(value, int):
        _check_coin(value, where)
        return
    if not (isinstance(value, Array) and len(value.items) == 2):
        raise DecodingFailure(f"{where}: expected lovelace or [lovelace, multi-asset]")
    _check_coin(value.items[0], f"{where}, lovelace")
    _check_multi_asset(value.items[1], where, mint=False)


def _check_multi_asset(value: Any, where: str, *, mint: bool) -> None:
    for policy, assets in _map_pairs(value, where, non_empty=mint):
        if not (isinstance(policy, Bytes) and len(policy.value) == 28):
            raise DecodingFailure(f"{where}: a policy id is 28 bytes")
        named = f"{where}, policy {policy.value.hex()}"
        pairs = _map_pairs(assets, named, non_empty=False)
        if not pairs:
            raise DecodingFailure(f"{named}: Empty Assets are not allowed")
        for name, quantity in pairs:
            if not (isinstance(name, Bytes) and len(name.value) <= 32):
                raise DecodingFailure(f"{named}: an asset name is at most 32 bytes")
            asset = f"{named}, asset {name.value.hex() or '(empty name)'}"
            if not isinstance(quantity, int):
                raise DecodingFailure(f"{asset}: the quantity must be an integer")
            if mint and not INT64_MIN <= quantity <= INT64_MAX:
                raise DecodingFailure(f"{asset}: overflow when decoding mint field, got {quantity}")
            if not mint and quantity < 0:
                raise DecodingFailure(
                    f"{asset}: a quantity in an output must be positive, got {quantity} "
                    "(expected an unsigned 64-bit integer)"
                )
            if not mint and quantity > UINT64_MAX:
                raise DecodingFailure(f"{asset}: the quantity {quantity} does not fit in 64 bits")
            if quantity == 0:
                raise DecodingFailure(f"{asset}: MultiAsset cannot contain zeros")


def _check_mint(value: Any, where: str) -> None:
    _check_multi_asset(value, where, mint=True)


def _check_non_empty_map(value: Any, where: str) -> None:
    _map_pairs(value, where, non_empty=True)


def _check_non_empty_set(value: Any, where: str) -> None:
    _set_items(value, where, non_empty=True, no_duplicates=True)


_BODY_CHECKS: dict[int, Callable[[Any, str], None]] = {
    0: _check_inputs(non_empty=False),
    1: _check_outputs,
    2: _check_coin,
    3: _check_coin,
    4: _check_non_empty_set,
    5: _check_non_empty_map,
    8: _check_coin,
    9: _check_mint,
    13: _check_inputs(non_empty=True),
    14: _check_signers,
    16: _check_output,
    17: _check_coin,
    18: _check_inputs(non_empty=True),
    19: _check_non_empty_map,
    20: _check_non_empty_set,
    22: _check_positive_coin,
}


def _check_witnesses(witnesses: Any) -> None:
    fields = _fields(witnesses, "TxWitness", WITNESS_FIELDS)
    for key, value in fields.items():
        where = f"TxWitness field {key} ({WITNESS_FIELDS[key]})"
        if key in (0, 1, 2):
            # Conway (protocol 9-11) collapses repeated key witnesses and native scripts silently.
            _set_items(value, where, non_empty=True, no_duplicates=False)
        elif key in (3, 6, 7):
            _set_items(value, where, non_empty=True, no_duplicates=True)
        elif key == 4:
            for index, datum in enumerate(_set_items(value, where, non_empty=True, no_duplicates=False)):
                _check_data(datum, f"{where}, datum {index}")
        elif key == 5:
            _check_redeemers(value, where)


def _check_redeemers(value: Any, where: str) -> None:
    if isinstance(value, Map):
        if not value.pairs:
            raise DecodingFailure(f"{where}: Expected redeemers map to be non-empty")
        for index, (_pointer, entry) in enumerate(value.pairs):
            if not (isinstance(entry, Array) and len(entry.items) == 2):
                raise DecodingFailure(f"{where}, redeemer {index}: expected [data, execution units]")
            _check_data(entry.items[0], f"{where}, redeemer {index}")
        return
    if not isinstance(value, Array) or not value.items:
        raise DecodingFailure(f"{where}: expected a non-empty map or array of redeemers")
    for index, entry in enumerate(value.items):
        if not (isinstance(entry, Array) and len(entry.items) == 4):
            raise DecodingFailure(f"{where}, redeemer {index}: expected [tag, index, data, execution units]")
        _check_data(entry.items[2], f"{where}, redeemer {index}")


def _check_data(item: Any, where: str) -> None:
    """Plutus data: every byte string at most 64 bytes, or chunked in pieces of at most 64 bytes."""
    stack = [item]
    while stack:
        node = stack.pop()
        if isinstance(node, Bytes):
            if node.longest_chunk > MAX_DATA_BYTES:
                raise DecodingFailure(
                    f"{where}: a Plutus data byte string of {node.longest_chunk} bytes is not chunked; "
                    f"byte strings longer than {MAX_DATA_BYTES} bytes must be indefinite-length strings "
                    f"of chunks of at most {MAX_DATA_BYTES} bytes"
                )
        elif isinstance(node, Array):
            stack.extend(node.items)
        elif isinstance(node, Map):
            for key, value in node.pairs:
                stack.extend((key, value))
        elif isinstance(node, Tag) and node.tag not in (2, 3):
            stack.append(node.value)  # big integers (tags 2, 3) carry their magnitude as bytes of any length
