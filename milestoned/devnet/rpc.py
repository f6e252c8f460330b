"""JSON-RPC framing for the devnet's Ogmios server: error answers, per-connection sessions, responses,
and the request values (points, additional UTxO entries) read back into the devnet's types.

WHY apart from the server: these are plain values and pure functions; the server module keeps the
sockets, the workers and the method handlers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pycardano import Address, TransactionInput, TransactionOutput
from websockets.asyncio.server import ServerConnection

from milestoned.devnet.chain import Block, dumps
from milestoned.devnet.ledger import ValidatedTransaction


class RpcError(Exception):
    """An error answer: JSON-RPC code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(-32602, message)


@dataclass(eq=False)
class Session:
    """The per-connection state Ogmios keeps: cursor, acquired ledger state, mempool snapshot."""

    connection: ServerConnection
    cursor: bytes | None = None
    rewind_to: tuple[Block | None] | None = (None,)
    """Where the next `nextBlock` rolls back to: origin on a fresh connection, then each intersection."""
    next_in_flight: int = 0
    acquired: tuple[Block | None, dict[TransactionInput, TransactionOutput]] | None = None
    mempool: list[ValidatedTransaction] | None = None
    mempool_slot: int = 0
    mempool_position: int = 0
    chain_sync: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    others: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)


def response(method: str | None, request_id: Any, result: Any = None, error: RpcError | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0"}
    if method is not None:  # unknown when the request could not be read at all
        message["method"] = method
    if error is not None:
        message["error"] = error.to_json()
    else:
        message["result"] = result
    message["id"] = request_id
    return dumps(message)


def parse_point(raw: Any) -> tuple[int, bytes] | None:
    if raw == "origin":
        return None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("slot"), int)
        or not isinstance(raw.get("id"), str)
    ):
        raise ValueError(f"a point is 'origin' or {{slot, id}}, got {raw!r}")
    block_id = bytes.fromhex(raw["id"])
    if len(block_id) != 32:
        raise ValueError("a point id is 64 hex characters")
    return raw["slot"], block_id


def parse_utxo(entry: dict[str, Any]) -> tuple[TransactionInput, TransactionOutput]:
    """An `additionalUtxo` entry (Ogmios' Utxo shape) back into pycardano objects."""
    from pycardano import (
        Asset,
        AssetName,
        DatumHash,
        MultiAsset,
        PlutusV1Script,
        PlutusV2Script,
        PlutusV3Script,
        RawCBOR,
        ScriptHash,
        Value,
    )

    txin = TransactionInput.from_primitive([bytes.fromhex(entry["transaction"]["id"]), int(entry["index"])])
    value = entry["value"]
    multi = MultiAsset()
    for policy, assets in value.items():
        if policy == "ada":
            continue
        multi[ScriptHash(bytes.fromhex(policy))] = Asset(
            {AssetName(bytes.fromhex(name)): qty for name, qty in assets.items()}
        )
    lovelace = value["ada"]["lovelace"]
    script = None
    if entry.get("script"):
        language = entry["script"]["language"]
        classes = {"plutus:v1": PlutusV1Script, "plutus:v2": PlutusV2Script, "plutus:v3": PlutusV3Script}
        if language not in classes:
            raise ValueError("only Plutus scripts are supported in additionalUtxo")
        script = classes[language](bytes.fromhex(entry["script"]["cbor"]))
    output = TransactionOutput(
        Address.from_primitive(entry["address"]),
        Value(lovelace, multi) if multi else lovelace,
        datum_hash=DatumHash(bytes.fromhex(entry["datumHash"])) if entry.get("datumHash") else None,
        datum=RawCBOR(bytes.fromhex(entry["datum"])) if entry.get("datum") else None,
        script=script,
    )
    return txin, output
