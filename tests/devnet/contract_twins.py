"""Ledger twins of the contract attacks: the catalogue's transactions, over real UTxOs of a devnet.

`TwinLedger` holds a devnet whose faucet token is the schedules' token, whose slot clock stands past
every vesting time and reclaim deadline of the catalogue, and whose chain holds what the attacks spend
or read: it registers allocations through the schedule policies themselves (and sends the spoofed UTxO
as an attacker would) whenever an attack needs an output that the chain does not hold yet, and keeps a
guarded schedule's real state UTxO (created once by an `InitState` spending the real seed UTxO that the
schedule's parameters name, then paused or resumed by `SetPaused` as each attack wants it to read or
spend it; a forged state is sent by a wallet). A guarded schedule's allocations are registered reading
its real state, so the state comes first, as the policy wants. A seed is spent once: an attack on the
state's creation (or on a registration before the state exists) gets schedules of its own
(`schedules_for`), whose guarded schedule names a new seed and has no state yet.

`realise` turns a scenario transaction into one a node accepts as well-formed: the spent and referenced
script UTxOs replaced by real ones of the same content, the fee payer's real UTxOs for the fee and
collateral, real reference-script UTxOs (only of the scripts that run), the outputs and spend redeemers
laid out again at the real input positions (`TxSpec.layout`: a move's re-locked outputs and indices), a
balanced change, the ledger's minimum fee, execution units measured on the transaction itself (an
attack whose script fails keeps its draft's share of the maximum: the node refuses it whatever it
declares), the script data hash under the devnet's cost model, and the witnesses. What the attack
changed is carried over untouched, so the node sees the attack and nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devnet_support import V3_COST_MODEL
from pycardano import (
    Address,
    ExecutionUnits,
    MultiAsset,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusV3Script,
    Redeemer,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    VerificationKeyWitness,
    plutus_script_hash,
    script_data_hash,
)

from milestoned.contracts import attacks
from milestoned.contracts import governance_builders as gb
from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import (
    MAX_TX_CPU,
    MAX_TX_MEM,
    RedeemerEvaluation,
    evaluate_natively,
    evaluate_transaction,
    evaluator_in_use,
)
from milestoned.contracts.loader import default_blueprint
from milestoned.contracts.native_evaluation import NativeFailure
from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.parameters import ExUnits
from milestoned.devnet.service import Devnet, DevnetConfig
from milestoned.devnet.transaction import decode_transaction
from milestoned.domain import onchain_types as ot

FEE_PAYER = sc.signing_key("fee-payer")
FEE_ADDRESS = Address(sc.key_hash(FEE_PAYER), network=sc.NETWORK)
SCRIPTS_ADDRESS = sc.wallet_address("scripts")
COLLATERAL_LOVELACE = 25_000_000
SEED_LOVELACE = 3_000_000
STATE_VALIDATOR_HASH = default_blueprint().state_validator_hash
# past the catalogue's reclaim deadline (and so past every vesting time)
NOW_MS = sc.Schedule().reclaim_deadline_ms + 100_000


class TwinLedger:
    """A devnet prepared for the attack catalogue (its server is started by each test)."""

    def __init__(self) -> None:
        start = datetime.datetime.fromtimestamp(sc.SLOT_CONFIG.zero_time_ms / 1000, datetime.UTC)
        self.devnet = Devnet(
            DevnetConfig(
                port=0,
                clock=False,
                start_time=start,
                slot_length=sc.SLOT_CONFIG.slot_length_ms / 1000,
                failing_scripts="reject",  # refused at submission, as a node refuses it
            )
        )
        self.chain = self.devnet.chain
        self.keys: dict[bytes, PaymentSigningKey] = {bytes(FEE_ADDRESS): FEE_PAYER}
        self.chain.advance(max(0, sc.slot_at(NOW_MS) - self.chain.slot))
        self.fund(FEE_ADDRESS, 100_000_000_000, {sc.TOKEN_NAME: 10**12, attacks.FOREIGN_NAME: 10**6})
        self.fund(FEE_ADDRESS, COLLATERAL_LOVELACE)
        self.references: dict[bytes, TransactionInput] = {}
        self.seeds: set[TransactionInput] = set()
        self.schedules = self.seeded_schedules()

    def seeded_schedules(self) -> attacks.Schedules:
        """The catalogue's schedules over the faucet token, the guarded one naming a new real seed UTxO.

        The seed is the fee payer's (not the admin's: an `InitState` without the admin's signature then
        carries no witness of the admin's at all, and only the policy stands in its way); no other
        transaction spends it."""
        tx = self.signed_payment([TransactionOutput(FEE_ADDRESS, Value(SEED_LOVELACE))])
        self.commit(tx)
        self.seeds.add(TransactionInput(tx.id, 0))
        faucet = self.devnet.faucet.policy_id
        return attacks.Schedules(
            token_policy_id=faucet, foreign_policy_id=faucet, label="", guardian_seed=(tx.id.payload, 0)
        )

    def schedules_for(self, attack: attacks.Attack) -> attacks.Schedules:
        """The schedules `attack` runs under: `schedules`, but for an attack on the state's creation or on
        a registration before the state exists, whose accepted twin needs an unspent seed (and the
        attack a guarded schedule without a state), or on the lone guardian's schedule, whose seed is the
        guarded schedule's (spent by whichever state comes first): then schedules of its own, with a new
        seed."""
        if attack.builder in (gb.init_state, gb.guarded_register):
            return self.seeded_schedules()
        if attack.base(self.schedules).get("schedule") is self.schedules.lone:
            return self.seeded_schedules()
        return self.schedules

    # --- the chain's content ---------------------------------------------------------------------------

    def fund(self, address: Address, lovelace: int, assets: Mapping[bytes, int] | None = None) -> None:
        self.chain.fund(address, lovelace, assets or {})
        self.chain.produce_block()

    def utxos_at(self, address: Address) -> list[tuple[TransactionInput, TransactionOutput]]:
        wanted = bytes(address)
        return [(t, o) for t, o in self.chain.utxo.items() if bytes(o.address) == wanted]

    def snapshot(self) -> tuple[Any, ...]:
        """What a refused transaction must leave as it was: tip, UTxO set, mempool."""
        tip = self.chain.tip
        return (tip.id if tip else None, self.chain.slot, dict(self.chain.utxo), len(self.chain.mempool))

    def commit(self, tx: Transaction) -> None:
        result = self.chain.submit(decode_transaction(tx.to_cbor()))
        assert not isinstance(result, LedgerError), f"setup transaction refused: {result}"
        self.chain.produce_block()

    def prepare(self, schedule: sc.Schedule) -> None:
        """The schedule's admin funded and its policy (and the validator) held as reference scripts."""
        admin = sc.wallet_address(f"admin/{schedule.label}")
        if bytes(admin) not in self.keys:
            self.keys[bytes(admin)] = schedule.admin
            self.fund(admin, 1_000_000_000, {sc.TOKEN_NAME: 10**9})
        wanted = [schedule.scripts.validator, schedule.scripts.policy, schedule.scripts.state_validator]
        missing = [s for s in wanted if plutus_script_hash(s).payload not in self.references]
        if not missing:
            return
        outputs = [TransactionOutput(SCRIPTS_ADDRESS, Value(0), script=s) for s in missing]
        for out in outputs:
            out.amount = Value(self.chain.params.minimum_lovelace(len(out.to_cbor())) + 1_000_000)
        tx = self.signed_payment(outputs)
        self.commit(tx)
        for index, script in enumerate(missing):
            self.references[plutus_script_hash(script).payload] = TransactionInput(tx.id, index)

    def signed_payment(self, outputs: Sequence[TransactionOutput]) -> Transaction:
        """A plain payment from the fee payer (setup only: reference scripts, the spoofed UTxO)."""
        source, funds = self.fee_source()
        fee = 2_000_000
        change = sc.balance([funds.amount], MultiAsset(), outputs, fee)
        body = TransactionBody(
            inputs=[source], outputs=[*outputs, TransactionOutput(FEE_ADDRESS, change)], fee=fee
        )
        return Transaction(body, TransactionWitnessSet(vkey_witnesses=[witness(FEE_PAYER, body)]))

    def fee_source(self) -> tuple[TransactionInput, TransactionOutput]:
        """The fee payer's UTxO holding its tokens (the collateral UTxO holds ADA only)."""
        return max(
            ((t, o) for t, o in self.utxos_at(FEE_ADDRESS) if o.amount.multi_asset),
            key=lambda entry: entry[1].amount.coin,
        )

    def collateral(self) -> tuple[TransactionInput, TransactionOutput]:
        return next(
            (t, o)
            for t, o in self.utxos_at(FEE_ADDRESS)
            if not o.amount.multi_asset and o.amount.coin == COLLATERAL_LOVELACE
        )

    def ensure(self, built: sc.Built) -> dict[TransactionInput, TransactionInput]:
        """The real UTxO for each UTxO at a script that `built` spends or reads, put on chain if needed.

        Allocations spent together are registered together, in the order the scenario gave them, so the
        ledger's input order (by transaction id, then index) is the scenario's and so are the payout runs.
        A schedule's state UTxO is the real one, created and paused or resumed as the scenario wants it.
        """
        spec = built.spec
        for schedule in spec.schedules:
            self.prepare(schedule)
        mapping: dict[TransactionInput, TransactionInput] = {}
        for fake, out in [*spec.spent.items(), *spec.reference_inputs.items()]:
            if self.at_state_validator(out):
                mapping[fake] = self.state(out, spec.schedules)
        ordered = sorted(
            (
                i
                for i, o in spec.spent.items()
                if isinstance(o.address.payment_part, ScriptHash) and i not in mapping
            ),
            key=lambda i: (i.transaction_id.payload, i.index),
        )
        groups: dict[bytes | None, list[TransactionInput]] = {}
        for fake in ordered:
            groups.setdefault(self.schedule_of(spec.spent[fake], spec.schedules), []).append(fake)
        for policy, fakes in groups.items():
            outputs = [spec.spent[f] for f in fakes]
            if len(fakes) == 1 and (held := self.holding(outputs[0])):
                mapping[fakes[0]] = held
                continue
            registrar = next((s for s in spec.schedules if s.schedule_id == policy), None)
            if registrar is None:  # no auth token: sent as an attacker sends it
                tx = self.signed_payment(outputs)
            else:  # a guarded schedule's registration reads its state, whatever it says
                reads = self.current_state(registrar) if registrar.guardian_threshold else None
                tx = self.realise(sc.register_tx(registrar, [], outputs=outputs, reference_inputs=reads)).tx
            self.commit(tx)
            mapping.update({f: TransactionInput(tx.id, index) for index, f in enumerate(fakes)})
        return mapping

    def holding(self, output: TransactionOutput) -> TransactionInput | None:
        """A UTxO of the chain with exactly this content (the first by output reference), if any."""
        content = output.to_cbor()
        held = sorted(
            (t for t, o in self.chain.utxo.items() if o.to_cbor() == content),
            key=lambda i: (i.transaction_id.payload, i.index),
        )
        return held[0] if held else None

    @staticmethod
    def at_state_validator(output: TransactionOutput) -> bool:
        payment = output.address.payment_part
        return isinstance(payment, ScriptHash) and payment.payload == STATE_VALIDATOR_HASH

    def state(self, wanted: TransactionOutput, schedules: Sequence[sc.Schedule]) -> TransactionInput:
        """The real UTxO at the state validator that holds `wanted`.

        A schedule's state as the guardians leave it (`gb.state_output`, paused or not) is the real one
        (`current_state`), paused or resumed by a `SetPaused` of guardians 0 and 1 until it says what
        `wanted` says. Anything else there (a forged state without the token) is sent by a wallet, as an
        attacker would."""
        held = self.holding(wanted)
        if held is not None:
            return held
        owner = next(
            (
                s
                for s in schedules
                if self.schedule_of(wanted, [s]) and self.state_paused(s, wanted) is not None
            ),
            None,
        )
        if owner is None:
            tx = self.signed_payment([wanted])
            self.commit(tx)
            return TransactionInput(tx.id, 0)
        paused = self.state_paused(owner, wanted)
        ((_, current),) = self.current_state(owner).items()
        if self.state_paused(owner, current) != paused:
            flip = sc.assemble(
                spent={sc.tx_input(f"state/{owner.label}"): current},
                outputs=[wanted],
                mint={},
                mint_redeemers={},
                schedules=[owner],
                signers=[owner.guardian(0), owner.guardian(1)],
                spend_redeemer=lambda position, tx_in: ot.SetPaused(paused),
            )
            self.commit(self.realise(flip).tx)
        held = self.holding(wanted)
        assert held is not None, f"{owner.label}'s state does not say paused={paused}"
        return held

    def current_state(self, schedule: sc.Schedule) -> dict[TransactionInput, TransactionOutput]:
        """The guarded `schedule`'s real state UTxO, created by an `InitState` spending its seed if the
        chain holds none yet (the seed makes it the only one)."""
        for _ in range(2):
            held = [
                (t, o)
                for t, o in self.utxos_at(gb.state_address(schedule))
                if self.state_paused(schedule, o) is not None
            ]
            if held:
                ((tx_in, out),) = held
                return {tx_in: out}
            self.commit(self.realise(gb.init_state(self.schedules, schedule=schedule)).tx)
        raise AssertionError(f"no state for {schedule.label} after its InitState")

    @staticmethod
    def state_paused(schedule: sc.Schedule, output: TransactionOutput) -> int | None:
        """Whether `output` is `schedule`'s state as the guardians leave it, and if so its `paused`."""
        for paused in (0, 1):
            if output.to_cbor() == gb.state_output(schedule, paused=paused).to_cbor():
                return paused
        return None

    @staticmethod
    def schedule_of(output: TransactionOutput, schedules: Sequence[sc.Schedule]) -> bytes | None:
        for schedule in schedules:
            if output.amount.multi_asset.get(ScriptHash(schedule.schedule_id)):
                return schedule.schedule_id
        return None

    # --- turning a scenario transaction into a ledger transaction --------------------------------------

    def realise(self, built: sc.Built) -> sc.Built:
        """The scenario transaction over the chain's UTxOs, with the UTxOs it resolves."""
        spec = built.spec
        mapping = self.ensure(built)
        utxo = self.chain.utxo
        spent: list[TransactionInput] = []
        signers: list[PaymentSigningKey] = [FEE_PAYER]
        for fake, out in spec.spent.items():
            if isinstance(out.address.payment_part, ScriptHash):
                spent.append(mapping[fake])
            elif fake in self.seeds:  # a real seed UTxO, named by a guarded schedule's parameters
                spent.append(fake)
                signers.append(self.keys[bytes(utxo[fake].address)])
            else:  # a wallet's funds: that wallet's UTxOs (but the seeds: each is for its InitState)
                owned = [
                    t
                    for t, o in self.utxos_at(out.address)
                    if t not in spent and t not in self.seeds and o.script is None
                ]
                spent.extend(owned)
                signers.append(self.keys[bytes(out.address)])
        fee_in, _ = self.fee_source()
        collateral_in, collateral_out = self.collateral()
        inputs = sorted({*spent, fee_in}, key=lambda i: (i.transaction_id.payload, i.index))
        # the scripts that run, as reference scripts (no others: Aiken's evaluator refuses a transaction
        # carrying a script it does not run, and the units are then measured by the slow `uplc`)
        scripts = set(spec.mint) | {
            pay.payload for i in inputs if isinstance(pay := utxo[i].address.payment_part, ScriptHash)
        }
        references = sorted(
            {self.references[h] for h in scripts} | {mapping[f] for f in spec.reference_inputs},
            key=lambda i: (i.transaction_id.payload, i.index),
        )
        mint = MultiAsset()
        for policy, quantity in spec.mint.items():
            if quantity:
                mint += sc.tokens(policy, spec.mint_names.get(policy, ot.AUTH_TOKEN_NAME), quantity)
        # outputs and spend redeemers at the real positions of the spent script inputs
        outputs: Sequence[TransactionOutput] = spec.outputs
        chooser = spec.spend_redeemer
        if spec.layout is not None:
            outputs, chooser = spec.layout({f: inputs.index(mapping[f]) for f in spec.spent if f in mapping})
        validators = {s.scripts.validator_hash for s in spec.schedules} | {STATE_VALIDATOR_HASH}
        redeemer_data: list[tuple[RedeemerTag, int, Any]] = []
        for index, i in enumerate(inputs):
            if isinstance(pay := utxo[i].address.payment_part, ScriptHash) and pay.payload in validators:
                chosen = None if chooser is None else chooser(index, i)
                redeemer_data.append(
                    (RedeemerTag.SPEND, index, ot.SpendAllocation() if chosen is None else chosen)
                )
        redeemer_data += [
            (RedeemerTag.MINT, index, spec.mint_redeemers[policy])
            for index, policy in enumerate(sorted(spec.mint))
        ]
        resolved = {i: utxo[i] for i in [*inputs, *references, collateral_in]}
        reference_bytes = sum(
            len(o.script) for o in resolved.values() if isinstance(o.script, PlutusV3Script)
        )
        parts = Parts(spec, inputs, references, outputs, mint, redeemer_data, collateral_in, collateral_out)
        count = max(len(redeemer_data), 1)
        units = [ExecutionUnits(MAX_TX_MEM // count, MAX_TX_CPU // count)] * len(redeemer_data)
        # the units measured on the transaction itself (with a margin: the final fee and change move
        # them a little), then the ledger's minimum fee for the final size
        draft = self._assemble(parts, units, 3_000_000, signers)
        measured = measure(draft, resolved)
        if measured is not None:
            units = [
                ExecutionUnits(measured[(t, i)].mem + 10_000, measured[(t, i)].cpu + 1_000_000)
                for t, i, _ in redeemer_data
            ]
        total = ExUnits(sum(u.mem for u in units), sum(u.steps for u in units))
        fee = self.chain.params.minimum_fee(len(draft.to_cbor()) + 100, total, reference_bytes)
        return sc.Built(self._assemble(parts, units, fee, signers), resolved, spec)

    def _assemble(
        self,
        parts: Parts,
        units: list[ExecutionUnits],
        fee: int,
        signers: list[PaymentSigningKey],
    ) -> Transaction:
        utxo = self.chain.utxo
        spec = parts.spec
        change = sc.balance([utxo[i].amount for i in parts.inputs], parts.mint, parts.outputs, fee)
        redeemers = []
        for (tag, index, data), budget in zip(parts.redeemer_data, units, strict=True):
            r = Redeemer(data, budget)
            r.tag, r.index = tag, index
            redeemers.append(r)
        plutus = bool(redeemers)
        total_collateral = -(-fee * self.chain.params.collateral_percentage // 100)
        body = TransactionBody(
            inputs=parts.inputs,
            outputs=[*parts.outputs, TransactionOutput(FEE_ADDRESS, change)],
            fee=fee,
            validity_start=None if spec.validity_start_ms is None else sc.slot_at(spec.validity_start_ms),
            mint=parts.mint or None,
            collateral=[parts.collateral_in] if plutus else None,
            collateral_return=(
                TransactionOutput(FEE_ADDRESS, Value(parts.collateral_out.amount.coin - total_collateral))
                if plutus
                else None
            ),
            total_collateral=total_collateral if plutus else None,
            required_signers=[sc.key_hash(k) for k in spec.signers] or None,
            reference_inputs=parts.references or None,
            script_data_hash=script_data_hash(redeemers, [], V3_COST_MODEL) if plutus else None,
        )
        keys = {sc.key_hash(k).payload: k for k in [*signers, *spec.signers]}
        return Transaction(
            body,
            TransactionWitnessSet(
                vkey_witnesses=[witness(k, body) for k in keys.values()], redeemer=redeemers or None
            ),
        )


@dataclass(frozen=True)
class Parts:
    """A realised transaction's parts, but for the execution units, the fee and the witnesses."""

    spec: sc.TxSpec
    inputs: list[TransactionInput]
    references: list[TransactionInput]
    outputs: Sequence[TransactionOutput]
    mint: MultiAsset
    redeemer_data: list[tuple[RedeemerTag, int, Any]]
    collateral_in: TransactionInput
    collateral_out: TransactionOutput


def measure(
    tx: Transaction, resolved: Mapping[TransactionInput, TransactionOutput]
) -> dict[tuple[RedeemerTag, int], RedeemerEvaluation] | None:
    """Each redeemer's units, or None when a script fails: an attack, which the node refuses whatever
    units it declares, so it keeps the draft's share of the maximum (and the slow `uplc` run that would
    tell every failing redeemer's story is left to the node, which gives it in its refusal)."""
    if evaluator_in_use() != "uplc":
        fast = evaluate_natively(tx, resolved, sc.SLOT_CONFIG)
        if not isinstance(fast, NativeFailure):
            return {(r.tag, r.index): r for r in fast}
        if fast.phase_two:
            return None
    evaluations = evaluate_transaction(tx, resolved, sc.SLOT_CONFIG)
    if not all(e.ok for e in evaluations):
        return None
    return {(r.tag, r.index): r for r in evaluations}


def witness(key: PaymentSigningKey, body: TransactionBody) -> VerificationKeyWitness:
    return VerificationKeyWitness(PaymentVerificationKey.from_signing_key(key), key.sign(body.hash()))


__all__ = ["TwinLedger"]
