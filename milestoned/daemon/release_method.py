"""The socket's `release`, `job` and `jobs`: releases built and sent as jobs the daemon keeps serving beside.

A release is built under its own lock (one at a time), NOT the write lock: building many transactions
takes minutes, and the scheduler's jobs and other commands must run meanwhile. Each transaction is then
sent with its intent recorded first and recorded as submitted as soon as Ogmios took it (`submissions`).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.chain_calls import long_build
from milestoned.daemon.jobs import Job, Progress
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.refusal_hints import refusal_hint
from milestoned.daemon.request_checks import check_address, check_out_refs, check_schedule_id
from milestoned.daemon.submissions import Outgoing, reconcile_open_intents, send_recorded, wallet_exclusions

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.commands")


async def release(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"schedule_id", "allocations", "beneficiary", "dry_run", "background"})
    background = bool(param(params, "background", bool, required=False))
    schedule_id = param(params, "schedule_id", str)
    allocations = param(params, "allocations", list, required=False)
    beneficiary = param(params, "beneficiary", str, required=False)
    dry_run = bool(param(params, "dry_run", bool, required=False))
    if allocations is not None and not all(isinstance(a, str) for a in allocations):
        raise RpcError(jsonrpc.INVALID_PARAMS, '"allocations" must be a list of "txid#index" strings')
    schedule_id = check_schedule_id(schedule_id, service.index.schedules)
    if allocations is not None:
        allocations = check_out_refs(allocations)
    if beneficiary is not None:
        beneficiary = check_address("beneficiary", beneficiary, service.config.chain.cardano_network)
    if background:  # a job: answer its id now; `job` reports built / submitted / confirmed
        service._load_wallet()  # a missing wallet is refused at once, not as a failed job
        job = service.jobs.start(
            "release",
            peer.describe(),
            lambda progress: release_schedule(
                service, schedule_id, allocations, beneficiary, dry_run, peer.describe(), progress=progress
            ),
        )
        return {"job_id": job.id}
    return await release_schedule(service, schedule_id, allocations, beneficiary, dry_run, peer.describe())


ROUND_ALLOCATIONS = 1_000
"""A release of many allocations is built and sent in rounds of at most this many (about 20
transactions): the first ones are on their way within seconds instead of after the whole build, each
round's validity starts at the tip when it is built (a release of 10,000 builds for longer than a
transaction stays valid), and an interrupted release has sent and recorded every round before it.
`MILESTONED_TEST_HOOK_RELEASE_ROUND` overrides it (tests: several rounds with a few allocations)."""
ROUND_ENV = "MILESTONED_TEST_HOOK_RELEASE_ROUND"
SETTLE_POLL_S = 1.0
"""How often a round that waits for earlier transactions to be confirmed tries again."""


def round_allocations() -> int:
    value = os.environ.get(ROUND_ENV, "")
    return max(1, int(value)) if value.isdigit() else ROUND_ALLOCATIONS


async def release_schedule(
    service: DaemonService,
    schedule_id: str,
    allocations: list[str] | None,
    beneficiary: str | None,
    dry_run: bool,
    caller: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build, sign and send the release in rounds (`ROUND_ALLOCATIONS`; named allocations and dry runs in
    one). Each round leaves out what is in flight, the earlier rounds' included, and pays from the change
    of the earlier rounds' transactions that are not confirmed yet (`pending`), so the rounds chain
    like the transactions of one round do."""
    from milestoned.domain.schedule_file import parse_schedule_document

    progress = progress or Progress()
    progress.phase = "building"
    registered = service.index.schedules.get(schedule_id)
    if registered is None:
        raise RpcError(
            jsonrpc.NOT_FOUND,
            f"schedule {schedule_id} is not registered with this daemon",
            "register it first (milestonectl schedule register FILE); "
            "`milestonectl schedules` lists the registered ones",
        )
    definition = parse_schedule_document(dict(registered.definition))
    key, payer = service._load_wallet()
    chain = await service._tx_chain()
    limit = round_allocations() if allocations is None and not dry_run else None
    sent: dict[str, Any] = {}  # this release's transactions by id (the later rounds spend their change)
    result: dict[str, Any] = {"dry_run": dry_run}
    # Releases are built one at a time (release_lock), but NOT under the write lock: building and
    # submitting many transactions takes minutes, and the scheduler's jobs (settling submissions,
    # cursor checkpoints) and other commands must keep running meanwhile. The write lock is taken
    # only to read a consistent in-flight set and to record each submission (intent first).
    async with service.release_lock:
        while True:
            request = (schedule_id, definition, allocations, beneficiary)
            # each transaction is sent as soon as it is built, while the next ones are built; a round
            # ends when all of its are sent and recorded (the next one leaves them out as in flight)
            sender = None if dry_run else Sender(service, chain, key, progress, result, sent)
            try:
                plan = await _build_round(
                    service,
                    functools.partial(
                        _build_once, service, chain, request, payer, sent, limit, progress, sender
                    ),
                    sent,
                    progress,
                    sender,
                )
            finally:
                if sender is not None:
                    await sender.finish()
            if plan is None:  # a later round found nothing left: everything is on its way
                break
            if "plan" not in result:
                result["plan"] = plan.to_json()
            else:
                result["plan"]["transactions"] += [t.to_json() for t in plan.txs]
                result["plan"]["total_fee_lovelace"] += sum(t.fee for t in plan.txs)
            if dry_run:
                progress.built = len(plan.txs)
                return result
            if limit is None or len(plan.released) >= plan.releasable:
                break
        result["submitted"] = list(progress.tx_ids)
        progress.phase = "confirming"
    log.info("release submitted", schedule_id=schedule_id, transactions=len(progress.tx_ids), caller=caller)
    return result


