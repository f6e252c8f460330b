"""The socket's `attestations` method: a schedule with every oracle signature committed for it.

A query (read-only, for any member of the socket group): the committed attestations are public facts,
and the answer is the attestations file a beneficiary needs to claim without the daemon
(`milestonectl attestations export`, then `milestonectl claim`). The HTTP endpoint serves the same file
read-only at `GET /attestations/<schedule id>`, for operators who publish it (behind their own proxy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.request_checks import check_schedule_id

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService


async def attestations(service: DaemonService, params: dict[str, Any], peer: Peer) -> dict[str, Any]:
    only_params(params, {"schedule_id"})
    await service.afold()
    return attestations_document(service, param(params, "schedule_id", str))


def attestations_document(service: DaemonService, schedule_id: str) -> dict[str, Any]:
    """The attestations file of a registered schedule (RpcError when the id is wrong or unknown)."""
    from milestoned.commands.attestations_export import export_document
    from milestoned.domain.attestation_file import Attestation

    schedule_id = check_schedule_id(schedule_id, service.index.schedules)
    registered = service.index.schedules[schedule_id]
    committed = [
        Attestation(bytes.fromhex(schedule_id), milestone, signature)
        for milestone, signatures in sorted(service.index.signatures_by_milestone(schedule_id).items())
        for signature in sorted(signatures, key=lambda s: s.oracle_key)
    ]
    document = export_document(schedule_id, registered.definition, committed)
    document["log_position"] = service.index.position
    return document


def http_attestations(service: DaemonService) -> Callable[[str], tuple[int, bytes]]:
    """`GET /attestations/<schedule id>` for the HTTP endpoint: (status, JSON body)."""

    def answer(schedule_id: str) -> tuple[int, bytes]:
        try:
            return 200, orjson.dumps(attestations_document(service, schedule_id)) + b"\n"
        except RpcError as error:
            return (404 if error.code == jsonrpc.NOT_FOUND else 400), orjson.dumps(error.to_json()) + b"\n"

    return answer
