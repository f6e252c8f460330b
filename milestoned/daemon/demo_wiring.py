"""The daemon as `make run` shows it: milestoned on the embedded devnet, the example schedule live on chain.

What a newcomer sees, all through the daemon's real socket (the same requests milestonectl sends):
1. the daemon starts with the embedded devnet, an event log in a fresh folder, and auto-release on;
2. the example schedule (examples/schedule.json, with its times moved to "now" on the devnet's clock and
   its token swapped for one the devnet faucet mints) is registered: `schedule.register` records it and
   returns the unsigned registration transactions, the demo admin key signs them here, `tx.submit`
   sends them, and the indexer sees the allocations locked on chain;
3. two demo oracles sign the first milestone offline; `signature.commit` brings it to quorum;
4. when its vesting time passes on chain, the daemon's auto-release job releases those allocations,
   paid by the demo operator wallet; the rest wait for their oracles.
The daemon then keeps running (Ctrl-C stops it) so that `milestonectl` can be pointed at its socket.

The demo keys' seeds are public (examples/make_demo_files.py): never use them with real funds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from milestoned.shared.config import DaemonConfig, with_overrides

DEMO_SLOT_LENGTH_S = 0.2
TOKEN_NAME = b"MILE"
MILESTONE_OFFSETS_MS = {
    "M1-testnet-launch": 15_000,
    "M2-security-audit": 120_000,
    "M3-mainnet-launch": 240_000,
}
RECLAIM_OFFSET_MS = 3_600_000
DEMO_WEB_LISTEN = "127.0.0.1:0"
"""The demo's web view: loopback only, on a free port (printed as "web view: URL")."""


def demo_seed(name: str) -> bytes:
    """The seeds of examples/make_demo_files.py (public, demo only)."""
    return hashlib.blake2b(f"milestoned-demo/{name}".encode(), digest_size=32).digest()


def demo_config(data_dir: Path, http_port: int = 0) -> DaemonConfig:
    return with_overrides(
        DaemonConfig(),
        chain={"ogmios_url": "embedded-devnet", "network": "devnet", "start": "origin"},
        store={"data_dir": str(data_dir)},
        socket={"path": str(data_dir / "milestoned.sock")},
        http={"port": http_port},
        release={"auto": True, "wallet_key": str(data_dir / "operator.skey"), "interval_seconds": 3.0},
        devnet={"slot_length": DEMO_SLOT_LENGTH_S},
    )


async def rpc(socket_path: Path, method: str, params: dict[str, Any] | None = None) -> Any:
    """One request on the daemon's socket; raises RuntimeError with the daemon's message on an error."""
    reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=64 * 1024 * 1024)
    try:
        line = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}})
        writer.write(line + b"\n")
        await writer.drain()
        answer = orjson.loads(await reader.readline())
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if "error" in answer:
        error = answer["error"]
        raise RuntimeError(f"{method}: {error['message']} ({error.get('data', {}).get('hint', '')})")
    return answer["result"]


def demo_schedule_document(examples: Path, faucet_policy_hex: str, now_ms: int) -> dict[str, Any]:
    """The example schedule, canonical, with the faucet's token and its times relative to chain time."""
    from milestoned.commands.schedule_source import load_schedule
    from milestoned.domain.schedule_canonical import schedule_document
    from milestoned.domain.timestamps import format_timestamp

    document = schedule_document(load_schedule(examples / "schedule.json"))
    document["token"] = {"token_policy_id": faucet_policy_hex, "token_name": TOKEN_NAME.hex()}
    for index, allocation in enumerate(document["beneficiary_allocations"]):
        offset = MILESTONE_OFFSETS_MS.get(allocation["milestone_identifier"], 60_000)
        allocation["vesting_timestamp"] = format_timestamp(now_ms + offset + index * 1000)
    document["reclaim_deadline"] = format_timestamp(now_ms + RECLAIM_OFFSET_MS)
    del document["nonce"]  # derived again from the changed definition: a schedule id of its own
    return document


