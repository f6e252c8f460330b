"""The state UTxO of a schedule with guardians (issue 15): create it, find it, pause and resume.

- `init_state_plan`: the `InitState` transaction (policy redeemer 4) spends the schedule's state seed
  (the UTxO its `state_seed` names, a policy parameter: spent once, so the state token is unique) and
  mints the single state token into an output at the state validator
  (`ScheduleScripts.state_address`) with the inline datum `ScheduleState(schedule_id, guardians,
  threshold, 0)` and no reference script; the admin alone signs it. Registration builds it FIRST: the
  policy refuses a guarded schedule's registration that does not read the state UTxO.
- `find_seed`: the seed among the paying wallet's UTxOs, or a refusal that lists the wallet's UTxOs.
- `find_state`: the schedule's state UTxO at the tip (the one holding its state token and a datum of
  this schedule), which every release reads as a reference input (`release.build_release`).
- `build_set_paused`: spends the state UTxO with `SetPaused(1|0)` into the same address, value and datum
  but `paused`, signed by the guardians named in `signers` (at least the threshold, all guardians).
  A key that is not a guardian is refused before anything is built, naming it and the guardians.

The state validator runs from a reference script deployed beside the policy and the allocation
validator (registration deploys it for a schedule with guardians). The state UTxO's min-ADA (~1.5 ADA)
stays locked for good: the state token can never be burned.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pycardano import (
    Address,
    AssetName,
    ScriptHash,
    Transaction,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyHash,
)

from milestoned.contracts.loader import ScheduleScripts, schedule_scripts
from milestoned.domain import onchain_types as ot
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_guardians import format_out_ref
from milestoned.domain.schedule_state import (
    NotAScheduleState,
    decode_schedule_state,
    initial_state,
    with_paused,
)
from milestoned.ogmios.state_queries import ProtocolParameters
from milestoned.txbuilder import fees
from milestoned.txbuilder.assembly import BuiltTx, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import Refusal, TxBuildError
from milestoned.txbuilder.registration import _find_script, reference_script_address, tokens
from milestoned.txbuilder.utxo_codec import input_text
from milestoned.txbuilder.wallet import ChainedWallet

SEEDS_LISTED = 10
"""How many of the wallet's UTxOs a refused state seed lists (the largest first)."""


@dataclass(frozen=True)
class StateUtxo:
    """A schedule's state UTxO and its decoded datum."""

    utxo: UTxO
    state: ot.ScheduleState

    @property
    def paused(self) -> bool:
        return self.state.paused == 1

    @property
    def reference(self) -> str:
        return input_text(self.utxo.input)


def state_tokens(output: TransactionOutput, schedule_id: bytes) -> int:
    amount = output.amount
    if isinstance(amount, int):
        return 0
    return int(amount.multi_asset.get(ScriptHash(schedule_id), {}).get(AssetName(ot.STATE_TOKEN_NAME), 0))


async def find_state(chain: OgmiosChain, scripts: ScheduleScripts, network: str) -> StateUtxo | None:
    """The schedule's state UTxO at the ledger tip, or None (not created yet, or no guardians)."""
    sid = scripts.schedule_id
    for utxo in await chain.utxos_at([scripts.state_address(network)]):
        if state_tokens(utxo.output, sid) < 1 or utxo.output.datum is None:
            continue
        try:
            state = decode_schedule_state(utxo.output.datum)
        except NotAScheduleState:
            continue
        if state.schedule_id == sid:
            return StateUtxo(utxo, state)
    return None


def state_output(
    params: ProtocolParameters, scripts: ScheduleScripts, network: str, definition: ScheduleDefinition
) -> TransactionOutput:
    """The state UTxO `InitState` creates: min-ADA, the state token, the initial (unpaused) datum."""
    datum = initial_state(scripts.schedule_id, definition.guardian_keys, definition.guardian_threshold)
    output = TransactionOutput(
        scripts.state_address(network),
        Value(0, tokens(scripts.schedule_id, ot.STATE_TOKEN_NAME, 1)),
        datum=datum,
    )
    return fees.with_minimum_lovelace(params, output)


def check_guardians(definition: ScheduleDefinition, signers: Sequence[bytes]) -> None:
    """Refuse a signer that is not a guardian (naming it and the guardians), or fewer than the threshold."""
    guardians = ", ".join(key.hex() for key in definition.guardian_keys)
    if not definition.has_guardians:
        raise Refusal(
            "schedule_guardians",
            "this schedule has no guardians: it cannot be paused (its releases never read a state UTxO)",
        )
    for key in signers:
        if key not in definition.guardian_keys:
            raise Refusal(
                "not_a_guardian",
                f"key hash {key.hex()} is not a guardian of this schedule; its guardians are {guardians} "
                f"({definition.guardian_threshold} must sign)",
            )
    distinct = len(set(signers))
    if distinct < definition.guardian_threshold:
        raise Refusal(
            "guardian_threshold",
            f"{distinct} guardian(s) would sign but the schedule needs {definition.guardian_threshold} of "
            f"{guardians}",
        )


