"""Property tests of the expression language: generated expressions mean what an independent
oracle says, and hostile ones end in a result or an ExpressionError, never another exception,
each within hypothesis' deadline (the profile in conftest.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from strategies import KINDS, NUMBERS, TEXT, columns_of, expressions, hostile_texts, rows, truth

import kpiforge
from kpiforge import KPI, Measure, Registry
from kpiforge.expressions import Expression, ExpressionError, Kind


def same(got: float, expected: float) -> bool:
    """Equal, both NaN, or within rounding (functions such as exp may differ in the last
    bits between math and numpy)."""
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return got == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(case=expressions(), table=rows())
def test_expressions_mean_what_the_oracle_says(case, table):
    expression = Expression.parse(case.text, KINDS)
    result = expression.evaluate(columns_of(table).__getitem__)
    got = np.broadcast_to(np.asarray(result, dtype=np.float64), (len(table),))
    expected = [float(case.value(row)) for row in table]
    assert not np.isinf(got).any(), case.text
    assert all(same(g, e) for g, e in zip(got, expected, strict=True)), \
        (case.text, list(got), expected)


def _lookup(columns):
    """Columns by name; a name the table lacks reads one of them (numbers or text), as an
    extra column of unknown type would."""
    def lookup(name):
        if name in columns:
            return columns[name]
        return columns[TEXT] if len(name) % 2 else columns[NUMBERS[0]]
    return lookup


@given(text=hostile_texts(), table=rows(max_size=3))
def test_hostile_expressions_end_in_a_result_or_an_expression_error(text, table):
    try:
        expression = Expression.parse(text, KINDS)
    except ExpressionError:
        return
    try:
        result = expression.evaluate(_lookup(columns_of(table)))
    except ExpressionError:
        return
    if expression.kind is Kind.NUMBER:
        assert not np.isinf(np.asarray(result, dtype=np.float64)).any()


def _registry(measure: Measure, kpi: KPI) -> Registry:
    return Registry.build(measures=[("fuzz", measure)], kpis=[("fuzz", kpi)], dimensions=[])


def _contacts(table):
    return {"arrived_s": np.arange(len(table), dtype=np.float64),
            "channel": np.array([row[TEXT] for row in table], dtype=object),
            **{name: np.array([row[name] for row in table]) for name in NUMBERS}}


# A text column with no value at all is read as numbers by the data layer (issue 11,
# "Inputs"), so tables through the engine hold at least one label.
@given(case=expressions(max_leaves=6), table=rows(labelled=True))
def test_a_generated_filter_counts_the_rows_the_oracle_keeps(case, table):
    """Through the engine: the measure's filter decides which contacts count."""
    registry = _registry(Measure("kept", "contacts", "count", where=case.text),
                         KPI("kept_contacts", "kept"))
    result = kpiforge.compute({"contacts": _contacts(table)}, kpis=["kept_contacts"],
                              registry=registry)
    assert result["kept_contacts"][0] == sum(truth(case.value(row)) for row in table)


@given(case=expressions(max_leaves=6), table=rows(labelled=True))
def test_a_generated_value_aggregates_as_the_oracle_says(case, table):
    """Through the engine: a measure's value per row, here its maximum over present values,
    and a KPI formula over it."""
    registry = _registry(Measure("top", "contacts", "max", value=case.text),
                         KPI("top_doubled", "top * 2"))
    result = kpiforge.compute({"contacts": _contacts(table)}, kpis=["top_doubled"],
                              registry=registry)
    values = [float(case.value(row)) for row in table]
    present = [v for v in values if not math.isnan(v)]
    expected = max(present) * 2 if present else math.nan
    assert same(result["top_doubled"][0], math.nan if math.isinf(expected) else expected)
