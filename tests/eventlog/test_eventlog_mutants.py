"""The event log's tamper evidence, pinned exactly: tests written for mutants that survived (issue 19).

The hash layout is recomputed here from its documented definition (not from the module's constants),
each malformed record gets its one exact problem, and `verify` reports exactly what is wrong, where,
and with which head, the cap on reported problems included.
"""

from __future__ import annotations

import hashlib

import orjson
import pytest

from milestoned.eventlog.codec import EventDecodeError, decode_event, encode_event
from milestoned.eventlog.config import StoreConfig
from milestoned.eventlog.hashchain import GENESIS_HASH, LogHead, OpenedRecord, open_record, seal
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import ChainSimulator, StoreHarness, make_schedule, oracle_signature
from milestoned.eventlog.verify import MAX_REPORTED_PROBLEMS, VerifyProblem, VerifyReport, verify

EVENTS = [make_schedule(0), oracle_signature(0, 1, "01")]


def documented_hash(position: int, topic: str, event_bytes: bytes, prev_hash: str) -> str:
    """DESIGN: sha256(domain || position as 8 bytes big-endian || topic || 0x00 || event || prev hash)."""
    return hashlib.sha256(
        b"milestoned/eventlog/v1\x00"
        + position.to_bytes(8, "big")
        + topic.encode()
        + b"\x00"
        + event_bytes
        + bytes.fromhex(prev_hash)
    ).hexdigest()


@pytest.mark.parametrize(("position", "prev_hash"), [(1, GENESIS_HASH), (2**40 + 7, "ab" * 32)])
def test_a_record_hash_is_the_documented_layout(position: int, prev_hash: str) -> None:
    for event in EVENTS:
        record = seal(event, position, prev_hash)
        assert record.hash == documented_hash(position, event.topic, encode_event(event), prev_hash)


def test_the_topic_is_separated_from_the_event_bytes() -> None:
    """Without the 0x00 separator, topic "ab" + event "c..." would hash like topic "a" + "bc..."."""
    body = encode_event(EVENTS[0])
    moved = documented_hash(1, EVENTS[0].topic[:-1], EVENTS[0].topic[-1:].encode() + body, GENESIS_HASH)
    assert seal(EVENTS[0], 1, GENESIS_HASH).hash != moved


def record_bytes(**fields: object) -> bytes:
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


GOOD = seal(EVENTS[1], 3, "cd" * 32)
BODY = orjson.loads(GOOD.state)["e"]


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (b'["e", "h", "p"]', "record is not an {e, h, p} object"),
        (record_bytes(e=BODY, h=GOOD.hash, p="cd" * 32, x=1), "record is not an {e, h, p} object"),
        (record_bytes(e=BODY, h=5, p="cd" * 32), "record hash fields are malformed"),
        (record_bytes(e=BODY, h=GOOD.hash, p=5), "record hash fields are malformed"),
        (record_bytes(e=BODY, h=GOOD.hash, p="zz" * 32), "record hash fields are malformed"),
        (record_bytes(e=BODY, h=GOOD.hash, p="cd" * 31), "record hash fields are malformed"),
        (record_bytes(e=BODY, h=GOOD.hash, p="cd" * 33), "record hash fields are malformed"),
    ],
)
def test_a_malformed_record_gets_exactly_its_problem(state: bytes, problem: str) -> None:
    assert open_record(3, GOOD.topic, state) == OpenedRecord(None, "", "", (problem,))


def test_a_record_that_is_not_json_says_so() -> None:
    opened = open_record(3, GOOD.topic, b"{not json")
    assert (opened.event, opened.hash, opened.prev_hash) == (None, "", "")
    assert len(opened.problems) == 1 and opened.problems[0].startswith("record is not JSON: ")


