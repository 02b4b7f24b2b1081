"""The KPI tree: which KPIs point at which goals, with the expected effect and lag.

The seeds' first rule: decide the goal (KGI) first, then choose KPIs as signposts toward it.
Every KPI links to the KGIs it serves, and a KGI may serve a goal above it (csat -> ltv,
churn_rate -> ltv), so the links form a tree rooted at the top goals (the KGIs that serve
no other). A KPI serving two goals appears under each; a loop of KGI links is drawn once
round and marked.

Each link carries its expected effect (raising the KPI raises the goal, +1, or lowers it,
-1) and a lag in months. An effect the plugin does not state is inferred from the two
directions: a KPI better higher that serves a goal better higher raises it; with a neutral
direction on either side it is unknown (None).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from kpiforge.definitions import KPI, Link
from kpiforge.registry import Registry, default_registry

#: A direction as a sign: which way the value should move.
DIRECTION_SIGNS = {"higher": 1, "lower": -1, "neutral": 0}
FORMATS = ("text", "json", "mermaid")


def inferred_effect(kpi: KPI, goal: KPI) -> int | None:
    """The effect the directions imply: +1 when both are better the same way, -1 when they
    are opposite, None when either is neutral."""
    sign = DIRECTION_SIGNS[kpi.direction] * DIRECTION_SIGNS[goal.direction]
    return sign or None


@attrs.frozen
class Edge:
    """One resolved link: ``kpi`` serves ``kgi`` with ``effect`` (+1, -1, or None when
    unknown) after ``lag_months``; ``declared`` says whether the plugin stated the effect
    (else it is inferred from the directions)."""

    kpi: str
    kgi: str
    effect: int | None
    lag_months: float
    declared: bool

    @classmethod
    def of(cls, kpi: KPI, link: Link, goal: KPI) -> Edge:
        declared = link.effect is not None
        effect = link.effect if declared else inferred_effect(kpi, goal)
        return cls(kpi.name, link.kgi, effect, link.lag_months, declared)

    def to_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi, "kgi": self.kgi, "effect": self.effect,
                "lag_months": self.lag_months, "effect_declared": self.declared}

    def label(self) -> str:
        """``+``, ``-`` or ``?``, with the lag when there is one: ``+ 3 mo``."""
        sign = {1: "+", -1: "-", None: "?"}[self.effect]
        return f"{sign} {self.lag_months:g} mo" if self.lag_months else sign


@attrs.frozen
class Branch:
    """A place in the drawn tree: ``node`` at ``depth`` under the goal its ``edge`` leads
    to (None for a root); ``loop`` marks a KGI met again on its own path (not expanded)."""

    node: str
    depth: int
    edge: Edge | None
    loop: bool = False


@attrs.frozen
class KpiTree:
    """Every KPI and KGI (``kpis``, registry order), their plugins and resolved links."""

    kpis: Mapping[str, KPI]
    origin: Mapping[str, str]
    edges: tuple[Edge, ...]

    @classmethod
    def from_registry(cls, registry: Registry) -> KpiTree:
        """The tree of every KPI and KGI in ``registry`` (whose links are checked: each
        names a registered KGI)."""
        kpis = registry.kpis
        edges = tuple(Edge.of(kpi, link, kpis[link.kgi])
                      for kpi in kpis.values() for link in kpi.links)
        return cls(kpis=dict(kpis), origin=dict(registry.origin), edges=edges)

    def serving(self, kgi: str) -> list[Edge]:
        """The links into ``kgi``: from KGIs first, then from KPIs, each in registry
        order."""
        into = [edge for edge in self.edges if edge.kgi == kgi]
        return sorted(into, key=lambda edge: not self.kpis[edge.kpi].is_goal)

    @property
    def goals(self) -> list[str]:
        return [name for name, kpi in self.kpis.items() if kpi.is_goal]

    @property
    def roots(self) -> list[str]:
        """The top goals: KGIs that serve no other goal, then one KGI of each loop of
        links that no top goal reaches."""
        linking = {edge.kpi for edge in self.edges}
        roots = [name for name in self.goals if name not in linking]
        reached = {branch.node for branch in self._walk(roots)}
        for name in self.goals:
            if name not in reached:
                roots.append(name)
                reached |= {branch.node for branch in self._walk([name])}
        return roots

    @property
    def unlinked(self) -> list[str]:
        """KPIs (not KGIs) that serve no goal: the orphans."""
        return [name for name, kpi in self.kpis.items() if not kpi.is_goal and not kpi.links]

    @property
    def unserved(self) -> list[str]:
        """KGIs that no KPI or KGI links to: goals without a signpost."""
        served = {edge.kgi for edge in self.edges}
        return [name for name in self.goals if name not in served]

    def loops(self) -> list[list[str]]:
        """Each loop of KGI links once, as the path that closes it (``[a, b, a]``)."""
        found: list[list[str]] = []
        seen: set[frozenset[str]] = set()
        for branch, path in self._paths(self.goals):
            if branch.loop:
                cycle = path[path.index(branch.node):]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append([*cycle, branch.node])
        return found

    def walk(self) -> Iterator[Branch]:
        """The drawn tree, depth first from each root: the goal, then the KPIs serving it
        (registry order), each followed by what serves it."""
        return self._walk(self.roots)

    def _walk(self, roots: list[str]) -> Iterator[Branch]:
        return (branch for branch, _ in self._paths(roots))

    def _paths(self, roots: list[str]) -> Iterator[tuple[Branch, list[str]]]:
        """Each branch with the path of nodes above it (an explicit stack: no recursion)."""
        for root in roots:
            stack: list[tuple[Branch, list[str]]] = [(Branch(root, 0, None), [])]
            while stack:
                branch, above = stack.pop()
                yield branch, above
                if branch.loop:
                    continue
                path = [*above, branch.node]
                children = [(Branch(edge.kpi, branch.depth + 1, edge, edge.kpi in path), path)
                            for edge in self.serving(branch.node)]
                stack.extend(reversed(children))

    def node(self, name: str) -> dict[str, Any]:
        """What the tree says about one KPI or KGI, JSON-ready."""
        kpi = self.kpis[name]
        return {"id": name, "kind": kpi.kind, "direction": kpi.direction, "unit": kpi.unit,
                "area": kpi.area, "role": kpi.role, "timing": kpi.timing,
                "plugin": self.origin[name]}

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (docs/cli.md): ``goals`` (the tree, nested through
        ``served_by``), ``links`` (flat) and ``unlinked`` (orphan KPIs)."""
        goals: list[dict[str, Any]] = []
        open_nodes: list[dict[str, Any]] = []
        for branch in self.walk():
            entry = self.node(branch.node)
            if branch.edge is not None:
                entry.update({k: v for k, v in branch.edge.to_dict().items()
                              if k not in ("kpi", "kgi")})
            if branch.loop:
                entry["loop"] = True
            entry["served_by"] = []
            del open_nodes[branch.depth:]
            (open_nodes[-1]["served_by"] if open_nodes else goals).append(entry)
            open_nodes.append(entry)
        return {"goals": goals, "links": [edge.to_dict() for edge in self.edges],
                "unlinked": [self.node(name) for name in self.unlinked]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def to_text(self) -> str:
        """The tree drawn with box characters, one KPI per line: id, kind and direction,
        then the link's effect and lag."""
        lines = ["Goals (KGIs) and the KPIs that serve them. Each link: + raising the KPI "
                 "raises the goal, - lowers it, ? unknown; then the lag in months.", ""]
        branches = list(self.walk())
        for i, branch in enumerate(branches):
            if branch.depth == 0 and i:
                lines.append("")
            lines.append(_prefix(branches, i) + self._describe(branch))
        if self.unlinked:
            lines += ["", "Linked to no KGI: " + ", ".join(self.unlinked)]
        return "\n".join(lines) + "\n"

    def _describe(self, branch: Branch) -> str:
        kpi = self.kpis[branch.node]
        text = f"{branch.node}  ({kpi.kind}, {kpi.direction})"
        if branch.edge is not None:
            text += f"  {branch.edge.label()}"
        return text + ("  (loop: links back up)" if branch.loop else "")

    def to_mermaid(self) -> str:
        """A Mermaid flowchart: KPIs point up at the goals they serve, KGIs are rounded,
        edges carry the effect and lag."""
        lines = ["flowchart BT"]
        for name, kpi in self.kpis.items():
            label = f"{name} ({kpi.direction})"
            lines.append(f'  {_mermaid_id(name)}(["{label}"])' if kpi.is_goal else
                         f'  {_mermaid_id(name)}["{label}"]')
        lines += [f'  {_mermaid_id(e.kpi)} -->|"{e.label()}"| {_mermaid_id(e.kgi)}'
                  for e in self.edges]
        if self.goals:
            lines += ["  classDef kgi fill:#fde68a,stroke:#b45309",
                      f"  class {','.join(map(_mermaid_id, self.goals))} kgi"]
        return "\n".join(lines) + "\n"

    def render(self, fmt: str) -> str:
        """The tree as ``text``, ``json`` or ``mermaid``."""
        return {"text": self.to_text, "json": self.to_json, "mermaid": self.to_mermaid}[fmt]()


def kpi_tree(registry: Registry | None = None) -> KpiTree:
    """The KPI tree of ``registry`` (default: every installed plugin's)."""
    return KpiTree.from_registry(registry or default_registry())


def _mermaid_id(name: str) -> str:
    """Node ids are prefixed: Mermaid reserves some words (``end``)."""
    return f"n_{name}"


def _prefix(branches: list[Branch], index: int) -> str:
    """Box-drawing prefix of ``branches[index]``: a bar for each open level above it."""
    depth = branches[index].depth
    if depth == 0:
        return ""
    later = branches[index + 1:]

    def continues(level: int) -> bool:
        """Whether another branch at ``level`` follows before the tree climbs above it."""
        for branch in later:
            if branch.depth < level:
                return False
            if branch.depth == level:
                return True
        return False

    bars = "".join("│   " if continues(level) else "    " for level in range(1, depth))
    return bars + ("├── " if continues(depth) else "└── ")
