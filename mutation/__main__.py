"""`python -m mutation` (`make mutants`): mutation testing of the Python core and of the OpShin scripts.

    python -m mutation run core contracts          # everything (make mutants)
    python -m mutation run core --package eventlog # one package of the core
    python -m mutation run core --module milestoned/txbuilder/fees.py --stride 3
    python -m mutation list core                   # how many mutants, per module and operator
    python -m mutation survivors                   # the survivors recorded in bench/mutants.json
    python -m mutation equivalents [--fix]         # argued mutants whose id now names another change

Results are merged into `bench/mutants.json` (one record per mutant: target, operator, file:line,
status, the test that killed it) and the figures recomputed from it into `bench/results.json`
(`core.mutants_total`, `core.mutants_killed`, `core.mutants_survived`, per package
`core.<package>.mutants_*`, and `contracts.mutants_*`). A timeout counts as killed (the mutant changed
behaviour enough to hang a test); `invalid` (the OpShin compiler refuses the mutant) is not counted.
Survivors argued equivalent are listed in `bench/mutants-equivalent.md` (a `## <mutant id>` heading and a
paragraph each) and counted in `<group>.mutants_equivalent`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path
from typing import Any

from mutation import equivalents
from mutation.runner import REPO, Result, kill_counts, mutants_of, run_mutants, select
from mutation.targets import TARGETS, Target

MUTANTS_JSON = REPO / "bench" / "mutants.json"
RESULTS_JSON = REPO / "bench" / "results.json"
EQUIVALENT_MD = REPO / "bench" / "mutants-equivalent.md"
KILLED = ("killed", "timeout")


def group_of(record: dict[str, Any]) -> str:
    return "contracts" if record["package"] == "contracts" else "core"


def equivalent_ids(path: Path = EQUIVALENT_MD) -> set[str]:
    """The argued survivors whose entry still names the mutant it argues (see mutation/equivalents.py)."""
    return equivalents.valid_ids(path)


def figures(records: dict[str, dict[str, Any]], equivalent: set[str]) -> dict[str, float]:
    """The results.json figures of every group present in `records`."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for record in records.values():
        status = record["status"]
        if status == "invalid":
            continue
        group = group_of(record)
        keys = [group] if group == "contracts" else [group, f"core.{record['package']}"]
        for key in keys:
            counts[key]["total"] += 1
            counts[key][
                "killed" if status in KILLED else "survived" if status == "survived" else "error"
            ] += 1
            if status == "timeout":
                counts[key]["timeout"] += 1
            if status == "survived" and record["id"] in equivalent:
                counts[key]["equivalent"] += 1
    out: dict[str, float] = {}
    for key, c in sorted(counts.items()):
        out[f"{key}.mutants_total"] = c["total"]
        out[f"{key}.mutants_killed"] = c["killed"]
        out[f"{key}.mutants_survived"] = c["survived"]
        if "." not in key:
            out[f"{key}.mutants_timeout"] = c["timeout"]
            out[f"{key}.mutants_errors"] = c["error"]
            out[f"{key}.mutants_equivalent"] = c["equivalent"]
            out[f"{key}.mutants_killed_pct"] = (
                round(100.0 * c["killed"] / c["total"], 1) if c["total"] else 0.0
            )
    return out


def load_records(path: Path = MUTANTS_JSON) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())["mutants"]
    return data


def save(records: dict[str, dict[str, Any]], path: Path = MUTANTS_JSON) -> None:
    ordered = dict(sorted(records.items(), key=lambda kv: (kv[1]["target"], int(kv[0].rsplit("#", 1)[1]))))
    path.write_text(json.dumps({"mutants": ordered}, indent=1, sort_keys=True) + "\n")


def write_figures(records: dict[str, dict[str, Any]]) -> dict[str, float]:
    values = figures(records, equivalent_ids())
    results: dict[str, float] = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    # drop stale per-package figures of the groups recomputed here, then merge
    groups = {group_of(r) for r in records.values()}
    results = {
        k: v
        for k, v in results.items()
        if not any(
            k.startswith(f"{g}.mutants") or (g == "core" and k.startswith("core.") and ".mutants_" in k)
            for g in groups
        )
    }
    results.update(values)
    RESULTS_JSON.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    return values


def chosen_targets(groups: list[str], packages: list[str], modules: list[str]) -> list[Target]:
    targets = [t for g in groups for t in TARGETS[g]]
    if packages:
        targets = [t for t in targets if t.package in packages]
    if modules:
        unknown = set(modules) - {t.path for t in targets}
        if unknown:
            raise SystemExit(f"not a mutation target of {groups}: {', '.join(sorted(unknown))}")
        targets = [t for t in targets if t.path in modules]
    if not targets:
        raise SystemExit("no target matches; see mutation/targets.py")
    return targets


