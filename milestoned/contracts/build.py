"""`python -m milestoned.contracts.build` (`make contracts`): compile the OpShin sources into plutus.json.

One build path only, the OpShin Python API (`opshin.builder.compile` on the parsed source, then
`uplc.flatten`): the CLI and the API apply different defaults and would give different hashes. The
source is parsed under its bare file name, so the output does not depend on where the checkout lives,
and the compiler configuration is pinned here, so a rebuild is byte-for-byte the committed blueprint
(CI checks that).

The blueprint is CIP-57: a preamble with `plutusVersion: v3`, and one entry per script with its
datum / redeemer / parameter schemas, the compiled code (unapplied, for the policy) and its hash.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opshin
from opshin import builder, compiler
from opshin.compiler_config import DEFAULT_CONFIG, OPT_O3_CONFIG, CompilationConfig
from pycardano import PlutusData, PlutusV3Script, plutus_script_hash
from uplc import flatten
from uplc.ast import Program

from milestoned.contracts.uplc_passes import finish
from milestoned.domain import onchain_types as types

ONCHAIN_DIR = Path(__file__).with_name("onchain")
BLUEPRINT_PATH = Path(__file__).with_name("plutus.json")
BLUEPRINT_VERSION = "1.0.0"

VALIDATOR_TITLE = "allocation_validator.spend"
POLICY_TITLE = "schedule_policy.mint"
STATE_VALIDATOR_TITLE = "schedule_state.spend"

# OpShin's -O3 on top of its validator defaults (inputs unwrapped from data, constant folding, dead
# code removal, pattern compression, adjacent inlining), but with traces kept: a failing script then
# says why ("quorum not reached", "not vested"...), which the daemon passes on to the user. Traces
# cost nothing on the success path; they roughly double the policy's size (a one-off reference
# script deposit per schedule).
COMPILER_CONFIG: CompilationConfig = DEFAULT_CONFIG.update(OPT_O3_CONFIG).update(remove_trace=False)

# Per-source adjustments. The validator runs once per allocation spent, and it is small: inlining the
# shared code patterns (field access, list look-ups) instead of calling them saves about 9k memory units
# per allocation for 10 more bytes. The policy too since issue 18.5 (17,700 per allocation): inlined it
# was over 18 KB, too big for the transaction that deploys it as a reference script, until OpShin's own
# trace messages were dropped (`uplc_passes.finish`).
SOURCE_CONFIG: dict[str, CompilationConfig] = {
    "allocation_validator.py": COMPILER_CONFIG.update(compress_patterns=False),
    # issue 18.5: inlined patterns too, which fits once OpShin's own trace messages are dropped below
    "schedule_policy.py": COMPILER_CONFIG.update(compress_patterns=False),
}


# The policy's parameters, in the order the compiled code takes them (see ScheduleParameters).
POLICY_PARAMETERS: tuple[tuple[str, Any], ...] = (
    ("admin_key_hash", bytes),
    ("token_policy_id", bytes),
    ("token_name", bytes),
    ("oracle_keys", list[bytes]),
    ("quorum", int),
    ("reclaim_deadline_ms", int),
    ("nonce", bytes),
    ("validator_hash", bytes),
    ("guardians", types.Guardians),
    ("state_validator_hash", bytes),
)


@dataclass(frozen=True)
class CompiledScript:
    source: str
    code: bytes  # CBOR-wrapped flat, as carried on chain (before parameters)

    @property
    def hash(self) -> bytes:
        return plutus_script_hash(PlutusV3Script(self.code)).payload


Passes = Callable[[str, Program], Program]
"""What runs over OpShin's output, given the source's text (`finish`, or a test's reference)."""


def compile_source(file_name: str, passes: Passes = finish) -> CompiledScript:
    """Compile one OpShin source of `onchain/` with the pinned configuration, then `passes` (by
    default ours, `uplc_passes.finish`: what plutus.json holds)."""
    source = (ONCHAIN_DIR / file_name).read_text()
    # OpShin's AST passes recurse deeply on the policy; Python's default limit is too low for them.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    config = SOURCE_CONFIG.get(file_name, COMPILER_CONFIG)
    program = builder.compile(
        compiler.parse(source, filename=file_name), contract_filename=file_name, config=config
    )
    return CompiledScript(source=file_name, code=flatten(passes(source, program)))


def _schema(typ: Any) -> dict[str, Any]:
    """The CIP-57 schema of an on-chain type described by the codecs of `onchain_types`."""
    origin = typing.get_origin(typ)
    if origin is list:
        return {"dataType": "list", "items": _schema(typing.get_args(typ)[0])}
    if origin is typing.Union:
        return {"anyOf": [_schema(t) for t in typing.get_args(typ)]}
    if isinstance(typ, type) and issubclass(typ, PlutusData):
        hints = typing.get_type_hints(typ)
        return {
            "title": typ.__name__,
            "dataType": "constructor",
            "index": getattr(typ, "CONSTR_ID"),  # noqa: B009 (a class attribute mypy cannot see on `type`)
            "fields": [{**_schema(hints[f.name]), "title": f.name} for f in dataclasses.fields(typ)],
        }
    if typ is bytes:
        return {"dataType": "bytes"}
    if typ is int:
        return {"dataType": "integer"}
    raise TypeError(f"no blueprint schema for {typ!r}")


def _union_schema(*classes: type) -> dict[str, Any]:
    return {"anyOf": [_schema(c) for c in classes]}


def blueprint(validator: CompiledScript, policy: CompiledScript, state: CompiledScript) -> dict[str, Any]:
    """The CIP-57 blueprint of the three scripts."""
    return {
        "preamble": {
            "title": "milestoned",
            "description": (
                "Milestone-based token distribution: allocation validator, schedule policy and schedule state"
            ),
            "version": BLUEPRINT_VERSION,
            "plutusVersion": "v3",
            "compiler": {"name": "opshin", "version": opshin.__version__},
            "license": "Apache-2.0",
        },
        "validators": [
            {
                "title": VALIDATOR_TITLE,
                "datum": {"title": "AllocationDatum", "schema": _schema(types.AllocationDatum)},
                "redeemer": {
                    "title": "AllocationAction",
                    "schema": _union_schema(types.SpendAllocation, types.Move),
                },
                "compiledCode": validator.code.hex(),
                "hash": validator.hash.hex(),
            },
            {
                "title": POLICY_TITLE,
                "redeemer": {
                    "title": "ScheduleAction",
                    "schema": _union_schema(
                        types.Register, types.Release, types.Reclaim, types.Cancel, types.InitState
                    ),
                },
                "parameters": [{"title": name, "schema": _schema(typ)} for name, typ in POLICY_PARAMETERS],
                "compiledCode": policy.code.hex(),
                "hash": policy.hash.hex(),
            },
            {
                "title": STATE_VALIDATOR_TITLE,
                "datum": {"title": "ScheduleState", "schema": _schema(types.ScheduleState)},
                "redeemer": {"title": "SetPaused", "schema": _schema(types.SetPaused)},
                "compiledCode": state.code.hex(),
                "hash": state.hash.hex(),
            },
        ],
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def build_blueprint() -> str:
    """Compile the scripts and return the blueprint text (what plutus.json must contain)."""
    validator = compile_source("allocation_validator.py")
    policy = compile_source("schedule_policy.py")
    state = compile_source("schedule_state.py")
    return render(blueprint(validator, policy, state))


def main() -> int:
    text = build_blueprint()
    previous = BLUEPRINT_PATH.read_text() if BLUEPRINT_PATH.exists() else None
    BLUEPRINT_PATH.write_text(text)
    status = "unchanged" if previous == text else "updated"
    print(f"[contracts] {BLUEPRINT_PATH} {status}")
    return 0


__all__ = ["BLUEPRINT_PATH", "POLICY_TITLE", "VALIDATOR_TITLE", "build_blueprint", "compile_source", "main"]

if __name__ == "__main__":
    sys.exit(main())
