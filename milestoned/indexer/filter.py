"""The block filter: one typed block in, the chain events it means for our contract out. Pure.

Why pure: it is the one place that decides what counts as an allocation, so it must be testable on
hand-built blocks, with no node, store or clock. The follower feeds it and writes what it returns.

What counts (DESIGN.md §3):
- An allocation is an output, at the allocation validator's payment credential (any staking part), that
  carries the auth token (policy = schedule id, asset name `AUTH_TOKEN_NAME`) of a KNOWN schedule and an
  inline datum that decodes as an `AllocationDatum` whose `schedule_id` is that same schedule. An output
  at the validator without the token, with a token of an unknown schedule, with a datum hash only, with a
  malformed datum or with another schedule's id in its datum is not an allocation, whatever it looks like.
  Creating one gives `AllocationLocked`.
- Spending an allocation out-ref (one of `open_allocations`, or locked earlier in the same block) gives
  `AllocationReleased` or `AllocationReclaimed`. Release vs reclaim is decided by the redeemer the
  spending transaction gives the schedule's minting policy (every spend burns the auth token, so that
  redeemer exists): constructor 1 (`Release`) → released, constructor 2 (`Reclaim`) → reclaimed,
  constructor 3 (`Cancel`, issue 15) → `AllocationCancelled` (a reclaim, marked as cancelled). Should
  the redeemer be absent, unreadable or of any other constructor (it cannot be on a valid chain: the
  policy refuses any other), where the tokens went decides: an output tagged with the schedule id as
  inline datum (a release payout) → released, else reclaimed.
- Spending an allocation in a transaction that mints and burns nothing of its schedule is a move (the
  validator then accepts only its `Move(index)` redeemer, issue 15): the allocation re-locked for a new
  beneficiary at output `index`, its own position among the sorted inputs. It gives
  `AllocationReassigned` (old and new out-ref and beneficiary); the new output, an allocation like
  any other, gives its own `AllocationLocked`.
- A transaction whose scripts failed (`spends: "collaterals"`) only consumes its collaterals and only
  produces its collateral return (`Transaction.consumed` / `.produced`), so it neither locks nor spends
  an allocation.

- An output holding a known schedule's state token at the schedule-state validator gives
  `ScheduleStateCreated` or `SchedulePauseChanged` (`indexer.schedule_state`, issue 15).

- A release also gives one `OracleSignatureSeen` per oracle signature its Release redeemer carries (after
  the transaction's first released allocation of that schedule), so that the signatures a release used
  are known from the chain alone.
- A cancellation likewise gives one `MilestoneCancelled` per milestone its Cancel redeemer cancels, with
  the indices of the oracles that signed (after the transaction's first cancelled allocation of that
  schedule): a daemon rebuilt from the chain alone knows which milestones were cancelled.

Every event carries the block's point and the transaction id. Events come in transaction order; within
a transaction, spends before locks.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import cbor2
from pycardano import Address, Network, ScriptHash

from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.eventlog.events import (
    AllocationCancelled,
    AllocationLocked,
    AllocationReassigned,
    AllocationReclaimed,
    AllocationReleased,
    ChainEvent,
    ChainPoint,
    InvalidEventError,
    MilestoneCancelled,
    OracleSignatureSeen,
    SchedulePolicy,
)
from milestoned.indexer.schedule_state import state_events
from milestoned.ogmios.errors import OgmiosProtocolError
from milestoned.ogmios.frames import loads, transaction_spans
from milestoned.ogmios.model import Block, Transaction, TransactionOutput
from milestoned.ogmios.parsing import parse_transaction
from milestoned.ogmios.substring import contains

log = logging.getLogger(__name__)

AUTH_TOKEN_NAME_HEX: Final = ot.AUTH_TOKEN_NAME.hex()
RELEASE_CONSTRUCTOR: Final = 1
RECLAIM_CONSTRUCTOR: Final = 2
CANCEL_CONSTRUCTOR: Final = 3

MANY_SCHEDULES: Final = 4
"""Up to this many known schedules, the pre-filter searches each id; beyond, one scan serves them all
(the scan costs about as much as six searches; see `mentions_any`)."""
_POLICY_KEY: Final = re.compile(rb'"([0-9a-f]{56})"\s*:')
_STATE_TOKEN_KEY: Final = f'"{ot.STATE_TOKEN_NAME.hex()}":'.encode()

SpendEvent = AllocationReleased | AllocationReclaimed


@dataclass(frozen=True, slots=True)
class WatchedContract:
    """What identifies our contract on a network: the allocation validator's script hash, and the network
    (to render beneficiaries as bech32 addresses, e.g. `addr_test1…` on the devnet)."""

    validator_hash: bytes
    network: Network
    state_validator_hash: bytes = b""
    """The schedule-state validator's script hash (issue 15); empty: state UTxOs are not tracked."""

    def __post_init__(self) -> None:
        if len(self.validator_hash) != 28:
            raise ValueError(
                f"validator_hash must be the 28-byte script hash of the allocation validator, "
                f"got {len(self.validator_hash)} bytes; take it from contracts.loader.default_blueprint()"
            )

    @classmethod
    def of_network(cls, network: str) -> WatchedContract:
        """The committed blueprint's validator on `network` ("mainnet", "preprod", "preview", "devnet")."""
        from milestoned.contracts.loader import default_blueprint, network_of

        blueprint = default_blueprint()
        return cls(blueprint.validator_hash, network_of(network), blueprint.state_validator_hash)

    def is_validator_address(self, bech32: str) -> bool:
        """True when the address' payment credential is the validator (whatever its staking part)."""
        return _payment_script_hash(bech32) == self.validator_hash


