"""`milestoned devnet`: run the devnet in the foreground until Ctrl-C.

WHY its own module: the daemon's CLI only registers the sub-command; the options, the parsing of
genesis funds (bech32 addresses or key files, on the command line or in a file) and the run loop
live with the devnet they configure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path

from pycardano import (
    Address,
    Network,
    PaymentExtendedSigningKey,
    PaymentExtendedVerificationKey,
    PaymentSigningKey,
    PaymentVerificationKey,
)

from milestoned.devnet.profiles import NAMES as PROFILE_NAMES
from milestoned.devnet.profiles import ProfileError
from milestoned.devnet.service import DevnetConfig, run_devnet
from milestoned.devnet.store import StateError

DEFAULT_FUND = 100_000_000_000
"""Lovelace given to a funded address when its amount is left out (100,000 ada)."""


class FundError(ValueError):
    """A genesis fund that cannot be read; the message says what to write instead."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=1337, help="Ogmios port (default: 1337; 0 picks a free one)"
    )
    parser.add_argument(
        "--slot-length",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="slot length in seconds (default: 1)",
    )
    parser.add_argument(
        "--fund",
        action="append",
        default=[],
        metavar="ADDR[:LOVELACE]",
        help="genesis funds for a bech32 address or a payment key file (.vkey/.skey); repeatable; "
        f"LOVELACE defaults to {DEFAULT_FUND}",
    )
    parser.add_argument(
        "--fund-file",
        type=Path,
        metavar="FILE",
        help='genesis funds from a file: a JSON object {"addr_test1...": lovelace} '
        "or one ADDR[:LOVELACE] per line",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        help="shape the devnet like a public network: its network magic, system start, security "
        "parameter and era history (Byron's 20-second slots, then 1-second slots); the mainnet "
        "profile wants mainnet addresses. Default: a devnet forked into Conway at its start (magic 42)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="keep the chain in DIR: started again with the same DIR, the devnet continues the same chain "
        "(blocks, UTxOs, slot clock, faucet and its token policy); default: a new chain in memory",
    )
    parser.add_argument(
        "--failing-scripts-take-collateral",
        action="store_true",
        help="TEST SWITCH: include a transaction marked valid whose scripts fail and take its collateral, "
        "instead of refusing it (3136) as a node does; puts failed-script transactions on the chain",
    )
    # The old opt-in for what is now the default; still accepted so existing scripts keep working.
    parser.add_argument("--reject-failing-scripts", action="store_true", help=argparse.SUPPRESS)


def parse_fund(spec: str, *, mainnet: bool = False) -> tuple[str, int]:
    """`ADDR[:LOVELACE]` -> (bech32 address, lovelace). ADDR may be a payment key file."""
    target, _, amount = spec.strip().partition(":") if ":" in spec else (spec.strip(), "", "")
    if ":" in amount:  # a key-file path with a colon in it: the amount is after the last one
        extra, _, amount = amount.rpartition(":")
        target = f"{target}:{extra}"
    try:
        lovelace = int(amount.replace("_", "")) if amount else DEFAULT_FUND
    except ValueError as exc:
        raise FundError(f"{spec!r}: the amount after ':' must be a whole number of lovelace") from exc
    if lovelace <= 0:
        raise FundError(f"{spec!r}: the amount must be positive")
    return address_of(target, mainnet=mainnet), lovelace


KEY_TYPES = {
    "PaymentSigningKeyShelley_ed25519": PaymentSigningKey,
    "PaymentVerificationKeyShelley_ed25519": PaymentVerificationKey,
    "PaymentExtendedSigningKeyShelley_ed25519_bip32": PaymentExtendedSigningKey,
    "PaymentExtendedVerificationKeyShelley_ed25519_bip32": PaymentExtendedVerificationKey,
}
"""cardano-cli key envelopes by their `type`: each file is read as what it says it is."""


def address_of(target: str, *, mainnet: bool = False) -> str:
    """A bech32 address as given, or the testnet enterprise address of a payment key file."""
    path = Path(target)
    if path.is_file():
        try:
            kind = json.loads(path.read_text()).get("type", "")
            key = KEY_TYPES[kind].load(str(path))
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise FundError(
                f"{target}: not a cardano-cli payment key file "
                f"(.vkey or .skey of type {', '.join(KEY_TYPES)})"
            ) from exc
        verification = (
            key.to_verification_key()
            if isinstance(key, PaymentSigningKey | PaymentExtendedSigningKey)
            else key
        )
        return str(Address(verification.hash(), network=Network.MAINNET if mainnet else Network.TESTNET))
    try:
        return str(Address.from_primitive(target))
    except Exception as exc:
        raise FundError(f"{target!r} is neither a bech32 address nor a payment key file") from exc


def read_fund_file(path: Path, *, mainnet: bool = False) -> list[tuple[str, int]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise FundError(f"cannot read the fund file {path}: {exc.strerror}") from exc
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            entries = json.loads(stripped)
        except ValueError as exc:
            raise FundError(f"{path}: invalid JSON ({exc})") from exc
        return [parse_fund(f"{address}:{lovelace}", mainnet=mainnet) for address, lovelace in entries.items()]
    return [
        parse_fund(line, mainnet=mainnet)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def collect_funds(specs: list[str], fund_file: Path | None, *, mainnet: bool = False) -> dict[str, int]:
    funds: dict[str, int] = {}
    entries = [parse_fund(spec, mainnet=mainnet) for spec in specs]
    if fund_file is not None:
        entries += read_fund_file(fund_file, mainnet=mainnet)
    for address, lovelace in entries:
        funds[address] = funds.get(address, 0) + lovelace
    return funds


async def serve(config: DevnetConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with run_devnet(config) as devnet:
        print(f"devnet started; network start time {devnet.network.start_time_json()}", flush=True)
        print(f"Ogmios URL: {devnet.url}", flush=True)
        network = devnet.network
        kind = "mainnet" if network.mainnet else "testnet"
        print(
            f"slot length: {network.slot_length_ms} ms; network magic {network.network_magic} ({kind})",
            flush=True,
        )
        print(f"faucet: {devnet.faucet.address} (token policy {devnet.faucet.policy_id.hex()})", flush=True)
        if config.state_dir is not None:
            kept = f"continued: {len(devnet.chain.blocks)} blocks" if devnet.restored else "a new chain"
            print(f"state: {config.state_dir} ({kept})", flush=True)
        for address, lovelace in config.funds.items():
            print(f"funded: {address} {lovelace} lovelace", flush=True)
        await stop.wait()
        print("devnet stopping", flush=True)


def main(args: argparse.Namespace) -> int:
    try:
        funds = collect_funds(args.fund, args.fund_file, mainnet=args.profile == "mainnet")
        config = DevnetConfig(
            host=args.host,
            port=args.port,
            slot_length=args.slot_length,
            funds=funds,
            failing_scripts="collateral" if args.failing_scripts_take_collateral else "reject",
            state_dir=args.state,
            profile=args.profile,
        )
        config.slot_length_ms  # noqa: B018  (validates the slot length before anything starts)
    except (FundError, ValueError) as exc:
        print(f"milestoned devnet: {exc}")
        return 2
    try:
        asyncio.run(serve(config))
    except (StateError, ProfileError) as exc:
        print(f"milestoned devnet: {exc}")
        return 2
    except OSError as exc:
        print(
            f"milestoned devnet: cannot listen on {args.host}:{args.port}: {exc.strerror}; "
            "choose another --port"
        )
        return 1
    return 0
