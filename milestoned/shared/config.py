"""The daemon's configuration: one TOML file, every key overridable by `MILESTONED_<SECTION>_<KEY>`.

Why a plain value built by a pure function: the operator's file, the environment (systemd's
`Environment=`, a container's `-e`) and the defaults meet in ONE place (`load_config`), and every problem
is reported at once with the key, what was wrong and how to write it, before anything opens a socket or a
database. Nothing here reads a file the configuration names: `daemon.config_checks` does (the wallet key),
in `milestoned run` and `--check-config`.

    [chain]      ogmios_url = "ws://127.0.0.1:1337" | "embedded-devnet"; network; start;
                 call_timeout_seconds
    [store]      url (default sqlite under data_dir); data_dir
    [socket]     path, group, mode, admin_uids, admin_gids, max_request_bytes, max_connections,
                 max_connections_per_uid, admin_reserved_connections, read_timeout_seconds,
                 idle_timeout_seconds
    [http]       listen, port (0 = off)
    [web]        listen = "HOST:PORT" (the read-only web view; empty = off, the default), hosts
    [log]        format = auto | json | console; level
    [release]    auto (opt-in), wallet_key, interval_seconds, validity_seconds, build_workers,
                 settle_seconds
    [devnet]     slot_length, port, state_dir (only with ogmios_url = "embedded-devnet")
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from milestoned.domain.network import CardanoNetwork

EMBEDDED_DEVNET = "embedded-devnet"
ENV_PREFIX = "MILESTONED_"
DEFAULT_DATA_DIR = Path("/var/lib/milestoned")
DEFAULT_SOCKET = Path("/run/milestoned/milestoned.sock")
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_BUILD_WORKERS = 64
"""About 90 MB each when idle (measured), so the bound keeps a typo from asking for gigabytes."""
NETWORK_MAGIC: Mapping[CardanoNetwork, int] = {
    CardanoNetwork.MAINNET: 764824073,
    CardanoNetwork.PREPROD: 1,
    CardanoNetwork.PREVIEW: 2,
    CardanoNetwork.DEVNET: 42,
}


class ConfigError(ValueError):
    """The configuration cannot be used; `problems` lists every one as "key: what is wrong; how to fix"."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        where = f" in {source}" if source else ""
        super().__init__(
            f"{len(problems)} configuration problem(s){where}:\n" + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True, slots=True)
class ChainSettings:
    ogmios_url: str = EMBEDDED_DEVNET
    """`ws://host:port` of Ogmios, or `embedded-devnet` to run the local devnet inside the daemon."""
    network: str = "devnet"
    """mainnet | preprod | preview | devnet: checked against the node's network magic."""
    start: str = "tip"
    """Where the indexer starts when the log is empty: origin | tip | SLOT.HEADER_HASH."""
    call_timeout_seconds: float = 30.0
    """Longest a command waits for Ogmios before answering "chain unreachable" (a stalled node): long
    enough for a slow remote Ogmios, short enough that an admin is not left waiting on a dead one."""

    @property
    def cardano_network(self) -> CardanoNetwork:
        return CardanoNetwork(self.network)

    @property
    def embedded(self) -> bool:
        return self.ogmios_url == EMBEDDED_DEVNET


@dataclass(frozen=True, slots=True)
class StoreSettings:
    data_dir: str = str(DEFAULT_DATA_DIR)
    url: str = ""
    """`sqlite:////path/events.db` or `postgresql://user@host/db?schema=s`; default: events.db in data_dir."""
    projections_url: str = ""
    """Where projections live; default: projections.db beside an SQLite log, the same schema on PostgreSQL."""
    recovery_card: str = ""
    """A path off the data directory's disk where the daemon keeps its recovery card up to date (and
    from which a lost or damaged log is rebuilt); a copy is always kept in the data directory."""

    @property
    def log_url(self) -> str:
        return self.url or f"sqlite:///{Path(self.data_dir).resolve() / 'events.db'}"

    @property
    def projection_url(self) -> str:
        if self.projections_url:
            return self.projections_url
        if self.url.startswith(("postgres://", "postgresql://")):
            return self.url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'projections.db'}"


