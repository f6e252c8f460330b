"""milestonectl against the REAL daemon process and its REAL socket: schedule choice, bad input named
clearly, refusal reasons shown, past times caught, the reclaim deadline checked before anything is built,
and JSON answers with ISO times and a staleness flag."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))
from daemon_process import Daemon, demo_attestations, running, short_folder

ADMIN = "addr_test1vz7x35nfy9eu9lnyyre0m4vc67g4qsvenklnlqn4r70qk9svf3rxr"
UNKNOWN_ID = "ab" * 28
Runner = Callable[..., Any]


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running(short_folder()) as started:
        yield started


@pytest.fixture
def ctl(run: Runner, daemon: Daemon) -> Runner:
    def invoke(*args: str | Path) -> Any:
        return run("--socket", daemon.socket_path, *args)

    return invoke


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


def test_schedules_and_the_schedule_a_release_means(ctl: Runner, examples: Path, daemon: Daemon) -> None:
    none = ctl("schedules")
    assert none.code == 0 and "no schedules registered" in none.out
    nothing = ctl("release", "--dry-run")
    assert nothing.code == 1 and "no registered schedule" in nothing.err

    assert ctl("schedule", "register", examples / "schedule.json").code == 0
    listed = ctl("--json", "schedules").json()
    [row] = listed["result"]
    schedule_id = row["schedule_id"]
    assert ctl("schedules").out.count(schedule_id) == 1

    # Without --schedule-id the only schedule is meant; with --schedule its file's id. The daemon of
    # this test has no operator wallet, so the release goes as far as that: past the schedule choice.
    for args in ((), ("--schedule", examples / "schedule.json"), ("--schedule-id", schedule_id)):
        answer = ctl("--json", "release", "--dry-run", *args)
        assert answer.code == 1
        assert "no operator wallet" in answer.json()["error"]["message"], answer.out

    # a second schedule: now the command must be told which
    document = json.loads((examples / "schedule.json").read_text())
    document["nonce"] = "22" * 16
    other = _write(examples / "schedule-2.json", document)
    assert ctl("schedule", "register", other).code == 0
    ambiguous = ctl("release", "--dry-run")
    assert ambiguous.code == 2 and "2 schedules" in ambiguous.err and schedule_id in ambiguous.err


def test_bad_ids_and_addresses_are_named(ctl: Runner, examples: Path, daemon: Daemon) -> None:
    assert ctl("schedule", "register", examples / "schedule.json").code == 0
    schedule_id = ctl("--json", "schedule", "validate", examples / "schedule.json").json()["schedule_id"]

    garbage = ctl("release", "--schedule-id", schedule_id, "--beneficiary", "addr_test1garbage")
    assert garbage.code == 2 and "beneficiary" in garbage.err and "bech32" in garbage.err
    assert "DecodingException" not in garbage.err
    not_address = ctl("claimable", "--beneficiary", "notanaddress")
    assert not_address.code == 2 and "beneficiary" in not_address.err and "fix:" in not_address.err
    mainnet = ctl(
        "claimable", "--beneficiary", "stake_test1uqfu74w3wh4gfzu8m6e7j987h4lq9r3t7ef5gaw497uu85qsqfy27"
    )
    assert mainnet.code == 2 and "stake" in mainnet.err
    short_id = ctl("milestones", "--schedule-id", "1234")
    assert short_id.code == 2 and "not a schedule id" in short_id.err
    unknown = ctl("milestones", "--schedule-id", UNKNOWN_ID)
    assert unknown.code == 1 and "not registered" in unknown.err and schedule_id in unknown.err
    bad_ref = ctl("release", "--schedule-id", schedule_id, "--allocation", "abc#1")
    assert bad_ref.code == 2 and "'abc#1'" in bad_ref.err and "TXID#INDEX" in bad_ref.err
    assert "Traceback" not in daemon.logs()


def test_refused_attestations_show_why_without_json(ctl: Runner, examples: Path) -> None:
    assert ctl("schedule", "register", examples / "schedule.json").code == 0
    [document] = demo_attestations("M1-testnet-launch", 1)
    document["signature"] = ("00" if not document["signature"].startswith("00") else "11") + document[
        "signature"
    ][2:]
    forged = _write(examples / "forged.json", document)
    answer = ctl("signature", "commit", forged)
    assert answer.code == 1
    assert "refused" in answer.err
    assert "forged.json" in answer.out and "does not verify" in answer.out


def test_past_times_warn_and_a_past_reclaim_deadline_is_refused(ctl: Runner, examples: Path) -> None:
    document = json.loads((examples / "schedule.json").read_text())
    for allocation in document["beneficiary_allocations"]:
        allocation["vesting_timestamp"] = "2020-01-15T12:00:00Z"
    document["reclaim_deadline"] = "2021-06-30T23:59:59Z"
    document["nonce"] = "33" * 16
    old = _write(examples / "old.json", document)

    validated = ctl("schedule", "validate", old)
    assert validated.code == 0
    assert "vest in the past" in validated.out and "reclaim deadline" in validated.out
    assert len(ctl("--json", "schedule", "validate", old).json()["warnings"]) == 2

    before = len(ctl("--json", "schedules").json()["result"])
    refused = ctl("schedule", "register", old)
    assert refused.code == 1 and "already past" in refused.err and "--force" in refused.err
    assert len(ctl("--json", "schedules").json()["result"]) == before
    forced = ctl("schedule", "register", old, "--force")
    assert forced.code == 0 and "vest in the past" in forced.out
    assert len(ctl("--json", "schedules").json()["result"]) == before + 1


def test_reclaim_checks_the_deadline_before_building(ctl: Runner, examples: Path, tmp_path: Path) -> None:
    schedule = examples / "schedule.json"
    assert ctl("schedule", "register", schedule).code == 0
    schedule_id = ctl("--json", "schedule", "validate", schedule).json()["schedule_id"]
    out_dir = tmp_path / "reclaim"
    early = ctl("reclaim", "--schedule-id", schedule_id, "--admin-address", ADMIN, "--unsigned-out", out_dir)
    assert early.code == 1
    assert "reclaim deadline is 2028-06-30" in early.err and "nothing was built" in early.err
    assert not out_dir.exists()
    as_json = ctl(
        "--json", "reclaim", "--schedule", schedule, "--admin-address", ADMIN, "--unsigned-out", out_dir
    ).json()
    assert as_json["error"]["data"]["rule"] == "reclaim_deadline"
    assert as_json["error"]["data"]["passes_at_ms"] > 0
    half = ctl("reclaim", "--schedule-id", schedule_id, "--admin-address", ADMIN)
    assert half.code == 2 and "go together" in half.err


def test_json_queries_carry_staleness_and_iso_times(ctl: Runner, daemon: Daemon) -> None:
    for command in ("milestones", "claimable", "submissions"):
        document = ctl("--json", command).json()
        assert document["ok"] is True
        assert document["daemon_state"] in ("synced", "syncing", "disconnected")
        assert document["stale"] is (document["daemon_state"] != "synced")
    status = ctl("--json", "status").json()["result"]
    tip = status["projections"]["chain_tip"]
    if tip is not None and tip["chain_time_ms"] is not None:
        assert tip["chain_time_iso"].endswith("Z")


def test_devnet_fund_mints_test_tokens_under_the_faucet_policy(ctl: Runner, daemon: Daemon) -> None:
    from websockets.sync.client import connect

    target = "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70"
    first = ctl("--json", "devnet", "fund", target, "--lovelace", "5000000", "--asset", "MILE=1000")
    assert first.code == 0, first.out
    policy = first.json()["result"]["policy"]
    again = ctl("devnet", "fund", target, "--lovelace", "5000000", "--asset", "0x4d494c45=500")
    assert again.code == 0 and f"token policy id: {policy}" in again.out

    url = first.json()["ogmios_url"]
    with connect(url) as ogmios:
        query = {
            "jsonrpc": "2.0",
            "method": "queryLedgerState/utxo",
            "params": {"addresses": [target]},
            "id": 1,
        }
        ogmios.send(json.dumps(query))
        utxos = json.loads(ogmios.recv(timeout=30))["result"]
    minted = sum(u["value"].get(policy, {}).get("4d494c45", 0) for u in utxos)
    assert minted == 1500

    bad = ctl("devnet", "fund", target, "--asset", "MILE")
    assert bad.code == 2 and "NAME=QUANTITY" in bad.err
    nowhere = ctl("devnet", "fund", target, "--ogmios", "ws://127.0.0.1:9")
    assert nowhere.code == 2 and "cannot reach a devnet" in nowhere.err


def test_a_registration_build_runs_as_a_job_and_its_failure_is_reported(ctl: Runner, examples: Path) -> None:
    out_dir = examples / "tx"
    answer = ctl(
        "schedule",
        "register",
        examples / "schedule.json",
        "--admin-address",
        ADMIN,
        "--unsigned-out",
        out_dir,
    )
    assert answer.code == 1
    assert "job register-" in answer.err and "failed" in answer.err and "lovelace" in answer.err
    jobs = ctl("--json", "jobs").json()["result"]
    assert any(j["kind"] == "register" and j["state"] == "failed" for j in jobs)
    assert ctl("jobs", "watch", "no-such-job").code == 1
