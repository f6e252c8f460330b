"""A submitted transaction, decoded once, with the original bytes the ledger hashes.

WHY keep original bytes: the transaction id, the auxiliary-data hash and the script-integrity hash
are hashes of the bytes *as submitted*. Re-serialising what pycardano decoded gives the same bytes
only for canonical encoders; cardano-cli, hardware wallets or another library may use indefinite
lengths or other set encodings. So we slice the body, the auxiliary data, the redeemers and the datums
out of the raw CBOR and hash those, and use pycardano's decoded objects for everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, get_args

import cbor2
from pycardano import Transaction, TransactionInput, TransactionOutput
from pycardano.certificate import Certificate
from pycardano.hash import TransactionId

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.wellformed import DecodingFailure, check_transaction


class MalformedTransaction(ValueError):
    """The bytes are not a Conway transaction; the message says what could not be read."""


@dataclass(frozen=True)
class DecodedTransaction:
    """A transaction as the ledger sees it: pycardano's view plus the original byte spans."""

    raw: bytes
    tx: Transaction
    id: bytes
    body_bytes: bytes
    witness_bytes: bytes
    auxiliary_data_bytes: bytes | None
    redeemers_bytes: bytes | None
    datums_bytes: bytes | None
    is_valid: bool

    @property
    def id_hex(self) -> str:
        return self.id.hex()

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def inputs(self) -> tuple[TransactionInput, ...]:
        """The spent inputs as the ledger's set: sorted, each once (decoding refused repetitions)."""
        return canonical_set(self.tx.transaction_body.inputs)

    @property
    def collaterals(self) -> tuple[TransactionInput, ...]:
        return canonical_set(self.tx.transaction_body.collateral or [])

    @property
    def reference_inputs(self) -> tuple[TransactionInput, ...]:
        return canonical_set(self.tx.transaction_body.reference_inputs or [])

    @property
    def all_outputs(self) -> list[TransactionOutput]:
        """The outputs, then the collateral return if any: every output the ledger sizes."""
        body = self.tx.transaction_body
        return list(body.outputs) + ([body.collateral_return] if body.collateral_return is not None else [])

    @cached_property
    def output_sizes(self) -> tuple[tuple[int, int], ...]:
        """Each of `all_outputs`' size as submitted and its value's size re-serialised, in bytes.

        The ledger's min-ADA rule measures an output by the bytes it was decoded from (Babbage's
        `Sized` outputs), so a client's non-canonical encoding counts as sent; the value cap
        re-serialises the value (`validateOutputTooBigUTxO`). WHY cached: both depend on the
        transaction alone, and a mempool transaction is re-validated at every block (as a node
        re-applies its mempool); re-encoding each output each time made a block cost the square of the
        mempool (45 ms of a 21-output transaction's 50 ms).
        """
        body = _map_value_spans(self.body_bytes, 0, "a transaction body")
        start, _ = body[1]
        spans = _item_spans(self.body_bytes, start)
        if 16 in body:
            spans.append(body[16])
        return tuple(
            (end - begin, _value_size(o)) for (begin, end), o in zip(spans, self.all_outputs, strict=True)
        )


def _value_size(output: TransactionOutput) -> int:
    amount = output.amount
    return len(cbor2.dumps(amount)) if isinstance(amount, int) else len(amount.to_cbor())


def canonical_set(items: Iterable[TransactionInput]) -> tuple[TransactionInput, ...]:
    """Output references in the ledger's set order (transaction id, then index), each once.

    The ledger state and every script context are built from this one order, which is also the
    order redeemer indices count in.
    """
    return tuple(sorted(set(items), key=lambda i: (bytes(i.transaction_id.payload), i.index)))


