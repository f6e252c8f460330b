"""The Cardano networks a schedule can target.

A schedule names its network explicitly: an address alone only says "mainnet" or "some testnet"
(network id 1 or 0), and tokens sent to the wrong one are gone. preprod, preview and our local devnet
are all testnets and share network id 0 and the `addr_test` prefix.
"""

from __future__ import annotations

from enum import StrEnum

from pycardano import Network

MAINNET_NETWORK_ID = 1
TESTNET_NETWORK_ID = 0


class CardanoNetwork(StrEnum):
    MAINNET = "mainnet"
    PREPROD = "preprod"
    PREVIEW = "preview"
    DEVNET = "devnet"

    @property
    def is_mainnet(self) -> bool:
        return self is CardanoNetwork.MAINNET

    @property
    def network_id(self) -> int:
        """The network id in an address header: 1 on mainnet, 0 on every testnet."""
        return MAINNET_NETWORK_ID if self.is_mainnet else TESTNET_NETWORK_ID

    @property
    def address_prefix(self) -> str:
        """The bech32 prefix (human-readable part) of payment addresses on this network."""
        return "addr" if self.is_mainnet else "addr_test"

    @property
    def pycardano_network(self) -> Network:
        return Network.MAINNET if self.is_mainnet else Network.TESTNET

    def describe(self) -> str:
        """`mainnet`, or e.g. `devnet (a testnet)`, for messages about address mismatches."""
        return self.value if self.is_mainnet else f"{self.value} (a testnet)"
