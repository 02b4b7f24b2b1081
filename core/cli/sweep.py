"""``kpiforge sweep``: a scenario over a grid of key values, one row per point with each
KPI's mean and 95 % interval, in local processes or on Dask, streamed to a file as points
finish."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from kpiforge.cli.options import param_option, parse_assignments, parse_params, split_names
from kpiforge.cli.progress import progress_bar
from kpiforge.cli.render import MAX_GROUP_COLUMNS, grid
from kpiforge.engine.distributed import connect
from kpiforge.errors import KpiforgeError
from kpiforge.io.output import csv_text, json_text
from kpiforge.registry import default_registry
from kpiforge.report.whatif import sweep_report
from kpiforge.simulations.plots import plot_format, plot_sweep
from kpiforge.simulations.scenario import load_scenario
from kpiforge.simulations.sweeps import (
    REPLICATIONS,
    STREAM_FORMATS,
    SweepFile,
    prepare_sweep,
    rows_table,
    run_sweep,
)

FORMATS = ("table", *STREAM_FORMATS)


@click.command("sweep")
@click.argument("scenario", metavar="SCENARIO")
@click.option("--grid", "grids", multiple=True, required=True,
              metavar="KEY=START:STOP[:STEP]|KEY=V1,V2,...",
              help="A key and its values (the stop included); several make a cross "
                   "product.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Change a scenario key at every point (as simulate --set).")
@click.option("--replications", type=click.IntRange(min=2), default=10, show_default=True,
              help="Replications per grid point.")
@click.option("--kpi", "kpis", multiple=True, metavar="ID",
              help="KPIs to report (default: all the simulated data supports).")
@param_option
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Local worker processes (default: every core).")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or "
                   "'local' for a LocalCluster. Needs kpiforge[dask].")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="table, csv or json (default: table, or csv with --out).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rows here as points finish (csv or json).")
@click.option("--resume", is_flag=True,
              help="Keep the points already in --out and run only the others.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw each KPI against the first grid key, with 95 % bands (.png/.svg).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the points as an HTML report to FILE.")
def sweep_command(scenario: str, grids: tuple[str, ...], settings: tuple[str, ...],
                  replications: int, kpis: tuple[str, ...], params: tuple[str, ...],
                  workers: int | None, dask_address: str | None, fmt: str | None,
                  out: Path | None, resume: bool, plot: Path | None,
                  report_path: Path | None) -> None:
    """Run SCENARIO (a TOML file or a built-in name) at every point of the --grid values,
    --replications times each, and report each KPI's mean and 95 % interval per point."""
    fmt = _check_options(fmt, out, resume, workers, dask_address, plot)
    sweep = prepare_sweep(scenario, grids, parse_assignments(settings, "--set"))
    output = SweepFile(out, fmt, sweep) if out is not None else None
    rows: dict[int, dict[str, Any]] = {}
    if output is not None and resume:
        rows.update((i, output.rows[i]) for i in output.resume(replications))
        click.echo(f"resuming: {len(rows)} of {len(sweep.points)} points done", err=True)
    failed = []
    with _client(dask_address) as client, progress_bar("simulating") as progress:
        for done in run_sweep(sweep, replications, kpis=split_names(kpis) or None,
                              params=parse_params(params), workers=workers,
                              client=client, skip=list(rows), progress=progress):
            if done.row is None:
                failed.append(done)
                click.echo(f"point {done.point.label} failed: {done.error}", err=True)
                continue
            rows[done.point.index] = done.row
            if output is not None:
                output.add(done.row, done.point.index)
    ordered = [rows[i] for i in sorted(rows)]
    if output is not None:
        output.write()
        click.echo(f"wrote {len(ordered)} points to {out}", err=True)
    else:
        click.echo(_render(ordered, sweep.keys, fmt), nl=fmt == "table")
    if plot is not None and ordered:
        plot_sweep(plot, ordered, sweep.keys, split_names(kpis))
        click.echo(f"wrote {plot}", err=True)
    if report_path is not None and ordered:
        units = {name: kpi.unit for name, kpi in default_registry().kpis.items()}
        sweep_report(ordered, sweep.keys, units,
                     load_scenario(scenario, parse_assignments(settings, "--set"))
                     ).write(report_path)
        click.echo(f"wrote {report_path}", err=True)
    if failed:
        where = f"; the other {len(ordered)} are in {out}; run it again with --resume to " \
            "retry them" if out is not None else ""
        raise KpiforgeError(
            f"{len(failed)} of {len(sweep.points)} grid points failed: "
            + "; ".join(f"{d.point.label} ({d.error})" for d in failed[:3])
            + ("; ..." if len(failed) > 3 else "") + where)


def _check_options(fmt: str | None, out: Path | None, resume: bool, workers: int | None,
                   dask_address: str | None, plot: Path | None) -> str:
    """The output format (table, or csv with --out); option clashes are errors."""
    fmt = fmt or ("csv" if out is not None else "table")
    if out is not None and fmt == "table":
        raise KpiforgeError("--out streams rows as points finish: use --format csv or json")
    if resume and out is None:
        raise KpiforgeError("--resume continues the sweep in --out FILE: give --out")
    if dask_address is not None and workers is not None:
        raise KpiforgeError("--workers and --dask do not go together: the Dask cluster has "
                            "its own workers")
    if plot is not None:
        plot_format(plot)
    return fmt


@contextlib.contextmanager
def _client(address: str | None) -> Iterator[Any]:
    if address is None:
        yield None
        return
    with connect(address) as client:
        yield client


def _render(rows: Sequence[dict[str, Any]], keys: Sequence[str], fmt: str) -> str:
    if fmt == "json":
        return json_text(rows)
    if fmt == "csv":
        return csv_text(rows_table(rows, keys)) if rows else ""
    kpis = [name for name in (rows[0] if rows else {}) if name not in keys
            and name != REPLICATIONS and not name.endswith(("_ci_low", "_ci_high"))]
    if len(kpis) <= MAX_GROUP_COLUMNS:
        header = [*keys, "n", *kpis]
        lines = [[*(str(r[k]) for k in keys), str(r[REPLICATIONS]),
                  *(_cell(r, kpi) for kpi in kpis)] for r in rows]
        return grid(header, lines, right=set(range(len(keys), len(header))))
    header = [*keys, "n", "KPI", "mean", "95% interval"]
    lines = [[*(str(r[k]) for k in keys), str(r[REPLICATIONS]), kpi, _number(r[kpi]),
              f"{_number(r[f'{kpi}_ci_low'])} .. {_number(r[f'{kpi}_ci_high'])}"]
             for r in rows for kpi in kpis]
    return grid(header, lines, right=set(range(len(keys), len(header))) - {len(keys) + 1})


def _cell(row: dict[str, Any], kpi: str) -> str:
    return f"{_number(row[kpi])} ({_number(row[f'{kpi}_ci_low'])} .. " \
        f"{_number(row[f'{kpi}_ci_high'])})"


def _number(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.4g}"
