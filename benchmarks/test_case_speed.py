"""Per-case KPIs against the same run without ``case_id``, in memory and streamed, on the
same generated contacts: the cost of keeping every case's state (sorting the ids, merging
them by id) as a ratio to the per-contact run."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_engine_speed import BY, KPIS
from test_time_zone_speed import best_of

import kpiforge


@pytest.mark.parametrize("chunk_rows", [None, 250_000])
def test_cases_against_contacts(benchmark, contacts_table, chunk_rows):
    """About 1.25 contacts per case, ids as integers as the simulator writes them."""
    rows = contacts_table.num_rows
    case_id = np.random.default_rng(3).integers(0, max(1, int(rows / 1.25)), rows)
    with_cases = contacts_table.append_column("case_id", pa.array(case_id))

    def run(table):
        return lambda: kpiforge.compute({"contacts": table}, kpis=KPIS, by=BY,
                                        chunk_rows=chunk_rows)

    contacts = best_of(2, run(contacts_table))
    cases = benchmark.pedantic(best_of, args=(2, run(with_cases)), rounds=1, iterations=1)
    benchmark.extra_info.update(contacts_s=contacts, cases_s=cases, ratio=cases / contacts)
