"""Configurations that used to pass `--check-config` and then crashed `run` (or retried forever), or
gave a traceback: each is now an error naming the key and the fix, with exit code 2 (issue 17, point 12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from daemon_process import REPO

from milestoned.daemon.config_checks import machine_problems
from milestoned.shared.config import ConfigError, load_config


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(path), "--check-config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


def config_file(tmp_path: Path, chain: str = "", release: str = "") -> Path:
    path = tmp_path / "milestoned.toml"
    path.write_text(
        f'[chain]\nnetwork = "devnet"\n{chain}\n[store]\ndata_dir = "{tmp_path}"\n'
        f'[socket]\npath = "{tmp_path}/d.sock"\n[release]\n{release}\n'
    )
    return path


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("ws://127.0.0.1:notaport", "bad port"),
        ("ws://127.0.0.1:99999", "bad port"),
        ("ws://127.0.0.1:0", "port 0"),
        ("ws://", "names no host"),
        ("ws://:1337", "names no host"),
        ("ws://127.0.0.1 :1337", "contains a space"),
        ("http://127.0.0.1:1337", "not a WebSocket URL"),
    ],
)
def test_bad_ogmios_urls_are_refused_with_the_key_and_the_fix(tmp_path: Path, url: str, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(config_file(tmp_path, chain=f'ogmios_url = "{url}"'), environ={})
    text = str(refused.value)
    assert "chain.ogmios_url" in text and named in text
    assert "ws://HOST:PORT" in text  # the fix


def test_check_config_exits_2_on_a_bad_ogmios_url_without_a_traceback(tmp_path: Path) -> None:
    done = check_config(config_file(tmp_path, chain='ogmios_url = "ws://127.0.0.1:99999"'))
    assert done.returncode == 2, done
    assert "chain.ogmios_url" in done.stderr and "bad port" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_good_ogmios_url_passes(tmp_path: Path) -> None:
    for url in ("ws://127.0.0.1:1337", "ws://ogmios.internal", "wss://[::1]:1338"):
        config = load_config(config_file(tmp_path, chain=f'ogmios_url = "{url}"'), environ={})
        assert config.chain.ogmios_url == url


def test_a_binary_config_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "milestoned.toml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00" * 8)
    done = check_config(path)
    assert done.returncode == 2
    assert "not a text file" in done.stderr and "milestoned.example.toml" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(ConfigError, match="not a text file"):
        load_config(path, environ={})


def test_a_missing_wallet_key_with_auto_release_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "operator.skey"
    done = check_config(config_file(tmp_path, release=f'auto = true\nwallet_key = "{key}"'))
    assert done.returncode == 2
    assert "release.wallet_key" in done.stderr and "does not exist" in done.stderr
    assert "chmod 600" in done.stderr and "Traceback" not in done.stderr


def test_a_world_readable_wallet_key_is_refused_and_an_owner_only_one_passes(tmp_path: Path) -> None:
    key = tmp_path / "operator.skey"
    key.write_text('{"type": "PaymentSigningKeyShelley_ed25519", "cborHex": "5820' + "00" * 32 + '"}')
    key.chmod(0o644)
    path = config_file(tmp_path, release=f'auto = true\nwallet_key = "{key}"')
    done = check_config(path)
    assert done.returncode == 2
    assert "release.wallet_key" in done.stderr and "everyone can read" in done.stderr
    assert f"chmod 600 {key}" in done.stderr
    config = load_config(path, environ={})
    key.chmod(0o640)
    assert "its group can read" in " ".join(machine_problems(config))
    key.chmod(0o600)
    assert machine_problems(config) == []


def test_run_refuses_the_same_as_check_config(tmp_path: Path) -> None:
    """`run` (not only --check-config) exits 2 before starting, instead of a traceback and exit 1."""
    path = config_file(tmp_path, chain='ogmios_url = "ws://127.0.0.1:notaport"')
    done = subprocess.run(
        [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 2 and "chain.ogmios_url" in done.stderr
    assert "Traceback" not in done.stderr
