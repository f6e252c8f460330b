"""The daemon's query link to Ogmios: node tip, network magic, slot clock, and the txbuilder's chain.

Why a second connection beside chain sync: chain sync pipelines `nextBlock` and may be mid-intersection;
queries (tip, protocol parameters, UTxOs, submit) must not wait behind it. This link reconnects lazily:
a failed query marks it disconnected (the health answer says so) and the next use tries again.
`milestonectl doctor` and `log report` use the same link for the node's facts and a devnet's slot clock.

The slot clock of the projections: the public networks use their published constants (so a replay gives
the same bytes on any machine); the devnet's start time is whatever the devnet says, read once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import structlog

from milestoned.domain.network import CardanoNetwork
from milestoned.ogmios.client import OgmiosClient
from milestoned.ogmios.errors import OgmiosConnectionError, OgmiosError
from milestoned.ogmios.model import ORIGIN
from milestoned.projections.slots import MAINNET, PREPROD, PREVIEW, SlotConfig

log = structlog.get_logger("milestoned.chain")

PUBLIC_SLOT_CONFIGS = {
    CardanoNetwork.MAINNET: MAINNET,
    CardanoNetwork.PREPROD: PREPROD,
    CardanoNetwork.PREVIEW: PREVIEW,
}
QUERY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What `doctor` and the start-up checks read from the node."""

    network_magic: int | None
    tip_slot: int | None
    block_height: int | None
    slot_config: SlotConfig


class ChainLink:
    def __init__(self, url: str, network: CardanoNetwork, call_timeout_s: float = 30.0) -> None:
        self.url = url
        self.network = network
        self.call_timeout_s = call_timeout_s
        """How long a command's chain call may take (`chain.call_timeout_seconds`)."""
        self.client: OgmiosClient | None = None
        self.connected = False
        self.tip_slot: int | None = None
        self.last_error = ""
        self._lock = asyncio.Lock()
        self._chain: Any = None

    async def ensure(self) -> OgmiosClient:
        async with self._lock:
            if self.client is None:
                try:
                    self.client = await OgmiosClient.connect(self.url, open_timeout=QUERY_TIMEOUT_S)
                except (OgmiosConnectionError, OSError) as exc:
                    self._disconnected(exc)
                    raise OgmiosConnectionError(f"cannot reach Ogmios at {self.url}: {exc}") from exc
            return self.client

    def _disconnected(self, exc: BaseException) -> None:
        if self.connected:
            log.warning("lost the Ogmios query link", ogmios_url=self.url, error=str(exc))
        self.connected = False
        self.last_error = str(exc)

    async def reset(self) -> None:
        client, self.client, self._chain = self.client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    async def reset_if_idle(self) -> None:
        """After a call of ours timed out: reset the link only when no other call waits on it.

        Why not always: the link is one connection shared by every chain call, answered in order. A query
        that times out behind a long one (a large release's evaluation on a busy node) says the node is
        slow, not that the link is dead; closing it would fail that other call too (a release's submit
        lost to the scheduler's tip probe). A dead link leaves every call waiting: the last one to time
        out finds the link idle and resets it."""
        client = self.client
        if client is None or client.connection.awaited == 0:
            await self.reset()

    async def refresh_tip(self) -> int | None:
        """Ask the node for its tip; marks the link connected or disconnected."""
        try:
            client = await self.ensure()
            tip = await asyncio.wait_for(client.network_tip(), QUERY_TIMEOUT_S)
        except TimeoutError as exc:
            self._disconnected(exc)
            await self.reset_if_idle()
            return None
        except (OgmiosConnectionError, OSError) as exc:
            self._disconnected(exc)
            await self.reset()
            return None
        except OgmiosError as exc:
            self.last_error = str(exc)
            return self.tip_slot
        if not self.connected:
            log.info("Ogmios query link up", ogmios_url=self.url)
        self.connected = True
        self.tip_slot = 0 if tip == ORIGIN else tip.slot
        return self.tip_slot

    async def node_facts(self) -> NodeFacts:
        client = await self.ensure()
        genesis = await asyncio.wait_for(client.genesis_configuration("shelley"), QUERY_TIMEOUT_S)
        tip = await client.network_tip()
        height = await client.block_height()
        slot_config = await self.slot_config()
        return NodeFacts(
            genesis.network_magic,
            None if tip == ORIGIN else tip.slot,
            height if isinstance(height, int) else None,
            slot_config,
        )

    async def slot_config(self) -> SlotConfig:
        known = PUBLIC_SLOT_CONFIGS.get(self.network)
        if known is not None:
            return known
        client = await self.ensure()
        start = await client.start_time()
        summaries = await client.era_summaries()
        era = summaries[-1]
        start_ms = round(start.timestamp() * 1000) + int(Fraction(era.start.time_seconds) * 1000)
        return SlotConfig(
            zero_time_ms=start_ms, zero_slot=era.start.slot, slot_length_ms=int(era.slot_length_ms)
        )

    async def tx_chain(self) -> Any:
        """The txbuilder's `OgmiosChain` over this link (its parameter cache lives as long as the link)."""
        from milestoned.txbuilder.chain_context import OgmiosChain

        client = await self.ensure()
        if self._chain is None or self._chain.client is not client:
            self._chain = OgmiosChain(client, self.network)
        return self._chain
