"""The attacks on the scripts, each as ONE change to a transaction the scripts accept.

An `Attack` names a builder (register, release or reclaim of `scenarios`), the keyword arguments of an
accepted transaction (`base`) and the one argument it changes (`change`), with the rule that must then
refuse it: which redeemer fails and that rule's own trace message. Building the accepted transaction
and the attack from the same arguments but one is what makes a refusal evidence for that rule: any
other difference (a missing signature, a wrong fee) would show in the accepted twin.

The contract tests evaluate every attack with the compiled scripts; the devnet tests submit the ones
that a ledger can carry to the script (`ledger`: balanced, above min-ADA) as signed transactions over
real UTxOs and expect the node's refusal. Both read this one catalogue, so an attack added here is
checked in both places.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nacl.signing import SigningKey
from pycardano import (
    Address,
    PlutusData,
    PlutusV3Script,
    RedeemerTag,
    ScriptHash,
    TransactionInput,
    TransactionOutput,
)

from milestoned.contracts import scenarios as sc
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import attestation_message

VESTING = sc.SLOT_CONFIG.zero_time_ms + 1_000_000
B1 = sc.beneficiary("alice")
B2 = sc.beneficiary("bob", staked=False)
FOREIGN_NAME = b"OTHER"
# (program 1.1.0 (con unit ())): the smallest script, so a payout carrying it stays above min-ADA
TINY_SCRIPT = PlutusV3Script(bytes.fromhex("4501010000a1"))
KEY_28 = bytes(range(28))
MAX_SLOT_32 = 2**32 - 1
MAX_INDEX_16 = 2**16 - 1


@dataclass
class UnknownRedeemer(PlutusData):
    """A policy redeemer of none of the three constructors (Register 0, Release 1, Reclaim 2)."""

    CONSTR_ID = 3


def alloc(
    beneficiary: Address | ot.PlutusAddress = B1, amount: int = 500, milestone: bytes = b"m1"
) -> sc.Allocation:
    return sc.Allocation(beneficiary, amount, milestone, VESTING)


@dataclass
class Schedules:
    """The schedules attacks run under: `main` (3 oracles, quorum 2), `other` (a second schedule) and
    variants of `main`'s rules, all with the same token (`token_policy_id`) and `foreign_policy_id` for a
    token that is not the schedule's."""

    token_policy_id: bytes = sc.TOKEN_POLICY_ID
    foreign_policy_id: bytes = sc.TOKEN_POLICY_ID[::-1]
    label: str = ""
    _variants: dict[str, sc.Schedule] = field(default_factory=dict)

    def variant(self, name: str, **rules: Any) -> sc.Schedule:
        """A schedule with these rules (made once per name)."""
        if name not in self._variants:
            self._variants[name] = sc.Schedule(
                label=f"{self.label}{name}", token_policy_id=self.token_policy_id, **rules
            )
        return self._variants[name]

    @property
    def main(self) -> sc.Schedule:
        return self.variant("s1")

    @property
    def other(self) -> sc.Schedule:
        return self.variant("s2")

    def foreign(self, quantity: int = 1) -> Any:
        return sc.tokens(self.foreign_policy_id, FOREIGN_NAME, quantity)


# --- the builders: keyword arguments only, each default part of an accepted transaction ----------------


def release(
    s: Schedules,
    *,
    schedule: sc.Schedule | None = None,
    allocations: Sequence[sc.Allocation] = (alloc(),),
    attestations: Sequence[ot.MilestoneAttestation] | None = None,
    payouts: Sequence[TransactionOutput] | None = None,
    start: int | None = VESTING,
    spoof: bool = False,
) -> sc.Built:
    """A release of `allocations` (milestone m1 attested by oracles 0 and 1, the payouts they call for).
    `spoof` adds a UTxO at the validator with a datum for the schedule but no auth token."""
    schedule = schedule or s.main
    spent = dict(sc.allocation_utxos(schedule, allocations))
    if spoof:
        spent[sc.tx_input("spoof")] = spoofed_output(schedule)
    return sc.release_tx(
        schedule,
        spent,
        [schedule.attestation(b"m1", [0, 1])] if attestations is None else attestations,
        payouts=sc.correct_payouts(schedule, allocations) if payouts is None else payouts,
        validity_start_ms=start,
    )


