"""The passes `make contracts` runs over OpShin's output (issue 18.5): values bound to a variable are
substituted, and nothing that can fail or trace loses its place; the scripts' own traces stay."""

from __future__ import annotations

from uplc.tools import dumps, eval, parse

from milestoned.contracts.uplc_passes import beta_values, finish


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
