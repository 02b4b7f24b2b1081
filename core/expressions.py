"""Safe arithmetic expressions for measure values, filters and KPI formulas.

An expression such as ``answered_s - arrived_s <= sl_threshold_s`` is parsed once with
:mod:`ast`, checked against a whitelist (arithmetic, comparisons, ``in`` a list of
constants, ``&``/``|``/``~``, ``and``/``or``/``not``, and the functions in
:data:`FUNCTIONS`), type-checked where the names' types are known, and compiled into a flat
list of operations. Evaluation walks that list with an explicit stack, applying numpy to
whole columns or group arrays, so nesting is limited by :data:`MAX_DEPTH` and never by
Python's recursion limit. Nothing is ever passed to ``eval``.

Semantics chosen for metrics rather than for Python:

- Numbers are floats (``2 ** -1`` is 0.5); True and False count as 1 and 0 in arithmetic.
- A result that is not a finite number is NaN, undefined: division, floor division and
  modulo by zero, overflow (``10 ** 400``, ``exp(1000)``), ``log(0)``, ``sqrt(-1)``. A rate
  over an empty group is missing rather than infinite.
- ``and``/``or``/``not`` and ``&``/``|``/``~`` are element-wise logical operators; a number
  is true when it is non-zero, and NaN (missing) is false.
- A text column compares with a string (``channel == "chat"``) or a list of strings
  (``queue in ("billing", "sales")``); nothing else is allowed on it.
"""

from __future__ import annotations

import ast
import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from kpiforge.errors import KpiforgeError
from kpiforge.io.categorical import Categorical

#: The longest expression accepted, in characters.
MAX_LENGTH = 20_000
#: The deepest nesting accepted, counted as Python parses the expression: each operator of a
#: chain such as ``a | b | c`` is one level, while ``and``/``or`` chains, comparisons, ``in``
#: lists and function arguments add one level whatever their length.
MAX_DEPTH = 1_000


class ExpressionError(KpiforgeError):
    """An expression that does not parse, uses something outside the whitelist, mixes types,
    or exceeds a limit."""


class Kind(enum.Enum):
    """What an expression or name holds, as far as is known before any data is read."""

    NUMBER = "a number"
    TEXT = "a text column"
    STRING = "a string"
    #: A column whose type is unknown until the data is read (an extra column).
    UNKNOWN = "unknown"


def kind_of(value: Any) -> Kind:
    """The kind of an evaluated value."""
    if isinstance(value, Categorical):
        return Kind.TEXT
    return Kind.STRING if isinstance(value, str) else Kind.NUMBER


def _float(value: Any) -> Any:
    """``value`` as float64 (booleans and integers included), without copying floats."""
    if isinstance(value, np.ndarray):
        return value if value.dtype == np.float64 else value.astype(np.float64)
    return np.float64(value)


def _truth(value: Any) -> Any:
    """True where ``value`` is true: non-zero, and not NaN."""
    if np.asarray(value).dtype == np.bool_:
        return value
    return np.abs(_float(value)) > 0


def _finite(ufunc: Callable[..., Any]) -> Callable[..., Any]:
    """``ufunc`` over floats, with NaN wherever the result would be infinite.

    Evaluation runs with numpy's overflow and divide-by-zero errors raised, which costs
    nothing when they do not happen; when they do, the operation is repeated with errors
    ignored and the infinities it made become NaN.
    """

    def apply(*args: Any) -> Any:
        args = tuple(_float(arg) for arg in args)
        try:
            return ufunc(*args)
        except FloatingPointError:
            with np.errstate(all="ignore"):
                out = ufunc(*args)
        if np.ndim(out) == 0:
            return np.float64(np.nan) if np.isinf(out) else out
        out[np.isinf(out)] = np.nan
        return out

    return apply


def _where(condition: Any, a: Any, b: Any) -> Any:
    return np.where(_truth(condition), _float(a), _float(b))


def _coalesce(a: Any, b: Any) -> Any:
    a = _float(a)
    return np.where(np.isnan(a), _float(b), a)


