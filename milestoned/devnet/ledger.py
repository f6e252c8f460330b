"""The devnet's ledger rules: pure validation of one transaction against a UTxO set and a slot.

WHY pure: `validate_transaction(view, tx)` takes everything it needs as arguments (the UTxO set, the
current slot, the protocol parameters, the Plutus evaluator) and returns either what the transaction
does (inputs consumed, outputs produced) or a `LedgerError` carrying the Ogmios error code and data.
The chain applies the result; the server encodes the error. Each rule can thus be tested with a
transaction that breaks it and nothing else running.

The rules are the Conway rules for what milestoned's transactions use: key-locked and script-locked
inputs, reference inputs and scripts, inline datums and datum hashes, minting and burning, native
scripts, Plutus scripts, Plutus V1, V2 and V3 scripts (through `milestoned.contracts.evaluation`), collateral,
metadata, and stake certificates, reward accounts and withdrawals (`staking.py`). Governance
(votes, proposals, DRep and committee certificates) and stake pool certificates are refused with a
clear message naming what is unsupported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pycardano import (
    NativeScript,
    Network,
    RedeemerTag,
    ScriptHash,
    TransactionId,
    TransactionInput,
    TransactionOutput,
)

from milestoned.devnet import encode
from milestoned.devnet.checks import (
    check_collateral,
    check_datums,
    check_metadata,
    language_views,
    payment_script_hash,
    script_integrity_hash,
)
from milestoned.devnet.errors import LedgerError, err, refs_json
from milestoned.devnet.hashing import blake2b_224
from milestoned.devnet.parameters import ExUnits, ProtocolParameters
from milestoned.devnet.scripts import (
    AnyScript,
    is_plutus,
    native_script_holds,
    plutus_language,
    script_hash_of,
)
from milestoned.devnet.staking import (
    Account,
    Credential,
    StakePool,
    StakingError,
    apply_staking,
    reward_account_credential,
    reward_address,
    sorted_withdrawals,
    unsupported_content,
)
from milestoned.devnet.transaction import DecodedTransaction, canonical_set
from milestoned.devnet.values import Bag, bag_of, multi_asset_entries, total

__all__ = ["LedgerError", "err", "language_views", "refs_json"]

UtxoSet = Mapping[TransactionInput, TransactionOutput]
Spends = Literal["inputs", "collaterals"]


@dataclass(frozen=True)
class ScriptRun:
    """The outcome of one redeemer's script, from the Plutus evaluator."""

    tag: RedeemerTag
    index: int
    ok: bool
    budget: ExUnits
    logs: tuple[str, ...]
    error: str | None


class EvaluationContextError(ValueError):
    """The transaction cannot be turned into a script context (Ogmios error 3004 when evaluating)."""


class PlutusEvaluator(Protocol):
    """Runs every redeemer of a transaction; `milestoned.devnet.plutus` adapts the contracts' evaluator."""

    def __call__(self, tx: DecodedTransaction, utxos: UtxoSet) -> list[ScriptRun]: ...


@dataclass(frozen=True)
class LedgerView:
    """What a transaction is validated against."""

    utxo: UtxoSet
    slot: int
    params: ProtocolParameters
    evaluator: PlutusEvaluator | None
    failing_scripts: Literal["collateral", "reject"] = "reject"
    known_runs: Mapping[bytes, tuple[ScriptRun, ...]] = field(default_factory=dict)
    """Script results of transactions already evaluated, by id. A transaction's scripts see only the
    transaction and the outputs its inputs name, and an output reference always names the same output,
    so re-validating a mempool transaction for a block need not run its scripts again."""
    mainnet: bool = False
    """The network id outputs must carry: 1 on a devnet with the mainnet profile, else 0."""
    accounts: Mapping[Credential, Account] = field(default_factory=dict)
    """Registered stake credentials (reward accounts)."""
    pools: Mapping[bytes, StakePool] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidatedTransaction:
    """A transaction the ledger accepted, and what it does to the UTxO set."""

    decoded: DecodedTransaction
    spends: Spends
    consumed: tuple[TransactionInput, ...]
    produced: tuple[tuple[TransactionInput, TransactionOutput], ...]
    script_runs: tuple[ScriptRun, ...]
    account_changes: tuple[tuple[Credential, Account | None], ...] = ()
    """Reward accounts the transaction changed: each credential's account after it (None: closed)."""

    @property
    def id(self) -> bytes:
        return self.decoded.id


