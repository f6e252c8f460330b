"""`milestonectl milestone cancel` end to end (issue 15, point 1): two oracles sign a milestone's
cancellation offline, the daemon (its operator wallet is the admin's key here) checks the files, builds,
signs and submits the Cancel transaction before the reclaim deadline; the milestone's allocations go back
to the admin, `claimable` says `milestone_cancelled`, and a second daemon that learns the schedule from
the chain alone says the same. The bad requests are refused by the same daemon before anything is built;
while the operator wallet is not the admin, only the unsigned export (a Cancel redeemer, oracles 0 and
1) is given.

The daemon runs in this test's process (its operator wallet swapped for the admin's mid-test); on the
real `milestoned run` process and socket, with milestonectl as a process, the cancellation through the
unsigned export and its refusals are in tests/daemon/test_governance_process.py, and the daemon method's
own refusals in tests/daemon/test_daemon_process.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from daemon_process import DemoDaemon, eventually
from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    RedeemerTag,
    Transaction,
)

from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import TOKEN_NAME, demo_config, demo_seed, rpc
from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import Statement, sign_attestation
from milestoned.domain.attestation_file import Attestation, attestation_json
from milestoned.shared.config import with_overrides

M2 = "M2-security-audit"


def _signed_file(folder: Path, oracle: str, schedule_id: str, milestone: str, statement: Statement) -> Path:
    schedule = bytes.fromhex(schedule_id)
    signature = sign_attestation(demo_seed(oracle), schedule, milestone.encode(), statement)
    path = folder / f"{statement.word}-{oracle}-{milestone}.json"
    path.write_text(attestation_json(Attestation(schedule, milestone.encode(), signature, statement)))
    return path


def _admin_address() -> str:
    admin = PaymentSigningKey(demo_seed("admin"))
    return str(Address(PaymentVerificationKey.from_signing_key(admin).hash(), network=Network.TESTNET))


async def _admin_tokens(daemon: Any) -> int:
    chain = await daemon.service._tx_chain()
    total = 0
    for utxo in await chain.utxos_at([Address.from_primitive(_admin_address())]):
        for _policy, assets in utxo.output.amount.multi_asset.items():
            total += sum(q for name, q in assets.items() if name.payload == TOKEN_NAME)
    return total


def _refused(run: Any, sock: Path, *args: object) -> str:
    answer = run("--socket", sock, "milestone", "cancel", *args)
    assert answer.code != 0, answer.out
    return answer.err + answer.out


async def test_a_cancelled_milestone_goes_back_to_the_admin_and_claimable_says_so(
    demo_daemon: DemoDaemon, examples: Path
) -> None:
    daemon, folder, sock = demo_daemon.daemon, demo_daemon.folder, demo_daemon.sock
    schedule_id, run = demo_daemon.schedule_id, demo_daemon.run
    # the oracles sign offline, with the command they use
    files = []
    for oracle in (1, 2):
        path = folder / f"cancel-{oracle}.json"
        signed = await asyncio.to_thread(
            run, "attest", "sign", "--key", examples / "oracles" / f"oracle-{oracle}.skey",
            "--schedule-id", schedule_id, "--milestone", M2, "--cancel", "--out", path,
        )  # fmt: skip
        assert signed.code == 0, signed.err
        files.append(path)
    attestation = _signed_file(folder, "oracle-3", schedule_id, M2, Statement.ATTEST)
    unknown = _signed_file(folder, "oracle-3", schedule_id, "M9-never-planned", Statement.CANCEL)

    # bad requests: refused with the file and the fix named, nothing built
    said = await asyncio.to_thread(_refused, run, sock, "M9-never-planned", *files)
    assert "no milestone 'M9-never-planned'" in said and M2 in said
    said = await asyncio.to_thread(_refused, run, sock, M2, files[0], unknown)
    assert "cancellation file 2 cancels milestone 'M9-never-planned'" in said
    assert "attest sign --cancel" in said
    said = await asyncio.to_thread(_refused, run, sock, M2, files[0], attestation)
    assert "cancellation file 2 is an attestation" in said
    said = await asyncio.to_thread(_refused, run, sock, M2, files[0], files[0])
    assert "1 valid cancellation signature(s) of distinct oracles, of the 2 required" in said
    # the demo operator's wallet is not the admin: refused, and the unsigned path offered
    said = await asyncio.to_thread(_refused, run, sock, M2, *files)
    assert "operator wallet is not the schedule's admin" in said and "--unsigned-out" in said
    unsigned = folder / "unsigned"
    exported = await asyncio.to_thread(
        run, "--socket", sock, "milestone", "cancel", M2, *files,
        "--admin-address", _admin_address(), "--unsigned-out", unsigned,
    )  # fmt: skip
    assert exported.code == 0, exported.err
    [envelope] = sorted(unsigned.glob("cancel-*.unsigned.json"))
    body = Transaction.from_cbor(bytes.fromhex(json.loads(envelope.read_text())["cborHex"]))
    [mint_redeemer] = [r for r in body.transaction_witness_set.redeemer if r.tag == RedeemerTag.MINT]
    [read] = ot.cancellations_from_cbor(mint_redeemer.data.to_cbor())
    assert read.milestone_id == M2.encode() and [s.oracle_index for s in read.signatures] == [0, 1]
    assert await rpc(sock, "submissions") == []

    demo_daemon.operator_is_admin(examples)
    before = await _admin_tokens(daemon)
    done = await asyncio.to_thread(run, "--socket", sock, "milestone", "cancel", M2, *files)
    assert done.code == 0 and "submitted" in done.out, done.err

    async def cancelled() -> list[dict[str, Any]] | None:
        rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        mine = [r for r in rows if r["milestone"] == M2]
        return mine if mine and all(r["reclaimed"] for r in mine) else None

    rows = await eventually(cancelled, "the milestone's allocations to be taken back on chain")
    assert {r["status"] for r in rows} == {"milestone_cancelled"}
    assert not any(r["claimable_now"] for r in rows)
    others = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
    assert all(r["status"] != "milestone_cancelled" for r in others if r["milestone"] != M2)
    assert await _admin_tokens(daemon) == before + sum(r["amount"] for r in rows)
    [m2] = [m for m in await rpc(sock, "milestones") if m["milestone"] == M2]
    assert m2["cancelled"] and m2["allocations_reclaimed"] == len(rows)
    shown = await asyncio.to_thread(run, "--socket", sock, "claimable")
    assert "milestone cancelled: back to the admin" in shown.out

    async def settled() -> bool:
        subs = await rpc(sock, "submissions")
        return bool(subs) and all(s["status"] == "confirmed" for s in subs)

    await eventually(settled, "the cancellation's submission to be confirmed")

    # a daemon that knows nothing but the chain learns the cancellation from it
    second = folder / "second"
    second.mkdir()
    url = (await rpc(sock, "status"))["embedded_devnet"]
    config2 = with_overrides(
        demo_config(second),
        chain={"ogmios_url": url, "network": "devnet", "start": "origin"},
        follow={"all": True},
        release={"auto": False, "wallet_key": ""},
    )
    async with running_daemon(config2):
        sock2 = Path(config2.socket.path)

        async def learnt() -> list[dict[str, Any]] | None:
            answer = await rpc(sock2, "claimable", {})
            mine = [r for r in answer["allocations"] if r["milestone"] == M2]
            return mine if len(mine) == len(rows) and all(r["reclaimed"] for r in mine) else None

        rebuilt = await eventually(learnt, "the second daemon to see the cancellation", timeout=120)
        assert {r["status"] for r in rebuilt} == {"milestone_cancelled"}
        [m2] = [m for m in await rpc(sock2, "milestones") if m["milestone"] == M2]
        assert m2["cancelled_in"] == sorted(s["tx_id"] for s in await rpc(sock, "submissions"))
