"""Fixtures: the hand-made tables as columns, CSV files and a directory; and the settings
of the property tests.

The suite sees the built-in plugins only, whatever else is installed where it runs: outside
plugins are tested by installing them explicitly (``test_outside_plugins.py``).

Property tests (hypothesis) run a fixed, derandomized sequence of examples, so every run
tries the same cases: ``KPIFORGE_FUZZ_EXAMPLES`` examples per test (100 by default; more to
search harder, for example ``KPIFORGE_FUZZ_EXAMPLES=5000``). Hypothesis keeps no example
database and writes its caches under a temporary directory.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from handmade import (
    AGENT_COLUMNS,
    AGENT_ROWS,
    CONTACT_COLUMNS,
    CONTACT_ROWS,
    CUSTOMER_COLUMNS,
    CUSTOMER_ROWS,
    REPORT_COLUMNS,
    REPORT_ROWS,
    REPORT_TARGETS,
    columns_of,
    write_csv,
)
from hypothesis import HealthCheck, settings

os.environ["KPIFORGE_PLUGINS"] = ""

_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="kpiforge-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _HYPOTHESIS_HOME
settings.register_profile(
    "kpiforge",
    max_examples=int(os.environ.get("KPIFORGE_FUZZ_EXAMPLES", "100")),
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("kpiforge")


@pytest.fixture(autouse=True, scope="session")
def _working_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests run in a temporary directory, so that a file written by a relative path never
    lands in the working tree."""
    previous = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)


@pytest.fixture
def contacts() -> dict[str, np.ndarray]:
    return columns_of(CONTACT_ROWS, CONTACT_COLUMNS)


@pytest.fixture
def agent_intervals() -> dict[str, np.ndarray]:
    return columns_of(AGENT_ROWS, AGENT_COLUMNS)


@pytest.fixture
def customers() -> dict[str, np.ndarray]:
    return columns_of(CUSTOMER_ROWS, CUSTOMER_COLUMNS)


@pytest.fixture
def all_tables(contacts, agent_intervals, customers) -> dict[str, dict[str, np.ndarray]]:
    return {"contacts": contacts, "agent_intervals": agent_intervals, "customers": customers}


@pytest.fixture
def contacts_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "contacts.csv", CONTACT_ROWS, CONTACT_COLUMNS)


@pytest.fixture
def flat(tmp_path) -> Path:
    """The smallest scenario (the planner's guide's, shipped as flat.toml) as a file."""
    path = tmp_path / "flat.toml"
    shutil.copyfile(Path(__file__).parent.parent / "simulations" / "scenarios" / "flat.toml",
                    path)
    return path


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A directory holding the three tables as CSV files."""
    directory = tmp_path / "data"
    directory.mkdir()
    write_csv(directory / "contacts.csv", CONTACT_ROWS, CONTACT_COLUMNS)
    write_csv(directory / "agent_intervals.csv", AGENT_ROWS, AGENT_COLUMNS)
    write_csv(directory / "customers.csv", CUSTOMER_ROWS, CUSTOMER_COLUMNS)
    return directory



@pytest.fixture
def report_data(tmp_path) -> tuple[Path, Path]:
    """Two days of calls and chats (``handmade.REPORT_ROWS``) and their targets file."""
    contacts = write_csv(tmp_path / "contacts.csv", REPORT_ROWS, REPORT_COLUMNS)
    targets = tmp_path / "targets.toml"
    targets.write_text(REPORT_TARGETS)
    return contacts, targets


@pytest.fixture(scope="session")
def threaded_dask():
    """A Dask client of two in-process workers: Dask's code paths (fragments, scatter,
    pairwise merges) without starting processes."""
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1,
                            dashboard_address=None) as client:
        yield client
