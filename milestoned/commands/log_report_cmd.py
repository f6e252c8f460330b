"""`milestonectl log report --log STORE --html FILE`: the web view of a replayed event log, offline.

No daemon needed: the log is read where it lies (a copy of events.db, or the store URL), verified,
replayed into fresh projections, and written as one self-contained HTML file (milestoned.web.report).
Chain time needs the network's slot clock: known for mainnet, preprod and preview; a devnet's comes
from its Ogmios (`--ogmios URL`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from milestoned.commands.output import CommandError, ExitCode, Output
from milestoned.domain.network import CardanoNetwork
from milestoned.projections.slots import SlotConfig


def _network_of(event_log: object, given: str | None) -> CardanoNetwork:
    from milestoned.eventlog.events import ScheduleDiscovered, ScheduleRegistered

    names = {given} if given else set()
    if not names:
        for logged in event_log.iter_events():  # type: ignore[attr-defined]
            if isinstance(logged.event, ScheduleRegistered | ScheduleDiscovered):
                names.add(str(logged.event.definition.get("network") or "unnamed"))
    if len(names) != 1 or "unnamed" in names:
        raise CommandError(
            "the log does not say which network it followed"
            + (f" (its schedules name {', '.join(sorted(names))})" if names else " (it has no schedule)"),
            "give --network mainnet|preprod|preview|devnet",
        )
    name = names.pop()
    try:
        return CardanoNetwork(name)
    except ValueError:
        raise CommandError(f"{name!r} is not a network", "use mainnet, preprod, preview or devnet") from None


def log_report(source: str, html_out: Path, network: str | None, ogmios: str | None, out: Output) -> int:
    from milestoned.commands.audit_cmd import _require_schema
    from milestoned.eventlog import EventLog
    from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, parse_store_url
    from milestoned.shared.chain_link import PUBLIC_SLOT_CONFIGS, ChainLink
    from milestoned.web.report import write_report

    try:
        config = parse_store_url(source)
    except ValueError as exc:
        raise CommandError(str(exc), "give --log the daemon's events.db path or its store URL") from None
    if isinstance(config, SQLiteConfig) and not config.path.is_file():
        raise CommandError(
            f"there is no event log at {config.path}",
            "give the daemon's log: DATA_DIR/events.db (see store.data_dir in its config), or its store URL",
        )
    if isinstance(config, PostgresConfig):
        _require_schema(config)
    if not html_out.parent.is_dir():
        raise CommandError(
            f"the folder of {html_out} does not exist", "create it, or write the report elsewhere"
        )
    try:
        event_log = EventLog(config)
    except Exception as exc:
        raise CommandError(
            f"cannot read the event log at {config.describe()}: {exc}", "check the path"
        ) from None
    with event_log:
        cardano_network = _network_of(event_log, network)
        slots = PUBLIC_SLOT_CONFIGS.get(cardano_network)
        if slots is None:
            if not ogmios:
                raise CommandError(
                    f"a {cardano_network.value} log needs its chain's slot clock to show chain time",
                    "give --ogmios URL of that devnet (`milestonectl status` shows the embedded one)",
                )
            link = ChainLink(ogmios, cardano_network)

            async def ask() -> SlotConfig:
                try:
                    return await link.slot_config()
                finally:
                    await link.reset()

            try:
                slots = asyncio.run(ask())
            except Exception as exc:
                raise CommandError(
                    f"cannot ask {ogmios} for its slot clock: {exc}", "check --ogmios"
                ) from None
        result = write_report(event_log, slots, cardano_network.value, config.describe(), html_out)
    if out.json_mode:
        out.emit_json({"ok": True, "result": result})
    else:
        size = f"{result['bytes'] // 1024} KB, {len(result['schedules'])} schedule(s)"
        out.line(f"wrote {result['written']} ({size})")
        out.line(result["verification"])
    return ExitCode.OK if result["verified"] else ExitCode.FAILED
