"""A 10,000-allocation schedule end to end through the real daemon and `milestonectl` (issue 12, point 1):
`python -m bench scale`.

2,000 beneficiaries x 5 milestones (uneven shares), 5 oracles, quorum 3, plus a remainder (a sixth
milestone for one beneficiary in 20 that never reaches its quorum). The devnet runs in a process of its
own (`milestoned devnet`, its clock running), the daemon is `milestoned run` on it, and every step is
a `milestonectl` command as an operator would type it (the steps: tests/daemon/scale_flow.py):

1. `schedule validate FILE`;
2. register: `schedule register FILE --admin-address A --unsigned-out DIR` (the daemon builds the chained
   registration transactions in a job), `tx sign --key admin.skey DIR`, `tx submit DIR`, until the
   daemon has indexed every allocation: `scale.register_10k_s`;
3. the oracles' signatures (3 of 5 for M1..M5, 2 for the remainder) committed;
4. `release --schedule-id ID` (a job in rounds of 1,000, followed until every transaction is
   confirmed) until the daemon shows the 10,000 attested allocations released: `scale.release_10k_s`,
   `scale.allocations_per_s_release`;
5. the clock moved past the reclaim deadline, `reclaim --admin-address A --unsigned-out DIR`, `tx sign`,
   `tx submit`, until the remainder is reclaimed (printed, not a figure).

The floor, in the same run: the same flow at a tenth of the size (200 beneficiaries, 1,000 attested
allocations, `scale.register_1k_s`, `scale.release_1k_s`): linear work takes ten times as long at ten
times the size. `SCALE_BENEFICIARIES` / `SCALE_FLOOR_BENEFICIARIES` change the sizes (the figure names
follow them: 1,000 attested allocations is `1k`). Takes 20 minutes or more on two busy cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "daemon"))

from daemon_process import REPO, Daemon, short_folder, write_config
from scale_flow import (
    TOKEN,
    CtlFailed,
    address_of,
    commit_quorums,
    ctl,
    funds_needed,
    key,
    locked_count,
    register,
    released_count,
    result,
    save_key,
    schedule_document,
    submitted_allocations,
    wait_indexed,
)

SLOT_SECONDS = 0.5
DEADLINE_MS = 6 * 3_600_000
"""The reclaim deadline, this long after the start; the clock is moved past it for the reclaim."""


def _size_name(allocations: int) -> str:
    return f"{allocations // 1000}k" if allocations % 1000 == 0 else str(allocations)


class DevnetProcess:
    """`milestoned devnet` in a process of its own, its output in a file (never a full pipe)."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "devnet.log"
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "milestoned.daemon.cli", "devnet", "--port", "0", "--slot-length",
                 str(SLOT_SECONDS)],
                stdout=handle, stderr=subprocess.STDOUT, cwd=REPO,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        self.url = self.policy = ""
        while not (self.url and self.policy):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()  # not left running when it did not come up in time
                raise RuntimeError(f"the devnet did not start:\n{self.log.read_text()}")
            text = self.log.read_text()
            if found := re.search(r"Ogmios URL: (\S+)", text):
                self.url = found.group(1)
            if found := re.search(r"token policy ([0-9a-f]{56})", text):
                self.policy = found.group(1)
            time.sleep(0.2)

    def control(self, method: str, params: dict[str, Any]) -> Any:
        import websockets

        async def call() -> Any:
            async with websockets.connect(self.url, max_size=None) as connection:
                await connection.send(
                    json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
                )
                return json.loads(await connection.recv())

        answer = asyncio.run(call())
        if "error" in answer:
            raise RuntimeError(f"{method} failed: {answer['error']}")
        return answer["result"]

    def fund(self, address: Any, lovelace: int, tokens: int = 0) -> None:
        assets = {TOKEN.hex(): tokens} if tokens else {}
        self.control("devnet/fund", {"address": str(address), "lovelace": lovelace, "assets": assets})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _now_ms(devnet: DevnetProcess) -> int:
    from milestoned.ogmios.client import OgmiosClient

    async def tip_time() -> int:
        from milestoned.domain.network import CardanoNetwork
        from milestoned.txbuilder.chain_context import OgmiosChain

        client = await OgmiosClient.connect(devnet.url)
        try:
            return (await OgmiosChain(client, CardanoNetwork.DEVNET).chain_time()).now_ms
        finally:
            await client.close()

    return asyncio.run(tip_time())


