"""Presets: shipped mapping files for common exports, ``kpiforge import``, and presets that
plugins register. Exports are generated in the shape (column names, value formats) that
each tool's documented export has; figures are checked against pandas."""

from __future__ import annotations

import json
import re
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_mapping import call_log

import kpiforge
from kpiforge import hookimpl
from kpiforge.cli import cli
from kpiforge.errors import KpiforgeError, KpiforgeWarning
from kpiforge.io.presets import Preset
from kpiforge.plugin_manager import get_plugin_manager
from kpiforge.presets import presets, resolve_mapping

SHIPPED = ["call-log", "customer-snapshot", "freshdesk", "intercom", "tickets", "zendesk"]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ok_json(*args: object) -> list[dict]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_names_every_shipped_preset_with_its_description():
    result = run("import", "--list")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == SHIPPED
    assert "Zendesk tickets" in result.stdout


def test_import_writes_tables_that_later_runs_read_directly(tmp_path):
    export = tmp_path / "calls.csv"
    call_log(rows=120).to_csv(export, index=False)
    out = tmp_path / "mapped"
    result = run("import", export, "--map", "call-log", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["contacts.parquet"]
    kpis = "offered,answered,asa,aht,resolution_rate,csat"
    assert ok_json("compute", out, "--kpi", kpis) == \
        ok_json("compute", export, "--map", "call-log", "--kpi", kpis)
    # The resolved flag is still known to have no time.
    later = kpiforge.compute(out)
    assert "yes/no flag" in later.skipped["time_to_resolution"]
    again = run("import", export, "--map", "call-log", "--out", out)
    assert again.exit_code == 1 and "--force" in again.output


def test_import_needs_its_arguments():
    result = run("import", "--map", "call-log")
    assert result.exit_code == 1
    assert "needs EXPORT, --map FILE.toml|PRESET and --out DIR" in result.output


def test_an_unknown_preset_lists_the_presets():
    with pytest.raises(KpiforgeError, match="no mapping file or preset 'zendsk' "
                                            r"\(did you mean: zendesk\?\); presets: call-log"):
        resolve_mapping("zendsk")


def _created(rng: np.random.Generator, rows: int) -> pd.Series:
    return pd.Series(pd.Timestamp("2024-05-01") +
                     pd.to_timedelta(rng.integers(0, 14 * 86400, rows), unit="s"))


def test_zendesk_ticket_export(tmp_path):
    rng = np.random.default_rng(5)
    rows = 150
    created = _created(rng, rows)
    reply_min = rng.integers(1, 600, rows)
    solved = rng.random(rows) < 0.7
    solved_at = created + pd.to_timedelta(rng.integers(3600, 3 * 86400, rows), unit="s")
    raw = pd.DataFrame({
        "Id": np.arange(1000, 1000 + rows), "Assignee": rng.choice(["Ann", "Bo"], rows),
        "Group": rng.choice(["Support", "Billing"], rows),
        "Status": np.where(solved, "Solved", "Open"),
        "Priority": rng.choice(["Low", "Normal", "High", "Urgent"], rows),
        "Via": rng.choice(["Mail", "Web form", "Chat", "Voice", "Twitter"], rows),
        "Created at": created.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "First reply time in minutes": reply_min,
        "Solved at": np.where(solved, solved_at.dt.strftime("%Y-%m-%d %H:%M:%S"), ""),
        "Satisfaction Score": rng.choice(["Good", "Bad", "Offered", "Not Offered"], rows),
    })
    path = tmp_path / "zendesk.csv"
    raw.to_csv(path, index=False)
    rows_out = {r["channel"]: r for r in ok_json(
        "compute", path, "--map", "zendesk", "--by", "channel",
        "--kpi", "offered,first_response_time,time_to_resolution,csat")}
    channel = raw["Via"].map({"Mail": "email", "Web form": "email", "Chat": "chat",
                              "Voice": "call"}).fillna("other")
    assert sorted(rows_out) == sorted(channel.unique())
    for name, row in rows_out.items():
        part = raw[channel == name]
        done = part["Solved at"] != ""
        resolve_s = (pd.to_datetime(part.loc[done, "Solved at"]) -
                     pd.to_datetime(part.loc[done, "Created at"])).dt.total_seconds()
        rated = part["Satisfaction Score"].isin(["Good", "Bad"])
        assert row["offered"] == len(part)
        assert row["first_response_time"] == pytest.approx(
            part["First reply time in minutes"].mean() * 60)
        assert row["time_to_resolution"] == pytest.approx(resolve_s.mean())
        assert row["csat"] == pytest.approx(
            (part.loc[rated, "Satisfaction Score"] == "Good").mean())


def test_freshdesk_ticket_export(tmp_path):
    rng = np.random.default_rng(8)
    rows = 120
    created = _created(rng, rows)
    first = created + pd.to_timedelta(rng.integers(60, 86400, rows), unit="s")
    resolved = first + pd.to_timedelta(rng.integers(0, 86400, rows), unit="s")
    raw = pd.DataFrame({
        "Ticket ID": np.arange(1, rows + 1), "Agent": rng.choice(["Ann", "Bo", ""], rows),
        "Group": "Support", "Status": "Resolved", "Priority": "Medium",
        "Source": rng.choice(["Email", "Portal", "Phone", "Chat", "Feedback Widget"], rows),
        "Created time": created.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Initial response time": first.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Resolved time": resolved.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Agent interactions": rng.integers(1, 6, rows),
    })
    path = tmp_path / "freshdesk.csv"
    raw.to_csv(path, index=False)
    [row] = ok_json("compute", path, "--map", "freshdesk",
                    "--kpi", "offered,first_response_time,time_to_resolution,"
                    "replies_per_resolution")
    created_ts = pd.to_datetime(raw["Created time"])
    assert row["offered"] == rows
    assert row["first_response_time"] == pytest.approx(
        (pd.to_datetime(raw["Initial response time"]) - created_ts).dt.total_seconds().mean())
    assert row["time_to_resolution"] == pytest.approx(
        (pd.to_datetime(raw["Resolved time"]) - created_ts).dt.total_seconds().mean())
    assert row["replies_per_resolution"] == pytest.approx(raw["Agent interactions"].mean())


def test_intercom_conversation_export(tmp_path):
    rng = np.random.default_rng(9)
    rows = 80
    created = _created(rng, rows)
    replied = rng.random(rows) < 0.9
    first = created + pd.to_timedelta(rng.integers(5, 7200, rows), unit="s")
    raw = pd.DataFrame({
        "conversation_id": rng.integers(10**9, 10**10, rows),
        "conversation_state": "closed",
        "conversation_created_at": created.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "conversation_first_response_at": np.where(
            replied, first.dt.strftime("%Y-%m-%d %H:%M:%S"), ""),
        "conversation_closed_at": (first + pd.Timedelta(hours=1)).dt.strftime(
            "%Y-%m-%d %H:%M:%S"),
    })
    path = tmp_path / "intercom.csv"
    raw.to_csv(path, index=False)
    [row] = ok_json("compute", path, "--map", "intercom", "--kpi",
                    "offered,answered,first_response_time")
    wait = (first - created).dt.total_seconds()[replied]
    assert (row["offered"], row["answered"]) == (rows, replied.sum())
    assert row["first_response_time"] == pytest.approx(wait.mean())


class PresetPlugin:
    def __init__(self, *presets: Preset) -> None:
        self.presets = list(presets)

    @hookimpl
    def kpiforge_register_presets(self):
        return self.presets


def test_plugins_register_presets(tmp_path):
    mapping = tmp_path / "acme.toml"
    mapping.write_text('description = "ACME phone system"\n'
                       '[contacts]\narrived_s = { column = "Start", unit = "s" }\n')
    manager = get_plugin_manager(load_entry_points=False)
    manager.register(PresetPlugin(Preset("acme", mapping), Preset("zendesk", mapping)),
                     name="acme")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = presets(manager)
        acme = resolve_mapping("acme", manager)
    assert list(found) == [*SHIPPED, "acme"]
    assert found["acme"].description == "ACME phone system"
    assert found["zendesk"].path.name == "zendesk.toml"  # the shipped one stays
    assert [str(w.message) for w in caught if w.category is KpiforgeWarning] == [
        "plugin 'acme' registers a preset 'zendesk', which is already a preset; the "
        "plugin's is left out: rename it"] * 2
    assert acme.tables["contacts"].column_names == ("arrived_s",)


def test_a_plugin_returning_something_else_is_left_out():
    manager = get_plugin_manager(load_entry_points=False)
    manager.register(PresetPlugin("acme.toml"), name="wrong")  # type: ignore[arg-type]
    with pytest.warns(KpiforgeWarning, match="kpiforge_register_presets must return Preset"):
        found = presets(manager)
    assert list(found) == SHIPPED


def test_the_guides_complete_examples_are_the_shipped_presets():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "exports.md").read_text()
    sections = guide.split("\n### ")[1:]
    examples = [(re.search(r"the `([a-z-]+)` preset", section).group(1),
                 section.split("```toml\n")[1].split("```")[0])
                for section in sections if "```toml" in section]
    assert [name for name, _ in examples] == ["call-log", "tickets", "customer-snapshot"]
    known = presets()
    for name, text in examples:
        assert tomllib.loads(text) == tomllib.loads(known[name].path.read_text())


def test_an_export_without_some_mapped_columns_leaves_out_only_what_needs_them(tmp_path):
    """Exports of one tool differ by account: no satisfaction survey, no CSAT column."""
    path = tmp_path / "zendesk.csv"
    path.write_text("Id,Assignee,Group,Status,Priority,Via,Created at,"
                    "First reply time in minutes,Solved at\n"
                    "1,Ann,Support,Solved,Low,Mail,2024-05-01 09:00:00,30,"
                    "2024-05-01 12:00:00\n")
    result = kpiforge.compute(path, mapping="zendesk")
    assert result.to_records()[0]["first_response_time"] == 1800
    assert result.skipped["csat"].startswith(
        f"{path}: mapping key contacts.csat reads column 'Satisfaction Score', which the "
        "export does not have (found: Assignee, Created at, ")
    with pytest.raises(KpiforgeError, match=r"mapping key contacts\.csat reads column "
                                            r"'Satisfaction Score'"):
        kpiforge.compute(path, ["csat"], mapping="zendesk")
