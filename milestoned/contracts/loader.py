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

import cbor2
from pycardano import Address, Network, PlutusV3Script, ScriptHash, plutus_script_hash
from uplc import flatten, unflatten
from uplc.ast import Apply, PlutusByteString, PlutusConstr, PlutusData, PlutusInteger, PlutusList, Program
from uplc.flat_decoder import UplcDeserializer
from uplc.flat_encoder import BitWriter, FlatEncodingVisitor

from milestoned.domain.parameters import ScheduleParameters

BLUEPRINT_PATH = Path(__file__).with_name("plutus.json")
VALIDATOR_TITLE = "allocation_validator.spend"
POLICY_TITLE = "schedule_policy.mint"
STATE_VALIDATOR_TITLE = "schedule_state.spend"

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
    """The compiled scripts of the committed blueprint (the policy before parameters)."""

    validator: PlutusV3Script
    policy_template: bytes
    document: dict[str, Any]
    state_validator: PlutusV3Script

    @property
    def validator_hash(self) -> bytes:
        return plutus_script_hash(self.validator).payload

    @property
    def state_validator_hash(self) -> bytes:
        return plutus_script_hash(self.state_validator).payload


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
    state = _find(document, STATE_VALIDATOR_TITLE, path)
    scripts = []
    for entry in (validator, state):
        script = PlutusV3Script(bytes.fromhex(entry["compiledCode"]))
        if plutus_script_hash(script).payload.hex() != entry["hash"]:
            raise BlueprintError(
                f"{path}: the hash of {entry['title']} does not match its code; rebuild with `make contracts`"
            )
        scripts.append(script)
    return Blueprint(scripts[0], bytes.fromhex(policy["compiledCode"]), document, scripts[1])


@functools.cache
def default_blueprint() -> Blueprint:
    return load_blueprint()


def parameter_data(
    parameters: ScheduleParameters, validator_hash: bytes, state_validator_hash: bytes
) -> tuple[PlutusData, ...]:
    """The policy's arguments as Plutus data, in the order the compiled code takes them."""
    guardians = PlutusConstr(
        0,
        [
            PlutusList([PlutusByteString(key) for key in parameters.guardian_keys]),
            PlutusInteger(parameters.guardian_threshold),
            PlutusConstr(
                0,
                [PlutusByteString(parameters.guardian_seed[0]), PlutusInteger(parameters.guardian_seed[1])],
            ),
        ],
    )
    return (
        PlutusByteString(parameters.admin_key_hash),
        PlutusByteString(parameters.token_policy_id),
        PlutusByteString(parameters.token_name),
        PlutusList([PlutusByteString(key) for key in parameters.oracle_keys]),
        PlutusInteger(parameters.quorum),
        PlutusInteger(parameters.reclaim_deadline_ms),
        PlutusByteString(parameters.nonce),
        PlutusByteString(validator_hash),
        guardians,
        PlutusByteString(state_validator_hash),
    )


# uplc decodes and encodes flat recursively; the policy is deeper than Python's default limit allows.
UPLC_RECURSION_LIMIT = 20_000


def ensure_recursion_limit() -> None:
    if sys.getrecursionlimit() < UPLC_RECURSION_LIMIT:
        sys.setrecursionlimit(UPLC_RECURSION_LIMIT)


APPLY_TAG = "0011"
"""Flat's 4-bit tag of an application (`uplc.flat_encoder.FlatEncodingVisitor.visit_Apply`)."""


