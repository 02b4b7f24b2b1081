"""Customer-support KPIs from the seed articles (000, 002, 003, 004), over ``contacts``.

Counts, response and resolution times, handling time, escalation, first-contact resolution
and backlog. Rates are fractions 0..1 (unit ``%`` tells reports to show them x100); times
are seconds; a contact's first response is ``answered_s``.
"""

from kpiforge import KPI, Link, Measure, hookimpl

WAIT_TO_ANSWER = "answered_s - arrived_s"
#: When a contact ended: resolved, else closed unresolved, else abandoned, else, for a live
#: contact (call or chat, which ends when it is answered and handled), answered; missing
#: (an email neither resolved nor closed): still open. An end column the data lacks is an
#: end that never happens (a ticket export has no abandoned_s).
ENDED = ("coalesce(resolved_s, coalesce(closed_s, coalesce(abandoned_s, "
         "where(channel in ('call', 'chat'), answered_s, 0 / 0))))")
#: What every snapshot KPI says about "open" and the snapshot's instant.
OPEN = ("Open means arrived by then and not yet ended: not resolved, not closed (closed_s: "
        "ended without a resolution), not abandoned and, for a live contact (channel call or "
        "chat), not answered (an answered call or chat is handled then); an email stays open "
        "until resolved or closed. Data without a closed_s or abandoned_s column (a ticket "
        "export) never ends a contact that way. With a grain, a snapshot at "
        "the end of each interval (a contact arriving on day 0 and resolved at day 2.5 is "
        "open at the end of day 0 and day 1, not day 2), and every interval from a group's "
        "first to its last has a row; without a grain, at the end of the data: the latest time any "
        "contact records in any of its time columns, whichever KPIs are asked for.")
