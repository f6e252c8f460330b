"""Release transactions: one allocation, a beneficiary's claimable ones, or a batch across beneficiaries.

Each transaction spends allocation UTxOs (validator redeemer `SpendAllocation`), burns their auth
tokens under the schedule's policy with `Release(attestations)`, and pays each beneficiary in outputs
tagged with the schedule id, in the order `payout_runs` gives (the policy matches them in ledger input
order). Each payout carries the tokens and the ADA that was locked with them (at least min-ADA), so
the payer only pays the fee; the payer may be the beneficiary or the operator's fee wallet, the
tokens go to the beneficiary either way.

Batches are as large as the limits allow, measured by evaluation (`allocations.build_in_batches`),
and chained: the second transaction pays its fee from the first one's change. With `lanes` > 1 and
as many funding UTxOs in the payer's wallet (plain, at least `LANE_FUNDING_LOVELACE` each: several
wallets' change, or a change output split in advance), the allocations are cut into that many
independent chains of transactions, built concurrently: their scripts are evaluated in worker threads
(the native evaluator releases the GIL), so more cores release faster. `ReleasePlan.txs` interleaves
the chains, each in its own order, so submitting in list order never sends a transaction before the
one whose change it spends. A schedule with guardians (issue 15) is released with its state UTxO as a
reference input, and refused before anything is built while its guardians have paused it. The
validity interval starts at the tip's slot (whose time has reached every vesting time of the batch,
or the checks would have refused) and ends `validity_ms` later, so a transaction that does not make
it into a block soon expires and its allocations may be released again.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pycardano import Address, Transaction, TransactionOutput, UTxO, Value

from milestoned.contracts.loader import ScheduleScripts, schedule_scripts
from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.domain.attestation import OracleSignature
from milestoned.domain.schedule import ScheduleDefinition, Token
from milestoned.txbuilder import fees
from milestoned.txbuilder.allocations import AllocationUtxo, build_in_batches, locked_allocations
from milestoned.txbuilder.assembly import BuiltTx, TxPlan, assemble, is_plain
from milestoned.txbuilder.chain_context import ChainTime, OgmiosChain
from milestoned.txbuilder.errors import Refusal, TxBuildError
from milestoned.txbuilder.evaluation import evaluates_locally
from milestoned.txbuilder.registration import (
    ScriptReferences,
    _find_script,
    reference_script_address,
    tokens,
)
from milestoned.txbuilder.release_checks import (
    ReleaseCheck,
    attestations,
    check_release,
    in_flight_refs,
    nothing_to_release,
    quorums,
)
from milestoned.txbuilder.release_workers import ReleaseWorkers, job_for
from milestoned.txbuilder.schedule_state import StateUtxo, find_state, refuse_while_paused
from milestoned.txbuilder.wallet import ChainedWallet, spendable

T = TypeVar("T")

DEFAULT_VALIDITY_MS = 10 * 60_000
"""A release or reclaim is valid for 10 minutes of chain time: long enough to reach a block, short
enough that a lost one soon expires and its allocations may be released again."""
LANE_FUNDING_LOVELACE = 50_000_000
"""The least a wallet UTxO must hold to fund a chain of release transactions of its own (fees of a few
ADA each, and the collateral, which a passing transaction gives back)."""
FIRST_RELEASE_BATCH = 52
"""Allocations tried in the first release transaction (the measured maximum, one beneficiary each, is 52:
`python -m bench contracts`)."""


@dataclass
class ReleasePlan:
    """Unsigned release transactions, and the requested allocations that were left out and why."""

    schedule_id: bytes
    txs: list[BuiltTx] = field(default_factory=list)
    refused: list[tuple[str, Refusal]] = field(default_factory=list)
    releasable: int = 0
    """Allocations that passed every check (more than `released` when `limit` cut the plan short)."""

    @property
    def released(self) -> list[str]:
        return [r for t in self.txs for r in t.details["allocations"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id.hex(),
            "transactions": [t.to_json() for t in self.txs],
            "refused": [{"allocation": r, "rule": e.rule, "message": str(e)} for r, e in self.refused],
            "total_fee_lovelace": sum(t.fee for t in self.txs),
        }


@dataclass
class ScheduleOnChain:
    """What release and reclaim need to know about a registered schedule."""

    definition: ScheduleDefinition
    scripts: ScheduleScripts
    validator_address: Address
    references: ScriptReferences
    state: StateUtxo | None = None
    """The state UTxO of a schedule with guardians (None without guardians, or not created yet)."""

    def release_references(self) -> list[UTxO]:
        """What a release reads: the reference scripts, and the state UTxO when the schedule has one."""
        return self.references.as_list() + ([self.state.utxo] if self.state is not None else [])


async def schedule_on_chain(
    chain: OgmiosChain, definition: ScheduleDefinition, reference_address: Address | None = None
) -> ScheduleOnChain:
    """The schedule's scripts and their reference UTxOs (deployed by registration)."""
    scripts = schedule_scripts(definition.to_parameters())
    network = definition.network.pycardano_network
    holder = reference_address or reference_script_address(network)
    held = await chain.utxos_at([holder])
    validator, policy = _find_script(held, scripts.validator), _find_script(held, scripts.policy)
    if validator is None or policy is None:
        missing = " and ".join(n for n, u in (("validator", validator), ("policy", policy)) if u is None)
        raise TxBuildError(
            f"schedule {scripts.schedule_id.hex()} has no reference script for its {missing} at {holder}: "
            "register the schedule first (its first transaction deploys them), or pass the address "
            "they were deployed to"
        )
    state = await find_state(chain, scripts, definition.network.value) if definition.has_guardians else None
    return ScheduleOnChain(
        definition,
        scripts,
        scripts.validator_address(definition.network.value),
        ScriptReferences(validator, policy),
        state,
    )


