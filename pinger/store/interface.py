"""What the rest of Pinger needs of a store: SweepStore (the collector), HistoryStore (aggregator, export, import).

Both stores (SqliteStore, InfluxStore) implement both protocols; a store without an outbox
answers the outbox questions explicitly (no backlog, no spool, no delivery errors).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from pinger.models import CollectorStatus, HostDay, HostSamples, PoolDay, PoolHour, SampleRow, SweepResult


class SpoolFill(NamedTuple):
    """How full a store's durable outbox is."""

    path: Path
    percent: int
    batches: int


class SweepStore(Protocol):
    """The collector's view: write each sweep, say what waits, close."""

    def check(self) -> None:
        """At start: raise a PingerError when the store's settings are wrong (token, org, bucket).
        A store that is only unreachable is not an error: sweeps wait for it."""

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Store one sweep's samples, pool counts and collector status, all or nothing.
        Raises StoreError when it cannot; the caller keeps the sweep and tries again."""

    def backlog(self) -> int:
        """Sweeps accepted but not yet in the store itself (waiting in an outbox)."""

    def spool_fill(self) -> SpoolFill | None:
        """How full the outbox is; None for a store without one."""

    def write_errors(self) -> int:
        """Deliveries from the outbox that failed so far."""

    def close(self, flush_seconds: float = 5.0) -> None:
        """Deliver what waits for up to ``flush_seconds``, then release the store."""


class HistoryStore(Protocol):
    """The view of the aggregator, the export and the import: samples in, daily rows in and out."""

    def write_samples(self, samples: Iterable[SampleRow]) -> int:
        """Store raw ping samples, Samples or plain tuples in Sample's field order (a sample at the same host
        and time replaces the old one); return how many."""

    def host_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        """The samples of the given hosts of a pool with start <= time < stop, a host at a time, in time order.
        Hosts without samples in the span may be left out. A store may give runs of samples instead
        (``HostSamples.lasts``; the InfluxDB store does, for the aggregator's hold)."""

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

    def close(self, flush_seconds: float = 5.0) -> None:
        """Release the store."""
