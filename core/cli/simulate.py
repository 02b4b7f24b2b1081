"""``kpiforge simulate``: run a scenario and write the tables the engine reads."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kpiforge.cli.options import parse_assignments
from kpiforge.simulations import FORMATS, builtin_scenario, load_scenario, simulate


@click.command("simulate")
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--days", type=click.IntRange(min=1), help="Override scenario.days.")
@click.option("--seed", type=click.IntRange(min=0), help="Override scenario.seed.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override any scenario key, e.g. staffing.agents=12 or "
                   "channels.call.aht_s.mean=200 (values are TOML).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for contacts, agent_intervals and scenario.toml.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet",
              show_default=True)
def simulate_command(scenario: Path | None, days: int | None, seed: int | None,
                     settings: tuple[str], out: Path, fmt: str) -> None:
    """Simulate SCENARIO (a TOML file; default: the built-in demo week) and write its
    contacts and agent_intervals tables to --out."""
    overrides = parse_assignments(settings, "--set")
    if days is not None:
        overrides["scenario.days"] = str(days)
    if seed is not None:
        overrides["scenario.seed"] = str(seed)
    plan = load_scenario(scenario, overrides) if scenario else builtin_scenario("demo",
                                                                                 overrides)
    if sys.stderr.isatty():
        with click.progressbar(length=plan.days, label=f"simulating {plan.name}",
                               file=sys.stderr) as bar:
            run = simulate(plan, progress=lambda day: bar.update(1))
    else:
        run = simulate(plan)
    written = run.write(out, fmt)
    click.echo(f"{run.contacts.num_rows} contacts over {plan.days} days simulated in "
               f"{run.seconds:.1f} s; wrote {', '.join(str(p) for p in written)}", err=True)
