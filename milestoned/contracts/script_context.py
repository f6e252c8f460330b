"""The one builder of the Plutus V3 ScriptContext from a pycardano transaction.

Tests, benchmarks and the devnet's phase-2 validation all evaluate scripts on contexts built here, so a
script that passes in our tests sees exactly what it will see on the devnet. The encoding follows the
V3 ledger API (`PlutusLedgerApi.V3`, as the Conway ledger translates a transaction):

- `ScriptContext = Constr 0 [TxInfo, redeemer, ScriptInfo]`;
- `TxInfo` has 16 fields: inputs and reference inputs sorted by out-ref, outputs in order, fee as an
  integer, mint without an ADA entry, certificates as V3 `TxCert`, withdrawals keyed by `Credential`,
  the validity range in POSIX milliseconds, signatories = the body's required signers (not the key
  witnesses), the redeemer map keyed by `ScriptPurpose`, the witness datums by hash, the tx id as plain
  bytes, votes, proposals, treasury amount and donation;
- values carry the ADA entry first and policies / asset names in ascending byte order.

The context is built directly as `uplc` Plutus data: it is what the evaluator consumes, and it avoids a
CBOR round trip per redeemer. Bad input raises `ScriptContextError` saying what could not be
translated and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cbor2
from frozendict import frozendict
from frozenlist2 import frozenlist
from pycardano import (
    Address,
    ExecutionUnits,
    MultiAsset,
    PlutusScript,
    RawCBOR,
    RedeemerMap,
    RedeemerTag,
    ScriptHash,
    Transaction,
    TransactionInput,
    TransactionOutput,
    VerificationKeyHash,
    datum_hash,
    script_hash,
)
from pycardano import certificate as cert
from pycardano.address import PointerAddress
from pycardano.serialization import default_encoder
from uplc.ast import (
    PlutusByteString,
    PlutusConstr,
    PlutusData,
    PlutusInteger,
    PlutusList,
    PlutusMap,
    data_from_cbor,
)


class ScriptContextError(ValueError):
    """The transaction cannot be translated into a Plutus V3 script context (say what and why)."""


@dataclass(frozen=True)
class SlotConfig:
    """How the network maps slots to POSIX time: slot `zero_slot` starts at `zero_time_ms`."""

    zero_time_ms: int
    zero_slot: int
    slot_length_ms: int


def slot_to_posix_ms(slot: int, slot_config: SlotConfig) -> int:
    """The POSIX time (ms) at which `slot` starts."""
    return slot_config.zero_time_ms + (slot - slot_config.zero_slot) * slot_config.slot_length_ms


# --- Plutus data shorthands ------------------------------------------------------------------------------


def constr(tag: int, *fields: PlutusData) -> PlutusConstr:
    return PlutusConstr(tag, frozenlist(list(fields)))


def integer(value: int) -> PlutusInteger:
    return PlutusInteger(value)


def byte_string(value: bytes) -> PlutusByteString:
    return PlutusByteString(bytes(value))


def data_list(items: Iterable[PlutusData]) -> PlutusList:
    return PlutusList(frozenlist(list(items)))


def data_map(pairs: Iterable[tuple[PlutusData, PlutusData]]) -> PlutusMap:
    return PlutusMap(frozendict(pairs))


def nothing() -> PlutusConstr:
    return constr(1)


def just(value: PlutusData) -> PlutusConstr:
    return constr(0, value)


TRUE = constr(1)
FALSE = constr(0)


def datum_to_data(datum: Any) -> PlutusData:
    """Any pycardano datum (PlutusData, RawPlutusData, RawCBOR, int, bytes, list, dict) as uplc data."""
    if isinstance(datum, PlutusData):
        return datum
    if isinstance(datum, RawCBOR):
        return data_from_cbor(datum.cbor)
    try:
        return data_from_cbor(cbor2.dumps(datum, default=default_encoder))
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ScriptContextError(f"cannot encode {type(datum).__name__} as Plutus data: {exc}") from exc


# --- Ledger types ---------------------------------------------------------------------------------------


def credential_data(credential: VerificationKeyHash | ScriptHash) -> PlutusConstr:
    """`PubKeyCredential` (0) for a key hash, `ScriptCredential` (1) for a script hash."""
    if isinstance(credential, ScriptHash):
        return constr(1, byte_string(credential.payload))
    return constr(0, byte_string(credential.payload))


def address_data(address: Address) -> PlutusConstr:
    """A Shelley address as the ledger API's `Address`; Byron and stake-only addresses are refused."""
    payment = address.payment_part
    if payment is None:
        raise ScriptContextError(
            f"address {address} has no payment credential; a Plutus script context only carries "
            "Shelley payment addresses"
        )
    staking = address.staking_part
    if staking is None:
        staking_data = nothing()
    elif isinstance(staking, PointerAddress):
        staking_data = just(
            constr(1, integer(staking.slot), integer(staking.tx_index), integer(staking.cert_index))
        )
    else:
        staking_data = just(constr(0, credential_data(staking)))
    return constr(0, credential_data(payment), staking_data)


