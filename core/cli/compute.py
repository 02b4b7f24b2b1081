"""``kpiforge compute``: KPIs over files, printed or written."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from kpiforge import engine
from kpiforge.cli.options import calendar_option, param_option, parse_params, split_names
from kpiforge.cli.render import render_table
from kpiforge.engine.grains import GRAINS
from kpiforge.errors import KpiforgeError, MissingColumnError, MissingTableError
from kpiforge.goals.targets import Tracked, load_targets, track
from kpiforge.io.badrows import POLICIES, BadRowLog
from kpiforge.io.output import write_text
from kpiforge.report import kpi_view, plot_kpis
from kpiforge.results import FORMATS, Result
from kpiforge.simulations.plots import plot_format

#: The option that gives each table besides contacts.
TABLE_OPTIONS = {"agent_intervals": "--agents PATH", "customers": "--customers PATH"}

_EXISTING = click.Path(exists=True, path_type=Path)


@click.command("compute")
@click.argument("path", type=_EXISTING)
@click.option("--agents", type=_EXISTING, help="agent_intervals CSV/Parquet file.")
@click.option("--customers", type=_EXISTING, help="customers CSV/Parquet file.")
@click.option("--map", "mapping", metavar="FILE.toml|PRESET",
              help="Read an export through a column mapping: a mapping file or a preset's "
                   "name (`kpiforge import --list`).")
@click.option("--on-bad-rows", type=click.Choice(POLICIES),
              help="Go on past bad rows: skip drops them, null empties their bad cells; "
                   "how many, per reason, goes to standard error. Default: a bad row stops "
                   "the run.")
@click.option("--bad-rows", "bad_rows_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="With --on-bad-rows, write the bad rows (table, row, "
                                   "line, column, value, problem) to this CSV file.")
@click.option("--by", "by", multiple=True, metavar="DIM",
              help="Group by a dimension (repeat, or comma-separate): channel, queue, agent... "
                   "hour_of_day, weekday, or any column of the data (priority, contract_type...).")
@click.option("--grain", type=click.Choice(GRAINS), help="Time grain for interval_start.")
@click.option("--totals", is_flag=True,
              help="Add the overall row (per interval with --grain), computed from all rows; "
                   "grouping_id marks it.")
@click.option("--rollup", is_flag=True,
              help="Add subtotals per leading --by dimension and the overall row (SQL "
                   "ROLLUP); grouping_id marks them.")
@click.option("--kpi", "kpis", multiple=True, metavar="ID",
              help="KPI or KGI id to compute (repeat, or comma-separate); default: all the "
                   "data supports.")
@param_option
@click.option("--targets", "targets_path", type=_EXISTING, metavar="FILE",
              help="A targets file (TOML): adds each targeted KPI's status (on track, at "
                   "risk, off) per group, as <id>_status columns.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of standard output.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE.png|svg",
              help="Also draw the KPIs over time, a line per group and one panel per KPI (the "
                   "--kpi ones; default: those with a target, then the others, 12 at most), "
                   "as PNG or SVG. Needs --grain and kpiforge[plot].")
@click.option("--chunk-rows", type=click.IntRange(min=1), metavar="N",
              help="Stream the input N rows at a time (bounded memory; quantiles from a "
                   "sketch, error <= 0.5 %).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Process chunks in N worker processes.")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run on Dask: a scheduler address (tcp://host:8786) or 'local' for a "
                   "LocalCluster. Needs kpiforge[dask].")
@click.option("--tz", metavar="ZONE",
              help="Time zone (IANA name, e.g. Asia/Tokyo): naive times are read in it, and "
                   "grains, weekdays and months are its calendar, DST included; labels "
                   "carry the offset. Default: a simulated run's zone, else UTC.")
@click.option("--strict", is_flag=True,
              help="Fail when rows repeat a contact_id (by default a warning on standard "
                   "error says how many; each such row counts as another contact).")
@calendar_option
def compute_command(path: Path, agents: Path | None, customers: Path | None,
                    mapping: str | None, on_bad_rows: str | None,
                    bad_rows_path: Path | None, by: tuple[str], grain: str | None,
                    totals: bool, rollup: bool, kpis: tuple[str], params: tuple[str],
                    targets_path: Path | None, fmt: str, out: Path | None,
                    plot_path: Path | None, chunk_rows: int | None, workers: int | None,
                    dask_address: str | None, tz: str | None, strict: bool,
                    calendar: str | None) -> None:
    """Compute KPIs from PATH: a contacts file (CSV or Parquet) or a directory holding
    contacts, agent_intervals and customers files."""
    if fmt == "parquet" and out is None:
        raise KpiforgeError("--format parquet writes a binary file: give --out FILE")
    if plot_path is not None:
        if grain is None:
            raise KpiforgeError("--plot draws KPIs over time: give --grain too (1h, 1d...)")
        plot_format(plot_path)  # checks the suffix and matplotlib before computing
    if bad_rows_path is not None and on_bad_rows is None:
        raise KpiforgeError("--bad-rows FILE records the rows --on-bad-rows skips or nulls: "
                            "give --on-bad-rows skip|null too")
    if dask_address is not None and workers is not None:
        raise KpiforgeError("--workers and --dask do not go together: the Dask cluster has "
                            "its own workers")
    options: dict[str, Any] = {
        "kpis": split_names(kpis) or None, "by": split_names(by), "grain": grain,
        "params": parse_params(params), "chunk_rows": chunk_rows,
        "workers": workers, "totals": totals, "rollup": rollup, "mapping": mapping,
        "on_bad_rows": None if on_bad_rows is None else BadRowLog(on_bad_rows), "tz": tz,
        "strict": strict, "calendar": calendar}
    targets = None if targets_path is None else load_targets(targets_path)
    result = _compute(_tables(path, agents, customers), dask_address, options)
    log = options["on_bad_rows"]
    if log is not None:
        click.echo(log.describe(), err=True)
        if bad_rows_path is not None:
            write_text(log.to_csv(), bad_rows_path)
            click.echo(f"wrote {len(log.rows)} bad rows to {bad_rows_path}", err=True)
    if plot_path is not None:
        plot_kpis(plot_path, kpi_view(result, options["kpis"], targets),
                  title=f"{path.name}: KPIs per {grain}")
        click.echo(f"wrote {plot_path}", err=True)
    emit(result if targets is None else track(result, targets), fmt, out)


def _tables(path: Path, agents: Path | None, customers: Path | None
            ) -> Path | dict[str, Path]:
    """What ``compute`` reads: PATH, or the contacts file with the other tables' files."""
    if not (agents or customers):
        return path
    if path.is_dir():
        raise KpiforgeError("--agents/--customers go with a contacts file, not a "
                            "directory (a directory holds its own table files)")
    data = {"contacts": path}
    if agents:
        data["agent_intervals"] = agents
    if customers:
        data["customers"] = customers
    return data


