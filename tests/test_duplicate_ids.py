"""Rows repeating a contact_id: a KpiforgeWarning with the count (the rows beyond each id's
first), or an error under strict=True / --strict; the same count in every way of running."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import kpiforge
from kpiforge.errors import KpiforgeError, KpiforgeWarning

# a, b, a, c, (empty), b, a: 'a' three times, 'b' twice: 3 rows repeat an id; the empty cell
# is no id; 3 distinct ids.
IDS = ["a", "b", "a", "c", "", "b", "a"]
MESSAGE = "3 contacts rows repeat the contact_id of another row"


def frame(ids=IDS) -> pd.DataFrame:
    return pd.DataFrame({"contact_id": ids, "arrived_s": np.arange(float(len(ids)))})


def repeat_warnings(data, **options) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kpiforge.compute(data, ["offered"], **options)
    return [str(w.message) for w in caught if issubclass(w.category, KpiforgeWarning)]


def test_every_way_of_running_counts_the_same_repeats(tmp_path, threaded_dask):
    data = frame()
    path = tmp_path / "contacts.parquet"
    data.to_parquet(path, row_group_size=2)
    csv = tmp_path / "contacts.csv"
    data.to_csv(csv, index=False)
    runs = {
        "memory": repeat_warnings({"contacts": data}),
        "chunks of 2": repeat_warnings({"contacts": data}, chunk_rows=2),
        "csv chunks of 3": repeat_warnings(csv, chunk_rows=3),
        "workers": repeat_warnings(path, chunk_rows=2, workers=2),
        "stream": repeat_warnings(iter([data.iloc[:3], data.iloc[3:]])),
        "dask": repeat_warnings(path, scheduler=threaded_dask),
    }
    for name, messages in runs.items():
        assert len(messages) == 1, (name, messages)
        assert messages[0].startswith(MESSAGE), (name, messages)
        assert "3 distinct ids" in messages[0] and "strict=True (--strict)" in messages[0]
        assert messages == runs["memory"], name  # the same example id, however split


def test_strict_makes_it_an_error_and_unique_ids_are_quiet():
    with pytest.raises(KpiforgeError, match=MESSAGE):
        kpiforge.compute({"contacts": frame()}, ["offered"], strict=True)
    with pytest.raises(KpiforgeError, match=MESSAGE):
        kpiforge.compute({"contacts": frame()}, ["offered"], strict=True, chunk_rows=2)
    unique = frame(["a", "b", "c", "", None, "d", "e"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = kpiforge.compute({"contacts": unique}, ["offered"], strict=True)
    assert result["offered"][0] == 7  # counting is unchanged


def test_the_count_matches_pandas_on_integer_and_text_ids():
    """Random ids with repeats and missing cells, in chunks that split repeats apart."""
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 3000, 5000)
    expected = int(pd.Series(ids).duplicated().sum())
    text = np.where(rng.random(5000) < 0.05, None, ids.astype(str)).astype(object)
    expected_text = int(pd.Series(text).dropna().duplicated().sum())
    for values, count in ((pa.array(ids), expected), (pa.array(text), expected_text)):
        data = pa.table({"contact_id": values, "arrived_s": np.arange(5000.0)})
        for options in ({}, {"chunk_rows": 777}):
            (message,) = repeat_warnings({"contacts": data}, **options)
            assert message.startswith(f"{count:,} contacts rows repeat"), (options, message)


def test_totals_warn_once():
    data = frame().assign(channel=["call", "chat"] * 3 + ["call"])
    assert len(repeat_warnings({"contacts": data}, by=["channel"], totals=True)) == 1


def kpiforge_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpiforge", *map(str, args)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "KPIFORGE_PLUGINS": ""})


def test_the_command_line_warns_in_one_line_or_fails_with_strict(tmp_path):
    path = tmp_path / "contacts.csv"
    frame().to_csv(path, index=False)
    warned = kpiforge_cli("compute", path, "--kpi", "offered", "--format", "json")
    assert warned.returncode == 0, warned.stderr
    assert warned.stderr.splitlines() == [
        f"Warning: {MESSAGE} (such as 'a'; 3 distinct ids); each is counted as another "
        "contact: remove the duplicates, or pass strict=True (--strict) to make this an "
        "error"]
    strict = kpiforge_cli("compute", path, "--kpi", "offered", "--strict")
    assert strict.returncode == 1
    assert strict.stdout == ""
    assert strict.stderr.splitlines() == [
        f"Error: {MESSAGE} (such as 'a'; 3 distinct ids); each is counted as another "
        "contact: remove the duplicates; strict=True (--strict) makes this an error"]


def test_text_ids_are_compared_by_their_whole_text():
    """Ids that share their first 8 or 16 bytes, multi-byte text, and a 200-character id:
    only the exact repeats count (pandas)."""
    ids = ["ticket-000000001", "ticket-000000002", "ticket-0000000010", "ticket-000000001",
           "ünïcødé-ключ-1", "ünïcødé-ключ-2", "ünïcødé-ключ-1", "x" * 200, "x" * 199 + "y",
           "x" * 200, "T", "T ", "t"]
    expected = int(pd.Series(ids).duplicated().sum())
    assert expected == 3
    for options in ({}, {"chunk_rows": 2}):
        (message,) = repeat_warnings({"contacts": frame(ids)}, **options)
        assert message.startswith("3 contacts rows repeat") and "(such as 'ticket-000000001';" \
            in message, message


def test_a_hash_collision_is_not_a_repeat():
    """Two different texts given the same key (as a 64-bit hash collision would) are two
    ids; the same text twice is one repeat."""
    from kpiforge.engine.ids import _distinct

    texts = pa.array(["alpha", "beta", "alpha", "gamma"])
    keys = np.array([7, 7, 7, 9], dtype=np.uint64)
    ids = _distinct("contact_id", keys, texts, 0)
    assert ids.repeats == 1 and ids.example == "alpha"
    assert sorted(ids.texts.to_pylist()) == ["alpha", "beta", "gamma"]
    clash = _distinct("contact_id", np.array([7, 7], dtype=np.uint64),
                      pa.array(["alpha", "beta"]), 0)
    assert clash.repeats == 0 and len(clash) == 2


def test_random_text_ids_in_random_pieces_match_pandas():
    """Texts of 0-40 characters from a small alphabet (many near misses), with missing
    cells, split into random pieces merged in a random tree: pandas' count each time."""
    from kpiforge.engine.ids import IdSet

    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(1, 400))
        texts = ["".join(rng.choice(list("ab\u00e9"), size=int(rng.integers(0, 40))))
                 if rng.random() > 0.1 else None for _ in range(n)]
        present = pd.Series([t for t in texts if t])
        cuts = np.sort(rng.choice(np.arange(1, n + 1), size=min(n, 4), replace=False))
        bounds = [0, *cuts[cuts < n].tolist(), n]
        array = pa.array(texts, pa.string())
        sets = [IdSet.of("contact_id", array.slice(a, b - a))
                for a, b in itertools.pairwise(bounds)]
        while len(sets) > 1:
            i = int(rng.integers(0, len(sets) - 1))
            sets[i:i + 2] = [IdSet.merged(sets[i:i + 2])]
        assert sets[0].repeats == int(present.duplicated().sum())
        assert len(sets[0]) == present.nunique()


def test_integer_and_text_pieces_compare_as_text():
    """A piece of integer ids and a piece of text ids (CSV chunks typed apart): 3 is '3';
    integer ids with a missing cell are read as text."""
    from kpiforge.engine.ids import IdSet

    numbers = IdSet.of("contact_id", pa.array([1, 2, 3, 2]))
    assert (numbers.repeats, numbers.example, len(numbers)) == (1, 2, 3)
    merged = IdSet.merged([numbers, IdSet.of("contact_id", pa.array(["3", "4", "03"]))])
    assert (merged.repeats, merged.example, len(merged)) == (2, 2, 5)
    gaps = IdSet.of("contact_id", pa.array([7, None, 7, 8]))
    assert (gaps.repeats, gaps.example, len(gaps)) == (1, "7", 2)