def payouts(
    on_chain: ScheduleOnChain, batch: Sequence[AllocationUtxo], params: Any
) -> tuple[list[TransactionOutput], list[dict[str, Any]]]:
    """The tagged payout outputs of a batch, in the order the policy matches them, and their JSON."""
    return payouts_of(on_chain.definition.token, on_chain.scripts.schedule_id, batch, params)


def payouts_of(
    token: Token, schedule_id: bytes, batch: Sequence[AllocationUtxo], params: Any
) -> tuple[list[TransactionOutput], list[dict[str, Any]]]:
    """`payouts` from the schedule's token and id (what a build worker has)."""
    # the ADA locked with the allocations follows them to their run (the policy requires at least that)
    runs = ot.payout_runs(
        (a.sort_key[0], a.sort_key[1], a.beneficiary, a.datum.amount, a.lovelace) for a in batch
    )
    outputs: list[TransactionOutput] = []
    described: list[dict[str, Any]] = []
    datum = ot.payout_datum(schedule_id)
    for beneficiary, amount, locked in runs:
        address = Address.from_primitive(beneficiary)
        output = TransactionOutput(
            address, Value(0, tokens(token.policy_id, token.asset_name, amount)), datum=datum
        )
        # a payout's min-UTxO depends only on its encoded size, and payouts differ in size only by the
        # address' length and the amount's CBOR width (policy id, token name and datum are the
        # schedule's): computed once per shape. Encoding every payout for it was about 3 ms each, a
        # sixth of a release transaction's build.
        shape = (
            params.min_utxo_deposit_coefficient,
            len(address.to_primitive()),
            token.asset_name,
            fees.uint_width(amount),
        )
        minimum = _PAYOUT_MINIMUMS.get(shape)
        if minimum is None:
            minimum = _PAYOUT_MINIMUMS[shape] = fees.minimum_lovelace(params, output)
        output.amount.coin = max(minimum, locked)
        outputs.append(output)
        described.append({"beneficiary": beneficiary, "amount": amount, "lovelace": output.amount.coin})
    return outputs, described


_PAYOUT_MINIMUMS: dict[tuple[int, int, bytes, int], int] = {}
"""Min-UTxO of a payout by (lovelace per byte, address length, token name, amount's CBOR width)."""


