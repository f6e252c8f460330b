"""Network profiles (issue 14, point 14): a devnet shaped like mainnet, preprod or preview.

Each profile gives the public network's magic, system start and era history (Byron's 20-second slots,
then 1-second slots), so rehearsals exercise the slot <-> time conversion real networks need. The
conversions are cross-checked against the project's own client code (`milestoned.ogmios.chaintime`)
reading the devnet's answers, and the eras start at the slots the public networks' eras started at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import websockets
from devnet_support import ALICE, ALWAYS_SUCCEEDS, BOB, OgmiosProbe, payment, script_address, signed
from pycardano import Address, Network, PlutusData, TransactionBody, TransactionOutput

from milestoned.contracts.script_context import slot_to_posix_ms
from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.plutus import slot_config_of
from milestoned.devnet.profiles import ProfileError, load_profile
from milestoned.devnet.service import run_devnet
from milestoned.devnet.store import StateError
from milestoned.devnet.transaction import decode_transaction
from milestoned.ogmios.chaintime import slot_to_time, time_to_slot
from milestoned.ogmios.parsing import parse_era_summaries, parse_start_time

# name: (magic, system start, first Shelley slot, first Conway slot, epoch length)
PUBLIC = {
    "mainnet": (764824073, "2017-09-23T21:44:51Z", 4_492_800, 133_660_800, 432_000),
    "preprod": (1, "2022-06-01T00:00:00Z", 86_400, 68_774_400, 432_000),
    "preview": (2, "2022-10-25T00:00:00Z", 0, 55_814_400, 86_400),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
async def test_a_profile_gives_the_public_networks_shape(name: str) -> None:
    magic, start, shelley_slot, conway_slot, epoch_length = PUBLIC[name]
    async with run_devnet(port=0, clock=False, profile=name) as devnet, websockets.connect(devnet.url) as ws:
        probe = OgmiosProbe(ws)
        assert await probe.result("queryNetwork/startTime") == start
        shelley = await probe.result("queryNetwork/genesisConfiguration", {"era": "shelley"})
        assert shelley["networkMagic"] == magic and shelley["epochLength"] == epoch_length
        summaries = await probe.result("queryLedgerState/eraSummaries")
        assert summaries[1]["start"]["slot"] == shelley_slot
        assert summaries[-1]["start"]["slot"] == conway_slot
        assert summaries[0]["parameters"]["slotLength"] == {"milliseconds": 20_000}
        tip = await probe.result("queryNetwork/tip")
        assert tip["slot"] > conway_slot  # the chain is at the public network's current slot
        # The project's client converts slots with the devnet's answers exactly as the devnet does.
        eras = parse_era_summaries(summaries)
        start_time = parse_start_time(start)
        for slot in (0, max(0, shelley_slot - 1), shelley_slot, conway_slot, tip["slot"]):
            moment = slot_to_time(slot, eras, start_time)
            assert int(moment.timestamp() * 1000) == devnet.network.slot_to_posix_ms(slot)
            assert time_to_slot(moment, eras, start_time) == slot
        assert await probe.result("queryLedgerState/epoch") == devnet.network.epoch_of(tip["slot"])


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_script_contexts_use_the_profiles_time(name: str) -> None:
    """Validity intervals reach scripts as POSIX times: the evaluator's slot arithmetic is the profile's."""
    network = load_profile(name).network
    config = slot_config_of(network)
    _, _, shelley_slot, conway_slot, _ = PUBLIC[name]
    for slot in (shelley_slot, conway_slot, conway_slot + 123_456):
        assert slot_to_posix_ms(slot, config) == network.slot_to_posix_ms(slot)


async def test_a_validity_interval_at_the_profiles_slot_is_accepted() -> None:
    funds = {str(ALICE.address): 1_000_000_000_000}
    async with run_devnet(port=0, clock=False, profile="preprod", funds=funds) as devnet:
        slot = devnet.chain.slot
        locked_at = script_address(ALWAYS_SUCCEEDS)
        body = payment(devnet, ALICE, [TransactionOutput(locked_at, 5_000_000, datum=PlutusData())])
        body.validity_start, body.ttl = slot - 10, slot + 100
        result = devnet.chain.submit(decode_transaction(signed(body, ALICE).to_cbor()))
        assert not isinstance(result, LedgerError), result


async def test_the_mainnet_profile_wants_mainnet_addresses() -> None:
    mainnet_alice = Address(ALICE.verification_key.hash(), network=Network.MAINNET)
    funds = {str(mainnet_alice): 1_000_000_000_000}
    async with run_devnet(port=0, clock=False, profile="mainnet", funds=funds) as devnet:
        assert devnet.faucet.address.network == Network.MAINNET
        async with websockets.connect(devnet.url) as ws:
            probe = OgmiosProbe(ws)
            funded = await probe.result("devnet/fund", {"address": str(mainnet_alice), "lovelace": 3_000_000})
            assert funded["block"]["slot"] > 133_660_800
            txin, held = next((t, o) for t, o in devnet.chain.utxo.items() if o.address == mainnet_alice)
            paid = [TransactionOutput(BOB.address, 2_000_000)]
            change = TransactionOutput(mainnet_alice, held.amount.coin - 2_000_000 - 1_000_000)
            body = TransactionBody(inputs=[txin], outputs=[*paid, change], fee=1_000_000)
            params = {"transaction": {"cbor": signed(body, ALICE).to_cbor_hex()}}
            error = await probe.error("submitTransaction", params)
            assert error["code"] == 3124 and error["data"]["expectedNetwork"] == "mainnet"


async def test_a_profile_is_part_of_a_kept_chain(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    async with run_devnet(port=0, clock=False, profile="preview", state_dir=state):
        pass
    with pytest.raises(StateError, match="profile preview"):
        async with run_devnet(port=0, clock=False, state_dir=state):
            pass
    async with run_devnet(port=0, clock=False, profile="preview", state_dir=state) as devnet:
        assert devnet.restored
    with pytest.raises(ProfileError, match="choose one of mainnet, preprod, preview"):
        async with run_devnet(port=0, clock=False, profile="sanchonet"):
            pass
