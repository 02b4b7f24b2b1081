"""The safe expression language: what parses, what is rejected (with where), and semantics."""

from __future__ import annotations

import numpy as np
import pytest

from kpiforge.expressions import Expression, ExpressionError
from kpiforge.io.categorical import Categorical

COLUMNS = {
    "a": np.array([1.0, 2.0, np.nan, 4.0]),
    "b": np.array([0.0, 2.0, 1.0, 0.0]),
    "channel": Categorical(np.array([0, 1, -1, 0], dtype=np.int32),
                           np.array(["call", "chat"], dtype=object)),
}


def evaluate(text: str):
    return Expression.parse(text).evaluate(COLUMNS.__getitem__)


def test_names_are_the_free_variables_not_the_functions():
    assert Expression.parse("where(isnan(a), b, a) / max(a, b, 3)").names == {"a", "b"}


@pytest.mark.parametrize(("text", "expected"), [
    ("a + b * 2", [1, 6, np.nan, 4]),
    ("a / b", [np.nan, 1, np.nan, np.nan]),  # x/0 is undefined, not inf
    ("a >= 2", [False, True, False, True]),
    ("(a >= 2) & (b > 0)", [False, True, False, False]),
    ("a >= 2 and b > 0 or b == 1", [False, True, True, False]),
    ("not (a >= 2)", [True, False, True, False]),
    ("~(b > 0)", [True, False, False, True]),
    ("1 < a <= 2", [False, True, False, False]),
    ("coalesce(a, b)", [1, 2, 1, 4]),
    ("notnan(a)", [True, True, False, True]),
    ("min(a, b)", [0, 2, 1, 0]),
    ("channel == 'chat'", [False, True, False, False]),
    ("'call' != channel", [False, True, True, False]),
    ("channel == 'email'", [False, False, False, False]),
    ("-a ** 2 % 3", [-1 % 3, -4 % 3, np.nan, -16 % 3]),
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
    ("a in b", "'in'"),
    ("where(a, b)", "where() at column 1 takes 3 positional arguments"),
    ("isnan(a=1)", "isnan() at column 1 takes 1"),
    ("a +", "does not parse"),
    ("a + None", "constant None at column 5"),
    ("[a, b]", "List at column 1"),
    ("", "non-empty"),
])
def test_rejected_with_position(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        Expression.parse(text)


@pytest.mark.parametrize(("text", "message"), [
    ("channel + 1", "can only be compared with a string"),
    ("channel < 'chat'", "only be compared with == or !="),
    ("a == 'chat'", "a string can only be compared with a text column"),
])
def test_text_columns_only_compare_with_strings(text, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate(text)


def test_common_subexpressions_are_computed_once():
    calls = []

    def lookup(name):
        calls.append(name)
        return COLUMNS[name]

    memo = {}
    Expression.parse("(a - b) * 2").evaluate(lookup, memo)
    Expression.parse("(a - b) <= 3").evaluate(lookup, memo)
    assert calls == ["a", "b"]
