"""Hypothesis strategies for the property tests, one section per subject.

Each section draws inputs a user or a plugin could send, well-formed ones together with an
independent oracle of what they mean, and hostile ones that must end in a
:class:`~kpiforge.KpiforgeError` rather than any other exception.

Sections: expressions (formulas and filters); plugins (what their hooks do).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
from hypothesis import strategies as st

from kpiforge.expressions import MAX_DEPTH, MAX_LENGTH, Kind
from kpiforge.io.categorical import Categorical

# --------------------------------------------------------------------------- expressions
#
# A generated expression comes with its meaning for one row, computed with Python's own
# arithmetic on scalars under the rules docs/plugin-guide.md states (numbers are floats; a
# result that is not finite is NaN; a number is true when non-zero and not NaN).

Row = Mapping[str, Any]

#: The columns generated expressions read: two numeric extra columns and a text one.
NUMBERS = ("x", "y")
TEXT = "channel"
LABELS = ("call", "chat", "email", "NA")
#: What each column holds, as a table's schema would say.
KINDS = {**dict.fromkeys(NUMBERS, Kind.NUMBER), TEXT: Kind.TEXT}

NAN = float("nan")

_SPECIAL_VALUES = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, -7.5, 1e308, -1e308, 1e-308, 709.0,
                   710.0, NAN]


@attrs.frozen
class Case:
    """An expression's text, and its value for one row (a float, NaN where undefined, or a
    bool for conditions)."""

    text: str
    value: Callable[[Row], Any]


def finite(compute: Callable[[], Any]) -> float:
    """``compute()`` as a float, NaN where Python raises (division by zero, overflow, a math
    domain error) or the result is not a finite real number."""
    try:
        value = compute()
    except (ZeroDivisionError, OverflowError, ValueError):
        return NAN
    if isinstance(value, complex) or math.isinf(value):
        return NAN
    return float(value)


def truth(value: Any) -> bool:
    """A value used as a condition: true when non-zero and not NaN."""
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def _fmin(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _fmax(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


_ARITHMETIC: dict[str, Callable[[float, float], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
    "**": lambda a, b: a ** b,
}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "sqrt": math.sqrt, "log": math.log, "exp": math.exp,
    "isnan": math.isnan, "notnan": lambda a: not math.isnan(a),
}


def _number(value: Any) -> float:
    return float(value)


def _arithmetic(op: str, left: Case, right: Case) -> Case:
    return Case(f"({left.text} {op} {right.text})",
                lambda row: finite(lambda: _ARITHMETIC[op](_number(left.value(row)),
                                                           _number(right.value(row)))))


def _compare(ops: list[str], operands: list[Case]) -> Case:
    parts = [operands[0].text]
    for op, operand in zip(ops, operands[1:], strict=True):
        parts += [op, operand.text]
    text = f"({' '.join(parts)})"

    def value(row: Row) -> bool:
        values = [_number(o.value(row)) for o in operands]
        return all(_COMPARISONS[op](values[i], values[i + 1]) for i, op in enumerate(ops))

    return Case(text, value)


def _logic(op: str, left: Case, right: Case) -> Case:
    both = op in ("&", "and")
    return Case(f"({left.text} {op} {right.text})",
                lambda row: (truth(left.value(row)) and truth(right.value(row))) if both
                else (truth(left.value(row)) or truth(right.value(row))))


def _unary(op: str, operand: Case) -> Case:
    if op in ("not", "~"):
        return Case(f"({op} {operand.text})", lambda row: not truth(operand.value(row)))
    sign = -1.0 if op == "-" else 1.0
    return Case(f"({op}{operand.text})", lambda row: sign * _number(operand.value(row)))


def _function(name: str, args: list[Case]) -> Case:
    text = f"{name}({', '.join(a.text for a in args)})"
    if name in _FUNCTIONS:
        return Case(text, lambda row: _FUNCTIONS[name](_number(args[0].value(row)))
                    if name in ("isnan", "notnan")
                    else finite(lambda: _FUNCTIONS[name](_number(args[0].value(row)))))
    if name == "where":
        return Case(text, lambda row: _number(args[1].value(row)) if truth(args[0].value(row))
                    else _number(args[2].value(row)))
    if name == "coalesce":
        return Case(text, lambda row: _number(args[1].value(row))
                    if math.isnan(_number(args[0].value(row))) else _number(args[0].value(row)))
    pick = _fmin if name == "min" else _fmax

    def value(row: Row) -> float:
        out = _number(args[0].value(row))
        for arg in args[1:]:
            out = pick(out, _number(arg.value(row)))
        return out

    return Case(text, value)


def _literal(value: float | int) -> Case:
    return Case(repr(value), lambda row: float(value))


def _column(name: str) -> Case:
    return Case(name, lambda row: row[name])


def _text_condition(op: str, labels: tuple[str, ...], flipped: bool) -> Case:
    if op in ("in", "not in"):
        listed = f"({', '.join(map(repr, labels))}{',' if len(labels) == 1 else ''})"
        return Case(f"({TEXT} {op} {listed})",
                    lambda row: (row[TEXT] in labels) == (op == "in"))
    label = labels[0]
    text = f"({label!r} {op} {TEXT})" if flipped else f"({TEXT} {op} {label!r})"
    return Case(text, lambda row: (row[TEXT] == label) == (op == "=="))


def _number_membership(operand: Case, members: tuple[float, ...], op: str) -> Case:
    listed = f"({', '.join(map(repr, members))}{',' if len(members) == 1 else ''})"

    def value(row: Row) -> bool:
        number = _number(operand.value(row))
        return any(number == m for m in members) == (op == "in")

    return Case(f"({operand.text} {op} {listed})", value)


_constants = st.one_of(
    st.integers(0, 3),
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 10.0, 400.0, 1e308, 5e-324]),
    st.integers(0, 10**18),
    st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False),
    st.booleans(),
)

_leaves = st.one_of(
    st.sampled_from(NUMBERS).map(_column),
    _constants.map(_literal),
    st.sampled_from(NUMBERS).map(_column),
    st.builds(_text_condition, st.sampled_from(["==", "!=", "in", "not in"]),
              st.lists(st.sampled_from([*LABELS, "sms"]), min_size=1, max_size=3,
                       unique=True).map(tuple), st.booleans()),
)


def _extend(children: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    return st.one_of(
        st.builds(_arithmetic, st.sampled_from(sorted(_ARITHMETIC)), children, children),
        st.builds(_logic, st.sampled_from(["&", "|", "and", "or"]), children, children),
        st.builds(_unary, st.sampled_from(["-", "+", "not", "~"]), children),
        st.integers(1, 3).flatmap(lambda n: st.builds(
            _compare, st.lists(st.sampled_from(sorted(_COMPARISONS)), min_size=n,
                               max_size=n),
            st.lists(children, min_size=n + 1, max_size=n + 1))),
        st.builds(_function, st.sampled_from(sorted(_FUNCTIONS)), st.lists(children,
                                                                           min_size=1,
                                                                           max_size=1)),
        st.builds(_function, st.sampled_from(["min", "max"]),
                  st.lists(children, min_size=2, max_size=4)),
        st.builds(_function, st.just("where"), st.lists(children, min_size=3, max_size=3)),
        st.builds(_function, st.just("coalesce"), st.lists(children, min_size=2,
                                                           max_size=2)),
        st.builds(_number_membership, children,
                  st.lists(st.sampled_from([0.0, 1.0, -1.0, 2.5]), max_size=3).map(tuple),
                  st.sampled_from(["in", "not in"])),
    )


def expressions(max_leaves: int = 12) -> st.SearchStrategy[Case]:
    """Well-typed expressions over :data:`NUMBERS` and :data:`TEXT`, with their oracle."""
    return st.recursive(_leaves, _extend, max_leaves=max_leaves)


@st.composite
def rows(draw: st.DrawFn, min_size: int = 1, max_size: int = 6, labelled: bool = False
         ) -> list[dict[str, Any]]:
    """Rows of the columns expressions read: awkward numbers (zeros, NaN, near overflow)
    and labels, some missing (``labelled``: not all of them)."""
    numbers = st.one_of(st.sampled_from(_SPECIAL_VALUES), st.just(NAN),
                        st.floats(allow_nan=True, allow_infinity=False))
    table = draw(st.lists(st.fixed_dictionaries({
        **dict.fromkeys(NUMBERS, numbers),
        TEXT: st.sampled_from([*LABELS, None]),
    }), min_size=min_size, max_size=max_size))
    if labelled and all(row[TEXT] is None for row in table):
        table[0] = {**table[0], TEXT: draw(st.sampled_from(LABELS))}
    return table


def columns_of(table: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows as the engine's columns: float arrays, and a dictionary-encoded text column."""
    labels = sorted({row[TEXT] for row in table if row[TEXT] is not None})
    codes = np.array([-1 if row[TEXT] is None else labels.index(row[TEXT]) for row in table],
                     dtype=np.int32)
    return {**{name: np.array([row[name] for row in table], dtype=np.float64)
               for name in NUMBERS},
            TEXT: Categorical(codes, np.array(labels, dtype=object))}


