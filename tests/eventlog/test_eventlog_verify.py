"""Tamper evidence on both backends: edit the stored rows with raw SQL, as an attacker would, and
check that `verify` notices every change, removal, insertion and reordering."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import orjson
import pytest

from milestoned.eventlog.config import StoreConfig
from milestoned.eventlog.events import ChainEvent, ChainPoint, Event
from milestoned.eventlog.hashchain import LogHead, seal
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import ChainSimulator, StoreHarness, make_schedule, oracle_signature
from milestoned.eventlog.verify import VerifyProblem, verify


def build_log(store: StoreHarness) -> tuple[StoreConfig, LogHead]:
    cfg = store.config("log")
    simulator = ChainSimulator()
    with EventLog(cfg) as log:
        log.append([make_schedule(0), oracle_signature(0, 0, "01")])
        while log.head().position < 12:
            log.append(simulator.next_block())
        return cfg, log.head()


def state_at(store: StoreHarness, cfg: StoreConfig, position: int) -> tuple[str, bytes]:
    rows = store.execute(
        cfg, "SELECT topic, state FROM stored_events WHERE originator_version = ?", (position,)
    )
    topic, state = rows[0]
    assert isinstance(topic, str)
    return topic, bytes(state)


def set_row(store: StoreHarness, cfg: StoreConfig, position: int, topic: str, state: bytes) -> None:
    store.execute(
        cfg,
        "UPDATE stored_events SET topic = ?, state = ? WHERE originator_version = ?",
        (topic, state, position),
    )


def change_one_byte(store: StoreHarness, cfg: StoreConfig) -> None:
    topic, state = state_at(store, cfg, 5)
    record = orjson.loads(state)
    record["e"]["point"]["slot"] += 1
    set_row(store, cfg, 5, topic, orjson.dumps(record, option=orjson.OPT_SORT_KEYS))


def change_and_rehash(store: StoreHarness, cfg: StoreConfig) -> None:
    """A careful attacker rewrites an event AND recomputes its hash: the next link still breaks."""
    from milestoned.eventlog.codec import decode_event

    topic, state = state_at(store, cfg, 5)
    record = orjson.loads(state)
    event = decode_event(topic, record["e"])
    assert isinstance(event, ChainEvent)
    forged = seal(dataclasses.replace(event, point=ChainPoint(1, "ff" * 32)), 5, record["p"])
    set_row(store, cfg, 5, forged.topic, forged.state)


def remove_one(store: StoreHarness, cfg: StoreConfig) -> None:
    store.execute(cfg, "DELETE FROM stored_events WHERE originator_version = 6")


def swap_two(store: StoreHarness, cfg: StoreConfig) -> None:
    topic5, state5 = state_at(store, cfg, 5)
    topic6, state6 = state_at(store, cfg, 6)
    set_row(store, cfg, 5, topic6, state6)
    set_row(store, cfg, 6, topic5, state5)


def insert_in_the_middle(store: StoreHarness, cfg: StoreConfig) -> None:
    """Renumber 5.. up by one and slip a well-formed record, chained to record 4, in at position 5."""
    _, state4 = state_at(store, cfg, 4)
    store.execute(
        cfg,
        "UPDATE stored_events SET originator_version = originator_version + 1000 "
        "WHERE originator_version >= 5",
    )
    store.execute(
        cfg,
        "UPDATE stored_events SET originator_version = originator_version - 999 "
        "WHERE originator_version > 1000",
    )
    forged = seal(oracle_signature(0, 1, "02"), 5, orjson.loads(state4)["h"])
    originator_id = store.execute(
        cfg, "SELECT originator_id FROM stored_events WHERE originator_version = 1"
    )[0][0]
    store.execute(
        cfg,
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        (originator_id, 5, forged.topic, forged.state),
    )


def append_foreign_row(store: StoreHarness, cfg: StoreConfig) -> None:
    forged = seal(oracle_signature(0, 1, "02"), 1, "00" * 32)
    foreign = (
        "00000000000000000000000000000001"
        if store.backend == "sqlite"
        else "00000000-0000-0000-0000-000000000001"
    )
    store.execute(
        cfg,
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        (foreign, 1, forged.topic, forged.state),
    )


def hand_edit_whitespace(store: StoreHarness, cfg: StoreConfig) -> None:
    topic, state = state_at(store, cfg, 3)
    set_row(store, cfg, 3, topic, state.replace(b'{"e":', b'{ "e":', 1))


# Each tampering, with the problem verify must name.
TAMPERINGS: dict[str, tuple[Callable[[StoreHarness, StoreConfig], None], str]] = {
    "change": (change_one_byte, "position 5: hash does not match"),
    "change-and-rehash": (change_and_rehash, "position 6: previous-hash link does not match"),
    "remove": (remove_one, "expected position 6 here, found 7 (missing)"),
    "reorder": (swap_two, "position 5: hash does not match"),
    "insert": (insert_in_the_middle, "found 5 (out of order or repeated)"),
    "foreign-row": (append_foreign_row, "not the event log"),
    "non-canonical-bytes": (hand_edit_whitespace, "position 3: record bytes are not in canonical form"),
}


def test_an_untouched_log_verifies(store: StoreHarness) -> None:
    cfg, head = build_log(store)
    with EventLog(cfg) as log:
        report = verify(log, anchor=head)
    assert report.ok, report.summary()
    assert report.head == head and report.events_checked == head.position


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_verify_detects_tampering(store: StoreHarness, tampering: str) -> None:
    cfg, _ = build_log(store)
    tamper, expected_problem = TAMPERINGS[tampering]
    tamper(store, cfg)
    with EventLog(cfg) as log:
        report = verify(log, batch_size=5)
    assert not report.ok
    assert expected_problem in report.summary(), report.summary()


def test_a_cut_off_end_is_detected_against_an_anchor(store: StoreHarness) -> None:
    cfg, head = build_log(store)
    store.execute(cfg, "DELETE FROM stored_events WHERE originator_version = ?", (head.position,))
    with EventLog(cfg) as log:
        # Within the log alone a shorter log is consistent; the anchor recorded earlier is what tells.
        assert verify(log).ok
        report = verify(log, anchor=head)
    assert not report.ok
    shorter = head.position - 1
    assert report.problems == (
        VerifyProblem(
            shorter,
            f"the log ends at {shorter} but the anchor says position {head.position} existed "
            "(events were cut off the end)",
        ),
    )


def test_verify_reads_back_what_was_appended(store: StoreHarness) -> None:
    cfg = store.config("log")
    events: list[Event] = [make_schedule(1)]
    with EventLog(cfg) as log:
        log.append(events)
        report = verify(log)
    assert report.ok and report.events_checked == 1
