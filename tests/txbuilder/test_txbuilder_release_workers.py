"""Release transactions built in worker processes (`release_workers`) are the ones built in-process.

Same inputs (a frozen-clock devnet: the same tip, UTxOs and parameters) give the same transactions, byte
for byte, and a build error in a worker comes back as the in-process one (class, message, fields), with
the other lanes stopped: nothing more is handed over once the release has failed.
"""

from __future__ import annotations

import asyncio
import functools
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from txbuilder_support import (
    ADMIN,
    ADMIN_ADDRESS,
    OPERATOR_ADDRESS,
    World,
    large_schedule,
    oracle_signature,
    world,
)

from milestoned.domain.attestation import OracleSignature
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.txbuilder import release
from milestoned.txbuilder.assembly import BuiltTx, TooLarge
from milestoned.txbuilder.errors import InsufficientFunds, NoCollateral, Refusal, TxBuildError
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.release_workers import (
    ReleaseWorkers,
    WorkerResult,
    failure,
    rebuilt_error,
    shared_workers,
)
from milestoned.txbuilder.signing import sign


@pytest.fixture(scope="module")
def workers() -> Iterator[ReleaseWorkers]:
    pool = ReleaseWorkers(2)
    yield pool
    pool.close()


async def _vested(w: World, count: int) -> tuple[ScheduleDefinition, dict[bytes, list[OracleSignature]]]:
    definition = large_schedule(w.devnet, w.now_ms, count)
    registration = await build_registration(w.chain, definition, ADMIN_ADDRESS)
    await w.submit_chain([sign(t, [ADMIN]) for t in registration.txs])
    w.advance_ms(31_000)
    schedule_id = registration.schedule_id
    return definition, {b"M1": [oracle_signature(i, schedule_id, "M1") for i in (2, 3)]}


async def test_a_release_built_in_workers_is_the_one_built_in_process(workers: ReleaseWorkers) -> None:
    async with world() as w:
        w.devnet.fund(OPERATOR_ADDRESS, 100_000_000)  # two funding UTxOs: two lanes
        definition, signatures = await _vested(w, 8)

        here = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS, first_batch=2, lanes=2)
        evaluated_here = w.chain.local_evaluations
        handed: list[BuiltTx] = []
        there = await build_release(
            w.chain,
            definition,
            signatures,
            OPERATOR_ADDRESS,
            first_batch=2,
            lanes=2,
            workers=workers,
            on_built=handed.append,
        )

    assert w.chain.local_evaluations == evaluated_here  # every one was evaluated in a worker
    assert len(here.txs) == 4  # two chains of two: the second of each spends the first's change
    assert [t.id for t in there.txs] == [t.id for t in here.txs]
    assert [t.tx.to_cbor() for t in there.txs] == [t.tx.to_cbor() for t in here.txs]
    assert [(t.fee, t.mem, t.cpu, t.size) for t in there.txs] == [
        (t.fee, t.mem, t.cpu, t.size) for t in here.txs
    ]
    assert [t.details for t in there.txs] == [t.details for t in here.txs]
    assert [t.spent for t in there.txs] == [t.spent for t in here.txs]
    assert [t.signers for t in there.txs] == [t.signers for t in here.txs]
    assert sorted(t.id for t in handed) == sorted(t.id for t in here.txs)


async def test_a_lane_short_of_funds_fails_as_in_process_and_stops_the_others(
    workers: ReleaseWorkers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(release, "LANE_FUNDING_LOVELACE", 1_000_000)
    async with world() as w:
        w.devnet.fund(OPERATOR_ADDRESS, 2_000_000)  # the second lane's funding: short of the fee reserve
        definition, signatures = await _vested(w, 8)

        with pytest.raises(InsufficientFunds) as here:
            await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS, first_batch=1, lanes=2)
        handed: list[str] = []
        with pytest.raises(InsufficientFunds) as there:
            await build_release(
                w.chain,
                definition,
                signatures,
                OPERATOR_ADDRESS,
                first_batch=1,
                lanes=2,
                workers=workers,
                on_built=lambda built: handed.append(built.id),
            )
        at_failure = list(handed)
        await asyncio.to_thread(workers.close)  # every task a worker had started has finished
        for _ in range(20):
            await asyncio.sleep(0)

    assert str(there.value) == str(here.value)
    assert "has 2,000,000 lovelace" in str(there.value)
    assert (there.value.needed, there.value.available) == (here.value.needed, here.value.available)
    assert handed == at_failure  # the other lane handed nothing over after the failure


def test_the_daemon_s_pool_is_one_per_size_and_none_for_0() -> None:
    assert shared_workers(0) is None  # release.build_workers = 0: built in the daemon's process
    first = shared_workers(3)
    assert first is not None and first.size == 3
    assert shared_workers(3) is first  # every round and release reuses the same (warm) pool


def test_each_worker_runs_the_callers_setup_first(tmp_path: Path) -> None:
    """The daemon hands its logging set-up to the pool (a spawned worker starts with structlog's defaults,
    whose console lines would break a JSON log stream): here a set-up that leaves a file behind."""
    ran = tmp_path / "setup ran"
    workers = ReleaseWorkers(1, functools.partial(Path.touch, ran))
    try:
        asyncio.run(workers.start())
    finally:
        workers.close()
    assert ran.exists()


@pytest.mark.parametrize(
    "error",
    [
        TooLarge("this release would be 17,000 bytes", size=17_000, mem=None, cpu=12),
        InsufficientFunds("the paying wallet has 2 lovelace", needed=3, available=2),
        NoCollateral("no collateral"),
        Refusal("allocation_locked", "not vested yet", passes_at_ms=1_000),
        TxBuildError("the fee did not settle"),
    ],
)
def test_a_worker_s_build_error_comes_back_as_the_same_exception(error: TxBuildError) -> None:
    answer = pickle.loads(pickle.dumps(failure(error)))  # what crosses from the worker
    assert isinstance(answer, WorkerResult)
    rebuilt = rebuilt_error(answer)
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    assert vars(rebuilt) == vars(error)  # TooLarge's size/mem/cpu shrink the batch, needed/available...