#: Pieces of text a careless or hostile plugin might put in an expression.
_TOKENS = [*NUMBERS, TEXT, "offered", "0", "1", "1e308", "1e999", "9" * 400, "'chat'", '"x"',
           "True", "None", "b'x'", "1j", "...", "+", "-", "*", "/", "//", "%", "**", "==",
           "!=", "<", ">=", "&", "|", "~", "^", "<<", "@", "and", "or", "not", "in", "is",
           "(", ")", "[", "]", "{", "}", ",", ":", ".", "=", ":=", "lambda", "if", "else",
           "for", "yield", "await", "__import__", "open", "min", "where", "sqrt", "log",
           "f'{x}'", "\\", "\n", "\x00", "#"]


@st.composite
def _deep(draw: st.DrawFn) -> str:
    """Nesting around the depth limit, or far beyond it."""
    depth = draw(st.one_of(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), st.integers(1, 6000)))
    shape = draw(st.sampled_from(["unary", "chain", "parens", "power", "call", "or"]))
    if shape == "unary":
        return draw(st.sampled_from("-+~")) * depth + "x"
    if shape == "chain":
        return f" {draw(st.sampled_from(['+', '|', '*', '-', '<']))} ".join(["x"] * depth)
    if shape == "parens":
        return "(" * depth + "x" + ")" * depth
    if shape == "power":
        return " ** ".join(["abs(x)"] * depth)
    if shape == "or":
        return " or ".join(["(channel == 'call')"] * depth)
    return "abs(" * depth + "x" + ")" * depth


