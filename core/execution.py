"""How passes over rows run: all in memory on a thread per core, streamed in chunks, or in
worker processes. Each way splits a table's rows into pieces, makes one partial per piece
(:func:`~kpiforge.engine.table_partial`) and merges them in piece order, so the answers do
not depend on how the work was scheduled.

numpy releases the GIL inside its kernels (bincount, ufuncs, sorts), so threads over
row pieces use every core in memory; processes serve data read piece by piece.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.accumulators import accumulator_for, order_statistics
from kpiforge.engine import (
    Partial,
    PassSpec,
    Plan,
    align,
    group_rows,
    measure_inputs,
    merge_partials,
    table_partial,
)
from kpiforge.errors import KpiforgeError
from kpiforge.readers import TableSource
from kpiforge.sketches import lerp
from kpiforge.tables import SCHEMAS

#: Rows below which a table is not worth splitting across threads.
MIN_PIECE_ROWS = 250_000
#: Chunk size when workers are asked for without one.
DEFAULT_CHUNK_ROWS = 1_000_000


def cores() -> int:
    return os.cpu_count() or 1


def in_memory_partials(plan: Plan, sources: Mapping[str, TableSource]) -> list[Partial]:
    """Read each table whole, split it into one zero-copy slice per core, pass the slices on
    threads (exact quantiles)."""
    partials = []
    with ThreadPoolExecutor(cores()) as pool:
        for table, spec in plan.specs.items():
            source = sources[table]
            data = source.arrow(spec.columns)
            pieces = max(1, min(cores(), data.num_rows // MIN_PIECE_ROWS))
            size = max(1, -(-data.num_rows // pieces))
            starts = range(0, data.num_rows, size) or [0]  # an empty table fails in _pass
            jobs = [pool.submit(_pass, source, spec, data.slice(start, size), start)
                    for start in starts]
            partials.append(merge_partials([job.result() for job in jobs], spec))
    return partials


def streamed_partials(plan: Plan, sources: Mapping[str, TableSource], chunk_rows: int
                      ) -> list[Partial]:
    """Read each table ``chunk_rows`` at a time, a few chunks in flight on threads, merging
    as they finish: memory holds a few chunks and the group-sized running result.

    With quantiles to resolve exactly, the first pass keeps them as a coarse histogram per
    group and a second pass reads only the rows near each group's quantile
    (:func:`resolve_quantiles`)."""
    _check_chunk_rows(chunk_rows)
    partials = []
    with ThreadPoolExecutor(cores()) as pool:
        for table, spec in plan.specs.items():
            source = sources[table]
            first = attrs.evolve(spec, quantiles="coarse") if spec.quantiles == "resolved" \
                else spec
            merged = _merge_stream(pool, first, source.pieces(first.columns, chunk_rows),
                                   lambda start, piece, s=source, p=first:
                                   (_pass, s, p, piece, start))
            if spec.quantiles == "resolved":
                merged = resolve_quantiles(merged, first, source, chunk_rows)
            partials.append(merged)
    return partials


def resolve_quantiles(partial: Partial, spec: PassSpec, source: TableSource, chunk_rows: int
                      ) -> Partial:
    """Replace the coarse quantile histograms of ``partial`` (a whole table's first pass)
    with exact per-group quantiles, from a second pass that keeps only the rows in the
    buckets holding each group's ranks. Memory: the histograms (a few entries per group)
    and those rows, a small share of the table."""
    measures = [m for m in spec.measures if m.agg == "quantile"]
    if not measures:
        return partial
    sketches = {m.name: accumulator_for(m, "coarse") for m in measures}
    targets = {m.name: sketches[m.name].targets(partial.states[m.name], partial.count)
               for m in measures}
    kept: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {m.name: [] for m in measures}
    columns = set().union(*(m.columns for m in measures)) | {c for _, c in spec.dimensions}
    columns.add(SCHEMAS[spec.table].time_column)
    for first, piece in source.pieces(columns, chunk_rows):
        table = source.table(piece, first)
        groups = group_rows(table, spec)
        to_partial = _group_index(partial, groups, spec)
        memo: dict = {}
        for measure in measures:
            values, mask = measure_inputs(measure, table, spec, memo)
            valid = ~np.isnan(values) if mask is None else mask & ~np.isnan(values)
            codes = to_partial[np.zeros(len(table), np.intp) if groups.codes is None
                               else groups.codes][valid]
            values = values[valid]
            bucket = sketches[measure.name].bucket(values)
            target = targets[measure.name]
            keep = (bucket == target.buckets[0][codes]) | (bucket == target.buckets[1][codes])
            kept[measure.name].append((codes[keep], values[keep]))
    states = dict(partial.states)
    for measure in measures:
        target = targets[measure.name]
        codes = np.concatenate([c for c, _ in kept[measure.name]] or [np.zeros(0, np.intp)])
        values = np.concatenate([v for _, v in kept[measure.name]] or [np.zeros(0)])
        low, high = order_statistics(codes, values, partial.count,
                                     [rank - target.ahead for rank in target.ranks])
        states[measure.name] = np.where(
            target.has, lerp(low, high, target.position - target.ranks[0]), np.nan)
    return attrs.evolve(partial, states=states)


def _group_index(partial: Partial, groups, spec: PassSpec) -> np.ndarray:
    """For each group of a chunk, its index among ``partial``'s groups."""
    chunk = Partial(table=spec.table, keys=groups.keys, count=groups.count, states={},
                    time_range=partial.time_range, epoch=partial.epoch)
    _, count, (in_partial, in_chunk) = align([partial, chunk], spec.key_names)
    position = np.full(count, -1, dtype=np.intp)
    position[in_partial] = np.arange(partial.count)
    return position[in_chunk]


def process_partials(plan: Plan, sources: Mapping[str, TableSource],
                     chunk_rows: int | None, workers: int) -> list[Partial]:
    """Stream chunks to ``workers`` processes; only group-sized partials come back."""
    if workers < 1:
        raise KpiforgeError(f"workers must be >= 1, got {workers}")
    chunk_rows = chunk_rows or DEFAULT_CHUNK_ROWS
    _check_chunk_rows(chunk_rows)
    with ProcessPoolExecutor(workers) as pool:
        return [_merge_stream(pool, spec, sources[table].pieces(spec.columns, chunk_rows),
                              lambda first, piece, s=sources[table], p=spec:
                              (_pass, s.without_data(), p, piece, first))
                for table, spec in plan.specs.items()]


def _merge_stream(pool: Executor, spec: PassSpec, pieces: Iterator[tuple[int, pa.Table]],
                  job: Callable[[int, pa.Table], tuple]) -> Partial:
    """Run the pieces with a bounded number in flight and merge their partials in piece
    order, like a binary counter: a result merges only with one built from as many pieces,
    so merging costs O(n log pieces) and at most log2(pieces) results wait in memory."""
    in_flight: deque[Future] = deque()
    stack: list[tuple[int, Partial]] = []

    def take_oldest() -> None:
        size, partial = 1, in_flight.popleft().result()
        while stack and stack[-1][0] == size:
            size, partial = 2 * size, merge_partials([stack.pop()[1], partial], spec)
        stack.append((size, partial))

    for first, piece in pieces:
        function, *args = job(first, piece)
        in_flight.append(pool.submit(function, *args))
        if len(in_flight) > cores():
            take_oldest()
    while in_flight:
        take_oldest()
    if not stack:
        raise KpiforgeError(f"the {spec.table} table has no rows")
    return merge_partials([partial for _, partial in stack], spec)


def _pass(source: TableSource, spec: PassSpec, piece: pa.Table, first_row: int) -> Partial:
    return table_partial(source.table(piece, first_row), spec)


def _check_chunk_rows(chunk_rows: int) -> None:
    if chunk_rows < 1:
        raise KpiforgeError(f"chunk_rows must be >= 1, got {chunk_rows}")