def spoofed_output(schedule: sc.Schedule) -> TransactionOutput:
    """A UTxO at the validator with a perfect datum for `schedule` but no auth token."""
    return schedule.allocation_output(alloc(B2, 700), auth_tokens=0)


def release_two(s: Schedules, *, payouts: Sequence[TransactionOutput] | None = None) -> sc.Built:
    """One transaction releasing an allocation of `main` and one of `other`, both to B1."""
    mine = sc.allocation_utxos(s.main, [alloc(B1, 500)])
    theirs = sc.allocation_utxos(s.other, [alloc(B1, 500)], label="other-registration")
    other_release = ot.Release([s.other.attestation(b"m1", [0, 1])])
    return sc.release_tx(
        s.main,
        {**mine, **theirs},
        [s.main.attestation(b"m1", [0, 1])],
        payouts=[s.main.payout(B1, 500), s.other.payout(B1, 500)] if payouts is None else payouts,
        validity_start_ms=VESTING,
        extra_schedules=[(s.other, other_release, 1)],
    )


def reclaim(
    s: Schedules,
    *,
    allocations: Sequence[sc.Allocation] = (alloc(),),
    start: int | None = None,
    signers: Sequence[Any] | None = None,
    burn: int | None = None,
    redeemer: Any = None,
) -> sc.Built:
    """The admin reclaims `allocations` at the deadline. `burn=0` burns nothing (no mint at all)."""
    schedule = s.main
    spent = sc.allocation_utxos(schedule, allocations)
    built = sc.reclaim_tx(
        schedule,
        spent,
        validity_start_ms=schedule.reclaim_deadline_ms if start is None else start,
        signers=signers,
        burn=burn if burn != 0 else None,
        redeemer=redeemer,
    )
    if burn != 0:
        return built
    spec = built.spec
    return sc.assemble(
        spent=spec.spent,
        outputs=spec.outputs,
        mint={},
        mint_redeemers={},
        schedules=spec.schedules,
        signers=spec.signers,
        validity_start_ms=spec.validity_start_ms,
    )


def register(
    s: Schedules,
    *,
    schedule: sc.Schedule | None = None,
    allocations: Sequence[sc.Allocation] = (alloc(),),
    outputs: Sequence[TransactionOutput] | None = None,
    minted: int | None = None,
    signers: Sequence[Any] | None = None,
    spend_allocation: bool = False,
) -> sc.Built:
    """Register `allocations` under `schedule` (main by default). `spend_allocation` also spends an
    allocation registered before."""
    schedule = schedule or s.main
    built = sc.register_tx(schedule, allocations, outputs=outputs, minted=minted, signers=signers)
    if not spend_allocation:
        return built
    spec = built.spec
    existing = sc.allocation_utxos(schedule, [alloc(B1, 500)], label="earlier-registration")
    return sc.assemble(
        spent={**spec.spent, **existing},
        outputs=spec.outputs,
        mint=spec.mint,
        mint_redeemers=spec.mint_redeemers,
        schedules=spec.schedules,
        signers=spec.signers,
    )


def beneficiary_address(
    *,
    payment: bytes = KEY_28,
    stake_key: bytes | None = None,
    pointer: tuple[int, int, int] | None = None,
) -> ot.PlutusAddress:
    """A ledger API address written out: a key payment credential, and a stake key or a pointer."""
    staking: ot.SomeStakingCredential | ot.NoStakingCredential = ot.NoStakingCredential()
    if stake_key is not None:
        staking = ot.SomeStakingCredential(ot.StakingHash(ot.PubKeyCredential(stake_key)))
    elif pointer is not None:
        staking = ot.SomeStakingCredential(ot.StakingPtr(*pointer))
    return ot.PlutusAddress(ot.PubKeyCredential(payment), staking)


# --- the catalogue ------------------------------------------------------------------------------------------

Failing = Literal["main", "other", "spend"]


