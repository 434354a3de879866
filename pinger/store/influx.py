"""The InfluxDB 2 store: sweeps go through the durable spool to the raw bucket; daily rows and reads are direct.

The store is three parts behind one class: ``influx_delivery`` (the spool, the delivery thread, retries),
``influx_queries`` (the Flux reads) and what is here: the line formats, the start-up check, replacing days,
and importing samples. ``influx_client`` holds what they share.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from typing import Any

from pinger.config import Config, InfluxSettings
from pinger.errors import InfluxConfigError, StoreError
from pinger.line_format import format_line, line_formatter
from pinger.localtime import day_bounds, day_start
from pinger.models import CollectorStatus, HostDay, HostSamples, PoolDay, PoolHour, Sample, SampleRow, SweepResult
from pinger.schema import (
    COLLECTOR,
    DATE_FIELD,
    HOST_DAILY,
    PING,
    POOL_DAILY,
    POOL_HOURLY,
    POOL_ORDER_FIELD,
    POOL_STATUS,
    Measurement,
)

from .influx_client import make_client, predicate_escape, short, talking, write_lines
from .influx_delivery import MAX_POINTS_PER_REQUEST, MAX_POINTS_PER_SECOND, Delivery, Unreachable
from .influx_queries import Queries
from .influx_runs import day_runs
from .interface import DaySamples, SpoolFill
from .spool import Spool

__all__ = ["MAX_POINTS_PER_REQUEST", "MAX_POINTS_PER_SECOND", "InfluxStore", "daily_point_line", "point_line"]

log = logging.getLogger("pinger.influxdb")


def point_line(measurement: Measurement, record: Any, time_s: int) -> str:
    """One record as a line of its measurement, as declared in pinger.schema."""
    return format_line(measurement.name, measurement.tag_values(record), measurement.field_values(record), time_s)


def daily_point_line(measurement: Measurement, record: Any, time_s: int, pool_order: int | None = None) -> str:
    """A daily record as a line, with the InfluxDB-only fields (pinger.schema.influx_field_names): its local
    date and, for pool_daily, the pool's position in the config."""
    fields: dict[str, int | float | str] = {**measurement.field_values(record), DATE_FIELD: record.day.isoformat()}
    if pool_order is not None:
        fields[POOL_ORDER_FIELD] = pool_order
    return format_line(measurement.name, measurement.tag_values(record), fields, time_s)


def _prepared(measurement: Measurement) -> Callable[[Any, int], str]:
    """point_line for one measurement without free-form tags, prepared once: a sweep writes thousands."""
    return line_formatter(
        measurement.name, measurement.tag_names, [(field.name, field.type) for field in measurement.fields]
    )


_PING_LINE, _POOL_STATUS_LINE, _COLLECTOR_LINE = (_prepared(m) for m in (PING, POOL_STATUS, COLLECTOR))


def sweep_lines(sweep: SweepResult, status: CollectorStatus) -> list[str]:
    """A sweep's ping, pool_status and collector points as line protocol, all at the scheduled second."""
    lines = [_PING_LINE(sample, sample.time) for sample in sweep.samples()]
    lines += [_POOL_STATUS_LINE(pool, pool.time) for pool in sweep.pool_statuses()]
    lines.append(_COLLECTOR_LINE(status, status.time))
    return lines


