"""The HTML report over generated contacts: its time beyond computing the same KPIs, and the
page's size (target: under 10 s beyond the compute time and under 5 MB at 10M contacts).

Both runs compute every KPI the data supports by channel and day; the report then reads
the time column again for its provenance, draws a chart per KPI and writes the page. The
page holds one value per KPI, group and day, so its size does not grow with the rows.
"""

from __future__ import annotations

import pytest
from conftest import size_label

import kpiforge

pytest.importorskip("matplotlib")

from kpiforge.report import build_report

BY = ["channel"]
GRAIN = "1d"
#: The page's size limit (bytes).
MAX_BYTES = 5_000_000


def test_compute_for_the_report(benchmark, rows, contacts_table):
    benchmark.group = f"report-{size_label(rows)}"
    result = benchmark(kpiforge.compute, {"contacts": contacts_table}, by=BY, grain=GRAIN)
    assert result["offered"].sum() == rows


def test_report(benchmark, rows, contacts_table, tmp_path):
    benchmark.group = f"report-{size_label(rows)}"
    out = tmp_path / "report.html"

    def report() -> int:
        build_report({"contacts": contacts_table}, by=BY, grain=GRAIN).write(out)
        return out.stat().st_size

    size = benchmark.pedantic(report, rounds=2, iterations=1)
    benchmark.extra_info["html_bytes"] = size
    assert size < MAX_BYTES
    assert f"{rows:,}" in out.read_text(encoding="utf-8")   # the provenance's row count
