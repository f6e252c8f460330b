"""Dependencies point inwards: `milestonectl` (milestoned/commands) never imports the daemon's process
wiring (milestoned/daemon), and what both need (milestoned/shared: the configuration, the Ogmios query
link) imports neither. Read from the sources with `ast`, so an import inside a function (the commands
import lazily, to start fast) counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "milestoned"


def imported_modules(source: str, package: str) -> set[str]:
    """Every module `source` (a module of `package`) imports, anywhere in it: `import a.b`, `from a.b
    import c` (as a.b and a.b.c, since c may be a module), relative imports resolved against `package`."""
    parts = package.split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def reaches(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def offending(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in (PACKAGE / folder).rglob("*.py")
        for module in imported_modules(
            path.read_text(), ".".join(path.relative_to(PACKAGE.parent).parent.parts)
        )
        if any(reaches(module, f) for f in forbidden)
    )


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("commands", ("milestoned.daemon",)),
        ("shared", ("milestoned.daemon", "milestoned.commands")),
    ],
)
def test_a_layer_imports_nothing_outside_it(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offending(folder, forbidden) == []


def test_the_check_sees_every_form_of_import() -> None:
    """The reader itself: top-level, lazy, `from package import module` and relative imports all count."""
    sources = {
        "import milestoned.daemon.app": "milestoned.daemon.app",
        "def f():\n    from milestoned.daemon.jobs import Jobs": "milestoned.daemon.jobs",
        "from milestoned import daemon": "milestoned.daemon",
        "from ..daemon import config_checks": "milestoned.daemon.config_checks",
        "from .. import daemon": "milestoned.daemon",
    }
    for source, module in sources.items():
        found = imported_modules(source, "milestoned.commands")
        assert module in found and any(reaches(m, "milestoned.daemon") for m in found), source
    clean = (
        "from milestoned.shared.config import load_config\nimport milestoned.daemonic\nfrom . import output"
    )
    assert not any(reaches(m, "milestoned.daemon") for m in imported_modules(clean, "milestoned.commands"))
