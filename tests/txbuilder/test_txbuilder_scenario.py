"""The issue's scenario end to end on the devnet: register, commit signatures, release (refused, refused,
confirmed), batch release, reclaim before and after the deadline."""

from __future__ import annotations

import json
import time

import pytest
from pycardano import Address, ScriptHash
from txbuilder_support import (
    ADMIN,
    ADMIN_ADDRESS,
    OPERATOR,
    OPERATOR_ADDRESS,
    RECLAIM_OFFSET_MS,
    beneficiary_key,
    enterprise,
    oracle_signature,
    relative_schedule,
    world,
)

from milestoned.contracts.loader import schedule_id as derive_schedule_id
from milestoned.domain import onchain_types as ot
from milestoned.domain.registration_metadata import SCHEDULE_METADATA_LABEL, reassemble
from milestoned.domain.schedule_canonical import canonical_schedule_json
from milestoned.domain.timestamps import format_timestamp
from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.errors import InputsAlreadySpent, Refusal, SigningError
from milestoned.txbuilder.lifecycle import Lifecycle
from milestoned.txbuilder.reclaim import build_reclaim
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit, submit_all, wait_until_confirmed

M1, M2, M3 = "M1-testnet-launch", "M2-security-audit", "M3-mainnet-launch"


async def test_registration_dry_run_then_chain() -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await build_registration(w.chain, definition, ADMIN_ADDRESS)
        dry = json.loads(json.dumps(plan.to_json()))
        assert dry["schedule_id"] == derive_schedule_id(definition.to_parameters()).hex()
        assert dry["validator_address"].startswith("addr_test1w")
        kinds = [t["kind"] for t in dry["transactions"]]
        assert kinds == ["deploy reference scripts", "registration"]
        datums = [a["datum"] for t in dry["transactions"] for a in t.get("allocations", [])]
        assert [(d["beneficiary"], d["amount"], d["milestone_id"]) for d in datums] == [
            (a.beneficiary_address, a.token_amount, a.milestone_id.decode()) for a in definition.allocations
        ]
        assert all(t["fee_lovelace"] > 155_381 for t in dry["transactions"])
        assert dry["total_fee_lovelace"] == sum(t["fee_lovelace"] for t in dry["transactions"])
        # the metadata carries the canonical definition, in 64-byte strings
        parts = [
            t.tx.auxiliary_data.data[SCHEDULE_METADATA_LABEL] for t in plan.txs if t.kind == "registration"
        ]
        assert all(len(s.encode()) <= 64 for p in parts for s in p["json"])
        assert reassemble(parts) == canonical_schedule_json(definition)
        # nothing was submitted by the dry run; now sign and submit the chain at once
        assert not w.devnet.chain.mempool
        await submit_all(w.chain, [sign(t, [ADMIN]) for t in plan.txs])
        w.settle()
        await wait_until_confirmed(w.chain, plan.txs[-1].tx, timeout=5)
        locked = await locked_allocations(w.chain, plan.schedule_id, plan.validator_address)
        assert sorted((a.beneficiary, a.datum.amount) for a in locked) == sorted(
            (a.beneficiary_address, a.token_amount) for a in definition.allocations
        )
        # a second schedule finds the validator's reference script and deploys only its own policy
        second = relative_schedule(w.devnet, w.now_ms, nonce="00" * 16)
        again = await build_registration(w.chain, second, ADMIN_ADDRESS)
        assert len(again.txs[0].tx.transaction_body.outputs) == 2  # the policy's reference UTxO + change
        assert again.references.validator.input == plan.references.validator.input