async def _build_round(
    service: DaemonService,
    build_once: Callable[[], Awaitable[Any]],
    sent: dict[str, Any],
    progress: Progress,
    sender: Sender | None,
) -> Any:
    """One round's plan (`build_once`, retried); None when a round after the first finds nothing (more)
    to release.

    When the wallet cannot pay only because its funds sit in earlier transactions of ours that are not
    confirmed yet (a release resumed after a restart: their change may not be spent before they are
    confirmed, and this job does not hold them to chain on), the round waits for them, at most as long
    as a transaction stays valid (by then each is confirmed or expired), instead of failing."""
    from milestoned.txbuilder.errors import InsufficientFunds, Refusal, TxBuildError

    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        try:
            return await build_once()
        except InsufficientFunds as exc:
            if sender is not None:
                # what this attempt built before running short is sent and recorded before the next
                # attempt reads the in-flight set, so the next one leaves those allocations out
                await sender.drain()
            earlier = service.index.unconfirmed_tx_ids() - set(sent)
            if not earlier or loop.time() - started >= service.config.release.validity_seconds:
                raise _refused(exc) from None
            progress.phase = f"waiting for {len(earlier)} earlier transaction(s) to be confirmed"
            progress.report("waiting")
            await asyncio.sleep(SETTLE_POLL_S)
            progress.phase = "building"
        except Refusal as exc:
            if sent:  # the earlier rounds took what there was
                return None
            raise _refused(exc) from None
        except TxBuildError as exc:
            raise _refused(exc) from None
        except ValueError as exc:
            raise RpcError(jsonrpc.INVALID_PARAMS, str(exc)) from None


async def _build_once(
    service: DaemonService,
    chain: Any,
    request: tuple[str, Any, list[str] | None, str | None],
    payer: Any,
    sent: dict[str, Any],
    limit: int | None,
    progress: Progress,
    sender: Sender | None,
) -> Any:
    from milestoned.daemon.logs import configure_logging
    from milestoned.txbuilder.release import build_release
    from milestoned.txbuilder.release_workers import shared_workers

    def built(tx: Any) -> None:
        if sender is not None and sender.task.done():
            sender.task.result()  # a send was refused: stop building what would never be sent
        progress.count_built(tx)
        if sender is not None:
            sender.put(tx)

    schedule_id, definition, allocations, beneficiary = request
    async with service.write_lock:
        await service.afold()
        signatures = service.index.signatures_by_milestone(schedule_id)
        cancelled = service.index.cancelled_milestones(schedule_id)
        # intents a crash left open are settled first, or their allocations would count as in flight
        # (this job's own are all sent and recorded by now: each is, under this lock)
        await reconcile_open_intents(service)
        in_flight, spent, unconfirmed = await wallet_exclusions(service, chain)
    pending = [tx for tx_id, tx in sent.items() if tx_id in unconfirmed]
    return await long_build(
        service.link,
        chain,
        build_release(
            chain,
            definition,
            signatures,
            payer,
            allocations=allocations,
            beneficiary=beneficiary,
            in_flight=in_flight,
            validity_ms=service.config.release.validity_seconds * 1000,
            spent_elsewhere=spent,
            unconfirmed_tx_ids=unconfirmed - set(sent),
            pending=pending,
            on_built=built,
            on_checked=lambda plan: _count_total(progress, plan.releasable),
            # independent chains, one per funding UTxO, evaluated in parallel (issue 18.3);
            # still submitted one at a time, each intent recorded before its send
            lanes=os.cpu_count() or 1,
            limit=limit,
            cancelled=cancelled,
            # with release.build_workers > 0 (opt-in), each transaction is built in a worker process
            # of a pool created once and kept warm across rounds: pycardano's encoding holds the GIL,
            # so threads only spread the evaluation; 0 (the default) builds here
            workers=shared_workers(
                service.config.release.build_workers,
                functools.partial(configure_logging, service.config.log.format, service.config.log.level),
            ),
        ),
    )


