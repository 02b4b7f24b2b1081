"""``kpiforge forecast``: contacts and handling time per channel and interval, weeks ahead,
from history, with a back-test against seasonal naive."""

from __future__ import annotations

from pathlib import Path

import click
import pyarrow as pa

from kpiforge.cli.options import split_names
from kpiforge.cli.render import format_value, grid
from kpiforge.errors import KpiforgeError
from kpiforge.io.output import csv_text, json_text, write_text
from kpiforge.simulations.forecasting import FORMATS, ContactForecast, forecast_history
from kpiforge.simulations.plots import plot_forecast, plot_format


@click.command("forecast")
@click.argument("history", type=click.Path(exists=True, path_type=Path))
@click.option("--horizon", default="13w", show_default=True,
              help="How far ahead: weeks (13w) or days (91d).")
@click.option("--interval", default="30min", show_default=True,
              help="Interval length: 15min, 30min or 1h.")
@click.option("--by", "by", multiple=True, metavar="channel[,queue]",
              help="Forecast per channel (default) or per channel,queue.")
@click.option("--country", metavar="CODE",
              help="Public holidays of this country (ISO code, e.g. US, GB, DE) are "
                   "special days.")
@click.option("--calendar", metavar="SCENARIO",
              help="A scenario (file or built-in name) whose [[events]] are special days.")
@click.option("--backtest", type=click.IntRange(min=0), default=2, show_default=True,
              metavar="WEEKS", help="Hold out the last WEEKS to measure the error (0: none).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the forecast here (atomically) instead of standard output.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the back-test errors here (.csv or .json).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw daily forecast against actual, with the back-test window.")
def forecast_command(history: Path, horizon: str, interval: str, by: tuple[str, ...],
                     country: str | None, calendar: str | None, backtest: int, fmt: str,
                     out: Path | None, report: Path | None, plot: Path | None) -> None:
    """Forecast contacts and AHT per channel (and queue) and interval from HISTORY: a
    contacts export (a file or a run directory) or `kpiforge compute` output with
    interval_start, channel[, queue], offered, aht. Writes a forecast file that `kpiforge
    staff` and a scenario's [forecast] read, and prints the back-test errors (MAPE, WAPE)
    of the forecast and of seasonal naive."""
    if fmt == "parquet" and out is None:
        raise KpiforgeError("--format parquet writes a binary file: give --out FILE")
    if report is not None and report.suffix.lower() not in (".csv", ".json"):
        raise KpiforgeError(f"{report}: the report is written as .csv or .json")
    if plot is not None:
        plot_format(plot)
    result = forecast_history(history, horizon, interval, by=split_names(by) or ["channel"],
                              country=country, calendar=calendar, backtest=backtest)
    if out is not None:
        result.write(out, fmt)
        click.echo(f"wrote {len(result.to_arrow())} rows to {out}", err=True)
    else:
        click.echo(result.render(fmt), nl=False)
    if backtest:
        click.echo(render_backtest(result), err=True)
    if report is not None:
        rows = result.backtest_records()
        text = json_text(rows) if report.suffix.lower() == ".json" else \
            csv_text(pa.Table.from_pylist(rows))
        write_text(text, report)
        click.echo(f"wrote {report}", err=True)
    if plot is not None:
        plot_forecast(plot, result)
        click.echo(f"wrote {plot}", err=True)


def render_backtest(result: ContactForecast) -> str:
    """The back-test errors as text, one row per series."""
    rows = result.backtest_records()
    header = [*result.by, "weeks", "intervals", "MAPE", "WAPE", "naive MAPE", "naive WAPE",
              "AHT WAPE", "naive AHT WAPE", "beats naive"]
    cells = [[*(str(r[k]) for k in result.by), str(r["weeks"]), str(r["intervals"]),
              *(format_value(r[k], "%") for k in ("mape", "wape", "naive_mape", "naive_wape",
                                                  "aht_wape", "naive_aht_wape")),
              "yes" if r["beats_naive"] else "NO"] for r in rows]
    return "Back-test (held-out weeks, interval by interval):\n\n" + grid(
        header, cells, right=set(range(len(result.by), len(header) - 1)))
