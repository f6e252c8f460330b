"""What became of the release transactions the daemon submitted: confirmed, expired or reverted.

Why a module of its own: the outcome is decided from the projections (what the indexer saw on chain and
its processed tip), not from the node, and the scheduler's submissions job is its only caller; keeping the
decision apart from the service keeps the rules about "when is a submission over" in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milestoned.eventlog.events import Event, SubmissionConfirmed, SubmissionExpired, SubmissionReverted

if TYPE_CHECKING:
    from milestoned.daemon.service import DaemonService


async def submission_outcomes(service: DaemonService, *, recheck_confirmed: bool) -> list[Event]:
    """Submission events due now: confirmed when a release with its tx id is on chain, expired when the
    chain as the indexer has processed it (the projections' tip, not the node's) passed its validity
    without it, and, with `recheck_confirmed` (the log recorded a rollback since the last check),
    reverted when a confirmed release is no longer on chain. Using our own processed tip means a release
    in the last valid slot has been seen before the expiry is decided; a reverted release is live again
    (its allocations are not released twice) until it is confirmed once more or expires."""
    index = service.index
    if not index.in_flight and not (recheck_confirmed and index.submitted):
        return []
    projections = service.projections
    facts = await service.read(projections.facts)
    confirmed = await service.read(projections.submissions, "confirmed") if recheck_confirmed else []
    submitted = await service.read(projections.submissions, "submitted")
    tip_slot = None if facts.tip is None else facts.tip.slot
    on_chain = {exit_.tx_id for exit_ in (*facts.releases, *facts.reclaims)}  # a reclaim may be submitted too
    events: list[Event] = []
    for submission in confirmed:
        if submission.tx_id not in on_chain and submission.tx_id not in index.in_flight:
            events.append(
                SubmissionReverted(
                    tx_id=submission.tx_id,
                    reason="its block was rolled back; live again until confirmed anew or expired",
                )
            )
    for submission in submitted:
        if submission.tx_id not in index.in_flight:
            continue
        if submission.tx_id in on_chain:
            events.append(SubmissionConfirmed(tx_id=submission.tx_id, reason="seen in a block"))
        elif (
            tip_slot is not None
            and submission.validity_upper_slot
            and tip_slot >= submission.validity_upper_slot
        ):
            events.append(
                SubmissionExpired(
                    tx_id=submission.tx_id,
                    reason=f"validity ended at slot {submission.validity_upper_slot}; tip is at {tip_slot}",
                )
            )
    return events
