"""Deterministic schedules and transactions for exercising the compiled scripts.

The contract tests and `bench/contracts.py` evaluate the real scripts on real pycardano transactions
built here: registration, release and reclaim, with the scripts supplied as reference scripts (as a
deployment does), a fee input, collateral, a script data hash and the key witnesses, so the measured
transaction size is the size a wallet would submit. Every builder takes the pieces a test wants to
break (outputs, attestations, validity start, signers...) as arguments, and defaults to the correct
transaction. Keys come from fixed seeds, so figures are reproducible.

Transactions are balanced: whatever the spent inputs, the fee input and the mint leave after the outputs
and the fee goes back to the fee payer in a last change output (an attack that takes more than the inputs
hold cannot be balanced, and keeps a change of nothing in that asset). So the change an attack makes
lands where it would land on a real ledger, and `Built.spec` keeps the parts, for the devnet tests to
submit the same transaction over real UTxOs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey
from pycardano import (
    Address,
    Asset,
    AssetName,
    ExecutionUnits,
    MultiAsset,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusV3Script,
    Redeemer,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionBody,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    VerificationKeyHash,
    VerificationKeyWitness,
    script_data_hash,
)

from milestoned.contracts.evaluation import RedeemerEvaluation, evaluate_transaction
from milestoned.contracts.loader import ScheduleScripts, schedule_scripts
from milestoned.contracts.script_context import SlotConfig, slot_to_posix_ms
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import Statement, sign_attestation
from milestoned.domain.parameters import ScheduleParameters

SLOT_CONFIG = SlotConfig(zero_time_ms=1_700_000_000_000, zero_slot=0, slot_length_ms=1000)
NETWORK = Network.TESTNET
TOKEN_POLICY_ID = hashlib.blake2b(b"milestoned/test-token", digest_size=28).digest()
TOKEN_NAME = b"MILE"
ALLOCATION_LOVELACE = 2_000_000
FEE = 900_000
# Execution units declared on each redeemer when building for size: the largest a redeemer could need,
# so the CBOR integers have their final width.
DECLARED_UNITS = ExecutionUnits(14_000_000, 10_000_000_000)


Utxos = Mapping[TransactionInput, TransactionOutput]


def seed(label: str) -> bytes:
    return hashlib.sha256(b"milestoned/scenario/" + label.encode()).digest()


def signing_key(label: str) -> PaymentSigningKey:
    return PaymentSigningKey(seed(label))


def key_hash(key: PaymentSigningKey) -> VerificationKeyHash:
    return PaymentVerificationKey.from_signing_key(key).hash()


def wallet_address(label: str) -> Address:
    return Address(key_hash(signing_key(label)), network=NETWORK)


def tx_input(label: str, index: int = 0) -> TransactionInput:
    return TransactionInput(TransactionId(hashlib.sha256(label.encode()).digest()), index)


def slot_at(posix_ms: int) -> int:
    """The first slot starting at or after `posix_ms`."""
    c = SLOT_CONFIG
    return c.zero_slot + -(-(posix_ms - c.zero_time_ms) // c.slot_length_ms)


def tokens(policy: bytes, name: bytes, quantity: int) -> MultiAsset:
    """`quantity` of one asset (none at all for 0: a ledger value never lists a zero quantity)."""
    if quantity == 0:
        return MultiAsset()
    return MultiAsset({ScriptHash(policy): Asset({AssetName(name): quantity})})


@dataclass(frozen=True)
class Allocation:
    """`beneficiary` is a wallet address, or the ledger API address itself (to write one no wallet has)."""

    beneficiary: Address | ot.PlutusAddress
    amount: int
    milestone_id: bytes
    vesting_time_ms: int


@dataclass
class Schedule:
    """A schedule with its keys: admin, `oracle_count` oracles, a quorum and a reclaim deadline, and
    `guardian_count` guardians of whom `guardian_threshold` may pause its releases (none by default;
    `guardian_keys_of` lists whose key each guardian entry is, to repeat one; `guardian_seed` is the
    UTxO (transaction id, index) the state's creation spends, by default one of the admin's).

    `oracle_keys_of` names, for each oracle index, which oracle key it holds (by default its own:
    0, 1, 2...), so a schedule can list one key twice. `token_policy_id` is the distributed token's
    policy (a devnet's faucet policy when the transactions are submitted)."""

    label: str = "s1"
    oracle_count: int = 3
    quorum: int = 2
    reclaim_deadline_ms: int = SLOT_CONFIG.zero_time_ms + 10_000_000_000
    token_policy_id: bytes = TOKEN_POLICY_ID
    oracle_keys_of: tuple[int, ...] | None = None
    guardian_count: int = 0
    guardian_threshold: int = 0
    guardian_keys_of: tuple[int, ...] | None = None
    guardian_seed: tuple[bytes, int] | None = None
    admin: PaymentSigningKey = field(init=False)
    scripts: ScheduleScripts = field(init=False)

    def __post_init__(self) -> None:
        self.admin = signing_key(f"admin/{self.label}")
        if self.oracle_keys_of is None:
            self.oracle_keys_of = tuple(range(self.oracle_count))
        parameters = ScheduleParameters(
            admin_key_hash=key_hash(self.admin).payload,
            token_policy_id=self.token_policy_id,
            token_name=TOKEN_NAME,
            oracle_keys=tuple(
                bytes(SigningKey(self.oracle_seed(i)).verify_key) for i in range(len(self.oracle_keys_of))
            ),
            quorum=self.quorum,
            reclaim_deadline_ms=self.reclaim_deadline_ms,
            guardian_keys=tuple(
                key_hash(self.guardian(i)).payload
                for i in (self.guardian_keys_of or tuple(range(self.guardian_count)))
            ),
            guardian_threshold=self.guardian_threshold,
            guardian_seed=self.state_seed if self.guardian_threshold else (b"", 0),
            nonce=self.label.encode(),
        )
        self.scripts = schedule_scripts(parameters)

    @property
    def state_seed(self) -> tuple[bytes, int]:
        """The UTxO its state's creation spends: `guardian_seed`, or a fixed one of the admin's wallet."""
        if self.guardian_seed is not None:
            return self.guardian_seed
        seed_in = tx_input(f"state-seed/{self.label}")
        return seed_in.transaction_id.payload, seed_in.index

    def guardian(self, index: int) -> PaymentSigningKey:
        return signing_key(f"guardian/{self.label}/{index}")

    def oracle_seed(self, index: int) -> bytes:
        keys = self.oracle_keys_of or ()
        return seed(f"oracle/{self.label}/{keys[index] if index < len(keys) else index}")

    @property
    def schedule_id(self) -> bytes:
        return self.scripts.schedule_id

    @property
    def validator_address(self) -> Address:
        return Address(ScriptHash(self.scripts.validator_hash), network=NETWORK)

    def datum(self, allocation: Allocation, schedule_id: bytes | None = None) -> ot.AllocationDatum:
        return ot.AllocationDatum(
            schedule_id=self.schedule_id if schedule_id is None else schedule_id,
            beneficiary=(
                allocation.beneficiary
                if isinstance(allocation.beneficiary, ot.PlutusAddress)
                else ot.address_to_plutus(allocation.beneficiary)
            ),
            amount=allocation.amount,
            milestone_id=allocation.milestone_id,
            vesting_time=allocation.vesting_time_ms,
        )

    def allocation_output(
        self,
        allocation: Allocation,
        *,
        auth_tokens: int = 1,
        funded: int | None = None,
        address: Address | None = None,
        datum: Any = "default",
    ) -> TransactionOutput:
        """The UTxO that registration creates for `allocation` (each part overridable to break it)."""
        assets = tokens(self.token_policy_id, TOKEN_NAME, allocation.amount if funded is None else funded)
        if auth_tokens:
            assets += tokens(self.schedule_id, ot.AUTH_TOKEN_NAME, auth_tokens)
        return TransactionOutput(
            address or self.validator_address,
            Value(ALLOCATION_LOVELACE, assets),
            datum=self.datum(allocation) if datum == "default" else datum,
        )

    def attestation(
        self,
        milestone_id: bytes,
        oracle_indices: Sequence[int],
        *,
        signed_schedule: bytes | None = None,
        signed_milestone: bytes | None = None,
        signers: Sequence[int] | None = None,
        statement: Statement = Statement.ATTEST,
    ) -> ot.MilestoneAttestation:
        """Signatures of the oracles at `oracle_indices` (each made by `signers[i]`'s key, by default
        the oracle's own) of `statement` on (`signed_schedule`, `signed_milestone`), defaulting to this
        milestone: an attestation, or a cancellation with `Statement.CANCEL`."""
        signed_by = list(signers) if signers is not None else list(oracle_indices)
        return ot.MilestoneAttestation(
            milestone_id,
            [
                ot.OracleSignature(
                    index,
                    sign_attestation(
                        self.oracle_seed(signer),
                        self.schedule_id if signed_schedule is None else signed_schedule,
                        milestone_id if signed_milestone is None else signed_milestone,
                        statement,
                    ).signature,
                )
                for index, signer in zip(oracle_indices, signed_by, strict=True)
            ],
        )

    def payout(
        self,
        beneficiary: Address,
        amount: int,
        *,
        lovelace: int = ALLOCATION_LOVELACE,
        tag: Any = "default",
        extra: MultiAsset | None = None,
        script: PlutusV3Script | None = None,
    ) -> TransactionOutput:
        """An output paying `amount` tokens and `lovelace` to `beneficiary`, tagged with the schedule id.

        The policy wants at least the ADA locked with the run's allocations: one allocation's by default,
        pass `lovelace` for a run of several. `extra` (other tokens) and `script` (a reference script)
        break the payout's hygiene."""
        assets = tokens(self.token_policy_id, TOKEN_NAME, amount) if amount else MultiAsset()
        return TransactionOutput(
            beneficiary,
            Value(lovelace, assets + extra if extra is not None else assets),
            datum=ot.payout_datum(self.schedule_id) if tag == "default" else tag,
            script=script,
        )


def beneficiary(label: str, *, staked: bool = True) -> Address:
    payment = key_hash(signing_key(f"beneficiary/{label}"))
    stake = key_hash(signing_key(f"stake/{label}")) if staked else None
    return Address(payment, stake, network=NETWORK)


# --- Transaction assembly ----------------------------------------------------------------------------------


# Outputs and spend redeemers that depend on where the spent script inputs sit among the sorted inputs
# (a move's re-locked output at its allocation's position): given each spent input's position, the
# outputs and the spend redeemer chooser (see `TxSpec.layout`).
Layout = Callable[
    [Mapping[TransactionInput, int]],
    tuple[list[TransactionOutput], Callable[[int, TransactionInput], Any]],
]


@dataclass(frozen=True)
class TxSpec:
    """What a scenario transaction does, before fee input, collateral, change and witnesses are added.

    `layout`, when set, rebuilds `outputs` and `spend_redeemer` for other positions of the spent inputs:
    the devnet twins submit the transaction over real UTxOs, whose ids sort the inputs otherwise."""

    spent: Mapping[TransactionInput, TransactionOutput]
    outputs: Sequence[TransactionOutput]
    mint: Mapping[bytes, int]
    mint_redeemers: Mapping[bytes, Any]
    schedules: Sequence[Schedule]
    signers: Sequence[PaymentSigningKey]
    validity_start_ms: int | None
    ttl_ms: int | None
    reference_inputs: Mapping[TransactionInput, TransactionOutput] = field(default_factory=dict)
    spend_redeemer: Callable[[int, TransactionInput], Any] | None = None
    mint_names: Mapping[bytes, bytes] = field(default_factory=dict)
    layout: Layout | None = None


@dataclass
class Built:
    """A transaction and the UTxOs it resolves (inputs, reference inputs, collateral)."""

    tx: Transaction
    utxos: dict[TransactionInput, TransactionOutput]
    spec: TxSpec

    def evaluate(self) -> list[RedeemerEvaluation]:
        return evaluate_transaction(self.tx, self.utxos, SLOT_CONFIG)

    @property
    def size(self) -> int:
        return len(self.tx.to_cbor())


def reference_utxos(schedules: Sequence[Schedule]) -> dict[TransactionInput, TransactionOutput]:
    """One UTxO holding the validator and one per schedule policy, as reference scripts."""
    holder = wallet_address("scripts")
    refs = {
        tx_input("ref/validator"): TransactionOutput(
            holder, Value(20_000_000), script=schedules[0].scripts.validator
        )
    }
    for s in schedules:
        refs[tx_input(f"ref/policy/{s.label}")] = TransactionOutput(
            holder, Value(50_000_000), script=s.scripts.policy
        )
    return refs


def assemble(
    *,
    spent: Mapping[TransactionInput, TransactionOutput],
    outputs: Sequence[TransactionOutput],
    mint: Mapping[bytes, int],
    mint_redeemers: Mapping[bytes, Any],
    schedules: Sequence[Schedule],
    signers: Sequence[PaymentSigningKey],
    validity_start_ms: int | None = None,
    ttl_ms: int | None = None,
    extra_scripts: Sequence[PlutusV3Script] = (),
    reference_inputs: Mapping[TransactionInput, TransactionOutput] | None = None,
    spend_redeemer: Callable[[int, TransactionInput], Any] | None = None,
    mint_names: Mapping[bytes, bytes] | None = None,
) -> Built:
    """Add a fee input, collateral, reference scripts, redeemers, script data hash and key witnesses.

    Issue 15's transactions add: `reference_inputs` (a schedule's state UTxO), `spend_redeemer` (the
    redeemer of each spent script input, given its position among the sorted inputs: a move's index, a
    state change; `SpendAllocation` when it gives None) and `mint_names` (the asset name minted under a
    policy: the state token)."""
    fee_key = signing_key("fee-payer")
    fee_address = Address(key_hash(fee_key), network=NETWORK)
    fee_in = tx_input("fee")
    collateral_in = tx_input("collateral")
    utxos = dict(spent)
    utxos[fee_in] = TransactionOutput(fee_address, Value(100_000_000))
    utxos[collateral_in] = TransactionOutput(fee_address, Value(10_000_000))
    references = {**reference_utxos(schedules), **(reference_inputs or {})}
    utxos.update(references)
    inputs = sorted([*spent, fee_in], key=lambda i: (i.transaction_id.payload, i.index))
    script_hashes = {s.scripts.validator_hash for s in schedules} | {
        s.scripts.state_validator_hash for s in schedules
    }
    redeemers: list[Redeemer] = []
    for index, i in enumerate(inputs):
        payment = utxos[i].address.payment_part
        if isinstance(payment, ScriptHash) and payment.payload in script_hashes:
            chosen = spend_redeemer(index, i) if spend_redeemer is not None else None
            r = Redeemer(ot.SpendAllocation() if chosen is None else chosen, DECLARED_UNITS)
            r.tag, r.index = RedeemerTag.SPEND, index
            redeemers.append(r)
    minted = MultiAsset()
    for index, policy in enumerate(sorted(mint)):
        minted += tokens(policy, (mint_names or {}).get(policy, ot.AUTH_TOKEN_NAME), mint[policy])
        r = Redeemer(mint_redeemers[policy], DECLARED_UNITS)
        r.tag, r.index = RedeemerTag.MINT, index
        redeemers.append(r)
    change = balance([utxos[i].amount for i in [*spent, fee_in]], minted, outputs, FEE)
    all_outputs = [*outputs, TransactionOutput(fee_address, change)]
    body = TransactionBody(
        inputs=inputs,
        outputs=all_outputs,
        fee=FEE,
        ttl=None if ttl_ms is None else slot_at(ttl_ms),
        validity_start=None if validity_start_ms is None else slot_at(validity_start_ms),
        mint=minted if mint else None,
        collateral=[collateral_in],
        collateral_return=TransactionOutput(fee_address, Value(10_000_000 - 1_350_000)),
        total_collateral=1_350_000,
        required_signers=[key_hash(k) for k in signers] or None,
        reference_inputs=list(references),
        script_data_hash=script_data_hash(redeemers) if redeemers else None,
    )
    witness = TransactionWitnessSet(redeemer=redeemers or None, plutus_v3_script=list(extra_scripts) or None)
    tx_hash = body.hash()
    keys = [fee_key, *[k for k in signers if key_hash(k) != key_hash(fee_key)]]
    witness.vkey_witnesses = [
        VerificationKeyWitness(PaymentVerificationKey.from_signing_key(k), k.sign(tx_hash)) for k in keys
    ]
    spec = TxSpec(
        spent,
        outputs,
        mint,
        mint_redeemers,
        schedules,
        signers,
        validity_start_ms,
        ttl_ms,
        dict(reference_inputs or {}),
        spend_redeemer,
        dict(mint_names or {}),
    )
    return Built(Transaction(body, witness), utxos, spec)


def balance(
    inputs: Sequence[Value], minted: MultiAsset, outputs: Sequence[TransactionOutput], fee: int
) -> Value:
    """What is left for the change output: inputs + mint - outputs - fee (an asset the outputs take more
    of than there is is left out, so an unbalanceable attack still evaluates)."""
    total = Value(0, MultiAsset())
    for value in inputs:
        total += value
    total += Value(0, minted)
    for out in outputs:
        total -= out.amount if isinstance(out.amount, Value) else Value(out.amount)
    left = MultiAsset(
        {
            policy: Asset({name: quantity for name, quantity in assets.items() if quantity > 0})
            for policy, assets in total.multi_asset.items()
        }
    ).normalize()
    return Value(max(total.coin - fee, 0), left)


def register_tx(
    schedule: Schedule,
    allocations: Sequence[Allocation],
    *,
    outputs: Sequence[TransactionOutput] | None = None,
    minted: int | None = None,
    signers: Sequence[PaymentSigningKey] | None = None,
    reference_inputs: Utxos | None = None,
) -> Built:
    """Register `allocations`: mint the auth tokens the outputs hold (one per allocation output), or
    `minted` of them (a schedule with guardians reads its state: `reference_inputs`)."""
    funding = TransactionOutput(
        wallet_address(f"admin/{schedule.label}"),
        Value(200_000_000, tokens(schedule.token_policy_id, TOKEN_NAME, sum(a.amount for a in allocations))),
    )
    outs = list(outputs) if outputs is not None else [schedule.allocation_output(a) for a in allocations]
    auth = ScriptHash(schedule.schedule_id)
    held = sum(sum(o.amount.multi_asset.get(auth, Asset()).values()) for o in outs)
    return assemble(
        spent={tx_input(f"funding/{schedule.label}"): funding},
        outputs=outs,
        mint={schedule.schedule_id: held if minted is None else minted},
        mint_redeemers={schedule.schedule_id: ot.Register()},
        schedules=[schedule],
        signers=[schedule.admin] if signers is None else signers,
        reference_inputs=reference_inputs,
    )


def allocation_utxos(
    schedule: Schedule, allocations: Sequence[Allocation], *, label: str = "registration"
) -> dict[TransactionInput, TransactionOutput]:
    """The allocation UTxOs as registration left them (outputs 0..n-1 of one registration tx)."""
    return {
        tx_input(f"{label}/{schedule.label}", index): schedule.allocation_output(a)
        for index, a in enumerate(allocations)
    }


def correct_payouts(
    schedule: Schedule, allocations: Sequence[Allocation] | Mapping[TransactionInput, TransactionOutput]
) -> list[TransactionOutput]:
    """The tagged payouts the policy expects (see `onchain_types.payout_runs`).

    Takes either the allocation UTxOs being spent, or allocations as `allocation_utxos` lays them out.
    """
    spent = allocations if isinstance(allocations, Mapping) else allocation_utxos(schedule, allocations)
    released = []
    for tx_in, out in spent.items():
        datum = out.datum
        if isinstance(datum, ot.AllocationDatum) and datum.schedule_id == schedule.schedule_id:
            owner = ot.plutus_to_address(datum.beneficiary, NETWORK)
            released.append((tx_in.transaction_id.payload, tx_in.index, owner, datum.amount, out.amount.coin))
    return [
        schedule.payout(owner, amount, lovelace=lovelace)
        for owner, amount, lovelace in ot.payout_runs(released)
    ]


def release_tx(
    schedule: Schedule,
    spent: Mapping[TransactionInput, TransactionOutput],
    attestations: Sequence[ot.MilestoneAttestation],
    *,
    payouts: Sequence[TransactionOutput],
    validity_start_ms: int | None,
    extra_schedules: Sequence[tuple[Schedule, ot.Release, int]] = (),
    burn: int | None = None,
    reference_inputs: Mapping[TransactionInput, TransactionOutput] | None = None,
) -> Built:
    """Release the allocations `spent` (burning their auth tokens) with the given payouts.

    `extra_schedules` adds releases of other schedules in the same transaction: (schedule, its
    redeemer, number of its auth tokens burned); their allocations must be in `spent`. `burn`
    overrides how many of this schedule's auth tokens are burned (default: those in `spent`).
    """
    own_count = sum(
        1 for out in spent.values() if out.amount.multi_asset.get(ScriptHash(schedule.schedule_id))
    )
    mint = {schedule.schedule_id: -own_count if burn is None else burn}
    redeemers: dict[bytes, Any] = {schedule.schedule_id: ot.Release(list(attestations))}
    for other, redeemer, count in extra_schedules:
        mint[other.schedule_id] = -count
        redeemers[other.schedule_id] = redeemer
    return assemble(
        spent=spent,
        outputs=payouts,
        mint=mint,
        mint_redeemers=redeemers,
        schedules=[schedule, *(s for s, _, _ in extra_schedules)],
        signers=[],
        validity_start_ms=validity_start_ms,
        ttl_ms=None if validity_start_ms is None else validity_start_ms + 3_600_000,
        reference_inputs=reference_inputs,
    )


def reclaim_tx(
    schedule: Schedule,
    spent: Mapping[TransactionInput, TransactionOutput],
    *,
    validity_start_ms: int | None,
    signers: Sequence[PaymentSigningKey] | None = None,
    burn: int | None = None,
    redeemer: Any = None,
) -> Built:
    """The admin takes back unreleased allocations after the reclaim deadline (`burn` overrides the
    number of auth tokens burned, negative; `redeemer` the policy's redeemer, Reclaim by default)."""
    total = sum(
        a.amount.multi_asset[ScriptHash(schedule.token_policy_id)][AssetName(TOKEN_NAME)]
        for a in spent.values()
    )
    back = TransactionOutput(
        wallet_address(f"admin/{schedule.label}"),
        Value(3_000_000, tokens(schedule.token_policy_id, TOKEN_NAME, total)),
    )
    return assemble(
        spent=spent,
        outputs=[back],
        mint={schedule.schedule_id: -len(spent) if burn is None else burn},
        mint_redeemers={schedule.schedule_id: ot.Reclaim() if redeemer is None else redeemer},
        schedules=[schedule],
        signers=[schedule.admin] if signers is None else signers,
        validity_start_ms=validity_start_ms,
    )


def batch_allocations(
    count: int, *, milestone_id: bytes = b"m1", vesting_time_ms: int | None = None
) -> list[Allocation]:
    """`count` allocations to distinct beneficiaries, all under one milestone."""
    vesting = SLOT_CONFIG.zero_time_ms + 1_000_000 if vesting_time_ms is None else vesting_time_ms
    return [Allocation(beneficiary(f"b{i}"), 1_000 + i, milestone_id, vesting) for i in range(count)]


def batch_release(
    schedule: Schedule,
    count: int,
    *,
    reference_inputs: Mapping[TransactionInput, TransactionOutput] | None = None,
) -> Built:
    """A correct release of `count` allocations (one milestone, quorum signatures, one payout each);
    a schedule with guardians reads its state UTxO (`reference_inputs`)."""
    allocations = batch_allocations(count)
    spent = allocation_utxos(schedule, allocations)
    attestation = schedule.attestation(b"m1", list(range(schedule.quorum)))
    return release_tx(
        schedule,
        spent,
        [attestation],
        payouts=correct_payouts(schedule, allocations),
        validity_start_ms=allocations[0].vesting_time_ms,
        reference_inputs=reference_inputs,
    )


def posix_of_slot(slot: int) -> int:
    return slot_to_posix_ms(slot, SLOT_CONFIG)
