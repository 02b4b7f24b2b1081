"""Scenario files: the public minimal form, the complete example, and errors naming keys."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest

from kpiforge.simulations import ScenarioError, builtin_scenario, load_scenario, parse_scenario
from kpiforge.simulations.scenario import Break

SCENARIOS = Path(__file__).resolve().parent.parent / "simulations" / "scenarios"

# The minimal form from the simulator issue, verbatim: a public contract.
MINIMAL = """
[scenario]
name = "flat"
days = 20
seed = 11

[channels.call]
volume_per_day = 4800
intraday = "flat"            # or a named profile, or a list of multipliers per interval
aht_s = { dist = "exponential", mean = 180 }
acw_s = 0
patience_s = { dist = "exponential", mean = 120 }   # leave out for infinite patience

[staffing]
agents = 11                  # the same agents all day, every day
shrinkage = 0.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_minimal_form_loads(tmp_path):
    scenario = load_scenario(write(tmp_path, MINIMAL))
    call = scenario.channel("call")
    assert (scenario.name, scenario.days, scenario.seed) == ("flat", 20, 11)
    assert call.kind == "call" and call.volume_per_day == 4800
    assert call.aht_s.expected == 180 and call.patience_s.expected == 120
    assert call.acw_s.expected == 0
    assert sum(call.intraday) == pytest.approx(1)
    [shift] = scenario.staffing.shifts
    assert shift.agents == (11,) * 7 and (shift.start_s, shift.end_s) == (0, 86400)


def test_the_planners_example_loads():
    scenario = builtin_scenario("demo")
    assert [c.name for c in scenario.channels] == ["call", "chat", "email"]
    assert scenario.channel("call").weekday[0] > scenario.channel("call").weekday[6]
    assert {s.tier for s in scenario.staffing.shifts} == {1, 2}
    assert scenario.start == dt.date(2026, 11, 16)


def assert_close(left, right, path="scenario"):
    """Equal data, numbers equal to the last bits that re-normalising profiles may move."""
    if isinstance(left, dict):
        assert left.keys() == right.keys(), path
        for key in left:
            assert_close(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list | tuple):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_close(a, b, f"{path}[{i}]")
    elif isinstance(left, float):
        assert left == pytest.approx(right, rel=1e-12, abs=1e-15), path
    else:
        assert left == right, path


def test_resolved_scenario_round_trips(tmp_path):
    for scenario in (builtin_scenario("demo"), load_scenario(write(tmp_path, TWO_SHIFTS))):
        again = parse_scenario(tomllib.loads(scenario.to_toml()))
        assert_close(again.to_dict(), scenario.to_dict())
        assert again.staffing == scenario.staffing


def test_overrides_apply_before_validation(tmp_path):
    path = write(tmp_path, MINIMAL)
    scenario = load_scenario(path, {"staffing.agents": "13", "channels.call.aht_s.mean": "200",
                                    "channels.call.intraday": "office"})
    assert scenario.staffing.shifts[0].agents == (13,) * 7
    assert scenario.channel("call").aht_s.expected == 200
    with pytest.raises(ScenarioError, match=re.escape("staffing.agents: must be >= 0, got -1")):
        load_scenario(path, {"staffing.agents": "-1"})


