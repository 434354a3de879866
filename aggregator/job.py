"""Aggregate local days: read each host's samples from the store, compute the rows, replace the day."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from pinger.config import Config
from pinger.localtime import local_day
from pinger.models import HostDay, HostHours, PoolDay, PoolHour
from pinger.progress import Progress
from pinger.store import HistoryStore, open_history_store

from .daily import compute_host_figures, compute_pool_day, compute_pool_hours, sample_window

log = logging.getLogger("pinger.aggregate")


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    return (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))


def sampled_days(config: Config, first_time: int, last_time: int) -> tuple[dt.date, dt.date]:
    """The first and last local day that a sample can decide: a sample counts up to ``hold`` into
    the day before or after its own."""
    hold, tz = config.aggregate.hold, config.timezone
    return local_day(first_time - hold, tz), local_day(last_time + hold, tz)


def aggregate_days(config: Config, first: dt.date, last: dt.date) -> int:
    """Compute and store host_daily, pool_daily and pool_hourly rows for the days from first to last
    that have samples; return the number of pool rows written.

    Days before the first sample and after the last are skipped: they cost nothing, and a range
    like 0001-01-01..9999-12-31 does the same work as the days with samples. Memory holds one
    day's rows at a time.
    """
    today = dt.datetime.now(config.timezone).date()
    store = open_history_store(config, "write")
    try:
        first_time, last_time = store.first_sample_time(), store.last_sample_time()
        if first_time is None or last_time is None:
            log.warning("the store has no samples yet: nothing to aggregate from %s to %s", first, last)
            return 0
        first_sampled, last_sampled = sampled_days(config, first_time, last_time)
        if last < first_sampled or first > last_sampled:
            log.warning(
                "no samples from %s to %s (the store holds %s to %s): nothing to aggregate",
                first,
                last,
                first_sampled,
                last_sampled,
            )
            return 0
        if first < first_sampled or last > last_sampled:
            log.info(
                "aggregating %s to %s: the days of %s to %s with samples",
                first,
                last,
                max(first, first_sampled),
                min(last, last_sampled),
            )
        first, last = max(first, first_sampled), min(last, last_sampled)
        if last >= today:
            log.warning(
                "%s is not over yet in %s: its rows are provisional until it is aggregated again",
                today if last == today else last,
                config.timezone.key,
            )
        return _aggregate(config, store, first, last)
    finally:
        store.close()


def _aggregate(config: Config, store: HistoryStore, first: dt.date, last: dt.date) -> int:
    count = (last - first).days + 1
    progress = Progress(count, "aggregate")
    written = 0
    for done, day in enumerate(days_between(first, last), start=1):
        host_rows: list[HostDay] = []
        pool_rows: list[PoolDay] = []
        hour_rows: list[PoolHour] = []
        start, stop = sample_window(day, config.timezone, config.aggregate.hold)
        tz, hold, energy = config.timezone, config.aggregate.hold, config.energy
        for pool in config.pools:
            by_name = {host.name: host for host in pool.hosts}
            computed: dict[str, tuple[HostDay, HostHours]] = {}
            # Streamed host by host: memory holds one host-day of samples, not a pool's; each is read once.
            for found in store.host_samples(pool.name, list(by_name), start, stop):
                computed[found.host] = compute_host_figures(
                    pool, by_name[found.host], day, tz, hold, found.times, found.states, energy, found.lasts
                )
            figures = [
                computed.get(host.name) or compute_host_figures(pool, host, day, tz, hold, (), (), energy)
                for host in pool.hosts
            ]
            host_days = [host_day for host_day, _ in figures]
            phase = config.study.phase_for(pool.name, day)
            host_rows.extend(host_days)
            pool_rows.append(compute_pool_day(pool, day, host_days, phase, energy))
            hour_rows.extend(compute_pool_hours(pool, day, tz, [hours for _, hours in figures], phase))
        store.write_days(host_rows, pool_rows, hour_rows)
        written += len(pool_rows)
        progress.update(done, str(day))
    log.info("aggregated %d day(s) from %s to %s: %d pool rows", count, first, last, written)
    return written