def _member(value: Any, members: tuple[Any, ...]) -> Any:
    """True where ``value`` is one of ``members`` (labels of a text column, or numbers)."""
    if isinstance(value, Categorical):
        # One entry per label and a last one, False, that the missing code -1 reads.
        table = np.zeros(len(value.labels) + 1, dtype=bool)
        table[:-1] = np.isin(value.labels, np.array(members, dtype=object))
        return table[value.codes]
    return np.isin(_float(value), np.array(members, dtype=np.float64))


def _equal_text(text: Categorical, label: str) -> Any:
    return text.codes == text.code_of(label)


def _compare(ufunc: np.ufunc, negate: bool = False) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        if isinstance(right, Categorical):
            left, right = right, left
        if isinstance(left, Categorical):
            matches = _equal_text(left, right)
            return ~matches if negate else matches
        return ufunc(left, right)

    return apply


#: name -> (minimum arguments, maximum arguments or None)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "where": (3, 3),
    "isnan": (1, 1),
    "notnan": (1, 1),
    "coalesce": (2, 2),
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "sqrt": (1, 1),
    "log": (1, 1),
    "exp": (1, 1),
    "business_s": (2, 2),
}
#: Functions whose implementation the run provides (they read more than their arguments):
#: ``business_s(start, end)``, the open seconds of the run's business-hours calendar.
ROW_FUNCTIONS = frozenset({"business_s"})

#: Compiled operation -> implementation over evaluated operands.
_APPLY: dict[str, Callable[..., Any]] = {
    "+": _finite(np.add), "-": _finite(np.subtract), "*": _finite(np.multiply),
    "/": _finite(np.true_divide), "//": _finite(np.floor_divide), "%": _finite(np.remainder),
    "**": _finite(np.power),
    "neg": lambda a: np.negative(_float(a)), "pos": _float,
    "not": lambda a: np.logical_not(_truth(a)),
    "and": lambda a, b: np.logical_and(_truth(a), _truth(b)),
    "or": lambda a, b: np.logical_or(_truth(a), _truth(b)),
    "==": _compare(np.equal), "!=": _compare(np.not_equal, negate=True),
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "in": _member, "not in": lambda a, members: ~_member(a, members),
    "where": _where, "isnan": lambda a: np.isnan(_float(a)),
    "notnan": lambda a: ~np.isnan(_float(a)), "coalesce": _coalesce,
    "abs": lambda a: np.abs(_float(a)), "min": _finite(np.fmin), "max": _finite(np.fmax),
    "sqrt": _finite(np.sqrt), "log": _finite(np.log), "exp": _finite(np.exp),
}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "and", ast.BitOr: "or"}
_UNARY = {ast.USub: "neg", ast.UAdd: "pos", ast.Not: "not", ast.Invert: "not"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
            ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in"}
_DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "indexing",
             ast.Lambda: "lambda", ast.IfExp: "if-else (use where(cond, a, b))",
             ast.Is: "'is'", ast.IsNot: "'is not'", ast.MatMult: "'@'", ast.LShift: "'<<'",
             ast.RShift: "'>>'", ast.BitXor: "'^'", ast.NamedExpr: "':='",
             ast.Starred: "'*' unpacking", ast.keyword: "keyword arguments",
             ast.Tuple: "a tuple", ast.List: "a list", ast.Set: "a set", ast.Dict: "a dict"}
_ARITHMETIC = {"+", "-", "*", "/", "//", "%", "**", "neg", "pos", *FUNCTIONS}
_MISSING = object()


@attrs.frozen
class _Node:
    """One compiled operation: ``op`` applied to the values of ``children`` (indexes of
    earlier nodes) and ``arg`` (a name, a constant, or the members of an ``in`` list)."""

    op: str
    children: tuple[int, ...]
    arg: Any
    #: (lineno, col_offset, end_lineno, end_col_offset) of its source, for messages.
    span: tuple[int, int, int, int]
    #: The order in which to evaluate ``children``: the one needing most memory first.
    order: tuple[int, ...]
    #: How many operands this node holds at most while evaluating (Sethi-Ullman number).
    need: int