@functools.lru_cache(maxsize=4096)
def _payment_script_hash(bech32: str) -> bytes | None:
    """The script hash an address' payment part is locked by, or None (key-locked, Byron, unreadable).

    Cached because decoding bech32 in pure Python costs tens of microseconds, and a schedule's allocation
    outputs all sit at the validator's address (with a few staking parts): the same strings come back.
    """
    try:
        address = Address.from_primitive(bech32)
    except Exception:  # Byron addresses and anything pycardano cannot read are not ours
        return None
    payment = address.payment_part
    return payment.payload if isinstance(payment, ScriptHash) else None


def _bech32(address: ot.PlutusAddress, network: Network) -> str:
    """The beneficiary as a bech32 address. Cached: bech32 is pure Python (`canonical_address`: one
    checksum, ~60 µs; `str(Address)` computes two), and a beneficiary usually has several allocations."""
    payment = address.payment_credential
    staking = address.staking_credential
    inner = staking.staking_credential if isinstance(staking, ot.SomeStakingCredential) else None
    if isinstance(inner, ot.StakingHash):
        staking_key: tuple[Any, ...] = (type(inner.value), inner.value.credential_hash)
    elif isinstance(inner, ot.StakingPtr):
        staking_key = (ot.StakingPtr, inner.slot_no, inner.tx_index, inner.cert_index)
    else:
        staking_key = ()
    key = (type(payment), payment.credential_hash, staking_key, network)
    bech32 = _BECH32_MEMO.get(key)
    if bech32 is None:
        if len(_BECH32_MEMO) >= _BECH32_MEMO_SIZE:
            _BECH32_MEMO.clear()
        bech32 = _BECH32_MEMO[key] = canonical_address(ot.plutus_to_address(address, network))
    return bech32


_BECH32_MEMO: dict[tuple[Any, ...], str] = {}
_BECH32_MEMO_SIZE: Final = 4096


def block_point(block: Block) -> ChainPoint | None:
    """The block's point as the log records it, or None for a Byron boundary block (no slot)."""
    if block.slot is None:
        return None
    return ChainPoint(block.slot, block.id)


