"""Pure encoders from ledger objects (pycardano) to Ogmios v6 JSON (Conway era).

WHY a module of its own: every shape here is fixed by the official schema
(`shared/ogmios/schema/v6.14/cardano.json`), and the tests validate each one against it. Keeping
them pure (objects in, JSON-ready dicts out) lets the server cache a block's JSON once and lets the
tests check the shapes without a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import cbor2
from nacl.signing import SigningKey
from pycardano import (
    Address,
    NativeScript,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    RedeemerTag,
    ScriptHash,
    TransactionInput,
    TransactionOutput,
    Value,
)
from pycardano import certificate as cert
from pycardano.crypto import bech32
from pycardano.nativescript import (
    InvalidBefore,
    InvalidHereAfter,
    ScriptAll,
    ScriptAny,
    ScriptNofK,
    ScriptPubkey,
)
from pycardano.serialization import default_encoder

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.parameters import ExUnits, ProtocolParameters
from milestoned.devnet.scripts import AnyScript, script_hash_of
from milestoned.devnet.transaction import DecodedTransaction

Json = Any
"""A JSON-ready value (dict, list, str, int, float, bool, None)."""

ORIGIN = "origin"

PURPOSES: Mapping[RedeemerTag, str] = {
    RedeemerTag.SPEND: "spend",
    RedeemerTag.MINT: "mint",
    RedeemerTag.CERTIFICATE: "publish",
    RedeemerTag.WITHDRAWAL: "withdraw",
    RedeemerTag.VOTING: "vote",
    RedeemerTag.PROPOSING: "propose",
}


def ratio(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def ada(lovelace: int) -> Json:
    return {"ada": {"lovelace": lovelace}}


def cbor_hex(obj: Any) -> str:
    return cbor2.dumps(obj, default=default_encoder).hex()


def value(amount: Value | int) -> Json:
    """`Value`: ada plus `{policyId: {assetNameHex: quantity}}`."""
    if isinstance(amount, int):
        return ada(amount)
    encoded: dict[str, Any] = ada(amount.coin)
    for policy, assets in amount.multi_asset.items():
        entries = {bytes(name.payload).hex(): quantity for name, quantity in assets.items() if quantity != 0}
        if entries:
            encoded[policy.payload.hex()] = entries
    return encoded


def assets(multi_asset: Mapping[Any, Mapping[Any, int]]) -> Json:
    """`Assets` (a transaction's `mint`): signed quantities per policy and asset name."""
    return {
        policy.payload.hex(): {bytes(name.payload).hex(): quantity for name, quantity in entries.items()}
        for policy, entries in multi_asset.items()
    }


def output_reference(txin: TransactionInput) -> Json:
    return {"transaction": {"id": txin.transaction_id.payload.hex()}, "index": txin.index}


def native_script(script: NativeScript) -> Json:
    """`Script<Native>`: Ogmios' clause tree. `before`/`after` name the bound the slot must respect."""
    if isinstance(script, ScriptPubkey):
        return {"clause": "signature", "from": script.key_hash.payload.hex()}
    if isinstance(script, ScriptAll):
        return {"clause": "all", "from": [native_script(s) for s in script.native_scripts]}
    if isinstance(script, ScriptAny):
        return {"clause": "any", "from": [native_script(s) for s in script.native_scripts]}
    if isinstance(script, ScriptNofK):
        return {
            "clause": "some",
            "atLeast": script.n,
            "from": [native_script(s) for s in script.native_scripts],
        }
    if isinstance(script, InvalidHereAfter):
        return {"clause": "before", "slot": script.after}
    if isinstance(script, InvalidBefore):
        return {"clause": "after", "slot": script.before}
    raise TypeError(f"unknown native script clause {type(script).__name__}")


def script(any_script: AnyScript) -> Json:
    if isinstance(any_script, PlutusV3Script):
        return {"language": "plutus:v3", "cbor": bytes(any_script).hex()}
    if isinstance(any_script, PlutusV2Script):
        return {"language": "plutus:v2", "cbor": bytes(any_script).hex()}
    if isinstance(any_script, PlutusV1Script):
        return {"language": "plutus:v1", "cbor": bytes(any_script).hex()}
    return {"language": "native", "json": native_script(any_script), "cbor": any_script.to_cbor().hex()}


def transaction_output(output: TransactionOutput) -> Json:
    """`TransactionOutput`. `datum` (inline) and `datumHash` never appear together."""
    encoded: dict[str, Any] = {"address": str(output.address), "value": value(output.amount)}
    if output.datum is not None:
        encoded["datum"] = cbor_hex(output.datum)
    elif output.datum_hash is not None:
        encoded["datumHash"] = output.datum_hash.payload.hex()
    if output.script is not None:
        encoded["script"] = script(output.script)
    return encoded


def utxo(txin: TransactionInput, output: TransactionOutput) -> Json:
    """One `Utxo` entry: the output reference and the output's fields side by side."""
    return {**output_reference(txin), **transaction_output(output)}


def utxo_set(entries: Iterable[tuple[TransactionInput, TransactionOutput]]) -> Json:
    return [utxo(txin, output) for txin, output in entries]


def execution_units(units: ExUnits) -> Json:
    return {"memory": units.memory, "cpu": units.cpu}


def redeemer_pointer(tag: RedeemerTag, index: int) -> Json:
    return {"purpose": PURPOSES[tag], "index": index}


def point(slot: int, block_id: bytes) -> Json:
    return {"slot": slot, "id": block_id.hex()}


def tip(slot: int, block_id: bytes, height: int) -> Json:
    return {"slot": slot, "id": block_id.hex(), "height": height}


def metadatum(datum: Any) -> Json:
    """Ogmios' no-schema metadata JSON; raises ValueError when it cannot be represented (use cbor)."""
    if isinstance(datum, bool) or datum is None:
        raise ValueError("not a metadatum")
    if isinstance(datum, int | str):
        return datum
    if isinstance(datum, bytes):
        return "0x" + datum.hex()
    if isinstance(datum, list | tuple):
        return [metadatum(item) for item in datum]
    if isinstance(datum, dict):
        encoded = {}
        for key, item in datum.items():
            if not isinstance(key, int | str) or isinstance(key, bool):
                raise ValueError("metadata map keys must be integers or text to be shown as JSON")
            encoded[str(key)] = metadatum(item)
        return encoded
    raise ValueError(f"cannot show {type(datum).__name__} as JSON metadata")


def metadata(auxiliary_data_bytes: bytes) -> Json | None:
    """`Metadata`: the auxiliary-data hash and each label as JSON when possible, else as CBOR."""
    decoded = cbor2.loads(auxiliary_data_bytes)
    labels_map: Any = None
    if isinstance(decoded, dict):
        labels_map = decoded
    elif isinstance(decoded, cbor2.CBORTag) and decoded.tag == 259 and isinstance(decoded.value, dict):
        labels_map = decoded.value.get(0)
    elif isinstance(decoded, list) and decoded:
        labels_map = decoded[0]
    labels: dict[str, Any] = {}
    for label, datum in (labels_map or {}).items():
        try:
            labels[str(label)] = {"json": metadatum(datum)}
        except ValueError:
            labels[str(label)] = {"cbor": cbor2.dumps(datum).hex()}
    return {"hash": blake2b_256(auxiliary_data_bytes).hex(), "labels": labels}


def protocol_parameters(params: ProtocolParameters) -> Json:
    """`queryLedgerState/protocolParameters` result (v6 key names; ratios as "n/d", cost models as arrays)."""
    return {
        "minFeeCoefficient": params.min_fee_coefficient,
        "minFeeConstant": ada(params.min_fee_constant),
        "minFeeReferenceScripts": {
            "base": float(params.min_fee_ref_script_base),
            "range": params.min_fee_ref_script_range,
            "multiplier": float(params.min_fee_ref_script_multiplier),
        },
        "minUtxoDepositCoefficient": params.min_utxo_deposit_coefficient,
        "minUtxoDepositConstant": ada(0),
        "maxBlockBodySize": {"bytes": params.max_block_body_size},
        "maxBlockHeaderSize": {"bytes": params.max_block_header_size},
        "maxTransactionSize": {"bytes": params.max_transaction_size},
        "maxReferenceScriptsSize": {"bytes": params.max_reference_scripts_size},
        "stakeCredentialDeposit": ada(params.stake_credential_deposit),
        "stakePoolDeposit": ada(params.stake_pool_deposit),
        "stakePoolRetirementEpochBound": params.stake_pool_retirement_epoch_bound,
        "desiredNumberOfStakePools": params.desired_number_of_stake_pools,
        "stakePoolPledgeInfluence": ratio(params.stake_pool_pledge_influence),
        "monetaryExpansion": ratio(params.monetary_expansion),
        "treasuryExpansion": ratio(params.treasury_expansion),
        "minStakePoolCost": ada(params.min_stake_pool_cost),
        "plutusCostModels": {language: list(model) for language, model in params.cost_models.items()},
        "scriptExecutionPrices": {"memory": ratio(params.price_memory), "cpu": ratio(params.price_cpu)},
        "maxExecutionUnitsPerTransaction": execution_units(params.max_execution_units_per_transaction),
        "maxExecutionUnitsPerBlock": execution_units(params.max_execution_units_per_block),
        "maxValueSize": {"bytes": params.max_value_size},
        "collateralPercentage": params.collateral_percentage,
        "maxCollateralInputs": params.max_collateral_inputs,
        "version": {"major": params.protocol_version[0], "minor": params.protocol_version[1]},
        **conway_governance_parameters(params),
    }


def conway_governance_parameters(params: ProtocolParameters) -> Json:
    """The Conway governance parameters, with mainnet's thresholds."""
    return {
        "stakePoolVotingThresholds": {
            "noConfidence": "51/100",
            "constitutionalCommittee": {"default": "51/100", "stateOfNoConfidence": "51/100"},
            "hardForkInitiation": "51/100",
            "protocolParametersUpdate": {"security": "51/100"},
        },
        "constitutionalCommitteeMinSize": params.constitutional_committee_min_size,
        "constitutionalCommitteeMaxTermLength": params.constitutional_committee_max_term_length,
        "governanceActionLifetime": params.governance_action_lifetime,
        "governanceActionDeposit": ada(params.governance_action_deposit),
        "delegateRepresentativeVotingThresholds": {
            "noConfidence": "67/100",
            "constitutionalCommittee": {"default": "67/100", "stateOfNoConfidence": "3/5"},
            "constitution": "3/4",
            "hardForkInitiation": "3/5",
            "protocolParametersUpdate": {
                "network": "67/100",
                "economic": "67/100",
                "technical": "67/100",
                "governance": "3/4",
            },
            "treasuryWithdrawals": "67/100",
        },
        "delegateRepresentativeDeposit": ada(params.delegate_representative_deposit),
        "delegateRepresentativeMaxIdleTime": params.delegate_representative_max_idle_time,
    }


def transaction(decoded: DecodedTransaction, spends: str) -> Json:
    """`Transaction` as it appears in a block: body fields, then witnesses."""
    tx = decoded.tx
    body = tx.transaction_body
    witnesses = tx.transaction_witness_set
    encoded: dict[str, Any] = {
        "id": decoded.id.hex(),
        "spends": spends,
        "inputs": [output_reference(i) for i in body.inputs],
    }
    if body.reference_inputs:
        encoded["references"] = [output_reference(i) for i in body.reference_inputs]
    if body.collateral:
        encoded["collaterals"] = [output_reference(i) for i in body.collateral]
    if body.total_collateral is not None:
        encoded["totalCollateral"] = ada(body.total_collateral)
    if body.collateral_return is not None:
        encoded["collateralReturn"] = transaction_output(body.collateral_return)
    encoded["outputs"] = [transaction_output(o) for o in body.outputs]
    if body.mint:
        encoded["mint"] = assets(body.mint)
    if body.certificates:
        encoded["certificates"] = [entry for c in body.certificates for entry in certificate(c)]
    if body.withdraws:
        encoded["withdrawals"] = {
            str(Address.from_primitive(bytes(raw))): ada(amount) for raw, amount in body.withdraws.items()
        }
    if body.network_id is not None:
        encoded["network"] = "mainnet" if body.network_id.value == 1 else "testnet"
    if body.script_data_hash is not None:
        encoded["scriptIntegrityHash"] = body.script_data_hash.payload.hex()
    if body.required_signers:
        encoded["requiredExtraSignatories"] = [h.payload.hex() for h in body.required_signers]
    encoded["fee"] = ada(body.fee)
    interval: dict[str, int] = {}
    if body.validity_start is not None:
        interval["invalidBefore"] = body.validity_start
    if body.ttl is not None:
        interval["invalidAfter"] = body.ttl
    encoded["validityInterval"] = interval
    if decoded.auxiliary_data_bytes is not None:
        encoded["metadata"] = metadata(decoded.auxiliary_data_bytes)
    encoded["signatories"] = [
        {"key": bytes(w.vkey.payload).hex(), "signature": bytes(w.signature).hex()}
        for w in witnesses.vkey_witnesses or []
    ]
    scripts: dict[str, Any] = {}
    for group in (
        witnesses.native_scripts,
        witnesses.plutus_v1_script,
        witnesses.plutus_v2_script,
        witnesses.plutus_v3_script,
    ):
        for item in group or []:
            scripts[script_hash_of(item).hex()] = script(item)
    if scripts:
        encoded["scripts"] = scripts
    if witnesses.plutus_data:
        encoded["datums"] = {
            blake2b_256(bytes.fromhex(cbor_hex(d))).hex(): cbor_hex(d) for d in witnesses.plutus_data
        }
    redeemers = _redeemer_entries(witnesses.redeemer)
    if redeemers:
        encoded["redeemers"] = redeemers
    return encoded


def _credential(stake_credential: Any) -> Json:
    inner = stake_credential.credential
    origin = "script" if isinstance(inner, ScriptHash) else "verificationKey"
    return {"credential": bytes(inner.payload).hex(), "from": origin}


def _delegatee(c: Any) -> Json:
    encoded: dict[str, Any] = {}
    pool = getattr(c, "pool_keyhash", None)
    if pool is not None:
        encoded["stakePool"] = {"id": str(bech32.encode("pool", bytes(pool.payload)))}
    drep = getattr(c, "drep", None)
    if drep is not None:
        if drep.kind == cert.DRepKind.ALWAYS_ABSTAIN:
            encoded["delegateRepresentative"] = {"type": "abstain"}
        elif drep.kind == cert.DRepKind.ALWAYS_NO_CONFIDENCE:
            encoded["delegateRepresentative"] = {"type": "noConfidence"}
        else:
            encoded["delegateRepresentative"] = {"type": "registered", **_drep_id(drep)}
    return encoded


def _drep_id(drep: Any) -> Json:
    inner = drep.credential
    return {
        "id": bytes(inner.payload).hex(),
        "from": "script" if isinstance(inner, ScriptHash) else "verificationKey",
    }


def certificate(c: Any) -> list[Json]:
    """A stake certificate as Ogmios shows it; a combined registration-and-delegation certificate is
    two entries (a registration with its deposit, then a delegation), as Ogmios encodes it."""
    if isinstance(c, cert.StakeRegistration | cert.StakeRegistrationConway):
        entry = {"type": "stakeCredentialRegistration", **_credential(c.stake_credential)}
        if isinstance(c, cert.StakeRegistrationConway):
            entry["deposit"] = ada(c.coin)
        return [entry]
    if isinstance(c, cert.StakeDeregistration | cert.StakeDeregistrationConway):
        entry = {"type": "stakeCredentialDeregistration", **_credential(c.stake_credential)}
        if isinstance(c, cert.StakeDeregistrationConway):
            entry["deposit"] = ada(c.coin)
        return [entry]
    delegation = {"type": "stakeDelegation", **_credential(c.stake_credential), **_delegatee(c)}
    if isinstance(c, cert.StakeDelegation | cert.VoteDelegation | cert.StakeAndVoteDelegation):
        return [delegation]
    if isinstance(
        c,
        cert.StakeRegistrationAndDelegation
        | cert.StakeRegistrationAndVoteDelegation
        | cert.StakeRegistrationAndDelegationAndVoteDelegation,
    ):
        registration = {
            "type": "stakeCredentialRegistration",
            **_credential(c.stake_credential),
            "deposit": ada(c.coin),
        }
        return [registration, delegation]
    raise ValueError(f"the devnet does not encode {type(c).__name__} certificates (it refuses them)")


def _redeemer_entries(raw: Any) -> list[Json]:
    if not raw:
        return []
    if isinstance(raw, list):
        items = [(r.tag, r.index, r.data, r.ex_units) for r in raw]
    else:
        items = [(k.tag, k.index, v.data, v.ex_units) for k, v in raw.items()]
    return [
        {
            "validator": redeemer_pointer(tag, index),
            "redeemer": cbor_hex(data),
            "executionUnits": {"memory": units.mem, "cpu": units.steps},
        }
        for tag, index, data, units in items
    ]


def block_issuer(seed: bytes) -> Json:
    """The devnet's single block producer, with keys derived from `seed` (stable for a chain).

    The cold key and the VRF key are real Ed25519 public keys (libsodium's VRF keys are Ed25519 points);
    the KES key is the root of a depth-6 sum composition (blake2b-256 over pairs, 64 Ed25519 leaves,
    seeds split with blake2b-256 of 1 or 2 followed by the seed). Blocks are not signed, so these keys
    only make headers look like a node's: distinct 32-byte keys, the same on every block of a chain.
    """

    def public(key_seed: bytes) -> bytes:
        return bytes(SigningKey(key_seed).verify_key)

    def kes_root(key_seed: bytes, depth: int) -> bytes:
        if depth == 0:
            return public(key_seed)
        left = blake2b_256(b"\x01" + key_seed)
        right = blake2b_256(b"\x02" + key_seed)
        return blake2b_256(kes_root(left, depth - 1) + kes_root(right, depth - 1))

    return {
        "verificationKey": public(blake2b_256(b"cold" + seed)).hex(),
        "vrfVerificationKey": public(blake2b_256(b"vrf" + seed)).hex(),
        "operationalCertificate": {
            "count": 0,
            "kes": {"period": 0, "verificationKey": kes_root(blake2b_256(b"kes" + seed), 6).hex()},
        },
        "leaderValue": {},
    }


def block(
    height: int,
    slot: int,
    block_id: bytes,
    ancestor: bytes | None,
    size: int,
    transactions: list[Json],
    issuer: Json,
) -> Json:
    """`Block<Praos>` in the Conway era."""
    return {
        "type": "praos",
        "era": "conway",
        "id": block_id.hex(),
        "ancestor": ancestor.hex() if ancestor is not None else "genesis",
        "height": height,
        "slot": slot,
        "size": {"bytes": size},
        "transactions": transactions,
        "protocol": {"version": {"major": 10, "minor": 0}},
        "issuer": issuer,
    }
