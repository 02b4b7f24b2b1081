"""Contact-centre operations KPIs a planner needs for staffing: service level, speed of
answer, waits, and agent occupancy, utilisation, shrinkage and cost (industry standard).

``sl_threshold_s`` is a per-channel parameter, by default the usual targets: call 20 s (the
80/20 standard), chat 60 s, email 86,400 s (24 h) and 20 s for any other channel. Override
it per run with ``params={"sl_threshold_s": {"email": 3600}}`` or ``--param
sl_threshold_s.email=3600`` (one channel), or a number for every channel.
"""

from kpiforge import KPI, Link, Measure, PerLabel, hookimpl

SL = {"sl_threshold_s": PerLabel("channel", {"call": 20, "chat": 60, "email": 86400},
                                 default=20)}
#: What every service-level KPI says about its threshold.
THRESHOLD = ("sl_threshold_s is per channel: by default call 20 s, chat 60 s, email "
             "86,400 s (24 h), 20 s for other channels and for contacts without one; each "
             "contact is judged by its own channel's threshold, also when not grouping by "
             "channel.")
WAIT = "coalesce(answered_s, abandoned_s) - arrived_s"
#: What every agent_intervals KPI says about intervals longer than the grain.
SPREAD = ("With a grain, an agent interval [interval_start_s, interval_start_s + interval_s) "
          "is spread over the grain's intervals it overlaps, by overlap share (a 30-minute "
          "interval at a 15-minute grain: half in each).")


@hookimpl
def kpiforge_register_measures():
    return [
        Measure("answered_within_sl", "contacts", "count",
                where="answered_s - arrived_s <= sl_threshold_s", params=SL,
                description="contacts answered within the service-level threshold"),
        Measure("abandoned_within_sl", "contacts", "count",
                where="abandoned_s - arrived_s <= sl_threshold_s", params=SL,
                description="contacts abandoned within the service-level threshold"),
        Measure("wait_sum", "contacts", "sum", value=WAIT,
                description="seconds waited until answer or abandonment"),
        Measure("wait_count", "contacts", "count", value=WAIT,
                description="contacts that were answered or abandoned"),
        Measure("wait_p90_s", "contacts", "quantile", value=WAIT, q=0.9),
        Measure("staffed_sum", "agent_intervals", "sum", value="staffed_s"),
        Measure("available_sum", "agent_intervals", "sum", value="available_s"),
        Measure("handling_sum", "agent_intervals", "sum", value="handling_s"),
        Measure("shrinkage_sum", "agent_intervals", "sum", value="shrinkage_s"),
        Measure("cost_sum", "agent_intervals", "sum", value="cost"),
        Measure("distinct_agents_answering", "contacts", "distinct", value="agent",
                where="notnan(answered_s)",
                description="distinct agent values among answered contacts"),
    ]


@hookimpl
def kpiforge_register_kpis():
    return [
        KPI("service_level", "answered_within_sl / offered", unit="%", direction="higher",
            target=0.8, kgis=["csat"],
            area="operations", role="quality", timing="leading",
            description="Answered within sl_threshold_s / offered (80/20 standard for "
                        "calls). Abandons count against it; see service_level_answered and "
                        "service_level_excl_short_abandons for the other variants. "
                        + THRESHOLD),
        KPI("service_level_answered", "answered_within_sl / answered", unit="%",
            direction="higher", kgis=["csat"],
            area="operations", role="quality", timing="leading",
            description="Answered within sl_threshold_s / answered (abandons ignored). "
                        + THRESHOLD),
        KPI("service_level_excl_short_abandons",
            "answered_within_sl / (offered - abandoned_within_sl)", unit="%",
            direction="higher", kgis=["csat"],
            area="operations", role="quality", timing="leading",
            description="Answered within sl_threshold_s / (offered - abandoned within "
                        "sl_threshold_s): short abandons do not count against it. "
                        + THRESHOLD),
        KPI("asa", "wait_to_answer_sum / answered", unit="s", direction="lower",
            kgis=["csat"],
            area="operations", role="quality", timing="leading",
            description="Average speed of answer: mean wait of answered contacts."),
        KPI("avg_wait", "wait_sum / wait_count", unit="s", direction="lower",
            kgis=["csat"],
            area="operations", role="quality", timing="leading",
            description="Mean wait over answered and abandoned contacts (the wait ends at "
                        "answer, else at abandonment)."),
        KPI("wait_p90", "wait_p90_s", unit="s", direction="lower", kgis=["csat"],
            area="operations", role="quality", timing="leading",
            description="90th percentile of the wait over answered and abandoned contacts "
                        "(numpy's linear method)."),
        KPI("occupancy", "handling_sum / available_sum", unit="%", direction="neutral",
            kgis=["operating_profit"],
            links=[Link("operating_profit", effect=1)],
            area="operations", role="efficiency", timing="leading",
            description="Agent time handling (talk, hold, after-contact work) / time logged "
                        "in and available (available_s includes time spent handling). Too "
                        "high burns agents out: plan a band, typically 75-85 %. " + SPREAD),
        KPI("utilisation", "handling_sum / staffed_sum", unit="%", direction="neutral",
            links=[Link("operating_profit", effect=1)],
            area="operations", role="efficiency", timing="leading",
            kgis=["operating_profit"], description="Handling time / paid (staffed) time."),
        KPI("shrinkage", "shrinkage_sum / staffed_sum", unit="%", direction="lower",
            kgis=["operating_profit"],
            area="operations", role="efficiency", timing="leading",
            description="Paid time lost to breaks, training and absence / paid time."),
        KPI("staffed_hours", "staffed_sum / 3600", unit="h", direction="neutral",
            links=[Link("operating_profit", effect=-1)],
            area="operations", role="efficiency", timing="leading",
            kgis=["operating_profit"], description="Paid agent hours. " + SPREAD),
        KPI("agents_active", "distinct_agents_answering", unit="agents",
            direction="neutral", links=[Link("operating_profit", effect=-1)],
            area="operations", role="efficiency", timing="leading",
            kgis=["operating_profit"],
            description="Distinct agents (the agent column of contacts) who answered at "
                        "least one contact in the period: agents who worked contacts, read "
                        "from contacts so that it groups by channel and queue, not agents "
                        "staffed (agent_intervals: see staffed_hours). An agent who answers "
                        "in several groups counts once in each, so groups need not add up "
                        "to the total (--totals counts each agent once)."),
        KPI("cost_per_contact", "cost_sum / answered", unit="currency", direction="lower",
            kgis=["operating_profit"],
            area="operations", role="efficiency", timing="leading",
            description="Staffing cost (agent_intervals.cost) / handled contacts; needs "
                        "both tables, and a group with rows in only one of them (no contacts, "
                        "or no agent intervals) is undefined, not 0. " + SPREAD),
    ]
