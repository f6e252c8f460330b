"""Regenerate the example schedules and their DEMO-ONLY keys from fixed seeds.

Every key here derives from a public seed string, so anyone can recompute its secret: these keys are
for the devnet and for demos, never for real funds. The files are committed; a test checks that they
still equal what this script produces, so the example cannot drift from the code.

    .venv/bin/python examples/make_demo_files.py      # rewrites the files next to this script
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    ScriptPubkey,
    StakeSigningKey,
    StakeVerificationKey,
)

HERE = Path(__file__).resolve().parent
DEMO_WARNING = "DEMO ONLY - seed is public (milestoned examples); never use with real funds"


def demo_seed(name: str) -> bytes:
    """The 32-byte ed25519 seed of a demo key: blake2b-256 of `milestoned-demo/<name>`."""
    return hashlib.blake2b(f"milestoned-demo/{name}".encode(), digest_size=32).digest()


def demo_signing_key(name: str) -> PaymentSigningKey:
    return PaymentSigningKey(demo_seed(name))


def _envelope(key: PaymentSigningKey | PaymentVerificationKey, kind: str) -> str:
    document = {"type": key.key_type, "description": f"{kind} - {DEMO_WARNING}", "cborHex": key.to_cbor_hex()}
    return json.dumps(document, indent=4) + "\n"


def _address(name: str, with_stake: bool) -> str:
    payment = PaymentVerificationKey.from_signing_key(demo_signing_key(name))
    stake = (
        StakeVerificationKey.from_signing_key(StakeSigningKey(demo_seed(f"{name}/stake"))).hash()
        if with_stake
        else None
    )
    return str(Address(payment.hash(), stake, network=Network.TESTNET))


def _oracle_vkey(index: int) -> PaymentVerificationKey:
    return PaymentVerificationKey.from_signing_key(demo_signing_key(f"oracle-{index}"))


def build_files() -> dict[str, str]:
    """Relative path -> content of every generated file."""
    files: dict[str, str] = {}
    for name in ("admin", "oracle-1", "oracle-2", "oracle-3"):
        signing = demo_signing_key(name)
        verification = PaymentVerificationKey.from_signing_key(signing)
        folder = "oracles/" if name.startswith("oracle") else ""
        files[f"{folder}{name}.skey"] = _envelope(signing, "Payment Signing Key")
        files[f"{folder}{name}.vkey"] = _envelope(verification, "Payment Verification Key")
    files["schedule.json"] = json.dumps(valid_schedule(), indent=2, ensure_ascii=False) + "\n"
    files["schedule.invalid.json"] = json.dumps(invalid_schedule(), indent=2, ensure_ascii=False) + "\n"
    return files


def demo_token_policy_id() -> str:
    """A native-script policy the admin key alone can mint with, so the devnet demo can mint the token."""
    admin = PaymentVerificationKey.from_signing_key(demo_signing_key("admin"))
    return ScriptPubkey(admin.hash()).hash().payload.hex()


def beneficiaries() -> list[str]:
    """Five devnet addresses; odd ones carry a stake part (base address), even ones do not (enterprise)."""
    return [_address(f"beneficiary-{n}", with_stake=n % 2 == 1) for n in range(1, 6)]


def valid_schedule() -> dict[str, Any]:
    admin = PaymentVerificationKey.from_signing_key(demo_signing_key("admin"))
    alice, bob, carol, dave, erin = beneficiaries()
    m1, m2, m3 = "M1-testnet-launch", "M2-security-audit", "M3-mainnet-launch"
    return {
        "network": "devnet",
        "admin": str(Address(admin.hash(), network=Network.TESTNET)),
        "token": {"token_policy_id": demo_token_policy_id(), "token_name_utf8": "MILE"},
        "oracles": [
            "oracles/oracle-1.vkey",
            json.loads(_envelope(_oracle_vkey(2), "Payment Verification Key")),
            _oracle_vkey(3).payload.hex(),
        ],
        "quorum_threshold": 2,
        "reclaim_deadline": "2028-06-30T23:59:59Z",
        "beneficiary_allocations": [
            _allocation(alice, 250_000, m1, "2027-01-15T12:00:00Z"),
            _allocation(bob, 150_000, m1, "2027-01-15T12:00:00Z"),
            _allocation(carol, 100_000, m1, 1_800_000_000),
            _allocation(alice, 300_000, m2, "2027-04-01T09:00:00+02:00"),
            _allocation(dave, 200_000, m2, "2027-04-01T09:00:00+02:00"),
            _allocation(erin, 120_000, m2, "2027-06-01T00:00:00Z"),
            _allocation(alice, 450_000, m3, "2027-09-01T00:00:00Z"),
            _allocation(bob, 250_000, m3, "2027-09-01T00:00:00Z"),
            _allocation(carol, 180_000, m3, "2027-10-01T00:00:00Z"),
            _allocation(erin, 80_000, m3, "2027-12-01T00:00:00.500Z"),
        ],
    }


def invalid_schedule() -> dict[str, Any]:
    """A schedule with one mistake per line, as an admin typing by hand might make them."""
    alice, bob, carol, _dave, erin = beneficiaries()
    decoded_bob = Address.decode(bob)
    mainnet_bob = str(Address(decoded_bob.payment_part, decoded_bob.staking_part, network=Network.MAINNET))
    typo_carol = carol[:20] + ("q" if carol[20] != "q" else "p") + carol[21:]  # one mistyped character
    mainnet_admin = str(
        Address(
            PaymentVerificationKey.from_signing_key(demo_signing_key("admin")).hash(), network=Network.MAINNET
        )
    )
    oracle_1 = _oracle_vkey(1).payload.hex()
    return {
        "network": "devnet",
        "admin": mainnet_admin,
        "token": {"token_policy_id": demo_token_policy_id()[:-1], "token_name": "MILE"},
        "oracles": [oracle_1, oracle_1.upper(), _oracle_vkey(3).payload.hex()[:-1]],
        "quorum": 2,
        "reclaim_deadline": "2027-06-01T00:00:00Z",
        "beneficiary_allocations": [
            _allocation(alice, 0, "M1-testnet-launch", "2027-01-15T12:00:00Z"),
            _allocation(mainnet_bob, 150_000, "M1-testnet-launch", "2027-01-15T12:00:00Z"),
            _allocation(typo_carol, 100_000.5, "M1-testnet-launch", "2027-01-15 12:00:00"),
            _allocation(alice, 300_000, "", "2027-04-01T09:00:00+02:00"),
            _allocation(erin, -5, "M2-security-audit", 1_900_000_000_000),
            _allocation(alice, 2**63, "M3-" + "mainnet-launch-" * 5, "2027-09-01T00:00:00Z"),
            _allocation(carol, 180_000, "M3-mainnet-launch", "2027-10-01T00:00:00Z"),
            _allocation(carol, 180_000, "M3-mainnet-launch", "2027-10-01T00:00:00Z"),
            {"beneficiary_address": erin, "token_amount": "80000",
             "milestone_identifier": "M3-mainnet-launch", "vesting_timestmap": "2027-12-01T00:00:00Z"},
        ],
    }  # fmt: skip


def _allocation(address: str, amount: object, milestone: str, vesting: object) -> dict[str, Any]:
    return {
        "beneficiary_address": address,
        "token_amount": amount,
        "milestone_identifier": milestone,
        "vesting_timestamp": vesting,
    }


def main() -> None:
    for relative, content in build_files().items():
        path = HERE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        if relative.endswith(".skey"):
            path.chmod(0o600)
        print(f"wrote {path.relative_to(HERE.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
