"""Aggregate local days: read each host's samples from the store, compute the rows, replace the day."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import numpy as np

from pinger.config import Config
from pinger.localtime import local_day
from pinger.models import HostDay, PoolDay, PoolHour
from pinger.progress import Progress
from pinger.store import HistoryStore, open_history_store
from pinger.store.interface import DaySamples, SampleRuns, SweepBlock

from .arrays import pool_day_figures, pool_hours
from .daily import compute_pool_day, sample_window
from .inputs import day_samples

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
        # One read of the day's samples for every pool: a host's samples are found by its name, whatever
        # pool they were recorded in (SQLite); memory holds one day of samples as arrays.
        pools = [(pool.name, [host.name for host in pool.hosts]) for pool in config.pools]
        found = day_samples(store, pools, start, stop)
        offsets = np.cumsum([0] + [len(pool.hosts) for pool in config.pools])
        blocks = _blocks_by_pool(found.blocks, offsets)
        runs = found.runs
        for index, pool in enumerate(config.pools):
            low, high = np.searchsorted(runs.host, offsets[index : index + 2])
            offset = int(offsets[index])
            pool_runs = SampleRuns(
                runs.host[low:high] - offset, runs.start[low:high], runs.stop[low:high], runs.up[low:high]
            )
            pool_blocks = tuple(
                SweepBlock(block.host - offset, block.times, block.up) for block in blocks.get(index, ())
            )
            figures = pool_day_figures(pool, day, tz, hold, DaySamples(pool_runs, pool_blocks), energy)
            phase = config.study.phase_for(pool.name, day)
            host_rows.extend(figures.host_days)
            pool_rows.append(compute_pool_day(pool, day, figures.host_days, phase, energy))
            hour_rows.extend(pool_hours(pool, day, tz, figures.hours_on, figures.hours_observed, phase))
        store.write_days(host_rows, pool_rows, hour_rows)
        written += len(pool_rows)
        progress.update(done, str(day))
    log.info("aggregated %d day(s) from %s to %s: %d pool rows", count, first, last, written)
    return written


def _blocks_by_pool(blocks: tuple[SweepBlock, ...], offsets: np.ndarray) -> dict[int, list[SweepBlock]]:
    """The blocks' columns by the pool (index) their hosts are configured in (offsets: each pool's first
    host index, and the total)."""
    found: dict[int, list[SweepBlock]] = {}
    for block in blocks:
        pools = np.searchsorted(offsets, block.host, "right") - 1
        first, last = int(pools.min()), int(pools.max())
        if first == last:
            found.setdefault(first, []).append(block)
            continue
        for pool in np.unique(pools).tolist():
            columns = pools == pool
            found.setdefault(pool, []).append(SweepBlock(block.host[columns], block.times, block.up[:, columns]))
    return found
