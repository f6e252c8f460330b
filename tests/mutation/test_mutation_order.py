"""The order in which a mutant runs the script tests: best killers first, a file's tests together."""

from __future__ import annotations

from mutation.runner import kill_counts, order_by_kills


def record(package: str, status: str, killed_by: str | None) -> dict[str, object]:
    return {"package": package, "status": status, "killed_by": killed_by}


def test_kill_counts_count_only_tests_that_killed_a_mutant_of_the_package() -> None:
    records = [
        record("contracts", "killed", "t/a.py::x"),
        record("contracts", "killed", "t/a.py::x"),
        record("contracts", "killed", "t/b.py::y"),
        record("contracts", "survived", None),
        record("contracts", "invalid", "compile: CompilerError: x::y"),
        record("contracts", "killed", "collection: t/c.py::z"),
        record("contracts", "killed", "pytest exit code 4 (see the import error)"),
        record("eventlog", "killed", "t/a.py::x"),
    ]
    assert kill_counts(records, "contracts") == {"t/a.py::x": 2, "t/b.py::y": 1}


def test_files_with_more_kills_first_and_a_files_tests_stay_together() -> None:
    nodeids = ["a.py::1", "a.py::2", "b.py::1", "b.py::2", "b.py::3", "c.py::1"]
    kills = {"a.py::2": 1, "b.py::2": 1, "b.py::3": 5, "c.py::1": 1}
    order = [nodeids[i] for i in order_by_kills(nodeids, kills)]
    # b (6 kills) before a and c (1 each, in pytest's order); within b, 3 before 2 before 1
    assert order == ["b.py::3", "b.py::2", "b.py::1", "a.py::2", "a.py::1", "c.py::1"]


def test_without_kills_the_order_is_pytests() -> None:
    nodeids = ["b.py::1", "a.py::1", "a.py::2"]
    assert order_by_kills(nodeids, {}) == [0, 1, 2]
