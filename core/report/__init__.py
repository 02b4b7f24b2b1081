"""Reports people look at: one self-contained HTML page per report.

:func:`build_report` turns data (or a simulated run, with or without replications) into a
:class:`Report`: a headline per group (value, target, status, change against the previous
period), a trend chart per KPI, the KPI tree coloured by status, the scenario and the
replications' confidence intervals for simulated data, and the data's provenance.
:func:`whatif_report` writes a what-if (:class:`WhatIfSection`: KPIs and goals of a
baseline and its variants, with the paired differences), :func:`sweep_report` a sweep
(:class:`SweepSection`).
:meth:`Report.write` writes it atomically. Sections are small classes built from data
(:class:`Section`): :meth:`Report.with_section` adds one.

Charts are drawn by matplotlib (``pip install 'kpiforge[plot]'``). Names are imported on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpiforge.lazy import lazy_exports

if TYPE_CHECKING:
    from kpiforge.report.build import build_report, kpi_view
    from kpiforge.report.document import Report, Section
    from kpiforge.report.figures import plot_kpis
    from kpiforge.report.view import KpiView
    from kpiforge.report.whatif import SweepSection, WhatIfSection, sweep_report, whatif_report

#: Public name -> the module that defines it.
_PUBLIC = {
    "build_report": "kpiforge.report.build",
    "kpi_view": "kpiforge.report.build",
    "Report": "kpiforge.report.document",
    "Section": "kpiforge.report.document",
    "plot_kpis": "kpiforge.report.figures",
    "KpiView": "kpiforge.report.view",
    "WhatIfSection": "kpiforge.report.whatif",
    "whatif_report": "kpiforge.report.whatif",
    "SweepSection": "kpiforge.report.whatif",
    "sweep_report": "kpiforge.report.whatif",
}

__all__ = ["KpiView", "Report", "Section", "SweepSection", "WhatIfSection", "build_report",
           "kpi_view", "plot_kpis", "sweep_report", "whatif_report"]

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