def find_seed(definition: ScheduleDefinition, wallet: ChainedWallet) -> UTxO:
    """The schedule's state seed among `wallet`'s UTxOs; a refusal naming it and listing the wallet's."""
    wanted = TransactionInput(TransactionId(definition.guardian_seed[0]), definition.guardian_seed[1])
    for utxo in wallet.utxos:
        if utxo.input == wanted:
            return utxo
    held = sorted(wallet.utxos, key=lambda u: -_lovelace(u))
    listed = "; ".join(f"{input_text(u.input)} ({_lovelace(u):,} lovelace)" for u in held[:SEEDS_LISTED])
    more = f" and {len(held) - SEEDS_LISTED} more" if len(held) > SEEDS_LISTED else ""
    raise Refusal(
        "state_seed",
        f'the schedule\'s "state_seed" {format_out_ref(definition.guardian_seed)} is not an unspent output '
        f"of the paying wallet {wallet.address}: it was spent already (its state creation, or anything "
        "else), or it belongs to another wallet. The state's creation must spend it, and the schedule id "
        "depends on it, so pick another one of this wallet's UTxOs and write it into the schedule file "
        "(`milestonectl schedule seed FILE --admin-address ADDR` does it): "
        + (f"{listed}{more}" if held else "it holds none, fund it first"),
    )


def _lovelace(utxo: UTxO) -> int:
    amount = utxo.output.amount
    return amount if isinstance(amount, int) else int(amount.coin)


def init_state_plan(
    params: ProtocolParameters,
    definition: ScheduleDefinition,
    scripts: ScheduleScripts,
    wallet: ChainedWallet,
    policy_ref: UTxO,
    seed: UTxO,
) -> TxPlan:
    """The `InitState` transaction, paid by `wallet` (the admin's), spending `seed`, signed by the admin."""
    network = definition.network.value
    return TxPlan(
        "init state",
        [state_output(params, scripts, network, definition)],
        wallet.utxos,
        wallet.address,
        mint=tokens(scripts.schedule_id, ot.STATE_TOKEN_NAME, 1),
        mint_redeemers={scripts.schedule_id: ot.InitState()},
        reference_inputs=[policy_ref],
        required_signers=[VerificationKeyHash(definition.admin_key_hash)],
        unconfirmed=wallet.unconfirmed,
        required_inputs=[seed],
    )


def state_details(scripts: ScheduleScripts, network: str, built: BuiltTx, paused: int) -> dict[str, object]:
    return {
        "schedule_id": scripts.schedule_id.hex(),
        "state_output": f"{built.id}#0",
        "state_address": str(scripts.state_address(network)),
        "paused": bool(paused),
        "required_signers": [h.payload.hex() for h in built.tx.transaction_body.required_signers or []],
    }


async def state_validator_reference(
    chain: OgmiosChain, scripts: ScheduleScripts, network: object, reference_address: Address | None = None
) -> UTxO:
    holder = reference_address or reference_script_address(network)
    found = _find_script(await chain.utxos_at([holder]), scripts.state_validator)
    if found is None:
        raise TxBuildError(
            f"the schedule-state validator has no reference script at {holder}: it is deployed by the "
            "registration of a schedule with guardians; register the schedule first, or pass the address "
            "it was deployed to"
        )
    return found


async def build_set_paused(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    payer_address: Address | str,
    paused: bool,
    signers: Sequence[bytes],
    *,
    reference_address: Address | None = None,
    pending: Sequence[Transaction] = (),
    reserved: Collection[str] = (),
) -> BuiltTx:
    """Build (unsigned) the pause (`paused`) or resume of `definition`'s releases.

    `signers` are the guardians' key hashes that will sign (each must be a guardian, at least the
    threshold of them); the payer pays the fee and the collateral. Refused when the schedule is already
    in that state, or its state UTxO is not on chain."""
    check_guardians(definition, signers)
    scripts = schedule_scripts(definition.to_parameters())
    network = definition.network.value
    sid = scripts.schedule_id.hex()
    current = await find_state(chain, scripts, network)
    if current is None:
        raise Refusal(
            "schedule_state",
            f"schedule {sid} has guardians but no state UTxO on chain at {scripts.state_address(network)}: "
            "its registration's init-state transaction (sent before the allocations) is not confirmed yet",
        )
    if current.paused == paused:
        raise Refusal(
            "schedule_paused" if paused else "schedule_not_paused",
            f"schedule {sid} is already {'paused' if paused else 'running (not paused)'}: nothing to do",
        )
    payer = Address.from_primitive(payer_address) if isinstance(payer_address, str) else payer_address
    state_ref = await state_validator_reference(
        chain, scripts, definition.network.pycardano_network, reference_address
    )
    snapshot = await chain.snapshot([payer])
    wallet = ChainedWallet(snapshot.utxos(payer), payer, pending, reserved)
    output = current.utxo.output
    continuing = TransactionOutput(output.address, output.amount, datum=with_paused(current.state, paused))
    plan = TxPlan(
        "pause" if paused else "resume",
        [continuing],
        wallet.utxos,
        payer,
        script_inputs=[current.utxo],
        spend_redeemer=ot.SetPaused(int(paused)),
        reference_inputs=[state_ref],
        required_signers=[VerificationKeyHash(key) for key in dict.fromkeys(signers)],
        unconfirmed=wallet.unconfirmed,
    )
    built = await assemble(chain, plan)
    built.details = {**state_details(scripts, network, built, int(paused)), "spent_state": current.reference}
    return built


def refuse_while_paused(definition: ScheduleDefinition, state: StateUtxo | None, schedule_id: bytes) -> None:
    """Before a release of a schedule with guardians: its state must exist and not be paused."""
    if not definition.has_guardians:
        return
    sid = schedule_id.hex()
    if state is None:
        raise Refusal(
            "schedule_state",
            f"schedule {sid} has guardians, so every release reads its state UTxO, which is not on chain: "
            "its registration's init-state transaction (sent before the allocations) is not confirmed yet",
        )
    if state.paused:
        raise Refusal(
            "schedule_paused",
            f"schedule {sid} is paused by its guardians (state {state.reference}): no release until "
            "they resume it (`milestonectl schedule resume`)",
        )
