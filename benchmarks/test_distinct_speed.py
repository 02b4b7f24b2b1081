"""Distinct counts (``customers_served``, ``agents_active``) by channel, in memory and in
chunks, against ``offered`` alone on the same rows (the cost of the distinct pass) and
against pandas' ``nunique``. A customer per five contacts, 300 agents, text ids. Compare
within the group ``distinct-<size>``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import size_label

import kpiforge

KPIS = ["customers_served", "agents_active"]


@pytest.fixture(scope="session")
def with_ids(rows, contacts_table) -> pa.Table:
    """The benchmark contacts with customer and agent ids as text."""
    rng = np.random.default_rng(3)
    customers = np.array([f"c{i}" for i in range(max(rows // 5, 1))], dtype=object)
    agents = np.array([f"a{i}" for i in range(300)], dtype=object)
    return contacts_table.append_column("customer_id", pa.array(
        customers[rng.integers(0, len(customers), rows)])).append_column(
        "agent", pa.array(agents[rng.integers(0, len(agents), rows)]))


def _pandas(frame: pd.DataFrame) -> pd.DataFrame:
    answered = frame[frame["answered_s"].notna()]
    return pd.DataFrame({
        "customers_served": frame.groupby("channel", observed=True)["customer_id"].nunique(),
        "agents_active": answered.groupby("channel", observed=True)["agent"].nunique()})


def test_offered_alone(benchmark, rows, with_ids):
    benchmark.group = f"distinct-{size_label(rows)}"
    benchmark(kpiforge.compute, {"contacts": with_ids}, ["offered"], by=["channel"])


@pytest.mark.parametrize("chunk_rows", [None, 100_000])
def test_distinct_counts(benchmark, rows, with_ids, chunk_rows):
    benchmark.group = f"distinct-{size_label(rows)}"
    result = benchmark(kpiforge.compute, {"contacts": with_ids}, KPIS, by=["channel"],
                       chunk_rows=chunk_rows)
    expected = _pandas(with_ids.to_pandas())
    for kpi in KPIS:
        np.testing.assert_array_equal(result[kpi], expected[kpi].to_numpy(np.float64))


def test_pandas_nunique(benchmark, rows, with_ids):
    benchmark.group = f"distinct-{size_label(rows)}"
    frame = with_ids.to_pandas()
    benchmark(_pandas, frame)
