"""The head kept outside the log: a cut tail is caught, never appended to, and `milestoned verify` says so.

Each damage is done as an attacker or bad luck would, with raw SQL on the store, to a log written with its
head file; then both the library check (`verify` with the head as anchor) and the offline command
(`milestoned verify --config`, a real subprocess, no daemon) must name it, and an untouched log passes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.anchor import HEAD_FILE_NAME, HeadFile, HeadFileError
from milestoned.eventlog.store import TruncatedLogError
from milestoned.eventlog.testing import StoreHarness, make_schedule, oracle_signature
from milestoned.eventlog.verify import verify

REPO = Path(__file__).resolve().parents[2]


def written_log(folder: Path) -> tuple[SQLiteConfig, HeadFile]:
    config = SQLiteConfig(folder / "events.db")
    head = HeadFile(folder / HEAD_FILE_NAME)
    with EventLog(config, head_file=head) as log:
        log.append([make_schedule(0)])
        log.append([oracle_signature(0, 0, "01"), oracle_signature(0, 1, "01")])
        log.append([oracle_signature(0, 2, "01")])
    return config, head


def run_verify(folder: Path) -> subprocess.CompletedProcess[str]:
    config = folder / "milestoned.toml"
    config.write_text(f'[store]\ndata_dir = "{folder}"\n')
    return subprocess.run(
        [sys.executable, "-m", "milestoned.daemon.cli", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_the_head_file_follows_every_append(tmp_path: Path) -> None:
    config, head = written_log(tmp_path)
    with EventLog(config) as log:
        assert head.read() == log.head()
        assert log.head().position == 4
    done = run_verify(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verifies" in done.stdout


def test_a_cut_tail_is_caught_and_never_appended_to(tmp_path: Path) -> None:
    config, head = written_log(tmp_path)
    harness = StoreHarness("sqlite", str(tmp_path), "x")
    harness.execute(config, "DELETE FROM stored_events WHERE originator_version = 4")
    with EventLog(config, head_file=head) as log:
        report = verify(log, anchor=head.read())
        assert not report.ok
        assert "cut off the end" in report.problems[0].message and report.problems[0].position == 3
        with pytest.raises(
            TruncatedLogError, match="ends at position 3 but its head was recorded at position 4"
        ):
            log.append([oracle_signature(0, 0, "02")])
        assert log.head(refresh=True).position == 3  # nothing was chained onto the cut log
    done = run_verify(tmp_path)
    assert done.returncode == 1
    assert "position 3" in done.stdout and "cut off" in done.stdout


def test_a_tail_rewritten_with_its_hashes_recomputed_no_longer_matches_the_head(tmp_path: Path) -> None:
    """The strongest edit inside the database: the last record replaced by another, correctly chained."""
    config, head = written_log(tmp_path)
    recorded = head.read()
    harness = StoreHarness("sqlite", str(tmp_path), "x")
    harness.execute(config, "DELETE FROM stored_events WHERE originator_version = 4")
    with EventLog(config) as log:  # no head file: as an attacker's own writer would
        log.append([oracle_signature(0, 2, "02")])
    with EventLog(config) as log:
        assert verify(log).ok  # the chain alone cannot tell
        report = verify(log, anchor=recorded)
        assert not report.ok and "hash differs from the anchor" in report.problems[0].message
    assert run_verify(tmp_path).returncode == 1


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            "UPDATE stored_events SET topic = 'NoSuchEvent/v1' WHERE originator_version = 2",
            "unknown event topic",
        ),
        ("UPDATE stored_events SET state = X'7b6e6f74206a736f6e' WHERE originator_version = 2", "not JSON"),
    ],
)
def test_a_row_that_cannot_be_read_is_named_by_position(tmp_path: Path, statement: str, problem: str) -> None:
    config, _ = written_log(tmp_path)
    StoreHarness("sqlite", str(tmp_path), "x").execute(config, statement)
    done = run_verify(tmp_path)
    assert done.returncode == 1
    assert "position 2" in done.stdout and problem in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_damaged_head_file_is_reported_not_trusted(tmp_path: Path) -> None:
    written_log(tmp_path)
    (tmp_path / HEAD_FILE_NAME).write_text("{not a head")
    with pytest.raises(HeadFileError, match="is not a log head"):
        HeadFile(tmp_path / HEAD_FILE_NAME).read()
    done = run_verify(tmp_path)
    assert done.returncode == 1 and "recorded log head is unreadable" in done.stdout


def test_doctor_verifies_the_event_log_as_the_daemon_does(tmp_path: Path) -> None:
    from milestoned.commands.doctor_cmd import _log_check
    from milestoned.shared.config import DaemonConfig, with_overrides

    config = with_overrides(DaemonConfig(), store={"data_dir": str(tmp_path)})
    log_config, _ = written_log(tmp_path)
    assert _log_check(config).status == "ok"
    StoreHarness("sqlite", str(tmp_path), "x").execute(
        log_config, "DELETE FROM stored_events WHERE originator_version = 4"
    )
    check = _log_check(config)
    assert check.status == "fail" and "cut off" in check.detail and "rebuild" in check.fix


def test_two_recoveries_in_one_second_never_share_a_damaged_folder(tmp_path: Path) -> None:
    import time

    from milestoned.daemon.recovery import free_stamp, stamp
    from milestoned.shared.config import DaemonConfig, with_overrides

    config = with_overrides(DaemonConfig(), store={"data_dir": str(tmp_path)})
    now = time.time()
    for second in (now, now + 1):  # whichever second free_stamp reads, its plain stamp is taken
        (tmp_path / f"damaged-{stamp(second)}").mkdir(exist_ok=True)
    when = free_stamp(config)
    assert not (tmp_path / f"damaged-{when}").exists() and when.endswith("-1")
