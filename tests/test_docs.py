"""The docs cannot fall behind the code: hooks, KPIs and commands are all documented, and the
guide's example plugin runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import kpiforge
from kpiforge import hookspecs
from kpiforge.cli import BUILTIN_COMMANDS
from kpiforge.plugin_manager import get_plugin_manager
from kpiforge.registry import default_registry

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDE = (DOCS / "plugin-guide.md").read_text()


@pytest.mark.parametrize("hook", [n for n in dir(hookspecs) if n.startswith("kpiforge_")])
def test_every_hook_has_a_section_in_the_guide(hook):
    assert f"### `{hook}()`" in GUIDE


@pytest.mark.parametrize("kpi", list(default_registry().kpis))
def test_every_builtin_kpi_is_in_the_catalogue(kpi):
    """Its row shows the formula, unit and direction the code uses, and its description
    line is the one `kpiforge kpis show` prints."""
    definition = default_registry().kpis[kpi]
    text = (DOCS / "kpis.md").read_text()
    row = re.search(rf"^\| `{kpi}` \| `(.*?)` \| (.*?) \| (\w+) \|", text, re.M)
    assert row is not None, kpi
    assert row.groups() == (definition.formula_text, definition.unit, definition.direction)
    assert f"\n- `{kpi}`: {definition.description}\n" in text


@pytest.mark.parametrize("command", sorted(BUILTIN_COMMANDS))
def test_every_command_is_in_the_cli_reference(command):
    assert f"## `kpiforge {command}" in (DOCS / "cli.md").read_text()


def test_the_guides_example_plugin_works(tmp_path):
    source = re.search(r"`kpiforge_callbacks.py`:\n\n```python\n(.*?)```", GUIDE, re.S).group(1)
    path = tmp_path / "kpiforge_callbacks.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("kpiforge_callbacks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manager = get_plugin_manager(load_entry_points=False)
    manager.register(module, name="callbacks")
    registry = kpiforge.Registry.from_plugin_manager(manager)

    contacts = {
        "arrived_s": np.arange(6.0),
        "region": np.array(["north", "north", "north", "south", "south", "south"]),
        "callback": np.array([1, 1, 0, 1, 0, 0]),
        "callback_delay_s": np.array([3600, 18000, np.nan, 7200, np.nan, np.nan]),
    }
    result = kpiforge.compute({"contacts": contacts}, registry=registry, by=["region"],
                              kpis=["callback_share", "callback_delay", "promise_kept"])
    rows = {r["region"]: r for r in result.to_records()}
    assert rows["north"]["callback_share"] == pytest.approx(2 / 3)
    assert rows["north"]["callback_delay"] == pytest.approx((3600 + 18000) / 2)
    assert rows["north"]["promise_kept"] == pytest.approx(1 - 1 / 2)  # 18000 s > 4 h
    assert rows["south"]["promise_kept"] == 1
    stricter = kpiforge.compute({"contacts": contacts}, registry=registry,
                                kpis=["promise_kept"], params={"callback_promise_s": 3000})
    assert stricter["promise_kept"][0] == 0


def test_the_planners_guide_scenarios_load(tmp_path):
    from kpiforge.simulations import load_scenario

    guide = (DOCS / "planner-guide.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", guide, re.S)
    assert len(blocks) == 3
    # The forecast example's scenario reads the guide's forecast.csv beside it.
    [forecast] = re.findall(r"`forecast.csv`:\n\n```csv\n(.*?)```", guide, re.S)
    (tmp_path / "forecast.csv").write_text(forecast)
    for i, block in enumerate(blocks):
        path = tmp_path / f"scenario-{i}.toml"
        path.write_text(block)
        assert load_scenario(path).days >= 1
    assert blocks[1] == (DOCS.parent / "simulations" / "scenarios" / "demo.toml").read_text()


@pytest.mark.parametrize("key", ["volume_per_day", "concurrency_stretch", "reply_sla_s",
                                 "repeat_delay_s", "tier2_aht_s", "wait_tolerance_s",
                                 "breaks", "hourly_cost", "interval_min", "response_rate",
                                 "warmup", "warmdown", "intraday_by_weekday", "hours",
                                 "overrides", "ramp", "scale"])
def test_the_planners_guide_documents_scenario_keys(key):
    assert f"`{key}`" in (DOCS / "planner-guide.md").read_text()


def _module_from(source: str, name: str, tmp_path):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _registry_with(*modules):
    manager = get_plugin_manager(load_entry_points=False)
    for i, module in enumerate(modules):
        manager.register(module, name=f"guide-{i}")
    return kpiforge.Registry.from_plugin_manager(manager)


def _guide_block(after: str) -> str:
    """The first python block of the guide after the line ``after``."""
    return re.search(re.escape(after) + r".*?```python\n(.*?)```", GUIDE, re.S).group(1)


def test_the_guides_link_example_draws_as_the_guide_says(tmp_path):
    from kpiforge.goals import KpiTree

    module = _module_from(_guide_block("## Linking a KPI to its goals"), "reopens", tmp_path)
    tree = KpiTree.from_registry(_registry_with(module)).to_text().splitlines()
    claims = ["reopen_rate  (KPI, lower)  -", "reopen_rate  (KPI, lower)  + 2 mo",
              "reopen_hours  (KPI, neutral)  -"]
    for claim in claims:
        assert any(line.endswith(claim) for line in tree), claim
    under = {line.split("── ")[1].split("  ")[0] for line in tree if "── " in line}
    assert {"reopen_rate", "reopen_hours"} <= under


def test_the_guides_callback_plugin_passes_lint_and_its_rule_example_works(tmp_path):
    from kpiforge.goals import lint

    source = re.search(r"`kpiforge_callbacks.py`:\n\n```python\n(.*?)```", GUIDE, re.S).group(1)
    callbacks = _module_from(source, "kpiforge_callbacks", tmp_path)
    assert lint(_registry_with(callbacks)).findings == ()
    rule = _module_from(_guide_block("### `kpiforge_register_lint_rules()`"), "house",
                        tmp_path)
    report = lint(_registry_with(callbacks, rule))
    # the example's callback_delay and callback_delay_p90 say no description
    assert [(f.rule, f.kpi, f.severity) for f in report.findings] == [
        ("house-described", "callback_delay", "warning"),
        ("house-described", "callback_delay_p90", "warning")]


def test_the_goals_guide_targets_file_loads(tmp_path):
    from kpiforge.goals import load_targets

    block = re.search(r"```toml\n(.*?)```", (DOCS / "goals.md").read_text(), re.S).group(1)
    (tmp_path / "exports" / "2026-q3").mkdir(parents=True)
    path = tmp_path / "targets.toml"
    path.write_text(block)
    targets = load_targets(path)
    assert [t.kpi for t in targets] == ["service_level", "aht", "csat", "occupancy",
                                        "churn_rate"]
    assert targets["churn_rate"].group == "success-team"
    assert targets["aht"].group == "support-team" and targets["aht"].period == "1mo"


def test_the_catalogue_shows_each_kpis_links_and_class():
    from kpiforge.goals import kpi_tree

    registry = default_registry()
    tree = kpi_tree(registry)
    rows = {}
    for line in (DOCS / "kpis.md").read_text().splitlines():
        match = re.match(r"\| `(\w+)` \| .* \| (.*) \| (.*) \| (.*) \|$", line)
        if match and match.group(1) in registry.kpis:
            rows[match.group(1)] = match.group(2), match.group(3)
    assert rows.keys() == registry.kpis.keys()
    for name, kpi in registry.kpis.items():
        serves = ", ".join(f"{e.kgi} ({e.label()})" for e in tree.edges if e.kpi == name)
        classes = ", ".join(c for c in (kpi.area, kpi.role, kpi.timing) if c)
        assert rows[name] == (serves or "-", classes), name


def test_the_guides_dimension_example_shows_labels_and_keeps_keys(tmp_path):
    """The declared-dimension example: its table, its CSV and its order, as the guide says."""
    from kpiforge.cli.render import render_table

    section = GUIDE.split("## Declaring a dimension")[1].split("\n## ")[0]
    module = _module_from(_guide_block("## Declaring a dimension"), "priorities", tmp_path)
    registry = _registry_with(module)
    blocks = re.findall(r"\n\n```\n(.*?)```", section, re.S)  # the plain blocks
    path = tmp_path / "contacts.csv"
    path.write_text(blocks[0])
    result = kpiforge.compute(str(path), ["offered", "asa"], by=["priority"],
                              registry=registry)
    assert render_table(result) + "\n" == blocks[1]
    assert result.render("csv").splitlines() == ['"priority","offered","asa"', "1,2,15",
                                                 "2,2,30", "3,1,", "4,1,280"]
    plans = kpiforge.compute(str(path), ["offered"], by=["plan"], registry=registry)
    assert plans.keys["plan"].tolist() == ["enterprise", "business", "starter", "free"]
    customers = {"customer_id": ["a", "b", "c", "d", "e"], "period": [0.0] * 5,
                 "active_start": [1] * 5, "churned": [1, 0, 0, 1, 1], "downgraded": [0] * 5,
                 "contract": ["starter", "enterprise", "starter", "business", "free"]}
    churn = kpiforge.compute({"customers": customers}, ["churn_rate"], by=["plan"],
                             registry=registry)
    assert churn.keys["plan"].tolist() == ["enterprise", "business", "starter", "free"]
    assert churn["churn_rate"].tolist() == [0 / 1, 1 / 1, 1 / 2, 1 / 1]
