"""`milestonectl doctor`: check everything the daemon depends on, and say how to fix each failure.

Checks, in the order an operator would fix them: the configuration file, Ogmios (reachable, the right
network magic, the node synced with the wall clock), the store, the socket (a socket, mode 0660, the
configured group, a daemon answering), and the operator wallet key's permissions. Without `--config`,
the daemon's defaults and environment variables are used, and what the running daemon reports (its
Ogmios URL, e.g. of an embedded devnet) fills in what it can.
"""

from __future__ import annotations

import asyncio
import grp
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, ExitCode, Output
from milestoned.commands.socket_client import DaemonClient

NODE_BEHIND_WARN_S = 600


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail" | "skip"
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def doctor(config_path: Path | None, socket_option: Path | None, out: Output) -> int:
    checks = run_checks(config_path, socket_option)
    failed = any(c.status == "fail" for c in checks)
    if out.json_mode:
        out.emit_json({"ok": not failed, "checks": [c.to_json() for c in checks]})
    else:
        style = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
        out.table(
            "milestoned doctor",
            (Column("check", no_wrap=True), Column("status"), Column("detail"), Column("how to fix")),
            [(c.name, c.status, c.detail, c.fix) for c in checks],
        )
        out.line(
            "all checks passed" if not failed else "some checks failed: see 'how to fix'",
            style=style["fail" if failed else "ok"],
        )
    return ExitCode.FAILED if failed else ExitCode.OK


def run_checks(config_path: Path | None, socket_option: Path | None) -> list[Check]:
    from milestoned.shared.config import ConfigError, DaemonConfig, load_config

    checks: list[Check] = []
    try:
        config = load_config(config_path)
        checks.append(Check("config", "ok", str(config_path) if config_path else "defaults and environment"))
    except ConfigError as exc:
        checks.append(Check("config", "fail", "; ".join(exc.problems), "fix the listed keys"))
        config = DaemonConfig()
    socket_path = socket_option or Path(config.socket.path)
    socket_checks, daemon_status = _socket_checks(socket_path, config.socket.group, config.socket.mode)
    url = config.chain.ogmios_url
    if config.chain.embedded:
        url = (daemon_status or {}).get("ogmios_url") or ""
    if url:
        checks.extend(asyncio.run(_ogmios_checks(url, config)))
    else:
        checks.append(
            Check(
                "ogmios",
                "skip",
                "embedded devnet: its URL is known once the daemon runs",
                "start the daemon, then run doctor again",
            )
        )
    checks.append(_store_check(config))
    if checks[-1].status == "ok":
        checks.append(_log_check(config))
    checks.extend(socket_checks)
    checks.append(_wallet_check(config.release.wallet_key, config.release.auto))
    return checks


async def _ogmios_checks(url: str, config: Any) -> list[Check]:
    from milestoned.shared.chain_link import ChainLink

    link = ChainLink(url, config.chain.cardano_network)
    checks: list[Check] = []
    try:
        facts = await asyncio.wait_for(link.node_facts(), 20)
    except Exception as exc:
        return [
            Check(
                "ogmios reachable",
                "fail",
                f"{url}: {exc}",
                "start Ogmios and its cardano-node (infra/compose/docker-compose.yml), "
                "or fix chain.ogmios_url",
            )
        ]
    finally:
        await link.reset()
    checks.append(Check("ogmios reachable", "ok", url))
    expected = config.expected_magic
    if facts.network_magic == expected:
        checks.append(Check("network magic", "ok", f"{facts.network_magic} ({config.chain.network})"))
    else:
        checks.append(
            Check(
                "network magic",
                "fail",
                f"the node is on magic {facts.network_magic}, the config "
                f"says {config.chain.network} ({expected})",
                "point chain.ogmios_url at the Ogmios of the right network, or fix chain.network",
            )
        )
    if facts.tip_slot is None:
        checks.append(Check("node sync", "fail", "the node is at the origin", "wait for the node to sync"))
    else:
        behind_s = (time.time() * 1000 - facts.slot_config.slot_to_posix_ms(facts.tip_slot)) / 1000
        if behind_s > NODE_BEHIND_WARN_S:
            checks.append(
                Check(
                    "node sync",
                    "warn",
                    f"the node's tip is {behind_s / 3600:.1f} h behind the wall clock",
                    "wait for cardano-node to sync (check its log), or check the machine's clock",
                )
            )
        else:
            checks.append(
                Check("node sync", "ok", f"tip at slot {facts.tip_slot}, height {facts.block_height}")
            )
    return checks


