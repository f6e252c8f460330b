"""Passes over the compiled UPLC of a script, after OpShin (issue 18.5): `make contracts` runs them.

`ForeignTraces` drops OpShin's own trace messages (NameError, IntegrityError...), which no rule names,
and keeps the messages of the source's own asserts. Only once those traces are gone do many of OpShin's
bindings become plain values bound to a variable (`[(lam x body) (delay y)]`, a NameError stub bound
and never used...), and `beta_values` then removes them: each costs machine steps (an application, a
lambda, a variable; a delay and its force) every time it runs, and in a loop that is once per
allocation. `Peepholes` then replaces three shapes of OpShin's output by what they compute (a builtin
wrapped in a lambda, an index read's constant selector, the copy of a list). Together, on the release
path: the policy's cost per allocation from 124,451 to 91,795 memory units (34.3M to 32.2M CPU
counting `beta_values` alone: 100,451), each spend's from 32,354 to 20,754.

Why it is safe: a value (constant, variable, builtin, lambda, delay) evaluates in one step with no
effect, so substituting it for its variable changes neither the result nor which errors and traces
happen, nor their order. Only arguments that are values are substituted (an application or a forced
term, which may fail or trace, keeps its binding), and only where the term does not grow (the variable
unused or used once, or the value no bigger than a variable). Variable names are made unique first, so
no substitution is captured by an inner binder. The same holds for `Peepholes` (each shape is replaced
only where it computes the same thing, with the same failures and traces) and for `ForeignTraces`
(only the dropped messages leave the log).

One step does not keep the traces exactly: `beta_values` also runs uplc's own
`InlineVariableOptimizer` (as OpShin's -O3 does), which substitutes an argument that is NOT a value
(an application, a forced term) into the body when its variable occurs there once, in a position the
body always evaluates (not under a lambda or a delay). The verdict and the result are kept: the
argument is still evaluated exactly once, unless the body fails before reaching it, and then both
forms fail. But the argument now runs at its place in the body instead of before it, so when both the
argument and an earlier part of the body can fail, a failing script may show another message (the
body's instead of the argument's: `[(lam x [[addInteger (force (trace "B" (delay error)))] x])
(force (trace "A" (delay error)))]` logs "A" before and "B" after). It stays because the figures
above depend on it: without it a release of 40 costs 133,262 memory units per allocation instead of
119,800 (above the tests' bound of 121,000), and the policy is 469 bytes larger. That no message of
the shipped scripts moved is checked by the contract tests themselves (tests/contracts/unoptimised.py,
installed by their conftest; test_uplc_passes_contracts.py shows it at work): every uplc run they make
of the committed validator or policy is repeated, on the same script context, with OpShin's output
passed through `ForeignTraces` only, and both must give the same verdict and the same trace messages.
"""

from __future__ import annotations

import ast
import copy
import inspect
from collections import Counter

from uplc import flatten
from uplc.ast import (
    AST,
    Apply,
    BuiltIn,
    BuiltInFun,
    BuiltInFunEvalMap,
    BuiltInFunForceMap,
    BuiltinString,
    Constant,
    Delay,
    Force,
    ForcedBuiltIn,
    Lambda,
    Program,
    Variable,
)
from uplc.optimizer.inline_variables import InlineVariableOptimizer
from uplc.transformer.unique_variables import UniqueVariableTransformer
from uplc.util import NodeTransformer, NodeVisitor

# OpShin's own messages that a rule's refusal shows (check_integrity of a registered datum)
KEPT_OPSHIN_TRACES = frozenset({"ValueError: datum integrity check failed"})
# rounds of `beta_values` at most; the policy reaches its fixed point in 3
MAX_ROUNDS = 8


def assert_messages(source: str) -> frozenset[str]:
    """The messages of the source's own `assert` statements: the traces a refusal must keep."""
    return KEPT_OPSHIN_TRACES | frozenset(
        node.msg.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assert)
        and isinstance(node.msg, ast.Constant)
        and isinstance(node.msg.value, str)
    )


class ForeignTraces(NodeTransformer):
    """Drops `[[(force (builtin trace)) msg] x]` (keeps `x`) where msg is not one of `keep`: OpShin's
    own messages (NameError, IntegrityError, KeyError...), about 5 KB of the policy that no rule names.

    Only the forced builtin: that application logs msg and returns x, so x alone does the same but
    the log line. An unforced `(builtin trace)` (OpShin emits none) fails when applied; dropping it
    would turn a refusing script into an accepting one, so it is left as it is."""

    def __init__(self, keep: frozenset[str]) -> None:
        self.keep = keep

    def visit_Apply(self, node: Apply) -> AST:
        inner = node.f
        if (
            isinstance(inner, Apply)
            and isinstance(inner.x, BuiltinString)
            and inner.x.value not in self.keep
            and isinstance(inner.f, Force)
            and isinstance(inner.f.term, BuiltIn)
            and inner.f.term.builtin == BuiltInFun.Trace
        ):
            return self.visit(node.x)
        return self.generic_visit(node)


VALUES = (Constant, Variable, BuiltIn, ForcedBuiltIn, Lambda, Delay)


def is_small(term: AST) -> bool:
    """A value no bigger than the variable it would replace (copying it does not grow the term)."""
    if isinstance(term, (Variable, BuiltIn, ForcedBuiltIn)):
        return True
    return isinstance(term, Delay) and isinstance(term.term, (Variable, Constant))