@dataclass(frozen=True)
class Redeemer:
    tag: RedeemerTag
    index: int
    data: Any
    budget: ExUnits


def redeemers_of(decoded: DecodedTransaction) -> list[Redeemer]:
    """The transaction's redeemers, whichever of the two Conway encodings (list or map) it used."""
    raw = decoded.tx.transaction_witness_set.redeemer
    if not raw:
        return []
    if isinstance(raw, list):
        return [Redeemer(r.tag, r.index, r.data, ExUnits(r.ex_units.mem, r.ex_units.steps)) for r in raw]
    return [
        Redeemer(key.tag, key.index, item.data, ExUnits(item.ex_units.mem, item.ex_units.steps))
        for key, item in raw.items()
    ]


def witness_scripts(decoded: DecodedTransaction) -> list[AnyScript]:
    witnesses = decoded.tx.transaction_witness_set
    found: list[AnyScript] = []
    for group in (
        witnesses.native_scripts,
        witnesses.plutus_v1_script,
        witnesses.plutus_v2_script,
        witnesses.plutus_v3_script,
    ):
        found.extend(group or [])
    return found


def sorted_inputs(inputs: Iterable[TransactionInput]) -> list[TransactionInput]:
    """Inputs in the ledger's set order, which redeemer indices point into."""
    return list(canonical_set(inputs))


def mint_policies(decoded: DecodedTransaction) -> list[bytes]:
    return sorted({bytes(policy.payload) for policy in (decoded.tx.transaction_body.mint or {})})


def _reference_scripts(view: LedgerView, refs: Iterable[TransactionInput]) -> dict[bytes, AnyScript]:
    scripts: dict[bytes, AnyScript] = {}
    for txin in refs:
        output = view.utxo.get(txin)
        if output is not None and output.script is not None:
            scripts[script_hash_of(output.script)] = output.script
    return scripts


def _payment_key_hash(output: TransactionOutput) -> bytes | None:
    part = output.address.payment_part
    if part is None or isinstance(part, ScriptHash):
        return None
    return bytes(part.payload)