#: How long after a case's first contact a repeat contact makes it not resolved at first
#: contact: 7 days, the usual window of contact-centre FCR.
FCR_WINDOW_S = 7 * 86400
#: Per case when the data has case_id (``cases`` is then a count), else per row.
PER_CASE = "notnan(cases)"
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
        Measure("responses_given", "contacts", "count", time="answered_s",
                description="first responses given, placed by when they were given "
                            "(answered_s)"),
        Measure("resolutions_made", "contacts", "count", time="resolved_s",
                description="contacts resolved, placed by when they were resolved "
                            "(resolved_s)"),
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
        Measure("cases", "contacts", "count", per="case",
                description="cases (contacts sharing a case_id; a contact without one is a "
                            "case of its own), each in the group of its first contact"),
        Measure("cases_resolved", "contacts", "count", where="notnan(resolved_s)", per="case",
                description="cases resolved: the last resolution not before the last "
                            "contact's arrival"),
        Measure("case_resolution_time_sum", "contacts", "sum", value="resolved_s - arrived_s",
                per="case", description="seconds from each resolved case's first arrival "
                                        "to its last resolution"),
        *(Measure(f"case_resolution_time_{name}_s", "contacts", "quantile",
                  value="resolved_s - arrived_s", q=q, per="case",
                  description=f"{label} of the resolution times of resolved cases")
          for name, q, label in QUANTILES),
        Measure("cases_first_contact_resolved", "contacts", "count", per="case",
                where="notnan(first_resolved_s) & "
                      "(isnan(repeat_s) | (repeat_s - arrived_s > fcr_window_s))",
                params={"fcr_window_s": FCR_WINDOW_S},
                description="cases whose first contact was resolved with no other contact "
                            "arriving within fcr_window_s of the first"),
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
        Measure("case_business_resolution_sum", "contacts", "sum", value=BUSINESS_RESOLUTION,
                per="case", description="open seconds of the business-hours calendar from "
                                        "each resolved case's first arrival to its last "
                                        "resolution"),
        *(Measure(f"case_business_resolution_{name}_s", "contacts", "quantile",
                  value=BUSINESS_RESOLUTION, q=q, per="case",
                  description=f"{label} of the business-hours resolution times of resolved "
                              "cases")
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
        Measure("contacts_open", "contacts", "snapshot", since="arrived_s", until=ENDED,
                description="contacts open at the snapshot"),
        Measure("contacts_untouched", "contacts", "snapshot", since="arrived_s",
                until=f"min(answered_s, {ENDED})",
                description="contacts open and not yet answered at the snapshot"),
        Measure("emails_open", "contacts", "snapshot", since="arrived_s", until=ENDED,
                where="channel == 'email'", description="emails open at the snapshot"),
        Measure("emails_open_arrived_sum", "contacts", "snapshot", value="arrived_s",
                since="arrived_s", until=ENDED, where="channel == 'email'",
                description="arrival times of the emails open at the snapshot, summed"),
        Measure("reply_wait_sum", "contacts", "sum", value="reply_wait_s",
                description="extra column reply_wait_s: customer wait summed over all replies"),
        Measure("replies_timed", "contacts", "sum", value="replies",
                where="notnan(reply_wait_s)"),
        Measure("cx_score_sum", "contacts", "sum", value="cx_score"),
        Measure("cx_score_answers", "contacts", "count", value="cx_score"),
        Measure("distinct_customers", "contacts", "distinct", value="customer_id",
                description="distinct customer_id values among contacts"),
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
        KPI("customers_served", "distinct_customers", unit="customers", direction="neutral",
            links=[Link("operating_profit", effect=-1)],
            area="support", role="volume", timing="leading", kgis=["operating_profit"],
            description="Distinct customers (customer_id) with at least one contact in the "
                        "period, answered or not: a customer who contacts several times "
                        "counts once, so offered / customers_served is contacts per "
                        "customer. A customer counts once in every group it contacted "
                        "(call and chat), so groups need not add up to the total "
                        "(--totals counts each customer once)."),
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
        KPI("responses_per_hour", "responses_given / (grain_s / 3600)", unit="contacts/h",
            direction="higher", seeds="000", kgis=["csat"],
            area="support", role="efficiency", timing="leading",
            description="First responses given per hour (一定時間あたりの応答数), each "
                        "placed in the interval in which it was given (answered_s), not "
                        "the one the contact arrived in. Without a grain, per hour of the "
                        "data's period, from its first to its last arrival, the same for "
                        "every group (not each group's own span: the groups' rates add up "
                        "to the total's, and a group with one contact has no span); "
                        "responses given after the last arrival still count."),
        KPI("resolutions", "resolutions_made", unit="contacts", direction="higher",
            seeds=["000", "003"], kgis=["csat"],
            area="support", role="volume", timing="leading",
            description="Contacts resolved in the interval, placed by when they were "
                        "resolved (resolved_s), not when they arrived: the work done per "
                        "day. resolution_rate, by contrast, follows the contacts that "
                        "arrived in the interval."),
        KPI("resolution_rate", "contacts_resolved / offered", unit="%", direction="higher",
            seeds=["000", "002", "003"], kgis=["csat", "ltv"],
            links=[Link("ltv", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="Resolved / offered (解決率). Read it beside backlog and untouched."),
        KPI("time_to_resolution",
            f"where({PER_CASE}, case_resolution_time_sum / cases_resolved, "
            "resolution_time_sum / contacts_resolved)", unit="s",
            direction="lower", seeds=["000", "002", "003"], kgis=["csat", "churn_rate"],
            links=[Link("churn_rate", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="Mean seconds to resolution. With a case_id column, per case: from "
                        "the case's first arrival to its last resolution, over resolved "
                        "cases (resolved: the last resolution is not before the last "
                        "contact's arrival; a contact without a case_id is a case of its "
                        "own), each case in the group (dimensions and interval) of its first "
                        "contact. Without case_id, per contact: from its arrival to its "
                        "resolution, over resolved contacts."),
        *(KPI(f"time_to_resolution_{name}",
              f"where({PER_CASE}, case_resolution_time_{name}_s, resolution_time_{name}_s)",
              unit="s", direction="lower", kgis=["csat", "churn_rate"],
              links=[Link("churn_rate", lag_months=3)],
              area="support", role="quality", timing="leading",
              description=f"The {label} of the seconds to resolution (numpy's linear "
                          "method), as helpdesk analytics report full resolution time; "
                          "unresolved cases or contacts are not in it. With a case_id "
                          "column, over resolved cases as time_to_resolution counts them "
                          "(first arrival to last resolution, in the group of the first "
                          "contact; exact in every way of running), else over resolved "
                          "contacts.")
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
        KPI("time_to_resolution_business",
            f"where({PER_CASE}, case_business_resolution_sum / cases_resolved, "
            "business_resolution_sum / contacts_resolved)",
            unit="s", direction="lower", kgis=["csat", "churn_rate"],
            links=[Link("churn_rate", lag_months=3)],
            area="support", role="quality", timing="leading",
            description=f"time_to_resolution in business hours: mean seconds to resolution, "
                        "per case with a case_id column (first arrival to last resolution, "
                        "over resolved cases, as time_to_resolution), else per resolved "
                        f"contact, {BUSINESS}."),
        *(KPI(f"time_to_resolution_{name}_business",
              f"where({PER_CASE}, case_business_resolution_{name}_s, "
              f"business_resolution_{name}_s)",
              unit="s", direction="lower", kgis=["csat", "churn_rate"],
              links=[Link("churn_rate", lag_months=3)],
              area="support", role="quality", timing="leading",
              description=f"time_to_resolution_{name} in business hours: the {label} of "
                          "the resolution times of resolved cases with a case_id column (as "
                          f"time_to_resolution_{name}), else of resolved contacts, "
                          f"{BUSINESS}.")
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
        KPI("fcr_rate",
            f"where({PER_CASE}, cases_first_contact_resolved / cases, "
            "resolved_first_touch / resolved_touches_known)", unit="%",
            direction="higher", seeds="003", kgis=["csat", "ltv"],
            links=[Link("ltv", lag_months=3)],
            area="support", role="quality", timing="leading",
            description="First contact resolution. With a case_id column, per case, as "
                        "contact centres define it: cases whose first contact was resolved "
                        "and with no other contact arriving within fcr_window_s (default 7 "
                        "days) of the first / all cases (an unresolved case counts as not "
                        "resolved at first contact; a repeat after the window does not "
                        "undo it), each case in the group (dimensions and interval) of its "
                        "first contact. Without case_id, per contact: resolved contacts "
                        "that took a single touch / resolved contacts with touches "
                        "recorded (an empty touches cell is unknown; none recorded: "
                        "undefined). An empty resolved_s means not resolved."),
        KPI("replies_per_resolution", "replies_to_resolve / resolved_replies_known",
            unit="replies", direction="lower", seeds="003", kgis=["csat"],
            area="support", role="efficiency", timing="leading",
            description="Agent replies before resolution, per resolved contact with its "
                        "replies recorded (an empty replies cell is unknown; none recorded: "
                        "undefined)."),
        KPI("backlog", "contacts_open", unit="contacts", direction="lower",
            seeds=["000", "003"], kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Contacts open at the end of each interval (a snapshot), whenever "
                        "they arrived. " + OPEN),
        KPI("untouched", "contacts_untouched", unit="contacts", direction="lower",
            seeds="000", kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Open contacts (as backlog) not yet answered at the end of each "
                        "interval (a snapshot). " + OPEN),
        KPI("open_email_age", "snapshot_s - emails_open_arrived_sum / emails_open", unit="s",
            direction="lower", seeds="000", kgis=["csat"],
            area="support", role="quality", timing="leading",
            description="Mean age of the open emails at the end of each interval (a "
                        "snapshot): seconds from each open email's arrival to the "
                        "interval's end, averaged; undefined where no email is open. "
                        + OPEN),
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
