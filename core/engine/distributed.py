"""Running the passes as Dask tasks, for data that outgrows one machine (``kpiforge[dask]``).

Each table is cut into fragments the workers read themselves (a Parquet file's row groups,
the part files of a dataset directory, a CSV file, the partitions of a Dask DataFrame, or
slices of in-memory data scattered to the cluster: see
:meth:`~kpiforge.io.sources.TableSource.fragments`). Every fragment becomes a partial on a
worker; partials merge pairwise in a tree on the workers, in fragment order, and only the
last, group-sized partial travels back. Quantiles use the mergeable sketch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpiforge.engine.passes import Partial, PassSpec, merge_partials, piece_partial
from kpiforge.engine.plan import Plan
from kpiforge.errors import KpiforgeError
from kpiforge.io.sources import TableSource

INSTALL_HINT = "install the Dask extra: pip install 'kpiforge[dask]'"


def connect(address: str) -> Any:
    """A Dask client: ``local`` starts a LocalCluster of one process per core, anything
    else is a scheduler address such as ``tcp://host:8786``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise KpiforgeError(f"Dask is not installed; {INSTALL_HINT}") from None
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
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    partials = []
    for table, spec in plan.specs.items():
        source = sources[table]
        futures = []
        for fragment in source.fragments(spec.columns, chunk_rows, workers):
            shipped = client.scatter(fragment, hash=False) if fragment.holds_data else fragment
            futures.append(client.submit(_fragment_partial, spec, shipped, chunk_rows,
                                         pure=False))
        if not futures:
            raise KpiforgeError(f"{source.label}: the {table} table has no rows")
        while len(futures) > 1:
            futures = [client.submit(_merge_pair, spec, *futures[i:i + 2], pure=False)
                       if i + 1 < len(futures) else futures[i]
                       for i in range(0, len(futures), 2)]
        partials.append(futures[0].result())
    return partials


def _fragment_partial(spec: PassSpec, fragment: TableSource, chunk_rows: int | None
                      ) -> Partial:
    """On a worker: read one fragment and pass over it, in chunks when asked."""
    pieces = [piece_partial(fragment.origin, spec, piece, first)
              for first, piece in fragment.pieces(spec.columns, chunk_rows)]
    if not pieces:
        raise KpiforgeError(f"{fragment.label}: the {spec.table} table has no rows")
    return merge_partials(pieces, spec)


def _merge_pair(spec: PassSpec, first: Partial, second: Partial) -> Partial:
    return merge_partials([first, second], spec)