def tx_out_ref_data(tx_input: TransactionInput) -> PlutusConstr:
    return constr(0, byte_string(tx_input.transaction_id.payload), integer(tx_input.index))


def multi_asset_pairs(multi_asset: MultiAsset | None) -> list[tuple[PlutusData, PlutusData]]:
    """Policies and asset names in ascending byte order, as the ledger's maps are; zero entries dropped."""
    if not multi_asset:
        return []
    pairs: list[tuple[PlutusData, PlutusData]] = []
    for policy in sorted(multi_asset, key=lambda p: p.payload):
        assets = multi_asset[policy]
        tokens = [
            (byte_string(name.payload), integer(quantity))
            for name, quantity in sorted(assets.items(), key=lambda item: item[0].payload)
            if quantity != 0
        ]
        if tokens:
            pairs.append((byte_string(policy.payload), data_map(tokens)))
    return pairs


def value_data(coin: int, multi_asset: MultiAsset | None) -> PlutusMap:
    ada = (byte_string(b""), data_map([(byte_string(b""), integer(coin))]))
    return data_map([ada, *multi_asset_pairs(multi_asset)])


def output_datum_data(output: TransactionOutput) -> PlutusConstr:
    if output.datum is not None:
        return constr(2, datum_to_data(output.datum))
    if output.datum_hash is not None:
        return constr(1, byte_string(output.datum_hash.payload))
    return constr(0)


def tx_out_data(output: TransactionOutput) -> PlutusConstr:
    address = output.address
    if not isinstance(address, Address):
        raise ScriptContextError(f"output address {address!r} is not a Shelley address")
    reference_script = (
        just(byte_string(script_hash(output.script).payload)) if output.script is not None else nothing()
    )
    return constr(
        0,
        address_data(address),
        value_data(output.amount.coin, output.amount.multi_asset),
        output_datum_data(output),
        reference_script,
    )


def sorted_inputs(inputs: Iterable[TransactionInput] | None) -> list[TransactionInput]:
    """Inputs in the ledger's order: by transaction id bytes, then index. Redeemer indices refer to it."""
    return sorted(inputs or [], key=lambda i: (i.transaction_id.payload, i.index))


def resolve(
    tx_input: TransactionInput, utxos: Mapping[TransactionInput, TransactionOutput]
) -> TransactionOutput:
    try:
        return utxos[tx_input]
    except KeyError:
        raise ScriptContextError(
            f"input {tx_input.transaction_id.payload.hex()}#{tx_input.index} is not in the resolved UTxO "
            "set; pass every input, reference input and collateral with its output"
        ) from None


def tx_in_info_data(
    tx_input: TransactionInput, utxos: Mapping[TransactionInput, TransactionOutput]
) -> PlutusConstr:
    return constr(0, tx_out_ref_data(tx_input), tx_out_data(resolve(tx_input, utxos)))


def stake_credential_data(stake_credential: cert.StakeCredential) -> PlutusConstr:
    return credential_data(stake_credential.credential)


def drep_data(drep: cert.DRep) -> PlutusConstr:
    if drep.kind == cert.DRepKind.ALWAYS_ABSTAIN:
        return constr(1)
    if drep.kind == cert.DRepKind.ALWAYS_NO_CONFIDENCE:
        return constr(2)
    if drep.credential is None:
        raise ScriptContextError(f"DRep {drep} has no credential")
    return constr(0, credential_data(drep.credential))