def cmd_run(args: argparse.Namespace) -> int:
    targets = chosen_targets(args.groups, args.package, args.module)
    ids = set(args.ids.split(",")) if args.ids else None
    if ids is not None:
        wanted = {
            t.path: {int(i.rsplit("#", 1)[1]) for i in ids if i.rsplit("#", 1)[0] == t.path} for t in targets
        }
        targets = [t for t in targets if wanted[t.path]]
        mutants = [m for t in targets for m in mutants_of(t, wanted[t.path])]
    else:
        # every n-th mutant of each module: a later run of one module with the same stride picks the same
        # mutants as the run of the whole group did
        mutants = [m for t in targets for m in select(mutants_of(t), None, args.stride)]
    if ids is not None and len(mutants) != len(ids):
        missing = ids - {m.id for m in mutants}
        raise SystemExit(f"no such mutant: {', '.join(sorted(missing))} (see `python -m mutation list`)")
    print(f"[mutation] {len(mutants)} mutants of {len(targets)} modules, {args.jobs} at a time")
    output = Path(args.output) if args.output else None
    records = load_records(output) if output else load_records()
    # The script tests run best killers first (each mutant stops at its first failure, and the policy's
    # compile already costs ~12 CPU s): ordered by the kills of every script mutant recorded so far.
    kills = {"contracts": kill_counts(load_records().values(), "contracts")}
    # A run of whole modules (all of their mutants or every n-th) replaces their earlier records: after an
    # edit of a module its ids denote other mutants, so old records would count changes never run.
    complete = ids is None
    if complete and not args.output:
        paths = {t.path for t in targets}
        records = {k: v for k, v in records.items() if v["target"] not in paths}

    def keep(result: Result) -> None:
        records[result.id] = result.record()
        save(records, output or MUTANTS_JSON)

    results = run_mutants(mutants, args.jobs, on_result=keep, timeout=args.timeout, kills=kills)
    counts = collections.Counter(r.status for r in results)
    print(f"[mutation] this run: {dict(counts)}")
    for r in results:
        if r.status in ("survived", "error"):
            print(f"[mutation] {r.status.upper()} {r.id} {r.location} {r.operator}: {r.description}")
    if output is None:
        for name, value in write_figures(records).items():
            if "." not in name.split(".mutants")[0] or name.count(".") == 1:
                print(f"  {name} = {value}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    targets = chosen_targets(args.groups, args.package, args.module)
    total = 0
    for target in targets:
        mutants = mutants_of(target)
        total += len(mutants)
        ops = collections.Counter(m.site.operator for m in mutants)
        print(f"{target.path}: {len(mutants)}  {dict(ops)}")
        if args.verbose:
            for m in mutants:
                print(f"  {m.id} line {m.site.line} {m.site.operator}: {m.site.description}")
    print(f"total: {total}")
    return 0


def cmd_survivors(args: argparse.Namespace) -> int:
    equivalent = equivalent_ids()
    stale = {c.entry.id for c in equivalents.problems()}
    for record in load_records().values():
        if record["status"] in ("survived", "error"):
            mark = (
                "equivalent"
                if record["id"] in equivalent
                else "STALE ARGUMENT"
                if record["id"] in stale
                else "UNARGUED"
            )
            print(
                f"{record['id']} {record['location']} {record['operator']}: {record['description']} [{mark}]"
            )
    return 0


def cmd_equivalents(args: argparse.Namespace) -> int:
    """Entries of bench/mutants-equivalent.md that no longer name their mutant (exit 1 if any)."""
    left = equivalents.fix() if args.fix else equivalents.problems()
    for c in left if args.fix else equivalents.problems():
        print(f"{c.entry.id}: {c.problem}")
    if args.fix:
        print(f"[mutation] {len(left)} entries left to look at by hand")
    return 1 if left else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "list"):
        p = sub.add_parser(name)
        p.add_argument("groups", nargs="*", metavar="core|contracts", help="what to mutate (default: both)")
        p.add_argument("--package", action="append", default=[], help="domain, indexer, eventlog...")
        p.add_argument(
            "--module", action="append", default=[], help="a target path, e.g. milestoned/txbuilder/fees.py"
        )
        if name == "run":
            p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
            p.add_argument("--stride", type=int, default=1, help="run every n-th mutant of each module only")
            p.add_argument("--ids", help="comma-separated mutant ids (path#index)")
            p.add_argument("--output", help="write records here instead of bench/ (figures are not written)")
            p.add_argument(
                "--timeout",
                type=float,
                help="seconds per mutant; skips the unmutated baseline run that sets it",
            )
        else:
            p.add_argument("-v", "--verbose", action="store_true")
    sub.add_parser("survivors")
    p = sub.add_parser("equivalents", help="check that each argued mutant is still the one argued")
    p.add_argument("--fix", action="store_true", help="move entries whose change moved to another id")
    args = parser.parse_args(argv)
    if args.command in ("run", "list"):
        args.groups = args.groups or list(TARGETS)
        unknown = [g for g in args.groups if g not in TARGETS]
        if unknown:
            parser.error(f"unknown group {unknown[0]!r}; choose from {', '.join(TARGETS)}")
    if args.command == "run":
        return cmd_run(args)
    if args.command == "list":
        return cmd_list(args)
    if args.command == "equivalents":
        return cmd_equivalents(args)
    return cmd_survivors(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
