"""Simulator speed: contacts simulated per second, in one run, against Ciw and a minimal
hand-written SimPy loop of the same M/M/c+M model (the flat Erlang A scenario: 200 calls an
hour, exponential handling with mean 180 s, patience with mean 120 s, 11 agents).

Each benchmark records ``contacts`` and ``contacts_per_s`` in ``extra_info``; compare the
rates (the tools draw different random streams, so their counts differ slightly).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import ciw
import numpy as np
import pyarrow.parquet as pq
import pytest
import simpy

from kpiforge.simulations import builtin_scenario, replicate, simulate

FLAT = Path(__file__).resolve().parent.parent / "simulations" / "scenarios" / "flat.toml"
RATE, AHT, PATIENCE, AGENTS = 200 / 3600, 180.0, 120.0, 11


def record(benchmark, contacts: int) -> None:
    benchmark.extra_info["contacts"] = contacts
    benchmark.extra_info["contacts_per_s"] = contacts / benchmark.stats.stats.mean


def bare_simpy(days: int, seed: int = 1) -> int:
    """The textbook SimPy M/M/c+M: a process per caller racing its patience."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    arrivals = [0]

    def caller():
        with agents.request() as request:
            outcome = yield request | env.timeout(rng.exponential(PATIENCE))
            if request in outcome:
                yield env.timeout(rng.exponential(AHT))

    def source():
        while True:
            yield env.timeout(rng.exponential(1 / RATE))
            arrivals[0] += 1
            env.process(caller())

    env.process(source())
    env.run(until=days * 86400)
    return arrivals[0]


def ciw_model(days: int, seed: int = 1) -> int:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RATE)],
        service_distributions=[ciw.dists.Exponential(rate=1 / AHT)],
        number_of_servers=[AGENTS],
        reneging_time_distributions=[ciw.dists.Exponential(rate=1 / PATIENCE)],
    )
    ciw.seed(seed)
    model = ciw.Simulation(network)
    model.simulate_until_max_time(days * 86400)
    return len(model.get_all_records())


@pytest.mark.benchmark(group="simulate-flat")
def test_kpiforge_simulate_command(benchmark, sim_days, tmp_path):
    """The whole `kpiforge simulate` command: start-up, simulation, writing Parquet (into a
    new directory each round, as a run directory holds one run)."""
    out = tmp_path / "run"

    def command():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "kpiforge", "simulate", str(FLAT), "--days",
                        str(sim_days), "--out", str(out)], check=True, capture_output=True)

    benchmark.pedantic(command, rounds=3, iterations=1)
    record(benchmark, pq.read_table(out / "contacts.parquet").num_rows)


@pytest.mark.benchmark(group="simulate-flat")
def test_kpiforge_simulate_in_process(benchmark, sim_days):
    scenario = builtin_scenario("flat", {"scenario.days": str(sim_days)})
    run = benchmark.pedantic(simulate, args=(scenario,), rounds=3, iterations=1)
    record(benchmark, run.contacts.num_rows)


@pytest.mark.benchmark(group="simulate-flat")
def test_ciw(benchmark, sim_days):
    contacts = benchmark.pedantic(ciw_model, args=(sim_days,), rounds=1, iterations=1)
    record(benchmark, contacts)


@pytest.mark.benchmark(group="simulate-flat")
def test_bare_simpy_loop(benchmark, sim_days):
    contacts = benchmark.pedantic(bare_simpy, args=(sim_days,), rounds=3, iterations=1)
    record(benchmark, contacts)


@pytest.mark.benchmark(group="simulate-demo")
def test_demo_model(benchmark, sim_days):
    """The full model (three channels, shifts, staggered breaks, shrinkage, chat
    concurrency, emails, escalation, repeats, surveys); compare its contacts_per_s with the
    bare SimPy loop's. Without warm-up and warm-down, so that every simulated contact is
    reported and counted."""
    scenario = builtin_scenario("demo", {"scenario.days": str(max(1, sim_days // 4)),
                                         "scenario.warmup": "0", "scenario.warmdown": "0"})
    run = benchmark.pedantic(simulate, args=(scenario,), rounds=3, iterations=1)
    record(benchmark, run.contacts.num_rows)


@pytest.mark.benchmark(group="replications")
@pytest.mark.parametrize("workers", sorted({1, 2, os.cpu_count() or 1}))
def test_replications(benchmark, sim_days, workers):
    """Eight replications of the flat scenario in 1 .. all-cores worker processes."""
    scenario = builtin_scenario("flat", {"scenario.days": str(max(1, sim_days // 8))})
    runs = benchmark.pedantic(replicate, args=(scenario, 8, ("service_level",), workers),
                              rounds=1, iterations=1)
    assert len(runs) == 8
    benchmark.extra_info["workers"] = workers


def peak_bytes_per_contact(days: int) -> float:
    import tracemalloc

    scenario = builtin_scenario("flat", {"scenario.days": str(days)})
    tracemalloc.start()
    run = simulate(scenario)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / run.contacts.num_rows


@pytest.mark.benchmark(group="simulate-memory")
def test_memory_grows_with_the_output_not_the_events(benchmark, sim_days):
    """Peak traced memory per contact stays flat when the run is four times longer."""
    days = max(1, sim_days // 8)
    short = peak_bytes_per_contact(days)
    long = benchmark.pedantic(peak_bytes_per_contact, args=(4 * days,), rounds=1, iterations=1)
    benchmark.extra_info.update(days=days, bytes_per_contact_short=short,
                                bytes_per_contact_long=long)
    assert long <= 1.15 * short
