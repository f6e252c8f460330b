"""Registering a schedule: deploy its scripts once, mint one auth token per allocation, lock each allocation.

The chain of transactions:

- **deploy** (only when missing): the schedule's policy (≈10 KB) and the shared allocation validator
  as reference-script UTxOs at `REFERENCE_SCRIPT_ADDRESS`, the address of the native script
  `any of []`, which no witness can ever satisfy. Why there: a reference script must outlive every
  release of the schedule, and a UTxO at the admin's address is one coin selection away from being
  spent by a wallet; at an unspendable address nobody can take it away (the price: its min-ADA,
  about 46 ADA for a policy, stays locked for good). The validator is deployed once per network and
  found again by every later schedule; `reference_address=` puts them elsewhere if an operator prefers.
- **init state** (a schedule with guardians only, issue 15), BEFORE any allocation: spends the
  schedule's state seed (`state_seed`, a UTxO of the paying wallet) and mints the state token into the
  schedule's state UTxO (`schedule_state.init_state_plan`), signed by the admin alone. The policy
  refuses a guarded schedule's registration that does not read that state UTxO, so every register
  transaction below carries it as a reference input. The deploy step never spends the seed, and also
  deploys the schedule-state validator as a reference script, for the pauses and resumes to come.
  A state already on chain (an interrupted registration) is read, not created again.
- **register 1..n**: each mints auth tokens for as many allocations as fit one transaction (size and
  execution units, measured by evaluating the real scripts), one UTxO per allocation at the
  validator with min-ADA, the tokens and its inline `AllocationDatum`, and a part of the schedule
  definition in its metadata (`schedule_metadata`). Each spends the admin's change of the one before
  it, so the whole chain can be signed and submitted at once, before any of it is in a block.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycardano import (
    Address,
    Asset,
    AssetName,
    MultiAsset,
    PlutusV3Script,
    ScriptAny,
    ScriptHash,
    Transaction,
    TransactionInput,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyHash,
)

from milestoned.contracts.loader import ScheduleScripts, schedule_scripts
from milestoned.domain import onchain_types as ot
from milestoned.domain.allocation import Allocation
from milestoned.domain.registration_metadata import SCHEDULE_METADATA_LABEL
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_canonical import canonical_schedule_json
from milestoned.domain.schedule_guardians import format_out_ref
from milestoned.domain.timestamps import format_timestamp
from milestoned.ogmios.state_queries import ProtocolParameters
from milestoned.txbuilder import fees
from milestoned.txbuilder.allocations import locked_allocations, shrink
from milestoned.txbuilder.assembly import BuiltTx, TooLarge, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import InsufficientFunds, Refusal, TxBuildError
from milestoned.txbuilder.schedule_metadata import schedule_metadata
from milestoned.txbuilder.utxo_codec import input_text
from milestoned.txbuilder.wallet import ChainedWallet

UNSPENDABLE_SCRIPT = ScriptAny([])
"""`any of []`: a native script no transaction can satisfy. Reference scripts live at its address."""
FIRST_BATCH_GUESS = 40
"""Allocations tried in the first registration transaction; later ones start from what fitted."""


def reference_script_address(network: Any) -> Address:
    """Where reference scripts are deployed: the unspendable native script's address on `network`."""
    return Address(UNSPENDABLE_SCRIPT.hash(), network=network)


@dataclass
class ScriptReferences:
    """The reference-script UTxOs a schedule's transactions use (found on chain or deployed now)."""

    validator: UTxO
    policy: UTxO
    state: UTxO | None = None
    """The schedule-state validator's (schedules with guardians): spent by pauses, not read by releases."""

    def as_list(self) -> list[UTxO]:
        return [self.validator, self.policy]


