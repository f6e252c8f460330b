"""`OgmiosClient`: the typed Ogmios API the daemon uses, plus reconnecting with backoff.

One client is one WebSocket, so it has one chain-sync cursor, one acquired ledger state and one mempool
snapshot (that is how Ogmios scopes them). Queries, submit and evaluate can run concurrently with chain
sync on the same client: answers are matched by id.

Reconnecting: `connect_with_backoff` retries the initial connection; `run_with_reconnect` runs a session
function on a fresh client every time the connection drops. The session must re-establish its own state
(`find_intersection` from its own cursor, re-acquire a ledger state): the server forgets both with the socket.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Final, TypeVar

from milestoned.ogmios.backoff import BackoffPolicy, backoff_delay
from milestoned.ogmios.chainsync import DEFAULT_IN_FLIGHT, ChainSync
from milestoned.ogmios.connection import DEFAULT_CLOSE_TIMEOUT, DEFAULT_MAX_FRAME_BYTES, OgmiosConnection
from milestoned.ogmios.errors import OgmiosConnectionError
from milestoned.ogmios.frames import typed
from milestoned.ogmios.model import (
    Intersection,
    NextBlock,
    OutputReference,
    Point,
    PointOrOrigin,
    Transaction,
    Utxo,
    point_to_json,
)
from milestoned.ogmios.parsing import (
    parse_acquired,
    parse_block_height,
    parse_bool,
    parse_bound,
    parse_era_summaries,
    parse_evaluation,
    parse_genesis_configuration,
    parse_int,
    parse_mempool_sizes,
    parse_mempool_snapshot,
    parse_next_transaction,
    parse_point,
    parse_protocol_parameters,
    parse_start_time,
    parse_submitted,
    parse_utxos,
)
from milestoned.ogmios.state_queries import (
    Bound,
    EraSummary,
    GenesisConfiguration,
    LedgerStateAcquired,
    MempoolSizes,
    MempoolSnapshot,
    ProtocolParameters,
    ScriptBudget,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

GENESIS_ERAS: Final = ("byron", "shelley", "alonzo", "conway", "dijkstra")
_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})+\Z")


def _check_cbor_hex(cbor_hex: str, what: str) -> str:
    if not isinstance(cbor_hex, str) or not _HEX.match(cbor_hex):
        shown = cbor_hex[:40] if isinstance(cbor_hex, str) else type(cbor_hex).__name__
        raise ValueError(
            f"{what} must be the transaction's CBOR as an even-length hex string, got {shown!r}; "
            "serialise it first (e.g. pycardano Transaction.to_cbor_hex())"
        )
    return cbor_hex


class OgmiosClient:
    """Typed Ogmios v6/v7 API over one connection. Open with `await OgmiosClient.connect(url)`."""

    def __init__(self, connection: OgmiosConnection, in_flight: int = DEFAULT_IN_FLIGHT) -> None:
        self.connection = connection
        self.chain_sync = ChainSync(connection, in_flight)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        in_flight: int = DEFAULT_IN_FLIGHT,
        max_frame_bytes: int | None = DEFAULT_MAX_FRAME_BYTES,
        open_timeout: float | None = 10.0,
        ping_interval: float | None = 20.0,
        compression: str | None = None,
        headers: dict[str, str] | None = None,
        close_timeout: float | None = DEFAULT_CLOSE_TIMEOUT,
    ) -> OgmiosClient:
        connection = await OgmiosConnection.open(
            url,
            max_frame_bytes=max_frame_bytes,
            open_timeout=open_timeout,
            ping_interval=ping_interval,
            compression=compression,
            headers=headers,
            close_timeout=close_timeout,
        )
        return cls(connection, in_flight)

    async def close(self) -> None:
        """Close cleanly: a close handshake, given at most `close_timeout` (2 s by default)."""
        await self.connection.close()

    async def abort(self) -> None:
        """Drop the connection at once, without a close handshake (for a dead or stalled link)."""
        await self.connection.abort()

    async def __aenter__(self) -> OgmiosClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- chain sync -------------------------------------------------------------------------------------

    async def find_intersection(self, points: Iterable[PointOrOrigin]) -> Intersection:
        return await self.chain_sync.find_intersection(points)

    async def next_block(self) -> NextBlock:
        return await self.chain_sync.next_block()

    def follow(self) -> ChainSync:
        """`async for result in client.follow(): …` yields RollForward/RollBackward in chain order."""
        return self.chain_sync

    # --- ledger state -------------------------------------------------------------------------------------

    async def acquire_ledger_state(self, point: PointOrOrigin) -> LedgerStateAcquired:
        """Pin later queries on this connection to the ledger state at `point` (error 2000 if too old)."""
        return await self.connection.request(
            "acquireLedgerState", {"point": point_to_json(point)}, typed(parse_acquired)
        )

    async def release_ledger_state(self) -> None:
        await self.connection.request("releaseLedgerState")

    async def ledger_tip(self) -> PointOrOrigin:
        return await self.connection.request("queryLedgerState/tip", None, typed(_point_or_origin))

    async def epoch(self) -> int:
        return await self.connection.request("queryLedgerState/epoch", None, typed(parse_int("epoch")))

    async def era_start(self) -> Bound:
        return await self.connection.request("queryLedgerState/eraStart", None, typed(parse_bound))

    async def era_summaries(self) -> tuple[EraSummary, ...]:
        return await self.connection.request(
            "queryLedgerState/eraSummaries", None, typed(parse_era_summaries)
        )

    async def protocol_parameters(self) -> ProtocolParameters:
        return await self.connection.request(
            "queryLedgerState/protocolParameters", None, typed(parse_protocol_parameters)
        )

    async def utxo_by_addresses(self, addresses: Iterable[str]) -> tuple[Utxo, ...]:
        """UTxO at these addresses. Slow on the node for many addresses; the indexer is the better source."""
        wanted = list(addresses)
        if not wanted:
            raise ValueError(
                "utxo_by_addresses needs at least one address (an empty list would fetch the whole UTxO set)"
            )
        return await self.connection.request(
            "queryLedgerState/utxo", {"addresses": wanted}, typed(parse_utxos)
        )

    async def utxo_by_output_references(self, references: Iterable[OutputReference]) -> tuple[Utxo, ...]:
        """Those of `references` that are unspent (cheap on the node)."""
        wanted = [ref.to_json() for ref in references]
        if not wanted:
            raise ValueError("utxo_by_output_references needs at least one output reference")
        return await self.connection.request(
            "queryLedgerState/utxo", {"outputReferences": wanted}, typed(parse_utxos)
        )

    # --- network ------------------------------------------------------------------------------------------

    async def network_tip(self) -> PointOrOrigin:
        return await self.connection.request("queryNetwork/tip", None, typed(_point_or_origin))

    async def block_height(self) -> int | str:
        """The node's block height, or "origin" before the first block."""
        return await self.connection.request("queryNetwork/blockHeight", None, typed(parse_block_height))

    async def start_time(self) -> datetime:
        return await self.connection.request("queryNetwork/startTime", None, typed(parse_start_time))

    async def genesis_configuration(self, era: str) -> GenesisConfiguration:
        if era not in GENESIS_ERAS:
            raise ValueError(
                f"genesis_configuration era must be one of {', '.join(GENESIS_ERAS)}, got {era!r}"
            )
        return await self.connection.request(
            "queryNetwork/genesisConfiguration", {"era": era}, typed(parse_genesis_configuration)
        )

    # --- submission and evaluation ------------------------------------------------------------------------

    async def submit_transaction(self, cbor_hex: str) -> str:
        """Submit a signed transaction; returns its id. Ledger rejections raise `SubmissionError`s."""
        cbor = _check_cbor_hex(cbor_hex, "submit_transaction's argument")
        return await self.connection.request(
            "submitTransaction", {"transaction": {"cbor": cbor}}, typed(parse_submitted)
        )

    async def evaluate_transaction(
        self, cbor_hex: str, additional_utxo: Iterable[Utxo] = ()
    ) -> tuple[ScriptBudget, ...]:
        """Execution budgets of the transaction's scripts. `additional_utxo` supplies inputs not yet on chain.

        Script failures raise `ScriptExecutionFailure` (3010) whose `.failures` carry codes and traces.
        """
        params: dict[str, Any] = {
            "transaction": {"cbor": _check_cbor_hex(cbor_hex, "evaluate_transaction's argument")}
        }
        extra = [utxo.to_json() for utxo in additional_utxo]
        if extra:
            params["additionalUtxo"] = extra
        return await self.connection.request("evaluateTransaction", params, typed(parse_evaluation))

    # --- mempool monitoring -------------------------------------------------------------------------------

    async def acquire_mempool(self) -> MempoolSnapshot:
        return await self.connection.request("acquireMempool", None, typed(parse_mempool_snapshot))

    async def has_transaction(self, transaction_id: str) -> bool:
        return await self.connection.request("hasTransaction", {"id": transaction_id}, typed(parse_bool))

    async def next_transaction(self, full: bool = False) -> Transaction | str | None:
        params = {"fields": "all"} if full else None
        return await self.connection.request("nextTransaction", params, typed(parse_next_transaction))

    async def size_of_mempool(self) -> MempoolSizes:
        return await self.connection.request("sizeOfMempool", None, typed(parse_mempool_sizes))

    async def release_mempool(self) -> None:
        await self.connection.request("releaseMempool")


