"""The Flux queries Pinger sends to InfluxDB, built from names in pinger.schema (checked by the Flux front end in tests)."""

from __future__ import annotations

import datetime as dt

from pinger.schema import PING, POOL_DAILY

EPOCH = "1970-01-01T00:00:00Z"


def first_sample_flux(bucket: str) -> str:
    """The time of the oldest ping sample (first per series is pushed down to storage, then the minimum)."""
    return f"""from(bucket: {flux_string(bucket)})
  |> range(start: {EPOCH})
  |> filter(fn: (r) => r._measurement == "{PING}" and r._field == "up")
  |> first()
  |> group()
  |> min(column: "_time")
  |> keep(columns: ["_time"])
"""


def last_daily_flux(daily_bucket: str) -> str:
    """The start of the newest aggregated day (last per series, then the maximum)."""
    return f"""from(bucket: {flux_string(daily_bucket)})
  |> range(start: {EPOCH})
  |> filter(fn: (r) => r._measurement == "{POOL_DAILY}" and r._field == "pcs_total")
  |> last()
  |> group()
  |> max(column: "_time")
  |> keep(columns: ["_time"])
"""


def pool_days_flux(daily_bucket: str, start: float, stop: float) -> str:
    """Every pool_daily row in [start, stop), one record per pool and day with its fields as columns."""
    return f"""from(bucket: {flux_string(daily_bucket)})
  |> range(start: {flux_time(start)}, stop: {flux_time(stop)})
  |> filter(fn: (r) => r._measurement == "{POOL_DAILY}")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time", "pool"])
"""


def flux_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def flux_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pool_samples_flux(bucket: str, pool: str, start: float, stop: float) -> str:
    """The one query per pool and time range that the aggregator reads samples with."""
    return f"""from(bucket: {flux_string(bucket)})
  |> range(start: {flux_time(start)}, stop: {flux_time(stop)})
  |> filter(fn: (r) => r._measurement == "{PING}" and r._field == "up" and r.pool == {flux_string(pool)})
  |> keep(columns: ["_time", "_value", "host"])
  |> group(columns: ["host"])
  |> sort(columns: ["_time"])
"""
