"""Socket answers while the daemon indexes a 10,000-allocation schedule (issue 12, point 1, the read side).

The chain (`bench.chain_fixture`, `SCALE_SHAPE`): one schedule of 10,000 allocations, 2,000 beneficiaries
x 5 milestones (M1..M5, uneven amounts), 5 oracles with a quorum of 3, registered on the devnet through
the real txbuilder and scripts with its label-1967 metadata, then beneficiary 0's M1 allocation released.
A real `milestoned run` process with a fresh store (SQLite) follows that devnet from the origin: it
discovers the schedule from its registration (`follow.admin_key_hashes`), records every allocation and
keeps its projections current, while CLIENTS concurrent clients of its Unix socket (in a process of their
own, `python -m bench.scale_queries load`) each ask in turn `status` and `claimable --beneficiary ADDR`
(a random beneficiary of the schedule) and pause THINK_S between an answer and their next request.
All clients connect as soon as the socket exists; client n sends its first request n x THINK_S / CLIENTS
later, so that the first round arrives at the rate of every later one (CLIENTS per THINK_S). When all
50 first requests left within the same millisecond, 50 ms after the socket appeared, they queued behind
each other: about 20 ms of the daemon's work on an idle core (a status answer takes 0.08 ms of it, a
claimable one 0.5 ms), on 2 cores shared with the devnet and this load generator, while the follower
began its catch-up. That one queue held the slowest answers of nearly every run (p99 18-91 ms, with or
without the daemon's changes that came with this; of the answers after it, the 4th slowest of each
method, about the p99, was 9/21 and 12/19 ms for status/claimable in two traced runs): it measured a
burst of simultaneous first requests, not the answers during indexing that the figure is about. The
clients stay 50, and concurrent, from the start. Since then the daemon answers queries first: its chain
follower and projections job pause at safe points while a query is answered (daemon/query_priority.py),
and its worker threads start before the socket opens. All 50 first requests at once then gave p99
8-28 ms (status) and 17-32 ms (claimable) in three runs on a machine loaded 3.5 by other work, 21-53 ms
before on the same machine; an idle, caught-up daemon took 12-23 ms for the same burst (claimable) in
those minutes: the answers, not the catch-up, are most of it.

Figures (bench/results.json):
- `scale.status_p99_ms`, `scale.claimable_p99_ms`: p99 of the answers given from the daemon's start until
  its projections reached the chain's tip (aim < 20 ms), with their p50 printed; beside them, from a
  second daemon on the same chain, `scale.status_p99_ms_first_requests_at_once` and
  `scale.claimable_p99_ms_first_requests_at_once`: the same with all 50 first requests sent together (the
  burst above, kept in view: a socket that never stalls should absorb it too); floor in the same run:
  `scale.idle_status_p99_ms`, `scale.idle_claimable_p99_ms`, the same clients and queries once the daemon
  is caught up and idle;
- `scale.index_events_per_s`: events in the daemon's log over the seconds from its start to caught up;
  floor: `scale.follower_events_per_s`, the bare chain follower (no daemon, no socket, no projections)
  indexing the same chain into a fresh log in this process;
- `scale.rss_mb`: the daemon's peak resident memory (VmHWM) over the whole run;
- `scale.claimable_all_ms`: one unfiltered `claimable` answer (every allocation of the schedule), for scale.

Every answer is checked: no error, a claimable answer names only the beneficiary asked about and holds a
subset of what that beneficiary finally has, and the final answers equal the schedule's allocations.
`MILESTONED_BENCH_CHAIN_DIR=DIR` keeps the built chain in DIR and serves it again on the next run;
`BENCH_PYSPY=FILE` records a py-spy profile of the daemon over the run (speedscope format).
`python -m bench.scale_queries ALLOCATIONS` runs a smaller schedule (e.g. 1000) without writing results.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "daemon"))

from daemon_process import Daemon, short_folder, write_config

from bench.chain_fixture import ADMIN, SCALE_SHAPE, BenchChain, ScheduleShape, bench_chain, beneficiary

ALLOCATIONS = 10_000
BLOCKS = 200
CLIENTS = 50
THINK_S = 0.1
IDLE_S = 10.0
"""How long the same load runs against the caught-up daemon (the floor)."""
CATCH_UP_TIMEOUT_S = 1_800.0


def shape_for(allocations: int) -> ScheduleShape:
    """The issue's shape (2,000 x 5, 3-of-5), scaled down for smaller runs (5 milestones per beneficiary)."""
    if allocations >= SCALE_SHAPE.beneficiaries * SCALE_SHAPE.milestones:
        return SCALE_SHAPE
    return ScheduleShape(beneficiaries=max(1, allocations // 5), milestones=5, oracles=5, quorum=3)


def expected_claims(chain: BenchChain, shape: ScheduleShape) -> dict[str, list[list[Any]]]:
    """Per beneficiary: the sorted [milestone, amount, released] of every allocation the chain holds."""
    allocations = chain.allocations // len(chain.schedule_ids)
    claims: dict[str, list[list[Any]]] = {}
    for schedule in range(len(chain.schedule_ids)):
        for i in range(allocations):
            who = i % shape.beneficiaries
            milestone = shape.milestone(i, allocations)
            released = who == 0 and milestone == "M1"  # the fixture releases beneficiary 0's M1 allocations
            claims.setdefault(str(beneficiary(schedule, who)), []).append([milestone, 1_000 + i, released])
    return {address: sorted(rows) for address, rows in claims.items()}


def daemon_config(folder: Path, chain: BenchChain, clients: int) -> Path:
    from pycardano import PaymentVerificationKey

    admin_hash = PaymentVerificationKey.from_signing_key(ADMIN).hash().payload.hex()
    return write_config(
        folder,
        chain={"ogmios_url": chain.url, "network": "devnet", "start": "origin"},
        follow={"admin_key_hashes": [admin_hash]},
        socket={"max_connections": clients + 16, "max_connections_per_uid": clients + 8},
        log={"format": "json", "level": "info"},
    )


def tip_slot(chain: BenchChain) -> int:
    tip = chain.devnet.chain.tip
    assert tip is not None
    return int(tip.slot)


async def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a process of its own (so its work does not share the devnet's or the
    daemon's interpreter) and return its report."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.scale_queries",
        "load",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    out, _ = await process.communicate(json.dumps(spec).encode())
    if process.returncode != 0:
        raise AssertionError(f"the load generator failed ({process.returncode}): {out[-4000:]!r}")
    return json.loads(out)  # type: ignore[no-any-return]


def sync_began(logs: str) -> float:
    """When the daemon's chain follower intersected (its log line's time), as POSIX seconds."""
    import datetime

    for line in logs.splitlines():
        if "chain sync intersects" in line:
            stamp = orjson.loads(line)["timestamp"]
            return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    raise AssertionError("the daemon's log has no 'chain sync intersects' line")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


async def measure_daemon(
    chain: BenchChain,
    shape: ScheduleShape,
    *,
    clients: int,
    think_s: float,
    idle_s: float,
    staggered: bool = True,
) -> dict[str, Any]:
    """Start a daemon with a fresh store on `chain`, load its socket from its start until it is caught up
    and then for `idle_s`; the load generator's report plus the daemon's figures. `staggered`: the
    clients' first requests spread over one pause (see the module docstring), else all at once."""
    expected = expected_claims(chain, shape)
    folder = short_folder()
    daemon = Daemon(daemon_config(folder, chain, clients), folder / "d.sock", folder / "daemon.log")
    spec = {
        "socket": str(daemon.socket_path),
        "clients": clients,
        "staggered": staggered,
        "think_s": think_s,
        "idle_s": idle_s,
        "tip_slot": tip_slot(chain),
        "expected": expected,
        "timeout_s": CATCH_UP_TIMEOUT_S,
    }
    try:
        load = asyncio.create_task(run_load(spec))  # waits for the socket to appear
        await asyncio.sleep(1.0)  # its interpreter started
        started = time.time()
        profile = os.environ.get("BENCH_PYSPY")
        if profile:
            asyncio.get_running_loop().run_in_executor(None, _profile, daemon, profile)
        await asyncio.to_thread(daemon.start, ("synced", "syncing", "disconnected"))
        report = await load
        assert daemon.process is not None
        report["rss_mb"] = peak_rss_mb(daemon.process.pid)
        report["daemon_started"] = started
        report["indexing_began"] = sync_began(daemon.logs())
        status = daemon.call("status")["result"]
        report["log_position"] = status["log"]["position"]
        began = time.perf_counter()
        everything = await asyncio.to_thread(daemon.call, "claimable")
        report["claimable_all_ms"] = (time.perf_counter() - began) * 1000
        rows = everything["result"]["allocations"]
        if len(rows) != chain.allocations:
            raise AssertionError(
                f"claimable lists {len(rows)} allocations, the chain holds {chain.allocations}"
            )
    except BaseException:
        print(daemon.logs()[-6000:])
        raise
    finally:
        await asyncio.to_thread(daemon.stop)
        shutil.rmtree(folder, ignore_errors=True)
    return report


def _profile(daemon: Daemon, output: str) -> None:
    """Profile the daemon with py-spy (`BENCH_PYSPY=FILE`, for profiling only; `pip install py-spy`):
    every thread, idle samples included so that the samples are a timeline (speedscope format)."""
    while daemon.process is None:
        time.sleep(0.001)
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(daemon.process.pid)]
    options = ["-o", output, "--format", "speedscope", "--threads", "--idle", "-r", "500", "--nonblocking"]
    subprocess.run([*command, *options], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def follower_floor(chain: BenchChain) -> tuple[float, int]:
    """Seconds and events for the bare chain follower to index `chain` into a fresh log (no daemon)."""
    from bench.recovery import _follow

    seconds, events = await _follow(chain, [])
    return seconds, len(events)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def summarise(report: dict[str, Any], phase: str, method: str) -> tuple[float, float, int]:
    samples = report["latencies"][phase][method]
    return _percentile(samples, 0.5), _percentile(samples, 0.99), len(samples)


async def measure(allocations: int = ALLOCATIONS, clients: int = CLIENTS) -> dict[str, float]:
    shape = shape_for(allocations)
    cache = os.environ.get("MILESTONED_BENCH_CHAIN_DIR")
    state_dir = Path(cache) if cache else None
    async with bench_chain(1, allocations, BLOCKS, reclaims=0, shape=shape, state_dir=state_dir) as chain:
        print(
            f"  chain: {chain.allocations} allocations ({shape.beneficiaries} beneficiaries x "
            f"{shape.milestones} milestones, {shape.quorum}-of-{shape.oracles}), {chain.transactions} txs, "
            f"{chain.blocks} blocks, built in {chain.build_seconds:.0f} s",
            flush=True,
        )
        report = await measure_daemon(chain, shape, clients=clients, think_s=THINK_S, idle_s=IDLE_S)
        burst = await measure_daemon(
            chain, shape, clients=clients, think_s=THINK_S, idle_s=0.0, staggered=False
        )
        floor_s, floor_events = await follower_floor(chain)
    caught_up_s = report["caught_up_at"] - report["indexing_began"]
    events_per_s = report["log_position"] / caught_up_s
    floor_per_s = floor_events / floor_s
    figures: dict[str, float] = {}
    print(
        f"  {clients} clients, {THINK_S * 1000:.0f} ms pause between answers; daemon caught up "
        f"{report['log_position']} events in {caught_up_s:.1f} s from its chain sync's start "
        f"({report['indexing_began'] - report['daemon_started']:.1f} s after the process started)"
    )
    for method in ("status", "claimable"):
        p50, p99, count = summarise(report, "during", method)
        idle50, idle99, idle_count = summarise(report, "idle", method)
        print(
            f"  {method:9s} while indexing: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({count} answers)   "
            f"floor, idle: p50 {idle50:6.1f} ms  p99 {idle99:6.1f} ms  ({idle_count})"
        )
        figures[f"scale.{method}_p99_ms"] = p99
        figures[f"scale.idle_{method}_p99_ms"] = idle99
        burst50, burst99, burst_count = summarise(burst, "during", method)
        print(
            f"  {method:9s} the same, all 50 first requests at once: p50 {burst50:6.1f} ms  p99 "
            f"{burst99:6.1f} ms  ({burst_count} answers)"
        )
        figures[f"scale.{method}_p99_ms_first_requests_at_once"] = burst99
    print(
        f"  indexing: {events_per_s:8.0f} events/s in the daemon   floor: the bare follower "
        f"{floor_per_s:8.0f} events/s ({floor_events} events in {floor_s:.1f} s)"
    )
    print(
        f"  answers while indexing: {report['answers_while_moving']} given before the projections reached "
        f"the tip; all {report['answers']} checked, {len(report['problems'])} problems"
    )
    print(
        f"  daemon peak RSS {report['rss_mb']:.0f} MB; one unfiltered claimable "
        f"({chain.allocations} rows) {report['claimable_all_ms']:.0f} ms"
    )
    slowest = ", ".join(
        f"{ms:.0f} ms {m} at +{at - report['daemon_started']:.1f} s" for ms, at, m in report["slowest"][:5]
    )
    print(f"  slowest answers: {slowest}")
    if report["problems"]:
        raise AssertionError("wrong answers: " + "; ".join(report["problems"][:10]))
    figures.update(
        {
            "scale.index_events_per_s": events_per_s,
            "scale.follower_events_per_s": floor_per_s,
            "scale.rss_mb": report["rss_mb"],
            "scale.claimable_all_ms": report["claimable_all_ms"],
        }
    )
    return figures


def run() -> dict[str, float]:
    return asyncio.run(measure())


# --- the load generator (runs in its own process: `python -m bench.scale_queries load`) ----------------


class Load:
    """CLIENTS connections to the daemon's socket, each asking `status` and `claimable --beneficiary` in
    turn; every answer is checked as it comes, and against the final answers at the end."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.socket = spec["socket"]
        self.expected: dict[str, list[list[Any]]] = spec["expected"]
        self.beneficiaries = sorted(self.expected)
        self.phase = "during"
        self.latencies: dict[str, dict[str, list[float]]] = {
            "during": {"status": [], "claimable": []},
            "idle": {"status": [], "claimable": []},
        }
        self.problems: list[str] = []
        self.slowest: list[tuple[float, float, str]] = []
        """(milliseconds, wall time at the answer, method) of the slowest answers (kept to 10)."""
        self.seen: dict[str, list[dict[str, Any]]] = {}
        """Beneficiary → the allocation rows of every answer about it (checked against the final one)."""
        self.answers = 0
        self.answers_while_moving = 0
        self.slots_while_moving: set[int | None] = set()
        """The indexer's slots that status answers given before the catch-up ended reported."""
        self.caught_up_at: float | None = None
        self.stop = asyncio.Event()
        self.random = random.Random(1212)

    async def client(self, number: int) -> None:
        reader, writer = await asyncio.open_unix_connection(self.socket, limit=64 * 1024 * 1024)
        request_id = 0
        try:
            if self.spec["staggered"]:  # see the module docstring
                await asyncio.sleep(number * self.spec["think_s"] / self.spec["clients"])
            while not self.stop.is_set():
                request_id += 1
                if (request_id + number) % 2:
                    method, params = "status", {}
                else:
                    method, params = "claimable", {"beneficiary": self.random.choice(self.beneficiaries)}
                line = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
                phase = self.phase
                began = time.perf_counter()
                writer.write(line + b"\n")
                answer = orjson.loads(await reader.readline())
                elapsed_ms = (time.perf_counter() - began) * 1000
                self.latencies[phase][method].append(elapsed_ms)
                self.slowest.append((elapsed_ms, time.time(), method))
                if len(self.slowest) > 200:
                    self.slowest = sorted(self.slowest, reverse=True)[:10]
                self.check(method, params, answer)
                await asyncio.sleep(self.spec["think_s"] * (0.5 + self.random.random()))
        finally:
            writer.close()

    def check(self, method: str, params: dict[str, Any], answer: dict[str, Any]) -> None:
        self.answers += 1
        if "result" not in answer:
            self.problems.append(f"{method} {params}: {answer.get('error')}")
            return
        result = answer["result"]
        if method == "status":
            projections = result["projections"]
            indexer_slot = result["health"]["indexer_slot"]
            caught_up = (
                indexer_slot is not None
                and indexer_slot >= self.spec["tip_slot"]
                and projections["position"] == result["log"]["position"]
            )
            if projections["position"] is not None and projections["position"] > result["log"]["position"]:
                self.problems.append(f"projections ahead of the log: {projections} {result['log']}")
            if caught_up and self.caught_up_at is None:
                self.caught_up_at = time.time()
            if not caught_up and self.caught_up_at is None:
                self.answers_while_moving += 1
                self.slots_while_moving.add(indexer_slot)
            return
        who = params["beneficiary"]
        rows = result["allocations"]
        if any(row["beneficiary"] != who for row in rows) or set(result["claimable_now_by_beneficiary"]) - {
            who
        }:
            self.problems.append(f"claimable for {who} answered about others")
        self.seen.setdefault(who, []).extend(rows)

    async def run(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.spec["timeout_s"]
        while not os.path.exists(self.socket):
            if time.monotonic() > deadline:
                raise AssertionError(f"no socket at {self.socket}")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # listening
        tasks = [asyncio.create_task(self.client(n)) for n in range(self.spec["clients"])]
        while self.caught_up_at is None:
            if time.monotonic() > deadline:
                raise AssertionError("the daemon did not catch up in time")
            for task in tasks:
                if task.done():
                    task.result()
            await asyncio.sleep(0.05)
        self.phase = "idle"
        await asyncio.sleep(self.spec["idle_s"])
        self.stop.set()
        await asyncio.gather(*tasks)
        await self.final_check()
        return {
            "latencies": self.latencies,
            "problems": self.problems,
            "answers": self.answers,
            "answers_while_moving": self.answers_while_moving,
            "slots_while_moving": len(self.slots_while_moving),
            "caught_up_at": self.caught_up_at,
            "slowest": sorted(self.slowest, reverse=True)[:10],
        }

    async def final_check(self) -> None:
        """Each beneficiary's final answer equals the schedule; every earlier answer is a subset of it."""
        reader, writer = await asyncio.open_unix_connection(self.socket, limit=64 * 1024 * 1024)
        try:
            for n, who in enumerate(self.beneficiaries):
                request = {"jsonrpc": "2.0", "id": n, "method": "claimable", "params": {"beneficiary": who}}
                writer.write(orjson.dumps(request) + b"\n")
                rows = orjson.loads(await reader.readline())["result"]["allocations"]
                final = {row["allocation"]: _identity(row) for row in rows}
                got = sorted([row["milestone"], row["amount"], row["released"]] for row in rows)
                if got != self.expected[who]:
                    self.problems.append(f"final claimable for {who}: {got}, expected {self.expected[who]}")
                for row in self.seen.get(who, []):
                    if final.get(row["allocation"]) != _identity(row):
                        self.problems.append(f"an answer for {who} held {row}, not in the final answer")
                        break
        finally:
            writer.close()


def _identity(row: dict[str, Any]) -> tuple[Any, ...]:
    """What never changes about an allocation once locked (released and claimable do)."""
    return (row["schedule_id"], row["milestone"], row["amount"], row["vesting_time_ms"])


def main(argv: list[str]) -> int:
    if argv[:1] == ["load"]:
        spec = json.loads(sys.stdin.read())
        report = asyncio.run(Load(spec).run())
        sys.stdout.write(json.dumps(report))
        return 0
    allocations = int(argv[0]) if argv else ALLOCATIONS
    clients = int(argv[1]) if len(argv) > 1 else CLIENTS
    figures = asyncio.run(measure(allocations, clients))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
