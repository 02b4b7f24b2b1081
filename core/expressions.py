"""Safe arithmetic expressions for measure values, filters and KPI formulas.

An expression such as ``answered_s - arrived_s <= sl_threshold_s`` is parsed once with
:mod:`ast`, checked against a whitelist (arithmetic, comparisons, ``&``/``|``/``~``,
``and``/``or``/``not``, and the functions in :data:`FUNCTIONS`), and evaluated with numpy over
whole columns or whole group arrays. Nothing is ever passed to ``eval``.

Semantics chosen for metrics rather than for Python:

- ``and``/``or``/``not`` and ``&``/``|``/``~`` are element-wise logical operators.
- Division by zero gives NaN (undefined), never ``inf`` or an exception, so a rate over an
  empty group is missing rather than infinite.
- A text column compares with a string (``channel == "chat"``); nothing else is allowed on it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from kpiforge.errors import KpiforgeError
from kpiforge.io.categorical import Categorical


def _isnan(a: Any) -> Any:
    return np.isnan(np.asarray(a, dtype=np.float64))


def _coalesce(a: Any, b: Any) -> Any:
    return np.where(_isnan(a), b, a)


def _reduce(ufunc: np.ufunc) -> Callable[..., Any]:
    def element_wise(*args: Any) -> Any:
        out = args[0]
        for arg in args[1:]:
            out = ufunc(out, arg)
        return out

    return element_wise


#: name -> (minimum arguments, maximum arguments or None, implementation)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "where": (3, 3, np.where),
    "isnan": (1, 1, _isnan),
    "notnan": (1, 1, lambda a: ~_isnan(a)),
    "coalesce": (2, 2, _coalesce),
    "abs": (1, 1, np.abs),
    "min": (2, None, _reduce(np.fmin)),
    "max": (2, None, _reduce(np.fmax)),
    "sqrt": (1, 1, np.sqrt),
    "log": (1, 1, np.log),
    "exp": (1, 1, np.exp),
}

_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Pow: np.power,
    ast.Mod: np.mod,
    ast.FloorDiv: np.floor_divide,
    ast.BitAnd: np.logical_and,
    ast.BitOr: np.logical_or,
}
_COMPARE = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive, ast.Not: np.logical_not,
          ast.Invert: np.logical_not}
_STRUCTURAL = (ast.Expression, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
               ast.Call, ast.Name, ast.Constant, ast.And, ast.Or, ast.Div,
               *_BINARY, *_COMPARE, *_UNARY)
_DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "indexing",
             ast.Lambda: "lambda", ast.IfExp: "if-else (use where(cond, a, b))",
             ast.In: "'in'", ast.NotIn: "'not in'", ast.Is: "'is'", ast.IsNot: "'is not'",
             ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'", ast.BitXor: "'^'",
             ast.NamedExpr: "':='", ast.Starred: "'*' unpacking", ast.keyword: "keyword arguments"}


class ExpressionError(KpiforgeError):
    """An expression that does not parse or uses something outside the whitelist."""


@attrs.frozen
class Expression:
    """A parsed, validated expression; ``names`` are the free names it reads."""

    text: str
    tree: ast.Expression = attrs.field(eq=False, repr=False)
    names: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Expression:
        """Parse and validate ``text``; raise :class:`ExpressionError` with the position."""
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("an expression must be a non-empty string")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(
                f"{text!r} does not parse: {exc.msg} at column {exc.offset or 0}"
            ) from None
        names = set()
        for node in ast.walk(tree):
            _check_node(node, text.strip())
            if isinstance(node, ast.Name) and not _is_function_name(tree, node):
                names.add(node.id)
        return cls(text=text.strip(), tree=tree, names=frozenset(names))

    def evaluate(self, lookup: Callable[[str], Any], memo: dict[str, Any] | None = None) -> Any:
        """Evaluate with names taken from ``lookup``.

        ``memo`` caches sub-expressions by their structure, so measures sharing
        ``answered_s - arrived_s`` compute it once per pass.
        """
        return _Evaluator(lookup, {} if memo is None else memo).visit(self.tree.body)


def _is_function_name(tree: ast.AST, name: ast.Name) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in ast.walk(tree))


def _check_node(node: ast.AST, text: str) -> None:
    where = f" at column {_column(node)}" if hasattr(node, "col_offset") else ""
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExpressionError(
                f"{text!r}: function {called!r}{where} is not allowed; "
                f"use one of {', '.join(sorted(FUNCTIONS))}"
            )
        low, high, _ = FUNCTIONS[node.func.id]
        count = len(node.args)
        if node.keywords or count < low or (high is not None and count > high):
            expected = f"{low}" if low == high else f"at least {low}"
            raise ExpressionError(
                f"{text!r}: {node.func.id}(){where} takes {expected} positional arguments"
            )
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float | str) or node.value is None:
            raise ExpressionError(f"{text!r}: constant {node.value!r}{where} is not allowed")
    elif not isinstance(node, _STRUCTURAL):
        what = _DESCRIBE.get(type(node), type(node).__name__)
        raise ExpressionError(f"{text!r}: {what}{where} is not allowed")


def _column(node: ast.AST) -> int:
    """1-based column of the token at fault: the '.' or '[' after a value, else the node."""
    if isinstance(node, ast.Attribute | ast.Subscript):
        return (node.value.end_col_offset or 0) + 1
    return int(getattr(node, "col_offset", 0)) + 1


class _Evaluator:
    def __init__(self, lookup: Callable[[str], Any], memo: dict[str, Any]) -> None:
        self.lookup = lookup
        self.memo = memo

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        key = ast.dump(node)
        if key not in self.memo:
            self.memo[key] = self._compute(node)
        return self.memo[key]

    def _compute(self, node: ast.AST) -> Any:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if isinstance(node, ast.BinOp):
                left, right = self._numeric(node.left), self._numeric(node.right)
                if isinstance(node.op, ast.Div):
                    return _divide(left, right)
                return _BINARY[type(node.op)](left, right)
            if isinstance(node, ast.UnaryOp):
                return _UNARY[type(node.op)](self._numeric(node.operand))
            if isinstance(node, ast.BoolOp):
                combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
                out = self._numeric(node.values[0])
                for value in node.values[1:]:
                    out = combine(out, self._numeric(value))
                return out
            if isinstance(node, ast.Compare):
                return self._compare(node)
            assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            args = [self._numeric(arg) for arg in node.args]
            return FUNCTIONS[node.func.id][2](*args)

    def _numeric(self, node: ast.AST) -> Any:
        value = self.visit(node)
        if isinstance(value, Categorical):
            raise ExpressionError(
                f"text column {ast.unparse(node)!r} can only be compared with a string "
                f"(for example {ast.unparse(node)} == \"chat\")"
            )
        if isinstance(value, str):
            raise ExpressionError(f"string {value!r} can only be compared with a text column")
        return value

    def _compare(self, node: ast.Compare) -> Any:
        result = None
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.visit(right_node)
            step = _compare_pair(type(op), left, right, node)
            result = step if result is None else np.logical_and(result, step)
            left = right
        return result


def _compare_pair(op: type[ast.cmpop], left: Any, right: Any, node: ast.Compare) -> Any:
    if isinstance(right, Categorical) and isinstance(left, str):
        left, right = right, left
    if isinstance(left, Categorical) or isinstance(right, Categorical):
        if not (isinstance(left, Categorical) and isinstance(right, str)) or op not in (
            ast.Eq, ast.NotEq
        ):
            raise ExpressionError(
                f"{ast.unparse(node)!r}: a text column can only be compared with == or != "
                "against a string"
            )
        matches = left.codes == left.code_of(right)
        return matches if op is ast.Eq else ~matches
    if isinstance(left, str) or isinstance(right, str):
        raise ExpressionError(
            f"{ast.unparse(node)!r}: a string can only be compared with a text column"
        )
    return _COMPARE[op](left, right)


def _divide(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` with NaN wherever the denominator is zero."""
    result = np.true_divide(numerator, denominator)
    return np.where(np.asarray(denominator) == 0, np.nan, result)
