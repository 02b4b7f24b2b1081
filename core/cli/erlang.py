"""``kpiforge erlang``: the analytic staffing answers (Erlang C, or Erlang A with patience)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from kpiforge.cli.render import format_value, grid
from kpiforge.simulations.erlang import queue_metrics, required_agents


def _agent_counts(text: str) -> list[int]:
    """``11``, ``9-14`` or ``9,11,13``."""
    counts: list[int] = []
    for part in text.split(","):
        low, sep, high = part.partition("-")
        try:
            counts.extend(range(int(low), int(high) + 1) if sep else [int(low)])
        except ValueError:
            raise click.BadParameter(f"expected N, N-M or N,M,..., got {text!r}",
                                     param_hint="--agents") from None
    return counts


def _volumes(text: str) -> list[float]:
    """``200`` or ``120,200,340``."""
    try:
        volumes = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected N or N,M,..., got {text!r}",
                                 param_hint="--calls") from None
    if not volumes or min(volumes) < 0:
        raise click.BadParameter(f"expected contacts >= 0, got {text!r}", param_hint="--calls")
    return volumes


@click.command("erlang")
@click.argument("forecast", required=False, type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path))
@click.option("--calls", help="Contacts arriving per interval: N, or N,M,... for a batch.")
@click.option("--interval-s", type=click.FloatRange(min=0, min_open=True),
              help="Interval length in seconds (default 3600; a forecast's rows: 1800).")
@click.option("--aht-s", type=click.FloatRange(min=0, min_open=True),
              help="Mean handling time (talk + after-contact work) in seconds; a forecast's "
                   "aht_s column wins where it has a value.")
@click.option("--target-s", type=click.FloatRange(min=0), default=20, show_default=True,
              help="Answer within this many seconds counts towards the service level.")
@click.option("--patience-s", type=click.FloatRange(min=0, min_open=True),
              help="Mean patience (exponential): Erlang A. Leave out for Erlang C.")
@click.option("--agents", help="Agent counts to evaluate: N, N-M or N,M,...")
@click.option("--service-level", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Find the fewest agents reaching this service level, e.g. 0.8.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def erlang_command(forecast: Path | None, calls: str | None, interval_s: float | None,
                   aht_s: float | None, target_s: float, patience_s: float | None,
                   agents: str | None, service_level: float | None, fmt: str) -> None:
    """Service level, ASA, occupancy and abandonment for a staffing level, or the staffing
    a service level needs. FORECAST (a forecast file: interval_start, channel[, queue],
    contacts[, aht_s, patience_s]) or --calls N,M,... answer many intervals at once, every
    row as calls. In JSON an ASA that is infinite (agents <= traffic without abandonment)
    and the occupancy of 0 agents are null."""
    if agents is None and service_level is None:
        raise click.UsageError("give --agents N (what does N agents give?) or "
                               "--service-level 0.8 (how many agents for it?)")
    if forecast is None and calls is None:
        raise click.UsageError("give --calls N (or N,M,... for a batch) or a forecast file")
    if forecast is None and aht_s is None:
        raise click.UsageError("give --aht-s (the mean handling time)")
    volumes = _volumes(calls) if calls is not None else []
    if forecast is not None or len(volumes) > 1:
        _batch(forecast, volumes, interval_s, aht_s, target_s, patience_s, agents,
               service_level, fmt)
        return
    assert aht_s is not None
    _single(volumes[0], interval_s or 3600.0, aht_s, target_s, patience_s, agents,
            service_level, fmt)


def _single(calls: float, interval_s: float, aht_s: float, target_s: float,
            patience_s: float | None, agents: str | None, service_level: float | None,
            fmt: str) -> None:
    """One interval: the rows around the answer, or the head counts asked for."""
    counts = _agent_counts(agents) if agents else []
    needed = None
    if service_level is not None:
        needed = required_agents(calls, interval_s, aht_s, service_level, target_s, patience_s)
        counts = counts or [needed - 1, needed, needed + 1]
    metrics = queue_metrics(calls, interval_s, aht_s, np.array(counts), target_s, patience_s)
    rows = [{"agents": n, **{k: _number(getattr(metrics, field)[i])
                             for k, field in _METRICS.items()}} for i, n in enumerate(counts)]
    if fmt == "json":
        click.echo(json.dumps({"model": "erlang_a" if patience_s else "erlang_c",
                               "traffic": calls * aht_s / interval_s,
                               "required_agents": needed, "rows": rows}, indent=1))
        return
    model = f"Erlang A (patience {patience_s:g} s)" if patience_s else "Erlang C"
    click.echo(f"{model}: {calls:g} contacts per {interval_s:g} s, AHT {aht_s:g} s = "
               f"{calls * aht_s / interval_s:.2f} Erlangs; service level = answered within "
               f"{target_s:g} s / offered\n")
    header = ["agents", "P(wait)", "service level", "ASA", "occupancy", "abandoned"]
    click.echo(grid(header, [[
        f"{r['agents']}{' <' if r['agents'] == needed else ''}",
        format_value(r["wait_probability"], "%"), format_value(r["service_level"], "%"),
        "never" if r["asa"] is None else format_value(r["asa"], "s"),
        format_value(r["occupancy"], "%"), format_value(r["abandon_rate"], "%")]
        for r in rows], right=set(range(1, 6))))
    if needed is not None:
        click.echo(f"\n< fewest agents for a {service_level:.0%} service level: {needed}")


def _batch(forecast: Path | None, volumes: list[float], interval_s: float | None,
           aht_s: float | None, target_s: float, patience_s: float | None,
           agents: str | None, service_level: float | None, fmt: str) -> None:
    """Many intervals: one row each, with the required agents or the given head count."""
    counts = _agent_counts(agents) if agents else []
    if len(counts) > 1:
        raise click.BadParameter("a batch evaluates one head count per interval",
                                 param_hint="--agents")
    keys: dict[str, list[str]] = {}
    if forecast is not None:
        from kpiforge.simulations.forecast import read_forecast  # pyarrow: only for files

        data = read_forecast(forecast, interval_s or 1800.0, aht_s=aht_s,
                             patience_s=patience_s, other_kind="call")
        interval = float(data.interval_s)
        calls, aht, patience = data.contacts, data.aht_s, data.patience_s
        keys = {"interval_start": np.datetime_as_string(data.start, unit="s").tolist(),
                "channel": data.channel.tolist(), "queue": data.queue.tolist()}
    else:
        interval = interval_s or 3600.0
        calls = np.array(volumes)
        aht = np.full(len(calls), aht_s)
        patience = np.full(len(calls), np.nan if patience_s is None else patience_s)
    needed = np.full(len(calls), -1, dtype=np.int64)
    metrics: dict[str, np.ndarray] = {k: np.full(len(calls), np.nan) for k in _METRICS}
    for erlang_a in (False, True):
        part = np.flatnonzero(np.isnan(patience) != erlang_a)
        if not part.size:
            continue
        p = patience[part] if erlang_a else None
        if service_level is not None:
            needed[part] = required_agents(calls[part], interval, aht[part], service_level,
                                           target_s, p)
        n = needed[part] if not counts else np.full(part.size, counts[0])
        m = queue_metrics(calls[part], interval, aht[part], n, target_s, p)
        for name, field in _METRICS.items():
            metrics[name][part] = getattr(m, field)
    rows: list[dict[str, Any]] = [{**{k: v[i] for k, v in keys.items()},
             "calls": float(calls[i]), "aht_s": float(aht[i]),
             "traffic": float(calls[i] * aht[i] / interval),
             "model": "erlang_c" if np.isnan(patience[i]) else "erlang_a",
             "agents": int(needed[i]) if not counts else counts[0],
             **({"required_agents": int(needed[i])} if service_level is not None else {}),
             **{k: _number(v[i]) for k, v in metrics.items()}} for i in range(len(calls))]
    if fmt == "json":
        click.echo(json.dumps({"interval_s": interval, "target_s": target_s, "rows": rows},
                              indent=1))
        return
    header = [*keys, "calls", "AHT", "Erlangs", "agents", "service level", "ASA",
              "occupancy", "abandoned"]
    click.echo(grid(header, [[*(str(r[k])[:16].replace("T", " ") for k in keys),
                              f"{r['calls']:g}", format_value(r["aht_s"], "s"),
                              f"{r['traffic']:.2f}", str(r["agents"]),
                              format_value(r["service_level"], "%"),
                              "never" if r["asa"] is None else format_value(r["asa"], "s"),
                              format_value(r["occupancy"], "%"),
                              format_value(r["abandon_rate"], "%")] for r in rows],
                    right=set(range(len(keys), len(header)))))


_METRICS = {"wait_probability": "wait_probability", "service_level": "service_level",
            "asa": "asa", "occupancy": "occupancy", "abandon_rate": "abandon_rate"}


def _number(value: float) -> float | None:
    """JSON-ready: infinite or undefined values are null."""
    return float(value) if np.isfinite(value) else None
