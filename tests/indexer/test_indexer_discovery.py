"""Discovery on hand-built blocks: a schedule is learnt from its registration on chain, and nothing else is.

The registrations here are made of the real pieces (a schedule definition, its canonical JSON cut into
label-1967 documents by the transaction builder's own function, the schedule id our compiled scripts
derive, datums as the builder writes them), so what discovery accepts is what a real registration
carries; each bad input changes one thing of an otherwise accepted registration.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from indexer_support import CONTRACT, VALIDATOR_ADDRESS, block_of, plain_output, transaction
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey, ScriptHash

from milestoned.contracts.loader import default_blueprint
from milestoned.contracts.loader import schedule_id as derive_id
from milestoned.domain import onchain_types as ot
from milestoned.domain.registration_metadata import SCHEDULE_METADATA_LABEL, part_document
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_canonical import canonical_schedule_json, schedule_document
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.domain.schedule_state import initial_state
from milestoned.eventlog.events import (
    AllocationLocked,
    ChainEvent,
    RegistrationPartSeen,
    RolledBack,
    ScheduleDiscovered,
    ScheduleStateCreated,
)
from milestoned.indexer.discovery import Discovery, FollowPolicy, Rejection, first_point
from milestoned.indexer.schedule_state import block_state_events
from milestoned.indexer.state import FollowerState
from milestoned.txbuilder.registration import allocation_datum

ADMIN = PaymentSigningKey(b"\x11" * 32)
ADMIN_HASH = PaymentVerificationKey.from_signing_key(ADMIN).hash().payload.hex()
ORACLES = [PaymentVerificationKey.from_signing_key(PaymentSigningKey(bytes([i]) * 32)) for i in (2, 3, 4)]
BENEFICIARIES = [
    "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70",
    "addr_test1vz7x35nfy9eu9lnyyre0m4vc67g4qsvenklnlqn4r70qk9svf3rxr",
]
EVERYTHING = FollowPolicy(everything=True)


def definition(count: int = 6, nonce: str = "00" * 16) -> ScheduleDefinition:
    return parse_schedule_document(
        {
            "network": "devnet",
            "admin": ADMIN_HASH,
            "token": {"token_policy_id": "67" * 28, "token_name_utf8": "MILE"},
            "oracles": [key.payload.hex() for key in ORACLES],
            "quorum_threshold": 2,
            "reclaim_deadline": "2028-06-30T23:59:59Z",
            "nonce": nonce,
            "beneficiary_allocations": [
                {
                    "beneficiary_address": BENEFICIARIES[i % 2],
                    "token_amount": 1_000 + i,
                    "milestone_identifier": f"M{1 + i % 3}",
                    "vesting_timestamp": "2027-01-15T12:00:00Z",
                }
                for i in range(count)
            ],
        }
    )


DEFINITION = definition()
SID = derive_id(DEFINITION.to_parameters()).hex()
TEXT = canonical_schedule_json(DEFINITION).decode()


def registration_tx(
    first: int,
    end: int,
    *,
    schedule: ScheduleDefinition = DEFINITION,
    policy: str | None = None,
    document: dict[str, Any] | None = None,
    signer: str = ADMIN_HASH,
) -> dict[str, Any]:
    """The registration transaction of allocations [first, end): as the builder makes it."""
    sid = policy or derive_id(schedule.to_parameters()).hex()
    text = canonical_schedule_json(schedule).decode()
    total = len(schedule.allocations)
    outputs = []
    for allocation in schedule.allocations[first:end]:
        datum = allocation_datum(bytes.fromhex(sid), allocation)
        outputs.append(
            {
                "address": VALIDATOR_ADDRESS,
                "value": {
                    "ada": {"lovelace": 2_000_000},
                    "67" * 28: {b"MILE".hex(): allocation.token_amount},
                    sid: {ot.AUTH_TOKEN_NAME.hex(): 1},
                },
                "datum": datum.to_cbor_hex(),
            }
        )
    tx = transaction(outputs=[*outputs, plain_output()], mint={sid: {ot.AUTH_TOKEN_NAME.hex(): end - first}})
    metadata = document or part_document(bytes.fromhex(sid), text, first, end, total)
    tx["metadata"] = {"hash": "ab" * 32, "labels": {str(SCHEDULE_METADATA_LABEL): {"json": metadata}}}
    tx["requiredExtraSignatories"] = [signer]
    return tx


class Chain:
    """Blocks through discovery and a follower state, as the follower drives them (no I/O)."""

    def __init__(self, follow: FollowPolicy = EVERYTHING, known: tuple[str, ...] = ()) -> None:
        self.discovery = Discovery(CONTRACT, follow)
        self.state = FollowerState()
        for sid in known:
            self.state.schedules[sid] = None  # type: ignore[assignment]
        self.slot = 1_000
        self.rejections: list[Rejection] = []

    def block(self, *txs: dict[str, Any]) -> list[ChainEvent]:
        self.slot += 20
        block = block_of(list(txs), slot=self.slot)
        events, rejections = self.discovery.block_events(
            block, self.state.schedules, self.state.registration_parts
        )
        self.state.apply_all(events)
        self.rejections.extend(rejections)
        return events

    def roll_back_to(self, slot: int) -> None:
        self.state.apply(RolledBack(point=_point(slot)))


def _point(slot: int) -> Any:
    from milestoned.eventlog.events import ChainPoint

    return ChainPoint(slot, "00" * 32)


def reasons(chain: Chain) -> list[str]:
    return [r.reason for r in chain.rejections]


def test_a_registration_in_one_transaction_is_discovered_with_its_allocations() -> None:
    chain = Chain()
    tx = registration_tx(0, 6)
    events = chain.block(tx)
    kinds = [type(e) for e in events]
    assert kinds == [RegistrationPartSeen, ScheduleDiscovered] + [AllocationLocked] * 6
    discovered = events[1]
    assert isinstance(discovered, ScheduleDiscovered)
    assert discovered.schedule_id == SID
    assert discovered.definition == schedule_document(DEFINITION)
    assert discovered.policy.admin_key_hash == ADMIN_HASH and discovered.policy.quorum == 2
    assert discovered.registration["transactions"][0]["tx_id"] == tx["id"]
    locks = [e for e in events if isinstance(e, AllocationLocked)]
    assert [lock.out_ref for lock in locks] == [f"{tx['id']}#{i}" for i in range(6)]
    assert [lock.amount for lock in locks] == [a.token_amount for a in DEFINITION.allocations]
    assert [lock.beneficiary for lock in locks] == [a.beneficiary_address for a in DEFINITION.allocations]
    assert all(lock.point == discovered.point for lock in locks)
    assert chain.state.schedules[SID] == discovered.policy
    assert set(chain.state.open_allocations) == {lock.out_ref for lock in locks}
    assert chain.rejections == []


def test_parts_in_any_order_over_several_blocks_complete_at_the_last_one() -> None:
    chain = Chain()
    txs = [registration_tx(0, 2), registration_tx(2, 3), registration_tx(3, 6)]
    assert [type(e) for e in chain.block(txs[2])] == [RegistrationPartSeen]
    first_slot = chain.slot
    assert [type(e) for e in chain.block(txs[0])] == [RegistrationPartSeen]
    assert SID not in chain.state.schedules
    events = chain.block(txs[1])
    assert [type(e) for e in events][:2] == [RegistrationPartSeen, ScheduleDiscovered]
    discovered = events[1]
    assert isinstance(discovered, ScheduleDiscovered)
    assert [t["tx_id"] for t in discovered.registration["transactions"]] == [tx["id"] for tx in txs]
    assert first_point(discovered).slot == first_slot
    locked = [e.out_ref for e in events if isinstance(e, AllocationLocked)]
    assert locked == [f"{txs[0]['id']}#0", f"{txs[0]['id']}#1", f"{txs[1]['id']}#0"] + [
        f"{txs[2]['id']}#{i}" for i in range(3)
    ]


def test_parts_arriving_one_by_one_are_read_in_full_once_each_and_again_at_completion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registration of P parts in P blocks: each part's text is read when it is seen and all of them
    once more when the last completes the set, 2P readings in all. Reading every part again at each
    arrival (P^2 / 2) took seconds for the hundreds of parts of a 10,000-allocation schedule."""
    from milestoned.indexer import discovery

    readings = 0
    real_read_part = discovery.read_part

    def counting_read_part(document: object) -> Any:
        nonlocal readings
        readings += 1
        return real_read_part(document)

    monkeypatch.setattr(discovery, "read_part", counting_read_part)
    chain = Chain()
    parts = len(DEFINITION.allocations)
    for n in range(parts):
        events = chain.block(registration_tx(n, n + 1))
        assert (SID in chain.state.schedules) == (n == parts - 1)
    assert isinstance(events[1], ScheduleDiscovered)
    assert sum(isinstance(e, AllocationLocked) for e in events) == parts
    assert readings == 2 * parts
    assert chain.rejections == []


