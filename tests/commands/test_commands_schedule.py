"""`milestonectl schedule validate|show` on the example files and on broken ones."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from milestoned.domain.schedule_file import schedule_errors
from milestoned.domain.schedule_json import load_schedule_json

# The `run` fixture (conftest.py) returns a Run(code, out, err) with .json().
Runner = Callable[..., Any]


def _expected_errors(path: Path) -> list[dict[str, str]]:
    """What the domain reader says about the file: the CLI must list exactly these, every one."""
    errors = schedule_errors(
        load_schedule_json(path.read_text()), load_key_file=lambda name: (path.parent / name).read_text()
    )
    return [{"path": e.path, "message": e.message, "hint": e.hint} for e in errors]


def test_validate_accepts_the_example_and_prints_its_schedule_id(run: Runner, examples: Path) -> None:
    result = run("schedule", "validate", examples / "schedule.json")
    assert result.code == 0, result.err
    assert "is a valid devnet schedule" in result.out
    shown = run("--json", "schedule", "show", examples / "schedule.json").json()
    assert f"schedule id: {shown['schedule_id']}" in result.out


def test_validate_json_of_a_valid_file(run: Runner, examples: Path) -> None:
    report = run("--json", "schedule", "validate", examples / "schedule.json").json()
    assert report["ok"] is True and report["valid"] is True
    assert report["errors"] == [] and report["error_count"] == 0
    assert len(report["schedule_id"]) == 56
    assert report["summary"] == {
        "network": "devnet",
        "oracle_count": 3,
        "quorum_threshold": 2,
        "milestone_count": 3,
        "allocation_count": 10,
        "total_amount": sum(
            a["token_amount"]
            for a in json.loads((examples / "schedule.json").read_text())["beneficiary_allocations"]
        ),
    }


def test_validate_lists_every_error_of_the_invalid_example_in_a_table(run: Runner, examples: Path) -> None:
    path = examples / "schedule.invalid.json"
    result = run("schedule", "validate", path)
    assert result.code == 1
    expected = _expected_errors(path)
    assert len(expected) > 10
    assert f"{len(expected)} errors" in result.out
    for error in expected:
        assert (error["path"] or "(document)") in result.out
    assert "did you mean" in result.out  # the fixes are shown, not only the problems
    assert "how to fix" in result.out


def test_validate_json_of_the_invalid_example(run: Runner, examples: Path) -> None:
    path = examples / "schedule.invalid.json"
    result = run("schedule", "validate", path, "--json")
    assert result.code == 1
    report = result.json()
    assert report["ok"] is False and report["valid"] is False
    assert report["file"] == str(path)
    assert report["error_count"] == len(report["errors"])
    assert [{k: e[k] for k in ("path", "message", "hint")} for e in report["errors"]] == _expected_errors(
        path
    )
    assert all(set(e) == {"path", "location", "message", "hint"} for e in report["errors"])
    assert "schedule_id" not in report


def test_validate_reports_a_json_syntax_error_with_its_line(run: Runner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "network": "devnet",\n  "quorum_threshold": 2,\n}\n')
    report = run("--json", "schedule", "validate", broken)
    assert report.code == 1
    (error,) = report.json()["errors"]
    assert "not valid JSON" in error["message"] and "line 4" in error["message"]
    assert "trailing comma" in error["hint"]


def test_validate_missing_file_is_a_usage_error(run: Runner, tmp_path: Path) -> None:
    result = run("schedule", "validate", tmp_path / "nope.json")
    assert result.code == 2
    assert "does not exist" in result.err and "fix:" in result.err
    as_json = run("--json", "schedule", "validate", tmp_path / "nope.json")
    assert as_json.code == 2
    assert as_json.json()["ok"] is False and "does not exist" in as_json.json()["error"]["message"]


def test_validate_a_directory_and_a_binary_file(run: Runner, tmp_path: Path) -> None:
    assert run("schedule", "validate", tmp_path).code == 2
    binary = tmp_path / "image.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = run("schedule", "validate", binary)
    assert result.code == 1 and "is not UTF-8 text" in result.err


def test_missing_vkey_file_named_in_the_schedule_is_an_oracle_error(run: Runner, examples: Path) -> None:
    (examples / "oracles" / "oracle-1.vkey").unlink()
    report = run("--json", "schedule", "validate", examples / "schedule.json").json()
    (error,) = report["errors"]
    assert error["path"] == "oracles[0]"
    assert "oracle-1.vkey" in error["message"]


def test_vkey_paths_are_read_relative_to_the_schedule_not_the_working_directory(
    run: Runner, examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("schedule", "validate", examples / "schedule.json").code == 0


def test_show_json_has_the_schedule_on_chain_identity_and_totals(run: Runner, examples: Path) -> None:
    path = examples / "schedule.json"
    result = run("schedule", "show", path, "--json")
    assert result.code == 0, result.err
    report = result.json()
    document = json.loads(path.read_text())
    assert report["network"] == "devnet"
    assert len(report["schedule_id"]) == 56 and report["auth_token_policy_id"] == report["schedule_id"]
    assert report["validator_address"].startswith("addr_test1w")  # a script address on a testnet
    assert report["token"]["policy_id"] == document["token"]["token_policy_id"]
    assert report["token"]["asset_name_text"] == "MILE" and report["token"]["asset_name"] == b"MILE".hex()
    assert report["quorum_threshold"] == document["quorum_threshold"]
    assert [o["index"] for o in report["oracles"]] == [0, 1, 2]
    assert report["oracles"][2]["key"] == document["oracles"][2]
    assert report["reclaim_deadline"] == "2028-06-30T23:59:59Z"
    allocations = document["beneficiary_allocations"]
    assert len(report["allocations"]) == len(allocations)
    for milestone in report["milestones"]:
        mine = [a for a in allocations if a["milestone_identifier"] == milestone["milestone_id"]]
        assert milestone["total_amount"] == sum(a["token_amount"] for a in mine)
        assert milestone["allocation_count"] == len(mine)
        assert milestone["beneficiary_count"] == len({a["beneficiary_address"] for a in mine})
    assert report["total_amount"] == sum(a["token_amount"] for a in allocations)
    assert [m["milestone_id"] for m in report["milestones"]] == [
        "M1-testnet-launch",
        "M2-security-audit",
        "M3-mainnet-launch",
    ]


def test_show_table_mentions_every_part(run: Runner, examples: Path) -> None:
    result = run("schedule", "show", examples / "schedule.json")
    report = run("--json", "schedule", "show", examples / "schedule.json").json()
    assert result.code == 0
    for text in (
        report["schedule_id"],
        report["validator_address"],
        "2 of 3 oracles",
        "M2-security-audit",
        str(report["milestones"][1]["total_amount"]),
        report["allocations"][9]["beneficiary_address"],
    ):
        assert text in result.out


def test_show_a_different_nonce_gives_a_different_schedule_id(run: Runner, examples: Path) -> None:
    first = run("--json", "schedule", "show", examples / "schedule.json").json()
    document = json.loads((examples / "schedule.json").read_text())
    document["nonce"] = "00" * 16
    other = examples / "other.json"
    other.write_text(json.dumps(document))
    second = run("--json", "schedule", "show", other).json()
    assert second["schedule_id"] != first["schedule_id"]
    assert second["validator_address"] == first["validator_address"]  # one validator for all schedules


def test_show_an_invalid_schedule_lists_its_errors_and_fails(run: Runner, examples: Path) -> None:
    path = examples / "schedule.invalid.json"
    result = run("schedule", "show", path)
    assert result.code == 1
    assert "quorum_threshold" in result.out  # the errors table
    assert "schedule validate" in result.err
    report = run("--json", "schedule", "show", path).json()
    assert report["ok"] is False
    assert len(report["errors"]) == len(_expected_errors(path))


def test_schedule_folder_can_move(run: Runner, examples: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.move(examples, moved)
    assert run("schedule", "validate", moved / "schedule.json").code == 0


def test_register_resume_without_the_admin_address_is_refused_with_what_to_add(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    """`--resume` builds the registration transactions not yet locked, which needs the admin's address:
    without it the command stops and says what to add, before it reads the file or calls the daemon."""
    result = run(
        "--json",
        "--socket",
        tmp_path / "absent.sock",
        "schedule",
        "register",
        examples / "schedule.json",
        "--resume",
    )
    assert result.code == 2, result.out
    assert result.json()["error"] == {
        "message": "--resume builds the registration transactions not yet locked, which needs the admin's "
        "address",
        "hint": "add --admin-address ADDR (the wallet that pays the registration) and --unsigned-out DIR",
        "exit_code": 2,
    }


def test_register_refuses_an_unsigned_out_folder_holding_an_earlier_build(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    """A new build's register-1..k written beside an earlier build's files would be signed and submitted
    together by `tx sign DIR` / `tx submit DIR`: the folder is refused before the daemon is asked."""
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register-7.signed.json").write_text("{}")
    result = run(
        "--json",
        "--socket",
        tmp_path / "absent.sock",
        "schedule",
        "register",
        examples / "schedule.json",
        "--admin-address",
        "addr_test1vz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerspjrlsz",
        "--unsigned-out",
        folder,
    )
    assert result.code == 2, result.out
    assert result.json()["error"] == {
        "message": f"{folder} already holds 1 registration file(s) of an earlier build "
        "(register-7.signed.json...): the new files would be mixed with them",
        "hint": "give an empty or new folder to --unsigned-out (keep the old files apart if they were sent)",
        "exit_code": 2,
    }
