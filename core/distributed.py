"""Running the passes as Dask tasks, for data that outgrows one machine (``kpiforge[dask]``).

Each table is cut into fragments the workers read themselves: a Parquet file's row groups,
the part files of a dataset directory, a CSV file, the partitions of a Dask DataFrame, or
slices of in-memory data scattered to the cluster. Every fragment becomes a partial on a
worker; partials merge pairwise in a tree on the workers, in fragment order, and only the
last, group-sized partial travels back. Quantiles use the mergeable sketch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.parquet as pq

from kpiforge.engine import Partial, PassSpec, Plan, merge_partials, table_partial
from kpiforge.errors import KpiforgeError
from kpiforge.readers import TableSource, part_files

INSTALL_HINT = "install the Dask extra: pip install 'kpiforge[dask]'"


def connect(address: str):
    """A Dask client: ``local`` starts a LocalCluster of one process per core, anything
    else is a scheduler address such as ``tcp://host:8786``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise KpiforgeError(f"--dask needs Dask; {INSTALL_HINT}") from None
    if address == "local":
        return Client(LocalCluster(threads_per_worker=1, processes=True, dashboard_address=None))
    try:
        return Client(address, timeout="10s")
    except OSError as exc:
        raise KpiforgeError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def dask_partials(plan: Plan, sources: Mapping[str, TableSource], client: Any,
                  chunk_rows: int | None) -> list[Partial]:
    """One merged partial per table, computed on ``client``'s workers."""
    if not hasattr(client, "submit"):
        raise KpiforgeError("scheduler must be a dask.distributed Client (or use "
                            f"chunk_rows/workers without Dask); {INSTALL_HINT}")
    partials = []
    for table, spec in plan.specs.items():
        source = sources[table]
        futures = [client.submit(_fragment_partial, spec, source.without_data(), fragment,
                                 chunk_rows,
                                 pure=False)
                   for fragment in _fragments(source, spec, client, chunk_rows)]
        while len(futures) > 1:
            futures = [client.submit(_merge_pair, spec, *futures[i:i + 2], pure=False)
                       if i + 1 < len(futures) else futures[i]
                       for i in range(0, len(futures), 2)]
        partials.append(futures[0].result())
    return partials


def _fragments(source: TableSource, spec: PassSpec, client: Any, chunk_rows: int | None
               ) -> list[tuple]:
    if source.frame is not None:
        parts = client.compute(source.frame[list(source.wanted(spec.columns))].to_delayed())
        return [("frame", part) for part in parts]
    if source.data is not None:
        size = chunk_rows or max(1, -(-source.data.num_rows // _workers(client)))
        data = source.data.select(source.wanted(spec.columns))
        return [("table", client.scatter(data.slice(start, size), hash=False), start)
                for start in range(0, data.num_rows, size)]
    if source.path.is_dir():
        return [("file", str(path), source.format) for path in part_files(source.path)]
    if source.format == "parquet":
        metadata = pq.ParquetFile(source.path).metadata
        first, fragments = 0, []
        for group in range(metadata.num_row_groups):
            fragments.append(("row_group", str(source.path), group, first))
            first += metadata.row_group(group).num_rows
        return fragments
    return [("file", str(source.path), "csv")]


def _workers(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def _fragment_partial(spec: PassSpec, source: TableSource, fragment: tuple,
                      chunk_rows: int | None) -> Partial:
    """On a worker: read one fragment and pass over it, in chunks when asked."""
    kind = fragment[0]
    columns = spec.columns
    if kind == "file":
        path = Path(fragment[1])
        piece_source = attrs.evolve(source, label=str(path), path=path, format=fragment[2])
        pieces = piece_source.pieces(columns, chunk_rows or (1 << 62))
        return merge_partials([table_partial(piece_source.table(piece, first), spec)
                               for first, piece in pieces], spec)
    if kind == "row_group":
        data = pq.ParquetFile(fragment[1]).read_row_group(fragment[2],
                                                          columns=source.wanted(columns))
        first = fragment[3]
    elif kind == "frame":
        data, first = pa.Table.from_pandas(fragment[1], preserve_index=False), 0
    else:
        data, first = fragment[1], fragment[2]
    size = chunk_rows or max(1, data.num_rows)
    return merge_partials([table_partial(source.table(data.slice(start, size), first + start),
                                         spec)
                           for start in range(0, max(data.num_rows, 1), size)], spec)


def _merge_pair(spec: PassSpec, first: Partial, second: Partial) -> Partial:
    return merge_partials([first, second], spec)