def decode_transaction(raw: bytes) -> DecodedTransaction:
    """Decode a signed (or unsigned) Conway transaction. Raises MalformedTransaction.

    Conway's decoding rules (no repeated element in a set, no repeated key in a map, positive output
    quantities, chunked Plutus data bytes, the required body fields) are checked on the raw bytes
    first, as a node checks them while decoding.
    """
    try:
        check_transaction(raw)
    except DecodingFailure as exc:
        raise MalformedTransaction(str(exc)) from exc
    try:
        items = _array_item_spans(raw, 0)
    except (IndexError, ValueError) as exc:
        raise MalformedTransaction(f"not a CBOR transaction array: {exc}") from exc
    if len(items) != 4:
        raise MalformedTransaction(
            f"a Conway transaction is a CBOR array of 4 items (body, witnesses, is_valid, auxiliary data); "
            f"got {len(items)} items"
        )
    try:
        tx = Transaction.from_cbor(raw)
        _decode_certificates(tx)
    except Exception as exc:
        raise MalformedTransaction(f"cannot decode the transaction: {type(exc).__name__}: {exc}") from exc
    body_start, body_end = items[0]
    body_bytes = raw[body_start:body_end]
    witness_start, witness_end = items[1]
    witness_fields = _map_value_spans(raw, witness_start)
    redeemers = witness_fields.get(5)
    datums = witness_fields.get(4)
    aux_start, aux_end = items[3]
    aux = raw[aux_start:aux_end]
    is_valid_byte = raw[items[2][0]]
    if is_valid_byte not in (0xF4, 0xF5):
        raise MalformedTransaction("the third item of a transaction (is_valid) must be true or false")
    return DecodedTransaction(
        raw=raw,
        tx=tx,
        id=blake2b_256(body_bytes),
        body_bytes=body_bytes,
        witness_bytes=raw[witness_start:witness_end],
        auxiliary_data_bytes=None if aux == b"\xf6" else aux,
        redeemers_bytes=raw[redeemers[0] : redeemers[1]] if redeemers else None,
        datums_bytes=raw[datums[0] : datums[1]] if datums else None,
        is_valid=is_valid_byte == 0xF5,
    )


def _decode_certificates(tx: Transaction) -> None:
    """Decode certificates pycardano left as plain lists: it does so for every certificate of a set
    carried in tag 258 (how Blaze and other cardano-js-sdk clients encode it), and for a few kinds
    untagged. A node reads a certificate the same either way; the ledger rules then see its class
    (a Conway-valid legacy registration in a tagged set was refused as "certificates of type 0")."""
    body = tx.transaction_body
    if not body.certificates:
        return
    decoded = [_certificate(item) for item in body.certificates]
    if any(d is not o for d, o in zip(decoded, body.certificates, strict=True)):
        body.certificates = type(body.certificates)(decoded)


def _certificate(item: Any) -> Any:
    if not (isinstance(item, list) and item and isinstance(item[0], int)):
        return item
    for kind in get_args(Certificate):
        try:
            return kind.from_primitive(item)
        except Exception:  # not this kind (each checks its own tag), or a kind pycardano cannot read
            continue
    return item  # unknown to pycardano: the ledger names it by its tag


def block_body_size(transactions: Sequence[tuple[DecodedTransaction, bool]]) -> int:
    """The size of a block body holding `transactions` (each with whether it is valid), as a node's
    header states it and Ogmios reports it (`size`): the array of bodies, the array of witness sets,
    the map of auxiliary data by index, and the array of the invalid transactions' indices."""
    count = len(transactions)
    bodies = _length_of_head(count) + sum(len(tx.body_bytes) for tx, _ in transactions)
    witnesses = _length_of_head(count) + sum(len(tx.witness_bytes) for tx, _ in transactions)
    auxiliary = [
        (i, tx.auxiliary_data_bytes) for i, (tx, _) in enumerate(transactions) if tx.auxiliary_data_bytes
    ]
    metadata = _length_of_head(len(auxiliary)) + sum(_length_of_head(i) + len(a or b"") for i, a in auxiliary)
    invalid = [i for i, (_, valid) in enumerate(transactions) if not valid]
    flagged = _length_of_head(len(invalid)) + sum(_length_of_head(i) for i in invalid)
    return bodies + witnesses + metadata + flagged


