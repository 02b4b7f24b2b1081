"""Where simulation jobs run: in this process, in a local process pool, or on a Dask
cluster; results come back as each job finishes.

Replications of a what-if and the points of a sweep are independent jobs (a scenario and a
seed). Every executor takes a function and a list of items and yields ``(index, result,
error)`` as jobs finish, so a caller can write what is done while the rest runs, and one
failing job does not lose the others. Results do not depend on the executor: each job's
random numbers come from its own seed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

#: What an executor yields per job: its position, its result (None if it failed) and the
#: exception it raised (None if it did not).
Done = tuple[int, Any, BaseException | None]


class Executor(Protocol):
    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        """Run ``function`` on every item; yield each job as it finishes."""


class InProcess:
    """Jobs one after another in this process (one worker, or a single job)."""

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        for index, item in enumerate(items):
            try:
                result = function(item)
            except Exception as exc:  # reported with its job, the others go on
                yield index, None, exc
            else:
                yield index, result, None


class ProcessPool:
    """Jobs in ``workers`` local processes, started in submission order."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(items)))
        try:
            futures: dict[Future, int] = {pool.submit(function, item): index
                                          for index, item in enumerate(items)}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=futures.__getitem__):
                    error = future.exception()
                    yield futures[future], None if error else future.result(), error
        except BaseException:  # interrupted: drop what has not started, do not wait
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


class DaskCluster:
    """Jobs as tasks on a ``dask.distributed`` client's cluster."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        from distributed import as_completed  # the optional Dask extra

        futures = [self.client.submit(function, item, pure=False) for item in items]
        where = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                if future.status == "error":
                    yield where[future.key], None, future.exception()
                else:
                    yield where[future.key], future.result(), None
        finally:
            self.client.cancel([f for f in futures if not f.done()])


def executor(workers: int | None = None, client: Any = None, jobs: int | None = None
             ) -> Executor:
    """The executor for ``workers`` local processes (default: every core; 1 runs here), or
    for a Dask ``client`` when given. ``jobs``: how many will run (one or none: here)."""
    if client is not None:
        return DaskCluster(client)
    count = workers or os.cpu_count() or 1
    if count == 1 or (jobs is not None and jobs <= 1):
        return InProcess()
    return ProcessPool(count)
