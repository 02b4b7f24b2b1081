"""What a lint rule is: a named check over the KPI set, and the findings it reports.

Rules are plugins: a plugin returns :class:`LintRule` values from its
``kpiforge_register_lint_rules`` hook, and kpiforge's own rules (the seeds' rules for
setting KPIs) are registered the same way, by ``kpiforge.plugins.lint``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from kpiforge.errors import KpiforgeError

if TYPE_CHECKING:
    from kpiforge.goals.linting import LintContext

#: How bad a finding is: an error makes ``kpiforge lint`` exit non-zero, a warning does not.
SEVERITIES = ("error", "warning")

_RULE_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def _severity(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value not in SEVERITIES:
        what = f"LintRule {instance.name!r}" if isinstance(instance, LintRule) else \
            f"Finding about {instance.kpi!r}"
        raise KpiforgeError(f"{what}: severity must be one of {', '.join(SEVERITIES)}, got "
                            f"{value!r}")


@attrs.frozen
class Finding:
    """One problem a rule found: the KPI (or KGI) it is about, what is wrong and what to do.

    A rule leaves ``severity`` None to use its own and ``rule`` empty: the lint run fills
    both in.
    """

    kpi: str
    problem: str
    advice: str
    severity: str | None = attrs.field(default=None, validator=_severity)
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: rule, severity, kpi, problem, advice."""
        return {"rule": self.rule, "severity": self.severity, "kpi": self.kpi,
                "problem": self.problem, "advice": self.advice}


def _rule_name(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not _RULE_NAME.fullmatch(value):
        raise KpiforgeError(f"LintRule name must be lower-case words joined by '-', such as "
                            f"'orphan-kpi', got {value!r}")


def _callable(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not callable(value):
        raise KpiforgeError(f"LintRule {instance.name!r}: check must be a function taking "
                            f"the lint context and returning findings, got {value!r}")


@attrs.frozen
class LintRule:
    """A check over the KPI set: ``check(context)`` returns (or yields) :class:`Finding`
    values, given a :class:`~kpiforge.goals.LintContext` (the registry, the KPI tree, the
    targets and baselines when given). ``severity`` is that of its findings unless a
    finding says otherwise."""

    name: str = attrs.field(validator=_rule_name)
    check: Callable[[LintContext], Iterable[Finding]] = attrs.field(validator=_callable)
    severity: str = attrs.field(default="error", validator=_severity)
    description: str = ""