def test_an_undecodable_event_is_reported_with_the_decoder_message() -> None:
    """A record whose event no longer decodes, but whose hash is right, gets only the decoder's problem."""
    body = {**BODY, "oracle_index": "one"}
    with pytest.raises(EventDecodeError) as raised:
        decode_event(GOOD.topic, body)
    state = orjson.dumps({"e": body, "h": "", "p": "cd" * 32}, option=orjson.OPT_SORT_KEYS)
    canonical_body = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    stored_hash = documented_hash(3, GOOD.topic, canonical_body, "cd" * 32)
    state = state.replace(b'"h":""', b'"h":"' + stored_hash.encode() + b'"')
    opened = open_record(3, GOOD.topic, state)
    assert opened == OpenedRecord(None, stored_hash, "cd" * 32, (str(raised.value),))


def build(store: StoreHarness, name: str, blocks_until: int) -> tuple[StoreConfig, LogHead]:
    cfg = store.config(name)
    simulator = ChainSimulator()
    with EventLog(cfg) as log:
        log.append(list(EVENTS))
        while log.head().position < blocks_until:
            log.append(simulator.next_block())
        return cfg, log.head()


def stored_hashes(store: StoreHarness, cfg: StoreConfig) -> dict[int, str]:
    found = store.execute(cfg, "SELECT originator_version, topic, state FROM stored_events")
    return {int(p): open_record(int(p), str(t), bytes(s)).hash for p, t, s in found}


def replace_state(store: StoreHarness, cfg: StoreConfig, state: bytes, position: int | None = None) -> None:
    if position is None:
        store.execute(cfg, "UPDATE stored_events SET state = ?", (state,))
    else:
        store.execute(
            cfg, "UPDATE stored_events SET state = ? WHERE originator_version = ?", (state, position)
        )


def verified(cfg: StoreConfig, anchor: LogHead | None = None) -> VerifyReport:
    with EventLog(cfg) as log:
        return verify(log, anchor=anchor)


def test_the_summary_of_a_good_log_names_its_size_and_head(store: StoreHarness) -> None:
    cfg, head = build(store, "log", 4)
    report = verified(cfg)
    assert report.summary() == f"event log OK: {head.position} events, head {head.position} {head.hash}"


def test_an_empty_log_matches_the_empty_anchor(store: StoreHarness) -> None:
    report = verified(store.config("empty"), anchor=LogHead.empty())
    assert report.ok and report.head == LogHead.empty() and report.events_checked == 0


def test_an_anchor_with_another_hash_is_reported_at_its_position(store: StoreHarness) -> None:
    cfg, head = build(store, "log", 4)
    report = verified(cfg, anchor=LogHead(2, "ab" * 32))
    assert report.problems == (VerifyProblem(2, f"hash differs from the anchor {'ab' * 32}"),)
    assert report.head == head


def test_a_garbage_record_is_reported_once_and_breaks_the_next_link(store: StoreHarness) -> None:
    cfg, head = build(store, "log", 6)
    replace_state(store, cfg, b"garbage", 4)
    report = verified(cfg)
    assert [(p.position, p.message.split(":")[0]) for p in report.problems] == [
        (4, "record is not JSON"),
        (5, "previous-hash link does not match the preceding record (removed or inserted?)"),
    ]
    assert report.head == head


def test_a_garbage_last_record_leaves_the_last_good_hash_as_head(store: StoreHarness) -> None:
    cfg, head = build(store, "log", 6)
    hashes = stored_hashes(store, cfg)
    replace_state(store, cfg, b"garbage", head.position)
    report = verified(cfg)
    assert report.head == LogHead(head.position, hashes[head.position - 1])
    assert [p.position for p in report.problems] == [head.position]


def test_at_most_the_cap_of_problems_is_reported(store: StoreHarness) -> None:
    cfg, head = build(store, "log", MAX_REPORTED_PROBLEMS + 5)
    replace_state(store, cfg, b"garbage")
    report = verified(cfg)
    assert MAX_REPORTED_PROBLEMS == 100
    assert report.events_checked == head.position
    assert [p.position for p in report.problems] == list(range(1, 101))
