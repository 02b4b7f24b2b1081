"""The simulator's behaviour: determinism, conservation, channels, shifts, repeats, tiers."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

import kpiforge
from kpiforge.simulations import SimulationError, builtin_scenario, simulate
from kpiforge.simulations.model import CALL, ESCALATION, ContactCentre, Contacts


def flat(**settings):
    return builtin_scenario("flat", {"scenario.days": "2", **settings})


def columns(run, *names):
    table = run.contacts
    return [table[name].to_numpy(zero_copy_only=False) for name in names]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    scenario = builtin_scenario("demo", {"scenario.days": "2"})
    for fmt in ("parquet", "csv"):
        first = simulate(scenario).write(tmp_path / f"a-{fmt}", fmt)
        second = simulate(scenario).write(tmp_path / f"b-{fmt}", fmt)
        for a, b in zip(first, second, strict=True):
            assert a.read_bytes() == b.read_bytes(), a.name
    other = simulate(scenario, seed=scenario.seed + 1).contacts.to_pandas()
    same = simulate(scenario).contacts.to_pandas()
    assert same.equals(simulate(scenario).contacts.to_pandas())  # NaN-aware comparison
    assert not other.equals(same)


def test_every_contact_ends_in_exactly_one_state():
    run = simulate(builtin_scenario("demo", {"scenario.days": "3"}))
    answered, abandoned = columns(run, "answered_s", "abandoned_s")
    answered, abandoned = ~np.isnan(answered), ~np.isnan(abandoned)
    assert not (answered & abandoned).any()
    waiting = ~answered & ~abandoned
    assert answered.sum() + abandoned.sum() + waiting.sum() == run.contacts.num_rows
    assert answered.sum() > 0 and abandoned.sum() > 0


def test_conservation_check_catches_a_contact_in_two_states():
    scenario = flat()
    contacts = Contacts()
    contacts.extend({"arrived": np.array([1.0]), "channel": np.array([0]),
                     "queue": np.array([0]), "customer": np.array([0]),
                     "deadline": np.array([100.0]), "handle": np.array([10.0]),
                     "acw": np.array([0.0]), "resolve": np.array([True]),
                     "repeat": np.array([False]), "escalate": np.array([False]),
                     "tier2_handle": np.array([0.0]), "repeat_delay": np.array([0.0])},
                    ordinal=1)
    centre = ContactCentre(simpy.Environment(), scenario, contacts, [CALL, ESCALATION],
                           repeats=None)
    contacts.started[0] = contacts.answered[0] = 5.0
    centre.close()  # answered: fine
    contacts.abandoned[0] = 6.0
    with pytest.raises(SimulationError, match="1 in two states"):
        centre.close()


def test_nobody_is_answered_by_a_queue_of_no_one():
    run = simulate(flat(**{"staffing.agents": "0", "channels.call.volume_per_day": "500"}))
    arrived, answered, abandoned = columns(run, "arrived_s", "answered_s", "abandoned_s")
    assert np.isnan(answered).all()
    still_waiting = np.isnan(abandoned)
    # Only callers whose patience outlasts the run are still waiting at its end.
    assert still_waiting.sum() < 10
    assert (arrived[still_waiting] > 2 * 86400 - 20 * 120).all()


def test_abandoned_contacts_left_at_arrival_plus_patience():
    run = simulate(flat(**{"staffing.agents": "8"}))
    arrived, answered, abandoned = columns(run, "arrived_s", "answered_s", "abandoned_s")
    left = ~np.isnan(abandoned)
    assert left.sum() > 100
    assert (abandoned[left] > arrived[left]).all()
    served = ~np.isnan(answered)
    assert (answered[served] >= arrived[served]).all()


def test_chat_with_concurrency_one_is_the_call_model():
    as_call = simulate(flat())
    as_chat = simulate(flat(**{"channels.call.kind": '"chat"'}))
    chat = as_chat.contacts.drop_columns(["channel"]).to_pandas()
    assert chat.equals(as_call.contacts.drop_columns(["channel"]).to_pandas())
    assert as_chat.contacts["channel"].to_pylist()[0] == "call"  # the channel keeps its name


def test_chat_concurrency_serves_more_with_the_same_agents():
    base = {"channels.call.kind": '"chat"', "staffing.agents": "6"}
    single = kpiforge.compute(simulate(flat(**base)).tables(), kpis=["abandonment_rate"])
    double = kpiforge.compute(simulate(flat(**base, **{"staffing.concurrency": "2"})).tables(),
                              kpis=["abandonment_rate", "aht"])
    assert double["abandonment_rate"][0] < single["abandonment_rate"][0] / 2
    assert double["aht"][0] > 180 * 1.05  # parallel chats stretch handling


def test_repeat_rate_zero_gives_fcr_one_and_repeats_lower_it():
    no_repeats = simulate(flat(**{"channels.call.resolve": "0.7", "channels.call.repeat": "0"}))
    result = kpiforge.compute(no_repeats.tables(), kpis=["fcr_rate", "resolution_rate"])
    assert result["fcr_rate"][0] == 1
    assert result["resolution_rate"][0] == pytest.approx(0.7 * 0.9, abs=0.05)
    repeats = simulate(flat(**{"channels.call.resolve": "0.7", "channels.call.repeat": "1",
                               "channels.call.repeat_delay_s": "3600"}))
    result = kpiforge.compute(repeats.tables(), kpis=["fcr_rate", "offered"])
    assert result["fcr_rate"][0] < 0.95
    assert result["offered"][0] > no_repeats.contacts.num_rows
    customers, touches = columns(repeats, "customer_id", "touches")
    assert touches.max() >= 3
    # A repeat is the same customer coming back.
    assert len(np.unique(customers[touches >= 2])) <= (touches >= 2).sum()


def test_emails_never_abandon_and_wait_for_live_work():
    scenario = builtin_scenario("demo", {"scenario.days": "2"})
    run = simulate(scenario)
    result = kpiforge.compute(run.tables(), kpis=["abandonment_rate", "asa"], by=["channel"])
    rows = {r["channel"]: r for r in result.to_records()}
    assert rows["email"]["abandonment_rate"] == 0
    assert rows["email"]["asa"] > 10 * rows["call"]["asa"]


def test_overdue_emails_jump_the_live_queues():
    settings = {"channels.email.reply_sla_s": "600", "scenario.days": "2"}
    urgent = kpiforge.compute(simulate(builtin_scenario("demo", settings)).tables(),
                              kpis=["asa"], by=["channel"])
    relaxed = kpiforge.compute(simulate(builtin_scenario("demo", {"scenario.days": "2"}))
                               .tables(), kpis=["asa"], by=["channel"])
    email = {r["channel"]: r["asa"] for r in urgent.to_records()}["email"]
    assert email < {r["channel"]: r["asa"] for r in relaxed.to_records()}["email"]


def test_shifts_staff_and_answer_only_in_their_hours():
    scenario = builtin_scenario("demo", {"scenario.days": "1"})
    run = simulate(scenario)
    (started,) = columns(run, "answered_s")
    channel = run.contacts["channel"].to_pylist()
    live = np.array([c != "email" for c in channel])
    hours = (started[live & ~np.isnan(started)] % 86400) / 3600
    assert hours.min() >= 7 and hours.max() < 23  # first shift 07:00, last ends 23:00
    intervals = run.agent_intervals.to_pandas()
    expected_hours = sum((s.end_s - s.start_s) / 3600 * s.agents[0]
                         for s in scenario.staffing.shifts)
    assert intervals["staffed_s"].sum() / 3600 == pytest.approx(expected_hours)
    assert (intervals["available_s"] <= intervals["staffed_s"] + 1e-9).all()
    breaks_share = sum(s.agents[0] * 1800 for s in scenario.staffing.shifts if s.breaks) / \
        (expected_hours * 3600)
    shrinkage = intervals["shrinkage_s"].sum() / intervals["staffed_s"].sum()
    assert shrinkage == pytest.approx(scenario.staffing.shrinkage + breaks_share, abs=0.02)


def test_escalations_go_to_tier_two_and_take_longer():
    run = simulate(builtin_scenario("demo", {"scenario.days": "2"}))
    escalated, handle, touches, answered = columns(
        run, "escalated", "handle_s", "touches", "answered_s")
    up = escalated == 1
    assert 0.02 < up.sum() / (~np.isnan(answered)).sum() < 0.07
    assert np.nanmean(handle[up]) > np.nanmean(handle[~up]) + 300  # tier 2 adds ~600 s
    assert (touches[up] >= 2).all()
    tier2 = [a for a in run.agent_intervals["agent"].to_pylist() if a.startswith("tier_2")]
    assert tier2


def test_agent_intervals_match_erlang_occupancy():
    run = simulate(builtin_scenario("flat", {"scenario.days": "5"}))
    result = kpiforge.compute(run.tables(), kpis=["occupancy", "staffed_hours"])
    assert result["staffed_hours"][0] == pytest.approx(11 * 24 * 5)
    occupancy = kpiforge.simulations.erlang_a(200, 3600, 180, 11, 20, 120).occupancy
    assert result["occupancy"][0] == pytest.approx(occupancy, abs=0.02)


def test_simulated_directory_computes_with_calendar_time(tmp_path):
    run = simulate(builtin_scenario("demo", {"scenario.days": "2"}))
    for fmt in ("parquet", "csv"):
        run.write(tmp_path / fmt, fmt)
        result = kpiforge.compute(tmp_path / fmt, kpis=["offered"], grain="1d")
        assert [r["interval_start"] for r in result.to_records()] == [
            "2026-11-16T00:00:00", "2026-11-17T00:00:00"]
