"""Where a store lives: an SQLite file (the embedded default) or a PostgreSQL schema.

A config is a plain value built from a URL (`sqlite:////var/lib/milestoned/events.db`,
`postgresql://postgres@127.0.0.1:5432/milestoned?schema=mainnet`) and turned into the environment that
the `eventsourcing` library's infrastructure factories read. Nothing here opens a connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class SQLiteConfig:
    """One SQLite database file, opened in WAL mode by the library."""

    path: Path

    def factory_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def describe(self) -> str:
        return f"sqlite:///{self.path}"


@dataclass(frozen=True, slots=True)
class PostgresConfig:
    """A PostgreSQL database and the schema our tables live in (created when missing)."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = "test"
    schema: str = "public"
    connect_timeout_s: int = 5

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.schema):
            raise ValueError(
                f"PostgreSQL schema {self.schema!r} is not a plain lowercase identifier; "
                "use letters, digits and '_' (at most 63), starting with a letter or '_'"
            )

    def factory_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_CONNECT_TIMEOUT": str(self.connect_timeout_s),
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        }

    def conninfo(self) -> dict[str, str | int]:
        """Keyword arguments for `psycopg.connect` (used only to create the schema)."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": self.connect_timeout_s,
        }

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}?schema={self.schema}"


StoreConfig = SQLiteConfig | PostgresConfig


def parse_store_url(url: str) -> StoreConfig:
    """Parse a store URL.

    `sqlite:////ABSOLUTE/PATH.db`, `sqlite:///RELATIVE/PATH.db` or a bare path for SQLite;
    `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=S]` for PostgreSQL.
    """
    if "://" not in url:
        return SQLiteConfig(path=Path(url))
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:]  # as in SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db
        if parts.netloc or not path:
            raise ValueError(
                f"bad SQLite URL {url!r}: write sqlite:////absolute/path.db or sqlite:///relative/path.db"
            )
        return SQLiteConfig(path=Path(path))
    if parts.scheme in ("postgres", "postgresql"):
        query = parse_qs(parts.query)
        unknown = set(query) - {"schema", "connect_timeout"}
        if unknown:
            raise ValueError(f"bad PostgreSQL URL {url!r}: unknown options {sorted(unknown)}; use schema=")
        return PostgresConfig(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            schema=query.get("schema", ["public"])[0],
            connect_timeout_s=int(query.get("connect_timeout", ["5"])[0]),
        )
    raise ValueError(
        f"unsupported store URL scheme {parts.scheme!r} in {url!r}: use sqlite:/// or postgresql://"
    )
