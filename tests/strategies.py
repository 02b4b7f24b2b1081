"""Hypothesis strategies for the property tests, one section per subject.

Each section draws inputs a user or a plugin could send, well-formed ones together with an
independent oracle of what they mean, and hostile ones that must end in a
:class:`~kpiforge.KpiforgeError` rather than any other exception.

Sections: expressions (formulas and filters); plugins (what their hooks do); scenarios (the
raw data of scenario files).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable, Iterator, Mapping
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


# ------------------------------------------------------------------------------- scenarios
#
# A generated scenario is the raw data of a TOML file, as parse_scenario takes it. Valid ones
# are tiny (a day or two, a few dozen contacts a day, a few agents) and use every form the
# planner's guide gives: named and listed profiles, distributions, queues, hours, events,
# ``agents = N`` and shifts with breaks, days and skills, a second tier, dated overrides.
# Hostile ones are a valid one with one change: a value replaced by something hostile (NaN,
# infinity, huge, negative, a wrong type), a key removed, or an unknown key added; the change
# is named by its path, written as errors write it (``staffing.shifts[0].agents``).

#: Channel names: the three kinds, and one that needs ``kind``.
CHANNEL_NAMES = ("call", "chat", "email", "support")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT_TIMES = [("00:00", "24:00"), ("08:00", "16:00"), ("07:30", "12:00"),
                ("12:00", "20:30"), ("22:00", "06:00"), ("16:00", "00:00")]
_HOURS = ["08:00-20:00", "closed", "00:00-24:00", "09:00-12:00, 13:00-17:30"]
_SHAPES = ["flat", "office", "extended", "evening", "weekend"]


def _shares(size: int, high: float = 5.0) -> st.SearchStrategy[list[float]]:
    """``size`` multipliers >= 0, at least one of them > 0."""
    return st.lists(st.floats(0, high), min_size=size, max_size=size).flatmap(
        lambda values: st.integers(0, size - 1).map(
            lambda i: [*values[:i], values[i] + 1.0, *values[i + 1:]]))


def _durations(least: float = 0.0) -> st.SearchStrategy[Any]:
    """Seconds, or a distribution table of each kind."""
    mean = st.floats(1, 900)
    return st.one_of(
        st.floats(least, 900),
        st.builds(lambda m: {"dist": "exponential", "mean": m}, mean),
        st.builds(lambda d, m, cv: {"dist": d, "mean": m, "cv": cv},
                  st.sampled_from(["lognormal", "gamma"]), mean, st.floats(0.1, 3)),
        st.builds(lambda values: {"dist": "empirical", "values": values},
                  st.lists(st.floats(least, 900), min_size=1, max_size=4)),
        st.builds(lambda m: {"dist": "fixed", "mean": m}, mean),
    )


def _optional(draw: st.DrawFn, out: dict[str, Any], key: str,
              values: st.SearchStrategy[Any]) -> None:
    """Set ``key`` in ``out`` half the time (else the default applies)."""
    if draw(st.booleans()):
        out[key] = draw(values)


@st.composite
def _channel(draw: st.DrawFn, name: str, second_tier: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(["call", "chat", "email"])) if name == "support" else name
    out: dict[str, Any] = {"kind": kind} if name == "support" else {}
    out["volume_per_day"] = draw(st.one_of(st.just(0), st.floats(0, 40)))
    out["aht_s"] = draw(_durations())
    _optional(draw, out, "intraday", st.one_of(st.sampled_from(_SHAPES), _shares(24)))
    _optional(draw, out, "intraday_by_weekday", st.dictionaries(
        st.sampled_from(_WEEKDAYS), st.one_of(st.sampled_from(_SHAPES), _shares(48)),
        max_size=2))
    _optional(draw, out, "hours", st.one_of(st.sampled_from(_HOURS), st.dictionaries(
        st.sampled_from(_WEEKDAYS), st.sampled_from(_HOURS), min_size=1, max_size=2)))
    _optional(draw, out, "weekday", _shares(7))
    _optional(draw, out, "monthly", _shares(12))
    _optional(draw, out, "queues", st.dictionaries(st.sampled_from(["billing", "tech", "NA"]),
                                                   st.floats(0.1, 5), min_size=1))
    _optional(draw, out, "acw_s", _durations())
    if kind != "email":
        _optional(draw, out, "patience_s", _durations(least=1.0))
    if kind == "chat":
        _optional(draw, out, "concurrency_stretch", st.floats(0, 2))
    if kind == "email":
        _optional(draw, out, "reply_sla_s", st.floats(60, 86_400))
    _optional(draw, out, "wait_tolerance_s", st.floats(0, 600))
    for key in ("resolve", "repeat"):
        _optional(draw, out, key, st.floats(0, 1))
    _optional(draw, out, "repeat_delay_s", _durations(least=1.0))
    if second_tier:
        _optional(draw, out, "escalate", st.floats(0, 1))
        _optional(draw, out, "tier2_aht_s", _durations())
    return out


def _clock_plus(clock: str, minutes: int) -> str:
    hours, mins = map(int, clock.split(":"))
    total = (hours * 60 + mins + minutes) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


@st.composite
def _shift(draw: st.DrawFn, name: str, channels: list[str]) -> dict[str, Any]:
    """A tier-1 shift: every channel among its skills (in some order, or by default)."""
    start, end = draw(st.sampled_from(_SHIFT_TIMES))
    out: dict[str, Any] = {"name": name, "start": start, "end": end,
                           "agents": draw(st.one_of(st.integers(0, 3), st.lists(
                               st.integers(0, 3), min_size=7, max_size=7)))}
    _optional(draw, out, "days", st.lists(st.sampled_from(_WEEKDAYS), unique=True))
    _optional(draw, out, "skills", st.permutations(channels))
    _optional(draw, out, "concurrency", st.integers(1, 3))
    breaks = draw(st.sampled_from([[], [{"start": _clock_plus(start, 60), "minutes": 15}],
                                   [{"start": _clock_plus(start, 60),
                                     "end": _clock_plus(start, 150), "minutes": 30},
                                    {"start": _clock_plus(start, 200), "minutes": 10}]]))
    if breaks:
        out["breaks"] = breaks
    return out


@st.composite
def _staffing(draw: st.DrawFn, channels: list[str], second_tier: bool, start: dt.date
              ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _optional(draw, out, "shrinkage", st.floats(0, 0.95))
    _optional(draw, out, "hourly_cost", st.floats(0, 50))
    if draw(st.booleans()):
        out["agents"] = draw(st.integers(0, 4))
        if second_tier:
            out["tier2_agents"] = draw(st.integers(1, 2))
        _optional(draw, out, "concurrency", st.integers(1, 3))
        names = ["all day", *(["tier 2"] if second_tier else [])]
    else:
        names = draw(st.lists(st.sampled_from(["early", "late", "night shift", "weekend"]),
                              min_size=1, max_size=3, unique=True))
        out["shifts"] = [draw(_shift(name, channels)) for name in names]
        if second_tier:
            out["shifts"].append({"name": "tier two", "start": "08:00", "end": "18:00",
                                  "agents": draw(st.integers(1, 2)), "tier": 2})
            names.append("tier two")
    overrides = []
    for i in range(draw(st.integers(0, 2))):
        first = start + dt.timedelta(days=draw(st.integers(-1, 1)))
        override: dict[str, Any] = {"start": first,
                                    "end": first + dt.timedelta(days=draw(st.integers(0, 2)))}
        change = draw(st.sampled_from(["agents", "scale", "ramp", "shifts"]))
        if change == "shifts":
            override["shifts"] = [draw(_shift(f"cover {i}", channels))]
        else:
            override[change] = draw({"agents": st.integers(0, 3), "scale": st.floats(0, 2),
                                     "ramp": st.lists(st.integers(0, 3), min_size=2,
                                                      max_size=2)}[change])
            _optional(draw, override, "shift", st.sampled_from(names))
        _optional(draw, override, "name", st.sampled_from(["holiday", "hiring"]))
        overrides.append(override)
    if overrides:
        out["overrides"] = overrides
    return out


@st.composite
def valid_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A tiny scenario that must simulate: 1 or 2 days, at most 40 contacts a day per
    channel, at most a few agents per shift."""
    start = draw(st.dates(dt.date(1, 1, 3), dt.date(9999, 12, 28)))
    head: dict[str, Any] = {"days": draw(st.integers(1, 2)),
                            "seed": draw(st.integers(0, 2**63 - 1)), "start": start}
    _optional(draw, head, "name", st.text(min_size=1, max_size=8))
    _optional(draw, head, "interval_min", st.sampled_from([5, 10, 15, 30, 60]))
    _optional(draw, head, "customers", st.integers(1, 1000))
    for key in ("warmup", "warmdown"):
        _optional(draw, head, key, st.floats(0, 1))
    names = draw(st.lists(st.sampled_from(CHANNEL_NAMES), min_size=1, max_size=3, unique=True))
    second_tier = draw(st.booleans())
    raw: dict[str, Any] = {
        "scenario": head,
        "channels": {name: draw(_channel(name, second_tier)) for name in names},
        "staffing": draw(_staffing(names, second_tier, start)),
    }
    events = []
    for _ in range(draw(st.integers(0, 2))):
        event: dict[str, Any] = {"name": "event", "start": start + dt.timedelta(
            days=draw(st.integers(0, 1)))}
        _optional(draw, event, "days", st.integers(1, 2))
        _optional(draw, event, "multiplier", st.floats(0, 3))
        _optional(draw, event, "channels", st.lists(st.sampled_from(names), min_size=1,
                                                    unique=True))
        _optional(draw, event, "intraday", st.sampled_from(_SHAPES))
        _optional(draw, event, "hours", st.sampled_from(_HOURS))
        events.append(event)
    if events:
        raw["events"] = events
    satisfaction: dict[str, Any] = {}
    _optional(draw, satisfaction, "response_rate", st.floats(0, 1))
    _optional(draw, satisfaction, "base", st.floats(1, 5))
    for key in ("wait_penalty_per_min", "unresolved_penalty", "escalation_penalty", "noise"):
        _optional(draw, satisfaction, key, st.floats(0, 3))
    if satisfaction:
        raw["satisfaction"] = satisfaction
    return raw


