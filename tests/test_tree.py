"""Links with meaning (effect, lag), KPI classes, and the KPI tree they form."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from test_registry import KpiPlugin

from kpiforge import KGI, KPI, KpiforgeError, Link, Measure, Registry
from kpiforge.cli import cli
from kpiforge.definitions import AREAS, ROLES, TIMINGS
from kpiforge.goals import KpiTree, inferred_effect, kpi_tree
from kpiforge.plugin_manager import get_plugin_manager
from kpiforge.registry import default_registry


def plugin_with(*kpis, kgis=()):
    """A plugin registering ``kpis`` and ``kgis``, with the measure ``rows`` they read."""
    return KpiPlugin(*kpis, measures=[Measure("rows", "contacts", "count")], kgis=kgis)


def registry_of(plugin: KpiPlugin) -> Registry:
    """The built-ins and ``plugin``."""
    manager = get_plugin_manager(load_entry_points=False)
    manager.register(plugin, name="mine")
    return Registry.from_plugin_manager(manager)


def test_plain_kgis_keep_working_and_links_add_meaning():
    plain = KPI("x", "rows", kgis=["csat"])
    assert plain.kgis == ("csat",)
    assert plain.links == (Link("csat"),)
    assert plain.links[0].effect is None and plain.links[0].lag_months == 0
    single = KPI("x", "rows", kgis="csat")
    assert single.kgis == ("csat",)
    rich = KPI("x", "rows", kgis=["csat", "churn_rate"],
               links=[Link("churn_rate", effect=-1, lag_months=2), Link("ltv", lag_months=6)])
    assert rich.kgis == ("csat", "churn_rate", "ltv")
    assert rich.links == (Link("csat"), Link("churn_rate", -1, 2.0), Link("ltv", None, 6.0))
    assert rich == KPI("x", "rows", links=[Link("csat"), Link("churn_rate", -1, 2),
                                            Link("ltv", lag_months=6)])
    said_nothing = KPI("x", "rows")
    assert (said_nothing.area, said_nothing.role, said_nothing.timing) == (None, None, None)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Link("csat", effect=2), "Link 'csat': effect must be 1 (raising the KPI raises "
     "the KGI), -1 (raising it lowers the KGI) or None (as the directions say), got 2"),
    (lambda: Link("csat", effect=True), "Link 'csat': effect must be 1"),
    (lambda: Link(kgi="csat", lag_months=-1),
     "Link 'csat': lag_months must be a number of months >= 0, got -1"),
    (lambda: Link("csat", lag_months="soon"), "Link 'csat': lag_months must be a number"),
    (lambda: Link("not a name"), "Link kgi must be a Python identifier"),
    (lambda: KPI("y", "rows", links=["csat"]), "KPI 'y': links must be Link values, as in "
     "Link('csat', lag_months=3), got 'csat'; name plain links in kgis"),
    (lambda: KPI("y", "rows", links=[Link("csat"), Link("csat", lag_months=1)]),
     "KPI 'y': links name 'csat' twice; give one Link per KGI"),
    (lambda: KPI("y", "rows", area="sales"),
     "KPI 'y': area must be one of support, success, operations, got 'sales'"),
    (lambda: KPI("y", "rows", role="speed"), "KPI 'y': role must be one of efficiency, "
     "quality, outcome, volume, got 'speed'"),
    (lambda: KGI("g", "rows", timing="late"),
     "KGI 'g': timing must be one of leading, lagging, got 'late'"),
])
def test_bad_links_and_classes_name_the_definition(make, message):
    with pytest.raises(KpiforgeError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(("kpi", "goal", "effect"), [
    ("higher", "higher", 1), ("lower", "lower", 1), ("higher", "lower", -1),
    ("lower", "higher", -1), ("neutral", "higher", None), ("higher", "neutral", None),
])
def test_inferred_effect_follows_the_directions(kpi, goal, effect):
    assert inferred_effect(KPI("k", "rows", direction=kpi),
                           KGI("g", "rows", direction=goal)) == effect


BUILTIN = default_registry()
BUILTIN_KPIS = [n for n, k in BUILTIN.kpis.items() if not k.is_goal]


@pytest.mark.parametrize("name", list(BUILTIN.kpis))
def test_every_builtin_kpi_is_classified_and_its_links_have_an_effect(name):
    kpi = BUILTIN.kpis[name]
    assert kpi.role in ROLES and kpi.timing in TIMINGS
    assert kpi.area in AREAS if not kpi.is_goal else kpi.area is None
    for link in kpi.links:
        goal = BUILTIN.kpis[link.kgi]
        effect = link.effect if link.effect is not None else inferred_effect(kpi, goal)
        assert effect in (1, -1), (name, link)


def served_ids(nodes) -> set[str]:
    """Every id below the top of the nested JSON tree, walked by hand."""
    found = set()
    for node in nodes:
        for child in node["served_by"]:
            found.add(child["id"])
            found |= served_ids([child])
    return found


def test_every_builtin_kpi_appears_under_a_kgi():
    tree = json.loads(CliRunner().invoke(cli, ["tree", "--format", "json"]).stdout)
    assert {g["id"] for g in tree["goals"]} == {"ltv", "operating_profit"}
    assert served_ids(tree["goals"]) >= set(BUILTIN_KPIS)
    assert tree["unlinked"] == []


def test_tree_json_shape_for_known_links():
    tree = json.loads(CliRunner().invoke(cli, ["tree", "--format", "json"]).stdout)
    ltv = tree["goals"][0]
    churn = next(n for n in ltv["served_by"] if n["id"] == "churn_rate")
    assert churn["effect"] == -1 and churn["lag_months"] == 0  # more churn, less LTV
    health = next(n for n in churn["served_by"] if n["id"] == "health_score")
    assert health == {"id": "health_score", "kind": "KPI", "direction": "higher",
                      "unit": "score", "area": "success", "role": "outcome",
                      "timing": "leading", "plugin": "kpiforge.plugins.success",
                      "effect": -1, "lag_months": 3.0, "effect_declared": False,
                      "served_by": []}
    assert {"kpi": "staffed_hours", "kgi": "operating_profit", "effect": -1,
            "lag_months": 0.0, "effect_declared": True} in tree["links"]


def small_tree() -> KpiTree:
    """Goal ``g`` served by KGI ``h`` and KPI ``a``; ``h`` served by ``a`` and ``b``;
    ``c`` serves nothing."""
    return KpiTree.from_registry(registry_of(plugin_with(
        KPI("a", "rows", direction="lower", kgis=["g_top"],
            links=[Link("h_mid", lag_months=2)]),
        KPI("b", "rows", direction="neutral", links=[Link("h_mid", effect=1)]),
        KPI("c", "rows"),
        kgis=[KGI("g_top", "rows"), KGI("h_mid", "rows", direction="lower", kgis=["g_top"])])))


def test_a_small_tree_drawn_as_text():
    text = small_tree().to_text()
    mine = text[text.index("g_top  (KGI"):]
    assert mine == (
        "g_top  (KGI, higher)\n"
        "├── h_mid  (KGI, lower)  -\n"
        "│   ├── a  (KPI, lower)  + 2 mo\n"
        "│   └── b  (KPI, neutral)  +\n"
        "└── a  (KPI, lower)  -\n"
        "\n"
        "Linked to no KGI: c\n")


def test_a_small_tree_as_mermaid():
    lines = small_tree().to_mermaid().splitlines()
    assert lines[0] == "flowchart BT"
    for line in ['  n_g_top(["g_top (higher)"])', '  n_a["a (lower)"]',
                 '  n_a -->|"+ 2 mo"| n_h_mid', '  n_a -->|"-"| n_g_top',
                 '  n_b -->|"+"| n_h_mid', '  n_c["c (higher)"]']:
        assert line in lines
    assert lines[-1].startswith("  class ") and "n_g_top" in lines[-1]


def test_a_small_tree_as_json():
    tree = small_tree().to_dict()
    top = next(g for g in tree["goals"] if g["id"] == "g_top")
    assert [n["id"] for n in top["served_by"]] == ["h_mid", "a"]
    assert [(n["id"], n["effect"], n["lag_months"]) for n in top["served_by"][0]["served_by"]] \
        == [("a", 1, 2.0), ("b", 1, 0.0)]
    assert [n["id"] for n in tree["unlinked"]] == ["c"]
    assert small_tree().unserved == []


def test_a_loop_of_kgi_links_is_drawn_once_and_found():
    tree = KpiTree.from_registry(registry_of(plugin_with(
        KPI("a", "rows", kgis=["p_goal"]),
        kgis=[KGI("p_goal", "rows", kgis=["q_goal"]), KGI("q_goal", "rows", kgis=["p_goal"])])))
    assert tree.loops() == [["p_goal", "q_goal", "p_goal"]]
    drawn = [(b.node, b.depth, b.loop) for b in tree.walk() if b.node in ("p_goal", "q_goal")]
    assert drawn == [("p_goal", 0, False), ("q_goal", 1, False), ("p_goal", 2, True)]
    assert "(loop: links back up)" in tree.to_text()


def test_tree_command_formats():
    runner = CliRunner()
    text = runner.invoke(cli, ["tree"])
    assert text.exit_code == 0
    assert "└── active_customers  (KPI, higher)  +" in text.stdout
    assert runner.invoke(cli, ["tree", "--format", "mermaid"]).stdout.startswith(
        "flowchart BT\n")
    assert kpi_tree().render("json") == runner.invoke(cli, ["tree", "--format", "json"]).stdout


def test_kpis_show_and_list_say_the_links_and_class():
    runner = CliRunner()
    shown = runner.invoke(cli, ["kpis", "show", "health_score"]).stdout
    assert "  serves KGIs: churn_rate, retention_rate\n" in shown
    assert "  effects:     churn_rate - 3 mo, retention_rate + 3 mo (+ raising it raises the " \
           "KGI, - lowers it; lag in months)\n" in shown
    assert "  class:       area success, role outcome, timing leading\n" in shown
    listed = json.loads(runner.invoke(cli, ["kpis", "list", "--format", "json"]).stdout)
    aht = next(e for e in listed if e["id"] == "aht")
    assert (aht["kgis"], aht["area"], aht["role"], aht["timing"]) == (
        ["operating_profit"], "support", "efficiency", "leading")


def test_tree_and_erlang_load_no_pyarrow_nor_engine():
    script = ("import sys\nfrom click.testing import CliRunner\nfrom kpiforge.cli import cli\n"
              "for args in (['tree'], ['kpis', 'list'], ['erlang', '--calls', '100', "
              "'--aht-s', '180', '--agents', '10']):\n"
              "    assert CliRunner().invoke(cli, args).exit_code == 0, args\n"
              "print(sorted(m for m in ('pyarrow', 'kpiforge.engine.api', "
              "'kpiforge.goals.targets') if m in sys.modules))\n")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert loaded.stdout == "[]\n"