@attrs.frozen
class Expression:
    """A parsed, validated expression; ``names`` are the free names it reads and ``kind``
    what it gives, as far as is known before reading data."""

    text: str
    names: frozenset[str]
    kind: Kind = attrs.field(eq=False)
    nodes: tuple[_Node, ...] = attrs.field(eq=False, repr=False)

    @property
    def functions(self) -> frozenset[str]:
        """The :data:`ROW_FUNCTIONS` it calls."""
        return frozenset(node.op for node in self.nodes if node.op in ROW_FUNCTIONS)

    @classmethod
    def parse(cls, text: str, kinds: Mapping[str, Kind] | None = None,
              default: Kind = Kind.UNKNOWN) -> Expression:
        """Parse, validate and type-check ``text``; ``kinds`` gives what names hold (others
        are ``default``). Raises :class:`ExpressionError` naming what is wrong and where."""
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("an expression must be a non-empty string")
        text = text.strip()
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"{_abridged(text)} is {len(text):,} characters long; the "
                                  f"limit is {MAX_LENGTH:,}")
        try:
            tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError) as exc:
            detail = getattr(exc, "msg", str(exc))
            offset = getattr(exc, "offset", None) or 0
            raise ExpressionError(f"{_abridged(text)} does not parse: {detail} at column "
                                  f"{offset}") from None
        except (RecursionError, MemoryError):
            raise _too_deep(text) from None
        compiler = _Compiler(text, kinds or {}, default)
        nodes, kind = compiler.compile(tree.body)
        return cls(text=text, names=frozenset(compiler.names), kind=kind, nodes=nodes)

    def evaluate(self, lookup: Callable[[str], Any], shared: SharedValues | None = None,
                 functions: Mapping[str, Callable[..., Any]] | None = None) -> Any:
        """Evaluate with names taken from ``lookup``.

        ``shared`` holds the values of sub-expressions that other expressions evaluated with
        it also use (``answered_s - arrived_s`` in several measures of one pass), so each is
        computed once; without it, repeats within this expression are. ``functions`` gives
        the :data:`ROW_FUNCTIONS` the run provides.
        """
        shared = SharedValues((self,)) if shared is None else shared
        ids = shared.ids_of(self)
        done: dict[int, Any] = {}
        stack = [(len(self.nodes) - 1, False)]
        with np.errstate(over="raise", divide="raise", invalid="ignore", under="ignore"):
            while stack:
                index, expanded = stack.pop()
                node = self.nodes[index]
                if node.op == "name":
                    done[index] = lookup(node.arg)
                elif node.op == "const":
                    done[index] = node.arg
                elif expanded:
                    values = [done.pop(child) for child in node.children]
                    done[index] = shared.keep(ids[index],
                                              self._apply(node, values, functions or {}))
                else:
                    value = shared.take(ids[index])
                    if value is not _MISSING:
                        done[index] = value
                        continue
                    stack.append((index, True))
                    stack.extend((child, False) for child in reversed(node.order))
        return done[len(self.nodes) - 1]

    def _apply(self, node: _Node, values: list[Any],
               functions: Mapping[str, Callable[..., Any]]) -> Any:
        _check_operands(node, [kind_of(v) for v in values], self.text)
        if node.op in ("in", "not in"):
            values.append(node.arg)
        if node.op in ROW_FUNCTIONS:
            if node.op not in functions:
                raise ExpressionError(f"{_abridged(self.text)}: {node.op}() needs a "
                                      "business-hours calendar (calendar=, --calendar)")
            return functions[node.op](*(_float(v) for v in values))
        return _APPLY[node.op](*values)


def require_number(kind: Kind, text: str, role: str) -> None:
    """Raise :class:`ExpressionError` unless an expression of ``kind`` can serve as
    ``role`` ("a number" or "a condition")."""
    if kind is Kind.TEXT:
        raise ExpressionError(f"{_abridged(text)} is a text column, not {role}; compare it "
                              f"with a string, as in {text} == \"chat\"")
    if kind is Kind.STRING:
        raise ExpressionError(f"{_abridged(text)} is a string, not {role}; compare a text "
                              f"column with it, as in channel == {text}")