def test_parts_that_disagree_are_refused_when_the_second_arrives_not_at_completion() -> None:
    chain = Chain()
    chain.block(registration_tx(0, 2))
    other_hash = part_document(bytes.fromhex(SID), TEXT, 2, 3, 6) | {"hash": "cd" * 32}
    chain.block(registration_tx(2, 3, document=other_hash))
    assert reasons(chain) == ["inconsistent_parts"]
    overlapping = Chain()
    overlapping.block(registration_tx(0, 2))
    overlapping.block(registration_tx(1, 3))
    assert reasons(overlapping) == ["overlapping_parts"]


def test_a_rollback_of_any_part_forgets_the_schedule_until_the_part_lands_again() -> None:
    chain = Chain()
    txs = [registration_tx(0, 2), registration_tx(2, 4), registration_tx(4, 6)]
    chain.block(txs[0])
    before_middle = chain.slot
    chain.block(txs[1])
    chain.block(txs[2])
    assert SID in chain.state.schedules and len(chain.state.open_allocations) == 6
    chain.roll_back_to(before_middle)
    assert SID not in chain.state.schedules
    assert chain.state.open_allocations == {}
    assert sorted(chain.state.registration_parts[SID]) == [0]
    chain.block(txs[2])
    assert SID not in chain.state.schedules
    events = chain.block(txs[1])
    assert any(isinstance(e, ScheduleDiscovered) for e in events)
    assert len(chain.state.open_allocations) == 6


