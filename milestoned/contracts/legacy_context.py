"""The Plutus V1 and V2 script contexts, as the Conway ledger translates a transaction for them.

WHY beside `script_context` (V3): outputs locked at V1 or V2 script addresses exist on every network,
and a devnet that stands in for a node must spend them as a node does. The shapes differ from V3
(`PlutusLedgerApi.V1/V2.Contexts`, translated by cardano-ledger's `Conway/TxInfo.hs`):

- `ScriptContext = Constr 0 [TxInfo, ScriptPurpose]`; a spending script takes (datum, redeemer,
  context), the others (redeemer, context); a script succeeds when it does not fail, whatever it
  returns;
- V1 `TxInfo` has 10 fields: inputs, outputs, fee, mint, certificates, withdrawals as a list of pairs,
  validity range, signatories, datums as a list of pairs, tx id. V2 has 12: reference inputs after the
  inputs, and the redeemers map before the datums; withdrawals and datums are maps;
- fee and mint are `Value`s: the fee an ADA-only value, the mint with a zero ADA entry first;
- `TxId` and so `TxOutRef` wrap the id in `Constr 0`; withdrawals and purposes key by
  `StakingCredential` (`StakingHash credential`);
- V1 outputs have `Maybe DatumHash` only: an inline datum anywhere (inputs, reference inputs, outputs)
  cannot be translated (`InlineDatumsNotSupported`). In Conway, reference inputs and reference scripts
  no longer stop a V1 script (Babbage refused them);
- certificates translate to the old `DCert` only for stake registration, deregistration, delegation
  to a pool, and pool registration/retirement (`CertificateNotSupported` for the rest); votes,
  proposals, treasury donations and declarations cannot be shown to V1/V2 either.

Translation problems raise `ScriptContextError` with the ledger's name for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pycardano import (
    Address,
    RedeemerTag,
    Transaction,
    TransactionInput,
    TransactionOutput,
)
from pycardano import certificate as cert
from uplc.ast import PlutusConstr, PlutusData

from milestoned.contracts.script_context import (
    ScriptContextError,
    ScriptInvocation,
    SlotConfig,
    address_data,
    byte_string,
    constr,
    credential_data,
    data_list,
    data_map,
    integer,
    just,
    multi_asset_pairs,
    nothing,
    resolve,
    reward_credential_data,
    sorted_inputs,
    sorted_withdrawals,
    tx_out_data,
    validity_range_data,
    value_data,
    witness_datums,
)

LEGACY = ("plutus:v1", "plutus:v2")


def tx_id_data(tx_id: bytes) -> PlutusConstr:
    return constr(0, byte_string(tx_id))


def tx_out_ref_data(tx_input: TransactionInput) -> PlutusConstr:
    return constr(0, tx_id_data(tx_input.transaction_id.payload), integer(tx_input.index))


def staking_hash(credential: PlutusData) -> PlutusConstr:
    return constr(0, credential)


def tx_out_v1(output: TransactionOutput, source: str) -> PlutusConstr:
    """V1 `TxOut = Constr 0 [Address, Value, Maybe DatumHash]`."""
    if output.datum is not None:
        raise ScriptContextError(
            f"InlineDatumsNotSupported ({source}): a Plutus V1 script cannot see an inline datum; "
            "use a datum hash, or a V2/V3 script"
        )
    if not isinstance(output.address, Address):
        raise ScriptContextError(
            f"ByronTxOutInContext ({source}): a Byron address cannot be shown to a script"
        )
    datum_hash = just(byte_string(output.datum_hash.payload)) if output.datum_hash is not None else nothing()
    return constr(
        0, address_data(output.address), value_data(output.amount.coin, output.amount.multi_asset), datum_hash
    )


def tx_out_v2(output: TransactionOutput, source: str) -> PlutusConstr:
    """V2 `TxOut` has the V3 shape (address, value, OutputDatum, Maybe ScriptHash)."""
    if not isinstance(output.address, Address):
        raise ScriptContextError(
            f"ByronTxOutInContext ({source}): a Byron address cannot be shown to a script"
        )
    return tx_out_data(output)


def dcert_data(certificate: Any) -> PlutusConstr:
    """A certificate as the V1/V2 `DCert`, as Conway's `transTxCertV1V2` translates it."""
    c = certificate
    if isinstance(c, cert.StakeRegistration | cert.StakeRegistrationConway):
        return constr(0, staking_hash(credential_data(c.stake_credential.credential)))
    if isinstance(c, cert.StakeDeregistration | cert.StakeDeregistrationConway):
        return constr(1, staking_hash(credential_data(c.stake_credential.credential)))
    if isinstance(c, cert.StakeDelegation):
        credential = staking_hash(credential_data(c.stake_credential.credential))
        return constr(2, credential, byte_string(c.pool_keyhash.payload))
    if isinstance(c, cert.PoolRegistration):
        params = c.pool_params
        return constr(3, byte_string(params.operator.payload), byte_string(params.vrf_keyhash.payload))
    if isinstance(c, cert.PoolRetirement):
        return constr(4, byte_string(c.pool_keyhash.payload), integer(c.epoch))
    raise ScriptContextError(
        f"CertificateNotSupported: a {type(c).__name__} certificate cannot be shown to a Plutus V1/V2 "
        "script; witness it with a V3 script"
    )


