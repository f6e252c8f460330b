"""The append-only, hash-chained event log: the single source of truth of the daemon (DESIGN.md §4).

Public API: `EventLog` (append a batch atomically, read in batches, chain cursor), the event types in
`events`, `verify` (tamper evidence) and the store configs (`parse_store_url`).
"""

from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, StoreConfig, parse_store_url
from milestoned.eventlog.hashchain import LogHead
from milestoned.eventlog.store import AppendConflictError, EventLog, LoggedEvent

__all__ = [
    "AppendConflictError",
    "EventLog",
    "LogHead",
    "LoggedEvent",
    "PostgresConfig",
    "SQLiteConfig",
    "StoreConfig",
    "parse_store_url",
]