def demo_operator_key() -> Any:
    """The demo operator wallet's signing key (public seed, demo only)."""
    from pycardano import PaymentSigningKey

    return PaymentSigningKey(hashlib.sha256(b"milestoned/demo/operator").digest())


def write_operator_key(path: Path) -> None:
    """The operator wallet key file, written before the daemon starts so it follows the operator's
    schedules from its first block (and says nothing about a missing key). The key is fixed, so a
    demo folder that already holds it keeps it."""
    if path.exists():
        return
    demo_operator_key().save(str(path))
    path.chmod(0o600)


async def register_demo_schedule(daemon: Any, examples: Path, console: Console) -> str:
    """Fund the demo admin and operator, register the schedule on chain through the socket; its id."""
    from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey, Transaction

    from milestoned.txbuilder.signing import sign, signed_envelope

    devnet = daemon.devnet
    socket_path = Path(daemon.service.config.socket.path)
    admin = PaymentSigningKey(demo_seed("admin"))
    admin_address = Address(PaymentVerificationKey.from_signing_key(admin).hash(), network=Network.TESTNET)
    operator = demo_operator_key()
    operator_address = Address(
        PaymentVerificationKey.from_signing_key(operator).hash(), network=Network.TESTNET
    )
    wallet_key = Path(daemon.service.config.release.wallet_key)
    write_operator_key(wallet_key)  # when the caller started the daemon itself
    devnet.fund(admin_address, 2_000_000_000, {TOKEN_NAME: 10_000_000})
    devnet.fund(operator_address, 500_000_000)
    now_ms = devnet.network.start_time_ms + devnet.chain.slot * devnet.config.slot_length_ms
    document = demo_schedule_document(examples, devnet.faucet.policy.hash().payload.hex(), now_ms)
    registered = await rpc(
        socket_path, "schedule.register", {"schedule": document, "admin_address": str(admin_address)}
    )
    schedule_id: str = registered["schedule_id"]
    console.print(f"[bold]schedule.register[/bold] recorded schedule {schedule_id}")
    envelopes = registered["transactions"]["unsigned"]
    for envelope in envelopes:
        tx = Transaction.from_cbor(bytes.fromhex(envelope["cborHex"]))
        signed = sign(tx, [admin])
        await rpc(socket_path, "tx.submit", {"transactions": [signed_envelope(signed)]})
    console.print(f"signed {len(envelopes)} registration transaction(s) with the demo admin key; submitted")
    expected = len(document["beneficiary_allocations"])
    for _ in range(300):
        claim = await rpc(socket_path, "claimable", {"schedule_id": schedule_id})
        if len(claim["allocations"]) >= expected:
            break
        await asyncio.sleep(0.2)
    else:
        raise RuntimeError(
            f"the indexer saw {len(claim['allocations'])} of {expected} allocations within 60 s; "
            "check the daemon's log above"
        )
    console.print(f"the indexer saw {expected} allocations locked at the validator")
    return schedule_id


async def commit_demo_signatures(socket_path: Path, examples: Path, schedule_id: str, milestone: str) -> Any:
    from milestoned.domain.attestation import sign_attestation
    from milestoned.domain.attestation_file import Attestation, attestation_document

    schedule = bytes.fromhex(schedule_id)
    attestations = [
        attestation_document(
            Attestation(
                schedule, milestone.encode(), sign_attestation(demo_seed(name), schedule, milestone.encode())
            )
        )
        for name in ("oracle-1", "oracle-2")
    ]
    return await rpc(socket_path, "signature.commit", {"attestations": attestations})