@dataclass(frozen=True, slots=True)
class SocketSettings:
    path: str = str(DEFAULT_SOCKET)
    group: str = ""
    """Group that owns the socket (its members may connect); empty: the daemon's own group."""
    mode: int = 0o660
    admin_uids: tuple[int, ...] = ()
    """Callers with these uids may change things (root always may)."""
    admin_gids: tuple[int, ...] = ()
    """Callers in these groups (primary or supplementary) may change things."""
    admin_group: str = ""
    """A group name whose members are admins (added to admin_gids)."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_connections: int = 64
    """Concurrent clients in all; `admin_reserved_connections` of them only admins may take."""
    max_connections_per_uid: int = 16
    """Concurrent clients of one non-admin uid (one user cannot take every slot)."""
    admin_reserved_connections: int = 4
    """Slots kept for admins: a non-admin is refused once only these are left, so an admin can
    always connect while others hold connections."""
    read_timeout_seconds: float = 30.0
    """Longest time a started request line may take to arrive (a client sending one byte a second
    is closed after this)."""
    idle_timeout_seconds: float = 300.0
    """A connection with no request for this long is closed."""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    listen: str = "127.0.0.1"
    port: int = 9464
    """Prometheus metrics at /metrics and the health answer at /health; 0 turns the endpoint off."""


@dataclass(frozen=True, slots=True)
class WebSettings:
    listen: str = ""
    """HOST:PORT of the read-only web view (docs/web.md), e.g. "127.0.0.1:8080"; empty turns it off.
    Port 0 picks a free port (the log line "web view listening" has the URL)."""
    hosts: str = ""
    """Host names it answers to besides IP addresses and localhost, comma-separated (the name a reverse
    proxy forwards): any other Host header is refused, so a page elsewhere cannot read it by DNS rebinding."""

    def host_names(self) -> tuple[str, ...]:
        return tuple(name.strip().lower() for name in self.hosts.split(",") if name.strip())

    def address(self) -> tuple[str, int]:
        """(host, port) of `listen`; ValueError with the reason when it cannot be one."""
        host, sep, port = self.listen.strip().rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{self.listen!r} is not HOST:PORT")
        return host, int(port)


@dataclass(frozen=True, slots=True)
class LogSettings:
    format: str = "auto"
    """auto (JSON lines unless stdout is a terminal) | json | console."""
    level: str = "info"


@dataclass(frozen=True, slots=True)
class ReleaseSettings:
    auto: bool = False
    """Opt-in: release claimable allocations on beneficiaries' behalf, paid by the operator wallet."""
    wallet_key: str = ""
    """cardano-cli payment .skey of the operator wallet (must be chmod 600); needed by `release`."""
    interval_seconds: float = 60.0
    validity_seconds: int = 600
    settle_seconds: float = 10.0
    """How often submissions are settled with the chain (confirmed, expired, reverted) and intents a
    crash left open are reconciled; shorter shows confirmations sooner, at one log read each time."""
    build_workers: int = 0
    """Worker processes that build release transactions (txbuilder.release_workers); 0, the default,
    builds them in the daemon's process, evaluating in threads. Opt-in: on two cores it measured no
    faster than threads (docs/operations.md §5, build workers)."""


@dataclass(frozen=True, slots=True)
class AnchorSettings:
    every_seconds: float = 0.0
    """Publish the event log's head on chain (metadata label 1968, paid by the operator wallet, about
    0.17 ADA each) this often when it moved; 0 (the default) publishes nothing."""


