"""The subset of Kupo's HTTP API (v2) that Lucid Evolution's and Blaze's Kupmios providers use, served
from the devnet's own chain (issue 14, point 15).

WHY: the common off-chain libraries do not read UTxOs through Ogmios but through Kupo (the "Kupmios"
providers: Kupo for UTxOs, datums and scripts; Ogmios for everything else). Serving that subset from
the chain the devnet already holds lets them run against the devnet unmodified, with no second process
to keep in step with it. The answers are built like Kupo's index with the pattern `*`: every output of
every block on the current chain, spent ones marked, rolled-back ones gone. WHY one prefix on the
Ogmios port (`/kupo`, see KUPO_PREFIX): Ogmios owns `/health` on that port, and one port is one thing
fewer for a test or a rehearsal to wire; a client is given `http://HOST:PORT/kupo` as its Kupo URL.

Served (GET, relative to the prefix): `/health`; `/matches` and `/matches/{pattern}` with the patterns
`*`, an address, a stake address, `{credential}/{credential}` (hex, or `*`), `{policy}.{name}` (or
`.*`), `{index}@{tx}` (or `*@{tx}`), and the query flags `unspent`, `spent`, `policy_id`, `asset_name`,
`transaction_id`, `output_index`, `order`, `resolve_hashes`; `/datums/{hash}`; `/scripts/{hash}`.
Anything else (metadata, checkpoints, patterns, created/spent ranges, bech32 credentials) is answered
400 or 404 with a `hint` naming what the devnet does not serve, never with a wrong answer.

Differences from a real Kupo, on purpose: the genesis outputs are listed (created at slot 0 with the
all-zero header hash; a Kupo following a node never sees them, but devnet users fund wallets from
genesis); the index follows the tip at once (Kupo lags it by the time it takes to receive a block).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import cbor2
from pycardano import Address, NativeScript, TransactionInput, TransactionOutput
from pycardano.crypto.bech32 import bech32_decode, convertbits
from pycardano.serialization import default_encoder

from milestoned.devnet.chain import Block, Chain
from milestoned.devnet.checks import witness_datums
from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.ledger import witness_scripts
from milestoned.devnet.scripts import AnyScript, plutus_language, script_hash_of

KUPO_PREFIX = "/kupo"
KUPO_VERSION = "v2.11.0 (milestoned devnet)"
GENESIS_HEADER = "0" * 64

Reply = tuple[int, str, bytes]
"""(HTTP status, content type, body)."""

JSON_TYPE = "application/json;charset=utf-8"
FLAGS = {"unspent", "spent", "resolve_hashes"}
FILTERS = {"policy_id", "asset_name", "transaction_id", "output_index", "order"}


@dataclass(frozen=True)
class Point:
    slot: int
    header_hash: str

    def json(self) -> dict[str, Any]:
        return {"slot_no": self.slot, "header_hash": self.header_hash}


@dataclass(frozen=True)
class Spent:
    point: Point
    transaction_id: str
    input_index: int


@dataclass
class Entry:
    """One output as Kupo's index holds it."""

    txin: TransactionInput
    output: TransactionOutput
    transaction_index: int
    created: Point
    spent: Spent | None = None


class KupoError(Exception):
    def __init__(self, status: int, hint: str) -> None:
        super().__init__(hint)
        self.status = status
        self.hint = hint


@dataclass
class Index:
    """Outputs, datums and scripts of the current chain, as of `blocks` (the ids applied, in order)."""

    entries: dict[TransactionInput, Entry]
    datums: dict[bytes, bytes]
    scripts: dict[bytes, AnyScript]
    blocks: list[bytes]

    def apply(self, block: Block) -> None:
        """Index one more block (the next on the chain)."""
        point = Point(block.slot, block.id.hex())
        for position, tx in enumerate(block.transactions):
            tx_id = tx.decoded.id_hex
            for input_index, txin in enumerate(tx.consumed):
                spent = self.entries.get(txin)
                if spent is not None:
                    spent.spent = Spent(point, tx_id, input_index)
            self.datums.update(witness_datums(tx.decoded))
            for script in witness_scripts(tx.decoded):
                self.scripts[script_hash_of(script)] = script
            for txin, output in tx.produced:
                self.entries[txin] = Entry(txin, output, position, point)
                inline = _inline_datum(output)
                if inline is not None:
                    self.datums[blake2b_256(inline)] = inline
                if output.script is not None:
                    self.scripts[script_hash_of(output.script)] = output.script
        self.blocks.append(block.id)