@dataclass
class RegistrationPlan:
    """The transactions that register one schedule, unsigned, in submission order."""

    definition: ScheduleDefinition
    scripts: ScheduleScripts
    validator_address: Address
    reference_address: Address
    references: ScriptReferences
    txs: list[BuiltTx] = field(default_factory=list)

    @property
    def schedule_id(self) -> bytes:
        return self.scripts.schedule_id

    @property
    def total_fee(self) -> int:
        return sum(t.fee for t in self.txs)

    def to_json(self) -> dict[str, Any]:
        """The dry run: schedule id, script hashes and addresses, every datum, and the fees."""
        return {
            "schedule_id": self.schedule_id.hex(),
            "policy_id": self.schedule_id.hex(),
            "validator_hash": self.scripts.validator_hash.hex(),
            "validator_address": str(self.validator_address),
            "reference_script_address": str(self.reference_address),
            "reference_scripts": {
                "validator": input_text(self.references.validator.input),
                "policy": input_text(self.references.policy.input),
            },
            "metadata_label": SCHEDULE_METADATA_LABEL,
            "allocations": len(self.definition.allocations),
            "transactions": [t.to_json() for t in self.txs],
            "total_fee_lovelace": self.total_fee,
            **self._guardians_json(),
        }

    def _guardians_json(self) -> dict[str, Any]:
        if not self.definition.has_guardians:
            return {}
        return {
            "guardians": [key.hex() for key in self.definition.guardian_keys],
            "guardian_threshold": self.definition.guardian_threshold,
            "state_seed": format_out_ref(self.definition.guardian_seed),
            "state_address": str(self.scripts.state_address(self.definition.network.value)),
        }


def allocation_datum(schedule_id: bytes, allocation: Allocation) -> ot.AllocationDatum:
    return ot.AllocationDatum(
        schedule_id=schedule_id,
        beneficiary=ot.address_to_plutus(allocation.beneficiary_address),
        amount=allocation.token_amount,
        milestone_id=allocation.milestone_id,
        vesting_time=allocation.vesting_time_ms,
    )


def datum_json(datum: ot.AllocationDatum, beneficiary: str) -> dict[str, Any]:
    return {
        "schedule_id": datum.schedule_id.hex(),
        "beneficiary": beneficiary,
        "amount": datum.amount,
        "milestone_id": datum.milestone_id.decode("utf-8", errors="backslashreplace"),
        "milestone_id_hex": datum.milestone_id.hex(),
        "vesting_time": datum.vesting_time,
        "vesting_time_iso": format_timestamp(datum.vesting_time),
        "cbor": datum.to_cbor_hex(),
    }


def tokens(policy: bytes, name: bytes, quantity: int) -> MultiAsset:
    return MultiAsset({ScriptHash(policy): Asset({AssetName(name): quantity})})


def allocation_output(
    params: ProtocolParameters,
    scripts: ScheduleScripts,
    address: Address,
    token: tuple[bytes, bytes],
    allocation: Allocation,
) -> TransactionOutput:
    """The allocation's UTxO: min-ADA, its tokens, one auth token and its inline datum."""
    assets = tokens(token[0], token[1], allocation.token_amount) + tokens(
        scripts.schedule_id, ot.AUTH_TOKEN_NAME, 1
    )
    output = TransactionOutput(
        address, Value(0, assets), datum=allocation_datum(scripts.schedule_id, allocation)
    )
    return fees.with_minimum_lovelace(params, output)


def _find_script(utxos: Sequence[UTxO], script: PlutusV3Script) -> UTxO | None:
    wanted = bytes(script)
    for utxo in utxos:
        if isinstance(utxo.output.script, PlutusV3Script) and bytes(utxo.output.script) == wanted:
            return utxo
    return None


async def build_registration(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    admin_address: Address | str,
    *,
    reference_address: Address | None = None,
    pending: Sequence[Transaction] = (),
    resume: bool = False,
    on_built: Callable[[BuiltTx], None] | None = None,
    reserved: Collection[str] = (),
) -> RegistrationPlan:
    """Plan and build (unsigned) every transaction that registers `definition`, paid by `admin_address`.

    See `_build_registration`; `reserved`: wallet UTxOs (`txid#index`) no transaction may spend, the
    state seeds of other schedules with guardians (their state's creation must spend them).
    `on_built` is called with each transaction as soon as it is built (a
    large schedule takes minutes: the daemon's job shows the count as it grows). A shortfall met while
    building one of several transactions is reported with the whole schedule's figures (what the wallet
    holds against what every allocation needs), not the one transaction's: topping up by the latter
    only fails again one transaction later.
    """
    try:
        return await _build_registration(
            chain,
            definition,
            admin_address,
            reference_address=reference_address,
            pending=pending,
            resume=resume,
            on_built=on_built,
            reserved=reserved,
        )
    except InsufficientFunds as short:
        raise await _schedule_shortfall(chain, definition, admin_address, reference_address, short) from None


