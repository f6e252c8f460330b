"""Configuration bounds, defaults and readers: tests for mutants of `shared/config.py` that survived
(issue 19). Each range is tried at both of its ends and one step beyond, each reader on every form it
takes, and each problem is matched whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from milestoned.domain.network import CardanoNetwork
from milestoned.shared.config import (
    NETWORK_MAGIC,
    ConfigError,
    DaemonConfig,
    StoreSettings,
    config_document,
    load_config,
    with_overrides,
)


def problems(path: Path | None = None, **env: str) -> list[str]:
    environ = {f"MILESTONED_{k.upper()}": v for k, v in env.items()}
    try:
        load_config(path, environ)
    except ConfigError as exc:
        return exc.problems
    return []


def loaded(**env: str) -> DaemonConfig:
    return load_config(None, {f"MILESTONED_{k.upper()}": v for k, v in env.items()})


def test_defaults() -> None:
    config = loaded()
    assert config == DaemonConfig()
    assert config.socket.max_request_bytes == 4 * 1024 * 1024 and config.socket.max_connections == 64
    assert config.http.port == 9464 and config.release.validity_seconds == 600 and config.devnet.port == 0
    assert config.expected_magic == 42


def test_network_magics_are_the_cardano_ones() -> None:
    assert NETWORK_MAGIC == {
        CardanoNetwork.MAINNET: 764824073,
        CardanoNetwork.PREPROD: 1,
        CardanoNetwork.PREVIEW: 2,
        CardanoNetwork.DEVNET: 42,
    }


def test_the_error_lists_every_problem_and_where() -> None:
    error = ConfigError(["a: bad", "b: worse"], "x.toml")
    assert str(error) == "2 configuration problem(s) in x.toml:\n  - a: bad\n  - b: worse"
    assert str(ConfigError(["a: bad"])) == "1 configuration problem(s):\n  - a: bad"


def test_store_urls_given_win_over_the_defaults() -> None:
    store = StoreSettings(data_dir="/d", url="sqlite:////x/log.db", projections_url="sqlite:////y/p.db")
    assert (store.log_url, store.projection_url) == ("sqlite:////x/log.db", "sqlite:////y/p.db")
    assert StoreSettings(data_dir="/d").log_url == "sqlite:////d/events.db"


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("yes", True), (" ON ", True), ("0", False), ("off", False), ("", False)]
)
def test_booleans_from_the_environment(text: str, value: bool) -> None:
    assert loaded(release_auto=text, release_wallet_key="/k").release.auto is value


def test_readers_refuse_what_they_cannot_read(tmp_path: Path) -> None:
    assert problems(release_auto="maybe") == [
        "release.auto (from MILESTONED_RELEASE_AUTO): must be true or false; got 'maybe'"
    ]
    toml = tmp_path / "c.toml"
    toml.write_text("[http]\nport = true\n[socket]\nmax_connections = [1]\nadmin_uids = 5\n")
    assert problems(toml) == [  # in section order: [socket] comes before [http]
        "socket.max_connections: must be a whole number, got list; got [1]",
        "socket.admin_uids: must be a list of whole numbers, e.g. [1000, 1001] (or '1000,1001' in the "
        "environment); got 5",
        "http.port: must be a whole number, not true/false; got True",
    ]
    toml.write_text("chain = 5\n")
    assert problems(toml) == ["chain: must be a [chain] table"]


def test_numbers_lists_and_modes_from_the_environment(tmp_path: Path) -> None:
    config = loaded(
        socket_admin_uids="1000, 1001", socket_mode="640", http_port="0o17", release_interval_seconds=" 2.5 "
    )
    assert config.socket.admin_uids == (1000, 1001) and config.socket.mode == 0o640
    assert config.http.port == 15 and config.release.interval_seconds == 2.5
    toml = tmp_path / "c.toml"
    toml.write_text("[socket]\nmode = 416\nadmin_gids = [7]\n[release]\ninterval_seconds = 3\n")
    from_file = load_config(toml, {})
    assert (from_file.socket.mode, from_file.socket.admin_gids) == (416, (7,))
    assert from_file.release.interval_seconds == 3.0


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"socket_path": "/" + "s" * 106}, None),
        ({"socket_path": "/" + "s" * 107}, "socket.path: '/" + "s" * 107 + "' is longer than the 107 bytes"),
        ({"socket_mode": "0000"}, None),
        ({"socket_mode": "0777"}, "socket.mode: 0o777 lets every user on the machine connect"),
        ({"socket_mode": "0661"}, "socket.mode: 0o661 lets every user"),  # any bit for others
        ({"socket_mode": "0770"}, None),
        ({"socket_max_connections_per_uid": "1"}, None),
        ({"socket_max_connections_per_uid": "0"}, "socket.max_connections_per_uid: must be at least 1"),
        ({"web_listen": "127.0.0.1:0"}, None),  # port 0: a free port (the demo's)
        ({"web_listen": "127.0.0.1:65535"}, None),
        ({"web_listen": "127.0.0.1:65536"}, "web.listen: '127.0.0.1:65536' is not HOST:PORT"),
        ({"web_listen": "127.0.0.1"}, "web.listen: '127.0.0.1' is not HOST:PORT"),
        ({"socket_mode": "1000"}, "socket.mode: 0o1000 is not a permission mode"),
        ({"socket_mode": "-1"}, "socket.mode: -0o1 is not a permission mode"),
        ({"socket_admin_uids": "0", "socket_admin_gids": "0"}, None),
        ({"socket_admin_uids": "-1"}, "socket.admin_uids / admin_gids: ids are whole numbers >= 0"),
        ({"socket_admin_gids": "-1"}, "socket.admin_uids / admin_gids: ids are whole numbers >= 0"),
        ({"socket_max_request_bytes": "1024"}, None),
        ({"socket_max_request_bytes": "1023"}, "socket.max_request_bytes: 1023 is out of range"),
        ({"socket_max_request_bytes": str(256 * 1024 * 1024)}, None),
        (
            {"socket_max_request_bytes": str(256 * 1024 * 1024 + 1)},
            "socket.max_request_bytes: 268435457 is out",
        ),
        ({"socket_max_connections": "1", "socket_admin_reserved_connections": "0"}, None),
        ({"socket_max_connections": "0"}, "socket.max_connections: must be at least 1"),
        ({"http_port": "0"}, None),
        ({"http_port": "65535"}, None),
        ({"http_port": "65536"}, "http.port: 65536 is not a TCP port"),
        ({"http_port": "-1"}, "http.port: -1 is not a TCP port"),
        ({"release_validity_seconds": "60"}, None),
        ({"release_validity_seconds": "59"}, "release.validity_seconds: must be at least 60"),
        ({"release_interval_seconds": "0"}, "release.interval_seconds: must be a positive number"),
        ({"release_interval_seconds": "1"}, None),
        ({"release_settle_seconds": "0"}, "release.settle_seconds: 0.0 is outside (0, 3600]"),
        ({"release_settle_seconds": "0.1"}, None),
        ({"release_settle_seconds": "3600"}, None),
        ({"release_settle_seconds": "3601"}, "release.settle_seconds: 3601.0 is outside (0, 3600]"),
        ({"devnet_slot_length": "0"}, "devnet.slot_length: must be a positive number of seconds"),
        ({"devnet_slot_length": "0.001"}, None),
        ({"store_url": "mysql://x"}, "store.url: "),
    ],
)
def test_each_range_at_its_ends(env: dict[str, str], problem: str | None) -> None:
    found = problems(**env)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(problem), found


def test_problems_of_the_defaults_and_environment_say_so() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(None, {"MILESTONED_HTTP_PORT": "-1"})
    assert str(refused.value).startswith("1 configuration problem(s) in the defaults:\n  - http.port: -1 ")


def test_the_effective_configuration_as_a_document() -> None:
    config = with_overrides(DaemonConfig(), socket={"admin_uids": (5, 6)}, http={"port": 1})
    assert config.http.port == 1 and config.socket.admin_uids == (5, 6)
    document = config_document(config)
    assert document["socket"]["mode"] == "0660" and document["socket"]["admin_uids"] == [5, 6]
    assert document["http"] == {"listen": "127.0.0.1", "port": 1}
