"""The survivors argued equivalent stay pinned to the change they argue (mutation/equivalents.py)."""

from __future__ import annotations

from pathlib import Path

from mutation.equivalents import EQUIVALENT_MD, entries, fix, problems, valid_ids


def test_every_entry_still_names_the_mutant_it_argues() -> None:
    """Core and scripts alike (the scripts' 25 entries since their full run in session 6)."""
    stale = [f"{c.entry.id}: {c.problem}" for c in problems()]
    assert stale == [], "look at these entries of bench/mutants-equivalent.md again:\n" + "\n".join(stale)


FEES = "milestoned/txbuilder/fees.py"


def test_an_entry_counts_only_while_its_id_names_its_change_and_fix_follows_a_move(tmp_path: Path) -> None:
    pinned = next(e for e in entries(EQUIVALENT_MD.read_text()) if e.path == FEES and e.pin is not None)
    comment = pinned.pin.comment() if pinned.pin else ""
    moved = f"{FEES}#{pinned.index + 1}"
    text = (
        f"## {moved}\n{comment}\nargued, under an id that names another change.\n\n"
        f"## {FEES}#{pinned.index}\nargued, with no pin.\n"
    )
    path = tmp_path / "equivalent.md"
    path.write_text(text)
    assert valid_ids(path) == set()
    assert [(c.entry.id, c.moved_to) for c in problems(path)] == [(moved, pinned.id), (pinned.id, None)]
    left = fix(path)
    assert [c.entry.id for c in left] == [pinned.id]
    assert path.read_text().startswith(f"## {pinned.id}\n{comment}\n")
    assert valid_ids(path) == {pinned.id}


def test_a_mutant_argued_twice_is_a_problem(tmp_path: Path) -> None:
    pinned = next(e for e in entries(EQUIVALENT_MD.read_text()) if e.path == FEES and e.pin is not None)
    comment = pinned.pin.comment() if pinned.pin else ""
    path = tmp_path / "equivalent.md"
    path.write_text(f"## {pinned.id}\n{comment}\nargued.\n\n## {pinned.id}\n{comment}\nargued again.\n")
    assert [(c.entry.id, c.problem) for c in problems(path)] == [
        (pinned.id, "argues a mutant an earlier entry argues already: keep one of them")
    ]
    assert valid_ids(path) == {pinned.id}
