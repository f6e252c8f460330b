"""The committed mutation records (bench/mutants.json) are of the code as it is now.

Why: the figures and `mutation survivors` read these records; a record whose id now names another
change (code added above it), or whose line moved, speaks of code that is no longer there. A change to
a mutated module then fails here, and its mutants are run again (`python -m mutation run core --module
PATH`, or `contracts`), instead of leaving old verdicts under new code.
"""

from __future__ import annotations

from pathlib import Path

from mutation.__main__ import load_records
from mutation.operators import Site, sites
from mutation.targets import CONTRACTS, CORE

REPO = Path(__file__).resolve().parents[2]


def test_every_record_names_the_mutant_now_at_its_id_and_line() -> None:
    targets = {t.path: t for t in (*CORE, *CONTRACTS)}
    current: dict[str, dict[int, Site]] = {}
    stale: list[str] = []
    records = load_records()
    for record_id, record in records.items():
        target = targets.get(record["target"])
        if target is None:
            stale.append(f"{record_id}: {record['target']} is no longer a mutation target")
            continue
        if target.path not in current:
            source = (REPO / target.path).read_text()
            current[target.path] = {s.index: s for s in sites(source, target.weak_fields)}
        site = current[target.path].get(int(record_id.rsplit("#", 1)[1]))
        now = None if site is None else (site.operator, site.description, f"{target.path}:{site.line}")
        recorded = (record["operator"], record["description"], record["location"])
        if now != recorded:
            stale.append(f"{record_id}: recorded {recorded}, now {now}")
    assert records, "bench/mutants.json holds no records"
    assert stale == [], f"{len(stale)} records are of older code; run their modules' mutants again:\n" + (
        "\n".join(stale[:20])
    )
