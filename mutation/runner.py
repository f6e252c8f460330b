"""Run mutants: each in a forked child of a process that has already imported the heavy libraries.

Why this shape:
- The worktree is never touched. Each worker slot holds a copy of the `milestoned` package in a
  temporary directory; a mutant is written into that copy and the child puts the copy first on
  `sys.path` and `PYTHONPATH`, so the tests, and any daemon or command they start as a subprocess,
  import the mutant. The slot's file is restored once the child has ended.
- Starting pytest afresh costs seconds of imports (pycardano, opshin, hypothesis...). The parent
  imports those libraries once (never `milestoned` itself) and forks a child per mutant: the child
  imports only our modules (from the slot) and the test files, then runs `pytest.main`.
- Each child is the leader of its own process group, so a timeout kills it and whatever it started.
- The children set MILESTONED_HEAVY_TESTS=1: the few boundary tests too heavy for every `make test`
  (a 256 MiB answer at the socket client's limit) run where they matter, against mutants.
- Hypothesis runs derandomized (fixed seed) with no example database, so a result is reproducible and
  no failing example of a mutant leaks into `.hypothesis/` of the checkout.
- For the OpShin sources the child first compiles both scripts with `milestoned.contracts.build` (the
  `make contracts` path) from the slot and writes the slot's `plutus.json`, which the loader reads: the
  tests load the mutant blueprint without any switch in production code. A mutant the compiler
  refuses (a type error) is `invalid`, not counted.
"""

from __future__ import annotations

import compileall
import contextlib
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mutation.operators import Site, iter_mutants
from mutation.targets import CONTRACT_IGNORE, Target

REPO = Path(__file__).resolve().parents[1]
BLUEPRINT = "milestoned/contracts/plutus.json"
PRELOAD = (
    "pytest",
    "_pytest.python",
    "hypothesis",
    "hypothesis.extra.pytestplugin",
    "pytest_asyncio",
    "pycardano",
    "opshin",
    "opshin.builder",
    "opshin.compiler",
    "uplc",
    "nacl.signing",
    "cbor2",
    "msgspec",
    "orjson",
    "psycopg",
    "eventsourcing.persistence",
    "structlog",
    "rich.console",
    "websockets",
    "jsonschema",
    "apscheduler",
    "prometheus_client",
)


@dataclass(frozen=True)
class Mutant:
    target: Target
    site: Site
    source: str

    @property
    def id(self) -> str:
        return f"{self.target.path}#{self.site.index}"


@dataclass
class Result:
    id: str
    target: str
    package: str
    operator: str
    location: str
    description: str
    status: str  # killed | survived | timeout | invalid | error
    killed_by: str | None = None
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        return asdict(self)


def mutants_of(target: Target, indices: set[int] | None = None) -> list[Mutant]:
    """The mutants of `target` (only the sites in `indices`, when given: generating all takes a while)."""
    source = (REPO / target.path).read_text()
    return [Mutant(target, site, text) for site, text in iter_mutants(source, target.weak_fields, indices)]


@dataclass
class Slot:
    """A private copy of the package for one worker."""

    root: Path
    busy: bool = False
    saved: dict[Path, bytes] = field(default_factory=dict)

    @classmethod
    def create(cls, base: Path, number: int) -> Slot:
        root = base / f"slot{number}"
        # With the checkout's bytecode (copy2 keeps the sources' times, so it stays valid), then
        # compiled where missing: a child does not recompile every unmutated module it imports.
        shutil.copytree(REPO / "milestoned", root / "milestoned")
        compileall.compile_dir(root / "milestoned", quiet=1)
        return cls(root)

    def remember(self, relative: str) -> None:
        """Restore this file after the child (it may write it, as the script build writes plutus.json)."""
        path = self.root / relative
        self.saved.setdefault(path, path.read_bytes())

    def write(self, relative: str, text: str) -> None:
        self.remember(relative)
        path = self.root / relative
        path.write_text(text)
        _drop_pyc(path)

    def restore(self) -> None:
        for path, content in self.saved.items():
            path.write_bytes(content)
            _drop_pyc(path)
        self.saved.clear()


