"""Daily pool rows as CSV: the long layout (a row per day and pool), the wide one, or the first system's.

Pools come in the order of ``--pools`` (each once), else in config order, in every layout. The Excel
dialects apply OWASP's CSV injection rule to text cells (``guard_formula``): a spreadsheet runs a cell
starting with = + - @ tab or carriage return as a formula, and a phase or tag is free text.
"""

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
from pinger.store import HistoryStore, open_history_store

from .job import days_between, sampled_days
from .legacy_csv import DIALECTS as LEGACY_DIALECTS
from .legacy_csv import guard_formula, legacy_rows, render_legacy_csv

log = logging.getLogger("pinger.export")


class Dialect(NamedTuple):
    delimiter: str
    line_end: str
    decimal: str
    bom: bool
    guard_formulas: bool = False  # read by a spreadsheet: text cells never start a formula (guard_formula)


DIALECTS = {
    "unix": Dialect(",", "\n", ".", False),
    # Excel detects UTF-8 by the byte-order mark; without it, umlauts in pool names break.
    "excel": Dialect(",", "\r\n", ".", True, True),
    "excel-de": Dialect(";", "\r\n", ",", True, True),
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
    """Rows as CSV text; numbers by ``format_value``, text as it is but for ``guard_formula`` in the Excel dialects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=dialect.line_end)
    guard = dialect.guard_formulas
    for row in rows:
        writer.writerow(
            [
                guard_formula(value) if guard and isinstance(value, str) else format_value(value, dialect.decimal)
                for value in row
            ]
        )
    return ("\ufeff" if dialect.bom else "") + buffer.getvalue()


def in_pool_order(records: Sequence[PoolDay], pools: Sequence[str]) -> list[PoolDay]:
    """The records by day, and within a day in the order of ``pools`` (the store returns them byte-wise)."""
    position = {name: index for index, name in enumerate(pools)}
    return sorted(records, key=lambda record: (record.day, position.get(record.pool, len(position))))


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
    pools = list(dict.fromkeys(pools)) if pools else [pool.name for pool in config.pools]
    store = open_history_store(config, "read")
    try:
        records = in_pool_order(store.pool_days(first, last, pools), pools)
        days_found = {record.day for record in records}
        if len(days_found) < (last - first).days + 1:
            _advise_aggregating(config, store, first, last, days_found)
    finally:
        store.close()
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


def _advise_aggregating(
    config: Config, store: HistoryStore, first: dt.date, last: dt.date, days_found: set[dt.date]
) -> None:
    """Name the days of the range that samples can decide but that have no daily rows: the ones ``pinger
    aggregate`` would compute (not the millions of days of a range like 0001-01-01..9999-12-30)."""
    first_time, last_time = store.first_sample_time(), store.last_sample_time()
    if first_time is None or last_time is None:
        log.warning("no daily rows for some days from %s to %s, and the store has no samples to aggregate", first, last)
        return
    first_sampled, last_sampled = sampled_days(config, first_time, last_time)
    start, end = max(first, first_sampled), min(last, last_sampled)
    if start > end:
        return  # no day of the range has samples: nothing to aggregate, nothing to advise
    missing = [day for day in days_between(start, end) if day not in days_found]
    if not missing:
        return
    outside = " (the store has no samples for the other days of the range)" if (start, end) != (first, last) else ""
    log.warning(
        "the %d days from %s to %s have samples but no daily rows yet: run pinger aggregate --from %s --to %s%s",
        len(missing),
        missing[0],
        missing[-1],
        missing[0],
        missing[-1],
        outside,
    )


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
    pools = list(dict.fromkeys(pools)) if pools else [pool.name for pool in config.pools]
    position = {name: index for index, name in enumerate(pools)}
    store = open_history_store(config, "read")
    try:
        records = sorted(store.pool_hours(first, last, pools), key=lambda hour: (hour.time, position[hour.pool]))
    finally:
        store.close()
    if not records:
        log.warning("no hourly rows from %s to %s; run pinger aggregate for those days", first, last)
    write_text(output, render_csv(hourly_rows(records, config), DIALECTS[dialect_name]))
    return len(records)
