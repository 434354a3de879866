"""The Flux queries Pinger sends to InfluxDB, built from the names in pinger.schema and checked in tests."""

from __future__ import annotations

import datetime as dt

from pinger.schema import PING, POOL_DAILY, POOL_HOURLY

EPOCH = "1970-01-01T00:00:00Z"


def _edge_time_flux(bucket: str, measurement: str, field: str, per_series: str, overall: str) -> str:
    """The oldest or newest time of a field: first()/last() per series is pushed down to storage,
    then min/max over all series."""
    return f"""from(bucket: {flux_string(bucket)})
  |> range(start: {EPOCH})
  |> filter(fn: (r) => r._measurement == "{measurement}" and r._field == "{field}")
  |> {per_series}()
  |> group()
  |> {overall}(column: "_time")
  |> keep(columns: ["_time"])
"""


def first_sample_flux(bucket: str) -> str:
    """The time of the oldest ping sample."""
    return _edge_time_flux(bucket, PING.name, "up", "first", "min")


def last_sample_flux(bucket: str) -> str:
    """The time of the newest ping sample."""
    return _edge_time_flux(bucket, PING.name, "up", "last", "max")


def last_daily_flux(daily_bucket: str) -> str:
    """The start of the newest aggregated day."""
    return _edge_time_flux(daily_bucket, POOL_DAILY.name, "pcs_total", "last", "max")


def pool_days_flux(daily_bucket: str, start: float, stop: float) -> str:
    """Every pool_daily row in [start, stop), one record per pool and day with its fields as columns."""
    return f"""from(bucket: {flux_string(daily_bucket)})
  |> range(start: {flux_time(start)}, stop: {flux_time(stop)})
  |> filter(fn: (r) => r._measurement == "{POOL_DAILY.name}")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time", "pool"])
"""


def pool_hours_flux(daily_bucket: str, start: float, stop: float) -> str:
    """Every pool_hourly row in [start, stop), one record per pool and hour with its fields as columns."""
    return f"""from(bucket: {flux_string(daily_bucket)})
  |> range(start: {flux_time(start)}, stop: {flux_time(stop)})
  |> filter(fn: (r) => r._measurement == "{POOL_HOURLY.name}")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time", "pool"])
"""


def flux_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def flux_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pool_samples_flux(bucket: str, pool: str, start: float, stop: float) -> str:
    """The one query per pool and time range that the aggregator reads samples with."""
    return f"""from(bucket: {flux_string(bucket)})
  |> range(start: {flux_time(start)}, stop: {flux_time(stop)})
  |> filter(fn: (r) => r._measurement == "{PING.name}" and r._field == "up" and r.pool == {flux_string(pool)})
  |> keep(columns: ["_time", "_value", "host"])
  |> group(columns: ["host"])
  |> sort(columns: ["_time"])
"""


def gap_threshold_ns(hold: float) -> int:
    """Twice the hold in nanoseconds: two samples farther apart than this leave time unobserved between them."""
    return round(2 * hold * 1e9)


def pool_runs_flux(bucket: str, pool: str, start: float, stop: float, hold: float) -> str:
    """The aggregator's query: ``pool_samples_flux`` reduced per host (table) to the samples that start a
    run, each with ``gap``, the nanoseconds since the host's sample before it, and the host's newest sample.

    A sample is kept when it is the host's first in the range (``gap`` empty), its ``up`` differs from
    the sample before (``difference`` of ``_value``), it comes more than twice the hold after it (``gap``),
    or it is the newest (``newer`` empty: ``difference`` in reverse time order). pinger.store.influx_runs
    turns the rows into runs and says why the nearest-sample rule gives them the figures of all samples.
    """
    reduction = f"""  |> map(fn: (r) => ({{r with up: r._value, gap: int(v: r._time), newer: int(v: r._time)}}))
  |> difference(columns: ["_value", "gap"], keepFirst: true)
  |> sort(columns: ["_time"], desc: true)
  |> difference(columns: ["newer"], keepFirst: true)
  |> filter(fn: (r) => not exists r.gap or not exists r.newer or r._value != 0 or r.gap > {gap_threshold_ns(hold)})
  |> keep(columns: ["_time", "host", "up", "gap"])
  |> sort(columns: ["_time"])
"""
    return pool_samples_flux(bucket, pool, start, stop) + reduction
