"""Hand-built Ogmios blocks for the indexer's unit tests, made of the contract's real pieces.

Blocks are written as the JSON Ogmios v6 sends and typed through the client's own parser, with the raw
frame kept as `source`, so the filter's cheap pre-filter (`Block.may_contain`) is exercised as in
production. Schedule ids, the validator hash and datums come from the real compiled scripts
(`milestoned.contracts.scenarios`), so what the filter recognises is what the chain would carry.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2
import orjson
from pycardano import Address, Network

from milestoned.contracts import scenarios
from milestoned.domain import onchain_types as ot
from milestoned.eventlog.events import ChainPoint, SchedulePolicy, ScheduleRegistered
from milestoned.indexer.filter import WatchedContract
from milestoned.ogmios.model import Block, LazyTransactions, Point
from milestoned.ogmios.parsing import block_from_header, parse_transactions

SCHEDULE = scenarios.Schedule("indexer-a")
OTHER_SCHEDULE = scenarios.Schedule("indexer-b")
CONTRACT = WatchedContract(SCHEDULE.scripts.validator_hash, Network.TESTNET)
VALIDATOR_ADDRESS = str(SCHEDULE.validator_address)
TOKEN_POLICY = scenarios.TOKEN_POLICY_ID.hex()
TOKEN_NAME = scenarios.TOKEN_NAME.hex()
WALLET = str(scenarios.wallet_address("indexer-wallet"))
BENEFICIARY = scenarios.beneficiary("indexer-beneficiary")

_counter = itertools.count(1)


def fresh_hash(label: str = "") -> str:
    return hashlib.sha256(f"{label}/{next(_counter)}".encode()).hexdigest()


def registered(schedule: scenarios.Schedule) -> ScheduleRegistered:
    return ScheduleRegistered(
        schedule_id=schedule.schedule_id.hex(),
        definition={"label": schedule.label},
        policy=SchedulePolicy.from_parameters(schedule.scripts.parameters),
    )


def allocation_datum(
    schedule: scenarios.Schedule,
    amount: int = 1_000,
    milestone: bytes = b"m1",
    schedule_id: bytes | None = None,
) -> str:
    allocation = scenarios.Allocation(BENEFICIARY, amount, milestone, 1_700_000_100_000)
    return str(schedule.datum(allocation, schedule_id).to_cbor_hex())


def value(lovelace: int, assets: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    return {"ada": {"lovelace": lovelace}, **(assets or {})}


def allocation_output(
    schedule: scenarios.Schedule,
    *,
    amount: int = 1_000,
    auth_token: bool = True,
    address: str = VALIDATOR_ADDRESS,
    datum: str | bool | None = True,
) -> dict[str, Any]:
    """An allocation UTxO as registration creates it; each part can be left out or replaced to spoof it."""
    assets: dict[str, dict[str, int]] = {TOKEN_POLICY: {TOKEN_NAME: amount}}
    if auth_token:
        assets[schedule.schedule_id.hex()] = {ot.AUTH_TOKEN_NAME.hex(): 1}
    out: dict[str, Any] = {"address": address, "value": value(2_000_000, assets)}
    if datum is True:
        out["datum"] = allocation_datum(schedule, amount)
    elif isinstance(datum, str):
        out["datum"] = datum
    return out


def plain_output(lovelace: int = 5_000_000, address: str = WALLET) -> dict[str, Any]:
    return {"address": address, "value": value(lovelace)}


def ref(tx_id: str, index: int) -> dict[str, Any]:
    return {"transaction": {"id": tx_id}, "index": index}


def mint_redeemer(index: int, data: Any) -> dict[str, Any]:
    return {
        "validator": {"purpose": "mint", "index": index},
        "redeemer": data.to_cbor_hex(),
        "executionUnits": {"memory": 1_000_000, "cpu": 500_000_000},
    }


def transaction(
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    mint: dict[str, dict[str, int]] | None = None,
    redeemers: list[dict[str, Any]] | None = None,
    failed: bool = False,
    collateral_return: dict[str, Any] | None = None,
    tx_id: str | None = None,
) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "id": tx_id or fresh_hash("tx"),
        "spends": "collaterals" if failed else "inputs",
        "inputs": inputs or [ref(fresh_hash("funding"), 0)],
        "outputs": outputs or [plain_output()],
        "fee": {"ada": {"lovelace": 900_000}},
        "collaterals": [ref(fresh_hash("collateral"), 0)],
        "collateralReturn": collateral_return or plain_output(8_000_000),
        "totalCollateral": {"ada": {"lovelace": 1_350_000}},
    }
    if mint:
        tx["mint"] = mint
    if redeemers:
        tx["redeemers"] = redeemers
    return tx


def register(schedule: scenarios.Schedule, count: int = 1, **overrides: Any) -> dict[str, Any]:
    """A registration: `count` allocation outputs, auth tokens minted under the Register redeemer."""
    policy = schedule.schedule_id.hex()
    return transaction(
        outputs=[allocation_output(schedule) for _ in range(count)] + [plain_output()],
        mint={policy: {ot.AUTH_TOKEN_NAME.hex(): count}},
        redeemers=[mint_redeemer(0, ot.Register())],
        **overrides,
    )


def spend(
    schedule: scenarios.Schedule,
    out_refs: list[str],
    redeemer: Any,
    *,
    outputs: list[dict[str, Any]] | None = None,
    failed: bool = False,
    with_redeemer: bool = True,
) -> dict[str, Any]:
    """A release or reclaim (by `redeemer`) of `out_refs`, burning their auth tokens."""
    policy = schedule.schedule_id.hex()
    inputs = [ref(r.split("#")[0], int(r.split("#")[1])) for r in out_refs] + [ref(fresh_hash("fee"), 1)]
    mint = {policy: {ot.AUTH_TOKEN_NAME.hex(): -len(out_refs)}, "00" * 28: {"": 1}}  # another policy too
    index = sorted(mint).index(policy)
    return transaction(
        inputs=inputs,
        outputs=outputs or [plain_output()],
        mint=mint,
        redeemers=[mint_redeemer(index, redeemer)] if with_redeemer else None,
        failed=failed,
    )


def payout(schedule: scenarios.Schedule, amount: int = 1_000) -> dict[str, Any]:
    """A release payout: tokens to the beneficiary, tagged with the schedule id as inline datum."""
    out = {"address": str(BENEFICIARY), "value": value(1_500_000, {TOKEN_POLICY: {TOKEN_NAME: amount}})}
    out["datum"] = cbor2.dumps(ot.payout_datum(schedule.schedule_id)).hex()
    return out


@dataclass
class ChainBuilder:
    """Consecutive blocks (slot, id, ancestor) for tests that need a chain, not just one block."""

    slot: int = 1_000
    height: int = 1
    ancestor: str = "genesis"
    blocks: list[Block] = field(default_factory=list)

    def block(self, *transactions: dict[str, Any], slot_gap: int = 20) -> Block:
        self.slot += slot_gap
        self.height += 1
        block = block_of(list(transactions), slot=self.slot, height=self.height, ancestor=self.ancestor)
        self.ancestor = block.id
        self.blocks.append(block)
        return block


def block_of(
    transactions: list[dict[str, Any]],
    *,
    slot: int = 5_000,
    height: int = 10,
    ancestor: str = "",
    keep_source: bool = True,
    encode: Callable[[Any], bytes] = orjson.dumps,
) -> Block:
    """Type a block the way the client does for a frame: header now, transactions lazily, frame kept.

    `encode` writes the frame: Ogmios' compact JSON by default, another shape to test the fallbacks.
    """
    header = {
        "type": "praos",
        "era": "conway",
        "id": fresh_hash("block"),
        "ancestor": ancestor or fresh_hash("ancestor"),
        "height": height,
        "slot": slot,
        "size": {"bytes": 1_000},
        "transactions": transactions,
    }
    source = encode({"jsonrpc": "2.0", "method": "nextBlock", "result": {"block": header}})
    lazy = LazyTransactions(load=lambda: parse_transactions(transactions))
    return block_from_header(header, lazy, source if keep_source else None)


def point_of(block: Block) -> Point:
    assert block.slot is not None
    return Point(block.slot, block.id)


def chain_point_of(block: Block) -> ChainPoint:
    assert block.slot is not None
    return ChainPoint(block.slot, block.id)


def out_ref(tx: dict[str, Any], index: int) -> str:
    return f"{tx['id']}#{index}"


def address_of(output: dict[str, Any]) -> Address:
    return Address.from_primitive(output["address"])
