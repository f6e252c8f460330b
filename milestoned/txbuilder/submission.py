"""Submitting signed transactions and waiting for them to reach a block, with errors people can act on.

The ledger's refusals arrive as Ogmios error codes; the two a builder meets in normal operation get
their own exceptions and advice: 3117 (an input is gone: another transaction spent it first, so
rebuild from fresh UTxOs) and 3118 (the validity interval does not hold the current slot: rebuild,
which picks a new interval). Nothing is recorded here: the daemon records an intent before sending
and the submission once `submit` returned (`milestoned.daemon.submissions`), so a crash in between is
reconciled at the next start instead of lost. `fault_injection_point` is a test hook that makes such a
crash exact.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence

from pycardano import Transaction, TransactionId, TransactionInput

from milestoned.ogmios.errors import SubmissionError, UnknownOutputReferences
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import InputsAlreadySpent, SubmissionRejected, ValidityIntervalPassed
from milestoned.txbuilder.lifecycle import Lifecycle, SubmissionState

FAULT_INJECTION_ENV = "MILESTONED_TEST_HOOK_KILL_AT"
"""TEST HOOK, for fault-injection tests only: when this variable names a point (`after-intent`,
`after-send`), the process kills itself with SIGKILL exactly there, so a test of a crash between
recording an intent, sending and recording the submission is exact instead of timing-based. Never set
it in production: unset (the default), `fault_injection_point` does nothing."""


def fault_injection_point(name: str) -> None:
    """TEST HOOK: SIGKILL this process here when $MILESTONED_TEST_HOOK_KILL_AT names this point."""
    if os.environ.get(FAULT_INJECTION_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


async def submit(chain: OgmiosChain, tx: Transaction) -> str:
    """Submit a signed transaction; returns its id, or raises a `SubmissionRejected` that says what to do."""
    try:
        return await chain.submit(tx)
    except UnknownOutputReferences as exc:
        spent = ", ".join(str(r) for r in exc.references) or "some inputs"
        raise InputsAlreadySpent(
            3117,
            f"transaction {tx.id} was refused: {spent} no longer exist (already spent by another "
            "transaction, "
            "or not yet on chain). Nothing was submitted; rebuild it from the current UTxOs "
            "(for a release: check the allocation is still locked and not in another pending transaction).",
        ) from exc
    except SubmissionError as exc:
        if exc.code == 3118:
            body = tx.transaction_body
            raise ValidityIntervalPassed(
                3118,
                f"transaction {tx.id} was refused: the current slot is outside its validity interval "
                f"[{body.validity_start}, {body.ttl}) ({exc.message}). Nothing was submitted; "
                "rebuild it to get "
                "a fresh interval (if it is before the start, wait until chain time reaches it).",
            ) from exc
        raise SubmissionRejected(
            exc.code, f"transaction {tx.id} was refused by the ledger: {exc.name} ({exc.code}): {exc.message}"
        ) from exc


async def submit_all(chain: OgmiosChain, txs: Sequence[Transaction]) -> list[str]:
    """Submit a chain of transactions in order; stops at the first refusal (earlier ones stay submitted)."""
    return [await submit(chain, tx) for tx in txs]


async def is_confirmed(chain: OgmiosChain, tx: Transaction, tx_id: TransactionId | None = None) -> bool:
    """True once the ledger tip holds the transaction's effects (one of its outputs is in the UTxO set,
    or, for a transaction whose outputs were all spent since, its inputs are gone). Pass `tx_id` when
    known: pycardano hashes the whole body on every `.id` (~20 ms for a large release)."""
    tx_id = tx_id or tx.id
    outputs = [TransactionInput(tx_id, i) for i in range(len(tx.transaction_body.outputs))]
    return bool(await chain.utxos_by_inputs(outputs))


async def wait_until_confirmed(
    chain: OgmiosChain,
    tx: Transaction,
    *,
    timeout: float = 60.0,
    poll: float = 0.05,
    tx_id: TransactionId | None = None,
) -> None:
    """Wait for the transaction to be in a block (polling the ledger's UTxO by output reference).
    `tx_id`, when the caller has it (`BuiltTx.tx_id`), saves hashing the body again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    tx_id = tx_id or tx.id  # once, not per poll
    while not await is_confirmed(chain, tx, tx_id):
        if loop.time() > deadline:
            raise TimeoutError(f"transaction {tx_id} was not in a block after {timeout:.0f} s")
        await asyncio.sleep(poll)


async def refresh(chain: OgmiosChain, lifecycle: Lifecycle, *, outputs_checked: int = 4) -> Lifecycle:
    """Bring `lifecycle` up to date with the ledger tip, for callers without a chain follower.

    A live submission is confirmed once one of its first `outputs_checked` outputs is in the tip's UTxO
    set, expired once the tip's slot reaches its TTL without that. (The daemon learns confirmations from
    the blocks its indexer follows, with their points; this is the stand-alone way, e.g. for scripts.)
    """
    tip = (await chain.chain_time()).tip_slot
    result = lifecycle
    for submission in lifecycle.submissions.values():
        if submission.state is not SubmissionState.SUBMITTED:
            continue
        tx_id = TransactionId(bytes.fromhex(submission.tx_id))
        found = await chain.utxos_by_inputs(TransactionInput(tx_id, i) for i in range(outputs_checked))
        if found:
            result = result.confirm(submission.tx_id, tip, "(ledger tip)")
    return result.observe_tip(tip)
