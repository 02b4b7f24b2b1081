"""``--set`` keys: relative changes, wildcards, items by name or position, built-in names,
and errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpiforge.cli import cli
from kpiforge.simulations import BUILTIN_SCENARIOS, ScenarioError, builtin_scenario, load_scenario
from kpiforge.simulations.overrides import WHOLE_NUMBER_KEYS

ROOT = Path(__file__).resolve().parents[1]
HANDMADE = """
[scenario]
name = "mine"
days = 1
seed = 1
[channels.call]
volume_per_day = 10
aht_s = 60
[staffing]
agents = 1
"""


def demo(**settings):
    return builtin_scenario("demo", settings)


def test_relative_changes_add_and_multiply():
    base = demo()
    changed = demo(**{"staffing.shrinkage": "+0.05", "channels.call.volume_per_day": "*1.2",
                      "channels.chat.aht_s.mean": "+-30", "scenario.days": "+1"})
    assert changed.staffing.shrinkage == pytest.approx(0.12 + 0.05)
    assert changed.channel("call").volume_per_day == pytest.approx(2400 * 1.2)
    assert changed.channel("chat").aht_s.mean == 480 - 30
    assert changed.days == base.days + 1
    # -2 is the TOML number minus two, not a change: head counts must be >= 0.
    with pytest.raises(ScenarioError, match=re.escape("staffing.agents: must be >= 0, got -2")):
        builtin_scenario("flat", {"staffing.agents": "-2"})


def test_every_shift_scales_and_head_counts_round_like_an_override_scale():
    # demo.toml's head counts, Monday first, times 1.4 rounded by hand (round half even).
    scaled = demo(**{"staffing.shifts.*.agents": "*1.4"})
    assert scaled.staffing.shifts[0].agents == (50, 38, 35, 35, 34, 0, 0)  # 36 27 25 25 24
    assert scaled.staffing.shifts[1].agents == (39, 29, 28, 28, 27, 45, 31)  # 28 21 20 20 19 32 22
    assert scaled.staffing.shifts[5].agents == (7, 6, 6, 6, 6, 3, 1)  # tier 2: 5 4 4 4 4 2 1
    flat = builtin_scenario("flat", {"staffing.agents": "*1.5"})  # 11 x 1.5 = 16.5
    assert flat.staffing.shifts[0].agents == (16,) * 7


def test_items_by_name_position_and_list_elements():
    changed = demo(**{"staffing.shifts.late.agents": "+2", "staffing.shifts.0.concurrency": "1",
                      "channels.call.weekday.0": "*2", "events.billing run.multiplier": "*2"})
    late = next(s for s in changed.staffing.shifts if s.name == "late")
    assert late.agents == (27, 21, 20, 20, 19, 0, 0)  # days off stay off
    sunday = demo(**{"staffing.shifts.late.agents.6": "+2"}).staffing.shifts[2]
    assert sunday.agents == (25, 19, 18, 18, 17, 0, 2)
    raw_weekday = [1.35 * 2, 1.1, 1.0, 1.0, 0.95, 0.4, 0.2]  # normalised to mean 1
    assert changed.channel("call").weekday[0] == pytest.approx(
        raw_weekday[0] * 7 / sum(raw_weekday))
    assert changed.events[0].multiplier == pytest.approx(2.3)


def test_wildcard_over_a_table_and_defaults_of_left_out_keys():
    changed = demo(**{"channels.*.volume_per_day": "*0.5", "channels.*.patience_s.mean": "+60",
                      "satisfaction.noise": "*2", "staffing.shifts.*.concurrency": "*2"})
    assert [c.volume_per_day for c in changed.channels] == [1200, 600, 300]
    # emails have no patience: the wildcard changes the channels that have one
    assert changed.channel("call").patience_s.mean == 210
    assert changed.channel("email").patience_s is None
    assert changed.satisfaction.noise == pytest.approx(1.4)
    # concurrency is left out of the call shifts (default 1) and 2 on the chat shifts
    assert [s.concurrency for s in changed.staffing.shifts] == [2, 2, 2, 4, 4, 2]
    flat = builtin_scenario("flat", {"staffing.shrinkage": "+0.1", "scenario.warmup": "+0.5"})
    assert flat.staffing.shrinkage == pytest.approx(0.1)
    assert flat.warmup == 0.5


@pytest.mark.parametrize(("settings", "message"), [
    ({"staffing.agentz": "+1"}, "--set staffing.agentz=+1: the scenario has no 'agentz' here "
                                "to change (did you mean: agents?)"),
    ({"staffing.shifts.*.agents": "*2"}, "--set staffing.shifts.*.agents=*2: the scenario has "
                                         "no list or table staffing.shifts"),
    ({"channels.call.intraday": "*2"}, "--set channels.call.intraday=*2: *2 changes a number "
                                       "or a list of numbers; the value here is 'flat'"),
    ({"channels.call.aht_s": "+20"}, "--set channels.call.aht_s=+20: +20 changes a number"),
    ({"staffing..agents": "1"}, "a key is names joined by dots"),
])
def test_bad_keys_name_the_key(settings, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        builtin_scenario("flat", settings)


def test_unknown_item_names_list_the_names():
    with pytest.raises(ScenarioError, match=r"no item named 'nights'; .* early, mid, late, "
                                            r"chat day, chat late, tier 2"):
        demo(**{"staffing.shifts.nights.agents": "1"})
    with pytest.raises(ScenarioError, match="position 9 is past the end of a list of 6"):
        demo(**{"staffing.shifts.9.agents": "1"})


def test_whole_number_keys_are_the_integer_keys_of_the_loader():
    source = "".join((ROOT / "simulations" / name).read_text()
                     for name in ("scenario.py", "customers.py"))
    integer = set(re.findall(r'take\("(\w+)", number\([^)]*integer=True', source))
    integer |= set(re.findall(r'take\("(\w+)", (?:agents_per_day|_ramp)', source))
    assert integer == WHOLE_NUMBER_KEYS


def test_builtin_names_load_unless_a_file_has_the_name(tmp_path, monkeypatch):
    assert load_scenario("flat").name == "flat"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flat").mkdir()  # a run directory named like it does not hide it
    assert load_scenario("flat").name == "flat"
    (tmp_path / "flat").rmdir()
    (tmp_path / "flat").write_text(HANDMADE)  # a file of that name wins
    assert load_scenario("flat").name == "mine"
    with pytest.raises(ScenarioError, match=r"dmeo: no such scenario file or built-in "
                                            r"scenario .*did you mean: demo"):
        load_scenario("dmeo")
    assert {"demo", "flat", "december", "launch", "summer"} <= set(BUILTIN_SCENARIOS)


def test_simulate_takes_relative_settings_and_builtin_names(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["simulate", "flat", "--days", "1", "--set",
                                      "staffing.agents=+5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = load_scenario(out / "scenario.toml")
    assert written.staffing.shifts[0].agents == (16,) * 7
    bad = CliRunner().invoke(cli, ["simulate", "flat", "--set", "staffing.agents=*x",
                                   "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 1 and "staffing.agents: must be a number, got '*x'" in bad.output
    assert not (tmp_path / "bad").exists()
