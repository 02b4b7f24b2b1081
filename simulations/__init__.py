"""The contact-centre simulator and the analytic queueing references (Erlang B, C, A).

>>> from kpiforge.simulations import builtin_scenario, simulate
>>> run = simulate(builtin_scenario("demo", {"scenario.days": "1"}))
>>> run.contacts.num_rows > 1000
True

Names are imported on first use: the Erlang functions load without SimPy and the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpiforge.lazy import lazy_exports

if TYPE_CHECKING:
    from kpiforge.simulations.erlang import (
        QueueMetrics,
        erlang_a,
        erlang_b,
        erlang_c,
        required_agents,
    )
    from kpiforge.simulations.forecasting import ContactForecast, forecast_history
    from kpiforge.simulations.model import SimulationError
    from kpiforge.simulations.replications import (
        Replications,
        Summary,
        mean_ci,
        replicate,
        run_replications,
        run_scenarios,
    )
    from kpiforge.simulations.runner import FORMATS, Simulation, simulate
    from kpiforge.simulations.scenario import (
        BUILTIN_SCENARIOS,
        Scenario,
        ScenarioError,
        builtin_scenario,
        load_scenario,
        parse_scenario,
    )
    from kpiforge.simulations.size import Limits, RunSize, RunSizeError, estimate_size
    from kpiforge.simulations.sweeps import Sweep, prepare_sweep, run_sweep
    from kpiforge.simulations.whatif import WhatIf, compare, whatif_scenarios

#: Public name -> the module that defines it.
_PUBLIC = {
    **dict.fromkeys(("QueueMetrics", "erlang_a", "erlang_b", "erlang_c", "required_agents"),
                    "kpiforge.simulations.erlang"),
    "SimulationError": "kpiforge.simulations.model",
    **dict.fromkeys(("FORMATS", "Simulation", "simulate"), "kpiforge.simulations.runner"),
    **dict.fromkeys(("Replications", "Summary", "mean_ci", "replicate", "run_replications",
                     "run_scenarios"), "kpiforge.simulations.replications"),
    **dict.fromkeys(("ContactForecast", "forecast_history"),
                    "kpiforge.simulations.forecasting"),
    **dict.fromkeys(("Sweep", "prepare_sweep", "run_sweep"), "kpiforge.simulations.sweeps"),
    **dict.fromkeys(("WhatIf", "compare", "whatif_scenarios"), "kpiforge.simulations.whatif"),
    **dict.fromkeys(("BUILTIN_SCENARIOS", "Scenario", "ScenarioError", "builtin_scenario",
                     "load_scenario", "parse_scenario"), "kpiforge.simulations.scenario"),
    **dict.fromkeys(("Limits", "RunSize", "RunSizeError", "estimate_size"),
                    "kpiforge.simulations.size"),
}

__all__ = [
    "BUILTIN_SCENARIOS",
    "FORMATS",
    "ContactForecast",
    "Limits",
    "QueueMetrics",
    "Replications",
    "RunSize",
    "RunSizeError",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationError",
    "Summary",
    "Sweep",
    "WhatIf",
    "builtin_scenario",
    "compare",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "estimate_size",
    "forecast_history",
    "load_scenario",
    "mean_ci",
    "parse_scenario",
    "prepare_sweep",
    "replicate",
    "required_agents",
    "run_replications",
    "run_scenarios",
    "run_sweep",
    "simulate",
    "whatif_scenarios",
]


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
