"""During an Ogmios outage the commands that need the chain answer -32003 "chain unreachable" with the
fix, never -32603 with a logged traceback (issue 17, point 11). The real daemon process against a devnet
in its own process, which the test stops."""

from __future__ import annotations

import asyncio
import shutil
import signal

import pytest
from daemon_process import Daemon, example_schedule_document, short_folder, write_config
from devnet_process import DevnetProcess, devnet_running

from milestoned.domain.network import CardanoNetwork
from milestoned.shared import chain_link
from milestoned.shared.chain_link import ChainLink

ADMIN_ADDRESS = "addr_test1vpsgcwe3hmt069357v95gta2s5nkcr0hf985y4nyu8h34rcv8g57a"


def test_schedule_register_with_an_admin_address_during_an_outage_answers_32003() -> None:
    folder = short_folder()
    with devnet_running() as devnet:
        # a short bound (`chain.call_timeout_seconds`): the stalled call is answered after it, naming it
        config = write_config(
            folder, chain={"ogmios_url": devnet.url, "start": "origin", "call_timeout_seconds": 3}
        )
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        daemon.start()
        try:
            params = {
                "schedule": example_schedule_document(),
                "admin_address": ADMIN_ADDRESS,
                "dry_run": True,
            }
            before = daemon.call("schedule.register", params)
            # on a live chain the builder answers (here: the admin address holds no funds)
            assert before.get("error", {}).get("code") != -32003, before
            # a stalled Ogmios (the process stopped, its socket open): answered within the bound
            devnet.process.send_signal(signal.SIGSTOP)
            try:
                stalled = daemon.call("schedule.register", params)
            finally:
                devnet.process.send_signal(signal.SIGCONT)
            assert stalled["error"]["code"] == -32003, stalled
            assert (
                stalled["error"]["message"]
                == f"chain unreachable: Ogmios at {devnet.url} did not answer within 3 s"
            )
            assert "raise chain.call_timeout_seconds" in stalled["error"]["data"]["hint"]
            devnet.stop()
            # at once (the query link still believes it is connected) and once the daemon knows
            first = daemon.call("schedule.register", params)
            daemon.wait_until(
                lambda: daemon.call("health")["result"]["state"] == "disconnected", "outage seen"
            )
            second = daemon.call("schedule.register", params)
            for answer in (first, second):
                assert answer["error"]["code"] == -32003, answer
                assert "chain unreachable" in answer["error"]["message"]
                assert "chain.ogmios_url" in answer["error"]["data"]["hint"]
            assert "Traceback" not in daemon.logs()
            assert '"request failed"' not in daemon.logs()
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)


def test_a_tip_probe_timing_out_behind_another_call_leaves_that_call_its_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The query link is one connection shared by every chain call. A call that times out behind
    another one (a node slow on a large evaluation) closes the link only once nothing else waits on it:
    the other call still gets its answer when the node resumes. A link left idle by the timeout is reset,
    as before (the next use reconnects)."""
    monkeypatch.setattr(chain_link, "QUERY_TIMEOUT_S", 0.5)

    async def scenario(devnet: DevnetProcess) -> None:
        link = ChainLink(devnet.url, CardanoNetwork.DEVNET)
        assert await link.refresh_tip() is not None
        client = await link.ensure()
        devnet.process.send_signal(signal.SIGSTOP)  # the node stalls with the socket open
        try:
            other = asyncio.ensure_future(client.network_tip())  # waits on the link (a release, say)
            await asyncio.sleep(0)
            assert await link.refresh_tip() is None  # the scheduler's probe times out behind it
            assert link.client is client and not other.done()  # the link is kept for the other call
            assert not link.connected  # and health says the node is not answering
        finally:
            devnet.process.send_signal(signal.SIGCONT)
        assert await asyncio.wait_for(other, 30) is not None  # the other call is answered
        devnet.process.send_signal(signal.SIGSTOP)
        try:
            assert await link.refresh_tip() is None  # timed out with nothing else waiting: reset
            assert link.client is None
        finally:
            devnet.process.send_signal(signal.SIGCONT)
        assert await link.refresh_tip() is not None and link.connected  # reconnected at the next use
        await link.reset()

    with devnet_running() as devnet:
        asyncio.run(scenario(devnet))
