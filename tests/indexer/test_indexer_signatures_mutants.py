"""The oracle signatures a release carries on chain, as the block filter reads them: tests for mutants
of `indexer/filter.py` that survived (issue 19).

A release of several allocations of one schedule carries its attestations once, in the policy's
redeemer: the filter gives one `OracleSignatureSeen` per signature, once per transaction and schedule,
right after the first released allocation, with the key the redeemer's oracle index names.
"""

from __future__ import annotations

from indexer_support import CONTRACT, SCHEDULE, block_of, spend
from nacl.signing import SigningKey

from milestoned.domain import onchain_types as ot
from milestoned.eventlog.events import AllocationReleased, OracleSignatureSeen, SchedulePolicy
from milestoned.indexer.filter import block_events

SID = SCHEDULE.schedule_id.hex()
KEYS = tuple(bytes(SigningKey(SCHEDULE.oracle_seed(i)).verify_key).hex() for i in range(3))
POLICY = SchedulePolicy(
    admin_key_hash="aa" * 28,
    token_policy_id="bb" * 28,
    token_name="4d494c45",
    oracle_keys=KEYS,
    quorum=2,
    reclaim_deadline_ms=10**13,
    nonce="01",
)
FIRST, SECOND = "ab" * 32 + "#0", "ab" * 32 + "#1"
SIGNATURES = {0: bytes([1]) * 64, 2: bytes([2]) * 64, 7: bytes([3]) * 64}  # 7 names no oracle


def release_block() -> list[object]:
    redeemer = ot.Release([ot.milestone_attestation(b"M1", SIGNATURES)])
    tx = spend(SCHEDULE, [FIRST, SECOND], redeemer)
    return block_events(block_of([tx], slot=9), CONTRACT, {SID: POLICY}, {FIRST: SID, SECOND: SID})


def test_a_release_gives_each_signature_once_after_its_first_allocation() -> None:
    events = release_block()
    assert [type(e) for e in events] == [
        AllocationReleased,
        OracleSignatureSeen,
        OracleSignatureSeen,
        AllocationReleased,
    ]
    seen = [e for e in events if isinstance(e, OracleSignatureSeen)]
    assert [(e.schedule_id, e.milestone_id, e.oracle_key, e.signature) for e in seen] == [
        (SID, b"M1".hex(), KEYS[0], SIGNATURES[0].hex()),
        (SID, b"M1".hex(), KEYS[2], SIGNATURES[2].hex()),
    ]
    assert {e.tx_id for e in events} == {events[0].tx_id}


def test_without_the_schedule_rules_no_signature_is_named() -> None:
    redeemer = ot.Release([ot.milestone_attestation(b"M1", SIGNATURES)])
    tx = spend(SCHEDULE, [FIRST], redeemer)
    events = block_events(block_of([tx], slot=9), CONTRACT, {SID: "rules"}, {FIRST: SID})
    assert [type(e) for e in events] == [AllocationReleased]


def test_a_negative_oracle_index_names_no_oracle() -> None:
    # Python would read index -1 as the last oracle's key: the filter must name no one
    redeemer = ot.Release([ot.milestone_attestation(b"M1", {-1: bytes([4]) * 64, 1: bytes([5]) * 64})])
    tx = spend(SCHEDULE, [FIRST], redeemer)
    events = block_events(block_of([tx], slot=9), CONTRACT, {SID: POLICY}, {FIRST: SID})
    seen = [e for e in events if isinstance(e, OracleSignatureSeen)]
    assert [(e.oracle_key, e.signature) for e in seen] == [(KEYS[1], (bytes([5]) * 64).hex())]
