"""The duplicate contact_id check against the same run without the column, in memory and
streamed, on the same generated contacts: the cost of counting distinct ids (Arrow's
``value_counts`` per piece and per merge) as a ratio to the run that does not read them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_engine_speed import BY, KPIS
from test_time_zone_speed import best_of

import kpiforge


@pytest.mark.parametrize("chunk_rows", [None, 250_000])
@pytest.mark.parametrize("ids", ["int", "text"])
def test_id_check_against_no_ids(benchmark, contacts_table, ids, chunk_rows):
    """Unique ids, so the check finds nothing and warns nothing: its cost alone."""
    rows = contacts_table.num_rows
    numbers = np.random.default_rng(5).permutation(rows) + 10_000_000
    column = pa.array(numbers) if ids == "int" else \
        pa.compute.binary_join_element_wise("T-", pa.array(numbers).cast(pa.string()), "")
    with_ids = contacts_table.append_column("contact_id", column)

    def run(table):
        return lambda: kpiforge.compute({"contacts": table}, kpis=KPIS, by=BY,
                                        chunk_rows=chunk_rows, strict=True)

    plain = best_of(3, run(contacts_table))
    checked = benchmark.pedantic(best_of, args=(3, run(with_ids)), rounds=1, iterations=1)
    benchmark.extra_info.update(plain_s=plain, checked_s=checked, ratio=checked / plain)