class InfluxStore:
    """Writes through the spool (``Delivery``); reads with Flux (``Queries``).

    Implements SweepStore, HistoryStore and Spooled (its outbox is the spool). ``deliver`` starts the
    background delivery thread, which only the collector wants: one-shot commands deliver in line.
    """

    def __init__(self, config: Config, deliver: bool = True):
        if config.storage.influxdb is None:
            raise StoreError("storage.backend is influxdb but storage.influxdb is not configured")
        self.config = config
        self.settings: InfluxSettings = config.storage.influxdb
        self.client = make_client(self.settings)
        self.delivery = Delivery(self.settings, partial(write_lines, self.client, self.settings.org), deliver)
        self.queries = Queries(self.client, self.settings, config.timezone, config.aggregate.hold)

    # -- start-up check ---------------------------------------------------------------------------

    def check(self) -> None:
        """Verify URL, token, org and bucket. Raises InfluxConfigError for wrong settings; an unreachable
        server is logged: sweeps wait in the spool."""
        from influxdb_client.rest import ApiException
        from influxdb_client.service.buckets_service import BucketsService

        where = f"InfluxDB at {self.settings.url}"
        try:
            found = BucketsService(self.client.api_client).get_buckets(name=self.settings.bucket, org=self.settings.org)
        except ApiException as err:
            if err.status in (401, 403):
                raise InfluxConfigError(
                    f"{where} rejects the token ({err.status}): check the token in "
                    "storage.influxdb.token (and the variable it names)"
                ) from None
            if err.status == 404:
                raise InfluxConfigError(
                    f"{where} has no organization {self.settings.org!r} (storage.influxdb.org)"
                ) from None
            log.warning("%s answered %s at start; sweeps are spooled until it recovers", where, err.status)
            return
        except Exception as err:  # urllib3 connection errors and the like
            log.warning("%s is not reachable (%s); sweeps are spooled until it is", where, short(err))
            return
        if not getattr(found, "buckets", None):
            raise InfluxConfigError(
                f"{where} has no bucket {self.settings.bucket!r} in organization "
                f"{self.settings.org!r} (storage.influxdb.bucket)"
            )

    # -- sweeps, through the spool ----------------------------------------------------------------

    @property
    def spool(self) -> Spool:
        return self.delivery.spool

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Commit the sweep to the spool (durable on return); delivery happens in the background."""
        self.spool.append(self.settings.bucket, sweep_lines(sweep, status), sweep=(status.collector, status.time))
        self.delivery.wake()

    def backlog(self) -> int:
        return self.delivery.backlog()

    def spool_fill(self) -> SpoolFill:
        return self.delivery.spool_fill()

    def write_errors(self) -> int:
        return self.delivery.write_errors()

    def deliver_pending(self, deadline: float | None = None) -> bool:
        """Deliver spooled batches in order until the spool is empty (True) or the deadline (False)."""
        return self.delivery.deliver_pending(deadline)

    def write_samples(self, samples: Iterable[SampleRow]) -> int:
        """Raw ping samples through the spool, all or none (when ``samples`` raises, nothing is spooled),
        then delivered before returning. Streams: memory holds one request of lines. A server that does not
        answer ends it at the first request (within the client's timeout): StoreError, the samples stay
        spooled for the collector or the next import."""
        lines = (_PING_LINE(sample, sample.time) for sample in map(Sample._make, samples))
        requests = iter(lambda: list(islice(lines, MAX_POINTS_PER_REQUEST)), [])
        written = self.spool.append_all(self.settings.bucket, requests)
        waiting = f"stay in the spool {self.settings.spool} and are delivered by the collector or the next import"
        try:
            delivered = self.delivery.deliver_pending(deadline=time.monotonic() + 300, give_up_unreachable=True)
        except Unreachable as why:
            raise StoreError(
                f"InfluxDB at {self.settings.url} is not reachable ({why}): "
                f"the {self.spool.backlog()} batches of samples {waiting}"
            ) from None
        if not delivered:
            raise StoreError(f"{self.spool.backlog()} batches could not be delivered yet; they {waiting}")
        return written

    # -- daily rows, written directly -------------------------------------------------------------

    def write_days(
        self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay], pool_hours: Sequence[PoolHour] = ()
    ) -> None:
        """Replace the daily and hourly rows of each (pool, day): delete that day's points first, so changed
        tags leave no stale series behind, then write. One delete per pool and day, by the pool tag alone
        (InfluxDB's delete predicates have no OR): it takes the pool's host_daily, pool_daily and
        pool_hourly points of that day, which is all the daily bucket holds, since only the aggregator
        writes there. (InfluxDB Cloud Serverless cannot delete: docs/operations.md.)"""
        with talking(self.settings.url, "the daily rows"):
            self._replace_days(host_days, pool_days, pool_hours)

    def _replace_days(
        self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay], pool_hours: Sequence[PoolHour]
    ) -> None:
        bucket = self.settings.daily_bucket
        tz = self.config.timezone
        delete_api = self.client.delete_api()
        for pool_day in pool_days:
            # The day: [its midnight, the next midnight), where its daily points and its hours are stamped;
            # the delete API's stop is inclusive.
            start, stop = (
                dt.datetime.fromtimestamp(instant, dt.UTC)
                for instant in (day_start(pool_day.day, tz), day_bounds(pool_day.day, tz)[1] - 1)
            )
            delete_api.delete(
                start, stop, f'pool="{predicate_escape(pool_day.pool)}"', bucket=bucket, org=self.settings.org
            )
        order = {pool.name: position for position, pool in enumerate(self.config.pools)}
        lines = [daily_point_line(HOST_DAILY, h, day_start(h.day, tz)) for h in host_days]
        lines += [daily_point_line(POOL_DAILY, p, day_start(p.day, tz), order.get(p.pool)) for p in pool_days]
        lines += [point_line(POOL_HOURLY, hour, hour.time) for hour in pool_hours]
        write_lines(self.client, self.settings.org, bucket, lines, MAX_POINTS_PER_REQUEST)

    # -- reads (influx_queries) -------------------------------------------------------------------

    def host_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        return self.queries.host_samples(pool, hosts, start, stop)

    def day_samples(self, pools: Sequence[tuple[str, Sequence[str]]], start: float, stop: float) -> DaySamples:
        """The aggregator's read of a day (``HistoryStore``'s optional day_samples): each pool's runs, one
        query per pool that leaves out what the rule does not need (pinger.store.influx_runs)."""
        return day_runs(pools, lambda pool, hosts: self.queries.pool_runs(pool, hosts, start, stop))

    def first_sample_time(self) -> int | None:
        return self.queries.first_sample_time()

    def last_sample_time(self) -> int | None:
        return self.queries.last_sample_time()

    def last_aggregated_day(self) -> dt.date | None:
        return self.queries.last_aggregated_day()

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolDay]:
        return self.queries.pool_days(first, last, pools)

    def pool_hours(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolHour]:
        return self.queries.pool_hours(first, last, pools)

    # -- lifecycle --------------------------------------------------------------------------------

    def close(self, flush_seconds: float = 5.0) -> None:
        """Stop the delivery thread, try to deliver what is left for a few seconds, close."""
        try:
            self.delivery.close(flush_seconds)
        finally:
            self.client.close()