def test_a_rollback_above_the_discovery_keeps_it() -> None:
    chain = Chain()
    chain.block(registration_tx(0, 6))
    chain.roll_back_to(chain.slot)
    assert SID in chain.state.schedules


def test_a_schedule_already_known_is_left_to_the_filter() -> None:
    chain = Chain(known=(SID,))
    assert chain.block(registration_tx(0, 6)) == []
    assert chain.rejections == []


def _with(document_change: Any) -> dict[str, Any]:
    document = part_document(bytes.fromhex(SID), TEXT, 0, 6, 6)
    changed = copy.deepcopy(document)
    document_change(changed)
    return changed


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(of="6"), "metadata_wrong_type"),
        (lambda d: d.update(allocations=[0]), "metadata_wrong_type"),
        (lambda d: d.update(json="one long string"), "metadata_wrong_type"),
        (lambda d: d.update(v=2), "metadata_unknown_version"),
        (lambda d: d.update(extra=1), "metadata_wrong_fields"),
        (lambda d: d.pop("hash"), "metadata_wrong_fields"),
        (lambda d: d["json"].append("x" * 65), "metadata_oversized"),
        (lambda d: d.update(allocations=[0, 7]), "metadata_out_of_range"),
        (lambda d: d.update(allocations=[3, 3]), "metadata_out_of_range"),
        (lambda d: d["json"].__setitem__(0, "[" + d["json"][0][1:]), "hash_mismatch"),
        (lambda d: d.update(hash="00" * 32), "hash_mismatch"),
    ],
)
def test_malformed_metadata_is_never_a_schedule(change: Any, reason: str) -> None:
    chain = Chain()
    chain.block(registration_tx(0, 6, document=_with(change)))
    assert SID not in chain.state.schedules
    assert reasons(chain) == [reason]


