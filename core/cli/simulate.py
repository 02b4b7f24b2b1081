"""``kpiforge simulate``: run a scenario and write the tables the engine reads; with
``--replications``, run it several times and write each run's KPIs and their means with
confidence intervals."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pyarrow as pa

from kpiforge import simulations
from kpiforge.cli.options import (
    PARAM_HELP,
    directory_advice,
    force_option,
    parse_assignments,
    parse_params,
    split_names,
)
from kpiforge.cli.render import format_value, grid
from kpiforge.engine.grains import GRAINS
from kpiforge.errors import KpiforgeError
from kpiforge.io.output import atomic_directory, csv_text, write_parquet, write_text
from kpiforge.simulations import FORMATS, builtin_scenario, load_scenario, simulate
from kpiforge.simulations.size import DEFAULT_LIMITS, Limits, RunSizeError, check_size

if TYPE_CHECKING:
    from kpiforge.simulations import Replications, Scenario

#: Options that shape the KPIs of replications, and so need --replications.
_REPLICATION_OPTIONS = ("--workers", "--kpi", "--by", "--grain", "--param", "--kpis-only")


@click.command("simulate")
@click.argument("scenario", required=False, metavar="[SCENARIO]")
@click.option("--days", type=click.IntRange(min=1), help="Override scenario.days.")
@click.option("--seed", type=click.IntRange(min=0), help="Override scenario.seed.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override any scenario key, e.g. staffing.agents=12 or "
                   "channels.call.aht_s.mean=200 (values are TOML).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for contacts, agent_intervals and scenario.toml.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet",
              show_default=True)
@click.option("--replications", type=click.IntRange(min=1), metavar="N",
              help="Run N replications (seeds spawned from the scenario's) and write their "
                   "KPIs and a summary with 95 % confidence intervals.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Replications in N worker processes (default: every core).")
@click.option("--kpis-only", is_flag=True,
              help="With --replications: write only the KPIs, not each run's tables.")
@click.option("--kpi", "kpis", multiple=True, metavar="ID",
              help="With --replications: KPIs to compute (default: all the data supports).")
@click.option("--by", "by", multiple=True, metavar="DIM",
              help="With --replications: group KPIs by a dimension (channel, queue...).")
@click.option("--grain", type=click.Choice(GRAINS),
              help="With --replications: time grain for interval_start.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="With --replications: " + PARAM_HELP[0].lower() + PARAM_HELP[1:])
@force_option
@click.option("--max-contacts", type=click.IntRange(min=0), metavar="N",
              default=DEFAULT_LIMITS.contacts, show_default=True,
              help="Refuse a run expected to simulate more contacts (about 1 KB each).")
@click.option("--max-agent-intervals", type=click.IntRange(min=0), metavar="N",
              default=DEFAULT_LIMITS.agent_intervals, show_default=True,
              help="Refuse a run expected to hold more agent intervals (head counts x "
                   "intervals worked).")
def simulate_command(scenario: str | None, days: int | None, seed: int | None,
                     settings: tuple[str], out: Path, fmt: str, replications: int | None,
                     workers: int | None, kpis_only: bool, kpis: tuple[str], by: tuple[str],
                     grain: str | None, params: tuple[str], force: bool, max_contacts: int,
                     max_agent_intervals: int) -> None:
    """Simulate SCENARIO (a TOML file or a built-in name: demo, flat, december, launch,
    summer; default: the built-in demo week) and write its
    contacts and agent_intervals tables to --out; with --replications N, N runs, their KPIs
    and a summary of KPI means with 95 % confidence intervals."""
    overrides = parse_assignments(settings, "--set")
    if days is not None:
        overrides["scenario.days"] = str(days)
    if seed is not None:
        overrides["scenario.seed"] = str(seed)
    given = [name for name, value in zip(_REPLICATION_OPTIONS, (
        workers, kpis, by, grain, params, kpis_only), strict=True) if value]
    if replications is None and given:
        raise KpiforgeError(f"{given[0]} goes with --replications N")
    parameters = parse_params(params)
    plan = load_scenario(scenario, overrides) if scenario else builtin_scenario("demo",
                                                                                 overrides)
    limits = Limits(max_contacts, max_agent_intervals)
    with directory_advice(), _limit_advice():
        if replications is None:
            _single(plan, out, fmt, force, limits)
            return
        runs = _replicated(plan, out, fmt, replications, workers, not kpis_only, force,
                           {"kpis": split_names(kpis) or None, "by": split_names(by),
                            "grain": grain, "params": parameters, "limits": limits})
    click.echo(render_summary(runs))


#: The option that raises each limit of a run's size.
_LIMIT_OPTIONS = {"contacts": "--max-contacts", "agent_intervals": "--max-agent-intervals"}


@contextlib.contextmanager
def _limit_advice() -> Iterator[None]:
    """A run too large, in command-line terms."""
    try:
        yield
    except RunSizeError as exc:
        raise KpiforgeError(f"{exc.problem}: make the run smaller, or raise the limit with "
                            f"{_LIMIT_OPTIONS[exc.limit]} N") from None


def _single(plan: Scenario, out: Path, fmt: str, force: bool, limits: Limits) -> None:
    check_size(plan, limits)  # before a progress bar is drawn
    if sys.stderr.isatty():
        total = plan.last_day - plan.first_day
        with click.progressbar(length=total, label=f"simulating {plan.name}",
                               file=sys.stderr) as bar:
            run = simulate(plan, progress=lambda day: bar.update(1), limits=None)
    else:
        run = simulate(plan, limits=None)
    written = run.write(out, fmt, force)
    click.echo(f"{run.contacts.num_rows} contacts over {plan.days} days simulated in "
               f"{run.seconds:.1f} s; wrote {', '.join(str(p) for p in written)}", err=True)


def _replicated(plan: Scenario, out: Path, fmt: str, replications: int, workers: int | None,
                tables: bool, force: bool, options: dict) -> Replications:
    """Run the replications into a staging directory beside ``out``, which becomes ``out``
    once all is written: ``scenario.toml``, ``kpis.FMT`` (every replication),
    ``summary.FMT`` (means and 95 % intervals), ``replications/NNN/`` (tables)."""
    with atomic_directory(out, force) as staging:
        # The replication machinery (and scipy) loads only for replications.
        runs = simulations.run_replications(
            plan, replications, workers=workers, fmt=fmt,
            tables=staging / "replications" if tables else None, **options)
        _write_table(runs.to_arrow(), staging / f"kpis.{fmt}", fmt)
        _write_table(runs.summary().to_arrow(), staging / f"summary.{fmt}", fmt)
        (staging / "scenario.toml").write_text(plan.to_toml(), encoding="utf-8")
    click.echo(f"{replications} replications of {plan.name} ({plan.days} days); wrote "
               f"{out}/kpis.{fmt}, {out}/summary.{fmt}"
               f"{f', {out}/replications/' if tables else ''}", err=True)
    return runs


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        write_parquet(table, path)
    else:
        write_text(csv_text(table), path)


def render_summary(runs: Replications) -> str:
    """The summary of ``runs`` as text: one row per group and KPI, mean and 95 % interval."""
    summary = runs.summary()
    header = [*summary.dimensions, "KPI", "mean", f"{summary.confidence:.0%} interval", "n"]
    rows = []
    for record in summary.to_records():
        unit = runs.units.get(record["kpi"], "")
        low, high = record["ci_low"], record["ci_high"]
        interval = "-" if low is None else \
            f"{format_value(low, unit)} .. {format_value(high, unit)}"
        rows.append([*(str(record[d]) for d in summary.dimensions), record["kpi"],
                     format_value(record["mean"], unit), interval,
                     str(record["replications"])])
    return grid(header, rows, right={len(summary.dimensions) + i for i in (1, 2, 3)})