async def _schedule_shortfall(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    admin_address: Address | str,
    reference_address: Address | None,
    short: InsufficientFunds,
) -> InsufficientFunds:
    """The shortfall of registering the whole schedule: lovelace and tokens held against needed."""
    admin = Address.from_primitive(admin_address) if isinstance(admin_address, str) else admin_address
    scripts = schedule_scripts(definition.to_parameters())
    validator_address = scripts.validator_address(definition.network.value)
    holder = reference_address or reference_script_address(admin.network)
    snapshot = await chain.snapshot([admin])
    params = snapshot.parameters
    token = (definition.token.policy_id, definition.token.asset_name)
    locked = sum(
        int(allocation_output(params, scripts, validator_address, token, a).amount.coin)
        for a in definition.allocations
    )
    deployed: tuple[PlutusV3Script, ...] = (scripts.validator, scripts.policy)
    if definition.has_guardians:  # the state validator's reference script, and the state UTxO itself
        from milestoned.txbuilder.schedule_state import state_output

        deployed += (scripts.state_validator,)
        locked += int(state_output(params, scripts, definition.network.value, definition).amount.coin)
    references = sum(
        int(fees.with_minimum_lovelace(params, TransactionOutput(holder, 0, script=script)).amount.coin)
        for script in deployed
    )
    held = [u.output.amount for u in snapshot.utxos(admin)]
    held_lovelace = sum(a if isinstance(a, int) else int(a.coin) for a in held)
    held_tokens = sum(
        int(a.multi_asset.get(ScriptHash(token[0]), {}).get(AssetName(token[1]), 0))
        for a in held
        if not isinstance(a, int)
    )
    needed = locked + references
    lines = [
        f"the admin wallet {admin} holds {held_lovelace:,} lovelace and {held_tokens:,} of the schedule's "
        f"token; registering all {len(definition.allocations)} allocations needs {definition.total_amount:,} "
        f"token units and at least {needed:,} lovelace ({locked:,} locked with the allocations, "
        f"{references:,} for the reference scripts if not yet deployed) plus the fees of every transaction"
    ]
    missing = []
    if held_tokens < definition.total_amount:
        missing.append(f"{definition.total_amount - held_tokens:,} more token units")
    if held_lovelace < needed:
        missing.append(f"at least {needed - held_lovelace:,} more lovelace plus fees")
    lines.append(
        f"send {' and '.join(missing)} to it" if missing else "send more lovelace to it for the fees"
    )
    lines.append(f"(the first transaction that could not be paid: {short})")
    return InsufficientFunds("; ".join(lines), needed=needed, available=held_lovelace)


