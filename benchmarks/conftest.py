"""Benchmark options and generated data sets (sizes set on the command line)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

CHANNELS = np.array(["call", "chat", "email"], dtype=object)
QUEUES = np.array([f"q{i:02d}" for i in range(20)], dtype=object)
DAY_S = 86_400.0


def pytest_addoption(parser):
    parser.addoption("--contacts", default="1000000",
                     help="rows of generated contacts for the engine benchmarks; a comma "
                          "list runs each size as its own group (1000000,10000000)")
    parser.addoption("--sim-days", type=int, default=60,
                     help="days of the flat scenario for the simulator benchmarks")
    parser.addoption("--sweep-points", type=int, default=None,
                     help="grid points of the sweep benchmark (default 40, or 2 below a "
                          "week of --sim-days)")
    parser.addoption("--sweep-replications", type=int, default=None,
                     help="replications per point of the sweep benchmark (default 10, or 2 "
                          "below a week of --sim-days)")


def generate_contacts(rows: int, days: int = 30, seed: int = 7) -> pa.Table:
    """Contacts over ``days`` days in 3 channels and 20 queues (text keys dictionary-encoded),
    with answers, abandons, handling, resolution, surveys: every column the catalogue reads."""
    rng = np.random.default_rng(seed)
    arrived = np.sort(rng.uniform(0, days * DAY_S, rows))
    wait = rng.exponential(40.0, rows)
    patience = rng.exponential(180.0, rows)
    answered = wait <= patience
    still_waiting = rng.random(rows) < 0.01
    answered_s = np.where(answered & ~still_waiting, arrived + wait, np.nan)
    abandoned_s = np.where(~answered & ~still_waiting, arrived + patience, np.nan)
    is_answered = ~np.isnan(answered_s)
    handle = np.where(is_answered, rng.lognormal(np.log(240), 0.5, rows), np.nan)
    acw = np.where(is_answered, rng.exponential(30.0, rows), np.nan)
    touches = np.where(is_answered, 1 + rng.binomial(2, 0.15, rows), 0).astype(np.float64)
    resolved = is_answered & (rng.random(rows) < 0.85)
    surveyed = is_answered & (rng.random(rows) < 0.3)

    def dictionary(labels: np.ndarray, p: list[float] | None) -> pa.DictionaryArray:
        codes = rng.choice(len(labels), size=rows, p=p).astype(np.int32)
        return pa.DictionaryArray.from_arrays(codes, pa.array(labels.tolist()))

    return pa.table({
        "channel": dictionary(CHANNELS, [0.6, 0.3, 0.1]),
        "queue": dictionary(QUEUES, None),
        "arrived_s": arrived,
        "answered_s": answered_s,
        "abandoned_s": abandoned_s,
        "handle_s": handle,
        "acw_s": acw,
        "resolved_s": np.where(resolved, answered_s + handle + (touches - 1) * 3600, np.nan),
        "replies": touches + rng.integers(0, 2, rows),
        "touches": touches,
        "escalated": (is_answered & (rng.random(rows) < 0.05)).astype(np.float64),
        "csat": np.where(surveyed, rng.integers(1, 6, rows), np.nan),
        "nps": np.where(surveyed, rng.integers(0, 11, rows), np.nan),
    })


def pytest_generate_tests(metafunc):
    if "rows" in metafunc.fixturenames:
        sizes = [int(n) for n in metafunc.config.getoption("--contacts").split(",")]
        metafunc.parametrize("rows", sizes, ids=[size_label(n) for n in sizes],
                             scope="session")


def size_label(rows: int) -> str:
    """1000000 -> '1M', 20000 -> '20k'."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return str(rows)


_TABLES: dict[int, pa.Table] = {}


@pytest.fixture(scope="session")
def contacts_table(rows) -> pa.Table:
    """Generated contacts, one table per size, kept for the session."""
    if rows not in _TABLES:
        _TABLES.clear()
        _TABLES[rows] = generate_contacts(rows)
    return _TABLES[rows]


@pytest.fixture(scope="session")
def sim_days(request) -> int:
    return request.config.getoption("--sim-days")