def build_index(chain: Chain) -> Index:
    """Genesis and every block of the current chain, as Kupo would have indexed them with `*`."""
    genesis = Point(0, GENESIS_HEADER)
    index = Index({t: Entry(t, o, 0, genesis) for t, o in chain.genesis_utxo.items()}, {}, {}, [])
    for block in chain.blocks:
        index.apply(block)
    return index


def _inline_datum(output: TransactionOutput) -> bytes | None:
    if output.datum is None:
        return None
    return cbor2.dumps(output.datum, default=default_encoder)


def _datum_hash(output: TransactionOutput) -> tuple[str | None, str | None]:
    """(datum_hash, datum_type) as Kupo reports them: an inline datum is reported by its hash too."""
    inline = _inline_datum(output)
    if inline is not None:
        return blake2b_256(inline).hex(), "inline"
    if output.datum_hash is not None:
        return bytes(output.datum_hash.payload).hex(), "hash"
    return None, None


def _script_json(script: AnyScript) -> dict[str, str]:
    """Kupo's Script: the language, and the script serialised without its language tag (a native
    script's CBOR; a Plutus script's bytes as the witness set carries them)."""
    if isinstance(script, NativeScript):
        return {"language": "native", "script": script.to_cbor().hex()}
    return {"language": plutus_language(script), "script": bytes(script).hex()}


def _value_json(output: TransactionOutput) -> dict[str, Any]:
    amount = output.amount
    if isinstance(amount, int):
        return {"coins": amount, "assets": {}}
    assets: dict[str, int] = {}
    for policy, names in amount.multi_asset.items():
        for name, quantity in names.items():
            raw_name = bytes(name.payload).hex()
            key = policy.payload.hex() + ("." + raw_name if raw_name else "")
            assets[key] = quantity
    return {"coins": amount.coin, "assets": assets}


def match_json(entry: Entry, index: Index, resolve: bool) -> dict[str, Any]:
    datum_hash, datum_type = _datum_hash(entry.output)
    script = entry.output.script
    encoded: dict[str, Any] = {
        "transaction_index": entry.transaction_index,
        "transaction_id": entry.txin.transaction_id.payload.hex(),
        "output_index": entry.txin.index,
        "address": str(entry.output.address),
        "value": _value_json(entry.output),
        "datum_hash": datum_hash,
        "script_hash": script_hash_of(script).hex() if script is not None else None,
        "created_at": entry.created.json(),
        "spent_at": None,
    }
    if datum_type is not None:
        encoded["datum_type"] = datum_type
    if entry.spent is not None:
        encoded["spent_at"] = {
            **entry.spent.point.json(),
            "transaction_id": entry.spent.transaction_id,
            "input_index": entry.spent.input_index,
            "redeemer": None,
        }
    if resolve:
        datum = index.datums.get(bytes.fromhex(datum_hash)) if datum_hash else None
        encoded["datum"] = datum.hex() if datum is not None else None
        encoded["script"] = _script_json(script) if script is not None else None
    return encoded


# --- patterns -----------------------------------------------------------------------------------------

Predicate = Callable[[Entry], bool]


def _credential(text: str, role: str) -> bytes | None:
    """A credential of a `CREDENTIAL/CREDENTIAL` pattern: None for `*`, else a 28-byte hash."""
    if text == "*":
        return None
    lowered = text.lower()
    if len(lowered) == 56 and _is_hex(lowered):
        return bytes.fromhex(lowered)
    if len(lowered) == 64 and _is_hex(lowered):
        from hashlib import blake2b

        return blake2b(bytes.fromhex(lowered), digest_size=28).digest()
    hrp, data = bech32_decode(lowered)
    if hrp in ("vkh", "addr_vkh", "stake_vkh", "script", "addr_shared_vkh") and data is not None:
        decoded = convertbits(data, 5, 8, False)
        if decoded is not None and len(decoded) == 28:
            return bytes(decoded)
    raise KupoError(
        400,
        f"Invalid {role} credential {text!r} in the pattern: the devnet's Kupo takes '*', a 56-digit "
        "hex key or script hash, a 64-digit hex verification key, or a bech32 vkh/addr_vkh/stake_vkh/"
        "script hash.",
    )


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _payment_hash(address: Address) -> bytes | None:
    part = address.payment_part
    return bytes(part.payload) if part is not None else None


