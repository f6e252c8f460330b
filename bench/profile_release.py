"""Where a release's budget goes: `python -m bench.profile_release [--onchain DIR] [--set KEY=VALUE]...`

Compiles the two OpShin sources of `DIR` (default: the shipped `milestoned/contracts/onchain`) with the
pinned configuration of `milestoned.contracts.build` (plus any `--set` override, e.g.
`--set compress_patterns=false` for the policy), evaluates correct releases of 1, 10, 20 and 40
allocations with them, and prints the policy's and one spend's units, the policy's marginal cost per
allocation (slope between 10 and 40), and with `--block` the figures of `python -m bench contracts`
(per allocation in the largest batch, allocations per mainnet block). Like the build, it runs OpShin's output
through `milestoned.contracts.uplc_passes.finish`. The committed blueprint is neither
read nor written: a scratch copy of the scripts, with a part removed or rewritten, is measured against
the shipped ones, which is how docs/onchain.md's profile for issue 18.5 was made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opshin import builder, compiler
from pycardano import PlutusV3Script
from uplc import flatten

from bench import contracts as bc
from milestoned.contracts import build, loader, uplc_passes
from milestoned.contracts import scenarios as sc
from milestoned.contracts.loader import Blueprint

COUNTS = (1, 10, 20, 40)


def _value(text: str) -> bool | int | float:
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    return float(text) if "." in text else int(text)


def compile_file(path: Path, overrides: dict[str, bool | int | float]) -> bytes:
    """One source compiled as `build.compile_source` does (then `uplc_passes.finish`), with `overrides`
    on its configuration."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    config = build.SOURCE_CONFIG.get(path.name, build.COMPILER_CONFIG).update(**overrides)
    source = path.read_text()
    program = builder.compile(
        compiler.parse(source, filename=path.name), contract_filename=path.name, config=config
    )
    return bytes(flatten(uplc_passes.finish(source, program)))


def use_scripts(onchain: Path, policy_overrides: dict[str, bool | int | float]) -> Blueprint:
    """Make `loader.default_blueprint` (hence every `scenarios.Schedule`) use the scripts of `onchain`."""
    validator = PlutusV3Script(compile_file(onchain / "allocation_validator.py", {}))
    policy = compile_file(onchain / "schedule_policy.py", policy_overrides)
    state = PlutusV3Script(compile_file(onchain / "schedule_state.py", {}))
    blueprint = Blueprint(validator, policy, {}, state)
    loader.default_blueprint = lambda: blueprint  # type: ignore[assignment]
    return blueprint


def profile(schedule: sc.Schedule) -> None:
    print(f"{'allocations':>11} {'policy mem':>11} {'policy cpu':>14} {'spend mem':>10} {'spend cpu':>11} ok")
    policy: dict[int, tuple[int, int]] = {}
    for count in COUNTS:
        evaluations = sc.batch_release(schedule, count).evaluate()
        mint = next(e for e in evaluations if e.tag.name == "MINT")
        spend = next(e for e in evaluations if e.tag.name == "SPEND")
        ok = all(e.ok for e in evaluations)
        policy[count] = (mint.mem, mint.cpu)
        print(f"{count:>11} {mint.mem:>11,} {mint.cpu:>14,} {spend.mem:>10,} {spend.cpu:>11,} {ok}")
    span = COUNTS[-1] - COUNTS[1]
    mem = (policy[COUNTS[-1]][0] - policy[COUNTS[1]][0]) / span
    cpu = (policy[COUNTS[-1]][1] - policy[COUNTS[1]][1]) / span
    print(f"policy per allocation (slope {COUNTS[1]}..{COUNTS[-1]}): {mem:,.0f} memory, {cpu:,.0f} CPU")


def block_figures(schedule: sc.Schedule) -> None:
    first = bc.measure(schedule, 1)
    best = bc.largest_batch(schedule, first, bc.measure(schedule, bc.BATCH))
    largest = best.redeemers - 1
    packed = bc.allocations_per_block(schedule, first, best)
    by_units, _ = bc.block_packing(packed, packed.redeemers - 1)
    print(
        f"largest batch {largest}: {best.mem / largest:,.0f} memory, {best.cpu / largest:,.0f} CPU per "
        f"allocation; {by_units} allocations per mainnet block (batches of {packed.redeemers - 1})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_release", description=__doc__)
    parser.add_argument(
        "--onchain", type=Path, default=build.ONCHAIN_DIR, help="directory of the two sources"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="policy compiler option"
    )
    parser.add_argument(
        "--block", action="store_true", help="also the largest batch and allocations per block"
    )
    args = parser.parse_args(argv)
    overrides = {key: _value(value) for key, _, value in (item.partition("=") for item in args.set)}
    blueprint = use_scripts(args.onchain, overrides)
    print(
        f"{args.onchain}: policy {len(blueprint.policy_template):,} bytes unapplied, validator "
        f"{len(blueprint.validator):,} bytes; policy options {overrides or 'as built'}"
    )
    schedule = sc.Schedule(label="bench", oracle_count=3, quorum=2)
    profile(schedule)
    if args.block:
        block_figures(schedule)
    return 0


if __name__ == "__main__":
    sys.exit(main())