def _drop_pyc(path: Path) -> None:
    cache = path.parent / "__pycache__"
    if cache.is_dir():
        for pyc in cache.glob(f"{path.stem}.*.pyc"):
            pyc.unlink()


def kill_counts(records: Iterable[dict[str, Any]], package: str) -> dict[str, int]:
    """How many recorded mutants of `package` each test killed first (bench/mutants.json's `killed_by`)."""
    counts: dict[str, int] = {}
    for record in records:
        test = record.get("killed_by") or ""
        ran = "::" in test and not test.startswith(("collection:", "compile:", "pytest exit"))
        if record["package"] == package and record["status"] == "killed" and ran:
            counts[test] = counts.get(test, 0) + 1
    return counts


def order_by_kills(nodeids: Sequence[str], kills: dict[str, int]) -> list[int]:
    """The positions of `nodeids` in the order a mutant should run them under `-x`: the test files that
    killed most earlier mutants first, and in each file its best killers first; ties keep pytest's order.

    A file's tests stay together, so a module-scoped fixture is still set up once per file. Only the
    order changes, never the set: a survivor still passes every test.
    """

    def module(nodeid: str) -> str:
        return nodeid.split("::", 1)[0]

    per_module: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for position, nodeid in enumerate(nodeids):
        first_seen.setdefault(module(nodeid), position)
        per_module[module(nodeid)] = per_module.get(module(nodeid), 0) + kills.get(nodeid, 0)
    return sorted(
        range(len(nodeids)),
        key=lambda i: (
            -per_module[module(nodeids[i])],
            first_seen[module(nodeids[i])],
            -kills.get(nodeids[i], 0),
            i,
        ),
    )


class _Recorder:
    """pytest plugin in the child: remembers the first failing test (or collection error), and runs the
    tests in the order of `kills` (see `order_by_kills`) when given."""

    def __init__(self, kills: dict[str, int] | None = None) -> None:
        self.first_failure: str | None = None
        self.kills = kills

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        if self.kills:
            order = order_by_kills([item.nodeid for item in items], self.kills)
            items[:] = [items[i] for i in order]

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and self.first_failure is None:
            self.first_failure = report.nodeid

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed and self.first_failure is None:
            self.first_failure = f"collection: {report.nodeid}"


def pytest_args(target: Target, slot: Slot) -> list[str]:
    args = [
        *target.tests,
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        *(() if target.postgres else ("-m", "not postgres")),
        f"--basetemp={slot.root / 'pytest'}",
    ]
    if target.package == "contracts":
        args.append(f"--ignore={CONTRACT_IGNORE}")
    return args


def _child(
    mutant: Mutant | None, target: Target, slot: Slot, out: Path, kills: dict[str, int] | None = None
) -> None:
    """Runs in the forked child: never returns."""
    code = 3
    try:
        os.setpgid(0, 0)
        log = os.open(str(out.with_suffix(".log")), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.dont_write_bytecode = True
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        os.environ["MILESTONED_HEAVY_TESTS"] = "1"  # boundary tests too heavy for every `make test`
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(slot.root), os.environ.get("PYTHONPATH", "")) if p
        )
        sys.path.insert(0, str(slot.root))
        os.chdir(REPO)
        status: dict[str, Any] = {}
        if target.package == "contracts":
            try:
                _build_blueprint(slot, mutant)
            except Exception as exc:  # a compiler refusal: the mutant is not a program
                status = {"status": "invalid", "killed_by": f"compile: {type(exc).__name__}: {exc}"[:300]}
        if not status:
            import pytest
            from hypothesis import settings

            settings.register_profile("mutation", database=None, derandomize=True, deadline=None)
            settings.load_profile("mutation")
            recorder = _Recorder(kills)
            exit_code = pytest.main(pytest_args(target, slot), plugins=[recorder])
            if exit_code == 0:
                status = {"status": "survived"}
            elif exit_code in (1, 2) and recorder.first_failure is not None:
                status = {"status": "killed", "killed_by": recorder.first_failure}
            elif exit_code in (3, 4):  # an internal error, or a conftest that no longer imports
                status = {
                    "status": "killed",
                    "killed_by": f"pytest exit code {int(exit_code)} (see the import error)",
                }
            else:
                status = {"status": "error", "killed_by": f"pytest exit code {int(exit_code)}"}
        sys.stdout.flush()
        out.write_text(json.dumps(status))
        code = 0
    except BaseException as exc:  # anything else: report it, never fall back into the parent's code
        try:
            out.write_text(json.dumps({"status": "error", "killed_by": repr(exc)[:300]}))
        finally:
            code = 4
    finally:
        os._exit(code)