@dataclass(frozen=True)
class Attack:
    """One change (`change`) to an accepted transaction (`builder(schedules, **base)`), refused by the
    rule whose trace message is `reason`, in the redeemer `failing` names: the policy of `main` or
    `other`, or the spend of the first allocation input. `also` lists further (redeemer, reason) pairs
    when one change necessarily breaks two rules. `ledger` is how a node refuses it: 3136 (submitted as
    valid, a script fails), or the code of the ledger rule that catches it before any script runs; None
    when no ledger can hold what the attack spends (then it has no ledger twin)."""

    name: str
    builder: Callable[..., sc.Built]
    base: Callable[[Schedules], Mapping[str, Any]]
    change: Callable[[Schedules], tuple[str, Any]]
    reason: str
    failing: Failing = "main"
    also: tuple[tuple[Failing, str], ...] = ()
    ledger: int | None = 3136

    def transactions(self, schedules: Schedules) -> tuple[sc.Built, sc.Built]:
        """The accepted transaction and the attack, built from the same arguments but one."""
        base = dict(self.base(schedules))
        key, value = self.change(schedules)
        if key not in base:
            raise ValueError(
                f"{self.name}: the change {key!r} is not an argument of the accepted transaction"
            )
        if _same(base[key], value):
            raise ValueError(f"{self.name}: the change leaves {key!r} as it was")
        return self.builder(schedules, **base), self.builder(schedules, **{**base, key: value})

    def expected(self, schedules: Schedules, attacked: sc.Built) -> list[tuple[RedeemerTag, int, str]]:
        """(tag, index, trace message) of every redeemer that must fail, in the attack's transaction."""
        return [
            (*_redeemer(schedules, attacked, failing), reason)
            for failing, reason in ((self.failing, self.reason), *self.also)
        ]


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # pycardano objects compare by value; anything else is a change
        return False


def _redeemer(schedules: Schedules, built: sc.Built, failing: Failing) -> tuple[RedeemerTag, int]:
    body = built.tx.transaction_body
    if failing == "spend":
        validator = {s.scripts.validator_hash for s in built.spec.schedules}
        for index, tx_in in enumerate(body.inputs):
            payment = built.utxos[tx_in].address.payment_part
            if isinstance(payment, ScriptHash) and payment.payload in validator:
                return RedeemerTag.SPEND, index
        raise ValueError("the transaction spends nothing at the validator")
    if len(built.spec.mint) == 1:  # the one policy that runs (`main`, or the variant the attack swapped in)
        return RedeemerTag.MINT, 0
    schedule = schedules.main if failing == "main" else schedules.other
    return RedeemerTag.MINT, sorted(built.spec.mint).index(schedule.schedule_id)


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


def _schedule(name: str, **rules: Any) -> Callable[[Schedules], sc.Schedule]:
    return lambda s: s.variant(name, **rules)


INTRUDER = sc.signing_key("intruder")
IN_RANGE = (MAX_SLOT_32, MAX_INDEX_16, MAX_INDEX_16)

ATTACKS: tuple[Attack, ...] = (
    # --- oracles and quorum (release) ---
    Attack("quorum one short", release, _release_base, _attestation([2]), "quorum not reached"),
    Attack(
        "one oracle signing twice", release, _release_base, _attestation([1, 1]), "oracle indices must ascend"
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
        "reclaim with redeemer Constr 3 []",
        reclaim,
        lambda s: {"redeemer": None},
        lambda s: ("redeemer", UnknownRedeemer()),
        "unknown redeemer: expected Register, Release or Reclaim",
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
)


@dataclass
class ExtraFieldDatum(PlutusData):
    """An AllocationDatum with a sixth field: readable field by field, refused by the integrity check."""

    CONSTR_ID = 0
    schedule_id: bytes
    beneficiary: ot.PlutusAddress
    amount: int
    milestone_id: bytes
    vesting_time: int
    extra: int

    @classmethod
    def of(cls, datum: ot.AllocationDatum) -> ExtraFieldDatum:
        return cls(
            datum.schedule_id, datum.beneficiary, datum.amount, datum.milestone_id, datum.vesting_time, 0
        )


@functools.cache
def by_name() -> dict[str, Attack]:
    names = [a.name for a in ATTACKS]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"attack names must be unique: {sorted(duplicates)}")
    return {a.name: a for a in ATTACKS}


__all__ = ["ATTACKS", "Attack", "Schedules", "TransactionInput", "by_name"]