def _point_or_origin(result: Any) -> PointOrOrigin:
    if result == "origin":
        return "origin"
    point: Point = parse_point(result)
    return point


async def connect_with_backoff(
    url: str,
    *,
    policy: BackoffPolicy | None = None,
    max_attempts: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random_fraction: Callable[[], float] = random.random,
    **connect_options: Any,
) -> OgmiosClient:
    """Connect, retrying with exponential backoff and jitter until it works (or `max_attempts` fail)."""
    policy = policy or BackoffPolicy()
    attempt = 0
    while True:
        try:
            return await OgmiosClient.connect(url, **connect_options)
        except OgmiosConnectionError as exc:
            if max_attempts is not None and attempt + 1 >= max_attempts:
                raise
            delay = backoff_delay(policy, attempt, random_fraction())
            log.warning("Ogmios not reachable (%s); retrying in %.2f s", exc, delay)
            attempt += 1
            await sleep(delay)


async def run_with_reconnect(
    url: str,
    session: Callable[[OgmiosClient], Awaitable[T]],
    *,
    policy: BackoffPolicy | None = None,
    max_reconnects: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random_fraction: Callable[[], float] = random.random,
    **connect_options: Any,
) -> T:
    """Run `session(client)` and return its result; whenever the connection drops, reconnect and run it again.

    The backoff restarts from its first step after each connection that worked, so a flapping link is not
    punished with ever longer pauses. `max_reconnects` (None = forever) bounds the number of restarts.
    A connection that failed is aborted, not closed: over a dead or stalled link the close handshake could
    only time out, delaying the reconnect by that much.
    """
    policy = policy or BackoffPolicy()
    reconnects = 0
    while True:
        client = await connect_with_backoff(
            url, policy=policy, sleep=sleep, random_fraction=random_fraction, **connect_options
        )
        failed = False
        try:
            return await session(client)
        except OgmiosConnectionError as exc:
            failed = True
            await client.abort()
            if max_reconnects is not None and reconnects >= max_reconnects:
                raise
            reconnects += 1
            delay = backoff_delay(policy, 0, random_fraction())
            log.warning("lost the Ogmios connection (%s); reconnecting in %.2f s", exc, delay)
            await sleep(delay)
        finally:
            if not failed:
                await client.close()