def _compute(data: Path | dict[str, Path], dask_address: str | None,
             options: dict[str, Any]) -> Result:
    """Run the engine here or on Dask; the library's errors get the command line's advice."""
    try:
        if dask_address is None:
            return engine.compute(data, **options)
        with engine.connect(dask_address) as client:
            return engine.compute(data, scheduler=client, **options)
    except MissingTableError as exc:
        option = TABLE_OPTIONS.get(exc.table, "a directory holding it")
        raise KpiforgeError(f"{exc.subject} needs the {exc.table} table; pass it with "
                            f"{option}") from None
    except MissingColumnError as exc:
        raise KpiforgeError(f"{exc} (--kpi ID)") from None


def left_out_line(skipped: Mapping[str, str]) -> str:
    """One line naming the KPIs left out, grouped by why: ``left out 3 KPIs the data cannot
    support: occupancy, shrinkage (needs the agent_intervals table); csat (...)``."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped.items():
        by_reason.setdefault(reason, []).append(name)
    groups = "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())
    return f"left out {len(skipped)} KPIs the data cannot support: {groups}"


def emit(result: Result, fmt: str, out: Path | None) -> None:
    """Print ``result`` or write it to ``out`` atomically."""
    tracked = result if isinstance(result, Tracked) else None
    if out is not None:
        if fmt == "table":
            write_text(render_table(result, tracked) + "\n", out)
        else:
            result.write(out, fmt)
        click.echo(f"wrote {len(result)} rows to {out}", err=True)
        return
    click.echo(render_table(result, tracked) if fmt == "table" else result.render(fmt),
               nl=fmt == "table")
    if result.skipped:
        click.echo(left_out_line(result.skipped), err=True)
    if fmt == "table" and tracked is not None and tracked.missing:
        click.echo(f"(targets without a status, their KPI not computed: "
                   f"{', '.join(tracked.missing)})", err=True)
