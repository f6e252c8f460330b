"""Execution units and sizes of the on-chain scripts: `python -m bench contracts`.

Figures come from the committed scripts, evaluated with uplc under the Conway mainnet Plutus V3 cost
model on real transactions (scripts as reference scripts, fee input, collateral, key witnesses), the
same code path as the devnet's phase-2 validation. The floor is mainnet's per-transaction limits:
16,384 bytes of signed transaction, 14,000,000 memory units, 10,000,000,000 CPU steps.

The largest batch is searched for, not extrapolated: every candidate size is built and evaluated, and
the answer is the largest count whose transaction passes, fits the size limit and the unit limits.
Each allocation of a batch goes to its own beneficiary (one payout output each, the worst case for size)
under one milestone signed by a quorum of two oracles.

Issue 18's figures: `contracts.release_mem_per_allocation` / `_cpu_per_allocation` are the largest
batch's total budget (policy and every spend) over its allocations, printed beside the figures the issue
measured before its point 5; `contracts.allocations_per_mainnet_block` is how many allocations one
mainnet block releases by its execution-unit limits (62M memory, 20G CPU) with transactions of the
best batch size, and `..._with_body_size` the same once the block body's 90,112 bytes count too.
"""

from __future__ import annotations

from milestoned.contracts import governance_builders as gb
from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import MAX_TX_CPU, MAX_TX_MEM
from milestoned.contracts.loader import default_blueprint
from milestoned.contracts.units_table import UnitsRow, format_units_table, units_row

MAX_TX_BYTES = 16_384
BATCH = 40
# Mainnet's per-block limits (protocol parameters maxBlockExecutionUnits and maxBlockBodySize).
MAX_BLOCK_MEM = 62_000_000
MAX_BLOCK_CPU = 20_000_000_000
MAX_BLOCK_BYTES = 90_112
# The per-allocation figures of issue 18 before its point 5, on the 52-allocation batch it measured
# (13,789,164 memory / 4,164,935,571 CPU units in total), printed as the floor of the new ones.
ISSUE_18_MEM_PER_ALLOCATION = 13_789_164 / 52
ISSUE_18_CPU_PER_ALLOCATION = 4_164_935_571 / 52


def measure(schedule: sc.Schedule, count: int, references: sc.Utxos | None = None) -> UnitsRow:
    """A batch release of `count`; `references`: the schedule's state UTxO, for a schedule with guardians."""
    built = sc.batch_release(schedule, count, reference_inputs=references)
    guarded = " reading the state" if references else ""
    return units_row(f"release of {count}{guarded}", built, built.evaluate())


def fits_tx(row: UnitsRow) -> bool:
    return row.accepted and row.tx_bytes <= MAX_TX_BYTES and row.mem <= MAX_TX_MEM and row.cpu <= MAX_TX_CPU


def largest_batch(
    schedule: sc.Schedule, first: UnitsRow, batch: UnitsRow, references: sc.Utxos | None = None
) -> UnitsRow:
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
    row = measure(schedule, count, references)
    while not fits_tx(row) and count > 1:
        count -= 1
        row = measure(schedule, count, references)
    while True:
        bigger = measure(schedule, count + 1, references)
        if not fits_tx(bigger):
            return row
        count, row = count + 1, bigger