@functools.lru_cache(maxsize=256)
def _apply(template: bytes, arguments: tuple[PlutusData, ...]) -> bytes:
    """The template applied to `arguments`, flat-encoded and CBOR-wrapped (what `PlutusV3Script` holds).

    Why not decode the template, apply and encode the program again (`_apply_by_uplc`, the reference):
    uplc does both in pure Python, 120-700 ms for our policy, and the chain follower derives a schedule
    id that way for each registration it discovers, in the first blocks of a catch-up, while the daemon
    answers its first clients on the same interpreter lock. The flat encoding of `[... [T a1] ... an]`
    is the version, n application tags, T's bits, then a1..an: so T's bits are taken once from the
    template (`_template_bits`) and only the arguments are encoded. T's bits stay valid only where T
    starts at the same offset within a byte (flat aligns byte strings to the stream's bytes), that is
    for an even number of arguments (4 bits a tag); otherwise, the reference is used.
    """
    if len(arguments) % 2:
        return _apply_by_uplc(template, arguments)
    version, term = _template_bits(template)
    head = version + APPLY_TAG * len(arguments) + term
    writer = BitWriter()
    offset = len(head) % 8
    writer.write("0" * offset)  # so that the arguments' byte strings align as they do after `head`
    encoder = FlatEncodingVisitor(writer)
    for argument in arguments:
        encoder.visit(argument)
    bits = head + "".join(writer._parts)[offset:]
    bits += "0" * (7 - len(bits) % 8) + "1"  # flat's padding: 0*1 to the byte boundary, at least one bit
    return bytes(cbor2.dumps(int(bits, 2).to_bytes(len(bits) // 8, "big")))


@functools.cache
def _template_bits(template: bytes) -> tuple[str, str]:
    """The flat bits of a compiled template's version and of its term (decoded once per template)."""
    ensure_recursion_limit()
    flat = cbor2.loads(template)
    reader = UplcDeserializer("".join(f"{byte:08b}" for byte in flat))
    for _ in range(3):
        reader.read_integer(signed=False)
    version_end = reader._pos
    reader.read_term()
    bits = reader._bits
    return bits[:version_end], bits[version_end : reader._pos]


def _apply_by_uplc(template: bytes, arguments: tuple[PlutusData, ...]) -> bytes:
    ensure_recursion_limit()
    program = unflatten(template)
    term = program.term
    for argument in arguments:
        term = Apply(term, argument)
    return bytes(flatten(Program(program.version, term)))


def prepare() -> None:
    """Decode the committed policy's template now (what `_apply` needs once, 25-40 ms of pure Python):
    the daemon calls it before its socket opens, instead of in the follower at the first registration."""
    _template_bits(default_blueprint().policy_template)


@dataclass(frozen=True)
class ScheduleScripts:
    """Everything on-chain about one schedule: its policy (id = schedule id) and the shared validators."""

    parameters: ScheduleParameters
    policy: PlutusV3Script
    validator: PlutusV3Script
    state_validator: PlutusV3Script

    @property
    def schedule_id(self) -> bytes:
        """The policy id of the schedule's minting policy (28 bytes)."""
        return plutus_script_hash(self.policy).payload

    @property
    def validator_hash(self) -> bytes:
        return plutus_script_hash(self.validator).payload

    def validator_address(self, network: str) -> Address:
        return validator_address(network, self.validator)

    @property
    def state_validator_hash(self) -> bytes:
        return plutus_script_hash(self.state_validator).payload

    def state_address(self, network: str) -> Address:
        """Where the schedule's state UTxO lives, if it has guardians (one address for every schedule)."""
        return validator_address(network, self.state_validator)


def schedule_scripts(parameters: ScheduleParameters, blueprint: Blueprint | None = None) -> ScheduleScripts:
    """Apply a schedule's parameters to the blueprint's policy."""
    bp = blueprint or default_blueprint()
    arguments = parameter_data(parameters, bp.validator_hash, bp.state_validator_hash)
    policy = PlutusV3Script(_apply(bp.policy_template, arguments))
    return ScheduleScripts(parameters, policy, bp.validator, bp.state_validator)


def schedule_id(parameters: ScheduleParameters, blueprint: Blueprint | None = None) -> bytes:
    """The schedule id (policy id) that `parameters` give under the committed scripts."""
    return schedule_scripts(parameters, blueprint).schedule_id


def network_of(name: str) -> Network:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; use one of {', '.join(NETWORKS)}") from None


def validator_address(network: str, validator: PlutusV3Script | None = None) -> Address:
    """The allocation validator's address on `network` (one address per network, no staking part), or
    that of another unparameterised script of ours (`script`: the state validator)."""
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
