"""The safe expression language: what parses, what is rejected (with where), semantics, and
the regression corpus of the hardening issue (#11), each case a one-line error or a
correct, documented result."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest

import kpiforge
from kpiforge import KPI, KpiforgeError, Measure, Registry
from kpiforge.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    Expression,
    ExpressionError,
    Kind,
    SharedValues,
)
from kpiforge.io.categorical import Categorical

COLUMNS = {
    "a": np.array([1.0, 2.0, np.nan, 4.0]),
    "b": np.array([0.0, 2.0, 1.0, 0.0]),
    "channel": Categorical(np.array([0, 1, -1, 0], dtype=np.int32),
                           np.array(["call", "chat"], dtype=object)),
}
KINDS = {"a": Kind.NUMBER, "b": Kind.NUMBER, "channel": Kind.TEXT}


def evaluate(text: str):
    return Expression.parse(text, KINDS).evaluate(COLUMNS.__getitem__)


def test_names_are_the_free_variables_not_the_functions():
    assert Expression.parse("where(isnan(a), b, a) / max(a, b, 3)").names == {"a", "b"}


@pytest.mark.parametrize(("text", "expected"), [
    ("a + b * 2", [1, 6, np.nan, 4]),
    ("a / b", [np.nan, 1, np.nan, np.nan]),  # x/0 is undefined, not inf
    ("a // b", [np.nan, 1, np.nan, np.nan]),  # the same rule as /
    ("a % b", [np.nan, 0, np.nan, np.nan]),
    ("a >= 2", [False, True, False, True]),
    ("a != 1", [False, True, True, True]),  # IEEE: NaN differs from everything
    ("(a >= 2) & (b > 0)", [False, True, False, False]),
    ("a >= 2 and b > 0 or b == 1", [False, True, True, False]),
    ("not (a >= 2)", [True, False, True, False]),
    ("~(b > 0)", [True, False, False, True]),
    ("1 < a <= 2", [False, True, False, False]),
    ("coalesce(a, b)", [1, 2, 1, 4]),
    ("notnan(a)", [True, True, False, True]),
    ("min(a, b)", [0, 2, 1, 0]),
    ("max(a, b, 3)", [3, 3, 3, 4]),
    ("channel == 'chat'", [False, True, False, False]),
    ("'call' != channel", [False, True, True, False]),
    ("channel == 'email'", [False, False, False, False]),
    ("-a ** 2 % 3", [-1 % 3, -4 % 3, np.nan, -16 % 3]),
    # A number is true when non-zero; NaN (missing) is false.
    ("a & b", [False, True, False, False]),
    ("a or b", [True, True, True, True]),
    ("not a", [False, False, True, False]),
    ("where(a, 1, 0)", [1, 1, 0, 1]),
    # Conditions count as 1 and 0 in arithmetic.
    ("(a > 1) + (b > 1)", [0, 2, 0, 1]),
    ("-(a > 1)", [0, -1, 0, -1]),
    # Membership.
    ("channel in ('chat', 'email')", [False, True, False, False]),
    ("channel not in ('chat', 'email')", [True, False, True, True]),  # like !=: missing is in
    ("channel in ()", [False, False, False, False]),
    ("a in (2, 4.0)", [False, True, False, True]),
    ("a not in [-1, 1]", [False, True, True, True]),
    ("b in {0}", [True, False, False, True]),
    # Every result that would be infinite is NaN.
    ("log(b)", [np.nan, np.log(2), 0, np.nan]),
    ("sqrt(b - 1)", [np.nan, 1, 0, np.nan]),
    ("exp(a * 1000)", [np.nan, np.nan, np.nan, np.nan]),
    ("a * 1e308 * 10", [np.nan, np.nan, np.nan, np.nan]),
    ("b ** -1", [np.nan, 0.5, 1, np.nan]),
])
def test_semantics(text, expected):
    np.testing.assert_array_equal(evaluate(text), np.array(expected, dtype=float))


@pytest.mark.parametrize(("text", "message"), [
    ("a.b", "attribute access at column 2"),
    ("a[0]", "indexing at column 2"),
    ("__import__('os')", "function '__import__' at column 1 is not allowed"),
    ("open('x')", "function 'open'"),
    ("a if b else 1", "if-else"),
    ("lambda: 1", "lambda"),
    ("a is b", "'is'"),
    ("a in b", "'in' needs a list of constants after it at column 6, as in queue in"),
    ("a in (b, 1)", "the list after 'in' at column 6 may hold only strings or only numbers"),
    ("a in (1, 'x')", "may hold only strings or only numbers"),
    ("a in (-'x',)", "may hold only strings or only numbers"),
    ("a in (1, 2) in (3,)", "'in' at column 1 cannot be chained with other comparisons"),
    ("where(a, b)", "where() at column 1 takes 3 positional arguments"),
    ("isnan(a=1)", "isnan() at column 1 takes 1"),
    ("min(*a)", "min() at column 1 takes at least 2"),
    ("a +", "does not parse"),
    ("a\0", "does not parse"),
    ("a + None", "constant None at column 5"),
    ("a + 1j", "constant 1j at column 5"),
    ("[a, b]", "a list at column 1 is not allowed except after 'in'"),
    ("a ^ b", "'^' at column 1 is not allowed"),
    ("", "non-empty"),
])
def test_rejected_with_position(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("*", r"\*").replace("^", r"\^")):
        Expression.parse(text)


@pytest.mark.parametrize(("text", "message"), [
    ("channel + 1", "a text column can only be compared with a string"),
    ("channel < 'chat'", "a text column can only be compared with == or != against a string"),
    ("a == 'chat'", "a string can only be compared with a text column"),
    ("channel == channel", "a text column can only be compared with == or !="),
    ("channel == 1", "a text column can only be compared with == or !="),
    ("'a' == 'b'", "a string can only be compared with a text column"),
    ("abs(channel)", "a text column can only be compared with a string"),
    ("not channel", "a text column can only be compared with a string"),
    ("channel in (1, 2)", "'in' at column 1 needs numbers on its left for a list of numbers"),
    ("a in ('x',)", "needs a text column on its left for a list of strings"),
    ("'x' in ('x',)", "needs a text column on its left"),
])
def test_types_are_checked_at_parse_where_they_are_known(text, message):
    with pytest.raises(ExpressionError, match=message):
        Expression.parse(text, KINDS)


@pytest.mark.parametrize(("text", "message"), [
    ("channel + 1", "a text column can only be compared with a string"),
    ("channel < 1", "a text column can only be compared with == or != against a string"),
    ("channel == a", "a text column can only be compared with == or !="),
    ("a == 'chat'", "a string can only be compared with a text column"),
    ("channel in (1, 2)", "needs numbers on its left"),
])
def test_types_unknown_at_parse_are_checked_when_evaluated(text, message):
    expression = Expression.parse(text)  # kinds unknown: passes
    with pytest.raises(ExpressionError, match=message):
        expression.evaluate(COLUMNS.__getitem__)


class CountingLookup:
    """Columns by name, remembering which names were read."""

    def __init__(self):
        self.calls = []

    def __call__(self, name):
        self.calls.append(name)
        return COLUMNS[name]


def test_common_subexpressions_are_computed_once():
    lookup = CountingLookup()
    first, second = Expression.parse("(a - b) * 2"), Expression.parse("(a - b) <= 3")
    shared = SharedValues([first, second])
    np.testing.assert_array_equal(first.evaluate(lookup, shared), [2, 0, np.nan, 8])
    np.testing.assert_array_equal(second.evaluate(lookup, shared), [True, True, False, False])
    assert lookup.calls == ["a", "b"]
    second.evaluate(lookup, shared)  # a use beyond those counted: no longer kept, recomputed
    assert lookup.calls == ["a", "b", "a", "b"]


def test_a_repeat_within_one_expression_is_computed_once():
    lookup = CountingLookup()
    result = Expression.parse("0 < a - b < (a - b) * 2").evaluate(lookup)
    np.testing.assert_array_equal(result, [True, False, False, True])
    assert sorted(lookup.calls) == ["a", "b"]


# ------------------------------------------------------------------ limits (issue #11)

def test_deep_unary_chain_is_an_error_naming_the_limit():
    with pytest.raises(ExpressionError, match=f"nests more than {MAX_DEPTH:,} levels deep"):
        Expression.parse("-" * 5000 + "offered")


def test_three_thousand_terms_are_an_error_naming_the_limit():
    with pytest.raises(ExpressionError, match="is 29,997 characters long; the limit is 20,000"):
        Expression.parse(" + ".join(["offered"] * 3000))
    with pytest.raises(ExpressionError, match=r"nests more than 1,000 levels deep .* write long "
                       "alternatives with 'or'"):
        Expression.parse(" + ".join(["a"] * 3000))


def test_a_string_is_refused_in_arithmetic_even_next_to_a_column_of_unknown_type():
    with pytest.raises(ExpressionError, match="a string can only be compared with a text "
                       "column"):
        Expression.parse("channel < 'chat'")


@pytest.mark.parametrize("make", [
    lambda n: "-" * (n - 1) + "a",
    lambda n: " | ".join(["(a > 1)"] * (n - 1)),  # n - 2 operators, a comparison, a name
    lambda n: " ** ".join(["a"] * n),
])
def test_the_depth_limit_is_exact(make):
    deepest = Expression.parse(make(MAX_DEPTH))
    assert deepest.evaluate(COLUMNS.__getitem__) is not None
    with pytest.raises(ExpressionError, match="nests more than 1,000 levels deep"):
        Expression.parse(make(MAX_DEPTH + 1))


def test_the_length_limit_is_exact():
    terms = (MAX_LENGTH - 6) // 3
    last = "a" * (MAX_LENGTH - 5 - 3 * terms)
    longest = f"min({'a, ' * terms}{last})"
    assert len(longest) == MAX_LENGTH
    assert Expression.parse(longest).names == {"a", last}
    with pytest.raises(ExpressionError, match=f"is {MAX_LENGTH + 1:,} characters long; the "
                       f"limit is {MAX_LENGTH:,}"):
        Expression.parse(f"min({'a, ' * terms}{last}a)")


def test_pythons_parser_allows_200_nested_brackets():
    assert Expression.parse("(" * 200 + "a" + ")" * 200).names == {"a"}
    with pytest.raises(ExpressionError, match="does not parse: too many nested parentheses"):
        Expression.parse("(" * 201 + "a" + ")" * 201)


def test_twenty_thousand_terms_of_min_are_refused_at_once():
    with pytest.raises(ExpressionError, match="characters long"):
        Expression.parse("min(" + ", ".join(["offered"] * 20_000) + ")")


QUEUES = [f"queue_{i}" for i in range(330)]


@pytest.mark.parametrize("text", [
    " | ".join(f'(queue == "{q}")' for q in QUEUES),
    " or ".join(f'queue == "{q}"' for q in QUEUES),
    f"queue in ({', '.join(map(repr, QUEUES))})",
])
def test_a_filter_of_330_queues_evaluates(text):
    """A realistic filter: 330 alternatives, written three ways, against numpy's isin."""
    rng = np.random.default_rng(7)
    labels = np.array([f"queue_{i}" for i in range(500)], dtype=object)
    queue = Categorical(rng.integers(-1, 500, 10_000).astype(np.int32), labels)
    result = Expression.parse(text, {"queue": Kind.TEXT}).evaluate({"queue": queue}.get)
    expected = (queue.codes >= 0) & np.isin(labels[queue.codes], QUEUES)
    np.testing.assert_array_equal(result, expected)


