"""Who writes: one daemon per SQLite file (a file lock), one leader among several daemons on PostgreSQL.

PostgreSQL. Every daemon tries `pg_try_advisory_lock` on a dedicated connection; the one that gets it
leads. It raises the term in `milestoned_leader` (one row: term, leader) in the same step, and from then
on every append it makes carries a fence: inside the append's own transaction the row is read `FOR SHARE`
and the append is refused unless the term is still ours. A new leader's UPDATE of the row waits for such
a transaction and every later fenced append of the old leader fails, so a deposed leader can never record
a submission intent, and it never sends what it did not record first (`submissions.send_recorded`).

The lock lives as long as the leader's session: `kill -9` closes the socket and PostgreSQL releases it at
once; a leader cut off from the network is dropped by the server's TCP keepalives (set per session from
`ha.takeover_seconds`). Followers retry every third of that time. A leader whose heartbeat on the
dedicated connection fails steps down at once: it stops writing before anybody else can be elected.

SQLite has no such lock across machines and no fencing; it is for one daemon. The first daemon holds an
exclusive `flock` on `<file>.daemon-lock` for its life (the kernel drops it on `kill -9`); a second one is
refused at start with the holder's pid and socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
from typing import IO, Any

import structlog

from milestoned.domain.leadership import Leadership, Role, fence_admits, next_term
from milestoned.eventlog.config import PostgresConfig, SQLiteConfig

log = structlog.get_logger("milestoned.leadership")

LEADER_TABLE = "milestoned_leader"


class NotLeaderError(RuntimeError):
    """This daemon is not (or no longer) the leader: the append was refused and nothing was written."""


class StoreInUseError(RuntimeError):
    """Another daemon already uses this SQLite store."""


def describe_self(socket_path: str, name: str = "") -> str:
    """How this daemon names itself to the others (the leader's name in a follower's error)."""
    return name or f"{socket.gethostname()} pid {os.getpid()} socket {socket_path}"


class SQLiteDaemonLock:
    """An exclusive `flock` beside the SQLite log, held for the daemon's life."""

    def __init__(self, config: SQLiteConfig, me: str) -> None:
        self.path = config.path.with_name(config.path.name + ".daemon-lock")
        self.me = me
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the daemon's life
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreInUseError(
                f"the SQLite store {self.path.with_name(self.path.name.removesuffix('.daemon-lock'))} is "
                f"already used by another milestoned ({holder}); SQLite is for one daemon: stop that one, "
                "give this one its own store.data_dir, or put both on PostgreSQL to run several daemons "
                "with one leader (docs/operations.md, High availability)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(self.me + "\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


def advisory_key(config: PostgresConfig) -> int:
    """The advisory lock's key: one per database and schema (two networks' schemas lead separately)."""
    digest = hashlib.blake2b(f"milestoned/leader/{config.dbname}/{config.schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class PostgresElection:
    """The advisory lock on a dedicated connection, the term row, and the fence. Blocking calls: the
    daemon runs them in worker threads, never on its event loop."""

    def __init__(self, config: PostgresConfig, me: str, takeover_seconds: float) -> None:
        self.config = config
        self.me = me
        self.takeover_seconds = takeover_seconds
        self.key = advisory_key(config)
        self._conn: Any = None
        self.term = 0
        self._table = f'"{config.schema}".{LEADER_TABLE}'

    @property
    def retry_seconds(self) -> float:
        """How often a follower tries to take the lock, and the leader checks that it still holds it."""
        return max(0.5, self.takeover_seconds / 3)

    def _connect(self) -> Any:
        import psycopg

        keepalive = max(1, int(self.takeover_seconds / 3))
        conn = psycopg.connect(
            **self.config.conninfo(),  # type: ignore[arg-type]
            autocommit=True,
            keepalives=1,
            keepalives_idle=keepalive,
            keepalives_interval=1,
            keepalives_count=3,
            application_name=f"milestoned-leadership/{self.config.schema}"[:63],
        )
        # The server drops this session (and so the lock) when the leader's machine stops answering.
        conn.execute(f"SET tcp_keepalives_idle = {keepalive}")
        conn.execute("SET tcp_keepalives_interval = 1")
        conn.execute("SET tcp_keepalives_count = 3")
        conn.execute(f"SET statement_timeout = {int(self.takeover_seconds * 1000)}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} (id INT PRIMARY KEY CHECK (id = 1), "
            "term BIGINT NOT NULL, leader TEXT NOT NULL, elected_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.execute(
            f"INSERT INTO {self._table} (id, term, leader) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING"
        )
        return conn

    def try_lead(self) -> Leadership:
        """One election round: the lock and a new term if it is free, else the current leader."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]
            if not got:
                term, leader = conn.execute(f"SELECT term, leader FROM {self._table} WHERE id = 1").fetchone()
                return Leadership(Role.FOLLOWER, int(term), str(leader))
            with conn.transaction():
                (recorded,) = conn.execute(
                    f"SELECT term FROM {self._table} WHERE id = 1 FOR UPDATE"
                ).fetchone()
                term = next_term(int(recorded))
                conn.execute(
                    f"UPDATE {self._table} SET term = %s, leader = %s, elected_at = now() WHERE id = 1",
                    (term, self.me),
                )
        except Exception:
            self.close()
            raise
        self.term = term
        log.info("elected leader", term=term, leader=self.me)
        return Leadership(Role.LEADER, term, self.me)

    def still_leads(self) -> bool:
        """The heartbeat: the dedicated session is alive (so the lock is still ours) and the term is ours."""
        if self._conn is None:
            return False
        try:
            (term,) = self._conn.execute(f"SELECT term FROM {self._table} WHERE id = 1").fetchone()
        except Exception as exc:
            log.warning("leadership connection lost; stepping down", error=f"{type(exc).__name__}: {exc}")
            self.close()
            return False
        return fence_admits(int(term), self.term)

    def fence(self, term: int) -> Any:
        """The check an append runs in its own transaction (see `EventLog.append`)."""
        table = self._table

        def check(cursor: Any) -> None:
            cursor.execute(f"SELECT term, leader FROM {table} WHERE id = 1 FOR SHARE")
            row = cursor.fetchone()
            recorded = int(row["term"] if isinstance(row, dict) else row[0]) if row else 0
            if not fence_admits(recorded, term):
                leader = (row["leader"] if isinstance(row, dict) else row[1]) if row else ""
                raise NotLeaderError(
                    f"this daemon led in term {term} but the store is at term {recorded} (leader: "
                    f"{leader or 'unknown'}): it was deposed, and nothing was written"
                )

        return check

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead connection is what we are closing
                conn.close()  # ends the session: the advisory lock goes with it


def refuse_all(cursor: Any) -> None:
    """The fence of a follower: it never appends."""
    raise NotLeaderError("this daemon is a follower: it does not write to the store")
