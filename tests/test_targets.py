"""Targets files, status (on track, at risk, off), baselines, and ``compute --targets``.

Expected values are worked out by hand from the hand-made tables (``handmade.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.cli import cli
from kpiforge.goals import Status, Target, Targets, load_targets, track

ON, RISK, OFF = Status.ON_TRACK, Status.AT_RISK, Status.OFF


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(tmp_path, text: str, name: str = "targets.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("direction", "values", "expected"), [
    # target 0.5, margin 0.25: at risk from 0.375 (0.5 - 0.25 x 0.5; exact in binary)
    ("higher", [0.75, 0.5, 0.4, 0.375, 0.37, math.nan], [ON, ON, RISK, RISK, OFF, None]),
    # lower is better: at risk up to 0.625
    ("lower", [0.25, 0.5, 0.6, 0.625, 0.63], [ON, ON, RISK, RISK, OFF]),
])
def test_a_target_value_is_judged_by_direction(direction, values, expected):
    target = Target("service_level", target=0.5, margin=0.25)
    assert list(target.judge(values, direction)) == expected


def test_the_documented_example_of_at_risk():
    # docs/goals.md: target 0.8, default margin: 0.76 up to 0.8 at risk, below 0.76 off
    assert list(Target("csat", target=0.8).judge([0.8, 0.76, 0.7599], "higher")) == [
        ON, RISK, OFF]


def test_a_band_is_judged_on_both_sides_whatever_the_direction():
    band = Target("occupancy", band=[0.75, 0.85], margin=0.1)
    # at risk below down to 0.675 (0.75 - 0.1 x 0.75), above up to 0.935 (0.85 + 0.085)
    values = [0.8, 0.75, 0.85, 0.7, 0.6, 0.9, 0.95]
    expected = [ON, ON, ON, RISK, OFF, RISK, OFF]
    assert list(band.judge(values, "neutral")) == expected
    assert list(band.judge(values, "higher")) == expected


def test_a_neutral_kpi_needs_a_band():
    with pytest.raises(KpiforgeError, match=r"occupancy has no better direction \(neutral\)"):
        Target("occupancy", target=0.8).judge([0.8], "neutral")


@pytest.mark.parametrize(("target", "baseline", "direction", "ratio"), [
    (Target("x", target=0.9), 0.6, "higher", 1.5),
    (Target("x", target=200), 300, "lower", 1.5),
    (Target("x", target=0.8), 0.9, "higher", 0.8 / 0.9),
    (Target("x", target=0), 5, "lower", math.inf),
    (Target("x", target=0.1), 0, "higher", math.inf),
    (Target("x", target=0), 0, "lower", 1.0),
    (Target("x", target=30), -20, "higher", math.nan),
    (Target("x", band=[0.75, 0.85]), 0.5, "neutral", 1.5),
    (Target("x", band=[0.75, 0.85]), 0.9, "neutral", 0.9 / 0.85),
    (Target("x", band=[0.75, 0.85]), 0.8, "neutral", 1.0),
])
def test_required_ratio(target, baseline, direction, ratio):
    found = target.required_ratio(baseline, direction)
    assert (math.isnan(found) and math.isnan(ratio)) or found == pytest.approx(ratio)


GOOD = '''
[defaults]
period = "1mo"
deadline = 2026-12-31

[service_level]
target = 0.8
group = "support-team"

[occupancy]
band = [0.75, 0.85]
period = "1w"
deadline = "2027-03-31"
margin = 0.1

[churn_rate]
target = 0.03
baseline = 0.05
max_ratio = 2
'''


def test_a_targets_file_loads_with_defaults(tmp_path):
    targets = load_targets(write(tmp_path, GOOD))
    assert [t.kpi for t in targets] == ["service_level", "occupancy", "churn_rate"]
    assert targets["service_level"] == Target(
        "service_level", target=0.8, period="1mo", deadline=dt.date(2026, 12, 31),
        group="support-team")
    assert targets["occupancy"].band == (0.75, 0.85)
    assert targets["occupancy"].deadline == dt.date(2027, 3, 31)
    assert targets["churn_rate"].baseline == 0.05 and targets["churn_rate"].max_ratio == 2
    assert targets.groups() == {"support-team": ["service_level"]}


BAD = [
    ("[service_level]\ntarget = 'high'\nperiod = '1mo'\n",
     "Target 'service_level': target must be a number, got 'high'"),
    ("[service_level]\nperiod = '1mo'\n",
     "Target 'service_level': give either target = VALUE or band = [low, high]"),
    ("[service_level]\ntarget = 0.8\nband = [0.7, 0.9]\n",
     "Target 'service_level': give either target = VALUE or band = [low, high], not both"),
    ("[occupancy]\nband = [0.9, 0.7]\n",
     "Target 'occupancy': band must be [low, high] with low <= high, got [0.9, 0.7]"),
    ("[occupancy]\nband = [0.7]\n", "Target 'occupancy': band must be [low, high], got [0.7]"),
    ("[service_level]\ntarget = 0.8\nperiod = '1 month'\n",
     "Target 'service_level': period must be one of 15min, 30min, 1h, 1d, 1w, 1mo, got "
     "'1 month'"),
    ("[service_level]\ntarget = 0.8\ndeadline = 'next year'\n",
     "Target 'service_level': deadline must be a date such as 2026-12-31, got 'next year'"),
    ("[service_level]\ntarget = 0.8\nmargin = 2\n",
     "Target 'service_level': margin must be a fraction from 0 to below 1, got 2.0"),
    ("[service_level]\ntarget = 0.8\nmax_ratio = 1\n",
     "Target 'service_level': max_ratio must be more than 1, got 1.0"),
    ("[service_level]\ntarget = 0.8\nbaseline = true\n",
     "Target 'service_level': baseline must be 'data', a number, or a path to data to "
     "compute it from, got True"),
    ("[service_level]\ntarget = 0.8\nbaseline = 'q3-export'\n",
     "[service_level] baseline: 'q3-export' is neither 'data' nor data that exists"),
    ("[service_level]\ntarget = 0.8\nperod = '1mo'\n",
     "[service_level] unknown key 'perod' (did you mean: period?); the keys are target, band, "
     "period, deadline, baseline, group, margin, max_ratio"),
    ("[defaults]\ntarget = 0.8\n", "[defaults] unknown key 'target'; the keys are period, "
     "deadline, baseline, group, margin, max_ratio"),
    ("service_level = 0.8\n", "service_level = 0.8: a target is a table, as in "
     "[service_level] with target = 0.8"),
    ("[servce_level]\ntarget = 0.8\n", "[servce_level] unknown KPI 'servce_level' (did you "
     "mean: service_level"),
    ("[occupancy]\ntarget = 0.8\n", "[occupancy] target: occupancy has no better direction "
     "(neutral: read against a band), so give band = [low, high]"),
    ("[aht]\ntarget = 300\ngroup = 'csat'\n",
     "[aht] group: 'csat' is a KPI id; name groups after who owns them"),
    ("defaults = 1\n", "defaults must be a table: [defaults] with keys period, deadline, "
     "baseline, group, margin, max_ratio"),
    ("[aht\ntarget = 300\n", "not valid TOML: Expected ']' at the end of a table declaration "
     "(at line 1, column 5)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_targets_file_names_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(KpiforgeError) as raised:
        load_targets(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_a_bad_targets_file_is_one_line_on_the_command_line(tmp_path, contacts_csv):
    path = write(tmp_path, BAD[0][0])
    for command in (["compute", contacts_csv, "--targets", path], ["lint", "--targets", path]):
        result = run(*command)
        assert result.exit_code == 1
        assert result.output == f"Error: {path}: {BAD[0][1]}\n"


TARGETS = '''
[defaults]
period = "1d"
deadline = 2026-12-31

[service_level]
target = 0.4
group = "support-team"

[asa]
target = 16

[csat]
target = 0.6
margin = 0.2
group = "support-team"
'''


def test_track_judges_each_group_and_target_group(tmp_path, contacts):
    # by channel, 20 s for every channel: service level call 2/4, chat 1/4; asa call
    # 15 s, chat 25 s; csat call 1/2, chat 1/2
    result = kpiforge.compute({"contacts": contacts}, by=["channel"],
                              kpis=["service_level", "asa", "csat", "offered"],
                              params={"sl_threshold_s": 20})
    tracked = track(result, write(tmp_path, TARGETS))
    assert list(tracked.status("service_level")) == [ON, OFF]  # 0.5 >= 0.4; 0.25 < 0.38
    assert list(tracked.status("asa")) == [ON, OFF]  # 15 <= 16; 25 > 16.8
    assert list(tracked.status("csat")) == [RISK, RISK]  # 0.5 >= 0.6 - 0.12
    assert list(tracked.status("support-team")) == [RISK, OFF]
    assert tracked.to_records()[0] == {
        "channel": "call", "service_level": 0.5, "asa": 15, "csat": 0.5, "offered": 4,
        "service_level_status": "on track", "asa_status": "on track",
        "csat_status": "at risk", "support-team_status": "at risk"}
    assert tracked.to_arrow().column("asa_status").to_pylist() == ["on track", "off"]
    assert tracked.missing == {}


def test_undefined_values_have_no_status(contacts):
    # csat: call/a 1 of 2 satisfied, call/b no answer, chat/a 0 of 1, chat/b 1 of 1
    result = kpiforge.compute({"contacts": contacts}, by=["channel", "queue"],
                              kpis=["csat"])
    tracked = track(result, Targets({"csat": Target("csat", target=0.5, period="1d")}))
    assert [r["csat_status"] for r in tracked.to_records()] == ["on track", None, "off",
                                                                "on track"]


def test_compute_with_targets_in_every_format(tmp_path, contacts_csv):
    path = write(tmp_path, TARGETS)
    rows = json.loads(run("compute", contacts_csv, "--by", "channel", "--kpi",
                          "service_level,asa", "--targets", path, "--param",
                          "sl_threshold_s=20", "--format", "json").stdout)
    assert rows == [
        {"channel": "call", "service_level": 0.5, "asa": 15, "service_level_status": "on track",
         "asa_status": "on track", "support-team_status": "on track"},
        {"channel": "chat", "service_level": 0.25, "asa": 25, "service_level_status": "off",
         "asa_status": "off", "support-team_status": "off"}]
    csv = run("compute", contacts_csv, "--by", "channel", "--kpi", "service_level,asa",
              "--targets", path, "--param", "sl_threshold_s=20", "--format", "csv").stdout
    assert csv.splitlines()[0] == ('"channel","service_level","asa","service_level_status",'
                                   '"asa_status","support-team_status"')
    table = run("compute", contacts_csv, "--by", "channel", "--kpi", "service_level,asa",
                "--targets", path, "--param", "sl_threshold_s=20")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert re.search(r"^service_level +50\.0 %  on track +25\.0 %  off +>= 40\.0 % per 1d by "
                     r"2026-12-31$", "\n".join(lines), re.M)
    assert re.search(r"^group support-team +on track +off", "\n".join(lines), re.M)
    assert "targets without a status, their KPI not computed: csat" in table.stderr
    out = tmp_path / "kpis.parquet"
    written = run("compute", contacts_csv, "--by", "channel", "--kpi", "service_level",
                  "--targets", path, "--param", "sl_threshold_s=20", "--format", "parquet",
                  "--out", out)
    assert written.exit_code == 0, written.output
    assert pq.read_table(out).column("service_level_status").to_pylist() == ["on track", "off"]


def test_baselines_from_data_a_result_a_number_and_a_path(tmp_path, contacts, contacts_csv):
    write(tmp_path, "", name="unused.toml")
    targets = load_targets(write(tmp_path, f'''
        [service_level]
        target = 0.8
        period = "1h"

        [asa]
        target = 10

        [csat]
        target = 0.9
        baseline = 0.7

        [fcr_rate]
        target = 0.9
        baseline = "{contacts_csv.name}"
    '''.replace("        ", "")))
    (tmp_path / contacts_csv.name).write_bytes(contacts_csv.read_bytes())
    found = targets.baselines({"contacts": contacts})
    # service level per hour (call 20 s, chat 60 s): 3/7 (hour 0: #1, #4, #5), 1/1
    # (hour 1): median (3/7 + 1) / 2
    assert found["service_level"].value == pytest.approx((3 / 7 + 1) / 2)
    assert found["asa"].value == pytest.approx(19)  # (10 + 30 + 5 + 40 + 10) / 5
    assert (found["csat"].value, found["csat"].source) == (0.7, "given")
    assert found["fcr_rate"].value == pytest.approx(3 / 4)  # 1, 5, 8 of 1, 2, 5, 8
    assert found["fcr_rate"].source == str(tmp_path / contacts_csv.name)
    by_channel = kpiforge.compute({"contacts": contacts}, by=["channel"], kpis=["asa"])
    from_result = targets.baselines(result=by_channel)
    assert from_result["asa"].value == pytest.approx(20)  # median of 15 and 25
    assert from_result["service_level"].note == "the result has no service_level column"
    assert list(targets.baselines()) == ["csat", "fcr_rate"]  # no data for the others


def test_a_baseline_the_data_cannot_give_says_why(tmp_path, contacts):
    targets = Targets({"churn_rate": Target("churn_rate", target=0.03, period="1mo")})
    churn = targets.baselines({"contacts": contacts})["churn_rate"]
    assert math.isnan(churn.value)
    assert "needs the customers table" in churn.note


def test_targets_of_checks_against_the_registry():
    made = Targets.of([Target("aht", target=300, period="1mo")])
    assert "aht" in made and len(made) == 1
    with pytest.raises(KpiforgeError, match="targets: two targets for 'aht'; give one"):
        Targets.of([Target("aht", target=300), Target("aht", target=200)])


def test_status_values_read_as_text():
    assert [str(s) for s in Status] == ["on track", "at risk", "off"]
    assert np.array_equal(Target("x", target=1).judge([2.0], "higher"),
                          np.array([ON], dtype=object))
