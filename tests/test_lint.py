"""``kpiforge lint``: each of the seeds' rules on a KPI set made to break it, the built-ins
passing, and rules as plugins."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_registry import registry_with
from test_tree import plugin_with, registry_of

from kpiforge import KGI, KPI, Link, Measure, hookimpl
from kpiforge.cli import cli
from kpiforge.errors import KpiforgeWarning
from kpiforge.goals import Finding, LintRule, Target, Targets, lint


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def found(report, rule: str) -> list[tuple[str, str | None]]:
    """(KPI, severity) of each finding of ``rule``."""
    return [(f.kpi, f.severity) for f in report.findings if f.rule == rule]


def test_the_builtin_kpis_pass_every_rule():
    report = lint()
    assert report.findings == ()
    assert report.ok
    assert list(report.rules) == ["orphan-kpi", "unserved-kgi", "link-effect", "link-loop",
                                  "untimed-target", "unachievable-target",
                                  "support-success-mixed", "unpaired-efficiency",
                                  "lagging-grain"]
    text = run("lint")
    assert (text.exit_code, text.stdout) == (
        0, "no findings: 58 KPIs and KGIs pass 9 rules\n")


def test_definition_rules_find_orphans_unserved_goals_bad_links_and_loops():
    registry = registry_of(plugin_with(
        KPI("lonely", "rows", area="support"),
        KPI("backwards", "rows", direction="lower", links=[Link("csat", effect=1)]),
        KPI("unsure", "rows", direction="neutral", kgis=["csat"]),
        KPI("fine", "rows", kgis=["p_goal"]),
        kgis=[KGI("nobody", "rows", kgis=["ltv"]), KGI("p_goal", "rows", kgis=["q_goal"]),
              KGI("q_goal", "rows", kgis=["p_goal"])]))
    report = lint(registry)
    assert found(report, "orphan-kpi") == [("lonely", "error")]
    assert found(report, "unserved-kgi") == [("nobody", "error")]
    assert found(report, "link-effect") == [("backwards", "error"), ("unsure", "warning")]
    assert found(report, "link-loop") == [("p_goal", "error")]
    orphan = next(f for f in report.findings if f.rule == "orphan-kpi")
    assert orphan.problem == ("KPI 'lonely' (plugin 'mine') serves no KGI, so nothing says "
                              "which goal it is a signpost to")
    assert orphan.advice.startswith("link it to the goal it serves with kgis=[...] in its "
                                    "definition (KGIs: csat, nps, churn_rate, ")
    assert not report.ok
    assert [f.severity for f in report.findings] == ["error"] * 4 + ["warning"]


def targets(*items: Target) -> Targets:
    return Targets({t.kpi: t for t in items})


def test_target_rules():
    report = lint(targets=targets(
        Target("aht", target=300),                                   # no period, no deadline
        Target("churn_rate", target=0.03, period="1w", group="success-team"),  # too fine
        Target("upsell_rate", target=0.02, period="1mo", group="mixed"),
        Target("fcr_rate", target=0.8, period="1mo", group="mixed"),
        Target("occupancy", band=[0.75, 0.85], period="1mo", group="ops"),
    ))
    assert found(report, "untimed-target") == [("aht", "error")]
    assert found(report, "lagging-grain") == [("churn_rate", "warning")]
    assert found(report, "support-success-mixed") == [("upsell_rate", "error")]
    # aht (no group, alone with no quality KPI) and occupancy (group ops) are unpaired
    assert found(report, "unpaired-efficiency") == [("aht", "warning"),
                                                    ("occupancy", "warning")]
    unpaired = next(f for f in report.findings if f.rule == "unpaired-efficiency")
    assert unpaired.advice == "pair it with a quality KPI such as csat, nps"
    assert found(report, "unachievable-target") == []  # no data: not judged
    assert report.summary() == ("2 errors, 3 warnings from 9 rules over 58 KPIs and KGIs and "
                                "5 targets")


def test_a_target_far_from_its_baseline(contacts):
    # asa over the hand-made contacts is 19 s; service level 3/8
    report = lint(targets=targets(
        Target("asa", target=10, period="1mo"),              # 1.9 x better: beyond 1.5
        Target("service_level", target=0.5, period="1mo"),   # 1.33 x: fine
        Target("csat", target=0.9, period="1mo", baseline=0.8),
        Target("fcr_rate", target=0.9, period="1mo", baseline=0.4, max_ratio=3),
        Target("nps", target=50, period="1mo", baseline=20),  # 2.5 x
        Target("churn_rate", target=0.03, period="1mo"),     # no customers table
    ), data={"contacts": contacts})
    assert found(report, "unachievable-target") == [
        ("asa", "error"), ("nps", "error"), ("churn_rate", "warning")]
    asa = next(f for f in report.findings if f.kpi == "asa")
    assert asa.problem == ("the target 10 per 1mo is 1.90 times better than the baseline 19 "
                           "(from data), beyond max_ratio 1.5: far from what is achievable, "
                           "it demotivates")
    # call 20 s: #1, #4; chat 60 s: #5, #8 (test_catalogue's rows)
    assert report.baselines["service_level"].value == pytest.approx(4 / 8)


class RulePlugin:
    """An outside plugin's rule: KPIs must say which area they belong to."""

    @hookimpl
    def kpiforge_register_lint_rules(self):
        def unclassified(context):
            for name, kpi in context.registry.kpis.items():
                if not kpi.is_goal and kpi.area is None:
                    yield Finding(name, "no area", "say area=...")
        return [LintRule("kpi-area", unclassified, severity="warning",
                         description="Every KPI says its area.")]


