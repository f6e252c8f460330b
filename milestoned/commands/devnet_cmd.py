"""`milestonectl devnet fund`: ADA and test tokens from a devnet's faucet, for rehearsals.

WHY: rehearsing a schedule on the devnet needs the schedule's token in the admin's wallet, and the only
way to mint it was the devnet's `devnet/fund` JSON-RPC method, documented in a docstring. This command
calls that method over the devnet's Ogmios WebSocket and prints the token's policy id (the faucet's
native-script policy) to write into the rehearsal schedule's `token.token_policy_id`. The policy is the
faucet's: it stays the same for as long as the devnet keeps its faucet key.

Which devnet: `--ogmios URL`; else, when a daemon answers on the socket and runs an embedded devnet,
that one; else the `milestoned devnet` default, ws://127.0.0.1:1337.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from milestoned.commands.output import CommandError, ExitCode, Output

DEFAULT_DEVNET_URL = "ws://127.0.0.1:1337"
DEFAULT_LOVELACE = 10_000_000_000


def parse_asset(spec: str) -> tuple[str, int]:
    """`NAME=QUANTITY` -> (asset name as hex, quantity). NAME is text, or hex after `0x`."""
    name, sep, quantity = spec.partition("=")
    if not sep or not name:
        raise CommandError(f"--asset {spec!r}: expected NAME=QUANTITY", "e.g. --asset MILE=1000000000")
    try:
        amount = int(quantity.replace("_", ""))
    except ValueError:
        raise CommandError(f"--asset {spec!r}: the quantity must be a whole number", "") from None
    if amount <= 0:
        raise CommandError(f"--asset {spec!r}: the quantity must be positive", "")
    if name.startswith("0x"):
        try:
            raw = bytes.fromhex(name[2:])
        except ValueError:
            raise CommandError(f"--asset {spec!r}: {name} is not hex", "write 0x then hex digits") from None
    else:
        raw = name.encode("utf-8")
    if len(raw) > 32:
        raise CommandError(f"--asset {spec!r}: an asset name is at most 32 bytes", "choose a shorter name")
    return raw.hex(), amount


def devnet_url(option: str | None, socket: Path | None) -> str:
    if option:
        return option
    if socket is not None and socket.exists():
        from milestoned.commands.socket_client import call

        try:
            embedded = call(socket, "status").get("embedded_devnet")
        except CommandError:
            embedded = None
        if embedded:
            return str(embedded)
    return DEFAULT_DEVNET_URL


def fund(url: str, target: str, lovelace: int, assets: list[str], out: Output) -> int:
    from milestoned.devnet.cli import FundError, address_of

    try:
        address = address_of(target)
    except FundError as exc:
        raise CommandError(
            str(exc), "give a bech32 addr_test1... address or a payment .vkey/.skey file"
        ) from None
    if lovelace <= 0:
        raise CommandError("--lovelace must be positive", "")
    params: dict[str, Any] = {"address": address, "lovelace": lovelace}
    parsed = [parse_asset(spec) for spec in assets]
    if parsed:
        params["assets"] = dict(parsed)
    result = _call(url, "devnet/fund", params)
    if out.json_mode:
        out.emit_json({"ok": True, "result": result, "address": address, "ogmios_url": url})
        return ExitCode.OK
    out.line(f"funded {address} with {lovelace:,} lovelace in transaction {result['transaction']['id']}")
    for name_hex, quantity in parsed:
        out.line(f"minted {quantity:,} of asset {name_hex} ({bytes.fromhex(name_hex)!r})")
    out.line(f'token policy id: {result["policy"]}  (the rehearsal schedule\'s "token_policy_id")')
    return ExitCode.OK


def _call(url: str, method: str, params: dict[str, Any]) -> Any:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    try:
        with connect(url, open_timeout=10, max_size=None) as connection:
            connection.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}))
            answer = json.loads(connection.recv(timeout=60))
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise CommandError(
            f"cannot reach a devnet at {url}: {exc}",
            'start one (milestoned devnet, or a daemon with chain.ogmios_url = "embedded-devnet"), or pass '
            "--ogmios URL",
        ) from None
    if "error" in answer:
        error = answer["error"]
        if error.get("code") == -32601:
            raise CommandError(
                f"{url} is not a milestoned devnet (it has no {method} method)",
                "devnet funding works only on the milestoned devnet, never on a real network",
            )
        raise CommandError(f"the devnet refused: {error.get('message')}", "", ExitCode.FAILED)
    return answer["result"]
