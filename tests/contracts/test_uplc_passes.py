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
