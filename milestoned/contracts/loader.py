"""Load the committed blueprint and derive what a schedule needs: scripts, hashes, ids and addresses.

Nothing is compiled at run time: the scripts come from `plutus.json` (rebuilt only by
`make contracts`). A schedule's minting policy is the blueprint's policy applied to the schedule's
`ScheduleParameters` plus the allocation validator's hash; its policy id is the schedule id, so anyone
with the schedule definition and this blueprint re-derives the same id.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycardano import Address, Network, PlutusV3Script, ScriptHash, plutus_script_hash
from uplc import flatten, unflatten
from uplc.ast import Apply, PlutusByteString, PlutusData, PlutusInteger, PlutusList, Program

from milestoned.domain.parameters import ScheduleParameters

BLUEPRINT_PATH = Path(__file__).with_name("plutus.json")
VALIDATOR_TITLE = "allocation_validator.spend"
POLICY_TITLE = "schedule_policy.mint"

NETWORKS: dict[str, Network] = {
    "mainnet": Network.MAINNET,
    "preprod": Network.TESTNET,
    "preview": Network.TESTNET,
    "devnet": Network.TESTNET,
}


class BlueprintError(RuntimeError):
    """plutus.json is missing or does not hold the scripts this code expects."""


@dataclass(frozen=True)
class Blueprint:
    """The two compiled scripts of the committed blueprint (the policy before parameters)."""

    validator: PlutusV3Script
    policy_template: bytes
    document: dict[str, Any]

    @property
    def validator_hash(self) -> bytes:
        return plutus_script_hash(self.validator).payload


def _find(document: dict[str, Any], title: str, path: Path) -> dict[str, Any]:
    for entry in document.get("validators", []):
        if entry.get("title") == title:
            found: dict[str, Any] = entry
            return found
    raise BlueprintError(f"{path} has no validator titled {title!r}; rebuild it with `make contracts`")


def load_blueprint(path: Path = BLUEPRINT_PATH) -> Blueprint:
    """Read plutus.json; errors say how to fix a missing or foreign file."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise BlueprintError(f"{path} does not exist; build it with `make contracts`") from None
    except json.JSONDecodeError as exc:
        raise BlueprintError(f"{path} is not valid JSON ({exc}); rebuild it with `make contracts`") from exc
    if document.get("preamble", {}).get("plutusVersion") != "v3":
        raise BlueprintError(f"{path} is not a Plutus V3 blueprint; rebuild it with `make contracts`")
    validator = _find(document, VALIDATOR_TITLE, path)
    policy = _find(document, POLICY_TITLE, path)
    validator_script = PlutusV3Script(bytes.fromhex(validator["compiledCode"]))
    if plutus_script_hash(validator_script).payload.hex() != validator["hash"]:
        raise BlueprintError(
            f"{path}: the validator's hash does not match its code; rebuild with `make contracts`"
        )
    return Blueprint(validator_script, bytes.fromhex(policy["compiledCode"]), document)


@functools.cache
def default_blueprint() -> Blueprint:
    return load_blueprint()


def parameter_data(parameters: ScheduleParameters, validator_hash: bytes) -> tuple[PlutusData, ...]:
    """The policy's arguments as Plutus data, in the order the compiled code takes them."""
    return (
        PlutusByteString(parameters.admin_key_hash),
        PlutusByteString(parameters.token_policy_id),
        PlutusByteString(parameters.token_name),
        PlutusList([PlutusByteString(key) for key in parameters.oracle_keys]),
        PlutusInteger(parameters.quorum),
        PlutusInteger(parameters.reclaim_deadline_ms),
        PlutusByteString(parameters.nonce),
        PlutusByteString(validator_hash),
    )


# uplc decodes and encodes flat recursively; the policy is deeper than Python's default limit allows.
UPLC_RECURSION_LIMIT = 20_000


def ensure_recursion_limit() -> None:
    if sys.getrecursionlimit() < UPLC_RECURSION_LIMIT:
        sys.setrecursionlimit(UPLC_RECURSION_LIMIT)


@functools.lru_cache(maxsize=256)
def _apply(template: bytes, arguments: tuple[PlutusData, ...]) -> bytes:
    ensure_recursion_limit()
    program = unflatten(template)
    term = program.term
    for argument in arguments:
        term = Apply(term, argument)
    return bytes(flatten(Program(program.version, term)))


@dataclass(frozen=True)
class ScheduleScripts:
    """Everything on-chain about one schedule: its policy (id = schedule id) and the shared validator."""

    parameters: ScheduleParameters
    policy: PlutusV3Script
    validator: PlutusV3Script

    @property
    def schedule_id(self) -> bytes:
        """The policy id of the schedule's minting policy (28 bytes)."""
        return plutus_script_hash(self.policy).payload

    @property
    def validator_hash(self) -> bytes:
        return plutus_script_hash(self.validator).payload

    def validator_address(self, network: str) -> Address:
        return validator_address(network, self.validator)


def schedule_scripts(parameters: ScheduleParameters, blueprint: Blueprint | None = None) -> ScheduleScripts:
    """Apply a schedule's parameters to the blueprint's policy."""
    bp = blueprint or default_blueprint()
    arguments = parameter_data(parameters, bp.validator_hash)
    policy = PlutusV3Script(_apply(bp.policy_template, arguments))
    return ScheduleScripts(parameters, policy, bp.validator)


def schedule_id(parameters: ScheduleParameters, blueprint: Blueprint | None = None) -> bytes:
    """The schedule id (policy id) that `parameters` give under the committed scripts."""
    return schedule_scripts(parameters, blueprint).schedule_id


def network_of(name: str) -> Network:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; use one of {', '.join(NETWORKS)}") from None


def validator_address(network: str, validator: PlutusV3Script | None = None) -> Address:
    """The allocation validator's address on `network` (one address per network, no staking part)."""
    script = validator if validator is not None else default_blueprint().validator
    return Address(ScriptHash(plutus_script_hash(script).payload), network=network_of(network))


__all__ = [
    "BLUEPRINT_PATH",
    "NETWORKS",
    "Blueprint",
    "BlueprintError",
    "ScheduleScripts",
    "default_blueprint",
    "load_blueprint",
    "parameter_data",
    "schedule_id",
    "schedule_scripts",
    "validator_address",
]
