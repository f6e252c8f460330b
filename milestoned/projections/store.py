"""The projection tables and their position: the thin SQL shell around `changes.py`.

Rows and the projection's position (the last log position applied) are written in ONE transaction,
through the `eventsourcing` library's tracking recorder (its tracking table holds the position and
refuses to move it backwards). After a crash at any moment the tables and the position therefore agree,
and catch-up resumes from exactly the next event.

On SQLite the projections live in their own database file (the log file stays append-only and is never
locked by projection writes); on PostgreSQL they are tables in the configured schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import orjson
from eventsourcing.persistence import Tracking, TrackingRecorder

from milestoned.eventlog.codec import canonical_json
from milestoned.eventlog.config import PostgresConfig, StoreConfig
from milestoned.eventlog.events import ORIGIN_SLOT
from milestoned.eventlog.store import open_factory
from milestoned.projections.changes import (
    SUBMISSION_SUBMITTED,
    AddCancellation,
    AddLock,
    AddMove,
    AddReclaim,
    AddRelease,
    AddScheduleState,
    AddSignature,
    AddStateSpend,
    AddSubmission,
    DiscoverSchedule,
    MoveTip,
    RegisterSchedule,
    RowChange,
    SetSubmissionStatus,
    UndoAbove,
)
from milestoned.projections.readmodels import (
    CancellationFact,
    ChainTip,
    ClaimableAllocation,
    ExitFact,
    Facts,
    LockFact,
    MilestoneState,
    ScheduleFact,
    SignatureFact,
    Submission,
    claimable_allocations,
    milestone_states,
    paused_schedules,
)

PROJECTION_NAME = "milestoned.projections.v1"


DISCOVERED_COLUMNS = (
    "schedule_id",
    "quorum",
    "oracle_keys",
    "policy",
    "definition",
    "registration",
    "slot",
    "header_hash",
)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    create: str


TABLES: tuple[Table, ...] = (
    Table(
        "proj_schedules",
        ("schedule_id", "quorum", "oracle_keys", "policy", "definition"),
        ("schedule_id",),
        "schedule_id TEXT PRIMARY KEY, quorum BIGINT NOT NULL, oracle_keys TEXT NOT NULL, "
        "policy TEXT NOT NULL, definition TEXT NOT NULL",
    ),
    Table(
        "proj_discovered",
        DISCOVERED_COLUMNS,
        ("schedule_id",),
        "schedule_id TEXT PRIMARY KEY, quorum BIGINT NOT NULL, oracle_keys TEXT NOT NULL, "
        "policy TEXT NOT NULL, definition TEXT NOT NULL, registration TEXT NOT NULL, "
        "slot BIGINT NOT NULL, header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_signatures",
        ("schedule_id", "milestone_id", "oracle_key", "signature"),
        ("schedule_id", "milestone_id", "oracle_key"),
        "schedule_id TEXT NOT NULL, milestone_id TEXT NOT NULL, oracle_key TEXT NOT NULL, "
        "signature TEXT NOT NULL, PRIMARY KEY (schedule_id, milestone_id, oracle_key)",
    ),
    Table(
        "proj_locks",
        (
            "out_ref",
            "schedule_id",
            "milestone_id",
            "beneficiary",
            "amount",
            "vesting_time_ms",
            "tx_id",
            "slot",
            "header_hash",
        ),
        ("out_ref",),
        "out_ref TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, milestone_id TEXT NOT NULL, "
        "beneficiary TEXT NOT NULL, amount TEXT NOT NULL, vesting_time_ms BIGINT NOT NULL, "
        "tx_id TEXT NOT NULL, slot BIGINT NOT NULL, header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_releases",
        ("out_ref", "schedule_id", "tx_id", "slot", "header_hash"),
        ("out_ref",),
        "out_ref TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, tx_id TEXT NOT NULL, slot BIGINT NOT NULL, "
        "header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_reclaims",
        ("out_ref", "schedule_id", "tx_id", "slot", "header_hash"),
        ("out_ref",),
        "out_ref TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, tx_id TEXT NOT NULL, slot BIGINT NOT NULL, "
        "header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_schedule_states",
        ("out_ref", "schedule_id", "paused", "tx_id", "slot", "header_hash"),
        ("out_ref",),
        "out_ref TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, paused BIGINT NOT NULL, tx_id TEXT NOT NULL, "
        "slot BIGINT NOT NULL, header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_schedule_state_spends",
        ("spent_out_ref", "schedule_id", "tx_id", "slot", "header_hash"),
        ("spent_out_ref",),
        "spent_out_ref TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, tx_id TEXT NOT NULL, "
        "slot BIGINT NOT NULL, header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_moves",
        ("out_ref", "schedule_id", "new_out_ref", "tx_id", "slot", "header_hash"),
        ("out_ref",),
        "out_ref TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, new_out_ref TEXT NOT NULL, "
        "tx_id TEXT NOT NULL, slot BIGINT NOT NULL, header_hash TEXT NOT NULL",
    ),
    Table(
        "proj_cancellations",
        ("schedule_id", "milestone_id", "tx_id", "oracle_indices", "slot", "header_hash"),
        ("schedule_id", "milestone_id", "tx_id"),
        "schedule_id TEXT NOT NULL, milestone_id TEXT NOT NULL, tx_id TEXT NOT NULL, "
        "oracle_indices TEXT NOT NULL, slot BIGINT NOT NULL, header_hash TEXT NOT NULL, "
        "PRIMARY KEY (schedule_id, milestone_id, tx_id)",
    ),
    Table(
        "proj_submissions",
        ("tx_id", "allocation_refs", "validity_upper_slot", "status", "reason"),
        ("tx_id",),
        "tx_id TEXT PRIMARY KEY, allocation_refs TEXT NOT NULL, validity_upper_slot BIGINT NOT NULL, "
        "status TEXT NOT NULL, reason TEXT NOT NULL",
    ),
    Table(
        "proj_chain_tip",
        ("id", "slot", "header_hash", "chain_time_ms"),
        ("id",),
        "id BIGINT PRIMARY KEY, slot BIGINT NOT NULL, header_hash TEXT NOT NULL, chain_time_ms BIGINT",
    ),
)
INDEXES = (
    "CREATE INDEX IF NOT EXISTS proj_locks_slot ON proj_locks (slot)",
    "CREATE INDEX IF NOT EXISTS proj_locks_beneficiary ON proj_locks (beneficiary)",
    "CREATE INDEX IF NOT EXISTS proj_releases_slot ON proj_releases (slot)",
    "CREATE INDEX IF NOT EXISTS proj_reclaims_slot ON proj_reclaims (slot)",
    "CREATE INDEX IF NOT EXISTS proj_moves_slot ON proj_moves (slot)",
)
INSERT_TIP = "INSERT INTO proj_chain_tip (id, slot, header_hash, chain_time_ms) VALUES (1, ?, ?, ?)"
SELECT_SIGNATURES = "SELECT schedule_id, milestone_id, oracle_key FROM proj_signatures"
SELECT_EXITS = "SELECT out_ref, schedule_id, tx_id, slot FROM {table}"
SELECT_LOCKS = (
    "SELECT out_ref, schedule_id, milestone_id, beneficiary, amount, vesting_time_ms, tx_id, slot "
    "FROM proj_locks"
)
SELECT_LOCKS_AND_EXITS_OF = (
    "SELECT l.out_ref, l.schedule_id, l.milestone_id, l.beneficiary, l.amount, l.vesting_time_ms, l.tx_id, "
    "l.slot, r.out_ref AS r_out_ref, r.schedule_id AS r_schedule_id, r.tx_id AS r_tx_id, r.slot AS r_slot, "
    "c.out_ref AS c_out_ref, c.schedule_id AS c_schedule_id, c.tx_id AS c_tx_id, c.slot AS c_slot, "
    "m.out_ref AS m_out_ref, m.schedule_id AS m_schedule_id, m.tx_id AS m_tx_id, m.slot AS m_slot "
    "FROM proj_locks l LEFT JOIN proj_releases r ON r.out_ref = l.out_ref "
    "LEFT JOIN proj_reclaims c ON c.out_ref = l.out_ref "
    "LEFT JOIN proj_moves m ON m.out_ref = l.out_ref WHERE l.beneficiary = ?"
)
"""One beneficiary's locks with their release and reclaim (each out-ref exits at most once per table):
a claimable answer for one address reads its few rows, not every exit of every schedule, and in one
statement instead of three (the reader thread gives the interpreter lock up at each statement, and
gets it back only after the follower's thread had its turn). Every column is named apart: PostgreSQL's
rows are dicts by column name."""
CHAIN_TABLES = (
    "proj_locks",
    "proj_releases",
    "proj_reclaims",
    "proj_moves",
    "proj_discovered",
    "proj_schedule_states",
    "proj_schedule_state_spends",
    "proj_cancellations",
)
SELECT_SCHEDULE_STATES = "SELECT schedule_id, out_ref, paused, slot FROM proj_schedule_states"
SELECT_STATE_SPENDS = "SELECT schedule_id, spent_out_ref FROM proj_schedule_state_spends"
SELECT_CANCELLATIONS = "SELECT schedule_id, milestone_id, tx_id, slot FROM proj_cancellations"
"""Few rows (one per cancelled milestone and transaction): read whole, also for one beneficiary."""
SELECT_SCHEDULES = (
    "SELECT schedule_id, quorum, oracle_keys FROM proj_schedules "
    "UNION ALL SELECT schedule_id, quorum, oracle_keys FROM proj_discovered"
)

# One statement per change type; parameters are taken from the change in this field order.
STATEMENTS: dict[type, tuple[str, tuple[str, ...]]] = {
    RegisterSchedule: (
        "INSERT INTO proj_schedules (schedule_id, quorum, oracle_keys, policy, definition) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (schedule_id) DO NOTHING",
        ("schedule_id", "quorum", "oracle_keys", "policy", "definition"),
    ),
    DiscoverSchedule: (
        "INSERT INTO proj_discovered (schedule_id, quorum, oracle_keys, policy, definition, registration, "
        "slot, header_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule_id) DO NOTHING",
        DISCOVERED_COLUMNS,
    ),
    AddSignature: (
        "INSERT INTO proj_signatures (schedule_id, milestone_id, oracle_key, signature) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (schedule_id, milestone_id, oracle_key) DO NOTHING",
        ("schedule_id", "milestone_id", "oracle_key", "signature"),
    ),
    AddLock: (
        "INSERT INTO proj_locks (out_ref, schedule_id, milestone_id, beneficiary, amount, vesting_time_ms, "
        "tx_id, slot, header_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (out_ref) DO NOTHING",
        (
            "out_ref",
            "schedule_id",
            "milestone_id",
            "beneficiary",
            "amount",
            "vesting_time_ms",
            "tx_id",
            "slot",
            "header_hash",
        ),
    ),
    AddRelease: (
        "INSERT INTO proj_releases (out_ref, schedule_id, tx_id, slot, header_hash) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (out_ref) DO NOTHING",
        ("out_ref", "schedule_id", "tx_id", "slot", "header_hash"),
    ),
    AddReclaim: (
        "INSERT INTO proj_reclaims (out_ref, schedule_id, tx_id, slot, header_hash) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (out_ref) DO NOTHING",
        ("out_ref", "schedule_id", "tx_id", "slot", "header_hash"),
    ),
    AddScheduleState: (
        "INSERT INTO proj_schedule_states (out_ref, schedule_id, paused, tx_id, slot, header_hash) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (out_ref) DO NOTHING",
        ("out_ref", "schedule_id", "paused", "tx_id", "slot", "header_hash"),
    ),
    AddStateSpend: (
        "INSERT INTO proj_schedule_state_spends (spent_out_ref, schedule_id, tx_id, slot, header_hash) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (spent_out_ref) DO NOTHING",
        ("spent_out_ref", "schedule_id", "tx_id", "slot", "header_hash"),
    ),
    AddMove: (
        "INSERT INTO proj_moves (out_ref, schedule_id, new_out_ref, tx_id, slot, header_hash) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (out_ref) DO NOTHING",
        ("out_ref", "schedule_id", "new_out_ref", "tx_id", "slot", "header_hash"),
    ),
    AddSubmission: (
        "INSERT INTO proj_submissions (tx_id, allocation_refs, validity_upper_slot, status, reason) "
        f"VALUES (?, ?, ?, '{SUBMISSION_SUBMITTED}', '') ON CONFLICT (tx_id) DO NOTHING",
        ("tx_id", "allocation_refs", "validity_upper_slot"),
    ),
    AddCancellation: (
        "INSERT INTO proj_cancellations (schedule_id, milestone_id, tx_id, oracle_indices, slot, "
        "header_hash) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (schedule_id, milestone_id, tx_id) DO NOTHING",
        ("schedule_id", "milestone_id", "tx_id", "oracle_indices", "slot", "header_hash"),
    ),
    SetSubmissionStatus: (
        "UPDATE proj_submissions SET status = ?, reason = ? WHERE tx_id = ?",
        ("status", "reason", "tx_id"),
    ),
}


class ProjectionStore:
    """The projection tables of one store (SQLite file or PostgreSQL schema) and their position."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._postgres = isinstance(config, PostgresConfig)
        self._factory = open_factory(config)
        self._recorder: TrackingRecorder = self._factory.tracking_recorder()
        self._datastore: Any = self._recorder.datastore
        self._sql_cache: dict[str, str] = {}
        with self._transaction() as cursor:
            for table in TABLES:
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {table.name} ({table.create})")
            for index in INDEXES:
                cursor.execute(index)

    # --- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        self._factory.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------------

    def position(self) -> int:
        """The last log position applied (0 when nothing has been)."""
        return self._recorder.max_tracking_id(PROJECTION_NAME) or 0

    def apply(
        self,
        changes: Sequence[RowChange],
        position: int,
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """Apply `changes` and move the position to `position`, all in one transaction.

        `before_commit` runs inside the transaction just before it commits (tests use it to crash there).
        """
        with self._transaction() as cursor:
            for change_type, rows in _runs(changes):
                self._execute_run(cursor, change_type, rows)
            self._recorder._insert_tracking(cursor, Tracking(PROJECTION_NAME, position))  # type: ignore[attr-defined]
            if before_commit is not None:
                before_commit()

    def _execute_run(self, cursor: Any, change_type: type, rows: list[RowChange]) -> None:
        if change_type is MoveTip:
            tip = rows[-1]
            assert isinstance(tip, MoveTip)
            cursor.execute(self._sql("DELETE FROM proj_chain_tip"))
            if not tip_is_origin(tip):
                cursor.execute(
                    self._sql(INSERT_TIP),
                    (tip.slot, tip.header_hash, tip.chain_time_ms),
                )
            return
        if change_type is UndoAbove:
            for change in rows:
                assert isinstance(change, UndoAbove)
                for table in CHAIN_TABLES:
                    cursor.execute(self._sql(f"DELETE FROM {table} WHERE slot > ?"), (change.slot,))
            return
        statement, fields = STATEMENTS[change_type]
        params = [tuple(getattr(change, name) for name in fields) for change in rows]
        if len(params) == 1:
            cursor.execute(self._sql(statement), params[0])
        else:
            cursor.executemany(self._sql(statement), params)

    # --- reading -------------------------------------------------------------------------------------

    def facts(self, *, beneficiary: str | None = None) -> Facts:
        """Everything the read models are computed from. With `beneficiary`, the locks are that address'
        and so are the releases and reclaims (of its locks): what its claimable answer needs, read through
        the beneficiary index instead of every exit of every schedule."""
        with self._transaction(commit=False) as cursor:
            schedules = tuple(
                ScheduleFact(r[0], r[1], frozenset(orjson.loads(r[2])))
                for r in self._rows(cursor, SELECT_SCHEDULES)
            )
            signatures = tuple(SignatureFact(*r) for r in self._rows(cursor, SELECT_SIGNATURES))
            if beneficiary is not None:
                rows = self._rows(cursor, SELECT_LOCKS_AND_EXITS_OF, (beneficiary,))
                locks = tuple(LockFact(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7]) for r in rows)
                releases = tuple(ExitFact(*r[8:12]) for r in rows if r[8] is not None)
                reclaims = tuple(ExitFact(*r[12:16]) for r in rows if r[12] is not None)
                moves = tuple(ExitFact(*r[16:20]) for r in rows if r[16] is not None)
            else:
                rows = self._rows(cursor, SELECT_LOCKS)
                locks = tuple(LockFact(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7]) for r in rows)
                releases, reclaims, moves = (
                    tuple(ExitFact(*r) for r in self._rows(cursor, SELECT_EXITS.format(table=table)))
                    for table in ("proj_releases", "proj_reclaims", "proj_moves")
                )
            cancellations = tuple(CancellationFact(*r) for r in self._rows(cursor, SELECT_CANCELLATIONS))
            tip = self._tip(cursor)
            paused = self._paused(cursor)
        return Facts(
            schedules,
            signatures,
            locks,
            releases,
            reclaims,
            tip,
            moves=moves,
            cancellations=cancellations,
            paused=paused,
        )

    def paused_schedules(self) -> frozenset[str]:
        """The schedules whose guardians have paused their releases (issue 15)."""
        with self._transaction(commit=False) as cursor:
            return self._paused(cursor)

    def _paused(self, cursor: Any) -> frozenset[str]:
        return paused_schedules(
            self._rows(cursor, SELECT_SCHEDULE_STATES), self._rows(cursor, SELECT_STATE_SPENDS)
        )

    def milestone_states(self) -> list[MilestoneState]:
        return milestone_states(self.facts())

    def claimable(self, beneficiary: str | None = None) -> list[ClaimableAllocation]:
        return claimable_allocations(self.facts(beneficiary=beneficiary))

    def submissions(self, status: str | None = None) -> list[Submission]:
        """Submitted release transactions, optionally only those with `status` (e.g. "submitted")."""
        sql = "SELECT tx_id, allocation_refs, validity_upper_slot, status, reason FROM proj_submissions"
        with self._transaction(commit=False) as cursor:
            rows = (
                self._rows(cursor, sql + " WHERE status = ? ORDER BY tx_id", (status,))
                if status is not None
                else self._rows(cursor, sql + " ORDER BY tx_id")
            )
        return [Submission(r[0], tuple(orjson.loads(r[1])), r[2], r[3], r[4]) for r in rows]

    def chain_tip(self) -> ChainTip | None:
        """The projections' chain tip alone (`status` asks for it often; `facts()` reads every table)."""
        with self._transaction(commit=False) as cursor:
            return self._tip(cursor)

    def _tip(self, cursor: Any) -> ChainTip | None:
        tips = self._rows(cursor, "SELECT slot, header_hash, chain_time_ms FROM proj_chain_tip")
        return ChainTip(*tips[0]) if tips else None

    def dump(self, *, include_position: bool = True) -> bytes:
        """Canonical bytes of every projection row (sorted by key) and, optionally, the position.

        Two stores hold the same projections exactly when their dumps are equal, whatever the backend.
        """
        tables: dict[str, list[list[Any]]] = {}
        with self._transaction(commit=False) as cursor:
            for table in TABLES:
                sql = f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {', '.join(table.key)}"
                tables[table.name] = [list(row) for row in self._rows(cursor, sql)]
        document: dict[str, Any] = {"tables": tables}
        if include_position:
            document["position"] = self.position()
        return canonical_json(document)

    # --- internals -----------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, *, commit: bool = True) -> Iterator[Any]:
        with self._datastore.transaction(commit=commit) as cursor:
            if isinstance(self.config, PostgresConfig):
                # Our statements name tables without a schema; this transaction resolves them in ours.
                cursor.execute(f'SET LOCAL search_path TO "{self.config.schema}"')
            yield cursor

    def _sql(self, statement: str) -> str:
        """Our statements use `?` placeholders; psycopg wants `%s`."""
        if not self._postgres:
            return statement
        cached = self._sql_cache.get(statement)
        if cached is None:
            cached = self._sql_cache[statement] = statement.replace("?", "%s")
        return cached

    def _rows(self, cursor: Any, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor.execute(self._sql(statement), params)
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in cursor.fetchall()]


def tip_is_origin(tip: MoveTip) -> bool:
    """At the origin nothing has been seen: no tip row, exactly as before the first block."""
    return tip.slot == ORIGIN_SLOT


def _runs(changes: Sequence[RowChange]) -> list[tuple[type, list[RowChange]]]:
    """Group consecutive changes of one type (so each run is one executemany), keeping their order.

    Tip moves only ever replace the single tip row, so all but the last in a batch are dropped; the
    last one is applied at the end of the batch (an UndoAbove never reads the tip).
    """
    runs: list[tuple[type, list[RowChange]]] = []
    last_tip: MoveTip | None = None
    for change in changes:
        if isinstance(change, MoveTip):
            last_tip = change
            continue
        if runs and runs[-1][0] is type(change):
            runs[-1][1].append(change)
        else:
            runs.append((type(change), [change]))
    if last_tip is not None:
        runs.append((MoveTip, [last_tip]))
    return runs