def test_metadata_in_an_unreadable_shape_is_refused() -> None:
    chain = Chain()
    tx = registration_tx(0, 6)
    tx["metadata"]["labels"]["1967"] = {"json": ["not", "a", "map"]}
    chain.block(tx)
    assert reasons(chain) == ["metadata_wrong_type"]


def test_a_truncated_registration_stays_pending() -> None:
    chain = Chain()
    chain.block(registration_tx(0, 2), registration_tx(4, 6))
    assert SID not in chain.state.schedules
    assert sorted(chain.state.registration_parts[SID]) == [0, 4]
    assert chain.rejections == []


def test_a_duplicated_part_is_ignored() -> None:
    chain = Chain()
    chain.block(registration_tx(0, 2))
    events = chain.block(registration_tx(0, 2))
    assert events == [] and reasons(chain) == ["duplicate_part"]


def test_a_copy_of_real_metadata_on_another_mint_is_refused() -> None:
    """The metadata names P but the transaction mints under another policy (its own)."""
    chain = Chain()
    other = definition(nonce="01" * 16)
    tx = registration_tx(0, 6, schedule=other)
    tx["metadata"] = registration_tx(0, 6)["metadata"]
    chain.block(tx)
    assert reasons(chain) == ["mint_mismatch"]
    assert chain.state.schedules == {}


def test_a_definition_that_derives_another_policy_is_refused() -> None:
    """A mint under Q with metadata that names Q but carries a definition deriving P (not Q)."""
    chain = Chain()
    other_sid = derive_id(definition(nonce="02" * 16).to_parameters()).hex()
    text = canonical_schedule_json(DEFINITION).decode()
    forged = part_document(bytes.fromhex(other_sid), text, 0, 6, 6)
    chain.block(registration_tx(0, 6, policy=other_sid, document=forged))
    assert reasons(chain) == ["policy_mismatch"]
    assert chain.state.schedules == {}


def test_tokens_minted_but_not_locked_as_allocations_are_refused() -> None:
    chain = Chain()
    tx = registration_tx(0, 6)
    tx["outputs"][0]["address"] = plain_output()["address"]  # one auth token leaves the validator
    chain.block(tx)
    assert reasons(chain) == ["locks_mismatch"]


def test_a_registration_by_an_admin_not_followed_is_ignored() -> None:
    other_admin = "ab" * 28
    chain = Chain(FollowPolicy(admin_key_hashes=frozenset({other_admin})))
    chain.block(registration_tx(0, 6))
    assert reasons(chain) == ["not_followed"] and chain.state.schedules == {}
    # a signer listed on the transaction is not enough: the definition's admin decides
    chain = Chain(FollowPolicy(admin_key_hashes=frozenset({other_admin})))
    chain.block(registration_tx(0, 6, signer=other_admin))
    assert reasons(chain) == ["not_followed"] and chain.state.schedules == {}


def test_followed_by_admin_or_by_schedule_id() -> None:
    for follow in (
        FollowPolicy(admin_key_hashes=frozenset({ADMIN_HASH})),
        FollowPolicy(schedule_ids=frozenset({SID})),
    ):
        chain = Chain(follow)
        chain.block(registration_tx(0, 6))
        assert SID in chain.state.schedules, follow


def test_a_failed_transaction_registers_nothing() -> None:
    chain = Chain()
    tx = registration_tx(0, 6)
    tx["spends"] = "collaterals"
    assert chain.block(tx) == [] and chain.rejections == []


def test_metadata_given_as_cbor_is_read_the_same() -> None:
    import cbor2

    chain = Chain()
    tx = registration_tx(0, 6)
    document = tx["metadata"]["labels"]["1967"]["json"]
    tx["metadata"]["labels"]["1967"] = {"cbor": cbor2.dumps(document).hex()}
    assert any(isinstance(e, ScheduleDiscovered) for e in chain.block(tx))