async def test_release_refusals_then_single_and_batch_release() -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await w.register(definition)
        schedule_id = plan.schedule_id
        alice = definition.allocations[0]  # examples' beneficiary-1, M1
        alice_address = Address.from_primitive(alice.beneficiary_address)
        w.devnet.fund(enterprise(beneficiary_key(1)), 20_000_000)
        locked = await locked_allocations(w.chain, schedule_id, plan.validator_address)
        alice_utxo = next(
            a
            for a in locked
            if a.beneficiary == alice.beneficiary_address and a.datum.milestone_id == alice.milestone_id
        )
        alice_ref = alice_utxo.reference
        both = {M1.encode(): [oracle_signature(1, schedule_id, M1), oracle_signature(2, schedule_id, M1)]}
        one = {M1.encode(): [oracle_signature(1, schedule_id, M1)]}

        # all of alice's allocations, before vesting: one refusal summing up, with the earliest time
        every = {
            m.encode(): [oracle_signature(1, schedule_id, m), oracle_signature(2, schedule_id, m)]
            for m in (M1, M2, M3)
        }
        with pytest.raises(Refusal) as nothing:
            await build_release(
                w.chain, definition, every, OPERATOR_ADDRESS, beneficiary=alice.beneficiary_address
            )
        assert nothing.value.rule == "vesting" and nothing.value.passes_at_ms == alice.vesting_time_ms
        assert f"nothing of beneficiary {alice.beneficiary_address} can be released now" in str(nothing.value)
        assert "(and 2 more allocation(s) refused)" in str(nothing.value)
        with pytest.raises(Refusal, match="has no locked allocation in schedule"):
            await build_release(
                w.chain, definition, every, OPERATOR_ADDRESS, beneficiary=str(OPERATOR_ADDRESS)
            )

        # before vesting: refused, saying when it will pass
        with pytest.raises(Refusal) as before:
            await build_release(
                w.chain, definition, both, enterprise(beneficiary_key(1)), allocations=[alice_ref]
            )
        assert before.value.rule == "vesting"
        assert before.value.passes_at_ms == alice.vesting_time_ms
        assert f"vests at {format_timestamp(alice.vesting_time_ms)}" in str(before.value)
        assert "chain time is" in str(before.value)

        w.advance_ms(alice.vesting_time_ms - w.now_ms + 3_000)  # the other M1 allocations vest too
        # after vesting, one signature: refused, saying how many are missing
        with pytest.raises(Refusal) as short:
            await build_release(
                w.chain, definition, one, enterprise(beneficiary_key(1)), allocations=[alice_ref]
            )
        assert short.value.rule == "milestone_quorum"
        assert "has 1 valid oracle signature(s) of the 2 required" in str(short.value)
        assert "1 more oracle(s) must sign" in str(short.value)
        assert short.value.passes_at_ms is None
        # a signature over another milestone does not count either
        wrong = {M1.encode(): [oracle_signature(1, schedule_id, M1), oracle_signature(2, schedule_id, M2)]}
        with pytest.raises(Refusal, match="1 signature\\(s\\) did not count"):
            await build_release(
                w.chain, definition, wrong, enterprise(beneficiary_key(1)), allocations=[alice_ref]
            )

        # two signatures: built, signed by the beneficiary, confirmed; the tokens are at her address.
        # Vesting passed by chain time only: the devnet's clock was advanced, the local clock was not.
        assert time.time() * 1000 < alice.vesting_time_ms
        release = await build_release(
            w.chain, definition, both, enterprise(beneficiary_key(1)), allocations=[alice_ref]
        )
        [tx] = release.txs
        assert tx.details["allocations"] == [alice_ref]
        await submit(w.chain, sign(tx, [beneficiary_key(1)]))
        w.settle()
        await wait_until_confirmed(w.chain, tx.tx, timeout=5)
        policy = definition.token.policy_id
        assert w.token_balance(alice_address, policy) == alice.token_amount
        payout = next(o for o in tx.tx.transaction_body.outputs if o.address == alice_address)
        assert payout.datum == ot.payout_datum(schedule_id) == schedule_id
        # the ADA locked with the allocation goes to her too (the policy requires at least that much)
        assert payout.amount.coin >= alice_utxo.lovelace

        # the same allocation again: refused, it is no longer locked
        with pytest.raises(Refusal) as again:
            await build_release(w.chain, definition, both, OPERATOR_ADDRESS, allocations=[alice_ref])
        assert again.value.rule == "allocation_locked"
        assert f"allocation {alice_ref} is not locked" in str(again.value)

        # M1 for bob, paid by the operator: while it is in flight it cannot be released again
        lifecycle = Lifecycle()
        bob_plan = await build_release(
            w.chain,
            definition,
            both,
            OPERATOR_ADDRESS,
            beneficiary=definition.allocations[1].beneficiary_address,
        )
        [bob_tx] = bob_plan.txs
        bob_signed = sign(bob_tx, [OPERATOR])
        await submit(w.chain, bob_signed)
        lifecycle = lifecycle.submit(bob_tx.id, "release", bob_tx.details["allocations"], bob_tx.validity[1])
        with pytest.raises(Refusal) as in_flight:
            await build_release(
                w.chain, definition, both, OPERATOR_ADDRESS,
                allocations=bob_tx.details["allocations"], in_flight=lifecycle.in_flight(),
            )  # fmt: skip
        assert in_flight.value.rule == "not_in_flight"
        assert bob_tx.id in str(in_flight.value)

        # carol's M1, paid by the operator while bob's release is not in a block yet: built from the
        # ledger tip alone it would spend the operator's UTxO again (3117); told what is pending, it
        # chains on the change of bob's release
        carol_ref = next(
            a.reference
            for a in locked
            if a.datum.milestone_id == M1.encode()
            and a.beneficiary == definition.allocations[2].beneficiary_address
        )
        stale = await build_release(w.chain, definition, both, OPERATOR_ADDRESS, allocations=[carol_ref])
        with pytest.raises(InputsAlreadySpent):
            await submit(w.chain, sign(stale.txs[0], [OPERATOR]))
        chained = await build_release(
            w.chain, definition, both, OPERATOR_ADDRESS, allocations=[carol_ref], pending=[bob_signed]
        )
        assert any(i.transaction_id == bob_signed.id for i in chained.txs[0].tx.transaction_body.inputs)
        await submit(w.chain, sign(chained.txs[0], [OPERATOR]))
        w.settle()
        assert w.token_balance(
            Address.from_primitive(definition.allocations[2].beneficiary_address), policy
        ) == (definition.allocations[2].token_amount)

        # batch: everything claimable once M1 and M2 vested and are signed; M3 is refused and listed
        signatures = {
            **both,
            M2.encode(): [oracle_signature(3, schedule_id, M2), oracle_signature(1, schedule_id, M2)],
        }
        latest_m2 = max(a.vesting_time_ms for a in definition.allocations if a.milestone_id == M2.encode())
        w.advance_ms(latest_m2 - w.now_ms + 1_000)
        batch = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS)
        assert len(batch.txs) == 1
        released = set(batch.released)
        expected = {
            a.reference
            for a in await locked_allocations(w.chain, schedule_id, plan.validator_address)
            if a.datum.milestone_id in (M1.encode(), M2.encode())
        }
        assert released == expected and len(released) == 3
        assert {r for r, e in batch.refused} == {
            a.reference
            for a in await locked_allocations(w.chain, schedule_id, plan.validator_address)
            if a.datum.milestone_id == M3.encode()
        }
        assert all(e.rule == "milestone_quorum" for _, e in batch.refused)
        before_balances = {
            a.beneficiary_address: w.token_balance(Address.from_primitive(a.beneficiary_address), policy)
            for a in definition.allocations
        }
        await submit(w.chain, sign(batch.txs[0], [OPERATOR]))
        w.settle()
        for address in before_balances:
            owed = sum(
                a.token_amount
                for a in definition.allocations
                if a.beneficiary_address == address and a.milestone_id == M2.encode()
            )
            assert w.token_balance(Address.from_primitive(address), policy) == before_balances[address] + owed


