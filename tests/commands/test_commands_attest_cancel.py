"""`milestonectl attest sign --cancel` and `attest verify --cancel` (issue 15, point 1, the oracles' side):
an oracle signs offline that a milestone will never be delivered. The message has its own prefix
(`milestoned/cancel/v1 || schedule_id || milestone_id`), so a cancellation never counts as an attestation
nor the reverse; the signed bytes are checked here with PyNaCl directly, not with the code that made them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

Runner = Callable[..., Any]
M1, M2 = "M1-testnet-launch", "M2-security-audit"


def _sign(run: Runner, examples: Path, oracle: int, milestone: str, *extra: object) -> Any:
    return run(
        "attest", "sign", "--key", examples / "oracles" / f"oracle-{oracle}.skey",
        "--schedule", examples / "schedule.json", "--milestone", milestone, *extra,
    )  # fmt: skip


def _verify(run: Runner, examples: Path, *files_and_flags: object) -> Any:
    return run("--json", "attest", "verify", *files_and_flags, "--schedule", examples / "schedule.json")


def test_a_cancellation_signs_the_cancel_message_and_never_the_attestation_one(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cancel.json"
    signed = _sign(run, examples, 1, M2, "--cancel", "--out", out)
    assert signed.code == 0, signed.err
    assert 'signed the cancellation of milestone "M2-security-audit"' in signed.out
    document = json.loads(out.read_text())
    assert document["statement"] == "cancel" and document["milestone_id"] == M2
    key = VerifyKey(bytes.fromhex(document["oracle_key"]))
    schedule_id = bytes.fromhex(document["schedule_id"])
    signature = bytes.fromhex(document["signature"])
    key.verify(b"milestoned/cancel/v1" + schedule_id + M2.encode(), signature)
    with pytest.raises(BadSignatureError):
        key.verify(b"milestoned/attest/v1" + schedule_id + M2.encode(), signature)


def test_the_default_file_name_says_cancellation(run: Runner, examples: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(examples)
    signed = run("--json", "attest", "sign", "--key", examples / "oracles" / "oracle-2.skey",
                 "--schedule", examples / "schedule.json", "--milestone", M2, "--cancel")  # fmt: skip
    assert signed.code == 0, signed.err
    assert Path(signed.json()["file"]).name.startswith("cancellation-M2-security-audit-")


def test_verify_cancel_counts_cancellations_and_refuses_attestations(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    cancels = [tmp_path / f"cancel-{n}.json" for n in (1, 2)]
    for oracle, path in zip((1, 2), cancels, strict=True):
        assert _sign(run, examples, oracle, M2, "--cancel", "--out", path).code == 0
    attestation = tmp_path / "attest.json"
    assert _sign(run, examples, 3, M2, "--out", attestation).code == 0

    cancelled = _verify(run, examples, *cancels, "--cancel")
    assert cancelled.code == 0, cancelled.out
    report = cancelled.json()
    assert report["statement"] == "cancel"
    assert [a["verdict"] for a in report["attestations"]] == ["valid", "valid"]
    assert {m["milestone_id"]: m["status"] for m in report["milestones"]}[M2] == "met"  # 2 of 3

    # an attestation presented as a cancellation is named, never counted
    mixed = _verify(run, examples, *cancels, attestation, "--cancel")
    assert mixed.code == 1
    verdicts = mixed.json()["attestations"]
    assert [a["verdict"] for a in verdicts] == ["valid", "valid", "other_statement"]
    assert verdicts[2]["explanation"] == (
        'is an attestation of milestone "M2-security-audit", and cancellations are checked here; '
        "it never counts as one"
    )
    assert "without --cancel" in verdicts[2]["hint"]
    assert {m["milestone_id"]: m["valid_signatures"] for m in mixed.json()["milestones"]}[M2] == 2


def test_cancellations_never_count_as_attestations(run: Runner, examples: Path, tmp_path: Path) -> None:
    cancels = [tmp_path / f"cancel-{n}.json" for n in (1, 2)]
    for oracle, path in zip((1, 2), cancels, strict=True):
        assert _sign(run, examples, oracle, M1, "--cancel", "--out", path).code == 0
    report = _verify(run, examples, *cancels)
    assert report.code == 1
    assert [a["verdict"] for a in report.json()["attestations"]] == ["other_statement"] * 2
    assert "attest verify --cancel" in report.json()["attestations"][0]["hint"]
    m1 = {m["milestone_id"]: m for m in report.json()["milestones"]}[M1]
    assert m1["valid_signatures"] == 0 and m1["status"] == "pending"

    # relabelled as an attestation, the cancellation's signature does not verify
    relabelled = json.loads(cancels[0].read_text())
    del relabelled["statement"]
    forged = tmp_path / "relabelled.json"
    forged.write_text(json.dumps(relabelled))
    assert [a["verdict"] for a in _verify(run, examples, forged).json()["attestations"]] == [
        "invalid_signature"
    ]


def test_an_unknown_statement_is_named(run: Runner, examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "m1.json"
    assert _sign(run, examples, 1, M1, "--out", out).code == 0
    document = json.loads(out.read_text())
    document["statement"] = "revoke"
    out.write_text(json.dumps(document))
    [verdict] = _verify(run, examples, out).json()["attestations"]
    assert verdict["verdict"] == "unreadable"
    expected = '"statement" must be "attest" or "cancel" (absent: "attest"), got "revoke"'
    assert expected in verdict["explanation"]
