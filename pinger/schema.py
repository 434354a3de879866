"""Every stored measurement, declared once: its name, tags and fields with their types, and the record it travels as.

Everything else is derived from these declarations: the SQLite tables, INSERTs and SELECTs
(``pinger.store.tables``), the line protocol written to InfluxDB and the Flux read-back
(``pinger.store.influx``), the CSV columns (``long_columns``), and the names the tests check
dashboards and docs against. docs/design.md shows where this sits in the data's way through Pinger.

A field's type comes from its record's annotation (``pinger.models``): ``int``, ``float`` or
``str``, each optionally ``| None``: NULL in SQLite, left out of the InfluxDB point. (No bool:
``up`` is an int 0/1, as stored and written since the first release; sqlite3 also binds a bool
more slowly than an int.) Tags are strings; a tag that is None is left out.

A measurement is keyed either by ``time`` (unix seconds: the sweep's scheduled time) or by
``day`` (a local date, stamped at the local midnight that starts it; SQLite keeps both the
timestamp and the ISO date). ``pool_daily`` also carries each pool's free-form config tags.

Adding a field: add the attribute to the record, its name here, and a migration step
(``pinger.store.migrations``).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any, NamedTuple

from .models import CollectorStatus, HostDay, PoolDay, PoolHour, PoolStatus, Sample

FieldValue = int | float | str
_FIELD_TYPES = (int, float, str)


class Field(NamedTuple):
    """A tag or field: its name, its type (int, float or str), and whether it may be None."""

    name: str
    type: type
    optional: bool

    def convert(self, value: Any) -> Any:
        """A stored or received value as the record holds it (an int from a float column, say)."""
        return None if value is None else self.type(value)


class Measurement(NamedTuple):
    name: str
    record: Any  # the NamedTuple class a point travels as
    tags: tuple[Field, ...]
    fields: tuple[Field, ...]
    daily: bool  # keyed by the local ``day`` rather than by ``time``
    free_tags: str | None  # the record's attribute holding free-form tags (a dict), written as tags
    sqlite_key: tuple[str, ...]  # primary key columns of its SQLite table
    aggregated: bool = False  # written by the aggregator (InfluxDB: the daily bucket), even when keyed by time

    @property
    def in_daily_bucket(self) -> bool:
        """Whether InfluxDB keeps it in ``daily_bucket`` (the aggregator's output) rather than the raw bucket."""
        return self.daily or self.aggregated

    @property
    def tag_names(self) -> tuple[str, ...]:
        return tuple(tag.name for tag in self.tags)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    def tag_values(self, record: Any) -> dict[str, str]:
        """The point's tags: the free-form ones first, so a declared tag always wins; None is left out."""
        values = dict(getattr(record, self.free_tags)) if self.free_tags else {}
        for tag in self.tags:
            value = getattr(record, tag.name)
            if value is not None:
                values[tag.name] = value
        return values

    def field_values(self, record: Any) -> dict[str, FieldValue]:
        """The point's fields with their declared types; None is left out."""
        values: dict[str, FieldValue] = {}
        for field in self.fields:
            value = getattr(record, field.name)
            if value is not None:
                values[field.name] = field.type(value)
        return values

    def record_from(
        self, key: int | dt.date, tags: dict[str, Any], fields: dict[str, Any], free_tags: dict[str, str] | None = None
    ) -> Any:
        """A record from a point read back: its time or day, its tags and fields.

        A declared tag or field that is missing reads as None. The free-form tags are
        ``free_tags`` when given (SQLite keeps them apart), else every tag that is not declared.
        """
        values: dict[str, Any] = {"day" if self.daily else "time": key}
        for tag in self.tags:
            values[tag.name] = tags.get(tag.name) or None
        if self.free_tags:
            declared = self.tag_names
            values[self.free_tags] = (
                dict(free_tags)
                if free_tags is not None
                else {name: value for name, value in tags.items() if name not in declared}
            )
        for field in self.fields:
            values[field.name] = field.convert(fields.get(field.name))
        return self.record(**values)


def declare(
    name: str,
    record: Any,
    tags: tuple[str, ...],
    fields: tuple[str, ...],
    sqlite_key: tuple[str, ...],
    free_tags: str | None = None,
    aggregated: bool = False,
) -> Measurement:
    """A measurement whose tag and field types are read from the record's annotations."""
    hints = typing.get_type_hints(record)
    daily = "day" in hints
    if hints.get("day" if daily else "time") is not (dt.date if daily else int):
        raise TypeError(f"{record.__name__}: a measurement's record needs time: int or day: datetime.date")

    def typed(attribute: str) -> Field:
        if attribute not in hints:
            raise TypeError(f"{name}: {record.__name__} has no attribute {attribute!r}")
        kinds = typing.get_args(hints[attribute]) if isinstance(hints[attribute], types.UnionType) else ()
        optional = type(None) in kinds
        kind = next((k for k in kinds if k is not type(None)), None) if kinds else hints[attribute]
        if kind not in _FIELD_TYPES or (kinds and len(kinds) != 2):
            raise TypeError(f"{name}.{attribute}: {hints[attribute]} is not int, float or str (or that | None)")
        return Field(attribute, kind, optional)

    declared_tags = tuple(typed(tag) for tag in tags)
    if any(tag.type is not str for tag in declared_tags):
        raise TypeError(f"{name}: tags are strings")
    if free_tags is not None and free_tags not in hints:
        raise TypeError(f"{name}: {record.__name__} has no attribute {free_tags!r}")
    return Measurement(
        name,
        record,
        declared_tags,
        tuple(typed(field) for field in fields),
        daily,
        free_tags,
        sqlite_key,
        aggregated or daily,
    )


PING = declare("ping", Sample, tags=("pool", "host"), fields=("up", "rtt_ms"), sqlite_key=("host", "time"))
POOL_STATUS = declare(
    "pool_status", PoolStatus, tags=("pool",), fields=("online", "total"), sqlite_key=("pool", "time")
)
COLLECTOR = declare(
    "collector",
    CollectorStatus,
    tags=("collector",),
    fields=("hosts", "online", "sweep_s", "spool_backlog", "write_errors"),
    sqlite_key=("collector", "time"),
)
HOST_DAILY = declare(
    "host_daily",
    HostDay,
    tags=("pool", "host"),
    fields=("runtime_h", "coverage", "cost", "co2_kg"),
    sqlite_key=("pool", "date", "host"),
)
POOL_DAILY = declare(
    "pool_daily",
    PoolDay,
    tags=("pool", "phase"),
    fields=(
        "pcs_total",
        "pcs_used",
        "runtime_h",
        "avg_runtime_h",
        "energy_kwh",
        "coverage",
        "runtime_closed_h",
        "on_at_close",
        "cost",
        "co2_kg",
    ),
    sqlite_key=("date", "pool"),
    free_tags="tags",
)
# One row per pool and local clock hour, stamped at the hour's start; weekday and hour are the local ones, stored
# so that an hour-of-week profile needs no time-zone arithmetic in Flux or SQL.
POOL_HOURLY = declare(
    "pool_hourly",
    PoolHour,
    tags=("pool", "phase"),
    fields=("weekday", "hour", "pcs_on", "share_on", "coverage"),
    sqlite_key=("pool", "time"),
    aggregated=True,
)

# The fields only written when ``energy:`` pricing (cost) or a CO2 intensity (co2_kg) is configured.
ENERGY_FIELDS = ("cost", "co2_kg")

ALL = (PING, POOL_STATUS, COLLECTOR, HOST_DAILY, POOL_DAILY, POOL_HOURLY)
MEASUREMENTS = {measurement.name: measurement for measurement in ALL}


def long_columns(measurement: Measurement) -> tuple[str, ...]:
    """A daily measurement's long CSV layout, column for column: the date, then its tags and fields as declared."""
    return ("date", *measurement.tag_names, *measurement.field_names)


# The wide layout: per pool, these pool_daily fields (the original system's export, plus pcs_used).
WIDE_FIGURES = ("runtime_h", "avg_runtime_h", "energy_kwh", "pcs_total", "pcs_used")
if not set(WIDE_FIGURES) <= set(POOL_DAILY.field_names):
    raise TypeError("WIDE_FIGURES names a field pool_daily does not declare")

# InfluxDB only (SQLite has a date column and the config at hand): every daily point also carries its local
# date as a string field, so a day's date never depends on the time zone of whoever reads it (a Grafana
# viewer, say); a pool_daily point carries the pool's 0-based position in the config's pools, so Grafana's
# wide table orders pools as `pinger export` does.
DATE_FIELD = "date"
POOL_ORDER_FIELD = "pool_order"


def influx_field_names(measurement: Measurement) -> tuple[str, ...]:
    """The fields of a measurement's InfluxDB points: the declared ones, then the InfluxDB-only ones."""
    if not measurement.daily:
        return measurement.field_names
    extra = (DATE_FIELD, POOL_ORDER_FIELD) if measurement is POOL_DAILY else (DATE_FIELD,)
    return (*measurement.field_names, *extra)
