"""The KGIs (goals) KPIs point at: LTV, CSAT, NPS, churn, retention, operating profit.

Each is computable. CSAT and NPS come from survey answers on ``contacts``; the others from
``customers`` rows (one per customer and period, flags 0/1, money in one currency).
"""

from kpiforge import KGI, Link, Measure, hookimpl

#: The CSAT survey's scale and the lowest satisfied answer: 1-5 with 4+ by default; a 1-10
#: survey is ``csat_scale_max=10, csat_satisfied_min=9``, good/bad ``0, 1, 1``.
CSAT_SCALE = {"csat_scale_min": 1, "csat_scale_max": 5, "csat_satisfied_min": 4}


@hookimpl
def kpiforge_register_measures():
    return [
        Measure("csat_answers", "contacts", "count", value="csat"),
        Measure("csat_satisfied", "contacts", "count", where="csat >= csat_satisfied_min",
                params=CSAT_SCALE,
                description="survey answers at or above the satisfied threshold"),
        Measure("csat_sum", "contacts", "sum", value="csat"),
        Measure("nps_answers", "contacts", "count", value="nps"),
        Measure("nps_promoters", "contacts", "count", where="nps >= 9"),
        Measure("nps_detractors", "contacts", "count", where="nps <= 6"),
        Measure("customers_at_start", "customers", "sum", value="active_start"),
        Measure("customers_at_end", "customers", "sum", value="active_end"),
        Measure("customers_new", "customers", "sum", value="new"),
        Measure("customers_churned", "customers", "sum", value="churned"),
        Measure("customers_downgraded", "customers", "sum", value="downgraded"),
        Measure("customers_lost", "customers", "count", where="(churned > 0) | (downgraded > 0)",
                description="customers who cancelled or downgraded, each counted once"),
        Measure("customer_periods", "customers", "count",
                where="(active_start > 0) | (new > 0)",
                description="customer-periods active at some point (a customer active in "
                            "three months counts three times)"),
        Measure("customers_active", "customers", "distinct", value="customer_id",
                where="(active_start > 0) | (new > 0)",
                description="distinct customers active at some point of the period"),
        Measure("revenue_sum", "customers", "sum", value="revenue"),
        Measure("margin_sum", "customers", "sum", value="margin"),
    ]


@hookimpl
def kpiforge_register_kgis():
    return [
        KGI("csat", "csat_satisfied / csat_answers", unit="%", direction="higher",
            target=0.8, seeds=["000", "003"], kgis=["ltv"],
            links=[Link("ltv", lag_months=3)],
            role="quality", timing="leading",
            description="Satisfied survey answers (csat_satisfied_min or more: 4-5 on the "
                        "default 1-5 scale) / survey answers; 80 % is the industry standard. "
                        "The scale is csat_scale_min..csat_scale_max (default 1-5; a 1-10 "
                        "survey: --param csat_scale_max=10 --param csat_satisfied_min=9; "
                        "good/bad as 1/0: csat_scale_min=0, csat_scale_max=1, "
                        "csat_satisfied_min=1); an answer outside it is an error naming the "
                        "row. Report csat_responses beside it: it needs a healthy sample."),
        KGI("nps", "100 * (nps_promoters - nps_detractors) / nps_answers", unit="points",
            direction="higher", seeds=["000", "002", "003"], kgis=["ltv"],
            links=[Link("ltv", lag_months=3)],
            role="quality", timing="leading",
            description="% promoters (9-10) minus % detractors (0-6) on the 0-10 'would you "
                        "recommend' question, from -100 to 100."),
        KGI("churn_rate", "customers_lost / customers_at_start",
            unit="%", direction="lower", target=0.03, seeds=["001", "002", "003"],
            role="outcome", timing="lagging",
            kgis=["ltv"],
            description="Customers lost in the period / customers at its start. As seed 002 "
                        "says, downgrades (paid to free, fewer seats) count as churn; a "
                        "customer flagged both churned and downgraded counts once. "
                        "logo_churn_rate counts cancellations only. About 5.6 % is average; "
                        "3 %/month or less is fine, above it act."),
        KGI("retention_rate", "customers_at_end / customers_at_start", unit="%",
            direction="higher", seeds=["002", "003"], kgis=["ltv"],
            role="outcome", timing="lagging",
            description="Customers at period end / customers at its start (seed 002's "
                        "formula, which counts new customers). retention_rate_excl_new is "
                        "the industry variant."),
        KGI("ltv", "(margin_sum / customer_periods) / (customers_churned / customers_at_start)",
            unit="currency",
            direction="higher", seeds=["000", "001", "002"],
            role="outcome", timing="lagging",
            description="Customer lifetime value, simple model: margin per customer per "
                        "period / logo churn rate per period (cancellations / customers at "
                        "start, as logo_churn_rate): a downgraded customer still pays, so "
                        "downgrades shorten no lifetime. The goal support and success share."),
        KGI("operating_profit", "margin_sum", unit="currency", direction="higher",
            seeds="001",
            role="outcome", timing="lagging",
            description="Customers x revenue per customer x margin rate, i.e. the margin "
                        "column summed (seed 001's example of factoring a KGI into KPIs)."),
    ]