def test_an_outside_rule_runs_beside_the_builtins():
    registry = registry_with(RulePlugin(), plugin_with(KPI("mine", "rows", kgis=["csat"])))
    report = lint(registry)
    assert [(f.rule, f.kpi, f.severity) for f in report.findings] == [
        ("kpi-area", "mine", "warning")]
    assert report.to_dict()["rules"][-1] == {"name": "kpi-area", "severity": "warning",
                                             "description": "Every KPI says its area.",
                                             "plugin": "test-plugin-0"}


class BrokenRulePlugin:
    @hookimpl
    def kpiforge_register_lint_rules(self):
        def crashes(context):
            raise RuntimeError("boom")

        def junk(context):
            return ["not a finding"]
        return [LintRule("crashes", crashes), LintRule("junk", junk)]


def test_an_outside_rule_that_fails_is_skipped_with_a_warning():
    registry = registry_with(BrokenRulePlugin())
    with pytest.warns(KpiforgeWarning) as warned:
        report = lint(registry)
    assert [str(w.message) for w in warned] == [
        "lint rule 'crashes' of plugin 'test-plugin-0' is skipped: RuntimeError: boom",
        "lint rule 'junk' of plugin 'test-plugin-0' is skipped: TypeError: it returned 'not a "
        "finding', not a Finding"]
    assert report.ok


def test_a_rule_named_like_another_plugins_is_left_out():
    class Clash:
        @hookimpl
        def kpiforge_register_lint_rules(self):
            return [LintRule("orphan-kpi", lambda context: [])]

        @hookimpl
        def kpiforge_register_measures(self):
            return [Measure("clash_rows", "contacts", "count")]

    with pytest.warns(KpiforgeWarning, match="lint rule 'orphan-kpi' is defined twice: by "
                      "plugin 'kpiforge.plugins.lint' and by plugin 'test-plugin-0'"):
        registry = registry_with(Clash())
    assert "test-plugin-0" in registry.broken
    assert "clash_rows" not in registry.measures


@pytest.mark.parametrize(("make", "message"), [
    (lambda: LintRule("Bad Name", lambda c: []), "LintRule name must be lower-case words "
     "joined by '-', such as 'orphan-kpi', got 'Bad Name'"),
    (lambda: LintRule("ok", "not callable"), "LintRule 'ok': check must be a function"),
    (lambda: LintRule("ok", lambda c: [], severity="fatal"),
     "LintRule 'ok': severity must be one of error, warning, got 'fatal'"),
    (lambda: Finding("x", "p", "a", severity="info"),
     "Finding about 'x': severity must be one of error, warning, got 'info'"),
])
def test_bad_rules_and_findings_say_what_is_wrong(make, message):
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_lint_command_exits_1_on_errors_and_prints_json(tmp_path, contacts_csv):
    path = tmp_path / "targets.toml"
    path.write_text('[aht]\ntarget = 100\nperiod = "1d"\n\n[fcr_rate]\ntarget = 0.9\n')
    text = run("lint", "--targets", path, "--data", contacts_csv)
    assert text.exit_code == 1
    # aht over the hand-made contacts: (120 + 210 + 50 + 330 + 100) / 5 = 162 s
    assert text.stdout.splitlines() == [
        "error [untimed-target] fcr_rate: the target for fcr_rate (0.9) has no period and no "
        "deadline, so it is not time-bound (SMART); give it period = \"1mo\" (what it is "
        "judged over) and deadline = YYYY-MM-DD (by when), in [fcr_rate] or [defaults]",
        "error [unachievable-target] aht: the target 100 per 1d is 1.62 times better than "
        "the baseline 162 (from data), beyond max_ratio 1.5: far from what is achievable, it "
        "demotivates; set an intermediate target within max_ratio of the baseline, with its "
        "own deadline (or raise max_ratio if the plan justifies it)",
        "2 errors, 0 warnings from 9 rules over 58 KPIs and KGIs and 2 targets"]
    report = json.loads(run("lint", "--targets", path, "--data", contacts_csv,
                            "--format", "json").stdout)
    assert (report["ok"], report["errors"], report["warnings"]) == (False, 2, 0)
    assert report["baselines"]["aht"] == {"value": 162.0, "source": "data", "note": None}
    assert report["findings"][0]["rule"] == "untimed-target"
    no_data = run("lint", "--targets", path)
    assert no_data.exit_code == 1
    assert "(targets whose baseline is 'data' are checked against it with --data PATH)" in \
        no_data.stderr
