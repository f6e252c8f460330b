"""Pure parts of the log: canonical encoding, strict decoding, hash links, store URLs, cursor points."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from milestoned.eventlog.codec import EventDecodeError, decode_event, encode_event, event_to_json
from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, parse_store_url
from milestoned.eventlog.cursor import live_points_newest_first, spread_points
from milestoned.eventlog.events import (
    EVENT_TYPES,
    AllocationCancelled,
    AllocationLocked,
    AllocationReassigned,
    AllocationReclaimed,
    AllocationReleased,
    ChainCursorCheckpointed,
    ChainPoint,
    Event,
    HeadAnchored,
    InvalidEventError,
    LeaderElected,
    MilestoneCancelled,
    OracleSignatureSeen,
    RegistrationPartSeen,
    ReleaseSubmitted,
    RolledBack,
    ScheduleDiscovered,
    SchedulePauseChanged,
    ScheduleStateCreated,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionIntended,
    SubmissionReverted,
)
from milestoned.eventlog.hashchain import GENESIS_HASH, LogHead, open_record, seal, seal_batch
from milestoned.eventlog.testing import make_schedule, oracle_signature

P = ChainPoint(slot=42, header_hash="cd" * 32)
P_JSON = {"slot": 42, "header_hash": "cd" * 32}
ONE_OF_EACH: list[Event] = [
    make_schedule(0),
    oracle_signature(0, 1, "01"),
    ReleaseSubmitted(
        tx_id="aa" * 32, allocation_refs=("aa" * 32 + "#0", "bb" * 32 + "#1"), validity_upper_slot=9
    ),
    SubmissionConfirmed(tx_id="aa" * 32),
    SubmissionExpired(tx_id="aa" * 32, reason="ttl"),
    SubmissionFailed(tx_id="aa" * 32, reason="script failed"),
    SubmissionReverted(tx_id="aa" * 32, reason="its block was rolled back"),
    SubmissionIntended("aa" * 32, ("bb" * 32 + "#1",), 9, ("bb" * 32 + "#1", "cc" * 32 + "#0")),
    AllocationLocked(P, "aa" * 32, "bb" * 28, "aa" * 32 + "#0", "addr1q", 2**64 - 1, "01", 1_700_000_000_000),
    AllocationReleased(P, "cc" * 32, "bb" * 28, "aa" * 32 + "#0"),
    AllocationReclaimed(P, "dd" * 32, "bb" * 28, "aa" * 32 + "#0"),
    AllocationReassigned(P, "ee" * 32, "bb" * 28, "aa" * 32 + "#0", "ee" * 32 + "#0", "addr1q", "addr1v"),
    AllocationCancelled(P, "dd" * 32, "bb" * 28, "aa" * 32 + "#1"),
    MilestoneCancelled(P, "dd" * 32, "bb" * 28, "01", (0, 2)),
    RolledBack(ChainPoint.origin()),
    ChainCursorCheckpointed(P),
    RegistrationPartSeen(
        P,
        "aa" * 32,
        "bb" * 28,
        {"v": 1, "schedule": "bb" * 28, "allocations": [0, 1], "of": 1, "hash": "ee" * 32, "json": ["{}"]},
        {"allocations": [{"out_ref": "aa" * 32 + "#0", "beneficiary": "addr1q", "amount": 5}]},
    ),
    OracleSignatureSeen(P, "aa" * 32, "bb" * 28, "01", "cc" * 32, "dd" * 64),
    HeadAnchored("ee" * 32, 41, "ff" * 32),
    LeaderElected(3, "host pid 7 socket /run/milestoned/milestoned.sock"),
    ScheduleDiscovered(
        P,
        "bb" * 28,
        make_schedule(0).definition,
        make_schedule(0).policy,
        {"transactions": [{"tx_id": "aa" * 32, "slot": 42, "header_hash": "cd" * 32, "first": 0, "end": 1}]},
    ),
    ScheduleStateCreated(P, "aa" * 32, "bb" * 28, "aa" * 32 + "#0", 0),
    SchedulePauseChanged(P, "cc" * 32, "bb" * 28, "cc" * 32 + "#0", 1),
]


def test_every_event_type_round_trips_through_its_canonical_bytes() -> None:
    import orjson

    assert {type(e) for e in ONE_OF_EACH} == set(EVENT_TYPES)
    for event in ONE_OF_EACH:
        encoded = encode_event(event)
        assert decode_event(event.topic, orjson.loads(encoded)) == event
        assert encode_event(decode_event(event.topic, orjson.loads(encoded))) == encoded
    assert len({e.topic for e in ONE_OF_EACH}) == len(ONE_OF_EACH)


def test_schedule_policy_converts_back_to_the_domain_parameters() -> None:
    schedule = make_schedule(3, oracles=4, quorum=3)
    parameters = schedule.policy.to_parameters()
    assert parameters.quorum == 3 and len(parameters.oracle_keys) == 4
    assert type(schedule.policy).from_parameters(parameters) == schedule.policy


def test_a_policy_records_guardians_only_when_it_has_them() -> None:
    """Issue 15: events recorded before guardians existed keep their bytes (and the hash chain)."""
    import dataclasses

    import orjson

    plain = make_schedule(0)
    assert b"guardian" not in encode_event(plain)
    guarded = dataclasses.replace(
        plain,
        policy=dataclasses.replace(plain.policy, guardian_keys=("ab" * 28, "cd" * 28), guardian_threshold=2),
    )
    encoded = encode_event(guarded)
    assert b'"guardian_threshold":2' in encoded
    decoded = decode_event(guarded.topic, orjson.loads(encoded))
    assert decoded == guarded
    assert decoded.policy.to_parameters().guardian_keys == (
        bytes.fromhex("ab" * 28),
        bytes.fromhex("cd" * 28),
    )
    # recorded before state seeds existed: no state_seed field, read as none, same bytes again
    assert b"state_seed" not in encoded and decoded.policy.to_parameters().guardian_seed == (b"", 0)
    seeded = dataclasses.replace(
        guarded, policy=dataclasses.replace(guarded.policy, state_seed="5e" * 32 + "#3")
    )
    encoded_seeded = encode_event(seeded)
    assert b'"state_seed":"' + b"5e" * 32 + b'#3"' in encoded_seeded
    assert decode_event(seeded.topic, orjson.loads(encoded_seeded)) == seeded
    assert seeded.policy.to_parameters().guardian_seed == (bytes([0x5E]) * 32, 3)
    body = orjson.loads(encode_event(plain))
    body["policy"] |= {"guardian_keys": [], "guardian_threshold": 0}
    with pytest.raises(EventDecodeError, match="without guardian fields"):
        decode_event(plain.topic, body)
    for bad, why in (("", "without a state seed"), ("5e" * 32, "must be a UTxO written")):
        body = orjson.loads(encoded_seeded)
        body["policy"]["state_seed"] = bad
        with pytest.raises(EventDecodeError, match=why):
            decode_event(seeded.topic, body)
    with pytest.raises(InvalidEventError, match="paused must be 0 or 1"):
        SchedulePauseChanged(P, "cc" * 32, "bb" * 28, "cc" * 32 + "#0", 2)


def test_a_pause_change_recorded_before_spent_existed_keeps_its_bytes() -> None:
    """`SchedulePauseChanged.spent` was added after such events were recorded: an older record (without
    it) reads as `()` and encodes to the very same bytes, so the hash chain and replays are unchanged."""
    import orjson

    old = (
        b'{"out_ref":"'
        + b"cc" * 32
        + b'#0","paused":1,"point":{"header_hash":"'
        + b"cd" * 32
        + b'","slot":42},"schedule_id":"'
        + b"bb" * 28
        + b'","tx_id":"'
        + b"cc" * 32
        + b'"}'
    )
    decoded = decode_event("SchedulePauseChanged/v1", orjson.loads(old))
    assert isinstance(decoded, SchedulePauseChanged) and decoded.spent == ()
    assert encode_event(decoded) == old
    spending = SchedulePauseChanged(P, "cc" * 32, "bb" * 28, "cc" * 32 + "#0", 1, ("aa" * 32 + "#3",))
    encoded = encode_event(spending)
    assert b'"spent":["' + b"aa" * 32 + b'#3"]' in encoded
    assert decode_event(spending.topic, orjson.loads(encoded)) == spending
    with pytest.raises(EventDecodeError, match="'spent' holds its default"):
        decode_event(spending.topic, orjson.loads(old) | {"spent": []})
    with pytest.raises(EventDecodeError, match="spent"):
        decode_event(spending.topic, orjson.loads(old) | {"spent": ["nope"]})
    with pytest.raises(EventDecodeError, match="missing fields \\['paused'\\]"):
        decode_event(spending.topic, {k: v for k, v in orjson.loads(old).items() if k != "paused"})


def test_an_added_field_without_a_default_is_refused_when_the_codec_loads() -> None:
    """Without a default an older record could not be read: the codec refuses such a type up front."""
    import dataclasses

    from milestoned.eventlog.codec import _added_field_defaults
    from milestoned.eventlog.events import LocalEvent

    @dataclasses.dataclass(frozen=True, slots=True)
    class Later(LocalEvent):
        note: str

    Later.added_fields = frozenset({"note"})
    with pytest.raises(TypeError, match="Later: every added field must be a field with a plain default"):
        _added_field_defaults(Later)
    assert _added_field_defaults(SchedulePauseChanged) == {"spent": ()}


@pytest.mark.parametrize(
    ("topic", "body", "message"),
    [
        ("Nope/v1", {}, "unknown event topic"),
        ("SubmissionFailed/v1", {"tx_id": "aa"}, "missing fields ['reason']"),
        ("SubmissionFailed/v1", {"tx_id": "aa", "reason": ""}, "tx_id must be 32 bytes"),
        ("SubmissionFailed/v1", {"tx_id": "aa", "reason": "", "x": 1}, "unexpected fields ['x']"),
        (
            "ReleaseSubmitted/v1",
            {"tx_id": "a", "allocation_refs": "a#0", "validity_upper_slot": 1},
            "allocation_refs",
        ),
        ("ChainCursorCheckpointed/v1", {"point": {"slot": True, "header_hash": "x"}}, "expected an integer"),
        ("ChainCursorCheckpointed/v1", {"point": {"slot": 5, "header_hash": "x"}}, "header_hash must be"),
        ("ChainCursorCheckpointed/v1", {"point": {"slot": 1}}, "exactly 'slot' and 'header_hash'"),
        (
            "MilestoneCancelled/v1",
            {
                "point": P_JSON,
                "tx_id": "dd" * 32,
                "schedule_id": "bb" * 28,
                "milestone_id": "01",
                "oracle_indices": [-1],
            },
            "oracle_indices must be an integer >= 0",
        ),
        (
            "MilestoneCancelled/v1",
            {
                "point": P_JSON,
                "tx_id": "dd" * 32,
                "schedule_id": "bb" * 28,
                "milestone_id": "01",
                "oracle_indices": [],
            },
            "non-empty tuple of oracle indices",
        ),
    ],
)
def test_malformed_records_are_refused_with_the_field_named(
    topic: str, body: dict[str, object], message: str
) -> None:
    with pytest.raises(EventDecodeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode_event(topic, body)


def test_hash_links_cover_position_content_and_predecessor() -> None:
    records = seal_batch(ONE_OF_EACH, LogHead.empty())
    assert records[0].position == 1 and records[-1].position == len(ONE_OF_EACH)
    assert len({r.hash for r in records}) == len(records)
    for previous, record in zip([None, *records], records, strict=False):
        opened = open_record(record.position, record.topic, record.state)
        assert opened.problems == ()
        assert opened.prev_hash == (GENESIS_HASH if previous is None else previous.hash)
    moved = open_record(records[3].position + 1, records[3].topic, records[3].state)
    assert "hash does not match" in moved.problems[0]
    assert seal(ONE_OF_EACH[0], 1, GENESIS_HASH) == records[0]
    assert event_to_json(next(e for e in ONE_OF_EACH if isinstance(e, ChainCursorCheckpointed))) == {
        "point": {"slot": 42, "header_hash": "cd" * 32}
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ChainPoint(-5, "00" * 32), "slot must be an integer >= 0"),
        (lambda: ChainPoint(5, "origin"), "header_hash must be lowercase hex"),
        (lambda: SubmissionFailed("AA" * 32), "tx_id must be lowercase hex"),
        (lambda: AllocationReleased(P, "aa" * 32, "bb" * 28, "aa" * 32), "txid#index"),
        (lambda: AllocationLocked(P, "aa" * 32, "bb" * 28, "aa" * 32 + "#0", "addr1", 0, "01", 0), "amount"),
        (
            lambda: AllocationLocked(P, "aa" * 32, "bb" * 27, "aa" * 32 + "#0", "addr1", 1, "01", 0),
            "28 bytes",
        ),
        (lambda: ReleaseSubmitted("aa" * 32, (), 5), "non-empty tuple"),
        (
            lambda: AllocationReassigned(P, "ee" * 32, "bb" * 28, "aa" * 32 + "#0", "ee" * 32, "a", "b"),
            "new_out_ref must be an output reference",
        ),
        (
            lambda: AllocationReassigned(
                P, "ee" * 32, "bb" * 28, "aa" * 32 + "#0", "ee" * 32 + "#1", "a", ""
            ),
            "new_beneficiary must be",
        ),
    ],
)
def test_events_refuse_impossible_fields_with_a_clear_message(
    build: Callable[[], Event], message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message):
        build()


def test_store_urls() -> None:
    assert parse_store_url("sqlite:////var/lib/milestoned/events.db") == SQLiteConfig(
        Path("/var/lib/milestoned/events.db")
    )
    assert parse_store_url("sqlite:///events.db") == SQLiteConfig(Path("events.db"))
    assert parse_store_url("data/events.db") == SQLiteConfig(Path("data/events.db"))
    pg = parse_store_url("postgresql://ops:s3cret@db.local:6543/milestoned?schema=mainnet")
    assert pg == PostgresConfig("db.local", 6543, "ops", "s3cret", "milestoned", "mainnet")
    assert parse_store_url(pg.describe()) == PostgresConfig(
        "db.local", 6543, "ops", "", "milestoned", "mainnet"
    )
    config = SQLiteConfig(Path("/tmp/x.db"))
    assert parse_store_url(config.describe()) == config
    with pytest.raises(ValueError, match="unsupported store URL scheme 'mysql'"):
        parse_store_url("mysql://x/y")
    with pytest.raises(ValueError, match="plain lowercase identifier"):
        parse_store_url("postgresql://u@h/db?schema=Robert'); DROP TABLE x;--")
    with pytest.raises(ValueError, match="unknown options"):
        parse_store_url("postgresql://u@h/db?scheme=x")


def test_live_points_skip_what_rollbacks_removed() -> None:
    def cp(slot: int) -> ChainCursorCheckpointed:
        return ChainCursorCheckpointed(ChainPoint(slot, f"{slot:064x}"))

    history: list[Event] = [
        cp(1),
        cp(2),
        cp(3),
        RolledBack(cp(1).point),
        cp(2),
        SubmissionFailed("aa" * 32),
        cp(5),
    ]
    points = list(live_points_newest_first(reversed(history)))
    assert [p.slot for p in points] == [5, 2, 1]
    deeper: list[Event] = [*history, RolledBack(cp(2).point), RolledBack(ChainPoint.origin())]
    assert list(live_points_newest_first(reversed(deeper))) == [ChainPoint.origin()]
    many = [ChainPoint(s, f"{s:064x}") for s in range(100, 0, -1)]
    assert [p.slot for p in spread_points(many, 6)] == [100, 99, 98, 96, 92, 1]
    assert spread_points([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        spread_points(many, 0)
