"""The benchmark's block generator: deterministic, and shaped as documented."""

from __future__ import annotations

import itertools

import orjson
import pytest

from milestoned.ogmios.frames import next_block_from_envelope, open_envelope
from milestoned.ogmios.model import RollForward
from milestoned.ogmios.parsing import parse_next_block
from milestoned.ogmios.synthetic import synthetic_roll_forward_results


def _frame(result: dict[str, object], request_id: int) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "method": "nextBlock", "result": result, "id": request_id})


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert orjson.dumps(synthetic_roll_forward_results(2, seed=1)) == orjson.dumps(
        synthetic_roll_forward_results(2, seed=1)
    )
    assert orjson.dumps(synthetic_roll_forward_results(2, seed=1)) != orjson.dumps(
        synthetic_roll_forward_results(2, seed=2)
    )


def test_blocks_have_the_documented_mainnet_shape() -> None:
    results = synthetic_roll_forward_results(12, seed=3)
    for previous, current in itertools.pairwise(results):
        assert current["block"]["ancestor"] == previous["block"]["id"]
        assert current["block"]["slot"] > previous["block"]["slot"]
    sizes = [len(_frame(r, 1)) for r in results]
    assert all(80_000 <= size <= 130_000 for size in sizes), sizes
    counts = {"assets": 0, "inline": 0, "hash": 0, "script": 0, "redeemers": 0, "failed": 0, "mint": 0}
    for result in results:
        typed = parse_next_block(result)
        assert isinstance(typed, RollForward)
        txs = typed.block.transactions
        assert 20 <= len(txs) <= 60
        for tx in txs:
            counts["redeemers"] += len(tx.redeemers)
            counts["failed"] += tx.failed
            counts["mint"] += bool(tx.mint)
            for out in tx.outputs:
                counts["assets"] += bool(out.value.assets)
                counts["inline"] += out.datum is not None
                counts["hash"] += out.datum_hash is not None
                counts["script"] += out.script is not None
    assert all(count > 0 for count in counts.values()), counts


def test_the_lazy_path_reads_the_header_and_types_transactions_on_demand() -> None:
    (result,) = synthetic_roll_forward_results(1, seed=5)
    frame = _frame(result, 42)
    envelope = open_envelope(frame)
    assert envelope.id == 42
    lazy = next_block_from_envelope(envelope)
    eager = parse_next_block(result)
    assert isinstance(lazy, RollForward) and isinstance(eager, RollForward)
    assert not lazy.block._transactions.loaded
    assert lazy == eager
    some_address = result["block"]["transactions"][0]["outputs"][0]["address"]
    assert lazy.block.may_contain(some_address)
    assert not lazy.block.may_contain("addr1_not_in_this_block")
    assert lazy.block.transactions == eager.block.transactions
    assert lazy.block._transactions.loaded


def test_without_simdjson_frames_decode_eagerly_and_give_the_same_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from milestoned.ogmios import frames

    (result,) = synthetic_roll_forward_results(1, seed=6)
    frame = _frame(result, 7)
    with_accelerator = next_block_from_envelope(open_envelope(frame))
    monkeypatch.setattr(frames, "_simdjson", None)
    envelope = open_envelope(frame)
    assert not envelope.lazy and envelope.id == 7
    plain = next_block_from_envelope(envelope)
    assert isinstance(plain, RollForward)
    assert not plain.block._transactions.loaded  # typing is still deferred
    assert plain == with_accelerator
    assert plain.block.transactions == parse_next_block(result).block.transactions  # type: ignore[union-attr]
