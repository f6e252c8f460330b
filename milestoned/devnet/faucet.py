"""The devnet's faucet: a key holding genesis funds that pays (and mints test tokens to) any address.

WHY through real transactions: `devnet/fund` could write a UTxO straight into the ledger, but then
chain-sync followers (our indexer) would see an output appear from nowhere. A signed transaction in a
block is what a real faucet produces, and it goes through the same ledger rules as everything else.
Test tokens are minted under the faucet's own native-script policy (its key must sign).
"""

from __future__ import annotations

from collections.abc import Mapping

from pycardano import (
    Address,
    Asset,
    AssetName,
    MultiAsset,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    ScriptHash,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    VerificationKeyWitness,
)
from pycardano.nativescript import ScriptPubkey

from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.parameters import ExUnits, ProtocolParameters
from milestoned.devnet.scripts import script_hash_of

FAUCET_FUNDS = 45_000_000_000_000_000
"""Lovelace the faucet starts with (the whole mainnet supply, so it never runs dry)."""


class FaucetError(ValueError):
    """A funding request the faucet cannot satisfy; the message says how to change it."""


class Faucet:
    """The faucet's key, with the address and policy derived once (they are looked up on every payment)."""

    def __init__(self, signing_key: PaymentSigningKey, *, mainnet: bool = False) -> None:
        self.signing_key = signing_key
        self.verification_key = PaymentVerificationKey.from_signing_key(signing_key)
        network = Network.MAINNET if mainnet else Network.TESTNET
        self.address = Address(self.verification_key.hash(), network=network)
        self.address_bytes = bytes(self.address)
        self.policy = ScriptPubkey(self.verification_key.hash())
        """The native script the faucet mints test tokens under."""
        self.policy_id = script_hash_of(self.policy)


def new_faucet(*, mainnet: bool = False) -> Faucet:
    return Faucet(PaymentSigningKey.generate(), mainnet=mainnet)


def genesis_input(address: Address) -> TransactionInput:
    """The output reference of an address's genesis funds: index 0 of the hash of the address bytes."""
    return TransactionInput.from_primitive([blake2b_256(bytes(address)), 0])


def funding_transaction(
    faucet: Faucet,
    source: tuple[TransactionInput, TransactionOutput],
    to: Address,
    lovelace: int,
    assets: Mapping[bytes, int],
    params: ProtocolParameters,
) -> bytes:
    """A signed transaction paying `lovelace` (and minting `assets` by name) from `source` to `to`."""
    txin, funds = source
    mint = MultiAsset()
    if assets:
        mint[ScriptHash(faucet.policy_id)] = Asset({AssetName(name): qty for name, qty in assets.items()})
    paid = TransactionOutput(to, Value(lovelace, mint) if assets else lovelace)
    required = params.minimum_lovelace(len(paid.to_cbor()))
    if lovelace < required:
        raise FaucetError(
            f"{lovelace} lovelace is below the minimum UTxO value {required} for this output; ask for more"
        )
    available = funds.amount if isinstance(funds.amount, int) else funds.amount.coin

    def build(fee: int) -> Transaction:
        change = TransactionOutput(faucet.address, available - lovelace - fee)
        body = TransactionBody(
            inputs=[txin],
            outputs=[paid, change],
            fee=fee,
            mint=mint if assets else None,
        )
        signature = faucet.signing_key.sign(body.hash())
        witnesses = TransactionWitnessSet(
            vkey_witnesses=[VerificationKeyWitness(faucet.verification_key, signature)],
            native_scripts=[faucet.policy] if assets else None,
        )
        return Transaction(body, witnesses)

    draft = build(2_000_000)
    fee = params.minimum_fee(len(draft.to_cbor()) + 16, ExUnits(0, 0), 0)
    if available - lovelace - fee < params.minimum_lovelace(100):
        raise FaucetError("the faucet's funds are exhausted; restart the devnet or ask for less")
    return bytes(build(fee).to_cbor())
