"""Chain audit benchmark: `milestonectl audit`'s work on one devnet chain, next to a chain-sync floor.

The chain (`bench.chain_fixture`): 10 schedules x 100 allocations registered with their metadata, one
release per schedule, two schedules reclaimed, ~5,000 blocks. Built once per run (minutes: the devnet
evaluates every script with the Python Plutus evaluator); the figures only time the reading.

- `audit.report_s`: the whole audit in process, as the command does it minus printing: chain sync from
  the origin to the tip, the filter and discovery on every block, the witnesses of every release and
  reclaim, the reconciliation, and the report rendered as JSON and as the HTML page (best of 3, each
  with the address cache empty, as in a fresh process; all three are printed).
- `audit.floor_s`: the floor measured in the same run: receiving the same blocks with our Ogmios client
  and doing nothing with them (best of 3).
- `audit.ratio_to_floor`: report over floor.

On the same chain, `bench.recovery` measures `recovery.rebuild_s` and `recovery.ratio_to_index` (a lost
log rebuilt from the chain, next to plain indexing of the same blocks).

The run checks that the report saw everything the chain holds (every schedule reconciled, every
allocation, release and reclaim), so a figure is never the time of an audit that missed something.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.chain_fixture import BenchChain, bench_chain
from milestoned.ogmios.client import OgmiosClient
from milestoned.ogmios.model import RollForward

SCHEDULES, ALLOCATIONS, BLOCKS = 10, 100, 5_000
RUNS = 3


async def _floor(url: str) -> float:
    client = await OgmiosClient.connect(url, max_frame_bytes=None)
    try:
        began = time.perf_counter()
        await client.find_intersection(["origin"])
        while True:
            result = await client.next_block()
            if isinstance(result, RollForward) and result.block.id == result.tip.id:
                return time.perf_counter() - began
    finally:
        await client.close()


async def _report(chain: BenchChain) -> tuple[float, int]:
    from milestoned.commands.audit_cmd import run_audit
    from milestoned.commands.audit_render import html_report
    from milestoned.domain.schedule_file import _canonical_beneficiary

    _canonical_beneficiary.cache_clear()  # as in a fresh `milestonectl audit` process
    began = time.perf_counter()
    run = await run_audit(chain.url, "origin", [])
    rendered = len(json.dumps(run.to_json())) + len(html_report(run))
    seconds = time.perf_counter() - began
    report = run.report
    lives = [life for s in report.schedules for life in s.allocations]
    seen = (
        len(report.schedules),
        len(lives),
        sum(life.state == "released" for life in lives),
        sum(life.state == "reclaimed" for life in lives),
    )
    wanted = (len(chain.schedule_ids), chain.allocations, chain.released, chain.reclaimed)
    if not run.ok or seen != wanted or run.blocks != chain.blocks:
        raise AssertionError(f"the audit saw {seen} in {run.blocks} blocks, the chain holds {wanted}")
    return seconds, rendered


async def _measure() -> dict[str, float]:
    async with bench_chain(SCHEDULES, ALLOCATIONS, BLOCKS) as chain:
        print(
            f"  chain: {len(chain.schedule_ids)} schedules x {ALLOCATIONS} allocations, "
            f"{chain.blocks} blocks, {chain.transactions} transactions ({chain.released} allocations "
            f"released, {chain.reclaimed} reclaimed); built in {chain.build_seconds:.0f} s"
        )
        floor = min([await _floor(chain.url) for _ in range(RUNS)])
        reports = [await _report(chain) for _ in range(RUNS)]
        report = min(seconds for seconds, _ in reports)
        from bench import recovery  # the same chain serves the rebuild benchmark (minutes to build)

        print("  -- recovery (rebuilding a lost log from this chain) --")
        rebuilt = await recovery.measure(chain)
        print(
            "  audit runs: "
            + ", ".join(f"{seconds:.3f} s" for seconds, _ in reports)
            + " (the first also loads "
            "the committed scripts once, as every fresh process does)"
        )
    print(f"  floor (chain sync, receive only)   {floor:8.3f} s   ({chain.blocks / floor:,.0f} blocks/s)")
    print(
        f"  audit report (sync + filter + discovery + reconciliation + JSON + HTML, {reports[0][1]:,} bytes) "
        f"{report:8.3f} s   ratio to floor {report / floor:.2f}"
    )
    return {
        "audit.report_s": report,
        "audit.floor_s": floor,
        "audit.ratio_to_floor": report / floor,
        **rebuilt,
    }


def run() -> dict[str, float]:
    return asyncio.run(_measure())
