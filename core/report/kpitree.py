"""The KPI tree of a report: the goals (KGIs) its KPIs serve, with the KPIs under them,
each marked with its latest status per group.

The tree is :class:`kpiforge.goals.KpiTree`'s, cut to the report's KPIs and the goals
above them. A node's colour is its worst status over the groups; the badges beside it say
each group's status in words.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from kpiforge.goals.targets import Status
from kpiforge.goals.tree import Branch, KpiTree
from kpiforge.report.page import MINUS, STATUS_CLASSES, STATUS_SYMBOLS, STATUS_WORDS, esc
from kpiforge.report.view import KpiView

_EFFECTS = {1: "raising it raises the goal", -1: "raising it lowers the goal",
            None: "effect unknown"}


def worst(statuses: list[Status | None]) -> Status | None:
    """The worst of ``statuses`` (None when none is known); :class:`Status` lists its
    members best first."""
    known = [s for s in statuses if s is not None]
    return max(known, key=list(Status).index) if known else None


@attrs.frozen
class TreeSection:
    """KGIs with the report's KPIs that point at them, coloured by status."""

    view: KpiView
    tree: KpiTree
    #: KPIs the data could not give, with the reason (shown on their nodes).
    skipped: Mapping[str, str] = attrs.field(factory=dict)
    anchor: str = "kpi-tree"
    title: str = "KPI tree"

    def shown(self) -> set[str]:
        """The report's KPIs and every goal above them."""
        nodes = {k for k in self.view.kpis if k in self.tree.kpis}
        stack = list(nodes)
        while stack:
            for link in self.tree.kpis[stack.pop()].links:
                if link.kgi not in nodes:
                    nodes.add(link.kgi)
                    stack.append(link.kgi)
        return nodes

    def render(self) -> str:
        shown = self.shown()
        branches = [b for b in self.tree.walk() if b.node in shown]
        if not branches:
            return '<p class="note">None of the report\'s KPIs links to a goal (KGI).</p>'
        html = ['<ul class="tree">']
        depth = 0
        for i, branch in enumerate(branches):
            if i:
                if branch.depth > depth:
                    html.append("<ul>")
                else:
                    html.append("</li>" + "</ul></li>" * (depth - branch.depth))
            html.append("<li>" + self._node(branch))
            depth = branch.depth
        html.append("</li>" + "</ul></li>" * depth + "</ul>")
        intro = ("Goals (KGIs) first, with the KPIs that serve them below; + means raising "
                 f"the KPI raises the goal, {MINUS} lowers it, with the lag in months. Each node "
                 f"shows the latest status per group ({esc(self.view.period_label(-1))}); "
                 "its colour is the worst of them.")
        return f'<p class="intro">{intro}</p>' + "".join(html)

    def _node(self, branch: Branch) -> str:
        name = branch.node
        kpi = self.tree.kpis[name]
        link = ""
        if branch.edge is not None:
            label = branch.edge.label().replace("-", MINUS)
            link = (f'<span class="link" title="{esc(_EFFECTS[branch.edge.effect])}">'
                    f"{esc(label)}</span>")
        if name in self.view.kpis:
            statuses = self.view.latest_statuses(name)
            badges = "".join(self._badge(group, status)
                             for group, status in zip(self.view.groups, statuses, strict=True)
                             if status is not None)
            css = STATUS_CLASSES[worst(statuses)]
            detail = badges or '<span class="muted"> no target</span>'
        else:
            css = "none"
            reason = "not computed" if name in self.skipped else "not in this report"
            detail = f'<span class="muted" title="{esc(self.skipped.get(name, ""))}"> ' \
                     f"{reason}</span>"
        loop = ' <span class="muted">(loop: links back up)</span>' if branch.loop else ""
        goal = " goal" if kpi.is_goal else ""
        return (f'{link}<span class="node {css}{goal}" data-node="{esc(name)}">'
                f'<span class="kind">{kpi.kind}</span> {esc(name)}{detail}</span>{loop}')

    @staticmethod
    def _badge(group: str, status: Status) -> str:
        return (f' <span class="badge {STATUS_CLASSES[status]}">{esc(group)} '
                f'<span aria-hidden="true">{STATUS_SYMBOLS[status]}</span> '
                f"{STATUS_WORDS[status]}</span>")
