"""Ledger twins of the contract attacks: the catalogue's transactions, over real UTxOs of a devnet.

`TwinLedger` holds a devnet whose faucet token is the schedules' token, whose slot clock stands past
every vesting time and reclaim deadline of the catalogue, and whose chain holds what the attacks spend:
it registers allocations through the schedule policies themselves (and sends the spoofed UTxO as an
attacker would) whenever an attack needs an output that the chain does not hold yet.

`realise` turns a scenario transaction into one a node accepts as well-formed: the spent allocation
UTxOs replaced by real ones of the same content, the fee payer's real UTxOs for the fee and collateral,
real reference-script UTxOs, a balanced change, the ledger's minimum fee, execution units measured on
the transaction itself, the script data hash under the devnet's cost model, and the witnesses. What
the attack changed is carried over untouched, so the node sees the attack and nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
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
from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import MAX_TX_CPU, MAX_TX_MEM, evaluate_transaction
from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.parameters import ExUnits
from milestoned.devnet.service import Devnet, DevnetConfig
from milestoned.devnet.transaction import decode_transaction
from milestoned.domain import onchain_types as ot

FEE_PAYER = sc.signing_key("fee-payer")
FEE_ADDRESS = Address(sc.key_hash(FEE_PAYER), network=sc.NETWORK)
SCRIPTS_ADDRESS = sc.wallet_address("scripts")
COLLATERAL_LOVELACE = 25_000_000
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
        faucet = self.devnet.faucet.policy_id
        self.schedules = attacks.Schedules(token_policy_id=faucet, foreign_policy_id=faucet, label="")
        self.keys: dict[bytes, PaymentSigningKey] = {bytes(FEE_ADDRESS): FEE_PAYER}
        self.chain.advance(max(0, sc.slot_at(NOW_MS) - self.chain.slot))
        self.fund(FEE_ADDRESS, 100_000_000_000, {sc.TOKEN_NAME: 10**12, attacks.FOREIGN_NAME: 10**6})
        self.fund(FEE_ADDRESS, COLLATERAL_LOVELACE)
        self.references: dict[bytes, TransactionInput] = {}

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
        wanted = [schedule.scripts.validator, schedule.scripts.policy]
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
        """The real UTxO for each UTxO at the validator that `built` spends, put on chain if needed.

        Allocations spent together are registered together, in the order the scenario gave them, so the
        ledger's input order (by transaction id, then index) is the scenario's and so are the payout runs.
        """
        for schedule in built.spec.schedules:
            self.prepare(schedule)
        ordered = sorted(
            (i for i, o in built.spec.spent.items() if isinstance(o.address.payment_part, ScriptHash)),
            key=lambda i: (i.transaction_id.payload, i.index),
        )
        mapping: dict[TransactionInput, TransactionInput] = {}
        groups: dict[bytes | None, list[TransactionInput]] = {}
        for fake in ordered:
            groups.setdefault(self.schedule_of(built.spec.spent[fake], built.spec.schedules), []).append(fake)
        for policy, fakes in groups.items():
            outputs = [built.spec.spent[f] for f in fakes]
            if len(fakes) == 1:
                content = outputs[0].to_cbor()
                held = [t for t, o in self.chain.utxo.items() if o.to_cbor() == content]
                if held:
                    mapping[fakes[0]] = held[0]
                    continue
            schedule = next((s for s in built.spec.schedules if s.schedule_id == policy), None)
            if schedule is None:  # no auth token: sent as an attacker sends it
                tx = self.signed_payment(outputs)
            else:
                tx = self.realise(sc.register_tx(schedule, [], outputs=outputs))
            self.commit(tx)
            mapping.update({f: TransactionInput(tx.id, index) for index, f in enumerate(fakes)})
        return mapping

    @staticmethod
    def schedule_of(output: TransactionOutput, schedules: Sequence[sc.Schedule]) -> bytes | None:
        for schedule in schedules:
            if output.amount.multi_asset.get(ScriptHash(schedule.schedule_id)):
                return schedule.schedule_id
        return None

    # --- turning a scenario transaction into a ledger transaction --------------------------------------

    def realise(self, built: sc.Built) -> Transaction:
        spec = built.spec
        mapping = self.ensure(built)
        utxo = self.chain.utxo
        spent: list[TransactionInput] = []
        signers: list[PaymentSigningKey] = [FEE_PAYER]
        for fake, out in spec.spent.items():
            if isinstance(out.address.payment_part, ScriptHash):
                spent.append(mapping[fake])
            else:  # a wallet's funds: that wallet's UTxOs
                owned = [t for t, o in self.utxos_at(out.address) if t not in spent and o.script is None]
                spent.extend(owned)
                signers.append(self.keys[bytes(out.address)])
        fee_in, _ = self.fee_source()
        collateral_in, collateral_out = self.collateral()
        inputs = sorted({*spent, fee_in}, key=lambda i: (i.transaction_id.payload, i.index))
        references = sorted(
            {self.references[s.scripts.validator_hash] for s in spec.schedules}
            | {self.references[s.schedule_id] for s in spec.schedules},
            key=lambda i: (i.transaction_id.payload, i.index),
        )
        mint = MultiAsset()
        for policy, quantity in spec.mint.items():
            if quantity:
                mint += sc.tokens(policy, ot.AUTH_TOKEN_NAME, quantity)
        validators = {s.scripts.validator_hash for s in spec.schedules}
        redeemer_data: list[tuple[RedeemerTag, int, Any]] = [
            (RedeemerTag.SPEND, index, ot.SpendAllocation())
            for index, i in enumerate(inputs)
            if isinstance(pay := utxo[i].address.payment_part, ScriptHash) and pay.payload in validators
        ]
        redeemer_data += [
            (RedeemerTag.MINT, index, spec.mint_redeemers[policy])
            for index, policy in enumerate(sorted(spec.mint))
        ]
        resolved = {i: utxo[i] for i in [*inputs, *references, collateral_in]}
        reference_bytes = sum(
            len(o.script) for o in resolved.values() if isinstance(o.script, PlutusV3Script)
        )
        count = max(len(redeemer_data), 1)
        units = [ExecutionUnits(MAX_TX_MEM // count, MAX_TX_CPU // count)] * len(redeemer_data)
        fee = 3_000_000
        # the units measured on the transaction itself (with a margin: the final fee and change move
        # them a little), then the ledger's minimum fee for the final size
        draft = self._assemble(
            spec, inputs, references, mint, redeemer_data, units, fee, collateral_in, collateral_out, signers
        )
        measured = {(r.tag, r.index): r for r in evaluate_transaction(draft, resolved, sc.SLOT_CONFIG)}
        units = [
            ExecutionUnits(measured[(t, i)].mem + 10_000, measured[(t, i)].cpu + 1_000_000)
            for t, i, _ in redeemer_data
        ]
        total = ExUnits(sum(u.mem for u in units), sum(u.steps for u in units))
        fee = self.chain.params.minimum_fee(len(draft.to_cbor()) + 100, total, reference_bytes)
        return self._assemble(
            spec, inputs, references, mint, redeemer_data, units, fee, collateral_in, collateral_out, signers
        )

    def _assemble(
        self,
        spec: sc.TxSpec,
        inputs: list[TransactionInput],
        references: list[TransactionInput],
        mint: MultiAsset,
        redeemer_data: list[tuple[RedeemerTag, int, Any]],
        units: list[ExecutionUnits],
        fee: int,
        collateral_in: TransactionInput,
        collateral_out: TransactionOutput,
        signers: list[PaymentSigningKey],
    ) -> Transaction:
        utxo = self.chain.utxo
        change = sc.balance([utxo[i].amount for i in inputs], mint, spec.outputs, fee)
        redeemers = []
        for (tag, index, data), budget in zip(redeemer_data, units, strict=True):
            r = Redeemer(data, budget)
            r.tag, r.index = tag, index
            redeemers.append(r)
        plutus = bool(redeemers)
        total_collateral = -(-fee * self.chain.params.collateral_percentage // 100)
        body = TransactionBody(
            inputs=inputs,
            outputs=[*spec.outputs, TransactionOutput(FEE_ADDRESS, change)],
            fee=fee,
            validity_start=None if spec.validity_start_ms is None else sc.slot_at(spec.validity_start_ms),
            mint=mint or None,
            collateral=[collateral_in] if plutus else None,
            collateral_return=(
                TransactionOutput(FEE_ADDRESS, Value(collateral_out.amount.coin - total_collateral))
                if plutus
                else None
            ),
            total_collateral=total_collateral if plutus else None,
            required_signers=[sc.key_hash(k) for k in spec.signers] or None,
            reference_inputs=references or None,
            script_data_hash=script_data_hash(redeemers, [], V3_COST_MODEL) if plutus else None,
        )
        keys = {sc.key_hash(k).payload: k for k in [*signers, *spec.signers]}
        return Transaction(
            body,
            TransactionWitnessSet(
                vkey_witnesses=[witness(k, body) for k in keys.values()], redeemer=redeemers or None
            ),
        )


def witness(key: PaymentSigningKey, body: TransactionBody) -> VerificationKeyWitness:
    return VerificationKeyWitness(PaymentVerificationKey.from_signing_key(key), key.sign(body.hash()))


__all__ = ["TwinLedger"]