@dataclass(frozen=True, slots=True)
class FollowSettings:
    """Which schedules found on chain (by their registration metadata) the daemon follows, beyond those
    registered through it and those whose admin is the operator wallet's key."""

    all: bool = False
    """Every schedule of our validator (auditors, explorers)."""
    admin_key_hashes: tuple[str, ...] = ()
    """Admin key hashes (56 hex digits) whose schedules to follow."""
    schedule_ids: tuple[str, ...] = ()
    """Schedule ids (policy ids, 56 hex digits) to follow."""


@dataclass(frozen=True, slots=True)
class DevnetSettings:
    slot_length: float = 1.0
    port: int = 0
    """0 picks a free port (the URL is in `milestonectl status`)."""
    state_dir: str = ""
    """Where the embedded devnet keeps its chain across restarts; default: DATA_DIR.devnet, beside the
    data directory (so a lost data directory can be recovered from the chain it followed)."""

    def state_path(self, data_dir: str) -> Path:
        if self.state_dir:
            return Path(self.state_dir)
        data = Path(data_dir).resolve()
        return data.with_name(data.name + ".devnet")


@dataclass(frozen=True, slots=True)
class HaSettings:
    """Several daemons on one PostgreSQL store: one leads, the others follow (docs/operations.md)."""

    takeover_seconds: float = 10.0
    """How soon a follower takes over from a leader that died or lost the database (at most about
    this long after the database noticed); followers try a third of this apart."""
    name: str = ""
    """How this daemon names itself to the others (a follower's error names the leader); default:
    host, pid and socket path."""


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    chain: ChainSettings = field(default_factory=ChainSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    socket: SocketSettings = field(default_factory=SocketSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    web: WebSettings = field(default_factory=WebSettings)
    log: LogSettings = field(default_factory=LogSettings)
    release: ReleaseSettings = field(default_factory=ReleaseSettings)
    devnet: DevnetSettings = field(default_factory=DevnetSettings)
    follow: FollowSettings = field(default_factory=FollowSettings)
    anchor: AnchorSettings = field(default_factory=AnchorSettings)
    ha: HaSettings = field(default_factory=HaSettings)

    @property
    def expected_magic(self) -> int:
        return NETWORK_MAGIC[self.chain.cardano_network]


SECTIONS: Mapping[str, type] = {
    "chain": ChainSettings,
    "store": StoreSettings,
    "socket": SocketSettings,
    "http": HttpSettings,
    "web": WebSettings,
    "log": LogSettings,
    "release": ReleaseSettings,
    "devnet": DevnetSettings,
    "follow": FollowSettings,
    "anchor": AnchorSettings,
    "ha": HaSettings,
}


# --- value readers: one per field type, from TOML values or environment strings ----------------------


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _to_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        return int(text, 8) if text.startswith("0o") else int(text)
    raise ValueError(f"must be a whole number, got {type(value).__name__}")


def _to_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"must be a number, got {type(value).__name__}")


def _to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"must be a string (in quotes), got {type(value).__name__}")


def _to_ints(value: object) -> tuple[int, ...]:
    if isinstance(value, str):
        parts = [p for p in value.replace(",", " ").split() if p]
        return tuple(_to_int(p) for p in parts)
    if isinstance(value, list):
        return tuple(_to_int(v) for v in value)
    raise ValueError("must be a list of whole numbers, e.g. [1000, 1001] (or '1000,1001' in the environment)")


def _to_hashes(value: object) -> tuple[str, ...]:
    """A list of 28-byte hashes as 56 hex digits (key hashes, policy ids)."""
    if isinstance(value, str):
        items: list[object] = [p for p in value.replace(",", " ").split() if p]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise ValueError("must be a list of 56-hex-digit hashes, e.g. [\"ab12…\"] (or 'ab12…,cd34…')")
    hashes = []
    for item in items:
        if (
            not isinstance(item, str)
            or len(item) != 56
            or any(c not in "0123456789abcdefABCDEF" for c in item)
        ):
            raise ValueError(f"{item!r} is not a 28-byte hash written as 56 hex digits")
        hashes.append(item.lower())
    return tuple(hashes)


