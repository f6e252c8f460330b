"""The block pre-filter with many known schedules: one scan for the auth tokens, and its fallbacks.

The pre-filter may only say "skip" for a block that holds no event; every test here checks the events
against the full path (`block_events` on the same block without its frame, which types everything).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from indexer_support import (
    CONTRACT,
    OTHER_SCHEDULE,
    SCHEDULE,
    block_of,
    out_ref,
    payout,
    plain_output,
    register,
    spend,
    transaction,
)

from milestoned.domain import onchain_types as ot
from milestoned.eventlog.events import AllocationLocked, AllocationReclaimed, AllocationReleased
from milestoned.indexer import filter as block_filter
from milestoned.indexer.filter import MANY_SCHEDULES, auth_token_policies, block_events, mentions_any

SID = SCHEDULE.schedule_id.hex()
OTHER_SID = OTHER_SCHEDULE.schedule_id.hex()
MANY = {f"{i:056x}": "rules" for i in range(1, 200)} | {SID: "rules"}  # 200 known schedules, ours among them
NOISE = [transaction(outputs=[plain_output()]) for _ in range(8)]


def indented(document: Any) -> bytes:
    return json.dumps(document, indent=2).encode()


def spaced(document: Any) -> bytes:
    """JSON with a space before each colon and none after (`"key" :value`): valid, not compact."""
    return json.dumps(document, separators=(",", " :")).encode()


def reordered(document: Any) -> bytes:
    """Compact JSON, every object's keys reversed (Ogmios lists an asset map's empty name first)."""

    def flip(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: flip(node[key]) for key in reversed(node)}
        if isinstance(node, list):
            return [flip(item) for item in node]
        return node

    return orjson.dumps(flip(document))


def with_second_asset(tx: dict[str, Any]) -> dict[str, Any]:
    """`tx` whose first output holds, beside the auth token, another asset under the schedule's policy."""
    tx["outputs"][0]["value"][SID]["6e616d65"] = 1
    return tx


def summary(events: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(type(e), e.tx_id, e.schedule_id, e.out_ref) for e in events]


def test_with_200_known_schedules_the_one_relevant_registration_is_found_by_the_one_scan() -> None:
    assert len(MANY) == 200 > MANY_SCHEDULES
    locking = register(SCHEDULE)
    block = block_of([*NOISE, locking, *NOISE])
    assert block.source is not None
    assert auth_token_policies(block.source) == [SID, SID]  # its mint and its output, nothing else
    assert summary(block_events(block, CONTRACT, MANY, {})) == [
        (AllocationLocked, locking["id"], SID, out_ref(locking, 0))
    ]
    assert not block._transactions.loaded  # only the registration was typed


def test_with_200_known_schedules_releases_and_reclaims_are_found() -> None:
    released, reclaimed = "a1" * 32 + "#0", "a2" * 32 + "#1"
    release = spend(SCHEDULE, [released], ot.Release([]), outputs=[payout(SCHEDULE)])
    reclaim = spend(SCHEDULE, [reclaimed], ot.Reclaim())
    block = block_of([*NOISE, release, reclaim])
    assert summary(block_events(block, CONTRACT, MANY, {released: SID, reclaimed: SID})) == [
        (AllocationReleased, release["id"], SID, released),
        (AllocationReclaimed, reclaim["id"], SID, reclaimed),
    ]


def test_an_empty_named_token_of_an_unknown_policy_is_not_relevant() -> None:
    other = register(OTHER_SCHEDULE)
    block = block_of([*NOISE, other])
    assert block.source is not None
    assert auth_token_policies(block.source) == [OTHER_SID, OTHER_SID]  # decided by the one scan
    assert not mentions_any(block, MANY)
    assert block_events(block, CONTRACT, MANY, {}) == []
    assert not block._transactions.loaded


def test_a_block_without_any_auth_token_is_skipped() -> None:
    block = block_of(NOISE)
    assert block.source is not None
    assert auth_token_policies(block.source) == []
    assert block_events(block, CONTRACT, MANY, {}) == []
    assert not block._transactions.loaded


def test_a_schedule_id_named_elsewhere_than_as_its_auth_token_does_not_make_a_block_relevant() -> None:
    # a payout tagged with the schedule id (datum), and the id as another token's policy with a named asset
    tagged = transaction(outputs=[payout(SCHEDULE)])
    named = transaction(outputs=[{"address": plain_output()["address"], "value": {SID: {"6e616d65": 1}}}])
    block = block_of([tagged, named])
    assert not mentions_any(block, MANY)
    assert block_events(block, CONTRACT, MANY, {}) == []