def test_deep_right_nesting_holds_few_arrays_at_once():
    """``f(a, 0) ** (f(a, 1) ** ...)`` evaluated left operand first would hold one array per
    level; the deeper operand goes first, so a few arrays are alive at a time."""
    rows = 20_000
    columns = {"a": np.linspace(0.5, 1.0, rows)}
    text = " ** ".join(f"abs(a - {i})" for i in range(400))
    expression = Expression.parse(text)
    tracemalloc.start()
    expression.evaluate(columns.__getitem__)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * rows * 8  # eight float arrays; left first would need 400


# ------------------------------------------------------------- numbers (issue #11)

@pytest.mark.parametrize(("text", "expected"), [
    ("2 ** -1", 0.5),
    ("7 // 2", 3.0),
    ("9 ** 9 ** 9 ** 9", np.nan),  # too large for a float: undefined
    ("10 ** 10 ** 10", np.nan),  # was silently 0 (integer overflow)
    ("1e308 * 10", np.nan),
    ("7 // 0", np.nan),
    ("7 / 0", np.nan),
    ("7 % 0", np.nan),
    ("0 ** -1", np.nan),
    ("(-8) ** 0.5", np.nan),
    (str(2**62 + 1), float(2**62)),
    ("True + True", 2.0),
])
def test_arithmetic_is_float_and_undefined_is_nan(text, expected):
    np.testing.assert_array_equal(Expression.parse(text).evaluate({}.get), expected)