def tx_cert_data(certificate: Any) -> PlutusConstr:
    """A certificate as the V3 `TxCert`; old-style (deposit-less) registrations carry `Nothing`."""
    c = certificate
    if isinstance(c, cert.StakeRegistration):
        return constr(0, stake_credential_data(c.stake_credential), nothing())
    if isinstance(c, cert.StakeRegistrationConway):
        return constr(0, stake_credential_data(c.stake_credential), just(integer(c.coin)))
    if isinstance(c, cert.StakeDeregistration):
        return constr(1, stake_credential_data(c.stake_credential), nothing())
    if isinstance(c, cert.StakeDeregistrationConway):
        return constr(1, stake_credential_data(c.stake_credential), just(integer(c.coin)))
    if isinstance(c, cert.StakeDelegation):
        return constr(
            2, stake_credential_data(c.stake_credential), constr(0, byte_string(c.pool_keyhash.payload))
        )
    if isinstance(c, cert.VoteDelegation):
        return constr(2, stake_credential_data(c.stake_credential), constr(1, drep_data(c.drep)))
    if isinstance(c, cert.StakeAndVoteDelegation):
        delegatee = constr(2, byte_string(c.pool_keyhash.payload), drep_data(c.drep))
        return constr(2, stake_credential_data(c.stake_credential), delegatee)
    if isinstance(c, cert.StakeRegistrationAndDelegation):
        delegatee = constr(0, byte_string(c.pool_keyhash.payload))
        return constr(3, stake_credential_data(c.stake_credential), delegatee, integer(c.coin))
    if isinstance(c, cert.StakeRegistrationAndVoteDelegation):
        delegatee = constr(1, drep_data(c.drep))
        return constr(3, stake_credential_data(c.stake_credential), delegatee, integer(c.coin))
    if isinstance(c, cert.StakeRegistrationAndDelegationAndVoteDelegation):
        delegatee = constr(2, byte_string(c.pool_keyhash.payload), drep_data(c.drep))
        return constr(3, stake_credential_data(c.stake_credential), delegatee, integer(c.coin))
    if isinstance(c, cert.RegDRepCert):
        return constr(4, stake_credential_data(c.drep_credential), integer(c.coin))
    if isinstance(c, cert.UpdateDRepCertificate):
        return constr(5, stake_credential_data(c.drep_credential))
    if isinstance(c, cert.UnregDRepCertificate):
        return constr(6, stake_credential_data(c.drep_credential), integer(c.coin))
    if isinstance(c, cert.PoolRegistration):
        params = c.pool_params
        return constr(7, byte_string(params.operator.payload), byte_string(params.vrf_keyhash.payload))
    if isinstance(c, cert.PoolRetirement):
        return constr(8, byte_string(c.pool_keyhash.payload), integer(c.epoch))
    if isinstance(c, cert.AuthCommitteeHotCertificate):
        return constr(
            9,
            stake_credential_data(c.committee_cold_credential),
            stake_credential_data(c.committee_hot_credential),
        )
    if isinstance(c, cert.ResignCommitteeColdCertificate):
        return constr(10, stake_credential_data(c.committee_cold_credential))
    raise ScriptContextError(f"certificate type {type(c).__name__} is not supported in a V3 script context")


def reward_credential(reward_address: bytes) -> tuple[bool, bytes]:
    """(is_script, hash) of a reward address's raw bytes (header bit 4 set = script credential)."""
    if len(reward_address) != 29:
        raise ScriptContextError(f"reward address {reward_address.hex()} is not 29 bytes")
    return bool(reward_address[0] & 0x10), reward_address[1:]


def reward_credential_data(reward_address: bytes) -> PlutusConstr:
    is_script, hash_bytes = reward_credential(reward_address)
    return constr(1 if is_script else 0, byte_string(hash_bytes))


def sorted_withdrawals(withdrawals: Mapping[bytes, int] | None) -> list[tuple[bytes, int]]:
    """The ledger orders reward accounts by credential with script credentials first, then by hash."""
    items = [(bytes(address), amount) for address, amount in (withdrawals or {}).items()]
    return sorted(items, key=lambda item: (not reward_credential(item[0])[0], item[0][1:]))


def validity_range_data(tx: Transaction, slot_config: SlotConfig) -> PlutusConstr:
    """Closed lower bound at the start slot, open upper bound at the TTL slot, infinite when absent."""
    body = tx.transaction_body
    if body.validity_start is None:
        lower = constr(0, constr(0), TRUE)
    else:
        lower = constr(0, constr(1, integer(slot_to_posix_ms(body.validity_start, slot_config))), TRUE)
    if body.ttl is None:
        upper = constr(0, constr(2), TRUE)
    else:
        upper = constr(0, constr(1, integer(slot_to_posix_ms(body.ttl, slot_config))), FALSE)
    return constr(0, lower, upper)


