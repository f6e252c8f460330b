"""Random closed terms through the UPLC passes (issue 18.5): no verdict and no result changes.

The terms are built to meet the passes' shapes (after the uplc review's fuzzer): bindings of values and
of terms that trace or fail, the names x/y/z/w shadowed at will, delays and forces, forced traces and
unforced ones (which fail), errors, `ifThenElse`, an index read's selector, a builtin in a lambda.
Hypothesis draws them with a fixed seed (tests/conftest.py), a few seconds' worth.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from uplc.ast import Program
from uplc.machine import Budget
from uplc.tools import parse

from milestoned.contracts.uplc_passes import beta_values, finish

from .test_uplc_passes import outcome as passes_outcome
from .test_uplc_passes import substituted

NAMES = ("x", "y", "z", "w")


class Terms:
    """A random term generator; `env` maps the names in scope to what they hold: an integer ("i"), a
    delayed integer ("t") or a function of an integer ("f")."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.messages = 0

    def message(self) -> str:
        self.messages += 1
        return f"m{self.messages}"

    def trace(self, term: str, forced: bool = True) -> str:
        builtin = "(force (builtin trace))" if forced else "(builtin trace)"
        return f'[[{builtin} (con string "{self.message()}")] {term}]'

    def names(self, env: dict[str, str], kind: str) -> list[str]:
        return [name for name, held in env.items() if held == kind]

    def integer(self) -> str:
        return f"(con integer {self.rnd.randint(-3, 3)})"

    def term(self, env: dict[str, str], depth: int) -> str:
        r = self.rnd
        ints, thunks, functions = (self.names(env, k) for k in ("i", "t", "f"))
        if depth <= 0:
            choice = r.choice(["con"] + ["var"] * 3 * bool(ints) + ["force"] * bool(thunks))
        else:
            choice = r.choice(
                ["con", "add", "let_i", "let_f", "let_t", "trace", "fail", "sel", "ite", "eta", "app", "ff"]
                + ["var"] * 2 * bool(ints)
                + ["force"] * 2 * bool(thunks)
                + ["call"] * 2 * bool(functions)
            )
        name, d = r.choice(NAMES), depth - 1
        if choice == "con":
            return self.integer()
        if choice == "var":
            return r.choice(ints)
        if choice == "force":
            return f"(force {r.choice(thunks)})"
        if choice == "call":
            return f"[{r.choice(functions)} {self.term(env, d)}]"
        if choice == "add":
            return f"[[(builtin addInteger) {self.term(env, d)}] {self.term(env, d)}]"
        if choice == "let_i":
            bound = self.term(env, d) if r.random() < 0.5 else self.integer()
            return f"[(lam {name} {self.term({**env, name: 'i'}, d)}) {bound}]"
        if choice == "let_f":
            return f"[(lam {name} {self.term({**env, name: 'f'}, d)}) {self.function(env, d)}]"
        if choice == "let_t":
            return f"[(lam {name} {self.term({**env, name: 't'}, d)}) (delay {self.term(env, d)})]"
        if choice == "trace":
            return self.trace(self.term(env, d), forced=r.random() < 0.9)
        if choice == "fail":
            return f"(force {self.trace('(delay (error))')})" if r.random() < 0.7 else "(error)"
        if choice == "sel":
            a, b = r.sample(NAMES, 2)
            return f"[[(lam {a} (lam {b} {a})) {self.term(env, d)}] {self.value(env, d)}]"
        if choice == "ite":
            condition = f"[[(builtin lessThanInteger) {self.term(env, d)}] {self.term(env, d)}]"
            branches = f"(delay {self.term(env, d)})] (delay {self.term(env, d)})"
            return f"(force [[[(force (builtin ifThenElse)) {condition}] {branches}])"
        if choice == "eta":
            a, b = r.sample(NAMES, 2)
            eta = f"(lam {a} (lam {b} [[(builtin addInteger) {a}] {b}]))"
            return f"[[{eta} {self.term(env, d)}] {self.term(env, d)}]"
        if choice == "app":
            return f"[{self.function(env, d)} {self.term(env, d)}]"
        return f"(force (delay {self.term(env, d)}))"  # "ff"

    def value(self, env: dict[str, str], depth: int) -> str:
        kind, ints = self.rnd.choice(["con", "lam", "delay", "var"]), self.names(env, "i")
        if kind == "var" and ints:
            return self.rnd.choice(ints)
        if kind == "lam":
            return self.function(env, depth)
        if kind == "delay":
            return f"(delay {self.term(env, depth)})"
        return self.integer()

    def function(self, env: dict[str, str], depth: int) -> str:
        functions, c = self.names(env, "f"), self.rnd.random()
        if functions and c < 0.3:
            return self.rnd.choice(functions)
        if c < 0.45:
            return "[(lam a (lam b [[(builtin addInteger) a] b])) (con integer 1)]"
        if c < 0.55:
            return "[(builtin addInteger) (con integer 2)]"
        name = self.rnd.choice(NAMES)
        return f"(lam {name} {self.term({**env, name: 'i'}, depth)})"


BUDGET = Budget(cpu=10**9, memory=10**7)


def outcome(program: Program) -> tuple[str, list[str]]:
    return passes_outcome(program, BUDGET)


@settings(max_examples=60, deadline=None)
@given(rnd=st.randoms(use_true_random=False), depth=st.integers(min_value=2, max_value=4))
def test_the_passes_keep_every_random_terms_verdict_and_result(rnd: random.Random, depth: int) -> None:
    """BetaValues+Peepholes keep the result and the logs; the whole `beta_values` (with uplc's inliner,
    which may move a trace) and `finish` (which drops the traces) keep the result, an error included."""
    text = f"(program 1.1.0 {Terms(rnd).term({}, depth)})"
    result, logs = outcome(parse(text))
    assert outcome(substituted(parse(text))) == (result, logs), text
    assert outcome(beta_values(parse(text)))[0] == result, text
    assert outcome(finish("", parse(text)))[0] == result, text