def legacy_purpose(tx: Transaction, invocation: ScriptInvocation) -> PlutusConstr:
    """The V1/V2 `ScriptPurpose` of a redeemer, from its V3 purpose."""
    tag, fields = invocation.tag, invocation.purpose.fields
    if tag == RedeemerTag.SPEND:
        out_ref = fields[0]
        return constr(1, constr(0, tx_id_data(out_ref.fields[0].value), out_ref.fields[1]))
    if tag == RedeemerTag.MINT:
        return constr(0, fields[0])
    if tag == RedeemerTag.WITHDRAWAL:
        return constr(2, staking_hash(fields[0]))
    if tag == RedeemerTag.CERTIFICATE:
        return constr(3, dcert_data(list(tx.transaction_body.certificates or [])[invocation.index]))
    raise ScriptContextError(
        f"PlutusPurposeNotSupported: {tag.name} cannot be shown to a Plutus V1/V2 script"
    )


def _guard_conway_features(tx: Transaction) -> None:
    body = tx.transaction_body
    for present, name in (
        (body.voting_procedures, "VotingProceduresFieldNotSupported"),
        (body.proposal_procedures, "ProposalProceduresFieldNotSupported"),
        (body.donation, "TreasuryDonationFieldNotSupported"),
        (body.current_treasury_value is not None, "CurrentTreasuryFieldNotSupported"),
    ):
        if present:
            raise ScriptContextError(f"{name}: Plutus V1/V2 scripts cannot see Conway governance fields")


def build_legacy_tx_info(
    language: str,
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    invocations: Sequence[ScriptInvocation],
    *,
    tx_id: bytes | None = None,
) -> PlutusConstr:
    """The V1 (`plutus:v1`) or V2 (`plutus:v2`) `TxInfo` of `tx`."""
    if language not in LEGACY:
        raise ValueError(f"{language} is not Plutus V1 or V2")
    v1 = language == "plutus:v1"
    _guard_conway_features(tx)
    body = tx.transaction_body
    out = tx_out_v1 if v1 else tx_out_v2

    def in_info(tx_input: TransactionInput, kind: str) -> PlutusConstr:
        source = f"{kind} {tx_input.transaction_id.payload.hex()}#{tx_input.index}"
        return constr(0, tx_out_ref_data(tx_input), out(resolve(tx_input, utxos), source))

    inputs = data_list(in_info(i, "input") for i in sorted_inputs(body.inputs))
    references = [in_info(i, "reference input") for i in sorted_inputs(body.reference_inputs)]
    outputs = data_list(out(o, f"output {n}") for n, o in enumerate(body.outputs))
    fee = value_data(body.fee, None)
    mint = data_map(
        [(byte_string(b""), data_map([(byte_string(b""), integer(0))])), *multi_asset_pairs(body.mint)]
    )
    certificates = data_list(dcert_data(c) for c in body.certificates or [])
    withdrawal_pairs = [
        (staking_hash(reward_credential_data(address)), integer(amount))
        for address, amount in sorted_withdrawals(body.withdraws)
    ]
    signatories = data_list(
        byte_string(h) for h in sorted(bytes(s.payload) for s in body.required_signers or [])
    )
    datum_pairs = [(byte_string(h), d) for h, d in sorted(witness_datums(tx).items())]
    identifier = tx_id_data(body.id.payload if tx_id is None else tx_id)
    validity = validity_range_data(tx, slot_config)
    if v1:
        return constr(
            0,
            inputs,
            outputs,
            fee,
            mint,
            certificates,
            data_list(constr(0, k, v) for k, v in withdrawal_pairs),
            validity,
            signatories,
            data_list(constr(0, k, v) for k, v in datum_pairs),
            identifier,
        )
    redeemers = data_map((legacy_purpose(tx, i), i.redeemer) for i in invocations)
    return constr(
        0,
        inputs,
        data_list(references),
        outputs,
        fee,
        mint,
        certificates,
        data_map(withdrawal_pairs),
        validity,
        signatories,
        redeemers,
        data_map(datum_pairs),
        identifier,
    )


def legacy_arguments(
    tx: Transaction, tx_info: PlutusConstr, invocation: ScriptInvocation
) -> tuple[PlutusData, ...]:
    """What a V1/V2 script is applied to: (datum, redeemer, context) to spend, else (redeemer, context)."""
    context = constr(0, tx_info, legacy_purpose(tx, invocation))
    if invocation.tag != RedeemerTag.SPEND:
        return (invocation.redeemer, context)
    datum = invocation.script_info.fields[1]
    if not isinstance(datum, PlutusConstr) or datum.constructor != 0:
        raise ScriptContextError(
            f"redeemer SPEND #{invocation.index}: the spent output has no datum (or its datum is not in "
            "the witness set); Plutus V1/V2 scripts need one"
        )
    return (datum.fields[0], invocation.redeemer, context)