def _staking_hash(address: Address) -> bytes | None:
    part = address.staking_part
    payload = getattr(part, "payload", None)
    return bytes(payload) if isinstance(payload, bytes) else None


def parse_pattern(pattern: str) -> Predicate:
    """The predicate of one Kupo pattern (see the module docstring for the forms served)."""
    if pattern in ("", "*"):
        return lambda entry: True
    if "@" in pattern:
        index_text, _, tx_text = pattern.partition("@")
        tx_id = tx_text.lower()
        if len(tx_id) != 64 or not _is_hex(tx_id) or not (index_text == "*" or index_text.isdigit()):
            raise KupoError(400, f"Invalid output reference pattern {pattern!r}: write INDEX@TXID or *@TXID.")
        wanted_index = None if index_text == "*" else int(index_text)
        return lambda entry: (
            entry.txin.transaction_id.payload.hex() == tx_id
            and (wanted_index is None or entry.txin.index == wanted_index)
        )
    if "." in pattern:
        policy, _, name = pattern.partition(".")
        policy = policy.lower()
        if len(policy) != 56 or not _is_hex(policy) or not (name == "*" or _is_hex(name.lower())):
            hint = f"Invalid asset pattern {pattern!r}: write POLICY_ID.ASSET_NAME or POLICY_ID.*."
            raise KupoError(400, hint)
        return _holds(policy, None if name == "*" else name.lower())
    if "/" in pattern:
        payment_text, _, delegation_text = pattern.partition("/")
        payment = _credential(payment_text, "payment")
        delegation = _credential(delegation_text, "delegation")

        def by_credentials(entry: Entry) -> bool:
            address = entry.output.address
            if address.payment_part is None:
                return False
            if payment is not None and _payment_hash(address) != payment:
                return False
            return delegation is None or _staking_hash(address) == delegation

        return by_credentials
    if pattern.startswith(("addr", "stake")):
        try:
            address = Address.from_primitive(pattern)
        except Exception as exc:
            raise KupoError(400, f"Invalid address pattern {pattern!r}: {exc}") from exc
        if pattern.startswith("stake"):
            stake = _staking_hash(address)
            return lambda entry: _staking_hash(entry.output.address) == stake
        wanted = bytes(address)
        return lambda entry: bytes(entry.output.address) == wanted
    if pattern.isdigit():
        raise KupoError(400, "Metadata tag patterns are not served by the devnet's Kupo.")
    raise KupoError(
        400,
        f"Invalid pattern {pattern!r}: the devnet's Kupo takes *, an address, a stake address, "
        "CREDENTIAL/CREDENTIAL, POLICY_ID.ASSET_NAME or INDEX@TXID.",
    )


def _holds(policy: str, name: str | None) -> Predicate:
    def predicate(entry: Entry) -> bool:
        amount = entry.output.amount
        if isinstance(amount, int):
            return False
        for policy_id, names in amount.multi_asset.items():
            if policy_id.payload.hex() != policy:
                continue
            if name is None:
                return any(quantity != 0 for quantity in names.values())
            return any(bytes(n.payload).hex() == name and q != 0 for n, q in names.items())
        return False

    return predicate


# --- the HTTP answers ---------------------------------------------------------------------------------


