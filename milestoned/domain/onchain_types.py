"""Datum and redeemer codecs: the off-chain mirror of the on-chain types.

Every class here has the same constructor index and field order as its OpShin twin in
`milestoned/contracts/onchain/`, so what pycardano serialises is exactly what the scripts read (the
contract tests round-trip these through the compiled scripts). Addresses travel on chain as the ledger
API's `Address` (payment credential + optional staking credential); `address_to_plutus` and
`plutus_to_address` convert between that and bech32 / pycardano addresses.

Payout outputs of a release carry the schedule id (28 bytes) as their inline datum: the policy only
counts outputs tagged with its own id, so one output can never be counted by two schedules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import cbor2
from pycardano import Address, Network, PlutusData, RawPlutusData, ScriptHash, VerificationKeyHash
from pycardano.address import PointerAddress

AUTH_TOKEN_NAME = b""  # the auth token's asset name under the schedule's policy
STATE_TOKEN_NAME = b"state"  # the one state token of a schedule with guardians (issue 15)


class OnchainDecodeError(ValueError):
    """Plutus data that is not the on-chain type it was expected to be."""


# --- Ledger API address -----------------------------------------------------------------------------------


@dataclass
class PubKeyCredential(PlutusData):
    CONSTR_ID = 0
    credential_hash: bytes


@dataclass
class ScriptCredential(PlutusData):
    CONSTR_ID = 1
    credential_hash: bytes


@dataclass
class StakingHash(PlutusData):
    CONSTR_ID = 0
    value: Union[PubKeyCredential, ScriptCredential]  # noqa: UP007 (pycardano decodes typing.Union only)


@dataclass
class StakingPtr(PlutusData):
    CONSTR_ID = 1
    slot_no: int
    tx_index: int
    cert_index: int


@dataclass
class SomeStakingCredential(PlutusData):
    CONSTR_ID = 0
    staking_credential: Union[StakingHash, StakingPtr]  # noqa: UP007


@dataclass
class NoStakingCredential(PlutusData):
    CONSTR_ID = 1


@dataclass
class PlutusAddress(PlutusData):
    """The ledger API's `Address` (constructor 0: payment credential, maybe a staking credential)."""

    CONSTR_ID = 0
    payment_credential: Union[PubKeyCredential, ScriptCredential]  # noqa: UP007
    staking_credential: Union[SomeStakingCredential, NoStakingCredential]  # noqa: UP007


def _credential(part: VerificationKeyHash | ScriptHash) -> PubKeyCredential | ScriptCredential:
    if isinstance(part, ScriptHash):
        return ScriptCredential(part.payload)
    return PubKeyCredential(part.payload)


def address_to_plutus(address: Address | str) -> PlutusAddress:
    """A Shelley address (pycardano or bech32) as the ledger API's `Address`."""
    addr = Address.from_primitive(address) if isinstance(address, str) else address
    if addr.payment_part is None:
        raise ValueError(f"address {addr} has no payment credential: a beneficiary must be a payment address")
    staking = addr.staking_part
    staking_data: SomeStakingCredential | NoStakingCredential
    if staking is None:
        staking_data = NoStakingCredential()
    elif isinstance(staking, PointerAddress):
        staking_data = SomeStakingCredential(StakingPtr(staking.slot, staking.tx_index, staking.cert_index))
    else:
        staking_data = SomeStakingCredential(StakingHash(_credential(staking)))
    return PlutusAddress(_credential(addr.payment_part), staking_data)


def _part(credential: PubKeyCredential | ScriptCredential) -> VerificationKeyHash | ScriptHash:
    if isinstance(credential, ScriptCredential):
        return ScriptHash(credential.credential_hash)
    return VerificationKeyHash(credential.credential_hash)


def plutus_to_address(address: PlutusAddress, network: Network) -> Address:
    """The ledger API's `Address` back as a pycardano address on `network`."""
    staking_part: VerificationKeyHash | ScriptHash | PointerAddress | None = None
    staking = address.staking_credential
    if isinstance(staking, SomeStakingCredential):
        inner = staking.staking_credential
        if isinstance(inner, StakingPtr):
            staking_part = PointerAddress(inner.slot_no, inner.tx_index, inner.cert_index)
        else:
            staking_part = _part(inner.value)
    return Address(_part(address.payment_credential), staking_part, network=network)


