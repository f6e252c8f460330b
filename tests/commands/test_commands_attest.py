"""`milestonectl attest sign|verify`: an oracle signs offline, the admin checks the files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from nacl.signing import SigningKey

from milestoned.domain.attestation import OracleSignature, verify_attestation

# The `run` fixture (conftest.py) returns a Run(code, out, err) with .json().
Runner = Callable[..., Any]
M1, M2 = "M1-testnet-launch", "M2-security-audit"


def _seed_hex(key_file: Path) -> str:
    return str(json.loads(key_file.read_text())["cborHex"])[4:]


def _schedule_id(run: Runner, schedule: Path) -> str:
    return str(run("--json", "schedule", "show", schedule).json()["schedule_id"])


def _sign(run: Runner, examples: Path, oracle: int, milestone: str, out: Path | str, *extra: str) -> Any:
    return run(
        "attest",
        "sign",
        "--key",
        examples / "oracles" / f"oracle-{oracle}.skey",
        "--schedule",
        examples / "schedule.json",
        "--milestone",
        milestone,
        "--out",
        out,
        *extra,
    )


def _other_schedule(examples: Path) -> Path:
    """The example schedule with another nonce: same oracles and milestones, another schedule id."""
    document = json.loads((examples / "schedule.json").read_text())
    document["nonce"] = "ab" * 16
    other = examples / "other-schedule.json"
    other.write_text(json.dumps(document))
    return other


def test_sign_writes_the_attestation_file_and_it_verifies(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m1-oracle1.json"
    result = _sign(run, examples, 1, M1, out)
    assert result.code == 0, result.err
    document = json.loads(out.read_text())
    assert list(document) == ["schedule_id", "milestone_id", "oracle_key", "signature"]
    assert document["schedule_id"] == _schedule_id(run, examples / "schedule.json")
    assert document["milestone_id"] == M1
    vkey = json.loads((examples / "oracles" / "oracle-1.vkey").read_text())["cborHex"][4:]
    assert document["oracle_key"] == vkey
    signature = OracleSignature(bytes.fromhex(document["oracle_key"]), bytes.fromhex(document["signature"]))
    assert verify_attestation(signature, bytes.fromhex(document["schedule_id"]), M1.encode())
    assert "oracles[0]" in result.out and str(out) in result.out
    again = _sign(run, examples, 1, M1, out, "--json").json()
    assert again == {
        "ok": True,
        "file": str(out),
        "attestation": document,
        "oracle_index": 0,
        "checked_against_schedule": True,
    }


def test_round_trip_quorum_pending_met_exceeded(run: Runner, examples: Path, tmp_path: Path) -> None:
    schedule = examples / "schedule.json"
    files = []
    statuses = []
    for oracle in (1, 2, 3):
        files.append(tmp_path / f"m1-{oracle}.json")
        assert _sign(run, examples, oracle, M1, files[-1]).code == 0
        report = run("--json", "attest", "verify", *files, "--schedule", schedule)
        assert report.code == 0, report.out
        milestones = {m["milestone_id"]: m for m in report.json()["milestones"]}
        statuses.append(milestones[M1]["status"])
        assert milestones[M1]["valid_signatures"] == oracle
        assert milestones[M2]["status"] == "pending" and milestones[M2]["missing_signatures"] == 2
    assert statuses == ["pending", "met", "exceeded"]  # the schedule's quorum is 2 of 3


def test_verify_table_shows_each_verdict_and_the_quorum_status(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    _sign(run, examples, 1, M1, one)
    _sign(run, examples, 3, M1, two)
    result = run("attest", "verify", one, two, "--schedule", examples / "schedule.json")
    assert result.code == 0
    assert result.out.count("✓ valid") == 2
    m1_row = next(line for line in result.out.splitlines() if M1 in line and "quorum 2" in line)
    assert "met" in m1_row
    m2_row = next(line for line in result.out.splitlines() if M2 in line and "quorum 2" in line)
    assert "pending" in m2_row and "needs 2 more" in m2_row


def test_a_signature_for_another_schedule_fails(run: Runner, examples: Path, tmp_path: Path) -> None:
    other = _other_schedule(examples)
    out = tmp_path / "for-other.json"
    signed = run(
        "attest", "sign", "--key", examples / "oracles" / "oracle-1.skey", "--schedule", other,
        "--milestone", M1, "--out", out,
    )  # fmt: skip
    assert signed.code == 0
    result = run("--json", "attest", "verify", out, "--schedule", examples / "schedule.json")
    assert result.code == 1
    (verdict,) = result.json()["attestations"]
    assert verdict["verdict"] == "other_schedule" and verdict["accepted"] is False
    assert _schedule_id(run, other) in verdict["explanation"]
    assert result.json()["milestones"][0]["valid_signatures"] == 0
    # Claiming this schedule's id does not help: the signature was made over the other one.
    document = json.loads(out.read_text())
    document["schedule_id"] = _schedule_id(run, examples / "schedule.json")
    out.write_text(json.dumps(document))
    relabelled = run("--json", "attest", "verify", out, "--schedule", examples / "schedule.json")
    assert relabelled.code == 1
    assert relabelled.json()["attestations"][0]["verdict"] == "invalid_signature"


def test_a_signature_for_another_milestone_fails(run: Runner, examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "m1.json"
    _sign(run, examples, 2, M1, out)
    document = json.loads(out.read_text())
    document["milestone_id"] = M2
    out.write_text(json.dumps(document))
    result = run("--json", "attest", "verify", out, "--schedule", examples / "schedule.json")
    assert result.code == 1
    (verdict,) = result.json()["attestations"]
    assert verdict["verdict"] == "invalid_signature"
    assert verdict["oracle_index"] == 1
    milestones = {m["milestone_id"]: m for m in result.json()["milestones"]}
    assert milestones[M1]["valid_signatures"] == 0 and milestones[M2]["valid_signatures"] == 0
    text = run("attest", "verify", out, "--schedule", examples / "schedule.json")
    assert "✗ invalid_signature" in text.out and "sign again" in text.out


def test_unknown_milestone_and_unknown_oracle(run: Runner, examples: Path, tmp_path: Path) -> None:
    schedule_id = _schedule_id(run, examples / "schedule.json")
    unknown_milestone, unknown_oracle = tmp_path / "m9.json", tmp_path / "admin.json"
    for key, milestone, out in (
        (examples / "oracles" / "oracle-1.skey", "M9-nope", unknown_milestone),
        (examples / "admin.skey", M1, unknown_oracle),  # --schedule-id: no check against the oracles
    ):
        signed = run(
            "attest",
            "sign",
            "--key",
            key,
            "--schedule-id",
            schedule_id,
            "--milestone",
            milestone,
            "--out",
            out,
        )
        assert signed.code == 0, signed.err
        assert "signed without the schedule file" in signed.out
    result = run(
        "--json",
        "attest",
        "verify",
        unknown_milestone,
        unknown_oracle,
        "--schedule",
        examples / "schedule.json",
    )
    assert result.code == 1
    verdicts = [a["verdict"] for a in result.json()["attestations"]]
    assert verdicts == ["unknown_milestone", "unknown_oracle"]
    assert M2 in result.json()["attestations"][0]["hint"]  # the milestones it could have meant


def test_sign_with_the_schedule_checks_milestone_and_oracle(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "a.json"
    wrong_milestone = _sign(run, examples, 1, "M9-nope", out)
    assert wrong_milestone.code == 1 and M2 in wrong_milestone.err and not out.exists()
    admin = run(
        "attest", "sign", "--key", examples / "admin.skey", "--schedule", examples / "schedule.json",
        "--milestone", M1, "--out", out,
    )  # fmt: skip
    assert admin.code == 1 and "not one of the oracles" in admin.err and not out.exists()


def test_duplicate_files_count_once(run: Runner, examples: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    _sign(run, examples, 1, M1, first)
    _sign(run, examples, 1, M1, second)
    result = run("--json", "attest", "verify", first, second, "--schedule", examples / "schedule.json")
    assert result.code == 0
    assert [a["verdict"] for a in result.json()["attestations"]] == ["valid", "duplicate"]
    assert result.json()["milestones"][0]["status"] == "pending"


def test_require_quorum(run: Runner, examples: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    _sign(run, examples, 1, M1, one)
    schedule = examples / "schedule.json"
    assert run("attest", "verify", one, "--schedule", schedule).code == 0
    short = run("attest", "verify", one, "--schedule", schedule, "--require-quorum")
    assert short.code == 1 and f"quorum not reached for: {M1}" in short.out
    _sign(run, examples, 2, M1, two)
    assert run("attest", "verify", one, two, "--schedule", schedule, "--require-quorum").code == 0


def test_verify_reports_unreadable_files_and_goes_on(run: Runner, examples: Path, tmp_path: Path) -> None:
    good, garbage, key = (
        tmp_path / "good.json",
        tmp_path / "garbage.json",
        examples / "oracles" / "oracle-1.vkey",
    )
    _sign(run, examples, 1, M1, good)
    garbage.write_text('{"schedule_id": "zz", "milestone_id": ""}')
    result = run("--json", "attest", "verify", good, garbage, key, "--schedule", examples / "schedule.json")
    assert result.code == 1
    verdicts = result.json()["attestations"]
    assert [v["verdict"] for v in verdicts] == ["valid", "unreadable", "unreadable"]
    assert '"schedule_id" must be 56 hex digits' in verdicts[1]["explanation"]
    assert "oracle_key" in verdicts[1]["explanation"] and "signature" in verdicts[1]["explanation"]
    assert "key file, not an attestation" in verdicts[2]["explanation"]
    missing = run(
        "attest", "verify", good, tmp_path / "missing.json", "--schedule", examples / "schedule.json"
    )
    assert missing.code == 2 and "does not exist" in missing.out


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_sign_refuses_a_key_others_can_read_or_write(
    run: Runner, examples: Path, tmp_path: Path, mode: int
) -> None:
    key = examples / "oracles" / "oracle-1.skey"
    key.chmod(mode)
    out = tmp_path / "a.json"
    result = _sign(run, examples, 1, M1, out)
    assert result.code == 1
    assert "refusing to sign" in result.err
    assert f"chmod 600 {key}" in result.err
    assert not out.exists()
    as_json = _sign(run, examples, 1, M1, out, "--json").json()
    assert as_json["ok"] is False and as_json["error"]["hint"].startswith(f"chmod 600 {key}")


def test_signing_never_shows_the_secret(run: Runner, examples: Path, tmp_path: Path) -> None:
    key = examples / "oracles" / "oracle-2.skey"
    seed = _seed_hex(key)
    out = tmp_path / "a.json"
    results = [_sign(run, examples, 2, M1, out), _sign(run, examples, 2, M1, tmp_path / "b.json", "--json")]
    key.chmod(0o644)
    results.append(_sign(run, examples, 2, M1, tmp_path / "c.json"))
    for result in results:
        assert seed not in result.out + result.err
    assert seed not in out.read_text()
    assert results[2].code == 1


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (
            {"type": "PaymentVerificationKeyShelley_ed25519", "cborHex": "5820" + "00" * 32},
            "which cannot sign",
        ),
        (
            {"type": "PaymentExtendedSigningKeyShelley_ed25519_bip32", "cborHex": "5880" + "00" * 128},
            "extended (BIP32)",
        ),
        ({"type": "GenesisSigningKey_ed25519", "cborHex": "5820" + "00" * 32}, 'has type "GenesisSigningKey'),
        (
            {"type": "PaymentSigningKeyShelley_ed25519", "cborHex": "5820" + "00" * 31},
            "followed by a 32-byte",
        ),
        (
            {"type": "PaymentSigningKeyShelley_ed25519", "cborHex": "5840" + "00" * 32},
            "followed by a 32-byte",
        ),
        ({"type": "PaymentSigningKeyShelley_ed25519"}, 'string fields "type" and "cborHex"'),
        ("not json at all", "not JSON"),
        ([1, 2], "not an object"),
    ],
)
def test_sign_explains_a_wrong_key_file(
    run: Runner, examples: Path, tmp_path: Path, envelope: object, expected: str
) -> None:
    key = tmp_path / "bad.skey"
    key.write_text(envelope if isinstance(envelope, str) else json.dumps(envelope))
    key.chmod(0o600)
    result = run(
        "attest", "sign", "--key", key, "--schedule", examples / "schedule.json", "--milestone", M1,
        "--out", tmp_path / "a.json",
    )  # fmt: skip
    assert result.code == 1
    assert expected in result.err
    assert "fix:" in result.err


def test_a_verification_key_given_as_key_is_named_even_when_world_readable(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    vkey = examples / "oracles" / "oracle-1.vkey"
    vkey.chmod(0o644)
    result = run(
        "attest", "sign", "--key", vkey, "--schedule", examples / "schedule.json", "--milestone", M1,
        "--out", tmp_path / "a.json",
    )  # fmt: skip
    assert result.code == 1 and "is a verification key" in result.err and ".skey" in result.err


def test_sign_with_a_schedule_id_matches_sign_with_the_schedule(
    run: Runner, examples: Path, tmp_path: Path
) -> None:
    by_file, by_id = tmp_path / "file.json", tmp_path / "id.json"
    _sign(run, examples, 3, M2, by_file)
    schedule_id = _schedule_id(run, examples / "schedule.json")
    key = examples / "oracles" / "oracle-3.skey"
    result = run(
        "attest",
        "sign",
        "--key",
        key,
        "--schedule-id",
        schedule_id.upper(),
        "--milestone",
        M2,
        "--out",
        by_id,
    )
    assert result.code == 0
    assert by_id.read_text() == by_file.read_text()


def test_sign_argument_errors(run: Runner, examples: Path, tmp_path: Path) -> None:
    key = examples / "oracles" / "oracle-1.skey"
    bad_id = run("attest", "sign", "--key", key, "--schedule-id", "abcd", "--milestone", M1)
    assert bad_id.code == 2 and "56 hex digits" in bad_id.err
    spaced = run("attest", "sign", "--key", key, "--schedule-id", "ab" * 28, "--milestone", f" {M1}")
    assert spaced.code == 2 and "whitespace" in spaced.err
    neither = run("attest", "sign", "--key", key, "--milestone", M1)
    assert neither.code == 2 and "--schedule" in neither.err
    both = run("attest", "sign", "--key", key, "--schedule", "x", "--schedule-id", "y", "--milestone", M1)
    assert both.code == 2 and "not allowed with" in both.err
    missing_key = run(
        "attest", "sign", "--key", tmp_path / "none.skey", "--schedule-id", "ab" * 28, "--milestone", M1
    )
    assert missing_key.code == 2 and "does not exist" in missing_key.err


def test_sign_does_not_overwrite_a_different_file(run: Runner, examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    out.write_text("precious\n")
    refused = _sign(run, examples, 1, M1, out)
    assert refused.code == 2 and "--force" in refused.err and out.read_text() == "precious\n"
    assert _sign(run, examples, 1, M1, out, "--force").code == 0
    again = _sign(run, examples, 1, M1, out)  # the same signature again: nothing to refuse
    assert again.code == 0 and json.loads(out.read_text())["milestone_id"] == M1


def test_sign_to_stdout_and_default_file_name(
    run: Runner, examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = _sign(run, examples, 1, M1, "-")
    assert printed.code == 0
    document = json.loads(printed.out)
    assert document["milestone_id"] == M1 and len(document["signature"]) == 128
    monkeypatch.chdir(tmp_path)
    key, schedule = examples / "oracles" / "oracle-1.skey", examples / "schedule.json"
    result = run("attest", "sign", "--key", key, "--schedule", schedule, "--milestone", M1)
    assert result.code == 0
    written = tmp_path / f"attestation-{M1}-{document['oracle_key'][:8]}.json"
    assert json.loads(written.read_text()) == document


def test_sign_accepts_a_cardano_cli_key_made_elsewhere(run: Runner, examples: Path, tmp_path: Path) -> None:
    """A key in cardano-cli's exact format, made from our own seed, signs for its public key."""
    seed = bytes(range(32))
    key = tmp_path / "mine.skey"
    key.write_text(
        json.dumps(
            {
                "type": "PaymentSigningKeyShelley_ed25519",
                "description": "",
                "cborHex": cbor2.dumps(seed).hex(),
            }
        )
    )
    key.chmod(0o600)
    schedule_id = "cd" * 28
    result = run(
        "--json",
        "attest",
        "sign",
        "--key",
        key,
        "--schedule-id",
        schedule_id,
        "--milestone",
        M1,
        "--out",
        "-",
    )
    assert result.code == 0
    attestation = result.json()["attestation"]
    assert attestation["oracle_key"] == bytes(SigningKey(seed).verify_key).hex()
    assert result.json()["file"] is None
