"""The running devnet: chain, network, slot clock and server, as one in-process async service.

WHY an async context manager: tests, benchmarks and the daemon's `make run` embed the devnet in their
own event loop; `async with run_devnet(...) as devnet` gives them its URL and control methods and
stops everything (clock, sockets) on exit, whatever happened inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pycardano import Address

from milestoned.devnet.chain import Block, Chain
from milestoned.devnet.faucet import Faucet, new_faucet
from milestoned.devnet.ledger import ValidatedTransaction
from milestoned.devnet.network import Network
from milestoned.devnet.parameters import FIRST_SLOT, MAINNET_CONWAY, ProtocolParameters
from milestoned.devnet.profiles import ProfileError, load_profile
from milestoned.devnet.server import DevnetServer
from milestoned.devnet.store import ChainStore, SavedNetwork, StateError, StateJournal

IDLE_BLOCK_SLOTS = 20
"""With an empty mempool a block still comes every 20 slots (mainnet's active-slot coefficient 1/20)."""


@dataclass(frozen=True)
class DevnetConfig:
    """How to run a devnet. `clock=False` freezes time: only `devnet/*` calls move slots and make blocks."""

    host: str = "127.0.0.1"
    port: int = 1337
    slot_length: float = 1.0
    funds: Mapping[str, int] = field(default_factory=dict)
    """Genesis lovelace by bech32 address."""
    clock: bool = True
    idle_block_slots: int = IDLE_BLOCK_SLOTS
    failing_scripts: Literal["collateral", "reject"] = "reject"
    """"reject" (the default) refuses a transaction marked valid whose scripts fail, as a node does (3136).
    "collateral" is a test switch: such a transaction is included and its collateral taken, to put
    failed-script transactions (`spends: "collaterals"`) on a devnet chain."""
    params: ProtocolParameters = MAINNET_CONWAY
    start_time: datetime.datetime | None = None
    """Network start time (whole seconds). By default one epoch before now, so the clock starts in epoch 1."""
    profile: str | None = None
    """A public network's shape (mainnet, preprod, preview): magic, system start, era history."""
    state_dir: Path | None = None
    """Keep the chain in this directory: a devnet started again on it continues the same chain
    (blocks, UTxO set, slot clock, faucet key and token policy). None: a new chain in memory."""

    @property
    def slot_length_ms(self) -> int:
        milliseconds = round(self.slot_length * 1000)
        if milliseconds < 1:
            raise ValueError(f"slot length {self.slot_length}s is too short; use at least 0.001 s")
        return milliseconds


class Devnet:
    """A started devnet. Control it from the same event loop it runs in."""

    def __init__(self, config: DevnetConfig, faucet: Faucet | None = None) -> None:
        self.config = config
        store = ChainStore(config.state_dir) if config.state_dir is not None else None
        saved = store.load_network() if store is not None and store.exists else None
        funds = {str(Address.from_primitive(a)): lovelace for a, lovelace in config.funds.items()}
        profile = load_profile(config.profile) if config.profile is not None else None
        if profile is not None and config.slot_length_ms != profile.network.slot_length_ms:
            raise ProfileError(
                f"the {profile.name} profile has {profile.network.slot_length_ms / 1000:g}-second slots; "
                "leave out --slot-length"
            )
        if saved is not None:
            _check_compatible(config, saved, funds)
            start = saved.start_time
            funds = dict(saved.genesis_funds)
            faucet = Faucet(saved.faucet_key, mainnet=profile is not None and profile.network.mainnet)
        else:
            default_start = int(time.time() - FIRST_SLOT * config.slot_length_ms / 1000)
            start = config.start_time or datetime.datetime.fromtimestamp(default_start, datetime.UTC)
        if profile is not None:
            self.network = profile.network
        else:
            self.network = Network(
                start_time=start.replace(microsecond=0), slot_length_ms=config.slot_length_ms
            )
        self.faucet = faucet or new_faucet(mainnet=self.network.mainnet)
        self._clock_offset = saved.clock_offset if saved is not None else 0
        try:
            from milestoned.devnet.plutus import contracts_evaluator

            evaluator = contracts_evaluator(self.network)
        except ImportError:  # pragma: no cover - the contracts package is part of the project
            evaluator = None
        self.chain = Chain(
            config.params,
            evaluator,
            self.faucet,
            genesis_funds=funds,
            failing_scripts=config.failing_scripts,
            mainnet=self.network.mainnet,
        )
        self.restored = False
        """True when the chain came back from the state directory (its blocks are the previous run's)."""
        self._journal: StateJournal | None = None
        if store is not None:
            if saved is not None:
                blocks = store.load_blocks()
                self.chain.restore(blocks, saved.forks)
                self.restored = bool(blocks)
            self._journal = StateJournal(
                store,
                SavedNetwork(
                    start_time=self.network.start_time,
                    slot_length_ms=self.network.slot_length_ms,
                    genesis_funds=funds,
                    faucet_key=self.faucet.signing_key,
                    clock_offset=self._clock_offset,
                    forks=saved.forks if saved is not None else 0,
                    profile=config.profile,
                ),
            )
            self.chain.journal = self._journal
        # The slot clock continues from wall time (the slots of a stopped devnet pass as empty ones).
        self.chain.advance(max(0, max(FIRST_SLOT, self.wall_slot()) - self.chain.slot))
        if self.chain.tip is None:
            # The first block comes at once, in epoch 1: pycardano cannot handle a tip at origin.
            self.chain.produce_block()
        self.server = DevnetServer(self.chain, self.network, config.host, config.port)
        self.server.on_clock_change = self._shift_clock
        self._clock_task: asyncio.Task[None] | None = None
        self._forging = asyncio.Lock()
        self.server.forge = self.next_block
        self.server.include = self.block_including
        self.hold_blocks = False
        """While True the clock forges no block (slots still pass): submitted transactions wait in the
        mempool, so a test can look at the moment between submission and inclusion."""

    @property
    def url(self) -> str:
        """The Ogmios WebSocket URL, e.g. ws://127.0.0.1:1337."""
        return self.server.url

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.server.start()
        if self.config.clock:
            self._clock_task = asyncio.create_task(self._run_clock())

    async def stop(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
            self._clock_task = None
        await self.server.stop()
        if self._journal is not None:
            self._journal.store.close()

    # --- control, as the devnet/* methods offer it ---------------------------------------------------

    def fund(self, address: Address | str, lovelace: int, assets: Mapping[bytes, int] | None = None) -> Block:
        """Pay `lovelace` (and mint `assets` under the faucet policy) to `address`, in a new block.

        With the clock running, the block waits (blocking, at most one slot) for a slot the chain has
        not used yet; from async code `await devnet.fund_in_block(...)` waits without blocking.
        """
        target = address if isinstance(address, Address) else Address.from_primitive(address)
        self.chain.fund(target, lovelace, assets or {})
        return self.produce_block()

    def produce_block(self) -> Block:
        """A block from the mempool now (frozen clock), or at the next slot not ahead of wall time."""
        if self.config.clock:
            while self.wall_slot() <= self._tip_slot():
                time.sleep(self._seconds_to_next_slot())
            self.chain.advance(max(0, self.wall_slot() - self.chain.slot))
        return self.chain.produce_block()

    async def next_block(self) -> Block:
        """`devnet/produceBlock`: a block holding the mempool as it is now, never ahead of wall time.

        With the clock running, a request waits for a slot the chain has not used yet; requests that
        arrive while one waits share the block it forges (a burst of calls makes one block per slot at
        most, instead of pushing the tip ahead of wall time). A frozen clock forges at once.
        """
        if not self.config.clock:
            return self.chain.produce_block()
        requested_at = self.chain.tip
        async with self._forging:
            tip = self.chain.tip
            if tip is not None and tip is not requested_at:
                return tip  # forged while this request waited: it holds what the mempool held
            while self.wall_slot() <= self._tip_slot():
                await asyncio.sleep(self._seconds_to_next_slot())
            if self.chain.tip is not requested_at and self.chain.tip is not None:
                return self.chain.tip  # the clock forged it meanwhile
            self.chain.advance(max(0, self.wall_slot() - self.chain.slot))
            return self.chain.produce_block()

    async def fund_in_block(
        self, address: Address | str, lovelace: int, assets: Mapping[bytes, int] | None = None
    ) -> Block:
        """`devnet/fund`: the payment in the next block (shared with concurrent requests); no blocking."""
        target = address if isinstance(address, Address) else Address.from_primitive(address)
        funding = self.chain.fund(target, lovelace, assets or {})
        return await self.block_including(funding.id)

    async def block_including(self, tx_id: bytes) -> Block:
        """The block that includes mempool transaction `tx_id`, forged (at a free slot) if need be."""
        while True:
            block = await self.next_block()
            if any(tx.id == tx_id for tx in block.transactions):
                return block
            if not self.chain.has_pending(tx_id):
                raise ValueError("the transaction left the mempool without being included")

    def advance(self, slots: int) -> None:
        self.chain.advance(slots)
        self._shift_clock(slots)

    def rollback(self, blocks: int, *, resubmit: bool = True) -> list[Block]:
        return self.chain.rollback(blocks, resubmit=resubmit)

    def drop_connections(self) -> None:
        self.server.drop_connections()

    def pending(self) -> list[ValidatedTransaction]:
        return list(self.chain.mempool)

    # --- the slot clock ------------------------------------------------------------------------------

    def _shift_clock(self, slots: int) -> None:
        self._clock_offset += slots
        if self._journal is not None:
            self._journal.clock_shifted(self._clock_offset)

    def wall_slot(self) -> int:
        return self.network.posix_ms_to_slot(time.time() * 1000) + self._clock_offset

    def _tip_slot(self) -> int:
        tip = self.chain.tip
        return tip.slot if tip is not None else -1

    def _seconds_to_next_slot(self) -> float:
        """Time until the wall clock enters its next slot (a millisecond late, so it surely has)."""
        now_ms = time.time() * 1000
        boundary_ms = self.network.slot_to_posix_ms(self.network.posix_ms_to_slot(now_ms) + 1)
        return max(0.0, (boundary_ms - now_ms + 1) / 1000)

    async def _run_clock(self) -> None:
        """One slot per slot length; a block when the mempool has work or the last one is old enough.

        The chain's slot follows wall time and never runs ahead of it: only `devnet/advanceTime` moves
        it further (by shifting the clock itself). A block is forged only at a slot the chain has not
        used yet, so blocks asked for by `devnet/fund` or `devnet/produceBlock` never push the tip past
        wall time either; they wait for the next slot (see `next_block`).
        """
        while True:
            await asyncio.sleep(self._seconds_to_next_slot())
            wall = self.wall_slot()
            if wall > self.chain.slot:
                self.chain.advance(wall - self.chain.slot)
            tip_slot = self._tip_slot()
            if self.hold_blocks or self.chain.slot <= tip_slot:
                continue
            if self.chain.mempool or self.chain.slot - tip_slot >= self.config.idle_block_slots:
                self.chain.produce_block()


def _check_compatible(config: DevnetConfig, saved: SavedNetwork, funds: Mapping[str, int]) -> None:
    """A state directory's chain can only continue with the slot length and genesis it was made with."""
    where = config.state_dir
    if saved.profile != config.profile:
        raise StateError(
            f"the chain in {where} was made with profile {saved.profile or '(none)'}, not "
            f"{config.profile or '(none)'}: start with the same --profile or use another --state directory"
        )
    if saved.slot_length_ms != config.slot_length_ms:
        raise StateError(
            f"the chain in {where} has {saved.slot_length_ms / 1000:g}-second slots, not "
            f"{config.slot_length_ms / 1000:g}: start with --slot-length {saved.slot_length_ms / 1000:g} "
            "or use another --state directory"
        )
    if funds and dict(funds) != dict(saved.genesis_funds):
        raise StateError(
            f"the chain in {where} was started with other genesis funds; the genesis of an existing chain "
            "cannot change: leave out --fund and --fund-file (its funds are kept) "
            "or use another --state directory"
        )


@contextlib.asynccontextmanager
async def run_devnet(config: DevnetConfig | None = None, **options: object) -> AsyncIterator[Devnet]:
    """Start a devnet for the duration of the block: `async with run_devnet(port=0) as devnet: ...`.

    Options are `DevnetConfig` fields; `port=0` picks a free port (read it from `devnet.url`).
    """
    devnet = Devnet(config or DevnetConfig(**options))  # type: ignore[arg-type]
    await devnet.start()
    try:
        yield devnet
    finally:
        await devnet.stop()
