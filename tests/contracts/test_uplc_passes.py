"""The passes `make contracts` runs over OpShin's output (issue 18.5): values bound to a variable are
substituted, and nothing that can fail or trace loses its place; the scripts' own traces stay."""

from __future__ import annotations

import pytest
from uplc.ast import Program
from uplc.machine import Budget
from uplc.tools import dumps, eval, parse
from uplc.transformer.unique_variables import UniqueVariableTransformer

from milestoned.contracts.uplc_passes import BetaValues, Occurrences, Peepholes, beta_values, finish


def test_a_lambda_bound_to_a_variable_is_substituted_and_costs_less() -> None:
    program = parse(
        "(program 1.0.0 [(lam f [(lam g [[(builtin addInteger) [f (con integer 2)]] [g (con integer 3)]]) f])"
        " (lam a [[(builtin multiplyInteger) a] a])])"
    )
    reduced = beta_values(program)
    before, after = eval(program), eval(reduced)
    assert str(after.result) == str(before.result) == "BuiltinInteger(value=13)"
    assert after.cost.memory < before.cost.memory
    assert "(lam g" not in dumps(reduced) and dumps(reduced).count("(lam ") == 2


def test_an_unused_value_is_dropped_but_an_argument_that_fails_is_kept() -> None:
    dropped = beta_values(parse("(program 1.0.0 [(lam x (con integer 1)) (delay (error))])"))
    assert dumps(dropped) == "(program 1.0.0 (con integer 1))"
    failing = beta_values(parse("(program 1.0.0 [(lam x (con integer 1)) [(lam y (error)) (con unit ())]])"))
    assert "error" in dumps(failing) and str(eval(failing).result).startswith("Execution called Error")


def test_a_trace_in_an_argument_still_happens() -> None:
    program = parse(
        "(program 1.0.0 [(lam x (con integer 1))"
        ' [[(force (builtin trace)) (con string "kept")] (con unit ())]])'
    )
    assert eval(beta_values(program)).logs == ["kept"]


def test_finish_keeps_the_sources_own_assert_messages_only() -> None:
    source = 'def validator(x: int) -> None:\n    assert x > 0, "x not positive"\n'
    program = parse(
        '(program 1.0.0 [[(force (builtin trace)) (con string "x not positive")]'
        ' [[(force (builtin trace)) (con string "NameError: x")] (con integer 1)]])'
    )
    assert eval(finish(source, program)).logs == ["x not positive"]


def test_a_two_argument_builtin_in_a_lambda_is_the_builtin_and_a_one_argument_one_is_kept() -> None:
    eta = (
        "(program 1.0.0 [[[(lam f f) (lam a (lam b [[(builtin addInteger) a] b]))] (con integer 2)]"
        " (con integer 3)])"
    )
    reduced = beta_values(parse(eta))
    assert dumps(reduced) == "(program 1.0.0 [[(builtin addInteger) (con integer 2)] (con integer 3)])"
    assert str(eval(reduced).result) == "BuiltinInteger(value=5)"
    # unIData takes one argument: applied to one, the lambda waits where the builtin would already fail
    kept = (
        "(program 1.0.0 [(lam a (lam b [[(builtin unIData) a] b])) [(builtin bData) (con bytestring #00)]])"
    )
    assert "(lam" in dumps(beta_values(parse(kept)))
    assert "Error" not in str(eval(beta_values(parse(kept))).result)


def test_foreign_traces_drops_only_a_forced_trace() -> None:
    """An unforced `(builtin trace)` applied fails (the uplc review's counterexample): dropping it as a
    foreign trace would turn that refusal into an acceptance of `1`; it must be left in place."""
    unforced = '(program 1.1.0 [[(builtin trace) (con string "NameError: x")] (con integer 1)])'
    before, after = eval(parse(unforced)), eval(finish("", parse(unforced)))
    assert isinstance(before.result, Exception)
    assert isinstance(after.result, Exception)
    assert "(builtin trace)" in dumps(finish("", parse(unforced)))
    forced = '(program 1.1.0 [[(force (builtin trace)) (con string "NameError: x")] (con integer 1)])'
    dropped = finish("", parse(forced))
    assert dumps(dropped) == "(program 1.1.0 (con integer 1))"
    assert str(eval(dropped).result) == "BuiltinInteger(value=1)" and eval(dropped).logs == []


def test_uplc_inliner_keeps_the_verdict_but_may_show_another_message() -> None:
    """What the module's docstring says of `InlineVariableOptimizer` (the uplc review's example): the
    argument that fails with "A" is moved into the body, after the part that fails with "B"."""
    text = (
        "(program 1.1.0 [(lam x [[(builtin addInteger) (force [[(force (builtin trace)) (con string"
        ' "B")] (delay (error))])] x]) (force [[(force (builtin trace)) (con string "A")] (delay (error))])])'
    )
    before, after = eval(parse(text)), eval(beta_values(parse(text)))
    assert isinstance(before.result, Exception) and before.logs == ["A"]
    assert isinstance(after.result, Exception) and after.logs == ["B"]


# --- each rewrite evaluated before and after ---------------------------------------------------------------


def outcome(program: Program, budget: Budget | None = None) -> tuple[str, list[str]]:
    """(result, logs) of a program: the result's text, or "error" when it fails (or exceeds `budget`:
    random programs may loop)."""
    run = eval(program) if budget is None else eval(program, budget=budget)
    result = "error" if isinstance(run.result, Exception) else run.result.dumps()
    return result, [str(line) for line in run.logs]


