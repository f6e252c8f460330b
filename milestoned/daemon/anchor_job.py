"""The scheduler job that publishes the event log's head on chain (opt-in: `[anchor] every_seconds`).

Each run anchors the head as it is, when it moved since the last anchor: build a transaction from the
operator wallet to itself with the head in metadata (label 1968), sign it with the wallet key, submit it,
and record `HeadAnchored` (the transaction id, position and hash) so that auditors know which heads were
published where. A failure is logged and retried at the next run; nothing is recorded for it.
"""

from __future__ import annotations

from typing import Any

import structlog

from milestoned.domain.head_anchor import HeadAnchor
from milestoned.eventlog.events import HeadAnchored

log = structlog.get_logger("milestoned.anchor")


def last_anchored(service: Any) -> int:
    """The log position of the newest `HeadAnchored` event itself (0: none yet): a head that is that
    event has nothing new to publish."""
    for logged in service.log.iter_newest_first(batch_size=256):
        if isinstance(logged.event, HeadAnchored):
            return int(logged.position)
    return 0


async def anchor_head(service: Any) -> str | None:
    """Publish the head if it moved since the last anchor; the transaction id, or None if nothing to do."""
    from milestoned.txbuilder.head_anchor import build_head_anchor
    from milestoned.txbuilder.signing import sign
    from milestoned.txbuilder.submission import submit

    head = service.log.head()
    if head.position == 0 or head.position == await service.read(last_anchored, service):
        return None
    key, payer = service._load_wallet()
    chain = await service._tx_chain()
    anchor = HeadAnchor(service.config.chain.network, head.position, head.hash)
    built = await build_head_anchor(chain, payer, anchor, service.pending_anchor)
    signed = sign(built, [key])
    try:
        tx_id = await submit(chain, signed)
    except Exception:
        service.pending_anchor = []  # a previous anchor that never landed must not be chained on again
        raise
    service.pending_anchor = [signed]  # the next anchor spends its change, not its inputs
    async with service.write_lock:
        await service.aappend([HeadAnchored(tx_id=str(tx_id), position=head.position, head_hash=head.hash)])
    log.info("log head published on chain", tx_id=str(tx_id), position=head.position, hash=head.hash)
    return str(tx_id)
