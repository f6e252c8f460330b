"""Release transactions built in worker processes: the whole build of one transaction off the GIL.

WHY processes: a release transaction's build is evaluation (native, releases the GIL, so threads run
it in parallel) plus about as much pycardano work (outputs, encoding, the script data hash, the fee
loop), which holds the GIL: with threads only the evaluation used more cores. A worker process runs the
whole build, so each core builds a lane's transaction of its own. The price: 15 to 25% more CPU per
transaction (its UTxOs encoded, sent and decoded both ways). On two cores that made workers ~10% slower
than threads (`python -m bench throughput`), so the daemon uses them only when asked
(`release.build_workers`); by the measured split they should pay from about four cores.

WHY one transaction per task, not one lane per task: the lanes stay in the caller (`build_release`),
which chains each lane's transactions (the wallet advances by each one's change), shrinks a batch that
was too large, hands each transaction to `on_built` as soon as it is built (the daemon sends it) and,
when one lane fails, cancels the others (`all_or_none`): a task cancelled while running finishes in its
worker and its transaction is dropped, never handed over. A worker holds no state between tasks but its
imports and the native evaluator, loaded once when the pool starts (`warm`), and a few decoded reference
scripts.

What crosses: only plain data, pickled: CBOR of every UTxO, our own frozen values (protocol parameters,
chain time, the schedule definition) and primitives (the attestations as {oracle index: signature}).
What comes back: the transaction's CBOR, its id and figures, or the build error's class name, message
and fields, rebuilt here as the same exception (`TooLarge` shrinks the batch, `InsufficientFunds` makes
the daemon wait for its change, as in-process).

The build is the in-process one (`assembly.assemble` over the same plan, evaluated here by the same
native evaluator, once, exact budgets), so a transaction built in a worker is the very transaction the
process would have built (tests/txbuilder/test_txbuilder_release_workers.py checks ids). Workers are
only used where evaluation is local; a chain whose units the node measures builds in-process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pycardano import (
    Address,
    Transaction,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    UTxO,
    VerificationKeyHash,
)

from milestoned.domain import onchain_types as ot
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.ogmios.state_queries import ProtocolParameters
from milestoned.txbuilder.assembly import BuiltTx, TooLarge, TxPlan, assemble
from milestoned.txbuilder.chain_context import ChainTime, OgmiosChain
from milestoned.txbuilder.errors import (
    EvaluationFailed,
    InsufficientFunds,
    NoCollateral,
    Refusal,
    TxBuildError,
)

UtxoCbor = tuple[bytes, bytes]
"""A UTxO as (input CBOR, output CBOR)."""


@dataclass(frozen=True)
class ReleaseTxJob:
    """What a worker needs to build one release transaction (every field pickles as plain data)."""

    parameters: ProtocolParameters
    chain_time: ChainTime
    definition: ScheduleDefinition
    schedule_id: bytes
    payer: str
    batch: tuple[UtxoCbor, ...]
    """The allocations, in ledger input order."""
    wallet: tuple[UtxoCbor, ...]
    references: tuple[UtxoCbor, ...]
    attestations: tuple[tuple[bytes, tuple[tuple[int, bytes], ...]], ...]
    """(milestone id, ((oracle index, signature), ...)) of the release redeemer."""
    validity_start: int
    ttl: int


@dataclass(frozen=True)
class WorkerResult:
    """A built transaction (`tx_cbor`...) or the build error (`error` = class name, `message`, `fields`)."""

    tx_cbor: bytes = b""
    tx_id: bytes = b""
    fee: int = 0
    mem: int = 0
    cpu: int = 0
    signers: tuple[bytes, ...] = ()
    payouts: tuple[dict[str, Any], ...] = ()
    error: str = ""
    message: str = ""
    fields: tuple[tuple[str, Any], ...] = ()


ERRORS: Mapping[str, type[TxBuildError]] = {
    c.__name__: c
    for c in (TooLarge, InsufficientFunds, NoCollateral, EvaluationFailed, Refusal, TxBuildError)
}
"""The build errors a worker's answer is rebuilt as (any other TxBuildError comes back as its base)."""


def utxo_cbor(utxo: UTxO) -> UtxoCbor:
    return (utxo.input.to_cbor(), utxo.output.to_cbor())