def _length_of_head(argument: int) -> int:
    """Bytes of a CBOR head carrying `argument` (an unsigned integer, or a length)."""
    return 1 if argument < 24 else 2 if argument < 0x100 else 3 if argument < 0x10000 else 5


def transaction_id(raw: bytes) -> TransactionId:
    """The id of a serialized transaction: the hash of its body as submitted."""
    body_start, body_end = _array_item_spans(raw, 0)[0]
    return TransactionId(blake2b_256(raw[body_start:body_end]))


# --- a minimal CBOR walker: it finds where items start and end, without interpreting them -----------


def _head(data: bytes, pos: int) -> tuple[int, int | None, int]:
    """Read an item head at `pos`: (major type, argument or None if indefinite, position after the head)."""
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    if info in (24, 25, 26, 27):
        width = 1 << (info - 24)
        if pos + width > len(data):
            raise ValueError("truncated CBOR head")
        return major, int.from_bytes(data[pos : pos + width], "big"), pos + width
    if info == 31 and major in (2, 3, 4, 5):
        return major, None, pos
    raise ValueError(f"unsupported CBOR additional information {info} at byte {pos - 1}")


def _skip(data: bytes, pos: int) -> int:
    """Position right after the CBOR item starting at `pos`."""
    major, argument, pos = _head(data, pos)
    if major in (0, 1, 7):
        return pos
    if major in (2, 3):
        if argument is None:
            while data[pos] != 0xFF:
                pos = _skip(data, pos)
            return pos + 1
        end = pos + argument
        if end > len(data):
            raise ValueError("truncated CBOR string")
        return end
    if major == 6:
        return _skip(data, pos)
    per_entry = 2 if major == 5 else 1
    if argument is None:
        while data[pos] != 0xFF:
            pos = _skip(data, pos)
        return pos + 1
    for _ in range(argument * per_entry):
        pos = _skip(data, pos)
    return pos


def _array_item_spans(data: bytes, pos: int) -> list[tuple[int, int]]:
    """Spans of the items of the CBOR array that is the whole of `data` from `pos` (a transaction)."""
    spans = _item_spans(data, pos)
    _, argument, end = _head(data, pos)
    end = spans[-1][1] if spans else end
    end += argument is None  # an indefinite array's break
    if end != len(data):
        raise ValueError(f"{len(data) - end} trailing bytes after the transaction")
    return spans


def _item_spans(data: bytes, pos: int) -> list[tuple[int, int]]:
    """Spans of the items of the CBOR array at `pos`, definite or indefinite."""
    major, argument, pos = _head(data, pos)
    if major != 4:
        raise ValueError("expected a CBOR array")
    spans = []
    if argument is None:
        while data[pos] != 0xFF:
            end = _skip(data, pos)
            spans.append((pos, end))
            pos = end
    else:
        for _ in range(argument):
            end = _skip(data, pos)
            spans.append((pos, end))
            pos = end
    return spans


def _map_value_spans(data: bytes, pos: int, what: str = "the witness set") -> dict[int, tuple[int, int]]:
    """Spans of the values of a CBOR map with small unsigned-integer keys (a witness set, a body)."""
    major, argument, pos = _head(data, pos)
    if major != 5:
        raise MalformedTransaction(f"{what} must be a CBOR map")
    spans: dict[int, tuple[int, int]] = {}
    count = 0
    while (argument is None and data[pos] != 0xFF) or (argument is not None and count < argument):
        key_major, key, value_pos = _head(data, pos)
        end = _skip(data, value_pos)
        if key_major == 0 and key is not None:
            spans[key] = (value_pos, end)
        pos = end
        count += 1
    return spans
