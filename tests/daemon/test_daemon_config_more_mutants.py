"""Configuration readers and checks added since the first mutation run: tests for mutants of
`shared/config.py` that survived (issue 19). Each problem is matched whole."""

from __future__ import annotations

from pathlib import Path

from test_daemon_config_mutants import loaded, problems

from milestoned.shared.config import DevnetSettings


def test_the_documented_admin_reserve_is_the_default() -> None:
    """docs/operations.md: `socket.admin_reserved_connections` defaults to 4."""
    assert loaded().socket.admin_reserved_connections == 4


def test_the_devnet_state_goes_where_it_is_told_else_beside_the_data_directory() -> None:
    assert DevnetSettings(state_dir="/srv/devnet").state_path("/srv/data") == Path("/srv/devnet")
    assert DevnetSettings().state_path("/srv/data") == Path("/srv/data.devnet")


def test_a_list_where_a_number_belongs_is_named(tmp_path: Path) -> None:
    path = tmp_path / "milestoned.toml"
    path.write_text("[socket]\nread_timeout_seconds = [1]\n")
    assert problems(path) == ["socket.read_timeout_seconds: must be a number, got list; got [1]"]


def test_followed_admin_hashes_are_read_lower_case_from_the_environment() -> None:
    config = loaded(follow_admin_key_hashes="AB" * 28 + ", " + "cd" * 28)
    assert config.follow.admin_key_hashes == ("ab" * 28, "cd" * 28)


def test_a_projection_store_url_is_checked_too() -> None:
    assert problems(store_projections_url="nonsense://x") == [
        "store.url: unsupported store URL scheme 'nonsense' in 'nonsense://x': use sqlite:/// or postgresql://"
    ]


def test_both_socket_timeouts_are_checked() -> None:
    for key in ("read_timeout_seconds", "idle_timeout_seconds"):
        assert problems(**{f"socket_{key}": "0"}) == [
            f"socket.{key}: 0.0 must be a number of seconds in (0, 86400]"
        ]
        assert problems(**{f"socket_{key}": "86400"}) == []


def test_an_unknown_log_level_is_named() -> None:
    assert problems(log_level="loud") == [
        "log.level: 'loud' is not a level; use debug, info, warning or error"
    ]


def test_anchors_are_off_or_at_least_a_minute_apart() -> None:
    too_often = (
        "anchor.every_seconds: must be 0 (off) or at least 60 (each anchor is a transaction that costs fees)"
    )
    unpaid = (
        "release.wallet_key: anchor.every_seconds is set but no operator wallet key pays for the anchors; "
        "set release.wallet_key, or anchor.every_seconds = 0"
    )
    assert problems(anchor_every_seconds="0") == []
    assert problems(anchor_every_seconds="59.5") == [too_often, unpaid]
    assert problems(anchor_every_seconds="60") == [unpaid]
    assert problems(anchor_every_seconds="-1") == [too_often, unpaid]