class OfflineChain(OgmiosChain):
    """The chain as a worker's `assemble` sees it: the parameters and chain time it was given, and local
    evaluation (the only kind a worker does; it has no connection to ask the node)."""

    def __init__(self, parameters: ProtocolParameters, chain_time: ChainTime) -> None:
        self.evaluation = "local"
        self.local_evaluations = 0
        self.last_chain_time = chain_time
        self._offline_parameters = parameters

    async def protocol_parameters(self) -> ProtocolParameters:
        return self._offline_parameters

    async def chain_time(self) -> ChainTime:
        assert self.last_chain_time is not None
        return self.last_chain_time


@functools.lru_cache(maxsize=16)
def _reference(input_cbor: bytes, output_cbor: bytes) -> UTxO:
    """A reference-script UTxO, decoded once per worker (the same two serve every transaction)."""
    return _utxo((input_cbor, output_cbor))


def _utxo(pair: UtxoCbor) -> UTxO:
    return UTxO(TransactionInput.from_cbor(pair[0]), TransactionOutput.from_cbor(pair[1]))


@functools.cache
def _loop() -> asyncio.AbstractEventLoop:
    """The worker's event loop, kept: `asyncio.run` per task would install and restore a SIGINT handler
    each time, and Python formats the replaced handler's repr, with the finished task's whole result
    (0.6 s of pycardano pretty-printing per transaction, measured)."""
    return asyncio.new_event_loop()


def build_release_tx(job: ReleaseTxJob) -> WorkerResult:
    """Build one release transaction (in a worker process; importable, so a pool can pickle it)."""
    from milestoned.txbuilder.allocations import as_allocation
    from milestoned.txbuilder.registration import tokens
    from milestoned.txbuilder.release import payouts_of

    network = job.definition.network.pycardano_network
    batch = []
    for pair in job.batch:
        allocation = as_allocation(_utxo(pair), job.schedule_id, network)
        if allocation is None:  # the caller found it an allocation: the CBOR must say so too
            raise ValueError(f"not an allocation of schedule {job.schedule_id.hex()}: {pair[0].hex()}")
        batch.append(allocation)
    outputs, described = payouts_of(job.definition.token, job.schedule_id, batch, job.parameters)
    redeemer = ot.Release([ot.milestone_attestation(m, dict(signed)) for m, signed in job.attestations])
    plan = TxPlan(
        "release",
        outputs,
        [_utxo(u) for u in job.wallet],
        Address.from_primitive(job.payer),
        script_inputs=[a.utxo for a in batch],
        spend_redeemer=ot.SpendAllocation(),
        mint=tokens(job.schedule_id, ot.AUTH_TOKEN_NAME, -len(batch)),
        mint_redeemers={job.schedule_id: redeemer},
        reference_inputs=[_reference(*u) for u in job.references],
        validity_start=job.validity_start,
        ttl=job.ttl,
    )
    try:
        built = _loop().run_until_complete(assemble(OfflineChain(job.parameters, job.chain_time), plan))
    except TxBuildError as exc:
        return failure(exc)
    return WorkerResult(
        tx_cbor=built.tx.to_cbor(),
        tx_id=built.tx_id.payload,
        fee=built.fee,
        mem=built.mem,
        cpu=built.cpu,
        signers=tuple(h.payload for h in built.signers),
        payouts=tuple(described),
    )


def failure(error: TxBuildError) -> WorkerResult:
    """A build error as a worker answers it (its class name, message and fields)."""
    fields = {k: v for k, v in vars(error).items() if not k.startswith("_")}
    return WorkerResult(error=type(error).__name__, message=str(error), fields=tuple(fields.items()))


def rebuilt_error(result: WorkerResult) -> TxBuildError:
    """The worker's build error as the exception the in-process build raises (same class, message and
    fields: `TooLarge.size`, `InsufficientFunds.needed`...)."""
    cls = ERRORS.get(result.error, TxBuildError)
    error = cls.__new__(cls)
    Exception.__init__(error, result.message)
    vars(error).update(dict(result.fields))
    return error


