"""The log's head published on chain: the daemon's anchor job puts it in a block, and a history rewritten
afterwards (every hash recomputed, so the hash chain alone still verifies) no longer matches it."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import cbor2
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from milestoned.daemon.anchor_job import anchor_head
from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import demo_config, demo_seed, rpc
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.head_anchor import HEAD_ANCHOR_LABEL, HeadAnchor, mismatches, read_anchor
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import HeadAnchored, OracleSignatureCommitted
from milestoned.eventlog.verify import verify
from milestoned.shared.config import with_overrides


def anchors_on_chain(devnet: Any) -> list[tuple[str, HeadAnchor]]:
    """(tx id, anchor) of every label-1968 document in the devnet's blocks, read from the CBOR."""
    found = []
    for block in devnet.chain.blocks:
        for tx in block.transactions:
            decoded = tx.decoded
            if decoded.auxiliary_data_bytes is None:
                continue
            data = cbor2.loads(decoded.auxiliary_data_bytes)
            labels = data.value.get(0, {}) if isinstance(data, cbor2.CBORTag) else data
            anchor = read_anchor(labels.get(HEAD_ANCHOR_LABEL)) if isinstance(labels, dict) else None
            if anchor is not None:
                found.append((decoded.id_hex, anchor))
    return found


def _operator(data: Path, label: str) -> tuple[PaymentSigningKey, Any]:
    """A demo daemon's config in `data` whose operator wallet (key file written, 0600) pays anchors."""
    key = PaymentSigningKey(hashlib.sha256(f"milestoned/test/{label}".encode()).digest())
    key.save(str(data / "operator.skey"))
    (data / "operator.skey").chmod(0o600)
    config = with_overrides(
        demo_config(data), release={"auto": False, "wallet_key": str(data / "operator.skey")}
    )
    return key, config


def _signature_event(oracle: str) -> OracleSignatureCommitted:
    """An oracle's signature of M1 (of a schedule id of zeros) as committed: appending it moves the head."""
    signature = sign_attestation(demo_seed(oracle), bytes(28), b"M1")
    return OracleSignatureCommitted(
        schedule_id=bytes(28).hex(),
        milestone_id=b"M1".hex(),
        oracle_key=signature.oracle_key.hex(),
        signature=signature.signature.hex(),
    )


async def test_the_head_is_published_and_a_rewrite_no_longer_matches_it() -> None:
    with tempfile.TemporaryDirectory(prefix="man-", dir="/tmp") as folder:
        data = Path(folder)
        key, config = _operator(data, "anchor-operator")
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)
            address = Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)
            daemon.devnet.fund(address, 50_000_000)
            daemon.service.append([_signature_event("oracle-1")])
            # the follower stops first: the devnet's idle blocks would otherwise append checkpoints
            # at any moment, and "nothing moved" below would race with them
            thread, follower = daemon.service.follower_thread, daemon.service.follower
            thread.call(follower.stop)
            for _ in range(100):
                if thread.ended():
                    break
                await asyncio.sleep(0.1)
            assert thread.ended()
            head = daemon.service.log.head()
            tx_id = await anchor_head(daemon.service)
            assert tx_id is not None
            assert await anchor_head(daemon.service) is None  # nothing moved but the anchor's own event

            for _ in range(100):
                published = anchors_on_chain(daemon.devnet)
                if published:
                    break
                await asyncio.sleep(0.2)
            assert published == [(tx_id, HeadAnchor("devnet", head.position, head.hash))]
            anchored = [
                e.event for e in daemon.service.log.iter_events() if isinstance(e.event, HeadAnchored)
            ]
            assert anchored == [HeadAnchored(tx_id=tx_id, position=head.position, head_hash=head.hash)]
            assert (await rpc(sock, "log.verify"))["ok"] is True
            log_path = daemon.service.log.config.path
            from milestoned.commands.audit_cmd import run_audit

            audit = await run_audit(daemon.devnet.url, "origin", [])
            assert [a.tx_id for a in audit.anchors] == [tx_id]

        anchors = [anchor for _, anchor in published]
        with EventLog(SQLiteConfig(log_path)) as log:
            hashes = {e.position: e.hash for e in log.iter_events()}
            assert mismatches(anchors, hashes, log.head().position) == []
        from milestoned.commands.audit_cmd import _with_comparison, read_log

        agreed = _with_comparison(
            audit, *read_log(str(log_path))[:2], [], str(log_path), read_log(str(log_path))[2]
        )
        assert agreed.anchor_problems == ()

        # A rewrite from the anchored position on, each later hash recomputed: the chain alone verifies.
        import sqlite3

        with sqlite3.connect(log_path) as db:
            db.execute("DELETE FROM stored_events WHERE originator_version >= ?", (head.position,))
        with EventLog(SQLiteConfig(log_path)) as log:
            log.append([_signature_event("oracle-2")])
            assert verify(log).ok
            hashes = {e.position: e.hash for e in log.iter_events()}
            [problem] = mismatches(anchors, hashes, log.head().position)
            assert f"position {head.position}" in problem and "rewritten" in problem
        # the chain audit compares every published head with the log (listed there or not)
        events, log_head, log_hashes = read_log(str(log_path))
        caught = _with_comparison(audit, events, log_head, [], str(log_path), log_hashes)
        [problem] = caught.anchor_problems
        assert tx_id in problem and "rewritten" in problem and "does not list" in problem
        assert not caught.ok
        with sqlite3.connect(log_path) as db:
            db.execute("DELETE FROM stored_events WHERE originator_version >= ?", (head.position,))
        with EventLog(SQLiteConfig(log_path)) as log:
            [problem] = mismatches(anchors, {}, log.head().position)
            assert "cut off" in problem


def test_only_well_formed_documents_are_anchors() -> None:
    good = HeadAnchor("preprod", 7, "ab" * 32).to_document()
    assert read_anchor(good) == HeadAnchor("preprod", 7, "ab" * 32)
    for bad in (
        {**good, "v": 2},
        {**good, "log": "other"},
        {**good, "position": 0},
        {**good, "position": True},
        {**good, "hash": "AB" * 32},
        {**good, "extra": 1},
        "not a map",
    ):
        assert read_anchor(bad) is None, bad


async def test_a_second_anchor_before_the_first_lands_spends_its_change_not_its_inputs() -> None:
    """Two heads anchored back to back from a wallet of one UTxO: the second is built while the first
    is still in the mempool, so it must spend the first one's change (spending the same input again
    is refused by the ledger: 3117, and that anchor is lost)."""
    with tempfile.TemporaryDirectory(prefix="man-", dir="/tmp") as folder:
        data = Path(folder)
        key, config = _operator(data, "anchor-operator-2")
        async with running_daemon(config) as daemon:
            address = Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)
            daemon.devnet.fund(address, 50_000_000)
            ids = []
            for oracle in ("oracle-1", "oracle-2"):
                daemon.service.append([_signature_event(oracle)])
                ids.append(await anchor_head(daemon.service))  # the head moved: a new anchor each time
            first, second = ids
            assert first is not None and second is not None and first != second
            mempool = {tx.id.hex() for tx in daemon.devnet.chain.mempool}
            on_chain = {tx_id for tx_id, _ in anchors_on_chain(daemon.devnet)}
            assert {first, second} <= mempool | on_chain  # both accepted by the ledger
            for _ in range(100):
                if {first, second} <= {tx_id for tx_id, _ in anchors_on_chain(daemon.devnet)}:
                    break
                await asyncio.sleep(0.2)
            assert [t for t, _ in anchors_on_chain(daemon.devnet)] == [first, second]
