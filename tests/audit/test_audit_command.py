"""`milestonectl audit`'s edges: bad arguments, an unreachable Ogmios, and reading a daemon's log
(SQLite and PostgreSQL) without ever writing to it."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from test_audit_reconcile import discovered, locks, release_items

from milestoned.commands.audit_cmd import read_log
from milestoned.commands.cli import main
from milestoned.commands.output import CommandError
from milestoned.eventlog.config import PostgresConfig, SQLiteConfig
from milestoned.eventlog.events import Event
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import StoreHarness


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["audit", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--ogmios", "ws://127.0.0.1:1", "--from", "tip"], "--from tip would audit nothing"),
        (["--ogmios", "ws://127.0.0.1:1", "--from", "12.abc"], "start point '12.abc' is not understood"),
        (
            ["--ogmios", "ws://127.0.0.1:1", "--from", "origin", "--schedule", "zz"],
            "'zz' is not a schedule id",
        ),
        (
            ["--ogmios", "ws://127.0.0.1:1", "--from", "origin", "--against-log", "/nonexistent/events.db"],
            "there is no event log at /nonexistent/events.db",
        ),
    ],
)
def test_bad_arguments_are_refused_with_the_fix(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, answer = run(capsys, *args)
    error = answer["error"]
    assert code == 2 and answer["ok"] is False and isinstance(error, dict)
    assert words in error["message"] and error["hint"]


def test_an_unreachable_ogmios_is_an_error_not_a_hang(capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = run(capsys, "--ogmios", "ws://127.0.0.1:1", "--from", "origin")
    error = answer["error"]
    assert (
        code == 2
        and isinstance(error, dict)
        and "cannot reach Ogmios at ws://127.0.0.1:1" in error["message"]
    )


def test_the_log_is_read_on_both_backends_and_never_created(store: StoreHarness, tmp_path: Path) -> None:
    events: list[Event] = [discovered(), *locks(), *(e for e in release_items() if isinstance(e, Event))]
    config = store.config("daemon")
    with EventLog(config) as log:
        log.append(events)
        head = log.head()
    source = str(config.path) if isinstance(config, SQLiteConfig) else config.describe()
    read, read_head, _ = read_log(source)
    assert read == events and read_head == (head.position, head.hash)

    absent = store.config("absent")
    source = str(absent.path) if isinstance(absent, SQLiteConfig) else absent.describe()
    with pytest.raises(CommandError, match="there is no event log at"):
        read_log(source)
    if isinstance(absent, SQLiteConfig):
        assert not absent.path.exists()
    else:
        assert isinstance(absent, PostgresConfig)
        with psycopg.connect(**absent.conninfo()) as conn:  # type: ignore[arg-type]
            found = conn.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (absent.schema,)
            ).fetchone()
        assert found is None