def validate_transaction(view: LedgerView, decoded: DecodedTransaction) -> ValidatedTransaction | LedgerError:
    """Apply the Conway rules to `decoded`; the first rule it breaks is reported."""
    params = view.params
    tx = decoded.tx
    body = tx.transaction_body
    # One canonical, sorted set each: the UTxO changes, the balance and the redeemer pointers all read
    # these (the decoder already refused a transaction that repeats an element).
    inputs = list(decoded.inputs)
    collaterals = list(decoded.collaterals)
    references = list(decoded.reference_inputs)

    unsupported = unsupported_content(body)
    if unsupported:
        return err(
            3997,
            f"The devnet does not support {', '.join(unsupported)}; remove them from the transaction.",
            {"error": f"unsupported transaction content: {', '.join(unsupported)}"},
        )
    if not inputs:
        return err(3121, "The transaction has no input; it needs at least one to be unique.")

    unknown = [t for t in dict.fromkeys(inputs + collaterals + references) if t not in view.utxo]
    if unknown:
        return err(
            3117,
            "Unknown output references: the inputs do not exist or are already spent.",
            {"unknownOutputReferences": refs_json(unknown)},
        )
    conflicting = [t for t in references if t in set(inputs)]
    if conflicting:
        return err(
            3164,
            "Some inputs are also reference inputs; an output is either spent or referenced.",
            {"conflictingReferences": refs_json(conflicting)},
        )

    lower, upper = body.validity_start, body.ttl
    if (lower is not None and view.slot < lower) or (upper is not None and view.slot >= upper):
        interval: dict[str, int] = {}
        if lower is not None:
            interval["invalidBefore"] = lower
        if upper is not None:
            interval["invalidAfter"] = upper
        return err(
            3118,
            f"The transaction is outside its validity interval at slot {view.slot}.",
            {"validityInterval": interval, "currentSlot": view.slot},
        )

    outputs = list(body.outputs)
    all_outputs = decoded.all_outputs
    network, name = (Network.MAINNET, "mainnet") if view.mainnet else (Network.TESTNET, "testnet")
    other = "testnet" if view.mainnet else "mainnet"
    wrong_network = [str(o.address) for o in all_outputs if o.address.network != network]
    if wrong_network:
        return err(
            3124,
            f"Some outputs pay to {other} addresses; "
            f"this devnet is a {name} network (network id {network.value}).",
            {"expectedNetwork": name, "discriminatedType": "address", "invalidEntities": wrong_network},
        )
    if body.network_id is not None and body.network_id != network:
        return err(
            3124,
            f"The transaction's network id is {other}'s; this devnet is a {name} network.",
            {"expectedNetwork": name, "discriminatedType": "transaction"},
        )

    staking = apply_staking(view.accounts, view.pools, params, body, view.mainnet)
    if isinstance(staking, StakingError):
        return err(staking.code, staking.message, staking.data)

    if decoded.size > params.max_transaction_size:
        return err(
            3119,
            f"The transaction is {decoded.size} bytes; the maximum is {params.max_transaction_size}.",
            {
                "measuredTransactionSize": {"bytes": decoded.size},
                "maximumTransactionSize": {"bytes": params.max_transaction_size},
            },
        )

    redeemers = redeemers_of(decoded)
    budget = ExUnits(0, 0)
    for redeemer in redeemers:
        budget = budget + redeemer.budget
    if not budget.fits_in(params.max_execution_units_per_transaction):
        return err(
            3134,
            "The transaction's execution units exceed the per-transaction maximum.",
            {
                "providedExecutionUnits": encode.execution_units(budget),
                "maximumExecutionUnits": encode.execution_units(params.max_execution_units_per_transaction),
            },
        )

    reference_scripts_size = sum(
        len(_script_bytes(view.utxo[t].script))
        for t in inputs + references
        if view.utxo[t].script is not None
    )
    if reference_scripts_size > params.max_reference_scripts_size:
        return err(
            3166,
            "The reference scripts of the transaction are too large in total.",
            {
                "measuredReferenceScriptsSize": {"bytes": reference_scripts_size},
                "maximumReferenceScriptsSize": {"bytes": params.max_reference_scripts_size},
            },
        )
    minimum_fee = params.minimum_fee(decoded.size, budget, reference_scripts_size)
    if body.fee < minimum_fee:
        return err(
            3122,
            f"The fee {body.fee} is below the minimum {minimum_fee} for this transaction.",
            {"minimumRequiredFee": encode.ada(minimum_fee), "providedFee": encode.ada(body.fee)},
        )

    underfunded = []
    for output, (size, _) in zip(all_outputs, decoded.output_sizes, strict=True):
        required = params.minimum_lovelace(size)
        if _coin(output) < required:
            underfunded.append(
                {"output": encode.transaction_output(output), "minimumRequiredValue": encode.ada(required)}
            )
    if underfunded:
        return err(
            3125,
            "Some outputs hold less ada than the minimum for their size.",
            {"insufficientlyFundedOutputs": underfunded},
        )
    too_large = [
        encode.transaction_output(o)
        for o, (_, value_size) in zip(all_outputs, decoded.output_sizes, strict=True)
        if value_size > params.max_value_size
    ]
    if too_large:
        return err(
            3120,
            f"Some output values are larger than {params.max_value_size} bytes once serialized.",
            {"excessivelyLargeOutputs": too_large},
        )

    # Deposits are produced value, refunds and withdrawals consumed value (Conway's balance).
    consumed = total(bag_of(view.utxo[t].amount) for t in dict.fromkeys(inputs)) + Bag(
        staking.withdrawn + staking.refunds, multi_asset_entries(body.mint)
    )
    produced = total(bag_of(o.amount) for o in outputs) + Bag(body.fee + staking.deposits)
    if consumed != produced:
        return err(
            3123,
            "Value not conserved: inputs, withdrawals, refunds and minted assets must equal outputs, "
            "fee and deposits.",
            {"valueConsumed": consumed.to_ogmios(), "valueProduced": produced.to_ogmios()},
        )

    # Witnesses: signatures must verify; every key-locked input, collateral and required signer signs.
    vkey_witnesses = list(tx.transaction_witness_set.vkey_witnesses or [])
    invalid = []
    signers: set[bytes] = set()
    for witness in vkey_witnesses:
        key = bytes(witness.vkey.payload)
        try:
            VerifyKey(key).verify(decoded.id, bytes(witness.signature))
        except (BadSignatureError, ValueError):
            invalid.append(key.hex())
            continue
        signers.add(blake2b_224(key))
    if invalid:
        return err(
            3100,
            "Some signatures do not verify; sign the transaction body hash (the transaction id).",
            {"invalidSignatories": invalid},
        )
    needed_signers = {h for t in inputs + collaterals if (h := _payment_key_hash(view.utxo[t])) is not None}
    needed_signers |= {bytes(h.payload) for h in body.required_signers or []}
    needed_signers |= staking.key_hashes
    missing_signers = sorted(needed_signers - signers)
    if missing_signers:
        return err(
            3101,
            "Some signatures are missing (for key-locked inputs, collaterals or required signers).",
            {"missingSignatories": [h.hex() for h in missing_signers]},
        )

    # Scripts: every script-locked input and minting policy needs its script, no witness script is spare.
    ordered_inputs = sorted_inputs(inputs)
    policies = mint_policies(decoded)
    needed_scripts: dict[bytes, list[tuple[RedeemerTag, int]]] = {}
    for index, txin in enumerate(ordered_inputs):
        if (h := payment_script_hash(view.utxo[txin])) is not None:
            needed_scripts.setdefault(h, []).append((RedeemerTag.SPEND, index))
    for index, policy in enumerate(policies):
        needed_scripts.setdefault(policy, []).append((RedeemerTag.MINT, index))
    for script_hash, tag, index in staking.scripts():
        needed_scripts.setdefault(script_hash, []).append((tag, index))
    in_witnesses = {script_hash_of(s): s for s in witness_scripts(decoded)}
    available = {**_reference_scripts(view, inputs + references), **in_witnesses}
    missing_scripts = sorted(h for h in needed_scripts if h not in available)
    if missing_scripts:
        return err(
            3102,
            "Some scripts are missing: provide them in the witness set or as reference scripts.",
            {"missingScripts": [h.hex() for h in missing_scripts]},
        )
    extraneous_scripts = sorted(h for h in in_witnesses if h not in needed_scripts)
    if extraneous_scripts:
        return err(
            3104,
            "The witness set carries scripts the transaction does not need.",
            {"extraneousScripts": [h.hex() for h in extraneous_scripts]},
        )
    failing_native = sorted(
        h
        for h in needed_scripts
        if not is_plutus(available[h]) and not native_script_holds(available[h], signers, lower, upper)
    )
    if failing_native:
        return err(
            3103,
            "Some native scripts do not hold (signatures or validity interval).",
            {"failingNativeScripts": [h.hex() for h in failing_native]},
        )

    metadata_error = check_metadata(decoded)
    if metadata_error is not None:
        return metadata_error

    # Redeemers: one per Plutus purpose, none spare.
    plutus_purposes = {
        purpose for h, purposes in needed_scripts.items() if is_plutus(available[h]) for purpose in purposes
    }
    given = {(r.tag, r.index) for r in redeemers}
    missing_redeemers = sorted(plutus_purposes - given, key=lambda p: (p[0].value, p[1]))
    if missing_redeemers:
        return err(
            3109,
            "Some Plutus scripts have no redeemer.",
            {
                "missingRedeemers": [
                    _script_purpose(tag, i, ordered_inputs, policies, decoded, view.mainnet)
                    for tag, i in missing_redeemers
                ]
            },
        )
    extraneous_redeemers = sorted(given - plutus_purposes, key=lambda p: (p[0].value, p[1]))
    if extraneous_redeemers:
        return err(
            3110,
            "Some redeemers point at nothing that runs a Plutus script.",
            {"extraneousRedeemers": [encode.redeemer_pointer(tag, i) for tag, i in extraneous_redeemers]},
        )

    datum_error = check_datums(view.utxo, decoded, ordered_inputs, references, available)
    if datum_error is not None:
        return datum_error

    languages = {plutus_language(available[h]) for h in needed_scripts if is_plutus(available[h])}
    computed = script_integrity_hash(params, decoded, languages)
    provided = bytes(body.script_data_hash.payload) if body.script_data_hash is not None else None
    if computed != provided:
        return err(
            3113,
            "The script integrity hash does not match the redeemers, datums and cost models.",
            {
                "providedScriptIntegrity": provided.hex() if provided else None,
                "computedScriptIntegrity": computed.hex() if computed else None,
            },
        )

    if plutus_purposes:
        collateral_error = check_collateral(view.utxo, params, decoded, collaterals)
        if collateral_error is not None:
            return collateral_error

    runs: list[ScriptRun] = []
    if plutus_purposes:
        if view.evaluator is None:
            return err(
                3997,
                "The devnet has no Plutus evaluator (milestoned.contracts.evaluation is missing).",
                {"error": "Plutus evaluation unavailable"},
            )
        context = {t: view.utxo[t] for t in dict.fromkeys(inputs + references + collaterals)}
        if decoded.id in view.known_runs:
            runs = list(view.known_runs[decoded.id])
        else:
            try:
                runs = view.evaluator(decoded, context)
            except EvaluationContextError as exc:
                return err(3997, f"The scripts cannot be evaluated: {exc}", {"error": str(exc)})
        declared = {(r.tag, r.index): r.budget for r in redeemers}
        scripts_pass = all(
            run.ok and run.budget.fits_in(declared.get((run.tag, run.index), ExUnits(0, 0))) for run in runs
        )
    else:
        scripts_pass = True

    if scripts_pass and not decoded.is_valid:
        return err(
            3136,
            "The transaction is marked invalid (spending its collaterals) but its scripts all pass.",
            {"declaredSpending": "collaterals", "mismatchReason": "every script validates"},
        )
    if not scripts_pass and decoded.is_valid and view.failing_scripts == "reject":
        # as a node's PlutusFailure does, the reason carries the script's trace messages
        failures = "; ".join(
            f"{encode.PURPOSES[r.tag]}:{r.index}: {r.error}"
            + (f" (traces: {' | '.join(r.logs)})" if r.logs else "")
            for r in runs
            if not r.ok
        )
        return err(
            3136,
            "The transaction is marked valid but some of its scripts fail.",
            {"declaredSpending": "inputs", "mismatchReason": failures or "execution budget exceeded"},
        )

    validated = restore_effects(decoded, "inputs" if scripts_pass else "collaterals", tuple(runs))
    if scripts_pass and (body.certificates or body.withdraws):
        return replace(validated, account_changes=account_changes(view.accounts, staking.accounts))
    return validated


