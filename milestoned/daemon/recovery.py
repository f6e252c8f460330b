"""Auto-recovery at start: a store that fails verification is moved aside and the log rebuilt from the chain.

Why (DESIGN §10, "Recovery"): the chain proves every schedule, allocation, release, reclaim and every
signature a release used; only the daemon's own log holds the rest (signatures committed but not yet used,
pending submissions). So a missing, truncated, corrupted or tampered store is never reused (appending to
it would chain new facts onto a history that is not what happened) and never deleted (it may hold those
local-only facts): it is moved aside under a timestamped name, the log is rebuilt by following the chain
from the earliest point that matters (the recovery card's, the configured start point, or the origin,
with a warning of how long that takes), and what only the old log held is listed, read from the damaged
copy where it can be read, each with the command that commits it again.

The decisions (is the store sound? where to rebuild from?) are plain functions of what was found; the
moves and reads around them are the shell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog

from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.anchor import HEAD_FILE_NAME, HeadFile
from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, StoreConfig
from milestoned.eventlog.events import (
    ChainPoint,
    OracleSignatureCommitted,
    OracleSignatureSeen,
    ReleaseSubmitted,
    ScheduleRegistered,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionIntended,
)
from milestoned.eventlog.hashchain import open_record
from milestoned.eventlog.recovery_card import RecoveryCard, RecoveryCardError, point_text, read_card
from milestoned.eventlog.verify import StoreCheck
from milestoned.eventlog.verify import check_store as verify_store
from milestoned.shared.config import DaemonConfig

log = structlog.get_logger("milestoned.recovery")

CARD_FILE_NAME = "recovery-card.json"
ORIGIN_WARNING = (
    "no recovery card and no start point: the log is rebuilt from the chain's origin, which on mainnet "
    "takes hours (a few on preprod); keep the recovery card (`milestonectl recovery card`) elsewhere and "
    "set store.recovery_card to it so that a rebuild starts at the first registration"
)


@dataclass(frozen=True, slots=True)
class LocalFact:
    """A fact only the old log held, and the command that gives it back."""

    kind: str
    description: str
    command: str
    allocation_refs: tuple[str, ...] = ()
    """For a pending submission: the allocations it spends (settled if the chain shows them released)."""
    schedule_id: str = ""
    """For a schedule registered here: settled if the rebuilt log discovered it on chain."""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "description": self.description, "command": self.command}


@dataclass
class Recovery:
    """A rebuild of the log from the chain in progress (or refused): what the daemon says about it."""

    reasons: tuple[str, ...]
    start: ChainPoint
    source: str
    moved_to: str = ""
    local_only: list[LocalFact] = field(default_factory=list)
    state: str = "recovering"
    """recovering → done (the follower reached the node's tip), or refused (the start point is not on
    the node's chain)."""
    error: str = ""
    started: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reasons": list(self.reasons),
            "from": point_text(self.start),
            "source": self.source,
            "moved_aside_to": self.moved_to,
            "local_only": [fact.to_json() for fact in self.local_only],
            "error": self.error,
            "seconds": round(time.monotonic() - self.started, 1),
        }


def head_file(config: DaemonConfig) -> HeadFile:
    return HeadFile(Path(config.store.data_dir) / HEAD_FILE_NAME)


def check_store(config: DaemonConfig) -> StoreCheck:
    """Verify the configured log against its hash chain and the head recorded outside it; never writes."""
    return verify_store(parse_store_url(config.store.log_url), head_file(config))


def read_recovery_card(config: DaemonConfig) -> tuple[RecoveryCard | None, str]:
    """The card to rebuild from: the configured one, else the copy in the data directory; and its path.

    A card that cannot be used raises `RecoveryCardError` (a wrong card must not silently become a scan
    from the origin).
    """
    candidates = [Path(config.store.recovery_card)] if config.store.recovery_card else []
    candidates.append(Path(config.store.data_dir) / CARD_FILE_NAME)
    for path in candidates:
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise RecoveryCardError(f"cannot read the recovery card {path}: {exc}") from None
        try:
            return read_card(text, network=config.chain.network), str(path)
        except RecoveryCardError as exc:
            raise RecoveryCardError(f"{path}: {exc}") from None
    return None, ""


def rebuild_point(config: DaemonConfig, card: RecoveryCard | None, card_path: str) -> tuple[ChainPoint, str]:
    """Where the rebuild starts, and why there: the card's earliest schedule, the configured start
    point (unless `tip`, which would skip everything that happened), else the origin."""
    from milestoned.eventlog.recovery_card import parse_point

    if card is not None and card.rebuild_from is not None:
        return card.rebuild_from, f"recovery card {card_path}"
    if config.chain.start not in ("tip", "origin"):
        return parse_point(config.chain.start), "chain.start"
    return ChainPoint.origin(), "the origin (no recovery card)"