def _count_total(progress: Progress, releasable: int) -> None:
    """The job's total: what the first round found releasable (later rounds find what is left of it)."""
    if progress.allocations_total is None:
        progress.allocations_total = releasable


def _refused(exc: Any) -> RpcError:
    return RpcError(
        jsonrpc.TX_REFUSED,
        str(exc),
        refusal_hint(exc),
        rule=getattr(exc, "rule", None),
        passes_at_ms=getattr(exc, "passes_at_ms", None),
    )


class Sender:
    """Sends a round's transactions as they are built, in the order built (each lane's in its chain's
    order), one at a time: each with its intent recorded before it is sent and recorded as submitted as
    soon as Ogmios accepted it. So the devnet or node checks one while the next is built, `submissions`
    shows each at once, a crash between sending and recording loses nothing, and a refusal half-way
    leaves the earlier ones tracked (and the later ones unsent)."""

    def __init__(
        self,
        service: DaemonService,
        chain: Any,
        key: Any,
        progress: Progress,
        result: dict[str, Any],
        sent: dict[str, Any],
    ) -> None:
        self.service, self.chain, self.key = service, chain, key
        self.progress, self.result, self.sent = progress, result, sent
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(), name="release sender")

    def put(self, built: Any) -> None:
        self.queue.put_nowait(built)

    async def drain(self) -> None:
        """Wait until everything queued so far is sent and recorded, the sender staying open (raises the
        refusal that stopped it, if any)."""
        joined = asyncio.ensure_future(self.queue.join())
        try:
            await asyncio.wait({joined, self.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            joined.cancel()
        if self.task.done():
            self.task.result()

    async def finish(self) -> None:
        """Wait until everything built so far is sent (raises the refusal that stopped it, if any)."""
        self.queue.put_nowait(None)
        try:
            await asyncio.shield(self.task)
        except asyncio.CancelledError:
            self.task.cancel()
            raise

    async def _run(self) -> None:
        while (built := await self.queue.get()) is not None:
            try:
                await self._send(built)
            finally:
                self.queue.task_done()

    async def _send(self, built: Any) -> None:
        from milestoned.txbuilder.errors import TxBuildError
        from milestoned.txbuilder.signing import sign

        service, progress = self.service, self.progress
        refs = tuple(built.details["allocations"])
        signed = sign(built, [self.key])
        outgoing = Outgoing(signed, refs, int(built.tx.transaction_body.ttl or 0), built.id)
        try:
            async with service.write_lock:
                await service.afold()
                [tx_id] = await send_recorded(service, self.chain, [outgoing])
        except TxBuildError as exc:
            raise RpcError(
                jsonrpc.TX_REFUSED,
                f"{exc} ({progress.submitted} transactions were submitted and recorded before it; this one "
                "is recorded as failed)",
                "`milestonectl submissions` shows what was submitted; release again for the rest",
                submitted=list(progress.tx_ids),
            ) from None
        self.result["log_position"] = service.log.head().position
        self.sent[str(tx_id)] = signed
        progress.phase = "submitting"
        progress.count_submitted(str(tx_id), len(refs))


async def job(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"job_id"})
    job = service.jobs.get(param(params, "job_id", str))
    await service.acatch_up(wait=False)
    return _job_json(job, await service.read(service.projections.submissions))


async def list_jobs(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, set())
    await service.acatch_up(wait=False)
    submissions = await service.read(service.projections.submissions)
    return [_job_json(job, submissions) for job in service.jobs.all()]


def _job_json(job: Job, submissions: list[Any]) -> dict[str, Any]:
    ours = set(job.progress.tx_ids)
    status = {s.tx_id: s.status for s in submissions if s.tx_id in ours}
    document = job.to_json(sum(1 for tx_id in ours if status.get(tx_id) == "confirmed"))
    document["settled"] = sum(1 for tx_id in ours if status.get(tx_id, "submitted") != "submitted")
    return document