@st.composite
def _long(draw: st.DrawFn) -> str:
    """Long lists of terms, up to and past the length limit."""
    term = draw(st.sampled_from(["x", "(x == 1)", "'label'"]))
    count = draw(st.one_of(st.integers(1, 3000), st.integers(MAX_LENGTH // (len(term) + 2) - 2,
                                                             MAX_LENGTH // (len(term) + 2) + 2)))
    if draw(st.booleans()):
        return f"min({', '.join([term] * max(count, 2))})"
    return f"{TEXT} in ({', '.join([repr(f'q{i}') for i in range(count)])})"


def _number_text(digits: int, exponent: int | None) -> str:
    return "9" * digits + ("" if exponent is None else f"e{exponent}")


def hostile_texts() -> st.SearchStrategy[str]:
    """Texts an expression must survive: token soup, random characters, deep or long
    nesting, numbers beyond floats, and ill-typed expressions of the grammar."""
    return st.one_of(
        st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join),
        st.text(alphabet="xy()+-*/%<=>!&|~ ,'\".0123456789eacinotrw", max_size=40),
        _deep(),
        _long(),
        st.builds(_number_text, st.integers(1, 5000), st.none() | st.integers(-400, 400)),
        st.builds(lambda a, b, c: f"{a} ** {b} ** {c}", *[st.integers(0, 99)] * 3),
        ill_typed(),
    )


def ill_typed() -> st.SearchStrategy[str]:
    """Grammar expressions whose leaves may be a text column or a string anywhere."""
    leaves = st.sampled_from([*NUMBERS, TEXT, "'chat'", "1", "2.5"])
    return st.recursive(leaves, lambda children: st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", children,
                  st.sampled_from(["+", "*", "/", "==", "!=", "<", "&", "or", "in", "not in"]),
                  children | st.just("('a', 'b')") | st.just("(1, 2)")),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["abs", "isnan", "-", "not "]),
                  children),
    ), max_leaves=6)


