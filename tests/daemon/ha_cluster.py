"""Several real daemons on one PostgreSQL schema and one devnet process: the home of the HA test helpers
(the suite's HA tests and `bench/ha.py` use them)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from daemon_process import Daemon, short_folder, write_config

from milestoned.eventlog.config import PostgresConfig


def store_url(server: PostgresConfig, schema: str) -> str:
    return (
        f"postgresql://{server.user}:{server.password}@{server.host}:{server.port}/{server.dbname}"
        f"?schema={schema}"
    )


def drop_schema(server: PostgresConfig, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@dataclass
class Cluster:
    """N daemons (`d0`, `d1`, …) sharing one store URL and one Ogmios URL."""

    url: str
    ogmios_url: str
    folder: Path
    store: PostgresConfig
    """The shared store, for reading the log the daemons write."""
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    daemons: list[Daemon] = field(default_factory=list)

    def add(self, name: str) -> Daemon:
        home = self.folder / name
        home.mkdir(parents=True, exist_ok=True)
        sections = {
            "chain": {"ogmios_url": self.ogmios_url, "network": "devnet", "start": "origin"},
            "store": {"url": self.url, "data_dir": str(home / "data")},
            "socket": {"path": str(home / "d.sock")},
            **self.sections,
        }
        daemon = Daemon(write_config(home, **sections), home / "d.sock", home / "daemon.log")
        self.daemons.append(daemon)
        return daemon

    def role(self, daemon: Daemon) -> tuple[str, int] | None:
        """(role, term) from the daemon's health answer; None when it does not answer."""
        try:
            health = daemon.call("health")["result"]
        except (OSError, KeyError, ValueError):
            return None
        return health["role"], health["term"]

    def leader(self) -> Daemon | None:
        """The one live daemon that says it leads (None while there is none)."""
        leading = [
            d
            for d in self.daemons
            if d.process is not None and d.process.poll() is None and self.is_leader(d)
        ]
        assert len(leading) <= 1, f"{len(leading)} daemons say they lead at once"
        return leading[0] if leading else None

    def is_leader(self, daemon: Daemon) -> bool:
        role = self.role(daemon)
        return role is not None and role[0] == "leader"

    def kill(self, daemon: Daemon) -> None:
        assert daemon.process is not None
        os.kill(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=30)

    def stop(self) -> None:
        for daemon in self.daemons:
            daemon.stop()


@contextlib.contextmanager
def cluster(server: PostgresConfig, ogmios_url: str, **sections: dict[str, Any]) -> Iterator[Cluster]:
    schema = f"ha_{uuid.uuid4().hex[:12]}"
    folder = short_folder()
    group = Cluster(
        store_url(server, schema), ogmios_url, folder, replace(server, schema=schema), dict(sections)
    )
    try:
        yield group
    finally:
        group.stop()
        shutil.rmtree(folder, ignore_errors=True)
        drop_schema(server, schema)
