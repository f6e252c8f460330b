"""Snapshots built straight from projection facts, for the web view's fast tests (no daemon, no chain).

Beneficiaries are real bech32 testnet addresses (key hashes derived from an index), so the pages'
address checks accept them as a daemon on the devnet would.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any

from pycardano import Address, Network, VerificationKeyHash

from milestoned.eventlog.events import SchedulePolicy
from milestoned.projections.readmodels import ChainTip, ExitFact, Facts, LockFact, ScheduleFact, SignatureFact
from milestoned.projections.slots import SlotConfig
from milestoned.web.snapshot import ScheduleInfo, Snapshot

SLOTS = SlotConfig(zero_time_ms=1_700_000_000_000, zero_slot=0, slot_length_ms=1000)
SCHEDULE_ID = "ab" * 28
ORACLES = tuple(hashlib.blake2b(f"oracle-{i}".encode(), digest_size=32).hexdigest() for i in range(3))
MILESTONES = ("M1", "M2", "M3")


@functools.cache
def address(index: int) -> str:
    digest = hashlib.blake2b(f"beneficiary-{index}".encode(), digest_size=28).digest()
    return str(Address(VerificationKeyHash(digest), network=Network.TESTNET))


def policy(deadline_ms: int) -> SchedulePolicy:
    return SchedulePolicy(
        admin_key_hash="cd" * 28,
        token_policy_id="ef" * 28,
        token_name=b"MILE".hex(),
        oracle_keys=ORACLES,
        quorum=2,
        reclaim_deadline_ms=deadline_ms,
        nonce="00",
    )


def snapshot(
    allocations: int = 10,
    *,
    beneficiaries: int = 4,
    signed: Mapping[str, int] | None = None,
    released: int = 1,
    tip_slot: int = 1000,
    admin: str = "addr_test1admin",
    version: str = "1.1",
    paused: bool = False,
) -> Snapshot:
    """`allocations` allocations over `beneficiaries` addresses; milestone i of MILESTONES for allocation
    i % 3, vesting at slot 100 * (i + 1); `signed` oracle counts per milestone (default M1: 2, M2: 3);
    the first `released` M1 allocations released at slot 900. The tip is at `tip_slot`; `paused`: its
    guardians have paused its releases."""
    signed = {"M1": 2, "M2": 3} if signed is None else signed
    locks = []
    definition: list[dict[str, Any]] = []
    for i in range(allocations):
        milestone = MILESTONES[i % 3]
        locks.append(
            LockFact(
                out_ref=f"{i:064x}#0",
                schedule_id=SCHEDULE_ID,
                milestone_id=milestone.encode().hex(),
                beneficiary=address(i % beneficiaries),
                amount=100 + i,
                vesting_time_ms=SLOTS.slot_to_posix_ms(100 * (i + 1)),
                tx_id=f"{i:064x}",
                slot=10,
            )
        )
        definition.append(
            {"milestone_identifier": milestone, "beneficiary_address": address(i % beneficiaries)}
        )
    m1 = [lock for lock in locks if lock.milestone_id == b"M1".hex()][:released]
    facts = Facts(
        schedules=(ScheduleFact(SCHEDULE_ID, 2, frozenset(ORACLES)),),
        signatures=tuple(
            SignatureFact(SCHEDULE_ID, m.encode().hex(), ORACLES[k])
            for m, n in signed.items()
            for k in range(n)
        ),
        locks=tuple(locks),
        releases=tuple(ExitFact(lock.out_ref, SCHEDULE_ID, "77" * 32, 900) for lock in m1),
        reclaims=(),
        tip=ChainTip(tip_slot, "99" * 32, SLOTS.slot_to_posix_ms(tip_slot)),
        paused=frozenset({SCHEDULE_ID}) if paused else frozenset(),
    )
    info = ScheduleInfo(
        schedule_id=SCHEDULE_ID,
        definition={"admin": admin, "beneficiary_allocations": definition},
        policy=policy(SLOTS.slot_to_posix_ms(100 * allocations + 5000)),
        source="registered here",
        registered_at="10.aa",
    )
    return Snapshot(
        version=version,
        network="devnet",
        schedules=(info,),
        facts=facts,
        submissions=(),
        in_flight=frozenset(),
        log_position=42,
        log_hash="5e" * 32,
        recent=(),
        verification=None,
        slots=SLOTS,
    )
