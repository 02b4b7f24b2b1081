"""Customer-success KPIs from seeds 001, 002 and 004, over ``customers``.

Expansion (upsell, cross-sell), the variants of churn and retention beside the KGIs, and the
health score, the leading indicator for renewals that lag the actions behind them by months.
"""

from kpiforge import KPI, Link, Measure, hookimpl


@hookimpl
def kpiforge_register_measures():
    return [
        Measure("customers_upsold", "customers", "sum", value="upsold"),
        Measure("customers_cross_sold", "customers", "sum", value="cross_sold"),
        Measure("health_sum", "customers", "sum", value="health"),
        Measure("health_count", "customers", "count", value="health"),
    ]


@hookimpl
def kpiforge_register_kpis():
    return [
        KPI("logo_churn_rate", "customers_churned / customers_at_start", unit="%",
            direction="lower", seeds=["001", "002"], kgis=["churn_rate"],
            area="success", role="outcome", timing="lagging",
            description="Cancelled customers / customers at period start (downgrades not "
                        "counted; churn_rate counts them)."),
        KPI("retention_rate_excl_new", "(customers_at_end - customers_new) / customers_at_start",
            unit="%", direction="higher", seeds=["002", "003"], kgis=["retention_rate"],
            area="success", role="outcome", timing="lagging",
            description="Industry retention: customers at period end who were not new / "
                        "customers at its start."),
        KPI("upsell_rate", "customers_upsold / customers_at_start", unit="%",
            direction="higher", seeds=["002", "004"], kgis=["ltv"],
            area="success", role="outcome", timing="lagging",
            description="Customers moved to a higher plan / customers at period start. A "
                        "lagging indicator: attribute it at decision time."),
        KPI("cross_sell_rate", "customers_cross_sold / customers_at_start", unit="%",
            direction="higher", seeds=["002", "004"], kgis=["ltv"],
            area="success", role="outcome", timing="lagging",
            description="Customers who bought an extra product / customers at period start."),
        KPI("health_score", "health_sum / health_count", unit="score", direction="higher",
            seeds="004", kgis=["churn_rate", "retention_rate"],
            links=[Link("churn_rate", lag_months=3), Link("retention_rate", lag_months=3)],
            area="success", role="outcome", timing="leading",
            description="Mean customer health score: a leading indicator of renewal."),
        KPI("revenue_per_customer", "revenue_sum / customer_periods", unit="currency",
            direction="higher", seeds="001", kgis=["operating_profit", "ltv"],
            area="success", role="outcome", timing="lagging",
            description="Revenue per customer per period of the customers table (ARPU): "
                        "revenue / customer-periods active, so over twelve monthly "
                        "snapshots it is the monthly revenue per customer."),
        KPI("active_customers", "customers_active", unit="customers", direction="higher",
            seeds="001", kgis=["operating_profit"],
            area="success", role="outcome", timing="lagging",
            description="Distinct customers active at some point of the period: over twelve "
                        "monthly snapshots, each customer once (not the sum of the months)."),
    ]
