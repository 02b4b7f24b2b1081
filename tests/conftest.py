"""Fixtures: the hand-made tables as columns, CSV files and a directory.

The suite sees the built-in plugins only, whatever else is installed where it runs: outside
plugins are tested by installing them explicitly (``test_outside_plugins.py``).
"""

from __future__ import annotations

import os
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
    columns_of,
    write_csv,
)

os.environ["KPIFORGE_PLUGINS"] = ""


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
def data_dir(tmp_path) -> Path:
    """A directory holding the three tables as CSV files."""
    directory = tmp_path / "data"
    directory.mkdir()
    write_csv(directory / "contacts.csv", CONTACT_ROWS, CONTACT_COLUMNS)
    write_csv(directory / "agent_intervals.csv", AGENT_ROWS, AGENT_COLUMNS)
    write_csv(directory / "customers.csv", CUSTOMER_ROWS, CUSTOMER_COLUMNS)
    return directory

