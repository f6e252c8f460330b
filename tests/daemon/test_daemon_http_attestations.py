"""The HTTP endpoint serves a schedule's public attestations file read-only, for beneficiaries to claim."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from daemon_process import demo_attestations, example_schedule_document, running, short_folder

from milestoned.commands.attestations_export import read_export


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def test_attestations_are_served_read_only_over_http() -> None:
    port = _port()
    with running(short_folder(), http={"port": port}) as daemon:
        schedule_id = daemon.call("schedule.register", {"schedule": example_schedule_document()})["result"][
            "schedule_id"
        ]
        daemon.call("signature.commit", {"attestations": demo_attestations("M1-testnet-launch", 2)})
        status, body = _get(f"http://127.0.0.1:{port}/attestations/{schedule_id}")
        assert status == 200
        exported = read_export(body.decode(), "the HTTP answer")
        assert exported.schedule_id == schedule_id
        assert [len(v) for v in exported.signatures.values()] == [2]
        assert _get(f"http://127.0.0.1:{port}/attestations/{'ab' * 28}")[0] == 404
        status, body = _get(f"http://127.0.0.1:{port}/attestations/nonsense")
        assert status == 400 and b"not a schedule id" in body