@pytest.mark.parametrize("text", ["1" * 4001, "1e999", "-1e400", "a in (1e999,)"])
def test_a_number_beyond_floats_is_an_error(text):
    with pytest.raises(ExpressionError, match=r"number '1(1+ \.\.\. 1+|e999|e400)' at "
                       r"column \d+ is too large; numbers are floats, at most about 1\.8e308"):
        Expression.parse(text)


def test_a_literal_beyond_pythons_digit_limit_is_an_error():
    with pytest.raises(ExpressionError, match="does not parse: Exceeds the limit"):
        Expression.parse("1" * 5000)


# ----------------------------------------------------- definitions (issue #11)

def registry_of(*definitions) -> Registry:
    return Registry.build(
        measures=[("test", d) for d in definitions if isinstance(d, Measure)],
        kpis=[("test", d) for d in definitions if isinstance(d, KPI)], dimensions=[])


def compute(*definitions, kpi: str, data: dict) -> list[dict]:
    return kpiforge.compute(data, kpis=[kpi], registry=registry_of(*definitions)).to_records()


@pytest.mark.parametrize("formula", ["42", "1/0", "True", "2 ** -1"])
def test_a_constant_kpi_formula_is_refused_where_defined(formula):
    with pytest.raises(KpiforgeError, match=re.escape(f"KPI 'k': formula {formula!r} is a "
                                                      "constant; a formula reads measures")):
        KPI("k", formula)


