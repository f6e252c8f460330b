"""A schedule's on-chain identity: its id (the policy id of its minting policy) and the validator address.

This is the only place milestonectl's offline commands touch the contracts loader, which applies the
schedule's parameters to the committed blueprint (`plutus.json`); keeping the call in one small function
keeps the rest of the commands independent of how the loader is spelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from milestoned.commands.output import CommandError
from milestoned.domain.schedule import ScheduleDefinition


@dataclass(frozen=True)
class ScheduleIdentity:
    schedule_id: bytes  # 28 bytes: the policy id of the schedule's minting policy (its auth tokens' policy)
    validator_hash: bytes  # 28 bytes: the allocation validator shared by every schedule
    validator_address: str  # bech32 address of the validator on the schedule's network


def schedule_identity(definition: ScheduleDefinition) -> ScheduleIdentity:
    """Derive the schedule id and validator address from the definition and the committed blueprint."""
    from milestoned.contracts import loader  # heavy (uplc, pycardano): only the commands that need it pay

    try:
        scripts = loader.schedule_scripts(definition.to_parameters())
        address = scripts.validator_address(definition.network.value)
    except loader.BlueprintError as error:
        raise CommandError(
            f"cannot derive the schedule id: {error}",
            "reinstall milestoned, or run `make contracts` in a source checkout",
        ) from None
    return ScheduleIdentity(scripts.schedule_id, scripts.validator_hash, address.encode())