# --- Datum ------------------------------------------------------------------------------------------------


@dataclass
class AllocationDatum(PlutusData):
    """The inline datum of an allocation UTxO. `vesting_time` is POSIX milliseconds."""

    CONSTR_ID = 0
    schedule_id: bytes
    beneficiary: PlutusAddress
    amount: int
    milestone_id: bytes
    vesting_time: int


def decode_allocation_datum(datum: Any) -> AllocationDatum:
    """An allocation datum from whatever pycardano decoded (RawPlutusData, CBOR bytes or the class).

    Read with cbor2 (`allocation_datum_from_cbor`), not pycardano's `from_cbor`: the indexer decodes
    every allocation it sees, and pycardano's reflective decoding costs ~0.5 ms per datum.
    """
    if isinstance(datum, AllocationDatum):
        return datum
    if isinstance(datum, (bytes, bytearray)):
        return allocation_datum_from_cbor(bytes(datum))
    if isinstance(datum, (RawPlutusData, PlutusData)):
        return allocation_datum_from_cbor(datum.to_cbor())
    raise OnchainDecodeError(f"not an allocation datum: a {type(datum).__name__}")


def allocation_datum_from_cbor(data: bytes) -> AllocationDatum:
    """Decode an `AllocationDatum` from CBOR, checking every constructor index, arity and field type.

    Plutus data has three spellings of a constructor (tags 121-127, 1280-1400, and 102 with the index in
    front); all are the same datum to the scripts, so all are read. Raises OnchainDecodeError.
    """
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as exc:
        raise OnchainDecodeError(f"not an allocation datum: not CBOR ({exc})") from exc
    schedule_id, beneficiary, amount, milestone_id, vesting_time = _fields(value, 0, 5, "AllocationDatum")
    return AllocationDatum(
        _bytes(schedule_id, "schedule_id"),
        _plutus_address(beneficiary),
        _int(amount, "amount"),
        _bytes(milestone_id, "milestone_id"),
        _int(vesting_time, "vesting_time"),
    )


def _constructor(value: Any) -> tuple[int, list[Any]] | None:
    if not isinstance(value, cbor2.CBORTag):
        return None
    tag, fields = value.tag, value.value
    if tag == 102:
        if not (isinstance(fields, list) and len(fields) == 2 and type(fields[0]) is int):
            return None
        index, fields = fields
    elif 121 <= tag <= 127:
        index = tag - 121
    elif 1280 <= tag <= 1400:
        index = tag - 1280 + 7
    else:
        return None
    return (index, fields) if isinstance(fields, list) else None


def _fields(value: Any, index: int, arity: int, what: str) -> list[Any]:
    constructor = _constructor(value)
    if constructor is None or constructor[0] != index or len(constructor[1]) != arity:
        raise OnchainDecodeError(
            f"not an allocation datum: expected {what} (constructor {index}, {arity} fields), "
            f"got {_show(value)}"
        )
    return constructor[1]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _bytes(value: Any, field: str) -> bytes:
    if not isinstance(value, bytes):
        raise OnchainDecodeError(f"not an allocation datum: {field} must be bytes, got {_show(value)}")
    return value