def built_from(result: WorkerResult, known: Mapping[TransactionInput, TransactionOutput]) -> BuiltTx:
    """The worker's transaction as a `BuiltTx`, its inputs resolved from `known` (the caller's own UTxO
    objects: the lane's wallet advances by them); the id and size are the worker's (no re-encoding)."""
    tx = Transaction.from_cbor(result.tx_cbor)
    spent = {i: known[i] for i in tx.transaction_body.inputs}
    signers = [VerificationKeyHash(h) for h in result.signers]
    built = BuiltTx("release", tx, result.fee, spent, result.mem, result.cpu, signers)
    vars(built)["tx_id"] = TransactionId(result.tx_id)  # functools.cached_property's slot
    vars(built)["size"] = len(result.tx_cbor)
    return built


def warm(setup: Callable[[], None] | None = None) -> None:
    """A worker's start: the caller's `setup` (the daemon's logging: a spawned process starts with
    structlog's defaults, whose console lines would break a JSON log stream and skip its redaction),
    the imports and the native evaluator, loaded before the first task; and a watch on the parent, so
    a daemon killed (SIGKILL, OOM) leaves no worker behind (a pool's workers wait on a queue whose
    writing end they hold themselves: they would never see it close)."""
    from milestoned.contracts.evaluation import evaluator_in_use

    if setup is not None:
        setup()
    from milestoned.txbuilder import allocations, registration, release  # noqa: F401

    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True, name="parent watch").start()
    evaluator_in_use()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


class ReleaseWorkers:
    """A pool of `size` worker processes, started on first use and kept (warm) until `close`.

    Started with `spawn`: the daemon runs threads (chain sync, the socket, evaluation), and forking a
    threaded process may copy a lock held by another thread into the child."""

    def __init__(self, size: int, setup: Callable[[], None] | None = None) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least 1 process, not {size}")
        self.size = size
        self.setup = setup
        """Run first in each worker (picklable: a module-level function or a partial of one)."""
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    self.size,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=warm,
                    initargs=(self.setup,),
                )
            return self._pool

    async def start(self) -> None:
        """Start every worker and wait until each is warm (a first release then pays no start-up)."""
        executor = self._executor()
        await asyncio.gather(*(asyncio.wrap_future(executor.submit(warm)) for _ in range(self.size)))

    async def build(
        self, job: ReleaseTxJob, known: Mapping[TransactionInput, TransactionOutput]
    ) -> tuple[BuiltTx, list[dict[str, Any]]]:
        """Build `job` in a worker: the transaction and its payouts' JSON; raises the build's own error.
        Cancelling drops the answer (the worker finishes the task it started)."""
        executor = self._executor()
        try:
            result = await asyncio.wrap_future(executor.submit(build_release_tx, job))
        except concurrent.futures.process.BrokenProcessPool as exc:
            self._discard(executor)
            raise TxBuildError(
                "a release build worker process died (killed, or out of memory); nothing was sent from its "
                "transaction: release again (the pool restarts), or set release.build_workers = 0 to "
                "build in the daemon's process"
            ) from exc
        if result.error:
            raise rebuilt_error(result)
        return built_from(result, known), list(result.payouts)

    def _discard(self, broken: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_shared: dict[int, ReleaseWorkers] = {}
_shared_lock = threading.Lock()


def shared_workers(size: int, setup: Callable[[], None] | None = None) -> ReleaseWorkers | None:
    """The process's pool of `size` workers (created once, with `setup` run first in each worker, and
    reused by every round and release); None for 0 (build in this process, with threads)."""
    if size < 1:
        return None
    with _shared_lock:
        if size not in _shared:
            _shared[size] = ReleaseWorkers(size, setup)
        return _shared[size]


def job_for(
    *,
    parameters: ProtocolParameters,
    chain_time: ChainTime,
    definition: ScheduleDefinition,
    schedule_id: bytes,
    payer: Address,
    batch: Sequence[UTxO],
    wallet: Sequence[UTxO],
    references: Sequence[UTxO],
    attestations: Sequence[ot.MilestoneAttestation],
    validity_start: int,
    ttl: int,
) -> ReleaseTxJob:
    """A `ReleaseTxJob` from the caller's pycardano values."""
    return ReleaseTxJob(
        parameters,
        chain_time,
        definition,
        schedule_id,
        str(payer),
        tuple(utxo_cbor(u) for u in batch),
        tuple(utxo_cbor(u) for u in wallet),
        tuple(utxo_cbor(u) for u in references),
        tuple(
            (a.milestone_id, tuple((s.oracle_index, s.signature) for s in a.signatures)) for a in attestations
        ),
        validity_start,
        ttl,
    )