def _mode(value: object) -> int:
    if isinstance(value, str):
        return int(value.strip(), 8)  # "0660" or "660": modes are octal
    return _to_int(value)


READERS: Mapping[str, Callable[[object], Any]] = {
    "bool": _to_bool,
    "int": _to_int,
    "float": _to_float,
    "str": _to_str,
    "tuple[int, ...]": _to_ints,
    "tuple[str, ...]": _to_hashes,
}


def _reader(section: type, name: str) -> Callable[[object], Any]:
    if section is SocketSettings and name == "mode":
        return _mode
    annotation = {f.name: f.type for f in fields(section)}[name]
    return READERS[str(annotation)]


# --- loading -----------------------------------------------------------------------------------------


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> DaemonConfig:
    """Defaults, then the TOML file at `path` (if given), then `MILESTONED_<SECTION>_<KEY>` variables."""
    environ = os.environ if environ is None else environ
    source = str(path) if path is not None else "the defaults"
    document: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as handle:
                document = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(
                [
                    f"{path} does not exist; pass --config with the path of your milestoned.toml "
                    "(infra/milestoned.example.toml is a commented starting point)"
                ]
            ) from None
        except PermissionError:
            raise ConfigError([f"{path} is not readable by this user; check its owner and mode"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path} is not valid TOML: {exc}"]) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                [
                    f"{path} is not a text file (byte {exc.start} is not UTF-8): is it the right file? "
                    "the configuration is a UTF-8 TOML file, see infra/milestoned.example.toml"
                ]
            ) from None
        except IsADirectoryError:
            raise ConfigError([f"{path} is a directory; pass the path of the TOML file"]) from None
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for name in document:
        if name not in SECTIONS:
            problems.append(f"[{name}]: unknown section; known sections are {', '.join(SECTIONS)}")
    for section_name, section_type in SECTIONS.items():
        table = document.get(section_name, {})
        if not isinstance(table, dict):
            problems.append(f"{section_name}: must be a [{section_name}] table")
            table = {}
        known = {f.name for f in fields(section_type)}
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key not in known:
                problems.append(
                    f"{section_name}.{key}: unknown key; [{section_name}] takes {', '.join(sorted(known))}"
                )
                continue
            _read_value(section_type, section_name, key, raw, values, problems, "")
        for key in known:
            variable = f"{ENV_PREFIX}{section_name.upper()}_{key.upper()}"
            if variable in environ:
                _read_value(section_type, section_name, key, environ[variable], values, problems, variable)
        for variable in environ:
            if variable.startswith(f"{ENV_PREFIX}{section_name.upper()}_"):
                key = variable[len(ENV_PREFIX) + len(section_name) + 1 :].lower()
                if key not in known:
                    problems.append(
                        f"{variable}: no key {section_name}.{key}; [{section_name}] takes "
                        f"{', '.join(sorted(known))}"
                    )
        sections[section_name] = section_type(**values)
    config = DaemonConfig(**sections)
    problems.extend(validate(config))
    if problems:
        raise ConfigError(problems, source)
    return config


def _read_value(
    section_type: type,
    section: str,
    key: str,
    raw: object,
    values: dict[str, Any],
    problems: list[str],
    variable: str,
) -> None:
    origin = f" (from {variable})" if variable else ""
    try:
        values[key] = _reader(section_type, key)(raw)
    except ValueError as exc:
        problems.append(f"{section}.{key}{origin}: {exc}; got {raw!r}")


