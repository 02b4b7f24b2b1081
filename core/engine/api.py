"""``compute``: KPIs over contact, agent and customer tables, grouped, in one pass per table.

The engine plans once (which KPIs, which measures per table, which columns to read), makes
one vectorised pass per table (group codes, then every measure of that table accumulated
over the shared codes), merges the per-table partial results onto one key space, and
evaluates the KPI formulas over the group arrays. Partial results are mergeable, so the same
pass can run per chunk or per worker and be combined exactly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kpiforge.engine.distributed import dask_partials
from kpiforge.engine.evaluate import finish
from kpiforge.engine.ids import check_ids
from kpiforge.engine.modes import in_memory_partials, process_partials, streamed_partials
from kpiforge.engine.plan import Plan
from kpiforge.engine.quantiles import QuantileMode
from kpiforge.errors import KpiforgeError
from kpiforge.io.badrows import BadRowLog
from kpiforge.io.calendars import Calendar, resolve_calendar
from kpiforge.io.sources import TableSource, load_sources
from kpiforge.presets import resolve_mapping
from kpiforge.registry import Registry, default_registry
from kpiforge.results import Result


def compute(data: Any, kpis: Iterable[str] | None = None, by: Sequence[str] = (),
            grain: str | None = None, *, params: Mapping[str, float] | None = None,
            registry: Registry | None = None, chunk_rows: int | None = None,
            workers: int | None = None, scheduler: Any = None, totals: bool = False,
            rollup: bool = False, mapping: Any = None,
            on_bad_rows: str | BadRowLog | None = None, tz: str | None = None,
            strict: bool = False,
            calendar: Calendar | str | os.PathLike[str] | Mapping[str, Any] | None = None
            ) -> Result:
    """Compute KPIs over ``data``, one row per group.

    Parameters
    ----------
    data
        A path (a contacts CSV/Parquet file or directory of part files, or a directory with
        ``contacts``, ``agent_intervals`` and ``customers`` files), a mapping of table name
        -> columns (dict of numpy arrays, pandas, polars or Dask DataFrame, pyarrow Table)
        or path, one frame of contacts, or an iterable of contact frames (streamed).
    kpis
        KPI and KGI ids; None computes every KPI the data supports.
    by
        Dimensions to group by: declared ones (``kpiforge kpis list`` shows them) or, ad
        hoc, any column of the tables by its name (``["priority", "type"]``); and
        ``hour_of_day`` (0-23), ``weekday`` (0 Monday - 6 Sunday) from each table's time
        column, pooling the same hour or day across days and weeks.
    grain
        ``15min``, ``30min``, ``1h``, ``1d``, ``1w`` or ``1mo``: adds an ``interval_start``
        dimension from each table's time column (``arrived_s`` for contacts).
    params
        Overrides of parameter defaults, such as ``{"sl_threshold_s": 30}``.
    registry
        The definitions to use; by default every installed plugin's.
    chunk_rows
        Stream the data in chunks of this many rows: memory stays bounded however large
        the input. Quantiles stay exact when the data can be read twice (files, in-memory
        tables: a second pass reads only the rows near each group's quantile); from an
        iterator they come from a sketch (relative error <= 0.5 %).
    workers
        Process chunks in this many worker processes (implies chunks; default chunk size
        1,000,000 rows).
    scheduler
        A ``dask.distributed.Client``: run the same passes as Dask tasks (needs
        ``kpiforge[dask]``).
    totals
        Add the overall row (per interval with a grain): each KPI computed again from the
        measures of every group's rows together, never averaged from the groups; it equals
        a run without ``by``. Rows are marked by a ``grouping_id`` column (as SQL's
        ``GROUPING_ID``: 0 for the groups, a bit per dimension totalled over), the
        totalled dimensions null.
    rollup
        Like ``totals``, with subtotals per leading dimension too (SQL's ``ROLLUP``: by
        ``by[:-1]``, then ``by[:-2]``, ... down to the overall row). Each level is one more
        pass over the data, so the data must be readable again (not an iterator).
    mapping
        How to read exports whose columns are not the schema's: a mapping file (TOML), a
        dict of the same shape, a :class:`~kpiforge.io.mapping.ExportMapping` or a preset's
        name (``kpiforge import --list``). The tables it maps are read through it; one
        path or frame is the table of a mapping that maps one table.
    on_bad_rows
        None (the default): a bad row (a number column's text that is no number, a missing
        time, answered before arrival, a rating off its scale...) is an error. ``"skip"``
        drops bad rows, ``"null"`` empties their bad cells (a row without its time is
        dropped); pass a :class:`~kpiforge.io.badrows.BadRowLog` to read afterwards which
        rows were bad and why (``counts()``, ``rows``).
    tz
        An IANA time zone (``"Asia/Tokyo"``): naive times (ISO text without an offset,
        Arrow timestamps without a zone) are wall-clock times there, and grains, their
        labels, weekdays and months are computed there, DST included. None: a simulated
        run's own zone (its scenario's ``timezone``), else UTC.
    strict
        Raise :class:`KpiforgeError` when rows repeat a ``contact_id`` (each such row would
        be counted as another contact); by default a
        :class:`~kpiforge.errors.KpiforgeWarning` says how many rows repeat one.
    calendar
        Business hours, for the ``*_business`` KPIs (first response and resolution times
        counting only open hours): a calendar file (TOML: weekly hours, holidays by country
        and date, a time zone), a preset's name (``"24x7"``, ``"weekdays-9-17"``), a
        :class:`~kpiforge.io.calendars.Calendar` or a dict shaped as the file. Without one,
        those KPIs are left out (asked for: an error).

    In memory, each table is split into pieces processed by a thread per core; every way
    of running gives the same answers (quantiles from the sketch within its error, in
    worker processes, on Dask and from iterators).

    Raises
    ------
    KpiforgeError
        For unknown KPIs, dimensions or parameters, missing columns and bad data.
    """
    registry = registry or default_registry()
    hours = resolve_calendar(calendar)
    log = BadRowLog(on_bad_rows) if isinstance(on_bad_rows, str) else on_bad_rows
    sources = load_sources(data, None if mapping is None else resolve_mapping(mapping), log,
                           tz)
    plan = Plan.make(registry, sources, kpis, by, grain, params,
                     _quantile_mode(sources, chunk_rows, workers, scheduler),
                     hours)
    if log is not None:
        log.params = {name: value for name, value in plan.params.items()
                      if isinstance(value, float | int)}

    def run(plan: Plan) -> Result:
        if scheduler is not None:
            partials = dask_partials(plan, sources, scheduler, chunk_rows)
        elif workers is not None:
            partials = process_partials(plan, sources, chunk_rows, workers)
        elif chunk_rows is not None:
            partials = streamed_partials(plan, sources, chunk_rows)
        else:
            partials = in_memory_partials(plan, sources)
        check_ids([p.ids for p in partials], strict)
        return finish(plan, partials)

    levels = _total_levels(len(plan.dimensions), totals, rollup)
    if levels and not all(source.rereadable for source in sources.values()):
        raise KpiforgeError("totals and rollups read the data once more per level, and a "
                            "stream (an iterator of frames) is read once: pass a file or "
                            "a table")
    result = run(plan)
    return result.with_totals([run(plan.rolled(k)) for k in levels]) if levels else result


def _total_levels(dimensions: int, totals: bool, rollup: bool) -> list[int]:
    """How many leading dimensions each total level keeps, most detailed first."""
    if not dimensions or not (totals or rollup):
        return []
    return list(range(dimensions - 1, -1, -1)) if rollup else [0]


def _quantile_mode(sources: Mapping[str, TableSource], chunk_rows: int | None,
                   workers: int | None, scheduler: Any) -> QuantileMode:
    """Exact in memory; exact in two passes when streaming sources that can be read again;
    else (one pass in worker processes, on Dask, from iterators) a sketch."""
    if workers is not None or scheduler is not None:
        return QuantileMode.SKETCH
    if chunk_rows is None:
        return QuantileMode.EXACT
    if all(source.rereadable for source in sources.values()):
        return QuantileMode.TWO_PASS
    return QuantileMode.SKETCH