def _store_check(config: Any) -> Check:
    from milestoned.eventlog.config import PostgresConfig, parse_store_url

    store = parse_store_url(config.store.log_url)
    if isinstance(store, PostgresConfig):
        try:
            import psycopg

            with psycopg.connect(**store.conninfo()) as conn:  # type: ignore[arg-type]
                conn.execute("SELECT 1")
        except Exception as exc:
            return Check(
                "store",
                "fail",
                f"{store.describe()}: {exc}",
                "start PostgreSQL, create the database, check user/password in store.url",
            )
        return Check("store", "ok", store.describe())
    path = store.path
    folder = path.parent
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return Check(
                "store",
                "fail",
                f"{path} is not readable and writable by this user",
                f"run as the daemon's user, or chown it to that user: chown milestoned {path}",
            )
        return Check("store", "ok", f"{path} ({path.stat().st_size} bytes)")
    if not folder.exists():
        return Check(
            "store",
            "fail",
            f"{folder} does not exist",
            f"create it for the daemon's user: install -d -o milestoned -m 0750 {folder}",
        )
    if not os.access(folder, os.W_OK):
        return Check(
            "store",
            "warn",
            f"{path} does not exist yet and {folder} is not writable by this user",
            "fine if the daemon runs as another user that owns it",
        )
    return Check("store", "ok", f"{path} will be created on first start")


def _log_check(config: Any) -> Check:
    """The event log verified where it lies (hash chain, positions, the head recorded outside it), as the
    daemon does at its start: what the daemon would do with it is the fix."""
    from milestoned.eventlog.anchor import HEAD_FILE_NAME, HeadFile
    from milestoned.eventlog.config import parse_store_url
    from milestoned.eventlog.verify import check_store

    check = check_store(
        parse_store_url(config.store.log_url), HeadFile(Path(config.store.data_dir) / HEAD_FILE_NAME)
    )
    if check.sound:
        return Check("event log", "ok", "hash chain intact; the log reaches its recorded head")
    return Check(
        "event log",
        "fail",
        "; ".join(check.problems[:3])
        + (f" (and {len(check.problems) - 3} more)" if len(check.problems) > 3 else ""),
        "the daemon will move this store aside and rebuild the log from the chain at its next start "
        "(`milestoned rebuild` does it now); see docs/operations.md, Disaster recovery",
    )


def _socket_checks(path: Path, group: str, mode: int) -> tuple[list[Check], dict[str, Any] | None]:
    checks: list[Check] = []
    if not path.exists():
        return [
            Check(
                "socket",
                "fail",
                f"no socket at {path}",
                "start the daemon (systemctl start milestoned), or pass --socket with its socket.path",
            )
        ], None
    info = path.stat()
    if not stat.S_ISSOCK(info.st_mode):
        return [Check("socket", "fail", f"{path} is not a socket", "remove it and restart the daemon")], None
    actual = stat.S_IMODE(info.st_mode)
    if actual & 0o007:
        checks.append(
            Check(
                "socket mode",
                "fail",
                f"{actual:04o}: every local user can connect",
                f'set socket.mode = "0660" and restart (or chmod 0660 {path})',
            )
        )
    elif actual != mode:
        checks.append(
            Check("socket mode", "warn", f"{actual:04o}, the config says {mode:04o}", "restart the daemon")
        )
    else:
        checks.append(Check("socket mode", "ok", f"{actual:04o}"))
    if group:
        try:
            expected_gid = grp.getgrnam(group).gr_gid
        except KeyError:
            expected_gid = -1
        if info.st_gid != expected_gid:
            checks.append(
                Check(
                    "socket group",
                    "fail",
                    f"group id {info.st_gid}, not {group}",
                    f"chgrp {group} {path}, or restart the daemon with socket.group = {group!r}",
                )
            )
        else:
            checks.append(Check("socket group", "ok", group))
    try:
        with DaemonClient(path, timeout_s=10) as client:
            status = client.call("status")
    except Exception as exc:
        checks.append(
            Check(
                "daemon answers",
                "fail",
                str(exc),
                "check `systemctl status milestoned` / `journalctl -u milestoned`",
            )
        )
        return checks, None
    role = "admin" if status["caller"]["admin"] else "read-only"
    checks.append(
        Check(
            "daemon answers", "ok", f"{status['state']}, log at {status['log']['position']}, you are {role}"
        )
    )
    return checks, status


def _wallet_check(wallet_key: str, auto: bool) -> Check:
    if not wallet_key:
        if auto:
            return Check(
                "wallet key",
                "fail",
                "auto-release is on but release.wallet_key is empty",
                "set release.wallet_key to the operator's payment .skey",
            )
        return Check(
            "wallet key", "skip", "no operator wallet configured (release from beneficiaries' wallets)"
        )
    from milestoned.commands.keyfiles import check_key_file

    report = check_key_file(Path(wallet_key))
    if report.ok:
        return Check("wallet key", "ok", f"{wallet_key} (owner-only)")
    return Check(
        "wallet key",
        "fail",
        "; ".join(p.problem for p in report.problems),
        "; ".join(p.fix for p in report.problems if p.fix),
    )