@pytest.mark.parametrize(
    "encode", [indented, spaced, reordered], ids=["indented", "space-before-colon", "empty-name-last"]
)
def test_a_frame_not_in_ogmios_compact_form_falls_back_and_is_still_judged_right(encode: Any) -> None:
    locking = with_second_asset(register(SCHEDULE))  # reversed, its output's empty name comes last
    relevant = block_of([*NOISE, locking], encode=encode)
    assert relevant.source is not None
    assert auth_token_policies(relevant.source) is None  # the one scan declines to judge it
    assert summary(block_events(relevant, CONTRACT, MANY, {})) == [
        (AllocationLocked, locking["id"], SID, out_ref(locking, 0))
    ]
    irrelevant = block_of([*NOISE, register(OTHER_SCHEDULE)], encode=encode)
    assert block_events(irrelevant, CONTRACT, MANY, {}) == []
    assert not irrelevant._transactions.loaded  # the fallback scan still skips it


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b'{"a":"","b":[""],"c":{"d":""}}', []),  # empty strings as values are not keys
        (b'{"label":{"":1}}', []),  # an empty key under a key that is not a policy id
        (b'{"' + b"ab" * 28 + b'":{"":1}}', ["ab" * 28]),
        (b'{"x' + b"ab" * 28 + b'":{"":1}}', []),  # 56 hex digits ending a longer key
        (b'{"' + b"ab" * 28 + b'": {"": 1}}', None),  # whitespace: not the compact form
        (b'{"' + b"ab" * 28 + b'":{"00":1,"":1}}', None),  # the empty name not first
        (b'[{"":1}]', None),
        (b'{"a\\"":1}', None),  # an escaped quote ending a key
        (b'{":\\"":1}', None),  # an escaped quote ending a key that starts with a colon
        (b'{"' + b"ab" * 28 + b'" :{"":1}}', None),  # whitespace before the colon: not the compact form
        (b'{"a":"b"}', []),  # no empty string at all
        (b'{"a":""', None),  # truncated right after an empty string
        (b'{"":1,"b":', None),  # an empty key at the start, the frame cut after a colon
        (b'{"":{"c":1},"d":', None),  # the same: its verdict does not read the frame's end
        (b'""', None),
    ],
)
def test_what_the_one_scan_reads_from_a_frame(frame: bytes, expected: list[str] | None) -> None:
    assert auth_token_policies(frame) == expected


def test_the_one_scan_is_not_used_if_the_auth_token_had_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(block_filter.ot, "AUTH_TOKEN_NAME", b"auth")
    assert auth_token_policies(b'{"' + b"ab" * 28 + b'":{"":1}}') is None


_KINDS = st.sampled_from(
    ["noise", "register", "register-other", "release", "reclaim", "release-other", "release-here", "failed"]
)


@settings(max_examples=25, deadline=None)
@given(kinds=st.lists(_KINDS, min_size=1, max_size=6), many=st.booleans(), shape=st.sampled_from([0, 1, 2]))
def test_the_pre_filter_never_hides_an_event_the_full_path_finds(
    kinds: list[str], many: bool, shape: int
) -> None:
    known = MANY if many else {SID: "rules"}
    open_allocations: dict[str, str] = {}
    transactions: list[dict[str, Any]] = []
    for number, kind in enumerate(kinds):
        allocation = f"{number + 1:064x}#0"
        if kind == "noise":
            transactions.append(transaction())
        elif kind == "register":
            transactions.append(register(SCHEDULE))
        elif kind == "register-other":
            transactions.append(register(OTHER_SCHEDULE))
        elif kind == "release":
            open_allocations[allocation] = SID
            transactions.append(spend(SCHEDULE, [allocation], ot.Release([]), outputs=[payout(SCHEDULE)]))
        elif kind == "reclaim":
            open_allocations[allocation] = SID
            transactions.append(spend(SCHEDULE, [allocation], ot.Reclaim()))
        elif kind == "release-here":  # an allocation locked earlier in this very block, or a new one
            earlier = [tx for tx in transactions if tx.get("mint", {}).get(SID, {}).get("", 0) > 0]
            if not earlier:
                transactions.append(register(SCHEDULE))
                earlier = transactions[-1:]
            transactions.append(
                spend(SCHEDULE, [out_ref(earlier[-1], 0)], ot.Release([]), outputs=[payout(SCHEDULE)])
            )
        elif kind == "failed":  # scripts failed: only the collaterals count
            open_allocations[allocation] = SID
            transactions.append(spend(SCHEDULE, [allocation], ot.Release([]), failed=True))
        else:  # an allocation of a schedule we do not know
            transactions.append(spend(OTHER_SCHEDULE, [allocation], ot.Release([])))
    encoders: list[Callable[[Any], bytes]] = [orjson.dumps, indented, reordered]
    encode = encoders[shape]
    framed = block_of(transactions, encode=encode)
    unframed = block_of(transactions, keep_source=False)
    assert summary(block_events(framed, CONTRACT, known, open_allocations)) == summary(
        block_events(unframed, CONTRACT, known, open_allocations)
    )
