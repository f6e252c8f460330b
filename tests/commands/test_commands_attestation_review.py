"""The per-file verdicts and quorums of `attest verify`, without the CLI around them (the file format's
own tests are in tests/domain/test_domain_attestation_file.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nacl.signing import SigningKey

from milestoned.commands.attestation_review import Verdict, review_attestations
from milestoned.domain.allocation import Allocation
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.attestation_file import (
    Attestation,
)
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.schedule import ScheduleDefinition, Token

Runner = Callable[..., Any]
SEEDS = [bytes([n]) * 32 for n in (1, 2, 3)]
ORACLES = tuple(bytes(SigningKey(seed).verify_key) for seed in SEEDS)
SCHEDULE_ID = bytes(range(28))


def _definition() -> ScheduleDefinition:
    address = "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70"
    return ScheduleDefinition(
        network=CardanoNetwork.DEVNET,
        admin_key_hash=bytes(28),
        token=Token(bytes(28), b"T"),
        oracle_keys=ORACLES,
        quorum=2,
        reclaim_deadline_ms=10_000,
        nonce=b"n",
        allocations=(Allocation(address, 5, b"M1", 1_000), Allocation(address, 7, b"M2", 2_000)),
    )


def _attest(seed: bytes, milestone: bytes, schedule_id: bytes = SCHEDULE_ID) -> Attestation:
    return Attestation(schedule_id, milestone, sign_attestation(seed, schedule_id, milestone))


def test_review_verdicts_and_quorums() -> None:
    stranger = bytes([9]) * 32
    forged = _attest(SEEDS[2], b"M1")
    forged = Attestation(SCHEDULE_ID, b"M2", forged.signature)  # an M1 signature relabelled as M2
    attestations = [
        _attest(SEEDS[0], b"M1"),
        _attest(SEEDS[1], b"M1"),
        _attest(SEEDS[0], b"M1"),
        _attest(SEEDS[0], b"M2", bytes(28)),
        _attest(SEEDS[0], b"M9"),
        _attest(stranger, b"M2"),
        forged,
    ]
    review = review_attestations(attestations, definition=_definition(), schedule_id=SCHEDULE_ID)
    assert [v.verdict for v in review.verdicts] == [
        Verdict.VALID,
        Verdict.VALID,
        Verdict.DUPLICATE,
        Verdict.OTHER_SCHEDULE,
        Verdict.UNKNOWN_MILESTONE,
        Verdict.UNKNOWN_ORACLE,
        Verdict.INVALID_SIGNATURE,
    ]
    assert [v.oracle_index for v in review.verdicts] == [0, 1, 0, 0, 0, None, 2]
    assert not review.all_accepted
    m1, m2 = review.milestones
    assert (m1.milestone_id, m1.status.value, m1.valid_signatures) == (b"M1", "met", 2)
    assert (m2.milestone_id, m2.status.value, m2.valid_signatures) == (b"M2", "pending", 0)


def test_json_flag_works_before_and_after_the_command(run: Runner, examples: Any) -> None:
    path = examples / "schedule.json"
    before = run("--json", "schedule", "validate", path)
    between = run("schedule", "--json", "validate", path)
    after = run("schedule", "validate", path, "--json")
    assert before.json() == between.json() == after.json()
    assert before.json()["valid"] is True