def claimable_table(answer: dict[str, Any], title: str) -> Table:
    from milestoned.domain.timestamps import format_timestamp

    table = Table(title=title, title_justify="left")
    for header in ("beneficiary", "milestone", "amount", "status"):
        table.add_column(header)
    for row in answer["allocations"]:
        if row["released"]:
            status = "released"
        elif row["in_flight"]:
            status = "release submitted"
        elif row["claimable_now"]:
            status = "claimable now"
        elif not row["milestone_verified"]:
            status = "waiting for oracles"
        else:
            status = f"vests {format_timestamp(row['next_unlock_ms'])}"
        table.add_row(row["beneficiary"][:24] + "…", row["milestone"], str(row["amount"]), status)
    return table


async def run_demo_daemon(
    examples: Path,
    *,
    data_dir: Path | None = None,
    linger_s: float | None = None,
    http_port: int = 0,
    exit_after_release: bool = False,
    web_listen: str = DEMO_WEB_LISTEN,
) -> int:
    """Run the demo; `linger_s` None keeps the daemon until SIGINT/SIGTERM, a number stops it after that.

    `exit_after_release` stops as soon as the first auto-release is seen on chain (scripted rehearsals
    and the demo's own test), with `linger_s` as the cap.
    """
    from milestoned.daemon.app import running_daemon
    from milestoned.daemon.logs import configure_logging

    console = Console()
    folder_context = (
        contextlib.nullcontext(str(data_dir))
        if data_dir is not None
        else tempfile.TemporaryDirectory(prefix="milestoned-demo-")
    )
    with folder_context as folder_name:
        folder = Path(folder_name)
        folder.mkdir(parents=True, exist_ok=True)
        configure_logging("console", "warning")
        config = with_overrides(demo_config(folder, http_port), web={"listen": web_listen})
        write_operator_key(Path(config.release.wallet_key))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with running_daemon(config) as daemon:
            socket_path = Path(config.socket.path)
            status = await rpc(socket_path, "status")
            console.print(f"[bold]milestoned[/bold] on the embedded devnet at {status['embedded_devnet']}")
            console.print(f"socket: {socket_path}   (export MILESTONED_SOCKET={socket_path})")
            if daemon.web is not None:
                console.print(f"web view: {daemon.web.url}   (read-only; docs/web.md)")
            schedule_id = await register_demo_schedule(daemon, examples, console)
            first = "M1-testnet-launch"
            committed = await commit_demo_signatures(socket_path, examples, schedule_id, first)
            reached = [m for m in committed["milestones"] if m["quorum_reached"]]
            console.print(
                f"[bold]signature.commit[/bold]: {committed['committed']} oracle signatures for {first!r}; "
                f"quorum reached: {bool(reached)}"
            )
            console.print(claimable_table(await rpc(socket_path, "claimable"), "claimable (chain time)"))
            console.print(
                f"{first} vests in about {MILESTONE_OFFSETS_MS[first] // 1000} s of chain time; the daemon's "
                "auto-release job then releases it, paid by the demo operator wallet."
            )
            console.print(
                "try: milestonectl status | milestones | claimable | submissions | log verify | log replay"
            )
            deadline = None if linger_s is None else loop.time() + linger_s
            released_shown = False
            while not stop.is_set() and (deadline is None or loop.time() < deadline):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                if not released_shown:
                    answer = await rpc(socket_path, "claimable")
                    if any(row["released"] for row in answer["allocations"]):
                        console.print(claimable_table(answer, "after auto-release"))
                        released_shown = True
                        if exit_after_release:
                            break
            verify = await rpc(socket_path, "log.verify")
            console.print(verify["summary"])
        if data_dir is None:  # the devnet's chain, beside the temporary data directory, goes with it
            shutil.rmtree(config.devnet.state_path(config.store.data_dir), ignore_errors=True)
    return 0


def main(examples: Path, linger_s: float | None = None, exit_after_release: bool = False) -> int:
    try:
        return asyncio.run(
            run_demo_daemon(examples, linger_s=linger_s, exit_after_release=exit_after_release)
        )
    except KeyboardInterrupt:
        return 0
