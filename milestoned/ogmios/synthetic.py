"""Deterministic, mainnet-shaped Ogmios chain-sync frames for benchmarks and load tests.

Why this exists: the shared test vectors are QuickCheck output (tiny blocks, random shapes); they prove that
parsing is *correct* but say nothing about *speed*. Throughput has to be measured on blocks shaped like
Conway-era mainnet blocks as Ogmios v6 renders them. This module generates them from a seed, so every
benchmark run serves byte-identical frames.

Shape of one generated block (defaults; see `SyntheticChainShape`):
- a `praos` block in the `conway` era with a real-looking header (issuer keys, VRF output, op-cert);
- 20–60 transactions (uniform);
- per transaction: 1–4 inputs, 0–2 reference inputs, 2–5 outputs to 103-character base addresses;
  a fee and a validity interval; one or two vkey signatories;
- about 40% of outputs carry native assets (1–4 policies × 1–4 asset names, quantities up to 10^12);
- about 35% of outputs carry a datum (two thirds inline CBOR of 40–300 bytes, one third a datum hash);
- about 3% of outputs carry a Plutus v2/v3 reference script (1–3 KB of CBOR);
- about 30% of transactions are script transactions: collateral input, collateral return, total collateral,
  1–3 redeemers with CBOR data and execution units, a script-integrity hash and witness datums;
- about 10% mint or burn, about 10% carry CIP-20 metadata, about 2% failed phase-2 (`spends: "collaterals"`).
The generator trims or pads the transaction count so that the frame comes out near `target_bytes` (100 KB).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


@dataclass(frozen=True, slots=True)
class SyntheticChainShape:
    """The knobs of the generator; the defaults are the documented mainnet shape."""

    min_transactions: int = 20
    max_transactions: int = 60
    target_bytes: int = 100_000
    multi_asset_share: float = 0.40
    datum_share: float = 0.35
    reference_script_share: float = 0.03
    script_transaction_share: float = 0.30
    mint_share: float = 0.10
    metadata_share: float = 0.10
    failed_share: float = 0.02


def _hex(rng: random.Random, n_bytes: int) -> str:
    return rng.randbytes(n_bytes).hex()


def _address(rng: random.Random) -> str:
    return "addr1" + "".join(rng.choice(_BECH32) for _ in range(98))


def _reference(rng: random.Random, tx_ids: list[str]) -> dict[str, Any]:
    tx_id = rng.choice(tx_ids) if tx_ids and rng.random() < 0.5 else _hex(rng, 32)
    return {"transaction": {"id": tx_id}, "index": rng.randrange(0, 6)}


def _value(rng: random.Random, shape: SyntheticChainShape, policies: list[str]) -> dict[str, Any]:
    value: dict[str, Any] = {"ada": {"lovelace": rng.randrange(1_000_000, 5_000_000_000)}}
    if rng.random() < shape.multi_asset_share:
        for policy in rng.sample(policies, rng.randint(1, 4)):
            value[policy] = {
                _hex(rng, rng.randint(4, 16)): rng.randrange(1, 10**12) for _ in range(rng.randint(1, 4))
            }
    return value


def _output(rng: random.Random, shape: SyntheticChainShape, policies: list[str]) -> dict[str, Any]:
    output: dict[str, Any] = {"address": _address(rng), "value": _value(rng, shape, policies)}
    if rng.random() < shape.datum_share:
        if rng.random() < 2 / 3:
            output["datum"] = "d8799f" + _hex(rng, rng.randint(40, 300)) + "ff"
        else:
            output["datumHash"] = _hex(rng, 32)
    if rng.random() < shape.reference_script_share:
        output["script"] = {
            "language": rng.choice(["plutus:v2", "plutus:v3"]),
            "cbor": _hex(rng, rng.randint(1000, 3000)),
        }
    return output


def _transaction(
    rng: random.Random, shape: SyntheticChainShape, policies: list[str], tx_ids: list[str]
) -> dict[str, Any]:
    tx_id = _hex(rng, 32)
    failed = rng.random() < shape.failed_share
    scripted = failed or rng.random() < shape.script_transaction_share
    tx: dict[str, Any] = {
        "id": tx_id,
        "spends": "collaterals" if failed else "inputs",
        "inputs": [_reference(rng, tx_ids) for _ in range(rng.randint(1, 4))],
    }
    if rng.random() < 0.3:
        tx["references"] = [_reference(rng, tx_ids) for _ in range(rng.randint(1, 2))]
    tx["outputs"] = [_output(rng, shape, policies) for _ in range(rng.randint(2, 5))]
    if scripted:
        tx["collaterals"] = [_reference(rng, tx_ids)]
        tx["collateralReturn"] = {"address": _address(rng), "value": {"ada": {"lovelace": 4_000_000}}}
        tx["totalCollateral"] = {"ada": {"lovelace": rng.randrange(300_000, 1_500_000)}}
        tx["scriptIntegrityHash"] = _hex(rng, 32)
        tx["datums"] = {_hex(rng, 32): "d87980" for _ in range(rng.randint(0, 2))}
        tx["redeemers"] = [
            {
                "validator": {"purpose": rng.choice(["spend", "mint", "withdraw"]), "index": i},
                "redeemer": "d8799f" + _hex(rng, rng.randint(8, 120)) + "ff",
                "executionUnits": {
                    "memory": rng.randrange(100_000, 10_000_000),
                    "cpu": rng.randrange(10**7, 10**10),
                },
            }
            for i in range(rng.randint(1, 3))
        ]
        tx["requiredExtraSignatories"] = [_hex(rng, 28)]
    if rng.random() < shape.mint_share:
        tx["mint"] = {
            rng.choice(policies): {
                _hex(rng, 8): rng.choice([1, 1, 1000, -1]) for _ in range(rng.randint(1, 3))
            }
        }
    tx["fee"] = {"ada": {"lovelace": rng.randrange(160_000, 1_500_000)}}
    tx["validityInterval"] = {"invalidAfter": rng.randrange(10**8)}
    if rng.random() < shape.metadata_share:
        tx["metadata"] = {
            "hash": _hex(rng, 32),
            "labels": {"674": {"json": {"msg": [f"order {rng.randrange(10**6)}", "synthetic"]}}},
        }
    tx["signatories"] = [{"key": _hex(rng, 32), "signature": _hex(rng, 64)} for _ in range(rng.randint(1, 2))]
    tx_ids.append(tx_id)
    return tx


def synthetic_block(
    rng: random.Random, height: int, slot: int, ancestor: str, shape: SyntheticChainShape
) -> dict[str, Any]:
    """One block as the `block` field of a RollForward result."""
    policies = [_hex(rng, 28) for _ in range(12)]
    tx_ids: list[str] = []
    count = rng.randint(shape.min_transactions, shape.max_transactions)
    transactions = [_transaction(rng, shape, policies, tx_ids) for _ in range(count)]
    # Trim towards the byte target (never below the minimum count).
    size = len(orjson.dumps(transactions))
    while size > shape.target_bytes * 1.1 and len(transactions) > shape.min_transactions:
        size -= len(orjson.dumps(transactions.pop()))
    while size < shape.target_bytes * 0.9 and len(transactions) < shape.max_transactions:
        extra = _transaction(rng, shape, policies, tx_ids)
        transactions.append(extra)
        size += len(orjson.dumps(extra))
    return {
        "type": "praos",
        "era": "conway",
        "id": _hex(rng, 32),
        "ancestor": ancestor,
        "nonce": {"output": _hex(rng, 32), "proof": _hex(rng, 80)},
        "height": height,
        "slot": slot,
        "size": {"bytes": size // 2},
        "transactions": transactions,
        "protocol": {"version": {"major": 10, "minor": 0}},
        "issuer": {
            "verificationKey": _hex(rng, 32),
            "vrfVerificationKey": _hex(rng, 32),
            "operationalCertificate": {
                "count": rng.randrange(20),
                "sigma": _hex(rng, 64),
                "kes": {"period": rng.randrange(1000), "verificationKey": _hex(rng, 32)},
            },
            "leaderValue": {"output": _hex(rng, 64), "proof": _hex(rng, 80)},
        },
    }


def synthetic_roll_forward_results(
    count: int, seed: int = 2026, shape: SyntheticChainShape | None = None
) -> list[dict[str, Any]]:
    """`count` consecutive RollForward results (linked by `ancestor`), deterministic for a given seed."""
    shape = shape or SyntheticChainShape()
    rng = random.Random(seed)
    results: list[dict[str, Any]] = []
    ancestor = "genesis"
    slot = 140_000_000
    for height in range(10_000_000, 10_000_000 + count):
        slot += rng.randint(1, 40)
        block = synthetic_block(rng, height, slot, ancestor, shape)
        ancestor = block["id"]
        results.append(
            {
                "direction": "forward",
                "block": block,
                "tip": {"slot": slot, "id": block["id"], "height": height},
            }
        )
    return results