def validate(config: DaemonConfig) -> list[str]:
    """Every problem of a config whose values have the right types."""
    problems: list[str] = []
    chain = config.chain
    networks = ", ".join(n.value for n in CardanoNetwork)
    if chain.network not in {n.value for n in CardanoNetwork}:
        problems.append(f"chain.network: {chain.network!r} is not a network; use one of {networks}")
    if not chain.embedded:
        problems.extend(ogmios_url_problems(chain.ogmios_url))
    if not 0 < chain.call_timeout_seconds <= 3600:
        problems.append(
            f"chain.call_timeout_seconds: {chain.call_timeout_seconds} must be a number of seconds in "
            "(0, 3600], e.g. 30"
        )
    if chain.embedded and chain.network != CardanoNetwork.DEVNET.value:
        problems.append(
            f"chain.network: the embedded devnet is network 'devnet', not {chain.network!r}; "
            'set network = "devnet" or point ogmios_url at your node\'s Ogmios'
        )
    try:
        from milestoned.indexer.config import parse_start_point

        parse_start_point(chain.start)
    except ValueError as exc:
        problems.append(f"chain.start: {exc}")
    try:
        from milestoned.eventlog.config import parse_store_url

        parse_store_url(config.store.log_url)
        parse_store_url(config.store.projection_url)
    except ValueError as exc:
        problems.append(f"store.url: {exc}")
    sock = config.socket
    if not sock.path:
        problems.append("socket.path: must name the Unix socket file, e.g. /run/milestoned/milestoned.sock")
    elif len(os.fsencode(sock.path)) > 107:
        problems.append(f"socket.path: {sock.path!r} is longer than the 107 bytes a Unix socket path allows")
    if not 0 <= sock.mode <= 0o777:
        problems.append(f'socket.mode: {oct(sock.mode)} is not a permission mode; use "0660"')
    elif sock.mode & 0o007:
        problems.append(
            f'socket.mode: {oct(sock.mode)} lets every user on the machine connect; use "0660" and put '
            "the users who may query into socket.group"
        )
    if sock.group:
        problems.extend(_group_problem("socket.group", sock.group))
    if sock.admin_group:
        problems.extend(_group_problem("socket.admin_group", sock.admin_group))
    if any(u < 0 for u in sock.admin_uids) or any(g < 0 for g in sock.admin_gids):
        problems.append("socket.admin_uids / admin_gids: ids are whole numbers >= 0")
    if not 1024 <= sock.max_request_bytes <= 256 * 1024 * 1024:
        problems.append(
            f"socket.max_request_bytes: {sock.max_request_bytes} is out of range; use 1024 .. 268435456 "
            f"(default {DEFAULT_MAX_REQUEST_BYTES})"
        )
    if sock.max_connections < 1:
        problems.append("socket.max_connections: must be at least 1")
    elif not 0 <= sock.admin_reserved_connections < sock.max_connections:
        problems.append(
            f"socket.admin_reserved_connections: {sock.admin_reserved_connections} must be at least 0 and "
            f"below socket.max_connections ({sock.max_connections}); e.g. 4"
        )
    if sock.max_connections_per_uid < 1:
        problems.append("socket.max_connections_per_uid: must be at least 1, e.g. 16")
    for key in ("read_timeout_seconds", "idle_timeout_seconds"):
        if not 0 < getattr(sock, key) <= 86400:
            problems.append(f"socket.{key}: {getattr(sock, key)} must be a number of seconds in (0, 86400]")
    if not 0 <= config.http.port <= 65535:
        problems.append(f"http.port: {config.http.port} is not a TCP port; use 1..65535, or 0 to turn it off")
    if config.web.listen:
        try:
            config.web.address()
        except ValueError as exc:
            problems.append(f'web.listen: {exc}; use e.g. "127.0.0.1:8080" (or leave it empty: off)')
    if config.log.format not in ("auto", "json", "console"):
        problems.append(f"log.format: {config.log.format!r} is not a format; use auto, json or console")
    if config.log.level.lower() not in ("debug", "info", "warning", "error"):
        problems.append(f"log.level: {config.log.level!r} is not a level; use debug, info, warning or error")
    release = config.release
    if release.auto and not release.wallet_key:
        problems.append(
            "release.wallet_key: auto-release is on but no operator wallet key is set; set wallet_key to the "
            "path of a cardano-cli payment .skey (chmod 600), or set release.auto = false"
        )
    if release.interval_seconds <= 0:
        problems.append("release.interval_seconds: must be a positive number of seconds")
    if not 0 < release.settle_seconds <= 3600:
        problems.append(
            f"release.settle_seconds: {release.settle_seconds} is outside (0, 3600]; the default is 10"
        )
    if not 1.5 <= config.ha.takeover_seconds <= 60:
        problems.append(
            f"ha.takeover_seconds: {config.ha.takeover_seconds} is outside 1.5..60; the default is 10 "
            "(shorter: more election queries; longer: a longer wait after the leader dies)"
        )
    if config.anchor.every_seconds < 0 or 0 < config.anchor.every_seconds < 60:
        problems.append(
            "anchor.every_seconds: must be 0 (off) or at least 60 "
            "(each anchor is a transaction that costs fees)"
        )
    if config.anchor.every_seconds and not release.wallet_key:
        problems.append(
            "release.wallet_key: anchor.every_seconds is set but no operator wallet key pays for the "
            "anchors; set release.wallet_key, or anchor.every_seconds = 0"
        )
    if release.validity_seconds < 60:
        problems.append("release.validity_seconds: must be at least 60 (a transaction needs time to land)")
    if not 0 <= release.build_workers <= MAX_BUILD_WORKERS:
        problems.append(
            f"release.build_workers: must be 0 (build in the daemon's process) to {MAX_BUILD_WORKERS} worker "
            f"processes, not {release.build_workers}; more than the cores gains nothing, and each takes "
            "about 90 MB"
        )
    if config.devnet.slot_length <= 0:
        problems.append("devnet.slot_length: must be a positive number of seconds, e.g. 1.0 or 0.2")
    return problems


