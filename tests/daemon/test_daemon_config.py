"""Configuration: defaults, TOML, environment overrides, and errors that name the key and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from milestoned.daemon.jsonrpc import RpcError, parse_request
from milestoned.daemon.logs import REDACTED, redact_secrets
from milestoned.shared.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "milestoned.toml"
    path.write_text(text)
    return path


def test_defaults_are_documented_values() -> None:
    config = load_config(None, environ={})
    assert config.chain.ogmios_url == "embedded-devnet"
    assert config.socket.mode == 0o660
    assert config.release.auto is False
    assert config.release.settle_seconds == 10.0  # docs/operations.md: settlement every 10 s
    assert config.store.log_url.endswith("/var/lib/milestoned/events.db")


def test_toml_then_environment_override(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[chain]\nogmios_url = "ws://10.0.0.1:1337"\nnetwork = "preprod"\n'
        '[socket]\nmode = "0640"\nadmin_uids = [1000]\n[store]\ndata_dir = "/srv/m"\n',
    )
    config = load_config(
        path,
        environ={
            "MILESTONED_CHAIN_OGMIOS_URL": "ws://127.0.0.1:1338",
            "MILESTONED_SOCKET_ADMIN_UIDS": "1001,1002",
            "MILESTONED_RELEASE_VALIDITY_SECONDS": "900",
        },
    )
    assert config.chain.ogmios_url == "ws://127.0.0.1:1338"
    assert config.chain.network == "preprod"
    assert config.socket.mode == 0o640
    assert config.socket.admin_uids == (1001, 1002)
    assert config.release.validity_seconds == 900
    assert config.store.log_url == "sqlite:////srv/m/events.db"
    assert config.store.projection_url == "sqlite:////srv/m/projections.db"
    assert config.expected_magic == 1


def test_every_problem_is_listed_with_key_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[chain]\nogmios_url = "http://node"\nnetwork = "testnet"\nstart = "yesterday"\n'
        '[socket]\nmode = "0666"\nmax_request_bytes = "lots"\n[log]\nformat = "xml"\n'
        "[release]\nauto = true\n[bogus]\nx = 1\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={"MILESTONED_HTTP_PORTT": "1"})
    text = str(raised.value)
    for expected in (
        "chain.ogmios_url",
        "ws://HOST:PORT",
        "chain.network",
        "chain.start",
        "socket.mode",
        "every user",
        "socket.max_request_bytes",
        "log.format",
        "release.wallet_key",
        "[bogus]: unknown section",
        "MILESTONED_HTTP_PORTT",
    ):
        assert expected in text, expected


def test_release_build_workers_are_opt_in_and_a_count_out_of_range_is_refused() -> None:
    assert load_config(None, environ={}).release.build_workers == 0
    assert load_config(None, environ={"MILESTONED_RELEASE_BUILD_WORKERS": "4"}).release.build_workers == 4
    assert load_config(None, environ={"MILESTONED_RELEASE_BUILD_WORKERS": "64"}).release.build_workers == 64
    with pytest.raises(ConfigError, match=r"release.build_workers: must be 0 .* not -1"):
        load_config(None, environ={"MILESTONED_RELEASE_BUILD_WORKERS": "-1"})
    with pytest.raises(ConfigError, match=r"release.build_workers: must be 0 .* to 64 .* not 65; .* 90 MB"):
        load_config(None, environ={"MILESTONED_RELEASE_BUILD_WORKERS": "65"})


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[chain\n"), environ={})


def test_run_with_a_bad_config_exits_2_with_the_problems(tmp_path: Path) -> None:
    path = write(tmp_path, '[socket]\nmode = "0777"\n')
    done = subprocess.run(
        [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "socket.mode" in done.stderr and "0660" in done.stderr


def test_secrets_are_redacted_but_paths_kept() -> None:
    event = redact_secrets(
        None, "info", {"signing_key": "5820abcd", "seed": b"x", "wallet_key_path": "/k.skey"}
    )
    assert event["signing_key"] == REDACTED and event["seed"] == REDACTED
    assert event["wallet_key_path"] == "/k.skey"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"{", -32700),
        (b"[]", -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "status"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "status", "params": [1]}', -32600),
        (b'{"jsonrpc": "2.0", "id": true, "method": "status"}', -32600),
    ],
)
def test_malformed_requests_are_named(line: bytes, code: int) -> None:
    with pytest.raises(RpcError) as raised:
        parse_request(line)
    assert raised.value.code == code and raised.value.message


def test_a_good_request_parses() -> None:
    request = parse_request(
        b'{"jsonrpc": "2.0", "id": "a", "method": "claimable", "params": {"beneficiary": "x"}}'
    )
    assert request.id == "a" and request.method == "claimable" and request.params == {"beneficiary": "x"}


def test_the_shipped_example_config_is_valid_apart_from_its_group() -> None:
    example = Path(__file__).resolve().parents[2] / "infra" / "milestoned.example.toml"
    config = load_config(example, environ={"MILESTONED_SOCKET_GROUP": ""})
    assert config.chain.network == "preprod" and config.socket.mode == 0o660
    with pytest.raises(ConfigError, match="groupadd milestoned-ctl"):
        load_config(example, environ={})