def _int(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise OnchainDecodeError(f"not an allocation datum: {field} must be an integer, got {_show(value)}")
    return value


def _credential_from(value: Any) -> PubKeyCredential | ScriptCredential:
    constructor = _constructor(value)
    if constructor is not None and constructor[0] in (0, 1) and len(constructor[1]) == 1:
        payload = _bytes(constructor[1][0], "credential_hash")
        if len(payload) == 28:
            return PubKeyCredential(payload) if constructor[0] == 0 else ScriptCredential(payload)
    raise OnchainDecodeError(f"not an allocation datum: expected a 28-byte credential, got {_show(value)}")


def _plutus_address(value: Any) -> PlutusAddress:
    payment, staking = _fields(value, 0, 2, "Address")
    constructor = _constructor(staking)
    staking_data: SomeStakingCredential | NoStakingCredential
    if constructor is not None and constructor[0] == 1 and not constructor[1]:
        staking_data = NoStakingCredential()
    elif constructor is not None and constructor[0] == 0 and len(constructor[1]) == 1:
        inner = _constructor(constructor[1][0])
        if inner is not None and inner[0] == 0 and len(inner[1]) == 1:
            staking_data = SomeStakingCredential(StakingHash(_credential_from(inner[1][0])))
        elif inner is not None and inner[0] == 1 and len(inner[1]) == 3:
            slot_no, tx_index, cert_index = (_int(part, "staking pointer") for part in inner[1])
            staking_data = SomeStakingCredential(StakingPtr(slot_no, tx_index, cert_index))
        else:
            raise OnchainDecodeError(
                f"not an allocation datum: unreadable staking credential {_show(staking)}"
            )
    else:
        raise OnchainDecodeError(f"not an allocation datum: unreadable staking part {_show(staking)}")
    return PlutusAddress(_credential_from(payment), staking_data)


def payout_datum(schedule_id: bytes) -> bytes:
    """The inline datum that tags a release's payout output as paid under `schedule_id`."""
    return schedule_id


# --- Redeemers of the schedule policy -----------------------------------------------------------------------


@dataclass
class OracleSignature(PlutusData):
    """One oracle's signature; `oracle_index` is the oracle's position in the schedule's oracle keys."""

    CONSTR_ID = 0
    oracle_index: int
    signature: bytes


@dataclass
class MilestoneAttestation(PlutusData):
    """The signatures for one milestone, ordered by strictly ascending oracle index."""

    CONSTR_ID = 0
    milestone_id: bytes
    signatures: list[OracleSignature]


@dataclass
class Register(PlutusData):
    CONSTR_ID = 0


@dataclass
class Release(PlutusData):
    CONSTR_ID = 1
    attestations: list[MilestoneAttestation]


@dataclass
class Reclaim(PlutusData):
    CONSTR_ID = 2


@dataclass
class Cancel(PlutusData):
    """The admin reclaims the allocations of milestones a quorum of oracles cancelled, before the deadline.

    Each entry is a `MilestoneAttestation` whose signatures are over the cancellation message
    (`milestoned/cancel/v1 || schedule id || milestone id`), never the attestation message."""

    CONSTR_ID = 3
    cancellations: list[MilestoneAttestation]


@dataclass
class InitState(PlutusData):
    """Mint the single state token of a schedule with guardians into its state UTxO."""

    CONSTR_ID = 4


@dataclass
class SpendAllocation(PlutusData):
    """The allocation validator's redeemer under a burn: the policy's redeemer says what happens."""

    CONSTR_ID = 0


@dataclass
class Move(PlutusData):
    """The allocation validator's redeemer for a beneficiary's move (nothing burned).

    `index` is both the moved allocation's position in the transaction's (sorted) inputs and the
    position of its re-locked output."""

    CONSTR_ID = 1
    index: int


# --- Guardians and the schedule state (issue 15) ---------------------------------------------------------


@dataclass
class OutRef(PlutusData):
    """The ledger API's `TxOutRef` (V3: the transaction id is bare bytes)."""

    CONSTR_ID = 0
    tx_id: bytes
    index: int


@dataclass
class Guardians(PlutusData):
    """The policy parameter naming who may pause releases: `threshold` of `keys` (payment key hashes),
    and the `seed` UTxO that `InitState` must spend, so that the state token is minted once only.

    A schedule without guardians has `Guardians([], 0, OutRef(b"", 0))`: no state UTxO, and a release
    pays one comparison."""

    CONSTR_ID = 0
    keys: list[bytes]
    threshold: int
    seed: OutRef


@dataclass
class ScheduleState(PlutusData):
    """The inline datum of a schedule's state UTxO at the state validator (`paused`: 0 or 1)."""

    CONSTR_ID = 0
    schedule_id: bytes
    guardian_keys: list[bytes]
    threshold: int
    paused: int


@dataclass
class SetPaused(PlutusData):
    """The state validator's redeemer: the new value of `paused` (0 or 1)."""

    CONSTR_ID = 0
    paused: int


def release_attestations_from_cbor(data: bytes) -> list[MilestoneAttestation]:
    """The attestations of a `Release` redeemer given as CBOR (what a release transaction carries).

    Why here: a chain audit reads which oracles attested each milestone from the release redeemers alone,
    so it decodes them exactly as the policy reads them (constructor 1, one list of attestations, each a
    milestone id and (oracle index, signature) pairs). Raises OnchainDecodeError for anything else.
    """
    return _attestations_from_cbor(data, Release.CONSTR_ID, "Release")


def cancellations_from_cbor(data: bytes) -> list[MilestoneAttestation]:
    """The cancellations of a `Cancel` redeemer given as CBOR (constructor 3, the same shape as a
    release's attestations): the indexer records from them which milestones a transaction cancelled and
    which oracles signed. Raises OnchainDecodeError for anything else."""
    return _attestations_from_cbor(data, Cancel.CONSTR_ID, "Cancel")


def _attestations_from_cbor(data: bytes, constructor_id: int, what: str) -> list[MilestoneAttestation]:
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as exc:
        raise OnchainDecodeError(f"not a {what} redeemer: not CBOR ({exc})") from exc
    constructor = _constructor(value)
    if constructor is None or constructor[0] != constructor_id or len(constructor[1]) != 1:
        raise OnchainDecodeError(
            f"not a {what} redeemer (constructor {constructor_id}, 1 field): {_show(value)}"
        )
    attestations = constructor[1][0]
    if not isinstance(attestations, list):
        raise OnchainDecodeError(f"not a {what} redeemer: its field must be a list, got {_show(value)}")
    read: list[MilestoneAttestation] = []
    for attestation in attestations:
        milestone_id, signatures = _fields(attestation, 0, 2, "MilestoneAttestation")
        if not isinstance(signatures, list):
            raise OnchainDecodeError(f"not a {what} redeemer: signatures must be a list, got {_show(value)}")
        pairs = []
        for signature in signatures:
            index, raw = _fields(signature, 0, 2, "OracleSignature")
            pairs.append(OracleSignature(_int(index, "oracle_index"), _bytes(raw, "signature")))
        read.append(MilestoneAttestation(_bytes(milestone_id, "milestone_id"), pairs))
    return read


def milestone_attestation(milestone_id: bytes, signatures: dict[int, bytes]) -> MilestoneAttestation:
    """An attestation from {oracle index: signature}, put in the ascending order the policy requires."""
    return MilestoneAttestation(
        milestone_id, [OracleSignature(index, signatures[index]) for index in sorted(signatures)]
    )


# --- Payouts of a release -----------------------------------------------------------------------------------

Beneficiary = TypeVar("Beneficiary")


def payout_runs(
    allocations: Iterable[tuple[bytes, int, Beneficiary, int, int]],
) -> list[tuple[Beneficiary, int, int]]:
    """The payout outputs a release must carry, in output order, for one schedule.

    `allocations` are the released allocations as (tx id, output index, beneficiary, token amount,
    lovelace) of their UTxO. The policy walks them in the ledger's input order (tx id bytes, then index)
    and merges consecutive allocations of the same beneficiary into one run; the outputs tagged with the
    schedule id must pay those runs, one output each, in the same order (other outputs may come
    between): each run as (beneficiary, token amount, lovelace). The output must carry exactly the token
    amount and at least the lovelace, the ADA that was locked with the allocations, so that whoever
    submits the release cannot keep it.
    """
    runs: list[tuple[Beneficiary, int, int]] = []
    for _, _, beneficiary, amount, lovelace in sorted(allocations, key=lambda a: (a[0], a[1])):
        if runs and runs[-1][0] == beneficiary:
            _, run_amount, run_lovelace = runs[-1]
            runs[-1] = (beneficiary, run_amount + amount, run_lovelace + lovelace)
        else:
            runs.append((beneficiary, amount, lovelace))
    return runs
