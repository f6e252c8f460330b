"""During an Ogmios outage the commands that need the chain answer -32003 "chain unreachable" with the
fix, never -32603 with a logged traceback (issue 17, point 11). The real daemon process against a devnet
in its own process, which the test stops."""

from __future__ import annotations

import shutil
import signal

from daemon_process import Daemon, example_schedule_document, short_folder, write_config
from devnet_process import devnet_running

ADMIN_ADDRESS = "addr_test1vpsgcwe3hmt069357v95gta2s5nkcr0hf985y4nyu8h34rcv8g57a"


def test_schedule_register_with_an_admin_address_during_an_outage_answers_32003() -> None:
    folder = short_folder()
    with devnet_running() as devnet:
        config = write_config(folder, chain={"ogmios_url": devnet.url, "start": "origin"})
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
            assert "chain unreachable" in stalled["error"]["message"]
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
