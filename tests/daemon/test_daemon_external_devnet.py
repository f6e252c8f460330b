"""The daemon against a devnet that outlives it (as a cardano-node does): restarts resume the same chain,
and a lost Ogmios shows as `disconnected` while the socket keeps answering and SIGTERM still stops cleanly."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest
from daemon_process import (
    Daemon,
    demo_attestations,
    example_schedule_document,
    short_folder,
    write_config,
)
from devnet_process import start_devnet

M1 = "M1-testnet-launch"


@pytest.fixture
def devnet_port() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    devnet = start_devnet()
    try:
        yield devnet.port, devnet.process
    finally:
        devnet.stop()


def answer(daemon: Daemon, method: str, params: dict[str, object] | None = None) -> dict[str, object]:
    reply = daemon.call(method, params)
    assert "error" not in reply, reply
    result = reply["result"]
    assert isinstance(result, dict | list)
    return result  # type: ignore[return-value]


def test_restart_resumes_the_same_chain_and_a_lost_node_shows(
    devnet_port: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, devnet = devnet_port
    folder = short_folder()
    config = write_config(folder, chain={"ogmios_url": f"ws://127.0.0.1:{port}", "start": "origin"})
    daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
    daemon.start()
    try:
        daemon.wait_until(lambda: answer(daemon, "health")["state"] == "synced", "synced")
        answer(daemon, "schedule.register", {"schedule": example_schedule_document()})
        answer(daemon, "signature.commit", {"attestations": demo_attestations(M1, 2)})
        before = answer(daemon, "status")["log"]["position"]  # type: ignore[index]

        assert daemon.process is not None
        daemon.process.kill()
        daemon.process.wait(timeout=30)
        daemon.start()
        daemon.wait_until(lambda: answer(daemon, "health")["state"] == "synced", "synced after restart")
        status = answer(daemon, "status")
        assert status["log"]["position"] >= before  # type: ignore[index]
        assert answer(daemon, "log.replay")["equal"] is True
        states = {m["milestone"]: m for m in answer(daemon, "milestones")}  # type: ignore[index, union-attr]
        assert states[M1]["quorum_reached"] is True
        from milestoned.eventlog import EventLog, SQLiteConfig

        with EventLog(SQLiteConfig(folder / "data" / "events.db")) as log:
            topics = [e.event.topic for e in log.iter_events()]
        assert "RolledBack/v1" not in topics  # the same chain: resumed, nothing to undo
        assert topics.count("OracleSignatureCommitted/v1") == 2

        devnet.send_signal(signal.SIGTERM)
        devnet.wait(timeout=30)
        daemon.wait_until(
            lambda: answer(daemon, "health")["state"] == "disconnected", "disconnected", timeout=60
        )
        assert answer(daemon, "milestones")  # queries still answered from the log
        assert daemon.signal(signal.SIGTERM) == 0
        assert not daemon.socket_path.exists()
    finally:
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)