def block_packing(row: UnitsRow, allocations: int) -> tuple[int, int]:
    """How many copies of this release fit one mainnet block: (by execution units, by units and body
    size), each as allocations released per block."""
    by_units = min(MAX_BLOCK_MEM // row.mem, MAX_BLOCK_CPU // row.cpu)
    by_size = min(by_units, MAX_BLOCK_BYTES // row.tx_bytes)
    return by_units * allocations, by_size * allocations


def allocations_per_block(schedule: sc.Schedule, first: UnitsRow, best: UnitsRow) -> UnitsRow:
    """The batch size that releases the most allocations per mainnet block by execution units: a block
    holds about 4.4 largest batches, so a smaller batch that fits one more transaction can release more.
    Candidates come from the linear model through the two measured points; each is then measured."""
    largest = best.redeemers - 1
    per_mem = (best.mem - first.mem) / (largest - 1)
    per_cpu = (best.cpu - first.cpu) / (largest - 1)
    candidates = {largest}
    for txs in range(1, 16):
        by_mem = (MAX_BLOCK_MEM / txs - first.mem) / per_mem
        size = min(by_mem, (MAX_BLOCK_CPU / txs - first.cpu) / per_cpu) + 1
        if 1 <= size <= largest:
            candidates.add(int(size))
    rows = [best if n == largest else measure(schedule, n) for n in sorted(candidates)]
    return max((r for r in rows if fits_tx(r)), key=lambda r: block_packing(r, r.redeemers - 1)[0])


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


def governance() -> dict[str, float]:
    """Issue 15's redeemers, one allocation each where they spend one (docs/onchain.md, "Governance"):
    Cancel (policy and spend), InitState (policy), SetPaused (the state validator's spend), Move (the
    allocation validator's spend), and a registration and releases of a schedule with guardians, which
    read its state: one allocation, BATCH of them, and the largest batch (the issue wants at least 40)."""
    s = gb.Schedules()
    guarded = s.guarded
    state = gb.state_utxo(guarded)
    cases = {
        "cancel1": gb.cancel(s),
        "init_state": gb.init_state(s),
        "set_paused": gb.set_paused(s),
        "move1": gb.move(s),
        "guarded_release1": sc.batch_release(guarded, 1, reference_inputs=state),
        "guarded_register1": gb.guarded_register(s),
    }
    figures: dict[str, float] = {}
    print(f"{'redeemer':<28} {'mem':>11} {'cpu':>14} {'tx bytes':>9}")
    for case, built in cases.items():
        evaluations = built.evaluate()
        assert all(e.ok for e in evaluations), case
        for e in evaluations:  # at most one spend and one mint each
            name = "policy" if e.tag.name == "MINT" else "spend"
            print(f"{case + ' ' + name:<28} {e.mem:>11,} {e.cpu:>14,} {built.size:>9,}")
            figures[f"contracts.{case}.{name}_mem"] = e.mem
            figures[f"contracts.{case}.{name}_cpu"] = e.cpu
        figures[f"contracts.{case}.tx_bytes"] = built.size
    first = measure(guarded, 1, state)
    batch = measure(guarded, BATCH, state)
    best = largest_batch(guarded, first, batch, state)
    print(format_units_table([batch, best]))
    print(
        f"largest release batch reading the state: {best.redeemers - 1} allocations (issue 15: at least 40; "
        f"floor: {BATCH} in {batch.tx_bytes} bytes, mem {batch.mem_share:.1%})"
    )
    figures.update(
        {
            f"contracts.guarded_release{BATCH}.mem": batch.mem,
            f"contracts.guarded_release{BATCH}.cpu": batch.cpu,
            f"contracts.guarded_release{BATCH}.tx_bytes": batch.tx_bytes,
            "contracts.max_guarded_batch_release": best.redeemers - 1,
            "contracts.state_validator_bytes": len(default_blueprint().state_validator),
        }
    )
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
    register_row = units_row(f"register {BATCH // 2}", register, register.evaluate())

    print(format_units_table([first, batch, register_row, best]))
    print(
        f"largest release batch: {best.redeemers - 1} allocations "
        f"(mem {best.mem_share:.1%}, cpu {best.cpu_share:.1%}, {best.tx_bytes} of {MAX_TX_BYTES} bytes)"
    )
    print(
        f"script sizes: validator {validator_bytes} bytes, policy {policy_bytes} bytes applied "
        f"({len(blueprint.policy_template)} unapplied); both are meant as reference scripts"
    )
    largest = best.redeemers - 1
    mem_per_allocation = best.mem / largest
    cpu_per_allocation = best.cpu / largest
    print(
        f"per allocation in the largest batch: {mem_per_allocation:,.0f} memory, "
        f"{cpu_per_allocation:,.0f} CPU "
        f"(floor: {ISSUE_18_MEM_PER_ALLOCATION:,.0f} / {ISSUE_18_CPU_PER_ALLOCATION:,.0f} before issue 18.5)"
    )
    packed = allocations_per_block(schedule, first, best)
    n = packed.redeemers - 1
    by_units, by_size = block_packing(packed, n)
    print(
        f"mainnet block ({MAX_BLOCK_MEM:,} memory, {MAX_BLOCK_CPU:,} CPU, {MAX_BLOCK_BYTES:,} bytes): "
        f"{by_units} allocations by execution units ({by_units // n} releases of {n}, "
        f"{packed.mem:,} memory each); {by_size} once the block body size counts too "
        f"({packed.tx_bytes:,} bytes each)"
    )
    redeemers = per_redeemer(schedule)
    return {
        "contracts.release_mem_per_allocation": mem_per_allocation,
        "contracts.release_cpu_per_allocation": cpu_per_allocation,
        "contracts.allocations_per_mainnet_block": by_units,
        "contracts.allocations_per_mainnet_block.batch": n,
        "contracts.allocations_per_mainnet_block_with_body_size": by_size,
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
        **governance(),
    }