#: What replaces a value: not finite, huge, negative, tiny, of the wrong type.
NON_FINITE = [math.nan, math.inf, -math.inf]
HOSTILE_VALUES = [*NON_FINITE, 1e308, -1e308, 10**30, 2**63, -1, -0.5, 0, -0.0, 5e-324, 0.5,
                  "x", "", True, None, [], {}, [math.nan], {"bogus": 1}, dt.time(1, 2),
                  dt.date(9999, 12, 31), dt.date(1, 1, 1), "24:00-24:00"]
#: Keys added where a change adds an unknown key (a Python caller may use any key).
UNKNOWN_KEYS = ("bogus_key", 7)

Path = tuple[str | int, ...]


def shown(path: Path) -> str:
    """A path as errors name it: ``staffing.shifts[0].name``; a position in a list of
    values (a profile's multiplier) is named by the list's key."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


def _nodes(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every value below ``value`` with its path; positions in lists of values are left out
    of the path (errors name the list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), item
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
        for i, item in enumerate(value):
            yield (*path, i), item
            yield from _nodes(item, (*path, i))


@attrs.frozen
class Change:
    """A hostile change to a valid scenario: ``raw`` is the changed data, ``path`` where,
    ``kind`` what (``replace``, ``remove``, ``unknown``), ``value`` the new value or the
    unknown key."""

    raw: dict[str, Any]
    path: Path
    kind: str
    value: Any = None

    @property
    def non_finite(self) -> bool:
        return self.kind == "replace" and isinstance(self.value, float) and \
            not math.isfinite(self.value)


def _at(raw: Any, path: Path) -> Any:
    for part in path:
        raw = raw[part]
    return raw


@st.composite
def hostile_scenarios(draw: st.DrawFn) -> Change:
    """A valid scenario with one hostile change."""
    raw = copy.deepcopy(draw(valid_scenarios()))
    nodes = list(_nodes(raw))
    kind = draw(st.sampled_from(["replace", "replace", "replace", "remove", "unknown"]))
    if kind == "unknown":
        tables = [()] + [p for p, v in nodes if isinstance(v, dict)]
        path = draw(st.sampled_from(tables))
        key = draw(st.sampled_from(UNKNOWN_KEYS))
        _at(raw, path)[key] = 1
        return Change(raw, path, kind, key)
    path = draw(st.sampled_from([p for p, _ in nodes]))
    parent = _at(raw, path[:-1])
    if kind == "remove" and isinstance(parent, dict):
        del parent[path[-1]]
        return Change(raw, path, kind)
    value = draw(st.sampled_from(HOSTILE_VALUES))
    target = parent[path[-1]]
    if isinstance(target, list) and target and not isinstance(target[0], dict) and \
            draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = value  # one value of a list
    else:
        parent[path[-1]] = value
    return Change(raw, path, "replace", value)
