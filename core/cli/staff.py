"""``kpiforge staff``: agents per interval for a forecast, the shifts that cover them, and
a simulation that checks the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.parquet as pq

from kpiforge.cli.options import directory_advice, force_option, parse_assignments
from kpiforge.cli.progress import progress_bar
from kpiforge.cli.render import format_value, grid
from kpiforge.errors import KpiforgeError
from kpiforge.io.output import atomic_directory, csv_text, write_text
from kpiforge.simulations.plots import plot_format
from kpiforge.simulations.staffing import FORMATS, METHODS
from kpiforge.staffing import (
    Requirements,
    ShiftPlan,
    Verification,
    plan_shifts,
    plot_staffing,
    requirements,
    verify_plan,
)


def _targets(values: tuple[str, ...], option: str) -> Any:
    """``0.8`` (every channel) and ``chat=0.7`` (one channel or kind), as requirements()
    takes them: one value, or a mapping with ``*`` for every channel not named."""
    shared = [v for v in values if "=" not in v]
    named = parse_assignments([v for v in values if "=" in v], option)
    if len(shared) > 1:
        raise click.BadParameter("give one value for every channel, then CHANNEL=VALUE for "
                                 "others", param_hint=option)
    if not named:
        return shared[0] if shared else None
    return {**({"*": shared[0]} if shared else {}), **named}


def _level(value: Any) -> Any:
    try:
        if isinstance(value, dict):
            return {k: float(v) for k, v in value.items()}
        return None if value is None else float(value)
    except ValueError:
        raise click.BadParameter(f"expected a share such as 0.8, got {value!r}",
                                 param_hint="--service-level") from None


@click.command("staff")
@click.argument("forecast", metavar="FORECAST_OR_SCENARIO",
                type=click.Path(exists=True, path_type=Path))
@click.option("--service-level", "levels", multiple=True, metavar="SHARE|CHANNEL=SHARE",
              help="Target share answered within --within, e.g. 0.8 (every channel) or "
                   "chat=0.7; default 0.8.")
@click.option("--within", multiple=True, metavar="SECONDS|CHANNEL=SECONDS",
              help="Answer (email: reply) within this, e.g. 20, 60s, 24h or email=8h; "
                   "default 20 s calls, 60 s chat, 24 h email.")
@click.option("--interval", default="30min", show_default=True,
              help="Planning interval; forecast rows are summed into it.")
@click.option("--shrinkage", type=click.FloatRange(0, 1, max_open=True), default=0.0,
              show_default=True, help="Share of scheduled time off the phones.")
@click.option("--max-occupancy", type=click.FloatRange(0, 1, min_open=True),
              help="Add agents until occupancy is at most this share, e.g. 0.85.")
@click.option("--method", type=click.Choice(METHODS), default="erlang", show_default=True,
              help="erlang (analytic) or simulate (replications per interval).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="Write to this file (with --shifts and csv/parquet: this directory).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the plan into a .png or .svg file (needs kpiforge[plot]).")
@click.option("--aht-s", type=click.FloatRange(min=0, min_open=True),
              help="Handling time where the forecast gives none.")
@click.option("--patience-s", type=click.FloatRange(min=0, min_open=True),
              help="Mean patience of calls and chats where the forecast gives none.")
@click.option("--kind", "kinds", multiple=True, metavar="CHANNEL=KIND",
              help="The kind (call, chat, email) of a channel with another name.")
@click.option("--concurrency", type=click.IntRange(1, 10),
              help="Chats an agent holds at once (default 1; a scenario says its own).")
@click.option("--stretch", type=click.FloatRange(min=0),
              help="Chat handling added per extra parallel chat (default 0.25).")
@click.option("--shifts", "patterns", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="Shift patterns (TOML): plan the shifts covering the requirement.")
@click.option("--verify", is_flag=True,
              help="Simulate the shift plan: service level per interval and per day.")
@click.option("--replications", type=click.IntRange(min=2), default=10, show_default=True,
              help="Replications for --method simulate and --verify.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@force_option
def staff_command(forecast: Path, levels: tuple[str, ...], within: tuple[str, ...],
                  interval: str, shrinkage: float, max_occupancy: float | None, method: str,
                  fmt: str, out: Path | None, plot: Path | None, aht_s: float | None,
                  patience_s: float | None, kinds: tuple[str, ...], concurrency: int | None,
                  stretch: float | None, patterns: Path | None, verify: bool,
                  replications: int, confidence: float, seed: int, force: bool) -> None:
    """Agents per interval, channel and queue for FORECAST_OR_SCENARIO: a forecast file
    (interval_start, channel[, queue], contacts[, aht_s, patience_s]), a scenario (.toml)
    or history (kpiforge compute output, contacts export)."""
    if verify and patterns is None:
        raise click.UsageError("--verify simulates a shift plan: give --shifts patterns.toml")
    if plot is not None:
        plot_format(plot)
    with_plan = patterns is not None
    if fmt == "parquet" and out is None:
        raise KpiforgeError("--format parquet writes binary files: give --out")
    if with_plan and fmt in ("csv", "parquet") and out is None:
        raise KpiforgeError(f"--shifts with --format {fmt} writes several tables: give --out "
                            "DIR")
    with progress_bar("simulating intervals") as progress:
        table = requirements(
            str(forecast), _level(_targets(levels, "--service-level")),
            _targets(within, "--within"), interval=interval, shrinkage=shrinkage,
            max_occupancy=max_occupancy, method=method, aht_s=aht_s, patience_s=patience_s,
            kinds=parse_assignments(kinds, "--kind"), concurrency=concurrency,
            stretch=stretch, replications=replications, confidence=confidence, seed=seed,
            progress=progress)
    plan = plan_shifts(table, patterns) if patterns is not None else None
    checked = None
    if plan is not None and verify:
        with progress_bar("simulating the plan") as progress:
            checked = verify_plan(table, plan, replications, confidence, seed, progress)
    _emit(table, plan, checked, fmt, out, force)
    if plot is not None:
        plot_staffing(plot, table, plan, checked)
        click.echo(f"wrote {plot}", err=True)


def _emit(table: Requirements, plan: ShiftPlan | None, checked: Verification | None,
          fmt: str, out: Path | None, force: bool) -> None:
    if plan is None:
        if fmt == "table":
            text = _requirements_text(table) + "\n"
        elif out is not None:
            table.write(out, fmt)
            click.echo(f"wrote {len(table)} rows to {out}", err=True)
            return
        else:
            text = table.render(fmt)
    elif fmt in ("csv", "parquet"):
        assert out is not None
        _write_directory(out, _plan_tables(table, plan, checked), fmt,
                         plan.staffing_toml(table.shrinkage, _concurrency(table)), force)
        return
    elif fmt == "json":
        text = json.dumps(_plan_json(table, plan, checked), indent=1) + "\n"
    else:
        text = _plan_text(table, plan, checked)
    if out is not None:
        write_text(text, out)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


def _concurrency(table: Requirements) -> int:
    chat = [m.concurrency for m in table.forecast.channels.values() if m.kind == "chat"]
    return max(chat, default=1)


def _requirements_text(table: Requirements) -> str:
    header = ["interval", "channel", "queue", "contacts", "AHT", "agents", "scheduled",
              "service level", "ASA", "abandoned", "occupancy"]
    rows = []
    for r in table.to_records():
        rows.append([r["interval_start"][:16].replace("T", " "), r["channel"], r["queue"],
                     f"{r['contacts']:,.1f}", format_value(r["aht_s"], "s"),
                     str(r["agents"]), str(r["scheduled"]),
                     _level_text(r), format_value(r["asa_s"], "s"),
                     format_value(r["abandonment"], "%"), format_value(r["occupancy"], "%")])
    targets = ", ".join(f"{name} {t.service_level:.0%} within {t.within_s:g} s"
                        for name, t in table.targets.items())
    note = (f"{table.method}: targets {targets}; shrinkage {table.shrinkage:.0%}"
            + (f", occupancy at most {table.max_occupancy:.0%}" if table.max_occupancy
               else ""))
    return note + "\n\n" + grid(header, rows, right=set(range(3, 11)))


def _level_text(record: dict[str, Any]) -> str:
    text = format_value(record["service_level"], "%")
    if record.get("service_level_low") is not None:
        text += (f" ({record['service_level_low'] * 100:.1f}-"
                 f"{record['service_level_high'] * 100:.1f})")
    return text


def _plan_text(table: Requirements, plan: ShiftPlan, checked: Verification | None) -> str:
    parts = [_requirements_text(table), "",
             f"Shift plan: {plan.paid_hours:,.1f} paid hours, objective {plan.objective:,.2f}"
             f" ({'optimal' if plan.optimal else f'proven gap {plan.gap:.2%}'}; LP "
             f"relaxation {plan.lp_bound:,.2f}, {plan.lp_gap:.2%} below)", ""]
    shifts = plan.shift_rows()
    parts.append(grid(["date", "day", "pattern", "start", "end", "breaks", "count"],
                      [[r["date"], r["weekday"], r["pattern"], r["start"], r["end"],
                        r["breaks"], str(r["count"])] for r in shifts], right={6}))
    parts += ["", "Coverage per interval (scheduled agents):", ""]
    parts.append(grid(["interval", "required", "planned", "over", "under"],
                      [[r["interval_start"][:16].replace("T", " "), f"{r['required']:g}",
                        f"{r['planned']:.2f}", f"{r['over']:.2f}", f"{r['under']:.2f}"]
                       for r in plan.coverage_rows()], right={1, 2, 3, 4}))
    parts += ["", "Scenario staffing section (kpiforge simulate runs it):", "",
              plan.staffing_toml(table.shrinkage, _concurrency(table)).rstrip()]
    if checked is not None:
        parts += ["", f"Simulated service level ({checked.replications} replications, "
                      f"{checked.confidence:.0%} confidence intervals), per day:", ""]
        parts.append(_verification_grid(checked.records("days"), "date"))
        parts += ["", "per interval:", ""]
        parts.append(_verification_grid(checked.records("intervals"), "interval_start"))
    return "\n".join(parts) + "\n"


def _verification_grid(records: list[dict[str, Any]], key: str) -> str:
    def cell(value: float | None) -> str:
        return format_value(value, "%")

    return grid([key.replace("_", " "), "channel", "offered", "service level", "low",
                 "high", "target", "met"],
                [[str(r[key])[:16].replace("T", " "), r["channel"], f"{r['offered']:,.1f}",
                  cell(r["service_level"]), cell(r["low"]), cell(r["high"]),
                  cell(r["target"]), {1.0: "yes", 0.0: "NO"}.get(r["met"], "-")]
                 for r in records], right=set(range(2, 7)))


def _plan_json(table: Requirements, plan: ShiftPlan, checked: Verification | None
               ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requirements": table.to_records(),
        "plan": {"paid_hours": plan.paid_hours, "objective": plan.objective,
                 "bound": plan.bound, "gap": plan.gap, "lp_bound": plan.lp_bound,
                 "lp_gap": plan.lp_gap, "optimal": plan.optimal,
                 "shifts": plan.shift_rows(), "coverage": plan.coverage_rows(),
                 "staffing": plan.staffing_toml(table.shrinkage, _concurrency(table))}}
    if checked is not None:
        out["verification"] = {"replications": checked.replications,
                               "confidence": checked.confidence,
                               "days": checked.records("days"),
                               "intervals": checked.records("intervals")}
    return out


def _plan_tables(table: Requirements, plan: ShiftPlan, checked: Verification | None
                 ) -> dict[str, pa.Table]:
    tables = {"requirements": table.to_arrow(),
              "shifts": pa.Table.from_pylist(plan.shift_rows()),
              "coverage": pa.Table.from_pylist(plan.coverage_rows())}
    if checked is not None:
        for which in ("days", "intervals"):
            tables[f"verification_{which}"] = pa.Table.from_pylist(checked.records(which))
    return tables


def _write_directory(out: Path, tables: dict[str, pa.Table], fmt: str, staffing: str,
                     force: bool) -> None:
    """Every table as ``NAME.csv`` or ``NAME.parquet`` and ``staffing.toml`` in ``out``,
    a directory of this plan only (new, empty, or replaced whole with ``force``); the files
    appear only once all are written."""
    with directory_advice(), atomic_directory(out, force) as staging:
        for name, data in tables.items():
            if fmt == "parquet":
                pq.write_table(data, staging / f"{name}.parquet")
            else:
                (staging / f"{name}.csv").write_text(csv_text(data), encoding="utf-8")
        (staging / "staffing.toml").write_text(staffing, encoding="utf-8")
    click.echo(f"wrote {', '.join(sorted(tables))} and staffing.toml to {out}", err=True)