def substituted(program: Program) -> Program:
    """BetaValues then Peepholes, one round, without uplc's inliner (which may move a trace)."""
    program = UniqueVariableTransformer().visit(program)
    occurrences = Occurrences()
    occurrences.visit(program)
    reduced: Program = Peepholes().visit(BetaValues(occurrences.counts).visit(program))
    return reduced


def same_outcome(text: str) -> tuple[str, list[str]]:
    """The program's outcome, asserted equal (result and logs) after BetaValues+Peepholes, and equal in
    result after the whole `beta_values`."""
    before = outcome(parse(text))
    assert outcome(substituted(parse(text))) == before
    assert outcome(beta_values(parse(text)))[0] == before[0]
    return before


def trace(message: str, term: str) -> str:
    return f'[[(force (builtin trace)) (con string "{message}")] {term}]'


SELECT = "(lam a (lam b a))"


@pytest.mark.parametrize(
    ("selected", "expected"),
    [
        (trace("X", "(con integer 1)"), ("(con integer 1)", ["X"])),
        ("(error)", ("error", [])),
        (f"(force {trace('X', '(delay (error))')})", ("error", ["X"])),
    ],
    ids=["X traces", "X fails", "X traces and fails"],
)
def test_the_constant_selector_is_its_first_argument(selected: str, expected: tuple[str, list[str]]) -> None:
    text = f"(program 1.1.0 [[{SELECT} {selected}] (delay (con integer 2))])"
    assert dumps(Peepholes().visit(parse(text))) == dumps(parse(f"(program 1.1.0 {selected})"))
    assert same_outcome(text) == expected


def test_the_constant_selector_stays_when_its_second_argument_traces() -> None:
    text = f"(program 1.1.0 [[{SELECT} (con integer 1)] {trace('v', '(con integer 2)')}])"
    assert dumps(Peepholes().visit(parse(text))) == dumps(parse(text))
    assert same_outcome(text) == ("(con integer 1)", ["v"])


# OpShin's copy of a list, as it writes it (before its variables are renamed)
COPY = (
    "[(lam c [c c]) (lam r (lam l (force [[[(force (force (builtin chooseList))) l] "
    "(delay (con (list data) []))] (delay [[(force (builtin mkCons)) [(force (builtin headList)) l]] "
    "[[r r] [(force (builtin tailList)) l]]])])))]"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("(List [I 1, I 2])", "(con (list data) [I 1, I 2])"),
        ("(List [])", "(con (list data) [])"),
        ("(I 1)", "error"),
    ],
    ids=["a list", "an empty list", "not a list"],
)
def test_the_copy_of_an_unlistdata_list_is_the_list(data: str, expected: str) -> None:
    text = f"(program 1.1.0 [{COPY} [(builtin unListData) (con data {data})]])"
    assert (
        dumps(Peepholes().visit(parse(text))) == f"(program 1.1.0 [(builtin unListData) (con data {data})])"
    )
    assert same_outcome(text) == (expected, [])


def test_a_three_argument_builtin_in_a_lambda_given_two_arguments_waits() -> None:
    """verifyEd25519Signature takes three: given two (a key and a message of the wrong lengths), both the
    lambda and the builtin wait, and neither fails; given the third, both fail."""
    eta = "(lam a (lam b [[(builtin verifyEd25519Signature) a] b]))"
    assert dumps(Peepholes().visit(parse(f"(program 1.1.0 {eta})"))) == (
        "(program 1.1.0 (builtin verifyEd25519Signature))"
    )
    two = f"[[{eta} (con bytestring #00)] (con bytestring #01)]"
    assert same_outcome(f"(program 1.1.0 [(lam f (con integer 7)) {two}])") == ("(con integer 7)", [])
    assert same_outcome(f"(program 1.1.0 [{two} (con bytestring #02)])") == ("error", [])


@pytest.mark.parametrize(
    "function",
    ["(lam a (lam b [[(force (builtin mkCons)) a] b]))", "(lam a (lam a [[(builtin addInteger) a] a]))"],
    ids=["a forced builtin", "one name twice"],
)
def test_no_eta_where_the_lambda_is_not_the_builtin(function: str) -> None:
    text = f"(program 1.1.0 {function})"
    assert dumps(Peepholes().visit(parse(text))) == dumps(parse(text))
    if "addInteger" in function:  # the inner `a` is the second argument: 2 + 2, where the builtin gives 3
        applied = f"(program 1.1.0 [[{function} (con integer 1)] (con integer 2)])"
        assert (
            outcome(Peepholes().visit(parse(applied))) == outcome(parse(applied)) == ("(con integer 4)", [])
        )


def test_a_shadowed_name_is_not_captured() -> None:
    """`y` is the outer `x` (1) inside a lambda that binds another `x` (10): 1 - 10, where a capture
    would give 0."""
    text = (
        "(program 1.1.0 [[(lam x [(lam y (lam x [[(builtin subtractInteger) y] x])) x]) (con integer 1)]"
        " (con integer 10)])"
    )
    assert same_outcome(text) == ("(con integer -9)", [])
    assert outcome(beta_values(parse(text))) == ("(con integer -9)", [])
