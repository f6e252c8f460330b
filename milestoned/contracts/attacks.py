"""The attacks on the scripts, each as ONE change to a transaction the scripts accept.

Every entry is an `Attack` (see `milestoned.contracts.attack_builders`): a builder, the arguments of an
accepted transaction, the one argument the attack changes, and the rule that must refuse it (which
redeemer fails, with which trace message). The contract tests evaluate every attack with the compiled
scripts (tests/contracts/test_contract_attacks.py); the devnet tests submit each one a ledger can carry
as a signed transaction over real UTxOs and expect the node's refusal
(tests/devnet/test_devnet_contract_attacks.py). Both read this one catalogue, so an attack added here is
checked in both places.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nacl.signing import SigningKey
from pycardano import Address, ScriptHash, TransactionOutput

from milestoned.contracts import scenarios as sc
from milestoned.contracts.attack_builders import (
    B1,
    B2,
    FOREIGN_NAME,
    IN_RANGE,
    KEY_28,
    MAX_INDEX_16,
    MAX_SLOT_32,
    TINY_SCRIPT,
    VESTING,
    Attack,
    ExtraFieldDatum,
    Schedules,
    UnknownRedeemer,
    alloc,
    beneficiary_address,
    reclaim,
    register,
    release,
    release_two,
)
from milestoned.contracts.governance_attacks import GOVERNANCE
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import attestation_message


def _attestation(index: Sequence[int], **kwargs: Any) -> Callable[[Schedules], tuple[str, Any]]:
    return lambda s: ("attestations", [s.main.attestation(b"m1", index, **kwargs)])


def _payouts(make: Callable[[Schedules], list[TransactionOutput]]) -> Callable[[Schedules], tuple[str, Any]]:
    return lambda s: ("payouts", make(s))


def _release_base(s: Schedules) -> dict[str, Any]:
    return {
        "attestations": [s.main.attestation(b"m1", [0, 1])],
        "payouts": [s.main.payout(B1, 500)],
        "start": VESTING,
    }


def _outsider_attestation(s: Schedules) -> tuple[str, Any]:
    forged = SigningKey(sc.seed("outsider")).sign(attestation_message(s.main.schedule_id, b"m1")).signature
    good = s.main.attestation(b"m1", [0]).signatures[0]
    return "attestations", [ot.MilestoneAttestation(b"m1", [good, ot.OracleSignature(1, forged)])]


MERGED = (alloc(B1, 300), alloc(B1, 300))
RUNS = (alloc(B1, 100), alloc(B2, 200), alloc(B1, 300))
TWO_MILESTONES = (alloc(B1, 100, b"m1"), alloc(B2, 200, b"m2"))
NOT_MATCHED = "payouts do not match the allocations: "
LESS_ADA = "payout carries less ADA than its allocations locked"
HYGIENE = "payout must hold ADA and the released token only"


def _merged_base(s: Schedules) -> dict[str, Any]:
    return {"allocations": MERGED, "payouts": [s.main.payout(B1, 600, lovelace=2 * sc.ALLOCATION_LOVELACE)]}


def _runs_base(s: Schedules) -> dict[str, Any]:
    return {
        "allocations": RUNS,
        "payouts": [s.main.payout(B1, 100), s.main.payout(B2, 200), s.main.payout(B1, 300)],
    }


def _milestones_base(s: Schedules) -> dict[str, Any]:
    both = [s.main.attestation(b"m1", [0, 1]), s.main.attestation(b"m2", [1, 2])]
    return {"allocations": TWO_MILESTONES, "attestations": both}


def _register_base(s: Schedules) -> dict[str, Any]:
    return {"outputs": [s.main.allocation_output(alloc())]}


def _register_output(**parts: Any) -> Callable[[Schedules], tuple[str, Any]]:
    return lambda s: ("outputs", [s.main.allocation_output(alloc(), **parts)])


def _register_beneficiary(**address: Any) -> Callable[[Schedules], Mapping[str, Any]]:
    return lambda s: {"allocations": [alloc(beneficiary_address(**address))]}


def _change_beneficiary(**address: Any) -> Callable[[Schedules], tuple[str, Any]]:
    return lambda s: ("allocations", [alloc(beneficiary_address(**address))])


INTRUDER = sc.signing_key("intruder")

ATTACKS: tuple[Attack, ...] = (
    # --- oracles and quorum (release) ---
    Attack("quorum one short", release, _release_base, _attestation([2]), "quorum not reached"),
    Attack(
        "one oracle signing twice", release, _release_base, _attestation([1, 1]), "oracle indices must ascend"
    ),
    Attack(
        # oracle 2 as index -1 (read from the list's end) and as 2: ascending from -1, but an index
        # starts at 0 (the mutation run found this unguarded; see test_contract_mutants)
        "one oracle signing twice, once as a negative index",
        release,
        _release_base,
        _attestation([-1, 2], signers=[2, 2]),
        "oracle indices must ascend",
    ),
    Attack(
        "oracle indices descending",
        release,
        _release_base,
        _attestation([1, 0]),
        "oracle indices must ascend",
    ),
    Attack(
        "unknown oracle index", release, _release_base, _attestation([0, 3], signers=[0, 2]), "unknown oracle"
    ),
    Attack(
        "outsider key signing as oracle 1", release, _release_base, _outsider_attestation, "bad signature"
    ),
    Attack(
        "signatures over another milestone",
        release,
        _release_base,
        _attestation([0, 1], signed_milestone=b"m2"),
        "bad signature",
    ),
    Attack(
        "signatures over another schedule",
        release,
        _release_base,
        lambda s: ("attestations", [s.main.attestation(b"m1", [0, 1], signed_schedule=s.other.schedule_id)]),
        "bad signature",
    ),
    Attack(
        "valid attestation of another milestone",
        release,
        _release_base,
        lambda s: ("attestations", [s.main.attestation(b"m2", [0, 1])]),
        "milestone not attested",
    ),
    Attack(
        "two milestones, one attested",
        release,
        _milestones_base,
        lambda s: ("attestations", [s.main.attestation(b"m1", [0, 1])]),
        "milestone not attested",
    ),
    Attack(
        "release under a quorum-0 schedule",
        release,
        lambda s: {"schedule": s.variant("q1", quorum=1)},
        lambda s: ("schedule", s.variant("q0", quorum=0)),
        "quorum must be at least 1",
        ledger=None,  # a quorum-0 schedule registers nothing, so no ledger holds an allocation to spend
    ),
    # --- vesting ---
    Attack(
        "release before vesting", release, _release_base, lambda s: ("start", VESTING - 1_000), "not vested"
    ),
    Attack(
        "release without a validity start",
        release,
        _release_base,
        lambda s: ("start", None),
        "validity range has no lower bound",
    ),
    # --- payouts ---
    Attack(
        "beneficiary underpaid",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 499)]),
        NOT_MATCHED + "wrong token amount",
    ),
    Attack(
        "payout without the schedule tag",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 500, tag=None)]),
        NOT_MATCHED + "fewer tagged payouts than runs",
    ),
    Attack(
        "payout redirected to someone else",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B2, 500)]),
        NOT_MATCHED + "wrong address or order",
    ),
    Attack(
        "one payout for two allocations of a schedule",
        release,
        _merged_base,
        _payouts(lambda s: [s.main.payout(B1, 300, lovelace=2 * sc.ALLOCATION_LOVELACE)]),
        NOT_MATCHED + "wrong token amount",
    ),
    Attack(
        "two payouts for one merged run",
        release,
        _merged_base,
        _payouts(lambda s: [s.main.payout(B1, 300), s.main.payout(B1, 300)]),
        NOT_MATCHED + "wrong token amount",
    ),
    Attack(
        "runs b1, b2, b1 paid out of order",
        release,
        _runs_base,
        _payouts(lambda s: [s.main.payout(B2, 200), s.main.payout(B1, 100), s.main.payout(B1, 300)]),
        NOT_MATCHED + "wrong address or order",
    ),
    Attack(
        "runs b1, b2, b1 paid as sums",
        release,
        _runs_base,
        _payouts(lambda s: [s.main.payout(B1, 400), s.main.payout(B2, 200)]),
        NOT_MATCHED + "wrong address or order",
    ),
    Attack(
        "one payout for two schedules",
        release_two,
        lambda s: {"payouts": [s.main.payout(B1, 500), s.other.payout(B1, 500)]},
        _payouts(lambda s: [s.main.payout(B1, 500)]),
        NOT_MATCHED + "fewer tagged payouts than runs",
        failing="other",
    ),
    Attack(
        "payout 1 lovelace short of the locked ADA",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 500, lovelace=sc.ALLOCATION_LOVELACE - 1)]),
        LESS_ADA,
    ),
    Attack(
        "payout of 1 ADA, 2 ADA locked",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 500, lovelace=1_000_000)]),
        LESS_ADA,
        ledger=3125,  # below min-ADA: the ledger refuses the output before any script runs
    ),
    Attack(
        "merged run with one allocation's ADA",
        release,
        _merged_base,
        _payouts(lambda s: [s.main.payout(B1, 600)]),
        LESS_ADA,
    ),
    Attack(
        "an extra tagged payout",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B2, 1), s.main.payout(B1, 500)]),
        NOT_MATCHED + "more tagged payouts than runs",
    ),
    Attack(
        "payout carrying a foreign token",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 500, extra=s.foreign())]),
        HYGIENE,
    ),
    Attack(
        "payout carrying a reference script",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 500, script=TINY_SCRIPT)]),
        "payout carries a reference script",
    ),
    Attack(
        "payout carrying no token",
        release,
        _release_base,
        _payouts(lambda s: [s.main.payout(B1, 0)]),
        HYGIENE,
    ),
    # --- spoofed allocations ---
    Attack(
        "spoofed UTxO beside a real allocation",
        release,
        lambda s: {"spoof": False},
        lambda s: ("spoof", True),
        "burn count",
    ),
    Attack(
        "allocation spent without burning",
        reclaim,
        lambda s: {"burn": None},
        lambda s: ("burn", 0),
        "auth token not burned",
        failing="spend",
    ),
    Attack(
        "allocation spent in a registration",
        register,
        lambda s: {"spend_allocation": False},
        lambda s: ("spend_allocation", True),
        "auth token not burned",
        failing="spend",
        # the spent allocation's auth token goes to the change, which is not at the validator
        also=(("main", "wrong address"),),
    ),
    # --- reclaim ---
    Attack(
        "reclaim before the deadline",
        reclaim,
        lambda s: {"start": s.main.reclaim_deadline_ms},
        lambda s: ("start", s.main.reclaim_deadline_ms - 1_000),
        "before reclaim deadline",
    ),
    Attack(
        "reclaim without the admin",
        reclaim,
        lambda s: {"signers": None},
        lambda s: ("signers", [INTRUDER]),
        "admin signature missing",
    ),
    Attack(
        "reclaim with redeemer Constr 5 []",
        reclaim,
        lambda s: {"redeemer": None},
        lambda s: ("redeemer", UnknownRedeemer()),
        "unknown redeemer: expected Register, Release, Reclaim, Cancel or InitState",
    ),
    Attack(
        "reclaim burning fewer tokens than allocations",
        reclaim,
        lambda s: {"allocations": (alloc(B1, 500), alloc(B2, 250)), "burn": None},
        lambda s: ("burn", -1),
        "burn count",
    ),
    Attack(
        "reclaim burning more tokens than allocations",
        reclaim,
        lambda s: {"allocations": (alloc(B1, 500), alloc(B2, 250)), "burn": None},
        lambda s: ("burn", -3),
        "burn count",
        ledger=3123,  # there is no third auth token to burn: value is not conserved
    ),
    # --- register ---
    Attack(
        "register to a wallet address",
        register,
        _register_base,
        lambda s: (
            "outputs",
            [s.main.allocation_output(alloc(), address=sc.wallet_address(f"admin/{s.main.label}"))],
        ),
        "wrong address",
    ),
    Attack(
        "register to another script's address",
        register,
        _register_base,
        lambda s: (
            "outputs",
            [
                s.main.allocation_output(
                    alloc(), address=Address(ScriptHash(s.main.schedule_id), network=sc.NETWORK)
                )
            ],
        ),
        "wrong address",
    ),
    Attack(
        "register without a datum", register, _register_base, _register_output(datum=None), "no inline datum"
    ),
    Attack(
        "register with a datum of an extra field",
        register,
        _register_base,
        lambda s: (
            "outputs",
            [s.main.allocation_output(alloc(), datum=ExtraFieldDatum.of(s.main.datum(alloc())))],
        ),
        "ValueError: datum integrity check failed",
    ),
    Attack(
        "register underfunded",
        register,
        _register_base,
        _register_output(funded=499),
        "token amount held differs from the datum amount",
    ),
    Attack(
        "register overfunded",
        register,
        _register_base,
        _register_output(funded=501),
        "token amount held differs from the datum amount",
    ),
    Attack(
        "register for another schedule id",
        register,
        _register_base,
        lambda s: (
            "outputs",
            [s.main.allocation_output(alloc(), datum=s.main.datum(alloc(), s.other.schedule_id))],
        ),
        "wrong schedule id",
    ),
    Attack(
        "register a zero amount",
        register,
        lambda s: {"allocations": [alloc(amount=1)]},
        lambda s: ("allocations", [alloc(amount=0)]),
        "amount not positive",
    ),
    Attack(
        "register two auth tokens in one output",
        register,
        _register_base,
        _register_output(auth_tokens=2),
        "one auth token per output",
    ),
    Attack(
        "register without the admin",
        register,
        lambda s: {"signers": None},
        lambda s: ("signers", [INTRUDER]),
        "admin signature missing",
    ),
    Attack(
        "register minting an extra auth token",
        register,
        lambda s: {"minted": None},
        lambda s: ("minted", 2),
        "wrong address",  # the extra token can only go to an output that is not an allocation
    ),
    Attack(
        "register minting fewer auth tokens than allocations",
        register,
        lambda s: {"allocations": (alloc(B1), alloc(B2)), "minted": None},
        lambda s: ("minted", 1),
        "mint count",
        ledger=3123,  # the outputs hold an auth token that was never minted
    ),
    Attack(
        "register under a quorum-0 schedule",
        register,
        lambda s: {"schedule": s.main},
        lambda s: ("schedule", s.variant("q0", quorum=0)),
        "quorum must be at least 1",
    ),
    # --- the schedule's parameters (issue 11.4) ---
    Attack(
        "register under a schedule listing one oracle key twice",
        register,
        lambda s: {"schedule": s.main},
        lambda s: ("schedule", s.variant("dup", oracle_keys_of=(0, 1, 1))),
        "oracle key repeated",
    ),
    Attack(
        "register under a quorum above the number of oracles",
        register,
        lambda s: {"schedule": s.variant("q2of2", oracle_count=2, quorum=2)},
        lambda s: ("schedule", s.variant("q3of2", oracle_count=2, quorum=3)),
        "quorum larger than the number of oracles",
    ),
    # --- beneficiaries no wallet can spend from (issue 11.4) ---
    Attack(
        "beneficiary payment credential of 27 bytes",
        register,
        _register_beneficiary(),
        _change_beneficiary(payment=KEY_28[:27]),
        "beneficiary payment credential is not 28 bytes",
    ),
    Attack(
        "beneficiary payment credential of 29 bytes",
        register,
        _register_beneficiary(),
        _change_beneficiary(payment=KEY_28 + b"\x00"),
        "beneficiary payment credential is not 28 bytes",
    ),
    Attack(
        "beneficiary stake credential of 27 bytes",
        register,
        _register_beneficiary(stake_key=KEY_28),
        _change_beneficiary(stake_key=KEY_28[:27]),
        "beneficiary staking credential is not 28 bytes",
    ),
    Attack(
        "beneficiary pointer slot above 2^32-1",
        register,
        _register_beneficiary(pointer=IN_RANGE),
        _change_beneficiary(pointer=(MAX_SLOT_32 + 1, MAX_INDEX_16, MAX_INDEX_16)),
        "beneficiary pointer out of range",
    ),
    Attack(
        "beneficiary pointer tx index above 2^16-1",
        register,
        _register_beneficiary(pointer=IN_RANGE),
        _change_beneficiary(pointer=(MAX_SLOT_32, MAX_INDEX_16 + 1, MAX_INDEX_16)),
        "beneficiary pointer out of range",
    ),
    Attack(
        "beneficiary pointer certificate index above 2^16-1",
        register,
        _register_beneficiary(pointer=IN_RANGE),
        _change_beneficiary(pointer=(MAX_SLOT_32, MAX_INDEX_16, MAX_INDEX_16 + 1)),
        "beneficiary pointer out of range",
    ),
    Attack(
        "beneficiary pointer with a negative slot",
        register,
        _register_beneficiary(pointer=(0, 0, 0)),
        _change_beneficiary(pointer=(-1, 0, 0)),
        "beneficiary pointer out of range",
    ),
    Attack(
        "beneficiary pointer with a negative transaction index",
        register,
        _register_beneficiary(pointer=(0, 0, 0)),
        _change_beneficiary(pointer=(0, -1, 0)),
        "beneficiary pointer out of range",
    ),
    Attack(
        "beneficiary pointer with a negative certificate index",
        register,
        _register_beneficiary(pointer=(0, 0, 0)),
        _change_beneficiary(pointer=(0, 0, -1)),
        "beneficiary pointer out of range",
    ),
    *GOVERNANCE,  # issue 15: cancel, guardians' pause, move (governance_attacks)
)


@functools.cache
def by_name() -> dict[str, Attack]:
    names = [a.name for a in ATTACKS]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"attack names must be unique: {sorted(duplicates)}")
    return {a.name: a for a in ATTACKS}


__all__ = [
    "ATTACKS",
    "B1",
    "B2",
    "FOREIGN_NAME",
    "HYGIENE",
    "IN_RANGE",
    "KEY_28",
    "LESS_ADA",
    "MERGED",
    "NOT_MATCHED",
    "RUNS",
    "TINY_SCRIPT",
    "TWO_MILESTONES",
    "VESTING",
    "Attack",
    "Schedules",
    "alloc",
    "beneficiary_address",
    "by_name",
    "release",
]
