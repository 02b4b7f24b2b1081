"""``kpiforge erlang``: the analytic staffing answers (Erlang C, or Erlang A with patience)."""

from __future__ import annotations

import json

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


@click.command("erlang")
@click.option("--calls", type=click.FloatRange(min=0), required=True,
              help="Contacts arriving per interval.")
@click.option("--interval-s", type=click.FloatRange(min=0, min_open=True), default=3600,
              show_default=True, help="Interval length in seconds.")
@click.option("--aht-s", type=click.FloatRange(min=0, min_open=True), required=True,
              help="Mean handling time (talk + after-contact work) in seconds.")
@click.option("--target-s", type=click.FloatRange(min=0), default=20, show_default=True,
              help="Answer within this many seconds counts towards the service level.")
@click.option("--patience-s", type=click.FloatRange(min=0, min_open=True),
              help="Mean patience (exponential): Erlang A. Leave out for Erlang C.")
@click.option("--agents", help="Agent counts to evaluate: N, N-M or N,M,...")
@click.option("--service-level", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Find the fewest agents reaching this service level, e.g. 0.8.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def erlang_command(calls: float, interval_s: float, aht_s: float, target_s: float,
                   patience_s: float | None, agents: str | None, service_level: float | None,
                   fmt: str) -> None:
    """Service level, ASA, occupancy and abandonment for a staffing level, or the staffing
    a service level needs. In JSON an ASA that is infinite (agents <= traffic without
    abandonment) is null."""
    if agents is None and service_level is None:
        raise click.UsageError("give --agents N (what does N agents give?) or "
                               "--service-level 0.8 (how many agents for it?)")
    counts = _agent_counts(agents) if agents else []
    needed = None
    if service_level is not None:
        needed = required_agents(calls, interval_s, aht_s, service_level, target_s, patience_s)
        counts = counts or [needed - 1, needed, needed + 1]
    metrics = queue_metrics(calls, interval_s, aht_s, np.array(counts), target_s, patience_s)
    rows = [{"agents": n, "wait_probability": float(metrics.wait_probability[i]),
             "service_level": float(metrics.service_level[i]),
             "asa": float(metrics.asa[i]) if np.isfinite(metrics.asa[i]) else None,
             "occupancy": float(metrics.occupancy[i]),
             "abandon_rate": float(metrics.abandon_rate[i])} for i, n in enumerate(counts)]
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
