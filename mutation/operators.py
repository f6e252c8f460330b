"""Mutation operators: every single-line change a tired engineer could make, as AST edits.

A mutant is identified by its *site*: the index of one candidate change in a deterministic walk of a
freshly parsed module. Generating lists the sites with their operator, line and a short description;
applying re-parses the original source, walks it in the same order and performs the one change at that
index, then unparses the tree. Working on the AST (not on text) means every mutant is syntactically
valid Python, so OpShin can compile it and pytest can import it; unparsing drops comments and
reformats, which changes nothing a test can see.

Parts of a module that no test should see change are not mutated: docstrings, type annotations,
`__all__`, and the text of error and log messages (an f-string, the message of a `raise`, the arguments
of a logger call): tests that pin messages exist, but a mutated message is the one change a user reads
rather than one that lets a wrong value through.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Comparison swaps: each operator to the one a tired engineer confuses it with.
COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}

ARITHMETIC_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.FloorDiv: ast.Mult,
    ast.Mult: ast.FloorDiv,
    ast.Mod: ast.FloorDiv,
}

# Names whose calls carry log or error text, not logic.
LOG_CALLEES = frozenset({"debug", "info", "warning", "error", "exception", "critical", "print", "echo"})
# Fields of a node that hold type annotations, never evaluated as logic.
ANNOTATION_FIELDS = frozenset({"annotation", "returns", "type_comment"})

# The "weaker field" operator of the scripts: an address compared by its payment credential only.
WEAK_FIELD_HINTS = ("address", "beneficiary")


@dataclass(frozen=True)
class Site:
    """One candidate mutant of a module (its index is its position in the walk)."""

    index: int
    operator: str
    line: int
    description: str


@dataclass(frozen=True)
class _Candidate:
    operator: str
    line: int
    description: str
    apply: Callable[[], None]


def _snippet(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_message_call(call: ast.Call) -> bool:
    name = _callee_name(call)
    return name in LOG_CALLEES or name.endswith(("Error", "Exception", "Warning"))


class _Walker:
    """Collects the candidates of a tree in a fixed order (the order defines the site indices)."""

    def __init__(self, weak_fields: bool) -> None:
        self.weak_fields = weak_fields
        self.candidates: list[_Candidate] = []

    def add(self, operator: str, node: ast.AST, description: str, apply: Callable[[], None]) -> None:
        self.candidates.append(_Candidate(operator, getattr(node, "lineno", 0), description, apply))

    # -- statements -------------------------------------------------------------------------------

    def body(self, statements: list[ast.stmt], in_function: bool = False) -> None:
        for position, statement in enumerate(statements):
            if position == 0 and _is_docstring(statement):
                continue
            self.statement(statements, position, statement)

    def _replace_statement(
        self, statements: list[ast.stmt], position: int, new: ast.stmt
    ) -> Callable[[], None]:
        def apply() -> None:
            statements[position] = ast.copy_location(new, statements[position])

        return apply

    def statement(self, statements: list[ast.stmt], position: int, node: ast.stmt) -> None:
        if isinstance(node, ast.Assert):
            self.add(
                "remove_assert",
                node,
                _snippet(node),
                self._replace_statement(statements, position, ast.Pass()),
            )
            self.expression(node.test)
            return
        if isinstance(node, ast.Raise):
            self.add(
                "remove_raise",
                node,
                _snippet(node),
                self._replace_statement(statements, position, ast.Pass()),
            )
            return  # the raised exception's message is not logic
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            if not _is_message_call(node.value):
                self.add(
                    "remove_call",
                    node,
                    _snippet(node),
                    self._replace_statement(statements, position, ast.Pass()),
                )
                self.expression(node.value)
            return
        if isinstance(node, ast.Assign | ast.AnnAssign) and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ):
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.function(node)
            return
        if isinstance(node, ast.ClassDef):
            self.body(node.body)
            return
        if isinstance(node, ast.If | ast.While):
            self.negate(node, "test")
            self.expression(node.test)
            if isinstance(node, ast.While):
                self.skip_loop(node)
            self.body(node.body)
            self.body(node.orelse)
            return
        if isinstance(node, ast.For | ast.AsyncFor):
            self.expression(node.iter)
            self.skip_loop(node)
            self.body(node.body)
            self.body(node.orelse)
            return
        if isinstance(node, ast.Return):
            if node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None
            ):
                target = node

                def apply() -> None:
                    target.value = ast.Constant(None)

                self.add("return_none", node, _snippet(node), apply)
                self.expression(node.value)
            return
        if isinstance(node, ast.AugAssign):
            swap = ARITHMETIC_SWAPS.get(type(node.op))
            if swap is not None:
                target_aug = node
                new_op = swap

                def apply_aug() -> None:
                    target_aug.op = new_op()

                self.add(
                    "arithmetic",
                    node,
                    f"{_snippet(node)} ({type(node.op).__name__}->{swap.__name__})",
                    apply_aug,
                )
            self.expression(node.value)
            return
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                self.expression(item.context_expr)
            self.body(node.body)
            return
        if isinstance(node, ast.Try):
            self.body(node.body)
            for handler in node.handlers:
                self.body(handler.body)
            self.body(node.orelse)
            self.body(node.finalbody)
            return
        if isinstance(node, ast.Match):
            self.expression(node.subject)
            for case in node.cases:
                if case.guard is not None:
                    self.expression(case.guard)
                self.body(case.body)
            return
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Global | ast.Nonlocal | ast.Pass):
            return
        # Assign, AnnAssign, Delete, Expr(non-call)...: mutate the expressions they hold
        for field, value in ast.iter_fields(node):
            if field in ANNOTATION_FIELDS or field == "targets" or field == "target":
                continue
            if isinstance(value, ast.expr):
                self.expression(value)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for default in [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]:
            self.expression(default)
        inner = [n for n in ast.walk(node) if n is not node]
        # (a nested function returning a value makes this conservative: no early return is offered)
        procedure = not any(isinstance(n, ast.Return) and n.value is not None for n in inner) and not any(
            isinstance(n, ast.Yield | ast.YieldFrom) for n in inner
        )
        start = 1 if node.body and _is_docstring(node.body[0]) else 0
        if (
            procedure
            and start < len(node.body)
            and not (len(node.body) == start + 1 and isinstance(node.body[start], ast.Pass | ast.Return))
        ):
            target = node

            def apply() -> None:
                target.body.insert(start, ast.copy_location(ast.Return(None), target.body[start]))

            self.add("return_early", node.body[start], f"return at the start of {node.name}()", apply)
        self.body(node.body, in_function=True)

    def skip_loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        target = node

        def apply() -> None:
            target.body = [ast.copy_location(ast.Pass(), target.body[0])]

        self.add("skip_loop_body", node, _snippet(node, 50).split(":")[0], apply)

    def negate(self, node: ast.AST, field: str) -> None:
        test = getattr(node, field)
        holder = node
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            operand = test.operand

            def apply() -> None:
                setattr(holder, field, operand)

        else:

            def apply() -> None:
                setattr(holder, field, ast.UnaryOp(ast.Not(), getattr(holder, field)))

        self.add("negate_condition", test, f"not ({_snippet(test)})", apply)

    # -- expressions ------------------------------------------------------------------------------

    def expression(self, node: ast.expr) -> None:
        """Mutation sites inside one expression, depth first in field order."""
        if isinstance(node, ast.JoinedStr | ast.Lambda):
            return
        if isinstance(node, ast.Call) and _is_message_call(node):
            return
        if isinstance(node, ast.Compare):
            self.compare(node)
        elif isinstance(node, ast.BoolOp):
            self.boolop(node)
        elif isinstance(node, ast.BinOp):
            swap = ARITHMETIC_SWAPS.get(type(node.op))
            if swap is not None:
                target = node
                new_op = swap

                def apply() -> None:
                    target.op = new_op()

                self.add(
                    "arithmetic", node, f"{_snippet(node)} ({type(node.op).__name__}->{swap.__name__})", apply
                )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self._drop_minus(node)
        elif isinstance(node, ast.IfExp):
            self.negate(node, "test")
        elif isinstance(node, ast.Constant):
            self.constant(node)
            return
        for field, value in ast.iter_fields(node):
            if field in ANNOTATION_FIELDS:
                continue
            if isinstance(value, ast.expr):
                self.expression(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.expr):
                        self.expression(item)
                    elif isinstance(item, ast.comprehension):
                        self.expression(item.iter)
                        for condition in item.ifs:
                            self.expression(condition)
                    elif isinstance(item, ast.keyword):
                        self.expression(item.value)

    def _drop_minus(self, node: ast.UnaryOp) -> None:
        target = node

        def apply() -> None:
            # Turn `-x` into `+x`: same value as `x`, the node stays in place in its parent.
            target.op = ast.UAdd()

        self.add("arithmetic", node, f"{_snippet(node)} (drop unary minus)", apply)

    def compare(self, node: ast.Compare) -> None:
        for position, op in enumerate(node.ops):
            swap = COMPARE_SWAPS.get(type(op))
            if swap is None:
                continue
            target = node
            new_op = swap
            index = position

            def apply(
                target: ast.Compare = target, new_op: type[ast.cmpop] = new_op, index: int = index
            ) -> None:
                target.ops[index] = new_op()

            self.add(
                "swap_comparison", node, f"{_snippet(node)} ({type(op).__name__}->{swap.__name__})", apply
            )
        for operand in [node.left, *node.comparators]:
            if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                self.constant(operand, compared=True)
        if self.weak_fields and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq):
            text = ast.unparse(node).lower()
            if any(hint in text for hint in WEAK_FIELD_HINTS):
                target_weak = node

                def apply_weak() -> None:
                    target_weak.left = ast.Attribute(target_weak.left, "payment_credential", ast.Load())
                    target_weak.comparators[0] = ast.Attribute(
                        target_weak.comparators[0], "payment_credential", ast.Load()
                    )

                self.add("weaker_field", node, f"{_snippet(node)} (payment credential only)", apply_weak)

    def boolop(self, node: ast.BoolOp) -> None:
        for position in range(len(node.values)):
            target = node
            index = position

            def apply(target: ast.BoolOp = target, index: int = index) -> None:
                del target.values[index]
                if len(target.values) == 1:
                    # a one-value BoolOp unparses as that value; keep it a BoolOp node in place
                    target.values.append(ast.Constant(isinstance(target.op, ast.And)))

            kept = type(node.op).__name__.lower()
            self.add("drop_operand", node, f"drop `{_snippet(node.values[position], 40)}` of {kept}", apply)

    def constant(self, node: ast.Constant, compared: bool = False) -> None:
        value = node.value
        target = node

        def setter(new: bool | int | bytes | str) -> Callable[[], None]:
            def apply() -> None:
                target.value = new

            return apply

        if isinstance(value, bool):
            self.add("constant", node, f"{value!r} -> {not value!r}", setter(not value))
        elif isinstance(value, int):
            self.add("off_by_one", node, f"{value} -> {value + 1}", setter(value + 1))
            self.add("off_by_one", node, f"{value} -> {value - 1}", setter(value - 1))
            if value not in (0, 1, -1):
                self.add("constant", node, f"{value} -> 0", setter(0))
        elif isinstance(value, bytes):
            if value:
                self.add("constant", node, f"{value[:20]!r} -> b''", setter(b""))
            else:
                self.add("constant", node, "b'' -> b'\\x00'", setter(b"\x00"))
        elif isinstance(value, str) and value and compared:
            self.add("constant", node, f"{value[:30]!r} -> ''", setter(""))


def _candidates(tree: ast.Module, weak_fields: bool) -> list[_Candidate]:
    walker = _Walker(weak_fields)
    walker.body(tree.body)
    return walker.candidates


def sites(source: str, weak_fields: bool = False) -> list[Site]:
    """Every mutant of `source`, in site order."""
    tree = ast.parse(source)
    return [
        Site(index, c.operator, c.line, c.description)
        for index, c in enumerate(_candidates(tree, weak_fields))
    ]


def mutate(source: str, index: int, weak_fields: bool = False) -> str:
    """The source of mutant `index` (a fresh parse, one change, unparsed)."""
    tree = ast.parse(source)
    candidates = _candidates(tree, weak_fields)
    candidates[index].apply()
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n"


def baseline(source: str) -> str:
    """The unmutated source as the mutants are written (unparsed): what a mutant is compared with."""
    return ast.unparse(copy.deepcopy(ast.parse(source))) + "\n"


def iter_mutants(
    source: str, weak_fields: bool = False, indices: set[int] | None = None
) -> Iterator[tuple[Site, str]]:
    """Each site (or those in `indices`) with its mutated source; mutants that unparse to the original
    are dropped."""
    original = baseline(source)
    for site in sites(source, weak_fields):
        if indices is not None and site.index not in indices:
            continue
        mutated = mutate(source, site.index, weak_fields)
        if mutated != original:
            yield site, mutated
