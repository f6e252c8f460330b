"""An allocation: tokens promised to one beneficiary for one milestone, from one vesting time on.

Each allocation is locked in its own UTxO with a small inline datum holding exactly these four values,
so this is the unit every other part of the system talks about: the schedule file lists them, the
indexer finds them on chain, the eligibility rules decide which are claimable.
"""

from __future__ import annotations

from dataclasses import dataclass

# The ledger stores token quantities as signed 64-bit integers: a larger amount cannot exist in an output.
MAX_TOKEN_AMOUNT = 2**63 - 1
# Milestone ids go on chain as their UTF-8 bytes, in every datum and every attestation message; the cap
# keeps datums and signed messages small (and fits a transaction-metadata string).
MAX_MILESTONE_ID_BYTES = 64


@dataclass(frozen=True)
class Allocation:
    beneficiary_address: str  # canonical (lowercase) bech32 payment address
    token_amount: int  # 1..MAX_TOKEN_AMOUNT units of the schedule's token
    milestone_id: bytes  # on-chain milestone id: the UTF-8 bytes of the schedule's milestone_identifier
    vesting_time_ms: int  # POSIX ms; releasable from this instant on (validity range starts at or after it)

    @property
    def milestone_label(self) -> str:
        """The milestone id as text for people; bytes that are not UTF-8 are shown escaped."""
        return self.milestone_id.decode("utf-8", errors="backslashreplace")


def milestone_id_bytes(identifier: str) -> bytes:
    """The on-chain bytes of a milestone identifier: its UTF-8 encoding, unnormalised."""
    return identifier.encode("utf-8")