def account_changes(
    before: Mapping[Credential, Account], after: Mapping[Credential, Account]
) -> tuple[tuple[Credential, Account | None], ...]:
    """The reward accounts that differ between two states, with their account after (None: closed)."""
    changed = [c for c in after if before.get(c) != after[c]] + [c for c in before if c not in after]
    return tuple((c, after.get(c)) for c in sorted(changed, key=lambda c: (not c[0], c[1])))


def restore_effects(
    decoded: DecodedTransaction, spends: Spends, runs: tuple[ScriptRun, ...]
) -> ValidatedTransaction:
    """What an accepted transaction does to the UTxO set, given which side it spends.

    Valid: it consumes its inputs and creates its outputs. Failed scripts: it consumes its collaterals
    and creates only its collateral return, numbered after the outputs. Also used to reload a chain
    from a state directory, where the transactions were validated when first accepted.
    """
    body = decoded.tx.transaction_body
    tx_id = TransactionId(bytes(decoded.id))  # built directly: from_primitive type-checks each (slow)
    outputs = list(body.outputs)
    if spends == "inputs":
        produced_outputs = tuple(
            (TransactionInput(tx_id, index), output) for index, output in enumerate(outputs)
        )
        return ValidatedTransaction(decoded, "inputs", decoded.inputs, produced_outputs, runs)
    collateral_return = (
        ((TransactionInput(tx_id, len(outputs)), body.collateral_return),)
        if body.collateral_return is not None
        else ()
    )
    return ValidatedTransaction(decoded, "collaterals", decoded.collaterals, collateral_return, runs)


