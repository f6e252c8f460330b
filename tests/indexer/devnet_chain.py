"""Real contract transactions on a running devnet, for the indexer's integration tests.

`ScheduleOnDevnet` owns one schedule (the real compiled policy applied to its parameters, the real
validator) and builds, signs and submits registration, release and reclaim transactions through the
devnet's ledger, which evaluates the scripts with the project's Plutus evaluator. A "failed" release
(one oracle short of the quorum) is submitted marked valid and lands as a failed-script transaction
(`spends: "collaterals"`), as on mainnet.

Scripts travel in the witness set (the policy is ~10 KB, within the 16 KB limit); the vesting time and
the reclaim deadline are the network start, so releases and reclaims are possible at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from nacl.signing import SigningKey
from pycardano import (
    Address,
    Asset,
    AssetName,
    CostModels,
    ExecutionUnits,
    MultiAsset,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
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
    script_data_hash,
)

from milestoned.contracts.loader import ScheduleScripts, schedule_scripts
from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.parameters import plutus_cost_models
from milestoned.devnet.service import Devnet
from milestoned.devnet.transaction import decode_transaction
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.parameters import ScheduleParameters
from milestoned.eventlog.events import OracleSignatureCommitted, SchedulePolicy, ScheduleRegistered
from milestoned.indexer.filter import WatchedContract

TOKEN_NAME = b"MILE"
FEE = 3_000_000
ALLOCATION_LOVELACE = 3_000_000
COLLATERAL = 10_000_000
TOTAL_COLLATERAL = 5_000_000
V3_COST_MODEL = CostModels({2: dict(enumerate(plutus_cost_models()["plutus:v3"]))})
MINT_UNITS = ExecutionUnits(9_000_000, 6_000_000_000)
SPEND_UNITS = ExecutionUnits(400_000, 300_000_000)


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"milestoned/indexer-tests/" + label.encode()).digest()


def _units(value: Value) -> int:
    return (
        sum(q for assets in value.multi_asset.values() for q in assets.values()) if value.multi_asset else 0
    )


class SetupRejected(AssertionError):
    """The devnet refused a transaction the test meant to be valid."""


@dataclass
class ScheduleOnDevnet:
    devnet: Devnet
    label: str = "s"
    oracle_count: int = 3
    quorum: int = 2
    admin: PaymentSigningKey = field(init=False)
    scripts: ScheduleScripts = field(init=False)

    def __post_init__(self) -> None:
        self.admin = PaymentSigningKey(_seed(f"admin/{self.label}"))
        start_ms = self.devnet.network.start_time_ms
        self.parameters = ScheduleParameters(
            admin_key_hash=self.admin_hash.payload,
            token_policy_id=self.devnet.faucet.policy_id,
            token_name=TOKEN_NAME,
            oracle_keys=tuple(
                bytes(SigningKey(self._oracle_seed(i)).verify_key) for i in range(self.oracle_count)
            ),
            quorum=self.quorum,
            reclaim_deadline_ms=start_ms,
            nonce=self.label.encode(),
        )
        self.scripts = schedule_scripts(self.parameters)
        self.vesting_time_ms = start_ms

    # --- identities ---------------------------------------------------------------------------------------

    def _oracle_seed(self, index: int) -> bytes:
        return _seed(f"oracle/{self.label}/{index}")

    @property
    def admin_hash(self):  # type: ignore[no-untyped-def]
        return PaymentVerificationKey.from_signing_key(self.admin).hash()

    @property
    def admin_address(self) -> Address:
        return Address(self.admin_hash, network=Network.TESTNET)

    @property
    def schedule_id(self) -> bytes:
        return self.scripts.schedule_id

    @property
    def validator_address(self) -> Address:
        return Address(ScriptHash(self.scripts.validator_hash), network=Network.TESTNET)

    @property
    def contract(self) -> WatchedContract:
        return WatchedContract(self.scripts.validator_hash, Network.TESTNET)

    def registered_event(self) -> ScheduleRegistered:
        return ScheduleRegistered(
            schedule_id=self.schedule_id.hex(),
            definition={"label": self.label},
            policy=SchedulePolicy.from_parameters(self.parameters),
        )

    def signature_event(self, oracle: int, milestone: bytes = b"m1") -> OracleSignatureCommitted:
        """What `milestonectl` commits when oracle `oracle` hands in its signature for `milestone`."""
        return OracleSignatureCommitted(
            schedule_id=self.schedule_id.hex(),
            milestone_id=milestone.hex(),
            oracle_key=self.parameters.oracle_keys[oracle].hex(),
            signature=sign_attestation(
                self._oracle_seed(oracle), self.schedule_id, milestone
            ).signature.hex(),
        )

    def beneficiary(self, index: int) -> Address:
        key = PaymentSigningKey(_seed(f"beneficiary/{self.label}/{index}"))
        return Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)

    # --- funding ------------------------------------------------------------------------------------------

    def fund(self, tokens: int = 10**9, collaterals: int = 1) -> None:
        """Give the admin tokens to allocate, lovelace for fees, and collateral UTxOs (a failed-script
        transaction uses one up). One block each."""
        self.devnet.fund(self.admin_address, 500_000_000, {TOKEN_NAME: tokens})
        for _ in range(collaterals):
            self.devnet.fund(self.admin_address, COLLATERAL)

    def _admin_utxos(self) -> list[tuple[TransactionInput, TransactionOutput]]:
        wanted = self.admin_address
        pending = self.devnet.chain._pending_utxo  # the mempool's view: chained setup in one block works
        return [(t, o) for t, o in pending.items() if o.address == wanted]

    def _funds(self) -> tuple[TransactionInput, TransactionOutput]:
        rich = [(t, o) for t, o in self._admin_utxos() if o.amount.coin > 2 * COLLATERAL]
        if not rich:
            raise SetupRejected(f"schedule {self.label}: the admin has no funds; call fund() first")
        return max(rich, key=lambda e: (_units(e[1].amount), e[1].amount.coin))

    def _collateral(self) -> TransactionInput:
        plain = [
            t for t, o in self._admin_utxos() if o.amount.coin == COLLATERAL and not o.amount.multi_asset
        ]
        if not plain:
            raise SetupRejected(f"schedule {self.label}: no collateral UTxO; call fund() first")
        return plain[0]

    # --- transactions -------------------------------------------------------------------------------------

    def _tokens(self, policy: bytes, name: bytes, quantity: int) -> MultiAsset:
        return MultiAsset({ScriptHash(policy): Asset({AssetName(name): quantity})})

    def _submit(
        self,
        *,
        spent: Sequence[TransactionInput],
        outputs: list[TransactionOutput],
        mint: int,
        mint_redeemer: object,
        validity_start: int | None = None,
        signers: bool = True,
    ) -> Transaction:
        funds_in, _ = self._funds()
        inputs = sorted([*spent, funds_in], key=lambda i: (i.transaction_id.payload, i.index))
        pending = self.devnet.chain._pending_utxo
        redeemers: list[Redeemer] = []
        for index, txin in enumerate(inputs):
            if txin in spent:
                r = Redeemer(ot.SpendAllocation(), SPEND_UNITS)
                r.tag, r.index = RedeemerTag.SPEND, index
                redeemers.append(r)
        r = Redeemer(mint_redeemer, MINT_UNITS)
        r.tag, r.index = RedeemerTag.MINT, 0
        redeemers.append(r)
        lovelace_in = sum(pending[t].amount.coin for t in inputs)
        token_in = MultiAsset()
        for t in inputs:
            if pending[t].amount.multi_asset:
                token_in += pending[t].amount.multi_asset
        token_out = MultiAsset()
        for o in outputs:
            if o.amount.multi_asset:
                token_out += o.amount.multi_asset
        minted = self._tokens(self.schedule_id, ot.AUTH_TOKEN_NAME, mint)
        change_assets = (token_in + minted) - token_out
        change_assets = change_assets.filter(lambda policy, name, quantity: quantity != 0)
        change_lovelace = lovelace_in - FEE - sum(o.amount.coin for o in outputs)
        change = TransactionOutput(self.admin_address, Value(change_lovelace, change_assets))
        body = TransactionBody(
            inputs=inputs,
            outputs=[*outputs, change],
            fee=FEE,
            mint=minted,
            validity_start=validity_start,
            collateral=[self._collateral()],
            collateral_return=TransactionOutput(self.admin_address, COLLATERAL - TOTAL_COLLATERAL),
            total_collateral=TOTAL_COLLATERAL,
            required_signers=[self.admin_hash] if signers else None,
            script_data_hash=script_data_hash(redeemers, None, V3_COST_MODEL),
        )
        scripts = [self.scripts.policy, self.scripts.validator] if spent else [self.scripts.policy]
        witness = TransactionWitnessSet(redeemer=redeemers, plutus_v3_script=scripts)
        key = PaymentVerificationKey.from_signing_key(self.admin)
        witness.vkey_witnesses = [VerificationKeyWitness(key, self.admin.sign(body.hash()))]
        tx = Transaction(body, witness)
        result = self.devnet.chain.submit(decode_transaction(tx.to_cbor()))
        if isinstance(result, LedgerError):
            raise SetupRejected(
                f"the devnet rejected a {type(mint_redeemer).__name__}: {result.code} {result.message}"
            )
        return tx

    def register(self, amounts: Sequence[int], milestone: bytes = b"m1", *, block: bool = True) -> list[str]:
        """Lock one allocation per amount (beneficiary i gets amounts[i]); returns their out-refs."""
        outputs = []
        for index, amount in enumerate(amounts):
            datum = ot.AllocationDatum(
                schedule_id=self.schedule_id,
                beneficiary=ot.address_to_plutus(self.beneficiary(index)),
                amount=amount,
                milestone_id=milestone,
                vesting_time=self.vesting_time_ms,
            )
            assets = self._tokens(self.parameters.token_policy_id, TOKEN_NAME, amount) + self._tokens(
                self.schedule_id, ot.AUTH_TOKEN_NAME, 1
            )
            outputs.append(
                TransactionOutput(self.validator_address, Value(ALLOCATION_LOVELACE, assets), datum=datum)
            )
        tx = self._submit(spent=[], outputs=outputs, mint=len(amounts), mint_redeemer=ot.Register())
        if block:
            self.devnet.produce_block()
        return [f"{tx.id.payload.hex()}#{i}" for i in range(len(amounts))]

    def _allocations(self, out_refs: Sequence[str]) -> dict[TransactionInput, TransactionOutput]:
        pending = self.devnet.chain._pending_utxo
        found = {}
        for ref in out_refs:
            tx_id, index = ref.split("#")
            txin = TransactionInput.from_primitive([bytes.fromhex(tx_id), int(index)])
            if txin not in pending:
                raise SetupRejected(f"allocation {ref} is not unspent on the devnet")
            found[txin] = pending[txin]
        return found

    def release(
        self,
        out_refs: Sequence[str],
        milestone: bytes = b"m1",
        *,
        signatures: int | None = None,
        block: bool = True,
    ) -> str:
        """Release `out_refs`; with fewer `signatures` than the quorum the scripts fail (collateral taken)."""
        spent = self._allocations(out_refs)
        count = self.quorum if signatures is None else signatures
        attestation = ot.milestone_attestation(
            milestone,
            {
                i: sign_attestation(self._oracle_seed(i), self.schedule_id, milestone).signature
                for i in range(count)
            },
        )
        released = []
        for txin, out in spent.items():
            datum = ot.decode_allocation_datum(out.datum)
            owner = ot.plutus_to_address(datum.beneficiary, Network.TESTNET)
            released.append((txin.transaction_id.payload, txin.index, owner, datum.amount, out.amount.coin))
        payouts = [
            TransactionOutput(
                owner,
                Value(lovelace, self._tokens(self.parameters.token_policy_id, TOKEN_NAME, amount)),
                datum=ot.payout_datum(self.schedule_id),
            )
            for owner, amount, lovelace in ot.payout_runs(released)
        ]
        tx = self._submit(
            spent=list(spent),
            outputs=payouts,
            mint=-len(spent),
            mint_redeemer=ot.Release([attestation]),
            validity_start=self.devnet.chain.slot,
            signers=False,
        )
        if block:
            self.devnet.produce_block()
        return str(tx.id.payload.hex())

    def reclaim(self, out_refs: Sequence[str], *, block: bool = True) -> str:
        spent = self._allocations(out_refs)
        tx = self._submit(
            spent=list(spent),
            outputs=[],
            mint=-len(spent),
            mint_redeemer=ot.Reclaim(),
            validity_start=self.devnet.chain.slot,
        )
        if block:
            self.devnet.produce_block()
        return str(tx.id.payload.hex())

    def spoof(self, *, block: bool = True) -> str:
        """Pay tokens to the validator with a perfect-looking datum but no auth token (not an allocation)."""
        funds_in, funds = self._funds()
        datum = ot.AllocationDatum(
            schedule_id=self.schedule_id,
            beneficiary=ot.address_to_plutus(self.beneficiary(0)),
            amount=5,
            milestone_id=b"m1",
            vesting_time=self.vesting_time_ms,
        )
        assets = self._tokens(self.parameters.token_policy_id, TOKEN_NAME, 5)
        spoof = TransactionOutput(self.validator_address, Value(ALLOCATION_LOVELACE, assets), datum=datum)
        change = TransactionOutput(
            self.admin_address,
            Value(funds.amount.coin - ALLOCATION_LOVELACE - 1_000_000, funds.amount.multi_asset - assets),
        )
        body = TransactionBody(inputs=[funds_in], outputs=[spoof, change], fee=1_000_000)
        key = PaymentVerificationKey.from_signing_key(self.admin)
        tx = Transaction(
            body,
            TransactionWitnessSet(vkey_witnesses=[VerificationKeyWitness(key, self.admin.sign(body.hash()))]),
        )
        result = self.devnet.chain.submit(decode_transaction(tx.to_cbor()))
        if isinstance(result, LedgerError):
            raise SetupRejected(f"the devnet rejected the spoof: {result.code} {result.message}")
        if block:
            self.devnet.produce_block()
        return str(tx.id.payload.hex())
