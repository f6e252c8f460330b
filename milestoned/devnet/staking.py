"""Stake credentials, reward accounts, delegation and withdrawals: the Conway CERTS rules, pure.

WHY a module of its own: the ledger's UTxO rules (ledger.py) and these rules meet in only three
places: the balance (deposits and withdrawals are produced and consumed value), the witnesses (a
certificate or a withdrawal of a key credential needs its signature, of a script credential its
script, run with purpose Certifying or Rewarding), and the state the chain keeps beside the UTxO set
(reward accounts). `apply_staking` takes the accounts before a transaction and returns the accounts
after it together with those three things, or the `LedgerError` a node gives.

The order follows the Conway LEDGER rule at protocol version 10: withdrawals from key credentials must
be delegated to a DRep (3150); every withdrawal must name a registered account and take its whole
balance (3141), and drains it; then the certificates apply one after another, each seeing the previous
ones (so a registration and a delegation can share a transaction, and a withdrawal followed by a
deregistration empties and closes an account).

Supported: stake registration (legacy, deposit implicit, no witness; and Conway's with its deposit),
deregistration (legacy and Conway's, refunding the recorded deposit), delegation to a stake pool and
to the predefined DReps (abstain, no confidence), the combined registration-and-delegation
certificates, withdrawals. Not supported, refused with 3997 naming what: stake pool registration and
retirement, DRep and constitutional-committee certificates, votes, proposals, treasury donations.
The devnet has one stake pool, registered at genesis: its block producer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, TypeAlias

from pycardano import Address, Network, RedeemerTag, ScriptHash, TransactionBody
from pycardano import certificate as cert
from pycardano.crypto import bech32

from milestoned.devnet.hashing import blake2b_224, blake2b_256
from milestoned.devnet.parameters import ProtocolParameters

Credential: TypeAlias = tuple[bool, bytes]
"""A stake credential: (is a script, its 28-byte hash). Orders as the ledger does: scripts first."""


@dataclass(frozen=True)
class Account:
    """A registered stake credential: the deposit it paid, its rewards and its delegations."""

    deposit: int
    rewards: int = 0
    pool: bytes | None = None
    drep: str | None = None
    """"abstain" or "noConfidence" (the devnet has no registered DReps)."""


@dataclass(frozen=True)
class StakePool:
    """A registered stake pool, as `queryLedgerState/stakePools` shows it."""

    id: bytes
    vrf_key_hash: bytes
    pledge: int
    cost: int
    margin: Fraction
    reward_account: Credential
    owners: tuple[bytes, ...] = ()

    @property
    def bech32(self) -> str:
        return pool_id(self.id)


def genesis_pool(issuer: Mapping[str, Any], params: ProtocolParameters) -> StakePool:
    """The devnet's one stake pool: its block producer (the cold key of the block headers)."""
    operator = blake2b_224(bytes.fromhex(issuer["verificationKey"]))
    return StakePool(
        id=operator,
        vrf_key_hash=blake2b_256(bytes.fromhex(issuer["vrfVerificationKey"])),
        pledge=0,
        cost=params.min_stake_pool_cost,
        margin=Fraction(0),
        reward_account=(False, operator),
        owners=(operator,),
    )


def pool_id(pool: bytes) -> str:
    return str(bech32.encode("pool", pool))


def credential_of(stake_credential: cert.StakeCredential | Any) -> Credential:
    inner = stake_credential.credential
    return (isinstance(inner, ScriptHash), bytes(inner.payload))


def origin(credential: Credential) -> str:
    """Ogmios's `CredentialOrigin`."""
    return "script" if credential[0] else "verificationKey"


def reward_address(credential: Credential, mainnet: bool) -> str:
    """The stake address (bech32) of a credential on this network."""
    part = ScriptHash(credential[1]) if credential[0] else _key_hash(credential[1])
    return str(Address(staking_part=part, network=Network.MAINNET if mainnet else Network.TESTNET))


