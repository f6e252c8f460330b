"""`milestonectl tx submit FILES|DIRS...`: send signed transactions through the daemon, with a progress bar.

WHY chunks and a bar: a registration of thousands of allocations is hundreds of signed files, chained
(each spends the change of the one before it). Sent in chunks of `SUBMIT_CHUNK`, the bar moves as they
go, and a run interrupted (Ctrl-C, a daemon restart) is resumed by running the same command again:
the daemon answers the ones sent before as already submitted (found in the mempool or on chain, or
tracked as its own release) and sends only the rest, so no transaction is sent twice.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from milestoned.commands.daemon_cmd import _ok
from milestoned.commands.output import CommandError, ExitCode, Output
from milestoned.commands.socket_client import DaemonClient, DaemonRefused
from milestoned.commands.textfiles import read_text

SUBMIT_CHUNK = 10
"""Transactions sent per `tx.submit` call: a registration of thousands of allocations is hundreds of
signed files; sent in chunks, the bar moves as they go and an interruption leaves whole chunks sent."""


def tx_submit(socket: Path, files: list[Path], out: Output) -> int:
    """Submit the files in order, in chunks, with a progress bar. Run again after an interruption with the
    same files: the daemon answers those sent before as already submitted and sends only the rest."""
    envelopes = []
    for file in files:
        try:
            envelopes.append(json.loads(read_text(file, "transaction file", 16 * 1024 * 1024)))
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{file} is not JSON: {exc}", "give the signed text envelope cardano-cli wrote"
            ) from None
    chunks = [envelopes[i : i + SUBMIT_CHUNK] for i in range(0, len(envelopes), SUBMIT_CHUNK)]
    result: dict[str, Any] = {"submitted": [], "already_submitted": []}
    with _submit_bar(out, len(envelopes)) as advance, DaemonClient(socket) as client:
        for number, chunk in enumerate(chunks):
            try:
                answer = client.call("tx.submit", {"transactions": chunk})
            except DaemonRefused as refused:
                raise _refused_file(refused, files, number * SUBMIT_CHUNK, result) from None
            result["submitted"] += answer["submitted"]
            result["already_submitted"] += answer.get("already_submitted", [])
            if "log_position" in answer:
                result["log_position"] = answer["log_position"]
            advance(len(chunk))
    if out.json_mode:
        _ok(out, result)
    else:
        for tx_id in result["submitted"]:
            out.line(f"submitted {tx_id}", style="green")
        if result["already_submitted"]:
            out.line(
                f"{len(result['already_submitted'])} transaction(s) were already submitted before "
                "(in the mempool or on chain): not sent again"
            )
    return ExitCode.OK


def _refused_file(
    refused: DaemonRefused, files: list[Path], offset: int, result: dict[str, Any]
) -> CommandError:
    """The daemon's refusal named by its file, with what was sent before it in this run (the daemon only
    knows the chunk it was given)."""
    index = refused.data.get("refused_index")
    if not isinstance(index, int) or not 0 <= index < len(files) - offset:
        return refused
    sent = len(result["submitted"]) + len(refused.data.get("submitted", []))
    already = len(result["already_submitted"]) + index - len(refused.data.get("submitted", []))
    return CommandError(
        f"{files[offset + index]} was refused: {refused.message}",
        f"{sent} transaction(s) before it were sent now and {already} had been sent before; "
        "a refused release is recorded as failed. Fix the cause and run the same command again: "
        "what was sent is not sent twice",
        refused.exit_code,
    )


@contextlib.contextmanager
def _submit_bar(out: Output, total: int) -> Iterator[Callable[[int], None]]:
    """A rich bar of the transactions sent, for people and more than one chunk; otherwise nothing."""
    if out.json_mode or total <= SUBMIT_CHUNK:
        yield lambda _count: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        "submitting",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=out.stdout,
    ) as bar:
        task = bar.add_task("submitting", total=total)
        yield lambda count: bar.advance(task, count)
