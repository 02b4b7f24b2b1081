"""The contact-centre simulator and the analytic queueing references (Erlang B, C, A).

>>> from kpiforge.simulations import builtin_scenario, simulate
>>> run = simulate(builtin_scenario("demo", {"scenario.days": "1"}))
>>> run.contacts.num_rows > 1000
True
"""

from importlib.resources import as_file, files

from kpiforge.simulations.erlang import (
    QueueMetrics,
    erlang_a,
    erlang_b,
    erlang_c,
    required_agents,
)
from kpiforge.simulations.model import SimulationError
from kpiforge.simulations.runner import FORMATS, Simulation, replicate, simulate
from kpiforge.simulations.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

BUILTIN_SCENARIOS = ("demo", "flat")


def builtin_scenario(name: str, overrides: dict[str, str] | None = None) -> Scenario:
    """A scenario shipped with kpiforge: ``demo`` (a realistic week) or ``flat`` (one call
    queue, flat arrivals and staffing: the Erlang A validation case)."""
    if name not in BUILTIN_SCENARIOS:
        raise ScenarioError(f"unknown built-in scenario {name!r}; use "
                            f"{', '.join(BUILTIN_SCENARIOS)}")
    with as_file(files("kpiforge.simulations") / "scenarios" / f"{name}.toml") as path:
        return load_scenario(path, overrides)


__all__ = [
    "BUILTIN_SCENARIOS",
    "FORMATS",
    "QueueMetrics",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationError",
    "builtin_scenario",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "load_scenario",
    "parse_scenario",
    "replicate",
    "required_agents",
    "simulate",
]