def _key_hash(raw: bytes) -> Any:
    from pycardano import VerificationKeyHash

    return VerificationKeyHash(raw)


def reward_account_credential(raw: bytes) -> tuple[Credential, int]:
    """(credential, network id) of a reward account's raw bytes (header 0xE0/0xF0 | network)."""
    return (bool(raw[0] & 0x10), bytes(raw[1:])), raw[0] & 0x0F


def sorted_withdrawals(withdrawals: Mapping[bytes, int] | None) -> list[tuple[bytes, int]]:
    """Withdrawals in the ledger's map order (script credentials first, then by hash): the order
    REWARD redeemer indices count in."""
    items = [(bytes(address), amount) for address, amount in (withdrawals or {}).items()]
    return sorted(items, key=lambda item: (not reward_account_credential(item[0])[0][0], item[0][1:]))


@dataclass(frozen=True)
class StakingError:
    """A refusal, with Ogmios's code and data (ledger.py turns it into its `LedgerError`)."""

    code: int
    message: str
    data: Any = None


@dataclass(frozen=True)
class Witness:
    """What must authorise one certificate or withdrawal: a key's signature or a script (purpose)."""

    credential: Credential
    tag: RedeemerTag
    index: int


@dataclass(frozen=True)
class StakingEffects:
    """What a transaction's certificates and withdrawals do."""

    accounts: Mapping[Credential, Account]
    deposits: int
    refunds: int
    withdrawn: int
    witnesses: tuple[Witness, ...]

    @property
    def key_hashes(self) -> set[bytes]:
        return {w.credential[1] for w in self.witnesses if not w.credential[0]}

    def scripts(self) -> list[tuple[bytes, RedeemerTag, int]]:
        return [(w.credential[1], w.tag, w.index) for w in self.witnesses if w.credential[0]]


NO_EFFECTS = StakingEffects({}, 0, 0, 0, ())

_GOVERNANCE_CERTIFICATES: dict[type, str] = {
    cert.RegDRepCert: "DRep registration certificates",
    cert.UnregDRepCertificate: "DRep retirement certificates",
    cert.UpdateDRepCertificate: "DRep update certificates",
    cert.AuthCommitteeHotCertificate: "constitutional committee certificates",
    cert.ResignCommitteeColdCertificate: "constitutional committee certificates",
    cert.PoolRegistration: "stake pool registration certificates",
    cert.PoolRetirement: "stake pool retirement certificates",
}

_CERTIFICATE_TAGS: dict[int, str] = {
    3: "stake pool registration certificates",
    4: "stake pool retirement certificates",
    5: "genesis delegation certificates",
    6: "move-instantaneous-rewards certificates",
    14: "constitutional committee certificates",
    15: "constitutional committee certificates",
    16: "DRep registration certificates",
    17: "DRep retirement certificates",
    18: "DRep update certificates",
}


def unsupported_content(body: TransactionBody) -> list[str]:
    """What the devnet does not do, named as the error message names it."""
    names = [
        name
        for name, present in (
            ("governance votes", body.voting_procedures),
            ("governance proposals", body.proposal_procedures),
            ("treasury donations", body.donation),
            ("treasury value declarations", body.current_treasury_value is not None),
        )
        if present
    ]
    for certificate in body.certificates or []:
        name: str | None
        if isinstance(certificate, list) and certificate and isinstance(certificate[0], int):
            # pycardano leaves some certificates undecoded (e.g. a DRep registration without anchor)
            name = _CERTIFICATE_TAGS.get(certificate[0], f"certificates of type {certificate[0]}")
        else:
            name = _GOVERNANCE_CERTIFICATES.get(type(certificate))
        if name is not None and name not in names:
            names.append(name)
    return names


