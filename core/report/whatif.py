"""What-ifs and sweeps in a report: each KPI of the baseline and its variants (or of each
grid point) with their intervals, the paired difference with its own, and the goals (KGIs)
a change moves beside the KPIs.

:class:`WhatIfSection` and :class:`SweepSection` are report sections
like any other: add one to a report with :meth:`~kpiforge.report.Report.with_section`, or
write it with the scenario's figures alone with :func:`whatif_report` (``kpiforge whatif
--report``) or :func:`sweep_report` (``kpiforge sweep --report``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from kpiforge.formatting import format_interval
from kpiforge.report.document import Report
from kpiforge.report.page import esc, table
from kpiforge.report.simulation import ScenarioSection, scenario_figures, scenario_source
from kpiforge.simulations.replications import GOALS
from kpiforge.simulations.scenario import Scenario
from kpiforge.simulations.sweeps import REPLICATIONS
from kpiforge.simulations.whatif import WhatIf

#: What the last column says of a difference: its interval excludes 0, or holds it.
VERDICTS = {True: "differs", False: "noise", None: "-"}


@attrs.frozen(eq=False)
class WhatIfSection:
    """A comparison (:class:`~kpiforge.simulations.WhatIf`) as one table: a row per
    variant, group and KPI; the goals marked as such."""

    result: WhatIf
    anchor: str = "whatif"
    title: str = "What-if"

    def render(self) -> str:
        result = self.result
        several = len(result.variants) > 1
        dimensions = list(result.baseline.dimensions)
        rows = []
        for r in result.to_records():
            unit = result.units.get(r["kpi"], "")
            rows.append([
                *([esc(r["variant_name"])] if several else []),
                *(esc(r[d]) for d in dimensions),
                esc(r["kpi"]), "goal" if r["kpi"] in GOALS else "KPI",
                esc(format_interval(r["baseline"], r["baseline_ci_low"],
                                    r["baseline_ci_high"], unit)),
                esc(format_interval(r["variant"], r["variant_ci_low"], r["variant_ci_high"],
                                    unit)),
                esc(format_interval(r["difference"], r["difference_ci_low"],
                                    r["difference_ci_high"], unit, signed=True)),
                VERDICTS[r["significant"]]])
        first = len(dimensions) + int(several) + 2
        header = [*(["variant"] if several else []), *dimensions, "KPI", "kind", "baseline",
                  "variant", "difference (variant - baseline)", ""]
        level = f"{result.confidence:.0%}"
        variants = "; ".join(esc(name) for name in result.variants)
        intro = (f"{result.baseline.replications} paired replications of the baseline and "
                 f"of each variant ({variants}), replication by replication on the same "
                 f"random numbers; means with {level} intervals, and the difference with "
                 f"its own {level} interval from the paired differences. <em>noise</em>: "
                 "the interval holds 0. Goals (KGIs) come from the customers table where "
                 "the scenario has one; staffed_hours x the hourly cost is what a change "
                 "costs.")
        body = table(header, rows, numeric=(first, first + 1, first + 2))
        return f'<p class="intro">{intro}</p><div class="panel">{body}</div>'


def whatif_report(result: WhatIf, baseline: Scenario, title: str | None = None) -> Report:
    """A report of ``result``: the comparison, then the ``baseline`` scenario's figures."""
    name = title or f"What-if: {baseline.name}"
    sections = (WhatIfSection(result),
                ScenarioSection(scenario_figures(baseline), scenario_source(baseline)))
    subtitle = esc(f"{baseline.name} against {len(result.variants)} variant"
                   f"{'s' if len(result.variants) != 1 else ''} · "
                   f"{result.baseline.replications} paired replications")
    return Report(name, subtitle, sections,
                  footer=esc("Made by kpiforge (kpiforge whatif --report)."))


@attrs.frozen
class SweepSection:
    """A sweep's points (``rows`` as :func:`~kpiforge.simulations.run_sweep` gives them,
    grid ``keys`` first) as one table: a row per point and KPI, the mean with its interval;
    ``units`` by KPI id."""

    rows: tuple[Mapping[str, Any], ...]
    keys: tuple[str, ...]
    units: Mapping[str, str]
    anchor: str = "sweep"
    title: str = "Sweep"

    @property
    def kpis(self) -> list[str]:
        first = self.rows[0] if self.rows else {}
        return [name for name in first if name not in self.keys and name != REPLICATIONS
                and not name.endswith(("_ci_low", "_ci_high"))]

    def render(self) -> str:
        rows = []
        for r in self.rows:
            for kpi in self.kpis:
                rows.append([*(esc(r[k]) for k in self.keys), esc(r[REPLICATIONS]), esc(kpi),
                             "goal" if kpi in GOALS else "KPI",
                             esc(format_interval(r[kpi], r[f"{kpi}_ci_low"],
                                                 r[f"{kpi}_ci_high"],
                                                 self.units.get(kpi, "")))])
        header = [*self.keys, "replications", "KPI", "kind", "mean (95% interval)"]
        intro = ("Every grid point's replications: each KPI's mean with its 95 % interval "
                 "(Student's t). Goals (KGIs) come from the customers table where the "
                 "scenario has one; staffed_hours x the hourly cost is what a point costs.")
        body = table(header, rows, numeric=(len(self.keys), len(self.keys) + 3))
        return f'<p class="intro">{intro}</p><div class="panel">{body}</div>'


def sweep_report(rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                 units: Mapping[str, str], scenario: Scenario,
                 title: str | None = None) -> Report:
    """A report of a sweep's ``rows``, then the swept ``scenario``'s figures (as given,
    before the grid's changes)."""
    name = title or f"Sweep: {scenario.name}"
    sections = (SweepSection(tuple(rows), tuple(keys), dict(units)),
                ScenarioSection(scenario_figures(scenario), scenario_source(scenario)))
    subtitle = esc(f"{scenario.name} over {', '.join(keys)} · {len(rows)} points")
    return Report(name, subtitle, sections,
                  footer=esc("Made by kpiforge (kpiforge sweep --report)."))
