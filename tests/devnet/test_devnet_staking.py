"""Stake certificates, reward accounts and withdrawals (issue 14, point 5).

Before, any certificate or withdrawal answered 3997. Now the devnet applies the Conway CERTS rules
(protocol 10): deposits and refunds in the balance, whole-balance withdrawals, a key credential's
withdrawal only after a DRep delegation, delegation to the devnet's one pool, and script credentials
whose Plutus V3 scripts run with purpose Rewarding ("withdraw zero") or Certifying. Every answer goes
through `OgmiosProbe`, so each error and query result is validated against the official schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devnet_support import (
    ALICE,
    ALWAYS_FAILS,
    FEE,
    OgmiosProbe,
    Wallet,
    commit,
    funds_of,
    integrity_hash,
    redeemer_map,
    schema,
    signed,
    uplc_script,
)
from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    PlutusData,
    PlutusV3Script,
    PoolKeyHash,
    RedeemerTag,
    StakeSigningKey,
    StakeVerificationKey,
    Transaction,
    TransactionBody,
    TransactionOutput,
    VerificationKeyWitness,
    Withdrawals,
    plutus_script_hash,
)
from pycardano import certificate as cert

from milestoned.devnet import encode
from milestoned.devnet.service import Devnet, run_devnet
from milestoned.devnet.staking import Account

DEPOSIT = 2_000_000
UNITS = ExecutionUnits(1_000_000, 500_000_000)
STAKE_KEY = StakeSigningKey.generate()
STAKE_VKEY = StakeVerificationKey.from_signing_key(STAKE_KEY)
KEY_CREDENTIAL = cert.StakeCredential(STAKE_VKEY.hash())
KEY = (False, bytes(STAKE_VKEY.hash().payload))


def script_info_is(tag: int) -> PlutusV3Script:
    """A V3 script that succeeds only when its ScriptInfo has constructor `tag` (2: Rewarding,
    3: Certifying): it checks that the context it is given is the one of its purpose."""
    return uplc_script(
        "(program 1.1.0 (lam ctx (force [(force (builtin ifThenElse)) "
        f"[(builtin equalsInteger) (con integer {tag}) "
        "[(force (force (builtin fstPair))) [(builtin unConstrData) "
        "[(force (builtin headList)) [(force (builtin tailList)) [(force (builtin tailList)) "
        "[(force (force (builtin sndPair))) [(builtin unConstrData) ctx]]]]]]]] "
        "(delay (con unit ())) (delay (error))])))"
    )


REWARDING = script_info_is(2)
CERTIFYING = script_info_is(3)


def script_credential(script: Any) -> cert.StakeCredential:
    return cert.StakeCredential(plutus_script_hash(script))


def reward_account(credential: cert.StakeCredential) -> bytes:
    return bytes(Address(staking_part=credential.credential, network=Network.TESTNET))


def body_for(
    devnet: Devnet,
    wallet: Wallet = ALICE,
    *,
    deposits: int = 0,
    received: int = 0,
    **fields: Any,
) -> TransactionBody:
    """A body paying `deposits` out of the wallet's funds (and taking `received`, from withdrawals
    and refunds, into its change)."""
    txin, funds = funds_of(devnet, wallet)
    change = funds.amount.coin - FEE - deposits + received
    return TransactionBody(
        inputs=[txin], outputs=[TransactionOutput(wallet.address, change)], fee=FEE, **fields
    )


def with_stake_key(body: TransactionBody, **witnesses: Any) -> Transaction:
    tx = signed(body, ALICE, **witnesses)
    stake_witness = VerificationKeyWitness(STAKE_VKEY, STAKE_KEY.sign(body.hash()))
    tx.transaction_witness_set.vkey_witnesses = [*tx.transaction_witness_set.vkey_witnesses, stake_witness]
    return tx


def with_script(
    body_fields: dict[str, Any], script: PlutusV3Script, tag: RedeemerTag, devnet: Devnet, **extra: Any
) -> Transaction:
    redeemers = redeemer_map((tag, 0, PlutusData(), UNITS))
    collateral = funds_of(devnet, ALICE)[0]
    body = body_for(
        devnet, collateral=[collateral], script_data_hash=integrity_hash(redeemers), **body_fields, **extra
    )
    return signed(body, ALICE, plutus_v3_script=[script], redeemer=redeemers)


async def submit(probe: OgmiosProbe, tx: Transaction) -> dict[str, Any]:
    return await probe.call("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})


async def accepted(probe: OgmiosProbe, devnet: Devnet, tx: Transaction) -> None:
    answer = await submit(probe, tx)
    assert "error" not in answer, answer["error"]
    devnet.produce_block()


async def refused(probe: OgmiosProbe, tx: Transaction) -> dict[str, Any]:
    answer = await submit(probe, tx)
    assert "error" in answer, "the transaction was accepted"
    return dict(answer["error"])


async def summaries(probe: OgmiosProbe, keys: list[str] = (), scripts: list[str] = ()) -> Any:  # type: ignore[assignment]
    return await probe.result(
        "queryLedgerState/rewardAccountSummaries", {"keys": list(keys), "scripts": list(scripts)}
    )


async def test_registration_pays_the_deposit_and_deregistration_refunds_it(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    before = funds_of(devnet, ALICE)[1].amount.coin
    legacy = cert.StakeRegistration(KEY_CREDENTIAL)
    # The deposit is produced value: a body that does not pay it is unbalanced.
    error = await refused(probe, signed(body_for(devnet, certificates=[legacy]), ALICE))
    assert error["code"] == 3123
    # The legacy registration needs no signature of the stake key.
    await accepted(probe, devnet, signed(body_for(devnet, deposits=DEPOSIT, certificates=[legacy]), ALICE))
    assert funds_of(devnet, ALICE)[1].amount.coin == before - FEE - DEPOSIT
    assert await summaries(probe, keys=[KEY[1].hex()]) == [
        {
            "credential": KEY[1].hex(),
            "from": "verificationKey",
            "rewards": {"ada": {"lovelace": 0}},
            "deposit": {"ada": {"lovelace": DEPOSIT}},
        }
    ]
    again = cert.StakeRegistrationConway(KEY_CREDENTIAL, DEPOSIT)
    error = await refused(probe, with_stake_key(body_for(devnet, deposits=DEPOSIT, certificates=[again])))
    assert error["code"] == 3145 and error["data"] == {
        "knownCredential": KEY[1].hex(),
        "from": "verificationKey",
    }

    # Conway's deregistration states the refund; it must be the deposit paid.
    wrong = cert.StakeDeregistrationConway(KEY_CREDENTIAL, DEPOSIT + 1)
    error = await refused(probe, with_stake_key(body_for(devnet, received=DEPOSIT + 1, certificates=[wrong])))
    assert error["code"] == 3151 and error["data"] == {"providedDeposit": {"ada": {"lovelace": DEPOSIT + 1}}}
    leave = cert.StakeDeregistrationConway(KEY_CREDENTIAL, DEPOSIT)
    error = await refused(probe, signed(body_for(devnet, received=DEPOSIT, certificates=[leave]), ALICE))
    assert error["code"] == 3101 and error["data"] == {"missingSignatories": [KEY[1].hex()]}
    await accepted(probe, devnet, with_stake_key(body_for(devnet, received=DEPOSIT, certificates=[leave])))
    assert funds_of(devnet, ALICE)[1].amount.coin == before - 2 * FEE
    assert await summaries(probe, keys=[KEY[1].hex()]) == []
    error = await refused(probe, with_stake_key(body_for(devnet, received=DEPOSIT, certificates=[leave])))
    assert error["code"] == 3146 and error["data"] == {
        "unknownCredential": KEY[1].hex(),
        "from": "verificationKey",
    }


async def test_conway_registration_checks_its_deposit_and_needs_the_key(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    wrong = cert.StakeRegistrationConway(KEY_CREDENTIAL, DEPOSIT - 1)
    error = await refused(probe, with_stake_key(body_for(devnet, deposits=DEPOSIT - 1, certificates=[wrong])))
    assert error["code"] == 3151 and error["data"] == {"providedDeposit": {"ada": {"lovelace": DEPOSIT - 1}}}
    right = cert.StakeRegistrationConway(KEY_CREDENTIAL, DEPOSIT)
    error = await refused(probe, signed(body_for(devnet, deposits=DEPOSIT, certificates=[right]), ALICE))
    assert error["code"] == 3101
    await accepted(probe, devnet, with_stake_key(body_for(devnet, deposits=DEPOSIT, certificates=[right])))
    assert devnet.chain.accounts[KEY] == Account(deposit=DEPOSIT)


async def test_delegation_to_the_devnet_pool_and_to_a_predefined_drep(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    pools = await probe.result("queryLedgerState/stakePools")
    assert len(pools) == 1
    ((pool_bech32, view),) = pools.items()
    pool = devnet.chain.pools[next(iter(devnet.chain.pools))]
    assert view["id"] == pool_bech32 == pool.bech32
    distribution = await probe.result("queryLedgerState/liveStakeDistribution")
    assert set(distribution) == {pool_bech32}

    delegate = cert.StakeDelegation(KEY_CREDENTIAL, PoolKeyHash(pool.id))
    error = await refused(probe, with_stake_key(body_for(devnet, certificates=[delegate])))
    assert error["code"] == 3146  # not registered yet
    unknown = cert.StakeDelegation(KEY_CREDENTIAL, PoolKeyHash(b"\x07" * 28))
    register = cert.StakeRegistration(KEY_CREDENTIAL)
    error = await refused(
        probe, with_stake_key(body_for(devnet, deposits=DEPOSIT, certificates=[register, unknown]))
    )
    assert error["code"] == 3140 and error["data"]["unknownStakePool"].startswith("pool1")

    abstain = cert.VoteDelegation(KEY_CREDENTIAL, cert.DRep(cert.DRepKind.ALWAYS_ABSTAIN))
    tx = with_stake_key(body_for(devnet, deposits=DEPOSIT, certificates=[register, delegate, abstain]))
    await accepted(probe, devnet, tx)
    [summary] = await summaries(
        probe, keys=[str(Address(staking_part=STAKE_VKEY.hash(), network=Network.TESTNET))]
    )
    assert summary["stakePool"] == {"id": pool_bech32}
    assert summary["delegateRepresentative"] == {"type": "abstain"}
    # The block shows the certificates as Ogmios does.
    block_tx = encode.transaction(devnet.chain.blocks[-1].transactions[0].decoded, "inputs")
    schema().validate_definition(block_tx, "cardano.json#/definitions/Transaction")
    assert [c["type"] for c in block_tx["certificates"]] == [
        "stakeCredentialRegistration",
        "stakeDelegation",
        "stakeDelegation",
    ]

    registered_drep = cert.VoteDelegation(
        KEY_CREDENTIAL, cert.DRep(cert.DRepKind.VERIFICATION_KEY_HASH, STAKE_VKEY.hash())
    )
    error = await refused(probe, with_stake_key(body_for(devnet, certificates=[registered_drep])))
    assert error["code"] == 3146  # no DRep is registered on the devnet


async def test_withdrawals_take_the_whole_balance_of_a_drep_delegated_account(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    account = reward_account(KEY_CREDENTIAL)
    error = await refused(probe, with_stake_key(body_for(devnet, withdraws=Withdrawals({account: 0}))))
    assert error["code"] == 3150  # a key credential not delegated to a DRep (protocol 10)
    register = cert.StakeRegistrationConway(KEY_CREDENTIAL, DEPOSIT)
    abstain = cert.VoteDelegation(KEY_CREDENTIAL, cert.DRep(cert.DRepKind.ALWAYS_NO_CONFIDENCE))
    await accepted(
        probe, devnet, with_stake_key(body_for(devnet, deposits=DEPOSIT, certificates=[register, abstain]))
    )
    stake_address = str(Address.from_primitive(account))
    credited = await probe.result(
        "devnet/creditRewards", {"rewardAccount": stake_address, "lovelace": 5_000_000}
    )
    assert credited == {"rewards": {"ada": {"lovelace": 5_000_000}}}

    for amount in (4_000_000, 6_000_000):
        error = await refused(
            probe, with_stake_key(body_for(devnet, received=amount, withdraws=Withdrawals({account: amount})))
        )
        assert error["code"] == 3141
        assert error["data"] == {
            "incompleteWithdrawals": {str(Address.from_primitive(account)): {"ada": {"lovelace": amount}}}
        }
    leave = cert.StakeDeregistration(KEY_CREDENTIAL)
    error = await refused(probe, with_stake_key(body_for(devnet, received=DEPOSIT, certificates=[leave])))
    assert error["code"] == 3147 and error["data"] == {
        "nonEmptyRewardAccountBalance": {"ada": {"lovelace": 5_000_000}}
    }
    error = await refused(
        probe,
        signed(body_for(devnet, received=5_000_000, withdraws=Withdrawals({account: 5_000_000})), ALICE),
    )
    assert error["code"] == 3101

    # Withdrawals apply before certificates: empty the account and close it in one transaction.
    before = funds_of(devnet, ALICE)[1].amount.coin
    tx = with_stake_key(
        body_for(
            devnet,
            received=5_000_000 + DEPOSIT,
            withdraws=Withdrawals({account: 5_000_000}),
            certificates=[leave],
        )
    )
    await accepted(probe, devnet, tx)
    assert funds_of(devnet, ALICE)[1].amount.coin == before - FEE + 5_000_000 + DEPOSIT
    assert KEY not in devnet.chain.accounts
    assert devnet.chain.blocks[-1].json.count(b'"withdrawals"') == 1


async def test_withdraw_zero_runs_a_v3_script_with_purpose_rewarding(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    credential = script_credential(REWARDING)
    account = reward_account(credential)
    # Registering a script credential the legacy way needs no witness, so no script runs.
    await accepted(
        probe,
        devnet,
        signed(body_for(devnet, deposits=DEPOSIT, certificates=[cert.StakeRegistration(credential)]), ALICE),
    )
    zero = {"withdraws": Withdrawals({account: 0})}
    error = await refused(probe, signed(body_for(devnet, **zero), ALICE))
    assert error["code"] == 3102 and error["data"] == {
        "missingScripts": [plutus_script_hash(REWARDING).payload.hex()]
    }

    tx = with_script(zero, REWARDING, RedeemerTag.WITHDRAWAL, devnet)
    evaluation = await probe.result("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert [e["validator"] for e in evaluation] == [{"purpose": "withdraw", "index": 0}]
    await accepted(probe, devnet, tx)
    [included] = devnet.chain.blocks[-1].transactions
    [run] = included.script_runs
    assert (run.tag, run.ok) == (RedeemerTag.WITHDRAWAL, True)
    block_tx = encode.transaction(included.decoded, "inputs")
    schema().validate_definition(block_tx, "cardano.json#/definitions/Transaction")
    assert block_tx["withdrawals"] == {str(Address.from_primitive(account)): {"ada": {"lovelace": 0}}}

    # The same script as a certificate's witness sees purpose Certifying and fails: the contexts differ.
    delegate = cert.VoteDelegation(credential, cert.DRep(cert.DRepKind.ALWAYS_ABSTAIN))
    error = await refused(
        probe, with_script({"certificates": [delegate]}, REWARDING, RedeemerTag.CERTIFICATE, devnet)
    )
    assert error["code"] == 3136

    failing = script_credential(ALWAYS_FAILS)
    await accepted(
        probe,
        devnet,
        signed(body_for(devnet, deposits=DEPOSIT, certificates=[cert.StakeRegistration(failing)]), ALICE),
    )
    error = await refused(
        probe,
        with_script(
            {"withdraws": Withdrawals({reward_account(failing): 0})},
            ALWAYS_FAILS,
            RedeemerTag.WITHDRAWAL,
            devnet,
        ),
    )
    assert error["code"] == 3136 and "boom" in error["data"]["mismatchReason"]


async def test_script_witnessed_certificates_run_with_purpose_certifying(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    credential = script_credential(CERTIFYING)
    register = cert.StakeRegistrationConway(credential, DEPOSIT)
    error = await refused(probe, signed(body_for(devnet, deposits=DEPOSIT, certificates=[register]), ALICE))
    assert error["code"] == 3102
    redeemers = redeemer_map((RedeemerTag.SPEND, 0, PlutusData(), UNITS))
    collateral = funds_of(devnet, ALICE)[0]
    body = body_for(
        devnet,
        deposits=DEPOSIT,
        certificates=[register],
        collateral=[collateral],
        script_data_hash=integrity_hash(redeemers),
    )
    error = await refused(probe, signed(body, ALICE, plutus_v3_script=[CERTIFYING], redeemer=redeemers))
    assert error["code"] == 3109
    assert error["data"]["missingRedeemers"] == [
        {
            "purpose": "publish",
            "certificate": {
                "type": "stakeCredentialRegistration",
                "credential": plutus_script_hash(CERTIFYING).payload.hex(),
                "from": "script",
                "deposit": {"ada": {"lovelace": DEPOSIT}},
            },
        }
    ]
    redeemers = redeemer_map((RedeemerTag.CERTIFICATE, 0, PlutusData(), UNITS))
    body = body_for(
        devnet,
        deposits=DEPOSIT,
        certificates=[register],
        collateral=[collateral],
        script_data_hash=integrity_hash(redeemers),
    )
    tx = signed(body, ALICE, plutus_v3_script=[CERTIFYING], redeemer=redeemers)
    await accepted(probe, devnet, tx)
    assert devnet.chain.accounts[(True, plutus_script_hash(CERTIFYING).payload)] == Account(deposit=DEPOSIT)
    [run] = devnet.chain.blocks[-1].transactions[0].script_runs
    assert (run.tag, run.ok) == (RedeemerTag.CERTIFICATE, True)


async def test_a_rollback_undoes_registrations(probe: OgmiosProbe, devnet: Devnet) -> None:
    register = cert.StakeRegistration(KEY_CREDENTIAL)
    await accepted(probe, devnet, signed(body_for(devnet, deposits=DEPOSIT, certificates=[register]), ALICE))
    assert KEY in devnet.chain.accounts
    devnet.chain.rollback(1, resubmit=False)
    assert KEY not in devnet.chain.accounts
    assert await summaries(probe, keys=[KEY[1].hex()]) == []


async def test_governance_and_pool_certificates_are_refused_by_name(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    drep = cert.RegDRepCert(cert.DRepCredential(STAKE_VKEY.hash()), 500_000_000)
    error = await refused(probe, with_stake_key(body_for(devnet, deposits=500_000_000, certificates=[drep])))
    assert error["code"] == 3997 and "DRep registration certificates" in error["message"]
    error = await refused(probe, signed(body_for(devnet, deposits=1, donation=1), ALICE))
    assert error["code"] == 3997 and "treasury donations" in error["message"]


async def test_a_restarted_devnet_keeps_its_reward_accounts(tmp_path: Path) -> None:
    """A state directory keeps blocks, not accounts: they are replayed from the certificates and
    withdrawals, a withdrawal of credited rewards included."""
    funds = {str(ALICE.address): 1_000_000_000_000}
    account = reward_account(KEY_CREDENTIAL)
    async with run_devnet(port=0, clock=False, funds=funds, state_dir=tmp_path) as devnet:
        register = cert.StakeRegistrationConway(KEY_CREDENTIAL, DEPOSIT)
        abstain = cert.VoteDelegation(KEY_CREDENTIAL, cert.DRep(cert.DRepKind.ALWAYS_ABSTAIN))
        commit(devnet, with_stake_key(body_for(devnet, deposits=DEPOSIT, certificates=[register, abstain])))
        devnet.chain.credit_rewards(KEY, 3_000_000)
        commit(
            devnet,
            with_stake_key(body_for(devnet, received=3_000_000, withdraws=Withdrawals({account: 3_000_000}))),
        )
        devnet.chain.credit_rewards(KEY, 1_000_000)
        kept = dict(devnet.chain.accounts)
    assert kept[KEY] == Account(deposit=DEPOSIT, rewards=1_000_000, drep="abstain")
    async with run_devnet(port=0, clock=False, state_dir=tmp_path) as again:
        assert again.restored
        # Credited rewards not yet withdrawn are not kept (they are in no block).
        assert again.chain.accounts == {KEY: Account(deposit=DEPOSIT, drep="abstain")}
