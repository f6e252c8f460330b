"""A schedule definition: who gets which tokens, on which milestones, under whose oracles.

A definition is what an admin writes (see `schedule_file` for its JSON form) once it has been read and
validated: every field is already in its on-chain unit (bytes, POSIX ms). Its minting-policy parameters
are a projection of it (`to_parameters`), and the schedule id is the policy id of the policy applied to
those parameters, so the id commits to the oracles, the quorum, the deadline and the nonce.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from milestoned.domain.allocation import Allocation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.parameters import ScheduleParameters

POLICY_ID_BYTES = 28
MAX_TOKEN_NAME_BYTES = 32
NONCE_BYTES = 16  # length of a derived nonce
MAX_NONCE_BYTES = 32  # an explicit nonce may be up to this long


@dataclass(frozen=True)
class Token:
    """The native token a schedule distributes: its policy id and asset name (raw bytes)."""

    policy_id: bytes
    asset_name: bytes

    @property
    def unit(self) -> str:
        """`policy id hex + asset name hex`, the spelling wallets, Ogmios and cardano-cli use."""
        return self.policy_id.hex() + self.asset_name.hex()


@dataclass(frozen=True)
class ScheduleDefinition:
    network: CardanoNetwork
    admin_key_hash: bytes
    token: Token
    oracle_keys: tuple[bytes, ...]  # order matters: the release redeemer indexes oracles by position
    quorum: int
    reclaim_deadline_ms: int
    nonce: bytes
    allocations: tuple[Allocation, ...]  # in file order
    # issue 15: who may pause releases (payment key hashes) and how many must sign; none = no pause
    guardian_keys: tuple[bytes, ...] = ()
    guardian_threshold: int = 0
    # the UTxO (transaction id, output index) the state's creation spends, so the state token is unique;
    # a parameter of the policy (the schedule id commits to it); `(b"", 0)` without guardians
    guardian_seed: tuple[bytes, int] = (b"", 0)

    @property
    def has_guardians(self) -> bool:
        """A schedule with guardians has a state UTxO that every release reads (and a pause flips)."""
        return self.guardian_threshold > 0

    def to_parameters(self) -> ScheduleParameters:
        """What the schedule's minting policy is applied to (and hence what the schedule id commits to)."""
        return ScheduleParameters(
            admin_key_hash=self.admin_key_hash,
            token_policy_id=self.token.policy_id,
            token_name=self.token.asset_name,
            oracle_keys=self.oracle_keys,
            quorum=self.quorum,
            reclaim_deadline_ms=self.reclaim_deadline_ms,
            nonce=self.nonce,
            guardian_keys=self.guardian_keys,
            guardian_threshold=self.guardian_threshold,
            guardian_seed=self.guardian_seed,
        )

    @property
    def milestone_ids(self) -> tuple[bytes, ...]:
        """Each milestone id once, in order of first appearance."""
        return tuple(dict.fromkeys(allocation.milestone_id for allocation in self.allocations))

    @property
    def total_amount(self) -> int:
        """How many token units the admin locks when registering the schedule."""
        return sum(allocation.token_amount for allocation in self.allocations)

    def allocations_for(self, milestone_id: bytes) -> Iterator[Allocation]:
        return (allocation for allocation in self.allocations if allocation.milestone_id == milestone_id)