class KupoApi:
    """Answers GET requests under KUPO_PREFIX from one chain, from an index that follows its blocks."""

    def __init__(self, chain: Chain, seconds_since_last_block: Callable[[], int | None] = lambda: None):
        self.chain = chain
        self.seconds_since_last_block = seconds_since_last_block
        self._index: Index | None = None

    def index(self) -> Index:
        """The index of the current chain: new blocks are applied to the one kept; after a rollback
        (a block it holds is no longer on the chain) it is rebuilt from genesis."""
        index = self._index
        blocks = self.chain.blocks
        held = len(index.blocks) if index is not None else 0
        if index is None or held > len(blocks) or (held and blocks[held - 1].id != index.blocks[-1]):
            index = self._index = build_index(self.chain)
            return index
        for block in blocks[held:]:
            index.apply(block)
        return index

    def checkpoint(self) -> int:
        tip = self.chain.tip
        return tip.slot if tip is not None else 0

    def answer(self, target: str, accept: str = "") -> Reply:
        """The answer to `GET target` (target starts with KUPO_PREFIX)."""
        try:
            return self._route(target, accept)
        except KupoError as exc:
            return exc.status, JSON_TYPE, json.dumps({"hint": exc.hint}).encode()

    def _route(self, target: str, accept: str) -> Reply:
        split = urlsplit(target)
        path = unquote(split.path[len(KUPO_PREFIX) :]).rstrip("/") or "/"
        query = parse_qsl(split.query, keep_blank_values=True)
        parts = path.strip("/").split("/")
        if path == "/health":
            return self._health(accept)
        if parts[0] == "matches":
            pattern = "/".join(parts[1:])
            return self._json(self._matches(pattern, query))
        if parts[0] == "datums" and len(parts) == 2:
            datum = self.index().datums.get(_hash_param(parts[1], 32, "datum"))
            return self._json({"datum": datum.hex()} if datum is not None else None)
        if parts[0] == "scripts" and len(parts) == 2:
            script = self.index().scripts.get(_hash_param(parts[1], 28, "script"))
            return self._json(_script_json(script) if script is not None else None)
        raise KupoError(
            404,
            f"The devnet's Kupo does not serve {path!r}: it serves /health, /matches[/PATTERN], "
            "/datums/HASH and /scripts/HASH (see docs/operations.md, the devnet section).",
        )

    def _json(self, value: Any) -> Reply:
        return 200, JSON_TYPE, json.dumps(value, separators=(",", ":")).encode()

    def _matches(self, pattern: str, query: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        params = dict(query)
        unknown = sorted(set(params) - FLAGS - FILTERS)
        if unknown:
            raise KupoError(
                400,
                f"The devnet's Kupo does not take the query parameter(s) {', '.join(unknown)}; it takes "
                f"{', '.join(sorted(FLAGS | FILTERS))}.",
            )
        if "unspent" in params and "spent" in params:
            raise KupoError(400, "Use at most one of ?unspent and ?spent.")
        predicates = [parse_pattern(pattern)]
        if "unspent" in params:
            predicates.append(lambda entry: entry.spent is None)
        if "spent" in params:
            predicates.append(lambda entry: entry.spent is not None)
        if "asset_name" in params and "policy_id" not in params:
            raise KupoError(400, "asset_name needs policy_id beside it.")
        if "policy_id" in params:
            predicates.append(_holds(params["policy_id"].lower(), params.get("asset_name")))
        if "output_index" in params and "transaction_id" not in params:
            raise KupoError(400, "output_index needs transaction_id beside it.")
        if "transaction_id" in params:
            reference = f"{params.get('output_index', '*')}@{params['transaction_id']}"
            predicates.append(parse_pattern(reference))
        order = params.get("order", "most_recent_first")
        if order not in ("most_recent_first", "oldest_first"):
            raise KupoError(400, "order is most_recent_first or oldest_first.")
        index = self.index()
        found = [e for e in index.entries.values() if all(p(e) for p in predicates)]
        found.sort(key=lambda e: e.txin.index)  # within a transaction, outputs in their order
        found.sort(key=lambda e: (e.created.slot, e.transaction_index), reverse=order == "most_recent_first")
        resolve = "resolve_hashes" in params
        return [match_json(entry, index, resolve) for entry in found]

    def _health(self, accept: str) -> Reply:
        slot = self.checkpoint()
        health = {
            "connection_status": "connected",
            "most_recent_checkpoint": slot,
            "most_recent_node_tip": slot,
            "seconds_since_last_block": self.seconds_since_last_block(),
            "network_synchronization": 1,
            "configuration": {"indexes": "installed"},
            "version": KUPO_VERSION,
        }
        if "text/plain" in accept:
            lines = [
                "# TYPE kupo_connection_status gauge",
                "kupo_connection_status  1.0",
                "# TYPE kupo_most_recent_checkpoint counter",
                f"kupo_most_recent_checkpoint  {slot}",
                "# TYPE kupo_most_recent_node_tip counter",
                f"kupo_most_recent_node_tip  {slot}",
                "# TYPE kupo_network_synchronization gauge",
                "kupo_network_synchronization  1.0",
                "# TYPE kupo_configuration_indexes gauge",
                "kupo_configuration_indexes  1.0",
            ]
            return 200, "text/plain;charset=utf-8", ("\n".join(lines) + "\n").encode()
        return self._json(health)


def _hash_param(text: str, size: int, what: str) -> bytes:
    lowered = text.lower()
    if len(lowered) != 2 * size or not _is_hex(lowered):
        raise KupoError(400, f"Invalid {what} hash {text!r}: expected {2 * size} hex digits.")
    return bytes.fromhex(lowered)