def stamp(now: float | None = None) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def free_stamp(config: DaemonConfig) -> str:
    """A timestamp no earlier damaged copy uses (two recoveries within one second must not mix their
    files, nor collide on a PostgreSQL schema name)."""
    base = stamp()
    store = parse_store_url(config.store.log_url)
    for attempt in range(1000):
        when = base if attempt == 0 else f"{base}-{attempt}"
        folder_taken = (Path(config.store.data_dir) / f"damaged-{when}").exists()
        if not folder_taken and not (
            isinstance(store, PostgresConfig) and _schema_exists(store, _aside(store, when))
        ):
            return when
    raise RuntimeError(f"a thousand damaged copies of {base} already: clean up {config.store.data_dir}")


def _aside(store: PostgresConfig, when: str) -> str:
    return f"{store.schema}_damaged_{when.lower().replace('-', '_')}"[:63]


def _schema_exists(store: PostgresConfig, name: str) -> bool:
    import psycopg

    with psycopg.connect(**store.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        found = conn.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (name,))
        return found.fetchone() is not None


def move_aside(config: DaemonConfig, when: str) -> tuple[str, StoreConfig | None]:
    """Move the damaged store out of the way, keeping every byte; returns where, and how to read it."""
    data_dir = Path(config.store.data_dir)
    aside = data_dir / f"damaged-{when}"
    aside.mkdir(parents=True, exist_ok=True)
    store = parse_store_url(config.store.log_url)
    readable: StoreConfig | None = None
    for path in _sqlite_files(config):
        if path.exists():
            shutil.move(str(path), aside / path.name)
    if isinstance(store, SQLiteConfig):
        moved = aside / store.path.name
        readable = SQLiteConfig(moved) if moved.exists() else None
    else:
        renamed = _aside(store, when)
        _rename_schema(store, renamed)
        readable = dataclasses.replace(store, schema=renamed)
    head = data_dir / HEAD_FILE_NAME
    if head.exists():
        shutil.move(str(head), aside / HEAD_FILE_NAME)
    where = str(aside) if isinstance(store, SQLiteConfig) else f"{aside} and schema {readable.schema}"  # type: ignore[union-attr]
    return where, readable


def _sqlite_files(config: DaemonConfig) -> Iterator[Path]:
    for url in (config.store.log_url, config.store.projection_url):
        store = parse_store_url(url)
        if isinstance(store, SQLiteConfig):
            for suffix in ("", "-wal", "-shm", "-journal"):
                yield store.path.with_name(store.path.name + suffix)


def _rename_schema(store: PostgresConfig, new_name: str) -> None:
    import psycopg
    from psycopg import sql

    if _schema_exists(store, store.schema):
        with psycopg.connect(**store.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(store.schema), sql.Identifier(new_name)
                )
            )


def salvage(readable: StoreConfig | None, aside: Path) -> list[LocalFact]:
    """The local-only facts of the damaged log, read row by row (a damaged row is skipped, not fatal):
    committed signatures no release used on chain, and submissions never settled."""
    if readable is None:
        return []
    signatures: dict[tuple[str, str, str], OracleSignatureCommitted] = {}
    used: set[tuple[str, str, str]] = set()
    submitted: dict[str, ReleaseSubmitted | SubmissionIntended] = {}
    registered: dict[str, ScheduleRegistered] = {}
    try:
        with EventLog(readable) as damaged:
            for row in damaged.iter_notifications():
                opened = open_record(row.originator_version, row.topic, row.state)
                event = opened.event
                if isinstance(event, ScheduleRegistered):
                    registered.setdefault(event.schedule_id, event)
                elif isinstance(event, OracleSignatureCommitted):
                    signatures[(event.schedule_id, event.milestone_id, event.oracle_key)] = event
                elif isinstance(event, OracleSignatureSeen):
                    used.add((event.schedule_id, event.milestone_id, event.oracle_key))
                elif isinstance(event, ReleaseSubmitted | SubmissionIntended):
                    submitted[event.tx_id] = event  # an intent: maybe sent, maybe not
                elif isinstance(event, SubmissionConfirmed | SubmissionExpired | SubmissionFailed):
                    submitted.pop(event.tx_id, None)
    except Exception as exc:
        log.warning("the damaged log could not be read through; listing what was read", error=str(exc))
    facts: list[LocalFact] = []
    if registered:
        folder = aside / "reregister"
        folder.mkdir(parents=True, exist_ok=True)
        for sid, event in sorted(registered.items()):
            path = folder / f"{sid}.json"
            path.write_bytes(orjson.dumps(dict(event.definition), option=orjson.OPT_INDENT_2))
            facts.append(
                LocalFact(
                    "schedule",
                    f"schedule {sid} was registered here; unless the chain shows its registration, only "
                    "the old log knew it",
                    f"milestonectl schedule register {path}",
                    schedule_id=sid,
                )
            )
    unused = [s for key, s in sorted(signatures.items()) if key not in used]
    if unused:
        folder = aside / "recommit"
        folder.mkdir(parents=True, exist_ok=True)
        for event in unused:
            path = folder / f"{event.schedule_id[:12]}-{event.milestone_id[:24]}-{event.oracle_key[:12]}.json"
            path.write_bytes(orjson.dumps(_attestation(event), option=orjson.OPT_INDENT_2))
            facts.append(
                LocalFact(
                    "oracle_signature",
                    f"oracle {event.oracle_key[:16]}… signed milestone {_label(event.milestone_id)} of "
                    f"schedule {event.schedule_id} (committed here, not yet used by a release on chain)",
                    f"milestonectl signature commit {path}",
                )
            )
    for tx_id, event in sorted(submitted.items()):
        facts.append(
            LocalFact(
                "pending_submission",
                f"release {tx_id} of {len(event.allocation_refs)} allocation(s) was submitted and never "
                "settled; the rebuilt log shows its allocations released if it reached the chain",
                "milestonectl claimable (release again what is still claimable)",
                event.allocation_refs,
            )
        )
    return facts