def apply_staking(
    accounts: Mapping[Credential, Account],
    pools: Mapping[bytes, StakePool],
    params: ProtocolParameters,
    body: TransactionBody,
    mainnet: bool,
) -> StakingEffects | StakingError:
    """The accounts after `body`'s withdrawals and certificates, with the deposits, refunds and
    withdrawn lovelace for the balance and the witnesses they need; or the first rule broken."""
    if not body.certificates and not body.withdraws:
        return replace(NO_EFFECTS, accounts=accounts)
    state = dict(accounts)
    witnesses: list[Witness] = []
    withdrawals = sorted_withdrawals(body.withdraws)

    wrong_network = [
        raw for raw, _ in withdrawals if reward_account_credential(raw)[1] != (1 if mainnet else 0)
    ]
    if wrong_network:
        return StakingError(
            3124,
            "Some withdrawals name reward accounts of another network.",
            {
                "expectedNetwork": "mainnet" if mainnet else "testnet",
                "discriminatedType": "rewardAccount",
                "invalidEntities": [str(Address.from_primitive(raw)) for raw in wrong_network],
            },
        )
    undelegated = [
        credential[1].hex()
        for credential, _ in (reward_account_credential(raw) for raw, _ in withdrawals)
        if not credential[0] and (credential not in state or state[credential].drep is None)
    ]
    if undelegated:
        return StakingError(
            3150,
            "Withdrawals from key credentials need a delegation to a DRep first (Conway, protocol 10): "
            "delegate the stake key's votes (e.g. to the predefined 'abstain' DRep).",
            {"marginalizedCredentials": undelegated},
        )
    incomplete: dict[str, Any] = {}
    withdrawn = 0
    for index, (raw, amount) in enumerate(withdrawals):
        credential = reward_account_credential(raw)[0]
        account = state.get(credential)
        if account is None or account.rewards != amount:
            incomplete[reward_address(credential, mainnet)] = {"ada": {"lovelace": amount}}
            continue
        state[credential] = replace(account, rewards=0)
        withdrawn += amount
        witnesses.append(Witness(credential, RedeemerTag.WITHDRAWAL, index))
    if incomplete:
        return StakingError(
            3141,
            "Withdrawals must take a registered reward account's whole balance, no more and no less.",
            {"incompleteWithdrawals": incomplete},
        )

    deposits = refunds = 0
    for index, certificate in enumerate(body.certificates or []):
        outcome = _apply_certificate(state, pools, params, certificate)
        if isinstance(outcome, StakingError):
            return outcome
        paid, refunded, needs_witness = outcome
        deposits += paid
        refunds += refunded
        if needs_witness:
            witnesses.append(
                Witness(credential_of(certificate.stake_credential), RedeemerTag.CERTIFICATE, index)
            )
    return StakingEffects(state, deposits, refunds, withdrawn, tuple(witnesses))