@pytest.mark.parametrize(("change", "message"), [
    (("patience_s =", "patiense_s ="),
     "channels.call: unknown key 'patiense_s' (did you mean: patience_s?)"),
    (("volume_per_day = 4800", "volume_per_dya = 4800"),
     "channels.call.volume_per_day: is required (found: volume_per_dya?)"),
    (("volume_per_day = 4800", "volume_per_day = -5"),
     "channels.call.volume_per_day: must be >= 0, got -5"),
    (('intraday = "flat"', "intraday = [1, 2, 3]"),
     "channels.call.intraday: must be a list of 24 or 48 or 96 multipliers"),
    (('intraday = "flat"', 'intraday = "offise"'),
     "unknown profile 'offise' (did you mean: office?)"),
    (('mean = 180 }', 'mean = -180 }'), "channels.call.aht_s: mean must be > 0"),
    (('{ dist = "exponential", mean = 180 }', '{ dist = "weibull", mean = 180 }'),
     "dist must be one of fixed, exponential"),
    (('{ dist = "exponential", mean = 180 }', '{ dist = "lognormal", mean = 180 }'),
     "lognormal needs cv"),
    (("days = 20", "days = 0"), "scenario.days: must be >= 1, got 0"),
    (("days = 20", "days = 2.5"), "scenario.days: must be a whole number"),
    (("seed = 11", 'seed = "x"'), "scenario.seed: must be a number"),
    (("agents = 11", "agents = 11\n[[staffing.shifts]]\nname='x'\nstart='08:00'\nend='16:00'"
                     "\nagents=1"), "not both"),
    (("agents = 11 ", "# nobody"), "staffing: needs agents = N or [[staffing.shifts]]"),
    (("[staffing]", "[staffing]\nteam = 3"), "staffing: unknown key 'team'"),
    (("[scenario]", "[scenario]\nstart = 'someday'"), "scenario.start: must be a date"),
    (("seed = 11", "seed = 11\nwarmup = -1"), "scenario.warmup: must be >= 0, got -1"),
    (("seed = 11", "seed = 11\nwarmdown = 'x'"), "scenario.warmdown: must be a number"),
    (('intraday = "flat"', 'hours = "20:00-08:00"'),
     "channels.call.hours: '20:00-08:00' closes before it opens"),
    (('intraday = "flat"', 'hours = "9-17"'), "channels.call.hours: must be a time like"),
    (('intraday = "flat"', 'hours = { satday = "closed" }'),
     "channels.call.hours: unknown weekday 'satday'"),
    (('intraday = "flat"', 'intraday_by_weekday = { sun = [1, 2] }'),
     "channels.call.intraday_by_weekday: sun: must be a list of 24 or 48 or 96"),
    (("[staffing]", "[forecast]\nfile = 'nowhere.csv'\n[staffing]"),
     "forecast.file: no such forecast file"),
    (("[staffing]", "[forecast]\nfiles = 'f.csv'\n[staffing]"),
     "forecast.file: is required (found: files?)"),
])
def test_bad_scenarios_name_file_and_key(tmp_path, change, message):
    path = write(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


SHIFTS = """
[scenario]
days = 7
seed = 1

[channels.call]
volume_per_day = 100
aht_s = 180
queues = { billing = 1 }

[channels.email]
volume_per_day = 10
aht_s = 300

[staffing]
[[staffing.shifts]]
name = "day"
start = "08:00"
end = "16:00"
agents = 4
{extra}
"""


@pytest.mark.parametrize(("extra", "message"), [
    ('start = "25:00"', "not a time of day"),
    ('end = "08:00"', "starts and ends at 08:00: a shift needs some length"),
    ('breaks = [{ start = "17:00", minutes = 30 }]', "is outside the shift 08:00-16:00"),
    ('skills = ["call/sales"]', "unknown name 'call/sales'"),
    ('skills = ["call"]', "no tier-1 agents have a skill for channel 'email'"),
    ('days = ["monday"]', "unknown name 'monday' (did you mean: mon?)"),
    ("agents = [1, 2, 3]", "must be one number or 7"),
    ('tier = 2\nskills = ["call"]', "tier-2 shifts work escalations only"),
    ('breaks = [{ start = "11:00", end = "11:20", minutes = 30 }]',
     "staffing.shifts[0].breaks[0].end: the window 11:00-11:20 is shorter than the break's "
     "30 min"),
    ('breaks = [{ start = "15:00", end = "17:00", minutes = 30 }]',
     "is outside the shift 08:00-16:00"),
    ('breaks = [{ start = "11:00", end = "13:00", minutes = 30 }, '
     '{ start = "12:00", minutes = 15 }]',
     "staffing.shifts[0].breaks[1]: overlaps the break before it"),
    ('[[staffing.overrides]]\nstart = 2026-01-06', "staffing.overrides[0]: give one of agents, "
     "scale, ramp or [[...shifts]]"),
    ('[[staffing.overrides]]\nstart = 2026-01-06\nagents = 3\nscale = 2',
     "; got agents, scale"),
    ('[[staffing.overrides]]\nstart = 2026-01-06\nshift = "night"\nagents = 1',
     "staffing.overrides[0].shift: unknown shift 'night'; the shifts are day"),
    ('[[staffing.overrides]]\nstart = 2026-01-06\nend = 2026-01-01\nagents = 1',
     "staffing.overrides[0].end: 2026-01-01 is before start 2026-01-06"),
    ('[[staffing.overrides]]\nstart = 2026-01-06\nramp = [1]',
     "staffing.overrides[0].ramp: must be [first day's head count, last day's]"),
    ('[[staffing.overrides]]\nstart = 2026-01-06\n[[staffing.overrides.shifts]]\nname = "day"'
     '\nstart = "08:00"\nend = "12:00"\nagents = 1\nskills = ["call"]',
     "staffing.overrides[0].shifts[0].name: shift 'day' exists with other skills"),
])
def test_impossible_shifts(tmp_path, extra, message):
    text = SHIFTS.replace("{extra}", extra)
    if extra.startswith(("start", "end", "agents")):
        key = extra.split(" ")[0]
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} ="))
        text += f"\n{extra}\n"
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(write(tmp_path, text))


