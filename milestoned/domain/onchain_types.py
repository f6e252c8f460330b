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

from pycardano import Address, Network, PlutusData, RawPlutusData, ScriptHash, VerificationKeyHash
from pycardano.address import PointerAddress
from pycardano.exception import DeserializeException

AUTH_TOKEN_NAME = b""  # the auth token's asset name under the schedule's policy


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
    """An allocation datum from whatever pycardano decoded (RawPlutusData, CBOR bytes or the class)."""
    if isinstance(datum, AllocationDatum):
        return datum
    try:
        if isinstance(datum, RawPlutusData):
            return AllocationDatum.from_cbor(datum.to_cbor())
        if isinstance(datum, (bytes, bytearray)):
            return AllocationDatum.from_cbor(bytes(datum))
        if isinstance(datum, PlutusData):
            return AllocationDatum.from_cbor(datum.to_cbor())
    except (DeserializeException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise OnchainDecodeError(f"not an allocation datum: {exc}") from exc
    raise OnchainDecodeError(f"not an allocation datum: a {type(datum).__name__}")


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
class SpendAllocation(PlutusData):
    """The allocation validator's redeemer: it reads none, the policy's redeemer says what happens."""

    CONSTR_ID = 0


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
