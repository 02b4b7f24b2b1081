"""The command line: outputs and their contracts, and clear errors for bad input."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from handmade import CONTACT_COLUMNS, CONTACT_ROWS, write_csv

from kpiforge.cli import cli
from kpiforge.simulations import builtin_scenario, simulate


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_is_an_array_of_groups_with_null_for_undefined(contacts_csv):
    rows = json.loads(ok("compute", contacts_csv, "--by", "channel", "--by", "queue",
                         "--kpi", "offered,csat", "--kpi", "asa", "--format", "json"))
    assert rows[1] == {"channel": "call", "queue": "b", "offered": 2, "csat": None, "asa": 5}
    assert [(r["channel"], r["queue"]) for r in rows] == [
        ("call", "a"), ("call", "b"), ("chat", "a"), ("chat", "b")]


def test_json_interval_start_is_iso_time(contacts_csv):
    rows = json.loads(ok("compute", contacts_csv, "--grain", "1h", "--kpi", "offered",
                         "--format", "json"))
    assert rows == [{"interval_start": "1970-01-01T00:00:00", "offered": 7},
                    {"interval_start": "1970-01-01T01:00:00", "offered": 1}]


def test_csv_and_parquet_outputs(contacts_csv, tmp_path):
    text = ok("compute", contacts_csv, "--by", "channel", "--kpi", "offered,csat",
              "--format", "csv")
    assert text.splitlines() == ['"channel","offered","csat"', '"call",4,0.5', '"chat",4,0.5']
    out = tmp_path / "kpis.parquet"
    written = run("compute", contacts_csv, "--by", "channel", "--format", "parquet",
                  "--out", out)
    assert written.exit_code == 0, written.output
    assert f"wrote 2 rows to {out}" in written.stderr
    table = pq.read_table(out)
    assert table.column("offered").to_pylist() == [4, 4]
    assert table.num_rows == 2


def test_table_shows_units_and_targets(data_dir):
    text = ok("compute", data_dir)
    # 4 of 8 within the per-channel thresholds (see test_catalogue): 50.0 %.
    assert "service_level" in text and "50.0 %" in text and ">= 80.0 %  MISSED" in text
    assert "asa" in text and "19.0 s" in text
    assert "ltv" in text


def test_separate_table_files_and_params(contacts_csv, data_dir):
    rows = json.loads(ok("compute", contacts_csv, "--agents", data_dir / "agent_intervals.csv",
                         "--kpi", "cost_per_contact,service_level", "--param",
                         "sl_threshold_s=30", "--format", "json"))
    assert rows == [{"cost_per_contact": 32 / 5, "service_level": 0.5}]


def test_a_per_channel_param_on_the_command_line(contacts_csv):
    rows = json.loads(ok("compute", contacts_csv, "--by", "channel", "--kpi", "service_level",
                         "--param", "sl_threshold_s.chat=30", "--param",
                         "sl_threshold_s.call=5", "--format", "json"))
    # call 5 s: #4 (5) of 4; chat 30 s: #8 (10) of 4 (see test_catalogue's rows).
    assert rows == [{"channel": "call", "service_level": 0.25},
                    {"channel": "chat", "service_level": 0.25}]


def test_a_real_exports_defaults_list_what_is_left_out(tmp_path):
    keep = [i for i, c in enumerate(CONTACT_COLUMNS) if c not in ("csat", "nps")]
    path = write_csv(tmp_path / "contacts.csv",
                     [tuple(r[i] for i in keep) for r in CONTACT_ROWS],
                     tuple(CONTACT_COLUMNS[i] for i in keep))
    result = run("compute", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["offered"] == 8
    [line] = [line for line in result.stderr.splitlines() if line.startswith("left out")]
    assert f"csat_responses, csat_score, csat (needs column 'csat' of {path})" in line
    assert f"nps (needs column 'nps' of {path})" in line
    assert "occupancy" in line and "(needs the agent_intervals table)" in line
    requested = run("compute", path, "--kpi", "csat")
    assert requested.exit_code == 1 and "column 'csat' is missing" in requested.output


def test_kpis_list_and_show():
    listing = ok("kpis", "list")
    assert "service_level" in listing and "churn_rate" in listing and "KGI" in listing
    entries = json.loads(ok("kpis", "list", "--format", "json"))
    assert {e["id"] for e in entries} >= {"asa", "ltv", "wait_p90"}
    shown = ok("kpis", "show", "fcr_rate")
    for expected in ("resolved_first_touch / resolved_touches_known", "unit:        %",
                     "higher is better", "serves KGIs: csat, ltv", "seeds:       003",
                     "touches == 1"):
        assert expected in shown
    goal = ok("kpis", "show", "csat")
    assert "served by:" in goal and "answer_rate" in goal


def test_plugins_lists_builtins_with_what_they_register():
    rows = json.loads(ok("plugins", "--format", "json"))
    support = next(r for r in rows if r["name"] == "kpiforge.plugins.support")
    assert support["distribution"] == "kpiforge"
    assert "asa" not in support["registers"]["KPIs"]
    assert "first_response_time" in support["registers"]["KPIs"]


def open_at_midnights(scenario) -> list[int]:
    """Contacts of the scenario's run open at the end of each day from the first arrival's
    to the last end's, by brute force with pandas: arrived by then and not yet resolved,
    closed, abandoned or (a call or chat) answered."""
    frame = simulate(scenario).contacts.to_pandas()
    live = frame["channel"].astype(str).isin(["call", "chat"])
    ended = frame["resolved_s"].fillna(frame["closed_s"]).fillna(frame["abandoned_s"])
    ended = ended.fillna(frame["answered_s"].where(live))
    last = max(frame["arrived_s"].max(), ended.max())
    days = range(int(frame["arrived_s"].min() // 86400), int(last // 86400) + 1)
    return [int(((frame["arrived_s"] < (d + 1) * 86400)
                 & ~(ended < (d + 1) * 86400)).sum()) for d in days]


def test_demo_prints_kpis_against_targets():
    text = ok("demo")
    assert "service_level" in text and "target" in text and "By channel" in text
    headline, overall = text.split("All channels")
    assert "call 20, chat 60, email 86400" in headline
    assert "asa " in headline and "asa " not in overall and "wait_p90" not in overall
    assert "first_response_time" not in overall
    assert "service_level" in overall and "staffed_hours" in overall
    assert "backlog " not in overall  # a snapshot at the end of the data: shown per day
    shown = re.search(r"Backlog \(contacts open at the end of each day; an email until "
                      r"resolved or closed\): (.*)\.\n", text).group(1)
    assert [int(day.split()[1].replace(",", "")) for day in shown.split(", ")] == \
        open_at_midnights(builtin_scenario("demo"))
    # The what-if line in the goals' terms: +5 agents on the mid shift (09:00-17:30) at
    # 24 an hour for a month of 30.4375 days costs about 5 x 8.5 x 24 x 30.4375.
    line = re.search(r"What-if staffing.shifts.mid.agents=\+5 \(1 day, 3 paired "
                     r"replications, 95 % intervals\): costs \+([\d,]+) \(.*\) per month, "
                     r"moves monthly churn by ([-+][\d.]+) \(.*\) points and LTV by "
                     r"([-+][\d.,]+) \(.*\)\.", text)
    assert line is not None, text
    assert float(line.group(1).replace(",", "")) == pytest.approx(5 * 8.5 * 24 * 30.4375,
                                                                  rel=0.03)


# --- bad input: one line naming what to fix, exit 1 (usage errors 2), no traceback, no file --


def bad(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


HEADER = ",".join(CONTACT_COLUMNS)
GOOD_ROW = "1,call,a,0,10,,100,20,200,1,1,0,x,5,10"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("contacts.csv", "", "the file is empty"),
    ("contacts.csv", "channel,answered_s\ncall,3\n", "required column 'arrived_s' of table "
     "contacts is missing"),
    ("contacts.csv", f"{HEADER}\n{GOOD_ROW}\n1,call,a,0,10,,abc,20,200,1,1,0,x,5,10\n",
     "row 2 (line 3), column 'handle_s': 'abc' is not a number"),
    ("contacts.csv", f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW}\n1,call,a,0,10\n",
     "line 4 has 5 fields but the header has 15"),
    ("contacts.csv", f"{HEADER}\n{GOOD_ROW}\n2,call,a,100,90,,100,20,200,1,1,0,x,5,10\n",
     "row 2 (line 3), column 'answered_s': 90 is before arrived_s"),
    ("contacts.csv", f"{HEADER}\n{GOOD_ROW}\n2,call,a,100,190,,100,20,200,1,1,0,x,9,10\n",
     "row 2 (line 3), column 'csat': 9 is outside the 1-5 scale"),
    ("contacts.csv", f"{HEADER}\n,call,a,,10,,100,20,200,1,1,0,x,5,10\n",
     "row 1 (line 2), column 'arrived_s': the value is missing"),
    ("contacts.json", '{"arrived_s": [1, 2]}', "not a CSV or Parquet file"),
    ("contacts.parquet", "arrived_s\n1\n", "not a valid Parquet file"),
    ("contacts.csv", b"\xff\xfe\x00garbage\x00\x81", "not a readable CSV text file"),
])
def test_bad_files(tmp_path, name, content, message):
    path = bad(tmp_path, name, content)
    out = tmp_path / "out.json"
    result = run("compute", path, "--format", "json", "--out", out)
    assert result.exit_code == 1
    assert message in result.output
    assert str(path) in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--kpi", "servce_level"], "unknown KPI 'servce_level' (did you mean: service_level"),
    (["--by", "chanel"], "unknown dimension 'chanel' (did you mean: channel"),
    (["--kpi", "occupancy"], "needs the agent_intervals table; pass it with --agents PATH"),
    (["--format", "parquet"], "give --out FILE"),
    (["--param", "sl_threshold_s"], "expected NAME=VALUE"),
    (["--param", "sl_threshold_s.=3"], "expected NAME.LABEL=VALUE"),
    (["--param", "sl_threshold_s=3", "--param", "sl_threshold_s.call=3"],
     "sl_threshold_s is given both for every label and for label 'call'"),
    (["--param", "sl_threshold_s.call=soon"], "parameter 'sl_threshold_s' must be a number or "
     "a mapping of label -> number"),
])
def test_bad_options(contacts_csv, args, message):
    result = run("compute", contacts_csv, *args)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_path_is_a_usage_error(tmp_path):
    result = run("compute", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_failed_run_leaves_an_existing_output_untouched(tmp_path, contacts_csv):
    out = tmp_path / "kpis.json"
    out.write_text("previous results")
    result = run("compute", contacts_csv, "--kpi", "nope", "--format", "json", "--out", out)
    assert result.exit_code == 1
    assert out.read_text() == "previous results"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kpis")] == []


def test_bad_row_in_a_longer_file_is_named(tmp_path):
    rows = list(CONTACT_ROWS) * 50
    rows[73] = (*rows[73][:6], -1.0, *rows[73][7:])
    path = write_csv(tmp_path / "contacts.csv", rows, CONTACT_COLUMNS)
    result = run("compute", path)
    assert result.exit_code == 1
    assert "row 74 (line 75), column 'handle_s': -1 is negative" in result.output
