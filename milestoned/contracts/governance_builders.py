"""Transactions of issue 15's rules, built as the attacks want them: cancel, guardians' state, move.

Like `attack_builders`, every builder takes keyword arguments only, each defaulting to its part of a
transaction the scripts accept; an attack (`governance_attacks`) changes exactly one of them. The
schedule with guardians is `Schedules.guarded` (3 guardians, threshold 2); its state UTxO is built here
as the state validator leaves it, so a release can read it and a state change can spend it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pycardano import Address, PaymentSigningKey, TransactionId, TransactionInput, TransactionOutput, Value

from milestoned.contracts import scenarios as sc
from milestoned.contracts.attack_builders import B1, B2, VESTING, Schedules, alloc
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import Statement

STATE_LOVELACE = 2_000_000
DEFAULT = "default"


def state_datum(schedule: sc.Schedule, paused: int = 0) -> ot.ScheduleState:
    parameters = schedule.scripts.parameters
    return ot.ScheduleState(
        schedule.schedule_id, list(parameters.guardian_keys), parameters.guardian_threshold, paused
    )


def state_address(schedule: sc.Schedule) -> Address:
    return schedule.scripts.state_address("devnet")


def state_output(
    schedule: sc.Schedule,
    *,
    paused: int = 0,
    state_tokens: int = 1,
    address: Address | None = None,
    datum: Any = DEFAULT,
    lovelace: int = STATE_LOVELACE,
    script: Any = None,
    name: bytes = ot.STATE_TOKEN_NAME,
) -> TransactionOutput:
    """The schedule's state UTxO (each part overridable: a forged one has no state token)."""
    return TransactionOutput(
        address or state_address(schedule),
        Value(lovelace, sc.tokens(schedule.schedule_id, name, state_tokens)),
        datum=state_datum(schedule, paused) if datum == DEFAULT else datum,
        script=script,
    )


def state_utxo(schedule: sc.Schedule, **parts: Any) -> dict[TransactionInput, TransactionOutput]:
    return {sc.tx_input(f"state/{schedule.label}"): state_output(schedule, **parts)}


# --- cancel -------------------------------------------------------------------------------------------------


def cancellation(
    schedule: sc.Schedule, milestone: bytes = b"m1", oracles: Sequence[int] = (0, 1), **kwargs: Any
) -> ot.MilestoneAttestation:
    """Oracles' signatures of the cancellation message (by default m1's, by oracles 0 and 1)."""
    return schedule.attestation(milestone, oracles, statement=Statement.CANCEL, **kwargs)


def cancel(
    s: Schedules,
    *,
    allocations: Sequence[sc.Allocation] = (alloc(),),
    cancellations: Sequence[ot.MilestoneAttestation] | None = None,
    signers: Sequence[PaymentSigningKey] | None = None,
    schedule: sc.Schedule | None = None,
) -> sc.Built:
    """The admin takes back m1's allocations at once, the oracles having cancelled m1 (no deadline: the
    transaction has no validity start at all)."""
    schedule = schedule or s.main
    return sc.reclaim_tx(
        schedule,
        sc.allocation_utxos(schedule, allocations),
        validity_start_ms=None,
        signers=signers,
        redeemer=ot.Cancel([cancellation(schedule)] if cancellations is None else list(cancellations)),
    )


# --- guardians: the state, and releases that read it ------------------------------------------------------


def guarded_release(
    s: Schedules,
    *,
    state: Mapping[TransactionInput, TransactionOutput] | str = DEFAULT,
    allocations: Sequence[sc.Allocation] = (alloc(),),
    schedule: sc.Schedule | None = None,
) -> sc.Built:
    """A release of the guarded schedule (or `schedule`) reading its state UTxO (`state`: the reference
    inputs, or "default" for the state as created, not paused)."""
    schedule = schedule or s.guarded
    spent = sc.allocation_utxos(schedule, allocations)
    return sc.release_tx(
        schedule,
        spent,
        [schedule.attestation(b"m1", [0, 1])],
        payouts=sc.correct_payouts(schedule, allocations),
        validity_start_ms=VESTING,
        reference_inputs=state_utxo(schedule) if isinstance(state, str) else state,
    )


def guarded_register(
    s: Schedules,
    *,
    state: Mapping[TransactionInput, TransactionOutput] | str = DEFAULT,
    allocations: Sequence[sc.Allocation] = (alloc(),),
    schedule: sc.Schedule | None = None,
) -> sc.Built:
    """A registration of the guarded schedule (or `schedule`), reading its state UTxO (`state`:
    "default" for the state as created)."""
    schedule = schedule or s.guarded
    return sc.register_tx(
        schedule,
        allocations,
        reference_inputs=state_utxo(schedule) if isinstance(state, str) else state,
    )


def init_state(
    s: Schedules,
    *,
    schedule: sc.Schedule | None = None,
    signers: Sequence[PaymentSigningKey] | None = None,
    minted: int = 1,
    output: TransactionOutput | str = DEFAULT,
    seeded: bool = True,
    name: bytes = ot.STATE_TOKEN_NAME,
) -> sc.Built:
    """`InitState`: the guarded schedule's admin creates its state UTxO, spending the seed UTxO its
    parameters name (`seeded=False`: another UTxO of the admin's instead, as a second creation would)."""
    schedule = schedule or s.guarded
    funding = TransactionOutput(sc.wallet_address(f"admin/{schedule.label}"), Value(20_000_000))
    seed_tx, seed_index = schedule.state_seed
    seed_in = (
        TransactionInput(TransactionId(seed_tx), seed_index)
        if seeded and seed_tx
        else sc.tx_input(f"state-funding/{schedule.label}")
    )
    return sc.assemble(
        spent={seed_in: funding},
        outputs=[
            state_output(schedule, state_tokens=minted, name=name) if isinstance(output, str) else output
        ],
        mint={schedule.schedule_id: minted},
        mint_redeemers={schedule.schedule_id: ot.InitState()},
        schedules=[schedule],
        signers=[schedule.admin] if signers is None else signers,
        mint_names={schedule.schedule_id: name},
    )