async def test_reclaim_before_and_after_the_deadline() -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await w.register(definition)
        policy = definition.token.policy_id
        balance = w.token_balance(ADMIN_ADDRESS, policy)
        with pytest.raises(Refusal) as early:
            await build_reclaim(w.chain, definition, ADMIN_ADDRESS)
        assert early.value.rule == "reclaim_deadline"
        assert early.value.passes_at_ms == definition.reclaim_deadline_ms
        assert f"the reclaim deadline is {format_timestamp(definition.reclaim_deadline_ms)}" in str(
            early.value
        )
        w.advance_ms(RECLAIM_OFFSET_MS)
        reclaim = await build_reclaim(w.chain, definition, ADMIN_ADDRESS)
        with pytest.raises(SigningError, match="needs signatures from key hashes"):
            sign(reclaim.txs[0], [OPERATOR])  # only the admin may reclaim
        assert [h.payload for h in reclaim.txs[0].signers] == [definition.admin_key_hash]
        await submit_all(w.chain, [sign(t, [ADMIN]) for t in reclaim.txs])
        w.settle()
        assert await locked_allocations(w.chain, plan.schedule_id, plan.validator_address) == []
        assert w.token_balance(ADMIN_ADDRESS, policy) == balance + definition.total_amount
        burned = [
            o
            for o in w.devnet.chain.utxo.values()
            if not isinstance(o.amount, int) and ScriptHash(plan.schedule_id) in o.amount.multi_asset
        ]
        assert burned == []