def _build_blueprint(slot: Slot, mutant: Mutant | None) -> None:
    """Write the slot's plutus.json with the mutated script compiled by `make contracts`' own function.

    Only the mutated script is compiled (the policy takes a dozen CPU seconds); the other keeps its
    committed code, which is what that same function produced from its unchanged source.
    """
    build = importlib.import_module("milestoned.contracts.build")
    document = json.loads((slot.root / BLUEPRINT).read_text())
    committed = {
        entry["title"].split(".")[0] + ".py": entry["compiledCode"] for entry in document["validators"]
    }
    scripts = {
        name: (
            build.compile_source(name)
            if mutant is not None and mutant.target.path.endswith("/" + name)
            else build.CompiledScript(source=name, code=bytes.fromhex(code))
        )
        for name, code in committed.items()
    }
    text = build.render(
        build.blueprint(
            scripts["allocation_validator.py"], scripts["schedule_policy.py"], scripts["schedule_state.py"]
        )
    )
    (slot.root / BLUEPRINT).write_text(text)


@dataclass
class _Running:
    pid: int
    slot: Slot
    mutant: Mutant | None
    target: Target
    out: Path
    started: float
    deadline: float


def preload() -> None:
    """Import the heavy libraries once, in the parent (never milestoned: the children import the slot's)."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    leaked = [name for name in sys.modules if name == "milestoned" or name.startswith("milestoned.")]
    if leaked:
        raise RuntimeError(f"the mutation parent imported {leaked[0]}; the children would not see mutants")


class Pool:
    """Up to `jobs` forked children at a time, one per slot."""

    def __init__(self, jobs: int, workdir: Path, kills: dict[str, dict[str, int]] | None = None) -> None:
        self.workdir = workdir
        self.kills = kills or {}
        self.slots = [Slot.create(workdir, n) for n in range(jobs)]
        self.running: list[_Running] = []
        self.counter = 0

    def start(self, mutant: Mutant | None, target: Target, timeout: float) -> None:
        slot = next(s for s in self.slots if not s.busy)
        if mutant is not None:
            slot.write(mutant.target.path, mutant.source)
        if target.package == "contracts":
            slot.remember(BLUEPRINT)
        self.counter += 1
        out = self.workdir / f"result{self.counter}.json"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(mutant, target, slot, out, self.kills.get(target.package))
        slot.busy = True
        now = time.monotonic()
        self.running.append(_Running(pid, slot, mutant, target, out, now, now + timeout))

    def has_free_slot(self) -> bool:
        return any(not s.busy for s in self.slots)

    def wait_one(self) -> tuple[_Running, dict[str, Any], float]:
        """Block until one child ends (or times out); returns it with its outcome."""
        while True:
            for run in list(self.running):
                pid, _ = os.waitpid(run.pid, os.WNOHANG)
                now = time.monotonic()
                if pid == 0 and now < run.deadline:
                    continue
                if pid == 0:  # timed out: end the child's process group (it and what it started)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(run.pid, signal.SIGKILL)
                    os.waitpid(run.pid, 0)
                    outcome: dict[str, Any] = {"status": "timeout"}
                else:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(run.pid, signal.SIGKILL)  # daemons a test left behind
                    try:
                        outcome = json.loads(run.out.read_text())
                    except (FileNotFoundError, json.JSONDecodeError):
                        outcome = {"status": "error", "killed_by": "the child wrote no result"}
                self.running.remove(run)
                run.slot.restore()
                run.slot.busy = False
                return run, outcome, now - run.started
            time.sleep(0.05)


def baseline_seconds(pool: Pool, targets: Sequence[Target], say: Any) -> dict[tuple[str, ...], float]:
    """Run each distinct test set once unmutated (as many at a time as there are slots, as the mutants
    will run): it must pass, and its time sets the timeouts."""
    seconds: dict[tuple[str, ...], float] = {}
    pending = list({t.tests: t for t in targets}.values())
    while pending or pool.running:
        while pending and pool.has_free_slot():
            pool.start(None, pending.pop(0), timeout=900)
        run, outcome, elapsed = pool.wait_one()
        tests = run.target.tests
        if outcome["status"] != "survived":
            log = run.out.with_suffix(".log").read_text()[-3000:]
            raise RuntimeError(f"the unmutated tests {list(tests)} do not pass: {outcome}\n{log}")
        seconds[tests] = elapsed
        say(f"[mutation] baseline {' '.join(tests)}: {elapsed:.1f}s")
    return seconds


def run_mutants(
    mutants: Sequence[Mutant],
    jobs: int,
    say: Any = print,
    on_result: Any = None,
    timeout: float | None = None,
    kills: dict[str, dict[str, int]] | None = None,
) -> list[Result]:
    """Run every mutant (at most `jobs` at a time); returns their results in input order.

    `kills` (package -> test -> mutants it killed, see `kill_counts`) orders that package's tests."""
    preload()
    with tempfile.TemporaryDirectory(prefix="milestoned-mutation-") as tmp:
        pool = Pool(jobs, Path(tmp), kills)
        targets = list({m.target.path: m.target for m in mutants}.values())
        base = (
            baseline_seconds(pool, targets, say)
            if timeout is None
            else {t.tests: (timeout - 30) / 3 for t in targets}  # so that the deadline below is `timeout`
        )
        results: dict[str, Result] = {}
        queue = list(mutants)
        done = 0
        while queue or pool.running:
            while queue and pool.has_free_slot():
                mutant = queue.pop(0)
                # generous: the machine is shared, and a compile precedes the script tests
                compile_allowance = 240.0 if mutant.target.package == "contracts" and timeout is None else 0.0
                pool.start(
                    mutant, mutant.target, timeout=3 * base[mutant.target.tests] + 30 + compile_allowance
                )
            run, outcome, elapsed = pool.wait_one()
            assert run.mutant is not None
            m = run.mutant
            result = Result(
                id=m.id,
                target=m.target.path,
                package=m.target.package,
                operator=m.site.operator,
                location=f"{m.target.path}:{m.site.line}",
                description=m.site.description,
                status=outcome["status"],
                killed_by=outcome.get("killed_by"),
                seconds=round(elapsed, 2),
            )
            results[m.id] = result
            done += 1
            say(
                f"[mutation] {done}/{len(mutants)} {result.status:8} {result.location} "
                f"{result.operator}: {result.description}"
                + (f" <- {result.killed_by}" if result.killed_by else "")
            )
            if on_result is not None:
                on_result(result)
        return [results[m.id] for m in mutants]


def select(mutants: Iterable[Mutant], ids: set[str] | None = None, stride: int = 1) -> list[Mutant]:
    chosen = [m for m in mutants if ids is None or m.id in ids]
    return chosen[::stride] if stride > 1 else chosen
