"""The Ogmios v6 JSON-RPC server of the devnet (WebSocket), and its `devnet/*` test methods.

WHY this shape: like Ogmios, each connection has its own chain-sync cursor, acquired ledger state and
mempool snapshot. Chain-sync requests are served by one worker per connection, strictly in order and
waiting at the tip; every other request goes to a second worker, so a `nextBlock` parked at the tip
never blocks a query, exactly the interleaving Ogmios allows between mini-protocols. Every response
echoes `method` and `id` (null when the request had none).

The `devnet/*` methods (extensions for tests and rehearsals; results are not in the Ogmios schema):

- `devnet/fund {address, lovelace?=10_000_000_000, assets?: {assetNameHex: qty}, produceBlock?=true}` pays
  from the faucet (minting `assets` under the faucet's native policy) in a real transaction, and by
  default waits for the block holding it (as `devnet/produceBlock`) -> `{transaction: {id}, index: 0,
  policy, block?: Tip}`.
- `devnet/advanceTime {slots}` moves the slot clock forward -> `{slot}`.
- `devnet/produceBlock` forges a block from the mempool at the next slot not ahead of wall time (at once
  with a frozen clock; concurrent requests share it) -> `{block: Tip, transactions: [id]}`.
- `devnet/rollback {blocks, resubmit?=true}` drops the last blocks; the chain continues on a fork and
  followers get a backward result -> `{tip, rolledBack: [Point]}`. With `resubmit`, the dropped
  transactions return to the mempool.
- `devnet/dropConnections` answers, then closes every client connection -> `{dropped: n}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pycardano import Address, TransactionInput, TransactionOutput
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from milestoned.devnet import encode
from milestoned.devnet.chain import Block, Chain, IntersectionNotFound, PointUnknown, dumps, entries_at
from milestoned.devnet.evaluation import run_for_submission, run_prepared, scripts_for_submission
from milestoned.devnet.faucet import FaucetError
from milestoned.devnet.http import http_aware
from milestoned.devnet.ledger import LedgerError, ValidatedTransaction
from milestoned.devnet.network import Network
from milestoned.devnet.queries import Query, governance_and_staking_queries
from milestoned.devnet.rpc import RpcError, Session, invalid_params, parse_point, parse_utxo, response
from milestoned.devnet.transaction import MalformedTransaction, decode_transaction

CHAIN_SYNC = frozenset({"findIntersection", "nextBlock"})
MEMPOOL_CAPACITY = 2 * 90_112


class DevnetServer:
    """Serves one `Chain` over WebSocket on `host:port` (port 0 picks a free one)."""

    def __init__(self, chain: Chain, network: Network, host: str = "127.0.0.1", port: int = 1337) -> None:
        self.chain = chain
        self.network = network
        self.host = host
        self.port = port
        self._server: Server | None = None
        self._sessions: set[Session] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self._changed = asyncio.Event()
        self.on_clock_change: Callable[[int], None] | None = None
        self.forge: Callable[[], Awaitable[Block]] | None = None
        """How `devnet/produceBlock` gets its block (the running devnet waits for a free slot)."""
        self.include: Callable[[bytes], Awaitable[Block]] | None = None
        """How `devnet/fund` gets the block holding its payment."""
        self.started_at = _utc_now()
        self.last_tip_update = self.started_at
        self._last_tip: bytes | None = None
        chain.listeners.append(self._notify)
        self._methods: dict[str, Callable[[Session, dict[str, Any]], Awaitable[Any] | Any]] = {
            "queryLedgerState/tip": lambda s, p: self._acquired_point(s),
            "queryLedgerState/epoch": lambda s, p: self.network.epoch_of(self._ledger_slot(s)),
            "queryLedgerState/eraStart": lambda s, p: self.network.bound(0),
            "queryLedgerState/eraSummaries": lambda s, p: self.network.era_summaries(self._ledger_slot(s)),
            "queryLedgerState/protocolParameters": lambda s, p: encode.protocol_parameters(self.chain.params),
            "queryLedgerState/utxo": self._query_utxo,
            "queryLedgerState/rewardAccountSummaries": lambda s, p: [],
            "queryNetwork/tip": lambda s, p: self.chain.point_json(),
            "queryNetwork/blockHeight": lambda s, p: (
                self.chain.tip.height if self.chain.tip is not None else encode.ORIGIN
            ),
            "queryNetwork/startTime": lambda s, p: self.network.start_time_json(),
            "queryNetwork/genesisConfiguration": self._genesis_configuration,
            "acquireLedgerState": self._acquire_ledger_state,
            "releaseLedgerState": self._release_ledger_state,
            "submitTransaction": self._submit,
            "evaluateTransaction": self._evaluate,
            "acquireMempool": self._acquire_mempool,
            "nextTransaction": self._next_transaction,
            "hasTransaction": self._has_transaction,
            "sizeOfMempool": self._size_of_mempool,
            "releaseMempool": self._release_mempool,
            "devnet/fund": self._fund,
            "devnet/advanceTime": self._advance_time,
            "devnet/produceBlock": lambda s, p: self._produce_block(),
            "devnet/rollback": self._rollback,
            "devnet/dropConnections": self._drop_connections,
        }
        for method, query in governance_and_staking_queries(chain, network).items():
            self._methods[method] = self._at_ledger_slot(query)

    def _at_ledger_slot(self, query: Query) -> Callable[[Session, dict[str, Any]], Any]:
        return lambda session, params: query(params, self._ledger_slot(session))

    # --- lifecycle ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_http,
            create_connection=http_aware(self.answer_http),
            compression=None,
            max_size=16 * 1024 * 1024,
            ping_interval=None,
        )
        sockets = list(self._server.sockets)
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _notify(self) -> None:
        tip = self.chain.tip
        if tip is not None and tip.id != self._last_tip:
            self._last_tip = tip.id
            self.last_tip_update = _utc_now()
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_change(self) -> None:
        await self._changed.wait()

    def _process_http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/health":
            tip = self.chain.tip
            slot = tip.slot if tip is not None else 0
            body = {
                "startTime": self.started_at,
                "lastKnownTip": self.chain.tip_json(),
                "lastTipUpdate": self.last_tip_update,
                "networkSynchronization": 1,
                "currentEra": "conway",
                "connectionStatus": "connected",
                "currentEpoch": self.network.epoch_of(slot),
                "slotInEpoch": slot - self.network.first_slot_of(self.network.epoch_of(slot)),
                "version": "v6.14.0 (milestoned devnet)",
                "network": "devnet",
            }
            reply = connection.respond(200, json.dumps(body))
            reply.headers["Content-Type"] = "application/json"
            return reply
        return None

    # --- connection handling -----------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        session = Session(connection)
        self._sessions.add(session)
        workers = [
            asyncio.create_task(self._chain_sync_worker(session)),
            asyncio.create_task(self._worker(session)),
        ]
        try:
            async for frame in connection:
                await self._dispatch(session, frame)
        except ConnectionClosed:
            pass
        finally:
            self._sessions.discard(session)
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await worker

    @staticmethod
    def _parse_request(frame: str | bytes) -> dict[str, Any] | bytes:
        """The request object, or the error answer for a frame that is not a JSON-RPC request."""
        try:
            request = json.loads(frame)
        except ValueError as exc:
            return response(None, None, error=RpcError(-32700, f"Invalid JSON: {exc}"))
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            request_id = request.get("id") if isinstance(request, dict) else None
            error = RpcError(-32600, "Invalid request: expected an object with a string 'method'.")
            return response(None, request_id, error=error)
        return request

    async def _dispatch(self, session: Session, frame: str | bytes) -> None:
        request = self._parse_request(frame)
        if isinstance(request, bytes):
            await self._send(session, request)
            return
        method = request["method"]
        if method == "findIntersection" and session.next_in_flight > 0:
            error = RpcError(
                1001,
                "findIntersection arrived while nextBlock requests are still in flight; wait for their "
                "responses first.",
            )
            await self._send(session, response(method, request.get("id"), error=error))
            return
        if method in CHAIN_SYNC:
            if method == "nextBlock":
                session.next_in_flight += 1
            session.chain_sync.put_nowait(request)
        else:
            session.others.put_nowait(request)

    async def _send(self, session: Session, message: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await session.connection.send(message.decode())

    async def _worker(self, session: Session) -> None:
        while True:
            request = await session.others.get()
            await self._send(session, await self._answer(session, request))

    async def _answer(self, session: Session, request: dict[str, Any]) -> bytes:
        """The answer to one request of the request/response kind (everything but chain sync)."""
        method, request_id = request["method"], request.get("id")
        params = request.get("params")
        handler = self._methods.get(method)
        if handler is None:
            return response(method, request_id, error=RpcError(-32601, f"Unknown method {method!r}."))
        if params is not None and not isinstance(params, dict):
            return response(method, request_id, error=invalid_params("'params' must be an object."))
        try:
            result = handler(session, params or {})
            if asyncio.iscoroutine(result):
                result = await result
        except RpcError as exc:
            return response(method, request_id, error=exc)
        except (KeyError, TypeError, ValueError) as exc:
            error = invalid_params(f"Invalid params for {method}: {type(exc).__name__}: {exc}")
            return response(method, request_id, error=error)
        except Exception as exc:  # a bug must cost one answer, never the connection
            error = RpcError(-32603, f"Internal error in the devnet while handling {method}: {exc!r}")
            return response(method, request_id, error=error)
        return response(method, request_id, result)

    async def answer_http(self, connection: ServerConnection, body: bytes) -> tuple[int, bytes]:
        """A JSON-RPC request sent by HTTP POST, answered as Ogmios does: in a session of its own, with
        status 200, or 400 when the answer is an error."""
        request = self._parse_request(body)
        if isinstance(request, bytes):
            return 400, request
        session = Session(connection)
        if request["method"] == "findIntersection":
            answer = self._find_intersection(session, request)
        elif request["method"] == "nextBlock":
            answer = await self._next_block(session, request.get("id"))
        else:
            answer = await self._answer(session, request)
        return (400 if "error" in json.loads(answer) else 200), answer

    # --- chain sync --------------------------------------------------------------------------------

    async def _chain_sync_worker(self, session: Session) -> None:
        while True:
            request = await session.chain_sync.get()
            method, request_id = request["method"], request.get("id")
            if method == "findIntersection":
                await self._send(session, self._find_intersection(session, request))
                continue
            message = await self._next_block(session, request_id)
            session.next_in_flight -= 1
            await self._send(session, message)

    def _find_intersection(self, session: Session, request: dict[str, Any]) -> bytes:
        request_id = request.get("id")
        params = request.get("params")
        listed = params.get("points") if isinstance(params, dict) else None
        if not isinstance(listed, list):
            shown = json.dumps(listed)[:60] if listed is not None else "nothing"
            error = invalid_params(
                f'findIntersection needs params.points, a list of points, each "origin" or '
                f'{{"slot": N, "id": "HASH"}}; got {shown}. For the origin write "points": ["origin"].'
            )
            return response("findIntersection", request_id, error=error)
        try:
            points = [parse_point(p) for p in listed]
        except (KeyError, TypeError, ValueError) as exc:
            error = invalid_params(
                f"findIntersection needs params.points, a list of points or 'origin': {exc}"
            )
            return response("findIntersection", request_id, error=error)
        try:
            found = self.chain.find_intersection(points)
        except IntersectionNotFound:
            error = RpcError(1000, "No intersection found.", {"tip": self.chain.tip_json()})
            return response("findIntersection", request_id, error=error)
        session.cursor = found.id if found is not None else None
        session.rewind_to = (found,)
        intersection = found.point if found is not None else encode.ORIGIN
        return response(
            "findIntersection", request_id, {"intersection": intersection, "tip": self.chain.tip_json()}
        )

    async def _next_block(self, session: Session, request_id: Any) -> bytes:
        if session.rewind_to is not None:
            (target,) = session.rewind_to
            session.rewind_to = None
            return self._backward(request_id, target)
        while True:
            step = self.chain.next_step(session.cursor)
            if step is None:
                await self.wait_for_change()
                continue
            direction, block = step
            if direction == "backward":
                session.cursor = block.id if block is not None else None
                return self._backward(request_id, block)
            assert block is not None
            session.cursor = block.id
            tip = dumps(self.chain.tip_json())
            return (
                b'{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","tip":'
                + tip
                + b',"block":'
                + block.json
                + b'},"id":'
                + dumps(request_id)
                + b"}"
            )

    def _backward(self, request_id: Any, block: Block | None) -> bytes:
        point = block.point if block is not None else encode.ORIGIN
        result = {"direction": "backward", "tip": self.chain.tip_json(), "point": point}
        return response("nextBlock", request_id, result)

    # --- ledger state ------------------------------------------------------------------------------

    def _ledger_utxo(self, session: Session) -> dict[TransactionInput, TransactionOutput]:
        if session.acquired is None:
            return self.chain.utxo
        block, utxo = session.acquired
        if block is not None and not self.chain.on_chain(block.id):
            raise RpcError(
                2003,
                "The acquired ledger state is no longer available; acquire a new point.",
                "the acquired point was rolled back",
            )
        return utxo

    def _ledger_slot(self, session: Session) -> int:
        if session.acquired is not None:
            block = session.acquired[0]
            return block.slot if block is not None else 0
        tip = self.chain.tip
        return tip.slot if tip is not None else 0

    def _acquired_point(self, session: Session) -> Any:
        if session.acquired is not None:
            self._ledger_utxo(session)
            block = session.acquired[0]
            return block.point if block is not None else encode.ORIGIN
        return self.chain.point_json()

    def _acquire_ledger_state(self, session: Session, params: dict[str, Any]) -> Any:
        point = parse_point(params["point"])
        block: Block | None = None
        if point is not None:
            block = self.chain.block_by_id(point[1])
            if block is None or block.slot != point[0]:
                raise RpcError(
                    2000, "Failed to acquire the ledger state: the point is unknown.", "unknown point"
                )
        try:
            utxo = self.chain.utxo_at(block.id if block is not None else None)
        except PointUnknown as exc:
            raise RpcError(2000, f"Failed to acquire the ledger state: {exc}.", str(exc)) from exc
        session.acquired = (block, utxo)
        return {"acquired": "ledgerState", "point": block.point if block is not None else encode.ORIGIN}

    def _release_ledger_state(self, session: Session, params: dict[str, Any]) -> Any:
        session.acquired = None
        return {"released": "ledgerState"}

    def _query_utxo(self, session: Session, params: dict[str, Any]) -> Any:
        utxo = self._ledger_utxo(session)
        if "outputReferences" in params:
            refs = [
                TransactionInput.from_primitive([bytes.fromhex(r["transaction"]["id"]), int(r["index"])])
                for r in params["outputReferences"]
            ]
            return encode.utxo_set((r, utxo[r]) for r in refs if r in utxo)
        if "addresses" in params:
            try:
                addresses = [Address.from_primitive(a) for a in params["addresses"]]
            except Exception as exc:
                raise invalid_params(f"invalid address in params.addresses: {exc}") from exc
            return encode.utxo_set(entries_at(utxo, addresses))
        if params:
            raise invalid_params("queryLedgerState/utxo takes outputReferences, addresses, or nothing.")
        return encode.utxo_set(utxo.items())

    def _genesis_configuration(self, session: Session, params: dict[str, Any]) -> Any:
        era = params.get("era")
        if era not in ("byron", "shelley", "alonzo", "conway"):
            raise invalid_params("params.era must be one of byron, shelley, alonzo, conway.")
        return self.network.genesis_configuration(era, self.chain.genesis_funds, self.chain.params)

    # --- submission and evaluation -----------------------------------------------------------------

    def _decode(self, params: dict[str, Any]) -> Any:
        try:
            raw = bytes.fromhex(params["transaction"]["cbor"])
            return decode_transaction(raw)
        except (KeyError, TypeError, ValueError, MalformedTransaction) as exc:
            message = f"Invalid transaction; it did not deserialise as a Conway transaction: {exc}"
            eras = ("shelley", "allegra", "mary", "alonzo", "babbage", "conway")
            raise RpcError(-32602, message, {era: str(exc) for era in eras}) from exc

    async def _submit(self, session: Session, params: dict[str, Any]) -> Any:
        decoded = self._decode(params)
        # The scripts run in a worker thread, ahead of the ledger's rules: the loop keeps serving
        # chain sync and every other client meanwhile (several submissions evaluate in parallel).
        prepared = scripts_for_submission(self.chain.view(), decoded)
        runs = await asyncio.to_thread(run_for_submission, decoded, prepared) if prepared else None
        result = self.chain.submit(decoded, runs)
        if isinstance(result, LedgerError):
            raise RpcError(result.code, result.message, result.data)
        return {"transaction": {"id": decoded.id_hex}}

    async def _evaluate(self, session: Session, params: dict[str, Any]) -> Any:
        decoded = self._decode(params)
        additional = {}
        for entry in params.get("additionalUtxo") or []:
            txin, output = parse_utxo(entry)
            additional[txin] = output
        prepared = self.chain.prepare_evaluation(decoded, additional)
        result = (
            prepared
            if isinstance(prepared, LedgerError)
            else await asyncio.to_thread(run_prepared, decoded, prepared)
        )
        if isinstance(result, LedgerError):
            raise RpcError(result.code, result.message, result.data)
        return [
            {
                "validator": encode.redeemer_pointer(run.tag, run.index),
                "budget": encode.execution_units(run.budget),
            }
            for run in result
        ]

    # --- mempool monitoring ------------------------------------------------------------------------

    async def _acquire_mempool(self, session: Session, params: dict[str, Any]) -> Any:
        """A snapshot of the mempool. Holding one already, wait until the mempool differs from it (the
        node's MsgAwaitAcquire, which Ogmios uses for a second acquireMempool), so that a client polling
        in a loop sees each change once instead of spinning on the same snapshot."""
        if session.mempool is not None:
            held = [tx.id for tx in session.mempool]
            while [tx.id for tx in self.chain.mempool] == held:
                await self.wait_for_change()
        session.mempool = list(self.chain.mempool)
        session.mempool_slot = self.chain.slot
        session.mempool_position = 0
        return {"acquired": "mempool", "slot": session.mempool_slot}

    def _snapshot(self, session: Session) -> list[ValidatedTransaction]:
        if session.mempool is None:
            raise RpcError(4000, "Acquire a mempool snapshot (acquireMempool) first.")
        return session.mempool

    def _next_transaction(self, session: Session, params: dict[str, Any]) -> Any:
        snapshot = self._snapshot(session)
        if session.mempool_position >= len(snapshot):
            return {"transaction": None}
        tx = snapshot[session.mempool_position]
        session.mempool_position += 1
        if params.get("fields") == "all":
            return {"transaction": encode.transaction(tx.decoded, tx.spends)}
        return {"transaction": {"id": tx.decoded.id_hex}}

    def _has_transaction(self, session: Session, params: dict[str, Any]) -> Any:
        snapshot = self._snapshot(session)
        wanted = bytes.fromhex(params["id"])
        return any(tx.id == wanted for tx in snapshot)

    def _size_of_mempool(self, session: Session, params: dict[str, Any]) -> Any:
        snapshot = self._snapshot(session)
        return {
            "maxCapacity": {"bytes": MEMPOOL_CAPACITY},
            "currentSize": {"bytes": sum(tx.decoded.size for tx in snapshot)},
            "transactions": {"count": len(snapshot)},
        }

    def _release_mempool(self, session: Session, params: dict[str, Any]) -> Any:
        self._snapshot(session)
        session.mempool = None
        return {"released": "mempool"}

    # --- devnet/* ----------------------------------------------------------------------------------

    async def _fund(self, session: Session, params: dict[str, Any]) -> Any:
        try:
            address = Address.from_primitive(params["address"])
        except KeyError as exc:
            raise invalid_params("devnet/fund needs params.address (bech32).") from exc
        except Exception as exc:
            raise invalid_params(f"devnet/fund: invalid address {params.get('address')!r}: {exc}") from exc
        lovelace = params.get("lovelace", 10_000_000_000)
        assets = {bytes.fromhex(name): int(qty) for name, qty in (params.get("assets") or {}).items()}
        if not isinstance(lovelace, int) or lovelace <= 0:
            raise invalid_params("devnet/fund: params.lovelace must be a positive integer.")
        try:
            funding = self.chain.fund(address, lovelace, assets)
        except FaucetError as exc:
            raise invalid_params(f"devnet/fund: {exc}") from exc
        block: Block | None = None
        if params.get("produceBlock", True):
            block = await self.include(funding.id) if self.include is not None else self.chain.produce_block()
        result: dict[str, Any] = {
            "transaction": {"id": funding.decoded.id_hex},
            "index": 0,
            "policy": self.chain.faucet.policy_id.hex(),
        }
        if block is not None:
            result["block"] = block.tip
        return result

    def _advance_time(self, session: Session, params: dict[str, Any]) -> Any:
        slots = params.get("slots")
        if not isinstance(slots, int) or slots < 0:
            raise invalid_params("devnet/advanceTime needs params.slots, a non-negative integer.")
        self.chain.advance(slots)
        if self.on_clock_change is not None:
            self.on_clock_change(slots)
        return {"slot": self.chain.slot}

    async def _produce_block(self) -> Any:
        block = await self.forge() if self.forge is not None else self.chain.produce_block()
        return {"block": block.tip, "transactions": [tx.decoded.id_hex for tx in block.transactions]}

    def _rollback(self, session: Session, params: dict[str, Any]) -> Any:
        count = params.get("blocks")
        if not isinstance(count, int):
            raise invalid_params("devnet/rollback needs params.blocks, the number of blocks to drop.")
        try:
            removed = self.chain.rollback(count, resubmit=bool(params.get("resubmit", True)))
        except ValueError as exc:
            raise invalid_params(f"devnet/rollback: {exc}") from exc
        return {"tip": self.chain.tip_json(), "rolledBack": [block.point for block in removed]}

    async def _drop_connections(self, session: Session, params: dict[str, Any]) -> Any:
        count = len(self._sessions)
        asyncio.get_running_loop().call_later(0.05, self.drop_connections)
        return {"dropped": count}

    def drop_connections(self) -> None:
        """Close every client connection (clients see the socket close and must reconnect)."""
        for session in list(self._sessions):
            closing = asyncio.ensure_future(
                session.connection.close(code=1001, reason="devnet dropped the connection")
            )
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
