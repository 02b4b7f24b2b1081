"""The simulator's behaviour: determinism, conservation, channels, shifts, repeats, tiers."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

import kpiforge
from kpiforge.simulations import SimulationError, builtin_scenario, load_scenario, simulate
from kpiforge.simulations.model import CALL, CHAT, ESCALATION, Agent, ContactCentre, Contacts, Duty


def flat(**settings):
    return builtin_scenario("flat", {"scenario.days": "2", **settings})


def columns(run, *names):
    table = run.contacts
    return [table[name].to_numpy(zero_copy_only=False) for name in names]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    scenario = builtin_scenario("demo", {"scenario.days": "1"})  # with a warm-up, a warm-down
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
    # A fixed patience of 90 s: every caller who left did so exactly 90 s after arriving,
    # and everyone served was answered within those 90 s.
    run = simulate(flat(**{"staffing.agents": "8", "channels.call.patience_s": "90",
                           "scenario.days": "2"}))
    arrived, answered, abandoned = columns(run, "arrived_s", "answered_s", "abandoned_s")
    left = ~np.isnan(abandoned)
    assert left.sum() > 100
    np.testing.assert_allclose(abandoned[left] - arrived[left], 90, rtol=0, atol=1e-6)
    served = ~np.isnan(answered)
    waits = answered[served] - arrived[served]
    assert (waits >= 0).all() and (waits <= 90 + 1e-6).all()


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


def test_repeat_rate_zero_gives_fcr_equal_to_resolution_and_repeats_lower_it():
    no_repeats = simulate(flat(**{"channels.call.resolve": "0.7", "channels.call.repeat": "0"}))
    result = kpiforge.compute(no_repeats.tables(), kpis=["fcr_rate", "resolution_rate"])
    # Every case is one contact: a case resolved at first contact is a resolved contact.
    assert result["fcr_rate"][0] == result["resolution_rate"][0]
    assert result["resolution_rate"][0] == pytest.approx(0.7 * 0.9, abs=0.05)
    repeats = simulate(flat(**{"channels.call.resolve": "0.7", "channels.call.repeat": "1",
                               "channels.call.repeat_delay_s": "3600"}))
    result = kpiforge.compute(repeats.tables(), kpis=["fcr_rate", "offered"])
    per_contact = kpiforge.compute({"contacts": repeats.contacts.drop_columns(["case_id"])},
                                   kpis=["fcr_rate"])
    # Per case, a case resolved only by a repeat is not resolved at first contact; per
    # contact, the repeat that resolved it counts (with its touches) among resolved ones.
    assert result["fcr_rate"][0] < per_contact["fcr_rate"][0] - 0.1
    assert result["offered"][0] > no_repeats.contacts.num_rows
    frame = repeats.contacts.to_pandas().sort_values(["case_id", "arrived_s"])
    assert frame["touches"].max() >= 3
    # A repeat is the same customer coming back in the same case: one customer per case,
    # cases with several contacts, and each answered contact's touches counting the case's
    # answered contacts so far (pandas, not the simulator's own counter).
    cases = frame.groupby("case_id")
    assert (cases["customer_id"].nunique() == 1).all()
    assert (cases.size() > 1).sum() > 1000
    answered = frame[frame["answered_s"].notna()]
    nth = answered.groupby("case_id").cumcount() + 1
    assert (answered["touches"] == nth).all()


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
    scenario = builtin_scenario("demo", {"scenario.days": "1", "scenario.warmup": "0",
                                         "scenario.warmdown": "0"})
    run = simulate(scenario)
    (started,) = columns(run, "answered_s")
    channel = run.contacts["channel"].to_pylist()
    live = np.array([c != "email" for c in channel])
    hours = (started[live & ~np.isnan(started)] % 86400) / 3600
    assert hours.min() >= 7 and hours.max() < 23  # first shift 07:00, last ends 23:00
    intervals = run.agent_intervals.to_pandas()
    planned = sum((s.end_s - s.start_s) / 3600 * s.agents[0] for s in scenario.staffing.shifts)
    staffed = intervals["staffed_s"].sum() / 3600
    # Staffed time is the shifts plus overtime: an agent finishes the contact in hand.
    assert planned <= staffed <= planned * 1.01
    assert (intervals["available_s"] <= intervals["staffed_s"] + 1e-9).all()
    breaks_share = sum(s.agents[0] * 1800 for s in scenario.staffing.shifts if s.breaks) / \
        (planned * 3600)
    shrinkage = intervals["shrinkage_s"].sum() / intervals["staffed_s"].sum()
    assert shrinkage == pytest.approx(scenario.staffing.shrinkage + breaks_share, abs=0.01)


def test_handling_never_exceeds_available_time():
    run = simulate(builtin_scenario("demo", {"scenario.days": "3"}))
    cells = run.agent_intervals.to_pandas()
    assert (cells["handling_s"] <= cells["available_s"] + 1e-6).all()
    assert (cells["handling_s"] > 0).any() and (cells["shrinkage_s"] > 0).any()
    occupancy = kpiforge.compute(run.tables(), kpis=["occupancy"], by=["agent"],
                                 grain="15min")["occupancy"]
    assert np.nanmax(occupancy) <= 1 + 1e-12


ONE_AGENT = """
[scenario]
days = 1
seed = 3