def test_a_text_that_is_not_a_schedule_definition_is_refused() -> None:
    from milestoned.domain.registration_metadata import text_hash

    chain = Chain()
    document = {
        "v": 1,
        "schedule": SID,
        "allocations": [0, 6],
        "of": 6,
        "hash": text_hash(b"{}"),
        "json": ["{}"],
    }
    chain.block(registration_tx(0, 6, document=document))
    assert reasons(chain) == ["definition_invalid"] and chain.state.schedules == {}


def test_a_definition_for_another_network_is_refused() -> None:
    preprod = parse_schedule_document({**schedule_document(DEFINITION), "network": "preprod"})
    chain = Chain()
    chain.discovery.network = "devnet"
    chain.block(registration_tx(0, 6, schedule=preprod))
    assert reasons(chain) == ["wrong_network"] and chain.state.schedules == {}


def test_a_daemon_that_follows_nothing_found_on_chain_does_not_look() -> None:
    """No admin key, no schedule id, not everything: discovery cannot follow anything, so it does not
    even scan (the indexer's cost stays what it was for such a daemon)."""
    chain = Chain(FollowPolicy())
    assert chain.block(registration_tx(0, 6)) == [] and chain.rejections == []


def test_the_safe_point_is_called_between_registration_transactions_and_changes_nothing() -> None:
    """See test_indexer_filter: the follower's pause for socket queries, between two registration parts."""
    txs = [registration_tx(0, 2), registration_tx(2, 3), registration_tx(3, 6)]
    block = block_of(txs, slot=9_000)
    calls: list[int] = []
    paused = Discovery(CONTRACT, EVERYTHING).block_events(block, {}, {}, safe_point=lambda: calls.append(1))
    assert len(calls) == 2
    assert paused == Discovery(CONTRACT, EVERYTHING).block_events(block, {}, {})
    assert [type(e) for e in paused[0]][:4] == [RegistrationPartSeen] * 3 + [ScheduleDiscovered]


def test_a_schedule_with_guardians_is_discovered_with_them_and_its_state_in_the_same_block() -> None:
    """Issue 15, the chain as the source of truth: the registration metadata carries the guardians, so the
    definition read back (its state seed too) derives the same schedule id (a rebuilt daemon knows the very
    schedule), and a state created in the block that completes the registration (before the allocations,
    as the policy wants) is found for the newly known schedule."""

    guardians = (bytes([9]) * 28, bytes([10]) * 28)
    seed = (bytes([7]) * 32, 2)
    guarded = replace(
        definition(nonce="01" * 16), guardian_keys=guardians, guardian_threshold=2, guardian_seed=seed
    )
    sid = derive_id(guarded.to_parameters()).hex()
    assert sid != derive_id(replace(guarded, guardian_seed=(seed[0], 3)).to_parameters()).hex()
    unguarded = replace(guarded, guardian_keys=(), guardian_threshold=0, guardian_seed=(b"", 0))
    assert sid != derive_id(unguarded.to_parameters()).hex()
    state_hash = default_blueprint().state_validator_hash

    init = transaction(
        outputs=[
            {
                "address": str(Address(ScriptHash(state_hash), network=Network.TESTNET)),
                "value": {"ada": {"lovelace": 1_500_000}, sid: {ot.STATE_TOKEN_NAME.hex(): 1}},
                "datum": initial_state(bytes.fromhex(sid), guardians, 2).to_cbor_hex(),
            }
        ],
        mint={sid: {ot.STATE_TOKEN_NAME.hex(): 1}},
    )
    chain = Chain()
    events = chain.block(init, registration_tx(0, 6, schedule=guarded))
    discovered = next(e for e in events if isinstance(e, ScheduleDiscovered))
    assert discovered.schedule_id == sid and chain.rejections == []
    assert discovered.policy.guardian_keys == tuple(key.hex() for key in guardians)
    assert discovered.policy.state_seed == "07" * 32 + "#2"
    assert discovered.policy.to_parameters() == guarded.to_parameters()
    block = block_of([init, registration_tx(0, 6, schedule=guarded)], slot=chain.slot)
    state = block_state_events(block, {sid}, state_hash)
    assert [type(e) for e in state] == [ScheduleStateCreated] and state[0].paused == 0
