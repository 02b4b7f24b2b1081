"""The compiled loops (numba, ``kpiforge[fast]``) give the numpy path's bits, and the setting
that chooses between them.

Every comparison runs the same rows through both ways, ``KPIFORGE_NUMBA=1`` and ``0``, and
asserts equality to the last bit (NaN where NaN); the numpy path is itself checked against
hand-worked values and pandas elsewhere in the suite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.definitions import Measure
from kpiforge.engine import accelerator, fusion, modes
from kpiforge.engine.passes import PassSpec, group_rows, table_partial
from kpiforge.engine.quantiles import QuantileMode, order_statistics
from kpiforge.io.tables import table_from_arrow
from kpiforge.simulations import builtin_scenario, simulate

numba = pytest.importorskip("numba")

BOTH = pytest.mark.parametrize("setting", ["1", "0"])


def both_ways(monkeypatch, run):
    """``run()`` with the compiled loops, then with numpy only."""
    results = []
    for setting in ("1", "0"):
        monkeypatch.setenv(accelerator.ENV, setting)
        results.append(run())
    return results


def assert_same_bits(compiled, numpy_only, what=""):
    compiled, numpy_only = np.asarray(compiled), np.asarray(numpy_only)
    assert compiled.dtype == numpy_only.dtype or compiled.dtype.kind == numpy_only.dtype.kind, \
        what
    if compiled.dtype.kind == "f":
        np.testing.assert_array_equal(compiled.view(np.int64), numpy_only.view(np.int64),
                                      err_msg=what)
    else:
        np.testing.assert_array_equal(compiled, numpy_only, err_msg=what)


@pytest.fixture(scope="module")
def run():
    return simulate(builtin_scenario("demo", {"scenario.days": "4"}))


@pytest.mark.parametrize(("by", "grain"), [
    (["channel", "queue"], "15min"), (["agent"], "1d"), ([], "1w"), (["channel"], "1mo"),
    ([], None)])
def test_every_catalogue_kpi_has_the_same_bits_both_ways(monkeypatch, run, by, grain):
    tables = run.tables()
    compiled, numpy_only = both_ways(monkeypatch, lambda: kpiforge.compute(
        tables, by=by, grain=grain, calendar="weekdays-9-17"))
    assert compiled.kpis.keys() == numpy_only.kpis.keys()
    for name in by + (["interval_start"] if grain else []):
        assert compiled.keys[name].tolist() == numpy_only.keys[name].tolist()
    for kpi in compiled.kpis:
        assert_same_bits(compiled[kpi], numpy_only[kpi], kpi)


@pytest.mark.parametrize("chunk_rows", [None, 3_000])
def test_chunks_and_threads_keep_the_bits(monkeypatch, run, chunk_rows):
    """Streamed chunks (two passes for the exact p90), and in memory a piece per thread."""
    monkeypatch.setattr(modes, "MIN_PIECE_ROWS", 1_000)
    options = {"kpis": ["offered", "asa", "aht", "wait_p90", "service_level"],
               "by": ["channel", "queue"], "grain": "1h", "chunk_rows": chunk_rows}
    compiled, numpy_only = both_ways(monkeypatch, lambda: kpiforge.compute(
        {"contacts": run.contacts}, **options))
    for kpi in options["kpis"]:
        assert_same_bits(compiled[kpi], numpy_only[kpi], kpi)


#: Expressions of every form the fused loop translates, and some it leaves to numpy.
FUSED = {
    "plain_count": ("count", None, None),
    "present_float": ("count", "wait", None),
    "present_int": ("count", "items", None),
    "filtered_count": ("count", None, "notnan(answered_s) & (items == 1)"),
    "numeric_filter": ("count", None, "wait"),
    "int_filter": ("count", None, "items - 1"),
    "constant_filter": ("count", None, "limit > 10"),
    "text_equal": ("count", None, "channel == 'chat'"),
    "text_not_equal": ("count", None, "'chat' != channel"),
    "absent_label": ("count", None, "channel == 'fax'"),
    "chained": ("count", None, "0 < wait <= limit"),
    "logic": ("count", None, "not (isnan(wait) or wait > 30) and ~(items >= 2)"),
    "bool_value": ("sum", "wait > 5", None),
    "sum_float": ("sum", "answered_s - arrived_s", None),
    "sum_int": ("sum", "items * 2 - 1", "notnan(answered_s)"),
    "sum_mixed": ("sum", "items + wait / 2", None),
    "division": ("sum", "wait / items", None),
    "division_by_float": ("sum", "items / (wait - wait)", None),
    "int_division": ("sum", "items / 2", None),
    "coalesce": ("sum", "coalesce(answered_s, abandoned_s) - arrived_s", None),
    "coalesce_int": ("sum", "coalesce(wait, items)", None),
    "where": ("sum", "where(wait, wait * 3, -1.5)", None),
    "where_ints": ("sum", "where(items > 1, 1, 0)", None),
    "abs_sqrt": ("sum", "sqrt(abs(wait - 40)) + abs(items - 2)", None),
    "negative": ("sum", "-wait + +items", None),
    "constant_value": ("sum", "limit", None),
    "int_constant_value": ("count", "3", None),
    "nan_constant": ("sum", "wait * 0 + limit / 0", None),
    "quantile": ("quantile", "coalesce(answered_s, abandoned_s) - arrived_s", None),
    "filtered_quantile": ("quantile", "wait", "channel != 'call'"),
    "bool_sum": ("sum", "notnan(wait) + notnan(answered_s)", None),
    "overflow_to_nan": ("sum", "wait * 1e307 * 100", None),
    "text_members": ("count", None, "channel in ('call', 'chat', 'none')"),
    "number_members": ("sum", "wait", "items not in (1, 3)"),
}
#: Forms numpy keeps: functions and operators without an exact row-by-row equal here,
#: and accumulators other than count, sum and exact quantiles.
NOT_FUSED = {
    "logarithm": ("sum", "log(wait + 1)", None),
    "power": ("sum", "wait ** 2", None),
    "floor_division": ("sum", "wait // 7", None),
    "smallest_of": ("sum", "min(wait, items)", None),
    "minimum": ("min", "wait", None),
    "maximum": ("max", "wait", "items > 0"),
}


def _measure(name, agg, value, where):
    return Measure(name, "contacts", agg, value=value, where=where,
                   q=0.75 if agg == "quantile" else None)


@pytest.fixture(scope="module")
def tricky_table():
    """Floats with NaN, zeros and negatives, int64 counts, text with a missing label."""
    rng = np.random.default_rng(3)
    n = 5_000
    arrived = np.sort(rng.uniform(0, 86_400 * 2, n))
    wait = np.round(rng.normal(30, 25, n), 1)
    wait[rng.random(n) < 0.15] = np.nan
    wait[rng.random(n) < 0.05] = 0.0
    answered = np.where(rng.random(n) < 0.7, arrived + np.abs(np.nan_to_num(wait)), np.nan)
    abandoned = np.where(np.isnan(answered) & (rng.random(n) < 0.8), arrived + 50, np.nan)
    channel = pa.array(rng.choice(["call", "chat", "email"], n)).to_pylist()
    for i in rng.choice(n, 200, replace=False):
        channel[i] = None
    data = pa.table({"arrived_s": arrived, "answered_s": answered, "abandoned_s": abandoned,
                     "wait": wait, "items": rng.integers(0, 4, n), "channel": channel})
    return table_from_arrow("contacts", data, "tricky contacts")


def _spec(measures, grain="1h"):
    return PassSpec(table="contacts", measures=tuple(measures),
                    dimensions=(("channel", "channel"),), grain=grain,
                    params={"limit": 45.0}, quantiles=QuantileMode.EXACT)


def test_expressions_give_the_same_states_both_ways(monkeypatch, tricky_table):
    spec = _spec(_measure(name, *form) for name, form in {**FUSED, **NOT_FUSED}.items())
    compiled, numpy_only = both_ways(monkeypatch, lambda: table_partial(tricky_table, spec))
    assert_same_bits(compiled.keys["channel"].codes, numpy_only.keys["channel"].codes)
    assert_same_bits(compiled.keys["interval_start"], numpy_only.keys["interval_start"])
    for name, state in numpy_only.states.items():
        for compiled_part, numpy_part in zip(_arrays(compiled.states[name]), _arrays(state),
                                             strict=True):
            assert_same_bits(compiled_part, numpy_part, name)


def _arrays(state):
    """A state's arrays: itself, or an exact quantile's codes and values (its runs joined)."""
    if isinstance(state, np.ndarray):
        return [state]
    return [np.concatenate([c if g is None else g[c] for c, _, g in state]),
            np.concatenate([v for _, v, _ in state])]


def test_the_loop_fuses_what_it_translates_and_only_that(monkeypatch, tricky_table):
    monkeypatch.setenv(accelerator.ENV, "1")
    spec = _spec(_measure(name, *form) for name, form in {**FUSED, **NOT_FUSED}.items())
    accumulators = {m.name: spec.accumulator(m) for m in spec.measures}
    groups = group_rows(tricky_table, spec)
    fused = fusion.fused_states(spec.measures, accumulators, tricky_table, spec.params, groups)
    assert set(fused) == set(FUSED)


def test_the_generated_source_holds_no_text_of_the_definitions(monkeypatch):
    monkeypatch.setenv(accelerator.ENV, "1")
    label = "x'); import os; os.system('echo') #"
    data = pa.table({"arrived_s": [1.0, 2.0], "odd_column_name": [3.0, 4.0],
                     "channel": [label, "b"]})
    table = table_from_arrow("contacts", data, "odd contacts")
    spec = _spec([Measure("odd", "contacts", "sum", value="odd_column_name * 123.25",
                          where=f'channel == "{label}"')])
    accumulators = {m.name: spec.accumulator(m) for m in spec.measures}
    program = fusion._program(spec.measures, accumulators, table, spec.params)
    assert program is not None
    for text in ("odd_column_name", "123.25", "import os", "channel", "limit"):
        assert text not in program.source


def test_group_codes_are_the_same_both_ways(monkeypatch, tricky_table):
    for grain in (None, "15min", "1d", "1w", "1mo"):
        spec = _spec([], grain)
        compiled, numpy_only = both_ways(monkeypatch, lambda s=spec: group_rows(tricky_table, s))
        assert compiled.count == numpy_only.count
        assert_same_bits(compiled.codes, numpy_only.codes, grain)
        for name in numpy_only.keys:
            numpy_keys, compiled_keys = numpy_only.keys[name], compiled.keys[name]
            if name == "channel":
                numpy_keys, compiled_keys = numpy_keys.codes, compiled_keys.codes
            assert_same_bits(compiled_keys, numpy_keys, f"{grain} {name}")


def test_ad_hoc_columns_group_the_same_both_ways(monkeypatch, tricky_table):
    """Any column groups (here a text and an integer column no plugin declares)."""
    data = {"contacts": {**{n: tricky_table.columns[n] for n in ("arrived_s", "answered_s")},
                         "priority": tricky_table.columns["channel"],
                         "type": tricky_table.columns["items"]}}
    compiled, numpy_only = both_ways(monkeypatch, lambda: kpiforge.compute(
        data, ["offered", "asa"], by=["priority", "type"], grain="1h"))
    for name in ("priority", "type", "interval_start"):
        assert compiled.keys[name].tolist() == numpy_only.keys[name].tolist()
    for kpi in ("offered", "asa"):
        assert_same_bits(compiled[kpi], numpy_only[kpi], kpi)


@pytest.mark.parametrize("grain", [None, "15min", "1w"])
def test_calendar_keys_give_the_same_groups_both_ways(monkeypatch, tricky_table, grain):
    spec = PassSpec(table="contacts", measures=(_measure("rows", "count", None, None),),
                    dimensions=(("weekday", "arrived_s"), ("hour_of_day", "arrived_s")),
                    grain=grain, params={}, quantiles=QuantileMode.EXACT)
    compiled, numpy_only = both_ways(monkeypatch, lambda: table_partial(tricky_table, spec))
    for name in spec.key_names:
        assert_same_bits(compiled.keys[name], numpy_only.keys[name], name)
    assert_same_bits(compiled.states["rows"], numpy_only.states["rows"])


@pytest.mark.parametrize("level", [
    np.arange(600) % 7, (np.arange(600) % 5).astype(np.uint64), (np.arange(600) % 3 - 1)
    .astype(np.int8), np.where(np.arange(600) % 4 == 0, np.nan, np.arange(600) % 6 * 0.5),
    np.arange(600) * 10**12])
def test_numeric_dimensions_give_the_same_groups_both_ways(monkeypatch, level):
    data = pa.table({"arrived_s": np.arange(600.0) * 97, "level": level})
    table = table_from_arrow("contacts", data, "levels")
    spec = PassSpec(table="contacts", measures=(_measure("rows", "count", None, None),),
                    dimensions=(("level", "level"),), grain="1h", params={},
                    quantiles=QuantileMode.EXACT)
    compiled, numpy_only = both_ways(monkeypatch, lambda: table_partial(table, spec))
    assert_same_bits(compiled.keys["level"], numpy_only.keys["level"])
    assert_same_bits(compiled.keys["interval_start"], numpy_only.keys["interval_start"])
    assert_same_bits(compiled.states["rows"], numpy_only.states["rows"])


def test_compiled_order_statistics_are_exact(monkeypatch):
    """Groups of one value to thousands, ranks at both ends and in the middle, ties."""
    rng = np.random.default_rng(11)
    sizes = np.concatenate([[0, 1, 2, 17, 5_000], rng.integers(1, 60, 3_000)])
    codes = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(codes)
    values = np.round(rng.exponential(40, len(codes)))
    counts = np.bincount(codes, minlength=len(sizes))
    ranks = [np.zeros(len(sizes), np.intp), np.maximum(counts - 1, 0), counts // 2,
             np.floor(np.maximum(counts - 1, 0) * 0.9).astype(np.intp)]
    monkeypatch.setenv(accelerator.ENV, "1")
    found = order_statistics([(codes, values, None)], counts, ranks)
    ordered = [np.sort(values[codes == g]) for g in range(len(sizes))]
    for rank, got in zip(ranks, found, strict=True):
        expected = [o[r] if len(o) else np.nan for o, r in zip(ordered, rank, strict=True)]
        np.testing.assert_array_equal(got, expected)


def test_kernels_are_written_under_the_user_cache_directory(monkeypatch, tmp_path,
                                                            tricky_table):
    monkeypatch.setenv(accelerator.ENV, "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(fusion, "_KERNELS", {})
    spec = _spec([_measure("plain_count", "count", None, None)], grain=None)
    table_partial(tricky_table, spec)
    written = sorted((tmp_path / "kpiforge" / "passes").glob("kpiforge_pass_*.py"))
    assert len(written) == 2  # the group codes' loop and the measures' loop
    numba_cache = Path(numba.config.CACHE_DIR) if numba.config.CACHE_DIR else tmp_path
    assert {p.name.split(".")[0] for p in numba_cache.rglob("kpiforge_pass_*.nbi")} >= \
        {p.stem for p in written}


@pytest.mark.parametrize(("setting", "rows", "expected"), [
    ("0", 10**9, None), ("auto", 10, None), ("", 10, None), ("auto", 10**9, "compiled"),
    ("1", 10, "compiled")])
def test_the_setting_chooses_the_loops(monkeypatch, setting, rows, expected):
    monkeypatch.setenv(accelerator.ENV, setting)
    chosen = accelerator.loops(rows)
    assert (chosen and chosen.__name__.rsplit(".", 1)[1]) == expected


def test_a_bad_setting_or_missing_numba_is_an_error(monkeypatch):
    monkeypatch.setenv(accelerator.ENV, "yes")
    with pytest.raises(KpiforgeError, match="KPIFORGE_NUMBA='yes' is not a setting; use one "
                                            "of auto, 1, 0"):
        accelerator.loops(10)
    monkeypatch.setattr(accelerator, "_compiled", lambda: "No module named 'numba'")
    monkeypatch.setenv(accelerator.ENV, "1")
    with pytest.raises(KpiforgeError, match=r"numba cannot be imported \(No module named "
                                            r"'numba'\); install it with pip install "
                                            r"'kpiforge\[fast\]'"):
        accelerator.loops(10)
    monkeypatch.setenv(accelerator.ENV, "auto")
    assert accelerator.loops(10**9) is None
