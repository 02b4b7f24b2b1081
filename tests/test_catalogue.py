"""Every catalogue KPI and KGI against values worked out by hand from conftest's tables.

The arithmetic in the expected values is spelled out so a reader can check it against the
rows; nothing here is computed by the engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from handmade import CONTACT_COLUMNS, CONTACT_ROWS, write_csv

import kpiforge
from kpiforge.registry import default_registry

# Overall, from CONTACT_ROWS. Waits of answered contacts: 10, 30, 5, 40, 10.
# Waits of answered or abandoned: those plus 30 (#3) and 5 (#6).
CONTACTS_OVERALL = {
    "offered": 8,
    "answered": 5,
    "abandoned": 2,
    "answer_rate": 5 / 8,
    "abandonment_rate": 2 / 8,
    "first_response_time": (10 + 30 + 5 + 40 + 10) / 5,
    "asa": (10 + 30 + 5 + 40 + 10) / 5,
    "first_response_time_median": 10,  # sorted 5 10 10 30 40
    "first_response_time_p90": 30 + 0.6 * (40 - 30),  # h = 0.9 * 4 = 3.6
    "responses_per_hour": 5 / (3700 / 3600),  # span: first arrival 0, last 3700
    # Default thresholds call 20 s, chat 60 s. Answered within: calls #1 (10), #4 (5);
    # chats #5 (40), #8 (10).
    "service_level": 4 / 8,
    "service_level_answered": 4 / 5,
    # Abandoned within: #6 (chat, 5 s); #3 (call, 30 s) is past 20 s.
    "service_level_excl_short_abandons": 4 / (8 - 1),
    # mean talk over answered contacts + mean ACW over answered contacts
    "aht": (100 + 200 + 50 + 300 + 100) / 5 + (20 + 10 + 0 + 30 + 0) / 5,
    "avg_wait": (10 + 30 + 30 + 5 + 40 + 5 + 10) / 7,
    "wait_p90": 30 + 0.4 * (40 - 30),  # sorted 5 5 10 10 30 30 40; h = 0.9 * 6 = 5.4
    "resolution_rate": 4 / 8,
    "resolutions": 4,  # #1, #2, #5, #8 (placed by resolved_s: same total)
    "time_to_resolution": (200 + 440 + 400 + 200) / 4,
    "time_to_resolution_median": (200 + 400) / 2,  # sorted 200 200 400 440
    "time_to_resolution_p90": 400 + 0.7 * (440 - 400),  # h = 0.9 * 3 = 2.7
    "fcr_rate": 3 / 4,  # resolved with one touch: #1, #5, #8
    "escalations": 1,
    "escalation_rate": 1 / 5,
    "replies_per_resolution": (1 + 2 + 3 + 1) / 4,
    "backlog": 1,  # #7 still waiting; #4, an answered call, ended when handled
    "untouched": 1,  # #7
    "csat_responses": 4,
    "csat": 2 / 4,  # answers 5, 3, 2, 5
    "csat_score": (5 + 3 + 2 + 5) / 4,
    "nps": 100 * (2 - 2) / 5,  # 10, 6, 8, 3, 9: promoters 10 and 9, detractors 6 and 3
    "agents_active": 2,  # answered by x (#1, #4, #8) and y (#2, #5)
}

# agent_intervals: handling 1200 + 900 + 1200, available 1500 + 1800 + 1200, staffed 3 x 1800.
AGENTS_OVERALL = {
    "occupancy": 3300 / 4500,
    "utilisation": 3300 / 5400,
    "shrinkage": (300 + 0 + 600) / 5400,
    "staffed_hours": 5400 / 3600,
    "cost_per_contact": (10 + 10 + 12) / 5,
}

# customers: at start c1-c4, at end c1 c3 c4 c5, c5 new, c2 churned, c3 downgraded.
CUSTOMERS_OVERALL = {
    "churn_rate": (1 + 1) / 4,
    "logo_churn_rate": 1 / 4,
    "retention_rate": 4 / 4,
    "retention_rate_excl_new": (4 - 1) / 4,
    "upsell_rate": 1 / 4,
    "cross_sell_rate": 1 / 4,
    "health_score": (80 + 20 + 50 + 90) / 4,
    "revenue_per_customer": (100 + 50 + 40 + 100 + 30) / 5,
    "active_customers": 5,
    "operating_profit": 60 + 30 + 20 + 60 + 10,
    "ltv": ((60 + 30 + 20 + 60 + 10) / 5) / (1 / 4),  # logo churn: c2 only
}

EXPECTED = {**CONTACTS_OVERALL, **AGENTS_OVERALL, **CUSTOMERS_OVERALL}
NEEDS_EXTRA_COLUMNS = {"average_response_time", "cx_rating", "customers_served"}
#: KPIs the tables above leave undefined (no email), worked by hand in their own test.
OWN_TEST = {"open_email_age"}
# Business hours: the rows' times are 1970-01-01 (a Thursday) 00:00-01:10 UTC, which is
# 09:00-10:10 in Tokyo: within weekdays-9-17 there, every wait is business time; in UTC
# every wait lies before 09:00, so none is.
BUSINESS_TOKYO = {f"{kpi}_business": CONTACTS_OVERALL[kpi] for kpi in (
    "first_response_time", "first_response_time_median", "first_response_time_p90",
    "time_to_resolution", "time_to_resolution_median", "time_to_resolution_p90")}


def test_every_builtin_kpi_has_a_hand_computed_value():
    builtin = {name for name, plugin in default_registry().origin.items()
               if plugin.startswith("kpiforge.plugins.") and name in default_registry().kpis}
    assert builtin - NEEDS_EXTRA_COLUMNS - OWN_TEST == set(EXPECTED) | set(BUSINESS_TOKYO)


@pytest.mark.parametrize("kpi", sorted(BUSINESS_TOKYO))
def test_business_hours_values_match_hand_computation(all_tables, kpi):
    tokyo = kpiforge.compute(all_tables, kpis=[kpi], calendar="weekdays-9-17",
                             tz="Asia/Tokyo")
    assert tokyo.values[kpi][0] == pytest.approx(BUSINESS_TOKYO[kpi], rel=1e-12)
    utc = kpiforge.compute(all_tables, kpis=[kpi], calendar="weekdays-9-17")
    assert utc.values[kpi][0] == 0


@pytest.mark.parametrize("kpi", sorted(EXPECTED))
def test_overall_value_matches_hand_computation(all_tables, kpi):
    result = kpiforge.compute(all_tables, kpis=[kpi])
    assert result.values[kpi][0] == pytest.approx(EXPECTED[kpi], rel=1e-12)


def test_all_at_once_equals_one_at_a_time(all_tables):
    result = kpiforge.compute(all_tables)
    assert set(EXPECTED) <= set(result.values)
    for kpi, expected in EXPECTED.items():
        assert result.values[kpi][0] == pytest.approx(expected, rel=1e-12), kpi


def test_extra_column_kpis(contacts):
    contacts["reply_wait_s"] = contacts["replies"] * 0 + [30, 100, float("nan"), 5, 60,
                                                           float("nan"), float("nan"), 10]
    contacts["cx_score"] = contacts["csat"]
    result = kpiforge.compute({"contacts": contacts},
                              kpis=["average_response_time", "cx_rating"])
    # replies of rows with reply_wait_s: 1 + 2 + 1 + 3 + 1 (rows 1, 2, 4, 5, 8)
    assert result["average_response_time"][0] == pytest.approx((30 + 100 + 5 + 60 + 10) / 8)
    assert result["cx_rating"][0] == pytest.approx((5 + 3 + 2 + 5) / 4)


#: A customer per contact #1..#8: calls c1 c1 c2 (none), chats c3 c2 c1 c4.
CUSTOMER_PER_CONTACT = ["c1", "c1", "c2", None, "c3", "c2", "c1", "c4"]


@pytest.mark.parametrize("options", [{}, {"chunk_rows": 3}, {"chunk_rows": 3, "workers": 2}])
def test_customers_served_and_agents_active_count_each_once(contacts, options):
    contacts["customer_id"] = np.array(CUSTOMER_PER_CONTACT, dtype=object)
    result = kpiforge.compute({"contacts": contacts}, kpis=["customers_served", "agents_active"],
                              by=["channel"], totals=True, **options)
    assert result.keys["channel"].tolist() == ["call", "chat", None]
    # Calls: c1, c2 (the fourth has none); chats: c3, c2, c1, c4; all: c1..c4, not 2 + 4.
    assert result["customers_served"].tolist() == [2, 4, 4]
    # Answered calls by x (#1, #4), y (#2); chats by y (#5), x (#8); all: x and y, not 4.
    assert result["agents_active"].tolist() == [2, 2, 2]


def test_customers_served_and_agents_active_by_queue_from_a_csv_file(tmp_path):
    rows = [(*row, customer) for row, customer in zip(CONTACT_ROWS, CUSTOMER_PER_CONTACT,
                                                      strict=True)]
    path = write_csv(tmp_path / "contacts.csv", rows, (*CONTACT_COLUMNS, "customer_id"))
    result = kpiforge.compute(str(path), kpis=["customers_served", "agents_active"],
                              by=["queue"], chunk_rows=2)
    # Queue a: #1 c1 x, #2 c1 y, #5 c3 y, #6 c2 (abandoned); queue b: #3 c2, #4 x (no
    # customer), #7 c1 (not answered), #8 c4 x.
    assert result.keys["queue"].tolist() == ["a", "b"]
    assert result["customers_served"].tolist() == [3, 3]
    assert result["agents_active"].tolist() == [2, 1]


def test_by_channel_and_queue_with_undefined_groups(contacts):
    result = kpiforge.compute({"contacts": contacts}, by=["channel", "queue"],
                              kpis=["offered", "asa", "csat", "fcr_rate", "time_to_resolution",
                                    "wait_p90"])
    rows = {(r["channel"], r["queue"]): r for r in result.to_records()}
    assert list(rows) == [("call", "a"), ("call", "b"), ("chat", "a"), ("chat", "b")]
    assert rows["call", "a"]["asa"] == pytest.approx((10 + 30) / 2)
    assert rows["call", "a"]["csat"] == pytest.approx(1 / 2)  # 5 and 3
    # call/b: #3 abandoned, #4 answered without a survey answer and unresolved.
    assert rows["call", "b"]["csat"] is None
    assert rows["call", "b"]["fcr_rate"] is None
    assert rows["call", "b"]["time_to_resolution"] is None
    assert rows["call", "b"]["wait_p90"] == pytest.approx(5 + 0.9 * (30 - 5))
    # chat/b: #7 never answered, #8 answered after 10 s.
    assert rows["chat", "b"]["asa"] == pytest.approx(10)
    assert rows["chat", "b"]["wait_p90"] == pytest.approx(10)
    assert rows["chat", "a"]["csat"] == 0


def test_cost_per_contact_by_agent_joins_two_tables(contacts, agent_intervals):
    result = kpiforge.compute({"contacts": contacts, "agent_intervals": agent_intervals},
                              by=["agent"], kpis=["cost_per_contact", "occupancy", "answered"])
    rows = {r["agent"]: r for r in result.to_records()}
    assert list(rows) == [None, "x", "y"]
    assert rows["x"]["cost_per_contact"] == pytest.approx(20 / 3)  # x answered #1, #4, #8
    assert rows["y"]["cost_per_contact"] == pytest.approx(12 / 2)
    assert rows["x"]["occupancy"] == pytest.approx((1200 + 900) / (1500 + 1800))
    assert rows[None]["answered"] == 0
    assert rows[None]["cost_per_contact"] is None
    assert rows[None]["occupancy"] is None


def test_service_level_threshold_is_a_run_parameter(contacts):
    result = kpiforge.compute({"contacts": contacts}, kpis=["service_level"],
                              params={"sl_threshold_s": 30})
    # 30 s for every channel: calls #1 (10), #2 (30), #4 (5); chat #8 (10), not #5 (40).
    assert result["service_level"][0] == pytest.approx(4 / 8)


def test_a_customer_both_churned_and_downgraded_counts_once(customers):
    customers["downgraded"][1] = 1  # c2: churned and downgraded
    result = kpiforge.compute({"customers": customers},
                              kpis=["churn_rate", "logo_churn_rate", "ltv"])
    assert result["churn_rate"][0] == 2 / 4  # c2 once, c3
    assert result["logo_churn_rate"][0] == 1 / 4
    assert result["ltv"][0] == ((60 + 30 + 20 + 60 + 10) / 5) / (1 / 4)


@pytest.mark.parametrize(("answers", "params", "csat", "score"), [
    ([7, 10, 9, 3], {"csat_scale_max": 10, "csat_satisfied_min": 9}, 2 / 4, 29 / 4),
    ([1, 0, 1, 1], {"csat_scale_min": 0, "csat_scale_max": 1, "csat_satisfied_min": 1},
     3 / 4, 3 / 4),
])
def test_csat_scales_are_parameters(answers, params, csat, score):
    contacts = {"arrived_s": np.zeros(4), "csat": np.array(answers, dtype=float)}
    result = kpiforge.compute({"contacts": contacts}, kpis=["csat", "csat_score"],
                              params=params)
    assert (result["csat"][0], result["csat_score"][0]) == (csat, score)


def test_the_scale_check_follows_the_parameters():
    contacts = {"arrived_s": np.zeros(3), "csat": np.array([7.0, 10.0, 11.0])}
    with pytest.raises(kpiforge.KpiforgeError, match=r"row 1, column 'csat': 7 is outside "
                       r"the 1-5 scale .* \(2 more rows like it\)"):
        kpiforge.compute({"contacts": contacts}, kpis=["csat"])
    with pytest.raises(kpiforge.KpiforgeError, match=r"row 3, column 'csat': 11 is outside "
                       r"the 1-10 scale"):
        kpiforge.compute({"contacts": contacts}, kpis=["csat"], params={"csat_scale_max": 10})


def test_a_column_with_no_value_in_a_group_is_undefined_not_zero(contacts):
    contacts["escalated"][:] = np.nan
    contacts["touches"][4:] = np.nan  # chats: touches unknown
    contacts["replies"][:] = np.nan
    result = kpiforge.compute({"contacts": contacts}, by=["channel"],
                              kpis=["escalations", "escalation_rate", "fcr_rate",
                                    "replies_per_resolution", "resolution_rate"])
    records = {r["channel"]: r for r in result.to_records()}
    for channel in ("call", "chat"):
        assert records[channel]["escalations"] is None
        assert records[channel]["escalation_rate"] is None
        assert records[channel]["replies_per_resolution"] is None
    assert records["call"]["fcr_rate"] == 1 / 2  # resolved #1 (1 touch), #2 (2 touches)
    assert records["chat"]["fcr_rate"] is None
    # An empty resolved_s means "not resolved": chat resolved #5 and #8 of 4.
    assert records["chat"]["resolution_rate"] == 2 / 4


def test_open_email_age_at_the_end_of_the_data(contacts):
    contacts["channel"][6] = "email"  # #7, arrived at 900 and still waiting
    result = kpiforge.compute({"contacts": contacts}, kpis=["open_email_age", "backlog"])
    # The end of the data: the latest arrival or end, #8's resolution at 3900.
    assert result["open_email_age"][0] == 3900 - 900
    assert result["backlog"][0] == 1


def test_escalation_rate_leaves_unknown_flags_out(contacts):
    contacts["escalated"][1] = np.nan  # #2, the escalated one, unknown
    contacts["escalated"][0] = 1  # #1 escalated
    result = kpiforge.compute({"contacts": contacts}, kpis=["escalations", "escalation_rate"])
    assert result["escalations"][0] == 1
    assert result["escalation_rate"][0] == 1 / 4  # answered with the flag: #1 #4 #5 #8


def test_backlog_counts_contacts_not_ended_by_the_end_of_the_data():
    nan = np.nan
    contacts = {  # call handled, call waiting, email replied, email resolved, chat abandoned
        "channel": np.array(["call", "call", "email", "email", "chat"], dtype=object),
        "arrived_s": np.array([0.0, 10, 20, 30, 40]),
        "answered_s": np.array([5.0, nan, 100, 200, nan]),
        "abandoned_s": np.array([nan, nan, nan, nan, 50]),
        "resolved_s": np.array([nan, nan, nan, 300, nan]),
    }
    result = kpiforge.compute({"contacts": contacts}, kpis=["backlog", "untouched"],
                              by=["channel"])
    records = {r["channel"]: (r["backlog"], r["untouched"]) for r in result.to_records()}
    assert records == {"call": (1, 1), "chat": (0, 0), "email": (1, 0)}


def aht_of(columns) -> float:
    return kpiforge.compute({"contacts": columns}, kpis=["aht"])["aht"][0]


def test_aht_means_talk_and_acw_each_over_the_contacts_that_recorded_it():
    two = {"arrived_s": np.array([0.0, 0.0]), "answered_s": np.array([5.0, 5.0]),
           "handle_s": np.array([100.0, 300.0]), "acw_s": np.array([20.0, np.nan])}
    assert aht_of(two) == (100 + 300) / 2 + 20 / 1  # 220 s, not 120 s
    assert aht_of({**two, "acw_s": np.array([np.nan, np.nan])}) == 200  # no ACW: 0
    del two["acw_s"]
    assert aht_of(two) == 200  # no acw_s column: handling alone
    assert "aht" in kpiforge.compute({"contacts": two}).values


def test_service_level_threshold_per_channel(contacts):
    result = kpiforge.compute({"contacts": contacts}, kpis=["service_level"],
                              by=["channel"], params={"sl_threshold_s": {"chat": 30}})
    # call keeps 20 s: #1 (10), #4 (5) of 4; chat 30 s: #8 (10) of 4, not #5 (40).
    assert dict(zip(result.keys["channel"], result["service_level"], strict=True)) == {
        "call": 2 / 4, "chat": 1 / 4}
    for how in ({}, {"chunk_rows": 3}, {"workers": 2, "chunk_rows": 3}):
        overall = kpiforge.compute({"contacts": contacts}, kpis=["service_level"],
                                   params={"sl_threshold_s": {"chat": 30}}, **how)
        assert overall["service_level"][0] == pytest.approx(3 / 8), how  # rows by channel


def test_rows_without_a_channel_take_the_default_threshold(contacts):
    del contacts["channel"]
    result = kpiforge.compute({"contacts": contacts}, kpis=["service_level"],
                              params={"sl_threshold_s": {"chat": 50, "other": 5}})
    # Every row takes the default, 20 s: #1 (10), #4 (5), #8 (10).
    assert result["service_level"][0] == pytest.approx(3 / 8)


@pytest.mark.parametrize(("params", "message"), [
    ({"sl_threshold_s": {"email": "soon"}}, "must be a finite number"),
    ({"sl_threshold_s": {"email": float("inf")}}, "must be a finite number"),
    ({"ltv_months": {"call": 3}}, "unknown parameter"),
])
def test_bad_per_label_parameters(contacts, params, message):
    with pytest.raises(kpiforge.KpiforgeError, match=message):
        kpiforge.compute({"contacts": contacts}, kpis=["service_level"], params=params)


def test_targets_judge_by_direction(all_tables):
    result = kpiforge.compute(all_tables, kpis=["csat", "churn_rate", "aht"])
    assert result.target_met("csat")[0] == 0  # 0.5 < 0.8
    assert result.target_met("churn_rate")[0] == 0  # 0.5 > 0.03
    assert result.target_met("aht") is None
    assert not math.isnan(result["aht"][0])