# --- Redeemers and purposes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptInvocation:
    """One redeemer of the transaction and what it runs for.

    `purpose` is the V3 `ScriptPurpose` (the redeemer map's key), `script_info` the V3 `ScriptInfo`
    handed to the script (for spending it also carries the datum), `script_hash` the script that must
    run (None when the purpose is not guarded by a script, e.g. a key-locked input).
    """

    tag: RedeemerTag
    index: int
    redeemer: PlutusData
    ex_units: ExecutionUnits | None
    purpose: PlutusConstr
    script_info: PlutusConstr
    script_hash: bytes | None


def redeemer_entries(tx: Transaction) -> list[tuple[RedeemerTag, int, Any, ExecutionUnits | None]]:
    """The witness set's redeemers, whether written as the legacy list or the Conway map."""
    redeemers = tx.transaction_witness_set.redeemer
    if not redeemers:
        return []
    if isinstance(redeemers, RedeemerMap):
        return [(key.tag, key.index, value.data, value.ex_units) for key, value in redeemers.items()]
    entries = []
    for redeemer in redeemers:
        if redeemer.tag is None:
            raise ScriptContextError("a redeemer has no tag; set its tag (SPEND, MINT, ...) and index")
        entries.append((redeemer.tag, redeemer.index, redeemer.data, redeemer.ex_units))
    return entries


def witness_datums(tx: Transaction) -> dict[bytes, PlutusData]:
    return {datum_hash(d).payload: datum_to_data(d) for d in tx.transaction_witness_set.plutus_data or []}


def _out_of_range(tag: RedeemerTag, index: int, count: int, what: str) -> ScriptContextError:
    return ScriptContextError(
        f"redeemer {tag.name} #{index} points past the transaction's {count} {what}; "
        "redeemer indices count the sorted items of that kind from 0"
    )


def invocation(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    tag: RedeemerTag,
    index: int,
    redeemer: Any,
    ex_units: ExecutionUnits | None,
    datums: Mapping[bytes, PlutusData],
) -> ScriptInvocation:
    """Work out the purpose, script info and script hash of one redeemer."""
    body = tx.transaction_body
    data = datum_to_data(redeemer)
    if tag == RedeemerTag.SPEND:
        inputs = sorted_inputs(body.inputs)
        if index >= len(inputs):
            raise _out_of_range(tag, index, len(inputs), "inputs")
        tx_input = inputs[index]
        output = resolve(tx_input, utxos)
        payment = output.address.payment_part if isinstance(output.address, Address) else None
        script = payment.payload if isinstance(payment, ScriptHash) else None
        if output.datum is not None:
            datum: PlutusConstr = just(datum_to_data(output.datum))
        elif output.datum_hash is not None and output.datum_hash.payload in datums:
            datum = just(datums[output.datum_hash.payload])
        else:
            datum = nothing()
        out_ref = tx_out_ref_data(tx_input)
        return ScriptInvocation(
            tag, index, data, ex_units, constr(1, out_ref), constr(1, out_ref, datum), script
        )
    if tag == RedeemerTag.MINT:
        policies = sorted((p.payload for p in body.mint or {}), key=bytes)
        if index >= len(policies):
            raise _out_of_range(tag, index, len(policies), "minted policies")
        policy = byte_string(policies[index])
        return ScriptInvocation(
            tag, index, data, ex_units, constr(0, policy), constr(0, policy), policies[index]
        )
    if tag == RedeemerTag.WITHDRAWAL:
        withdrawals = sorted_withdrawals(body.withdraws)
        if index >= len(withdrawals):
            raise _out_of_range(tag, index, len(withdrawals), "withdrawals")
        is_script, hash_bytes = reward_credential(withdrawals[index][0])
        credential = reward_credential_data(withdrawals[index][0])
        return ScriptInvocation(
            tag,
            index,
            data,
            ex_units,
            constr(2, credential),
            constr(2, credential),
            hash_bytes if is_script else None,
        )
    if tag == RedeemerTag.CERTIFICATE:
        certificates = list(body.certificates or [])
        if index >= len(certificates):
            raise _out_of_range(tag, index, len(certificates), "certificates")
        certificate = certificates[index]
        cert_data = tx_cert_data(certificate)
        credential = getattr(certificate, "stake_credential", None) or getattr(
            certificate, "drep_credential", None
        )
        script = (
            credential.credential.payload
            if credential is not None and isinstance(credential.credential, ScriptHash)
            else None
        )
        return ScriptInvocation(
            tag,
            index,
            data,
            ex_units,
            constr(3, integer(index), cert_data),
            constr(3, integer(index), cert_data),
            script,
        )
    raise ScriptContextError(f"redeemer purpose {tag.name} (voting / proposing) is not supported")


