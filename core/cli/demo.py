"""``kpiforge demo``: simulate the built-in week and print its KPIs against their targets."""

from __future__ import annotations

from pathlib import Path

import attrs
import click

from kpiforge.cli.render import render_table
from kpiforge.engine import compute
from kpiforge.report import build_report
from kpiforge.simulations import builtin_scenario, compare, simulate
from kpiforge.simulations.customers import MONTH_DAYS
from kpiforge.simulations.scenario import Scenario

#: The headline, by channel, keeps to the KPIs a support lead reads first.
CHANNEL_KPIS = ("offered", "answer_rate", "service_level", "asa", "abandonment_rate",
                "wait_p90", "aht", "resolution_rate", "fcr_rate", "csat", "nps")
#: The demo's what-if: its change, and the short run it compares on (one day, no warm-up,
#: paired replications), so the demo stays quick.
WHATIF = {"staffing.shifts.mid.agents": "+5"}
WHATIF_RUN = {"scenario.days": "1", "scenario.warmup": "0", "scenario.warmdown": "0"}
WHATIF_REPLICATIONS = 3

#: Waits mean something only within a channel (seconds for a call, hours for an email):
#: the all-channels table leaves them out.
WAIT_KPIS = ("first_response_time", "first_response_time_median", "first_response_time_p90",
             "asa", "avg_wait", "wait_p90")
#: Snapshots at the end of the data (a simulated run works off every contact) say nothing
#: without a grain: the demo shows the backlog at the end of each day instead.
SNAPSHOT_KPIS = ("backlog", "untouched", "open_email_age")


@click.command("demo")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the week's HTML report (by channel, per day) "
                                   "to FILE. Needs kpiforge[plot].")
def demo_command(report_path: Path | None) -> None:
    """Simulate a week of calls, chats and emails (the built-in demo scenario) and print
    the headline KPIs by channel against their targets, then every other KPI over all
    channels."""
    scenario = builtin_scenario("demo")
    run = simulate(scenario)
    tables = run.tables()
    by_channel = compute(tables, kpis=CHANNEL_KPIS, by=["channel"])
    everything = compute(tables)
    kept = [name for name in everything.kpis if name not in (*WAIT_KPIS, *SNAPSHOT_KPIS)]
    overall = attrs.evolve(everything, values={n: everything.values[n] for n in kept},
                           kpis={n: everything.kpis[n] for n in kept})
    click.echo(f"kpiforge demo: {scenario.name}, {scenario.start} + {scenario.days} days, "
               f"{run.contacts.num_rows:,} contacts simulated in {run.seconds:.1f} s "
               f"(scenario: simulations/scenarios/demo.toml)\n")
    click.echo("By channel: each channel's service level against its own threshold, "
               f"sl_threshold_s = {by_channel.params['sl_threshold_s']}\n")
    click.echo(render_table(by_channel))
    click.echo("\nAll channels (waits, which mean something only per channel, left out)\n")
    click.echo(render_table(overall))
    click.echo("\n" + _backlog_line(tables))
    click.echo("\n" + goals_line(*_whatif_scenarios()))
    if report_path is not None:
        build_report(tables, by=["channel"], grain="1d", kpis=CHANNEL_KPIS,
                     scenario=scenario).write(report_path)
        click.echo(f"\nwrote the report to {report_path}")
    click.echo("\nNext: `kpiforge simulate --out run/` writes these tables; "
               "`kpiforge compute run/ --by channel --grain 1h` reads them back.")


def _whatif_scenarios() -> tuple[Scenario, Scenario]:
    return (builtin_scenario("demo", WHATIF_RUN),
            builtin_scenario("demo", {**WHATIF_RUN, **WHATIF}))


def goals_line(baseline: Scenario, variant: Scenario) -> str:
    """One what-if in the goals' terms: what the variant's staffing costs per month, and
    what it does to monthly churn and to LTV, with 95 % intervals from paired
    replications."""
    result = compare(baseline, {"variant": variant}, WHATIF_REPLICATIONS,
                     kpis=["service_level"], workers=1)
    rows = {r["kpi"]: r for r in result.to_records()}
    per_month = baseline.staffing.hourly_cost * MONTH_DAYS / baseline.days
    hours, churn, ltv = rows["staffed_hours"], rows["churn_rate"], rows["ltv"]

    def interval(row: dict, scale: float, digits: int) -> str:
        mean, low, high = (row[key] * scale for key in
                           ("difference", "difference_ci_low", "difference_ci_high"))
        return f"{mean:+,.{digits}f} ({low:+,.{digits}f} .. {high:+,.{digits}f})"

    change = ", ".join(f"{key}={value}" for key, value in WHATIF.items())
    return (f"What-if {change} ({baseline.days} day, {WHATIF_REPLICATIONS} paired "
            f"replications, 95 % intervals): costs {interval(hours, per_month, 0)} per "
            f"month, moves monthly churn by {interval(churn, 100, 3)} points and LTV by "
            f"{interval(ltv, 1, 2)}. `kpiforge whatif demo --vs KEY=VALUE` compares any "
            "change.")


def _backlog_line(tables: dict) -> str:
    """The contacts open at the end of each day (the backlog snapshot), as one line."""
    daily = compute(tables, kpis=["backlog"], grain="1d").to_records()
    days = ", ".join(f"{row['interval_start'][5:10]} {row['backlog']:,.0f}" for row in daily)
    return ("Backlog (contacts open at the end of each day; an email until resolved or closed): "
            f"{days}.")