class SharedValues:
    """Values of the sub-expressions that several expressions evaluated together share
    (the measures of one pass): each is computed once and kept only until its last use.

    Sub-expressions are matched by structure, so ``(a - b) * 2`` and ``a - b <= 3`` share
    ``a - b``. Only values used more than once are kept, which bounds memory by what is
    shared rather than by the size of the expressions.
    """

    def __init__(self, expressions: Iterable[Expression]) -> None:
        self._ids: dict[Expression, tuple[int, ...]] = {}
        known: dict[tuple[Any, ...], int] = {}
        uses: Counter[int] = Counter()
        for expression in expressions:
            if expression not in self._ids:
                ids: list[int] = []
                for node in expression.nodes:
                    key = (node.op, node.arg, tuple(ids[c] for c in node.children))
                    if key not in known:
                        known[key] = len(known)
                        uses.update(ids[c] for c in node.children)
                    ids.append(known[key])
                self._ids[expression] = tuple(ids)
            uses[self._ids[expression][-1]] += 1
        self._uses = {ident: count for ident, count in uses.items() if count > 1}
        self._kept: dict[int, list[Any]] = {}

    def ids_of(self, expression: Expression) -> tuple[int, ...]:
        """The structural id of each node of ``expression``."""
        return self._ids[expression]

    def take(self, ident: int) -> Any:
        """The kept value of sub-expression ``ident`` (forgotten after its last use), or
        the ``_MISSING`` marker."""
        entry = self._kept.get(ident)
        if entry is None:
            return _MISSING
        entry[1] -= 1
        if entry[1] == 0:
            del self._kept[ident]
        return entry[0]

    def keep(self, ident: int, value: Any) -> Any:
        """Keep ``value`` for the later uses of ``ident``, if there are any; return it."""
        if ident in self._uses:
            self._kept[ident] = [value, self._uses[ident] - 1]
        return value


