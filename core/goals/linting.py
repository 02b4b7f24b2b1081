"""Running the lint rules over a KPI set: the registered plugins' KPIs and KGIs, plus
targets and the baselines of data when given.

Every rule is a plugin's (:class:`~kpiforge.goals.LintRule`, hook
``kpiforge_register_lint_rules``); kpiforge's own are in ``kpiforge.plugins.lint``. A rule of
an outside plugin that raises or returns something other than findings is skipped with a
warning naming it; the others still run.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

import attrs

from kpiforge.definitions import KPI
from kpiforge.errors import KpiforgeWarning
from kpiforge.goals.rules import SEVERITIES, Finding, LintRule
from kpiforge.goals.targets import Baseline, Targets
from kpiforge.goals.tree import KpiTree
from kpiforge.plugin_manager import DEFAULT_PLUGINS
from kpiforge.registry import Registry, default_registry


@attrs.frozen
class LintContext:
    """What a rule checks: the ``registry`` (every KPI and KGI), its ``tree`` of links, the
    ``targets`` (None when not given) and their ``baselines`` (empty when not given)."""

    registry: Registry
    tree: KpiTree
    targets: Targets | None = None
    baselines: Mapping[str, Baseline] = attrs.field(factory=dict)

    @property
    def kpi_set(self) -> list[str]:
        """The KPIs a team works with: the targeted ones when there are targets, else
        every KPI and KGI."""
        if self.targets is not None:
            return [target.kpi for target in self.targets]
        return list(self.registry.kpis)

    def kpi(self, name: str) -> KPI:
        return self.registry.kpis[name]

    def plugin(self, name: str) -> str:
        """The plugin that defines KPI or KGI ``name``."""
        return self.registry.origin[name]


@attrs.frozen
class LintReport:
    """The findings (errors first, then warnings, each in rule order), the rules that ran
    with their plugins, and how much was checked."""

    findings: tuple[Finding, ...]
    rules: Mapping[str, LintRule]
    plugins: Mapping[str, str]
    checked: int
    targets: int
    baselines: Mapping[str, Baseline] = attrs.field(factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        """``2 errors, 1 warning from 9 rules over 43 KPIs and KGIs and 4 targets``."""
        what = _plural(self.checked, "KPI and KGI", "KPIs and KGIs")
        if self.targets:
            what += f" and {_plural(self.targets, 'target')}"
        rules = _plural(len(self.rules), "rule")
        if not self.findings:
            return f"no findings: {what} pass {rules}"
        counts = f"{_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"
        return f"{counts} from {rules} over {what}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (docs/cli.md)."""
        return {
            "ok": self.ok, "errors": len(self.errors), "warnings": len(self.warnings),
            "checked": self.checked, "targets": self.targets,
            "rules": [{"name": name, "severity": rule.severity,
                       "description": rule.description, "plugin": self.plugins[name]}
                      for name, rule in self.rules.items()],
            "findings": [finding.to_dict() for finding in self.findings],
            "baselines": {kpi: {"value": b.value if b.known else None, "source": b.source,
                                "note": b.note or None} for kpi, b in self.baselines.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def to_text(self) -> str:
        """One line per finding (severity, [rule], KPI: problem; what to do), then the
        summary."""
        lines = [f"{f.severity} [{f.rule}] {f.kpi}: {f.problem}; {f.advice}"
                 for f in self.findings]
        return "\n".join([*lines, self.summary()]) + "\n"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def lint(registry: Registry | None = None, targets: Targets | None = None,
         data: Any = None, **options: Any) -> LintReport:
    """Check the KPI set of ``registry`` (default: every installed plugin's), with
    ``targets`` and the baselines computed over ``data`` when given (``options`` go to
    :func:`kpiforge.compute`), against every registered lint rule."""
    registry = registry or default_registry()
    baselines = {} if targets is None else \
        targets.baselines(data, registry=registry, **options)
    context = LintContext(registry, KpiTree.from_registry(registry), targets, baselines)
    plugins = {name: registry.origin["rule:" + name] for name in registry.lint_rules}
    found: list[Finding] = []
    for name, rule in registry.lint_rules.items():
        found += _run(rule, plugins[name], context)
    order = {severity: i for i, severity in enumerate(SEVERITIES)}
    findings = sorted(found, key=lambda f: order[f.severity or "error"])
    return LintReport(tuple(findings), dict(registry.lint_rules), plugins,
                      checked=len(registry.kpis), targets=len(targets or ()),
                      baselines=baselines)


def _run(rule: LintRule, plugin: str, context: LintContext) -> list[Finding]:
    """The findings of one rule, with its name and severity filled in. An outside rule
    that fails is skipped with a warning; a built-in one raises."""
    try:
        findings = list(rule.check(context))
        wrong = next((f for f in findings if not isinstance(f, Finding)), None)
        if wrong is not None:
            raise TypeError(f"it returned {wrong!r}, not a Finding")
    except Exception as exc:
        if plugin in DEFAULT_PLUGINS:
            raise
        warnings.warn(f"lint rule {rule.name!r} of plugin {plugin!r} is skipped: "
                      f"{type(exc).__name__}: {exc}", KpiforgeWarning, stacklevel=3)
        return []
    return [attrs.evolve(f, rule=rule.name, severity=f.severity or rule.severity)
            for f in findings]
