"""The parts of the contract attacks: schedules, transaction builders, and what an attack is.

An `Attack` names a builder (register, release or reclaim of `scenarios`), the keyword arguments of an
accepted transaction (`base`) and the one argument it changes (`change`), with the rule that must then
refuse it: which redeemer fails and that rule's own trace message. Building the accepted transaction
and the attack from the same arguments but one is what makes a refusal evidence for that rule: any
other difference (a missing signature, a wrong fee) would show in the accepted twin. The catalogue of
attacks itself is `milestoned.contracts.attacks`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pycardano import Address, PlutusData, PlutusV3Script, RedeemerTag, ScriptHash, TransactionOutput

from milestoned.contracts import scenarios as sc
from milestoned.domain import onchain_types as ot

VESTING = sc.SLOT_CONFIG.zero_time_ms + 1_000_000
B1 = sc.beneficiary("alice")
B2 = sc.beneficiary("bob", staked=False)
FOREIGN_NAME = b"OTHER"
# (program 1.1.0 (con unit ())): the smallest script, so a payout carrying it stays above min-ADA
TINY_SCRIPT = PlutusV3Script(bytes.fromhex("4501010000a1"))
KEY_28 = bytes(range(28))
MAX_SLOT_32 = 2**32 - 1
MAX_INDEX_16 = 2**16 - 1
IN_RANGE = (MAX_SLOT_32, MAX_INDEX_16, MAX_INDEX_16)  # the largest pointer a ledger keeps


@dataclass
class UnknownRedeemer(PlutusData):
    """A policy redeemer of none of the constructors (Register 0 ... InitState 4)."""

    CONSTR_ID = 5


def alloc(
    beneficiary: Address | ot.PlutusAddress = B1, amount: int = 500, milestone: bytes = b"m1"
) -> sc.Allocation:
    return sc.Allocation(beneficiary, amount, milestone, VESTING)


@dataclass
class Schedules:
    """The schedules attacks run under: `main` (3 oracles, quorum 2), `other` (a second schedule) and
    variants of `main`'s rules, all with the same token (`token_policy_id`) and `foreign_policy_id` for a
    token that is not the schedule's. `guardian_seed` is the UTxO `guarded`'s state creation spends (by
    default a made-up one, `sc.Schedule.state_seed`; the devnet twins give a real one)."""

    token_policy_id: bytes = sc.TOKEN_POLICY_ID
    foreign_policy_id: bytes = sc.TOKEN_POLICY_ID[::-1]
    label: str = ""
    guardian_seed: tuple[bytes, int] | None = None
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

    @property
    def guarded(self) -> sc.Schedule:
        """A schedule with guardians (issue 15): 3 of them, 2 must sign."""
        return self.variant("g1", guardian_count=3, guardian_threshold=2, guardian_seed=self.guardian_seed)

    @property
    def lone(self) -> sc.Schedule:
        """A schedule with one guardian, threshold 1: the smallest threshold that still reads the state.
        Its seed is `guarded`'s (the devnet twins give each of its attacks schedules of their own)."""
        return self.variant("g-one", guardian_count=1, guardian_threshold=1, guardian_seed=self.guardian_seed)

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

Failing = Literal["main", "other", "spend", "last spend"]


@dataclass(frozen=True)
class Attack:
    """One change (`change`) to an accepted transaction (`builder(schedules, **base)`), refused by the
    rule whose trace message is `reason`, in the redeemer `failing` names: the policy of `main` or
    `other`, or the spend of the first (or last) input at one of our validators. `also` lists further
    (redeemer, reason) pairs when one change necessarily breaks two rules. `ledger` is how a node
    refuses it: 3136 (submitted as valid, a script fails), or the code of the ledger rule that catches
    it before any script runs; None when no ledger can hold what the attack spends (then it has no
    ledger twin)."""

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
    if failing in ("spend", "last spend"):
        validators = {s.scripts.validator_hash for s in built.spec.schedules} | {
            s.scripts.state_validator_hash for s in built.spec.schedules
        }
        spends = [
            index
            for index, tx_in in enumerate(body.inputs)
            if isinstance(payment := built.utxos[tx_in].address.payment_part, ScriptHash)
            and payment.payload in validators
        ]
        if not spends:
            raise ValueError("the transaction spends nothing at our validators")
        return RedeemerTag.SPEND, spends[0] if failing == "spend" else spends[-1]
    if len(built.spec.mint) == 1:  # the one policy that runs (`main`, or the variant the attack swapped in)
        return RedeemerTag.MINT, 0
    schedule = schedules.main if failing == "main" else schedules.other
    return RedeemerTag.MINT, sorted(built.spec.mint).index(schedule.schedule_id)


@dataclass
class ExtraFieldAddress(ot.PlutusAddress):
    """An address with a third field: its payment and staking credentials read as a well-formed one's,
    only the integrity check refuses it."""

    extra: int = 0

    @classmethod
    def of(cls, address: ot.PlutusAddress) -> ExtraFieldAddress:
        return cls(address.payment_credential, address.staking_credential)


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
