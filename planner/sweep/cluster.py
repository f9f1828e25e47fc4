"""The Dask client a sweep or a province runs on: a ``LocalCluster`` of worker processes, or an existing cluster.

Tasks get paths and small dicts only; each worker reads the inputs (and the cached network) by path,
so a remote cluster's workers need evplan installed and the data at the same path (see README).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from planner.errors import EvplanError

T = TypeVar("T")
R = TypeVar("R")


class ClusterError(EvplanError):
    """The Dask scheduler cannot be reached, or the local cluster cannot start."""


def default_workers() -> int:
    """Workers of the default local cluster: one per core."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` (``tcp://host:port``) if given, else on a new
    ``LocalCluster`` of ``workers`` processes (default: one per core) with one thread each."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or default_workers()
    if n < 1:
        raise ClusterError(f"workers: expected at least 1, got {n}")
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1", silence_logs=logging.ERROR)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def map_unordered(client: Any, fn: Callable[[T], R], items: Iterable[T], *, name: str,
                  key_of: Callable[[T], str], submit_options: Mapping[str, Any] | None = None,
                  ) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """Submit ``fn(item)`` per item as Dask tasks; yield ``(item, result, error)`` as each finishes.

    An error is a task that raised or was lost (a worker killed); the others go on. ``submit_options``
    go to ``Client.submit`` (e.g. ``workers=[...]`` to pin the tasks).
    """
    import uuid

    from dask.distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {client.submit(fn, item, key=f"{name}-{key_of(item)}-{run}", pure=False,
                             **dict(submit_options or {})): item for item in items}
    if not futures:
        return
    for future in as_completed(futures):
        item = futures[future]
        try:
            yield item, future.result(), None
        except Exception as exc:  # noqa: BLE001 - one failed task must not stop the others
            yield item, None, exc
        finally:
            future.release()