def set_paused(
    s: Schedules,
    *,
    paused: int = 1,
    signers: Sequence[PaymentSigningKey] | None = None,
    output: TransactionOutput | str = DEFAULT,
    schedule: sc.Schedule | None = None,
) -> sc.Built:
    """Guardians 0 and 1 pause the guarded schedule (or `schedule`): the state UTxO goes back where it
    was, paused."""
    schedule = schedule or s.guarded
    return sc.assemble(
        spent=state_utxo(schedule),
        outputs=[state_output(schedule, paused=paused) if isinstance(output, str) else output],
        mint={},
        mint_redeemers={},
        schedules=[schedule],
        signers=[schedule.guardian(0), schedule.guardian(1)] if signers is None else signers,
        spend_redeemer=lambda index, tx_in: ot.SetPaused(paused),
        extra_scripts=[schedule.scripts.state_validator],
    )


# --- move ---------------------------------------------------------------------------------------------------


def beneficiary_key(address: Address) -> PaymentSigningKey:
    """The signing key of a scenario beneficiary (`sc.beneficiary(label)`)."""
    for label in ("alice", "bob", "carol"):
        if sc.beneficiary(label).payment_part == address.payment_part:
            return sc.signing_key(f"beneficiary/{label}")
    raise ValueError(f"no scenario key for {address}")


def move(
    s: Schedules,
    *,
    allocations: Sequence[sc.Allocation] = (alloc(B1, 500),),
    to: Address | ot.PlutusAddress = B2,
    signers: Sequence[PaymentSigningKey] | None = None,
    datum: Mapping[str, Any] | None = None,
    value: Value | None = None,
    address: Address | None = None,
    index: str = "own",
    script: Any = None,
    label: str = "move",
    relocked: bool = True,
) -> sc.Built:
    """The beneficiary moves `allocations` to `to`: each allocation's re-locked copy is the output at its
    own input's position (filler outputs to the fee payer take the other positions). Attacks change the
    re-locked datum's fields (`datum`), its `value`, its `address`, its reference `script`, or `index`:
    "own" (each its own), "first" (every move names the first moved allocation's index), "count" (the
    number of inputs: one past the last), "beyond" (far past the last input) or "negative" (-1); or
    leave the allocations without their outputs (`relocked=False`: the outputs end just before the last
    allocation's position, where the fee payer's change, always the last output, then sits, so the
    transaction has exactly as many outputs as that allocation's index). `label` names the allocations'
    UTxOs, so their place among the sorted inputs (before or after the fee input).

    The outputs and redeemers come from the spec's `layout`, so the devnet twins lay them out again at
    the real UTxOs' positions (with the same one change)."""
    schedule = s.main
    spent = sc.allocation_utxos(schedule, allocations, label=label)
    fee_in = sc.tx_input("fee")
    inputs = sorted([*spent, fee_in], key=lambda i: (i.transaction_id.payload, i.index))
    target = to if isinstance(to, ot.PlutusAddress) else ot.address_to_plutus(to)
    filler = TransactionOutput(sc.wallet_address("fee-payer"), Value(2_000_000))

    def lay_out(
        positions: Mapping[TransactionInput, int],
    ) -> tuple[list[TransactionOutput], Callable[[int, TransactionInput], Any]]:
        outputs: list[TransactionOutput] = [filler] * (max(positions.values()) + 1)
        for tx_in, locked in spent.items():
            old = locked.datum
            assert isinstance(old, ot.AllocationDatum)
            fields = {
                "schedule_id": old.schedule_id,
                "beneficiary": target,
                "amount": old.amount,
                "milestone_id": old.milestone_id,
                "vesting_time": old.vesting_time,
                **(datum or {}),
            }
            outputs[positions[tx_in]] = TransactionOutput(
                address or locked.address,
                locked.amount if value is None else value,
                datum=ot.AllocationDatum(**fields),
                script=script,
            )
        if not relocked:
            if max(positions.values()) == 0:
                raise ValueError("the first input always has an output (the change): move it later")
            outputs = outputs[: max(positions.values()) - 1]
        named = {
            "first": min(positions.values()),
            "count": len(positions) + 1,  # the inputs are the allocations and the fee input
            "beyond": max(positions.values()) + 64,
            "negative": -1,
        }
        return outputs, lambda position, tx_in: ot.Move(named.get(index, position))

    outputs, spend_redeemer = lay_out({tx_in: inputs.index(tx_in) for tx_in in spent})
    if signers is None:  # each distinct key beneficiary's own key (a script beneficiary has none)
        owners = {
            bytes(a.beneficiary.payment_part): a.beneficiary
            for a in allocations
            if isinstance(a.beneficiary, Address)
        }
        signers = [beneficiary_key(owner) for owner in owners.values()]
    built = sc.assemble(
        spent=spent,
        outputs=outputs,
        mint={},
        mint_redeemers={},
        schedules=[schedule],
        signers=signers,
        spend_redeemer=spend_redeemer,
    )
    built.spec = dataclasses.replace(built.spec, layout=lay_out)
    return built


__all__ = [
    "B1",
    "B2",
    "Schedules",
    "beneficiary_key",
    "cancel",
    "cancellation",
    "guarded_register",
    "guarded_release",
    "init_state",
    "move",
    "set_paused",
    "state_output",
    "state_utxo",
]
