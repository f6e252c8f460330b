"""The short fixed sample of mutation testing (`make mutants` runs them all): each must be killed.

The sample runs through the same harness as `make mutants` (`python -m mutation`, a child process per
mutant over a private copy of the package), so this also checks that the harness itself still works,
for the core and for the OpShin scripts (compiled on the `make contracts` path).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from mutation.__main__ import figures
from mutation.operators import iter_mutants, mutate, sites
from mutation.sample import REPO, SAMPLE, resolve

SOURCE = '''
def f(a, b):
    """doc"""
    assert a, "message"
    if a < b and b != 0:
        check(a)
        return a + 1
    for x in b:
        a -= x
    raise ValueError("no")
'''


def test_each_operator_makes_one_valid_change() -> None:
    operators = {site.operator for site in sites(SOURCE)}
    assert operators == {
        "remove_assert",
        "remove_raise",
        "remove_call",
        "negate_condition",
        "swap_comparison",
        "drop_operand",
        "arithmetic",
        "off_by_one",
        "return_none",
        "skip_loop_body",
    }
    original = ast.dump(ast.parse(SOURCE))
    for site, text in iter_mutants(SOURCE):
        assert ast.dump(ast.parse(text)) != original, site
    swapped = [s for s in sites(SOURCE) if s.operator == "swap_comparison" and "Lt->LtE" in s.description]
    assert "if a <= b and b != 0:" in mutate(SOURCE, swapped[0].index)


def test_messages_and_docstrings_are_not_mutated() -> None:
    """The only strings of SOURCE are a docstring and two messages: no site replaces a constant string."""
    assert [s for s in sites(SOURCE) if s.operator == "constant"] == []


def test_figures_count_timeouts_as_killed_and_leave_invalid_out() -> None:
    def record(i: int, package: str, status: str) -> dict[str, str]:
        return {"id": f"m#{i}", "package": package, "status": status}

    records = {
        "a": record(1, "fees", "killed"),
        "b": record(2, "fees", "timeout"),
        "c": record(3, "domain", "survived"),
        "d": record(4, "contracts", "invalid"),
        "e": record(5, "contracts", "survived"),
    }
    values = figures(records, equivalent={"m#5"})
    assert (values["core.mutants_total"], values["core.mutants_killed"], values["core.mutants_survived"]) == (
        3,
        2,
        1,
    )
    assert (values["core.fees.mutants_killed"], values["core.domain.mutants_survived"]) == (2, 1)
    assert (values["contracts.mutants_total"], values["contracts.mutants_equivalent"]) == (1, 1)


def test_the_fixed_sample_is_killed(tmp_path: Path) -> None:
    ids = [resolve(pick) for pick in SAMPLE]
    out = tmp_path / "sample.json"
    command = [sys.executable, "-m", "mutation", "run", "--ids", ",".join(ids), "--output", str(out)]
    finished = subprocess.run(
        [*command, "--jobs", "2", "--timeout", "240"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    records = json.loads(out.read_text())["mutants"]
    outcome = {i: (records[i]["status"], records[i]["killed_by"]) for i in ids}
    assert all(status == "killed" and by for status, by in outcome.values()), outcome