async def _build_registration(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    admin_address: Address | str,
    *,
    reference_address: Address | None = None,
    pending: Sequence[Transaction] = (),
    resume: bool = False,
    on_built: Callable[[BuiltTx], None] | None = None,
    reserved: Collection[str] = (),
) -> RegistrationPlan:
    """Plan and build (unsigned) every transaction that registers `definition`, paid by `admin_address`.

    The admin address must hold the tokens and the ADA; the admin key (`definition.admin_key_hash`)
    signs every registration transaction (it is a required signer the policy checks). A schedule
    with allocations already locked is refused (they would be locked twice), unless `resume` asks to
    finish an interrupted registration: then only the allocations after the locked ones are built.
    `pending` are submitted transactions of the admin's wallet not yet in a block.
    """
    admin = Address.from_primitive(admin_address) if isinstance(admin_address, str) else admin_address
    network = definition.network.pycardano_network
    if admin.network != network:
        raise ValueError(f"admin address {admin} is not on {definition.network.describe()}")
    scripts = schedule_scripts(definition.to_parameters())
    validator_address = scripts.validator_address(definition.network.value)
    holder = reference_address or reference_script_address(network)
    first = await _first_unregistered(chain, definition, scripts, validator_address, resume)
    snapshot = await chain.snapshot([admin, holder])
    params = snapshot.parameters
    # the other schedules' seeds are never spent; this one's is, by its state's creation
    others = set(reserved) - {format_out_ref(definition.guardian_seed)}
    wallet = ChainedWallet(snapshot.utxos(admin), admin, pending, others)
    held = snapshot.utxos(holder)
    state_ref, seed = await _state_or_seed(chain, definition, scripts, wallet)
    deployable = {"validator": scripts.validator, "policy": scripts.policy}
    if definition.has_guardians:
        deployable["state"] = scripts.state_validator
    plan_refs: dict[str, UTxO | None] = {name: _find_script(held, s) for name, s in deployable.items()}
    txs: list[BuiltTx] = []
    missing = [name for name, utxo in plan_refs.items() if utxo is None]
    if missing:
        outputs = [
            fees.with_minimum_lovelace(
                params,
                TransactionOutput(holder, 0, script=deployable[name]),
            )
            for name in missing
        ]
        try:
            deploy = await assemble(
                chain,
                TxPlan(
                    "deploy reference scripts",
                    outputs,
                    [u for u in wallet.utxos if seed is None or u.input != seed.input],  # kept for init state
                    admin,
                    unconfirmed=dict(wallet.unconfirmed),
                ),
            )
        except InsufficientFunds as short:
            if seed is None:
                raise
            raise InsufficientFunds(
                f"{short}; the wallet's UTxO {input_text(seed.input)} is the schedule's state seed, kept for "
                "the state's creation, so the reference scripts' deploy must be paid by its other UTxOs: "
                "send that much ADA to the wallet as a separate output (or choose a smaller seed: "
                "`milestonectl schedule seed`)",
                needed=short.needed,
                available=short.available,
            ) from None
        deploy.details = {
            "schedule_id": scripts.schedule_id.hex(),
            "reference_scripts": {name: f"{deploy.id}#{i}" for i, name in enumerate(missing)},
        }
        txs.append(deploy)
        if on_built is not None:
            on_built(deploy)
        produced = deploy.produced
        for i, name in enumerate(missing):
            plan_refs[name] = UTxO(
                TransactionInput(deploy.tx_id, i), produced[TransactionInput(deploy.tx_id, i)]
            )
        wallet.advance(deploy)
    validator_ref, policy_ref = plan_refs["validator"], plan_refs["policy"]
    assert validator_ref is not None and policy_ref is not None
    references = ScriptReferences(validator_ref, policy_ref, plan_refs.get("state"))
    if seed is not None:
        state_ref = await _init_state(chain, definition, scripts, wallet, policy_ref, seed, txs, on_built)
    read = [policy_ref, *([state_ref] if state_ref is not None else [])]
    token = (definition.token.policy_id, definition.token.asset_name)
    allocations = definition.allocations
    total = len(allocations)
    text = canonical_schedule_json(definition).decode("utf-8")
    # Each allocation's output, made when its transaction is first tried (min-ADA encodes the output:
    # about a minute for 10,000 on a busy machine, so the first transaction, and the job's progress, no
    # longer wait for all of them), and kept for a retry after a batch was too large.
    outputs_by_index: dict[int, TransactionOutput] = {}

    def allocation_outputs(first: int, count: int) -> list[TransactionOutput]:
        for index in range(first, first + count):
            if index not in outputs_by_index:
                outputs_by_index[index] = allocation_output(
                    params, scripts, validator_address, token, allocations[index]
                )
        return [outputs_by_index[index] for index in range(first, first + count)]

    admin_hash = VerificationKeyHash(definition.admin_key_hash)
    position = first
    batch = min(FIRST_BATCH_GUESS, total)
    while position < total:
        count = min(batch, total - position)
        chunk = allocation_outputs(position, count)
        plan = TxPlan(
            "registration",
            list(chunk),
            wallet.utxos,
            admin,
            mint=tokens(scripts.schedule_id, ot.AUTH_TOKEN_NAME, count),
            mint_redeemers={scripts.schedule_id: ot.Register()},
            reference_inputs=read,
            required_signers=[admin_hash],
            auxiliary_data=schedule_metadata(scripts.schedule_id, text, position, position + count, total),
            unconfirmed=wallet.unconfirmed,  # read only: no copy per transaction
        )
        try:
            built = await assemble(chain, plan)
        except TooLarge as exc:
            if count == 1:
                raise
            batch = shrink(count, exc, params)
            continue
        built.details = {
            "schedule_id": scripts.schedule_id.hex(),
            "allocations": [
                {
                    "index": position + i,
                    "output": f"{built.id}#{i}",
                    "lovelace": int(chunk[i].amount.coin),
                    "datum": datum_json(allocation_datum(scripts.schedule_id, a), a.beneficiary_address),
                }
                for i, a in enumerate(allocations[position : position + count])
            ],
        }
        txs.append(built)
        if on_built is not None:
            on_built(built)
        wallet.advance(built)
        position += count
        batch = count
    return RegistrationPlan(definition, scripts, validator_address, holder, references, txs)


