"""Typed records that travel between the collector, the stores, the aggregator and the exporters.

Every record is a NamedTuple. The sweep path avoids dataclasses: ``import dataclasses`` pulls in
``inspect``, and with building frozen dataclasses that cost ~25 ms per ``pinger sweep``. The
records stored as measurements (``Sample``, ``PoolStatus``, ``CollectorStatus``, ``HostDay``,
``PoolDay``, ``PoolHour``) are declared as measurements in ``pinger.schema``, which reads their field types
from the annotations here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple


class HostResult(NamedTuple):
    """One host in one sweep: up or not, its round-trip time, and why it was not observed.

    ``error`` says why the sweep learnt nothing of the host: its name did not resolve (or resolved
    outside ``allow:`` or to another host's address), or no echo request could be sent. Such a host
    is *not observed*, not off: it gets no ``ping`` sample, so the aggregator counts that time as
    unobserved (lower coverage), never as off. A host that was sent a request and did not answer in
    time is observed, and off.
    """

    pool: str
    host: str
    up: bool
    rtt_ms: float | None
    error: str | None = None

    @property
    def observed(self) -> bool:
        return self.up or self.error is None


class Sample(NamedTuple):
    """One ping of one host (measurement ``ping``); ``rtt_ms`` only when the host answered."""

    time: int  # unix seconds: the sweep's time (its boundary, or when it started late)
    pool: str
    host: str
    up: int  # 1: the host answered, 0: it did not
    rtt_ms: float | None = None


# A Sample's fields as a plain tuple, in Sample's order; a Sample is one too. Bulk writers hand these
# to HistoryStore.write_samples: sqlite3 binds a plain tuple on its fast path, and building millions
# of Sample records first costs a tenth of a bulk import's time.
SampleRow = tuple[int, str, str, int, float | None]


class PoolStatus(NamedTuple):
    """How many of a pool's hosts were on in one sweep (measurement ``pool_status``)."""

    time: int
    pool: str
    online: int
    total: int


class SweepResult(NamedTuple):
    """All hosts of one sweep; ``scheduled`` (unix seconds) is the timestamp every point carries."""

    scheduled: int
    duration_s: float
    hosts: tuple[HostResult, ...]

    @property
    def online(self) -> int:
        return sum(1 for host in self.hosts if host.up)

    @property
    def observed(self) -> int:
        """Hosts whose state the sweep learnt (see HostResult.observed)."""
        return sum(1 for host in self.hosts if host.up or host.error is None)

    def samples(self) -> list[Sample]:
        """One per observed host: a host not observed gets no sample (its time is unobserved, not off)."""
        time = self.scheduled
        make = tuple.__new__  # Sample(...) runs a Python __new__ per host: 1.5x the cost for 16,000 hosts
        return [
            make(Sample, (time, host.pool, host.host, 1, host.rtt_ms))
            if host.up
            else make(Sample, (time, host.pool, host.host, 0, None))
            for host in self.hosts
            if host.up or host.error is None
        ]

    def pool_statuses(self) -> list[PoolStatus]:
        """One per pool, in config order: ``total`` counts the pool's hosts observed in the sweep, ``online``
        those of them that were up (a pool none of whose hosts was observed has 0 of 0)."""
        totals: Counter[str] = Counter()
        online: Counter[str] = Counter()
        for host in self.hosts:
            totals[host.pool] += host.up or host.error is None
            online[host.pool] += host.up
        return [PoolStatus(self.scheduled, pool, online[pool], totals[pool]) for pool in totals]


class CollectorStatus(NamedTuple):
    """The collector's own figures for one sweep (measurement ``collector``)."""

    time: int
    collector: str
    hosts: int
    online: int
    sweep_s: float  # rounded to 0.1 ms
    spool_backlog: int = 0
    write_errors: int = 0


class HostSamples(NamedTuple):
    """One host's samples in a span, as the nearest-sample rule reads them: parallel lists in time order."""

    host: str
    times: list[int]
    states: list[bool]


class HostDay(NamedTuple):
    """One host's figures for one local day. Stored as ``host_daily`` (runtime and coverage); the
    energy and opening-hours figures only feed the pool's sums."""

    pool: str
    host: str
    day: dt.date
    runtime_h: float
    coverage: float  # observed fraction of the day, 0..1
    energy_kwh: float
    runtime_closed_h: float | None  # None: the pool has no opening hours
    on_at_close: int | None  # None: the pool has no opening hours
    cost: float | None = None  # energy priced by the tariff in force; None: no pricing configured
    co2_kg: float | None = None  # None: no co2_g_per_kwh configured


class HostHours(NamedTuple):
    """One host's seconds on and observed in each local clock hour of a day (``localtime.hour_starts``)."""

    on: tuple[float, ...]
    observed: tuple[float, ...]


class PoolHour(NamedTuple):
    """One pool's figures for one local clock hour (measurement ``pool_hourly``), stamped at the hour's start."""

    time: int
    pool: str
    phase: str | None
    weekday: int  # the local weekday, 1 = Monday .. 7 = Sunday
    hour: int  # the local clock hour 0..23 (both rows of a repeated hour say the same)
    pcs_on: float  # mean number of the pool's hosts on over the hour
    share_on: float  # pcs_on / pcs_total
    coverage: float  # observed fraction of the hour, mean over the pool's hosts


class PoolDay(NamedTuple):
    """One pool's figures for one local day (measurement ``pool_daily``)."""

    day: dt.date
    pool: str
    phase: str | None
    tags: dict[str, str]  # the pool's free-form tags from the config
    pcs_total: int
    pcs_used: int
    runtime_h: float
    avg_runtime_h: float
    energy_kwh: float
    coverage: float
    runtime_closed_h: float | None  # None: the pool has no opening hours
    on_at_close: int | None  # None: the pool has no opening hours
    cost: float | None = None  # None: no pricing configured (or a row from before pricing existed)
    co2_kg: float | None = None  # None: no co2_g_per_kwh configured
