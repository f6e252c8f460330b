"""The parameters a schedule's minting policy is applied to.

Its policy id is the schedule id, so these values are exactly what the id commits to: change the
oracles, the quorum or the deadline and you have a different schedule. Anyone holding the schedule
definition can re-derive the id from them, which is what lets an auditor check a schedule from the
chain alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleParameters:
    admin_key_hash: bytes  # 28-byte payment key hash whose signature registers and reclaims
    token_policy_id: bytes  # 28-byte policy id of the distributed native token
    token_name: bytes  # asset name of the distributed token, at most 32 bytes
    oracle_keys: tuple[bytes, ...]  # 32-byte ed25519 keys, in the order the redeemer indexes them
    quorum: int  # distinct valid oracle signatures needed per milestone, 1..len(oracle_keys)
    reclaim_deadline_ms: int  # POSIX milliseconds after which the admin may reclaim what is unreleased
    nonce: bytes  # distinguishes otherwise identical schedules
    # issue 15: payment key hashes of the guardians who may pause releases, and how many must sign;
    # none (the default) means no state UTxO and no pause
    guardian_keys: tuple[bytes, ...] = ()
    guardian_threshold: int = 0
    # the UTxO (transaction id, output index) the state's creation must spend: it can be spent once, so
    # the schedule has one state token at most; empty without guardians
    guardian_seed: tuple[bytes, int] = (b"", 0)
