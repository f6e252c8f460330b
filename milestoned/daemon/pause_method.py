"""The socket's `schedule.pause`: build the pause or resume of a schedule's releases (issue 15).

The daemon never holds a guardian's key, so it only builds: the `SetPaused` transaction spending the
schedule's state UTxO, paid by `payer_address` and naming `signers` (the guardians' key hashes that
will sign) as required signers, answered unsigned. `milestonectl schedule pause|resume` signs it with the
guardians' `.skey` files where it runs (or writes it for them to sign in turn, `tx sign`) and submits
it with `tx.submit`. A signer that is not a guardian is refused before anything is built, naming the key
and the schedule's guardians. Reclaim and cancellation never look at the state: a pause blocks releases
only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.request_checks import check_address, check_schedule_id
from milestoned.daemon.submissions import state_seeds

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.commands")
_KEY_HASH = re.compile(r"[0-9a-f]{56}")


async def schedule_pause(service: DaemonService, params: dict[str, Any], peer: Peer) -> dict[str, Any]:
    only_params(params, {"schedule_id", "paused", "payer_address", "signers"})
    schedule_id = check_schedule_id(param(params, "schedule_id", str), service.index.schedules)
    paused = param(params, "paused", bool)
    payer = check_address(
        "payer_address", param(params, "payer_address", str), service.config.chain.cardano_network
    )
    signers = param(params, "signers", list)
    if not signers or not all(isinstance(s, str) and _KEY_HASH.fullmatch(s) for s in signers):
        raise RpcError(
            jsonrpc.INVALID_PARAMS,
            '"signers" must be a non-empty list of guardian payment key hashes (56 lowercase hex digits)',
            "milestonectl schedule pause --key GUARDIAN.skey passes the hashes of the keys it signs with",
        )
    from milestoned.domain.schedule_file import parse_schedule_document
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.schedule_state import build_set_paused
    from milestoned.txbuilder.signing import unsigned_envelope

    definition = parse_schedule_document(dict(service.index.schedules[schedule_id].definition))
    chain = await service._tx_chain()
    try:
        built = await build_set_paused(
            chain,
            definition,
            payer,
            paused,
            [bytes.fromhex(s) for s in signers],
            reserved=state_seeds(service.index),
        )
    except TxBuildError as exc:
        rule = getattr(exc, "rule", None)
        hint = (
            "sign with the keys of the schedule's guardians (`milestonectl schedules` lists them)"
            if rule in ("not_a_guardian", "guardian_threshold")
            else "nothing was built"
        )
        raise RpcError(jsonrpc.TX_REFUSED, str(exc), hint, rule=rule) from None
    log.info(
        "schedule pause built", schedule_id=schedule_id, paused=paused, tx_id=built.id, caller=peer.describe()
    )
    return {
        "schedule_id": schedule_id,
        "paused": paused,
        "tx_id": built.id,
        "fee_lovelace": built.fee,
        "details": built.details,
        "unsigned": unsigned_envelope(built),
    }