def _coin(output: TransactionOutput) -> int:
    return output.amount if isinstance(output.amount, int) else output.amount.coin


def _script_bytes(script: AnyScript) -> bytes:
    if isinstance(script, NativeScript):
        return bytes(script.to_cbor())
    return bytes(script)


def _script_purpose(
    tag: RedeemerTag,
    index: int,
    ordered_inputs: Sequence[TransactionInput],
    policies: Sequence[bytes],
    decoded: DecodedTransaction,
    mainnet: bool,
) -> dict[str, Any]:
    """Ogmios's `ScriptPurpose` of a redeemer pointer (for 3109, missing redeemers)."""
    body = decoded.tx.transaction_body
    if tag == RedeemerTag.SPEND:
        return {"purpose": "spend", "outputReference": encode.output_reference(ordered_inputs[index])}
    if tag == RedeemerTag.CERTIFICATE:
        return {"purpose": "publish", "certificate": encode.certificate(body.certificates[index])[0]}
    if tag == RedeemerTag.WITHDRAWAL:
        raw = sorted_withdrawals(body.withdraws)[index][0]
        return {
            "purpose": "withdraw",
            "rewardAccount": reward_address(reward_account_credential(raw)[0], mainnet),
        }
    return {"purpose": "mint", "policy": policies[index].hex()}