class _Compiler:
    """Turns a parsed tree into :class:`_Node` operations, children before parents,
    without recursion: the tree is walked with an explicit stack."""

    def __init__(self, text: str, kinds: Mapping[str, Kind], default: Kind) -> None:
        self.text = text
        self.kinds = kinds
        self.default = default
        self.names: set[str] = set()
        self.nodes: list[_Node] = []
        self.node_kinds: list[Kind] = []
        self.depth: list[int] = []

    def compile(self, root: ast.expr) -> tuple[tuple[_Node, ...], Kind]:
        index: dict[int, int] = {}  # id(ast node) -> index of its compiled node
        stack: list[tuple[ast.expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                index[id(node)] = self._emit(node, [index[id(c)] for c in _operands(node)])
                continue
            self._check(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_operands(node)))
        return tuple(self.nodes), self.node_kinds[-1]

    def _check(self, node: ast.expr) -> None:
        """Reject what the whitelist does not allow, naming it and its column."""
        where = f" at column {_column(node)}"
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                called = node.func.id if isinstance(node.func, ast.Name) else \
                    _abridged(ast.get_source_segment(self.text, node.func) or "")
                raise ExpressionError(
                    f"{_abridged(self.text)}: function {called!r}{where} is not allowed; "
                    f"use one of {', '.join(sorted(FUNCTIONS))}")
            low, high = FUNCTIONS[node.func.id]
            count = len(node.args)
            if node.keywords or count < low or (high is not None and count > high) or \
                    any(isinstance(a, ast.Starred) for a in node.args):
                expected = f"{low}" if low == high else f"at least {low}"
                raise ExpressionError(f"{_abridged(self.text)}: {node.func.id}(){where} takes "
                                      f"{expected} positional arguments")
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (int, float, str, bool):
                raise ExpressionError(
                    f"{_abridged(self.text)}: constant {_short(repr(node.value))}{where} "
                    "is not allowed")
        elif isinstance(node, ast.Compare):
            self._check_compare(node)
        elif isinstance(node, ast.BinOp | ast.UnaryOp):
            if type(node.op) not in _BINARY and type(node.op) not in _UNARY:
                raise ExpressionError(f"{_abridged(self.text)}: "
                                      f"{_DESCRIBE.get(type(node.op), 'operator')}"
                                      f"{where} is not allowed")
        elif not isinstance(node, ast.BoolOp | ast.Name):
            what = _DESCRIBE.get(type(node), type(node).__name__)
            hint = " except after 'in', as in queue in (\"a\", \"b\")" \
                if isinstance(node, ast.Tuple | ast.List | ast.Set) else ""
            raise ExpressionError(f"{_abridged(self.text)}: {what}{where} is not "
                                  f"allowed{hint}")

    def _check_compare(self, node: ast.Compare) -> None:
        where = f" at column {_column(node)}"
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExpressionError(f"{_abridged(self.text)}: {_DESCRIBE[type(op)]}{where} "
                                      "is not allowed")
        if len(node.ops) > 1 and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            raise ExpressionError(f"{_abridged(self.text)}: 'in'{where} cannot be chained "
                                  "with other comparisons; join them with 'and'")

    def _emit(self, node: ast.expr, children: list[int]) -> int:
        """Compile ``node`` whose operands compiled to ``children``; return its index."""
        depth = 1 + max((self.depth[c] for c in children), default=0)
        if depth > MAX_DEPTH:
            raise _too_deep(self.text)
        span = (node.lineno, node.col_offset, node.end_lineno or node.lineno,
                node.end_col_offset or node.col_offset)
        if isinstance(node, ast.Name):
            self.names.add(node.id)
            return self._add("name", (), node.id, span, depth,
                             self.kinds.get(node.id, self.default))
        if isinstance(node, ast.Constant):
            return self._add("const", (), _constant(node, self.text), span, depth,
                             Kind.STRING if isinstance(node.value, str) else Kind.NUMBER)
        if isinstance(node, ast.Compare):
            return self._emit_compare(node, children, span, depth)
        if isinstance(node, ast.Call):
            op = node.func.id  # type: ignore[attr-defined]  # checked in _check
        elif isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
        elif isinstance(node, ast.BinOp):
            op = _BINARY[type(node.op)]
        else:
            assert isinstance(node, ast.UnaryOp)
            op = _UNARY[type(node.op)]
        if op in ("and", "or", "min", "max"):  # n-ary: a chain of pairs, left first
            out = children[0]
            for child in children[1:]:
                out = self._add(op, (out, child), None, span, depth)
            return out
        return self._add(op, tuple(children), None, span, depth)

    def _emit_compare(self, node: ast.Compare, children: list[int],
                      span: tuple[int, int, int, int], depth: int) -> int:
        """``a < b <= c`` as ``(a < b) and (b <= c)``, with ``b`` computed once."""
        op = _COMPARE[type(node.ops[0])]
        if op in ("in", "not in"):
            return self._add(op, (children[0],), _members(node.comparators[0], self.text),
                             span, depth)
        out = None
        for i, compare in enumerate(node.ops):
            pair = self._add(_COMPARE[type(compare)], (children[i], children[i + 1]), None,
                             span, depth)
            out = pair if out is None else self._add("and", (out, pair), None, span, depth)
        assert out is not None
        return out

    def _add(self, op: str, children: tuple[int, ...], arg: Any,
             span: tuple[int, int, int, int], depth: int, kind: Kind = Kind.NUMBER) -> int:
        positions, need = _evaluation_order([self.nodes[c].need for c in children])
        node = _Node(op, children, arg, span, tuple(children[i] for i in positions), need)
        if children:
            _check_operands(node, [self.node_kinds[c] for c in children], self.text)
        self.nodes.append(node)
        self.node_kinds.append(kind)
        self.depth.append(depth)
        return len(self.nodes) - 1


def _operands(node: ast.expr) -> list[ast.expr]:
    """The sub-expressions ``node`` evaluates (a call's function name and an ``in`` list
    are not among them)."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Compare):
        if isinstance(node.ops[0], ast.In | ast.NotIn):
            return [node.left]
        return [node.left, *node.comparators]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _evaluation_order(needs: list[int]) -> tuple[tuple[int, ...], int]:
    """Evaluate the operand needing most memory first, so that fewer finished operands wait
    while it runs (Sethi-Ullman): returns the order and the node's own need."""
    order = sorted(range(len(needs)), key=lambda i: -needs[i])
    need = max([1, *(needs[i] + rank for rank, i in enumerate(order))])
    return tuple(order), need


def _check_operands(node: _Node, kinds: list[Kind], text: str) -> None:
    """Raise :class:`ExpressionError` if ``node`` cannot take operands of ``kinds``; an
    unknown kind (before data is read) passes when some type would."""
    possible = [{Kind.NUMBER, Kind.TEXT} if k is Kind.UNKNOWN else {k} for k in kinds]
    if node.op in ("==", "!="):
        if any({a, b} in ({Kind.NUMBER}, {Kind.TEXT, Kind.STRING})
               for a in possible[0] for b in possible[1]):
            return
        if Kind.STRING not in possible[0] | possible[1]:
            raise ExpressionError(f"{_abridged(text)}: a text column can only be compared "
                                  "with == or != against a string, or with 'in' against a "
                                  f"list of strings{_at(node)}")
        raise ExpressionError(f"{_abridged(text)}: a string can only be compared with a text "
                              f"column{_at(node)}")
    if node.op in ("in", "not in"):
        wanted = Kind.TEXT if node.arg and isinstance(node.arg[0], str) else Kind.NUMBER
        if wanted in possible[0] or (not node.arg and Kind.STRING not in possible[0]):
            return
        raise ExpressionError(f"{_abridged(text)}: 'in' at column {node.span[1] + 1} needs "
                              f"{'a text column' if wanted is Kind.TEXT else 'numbers'} "
                              f"on its left for a list of "
                              f"{'strings' if wanted is Kind.TEXT else 'numbers'}")
    for kind in possible:
        if Kind.NUMBER in kind:
            continue
        if Kind.STRING in kind:
            raise ExpressionError(f"{_abridged(text)}: a string can only be compared with a "
                                  f"text column{_at(node)}")
        if node.op in _ARITHMETIC or node.op in ("and", "or", "not"):
            raise ExpressionError(f"{_abridged(text)}: a text column can only be compared "
                                  "with a string (for example channel == \"chat\")"
                                  f"{_at(node)}")
        raise ExpressionError(f"{_abridged(text)}: a text column can only be compared with "
                              f"== or != against a string{_at(node)}")


def _at(node: _Node) -> str:
    """Where ``node`` is, for the end of a message."""
    return f" (at column {node.span[1] + 1})"


def _members(node: ast.expr, text: str) -> tuple[Any, ...]:
    """The constants of the list after ``in``: all strings or all (signed) numbers."""
    where = f" at column {_column(node)}"
    if not isinstance(node, ast.Tuple | ast.List | ast.Set):
        raise ExpressionError(f"{_abridged(text)}: 'in' needs a list of constants after "
                              f"it{where}, as in queue in (\"billing\", \"sales\")")
    members = [_member_constant(element, text) for element in node.elts]
    if any(m is None for m in members) or len({isinstance(m, str) for m in members}) > 1:
        raise ExpressionError(f"{_abridged(text)}: the list after 'in'{where} may hold only "
                              "strings or only numbers")
    return tuple(members)


def _member_constant(node: ast.expr, text: str) -> Any:
    """A string, a number or a signed number as ``in`` lists hold them (None otherwise)."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return None
    if not isinstance(node, ast.Constant) or type(node.value) not in (int, float, str, bool):
        return None
    return node.value if isinstance(node.value, str) else sign * _constant(node, text)


def _constant(node: ast.Constant, text: str) -> Any:
    """A constant as evaluation uses it: strings as they are, numbers as finite floats."""
    if isinstance(node.value, str):
        return node.value
    try:
        value = float(node.value)  # type: ignore[arg-type]  # a number: checked by the caller
    except OverflowError:
        value = float("inf")
    if not np.isfinite(value):
        literal = ast.get_source_segment(text, node) or repr(node.value)
        raise ExpressionError(f"{_abridged(text)}: number {_abridged(literal)} at column "
                              f"{_column(node)} is too large; numbers are floats, at most "
                              "about 1.8e308")
    return value


def _too_deep(text: str) -> ExpressionError:
    return ExpressionError(
        f"{_abridged(text)} nests more than {MAX_DEPTH:,} levels deep (each operator of a "
        "chain such as a | b | c is a level); write long alternatives with 'or', or as "
        "x in (\"a\", \"b\", ...)")


def _abridged(text: str) -> str:
    """``text`` quoted, shortened in the middle when long."""
    return repr(_short(text))


def _short(text: str, limit: int = 80) -> str:
    """``text``, shortened in the middle when long."""
    return text if len(text) <= limit else f"{text[:limit // 2]} ... {text[-limit // 2:]}"


def _column(node: ast.AST) -> int:
    """1-based column of the token at fault: the '.' or '[' after a value, else the node."""
    if isinstance(node, ast.Attribute | ast.Subscript):
        return (node.value.end_col_offset or 0) + 1
    return int(getattr(node, "col_offset", 0)) + 1
