"""Daily pool rows as CSV: the long layout (a row per day and pool), the wide one, or the first system's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pinger.config import Config, Energy
from pinger.errors import UsageError
from pinger.localtime import local_day
from pinger.models import PoolDay, PoolHour
from pinger.numbers import format_value
from pinger.output import write_text
from pinger.schema import ENERGY_FIELDS, POOL_DAILY, POOL_HOURLY, WIDE_FIGURES, Measurement, long_columns
from pinger.store import open_history_store

from .legacy_csv import DIALECTS as LEGACY_DIALECTS
from .legacy_csv import legacy_rows, render_legacy_csv

log = logging.getLogger("pinger.export")


class Dialect(NamedTuple):
    delimiter: str
    line_end: str
    decimal: str
    bom: bool


DIALECTS = {
    "unix": Dialect(",", "\n", ".", False),
    # Excel detects UTF-8 by the byte-order mark; without it, umlauts in pool names break.
    "excel": Dialect(",", "\r\n", ".", True),
    "excel-de": Dialect(";", "\r\n", ",", True),
}


def unconfigured(energy: Energy) -> set[str]:
    """The energy fields (``cost``, ``co2_kg``) that the config does not produce, so no export shows them."""
    return {
        name
        for name, configured in zip(ENERGY_FIELDS, (energy.priced, energy.co2_g_per_kwh is not None), strict=True)
        if not configured
    }


def long_rows(
    records: Sequence[PoolDay],
    measurement: Measurement = POOL_DAILY,
    left_out: frozenset[str] | set[str] = frozenset(ENERGY_FIELDS),
) -> Iterable[Sequence[object]]:
    """The header (``long_columns`` but ``left_out``), then one row per record: a day and pool."""
    columns = tuple(column for column in long_columns(measurement) if column not in left_out)
    yield columns
    for record in records:
        yield [record.day.isoformat(), *(getattr(record, column) for column in columns[1:])]


def wide_figures(energy: Energy) -> tuple[str, ...]:
    """The wide layout's figures per pool: ``cost`` right after ``energy_kwh`` when pricing is configured,
    ``co2_kg`` last when a CO2 intensity is; otherwise the original system's set."""
    figures: list[str] = []
    for figure in WIDE_FIGURES:
        figures.append(figure)
        if figure == "energy_kwh" and energy.priced:
            figures.append("cost")
    return (*figures, *(("co2_kg",) if energy.co2_g_per_kwh is not None else ()))


def wide_rows(
    records: Sequence[PoolDay], pools: Sequence[str], figures: Sequence[str] = WIDE_FIGURES
) -> Iterable[Sequence[object]]:
    """One row per day; per pool a group of columns named 'POOL figure'."""
    yield ["date"] + [f"{pool} {figure}" for pool in pools for figure in figures]
    by_day: dict[dt.date, dict[str, PoolDay]] = {}
    for record in records:
        by_day.setdefault(record.day, {})[record.pool] = record
    for day in sorted(by_day):
        row: list[object] = [day.isoformat()]
        for pool in pools:
            found = by_day[day].get(pool)
            row.extend(getattr(found, figure) if found else None for figure in figures)
        yield row


def render_csv(rows: Iterable[Sequence[object]], dialect: Dialect) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=dialect.line_end)
    for row in rows:
        writer.writerow([format_value(value, dialect.decimal) for value in row])
    return ("\ufeff" if dialect.bom else "") + buffer.getvalue()


def export_csv(
    config: Config,
    first: dt.date,
    last: dt.date,
    pools: Sequence[str] | None,
    layout: str,
    dialect_name: str,
    output: str | None,
) -> int:
    """Write the CSV; return the number of pool-day rows exported."""
    if layout == "legacy" and dialect_name not in LEGACY_DIALECTS:
        raise UsageError(
            f"--layout legacy is the first system's CSV, written in its dialects "
            f"{' or '.join(LEGACY_DIALECTS)}, not {dialect_name}"
        )
    pools = list(pools) if pools else [pool.name for pool in config.pools]
    store = open_history_store(config, "read")
    try:
        records = store.pool_days(first, last, pools)
    finally:
        store.close()
    days_found = {record.day for record in records}
    missing = (last - first).days + 1 - len(days_found)
    if missing:
        log.warning(
            "%d of the %d days from %s to %s have no daily rows yet; run pinger aggregate for them",
            missing,
            (last - first).days + 1,
            first,
            last,
        )
    if layout == "legacy":
        hosts = {pool.name: len(pool.hosts) for pool in config.pools}
        text = render_legacy_csv(legacy_rows(records, [(name, hosts[name]) for name in pools]), dialect_name)
    else:
        energy = config.energy
        rows = (
            long_rows(records, left_out=unconfigured(energy))
            if layout == "long"
            else wide_rows(records, pools, wide_figures(energy))
        )
        text = render_csv(rows, DIALECTS[dialect_name])
    # UTF-8, line ends as the dialect has them; None or "-" is standard output (see pinger.output).
    write_text(output, text)
    return len(records)


HOURLY_COLUMNS = ("start", "date", *POOL_HOURLY.tag_names, *POOL_HOURLY.field_names)


def hourly_rows(records: Sequence[PoolHour], config: Config) -> Iterable[Sequence[object]]:
    """The header, then one row per pool and local clock hour: its start as local ISO time with the UTC
    offset (the repeated hour of a fall-back day shows twice, with two offsets), its local date, tags, fields."""
    yield HOURLY_COLUMNS
    tz = config.timezone
    for record in records:
        yield [
            dt.datetime.fromtimestamp(record.time, tz).isoformat(),
            local_day(record.time, tz).isoformat(),
            *(getattr(record, column) for column in HOURLY_COLUMNS[2:]),
        ]


def export_hourly_csv(
    config: Config, first: dt.date, last: dt.date, pools: Sequence[str] | None, dialect_name: str, output: str | None
) -> int:
    """Write the pool_hourly rows of the local days first..last as long CSV; return the number of rows."""
    pools = list(pools) if pools else [pool.name for pool in config.pools]
    store = open_history_store(config, "read")
    try:
        records = store.pool_hours(first, last, pools)
    finally:
        store.close()
    if not records:
        log.warning("no hourly rows from %s to %s; run pinger aggregate for those days", first, last)
    write_text(output, render_csv(hourly_rows(records, config), DIALECTS[dialect_name]))
    return len(records)