def test_floor_division_by_zero_is_undefined_like_division(contacts):
    records = compute(Measure("offered", "contacts", "count"), KPI("floor", "offered // 0"),
                      KPI("ratio", "offered / 0"), kpi="floor", data={"contacts": contacts})
    assert records == [{"floor": None}]


def test_constant_values_and_filters_apply_to_every_row(contacts):
    records = compute(Measure("twos", "contacts", "sum", value="2", where="True"),
                      Measure("none", "contacts", "count", where="1/0"),
                      KPI("both", "twos + none"), kpi="both", data={"contacts": contacts})
    assert records == [{"both": 16.0}]  # 8 contacts x 2, and no row passes NaN


@pytest.mark.parametrize(("field", "text", "message"), [
    ("where", '"chat"', "Measure 'm', where: '\"chat\"' is a string, not a condition; compare "
     "a text column with it, as in channel == \"chat\""),
    ("where", "channel", "Measure 'm', where: 'channel' is a text column, not a condition; "
     "compare it with a string, as in channel == \"chat\""),
    ("value", "queue", "Measure 'm', value: 'queue' is a text column, not a number"),
    ("value", "agent + 1", "Measure 'm', value: 'agent \\+ 1': a text column can only be "
     "compared with a string"),
    ("where", "csat in ('a',)", "Measure 'm', where: \"csat in \\('a',\\)\": 'in' at column 1 "
     "needs a text column on its left"),
])
def test_a_measure_of_the_wrong_type_is_refused_where_defined(field, text, message):
    with pytest.raises(ExpressionError, match=message):
        Measure("m", "contacts", "sum" if field == "value" else "count", **{field: text})


