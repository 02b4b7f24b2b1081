"""Customer-support KPIs from the seed articles (000, 002, 003, 004), over ``contacts``.

Counts, response and resolution times, handling time, escalation, first-contact resolution
and backlog. Rates are fractions 0..1 (unit ``%`` tells reports to show them x100); times
are seconds; a contact's first response is ``answered_s``.
"""

from kpiforge import KPI, Link, Measure, hookimpl

WAIT_TO_ANSWER = "answered_s - arrived_s"
#: Not ended by the end of the data: not resolved, not abandoned, and, for a live contact
#: (call or chat, which ends when handled), not answered.
OPEN = ("isnan(resolved_s) & isnan(abandoned_s) & "
        "((channel not in ('call', 'chat')) | isnan(answered_s))")
#: The quantiles helpdesk analytics report beside the means: id suffix, q, name.
QUANTILES = (("median", 0.5, "median"), ("p90", 0.9, "90th percentile"))
#: Open seconds of the run's business-hours calendar to the first response and to resolution.
BUSINESS_WAIT = "business_s(arrived_s, answered_s)"
BUSINESS_RESOLUTION = "business_s(arrived_s, resolved_s)"
#: How the business-hours KPIs count, for their descriptions.
BUSINESS = ("counting only the calendar's open hours (weekly hours in its time zone, "
            "closed on its holidays): a ticket created Friday 16:30 and answered Monday "
            "09:30 at 09:00-17:00 waited one business hour. Needs a calendar (--calendar, "
            "calendar=); left out without one")


@hookimpl
def kpiforge_register_measures():
    return [
        Measure("contacts_offered", "contacts", "count", description="contacts that arrived"),
        Measure("contacts_answered", "contacts", "count", where="notnan(answered_s)",
                description="contacts that reached an agent or got a first reply"),
        Measure("contacts_abandoned", "contacts", "count", where="notnan(abandoned_s)",
                description="contacts that left before reaching an agent"),
        Measure("wait_to_answer_sum", "contacts", "sum", value=WAIT_TO_ANSWER,
                description="seconds from arrival to first response, answered contacts"),
        Measure("talk_sum", "contacts", "sum", value="handle_s", where="notnan(answered_s)",
                description="talk/chat/work time (hold included) of answered contacts"),
        Measure("talk_count", "contacts", "count", value="handle_s",
                where="notnan(answered_s)",
                description="answered contacts with their handling time recorded"),
        Measure("acw_sum", "contacts", "sum", value="acw_s", where="notnan(answered_s)",
                optional=True, description="after-contact work of answered contacts"),
        Measure("acw_count", "contacts", "count", value="acw_s", where="notnan(answered_s)",
                optional=True,
                description="answered contacts with their after-contact work recorded"),
        Measure("contacts_resolved", "contacts", "count", where="notnan(resolved_s)"),
        Measure("resolution_time_sum", "contacts", "sum", value="resolved_s - arrived_s"),
        *(Measure(f"first_response_{name}_s", "contacts", "quantile", value=WAIT_TO_ANSWER,
                  q=q, description=f"{label} of the first response times of answered contacts")
          for name, q, label in QUANTILES),
        *(Measure(f"resolution_time_{name}_s", "contacts", "quantile",
                  value="resolved_s - arrived_s", q=q,
                  description=f"{label} of the resolution times of resolved contacts")
          for name, q, label in QUANTILES),
        Measure("business_wait_sum", "contacts", "sum", value=BUSINESS_WAIT,
                description="open seconds of the business-hours calendar from arrival to "
                            "first response, answered contacts"),
        Measure("business_resolution_sum", "contacts", "sum", value=BUSINESS_RESOLUTION,
                description="open seconds of the business-hours calendar from arrival to "
                            "resolution, resolved contacts"),
        *(Measure(f"business_first_response_{name}_s", "contacts", "quantile",
                  value=BUSINESS_WAIT, q=q,
                  description=f"{label} of the business-hours first response times")
          for name, q, label in QUANTILES),
        *(Measure(f"business_resolution_{name}_s", "contacts", "quantile",
                  value=BUSINESS_RESOLUTION, q=q,
                  description=f"{label} of the business-hours resolution times")
          for name, q, label in QUANTILES),
        Measure("resolved_first_touch", "contacts", "count",
                where="notnan(resolved_s) & (touches == 1)"),
        Measure("resolved_touches_known", "contacts", "count", value="touches",
                where="notnan(resolved_s)",
                description="resolved contacts with their number of touches recorded"),
        Measure("contacts_escalated", "contacts", "count", where="escalated > 0"),
        Measure("escalated_known", "contacts", "count", value="escalated",
                description="contacts with the escalated flag recorded (0 or 1)"),
        Measure("answered_escalated_known", "contacts", "count", value="escalated",
                where="notnan(answered_s)",
                description="answered contacts with the escalated flag recorded"),
        Measure("replies_to_resolve", "contacts", "sum", value="replies",
                where="notnan(resolved_s)"),
        Measure("resolved_replies_known", "contacts", "count", value="replies",
                where="notnan(resolved_s)",
                description="resolved contacts with their number of replies recorded"),
        Measure("contacts_open", "contacts", "count", where=OPEN),
        Measure("contacts_untouched", "contacts", "count",
                where=f"{OPEN} & isnan(answered_s)"),
        Measure("reply_wait_sum", "contacts", "sum", value="reply_wait_s",
                description="extra column reply_wait_s: customer wait summed over all replies"),
        Measure("replies_timed", "contacts", "sum", value="replies",
                where="notnan(reply_wait_s)"),
        Measure("cx_score_sum", "contacts", "sum", value="cx_score"),
        Measure("cx_score_answers", "contacts", "count", value="cx_score"),
    ]


