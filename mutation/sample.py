"""The short fixed sample that `make test` runs (tests/mutation/test_mutation_sample.py).

A handful of mutants, each one a rule issue 19 or issue 11 found unguarded, named by file, operator and
a piece of its description rather than by index, so that an edit elsewhere in the module does not
silently swap the sample for other mutants. Each must be killed by the tests of its module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mutation.operators import sites
from mutation.targets import find

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pick:
    path: str
    operator: str
    contains: str
    why: str
    on_line_with: str = ""
    """When several sites share the description: the text the mutated source line holds."""


SAMPLE: tuple[Pick, ...] = (
    Pick(
        "milestoned/eventlog/hashchain.py",
        "remove_call",
        "digest.update(bytes.fromhex(prev_hash))",
        "the hash chain no longer links each record to the previous one",
    ),
    Pick(
        "milestoned/eventlog/verify.py",
        "remove_call",
        "hash differs from the anchor",
        "verify no longer compares the log with its anchor",
    ),
    Pick(
        "milestoned/txbuilder/release_checks.py",
        "swap_comparison",
        "chain_time_ms < vesting (Lt->LtE)",
        "the off-chain vesting check shifts by one millisecond from the script's",
    ),
    Pick(
        "milestoned/txbuilder/fees.py",
        "arithmetic",
        "total.numerator // total.denominator (FloorDiv->Mult)",
        "the reference-script fee is rounded differently",
    ),
    Pick(
        "milestoned/contracts/onchain/allocation_validator.py",
        "swap_comparison",
        "(GtE->Gt)",
        "the validator accepts a spend whose transaction burns nothing of the schedule's policy (the burn "
        "test `>= 0` that sends it to the move branch becomes `> 0`)",
        on_line_with="mint.get(allocation.schedule_id, nothing)",
    ),
)


def resolve(pick: Pick) -> str:
    """The mutant id of `pick`; exactly one site must match."""
    target = find(pick.path)
    source = (REPO / pick.path).read_text()
    lines = source.splitlines()
    matches = [
        s
        for s in sites(source, target.weak_fields)
        if s.operator == pick.operator
        and pick.contains in s.description
        and pick.on_line_with in lines[s.line - 1]
    ]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} mutants of {pick.path} match {pick.operator} {pick.contains!r}")
    return f"{pick.path}#{matches[0].index}"
