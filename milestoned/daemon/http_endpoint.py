"""The HTTP endpoint for monitoring: `/metrics` (Prometheus text format) and `/health` (JSON).

Why a few lines of asyncio instead of a web framework: two read-only GET routes on loopback do not justify
a dependency, and serving them from the daemon's own event loop means the answer reflects the live state
(and stops answering if the loop is stuck, which is what a health check should notice). `/health`
answers 200 when synced and 503 otherwise, so a load balancer or a `curl -f` can use it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
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
        self._server: asyncio.AbstractServer | None = None

    @property
    def bound_port(self) -> int:
        sockets = getattr(self._server, "sockets", None)
        assert sockets
        return int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_REQUEST_HEAD)
        log.info("metrics and health endpoint listening", host=self.host, port=self.bound_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            method, target = [*request_line, "", ""][:2]
            if method not in ("GET", "HEAD"):
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"only GET\n"
            elif target.split("?")[0] == "/metrics":
                current = self.health()
                self.metrics.observe(current)
                if self.checks is not None:
                    self.metrics.observe_checks(self.checks)
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, self.metrics.render()
            elif target.split("?")[0] in ("/health", "/healthz"):
                current = self.health()
                status = "200 OK" if current.ok else "503 Service Unavailable"
                ctype, body = "application/json", orjson.dumps(current.to_json()) + b"\n"
            elif target.startswith("/attestations/") and self.attestations is not None:
                code, body = self.attestations(target.split("?")[0].removeprefix("/attestations/"))
                status = {200: "200 OK", 404: "404 Not Found"}.get(code, "400 Bad Request")
                ctype = "application/json"
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"try /metrics or /health\n"
            payload = b"" if method == "HEAD" else body
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except Exception:
            log.exception("http request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
