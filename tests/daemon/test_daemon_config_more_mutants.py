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


def test_the_edges_of_the_ranges_are_where_the_messages_say() -> None:
    """Each bound as written: a timeout of a second (inside (0, 86400]), a takeover of 60 s but not 61,
    an anchor every half second (neither off nor a minute apart)."""
    for key in ("read_timeout_seconds", "idle_timeout_seconds"):
        assert problems(**{f"socket_{key}": "1"}) == []
    assert problems(ha_takeover_seconds="60") == []
    assert problems(ha_takeover_seconds="61") == [
        "ha.takeover_seconds: 61.0 is outside 1.5..60; the default is 10 "
        "(shorter: more election queries; longer: a longer wait after the leader dies)"
    ]
    assert problems(anchor_every_seconds="0.5")[0].startswith(
        "anchor.every_seconds: must be 0 (off) or at least 60"
    )


def test_a_hash_of_the_right_length_but_not_hex_is_refused() -> None:
    not_hex = "zz" * 28
    assert problems(follow_admin_key_hashes=not_hex) == [
        f"follow.admin_key_hashes (from MILESTONED_FOLLOW_ADMIN_KEY_HASHES): {not_hex!r} is not a 28-byte "
        f"hash written as 56 hex digits; got {not_hex!r}"
    ]


def test_an_octal_number_is_read_as_octal_and_a_bad_one_named_as_octal() -> None:
    assert loaded(socket_max_connections="0o17").socket.max_connections == 15
    assert problems(socket_max_connections="0o9") == [
        "socket.max_connections (from MILESTONED_SOCKET_MAX_CONNECTIONS): invalid literal for int() with "
        "base 8: '0o9'; got '0o9'"
    ]


def test_the_chain_call_bound_is_checked_at_its_edges() -> None:
    assert loaded().chain.call_timeout_seconds == 30.0
    assert loaded(chain_call_timeout_seconds="0.5").chain.call_timeout_seconds == 0.5
    for good in ("0.001", "3600"):
        assert problems(chain_call_timeout_seconds=good) == []
    for bad, shown in (("0", "0.0"), ("-1", "-1.0"), ("3600.5", "3600.5")):
        assert problems(chain_call_timeout_seconds=bad) == [
            f"chain.call_timeout_seconds: {shown} must be a number of seconds in (0, 3600], e.g. 30"
        ]


def test_a_hash_list_item_that_is_not_a_string_is_named(tmp_path: Path) -> None:
    path = tmp_path / "milestoned.toml"
    path.write_text("[follow]\nadmin_key_hashes = [1]\n")
    assert problems(path) == [
        "follow.admin_key_hashes: 1 is not a 28-byte hash written as 56 hex digits; got [1]"
    ]


def test_a_takeover_of_one_and_a_half_seconds_is_the_shortest_accepted() -> None:
    assert problems(ha_takeover_seconds="1.5") == []
    assert problems(ha_takeover_seconds="1.4") == [
        "ha.takeover_seconds: 1.4 is outside 1.5..60; the default is 10 "
        "(shorter: more election queries; longer: a longer wait after the leader dies)"
    ]


def test_an_ogmios_url_with_a_query_or_a_fragment_is_refused() -> None:
    fix = "write ws://HOST:PORT, e.g. ws://127.0.0.1:1337 (Ogmios' default port), or 'embedded-devnet'"
    for url in ("ws://localhost:1337/?x=1", "ws://localhost:1337/#f"):
        assert problems(chain_ogmios_url=url, chain_network="preview") == [
            f"chain.ogmios_url: {url!r} has a query or fragment Ogmios does not use; {fix}"
        ]
