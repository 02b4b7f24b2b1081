"""The size of a run, estimated before it starts: hand-worked contacts and agent intervals,
the agent intervals a run then holds, and runs beyond the limits refused before they
start."""

from __future__ import annotations

import math

import pytest
from test_scenario import MINIMAL, SHIFTS, write

from kpiforge.errors import KpiforgeError
from kpiforge.simulations import load_scenario, simulate
from kpiforge.simulations.size import Limits, RunSizeError, estimate_size


def flat(tmp_path, *replacements):
    text = MINIMAL
    for old, new in replacements:
        text = text.replace(old, new)
    return load_scenario(write(tmp_path, text))


def test_expected_contacts_are_the_daily_volume_with_its_repeats(tmp_path):
    size = estimate_size(flat(tmp_path, ("days = 20", "days = 2")))
    assert size.contacts == pytest.approx(4800 * 2)
    # Half resolve, half of the others come back: p = 0.25 per contact, one term a day.
    repeats = flat(tmp_path, ("days = 20", "days = 2"),
                   ("acw_s = 0", "acw_s = 0\nresolve = 0.5\nrepeat = 0.5"))
    assert estimate_size(repeats).contacts == pytest.approx(9600 * (1 + 0.25 + 0.25**2))


def test_agent_intervals_are_head_counts_times_intervals_worked(tmp_path):
    # 11 agents all day, 96 quarter-hours a day, 2 days.
    assert estimate_size(flat(tmp_path, ("days = 20", "days = 2"))).agent_intervals == 2112


def test_the_estimate_is_the_agent_intervals_a_run_holds(tmp_path):
    # A night shift of 3 agents, 22:00-06:00 with 30-minute intervals, over one day: the
    # shift that began the evening before works 00:00-06:00 (12 intervals), the day's own
    # 22:00-24:00 (4), so 3 x 16 rows.
    text = SHIFTS.replace("{extra}", "").replace('start = "08:00"\nend = "16:00"',
                                                 'start = "22:00"\nend = "06:00"')
    text = text.replace("days = 7", "days = 1\ninterval_min = 30").replace("agents = 4",
                                                                            "agents = 3")
    scenario = load_scenario(write(tmp_path, text))
    assert estimate_size(scenario).agent_intervals == 48
    assert simulate(scenario).agent_intervals.num_rows == 48


def test_a_run_beyond_its_limits_does_not_start(tmp_path):
    scenario = flat(tmp_path, ("days = 20", "days = 1"))
    with pytest.raises(RunSizeError) as error:
        simulate(scenario, limits=Limits(contacts=4000))
    assert error.value.limit == "contacts"
    assert str(error.value).startswith(f"{scenario.source}: channels.call: about 4,800 "
                                       "contacts expected over 1 simulated day(s)")
    assert "the limit is 4,000 contacts: make the run smaller, or raise Limits.contacts" in \
        str(error.value)
    with pytest.raises(RunSizeError, match="staffing: about 1,056 agent intervals"):
        simulate(scenario, limits=Limits(agent_intervals=1000))
    assert simulate(scenario, limits=None).contacts.num_rows > 4000


@pytest.mark.parametrize("change", [
    ("shrinkage = 0.0", "[[staffing.overrides]]\nstart = 2026-01-05\nscale = 1e308"),
    ("[staffing]", "[[events]]\nname = 'a'\nstart = 2026-01-05\nmultiplier = 1e308\n"
                   "[[events]]\nname = 'b'\nstart = 2026-01-05\nmultiplier = 1e308\n"
                   "[staffing]"),
])
def test_numbers_beyond_a_float_are_too_large(tmp_path, change):
    scenario = flat(tmp_path, ("days = 20", "days = 1"), change)
    size = estimate_size(scenario)
    assert math.isinf(size.contacts) or math.isinf(size.agent_intervals)
    with pytest.raises(KpiforgeError, match="about more than 1e308"):
        simulate(scenario)
