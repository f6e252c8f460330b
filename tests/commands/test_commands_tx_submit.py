"""`milestonectl tx submit` names the refused file and counts what the whole run sent before it.

Why: files go to the daemon in chunks of `SUBMIT_CHUNK`; the daemon knows only its chunk, so its own
"the N transaction(s) before it" counts from the chunk's start, not the run's."""

from __future__ import annotations

from pathlib import Path

from milestoned.commands.output import ExitCode
from milestoned.commands.socket_client import DaemonRefused
from milestoned.commands.tx_submit_cmd import SUBMIT_CHUNK, _refused_file


def refusal(**data: object) -> DaemonRefused:
    error = {"code": -32010, "message": "3122 the inputs are already spent", "data": {"hint": "h", **data}}
    return DaemonRefused("tx.submit", error)


def test_the_refused_file_is_named_with_the_run_s_counts() -> None:
    files = [Path(f"register-{n}.signed") for n in range(1, 26)]
    earlier = {"submitted": [f"t{n}" for n in range(SUBMIT_CHUNK - 1)], "already_submitted": ["t9"]}
    # third transaction of the second chunk: one sent and one found sent before, in that chunk
    error = _refused_file(refusal(refused_index=2, submitted=["u1"]), files, SUBMIT_CHUNK, earlier)
    assert error.message == f"{files[SUBMIT_CHUNK + 2]} was refused: 3122 the inputs are already spent"
    assert error.hint == (
        f"{SUBMIT_CHUNK} transaction(s) before it were sent now and 2 had been sent before; a refused "
        "release is recorded as failed. Fix the cause and run the same command again: what was sent is "
        "not sent twice"
    )
    assert error.exit_code == ExitCode.FAILED


def test_a_refusal_without_a_position_is_passed_on_as_the_daemon_said_it() -> None:
    answer = refusal()
    assert _refused_file(answer, [Path("a")], 0, {"submitted": [], "already_submitted": []}) is answer
    out_of_range = refusal(refused_index=5)
    assert (
        _refused_file(out_of_range, [Path("a")], 0, {"submitted": [], "already_submitted": []})
        is out_of_range
    )