async def build_release(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    signatures: Mapping[bytes, Iterable[OracleSignature]],
    payer_address: Address | str,
    *,
    allocations: Sequence[str] | None = None,
    beneficiary: str | None = None,
    in_flight: Collection[str] | Mapping[str, str] = (),
    validity_ms: int = DEFAULT_VALIDITY_MS,
    reference_address: Address | None = None,
    first_batch: int = FIRST_RELEASE_BATCH,
    pending: Sequence[Transaction] = (),
    spent_elsewhere: Collection[str] = (),
    unconfirmed_tx_ids: Collection[str] = (),
    on_built: Callable[[BuiltTx], None] | None = None,
    lanes: int = 1,
    limit: int | None = None,
    on_checked: Callable[[ReleasePlan], None] | None = None,
    workers: ReleaseWorkers | None = None,
    cancelled: Collection[bytes] = (),
) -> ReleasePlan:
    """Build (unsigned) the release of the given allocations, a beneficiary's, or every claimable one.

    - `allocations` (references `<tx id>#<index>`): exactly these; any that fails a check refuses all.
    - `beneficiary` (bech32): every allocation of theirs that passes the checks; the others are listed
      in `ReleasePlan.refused`; refused when none passes.
    - neither: every allocation of the schedule that passes the checks, batched across beneficiaries.

    `signatures` are the committed oracle signatures by milestone id; `in_flight` the allocations of
    live transactions (a set of references, or {reference: tx id}); `pending` the submitted, not yet
    confirmed transactions (the payer's change from them is used, its spent UTxOs are not). The payer
    pays the fee and the collateral; its key is the only signature a release needs. The payer's UTxOs
    in `spent_elsewhere` (`txid#index` spent by a pending transaction, the mempool's included) or
    produced by a transaction in `unconfirmed_tx_ids` are never selected (`wallet.spendable`).
    `lanes`: at most this many independent chains of transactions, built concurrently (module docstring).
    `limit`: release at most this many of the releasable allocations (the first in ledger order), so a
    caller can build and send a large release in rounds (`ReleasePlan.releasable` counts them all).
    `on_checked` is called with the (still empty) plan once the checks are done, before the first
    transaction is built (a job knows how many allocations it will release before it has built any).
    `workers`: build each transaction in one of these worker processes (`release_workers`) when its
    scripts are evaluated locally; in this process (evaluation in threads) without, or when the node
    evaluates. The transactions are the same either way.
    `cancelled`: the schedule's milestones cancelled on chain; their allocations are refused
    (`milestone_cancelled`).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 allocation, not {limit}")
    payer = Address.from_primitive(payer_address) if isinstance(payer_address, str) else payer_address
    on_chain = await schedule_on_chain(chain, definition, reference_address)
    schedule_id = on_chain.scripts.schedule_id
    refuse_while_paused(definition, on_chain.state, schedule_id)
    snapshot = await chain.snapshot([payer])
    time = snapshot.chain_time
    locked = await locked_allocations(chain, schedule_id, on_chain.validator_address)
    busy = in_flight_refs(in_flight)
    if allocations is not None:
        if not allocations:
            raise ValueError("name at least one allocation to release (as <tx id>#<index>)")
        requested = list(allocations)
        what = f"allocation {requested[0]}" if len(requested) == 1 else f"the {len(requested)} allocations"
    elif beneficiary is not None:
        owner = canonical_address(Address.from_primitive(beneficiary))
        requested = [a.reference for a in locked if a.beneficiary == owner]
        what = f"beneficiary {owner}"
        if not requested:
            raise Refusal(
                "allocation_locked",
                f"beneficiary {owner} has no locked allocation in schedule {schedule_id.hex()} "
                "(all released, or none was ever allocated to this address)",
            )
    else:
        requested = [a.reference for a in locked]
        what = f"schedule {schedule_id.hex()}"
    check = check_release(
        definition, schedule_id, requested, locked, signatures, time.now_ms, busy, cancelled
    )
    if allocations is not None and check.refusals:
        if len(check.refusals) == 1:
            raise check.refusals[0][1]
        raise nothing_to_release(ReleaseCheck((), check.refusals), what)
    if not check.releasable:
        raise nothing_to_release(check, what)
    plan = ReleasePlan(schedule_id, refused=list(check.refusals), releasable=len(check.releasable))
    if on_checked is not None:
        on_checked(plan)
    quorum_of = quorums(definition, schedule_id, [a.datum.milestone_id for a in check.releasable], signatures)
    usable = spendable(
        snapshot.utxos(payer), spent_elsewhere=spent_elsewhere, unconfirmed_tx_ids=unconfirmed_tx_ids
    )
    wallet = ChainedWallet(usable, payer, pending)
    params = snapshot.parameters

    in_workers = workers is not None and evaluates_locally(chain.evaluation, params)

    async def build(batch: Sequence[AllocationUtxo], wallet: ChainedWallet) -> BuiltTx:
        milestones = [a.datum.milestone_id for a in batch]
        attested = attestations(definition, schedule_id, quorum_of, signatures, milestones)
        if in_workers:
            assert workers is not None
            built, described = await workers.build(
                job_for(
                    parameters=params,
                    chain_time=time,
                    definition=definition,
                    schedule_id=schedule_id,
                    payer=payer,
                    batch=[a.utxo for a in batch],
                    wallet=wallet.utxos,
                    references=on_chain.release_references(),
                    attestations=attested,
                    validity_start=time.tip_slot,
                    ttl=time.tip_slot + time.slots_for(validity_ms),
                ),
                {**{a.input: a.output for a in batch}, **{u.input: u.output for u in wallet.utxos}},
            )
            return _built(built, batch, described, wallet)
        outputs, described = payouts(on_chain, batch, params)
        tx_plan = TxPlan(
            "release",
            outputs,
            wallet.utxos,
            payer,
            script_inputs=[a.utxo for a in batch],
            spend_redeemer=ot.SpendAllocation(),
            mint=tokens(schedule_id, ot.AUTH_TOKEN_NAME, -len(batch)),
            mint_redeemers={schedule_id: ot.Release(attested)},
            reference_inputs=on_chain.release_references(),
            validity_start=time.tip_slot,
            ttl=time.tip_slot + time.slots_for(validity_ms),
            unconfirmed=wallet.unconfirmed,  # read only: no copy per transaction
        )
        return _built(await assemble(chain, tx_plan), batch, described, wallet)

    def _built(
        built: BuiltTx, batch: Sequence[AllocationUtxo], described: list[dict[str, Any]], lane: ChainedWallet
    ) -> BuiltTx:
        built.details = _details(schedule_id, batch, time, built, payouts=described)
        lane.advance(built)
        if on_built is not None:  # a large release builds for minutes: its job shows each as it comes
            on_built(built)
        return built

    def builder(wallet: ChainedWallet) -> Callable[[Sequence[AllocationUtxo]], Awaitable[BuiltTx]]:
        return lambda batch: build(batch, wallet)

    ordered = sorted(check.releasable, key=lambda a: a.sort_key)[:limit]
    wallets = lane_wallets(wallet, min(lanes, -(-len(ordered) // max(first_batch, 1))))
    share = -(-len(ordered) // len(wallets))
    chains = await all_or_none(
        [
            build_in_batches(
                ordered[i * share : (i + 1) * share],
                first_batch,
                params,
                builder(lane),
            )
            for i, lane in enumerate(wallets)
        ]
    )
    plan.txs = [tx for round_ in _rounds(chains) for tx in round_]
    return plan


async def all_or_none(coroutines: Sequence[Awaitable[T]]) -> list[T]:
    """Each coroutine's result, or the first exception with the others cancelled and finished.

    Why not a bare `gather`: it leaves the other lanes building after one fails, and each built
    transaction is handed to `on_built` (the daemon sends it) while the caller, already holding the
    error, may build the same allocations again. Why not a TaskGroup: it wraps the error in an
    ExceptionGroup, and the callers decide by the error's own type (InsufficientFunds, Refusal...)."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def lane_wallets(wallet: ChainedWallet, lanes: int) -> list[ChainedWallet]:
    """`wallet` cut into at most `lanes` wallets of one funding UTxO each (plain, at least
    LANE_FUNDING_LOVELACE, largest first); the wallet itself when fewer than two such UTxOs exist."""
    funding = sorted(
        (u for u in wallet.utxos if is_plain(u.output) and _lovelace(u.output) >= LANE_FUNDING_LOVELACE),
        key=lambda u: -_lovelace(u.output),
    )[: max(lanes, 1)]
    if len(funding) < 2:
        return [wallet]
    cut: list[ChainedWallet] = []
    for utxo in funding:
        lane = copy.copy(wallet)
        lane.utxos = [utxo]
        lane.unconfirmed = dict(wallet.unconfirmed)
        cut.append(lane)
    return cut


def _lovelace(output: TransactionOutput) -> int:
    return output.amount if isinstance(output.amount, int) else output.amount.coin


def _rounds(chains: Sequence[Sequence[BuiltTx]]) -> list[list[BuiltTx]]:
    """The chains' transactions interleaved: every chain's first, then every chain's second…"""
    longest = max((len(c) for c in chains), default=0)
    return [[c[i] for c in chains if i < len(c)] for i in range(longest)]


def _details(
    schedule_id: bytes, batch: Sequence[AllocationUtxo], time: ChainTime, built: BuiltTx, **extra: Any
) -> dict[str, Any]:
    start, ttl = built.validity
    return {
        "schedule_id": schedule_id.hex(),
        "allocations": [a.reference for a in batch],
        "valid_from_ms": time.slot_to_ms(start) if start is not None else None,
        "expires_at_ms": time.slot_to_ms(ttl) if ttl is not None else None,
        **extra,
    }


def release_details(built: BuiltTx) -> list[str]:
    """The allocation references a built release (or reclaim) spends."""
    return list(built.details.get("allocations", []))
