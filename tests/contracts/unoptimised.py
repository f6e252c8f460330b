"""The shipped scripts held to the scripts built without our UPLC passes (issue 18.5).

`make contracts` runs `uplc_passes.finish` over OpShin's output: `ForeignTraces`, then `beta_values`
(BetaValues, Peepholes, and uplc's own InlineVariableOptimizer, which may move a trace). The reference
here is OpShin's output through `ForeignTraces` only (`uplc_passes.drop_foreign_traces`), built once per
session. `Twins.run_script` stands in for `evaluation.run_script` during the contract tests: every run of
the committed validator, or of the committed policy applied to a schedule's parameters, is repeated
with the reference program (the policy's parameters applied to it the same way) on the same script
context, and must give the same verdict and the same trace messages, in the same order. Scripts that are
neither (a mutant, a foreign script of an attack) run as they are.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import opshin
import uplc
from uplc.ast import Apply, PlutusData

from milestoned.contracts import build, loader, uplc_passes
from milestoned.contracts.evaluation import decode_program

RunScript = Callable[..., tuple[bool, int, int, tuple[str, ...], str | None]]
POLICY_PARAMETER_COUNT = len(build.POLICY_PARAMETERS)


class PassesChangedOutcome(AssertionError):
    """The shipped script and its unoptimised reference gave another verdict or other traces."""


def reference_key() -> str:
    """What the reference depends on: the sources, our build and passes, OpShin's and uplc's versions."""
    digest = hashlib.sha256(f"opshin {opshin.__version__} uplc {uplc.__version__}".encode())
    for path in (
        *sorted(build.ONCHAIN_DIR.glob("*.py")),
        Path(build.__file__),
        Path(uplc_passes.__file__),
    ):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def build_reference() -> tuple[bytes, bytes, bytes]:
    """(validator, policy template, state validator): OpShin's output with only the sources' own
    traces, CBOR-wrapped flat as in plutus.json (about 20 s of OpShin for the policy)."""
    validator = build.compile_source("allocation_validator.py", uplc_passes.drop_foreign_traces)
    policy = build.compile_source("schedule_policy.py", uplc_passes.drop_foreign_traces)
    state = build.compile_source("schedule_state.py", uplc_passes.drop_foreign_traces)
    return validator.code, policy.code, state.code


@dataclass
class Twins:
    """Runs the committed scripts and their references side by side (see the module's docstring)."""

    original: RunScript
    reference: Callable[[], tuple[bytes, bytes, bytes]]
    compared: Counter[str] = field(default_factory=Counter)

    @functools.cached_property
    def committed(self) -> tuple[bytes, bytes, bytes]:
        blueprint = loader.default_blueprint()
        return bytes(blueprint.validator), blueprint.policy_template, bytes(blueprint.state_validator)

    def twin_of(self, script: bytes) -> tuple[str, bytes] | None:
        """The reference of a committed script ("validator", "policy" or "state"), or None for any other."""
        validator, template, state = self.committed
        if script == validator:
            return "validator", self.reference()[0]
        if script == state:
            return "state", self.reference()[2]
        program = decode_program(script)
        arguments: list[PlutusData] = []
        term = program.term
        while isinstance(term, Apply) and len(arguments) < POLICY_PARAMETER_COUNT:
            arguments.append(term.x)
            term = term.f
        parameters = tuple(reversed(arguments))
        if len(parameters) != POLICY_PARAMETER_COUNT or loader._apply(template, parameters) != script:
            return None
        return "policy", loader._apply(self.reference()[1], parameters)

    def run_script(
        self, script: bytes, arguments: tuple[PlutusData, ...], budget: object = None
    ) -> tuple[bool, int, int, tuple[str, ...], str | None]:
        outcome = self.original(script, arguments, budget)
        twin = self.twin_of(bytes(script))
        if twin is not None:
            which, reference = twin
            # the reference costs more: it runs with the default budget (a transaction's maximum)
            ok, _, _, logs, error = self.original(reference, arguments)
            if (ok, logs) != (outcome[0], outcome[3]):
                raise PassesChangedOutcome(
                    f"the {which} with our passes gave ok={outcome[0]} logs={list(outcome[3])} "
                    f"({outcome[4]}); without them ok={ok} logs={list(logs)} ({error})"
                )
            self.compared[which] += 1
        return outcome
