"""Run the REAL daemon (`milestoned run --config FILE`) as a subprocess, and talk to its REAL socket.

The daemon runs the embedded devnet (no external node), its stores and socket live in a fresh folder
per daemon. The folder is world-traversable (0755) so that a test can connect as another user (nobody)
to check how the daemon classifies callers; the socket itself is 0660 as configured.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BOB = "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70"
"""A beneficiary of the demo schedule: an enterprise address (demo key `beneficiary-2`), M1: 150000."""
CAROL = (  # another: a base address, her payment key (demo key `beneficiary-3`) and someone's stake key
    "addr_test1qqcm4lt7ppeej795cx9susysp5rn45j6ra80qvku0gxm8r7wgqnts8c4mnthwhmay8zx3rm8umdmrased47h9qyxc22s0zpl6e"
)
START_TIMEOUT_S = 120.0
SETTLE_SECONDS = 1.0
"""`release.settle_seconds` for tests that wait for submissions to settle (confirmed, expired, reverted):
each such wait would otherwise last up to the default 10 s interval."""


def short_folder() -> Path:
    """A fresh folder with a short path (Unix socket paths are limited to 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="mdt-", dir="/tmp"))
    folder.chmod(0o755)
    return folder


def write_config(folder: Path, **sections: dict[str, Any]) -> Path:
    base: dict[str, dict[str, Any]] = {
        "chain": {"ogmios_url": "embedded-devnet", "network": "devnet"},
        "store": {"data_dir": str(folder / "data")},
        "socket": {"path": str(folder / "d.sock")},
        "http": {"port": 0},
        "log": {"format": "json"},
        "devnet": {"slot_length": 0.2},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
    path = folder / "milestoned.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Daemon:
    config: Path
    socket_path: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, states: tuple[str, ...] = ("synced", "syncing")) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(self.config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=REPO,
        )
        handle.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon exited with {self.process.returncode}:\n{self.logs()}")
            if self.socket_path.exists():
                # Ready for a test: following the chain, and the projector running (queries and
                # `log.replay` answer NOT_READY until it has learnt the slot clock from Ogmios).
                try:
                    if (
                        self.call("health")["result"]["state"] in states
                        and self.call("status")["result"]["projections"]["ready"]
                    ):
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"the daemon did not become ready:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def call(self, method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
        line = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        return self.raw(line + b"\n")

    def raw(self, data: bytes) -> dict[str, Any]:
        """Send raw bytes on a new connection, return the first answer line, decoded."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect(str(self.socket_path))
            sock.sendall(data)
            return orjson.loads(read_line(sock))  # type: ignore[no-any-return]

    def wait_until(self, predicate: Any, what: str, timeout: float = 180.0) -> Any:
        """`predicate()` once it is true, polled every 0.2 s. The timeout only ends a wait that will never
        succeed: most waits span the daemon's 10 s settlement job and a few devnet blocks, which on a
        loaded 2-core machine can take far longer than on an idle one, so it is generous."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.logs()[-4000:]}")

    def signal(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def read_line(sock: socket.socket) -> bytes:
    buffer = b""
    while b"\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return buffer.split(b"\n", 1)[0]


@contextmanager
def running(folder: Path, **sections: dict[str, Any]) -> Iterator[Daemon]:
    config = write_config(folder, **sections)
    daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)


def example_schedule_document() -> dict[str, Any]:
    from milestoned.commands.schedule_source import load_schedule
    from milestoned.domain.schedule_canonical import schedule_document

    return schedule_document(load_schedule(EXAMPLES / "schedule.json"))


def demo_attestations(
    milestone: str, count: int, *, cancel: bool = False, schedule_id: str | None = None
) -> list[dict[str, str]]:
    """Attestations (cancellations with `cancel`) of `milestone` by the first `count` demo oracles, for
    the schedule `schedule_id` (hex; by default the example schedule as it is in examples/)."""
    from milestoned.commands.key_envelopes import signing_key_seed
    from milestoned.commands.schedule_identity import schedule_identity
    from milestoned.commands.schedule_source import load_schedule
    from milestoned.domain.attestation import Statement, sign_attestation
    from milestoned.domain.attestation_file import Attestation, attestation_document

    statement = Statement.CANCEL if cancel else Statement.ATTEST
    schedule = (
        bytes.fromhex(schedule_id)
        if schedule_id is not None
        else schedule_identity(load_schedule(EXAMPLES / "schedule.json")).schedule_id
    )
    documents = []
    for seed_file in sorted((EXAMPLES / "oracles").glob("*.skey"))[:count]:
        seed = signing_key_seed(seed_file.read_text())
        signature = sign_attestation(seed, schedule, milestone.encode(), statement)
        documents.append(
            attestation_document(Attestation(schedule, milestone.encode(), signature, statement))
        )
    return documents