def test_overnight_shift_and_breaks(tmp_path):
    text = SHIFTS.replace("{extra}", 'breaks = [{ start = "12:00", minutes = 30 }]')
    text = text.replace('start = "08:00"\nend = "16:00"', 'start = "22:00"\nend = "06:00"')
    text = text.replace('breaks = [{ start = "12:00"', 'breaks = [{ start = "02:00"')
    shift = load_scenario(write(tmp_path, text)).staffing.shifts[0]
    assert (shift.start_s, shift.end_s) == (22 * 3600, 30 * 3600)
    assert shift.breaks == (Break(4 * 3600, 4 * 3600, 1800),)


def test_escalation_needs_a_second_tier(tmp_path):
    path = write(tmp_path, MINIMAL.replace("acw_s = 0", "acw_s = 0\nescalate = 0.1"))
    with pytest.raises(ScenarioError, match="escalate > 0 needs tier-2 agents"):
        load_scenario(path)


def test_not_toml(tmp_path):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "[scenario\nname = 1"))
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")


def test_bundled_flat_scenario_is_the_minimal_form():
    flat = builtin_scenario("flat")
    assert flat == parse_scenario(tomllib.loads(MINIMAL), source=flat.source)


def test_break_windows_stagger_agents_evenly(tmp_path):
    text = SHIFTS.replace("{extra}", 'breaks = [{ start = "11:00", end = "13:00", minutes = 30 },'
                                     ' { start = "15:00", minutes = 15 }]')
    lunch, afternoon = load_scenario(write(tmp_path, text)).staffing.shifts[0].breaks
    assert lunch == Break(3 * 3600, 4.5 * 3600, 1800)  # starts from 11:00 to 12:30
    # 4 agents spread over the 90 minutes of possible starts: 11:00, 11:30, 12:00, 12:30.
    assert [lunch.offset(k, 4) for k in range(4)] == [3 * 3600 + m * 60 for m in
                                                        (0, 30, 60, 90)]
    assert lunch.offset(0, 1) == 3 * 3600 + 45 * 60  # one agent: the middle
    # 7 agents: 90 / 6 = 15 minutes apart; 8 agents: 12.86 minutes, to the minute.
    assert [lunch.offset(k, 8) for k in range(8)] == [3 * 3600 + m * 60 for m in
                                                        (0, 13, 26, 39, 51, 64, 77, 90)]
    assert [afternoon.offset(k, 4) for k in range(4)] == [7 * 3600] * 4


TWO_SHIFTS = SHIFTS.replace("{extra}", """
[[staffing.shifts]]
name = "late"
start = "12:00"
end = "20:00"
agents = [3, 3, 3, 3, 3, 0, 0]

[[staffing.overrides]]
name = "christmas"
start = 2026-01-06
end = 2026-01-07
shift = "day"
agents = 1

[[staffing.overrides]]
start = 2026-01-08
end = 2026-01-10
ramp = [4, 10]

[[staffing.overrides]]
start = 2026-01-11
[[staffing.overrides.shifts]]
name = "holiday"
start = "10:00"
end = "14:00"
agents = 2
""")


