"""`milestonectl audit`: verify schedules from the chain alone, with nothing but an Ogmios endpoint.

The thin shell around the pure audit (DESIGN §10): it follows the chain with our Ogmios client from the
given point to the tip, feeds each block to the indexer's filter and discovery in memory
(`indexer.audit_pass`), stops at the tip, and hands the items to the reconciliation (`indexer.audit`).
No daemon, no data directory, nothing written, except the HTML report when asked for. With
`--against-log` it also reads a daemon's event log (read-only) and lists every chain fact on which the
log and the chain disagree (`indexer.audit_diff`).

Exit code 0 when every schedule reconciles (and the log agrees), 1 when the audit found a difference,
2 when it could not run (a bad argument, Ogmios unreachable, no log there).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.commands.output import CommandError, ExitCode, Output
from milestoned.eventlog.events import ChainPoint
from milestoned.indexer.audit import reconcile
from milestoned.indexer.audit_diff import Comparison, chain_facts, compare
from milestoned.indexer.audit_pass import ChainAudit
from milestoned.indexer.audit_report import AuditReport
from milestoned.indexer.discovery import FollowPolicy, derive_schedule_id
from milestoned.indexer.filter import WatchedContract
from milestoned.ogmios.model import ORIGIN, Point, PointOrOrigin, RollForward

log = logging.getLogger(__name__)

_SCHEDULE_ID = re.compile(r"\A[0-9a-fA-F]{56}\Z")
NETWORKS = ("mainnet", "preprod", "preview", "devnet")
MAX_RECONNECTS = 5
CONNECT_ATTEMPTS = 3


@dataclass(frozen=True)
class AuditRequest:
    ogmios: str
    start: str
    schedules: tuple[str, ...] = ()
    network: str | None = None
    html: Path | None = None
    against_log: str | None = None


@dataclass(frozen=True)
class AuditRun:
    """Everything one audit found: the report, where the chain was read, and the log comparison."""

    report: AuditReport
    start: ChainPoint
    tip: ChainPoint | None
    blocks: int
    seconds: float
    network: str
    comparison: Comparison | None = None
    log_head: tuple[int, str] | None = None
    log_source: str = ""
    items: tuple[Any, ...] = ()
    """The chain pass's items (events, witnesses, refusals), for the comparison with a log."""
    anchors: tuple[Any, ...] = ()
    """Log heads published on chain (`PublishedAnchor`) between the start and the tip."""
    anchor_problems: tuple[str, ...] = ()
    """Published heads the log no longer matches (with `--against-log`)."""

    @property
    def ok(self) -> bool:
        return self.report.ok and (self.comparison is None or self.comparison.ok) and not self.anchor_problems

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "ok": self.ok,
            "from": _point_json(self.start),
            "tip": None if self.tip is None else _point_json(self.tip),
            "blocks": self.blocks,
            "network": self.network,
            **self.report.to_json(),
        }
        document["ok"] = self.ok
        if self.comparison is not None:
            document["against_log"] = {
                "log": self.log_source,
                "head": None
                if self.log_head is None
                else {"position": self.log_head[0], "hash": self.log_head[1]},
                **self.comparison.to_json(),
                "published_heads": [
                    {
                        "tx_id": a.tx_id,
                        "slot": a.point.slot,
                        "position": a.anchor.position,
                        "hash": a.anchor.hash,
                    }
                    for a in self.anchors
                ],
                "published_head_problems": list(self.anchor_problems),
            }
        return document


def _point_json(point: ChainPoint) -> dict[str, Any] | str:
    return "origin" if point.is_origin else {"slot": point.slot, "id": point.header_hash}


def parse_request_schedules(values: Sequence[str]) -> tuple[str, ...]:
    ids = []
    for value in values:
        for part in value.replace(",", " ").split():
            if not _SCHEDULE_ID.match(part):
                raise CommandError(
                    f"--schedule {part!r} is not a schedule id",
                    "give the schedule id: its policy id, 56 hex digits (schedule show prints it)",
                )
            ids.append(part.lower())
    return tuple(dict.fromkeys(ids))


def parse_point(text: str) -> PointOrOrigin:
    from milestoned.indexer.config import parse_start_point

    try:
        point = parse_start_point(text)
    except ValueError as exc:
        raise CommandError(
            str(exc), "e.g. --from origin, or --from 4492800.f8084c61… (SLOT.HEADER_HASH)"
        ) from None
    if point == "tip":
        raise CommandError(
            "--from tip would audit nothing: the audit reads the chain from a point up to the tip",
            "give a block before the schedule's first registration transaction (SLOT.HEADER_HASH), or origin",
        )
    return point


