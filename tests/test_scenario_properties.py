"""Property tests of scenarios: a generated valid scenario simulates and its resolved file
runs again; a hostile one (a value replaced by NaN, infinity, a huge number or a wrong type,
a key removed, an unknown key) simulates or ends in a KpiforgeError naming the file and the
key, never another exception, each within hypothesis' deadline (the profile in
conftest.py)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given
from strategies import hostile_scenarios, shown, valid_scenarios
from test_scenario import assert_close

from kpiforge.errors import KpiforgeError
from kpiforge.simulations import parse_scenario, simulate
from kpiforge.simulations.scenario import KINDS
from kpiforge.simulations.size import Limits

#: Hostile runs stay tiny: a changed value may ask for a long or crowded one.
TINY = Limits(contacts=3_000, agent_intervals=20_000)
SECTIONS = ("scenario", "channels", "staffing", "events", "satisfaction", "top level")


def _checked(run) -> None:
    """What every run holds: agents with ids of their own, and every contact of a known
    channel in an outcome at most."""
    agents = run.agent_intervals["agent"].combine_chunks().dictionary.to_pylist()
    assert len(set(agents)) == len(agents)
    ids = run.contacts["contact_id"].to_pylist()
    assert len(set(ids)) == len(ids)
    answered = ~np.isnan(run.contacts["answered_s"].to_numpy())
    assert not (answered & ~np.isnan(run.contacts["abandoned_s"].to_numpy())).any()


# numpy's overflow and invalid-value warnings are failures: a number the model cannot hold.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@given(raw=valid_scenarios())
def test_a_valid_scenario_simulates_and_its_resolved_file_runs_again(raw):
    scenario = parse_scenario(raw, "fuzz.toml")
    run = simulate(scenario)
    _checked(run)
    again = parse_scenario(tomllib.loads(scenario.to_toml()), "scenario.toml")
    assert_close(again.to_dict(), scenario.to_dict())
    assert {c.kind for c in again.channels} <= set(KINDS)
    _checked(simulate(again))


@given(change=hostile_scenarios())
def test_a_hostile_scenario_simulates_or_names_the_file_and_key(change):
    try:
        _checked(simulate(parse_scenario(change.raw, "fuzz.toml"), limits=TINY))
    except KpiforgeError as exc:
        message = str(exc)
        assert message.startswith("fuzz.toml: "), message
        assert message.removeprefix("fuzz.toml: ").startswith(SECTIONS), message
        where = shown(change.path)
        if change.non_finite:
            assert f"{where}: " in message or (f"{shown(change.path[:-1])}: " in message \
                and str(change.path[-1]) in message), (where, message)
        if change.kind == "unknown":  # an unknown key, channel or weekday
            assert where in message and str(change.value) in message, (where, message)