# --------------------------------------------------------------------------------- plugins
#
# A generated plugin implements some hooks; each hook builds its definitions when called (as
# a real plugin does, so a definition that fails its checks fails inside the hook), or
# returns something else, or raises. Names are drawn from a small pool that includes
# built-in names, so plugins clash with the built-ins and with each other, read each other's
# definitions and form cycles.

#: Names plugins define: new ones, and built-in ones they would clash with.
PLUGIN_NAMES = ("alpha", "beta", "gamma", "offered", "aht", "csat")
#: What their formulas and filters read.
_INPUTS = ("offered", "answered", "alpha", "beta", "gamma", "nope", "sl_threshold_s")


class Raise:
    """A hook that raises ``error`` instead of returning."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Raise({self.error!r})"


def _kpi_spec() -> st.SearchStrategy[tuple[Any, ...]]:
    formula = st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", st.sampled_from(_INPUTS),
                  st.sampled_from(["/", "+", "*", "=="]), st.sampled_from(_INPUTS)),
        st.sampled_from(["42", "offered +", "offered.real", "channel", "'x'", "offered"]),
    )
    return st.tuples(st.sampled_from(["KPI", "KGI"]), st.sampled_from(PLUGIN_NAMES), formula,
                     st.lists(st.sampled_from(["csat", "nps", "alpha", "aht", "nope"]),
                              max_size=2))


def _measure_spec() -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(st.just("Measure"), st.sampled_from(PLUGIN_NAMES),
                     st.sampled_from(["count", "sum", "max", "avg"]),
                     st.sampled_from(["handle_s", "channel", "'x'", "1/0", "extra", None]),
                     st.sampled_from(["channel == 'call'", "channel", "csat >= 4", None]),
                     st.one_of(st.just({}), st.just({"sl_threshold_s": 20.0}),
                               st.just({"sl_threshold_s": 30.0})))


#: hook name -> what a generated implementation of it returns (or raises).
_HOOK_RESULTS = {
    "kpiforge_register_kpis": st.lists(_kpi_spec(), max_size=3),
    "kpiforge_register_kgis": st.lists(_kpi_spec(), max_size=2),
    "kpiforge_register_measures": st.lists(_measure_spec(), max_size=3),
    "kpiforge_register_dimensions": st.lists(st.tuples(
        st.just("Dimension"), st.sampled_from(["channel", "region"]),
        st.sampled_from([{"contacts": "region"}, {"calls": "x"}, "region"])), max_size=2),
}


def plugin_specs() -> st.SearchStrategy[dict[str, Any]]:
    """Hook name -> the definitions' specs a plugin returns, a junk value, or a
    :class:`Raise`."""
    def result(hook: str) -> st.SearchStrategy[Any]:
        return st.one_of(
            _HOOK_RESULTS[hook],
            st.sampled_from([None, 3, "offered", ["x"], [None]]),
            st.sampled_from([Raise(RuntimeError("down")), Raise(SystemExit(3)),
                             Raise(KeyError("k")), Raise(RecursionError())]),
        )

    return st.fixed_dictionaries({}, optional={hook: result(hook) for hook in _HOOK_RESULTS})