def audit(request: AuditRequest, out: Output) -> int:
    """Run the audit and print it; the exit code says whether everything reconciled."""
    schedules = parse_request_schedules(request.schedules)
    start = parse_point(request.start)
    if request.network is not None and request.network not in NETWORKS:
        raise CommandError(f"unknown network {request.network!r}", f"use one of {', '.join(NETWORKS)}")
    log_events = None
    log_head = None
    log_hashes: dict[int, str] = {}
    if request.against_log is not None:
        log_events, log_head, log_hashes = read_log(request.against_log)
    run = asyncio.run(run_audit(request.ogmios, start, schedules, request.network))
    if log_events is not None:
        run = _with_comparison(run, log_events, log_head, schedules, request.against_log or "", log_hashes)
    if request.html is not None:
        from milestoned.commands.audit_render import html_report

        try:
            request.html.write_text(html_report(run), encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                f"cannot write the HTML report to {request.html}: {exc.strerror or exc}",
                "choose a writable path for --html",
            ) from None
    if out.json_mode:
        out.emit_json(run.to_json())
    else:
        from milestoned.commands.audit_render import render

        render(run, out)
        if request.html is not None:
            out.line(f"HTML report written to {request.html}")
    return int(ExitCode.OK if run.ok else ExitCode.FAILED)


async def run_audit(
    url: str, start: PointOrOrigin, schedules: Sequence[str], network: str | None = None
) -> AuditRun:
    """Follow the chain at `url` from `start` to its tip and reconcile what it shows (the whole audit
    without printing: the tests and the benchmark call this)."""
    from milestoned.ogmios.client import connect_with_backoff
    from milestoned.ogmios.errors import OgmiosConnectionError, OgmiosError

    began = time.perf_counter()
    position = start
    chain_pass: ChainAudit | None = None
    unspent: set[str] | None = None
    drops = 0
    while True:  # a dropped link resumes from the last block read, a few times; a dead one is an error
        try:
            client = await connect_with_backoff(url, max_attempts=CONNECT_ATTEMPTS, max_frame_bytes=None)
        except OgmiosConnectionError as exc:
            raise CommandError(
                f"cannot reach Ogmios at {url}: {exc}",
                "check the Ogmios URL (ws://HOST:1337) and that Ogmios and its node are running",
            ) from None
        try:
            if chain_pass is None:
                network = network or await _network_of(client)
                contract = WatchedContract.of_network("preprod" if network == "testnet" else network)
                follow = FollowPolicy(everything=not schedules, schedule_ids=frozenset(schedules))
                chain_pass = ChainAudit(contract, follow)
            position = await _follow_to_tip(client, position, chain_pass)
            unspent = await _ledger_unspent(client, chain_pass, schedules)
            break
        except OgmiosConnectionError as exc:
            drops += 1
            if drops > MAX_RECONNECTS:
                raise CommandError(
                    f"lost the connection to Ogmios at {url} {drops} times ({exc})",
                    "check the link to Ogmios, then run the audit again",
                ) from None
        except OgmiosError as exc:
            raise CommandError(f"Ogmios at {url} answered with an error: {exc}") from None
        finally:
            await client.abort()
    assert network is not None
    report = reconcile(chain_pass.items, derive_schedule_id, schedules, unspent)
    return AuditRun(
        report=report,
        start=_chain_point(start),
        tip=chain_pass.tip,
        blocks=chain_pass.blocks,
        seconds=time.perf_counter() - began,
        network=network,
        items=tuple(chain_pass.items),
        anchors=tuple(a for a in chain_pass.anchors if a.anchor.network == network or network == "testnet"),
    )


async def _ledger_unspent(client: Any, chain_pass: ChainAudit, schedules: Sequence[str]) -> set[str] | None:
    """Of the allocations still locked per the chain read, those the ledger at the same tip holds unspent;
    None when the ledger cannot be asked at that point (then the report says it was not checked)."""
    from milestoned.ogmios.errors import OgmiosError
    from milestoned.ogmios.model import OutputReference

    tip = chain_pass.tip
    open_refs = [
        ref for ref, sid in chain_pass.state.open_allocations.items() if not schedules or sid in schedules
    ]
    if tip is None or tip.is_origin:
        return set() if not open_refs else None
    if not open_refs:
        return set()
    references = [OutputReference(ref.split("#")[0], int(ref.split("#")[1])) for ref in open_refs]
    try:
        await client.acquire_ledger_state(Point(tip.slot, tip.header_hash))
        try:
            utxos = await client.utxo_by_output_references(references)
        finally:
            await client.release_ledger_state()
    except OgmiosError as exc:
        log.warning("still-locked allocations not checked against the ledger: %s", exc)
        return None
    return {str(utxo.reference) for utxo in utxos}


def _chain_point(point: PointOrOrigin) -> ChainPoint:
    return ChainPoint.origin() if point == ORIGIN else ChainPoint(point.slot, point.id)


async def _network_of(client: Any) -> str:
    """`mainnet` or `testnet`, from the node's Shelley genesis: all an audit needs to know (it decides
    the address prefix; the validator is the same on every network)."""
    from milestoned.ogmios.errors import OgmiosError

    try:
        genesis = await client.genesis_configuration("shelley")
    except OgmiosError as exc:
        raise CommandError(
            f"cannot ask Ogmios which network it serves ({exc})",
            "give it with --network mainnet|preprod|preview|devnet",
        ) from None
    return "mainnet" if genesis.network == "mainnet" else "testnet"


