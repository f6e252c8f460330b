"""Shared setup of the txbuilder tests: a devnet, the demo keys, and schedules relative to chain time.

The example schedule (examples/schedule.json: 3 milestones, 5 beneficiaries, 3 oracles, quorum 2) has
its times in 2027, so tests rewrite them relative to the devnet's chain time and swap its token for
one the devnet faucet mints. Everything else (beneficiaries, amounts, milestones, oracle keys) is the
example's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey, ScriptHash, Transaction

from milestoned.daemon.demo_wiring import demo_seed
from milestoned.devnet.service import Devnet, run_devnet
from milestoned.domain.attestation import OracleSignature, sign_attestation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.domain.timestamps import format_timestamp
from milestoned.ogmios.client import OgmiosClient
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.registration import RegistrationPlan, build_registration
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SLOT_MS = 100
TOKEN_NAME = b"MILE"
MILESTONE_OFFSETS_MS = {
    "M1-testnet-launch": 60_000,
    "M2-security-audit": 120_000,
    "M3-mainnet-launch": 180_000,
}
RECLAIM_OFFSET_MS = 600_000


def demo_key(name: str) -> PaymentSigningKey:
    return PaymentSigningKey(demo_seed(name))


def enterprise(key: PaymentSigningKey) -> Address:
    return Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)


ADMIN = demo_key("admin")
ADMIN_ADDRESS = enterprise(ADMIN)
OPERATOR = PaymentSigningKey(hashlib.sha256(b"milestoned/test/operator").digest())
OPERATOR_ADDRESS = enterprise(OPERATOR)


def beneficiary_key(n: int) -> PaymentSigningKey:
    """The payment key of examples' beneficiary-n (1..5)."""
    return demo_key(f"beneficiary-{n}")


def oracle_signature(index: int, schedule_id: bytes, milestone: str) -> OracleSignature:
    """Oracle `index` (1..3 as in examples/oracles) signs `milestone` of the schedule."""
    return sign_attestation(demo_seed(f"oracle-{index}"), schedule_id, milestone.encode())


def example_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "schedule.json").read_text())
    oracle_keys = [
        PaymentVerificationKey.from_signing_key(demo_key(f"oracle-{i}")).payload.hex() for i in (1, 2, 3)
    ]
    document["oracles"] = oracle_keys
    return document


def relative_schedule(devnet: Devnet, now_ms: int, **changes: Any) -> ScheduleDefinition:
    """The example schedule with its times relative to `now_ms` and the faucet's token."""
    document = example_document()
    document["token"] = {
        "token_policy_id": devnet.faucet.policy.hash().payload.hex(),
        "token_name_utf8": TOKEN_NAME.decode(),
    }
    for index, allocation in enumerate(document["beneficiary_allocations"]):
        offset = MILESTONE_OFFSETS_MS[allocation["milestone_identifier"]]
        allocation["vesting_timestamp"] = format_timestamp(now_ms + offset + index * 1000)
    document["reclaim_deadline"] = format_timestamp(now_ms + RECLAIM_OFFSET_MS)
    document.update(changes)
    return parse_schedule_document(document)


def large_schedule(devnet: Devnet, now_ms: int, count: int) -> ScheduleDefinition:
    """`count` allocations to the example's five beneficiaries; the first 100 under M1, the rest M2."""
    document = example_document()
    beneficiaries = sorted({a["beneficiary_address"] for a in document["beneficiary_allocations"]})
    document["token"] = {
        "token_policy_id": devnet.faucet.policy.hash().payload.hex(),
        "token_name_utf8": TOKEN_NAME.decode(),
    }
    document["beneficiary_allocations"] = [
        {
            "beneficiary_address": beneficiaries[i % len(beneficiaries)],
            "token_amount": 1_000 + i,
            "milestone_identifier": "M1" if i < 100 else "M2",
            "vesting_timestamp": format_timestamp(now_ms + 30_000 + i),
        }
        for i in range(count)
    ]
    document["reclaim_deadline"] = format_timestamp(now_ms + RECLAIM_OFFSET_MS)
    return parse_schedule_document(document)


@dataclass
class World:
    devnet: Devnet
    chain: OgmiosChain

    @property
    def now_ms(self) -> int:
        return self.devnet.network.start_time_ms + self.devnet.chain.slot * SLOT_MS

    def settle(self) -> None:
        """Produce blocks until the mempool is empty (big chains of transactions span several blocks)."""
        for _ in range(50):
            self.devnet.produce_block()
            if not self.devnet.chain.mempool:
                return
        raise AssertionError("the mempool never emptied")

    def advance_ms(self, milliseconds: int) -> None:
        self.devnet.advance(milliseconds // SLOT_MS + 1)
        self.devnet.produce_block()

    async def submit_chain(self, txs: list[Transaction]) -> None:
        """Submit a chain of transactions, all before any block, then forge until the mempool is empty.

        The devnet, like a node, forges a prefix of its mempool when a block is full, so a chain longer
        than one block lands over several blocks without losing a descendant.
        """
        for tx in txs:
            await submit(self.chain, tx)
        self.settle()

    async def register(self, definition: ScheduleDefinition) -> RegistrationPlan:
        plan = await build_registration(self.chain, definition, ADMIN_ADDRESS)
        await self.submit_chain([sign(t, [ADMIN]) for t in plan.txs])
        return plan

    def token_balance(self, address: Address, policy: bytes) -> int:
        total = 0
        for output in self.devnet.chain.utxo.values():
            if output.address == address and not isinstance(output.amount, int):
                total += sum(output.amount.multi_asset.get(ScriptHash(policy), {}).values())
        return total


@asynccontextmanager
async def world(admin_tokens: int = 10_000_000) -> AsyncIterator[World]:
    """A frozen-clock devnet (0.1 s slots) with the admin funded with ADA and the token, the "
    "operator with ADA."""
    async with run_devnet(port=0, clock=False, slot_length=SLOT_MS / 1000) as devnet:
        devnet.fund(ADMIN_ADDRESS, 2_000_000_000, {TOKEN_NAME: admin_tokens})
        devnet.fund(OPERATOR_ADDRESS, 500_000_000)
        client = await OgmiosClient.connect(devnet.url, max_frame_bytes=None)
        try:
            yield World(devnet, OgmiosChain(client, CardanoNetwork.DEVNET))
        finally:
            await client.close()


def signed(tx: Any, *keys: PaymentSigningKey) -> Transaction:
    return sign(tx, list(keys))
