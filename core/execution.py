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

import pyarrow as pa

from kpiforge.engine import Partial, PassSpec, Plan, merge_partials, table_partial
from kpiforge.errors import KpiforgeError
from kpiforge.readers import TableSource

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
    as they finish: memory holds a few chunks and the group-sized running result."""
    _check_chunk_rows(chunk_rows)
    with ThreadPoolExecutor(cores()) as pool:
        return [_merge_stream(pool, spec, sources[table].pieces(spec.columns, chunk_rows),
                              lambda first, piece, s=sources[table], p=spec:
                              (_pass, s, p, piece, first))
                for table, spec in plan.specs.items()]


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
