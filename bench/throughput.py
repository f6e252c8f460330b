"""Release throughput end to end: `python -m bench throughput` (issue 18).

1,000 allocations of one milestone are registered on a devnet in its own process (`milestoned devnet`,
1 s slots, its clock running: where a node would be, so the builder and the chain each have a core),
vest, and are then released: built (every check, local evaluation, fee), signed, submitted
and waited for until the ledger tip holds every release. The release is cut into one independent chain
of transactions per core (`build_release(lanes=...)`; the operator's wallet holds one funding UTxO per
lane, as after a change output is split in advance), built concurrently; each chain is submitted in its
order as soon as it is built (the devnet checks one while the next is built), the chains side by side.
Registration is not timed.

- `release.allocations_per_s`: 1,000 over the seconds from the start of the build to the last
  confirmation (built in this process, evaluation in threads: the daemon's default).
- `release.allocations_per_s_processes`: build only (checks, payouts, evaluation, fee; nothing sent),
  the 1,000 allocations over one lane per core, each transaction built in a worker process
  (`release_workers`, a warm pool); `release.allocations_per_s_threads`: the same lanes built in this
  process (evaluation in threads); `release.allocations_per_s_one_lane`: one lane in this process, the
  floor. All three from the same UTxOs in the same run (the processes' batches are checked to be the
  threads').
- printed beside it, its floor in the same run: the seconds the scripts alone take (each transaction
  evaluated twice, by the builder and by the devnet on submit, natively, spread over the cores).

Takes a few minutes (registration of 1,000 allocations is ~27 chained transactions).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import websockets

from bench.release import _address, _key, _oracle_seed
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.domain.timestamps import format_timestamp
from milestoned.ogmios.client import OgmiosClient
from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.assembly import BuiltTx
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.release_workers import ReleaseWorkers
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit, wait_until_confirmed

ALLOCATIONS = 1_000
SLOT_SECONDS = 1.0
VESTING_DELAY_MS = 600_000
"""Vesting this long after the start: registration of 1,000 allocations must be on chain before."""


@contextlib.asynccontextmanager
async def devnet_process() -> AsyncIterator[tuple[str, str]]:
    """`milestoned devnet` in a process of its own: (its Ogmios URL, its faucet's token policy)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "milestoned.daemon.cli",
        "devnet",
        "--port",
        "0",
        "--slot-length",
        str(SLOT_SECONDS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    url = policy = ""
    while not (url and policy):
        line = (await process.stdout.readline()).decode()
        if not line:
            raise RuntimeError("milestoned devnet stopped before it printed its URL and faucet")
        if line.startswith("Ogmios URL: "):
            url = line.split(": ", 1)[1].strip()
        if line.startswith("faucet: "):
            policy = line.rsplit("token policy ", 1)[1].strip(" )\n")
    drain = asyncio.create_task(process.stdout.read())  # keep its output flowing
    try:
        yield url, policy
    finally:
        process.send_signal(signal.SIGINT)
        await process.wait()
        drain.cancel()


async def _control(url: str, method: str, params: dict[str, Any]) -> Any:
    """One `devnet/...` call (fund, advanceTime) on a connection of its own."""
    async with websockets.connect(url, max_size=None) as connection:
        await connection.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}))
        answer = json.loads(await connection.recv())
    if "error" in answer:
        raise RuntimeError(f"{method} failed: {answer['error']}")
    return answer["result"]


def _schedule(policy: str, admin: Any, now_ms: int) -> Any:
    from pycardano import PaymentSigningKey, PaymentVerificationKey

    oracles = [PaymentVerificationKey.from_signing_key(PaymentSigningKey(_oracle_seed(i))) for i in range(3)]
    beneficiaries = [str(_address(_key(f"beneficiary-{i}"))) for i in range(20)]
    return parse_schedule_document(
        {
            "network": "devnet",
            "admin": str(admin),
            "token": {
                "token_policy_id": policy,
                "token_name_utf8": "MILE",
            },
            "oracles": [o.payload.hex() for o in oracles],
            "quorum_threshold": 2,
            "reclaim_deadline": format_timestamp(now_ms + 2 * VESTING_DELAY_MS),
            "beneficiary_allocations": [
                {
                    "beneficiary_address": beneficiaries[i % len(beneficiaries)],
                    "token_amount": 1_000 + i,
                    "milestone_identifier": "M1",
                    "vesting_timestamp": format_timestamp(now_ms + VESTING_DELAY_MS + i),
                }
                for i in range(ALLOCATIONS)
            ],
        }
    )