class Occurrences(NodeVisitor):
    """How often each (unique) variable name occurs."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def visit_Variable(self, node: Variable) -> None:
        self.counts[node.name] += 1


class BetaValues(NodeTransformer):
    """`[(lam x body) v]` becomes `body[x := v]` where `v` is a value and `x` is unused, used once, or
    `v` is small; `(force (delay t))` becomes `t`. Needs unique variable names."""

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self.substitutions: dict[str, AST] = {}

    def visit_Variable(self, node: Variable) -> AST:
        return self.substitutions.get(node.name, node)

    def visit_Apply(self, node: Apply) -> AST:
        function = node.f
        if isinstance(function, Lambda):
            argument = self.visit(node.x)
            if isinstance(argument, VALUES) and (self.counts[function.var_name] <= 1 or is_small(argument)):
                self.substitutions[function.var_name] = argument
                return self.visit(function.term)
            return Apply(Lambda(function.var_name, self.visit(function.term)), argument)
        return Apply(self.visit(function), self.visit(node.x))

    def visit_Force(self, node: Force) -> AST:
        term = self.visit(node.term)
        return term.term if isinstance(term, Delay) else Force(term)


# OpShin's copy of a list of data, element by element (`fix copy l = if null l then [] else head l :
# copy (tail l)`): the same list, as its variables are numbered from 0 by `UniqueVariableTransformer`
LIST_COPY = (
    "[(lam v0 [v0 v0]) (lam v1 (lam v2 (force [[[(force (force (builtin chooseList))) v2] "
    "(delay (con (list data) []))] (delay [[(force (builtin mkCons)) [(force (builtin headList)) v2]] "
    "[[v1 v1] [(force (builtin tailList)) v2]]])])))]"
)


def canonical(term: AST) -> str:
    """The term's text with its variables renamed in binding order (the same for equal closed terms)."""
    try:
        renamed = UniqueVariableTransformer().visit(Program((1, 0, 0), copy.deepcopy(term)))
    except ValueError:  # a free variable: not a closed term
        return ""
    return str(renamed.term.dumps())


def is_variable(term: AST, name: str) -> bool:
    return isinstance(term, Variable) and term.name == name


def takes_two_or_more(builtin: BuiltIn) -> bool:
    """A builtin that needs no force and two arguments or more: applied to one argument it only waits,
    as the lambda around it would, so replacing the lambda by it changes no failure's moment."""
    if builtin.builtin not in BuiltInFunEvalMap or BuiltInFunForceMap[builtin.builtin] != 0:
        return False
    return len(inspect.signature(BuiltInFunEvalMap[builtin.builtin]).parameters) >= 2


class Peepholes(NodeTransformer):
    """Three shapes of OpShin's output replaced by what they compute, each where it computes exactly
    that (same value, same failures, same traces):

    - `(lam a (lam b [[B a] b]))` by the builtin `B` itself (eta: a builtin is a value), where `B` needs
      no force and takes at least two arguments;
    - `[[(lam a (lam b a)) X] v]` by `X` where `v` is a value (an index read's constant selector);
    - the element-by-element copy of a list by the list, where the list comes from `unListData` (so it is
      a list of data: the copy is total on it and returns an equal list).
    """

    def visit_Lambda(self, node: Lambda) -> AST:
        inner = node.term
        if isinstance(inner, Lambda) and inner.var_name != node.var_name:
            body = inner.term
            if (
                isinstance(body, Apply)
                and isinstance(body.f, Apply)
                and isinstance(body.f.f, BuiltIn)
                and takes_two_or_more(body.f.f)
                and is_variable(body.f.x, node.var_name)
                and is_variable(body.x, inner.var_name)
            ):
                return body.f.f
        return self.generic_visit(node)

    def visit_Apply(self, node: Apply) -> AST:
        f, x = node.f, node.x
        if (
            isinstance(f, Apply)
            and isinstance(f.f, Lambda)
            and isinstance(f.f.term, Lambda)
            and is_variable(f.f.term.term, f.f.var_name)
            and f.f.term.var_name != f.f.var_name
            and isinstance(x, VALUES)
        ):
            return self.visit(f.x)
        if (
            isinstance(x, Apply)
            and isinstance(x.f, BuiltIn)
            and x.f.builtin == BuiltInFun.UnListData
            and canonical(f) == LIST_COPY
        ):
            return self.visit(x)
        return self.generic_visit(node)


def beta_values(program: Program) -> Program:
    """`BetaValues`, `Peepholes` and uplc's own single-use inlining (`InlineVariableOptimizer`: keeps
    the verdict, may change which trace a failing program shows; see the module's docstring), repeated
    until the flat code stops shrinking."""
    program = UniqueVariableTransformer().visit(program)
    size = len(flatten(program))
    for _ in range(MAX_ROUNDS):
        occurrences = Occurrences()
        occurrences.visit(program)
        reduced = Peepholes().visit(BetaValues(occurrences.counts).visit(program))
        reduced = UniqueVariableTransformer().visit(
            InlineVariableOptimizer().visit(UniqueVariableTransformer().visit(reduced))
        )
        reduced_size = len(flatten(reduced))
        if reduced_size >= size:
            break
        program, size = reduced, reduced_size
    return program


def drop_foreign_traces(source: str, program: Program) -> Program:
    """OpShin's output with only the source's own traces: the unoptimised reference that the contract
    tests evaluate beside the shipped scripts (tests/contracts/unoptimised.py)."""
    return Program(program.version, ForeignTraces(assert_messages(source)).visit(program.term))


def finish(source: str, program: Program) -> Program:
    """What `make contracts` does to OpShin's output: only the source's own traces kept, then values
    bound to variables substituted."""
    return beta_values(drop_foreign_traces(source, program))