def demo_key(folder: Path, name: str) -> tuple[Path, str]:
    """The demo key `name` (examples/make_demo_files.py's seeds) saved as `folder/NAME.skey` (0600), and
    its enterprise testnet address: a beneficiary's, a guardian's or the admin's wallet."""
    from pycardano import Address, Network, PaymentSigningKey

    from milestoned.daemon.demo_wiring import demo_seed

    key = PaymentSigningKey(demo_seed(name))
    path = folder / f"{name}.skey"
    key.save(str(path))
    path.chmod(0o600)
    return path, str(Address(key.to_verification_key().hash(), network=Network.TESTNET))


def events(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """(topic, fields) of every event in the event log of the daemon whose folder is `folder` (as
    `write_config` lays it out), read beside the running daemon."""
    from milestoned.eventlog import EventLog, SQLiteConfig
    from milestoned.eventlog.codec import event_to_json

    with EventLog(SQLiteConfig(folder / "data" / "events.db")) as log:
        return [(e.event.topic, event_to_json(e.event)) for e in log.iter_events()]


def advance_past(devnet: Any, posix_ms: int) -> int:
    """Move a running devnet's slot clock (as `devnet/advanceTime` does) so that its next block lies past
    `posix_ms`; the slots moved (0 when the chain is there already). A test that needs a vesting time
    reached gets it at once instead of waiting it out in wall time: the daemon still learns it from a
    block, as it would on a real chain. Call it on the devnet's own loop (a `DevnetThread`: `call`)."""
    slots = devnet.network.posix_ms_to_slot(posix_ms) + 1 - devnet.chain.slot
    if slots > 0:
        devnet.advance(slots)
    return max(0, slots)


def last_vesting_ms(rows: list[dict[str, Any]], milestone: str) -> int:
    """The latest vesting time of `milestone`'s allocations among `claimable` rows."""
    return max(r["vesting_time_ms"] for r in rows if r["milestone"] == milestone)


async def pass_vesting(devnet: Any, socket_path: Path, schedule_id: str, milestone: str) -> None:
    """Advance an in-process daemon's devnet past every vesting time of `milestone` of the schedule."""
    from milestoned.daemon.demo_wiring import rpc

    rows = (await rpc(socket_path, "claimable", {"schedule_id": schedule_id}))["allocations"]
    advance_past(devnet, last_vesting_ms(rows, milestone))


async def until_claimable(socket_path: Path, schedule_id: str, milestone: str) -> None:
    """Wait until the daemon, having seen a block past the vesting times (`pass_vesting`), says every
    allocation of `milestone` is claimable now."""
    from milestoned.daemon.demo_wiring import rpc

    async def claimable() -> bool:
        rows = (await rpc(socket_path, "claimable", {"schedule_id": schedule_id}))["allocations"]
        return all(r["claimable_now"] for r in rows if r["milestone"] == milestone)

    await eventually(claimable, f"{milestone} to vest on chain time")


async def pass_reclaim_deadline(devnet: Any, socket_path: Path) -> None:
    """Advance an in-process daemon's devnet past the demo schedule's reclaim deadline, and wait until the
    daemon has seen the block that gets there (its reclaim checks the deadline against that tip)."""
    from milestoned.daemon.demo_wiring import RECLAIM_OFFSET_MS, rpc

    devnet.advance(RECLAIM_OFFSET_MS // devnet.config.slot_length_ms + 100)
    devnet.produce_block()
    target = devnet.chain.slot

    async def tip_seen() -> bool:
        return ((await rpc(socket_path, "health"))["node_tip_slot"] or 0) >= target

    await eventually(tip_seen, "the daemon to see the new tip", timeout=30)


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 90.0) -> Any:
    """Await `check()` every 0.3 s until it returns something true (returned), or fail after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass(frozen=True)
class DemoDaemon:
    """An in-process daemon on its devnet with the demo schedule registered; its operator wallet (the
    demo operator's key, `wallet`) signs releases, and `ctl` runs milestonectl without blocking it."""

    daemon: Any
    folder: Path
    sock: Path
    schedule_id: str
    wallet: Path
    run: Callable[..., Any]

    async def ctl(self, *args: str | Path) -> Any:
        return await asyncio.to_thread(self.run, *map(str, args))

    def key(self, name: str) -> tuple[Path, str]:
        """The demo key `name` in the daemon's folder (`demo_key`): a beneficiary's wallet."""
        return demo_key(self.folder, name)

    def operator_is_admin(self, examples: Path) -> None:
        """From now on the operator wallet is the schedule admin's key (read again on its next use)."""
        shutil.copy(examples / "admin.skey", self.wallet)
        self.wallet.chmod(0o600)
        self.daemon.service.wallet = None  # the wallet is read on first use; this is the first use now