@hookimpl
def kpiforge_register_kpis():
    return [
        KPI("offered", "contacts_offered", unit="contacts", direction="neutral", seeds="003",
            links=[Link("operating_profit", effect=-1)],
            area="support", role="volume", timing="leading",
            kgis=["operating_profit"],
            description="Contacts that arrived in the period (ticket volume). Watch spikes, "
                        "such as the holiday season, to plan seasonal staff."),
        KPI("answered", "contacts_answered", unit="contacts", direction="higher", seeds="002",
            area="support", role="volume", timing="leading",
            kgis=["csat"], description="Contacts that reached an agent or got a first reply."),
        KPI("abandoned", "contacts_abandoned", unit="contacts", direction="lower", seeds="002",
            links=[Link("churn_rate", lag_months=3)],
            area="support", role="quality", timing="leading",
            kgis=["csat", "churn_rate"],
            description="Contacts that left before reaching an agent."),
        KPI("answer_rate", "answered / offered", unit="%", direction="higher", seeds="002",
            area="support", role="quality", timing="leading",
            kgis=["csat"], description="Answered / offered (応答率)."),
        KPI("abandonment_rate", "abandoned / offered", unit="%", direction="lower",
            seeds="002", kgis=["csat", "churn_rate"],
            links=[Link("churn_rate", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="Abandoned / offered (放棄呼率): contacts dropped before an agent, "
                        "including those lost to overload."),
        KPI("first_response_time", "wait_to_answer_sum / answered", unit="s",
            direction="lower", seeds=["000", "002", "003", "004"], kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Mean seconds from arrival to the first response, over answered "
                        "contacts (一次応答時間). Seed 002 divides by all contacts; this "
                        "divides by answered ones, as the industry does."),
        *(KPI(f"first_response_time_{name}", f"first_response_{name}_s", unit="s",
              direction="lower", kgis=["csat"], area="support", role="quality",
              timing="leading",
              description=f"The {label} of the seconds from arrival to the first response, "
                          "over answered contacts (numpy's linear method), as helpdesk "
                          "analytics report first reply time: a few very late replies move "
                          "first_response_time (the mean), much less these.")
          for name, _, label in QUANTILES),
        KPI("responses_per_hour", "answered / (grain_s / 3600)", unit="contacts/h",
            direction="higher", seeds="000", kgis=["csat"],
            area="support", role="efficiency", timing="leading",
            description="First responses given per hour of the interval (一定時間あたりの"
                        "応答数); without a grain, per hour of the data's time span."),
        KPI("resolution_rate", "contacts_resolved / offered", unit="%", direction="higher",
            seeds=["000", "002", "003"], kgis=["csat", "ltv"],
            links=[Link("ltv", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="Resolved / offered (解決率). Read it beside backlog and untouched."),
        KPI("time_to_resolution", "resolution_time_sum / contacts_resolved", unit="s",
            direction="lower", seeds=["000", "002", "003"], kgis=["csat", "churn_rate"],
            links=[Link("churn_rate", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="Mean seconds from arrival to resolution over resolved contacts; a "
                        "case with several interactions counts its whole span."),
        *(KPI(f"time_to_resolution_{name}", f"resolution_time_{name}_s", unit="s",
              direction="lower", kgis=["csat", "churn_rate"],
              links=[Link("churn_rate", lag_months=3)],
              area="support", role="quality", timing="leading",
              description=f"The {label} of the seconds from arrival to resolution, over "
                          "resolved contacts (numpy's linear method), as helpdesk analytics "
                          "report full resolution time; unresolved contacts are not in it.")
          for name, _, label in QUANTILES),
        KPI("first_response_time_business", "business_wait_sum / answered", unit="s",
            direction="lower", kgis=["csat"], area="support", role="quality",
            timing="leading",
            description=f"first_response_time in business hours: mean seconds from arrival "
                        f"to the first response over answered contacts, {BUSINESS}."),
        *(KPI(f"first_response_time_{name}_business", f"business_first_response_{name}_s",
              unit="s", direction="lower", kgis=["csat"], area="support", role="quality",
              timing="leading",
              description=f"first_response_time_{name} in business hours: the {label} of "
                          f"the first response times of answered contacts, {BUSINESS}.")
          for name, _, label in QUANTILES),
        KPI("time_to_resolution_business", "business_resolution_sum / contacts_resolved",
            unit="s", direction="lower", kgis=["csat", "churn_rate"],
            links=[Link("churn_rate", lag_months=3)],
            area="support", role="quality", timing="leading",
            description=f"time_to_resolution in business hours: mean seconds from arrival "
                        f"to resolution over resolved contacts, {BUSINESS}."),
        *(KPI(f"time_to_resolution_{name}_business", f"business_resolution_{name}_s",
              unit="s", direction="lower", kgis=["csat", "churn_rate"],
              links=[Link("churn_rate", lag_months=3)],
              area="support", role="quality", timing="leading",
              description=f"time_to_resolution_{name} in business hours: the {label} of "
                          f"the resolution times of resolved contacts, {BUSINESS}.")
          for name, _, label in QUANTILES),
        KPI("aht", "talk_sum / talk_count + coalesce(acw_sum / acw_count, 0)", unit="s",
            direction="lower", seeds=["000", "002"], kgis=["operating_profit"],
            area="support", role="efficiency", timing="leading",
            description="Average handling time (処理時間): mean talk/chat/work (hold "
                        "included) over the answered contacts that recorded it, plus mean "
                        "after-contact work over the answered contacts that recorded it; a "
                        "contact missing its ACW still counts in the talk mean (handle 100 + "
                        "ACW 20 and handle 300 without ACW: 200 + 20 = 220 s). Where no "
                        "contact recorded ACW, or the data has no acw_s column, ACW counts as "
                        "0 and AHT is handling alone. Shorter is not always better: pair it "
                        "with a quality KPI such as csat or fcr_rate."),
        KPI("escalations", "where(escalated_known > 0, contacts_escalated, 0 / 0)",
            unit="contacts", direction="lower",
            seeds=["000", "002"], kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Contacts escalated to a second tier; escalations make customers "
                        "wait. An empty escalated cell is unknown, not 'not escalated': a "
                        "group where no contact has the flag recorded is undefined (null), "
                        "not 0."),
        KPI("escalation_rate", "contacts_escalated / answered_escalated_known", unit="%",
            direction="lower", area="support", role="quality", timing="leading",
            seeds=["000", "002"], kgis=["csat"],
            description="Escalated / answered contacts with the escalated flag recorded (an "
                        "empty cell is unknown: left out of both; none recorded: undefined)."),
        KPI("fcr_rate", "resolved_first_touch / resolved_touches_known", unit="%",
            direction="higher", seeds="003", kgis=["csat", "ltv"],
            links=[Link("ltv", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="First contact resolution, per contact: resolved contacts that took "
                        "a single touch / resolved contacts with touches recorded (an empty "
                        "touches cell is unknown; none recorded: undefined). An empty "
                        "resolved_s means not resolved."),
        KPI("replies_per_resolution", "replies_to_resolve / resolved_replies_known",
            unit="replies", direction="lower", seeds="003", kgis=["csat"],
            area="support", role="efficiency", timing="leading",
            description="Agent replies before resolution, per resolved contact with its "
                        "replies recorded (an empty replies cell is unknown; none recorded: "
                        "undefined)."),
        KPI("backlog", "contacts_open", unit="contacts", direction="lower",
            seeds=["000", "003"], kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Contacts still open at the end of the data: not resolved, not "
                        "abandoned and, for a live contact (call or chat, which ends when it "
                        "is handled), not answered; an email stays open until resolved. The "
                        "end of the data is the latest instant any row records, so a "
                        "contact with no end recorded is open then. With a grain, each "
                        "interval counts the contacts that arrived in it and are still "
                        "open at the end of the data (not a snapshot at each interval's "
                        "end)."),
        KPI("untouched", "contacts_untouched", unit="contacts", direction="lower",
            seeds="000", kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Open contacts (as backlog) that have not had a first response "
                        "yet, at the end of the data."),
        KPI("csat_responses", "csat_answers", unit="answers", direction="higher",
            seeds=["000", "003"], kgis=["csat"],
            area="support", role="volume", timing="leading",
            description="Survey answers behind csat: report it beside csat."),
        KPI("csat_score", "csat_sum / csat_answers", unit="score", direction="higher",
            seeds=["000", "003"], kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Mean survey answer on the survey's own scale (csat_scale_min.."
                        "csat_scale_max, default 1-5): the 'satisfaction 3.4' dashboards "
                        "report beside csat."),
        KPI("average_response_time", "reply_wait_sum / replies_timed", unit="s",
            direction="lower", seeds="003", kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Mean wait for every agent reply, not only the first. Needs the "
                        "extra contacts column reply_wait_s (customer wait summed over the "
                        "contact's replies); skipped when it is absent."),
        KPI("cx_rating", "cx_score_sum / cx_score_answers", unit="score", direction="higher",
            seeds="003", kgis=["csat", "nps"],
            area="support", role="quality", timing="leading",
            description="Mean score of an overall customer-experience survey. Needs the "
                        "extra contacts column cx_score; skipped when it is absent."),
    ]
