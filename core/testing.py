"""pytest plugin: synthetic contact loads and KPI benchmarks for plugin authors.

Installed with kpiforge (entry point ``pytest11``), so any test suite gets two fixtures:

``contact_load(scenario="demo", days=None, seed=None, **settings)``
    The tables of a simulated run, ready for ``kpiforge.compute``: a built-in scenario name
    (``demo``, ``flat``), a path to a scenario TOML file, or a :class:`Scenario`; ``settings``
    override scenario keys (``{"staffing.agents": 12}``; dots become double underscores in
    keyword form: ``staffing__agents=12``). Runs are cached for the session by the resolved
    scenario; each call returns a new mapping of the (immutable) Arrow tables, so a test
    that changes its mapping does not change the next test's.

``benchmark_kpis(tables, kpis=None, by=(), grain=None, **compute_options)``
    Times ``kpiforge.compute`` on ``tables`` with pytest-benchmark and returns the result.

Example::

    def test_callback_share_speed(contact_load, benchmark_kpis):
        tables = contact_load("demo", days=28, seed=1)
        result = benchmark_kpis(tables, kpis=["callback_share"], by=["channel"])
        assert len(result) == 3
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import kpiforge
from kpiforge import simulations

if TYPE_CHECKING:
    import pyarrow as pa

#: Simulated tables by the resolved scenario's TOML text.
_RUNS: dict[str, dict[str, pa.Table]] = {}


def load_contacts(scenario: Any = "demo", days: int | None = None, seed: int | None = None,
                  **settings: Any) -> dict[str, pa.Table]:
    """The tables of a simulated run (cached by scenario for the session)."""
    overrides = {key.replace("__", "."): str(value) for key, value in settings.items()}
    if days is not None:
        overrides["scenario.days"] = str(days)
    if seed is not None:
        overrides["scenario.seed"] = str(seed)
    if isinstance(scenario, simulations.Scenario) and overrides:
        raise ValueError("pass days, seed and settings with a scenario name or file; a "
                         "Scenario object is used as it is")
    if isinstance(scenario, simulations.Scenario):
        plan = scenario
    elif str(scenario) in simulations.BUILTIN_SCENARIOS:
        plan = simulations.builtin_scenario(str(scenario), overrides)
    else:
        plan = simulations.load_scenario(Path(scenario), overrides)
    key = plan.to_toml()
    if key not in _RUNS:
        _RUNS[key] = simulations.simulate(plan).tables()
    return dict(_RUNS[key])


@pytest.fixture
def contact_load() -> Callable[..., dict[str, pa.Table]]:
    """Factory of simulated contact loads: ``contact_load(scenario, days=, seed=, ...)``."""
    return load_contacts


@pytest.fixture
def benchmark_kpis(benchmark) -> Callable[..., Any]:
    """Factory timing ``kpiforge.compute(tables, ...)`` with pytest-benchmark."""
    def run(tables: dict[str, pa.Table], kpis: Any = None, by: Any = (), grain: Any = None,
            **options: Any):
        return benchmark(kpiforge.compute, tables, kpis=kpis, by=by, grain=grain, **options)

    return run