def _apply_certificate(
    state: dict[Credential, Account],
    pools: Mapping[bytes, StakePool],
    params: ProtocolParameters,
    c: Any,
) -> tuple[int, int, bool] | StakingError:
    """Apply one certificate to `state`: (deposit paid, refund, whether it needs a witness)."""
    credential = credential_of(c.stake_credential)
    registered = state.get(credential)
    expected = params.stake_credential_deposit

    if isinstance(c, cert.StakeRegistration | cert.StakeRegistrationConway):
        declared = c.coin if isinstance(c, cert.StakeRegistrationConway) else None
        if declared is not None and declared != expected:
            return _deposit_mismatch(declared)
        if registered is not None:
            return _already_registered(credential)
        state[credential] = Account(deposit=expected)
        # As Conway: a registration without a deposit field needs no witness (backwards compatible).
        return expected, 0, declared is not None

    if isinstance(c, cert.StakeDeregistration | cert.StakeDeregistrationConway):
        declared = c.coin if isinstance(c, cert.StakeDeregistrationConway) else None
        if registered is None:
            return _not_registered(credential)
        if declared is not None and declared != registered.deposit:
            return _deposit_mismatch(declared)
        if registered.rewards:
            return StakingError(
                3147,
                "The reward account is not empty: withdraw its whole balance first "
                "(in the same transaction, before the deregistration).",
                {"nonEmptyRewardAccountBalance": {"ada": {"lovelace": registered.rewards}}},
            )
        del state[credential]
        return 0, registered.deposit, True

    pool = getattr(c, "pool_keyhash", None)
    drep = getattr(c, "drep", None)
    if pool is not None and bytes(pool.payload) not in pools:
        return StakingError(
            3140,
            "The transaction delegates to an unknown stake pool; this devnet has one, "
            "listed by queryLedgerState/stakePools.",
            {"unknownStakePool": pool_id(bytes(pool.payload))},
        )
    drep_kind = None
    if drep is not None:
        if drep.kind == cert.DRepKind.ALWAYS_ABSTAIN:
            drep_kind = "abstain"
        elif drep.kind == cert.DRepKind.ALWAYS_NO_CONFIDENCE:
            drep_kind = "noConfidence"
        else:
            # No DRep can register on the devnet, so as on a node: the delegatee is not registered.
            drep_credential = credential_of(drep)
            return StakingError(
                3146,
                "The DRep delegated to is not registered (the devnet supports only the predefined "
                "'abstain' and 'noConfidence' DReps).",
                {"unknownCredential": drep_credential[1].hex(), "from": origin(drep_credential)},
            )

    registering = isinstance(
        c,
        cert.StakeRegistrationAndDelegation
        | cert.StakeRegistrationAndVoteDelegation
        | cert.StakeRegistrationAndDelegationAndVoteDelegation,
    )
    paid = 0
    if registering:
        if c.coin != expected:
            return _deposit_mismatch(c.coin)
        if registered is not None:
            return _already_registered(credential)
        registered = Account(deposit=expected)
        paid = expected
    elif isinstance(c, cert.StakeDelegation | cert.VoteDelegation | cert.StakeAndVoteDelegation):
        if registered is None:
            return _not_registered(credential)
    else:
        return StakingError(
            3997,
            f"The devnet does not support {type(c).__name__} certificates; remove them.",
            {"error": f"unsupported certificate: {type(c).__name__}"},
        )
    state[credential] = replace(
        registered,
        pool=bytes(pool.payload) if pool is not None else registered.pool,
        drep=drep_kind if drep is not None else registered.drep,
    )
    return paid, 0, True


def _deposit_mismatch(declared: int) -> StakingError:
    # Protocol 10's IncorrectDepositDELEG carries only the declared amount (Ogmios: no expectedDeposit).
    return StakingError(
        3151,
        "The certificate's deposit (or refund) differs from what the ledger expects: the "
        "stakeCredentialDeposit protocol parameter, or the deposit the credential paid.",
        {"providedDeposit": {"ada": {"lovelace": declared}}},
    )


def _already_registered(credential: Credential) -> StakingError:
    return StakingError(
        3145,
        "The stake credential is already registered.",
        {"knownCredential": credential[1].hex(), "from": origin(credential)},
    )


def _not_registered(credential: Credential) -> StakingError:
    return StakingError(
        3146,
        "The stake credential is not registered; register it first (in this transaction or before).",
        {"unknownCredential": credential[1].hex(), "from": origin(credential)},
    )


def account_summaries(
    accounts: Mapping[Credential, Account], wanted: Iterable[Credential] | None
) -> list[dict[str, Any]]:
    """`queryLedgerState/rewardAccountSummaries`: the registered ones among `wanted`, in the ledger's
    credential order (scripts first)."""
    chosen = set(accounts) if wanted is None else {c for c in wanted if c in accounts}
    summaries = []
    for credential in sorted(chosen, key=lambda c: (not c[0], c[1])):
        account = accounts[credential]
        summary: dict[str, Any] = {"credential": credential[1].hex(), "from": origin(credential)}
        if account.pool is not None:
            summary["stakePool"] = {"id": pool_id(account.pool)}
        if account.drep is not None:
            summary["delegateRepresentative"] = {"type": account.drep}
        summary["rewards"] = {"ada": {"lovelace": account.rewards}}
        summary["deposit"] = {"ada": {"lovelace": account.deposit}}
        summaries.append(summary)
    return summaries
