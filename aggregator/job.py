"""Aggregate local days: read each host's samples from the store, compute the rows, replace the day."""

from __future__ import annotations

import datetime as dt
import logging

from pinger.config import Config
from pinger.models import HostDay, PoolDay
from pinger.progress import Progress
from pinger.store import open_history_store

from .daily import compute_host_day, compute_pool_day, sample_window

log = logging.getLogger("pinger.aggregate")


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def aggregate_days(config: Config, first: dt.date, last: dt.date) -> list[PoolDay]:
    """Compute and store host_daily and pool_daily rows for first..last; return the pool rows."""
    today = dt.datetime.now(config.timezone).date()
    if last >= today:
        log.warning("%s is not over yet in %s: its rows are provisional until it is aggregated again",
                    today if last == today else last, config.timezone.key)
    store = open_history_store(config)
    results: list[PoolDay] = []
    days = days_between(first, last)
    progress = Progress(len(days), "aggregate")
    try:
        for done, day in enumerate(days, start=1):
            host_rows: list[HostDay] = []
            pool_rows: list[PoolDay] = []
            start, stop = sample_window(day, config.timezone, config.aggregate.hold)
            for pool in config.pools:
                by_name = {host.name: host for host in pool.hosts}
                computed: dict[str, HostDay] = {}
                # Streamed host by host: memory holds one host-day of samples, not a pool's.
                for found in store.host_samples(pool.name, list(by_name), start, stop):
                    computed[found.host] = compute_host_day(pool, by_name[found.host], day, config.timezone,
                                                            config.aggregate.hold, found.times, found.states)
                host_days = [
                    computed.get(host.name)
                    or compute_host_day(pool, host, day, config.timezone, config.aggregate.hold, (), ())
                    for host in pool.hosts
                ]
                host_rows.extend(host_days)
                pool_rows.append(compute_pool_day(pool, day, host_days, config.study.phase_for(pool.name, day)))
            store.write_days(host_rows, pool_rows)
            results.extend(pool_rows)
            progress.update(done, str(day))
    finally:
        store.close()
    log.info("aggregated %d day(s) from %s to %s: %d pool rows", len(days), first, last, len(results))
    return results