def ogmios_url_problems(url: str) -> list[str]:
    """What is wrong with an Ogmios URL, so that `run` never starts with one it cannot connect to.

    Why this strict: a URL without a host, with a port that is not a number or out of range, or with a
    space in it passed the old prefix check and then either crashed `run` with a traceback or had the
    daemon retry a connection that can never succeed, forever.
    """
    from urllib.parse import urlsplit

    fix = f"write ws://HOST:PORT, e.g. ws://127.0.0.1:1337 (Ogmios' default port), or {EMBEDDED_DEVNET!r}"
    key = "chain.ogmios_url"
    if not url.startswith(("ws://", "wss://")):
        return [f"{key}: {url!r} is not a WebSocket URL; {fix}"]
    if any(c.isspace() for c in url):
        return [f"{key}: {url!r} contains a space; remove it ({fix})"]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [f"{key}: {url!r} has a bad port ({exc}); the port is a number 1..65535; {fix}"]
    if not parts.hostname:
        return [f"{key}: {url!r} names no host; {fix}"]
    if port is not None and port == 0:
        return [f"{key}: {url!r} has port 0; the port is a number 1..65535; {fix}"]
    if parts.query or parts.fragment:
        return [f"{key}: {url!r} has a query or fragment Ogmios does not use; {fix}"]
    return []


def _group_problem(key: str, name: str) -> list[str]:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return [
            f"{key}: there is no group {name!r} on this machine; create it (groupadd {name}) or fix the name"
        ]
    return []


def with_overrides(config: DaemonConfig, **sections: Mapping[str, Any]) -> DaemonConfig:
    """A copy with some fields of some sections replaced (for tests and the demo wiring)."""
    changed = {name: replace(getattr(config, name), **values) for name, values in sections.items()}
    return replace(config, **changed)


def config_document(config: DaemonConfig) -> dict[str, dict[str, Any]]:
    """The effective configuration as a JSON-ready document (no secrets: the wallet key is a path)."""
    return {name: _section_document(config, name) for name in SECTIONS}


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _section_document(config: DaemonConfig, name: str) -> dict[str, Any]:
    section = getattr(config, name)
    document = {f.name: _jsonable(getattr(section, f.name)) for f in fields(SECTIONS[name])}
    if name == "socket":
        document["mode"] = f"{section.mode:04o}"
    return document
