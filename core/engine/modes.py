"""How passes over rows run on one machine: all in memory on a thread per core, streamed in
chunks, or in worker processes (Dask: ``distributed.py``). Each way splits a table's rows
into pieces, makes one partial per piece (:func:`~kpiforge.engine.passes.piece_partial`) and
merges them in piece order, so the answers do not depend on how the work was scheduled.

numpy releases the GIL inside its kernels (bincount, ufuncs, sorts), so threads over row
pieces use every core in memory; processes serve data read piece by piece.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.engine.accelerator import cores
from kpiforge.engine.grouping import Keys
from kpiforge.engine.passes import (
    Partial,
    PassSpec,
    align,
    group_rows,
    measure_inputs,
    merge_partials,
    piece_partial,
    placed_times,
    row_functions,
    row_params,
    shared_values,
    spread_rows,
)
from kpiforge.engine.plan import Plan
from kpiforge.engine.quantiles import (
    QuantileMode,
    QuantileSketch,
    Targets,
    in_target_buckets,
    select_from_buckets,
)
from kpiforge.errors import KpiforgeError
from kpiforge.io.sources import TableOrigin, TableSource

#: Rows below which a table is not worth splitting across threads.
MIN_PIECE_ROWS = 250_000
#: Chunk size when workers are asked for without one.
DEFAULT_CHUNK_ROWS = 1_000_000


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
            starts = range(0, data.num_rows, size) or [0]  # an empty table: one empty pass
            jobs = [pool.submit(_pass, source.origin, spec, data.slice(start, size), start)
                    for start in starts]
            partials.append(merge_partials([job.result() for job in jobs], spec))
    return partials


def streamed_partials(plan: Plan, sources: Mapping[str, TableSource], chunk_rows: int
                      ) -> list[Partial]:
    """Read each table ``chunk_rows`` at a time, a few chunks in flight on threads, merging
    as they finish: memory holds a few chunks and the group-sized running result.

    With quantiles to select exactly (:attr:`QuantileMode.TWO_PASS`), the first pass keeps
    them as a coarse histogram per group and a second pass reads only the rows near each
    group's quantile (:func:`select_quantiles`)."""
    check_chunk_rows(chunk_rows)
    partials = []
    with ThreadPoolExecutor(cores()) as pool:
        for table, spec in plan.specs.items():
            source = sources[table]
            two_pass = spec.quantiles is QuantileMode.TWO_PASS
            first = attrs.evolve(spec, quantiles=QuantileMode.COARSE) if two_pass else spec
            merged = _merge_stream(pool, first, source.pieces(first.columns, chunk_rows),
                                   _job(source.origin, first))
            if two_pass:
                merged = select_quantiles(merged, first, source, chunk_rows)
            partials.append(merged)
    return partials


def select_quantiles(partial: Partial, spec: PassSpec, source: TableSource, chunk_rows: int
                     ) -> Partial:
    """Replace the coarse quantile histograms of ``partial`` (a whole table's first pass)
    with exact per-group quantiles, from a second pass that keeps only the rows in the
    buckets holding each group's ranks. Memory: the histograms (a few entries per group)
    and those rows, a small share of the table."""
    measures = [m for m in spec.measures if m.agg == "quantile"]
    if not measures:
        return partial
    sketches: dict[str, QuantileSketch] = {}
    targets: dict[str, Targets] = {}
    for measure in measures:
        sketch = spec.accumulator(measure)
        assert isinstance(sketch, QuantileSketch)
        sketches[measure.name] = sketch
        targets[measure.name] = sketch.targets(partial.states[measure.name], partial.count)
    kept: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {m.name: [] for m in measures}
    reads = attrs.evolve(spec, measures=tuple(measures), case_measures=(), ids_column=None)
    for first, piece in source.pieces(reads.columns, chunk_rows):
        table, own_time = spread_rows(source.origin.table(piece, first), spec)
        for placed in filter(None, reads.placements.values()):
            groups = group_rows(table, spec, placed_times(table, placed, own_time)
                                if spec.placed else own_time)
            codes = _group_index(partial, groups.keys, groups.count, spec)[
                np.zeros(len(table), np.intp) if groups.codes is None else groups.codes]
            shared = shared_values(placed)
            params = row_params(table, spec)
            functions = row_functions(table, spec)
            for measure in placed:
                values, mask = measure_inputs(measure, table, params, shared, functions)
                assert values is not None
                valid = ~np.isnan(values) if mask is None else mask & ~np.isnan(values)
                keep = in_target_buckets(sketches[measure.name], targets[measure.name],
                                         codes[valid], values[valid])
                kept[measure.name].append((codes[valid][keep], values[valid][keep]))
    states = dict(partial.states)
    for measure in measures:
        codes = np.concatenate([c for c, _ in kept[measure.name]] or [np.zeros(0, np.intp)])
        values = np.concatenate([v for _, v in kept[measure.name]] or [np.zeros(0)])
        states[measure.name] = select_from_buckets(targets[measure.name], codes, values,
                                                   partial.count)
    return attrs.evolve(partial, states=states)


def _group_index(partial: Partial, keys: dict[str, Keys], count: int, spec: PassSpec
                 ) -> np.ndarray:
    """For each group of a chunk (its ``keys``), its index among ``partial``'s groups."""
    chunk = Partial(table=spec.table, keys=keys, count=count, states={},
                    time_range=partial.time_range, epoch=partial.epoch,
                    tz=partial.tz)
    _, merged, (in_partial, in_chunk) = align([partial, chunk], spec.key_names)
    position = np.full(merged, -1, dtype=np.intp)
    position[in_partial] = np.arange(partial.count)
    return position[in_chunk]


def process_partials(plan: Plan, sources: Mapping[str, TableSource],
                     chunk_rows: int | None, workers: int) -> list[Partial]:
    """Stream chunks to ``workers`` processes; only group-sized partials come back."""
    if workers < 1:
        raise KpiforgeError(f"workers must be >= 1, got {workers}")
    chunk_rows = chunk_rows or DEFAULT_CHUNK_ROWS
    check_chunk_rows(chunk_rows)
    with ProcessPoolExecutor(workers, initializer=ignore_interrupts) as pool:
        try:
            return [_merge_stream(pool, spec, sources[table].pieces(spec.columns, chunk_rows),
                                  _job(sources[table].origin, spec))
                    for table, spec in plan.specs.items()]
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def ignore_interrupts() -> None:
    """In a worker process: leave Ctrl-C to the parent. A terminal interrupts every
    process in its foreground group, and workers would each print a traceback; the parent
    cancels the work left and exits (the pieces in hand finish first)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _job(origin: TableOrigin, spec: PassSpec) -> Callable[[int, pa.Table], tuple]:
    """The picklable call that passes over one piece: ``(function, *arguments)``."""
    return lambda first, piece: (_pass, origin, spec, piece, first)


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


def _pass(origin: TableOrigin, spec: PassSpec, piece: pa.Table, first_row: int) -> Partial:
    return piece_partial(origin, spec, piece, first_row)


def check_chunk_rows(chunk_rows: int) -> None:
    if chunk_rows < 1:
        raise KpiforgeError(f"chunk_rows must be >= 1, got {chunk_rows}")