def test_dated_staffing_overrides(tmp_path):
    staffing = load_scenario(write(tmp_path, TWO_SHIFTS)).staffing

    def heads(day):
        return {shift.name: n for shift, n in staffing.on(dt.date(2026, 1, day))}

    assert heads(5) == {"day": 4, "late": 3}                 # Monday: the weekly pattern
    assert heads(6) == heads(7) == {"day": 1, "late": 3}     # one shift's head count
    assert heads(8) == {"day": 4, "late": 4}                 # a ramp, 4 to 10 over 3 days
    assert heads(9) == {"day": 7, "late": 7}
    assert heads(10) == {"day": 10, "late": 10}
    assert heads(11) == {"holiday": 2}                       # shifts of its own
    assert heads(12) == {"day": 4, "late": 3}


HOURS = """intraday = "office"
intraday_by_weekday = { sat = "weekend", sun = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0,
                                                0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }
hours = { sat = "09:00-13:00, 14:00-17:00", sun = "closed" }"""

OPEN_DAY = """[[events]]
name = "open day"
start = 2026-01-07
intraday = "flat"
hours = "10:00-12:00"

[staffing]"""


def test_channel_hours_shapes_and_events(tmp_path):
    text = MINIMAL.replace('intraday = "flat"', HOURS).replace("[staffing]", OPEN_DAY)
    scenario = load_scenario(write(tmp_path, text))
    call = scenario.channel("call")
    assert call.shape_on(0) == call.intraday and call.shape_on(6)[10:12] == (0.5, 0.5)
    assert call.hours[5] == ((9 * 3600, 13 * 3600), (14 * 3600, 17 * 3600))
    assert call.hours[6] == () and call.hours[0] == ((0, 86400),)
    [event] = scenario.events
    assert event.multiplier == 1 and event.hours == ((36000, 43200),)
    again = parse_scenario(tomllib.loads(scenario.to_toml()))
    assert_close(again.to_dict(), scenario.to_dict())


@pytest.mark.parametrize(("extra", "message"), [
    ('[[staffing.shifts]]\nname = "day"\nstart = "16:00"\nend = "20:00"\nagents = 1',
     "staffing.shifts[1].name: a second shift named 'day': its agents would be the first's"),
    ('[[staffing.shifts]]\nname = "late shift"\nstart = "16:00"\nend = "20:00"\nagents = 1\n'
     '[[staffing.shifts]]\nname = "late_shift"\nstart = "16:00"\nend = "20:00"\nagents = 1',
     "staffing.shifts[2].name: shift 'late_shift' would share agent ids (late_shift-01...) "
     "with shift 'late shift'"),
    ('[[staffing.overrides]]\nstart = 2026-01-06\n[[staffing.overrides.shifts]]\n'
     'name = "cover"\nstart = "08:00"\nend = "12:00"\nagents = 1\n'
     '[[staffing.overrides.shifts]]\nname = "cover"\nstart = "12:00"\nend = "16:00"\n'
     'agents = 1', "staffing.overrides[0].shifts[1].name: a second shift named 'cover'"),
])
def test_two_shifts_never_share_agents(tmp_path, extra, message):
    """Agents are named after their shift, so two shifts of one name (or of names that give
    the same ids) would merge two people in per-agent KPIs."""
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(write(tmp_path, SHIFTS.replace("{extra}", extra)))


def test_an_override_may_name_a_weekly_shift_to_work_with_its_agents(tmp_path):
    extra = ('[[staffing.overrides]]\nstart = 2026-01-06\n[[staffing.overrides.shifts]]\n'
             'name = "day"\nstart = "10:00"\nend = "18:00"\nagents = 2')
    scenario = load_scenario(write(tmp_path, SHIFTS.replace("{extra}", extra)))
    [override] = scenario.staffing.overrides
    assert [s.name for s in override.shifts] == ["day"]