def block_events(
    block: Block,
    contract: WatchedContract,
    schedules: Collection[str],
    open_allocations: Mapping[str, str],
    *,
    safe_point: Callable[[], object] | None = None,
    beneficiaries: Mapping[str, str] | None = None,
) -> list[ChainEvent]:
    """The chain events of `block`.

    `schedules` are the known schedule ids (hex policy ids; a mapping to their rules works too),
    `open_allocations` maps each unspent allocation out-ref ("txid#index") to its schedule id. Neither is
    modified. A block that the pre-filter (`mentions_any`) finds no known schedule in is skipped without
    typing its transactions: every lock outputs the auth token and every spend moves or burns it, so both
    name the schedule, as the policy of an empty-named asset. `safe_point` is called between two
    transactions that matter (a block of a large registration is tens of milliseconds of pure Python;
    the daemon pauses there for its socket's queries, `daemon.query_priority`). `beneficiaries` maps open
    allocation out-refs to their beneficiary (bech32), the old beneficiary a move reports.
    """
    if not schedules or block.slot is None or not mentions_any(block, schedules):
        return []  # the usual case: no ChainPoint (a validated value, microseconds) is even built
    point = ChainPoint(block.slot, block.id)
    events: list[ChainEvent] = []
    locked_here: dict[str, str] = {}
    owners: dict[str, str] = {}  # beneficiaries of the allocations locked in this block
    spent_here: set[str] = set()
    attested: set[tuple[str, str]] = set()
    for n, tx in enumerate(_transactions_touching(block, schedules, open_allocations, locked_here)):
        if n and safe_point is not None:
            safe_point()
        for ref in tx.consumed:
            out_ref = f"{ref.transaction_id}#{ref.index}"
            if out_ref in spent_here:
                continue
            schedule_id = locked_here.get(out_ref) or open_allocations.get(out_ref)
            if schedule_id is None:
                continue
            spent_here.add(out_ref)
            if schedule_id not in tx.mint and (
                relocked := moved_event(tx, point, schedule_id, out_ref, contract, schedules)
            ):
                owner = owners.get(out_ref) or (beneficiaries or {}).get(out_ref, "")
                events.append(
                    AllocationReassigned(
                        point=point,
                        tx_id=tx.id,
                        schedule_id=schedule_id,
                        out_ref=out_ref,
                        new_out_ref=relocked.out_ref,
                        old_beneficiary=owner,
                        new_beneficiary=relocked.beneficiary,
                    )
                )
                continue
            spend = _spend_event(tx, point, schedule_id, out_ref)
            events.append(spend)
            if isinstance(spend, AllocationReleased | AllocationCancelled) and (
                (tx.id, schedule_id) not in attested
            ):
                attested.add((tx.id, schedule_id))
                if isinstance(spend, AllocationCancelled):
                    events.extend(milestones_cancelled(tx, point, schedule_id))
                else:
                    events.extend(signatures_used(tx, point, schedule_id, schedules))
        for utxo in tx.produced:
            locked = allocation_locked(tx, point, utxo.output, utxo.reference.index, contract, schedules)
            if locked is not None:
                locked_here[locked.out_ref] = locked.schedule_id
                owners[locked.out_ref] = locked.beneficiary
                events.append(locked)
        if contract.state_validator_hash:
            events.extend(state_events(tx, point, schedules, contract.state_validator_hash))
    return events


def _transactions_touching(
    block: Block,
    schedules: Collection[str],
    open_allocations: Mapping[str, str],
    locked_here: Mapping[str, str],
) -> Iterator[Transaction]:
    """The block's transactions that may lock or spend an allocation, typed; the others are not typed.

    Why: typing all 20–60 transactions of a 100 KB block costs about a millisecond, and a block that
    names a schedule usually has one transaction that matters. Each transaction's JSON text is first
    screened like the block was (`frame_mentions_any`: a lock outputs the auth token, a spend burns it,
    so both name the schedule); only those that pass are decoded, and a transaction matters if it mints
    under, or outputs (collateral return included) a value holding, a known schedule's policy, or
    consumes (inputs or collaterals) an open allocation or one locked earlier in this block
    (`locked_here`, filled in by the caller as it goes). Blocks without a raw frame, or whose frame
    cannot be split into transactions, are typed entirely.
    """
    spans = None if block.source is None else transaction_spans(block.source)
    if spans is None:
        yield from block.transactions
        return
    for span in spans:
        if not frame_mentions_any(span, schedules):
            continue
        try:
            tx = loads(span)
        except OgmiosProtocolError:
            continue  # msgspec validated the JSON; unreachable short of a disagreement between parsers
        if isinstance(tx, dict) and _touches(tx, schedules, open_allocations, locked_here):
            yield parse_transaction(tx)


