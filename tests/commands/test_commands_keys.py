"""`milestonectl keys check`: permissions and format of key files, each problem with its fix."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The `run` fixture (conftest.py) returns a Run(code, out, err) with .json().
Runner = Callable[..., Any]

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")


def _files(result: Any) -> dict[str, dict[str, Any]]:
    return {Path(f["file"]).name: f for f in result.json()["files"]}


def test_the_example_keys_pass(run: Runner, examples: Path) -> None:
    result = run("--json", "keys", "check", examples / "oracles", examples / "admin.skey")
    assert result.code == 0, result.out
    files = _files(result)
    assert sorted(files) == sorted(
        [f"oracle-{n}.{kind}" for n in (1, 2, 3) for kind in ("skey", "vkey")] + ["admin.skey"]
    )
    vkey = json.loads((examples / "oracles" / "oracle-2.vkey").read_text())["cborHex"][4:]
    assert files["oracle-2.skey"]["verification_key"] == vkey == files["oracle-2.vkey"]["verification_key"]
    assert files["oracle-2.skey"]["kind"] == "signing key" and files["oracle-2.skey"]["mode"] == "0600"
    assert files["oracle-2.vkey"]["kind"] == "verification key"


def test_a_readable_signing_key_gets_the_chmod_fix(run: Runner, examples: Path) -> None:
    key = examples / "oracles" / "oracle-3.skey"
    key.chmod(0o644)
    result = run("--json", "keys", "check", key)
    assert result.code == 1
    (problem,) = _files(result)["oracle-3.skey"]["problems"]
    assert "the group and all other users can read" in problem["problem"]
    assert problem["fix"].startswith(f"chmod 600 {key}")
    text = run("keys", "check", key)
    assert text.code == 1 and "chmod 600" in text.out and "need fixing" in text.out
    key.chmod(0o600)
    assert run("keys", "check", key).code == 0


def test_a_group_writable_verification_key_is_flagged(run: Runner, examples: Path) -> None:
    vkey = examples / "oracles" / "oracle-1.vkey"
    vkey.chmod(0o664)
    result = run("--json", "keys", "check", vkey)
    assert result.code == 1
    (problem,) = _files(result)["oracle-1.vkey"]["problems"]
    assert "swap in their own key" in problem["problem"] and problem["fix"].startswith("chmod 644")


def test_a_signing_key_beside_a_foreign_vkey(run: Runner, examples: Path) -> None:
    oracles = examples / "oracles"
    (oracles / "oracle-1.vkey").write_text((oracles / "oracle-2.vkey").read_text())
    result = run("--json", "keys", "check", oracles / "oracle-1.skey")
    assert result.code == 1
    (problem,) = _files(result)["oracle-1.skey"]["problems"]
    assert "does not belong to" in problem["problem"]


def test_malformed_and_missing_key_files(run: Runner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.vkey"
    broken.write_text(
        json.dumps({"type": "PaymentVerificationKeyShelley_ed25519", "cborHex": "50" + "00" * 16})
    )
    garbage = tmp_path / "garbage.skey"
    garbage.write_text("hello")
    garbage.chmod(0o600)
    result = run("--json", "keys", "check", broken, garbage, tmp_path / "missing.skey")
    assert result.code == 1
    files = _files(result)
    assert "32-byte string" in files["broken.vkey"]["problems"][0]["problem"]
    assert "not JSON" in files["garbage.skey"]["problems"][0]["problem"]
    assert "does not exist" in files["missing.skey"]["problems"][0]["problem"]
    assert all(f["ok"] is False for f in files.values())


def test_a_folder_without_key_files_is_a_usage_error(run: Runner, tmp_path: Path) -> None:
    result = run("keys", "check", tmp_path)
    assert result.code == 2 and "no key files" in result.err


def test_keys_check_never_prints_a_secret(run: Runner, examples: Path) -> None:
    key = examples / "oracles" / "oracle-1.skey"
    seed = json.loads(key.read_text())["cborHex"][4:]
    key.chmod(0o644)
    for result in (run("keys", "check", examples / "oracles"), run("--json", "keys", "check", key)):
        assert seed not in result.out + result.err
