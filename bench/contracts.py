"""Execution units and sizes of the on-chain scripts: `python -m bench contracts`.

Figures come from the committed scripts, evaluated with uplc under the Conway mainnet Plutus V3 cost
model on real transactions (scripts as reference scripts, fee input, collateral, key witnesses), the
same code path as the devnet's phase-2 validation. The floor is mainnet's per-transaction limits:
16,384 bytes of signed transaction, 14,000,000 memory units, 10,000,000,000 CPU steps.

The largest batch is searched for, not extrapolated: every candidate size is built and evaluated, and
the answer is the largest count whose transaction passes, fits the size limit and the unit limits.
Each allocation of a batch goes to its own beneficiary (one payout output each, the worst case for size)
under one milestone signed by a quorum of two oracles.
"""

from __future__ import annotations

from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import MAX_TX_CPU, MAX_TX_MEM
from milestoned.contracts.loader import default_blueprint

MAX_TX_BYTES = 16_384
BATCH = 40


def measure(schedule: sc.Schedule, count: int) -> sc.UnitsRow:
    built = sc.batch_release(schedule, count)
    return sc.units_row(f"release of {count}", built, built.evaluate())


def fits(row: sc.UnitsRow) -> bool:
    return row.accepted and row.tx_bytes <= MAX_TX_BYTES and row.mem <= MAX_TX_MEM and row.cpu <= MAX_TX_CPU


def largest_batch(schedule: sc.Schedule, first: sc.UnitsRow, batch: sc.UnitsRow) -> sc.UnitsRow:
    """Start from the linear estimate through the two measured points, then walk to the boundary."""
    per_mem = (batch.mem - first.mem) / (BATCH - 1)
    per_cpu = (batch.cpu - first.cpu) / (BATCH - 1)
    per_byte = (batch.tx_bytes - first.tx_bytes) / (BATCH - 1)
    estimate = min(
        (MAX_TX_MEM - first.mem) / per_mem,
        (MAX_TX_CPU - first.cpu) / per_cpu,
        (MAX_TX_BYTES - first.tx_bytes) / per_byte,
    )
    count = max(1, int(estimate) + 1)
    row = measure(schedule, count)
    while not fits(row) and count > 1:
        count -= 1
        row = measure(schedule, count)
    while True:
        bigger = measure(schedule, count + 1)
        if not fits(bigger):
            return row
        count, row = count + 1, bigger


def per_redeemer(schedule: sc.Schedule) -> dict[str, float]:
    """Memory and CPU of each redeemer (policy; one allocation's spend) for each action, one allocation
    each (register, release, reclaim), plus the policy's share in a release of BATCH: docs/onchain.md
    lists them before and after each change of the scripts."""
    allocations = sc.batch_allocations(1)
    spent = sc.allocation_utxos(schedule, allocations)
    cases = {
        "register1": sc.register_tx(schedule, allocations),
        "release1": sc.batch_release(schedule, 1),
        "reclaim1": sc.reclaim_tx(schedule, spent, validity_start_ms=schedule.reclaim_deadline_ms),
        f"release{BATCH}": sc.batch_release(schedule, BATCH),
    }
    figures: dict[str, float] = {}
    print(f"{'redeemer':<24} {'mem':>11} {'cpu':>14}")
    for case, built in cases.items():
        evaluations = built.evaluate()
        policy = next(e for e in evaluations if e.tag.name == "MINT")
        spends = [e for e in evaluations if e.tag.name == "SPEND"]
        rows = [("policy", policy.mem, policy.cpu)]
        if spends:
            rows.append(("spend", spends[0].mem, spends[0].cpu))
        for name, mem, cpu in rows:
            print(f"{case + ' ' + name:<24} {mem:>11,} {cpu:>14,}")
            figures[f"contracts.{case}.{name}_mem"] = mem
            figures[f"contracts.{case}.{name}_cpu"] = cpu
    return figures


def run() -> dict[str, float]:
    schedule = sc.Schedule(label="bench", oracle_count=3, quorum=2)
    blueprint = default_blueprint()
    validator_bytes = len(blueprint.validator)
    policy_bytes = len(schedule.scripts.policy)
    first = measure(schedule, 1)
    batch = measure(schedule, BATCH)
    best = largest_batch(schedule, first, batch)
    register = sc.register_tx(schedule, sc.batch_allocations(BATCH // 2))
    register_row = sc.units_row(f"register {BATCH // 2}", register, register.evaluate())

    print(sc.format_units_table([first, batch, register_row, best]))
    print(
        f"largest release batch: {best.redeemers - 1} allocations "
        f"(mem {best.mem_share:.1%}, cpu {best.cpu_share:.1%}, {best.tx_bytes} of {MAX_TX_BYTES} bytes)"
    )
    print(
        f"script sizes: validator {validator_bytes} bytes, policy {policy_bytes} bytes applied "
        f"({len(blueprint.policy_template)} unapplied); both are meant as reference scripts"
    )
    redeemers = per_redeemer(schedule)
    return {
        **redeemers,
        "contracts.release1.mem": first.mem,
        "contracts.release1.cpu": first.cpu,
        "contracts.release1.mem_share": first.mem_share,
        "contracts.release1.cpu_share": first.cpu_share,
        "contracts.release1.tx_bytes": first.tx_bytes,
        f"contracts.release{BATCH}.mem": batch.mem,
        f"contracts.release{BATCH}.cpu": batch.cpu,
        f"contracts.release{BATCH}.mem_share": batch.mem_share,
        f"contracts.release{BATCH}.cpu_share": batch.cpu_share,
        f"contracts.release{BATCH}.tx_bytes": batch.tx_bytes,
        "contracts.max_batch_release": best.redeemers - 1,
        "contracts.max_batch_release.mem_share": best.mem_share,
        "contracts.max_batch_release.cpu_share": best.cpu_share,
        "contracts.max_batch_release.tx_bytes": best.tx_bytes,
        f"contracts.register{BATCH // 2}.mem": register_row.mem,
        f"contracts.register{BATCH // 2}.cpu": register_row.cpu,
        "contracts.validator_bytes": validator_bytes,
        "contracts.policy_bytes": policy_bytes,
    }