def _label(milestone_hex: str) -> str:
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        return bytes.fromhex(milestone_hex).decode("utf-8")
    return milestone_hex


def _attestation(event: OracleSignatureCommitted) -> dict[str, str]:
    return {
        "schedule_id": event.schedule_id,
        "milestone_id": _label(event.milestone_id),
        "oracle_key": event.oracle_key,
        "signature": event.signature,
    }


def prepare_store(
    config: DaemonConfig, *, force: bool = False, use_card: bool = True, start: ChainPoint | None = None
) -> Recovery | None:
    """At start: None when the store is sound (or new with nothing to recover), else the recovery to run
    (the damaged store already moved aside and its local-only facts listed).

    `force` rebuilds a sound store too (`milestoned rebuild`). A fresh data directory with a recovery card
    (a lost disk, a second server) is rebuilt from the card.
    """
    check = check_store(config)
    card, card_path = read_recovery_card(config) if use_card else (None, "")
    if check.sound and not force:
        if check.existed or card is None or card.rebuild_from is None:
            return None
        reasons: tuple[str, ...] = (
            "the data directory holds no event log, and a recovery card names schedules",
        )
    else:
        reasons = check.problems or ("a rebuild was asked for",)
    if start is not None:
        source = "--from"
    else:
        start, source = rebuild_point(config, card, card_path)
    recovery = Recovery(reasons=reasons, start=start, source=source)
    if check.existed:
        when = free_stamp(config)
        where, readable = move_aside(config, when)
        recovery.moved_to = where
        recovery.local_only = salvage(readable, Path(config.store.data_dir) / f"damaged-{when}")
    log.warning(
        "the event log cannot be used as it is: rebuilding it from the chain",
        reasons=list(reasons),
        moved_aside_to=recovery.moved_to or None,
        rebuild_from=point_text(start),
        source=source,
    )
    if start.is_origin:
        log.warning(ORIGIN_WARNING)
    for fact in recovery.local_only:
        log.warning(
            "only the old log held this; give it back with the command",
            fact=fact.description,
            command=fact.command,
        )
    return recovery


def write_card(config: DaemonConfig, document: dict[str, Any]) -> None:
    """Keep the card in the data directory and, when configured, at `store.recovery_card` (atomically)."""
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    paths = [Path(config.store.data_dir) / CARD_FILE_NAME]
    if config.store.recovery_card:
        paths.append(Path(config.store.recovery_card))
    for path in paths:
        try:
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_bytes(text)
            temporary.replace(path)
        except OSError as exc:
            log.warning("cannot write the recovery card", path=str(path), error=str(exc))


def finish_if_synced(
    recovery: Recovery | None,
    synced: bool,
    head_position: int,
    released: Callable[[], set[str]],
    known: Callable[[], set[str]] = set,
) -> bool:
    """Mark a running recovery done once the follower has reached the node's tip; True when it just did.

    A pending submission of the old log whose allocations the rebuilt log shows released reached the
    chain, and a schedule registered here that the rebuilt log discovered is on chain: neither is a fact
    only the old log held any more, so they leave the list.
    """
    if recovery is None or recovery.state != "recovering" or not synced:
        return False
    recovery.state = "done"
    if any(f.allocation_refs for f in recovery.local_only):
        done = released()
        recovery.local_only = [
            f for f in recovery.local_only if not (f.allocation_refs and set(f.allocation_refs) <= done)
        ]
    if any(f.schedule_id for f in recovery.local_only):
        on_chain = known()
        recovery.local_only = [f for f in recovery.local_only if f.schedule_id not in on_chain]
    log.warning(
        "recovered the event log from the chain",
        events=head_position,
        seconds=round(time.monotonic() - recovery.started, 1),
        rebuilt_from=point_text(recovery.start),
        local_only_facts=len(recovery.local_only),
        moved_aside_to=recovery.moved_to or None,
    )
    return True
