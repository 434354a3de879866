"""What the rest of Pinger needs of a store: SweepStore (the collector), HistoryStore (aggregator, export, import),
and Spooled, what a store with a durable outbox offers besides.

Both stores (SqliteStore, InfluxStore) implement SweepStore and HistoryStore; only the InfluxDB store
is Spooled (its sweeps wait in a local outbox until the server has them). Callers ask the store
(``isinstance(store, Spooled)``), never the backend's name; which backend a config names is known
to ``pinger.store.backends`` alone. The aggregator reads a day through ``day_samples`` where a store
has it (the SQLite store; DaySamples below), else through ``host_samples``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, runtime_checkable

from pinger.models import CollectorStatus, HostDay, HostSamples, PoolDay, PoolHour, SampleRow, SweepResult

if TYPE_CHECKING:
    import numpy as np


# How a history store is opened: "create" (the collector and the imports) makes a store that is not there;
# "write" (the aggregator) and "read" (export, report) need it to exist; "read" changes nothing.
Access = Literal["create", "write", "read"]


class SpoolFill(NamedTuple):
    """How full a store's durable outbox is."""

    path: Path
    percent: int
    batches: int


class SampleRuns(NamedTuple):
    """Many hosts' samples in a span as runs, the input of the aggregator's compute path
    (``pinger.aggregator.arrays``).

    A run is one or more consecutive samples of one host with the same state, taken at least every
    2 × hold apart between its first and its last (so the nearest-sample rule sees it as one stretch
    of that state from ``start`` to ``stop``); a single sample is a run with start == stop. Runs are
    sorted by ``host`` then ``start``, and one host's runs do not overlap. A store may hand its
    samples as one-sample runs (the SQLite store does) or reduce them to runs of state changes (runs
    must then break wherever two samples lie more than 2 × hold apart).
    """

    host: np.ndarray  # int64: the host's index in the host lists asked for, taken one after another
    start: np.ndarray  # float64: unix seconds of the run's first sample
    stop: np.ndarray  # float64: unix seconds of its last sample
    up: np.ndarray  # bool: the run's state


class SweepBlock(NamedTuple):
    """Hosts sampled together: each host of ``host`` has a sample at each of ``times`` and no other in
    the span (a pool's sweeps, as the SQLite store keeps them). The aggregator computes such a block
    as a matrix, once for all its hosts."""

    host: np.ndarray  # int64: host indices as in SampleRuns, distinct
    times: np.ndarray  # float64: unix seconds, strictly increasing
    up: np.ndarray  # bool: len(times) x len(host)


class DaySamples(NamedTuple):
    """The samples of a span, the aggregator's input: blocks of hosts sampled together, and runs for
    every other host. A host is in one block, or in the runs, or nowhere (no samples)."""

    runs: SampleRuns
    blocks: tuple[SweepBlock, ...] = ()


class SweepStore(Protocol):
    """The collector's view: check the settings, write each sweep, close."""

    def check(self) -> None:
        """At start: raise a PingerError when the store's settings are wrong (token, org, bucket).
        A store that is only unreachable is not an error: sweeps wait for it."""

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Store one sweep's samples, pool counts and collector status, all or nothing.
        Raises StoreError when it cannot; the caller keeps the sweep and tries again."""

    def close(self) -> None:
        """Release the store (a Spooled store first delivers what waits, for a few seconds)."""


@runtime_checkable
class Spooled(Protocol):
    """A store with a durable outbox (the InfluxDB store and its spool): what it accepted is committed on this
    machine and delivered later, so it can say what waits. A store without an outbox does not implement it:
    for it nothing waits, there is no spool to fill and no delivery to fail."""

    def backlog(self) -> int:
        """Sweeps (or batches of samples) accepted but not yet in the store itself."""

    def spool_fill(self) -> SpoolFill:
        """How full the outbox is."""

    def write_errors(self) -> int:
        """Deliveries from the outbox that failed so far."""

    def deliver_pending(self, deadline: float | None = None) -> bool:
        """Deliver what waits, oldest first, until the outbox is empty (True) or the monotonic ``deadline``
        passes (False)."""

    def close(self, flush_seconds: float = 5.0) -> None:
        """Deliver what waits for up to ``flush_seconds``, then release the store."""


class HistoryStore(Protocol):
    """The view of the aggregator, the export and the import: samples in, daily rows in and out."""

    def write_samples(self, samples: Iterable[SampleRow]) -> int:
        """Store raw ping samples, Samples or plain tuples in Sample's field order (a sample at the same host
        and time replaces the old one); return how many."""

    def host_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        """The samples of the given hosts of a pool with start <= time < stop, a host at a time, in time order.
        Hosts without samples in the span may be left out."""

    # Optional, read by the aggregator when a store has it (pinger.aggregator.inputs):
    # def day_samples(self, pools: Sequence[tuple[str, Sequence[str]]], start: float, stop: float) -> DaySamples
    # "the samples of the pools' hosts with start <= time < stop" (the SQLite store: blocks; the InfluxDB
    # store: runs); without it the aggregator builds one-sample runs from host_samples.

    def first_sample_time(self) -> int | None:
        """The time of the oldest sample; None when there is none."""

    def last_sample_time(self) -> int | None:
        """The time of the newest sample; None when there is none."""

    def write_days(
        self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay], pool_hours: Sequence[PoolHour] = ()
    ) -> None:
        """Replace the daily rows and the hourly rows of every (pool, day) given."""

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolDay]:
        """Stored pool_daily rows from first to last (inclusive), by date then pool."""

    def pool_hours(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolHour]:
        """Stored pool_hourly rows of the local days first to last (inclusive), by time then pool."""

    def last_aggregated_day(self) -> dt.date | None:
        """The newest day with pool_daily rows; None when there is none."""

    def close(self) -> None:
        """Release the store (a Spooled store first delivers what waits, for a few seconds)."""
