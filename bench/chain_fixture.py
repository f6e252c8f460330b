"""A devnet chain with many schedules, for the benchmarks that read a whole chain (audit, recovery).

`bench_chain(schedules, allocations, blocks)` runs an in-process devnet (frozen clock, 0.1 s slots) and
builds on it, through the real txbuilder and the real scripts (evaluated by the devnet's Plutus
evaluator):

- `schedules` schedules of `allocations` allocations each (20 beneficiaries of its own, so 5 allocations
  each at 100; milestones M1 for the first half, M2 for the rest; 3 oracles, quorum 2), registered with
  their label-1967 metadata (several transactions each);
- one release per schedule: beneficiary 0's M1 allocations (3 at 100), attested by oracles 0 and 1;
- after the reclaim deadline, the reclaim of the remaining allocations of the first `reclaims` schedules;
- empty blocks between the steps and after them, so that the chain is `blocks` blocks long with the
  schedules' transactions spread over it.

It yields a `BenchChain` (the running devnet, its URL, and what was built, so a benchmark can check
that what it measured saw everything). Building 10 x 100 allocations takes minutes with the Python
evaluator; the context keeps the devnet up so several measurements share one chain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from milestoned.devnet.service import Devnet, run_devnet
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.domain.timestamps import format_timestamp
from milestoned.ogmios.client import OgmiosClient
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.reclaim import build_reclaim
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit

SLOT_MS = 100
BENEFICIARIES = 20
DEADLINE_MS = 3_600_000
TOKEN = "MILE"
SUBMIT_CHUNK = 8
"""Transactions submitted before the devnet forges them (see `submit_all`)."""


@dataclass(frozen=True, slots=True)
class ScheduleShape:
    """How each schedule's allocations are laid out: allocation i goes to beneficiary i % beneficiaries,
    on milestone M(1 + i // (allocations // milestones)) (the last milestone takes any remainder), with
    `oracles` oracles of which `quorum` must sign. The default is the audit/recovery chain's shape;
    `SCALE_SHAPE` with 10,000 allocations is the issue's 2,000 beneficiaries x 5 milestones, 3-of-5."""

    beneficiaries: int = BENEFICIARIES
    milestones: int = 2
    oracles: int = 3
    quorum: int = 2

    def milestone(self, index: int, allocations: int) -> str:
        per_milestone = max(1, allocations // self.milestones)
        return f"M{1 + min(self.milestones - 1, index // per_milestone)}"


BUILT_NOTE = "bench-chain.json"
"""In a chain's state directory: the arguments it was built with and what was built (`BenchChain`)."""

SCALE_SHAPE = ScheduleShape(beneficiaries=2_000, milestones=5, oracles=5, quorum=3)


def _key(label: str) -> PaymentSigningKey:
    return PaymentSigningKey(hashlib.blake2b(f"milestoned-bench/{label}".encode(), digest_size=32).digest())


def _address(key: PaymentSigningKey) -> Address:
    return Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)


def _oracle_seed(index: int) -> bytes:
    return hashlib.blake2b(f"milestoned-bench/oracle-{index}".encode(), digest_size=32).digest()


ADMIN = _key("chain-admin")
OPERATOR = _key("chain-operator")


@dataclass
class BenchChain:
    devnet: Devnet
    schedule_ids: list[str] = field(default_factory=list)
    allocations: int = 0
    released: int = 0
    """Allocations released."""
    reclaimed: int = 0
    """Allocations reclaimed."""
    transactions: int = 0
    build_seconds: float = 0.0

    @property
    def url(self) -> str:
        return self.devnet.url

    @property
    def blocks(self) -> int:
        return len(self.devnet.chain.blocks)


def beneficiary(schedule: int, index: int) -> Address:
    """Each schedule has beneficiaries of its own (addresses are read and checked once per address)."""
    return _address(_key(f"beneficiary-{schedule}-{index}"))


def schedule_definition(
    devnet: Devnet, index: int, allocations: int, now_ms: int, shape: ScheduleShape = ScheduleShape()
) -> Any:
    oracles = [
        PaymentVerificationKey.from_signing_key(PaymentSigningKey(_oracle_seed(i)))
        for i in range(shape.oracles)
    ]
    beneficiaries = [str(beneficiary(index, i)) for i in range(shape.beneficiaries)]
    return parse_schedule_document(
        {
            "network": "devnet",
            "admin": str(_address(ADMIN)),
            "token": {"token_policy_id": devnet.faucet.policy.hash().payload.hex(), "token_name_utf8": TOKEN},
            "oracles": [o.payload.hex() for o in oracles],
            "quorum_threshold": shape.quorum,
            "reclaim_deadline": format_timestamp(now_ms + DEADLINE_MS),
            "nonce": hashlib.blake2b(f"bench-schedule-{index}".encode(), digest_size=16).hexdigest(),
            "beneficiary_allocations": [
                {
                    "beneficiary_address": beneficiaries[i % shape.beneficiaries],
                    "token_amount": 1_000 + i,
                    "milestone_identifier": shape.milestone(i, allocations),
                    "vesting_timestamp": format_timestamp(now_ms + 5_000 + i),
                }
                for i in range(allocations)
            ],
        }
    )


@asynccontextmanager
async def bench_chain(
    schedules: int = 10,
    allocations: int = 100,
    blocks: int = 5_000,
    reclaims: int = 2,
    *,
    quiet: bool = False,
    shape: ScheduleShape = ScheduleShape(),
    state_dir: Path | None = None,
) -> AsyncIterator[BenchChain]:
    """The chain described in the module docstring, on a running devnet (stopped on exit).

    With `state_dir`, the devnet keeps its chain there (`milestoned devnet --state`) with a note of what
    was built; a later call with the same arguments and directory serves that chain again instead of
    building it (minutes for 10,000 allocations), e.g. while profiling one benchmark repeatedly.
    """
    began = time.perf_counter()
    key = {
        "schedules": schedules,
        "allocations": allocations,
        "blocks": blocks,
        "reclaims": reclaims,
        "shape": dataclasses.asdict(shape),
    }
    note = None if state_dir is None else state_dir / BUILT_NOTE
    if note is not None and note.exists():
        saved = json.loads(note.read_text())
        if saved["key"] != key:
            raise ValueError(
                f"{state_dir} holds a bench chain built with {saved['key']}, not {key}; "
                "remove the directory or choose another one"
            )
        async with run_devnet(port=0, clock=False, slot_length=SLOT_MS / 1000, state_dir=state_dir) as devnet:
            yield BenchChain(devnet, **saved["built"])
        return
    async with run_devnet(port=0, clock=False, slot_length=SLOT_MS / 1000, state_dir=state_dir) as devnet:
        built = BenchChain(devnet)
        admin, operator = _address(ADMIN), _address(OPERATOR)
        per_schedule_ada = allocations * 3_000_000 + 200_000_000
        devnet.fund(admin, schedules * per_schedule_ada, {TOKEN.encode(): schedules * allocations * 10_000})
        devnet.fund(operator, 200_000_000 * schedules)
        client = await OgmiosClient.connect(devnet.url, max_frame_bytes=None)
        try:
            chain = OgmiosChain(client, CardanoNetwork.DEVNET)
            steps = schedules * 2 + reclaims + 1
            gap = max(0, (blocks - 4 * steps) // steps)

            def now_ms() -> int:
                return devnet.network.start_time_ms + devnet.chain.slot * SLOT_MS

            def drain() -> None:
                for _ in range(200):
                    devnet.produce_block()
                    if not devnet.chain.mempool:
                        break

            def settle() -> None:
                drain()
                for _ in range(gap):
                    devnet.produce_block()

            async def submit_all(txs: list[Any], key: PaymentSigningKey) -> None:
                """Submit in chunks, each forged before the next: the devnet checks every pending
                transaction again at each block, so hundreds pending at once cost quadratic time."""
                for start in range(0, len(txs), SUBMIT_CHUNK):
                    for tx in txs[start : start + SUBMIT_CHUNK]:
                        await submit(chain, sign(tx, [key]))
                    drain()

            definitions = []
            for index in range(schedules):
                definition = schedule_definition(devnet, index, allocations, now_ms(), shape)
                plan = await build_registration(chain, definition, admin)
                await submit_all(plan.txs, ADMIN)
                built.transactions += len(plan.txs)
                settle()
                definitions.append((definition, plan.schedule_id))
                built.schedule_ids.append(plan.schedule_id.hex())
                built.allocations += allocations
                if not quiet:
                    print(
                        f"  [chain] schedule {index + 1}/{schedules} registered ({len(plan.txs)} txs)",
                        flush=True,
                    )
            devnet.advance(10_000 // SLOT_MS + allocations)
            devnet.produce_block()
            for index, (definition, schedule_id) in enumerate(definitions):
                signatures = [
                    sign_attestation(_oracle_seed(i), schedule_id, b"M1") for i in range(shape.quorum)
                ]
                release = await build_release(
                    chain, definition, {b"M1": signatures}, operator, beneficiary=str(beneficiary(index, 0))
                )
                for tx in release.txs:
                    await submit(chain, sign(tx, [OPERATOR]))
                built.transactions += len(release.txs)
                built.released += len(release.released)
                settle()
            latest = max(d.reclaim_deadline_ms for d, _ in definitions)
            devnet.advance((latest - now_ms()) // SLOT_MS + 10)
            devnet.produce_block()
            for definition, _ in definitions[:reclaims]:
                reclaim = await build_reclaim(chain, definition, admin)
                for tx in reclaim.txs:
                    await submit(chain, sign(tx, [ADMIN]))
                built.transactions += len(reclaim.txs)
                built.reclaimed += len(reclaim.released)
                settle()
            while built.blocks < blocks:
                devnet.produce_block()
        finally:
            await client.close()
        built.build_seconds = time.perf_counter() - began
        if note is not None:
            fields = {f.name: getattr(built, f.name) for f in dataclasses.fields(built) if f.name != "devnet"}
            note.write_text(json.dumps({"key": key, "built": fields}, indent=2) + "\n")
        yield built
