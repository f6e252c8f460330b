"""Calls to the chain on behalf of a command, with the one answer an outage deserves: -32003.

Why one place: a command that needs Ogmios (building a registration or a release, submitting) can meet
the outage at any step: connecting, mid-query when the socket closes, or a stalled Ogmios that never
answers. Each used to surface differently (a connection error caught at one step, a traceback and
-32603 at another); here all of them become NOT_READY "chain unreachable" with the fix, and the query
link is reset so that the health answer says `disconnected` and the next call reconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError

log = structlog.get_logger("milestoned.chain")
T = TypeVar("T")

CHAIN_FAILURES = (ConnectionError, OSError, TimeoutError)
"""What an unreachable, closed or stalled Ogmios raises (OgmiosConnectionError is a ConnectionError)."""


def chain_unreachable(
    url: str, exc: BaseException, recorded: str = "nothing was recorded", waited_s: float | None = None
) -> RpcError:
    detail = str(exc) or type(exc).__name__
    hint = "start Ogmios (and its cardano-node), or fix chain.ogmios_url"
    if isinstance(exc, TimeoutError) and waited_s is not None:
        detail = f"Ogmios at {url} did not answer within {waited_s:g} s"
        hint += " (a slow node: raise chain.call_timeout_seconds)"
    return RpcError(
        jsonrpc.NOT_READY,
        f"chain unreachable: {detail}",
        f"{recorded}; {hint}; `milestonectl doctor` checks it; then try again",
        ogmios_url=url,
    )


async def on_chain(
    link: Any,
    call: Awaitable[T],
    *,
    bounded: bool = True,
    recorded: str = "nothing was recorded",
) -> T:
    """Await `call` (which talks to Ogmios through `link`), bounded by the link's `call_timeout_s`
    (`chain.call_timeout_seconds`) unless `bounded` is False; an outage becomes RpcError NOT_READY."""
    timeout: float = link.call_timeout_s
    try:
        if not bounded:
            return await call
        return await asyncio.wait_for(call, timeout)
    except CHAIN_FAILURES as exc:
        log.warning("chain unreachable during a command", ogmios_url=link.url, error=str(exc) or repr(exc))
        link.connected = False
        link.last_error = str(exc)
        # a timeout may be a slow node behind another call on the same link: that call keeps it
        await (link.reset_if_idle() if isinstance(exc, TimeoutError) else link.reset())
        raise chain_unreachable(link.url, exc, recorded, timeout) from None


async def long_build(link: Any, chain: Any, build: Awaitable[T]) -> T:
    """A build of many transactions (a large registration or release: minutes, each one evaluated):
    the chain is first asked for its tip within the link's bound (`chain.call_timeout_seconds`), so a
    stalled or dead Ogmios is answered "chain unreachable" at once; the build itself then has no
    overall bound (the wrong one would cut a healthy large build short), and a connection lost while it
    runs still becomes "chain unreachable". A stall in the middle of a build is not bounded: the job's
    counters stop."""
    await on_chain(link, chain.client.network_tip())
    return await on_chain(link, build, bounded=False)