def _touches(
    tx: Mapping[str, Any],
    schedules: Collection[str],
    open_allocations: Mapping[str, str],
    locked_here: Mapping[str, str],
) -> bool:
    mint = tx.get("mint")
    if mint and any(policy in schedules for policy in mint):
        return True
    outputs = tx.get("outputs") or []
    collateral_return = tx.get("collateralReturn")
    for output in [*outputs, collateral_return] if collateral_return else outputs:
        value = output.get("value")
        if value and any(policy in schedules for policy in value):
            return True
    for key in ("inputs", "collaterals"):
        for ref in tx.get(key) or ():
            out_ref = f"{ref['transaction']['id']}#{ref['index']}"
            if out_ref in open_allocations or out_ref in locked_here:
                return True
    return False


def mentions_any(block: Block, schedules: Collection[str]) -> bool:
    """Whether the raw frame may concern one of the schedule ids (False: it certainly does not).

    Up to `MANY_SCHEDULES` schedules: one substring search per schedule id (`substring.contains`, ~8 µs
    per 100 KB frame each with the C library's `memmem`, ~23 µs without: a policy id holds every hex
    digit, so a search on single bytes cannot skip far through the frame's hex). Beyond: one scan for
    the auth tokens (~55 µs), whatever the number of schedules (`auth_token_policies`). Should that scan
    meet a shape it cannot judge (not Ogmios' compact JSON), one regular-expression scan for every policy
    id used as a JSON key decides instead.
    """
    source = block.source
    return True if source is None else frame_mentions_any(source, schedules)


def frame_mentions_any(source: bytes, schedules: Collection[str]) -> bool:
    """`mentions_any` on JSON text: a block's frame, or one transaction of it."""
    if len(schedules) <= MANY_SCHEDULES:
        return any(contains(source, schedule.encode()) for schedule in schedules)
    policies = auth_token_policies(source)
    # a pause or resume moves only the state token (named `state`, not empty): it is searched for too
    if policies is not None and not contains(source, _STATE_TOKEN_KEY):
        return any(policy in schedules for policy in policies)
    return any(match.decode() in schedules for match in _POLICY_KEY.findall(source))


_EMPTY_STRING: Final = re.compile(rb'""')
_NOT_A_KEY: Final = frozenset(b",}]")
_COLON, _OPEN, _QUOTE = ord(":"), ord("{"), ord('"')
_HEX_DIGITS: Final = frozenset(b"0123456789abcdef")


def auth_token_policies(frame: bytes) -> list[str] | None:
    """The policy ids under which `frame` holds an empty-named asset, or None if it cannot tell cheaply.

    Why this finds every transaction the filter needs: the auth token's asset name is empty
    (`AUTH_TOKEN_NAME == b""`). A lock outputs the token of a known schedule; a spend consumes an
    allocation, which holds the token, so by the ledger's value preservation the token either leaves in
    an output or is burnt in `mint` (collaterals cannot be script-locked, so a failed transaction never
    consumes one). Ogmios v6 writes values and `mint` as `{"<policy>":{"<asset name hex>":qty}}`, so every
    such transaction holds an empty JSON key `""` in an asset map. One regular-expression pass over the
    frame finds every `""` (~60 µs per 100 KB, independent of the number of schedules) and each is judged:

    - followed by `,`, `}` or `]`: a string value, not a key; skipped;
    - `":{"":` preceded by a quote and 56 hex digits: the first asset of that policy's map (the empty name
      sorts first); the policy is returned, whether or not it is a schedule;
    - `":{"":` after any other key: not an asset map (a policy id is 56 hex digits); skipped;
    - anything else (whitespace, an empty name that is not first in its map, an escaped quote, a truncated
      frame): not Ogmios' compact form, so None: the caller falls back to a scan that does not rely on it.
    """
    if ot.AUTH_TOKEN_NAME != b"":  # the reasoning above holds only for an empty asset name
        return None
    policies: list[str] = []
    end = len(frame)
    for match in _EMPTY_STRING.finditer(frame):
        at = match.start()
        after = at + 2
        if after >= end:
            return None
        following = frame[after]
        if following in _NOT_A_KEY:
            continue
        if following != _COLON or at < 3 or frame[at - 1] != _OPEN or frame[at - 2] != _COLON:
            return None
        if frame[at - 3] != _QUOTE:
            return None
        key_start = at - 59
        if (
            key_start >= 1
            and frame[key_start - 1] == _QUOTE
            and _HEX_DIGITS.issuperset(frame[key_start : at - 3])
        ):
            policies.append(frame[key_start : at - 3].decode("ascii"))
        # else: the empty name sits in an object keyed by something that is not a policy id
    return policies


