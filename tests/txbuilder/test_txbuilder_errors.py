"""Money, collateral, races and expiry: each failure's message gives the amounts or the reason and what to do;
keys and text envelopes for signing elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycardano import PaymentSigningKey, TransactionBuilder, TransactionOutput
from txbuilder_support import (
    ADMIN,
    ADMIN_ADDRESS,
    EXAMPLES,
    OPERATOR,
    OPERATOR_ADDRESS,
    World,
    enterprise,
    large_schedule,
    oracle_signature,
    relative_schedule,
    world,
)

from milestoned.domain.attestation import OracleSignature
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import (
    InputsAlreadySpent,
    InsufficientFunds,
    NoCollateral,
    Refusal,
    SigningError,
    ValidityIntervalPassed,
)
from milestoned.txbuilder.registration import RegistrationPlan, build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import (
    assemble_witnesses,
    load_signing_key,
    sign,
    signed_envelope,
    transaction_from_envelope,
    unsigned_envelope,
    witness_envelope,
)
from milestoned.txbuilder.submission import is_confirmed, submit, submit_all

M1 = "M1-testnet-launch"


async def _vested(
    w: World,
) -> tuple[ScheduleDefinition, RegistrationPlan, dict[bytes, list[OracleSignature]]]:
    definition = relative_schedule(w.devnet, w.now_ms)
    plan = await w.register(definition)
    latest = max(a.vesting_time_ms for a in definition.allocations if a.milestone_id == M1.encode())
    w.advance_ms(latest - w.now_ms + 1_000)
    signatures = {
        M1.encode(): [oracle_signature(1, plan.schedule_id, M1), oracle_signature(3, plan.schedule_id, M1)]
    }
    return definition, plan, signatures


async def test_money_and_collateral_errors_say_how_much() -> None:
    async with world() as w:
        definition, _, signatures = await _vested(w)
        poor = PaymentSigningKey.generate()
        with pytest.raises(InsufficientFunds) as nothing:
            await build_release(w.chain, definition, signatures, enterprise(poor))
        assert "has 0 lovelace" in str(nothing.value) and "send at least" in str(nothing.value)
        # plenty of ADA in total, but only in small UTxOs: none can serve as collateral
        for _ in range(3):
            w.devnet.fund(enterprise(poor), 1_500_000)
        with pytest.raises(NoCollateral) as no_collateral:
            await build_release(w.chain, definition, signatures, enterprise(poor))
        message = str(no_collateral.value)
        assert "no collateral" in message and "1,500,000" in message and "150%" in message
        # a registration whose admin lacks the tokens
        short = relative_schedule(w.devnet, w.now_ms, nonce="11" * 16)
        with pytest.raises(InsufficientFunds) as tokens:
            await build_registration(w.chain, short, OPERATOR_ADDRESS)
        assert f"needs {short.total_amount}" in str(tokens.value)


async def test_spent_input_and_expired_interval_are_explained() -> None:
    async with world() as w:
        definition, _, signatures = await _vested(w)
        first = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS)
        racing = await build_release(w.chain, definition, signatures, ADMIN_ADDRESS)
        await submit(w.chain, sign(first.txs[0], [OPERATOR]))
        with pytest.raises(InputsAlreadySpent) as spent:
            await submit(w.chain, sign(racing.txs[0], [ADMIN]))
        assert spent.value.code == 3117
        assert "no longer exist" in str(spent.value) and "rebuild it" in str(spent.value)
        assert first.txs[0].details["allocations"][0] in str(spent.value)
        w.settle()

    async with world() as w:
        definition, _, signatures = await _vested(w)
        late = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS, validity_ms=2_000)
        # a witness made elsewhere (cardano-cli `transaction witness`, a hardware wallet) assembles
        witness = witness_envelope(late.txs[0], OPERATOR)
        assert witness["type"] == "TxWitness ConwayEra"
        witnessed = assemble_witnesses(late.txs[0], [json.dumps(witness)])
        with pytest.raises(SigningError, match="still lacks signatures"):
            assemble_witnesses(late.txs[0], [witness_envelope(late.txs[0], ADMIN)])
        w.advance_ms(5_000)
        with pytest.raises(ValidityIntervalPassed) as expired:
            await submit(w.chain, witnessed)
        assert expired.value.code == 3118
        assert "outside its validity interval" in str(expired.value) and "rebuild it" in str(expired.value)
        # nothing half-done: the allocations are still locked and a rebuilt release goes through
        again = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS)
        assert again.released == late.released
        with pytest.raises(SigningError, match="does not sign transaction"):
            assemble_witnesses(again.txs[0], [witness])
        await submit(w.chain, sign(again.txs[0], [OPERATOR]))
        w.settle()


async def test_export_unsigned_sign_elsewhere_and_submit(tmp_path: Path) -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await build_registration(w.chain, definition, ADMIN_ADDRESS)
        envelopes = [unsigned_envelope(t) for t in plan.txs]
        assert {e["type"] for e in envelopes} == {"Unwitnessed Tx ConwayEra"}
        with pytest.raises(SigningError, match="still unsigned"):
            transaction_from_envelope(envelopes[0])
        # "elsewhere": a file round trip and a signature by the admin's key file
        key_file = tmp_path / "admin.skey"
        key_file.write_text((EXAMPLES / "admin.skey").read_text())
        key_file.chmod(0o644)
        with pytest.raises(SigningError) as unsafe:
            load_signing_key(key_file)
        assert "chmod 600" in str(unsafe.value) and "0644" in str(unsafe.value)
        key_file.chmod(0o600)
        admin = load_signing_key(key_file)
        signed = []
        for built, envelope in zip(plan.txs, envelopes, strict=True):
            unsigned = transaction_from_envelope({**envelope, "type": "Tx ConwayEra"})
            with pytest.raises(SigningError, match="still lacks signatures"):
                transaction_from_envelope(signed_envelope(unsigned), expected=built)
            witnessed = sign(unsigned, [admin], required=built.signers)
            text = json.dumps(signed_envelope(witnessed, "signed by the admin"))
            signed.append(transaction_from_envelope(text, expected=built))
        with pytest.raises(SigningError, match="not the registration"):
            transaction_from_envelope(signed_envelope(signed[0]), expected=plan.txs[-1])
        with pytest.raises(SigningError, match="needs signatures from key hashes"):
            sign(plan.txs[-1], [OPERATOR])
        await submit_all(w.chain, signed)
        w.settle()
        assert w.token_balance(plan.validator_address, definition.token.policy_id) == definition.total_amount
        assert ADMIN  # the same key as the file's


async def test_protocol_parameters_are_cached_per_epoch() -> None:
    async with world() as w:
        chain = OgmiosChain(w.chain.client, w.chain.network)
        first = await chain.protocol_parameters()
        await chain.protocol_parameters()
        assert chain.parameter_queries == 1
        assert first.min_fee_coefficient == 44
        time = await chain.chain_time()
        assert time.slot_to_ms(time.tip_slot) == time.now_ms
        assert time.first_slot_at_or_after(time.now_ms + 1) == time.tip_slot + 1


async def test_an_interrupted_registration_is_refused_again_then_resumed() -> None:
    async with world() as w:
        definition = large_schedule(w.devnet, w.now_ms, 45)
        plan = await build_registration(w.chain, definition, ADMIN_ADDRESS)
        assert [t.kind for t in plan.txs] == ["deploy reference scripts", "registration", "registration"]
        # only the deploy and the first registration make it
        await w.submit_chain([sign(t, [ADMIN]) for t in plan.txs[:2]])
        done = len(plan.txs[1].details["allocations"])
        with pytest.raises(Refusal) as twice:
            await build_registration(w.chain, definition, ADMIN_ADDRESS)
        assert twice.value.rule == "not_registered"
        assert f"{done} of its 45 allocations are locked" in str(twice.value)
        assert "would lock them twice" in str(twice.value)
        rest = await build_registration(w.chain, definition, ADMIN_ADDRESS, resume=True)
        [tx] = rest.txs
        assert [a["index"] for a in tx.details["allocations"]] == list(range(done, 45))
        await w.submit_chain([sign(tx, [ADMIN])])
        locked = await locked_allocations(w.chain, rest.schedule_id, rest.validator_address)
        assert {a.allocation for a in locked} == set(definition.allocations) and len(locked) == 45
        with pytest.raises(Refusal, match="fully registered: all 45 allocations are locked"):
            await build_registration(w.chain, definition, ADMIN_ADDRESS, resume=True)


async def test_pycardano_builds_on_the_snapshot_context() -> None:
    """The snapshot is a real pycardano ChainContext: its TransactionBuilder selects, balances and signs."""
    async with world() as w:
        snapshot = await w.chain.snapshot([OPERATOR_ADDRESS])
        assert snapshot.genesis_param.network_magic == 42
        assert snapshot.epoch >= 1 and snapshot.last_block_slot == (await w.chain.chain_time()).tip_slot
        builder = TransactionBuilder(snapshot)
        builder.add_input_address(OPERATOR_ADDRESS)
        builder.add_output(TransactionOutput(ADMIN_ADDRESS, 7_000_000))
        tx = builder.build_and_sign([OPERATOR], change_address=OPERATOR_ADDRESS)
        await submit(w.chain, tx)
        w.settle()
        assert await is_confirmed(w.chain, tx)
        with pytest.raises(KeyError, match="was not part of this snapshot"):
            snapshot.utxos(ADMIN_ADDRESS)
