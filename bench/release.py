"""Release benchmark: from command to confirmed block, on an in-process devnet with its slot clock running.

- `release.single_to_confirmed_s`: build (checks, evaluation, fee) + sign + submit + wait until the
  ledger tip holds the release of one allocation.
- `release.batch_to_confirmed_s`: the same for a batch of every claimable allocation of a schedule
  (as many as one transaction takes, measured by evaluation).
- `release.fee_per_allocation_lovelace`: the batch's fee divided by the allocations it released
  (printed next to the single release's fee, the floor a batch improves on).
- `register.allocations_per_tx`: allocations registered by a full registration transaction.
- `release.eval_s_52`: one phase-2 evaluation of the 52-allocation release (the contract scenarios'
  largest batch), by the native evaluator (`milestoned.contracts.native_evaluation`), best of three;
  `release.eval_s_52_python`: the same transaction by pure-Python uplc in the same run (its floor
  the other way round: what the native evaluator replaces). Their units are checked equal.

`release.allocations_per_s` (1,000 allocations end to end) is `python -m bench throughput`.

The devnet runs 1 s slots (mainnet's) and forges a block at the first slot with work; it shares the
process with the builder, so its Plutus evaluation (in worker threads, native where the wheel runs)
is part of the time measured.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from milestoned.devnet.service import Devnet, run_devnet
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.domain.timestamps import format_timestamp
from milestoned.ogmios.client import OgmiosClient
from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit, wait_until_confirmed

ALLOCATIONS = 100
SLOT_SECONDS = 1.0


def _key(label: str) -> PaymentSigningKey:
    return PaymentSigningKey(hashlib.blake2b(f"milestoned-bench/{label}".encode(), digest_size=32).digest())


def _address(key: PaymentSigningKey) -> Address:
    return Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)


def _oracle_seed(index: int) -> bytes:
    return hashlib.blake2b(f"milestoned-bench/oracle-{index}".encode(), digest_size=32).digest()


def _schedule(devnet: Devnet, admin: Address, now_ms: int) -> Any:
    oracles = [PaymentVerificationKey.from_signing_key(PaymentSigningKey(_oracle_seed(i))) for i in range(3)]
    beneficiaries = [str(_address(_key(f"beneficiary-{i}"))) for i in range(5)]
    return parse_schedule_document(
        {
            "network": "devnet",
            "admin": str(admin),
            "token": {
                "token_policy_id": devnet.faucet.policy.hash().payload.hex(),
                "token_name_utf8": "MILE",
            },
            "oracles": [o.payload.hex() for o in oracles],
            "quorum_threshold": 2,
            "reclaim_deadline": format_timestamp(now_ms + 3_600_000),
            "beneficiary_allocations": [
                {
                    "beneficiary_address": beneficiaries[i % 5],
                    "token_amount": 1_000 + i,
                    "milestone_identifier": "M1",
                    "vesting_timestamp": format_timestamp(now_ms + 5_000 + i),
                }
                for i in range(ALLOCATIONS)
            ],
        }
    )


async def _measure() -> dict[str, float]:
    admin, operator = _key("admin"), _key("operator")
    async with run_devnet(port=0, slot_length=SLOT_SECONDS) as devnet:
        devnet.fund(_address(admin), 2_000_000_000, {b"MILE": 10_000_000})
        devnet.fund(_address(operator), 1_000_000_000)
        client = await OgmiosClient.connect(devnet.url, max_frame_bytes=None)
        chain = OgmiosChain(client, CardanoNetwork.DEVNET)
        now_ms = (await chain.chain_time()).now_ms
        definition = _schedule(devnet, _address(admin), now_ms)
        plan = await build_registration(chain, definition, _address(admin))
        for built in plan.txs:
            await submit(chain, sign(built, [admin]))
            await wait_until_confirmed(chain, built.tx, timeout=120)
        per_tx = max(len(t.details.get("allocations", [])) for t in plan.txs)
        signatures = {b"M1": [sign_attestation(_oracle_seed(i), plan.schedule_id, b"M1") for i in (0, 2)]}
        while (await chain.chain_time()).now_ms < now_ms + 6_000 + ALLOCATIONS:
            await asyncio.sleep(SLOT_SECONDS / 2)
        locked = await locked_allocations(chain, plan.schedule_id, plan.validator_address)

        started = time.perf_counter()
        single = await build_release(
            chain, definition, signatures, _address(operator), allocations=[locked[0].reference]
        )
        await submit(chain, sign(single.txs[0], [operator]))
        await wait_until_confirmed(chain, single.txs[0].tx, timeout=120)
        single_s = time.perf_counter() - started

        started = time.perf_counter()
        batch = await build_release(chain, definition, signatures, _address(operator))
        for built in batch.txs:
            await submit(chain, sign(built, [operator]))
        for built in batch.txs:
            await wait_until_confirmed(chain, built.tx, timeout=120)
        batch_s = time.perf_counter() - started
        first = batch.txs[0]
        released = len(first.details["allocations"])
        await client.close()
    figures = {
        "release.single_to_confirmed_s": single_s,
        "release.batch_to_confirmed_s": batch_s,
        "release.fee_per_allocation_lovelace": first.fee / released,
        "register.allocations_per_tx": float(per_tx),
    }
    print(f"single release: {single_s:6.2f} s to a confirmed block, fee {single.txs[0].fee:,} lovelace")
    print(
        f"batch release:  {batch_s:6.2f} s for {len(batch.txs)} transaction(s), "
        f"{released} allocations in the first ({first.mem:,} memory, {first.cpu:,} CPU, "
        f"{first.size:,} bytes), fee {first.fee:,} lovelace"
    )
    print(
        f"fee per released allocation: {figures['release.fee_per_allocation_lovelace']:,.0f} lovelace "
        f"in a batch, against {single.txs[0].fee:,} alone (the floor a batch improves on)"
    )
    print(
        f"registration: {per_tx} allocations per full transaction "
        f"({len(plan.txs)} transactions for {ALLOCATIONS})"
    )
    return figures


def evaluation_figures(allocations: int = 52) -> dict[str, float]:
    """One evaluation of the `allocations`-allocation release, native (best of three) and uplc."""
    from milestoned.contracts import evaluation as ev
    from milestoned.contracts import scenarios as sc

    built = sc.batch_release(sc.Schedule(label="bench", oracle_count=3, quorum=2), allocations)
    native_s = []
    for _ in range(3):
        started = time.perf_counter()
        fast = ev.evaluate_natively(built.tx, built.utxos, sc.SLOT_CONFIG)
        native_s.append(time.perf_counter() - started)
    started = time.perf_counter()
    reference = ev.evaluate_with_uplc(built.tx, built.utxos, sc.SLOT_CONFIG)
    python_s = time.perf_counter() - started
    ev.check_agreement(fast, reference)  # same verdict, same units per redeemer
    mem, cpu = sum(e.mem for e in reference), sum(e.cpu for e in reference)
    print(
        f"evaluation of the {allocations}-allocation release ({len(reference)} redeemers, {mem:,} memory, "
        f"{cpu:,} CPU): native {min(native_s):.3f} s, uplc {python_s:.3f} s "
        f"({python_s / min(native_s):.1f}x), identical units"
    )
    return {
        f"release.eval_s_{allocations}": min(native_s),
        f"release.eval_s_{allocations}_python": python_s,
    }


def run() -> dict[str, float]:
    return {**evaluation_figures(), **asyncio.run(_measure())}
