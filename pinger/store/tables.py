"""The SQLite table of each measurement, derived from its declaration: DDL, INSERT, SELECT, rows to and from records.

Columns, in order: ``time`` (unix seconds), ``date`` (ISO local date; daily measurements only),
the tags (TEXT), the free-form tags as one JSON object (``pool_daily.tags``), then the fields.
A column is NOT NULL unless its tag or field is optional.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pinger.localtime import day_start
from pinger.schema import Measurement

_SQL_TYPES = {int: "INTEGER", float: "REAL", str: "TEXT"}


class Column(NamedTuple):
    name: str
    sql_type: str
    not_null: bool

    def definition(self) -> str:
        return f"{self.name} {self.sql_type}" + (" NOT NULL" if self.not_null else "")


def columns(measurement: Measurement) -> tuple[Column, ...]:
    found = [Column("time", "INTEGER", True)]
    if measurement.daily:
        found.append(Column("date", "TEXT", True))
    found += [Column(tag.name, "TEXT", not tag.optional) for tag in measurement.tags]
    if measurement.free_tags:
        found.append(Column(measurement.free_tags, "TEXT", True))
    found += [Column(field.name, _SQL_TYPES[field.type], not field.optional) for field in measurement.fields]
    return tuple(found)


def column_names(measurement: Measurement) -> tuple[str, ...]:
    return tuple(column.name for column in columns(measurement))


def create_table_sql(measurement: Measurement, if_not_exists: bool = False) -> str:
    definitions = ", ".join(column.definition() for column in columns(measurement))
    return (
        f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{measurement.name} ({definitions}, "
        f"PRIMARY KEY ({', '.join(measurement.sqlite_key)})) WITHOUT ROWID"
    )


def add_column_sql(measurement: Measurement, name: str) -> str:
    """The migration step's statement for a field added to the declaration: existing rows read NULL,
    so the field must be optional."""
    found = [column for column in columns(measurement) if column.name == name]
    if not found:
        raise ValueError(f"{measurement.name} declares no {name!r}")
    column = found[0]
    if column.not_null:
        raise ValueError(f"{measurement.name}.{name}: a field added to existing rows must be optional (X | None)")
    return f"ALTER TABLE {measurement.name} ADD COLUMN {column.definition()}"


def insert_sql(measurement: Measurement, skipped: frozenset[int] = frozenset()) -> str:
    """The INSERT of a row in column order; with ``skipped`` (column indexes), of the other columns only."""
    names = [name for index, name in enumerate(column_names(measurement)) if index not in skipped]
    return f"INSERT OR REPLACE INTO {measurement.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def unused_columns(measurement: Measurement, batch: Sequence[Sequence[Any]]) -> frozenset[int]:
    """The optional columns that are NULL in every row of the batch."""
    if not batch:
        return frozenset()
    return frozenset(
        index
        for index, column in enumerate(columns(measurement))
        if not column.not_null and list(map(itemgetter(index), batch)).count(None) == len(batch)
    )


def select_sql(measurement: Measurement, present: set[str] | None = None) -> str:
    """The SELECT of every column in order; with ``present`` (the columns an older file's table has), a
    missing one reads NULL, so old rows come back with the fields added since empty."""
    names = column_names(measurement)
    listed = names if present is None else [name if name in present else f"NULL AS {name}" for name in names]
    return f"SELECT {', '.join(listed)} FROM {measurement.name}"


def _is_its_own_row(measurement: Measurement) -> bool:
    """True when the record's attributes are the columns, in order (ping, pool_status, collector)."""
    return tuple(measurement.record._fields) == column_names(measurement)


def row_maker(measurement: Measurement, tz: ZoneInfo) -> Callable[[Any], Sequence[Any]]:
    """A function turning a record into the table's row, in column order."""
    names = column_names(measurement)
    if _is_its_own_row(measurement):
        return tuple  # a plain tuple: sqlite3 binds those on its fast path (a NamedTuple row costs it a fifth more)
    if not measurement.daily:
        return attrgetter(*names)
    values = attrgetter(*(name for name in names[2:] if name != measurement.free_tags))
    free_tags = measurement.free_tags
    stamps: dict[dt.date, tuple[int, str]] = {}  # a day's midnight and ISO date, once per day (a day has many rows)

    def make(record: Any) -> tuple[Any, ...]:
        day = record.day
        stamp = stamps.get(day)
        if stamp is None:
            stamp = stamps[day] = (day_start(day, tz), day.isoformat())
        row = values(record)
        if free_tags is None:
            return (*stamp, *row)
        tag_count = len(measurement.tags)
        return (
            *stamp,
            *row[:tag_count],
            json.dumps(getattr(record, free_tags), sort_keys=True),
            *row[tag_count:],
        )

    return make


def rows(measurement: Measurement, records: Iterable[Any], tz: ZoneInfo) -> list[Sequence[Any]]:
    return list(map(row_maker(measurement, tz), records))


def record_of(measurement: Measurement, row: Sequence[Any]) -> Any:
    """A row read with ``select_sql`` as the measurement's record."""
    values = dict(zip(column_names(measurement), row, strict=True))
    key: int | dt.date = dt.date.fromisoformat(values["date"]) if measurement.daily else values["time"]
    tags = {tag.name: values[tag.name] for tag in measurement.tags}
    free_tags = json.loads(values[measurement.free_tags]) if measurement.free_tags else None
    return measurement.record_from(key, tags, values, free_tags)
