"""The InfluxDB store's reads: Flux queries (pinger.store.flux) and the rows they give back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from pinger.config import InfluxSettings
from pinger.localtime import day_bounds, local_day
from pinger.models import HostSamples, PoolDay, PoolHour
from pinger.schema import DATE_FIELD, POOL_DAILY, POOL_HOURLY, influx_field_names

from .flux import (
    first_sample_flux,
    last_daily_flux,
    last_sample_flux,
    pool_days_flux,
    pool_hours_flux,
    pool_runs_flux,
    pool_samples_flux,
)
from .influx_client import talking
from .influx_runs import HostRuns, read_runs

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from influxdb_client.client.flux_table import FluxRecord
    from influxdb_client.client.influxdb_client import InfluxDBClient


class Queries:
    """What the aggregator, the export and the nightly run read from the raw and the daily bucket."""

    def __init__(self, client: InfluxDBClient, settings: InfluxSettings, timezone: ZoneInfo, hold: float):
        self.client = client
        self.settings = settings
        self.timezone = timezone
        self.hold = hold  # the aggregator's: the runs query keeps what the rule needs with this hold

    def host_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        """Every host of the pool with samples in [start, stop), every sample, streamed; found by the pool tag."""
        query = pool_samples_flux(self.settings.bucket, pool, start, stop)
        wanted = set(hosts)
        current: HostSamples | None = None
        with talking(self.settings.url, f"the samples of pool {pool}"):
            for record in self.client.query_api().query_stream(query, org=self.settings.org):
                host = record.values.get("host")
                if current is None or host != current.host:
                    if current is not None and current.host in wanted:
                        yield current
                    current = HostSamples(host, [], [])
                current.times.append(int(record.get_time().timestamp()))
                current.states.append(bool(record.get_value()))
        if current is not None and current.host in wanted:
            yield current

    def pool_runs(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostRuns]:
        """``host_samples`` as runs for the aggregator's hold: InfluxDB sends only the samples that start a run
        (pinger.store.influx_runs), read with csv.reader rather than as FluxRecords."""
        query = pool_runs_flux(self.settings.bucket, pool, start, stop, self.hold)
        with talking(self.settings.url, f"the samples of pool {pool}"):
            rows = self.client.query_api().query_csv(query, org=self.settings.org)
            yield from read_runs(rows, set(hosts), self.settings.url)

    def _single_time(self, query: str) -> float | None:
        with talking(self.settings.url, "a query"):
            for table in self.client.query_api().query(query, org=self.settings.org):
                for record in table.records:
                    return float(record.get_time().timestamp())
        return None

    def first_sample_time(self) -> int | None:
        found = self._single_time(first_sample_flux(self.settings.bucket))
        return int(found) if found is not None else None

    def last_sample_time(self) -> int | None:
        found = self._single_time(last_sample_flux(self.settings.bucket))
        return int(found) if found is not None else None

    def last_aggregated_day(self) -> dt.date | None:
        found = self._single_time(last_daily_flux(self.settings.daily_bucket))
        return local_day(found, self.timezone) if found is not None else None

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolDay]:
        """Stored pool_daily rows for first..last (inclusive), by date then pool."""
        records = self._daily_records(pool_days_flux, first, last, "the daily rows")
        not_tags = {*influx_field_names(POOL_DAILY), "result", "table"}
        rows = []
        for record in records:
            values = record.values
            if pools and values.get("pool") not in pools:
                continue
            # After group() a row has every pool's tag columns, null where its pool has no such tag.
            tags = {
                key: value
                for key, value in values.items()
                if not key.startswith("_") and key not in not_tags and value is not None
            }
            # The stored date where there is one (rows written before it was added have none).
            stored = values.get(DATE_FIELD)
            day = dt.date.fromisoformat(stored) if stored else local_day(record.get_time().timestamp(), self.timezone)
            rows.append(POOL_DAILY.record_from(day, tags, values))
        return rows

    def pool_hours(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolHour]:
        """Stored pool_hourly rows of the local days first..last (inclusive), by time then pool."""
        records = self._daily_records(pool_hours_flux, first, last, "the hourly rows")
        rows = []
        for record in records:
            values = record.values
            if pools and values.get("pool") not in pools:
                continue
            rows.append(POOL_HOURLY.record_from(int(record.get_time().timestamp()), values, values))
        return rows

    def _daily_records(
        self, flux: Callable[[str, float, float], str], first: dt.date, last: dt.date, what: str
    ) -> list[FluxRecord]:
        """The records a query of the daily bucket gives for the local days first..last (inclusive)."""
        start, stop = day_bounds(first, self.timezone)[0], day_bounds(last, self.timezone)[1]
        with talking(self.settings.url, what):
            return list(
                self.client.query_api().query_stream(
                    flux(self.settings.daily_bucket, start, stop), org=self.settings.org
                )
            )
