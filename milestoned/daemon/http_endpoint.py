"""The HTTP endpoint for monitoring: `/metrics` (Prometheus text format) and `/health` (JSON).

Why a few lines of asyncio instead of a web framework: two read-only GET routes on loopback do not justify
a dependency, and serving them from the daemon's own event loop means the answer reflects the live state
(and stops answering if the loop is stuck, which is what a health check should notice). `/health`
answers 200 when synced and 503 otherwise, so a load balancer or a `curl -f` can use it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from milestoned.daemon.health import Health
from milestoned.daemon.health_checks import HealthChecks
from milestoned.daemon.socket_server import SocketServer

log = structlog.get_logger("milestoned.http")
MAX_REQUEST_HEAD = 8192


class Metrics:
    """The daemon's gauges and counters, in a registry of its own (no global default registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.node_tip_slot = Gauge("milestoned_node_tip_slot", "Slot of the node's tip", registry=r)
        self.indexer_slot = Gauge("milestoned_indexer_slot", "Slot the indexer has processed", registry=r)
        self.lag_slots = Gauge("milestoned_lag_slots", "Node tip slot minus indexer slot", registry=r)
        self.log_position = Gauge("milestoned_log_position", "Events in the event log", registry=r)
        self.projection_position = Gauge(
            "milestoned_projection_position", "Last log position applied to the projections", registry=r
        )
        self.connected = Gauge("milestoned_ogmios_connected", "1 when chain sync is connected", registry=r)
        self.synced = Gauge("milestoned_synced", "1 when synced (health state)", registry=r)
        self.blocks_seen = Gauge("milestoned_blocks_seen", "Blocks the indexer has seen", registry=r)
        self.rollbacks = Gauge("milestoned_rollbacks_recorded", "Rollbacks recorded", registry=r)
        self.reconnects = Gauge("milestoned_ogmios_reconnects", "Ogmios reconnections", registry=r)
        self.requests = Gauge("milestoned_socket_requests", "Socket requests answered", registry=r)
        self.request_errors = Gauge(
            "milestoned_socket_request_errors", "Socket requests with an error", registry=r
        )
        self.pending_submissions = Gauge(
            "milestoned_pending_submissions", "Submitted release transactions not yet settled", registry=r
        )
        self.discovery_ignored = Gauge(
            "milestoned_discovery_ignored",
            "Registration metadata (label 1967) met on chain and not taken for a schedule, by reason",
            ["reason"],
            registry=r,
        )
        self.health_problems = Gauge(
            "milestoned_health_problems", "Problems in the health answer now (0 when healthy)", registry=r
        )
        self.store_write_failures = Gauge(
            "milestoned_store_write_failures",
            "Store write probes and log appends that failed since the start (a full disk, permissions)",
            registry=r,
        )
        self.projection_failures = Gauge(
            "milestoned_projection_failures",
            "Times the projections became unreadable or could not be updated, since the start",
            registry=r,
        )
        self.connections_refused = Gauge(
            "milestoned_socket_connections_refused",
            "Socket connections refused by the per-user or admin-slot limits (-32004)",
            registry=r,
        )
        self.socket_timeouts = Gauge(
            "milestoned_socket_timeouts", "Socket connections closed for a read or idle timeout", registry=r
        )
        self.requests_too_large = Gauge(
            "milestoned_socket_requests_too_large", "Socket requests over max_request_bytes", registry=r
        )
        self.leader = Gauge(
            "milestoned_leader",
            "1 when this daemon writes (leader, or alone on SQLite), 0 when it follows",
            registry=r,
        )
        self.leader_term = Gauge("milestoned_leader_term", "The leader term this daemon knows", registry=r)
        self.follower_failures = Gauge(
            "milestoned_follower_failures", "Chain follower failures (each followed by a restart)", registry=r
        )

    def observe_leadership(self, leadership: Any) -> None:
        """Leader (1) or follower (0; the single daemon of an SQLite store counts as leader), and the term."""
        self.leader.set(1 if leadership.may_write else 0)
        self.leader_term.set(leadership.term)

    def observe(self, health: Health) -> None:
        self.connected.set(1 if health.connected else 0)
        self.synced.set(1 if health.ok else 0)
        if health.node_tip_slot is not None:
            self.node_tip_slot.set(health.node_tip_slot)
        if health.indexer_slot is not None:
            self.indexer_slot.set(health.indexer_slot)
        if health.lag_slots is not None:
            self.lag_slots.set(health.lag_slots)
        self.log_position.set(health.log_position)
        if health.projection_position is not None:
            self.projection_position.set(health.projection_position)
        self.health_problems.set(len(health.problems))

    def observe_socket(self, server: SocketServer) -> None:
        self.connections_refused.set(server.connections_refused)
        self.socket_timeouts.set(server.connections_timed_out)
        self.requests_too_large.set(server.requests_too_large)

    def observe_checks(self, checks: HealthChecks) -> None:
        self.store_write_failures.set(checks.store_write_failures)
        self.projection_failures.set(checks.projection_failures)
        self.follower_failures.set(checks.follower_failures)

    def render(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One parsed request head. `path` is the target before `?`, `query` the raw text after it."""

    method: str
    target: str
    path: str
    query: str
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def parse_head(head: bytes) -> HttpRequest:
    """The request line and headers (names lower-cased; a repeated header keeps its last value)."""
    lines = head.decode("latin-1").split("\r\n")
    method, target = [*lines[0].split(), "", ""][:2]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    return HttpRequest(method, target, path, query, headers)


def response_bytes(response: HttpResponse, *, head_only: bool) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers)
    content_type = f"Content-Type: {response.content_type}\r\n" if response.content_type else ""
    return (
        f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Error')}\r\n{content_type}"
        f"Content-Length: {len(response.body)}\r\n{extra}Connection: close\r\n\r\n"
    ).encode("latin-1") + (b"" if head_only else response.body)


class HttpListener:
    """A small asyncio HTTP/1.1 server: one request per connection, GET and HEAD only, bounded in time
    and size, so a slow or hostile client costs one idle coroutine and never holds up the event loop.

    The monitoring endpoint and the web view (`milestoned.web`) both serve through it: one HTTP stack.
    `handle` must not raise; if it does, the client gets a 500 and the log gets the traceback.
    """

    def __init__(
        self,
        host: str,
        port: int,
        handle: Callable[[HttpRequest], HttpResponse],
        *,
        name: str = "http",
        read_timeout: float = 10.0,
        write_timeout: float = 10.0,
        max_connections: int = 256,
    ) -> None:
        self.host = host
        self.port = port
        self.handle = handle
        self.name = name
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.max_connections = max_connections
        self.open_connections = 0
        self._server: asyncio.AbstractServer | None = None

    @property
    def bound_port(self) -> int:
        sockets = getattr(self._server, "sockets", None)
        assert sockets
        return int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_REQUEST_HEAD)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        try:
            response, head_only = await self._answer(reader)
            if response is not None:
                writer.write(response_bytes(response, head_only=head_only))
                await asyncio.wait_for(writer.drain(), self.write_timeout)
        except (TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("http request failed", server=self.name)
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[HttpResponse | None, bool]:
        text = "text/plain; charset=utf-8"
        if self.open_connections > self.max_connections:
            return HttpResponse(
                503, text, b"too many connections; try again\n", (("Retry-After", "1"),)
            ), False
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.read_timeout)
        except TimeoutError:
            return HttpResponse(408, text, b"request head not received in time\n"), False
        except asyncio.LimitOverrunError:
            return HttpResponse(431, text, f"request head over {MAX_REQUEST_HEAD} bytes\n".encode()), False
        except asyncio.IncompleteReadError:
            return None, False
        request = parse_head(head)
        try:
            return self.handle(request), request.method == "HEAD"
        except Exception:
            log.exception("http handler failed", server=self.name, path=request.path[:200])
            return HttpResponse(500, text, b"internal error; the daemon's log has the details\n"), False


class HttpEndpoint:
    def __init__(
        self,
        host: str,
        port: int,
        metrics: Metrics,
        health: Callable[[], Health],
        checks: HealthChecks | None = None,
        attestations: Callable[[str], tuple[int, bytes]] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self.health = health
        self.checks = checks
        self.attestations = attestations
        """`GET /attestations/<schedule id>`: the public attestations file beneficiaries claim with."""
        self._listener = HttpListener(host, port, self.handle, name="metrics")

    @property
    def bound_port(self) -> int:
        return self._listener.bound_port

    async def start(self) -> None:
        await self._listener.start()
        log.info("metrics and health endpoint listening", host=self.host, port=self.bound_port)

    async def stop(self) -> None:
        await self._listener.stop()

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(405, "text/plain", b"only GET\n", (("Allow", "GET, HEAD"),))
        if request.path == "/metrics":
            current = self.health()
            self.metrics.observe(current)
            if self.checks is not None:
                self.metrics.observe_checks(self.checks)
            return HttpResponse(200, CONTENT_TYPE_LATEST, self.metrics.render())
        if request.path in ("/health", "/healthz"):
            current = self.health()
            return HttpResponse(
                200 if current.ok else 503, "application/json", orjson.dumps(current.to_json()) + b"\n"
            )
        if request.path.startswith("/attestations/") and self.attestations is not None:
            code, body = self.attestations(request.path.removeprefix("/attestations/"))
            return HttpResponse(code if code in (200, 404) else 400, "application/json", body)
        return HttpResponse(404, "text/plain", b"try /metrics or /health\n")