async def _follow_to_tip(client: Any, position: PointOrOrigin, chain_pass: ChainAudit) -> PointOrOrigin:
    """Chain sync from `position` until the block that is the tip; returns the last point processed."""
    if await intersect(client, position):
        return position
    return await sync_to_tip(client, chain_pass, position)


async def intersect(client: Any, position: PointOrOrigin) -> bool:
    """Start chain sync at `position`; True when that is already the tip (nothing to read)."""
    from milestoned.ogmios.errors import IntersectionNotFound

    try:
        intersection = await client.find_intersection([position])
    except IntersectionNotFound:
        raise CommandError(
            f"the point {_describe(position)} is not on the chain behind this Ogmios",
            "check the point (SLOT.HEADER_HASH of a block on this network), or audit --from origin",
        ) from None
    tip = intersection.tip
    return bool(tip == ORIGIN or (intersection.point != ORIGIN and intersection.point.id == tip.id))


async def sync_to_tip(client: Any, chain_pass: ChainAudit, position: PointOrOrigin = ORIGIN) -> PointOrOrigin:
    """Feed chain-sync answers to `chain_pass` until it holds the tip (a block, or a rollback to it).

    Called again on the same connection, it carries on where it stopped, so a test (or a long audit)
    sees the chain's rollbacks as they happen."""
    while True:
        result = await client.next_block()
        if isinstance(result, RollForward):
            chain_pass.roll_forward(result.block)
            if result.block.slot is not None:
                position = Point(result.block.slot, result.block.id)
            if result.block.id == result.tip.id:
                return position
        else:
            chain_pass.roll_backward(_chain_point(result.point))
            position = result.point
            if result.tip != ORIGIN and result.point != ORIGIN and result.point.id == result.tip.id:
                return position


def _describe(point: PointOrOrigin) -> str:
    return "origin" if point == ORIGIN else f"{point.slot}.{point.id}"


def read_log(source: str) -> tuple[list[Any], tuple[int, str], dict[int, str]]:
    """Every event of the daemon's log at `source` (SQLite path or store URL), read-only, its head, and
    each position's hash (what heads published on chain are compared with)."""
    from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, parse_store_url
    from milestoned.eventlog.store import EventLog

    try:
        config = parse_store_url(source)
    except ValueError as exc:
        raise CommandError(
            str(exc), "give --against-log the daemon's events.db path or its store URL"
        ) from None
    if isinstance(config, SQLiteConfig) and not config.path.is_file():
        raise CommandError(
            f"there is no event log at {config.path}",
            "give the daemon's log: DATA_DIR/events.db (see store.data_dir in its config), or its store URL",
        )
    if isinstance(config, PostgresConfig):
        _require_schema(config)
    try:
        with EventLog(config) as log:
            head = log.head()
            logged_events = list(log.iter_events())
            events = [logged.event for logged in logged_events]
            hashes = {logged.position: logged.hash for logged in logged_events}
    except Exception as exc:  # a damaged or foreign database: say so, never a traceback
        raise CommandError(
            f"cannot read the event log at {config.describe()}: {exc}",
            "check it with `milestonectl log verify` on its daemon, or point --against-log at another copy",
        ) from None
    return events, (head.position, head.hash), hashes


def _require_schema(config: Any) -> None:
    """Refuse a PostgreSQL schema that does not exist (opening the log would create it: not read-only)."""
    import psycopg

    try:
        with psycopg.connect(**config.conninfo()) as conn:
            row = conn.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (config.schema,)
            ).fetchone()
    except psycopg.Error as exc:
        raise CommandError(f"cannot connect to {config.describe()}: {exc}", "check the store URL") from None
    if row is None:
        raise CommandError(f"there is no event log at {config.describe()} (no such schema)", "check ?schema=")


def _with_comparison(
    run: AuditRun,
    log_events: list[Any],
    head: tuple[int, str] | None,
    schedules: Sequence[str],
    source: str,
    hashes: dict[int, str] | None = None,
) -> AuditRun:
    from dataclasses import replace

    from milestoned.domain.head_anchor import mismatches
    from milestoned.eventlog.events import HeadAnchored

    chain = chain_facts(run.items)
    chain.cursor = run.tip  # the chain was read to its tip, whatever the last relevant block
    log = chain_facts(log_events)
    comparison = compare(chain, log, start_slot=run.start.slot, schedules=schedules)
    # Every head published on chain is compared, listed by the log or not: a log rewritten with its
    # HeadAnchored events removed must not escape; one the log does not list is said to be so.
    listed = {e.tx_id for e in log_events if isinstance(e, HeadAnchored)}
    problems = []
    for published in run.anchors:
        for problem in mismatches([published.anchor], hashes or {}, 0 if head is None else head[0]):
            note = "" if published.tx_id in listed else " (a transaction the log does not list as its anchor)"
            problems.append(f"head published in {published.tx_id}: {problem}{note}")
    return replace(
        run, comparison=comparison, log_head=head, log_source=source, anchor_problems=tuple(problems)
    )