async def _state_or_seed(
    chain: OgmiosChain, definition: ScheduleDefinition, scripts: ScheduleScripts, wallet: ChainedWallet
) -> tuple[UTxO | None, UTxO | None]:
    """A guarded schedule's state UTxO if it is on chain already (a registration resumed or built
    again), else its seed in the paying wallet (refused, listing the wallet's UTxOs, when not there)."""
    if not definition.has_guardians:
        return None, None
    from milestoned.txbuilder.schedule_state import find_seed, find_state

    found = await find_state(chain, scripts, definition.network.value)
    if found is not None:
        return found.utxo, None
    return None, find_seed(definition, wallet)


async def _init_state(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    scripts: ScheduleScripts,
    wallet: ChainedWallet,
    policy_ref: UTxO,
    seed: UTxO,
    txs: list[BuiltTx],
    on_built: Callable[[BuiltTx], None] | None,
) -> UTxO:
    """The init-state transaction, before the allocations; its state UTxO, which they read."""
    from milestoned.txbuilder.schedule_state import init_state_plan, state_details

    network = definition.network.value
    params = await chain.protocol_parameters()
    built = await assemble(chain, init_state_plan(params, definition, scripts, wallet, policy_ref, seed))
    built.details = {**state_details(scripts, network, built, 0), "state_seed": input_text(seed.input)}
    txs.append(built)
    if on_built is not None:
        on_built(built)
    wallet.advance(built)
    state = TransactionInput(built.tx_id, 0)
    return UTxO(state, built.produced[state])


async def _first_unregistered(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    scripts: ScheduleScripts,
    validator_address: Address,
    resume: bool,
) -> int:
    """Index of the first allocation to register: 0, or after those an interrupted registration locked.

    A schedule's allocations are registered in file order by a chain of transactions, and a chain
    breaks as a whole from the first transaction that failed, so what is locked is a prefix. An
    allocation is recognised by its datum (the schedule file forbids two equal ones).
    """
    total = len(definition.allocations)
    sid = scripts.schedule_id.hex()
    locked = await locked_allocations(chain, scripts.schedule_id, validator_address)
    if not locked:
        return 0
    on_chain = {a.allocation for a in locked}
    present = [a in on_chain for a in definition.allocations]
    count = sum(present)
    if not resume:
        raise Refusal(
            "not_registered",
            f"schedule {sid} is already registered: {len(locked)} of its {total} allocations are locked at "
            f"{validator_address}, and registering again would lock them twice. To finish an interrupted "
            f"registration, resume it (only the {total - count} missing allocations are registered)",
        )
    if count == total:
        raise Refusal(
            "not_registered", f"schedule {sid} is fully registered: all {total} allocations are locked"
        )
    if present != [True] * count + [False] * (total - count):
        raise TxBuildError(
            f"cannot resume the registration of schedule {sid}: the {count} locked allocations are not the "
            "first ones of the schedule file (were some released already, or is this another version of the "
            "file?); compare `milestonectl status` with the file before going on"
        )
    return count