def run_flow(beneficiaries: int, label: str) -> dict[str, float]:
    """The whole flow at one size, on a devnet and daemon of its own; its timings in seconds."""
    folder = short_folder()
    remainder = max(1, beneficiaries // 20)
    attested = beneficiaries * 5
    total = attested + remainder
    admin, operator = key(f"{label}-admin"), key(f"{label}-operator")
    devnet = DevnetProcess(folder)
    daemon: Daemon | None = None
    timings: dict[str, float] = {}
    try:
        lovelace, tokens = funds_needed(total)
        devnet.fund(address_of(admin), lovelace, tokens)
        for _ in range(os.cpu_count() or 1):  # one funding UTxO per release lane
            devnet.fund(address_of(operator), 20_000_000 + attested * 400_000)
        wallet = save_key(operator, folder / "operator.skey")
        config = write_config(
            folder,
            chain={"ogmios_url": devnet.url, "start": "origin"},
            release={"wallet_key": str(wallet)},
        )
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        daemon.start()
        now_ms = _now_ms(devnet)
        document = schedule_document(
            devnet.policy, address_of(admin), now_ms, beneficiaries, remainder, now_ms + DEADLINE_MS
        )
        schedule = folder / "schedule.json"
        schedule.write_text(json.dumps(document, indent=1))
        sock = daemon.socket_path
        print(f"[{label}] {total:,} allocations ({attested:,} attested, {remainder} remainder)", flush=True)

        began = time.perf_counter()
        assert ctl(sock, "schedule", "validate", str(schedule))["valid"] is True
        timings["validate_s"] = time.perf_counter() - began

        began = time.perf_counter()
        registered = register(daemon, folder, schedule, admin)
        timings["register_build_s"] = time.perf_counter() - began
        ctl(sock, "tx", "submit", str(registered.files[0].parent))
        timings["register_submit_s"] = time.perf_counter() - began - timings["register_build_s"]
        wait_indexed(daemon, registered.schedule_id, total, timeout=3600)
        timings["register_s"] = time.perf_counter() - began
        print(
            f"[{label}] registered: {len(registered.files)} transactions; built and signed "
            f"{timings['register_build_s']:.1f} s, submitted {timings['register_submit_s']:.1f} s, all "
            f"indexed {timings['register_s']:.1f} s",
            flush=True,
        )
        schedule_id = registered.schedule_id
        commit_quorums(daemon, schedule_id)

        began = time.perf_counter()
        released = ctl(sock, "release", "--schedule-id", schedule_id)
        daemon.wait_until(lambda: released_count(daemon, schedule_id) == attested, "all released", 3600)
        timings["release_s"] = time.perf_counter() - began
        refs = submitted_allocations(daemon)
        assert len(refs) == len(set(refs)) == attested, (len(refs), len(set(refs)), attested)
        print(
            f"[{label}] released {attested:,} in {len(released['submitted'])} transactions, all confirmed "
            f"after {timings['release_s']:.1f} s ({attested / timings['release_s']:.1f} allocations/s)",
            flush=True,
        )

        deadline_slots = int((DEADLINE_MS + 60_000) / 1000 / SLOT_SECONDS)
        devnet.control("devnet/advanceTime", {"slots": deadline_slots})
        began = time.perf_counter()
        unsigned = folder / "reclaim"
        reclaim = ("reclaim", "--schedule-id", schedule_id, "--admin-address", str(address_of(admin)))
        for _ in range(120):  # until the daemon has seen a block past the deadline
            try:
                ctl(sock, *reclaim, "--unsigned-out", str(unsigned))
                break
            except CtlFailed as refused:
                if "reclaim_deadline" not in str(refused):
                    raise
                time.sleep(SLOT_SECONDS)
        ctl(sock, "tx", "sign", "--key", str(folder / "admin.skey"), str(unsigned))
        ctl(sock, "tx", "submit", str(unsigned))

        def reclaimed() -> bool:
            rows = result(daemon.call("milestones", {"schedule_id": schedule_id}))
            return sum(int(m.get("allocations_reclaimed", 0)) for m in rows) >= remainder

        daemon.wait_until(reclaimed, "the remainder reclaimed", 600)
        timings["reclaim_s"] = time.perf_counter() - began
        assert locked_count(daemon, schedule_id) == total  # the claimable list keeps every allocation
        assert result(daemon.call("log.verify"))["ok"] is True
        print(f"[{label}] reclaimed the remainder ({remainder}) in {timings['reclaim_s']:.1f} s", flush=True)
        return timings
    finally:
        if daemon is not None:
            daemon.stop()
        devnet.stop()
        if os.environ.get("SCALE_KEEP") != "1":
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


def run() -> dict[str, float]:
    big = int(os.environ.get("SCALE_BENEFICIARIES", "2000"))
    small = int(os.environ.get("SCALE_FLOOR_BENEFICIARIES", str(max(1, big // 10))))
    floor = run_flow(small, "floor")
    full = run_flow(big, "full")
    big_name, small_name = _size_name(big * 5), _size_name(small * 5)
    ratio = big / small
    print(
        f"register {big * 5:,}: {full['register_s']:.1f} s (floor: {small * 5:,} in "
        f"{floor['register_s']:.1f} s, x{ratio:g} = {floor['register_s'] * ratio:.1f} s if linear)"
    )
    print(
        f"release {big * 5:,}: {full['release_s']:.1f} s = {big * 5 / full['release_s']:.1f} allocations/s "
        f"(floor: {small * 5:,} in {floor['release_s']:.1f} s = {small * 5 / floor['release_s']:.1f}/s; "
        f"x{ratio:g} = {floor['release_s'] * ratio:.1f} s if linear)"
    )
    print(f"validate {big * 5:,}: {full['validate_s']:.2f} s (floor {floor['validate_s']:.2f} s)")
    return {
        f"scale.register_{big_name}_s": full["register_s"],
        f"scale.release_{big_name}_s": full["release_s"],
        "scale.allocations_per_s_release": big * 5 / full["release_s"],
        f"scale.register_{small_name}_s": floor["register_s"],
        f"scale.release_{small_name}_s": floor["release_s"],
    }
