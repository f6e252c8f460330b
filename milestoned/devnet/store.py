"""A devnet's chain on disk (`milestoned devnet --state DIR`), so a restart continues the same chain.

WHY: restarts, recovery from a lost data directory and audits from the chain alone must be tested on
one chain that outlives the processes following it. The directory holds:

- `network.json`: what fixes the chain's identity and its slot clock: the network start time, the slot
  length, the genesis funds, the faucet's signing key (so its token policy stays the same), the clock
  offset from `devnet/advanceTime`, and the fork counter (block ids differ between forks);
- `blocks.jsonl`: one line per block on the current chain, with its Ogmios JSON as served and each
  transaction's bytes, what it spent (inputs or collaterals) and its script results.

Blocks are appended as they are forged (flushed, so a killed process loses nothing already forged); a
rollback rewrites the file atomically. A truncated last line (a crash in the middle of a write) is
dropped. The mempool is not kept, as a node's mempool is not kept across restarts either.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import orjson
from pycardano import PaymentSigningKey, RedeemerTag

from milestoned.devnet.chain import Block
from milestoned.devnet.ledger import ScriptRun, restore_effects
from milestoned.devnet.parameters import ExUnits
from milestoned.devnet.transaction import decode_transaction

NETWORK_FILE = "network.json"
BLOCKS_FILE = "blocks.jsonl"
FORMAT = 1


class StateError(ValueError):
    """A state directory that cannot be used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class SavedNetwork:
    start_time: datetime.datetime
    slot_length_ms: int
    genesis_funds: Mapping[str, int]
    """Genesis lovelace by address, the faucet's excluded."""
    faucet_key: PaymentSigningKey
    clock_offset: int
    forks: int
    profile: str | None = None


class ChainStore:
    """The files of one state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._blocks: IO[bytes] | None = None

    @property
    def exists(self) -> bool:
        """A chain is kept here. Blocks without their network file are refused, never appended to."""
        if (self.directory / NETWORK_FILE).is_file():
            return True
        if (self.directory / BLOCKS_FILE).is_file():
            raise StateError(
                f"{self.directory} holds blocks but no {NETWORK_FILE} (the chain's start time, genesis and "
                "faucet key); restore it from a backup, or remove the directory for a new chain"
            )
        return False

    # --- reading -------------------------------------------------------------------------------------

    def load_network(self) -> SavedNetwork:
        path = self.directory / NETWORK_FILE
        try:
            saved = orjson.loads(path.read_bytes())
            if saved.get("format") != FORMAT:
                raise StateError(f"{path}: format {saved.get('format')!r}, this devnet reads format {FORMAT}")
            return SavedNetwork(
                start_time=datetime.datetime.fromisoformat(saved["startTime"]),
                slot_length_ms=int(saved["slotLengthMs"]),
                genesis_funds={str(a): int(q) for a, q in saved["genesisFunds"].items()},
                faucet_key=PaymentSigningKey(bytes.fromhex(saved["faucetSigningKey"])),
                clock_offset=int(saved["clockOffset"]),
                forks=int(saved["forks"]),
                profile=saved.get("profile"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(
                f"{path} cannot be read ({exc}); restore it from a backup "
                "or start with another --state directory"
            ) from exc

    def load_blocks(self) -> list[Block]:
        path = self.directory / BLOCKS_FILE
        if not path.exists():
            return []
        lines = path.read_bytes().split(b"\n")
        blocks: list[Block] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                blocks.append(_block_from_json(orjson.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                if number >= len(lines) - 1 and not line.endswith(b"}"):
                    break  # the last line was being written when the process died: that block is lost
                raise StateError(
                    f"{path}, line {number}: not a devnet block ({exc}); "
                    "restore the state directory from a backup or start with another --state directory"
                ) from exc
        return blocks

    # --- writing -------------------------------------------------------------------------------------

    def save_network(self, network: SavedNetwork) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        document = {
            "format": FORMAT,
            "startTime": network.start_time.isoformat(),
            "slotLengthMs": network.slot_length_ms,
            "genesisFunds": dict(network.genesis_funds),
            "faucetSigningKey": bytes(network.faucet_key.payload).hex(),
            "clockOffset": network.clock_offset,
            "forks": network.forks,
            "profile": network.profile,
        }
        _write_atomically(self.directory / NETWORK_FILE, orjson.dumps(document, option=orjson.OPT_INDENT_2))

    def append_block(self, block: Block) -> None:
        if self._blocks is None:
            self._blocks = open(self.directory / BLOCKS_FILE, "ab")  # noqa: SIM115 (kept open while running)
        self._blocks.write(orjson.dumps(_block_to_json(block)) + b"\n")
        self._blocks.flush()

    def rewrite_blocks(self, blocks: Iterable[Block]) -> None:
        self.close()
        content = b"".join(orjson.dumps(_block_to_json(b)) + b"\n" for b in blocks)
        _write_atomically(self.directory / BLOCKS_FILE, content)

    def close(self) -> None:
        if self._blocks is not None:
            self._blocks.close()
            self._blocks = None


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):
        temporary.chmod(0o600)  # the faucet's signing key is in network.json
    os.replace(temporary, path)


def _block_to_json(block: Block) -> dict[str, Any]:
    return {
        "height": block.height,
        "slot": block.slot,
        "id": block.id.hex(),
        "ancestor": block.ancestor.hex() if block.ancestor is not None else None,
        "transactions": [
            {
                "cbor": tx.decoded.raw.hex(),
                "spends": tx.spends,
                "runs": [_run_to_json(run) for run in tx.script_runs],
            }
            for tx in block.transactions
        ],
        "json": block.json.decode(),
    }


def _run_to_json(run: ScriptRun) -> list[Any]:
    return [run.tag.value, run.index, run.ok, run.budget.memory, run.budget.cpu, list(run.logs), run.error]


def _block_from_json(saved: dict[str, Any]) -> Block:
    transactions = []
    for entry in saved["transactions"]:
        decoded = decode_transaction(bytes.fromhex(entry["cbor"]))
        runs = tuple(
            ScriptRun(RedeemerTag(tag), index, ok, ExUnits(memory, steps), tuple(logs), error)
            for tag, index, ok, memory, steps, logs, error in entry["runs"]
        )
        transactions.append(restore_effects(decoded, entry["spends"], runs))
    return Block(
        height=int(saved["height"]),
        slot=int(saved["slot"]),
        id=bytes.fromhex(saved["id"]),
        ancestor=bytes.fromhex(saved["ancestor"]) if saved["ancestor"] is not None else None,
        transactions=tuple(transactions),
        json=saved["json"].encode(),
    )


class StateJournal:
    """Keeps a state directory in step with a running chain (the chain's `ChainJournal`)."""

    def __init__(self, store: ChainStore, network: SavedNetwork) -> None:
        self.store = store
        self.network = network
        store.save_network(network)

    def forged(self, block: Block) -> None:
        self.store.append_block(block)

    def rolled_back(self, blocks: Sequence[Block], forks: int) -> None:
        # The fork counter first: should the process die in between, the old blocks come back with a
        # counter that only makes the next forged block ids differ, never collide.
        self.network = replace(self.network, forks=forks)
        self.store.save_network(self.network)
        self.store.rewrite_blocks(blocks)

    def clock_shifted(self, offset: int) -> None:
        self.network = replace(self.network, clock_offset=offset)
        self.store.save_network(self.network)