[channels.call]
volume_per_day = 2000
aht_s = {aht}

[staffing]
[[staffing.shifts]]
name = "solo"
start = "08:00"
end = "12:00"
agents = 1
breaks = [{breaks}]
"""

LUNCH = '{ start = "10:00", minutes = 30 }'
TWO_BREAKS = '{ start = "10:00", minutes = 30 }, { start = "10:30", minutes = 15 }'
LATE_BREAK = '{ start = "11:30", minutes = 30 }'


@pytest.mark.parametrize(("aht", "breaks", "blocks"), [
    (700.0, LUNCH, [(10, 1800)]),
    (660.0, LUNCH, [(10, 1800)]),
    (660.0, TWO_BREAKS, [(10, 1800), (10.5, 900)]),  # the second waits for the first
    (660.0, LATE_BREAK, [(11.5, 1800)]),             # cut short by the end of the shift
])
def test_a_block_due_mid_call_starts_when_the_call_ends_and_lasts_in_full(
        tmp_path, aht, breaks, blocks):
    path = tmp_path / "solo.toml"
    path.write_text(ONE_AGENT.format(aht=aht, breaks=breaks))
    run = simulate(load_scenario(path))
    # By hand: calls back to back from 08:00 (a queue is always waiting); a block falls due
    # at its time, starts when the call in hand (or the block before) ends and lasts its
    # length, up to the end of the shift; a call in hand at 12:00 is finished (overtime).
    expected, taken, t, due = [], 0.0, 8 * 3600.0, list(blocks)
    while t < 12 * 3600:
        expected.append(t)
        t += aht
        while due and due[0][0] * 3600 <= t:
            length = min(due.pop(0)[1], 12 * 3600 - t)
            taken, t = taken + length, t + length
    (answered,) = columns(run, "answered_s")
    assert np.sort(answered[~np.isnan(answered)]).tolist() == pytest.approx(expected)
    cells = run.agent_intervals.to_pandas()
    assert cells["shrinkage_s"].sum() == pytest.approx(taken)
    overtime_end = max(expected[-1] + aht, 12 * 3600)
    assert cells["staffed_s"].sum() == pytest.approx(overtime_end - 8 * 3600)
    assert cells["handling_s"].sum() == pytest.approx(len(expected) * aht)


def chat_floor(arrivals, agents, concurrency, stretch, handle):
    """A hand-built floor: chats arriving at ``arrivals`` with fixed ``handle`` seconds,
    ``agents`` agents holding ``concurrency`` chats each, on duty all the time."""
    scenario = flat(**{"channels.call.kind": '"chat"',
                       "channels.call.concurrency_stretch": str(stretch)})
    n = len(arrivals)
    contacts = Contacts()
    contacts.extend({"arrived": np.asarray(arrivals, float), "channel": np.zeros(n, int),
                     "queue": np.zeros(n, int), "customer": np.zeros(n, int),
                     "deadline": np.full(n, np.inf), "handle": np.full(n, handle),
                     "acw": np.zeros(n), "resolve": np.ones(n, bool),
                     "repeat": np.zeros(n, bool), "escalate": np.zeros(n, bool),
                     "tier2_handle": np.zeros(n), "repeat_delay": np.zeros(n)}, ordinal=1)
    env = simpy.Environment()
    centre = ContactCentre(env, scenario, contacts, [CHAT, ESCALATION], repeats=None)
    for index in range(agents):
        centre.add_agent(Agent(index, [0], [], concurrency, 1), [Duty(0.0, 1e6, ())])
    env.process(centre.arrivals(range(n)))
    env.run(until=1e5)
    return contacts


def test_every_chat_in_progress_slows_when_another_starts():
    # By hand, stretch 0.5: chat 1 alone for 100 s (100 s of its 600 done), then both at
    # 1 / 1.5 pace: chat 1's last 500 s take 750 s (ends at 850), chat 2 does 500 s of its
    # work meanwhile, then its last 100 s alone (ends at 950).
    contacts = chat_floor([0.0, 100.0], agents=1, concurrency=2, stretch=0.5, handle=600.0)
    assert contacts.handled == pytest.approx([850.0, 850.0])
    assert contacts.started == [0.0, 100.0]


def test_a_new_chat_goes_to_the_agent_holding_the_fewest():
    contacts = chat_floor([0.0, 10.0, 20.0, 30.0], agents=2, concurrency=2, stretch=0.25,
                          handle=1000.0)
    assert contacts.agent == [0, 1, 0, 1]


def test_chat_concurrency_without_stretch_is_that_many_single_chat_agents():
    base = {"channels.call.kind": '"chat"', "channels.call.concurrency_stretch": "0"}
    paired = simulate(flat(**base, **{"staffing.agents": "6", "staffing.concurrency": "2"}))
    single = simulate(flat(**base, **{"staffing.agents": "12"}))
    for name in paired.contacts.column_names:
        if name == "agent":
            continue
        a, b = paired.contacts[name].to_numpy(), single.contacts[name].to_numpy()
        if a.dtype.kind == "f":  # the chat clock's pace arithmetic may move the last bits
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6, err_msg=name)
        else:
            assert (a == b).all(), name


def test_each_channel_numbers_its_own_contacts():
    run = simulate(builtin_scenario("demo", {"scenario.days": "1", "scenario.warmup": "0"}))
    contacts = run.contacts.to_pandas()
    for k, channel in enumerate(["call", "chat", "email"]):
        ids = np.sort(contacts.loc[contacts["channel"] == channel, "contact_id"].to_numpy())
        assert ids.tolist() == [1 + n * 3 + k for n in range(len(ids))]


def test_a_repeat_keeps_the_case_of_the_contact_it_repeats():
    run = simulate(flat(**{"channels.call.resolve": "0.5", "channels.call.repeat": "1",
                           "channels.call.repeat_delay_s": "3600"}))
    contacts = run.contacts.to_pandas().set_index("contact_id")
    first = contacts[contacts.index == contacts["case_id"]]
    repeats = contacts[contacts.index != contacts["case_id"]]
    assert len(repeats) > 500
    assert (first["touches"].dropna().isin([0, 1])).all()
    # Every repeat's case opened with a first contact of the same customer, earlier.
    opened = first.loc[repeats["case_id"]]
    assert (opened["customer_id"].to_numpy() == repeats["customer_id"].to_numpy()).all()
    assert (opened["arrived_s"].to_numpy() < repeats["arrived_s"].to_numpy()).all()
    # Only an answered, unresolved contact brings the next one: in arrival order, a case's
    # contacts before its last are answered and are its touches 1, 2, 3...
    ordered = contacts.sort_values("arrived_s")
    rank = ordered.groupby("case_id").cumcount()
    last = rank == ordered.groupby("case_id")["case_id"].transform("size") - 1
    assert (ordered["touches"][~last] == rank[~last] + 1).all()


def test_overtime_at_the_end_of_the_run_is_staffed(tmp_path):
    # The shift ends at 23:55 with a 20-minute email in hand that runs past the end of the
    # run: its handling up to midnight is overtime, staffed and available.
    path = tmp_path / "late.toml"
    path.write_text(ONE_AGENT.format(aht=1200.0, breaks="").replace(
        'end = "12:00"', 'end = "23:55"').replace("[channels.call]", "[channels.email]"))
    cells = simulate(load_scenario(path)).agent_intervals.to_pandas()
    assert (cells["handling_s"] <= cells["available_s"] + 1e-6).all()
    last = cells[cells["interval_start_s"] == 86400 - 900]
    assert last["staffed_s"].item() == last["handling_s"].item() == 900