def script_invocations(
    tx: Transaction, utxos: Mapping[TransactionInput, TransactionOutput]
) -> list[ScriptInvocation]:
    """Every redeemer of `tx`, in the ledger's order (spend, mint, cert, reward; then by index)."""
    datums = witness_datums(tx)
    entries = sorted(redeemer_entries(tx), key=lambda e: (e[0].value, e[1]))
    return [invocation(tx, utxos, tag, index, data, units, datums) for tag, index, data, units in entries]


# --- TxInfo and ScriptContext ----------------------------------------------------------------------------


def _optional_lovelace(value: int | None) -> PlutusConstr:
    return nothing() if value is None else just(integer(value))


def build_tx_info(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    invocations: Sequence[ScriptInvocation] | None = None,
    *,
    tx_id: bytes | None = None,
) -> PlutusConstr:
    """The V3 `TxInfo` of `tx`, shared by every script the transaction runs.

    `tx_id` defaults to the hash of pycardano's encoding of the body; a caller holding the submitted
    bytes (the devnet) passes the hash of the original body bytes, in case the re-encoding differs.
    """
    body = tx.transaction_body
    if body.voting_procedures or body.proposal_procedures:
        raise ScriptContextError(
            "voting and proposal procedures are not supported in script contexts built here; "
            "submit governance transactions without Plutus scripts"
        )
    if invocations is None:
        invocations = script_invocations(tx, utxos)
    inputs = data_list(tx_in_info_data(i, utxos) for i in sorted_inputs(body.inputs))
    reference_inputs = data_list(tx_in_info_data(i, utxos) for i in sorted_inputs(body.reference_inputs))
    outputs = data_list(tx_out_data(o) for o in body.outputs)
    mint = data_map(multi_asset_pairs(body.mint))
    certificates = data_list(tx_cert_data(c) for c in body.certificates or [])
    withdrawals = data_map(
        (reward_credential_data(address), integer(amount))
        for address, amount in sorted_withdrawals(body.withdraws)
    )
    signatories = data_list(
        byte_string(h) for h in sorted(bytes(s.payload) for s in body.required_signers or [])
    )
    redeemers = data_map((i.purpose, i.redeemer) for i in invocations)
    datums = data_map((byte_string(h), d) for h, d in sorted(witness_datums(tx).items()))
    return constr(
        0,
        inputs,
        reference_inputs,
        outputs,
        integer(body.fee),
        mint,
        certificates,
        withdrawals,
        validity_range_data(tx, slot_config),
        signatories,
        redeemers,
        datums,
        byte_string(body.id.payload if tx_id is None else tx_id),
        data_map([]),
        data_list([]),
        _optional_lovelace(body.current_treasury_value),
        _optional_lovelace(body.donation),
    )


def script_context(tx_info: PlutusConstr, invocation: ScriptInvocation) -> PlutusConstr:
    """`ScriptContext = Constr 0 [TxInfo, redeemer, ScriptInfo]`."""
    return constr(0, tx_info, invocation.redeemer, invocation.script_info)


def build_script_context(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    tag: RedeemerTag,
    index: int,
) -> PlutusConstr:
    """The context the script behind redeemer (`tag`, `index`) of `tx` is run with."""
    invocations = script_invocations(tx, utxos)
    for inv in invocations:
        if inv.tag == tag and inv.index == index:
            return script_context(build_tx_info(tx, utxos, slot_config, invocations), inv)
    raise ScriptContextError(f"the transaction has no redeemer {tag.name} #{index}")


def available_scripts(
    tx: Transaction, utxos: Mapping[TransactionInput, TransactionOutput]
) -> dict[bytes, PlutusScript]:
    """Plutus scripts the transaction can run, by hash: witness scripts, then reference scripts of its
    inputs and reference inputs."""
    witness = tx.transaction_witness_set
    scripts: dict[bytes, PlutusScript] = {}
    for group in (witness.plutus_v1_script, witness.plutus_v2_script, witness.plutus_v3_script):
        for script in group or []:
            scripts[script_hash(script).payload] = script
    body = tx.transaction_body
    for tx_input in [*(body.inputs or []), *(body.reference_inputs or [])]:
        output = utxos.get(tx_input)
        if output is not None and isinstance(output.script, PlutusScript):
            scripts.setdefault(script_hash(output.script).payload, output.script)
    return scripts


__all__ = [
    "ScriptContextError",
    "ScriptInvocation",
    "SlotConfig",
    "address_data",
    "available_scripts",
    "build_script_context",
    "build_tx_info",
    "datum_to_data",
    "script_context",
    "script_invocations",
    "slot_to_posix_ms",
]