def allocation_locked(
    tx: Transaction,
    point: ChainPoint,
    output: TransactionOutput,
    index: int,
    contract: WatchedContract,
    schedules: Collection[str],
) -> AllocationLocked | None:
    assets = output.value.assets
    if not assets:
        return None
    schedule_id = next(
        (
            policy
            for policy in assets
            if policy in schedules and assets[policy].get(AUTH_TOKEN_NAME_HEX, 0) > 0
        ),
        None,
    )
    if schedule_id is None:
        return None
    out_ref = f"{tx.id}#{index}"
    if not contract.is_validator_address(output.address):
        log.warning(
            "auth token of schedule %s outside the validator at %s; not an allocation", schedule_id, out_ref
        )
        return None
    if output.datum is None:
        log.warning(
            "%s carries schedule %s's auth token but no inline datum; not an allocation", out_ref, schedule_id
        )
        return None
    try:
        datum = ot.decode_allocation_datum(bytes.fromhex(output.datum))
        if datum.schedule_id.hex() != schedule_id:
            log.warning(
                "%s: datum names schedule %s, token is %s's; ignored",
                out_ref,
                datum.schedule_id.hex(),
                schedule_id,
            )
            return None
        beneficiary = _bech32(datum.beneficiary, contract.network)
        return AllocationLocked(
            point=point,
            tx_id=tx.id,
            schedule_id=schedule_id,
            out_ref=out_ref,
            beneficiary=beneficiary,
            amount=datum.amount,
            milestone_id=datum.milestone_id.hex(),
            vesting_time_ms=datum.vesting_time,
        )
    except (ot.OnchainDecodeError, InvalidEventError, ValueError, TypeError, AttributeError) as exc:
        log.warning(
            "%s carries schedule %s's auth token but a malformed datum (%s); ignored",
            out_ref,
            schedule_id,
            exc,
        )
        return None


def moved_event(
    tx: Transaction,
    point: ChainPoint,
    schedule_id: str,
    out_ref: str,
    contract: WatchedContract,
    schedules: Collection[str],
) -> AllocationLocked | None:
    """The re-locked allocation of a move of `out_ref` (output at the input's sorted position), or None
    when that output is no allocation of the schedule (not on a valid chain: the validator requires it)."""
    ordered = sorted((ref.transaction_id, ref.index) for ref in tx.inputs)
    transaction_id, _, index = out_ref.partition("#")
    position = ordered.index((transaction_id, int(index)))
    if position >= len(tx.outputs):
        return None
    locked = allocation_locked(tx, point, tx.outputs[position], position, contract, schedules)
    return locked if locked is not None and locked.schedule_id == schedule_id else None


def _spend_event(tx: Transaction, point: ChainPoint, schedule_id: str, out_ref: str) -> SpendEvent:
    constructor = mint_redeemer_constructor(tx, schedule_id)
    if constructor == CANCEL_CONSTRUCTOR:
        return AllocationCancelled(point=point, tx_id=tx.id, schedule_id=schedule_id, out_ref=out_ref)
    if constructor == RELEASE_CONSTRUCTOR:
        reclaimed = False
    elif constructor == RECLAIM_CONSTRUCTOR:
        reclaimed = True
    else:  # absent, unreadable or unknown (the policy refuses any other): where the tokens went decides
        reclaimed = not _pays_tagged_output(tx, schedule_id)
    kind: type[SpendEvent] = AllocationReclaimed if reclaimed else AllocationReleased
    return kind(point=point, tx_id=tx.id, schedule_id=schedule_id, out_ref=out_ref)


