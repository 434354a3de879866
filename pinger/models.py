"""Typed records that travel between the collector, the stores and the aggregator."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple


class HostResult(NamedTuple):
    """One host in one sweep: up or not, its round-trip time, and why it is off when we know."""

    pool: str
    host: str
    up: bool
    rtt_ms: float | None
    error: str | None = None


class SweepResult(NamedTuple):
    """All hosts of one sweep; ``scheduled`` (unix seconds) is the timestamp every point carries."""

    scheduled: int
    duration_s: float
    hosts: tuple[HostResult, ...]

    @property
    def online(self) -> int:
        return sum(1 for host in self.hosts if host.up)

    def pool_counts(self) -> dict[str, tuple[int, int]]:
        """pool -> (online, total), in config order."""
        totals: Counter[str] = Counter()
        online: Counter[str] = Counter()
        for host in self.hosts:
            totals[host.pool] += 1
            online[host.pool] += host.up
        return {pool: (online[pool], totals[pool]) for pool in totals}


class CollectorStatus(NamedTuple):
    """The collector's own figures for one sweep (the ``collector`` measurement)."""

    collector: str
    hosts: int
    online: int
    sweep_s: float
    spool_backlog: int = 0
    write_errors: int = 0
