"""The headline: per group (channel...), each KPI's value in the latest period, its target,
status and change against the period before."""

from __future__ import annotations

import math

import attrs

from kpiforge.formatting import format_plan_target, format_value
from kpiforge.goals.targets import Status
from kpiforge.report.page import MINUS, STATUS_WORDS, esc, status_badge, table
from kpiforge.report.view import KpiView


def format_change(change: float, unit: str) -> str:
    """A change with its sign and unit: ``+2.1 pts`` for rates, ``-3.0 s`` (a minus
    sign), ``+120``."""
    if math.isnan(change):
        return "-"
    sign = "+" if change > 0 else MINUS if change < 0 else "±"
    if unit == "%":
        return f"{sign}{abs(change) * 100:.1f} pts"
    return sign + format_value(abs(change), unit)


def change_cell(change: float, unit: str, direction: str) -> str:
    """A change, with ``better``/``worse`` in words (and colour) by the KPI's direction."""
    text = format_change(change, unit)
    if math.isnan(change) or text[1:] == format_change(0.0, unit)[1:] or \
            direction == "neutral":
        return f'<span class="change">{esc(text)}</span>'
    better = (change > 0) == (direction == "higher")
    verdict = "better" if better else "worse"
    return (f'<span class="change"><span class="{verdict}">{esc(text)}</span> '
            f"<small>{verdict}</small></span>")


def _status_cell(status: Status | None, target: str, source: str) -> str:
    """The status badge, and the target below it (with mathematical signs; where it comes
    from as its tooltip)."""
    target = target.replace(">=", "≥").replace("<=", "≤")
    return (f'{status_badge(status, "no value")}<small class="target" '
            f'title="from {esc(source)}">target {esc(target)}</small>')



@attrs.frozen
class HeadlineSection:
    """Per group, a card with each KPI's latest value, target, status and change."""

    view: KpiView
    anchor: str = "headline"

    @property
    def title(self) -> str:
        return f"Headline: {self.view.period_label(-1)}"

    def render(self) -> str:
        view = self.view
        compared = f" compared with {view.period_label(-2)}" if len(view.periods) > 1 else \
            " (no earlier period to compare with)"
        intro = (f"Each KPI in {esc(view.period_label(-1))}{esc(compared)}. Status: "
                 f"{STATUS_WORDS[Status.ON_TRACK]}, {STATUS_WORDS[Status.AT_RISK]} (missed "
                 f"by at most the target's margin) or {STATUS_WORDS[Status.OFF]}, judged by "
                 "the KPI's direction or band.")
        cards = "".join(self._card(g) for g in range(len(view.groups)))
        return f'<p class="intro">{intro}</p><div class="cards">{cards}</div>'

    def _card(self, g: int) -> str:
        view = self.view
        group = view.groups[g]
        rows = []
        for name, kpi in view.kpis.items():
            current, previous = (values[g] for values in view.latest(name))
            target = view.targets.get(name)
            status = view.latest_statuses(name)[g]
            rows.append([
                f'<span data-kpi="{esc(name)}">{esc(name)}</span>',
                esc(format_value(current, kpi.unit)),
                _status_cell(status, format_plan_target(target, kpi),
                             view.target_source[name]) if target is not None
                else '<span class="muted">no target</span>',
                change_cell(current - previous, kpi.unit, kpi.direction),
            ])
        heading_id = f"headline-{g}"
        body = table(["KPI", "value", "status and target", "change"], rows, numeric=(1, 3),
                     classes={1: "value"}, css="headline")
        return (f'<section class="card" aria-labelledby="{heading_id}" '
                f'data-group="{esc(group)}"><h3 id="{heading_id}">{esc(group)}</h3>'
                f"{body}</section>")
