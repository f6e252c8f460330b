"""Checks of the ids and addresses a socket request names, before a handler looks anything up.

WHY: without them a typo became "daemon failed: DecodingException" (a traceback in the log), an empty
answer that looked like "nothing to claim", or "no milestones yet" for a schedule id that does not exist.
Each check names the parameter, what is wrong with the value, and how to find a right one.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError
from milestoned.domain.addresses import canonical_address, parse_payment_address
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.validation_errors import InputProblem

_SCHEDULE_ID = re.compile(r"[0-9a-f]{56}")
_OUT_REF = re.compile(r"[0-9a-f]{64}#[0-9]{1,5}")


def check_address(name: str, value: str, network: CardanoNetwork) -> str:
    """`value` as the canonical bech32 payment address of `network`, or INVALID_PARAMS saying why not."""
    try:
        return canonical_address(parse_payment_address(value, network))
    except InputProblem as problem:
        raise RpcError(
            jsonrpc.INVALID_PARAMS,
            f"{name}: {problem.problem}",
            problem.hint or f"give a payment address of {network.value}",
        ) from None


def check_schedule_id(value: str, registered: Collection[str]) -> str:
    """A registered schedule's id (56 lowercase hex digits), or an error listing the registered ones."""
    text = value.strip().lower()
    if not _SCHEDULE_ID.fullmatch(text):
        raise RpcError(
            jsonrpc.INVALID_PARAMS,
            f"schedule_id: {value!r} is not a schedule id "
            "(56 hex digits: the schedule's auth-token policy id)",
            "`milestonectl schedules` lists the registered schedules and their ids",
        )
    if text not in registered:
        raise RpcError(
            jsonrpc.NOT_FOUND,
            f"schedule {text} is not registered with this daemon",
            _known(registered),
        )
    return text


def check_out_refs(values: list[str]) -> list[str]:
    """Allocation references as `txid#index` (64 hex digits, '#', the output index)."""
    bad = [v for v in values if not _OUT_REF.fullmatch(v.strip().lower())]
    if bad:
        raise RpcError(
            jsonrpc.INVALID_PARAMS,
            f"allocations: {', '.join(repr(v) for v in bad[:5])} "
            f"{'is not an allocation reference' if len(bad) == 1 else 'are not allocation references'} "
            "(TXID#INDEX: the 64-hex-digit id of the transaction that locked it, '#', its output index)",
            "`milestonectl claimable` lists every allocation with its reference",
        )
    return [v.strip().lower() for v in values]


def _known(registered: Collection[str]) -> str:
    if not registered:
        return "no schedule is registered yet: register one with `milestonectl schedule register FILE`"
    listed = ", ".join(sorted(registered)[:5]) + (" …" if len(registered) > 5 else "")
    return f"registered: {listed} (`milestonectl schedules` lists them)"