def test_a_kpi_formula_comparing_with_a_string_is_refused_where_defined():
    with pytest.raises(ExpressionError, match="KPI 'k', formula: \"offered == 'x'\": a string "
                       "can only be compared with a text column"):
        KPI("k", "offered == 'x'")


def test_an_extra_text_column_used_as_a_number_names_the_measure(contacts):
    data = {"contacts": {**contacts, "region": np.array(["n", "s"] * 4, dtype=object)}}
    with pytest.raises(ExpressionError, match="Measure 'm', where: 'region' is a text column, "
                       "not a condition"):
        compute(Measure("m", "contacts", "count", where="region"), KPI("k", "m"),
                kpi="k", data=data)
    with pytest.raises(ExpressionError, match="Measure 'm', value: 'region \\* 2': a text "
                       "column can only be compared with a string"):
        compute(Measure("m", "contacts", "sum", value="region * 2"), KPI("k", "m"),
                kpi="k", data=data)
    records = compute(Measure("m", "contacts", "count", where="region in ('n',)"),
                      KPI("k", "m"), kpi="k", data=data)
    assert records == [{"k": 4.0}]


@pytest.mark.parametrize(("formula", "message"), [
    (lambda m: m["offered"].astype(str), "returned <U32 values of shape \\(1,\\); it must "
     "return numbers, one per group \\(shape \\(1,\\)\\)"),
    (lambda m: np.ones(3), "returned float64 values of shape \\(3,\\)"),
    (lambda m: 1 / 0, "raised ZeroDivisionError: division by zero"),
])
def test_a_callable_formula_returning_something_else_names_the_kpi(contacts, formula,
                                                                    message):
    with pytest.raises(KpiforgeError, match="KPI 'k': its formula <lambda>\\(offered\\) "
                       + message):
        compute(KPI("k", formula, inputs=["offered"]),
                Measure("offered", "contacts", "count"), kpi="k", data={"contacts": contacts})


def test_a_callable_formulas_infinities_are_nan(contacts):
    records = compute(KPI("k", lambda m: m["offered"] / 0, inputs=["offered"]),
                      Measure("offered", "contacts", "count"), kpi="k",
                      data={"contacts": contacts})
    assert records == [{"k": None}]


def test_a_callable_formula_returning_a_constant_is_repeated_per_group(contacts):
    records = kpiforge.compute(
        {"contacts": contacts}, kpis=["k"], by=["channel"],
        registry=Registry.build(measures=[("t", Measure("offered", "contacts", "count"))],
                                kpis=[("t", KPI("k", lambda m: 1.5, inputs=["offered"]))],
                                dimensions=[("t", kpiforge.Dimension(
                                    "channel", {"contacts": "channel"}))])).to_records()
    assert records == [{"channel": "call", "k": 1.5}, {"channel": "chat", "k": 1.5}]


def test_a_text_column_with_no_value_is_still_text():
    data = {"contacts": {"arrived_s": np.array([0.0]), "channel": np.array([None],
                                                                          dtype=object)}}
    records = compute(Measure("m", "contacts", "count", where="channel == 'call'"),
                      KPI("k", "m"), kpi="k", data=data)
    assert records == [{"k": 0.0}]
