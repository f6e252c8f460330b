"""Move: a beneficiary re-locks still-locked allocations for a new beneficiary address (issue 15).

Each transaction spends allocation UTxOs of one beneficiary with the allocation validator's
`Move(index)` redeemer and burns nothing, so no schedule policy runs; the validator checks that the
beneficiary's payment key signed (it is a required signer), and that output `index` (the allocation's
own position among the sorted inputs) re-locks it at the same address with exactly the same value and
the same datum but for the beneficiary. The paying wallet (the beneficiary's, or any) pays the fee and
the collateral; its inputs are chosen first and the outputs laid out around them
(`domain.move_layout`): every output position below the last moved allocation that is not one is a
filler paid back to the wallet. The validator needs only its reference script (deployed by every
registration: it is one script for every schedule), so the schedule's definition is not needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pycardano import Address, ScriptHash, Transaction, TransactionOutput, Value, VerificationKeyHash

from milestoned.contracts.loader import default_blueprint, validator_address
from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.domain.move_layout import choose_wallet_inputs, move_layout
from milestoned.domain.network import CardanoNetwork
from milestoned.txbuilder import fees
from milestoned.txbuilder.allocations import AllocationUtxo, as_allocation, build_in_batches, value_of
from milestoned.txbuilder.assembly import FEE_RESERVE, BuiltTx, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import InsufficientFunds, Refusal, TxBuildError
from milestoned.txbuilder.registration import UNSPENDABLE_SCRIPT, _find_script, reference_script_address
from milestoned.txbuilder.wallet import ChainedWallet

FIRST_MOVE_BATCH = 40
"""Allocations tried in the first move transaction (each adds one input, one output and one cheap
validator run; the batching shrinks it when a limit is met)."""


async def movable_allocations(chain: OgmiosChain, network: CardanoNetwork) -> list[AllocationUtxo]:
    """Every allocation still locked at the validator, of any schedule, in ledger input order.

    An allocation is recognised as everywhere else (`allocations.as_allocation`): exactly one auth token
    of the schedule its inline datum names."""
    found = []
    for utxo in await chain.utxos_at([validator_address(network.value)]):
        try:
            schedule_id = ot.decode_allocation_datum(utxo.output.datum).schedule_id
        except ot.OnchainDecodeError:
            continue
        allocation = as_allocation(utxo, schedule_id, network.pycardano_network)
        if allocation is not None:
            found.append(allocation)
    return sorted(found, key=lambda a: a.sort_key)


def beneficiary_key_hash(allocation: AllocationUtxo) -> bytes:
    """The payment key hash that must sign a move of `allocation`; refused for a script beneficiary."""
    credential = allocation.datum.beneficiary.payment_credential
    if not isinstance(credential, ot.PubKeyCredential):
        raise Refusal(
            "beneficiary_key",
            f"cannot sign a move of allocation {allocation.reference}: its beneficiary "
            f"{allocation.beneficiary} has a script payment credential, and a script cannot sign (the "
            "validator accepts only a payment key's signature); the allocation can still be released to it",
        )
    return bytes(credential.credential_hash)


def relocked(allocation: AllocationUtxo, new_beneficiary: Address) -> TransactionOutput:
    """The allocation's output again: same address and value, no script, the new beneficiary's datum."""
    datum = ot.AllocationDatum(
        schedule_id=allocation.datum.schedule_id,
        beneficiary=ot.address_to_plutus(new_beneficiary),
        amount=allocation.datum.amount,
        milestone_id=allocation.datum.milestone_id,
        vesting_time=allocation.datum.vesting_time,
    )
    return TransactionOutput(allocation.output.address, value_of(allocation.output), datum=datum)


def check_new_beneficiary(new_beneficiary: Address, allocations: Sequence[AllocationUtxo]) -> None:
    """Refuse a new address that could never take the tokens (one of our scripts' or the reference
    scripts' unspendable address), or that changes nothing."""
    blueprint = default_blueprint()
    blocked = {
        blueprint.validator_hash: "the allocation validator's",
        blueprint.state_validator_hash: "the schedule-state validator's",
        UNSPENDABLE_SCRIPT.hash().payload: "the reference scripts' unspendable",
    }
    part = new_beneficiary.payment_part
    if isinstance(part, ScriptHash) and part.payload in blocked:
        raise Refusal(
            "new_beneficiary",
            f"{canonical_address(new_beneficiary)} is {blocked[part.payload]} address: nothing sent there "
            "can ever be spent by you; pass the payment address of a wallet you control",
        )
    target = canonical_address(new_beneficiary)
    same = [a.reference for a in allocations if a.beneficiary == target]
    if same:
        raise Refusal(
            "new_beneficiary",
            f"allocation(s) {', '.join(same)} already belong to {target}: a move needs a different address",
        )


async def build_move(
    chain: OgmiosChain,
    allocations: Sequence[AllocationUtxo],
    new_beneficiary: Address,
    payer_address: Address | str,
    *,
    reference_address: Address | None = None,
    first_batch: int = FIRST_MOVE_BATCH,
    pending: Sequence[Transaction] = (),
) -> list[BuiltTx]:
    """Build (unsigned) the move of `allocations` (one beneficiary's) to `new_beneficiary`, paid by
    `payer_address`; chained transactions when they do not fit one."""
    if not allocations:
        raise Refusal("allocation_locked", "nothing to move: no still-locked allocation was chosen")
    payer = Address.from_primitive(payer_address) if isinstance(payer_address, str) else payer_address
    signers = {beneficiary_key_hash(a) for a in allocations}
    if len(signers) != 1:
        raise Refusal(
            "beneficiary_key",
            "the allocations belong to beneficiaries with different payment keys; move each one's apart",
        )
    check_new_beneficiary(new_beneficiary, allocations)
    held = await chain.utxos_at([reference_address or reference_script_address(payer.network)])
    script = _find_script(held, default_blueprint().validator)
    if script is None:
        raise TxBuildError(
            "the allocation validator's reference script is not on chain at "
            f"{reference_address or reference_script_address(payer.network)}: is this the schedule's "
            "network (every registration deploys it)?"
        )
    snapshot = await chain.snapshot([payer])
    params = snapshot.parameters
    wallet = ChainedWallet(snapshot.utxos(payer), payer, pending)
    signer = VerificationKeyHash(signers.pop())
    filler_lovelace = fees.minimum_lovelace(params, TransactionOutput(payer, Value(2_000_000)))

    async def build(batch: Sequence[AllocationUtxo]) -> BuiltTx:
        usable = [u for u in wallet.utxos if u.output.datum is None and u.output.script is None]
        by_key = {(u.input.transaction_id.payload, u.input.index): u for u in usable}
        moved = {a.sort_key: a for a in batch}
        chosen = choose_wallet_inputs(
            list(moved),
            [(k, value_of(u.output).coin) for k, u in by_key.items()],
            FEE_RESERVE,
            filler_lovelace,
        )
        if chosen is None:
            total = sum(value_of(u.output).coin for u in usable)
            needed = FEE_RESERVE + move_layout(list(moved), by_key).fillers * filler_lovelace
            raise InsufficientFunds(
                f"the paying wallet {payer} has {total:,} lovelace; this move needs about {needed:,} "
                f"(fee and change, and {filler_lovelace:,} for each output the validator's positions "
                "call for ahead of a moved allocation); send more lovelace to it "
                "(one UTxO of 5 ADA or more is best)",
                needed=needed,
                available=total,
            )
        layout = move_layout(list(moved), chosen)
        outputs = [
            relocked(moved[key], new_beneficiary)
            if key is not None
            else TransactionOutput(payer, Value(filler_lovelace))
            for key in layout.outputs
        ]
        plan = TxPlan(
            "move",
            outputs,
            wallet.utxos,
            payer,
            script_inputs=[a.utxo for a in batch],
            spend_redeemers={moved[key].input: ot.Move(index) for key, index in layout.positions.items()},
            reference_inputs=[script],
            required_signers=[signer],
            unconfirmed=wallet.unconfirmed,
            wallet_inputs=[by_key[k] for k in chosen],
        )
        built = await assemble(chain, plan)
        built.details = move_details(batch, layout.positions, built, new_beneficiary)
        wallet.advance(built)
        return built

    return await build_in_batches(list(allocations), first_batch, params, build)


def move_details(
    batch: Sequence[AllocationUtxo], positions: dict[Any, int], built: BuiltTx, new_beneficiary: Address
) -> dict[str, Any]:
    """What a move transaction does, for dry runs and reports: each allocation's old and new out-ref."""
    return {
        "allocations": [a.reference for a in batch],
        "moves": [
            {
                "allocation": a.reference,
                "schedule_id": a.datum.schedule_id.hex(),
                "amount": a.datum.amount,
                "from": a.beneficiary,
                "to": canonical_address(new_beneficiary),
                "new_allocation": f"{built.id}#{positions[a.sort_key]}",
            }
            for a in batch
        ],
    }
