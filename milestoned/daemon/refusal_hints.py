"""What to do about a transaction builder's refusal, for the `hint` of the socket's error answer.

WHY: the refusal's message names the rule that failed; the hint must add what the caller can do about
it (wait until when, or which command supplies what is missing), not repeat "see the rule".
"""

from __future__ import annotations

from milestoned.domain.timestamps import format_timestamp

REFUSAL_HINTS = {
    "milestone_quorum": "commit the oracles' attestations (milestonectl signature commit FILE...); "
    "`milestonectl milestones` shows each milestone's signatures",
    "vesting": "wait until the vesting time (chain time); `milestonectl claimable` shows when each unlocks",
    "allocation_locked": "`milestonectl claimable` lists the schedule's open allocations and their "
    "references",
    "not_in_flight": "wait until that transaction is confirmed or expires (`milestonectl submissions`)",
    "not_registered": "register the schedule on chain first (milestonectl schedule register FILE "
    "--admin-address ADDR)",
    "schedule_paused": "the schedule's guardians paused its releases; they resume them with "
    "`milestonectl schedule resume SCHEDULE --key GUARDIAN.skey` (reclaim is not blocked by a pause)",
    "schedule_state": "submit the registration's init-state transaction (signed by the admin, sent before "
    "the allocations: `milestonectl tx submit DIR`), and wait for its block",
    "milestone_cancelled": "the admin takes a cancelled milestone's allocations back (milestonectl "
    "milestone cancel MILESTONE FILE...); `milestonectl claimable` shows them milestone_cancelled",
    "reclaim_deadline": "after the reclaim deadline the allocations can only be reclaimed by the admin "
    "(milestonectl reclaim)",
}


def refusal_hint(exc: Exception) -> str:
    """What to do about a txbuilder refusal: when it will pass, else what the failed rule needs."""
    passes_at = getattr(exc, "passes_at_ms", None)
    if isinstance(passes_at, int):
        return f"try again after {format_timestamp(passes_at)} (chain time); nothing was submitted"
    rule = getattr(exc, "rule", None)
    return REFUSAL_HINTS.get(str(rule), "nothing was submitted; fix what the message names and try again")