def signatures_used(
    tx: Transaction, point: ChainPoint, schedule_id: str, schedules: Collection[str]
) -> list[OracleSignatureSeen]:
    """The oracle signatures `tx`'s Release redeemer carries for `schedule_id`, with the oracles' keys.

    The redeemer names oracles by their index in the schedule's oracle keys, so the schedule's rules
    must be known (`schedules` maps ids to `SchedulePolicy`); without them, or when the redeemer does
    not read as `Release [MilestoneAttestation milestone [OracleSignature index signature]]`, nothing.
    Whether a signature verifies is not judged here: the projections count only those that do.
    """
    policy = schedules.get(schedule_id) if isinstance(schedules, Mapping) else None
    if not isinstance(policy, SchedulePolicy):
        return []
    data = mint_redeemer_data(tx, schedule_id)
    if data is None:
        return []
    try:
        attestations = ot.release_attestations_from_cbor(bytes.fromhex(data))
        return [
            OracleSignatureSeen(
                point=point,
                tx_id=tx.id,
                schedule_id=schedule_id,
                milestone_id=attestation.milestone_id.hex(),
                oracle_key=policy.oracle_keys[signature.oracle_index],
                signature=signature.signature.hex(),
            )
            for attestation in attestations
            for signature in attestation.signatures
            if 0 <= signature.oracle_index < len(policy.oracle_keys)
        ]
    except (ValueError, InvalidEventError):  # OnchainDecodeError is a ValueError
        return []


def milestones_cancelled(tx: Transaction, point: ChainPoint, schedule_id: str) -> list[MilestoneCancelled]:
    """One `MilestoneCancelled` per milestone `tx`'s Cancel redeemer cancels for `schedule_id`, with the
    oracle indices that signed it. The policy verified the signatures (the transaction's scripts passed, or
    it would have spent no allocation), so they are not checked again; a redeemer that does not read as
    `Cancel [MilestoneAttestation milestone [OracleSignature index signature]]` gives nothing."""
    data = mint_redeemer_data(tx, schedule_id)
    if data is None:
        return []
    try:
        return [
            MilestoneCancelled(
                point=point,
                tx_id=tx.id,
                schedule_id=schedule_id,
                milestone_id=cancellation.milestone_id.hex(),
                oracle_indices=tuple(signature.oracle_index for signature in cancellation.signatures),
            )
            for cancellation in ot.cancellations_from_cbor(bytes.fromhex(data))
        ]
    except (ValueError, InvalidEventError):  # OnchainDecodeError is a ValueError
        return []


def mint_redeemer_data(tx: Transaction, policy_id: str) -> str | None:
    """The redeemer data (hex CBOR) `tx` gives minting policy `policy_id`: mint redeemers point at the
    policy's position among the minted policy ids in ascending order."""
    if policy_id not in tx.mint:
        return None
    index = sorted(tx.mint).index(policy_id)
    for redeemer in tx.redeemers:
        if redeemer.validator.purpose == "mint" and redeemer.validator.index == index:
            return redeemer.data
    return None


def mint_redeemer_constructor(tx: Transaction, policy_id: str) -> int | None:
    """The constructor index of the redeemer `tx` gives minting policy `policy_id`, if it has one.

    Mint redeemers point at the policy's position among the minted policy ids in ascending order.
    """
    data = mint_redeemer_data(tx, policy_id)
    return None if data is None else plutus_constructor(data)


def plutus_constructor(data_hex: str) -> int | None:
    """The constructor index of Plutus data given as hex CBOR, or None if it is not a constructor."""
    try:
        value = cbor2.loads(bytes.fromhex(data_hex))
    except (ValueError, cbor2.CBORDecodeError):
        return None
    if not isinstance(value, cbor2.CBORTag):
        return None
    if 121 <= value.tag <= 127:
        return value.tag - 121
    if 1280 <= value.tag <= 1400:
        return value.tag - 1280 + 7
    if value.tag == 102 and isinstance(value.value, list) and value.value and isinstance(value.value[0], int):
        return value.value[0]
    return None


def _pays_tagged_output(tx: Transaction, schedule_id: str) -> bool:
    tag = cbor2.dumps(bytes.fromhex(schedule_id)).hex()
    return any(utxo.output.datum == tag for utxo in tx.produced)
