"""Network profiles: the devnet shaped like mainnet, preprod or preview (`milestoned devnet --profile`).

WHY: slot <-> time conversion is where clients break on real networks (Byron's 20-second slots, then
1-second slots; epochs of 432,000 or 86,400 slots; eras starting at their own epochs), and a devnet
forked into Conway at slot 0 exercises none of it. A profile gives the devnet a public network's
network magic, system start, security parameter and era history, so rehearsals meet the same
arithmetic. The profiles are data files beside this module (one JSON file per network); the protocol
parameters and cost models stay the devnet's mainnet Conway set for every profile.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.devnet.network import Network
from milestoned.devnet.parameters import ERAS

PROFILES_DIR = Path(__file__).parent
NAMES = ("mainnet", "preprod", "preview")


class ProfileError(ValueError):
    """An unknown or unreadable profile; the message lists the ones there are."""


@dataclass(frozen=True)
class Profile:
    name: str
    network: Network


def load_profile(name: str) -> Profile:
    """The profile called `name` (mainnet, preprod or preview)."""
    if name not in NAMES:
        raise ProfileError(f"unknown network profile {name!r}; choose one of {', '.join(NAMES)}")
    try:
        data: dict[str, Any] = json.loads((PROFILES_DIR / f"{name}.json").read_text())
        start = datetime.datetime.fromisoformat(data["systemStart"].replace("Z", "+00:00"))
        eras = data["eraStartEpochs"]
        network = Network(
            start_time=start,
            slot_length_ms=int(data["slotLengthMs"]),
            epoch_length=int(data["epochLength"]),
            byron_epochs=int(data["byronEpochs"]),
            era_start_epochs=tuple(int(eras[era]) for era in ERAS),
            network_magic=int(data["networkMagic"]),
            security_parameter=int(data["securityParameter"]),
            mainnet=data["network"] == "mainnet",
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"the {name} profile cannot be read: {exc}") from exc
    return Profile(name, network)
