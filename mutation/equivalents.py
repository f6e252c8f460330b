"""The survivors argued equivalent (`bench/mutants-equivalent.md`), each pinned to the mutant it argues.

A mutant id is the position of a change in the walk of its module, so any edit above it moves the ids
below. An argument filed under an id that now names another change would silently count that other
change as equivalent. So each entry carries, right under its `## <id>` heading, the mutant it is about:

    <!-- mutant {"operator": "...", "description": "...", "line": "<the source line, stripped>",
                 "scope": "<the enclosing class and function, e.g. DaemonClient.__enter__>"} -->

(on one line). An entry counts only while the site at its id still has that operator, description,
source line and scope.
`python -m mutation equivalents` lists the entries that no longer match and, where the same change is
found at exactly one other id, the id it moved to (`--fix` rewrites those headings); the test suite
runs the same check, so an edit that moves an argued mutant fails until its entry is looked at again.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from mutation.operators import Site, sites
from mutation.targets import find

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT_MD = REPO / "bench" / "mutants-equivalent.md"
ENTRY = re.compile(r"^## (?P<id>\S+#\d+)[ \t]*\n(?:<!-- mutant (?P<pin>\{.*\}) -->)?", re.MULTILINE)


@dataclass(frozen=True)
class Pin:
    """What a mutant changes, independent of its index: operator, description, source line."""

    operator: str
    description: str
    line: str
    scope: str

    def comment(self) -> str:
        return f"<!-- mutant {json.dumps(self.__dict__, ensure_ascii=False)} -->"


@dataclass(frozen=True)
class Entry:
    id: str
    pin: Pin | None

    @property
    def path(self) -> str:
        return self.id.rsplit("#", 1)[0]

    @property
    def index(self) -> int:
        return int(self.id.rsplit("#", 1)[1])


def entries(text: str) -> list[Entry]:
    found = []
    for match in ENTRY.finditer(text):
        pin = Pin(**json.loads(match["pin"])) if match["pin"] else None
        found.append(Entry(match["id"], pin))
    return found


def scopes(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, dotted name) of every class and function, outermost first."""
    found: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, child.end_lineno or child.lineno, name))
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(source), "")
    return found


def pin_of(site: Site, lines: list[str], spans: list[tuple[int, int, str]]) -> Pin:
    inner = [name for first, last, name in spans if first <= site.line <= last]
    return Pin(site.operator, site.description, lines[site.line - 1].strip(), inner[-1] if inner else "")


@functools.cache
def current_pins(path: str) -> dict[int, Pin]:
    """Every site of the module as it is now, by index."""
    source = (REPO / path).read_text()
    lines, spans = source.splitlines(), scopes(source)
    return {site.index: pin_of(site, lines, spans) for site in sites(source, find(path).weak_fields)}


@dataclass(frozen=True)
class Check:
    entry: Entry
    problem: str | None  # None: the entry still names its mutant
    moved_to: str | None = None


def check(entry: Entry) -> Check:
    try:
        pins = current_pins(entry.path)
    except (KeyError, FileNotFoundError):
        return Check(entry, f"{entry.path} is not a mutation target")
    if entry.pin is None:
        return Check(entry, "has no `<!-- mutant {...} -->` line saying which mutant it argues")
    if pins.get(entry.index) == entry.pin:
        return Check(entry, None)
    same = [index for index, pin in pins.items() if pin == entry.pin]
    moved = f"{entry.path}#{same[0]}" if len(same) == 1 else None
    where = (
        f"; the same change is now {moved}"
        if moved
        else ("; that change is gone" if not same else f"; the same change is at {len(same)} sites")
    )
    return Check(entry, f"now names another mutant{where}", moved)


def valid_ids(path: Path = EQUIVALENT_MD) -> set[str]:
    """The ids of the entries that still name the mutant they argue."""
    if not path.exists():
        return set()
    return {c.entry.id for c in map(check, entries(path.read_text())) if c.problem is None}


def problems(path: Path = EQUIVALENT_MD) -> list[Check]:
    """Entries that no longer name their mutant, and second entries for a mutant already argued (two
    arguments for one mutant drift apart; the reader cannot tell which one holds)."""
    if not path.exists():
        return []
    found: list[Check] = []
    seen: set[str] = set()
    for entry in entries(path.read_text()):
        checked = check(entry)
        if checked.problem is None and entry.id in seen:
            checked = Check(entry, "argues a mutant an earlier entry argues already: keep one of them")
        seen.add(entry.id)
        if checked.problem is not None:
            found.append(checked)
    return found


def fix(path: Path = EQUIVALENT_MD) -> list[Check]:
    """Rewrite the headings of moved entries to their new ids; returns what could not be fixed."""
    found = problems(path)
    moves = {c.entry.id: c.moved_to for c in found if c.moved_to is not None}
    text = re.sub(
        r"^## (\S+#\d+)[ \t]*$",
        lambda m: f"## {moves.get(m[1], m[1])}",
        path.read_text(),
        flags=re.MULTILINE,
    )
    path.write_text(text)
    return [c for c in found if c.moved_to is None]
