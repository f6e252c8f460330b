"""milestonectl's answer time: a query from process start to printed answer, against a real daemon.

- `cli.query_s`: median wall time of `milestonectl --socket S milestones` (a real query over the real
  socket of a daemon running on its embedded devnet), a fresh process each time, as a user runs it.
- `cli.status_s`: the same for `milestonectl status`.
- `cli.floor_s`: median wall time of `python -c pass` with the same interpreter, in the same run: what
  any Python command costs before it does anything. Target: a query in well under 0.5 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 9
TARGET_S = 0.5
START_TIMEOUT_S = 120.0


def _ctl() -> list[str]:
    script = Path(sys.executable).with_name("milestonectl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "milestoned.commands.cli"]


def _median_wall(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')}")
    return statistics.median(times)


def _answers(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(str(path))
            probe.sendall(b'{"jsonrpc":"2.0","id":1,"method":"status","params":{}}\n')
            return b'"result"' in probe.recv(1 << 16)
    except OSError:
        return False


def run() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="mbc-", dir="/tmp"))
    sock = folder / "d.sock"
    config = folder / "milestoned.toml"
    config.write_text(
        '[chain]\nogmios_url = "embedded-devnet"\nnetwork = "devnet"\n'
        f'[store]\ndata_dir = "{folder / "data"}"\n[socket]\npath = "{sock}"\n'
        '[http]\nport = 0\n[log]\nformat = "json"\n[devnet]\nslot_length = 0.2\n'
    )
    log = (folder / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(sock):
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not start; see {folder / 'daemon.log'}")
            time.sleep(0.2)
        floor = _median_wall([sys.executable, "-c", "pass"])
        query = _median_wall([*_ctl(), "--socket", str(sock), "milestones"])
        status = _median_wall([*_ctl(), "--socket", str(sock), "status"])
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"milestonectl milestones: {query:.3f} s (median of {RUNS}; target < {TARGET_S} s)")
    print(f"milestonectl status:     {status:.3f} s")
    print(f"floor, python -c pass:   {floor:.3f} s  (query = floor + {query - floor:.3f} s)")
    return {"cli.query_s": query, "cli.status_s": status, "cli.floor_s": floor}


if __name__ == "__main__":
    run()