async def _measure() -> dict[str, float]:
    from milestoned.contracts import evaluation as ev

    lanes = os.cpu_count() or 1
    admin, operator = _key("admin"), _key("operator")
    workers = ReleaseWorkers(lanes)
    await workers.start()  # as in the daemon, whose pool outlives every release: warm before timing
    async with devnet_process() as (url, policy):
        admin_funds = {"address": str(_address(admin)), "lovelace": 20_000_000_000}
        await _control(url, "devnet/fund", {**admin_funds, "assets": {b"MILE".hex(): 10_000_000}})
        for _ in range(lanes):  # one funding UTxO per lane
            operator_funds = {"address": str(_address(operator)), "lovelace": 1_000_000_000}
            await _control(url, "devnet/fund", operator_funds)
        client = await OgmiosClient.connect(url, max_frame_bytes=None)
        chain = OgmiosChain(client, CardanoNetwork.DEVNET)
        now_ms = (await chain.chain_time()).now_ms
        definition = _schedule(policy, _address(admin), now_ms)
        started = time.perf_counter()
        plan = await build_registration(chain, definition, _address(admin))
        for built in plan.txs:
            await submit(chain, sign(built, [admin]))
        await wait_until_confirmed(chain, plan.txs[-1].tx, timeout=600)
        registered_s = time.perf_counter() - started
        signatures = {b"M1": [sign_attestation(_oracle_seed(i), plan.schedule_id, b"M1") for i in (0, 2)]}
        # vesting is in the future: move the clock instead of waiting for it
        await _control(url, "devnet/advanceTime", {"slots": VESTING_DELAY_MS // 1000 + 2})
        while (await chain.chain_time()).now_ms < now_ms + VESTING_DELAY_MS + 1_000:
            await asyncio.sleep(SLOT_SECONDS / 2)

        builds = await _build_rates(chain, definition, signatures, _address(operator), lanes, workers)

        started = time.perf_counter()
        tails: list[tuple[BuiltTx, asyncio.Task[None]]] = []  # each chain's last transaction and its send

        def send_when_built(built: BuiltTx) -> None:
            """Submit each transaction as soon as it is built, after the one whose change it spends."""
            lane = next(
                (i for i, (last, _) in enumerate(tails) if set(last.produced) & set(built.spent)), None
            )
            previous = tails[lane][1] if lane is not None else None

            async def send() -> None:
                if previous is not None:
                    await previous
                await submit(chain, sign(built, [operator]))

            task = asyncio.get_running_loop().create_task(send())
            if lane is None:
                tails.append((built, task))
            else:
                tails[lane] = (built, task)

        release = await build_release(
            chain, definition, signatures, _address(operator), lanes=lanes, on_built=send_when_built
        )
        built_s = time.perf_counter() - started
        await asyncio.gather(*(task for _, task in tails))
        for built in release.txs:
            await wait_until_confirmed(chain, built.tx, timeout=600, tx_id=built.tx_id)
        total_s = time.perf_counter() - started
        left = await locked_allocations(chain, plan.schedule_id, plan.validator_address)
        slot_config = (await chain.chain_time()).slot_config()
        references = await chain.utxos_by_inputs(
            i for b in release.txs for i in b.tx.transaction_body.reference_inputs or []
        )
        await client.close()
    workers.close()
    released = len(release.released)
    assert released == ALLOCATIONS and not left, f"released {released}, {len(left)} still locked"
    eval_s = 0.0
    for built in release.txs:  # the floor: evaluating every script twice, natively, over the cores
        began = time.perf_counter()
        outcome = ev.evaluate_natively(built.tx, {**built.spent, **references}, slot_config)
        eval_s += time.perf_counter() - began
        assert isinstance(outcome, list), outcome
    floor_s = 2 * eval_s / min(lanes, len(tails))
    rate = ALLOCATIONS / total_s
    print(
        f"registration of {ALLOCATIONS:,} allocations: {len(plan.txs)} transactions, {registered_s:.1f} s "
        f"(not timed)"
    )
    print(
        f"release of {ALLOCATIONS:,}: {len(release.txs)} transactions in {len(tails)} chain(s), built in "
        f"{built_s:.1f} s, all confirmed after {total_s:.1f} s: {rate:.1f} allocations/s "
        f"(floor, scripts alone: {floor_s:.1f} s = {ALLOCATIONS / floor_s:.0f} allocations/s; "
        f"evaluator: {ev.evaluator_in_use()}, {lanes} core(s))"
    )
    one_lane, threads, processes = (ALLOCATIONS / seconds for seconds in builds)
    print(
        f"build only, {ALLOCATIONS:,} allocations, same chain state: {lanes} lanes in {lanes} worker "
        f"processes {processes:.1f} allocations/s, {lanes} lanes in threads {threads:.1f}/s, one lane "
        f"(floor) {one_lane:.1f}/s: processes x{processes / one_lane:.2f} the floor, "
        f"x{processes / threads:.2f} threads"
    )
    return {
        "release.allocations_per_s": rate,
        "release.allocations_per_s_processes": processes,
        "release.allocations_per_s_threads": threads,
        "release.allocations_per_s_one_lane": one_lane,
    }


async def _build_rates(
    chain: OgmiosChain,
    definition: Any,
    signatures: Any,
    payer: Any,
    lanes: int,
    workers: ReleaseWorkers,
) -> tuple[float, float, float]:
    """Seconds to build (not send) the whole release: one lane in this process (the floor), `lanes` lanes
    in this process (evaluation in threads), `lanes` lanes in worker processes. Nothing is submitted in
    between, so each builds from the same chain state; the last two build the same transactions."""
    seconds = []
    plans = []
    for lane_count, pool in ((1, None), (lanes, None), (lanes, workers)):
        began = time.perf_counter()
        plan = await build_release(chain, definition, signatures, payer, lanes=lane_count, workers=pool)
        plans.append(plan)
        seconds.append(time.perf_counter() - began)
    batches = [[t.details["allocations"] for t in p.txs] for p in plans[1:]]
    assert batches[0] == batches[1], "processes batched the allocations otherwise than threads"
    return seconds[0], seconds[1], seconds[2]


def run() -> dict[str, float]:
    return asyncio.run(_measure())
