"""Daily pool rows as CSV: the long layout (a row per day and pool), the wide one, or the first system's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pinger.config import Config
from pinger.errors import UsageError
from pinger.models import PoolDay
from pinger.output import write_text
from pinger.schema import POOL_DAILY, WIDE_FIGURES, Measurement, long_columns
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


def format_value(value: object, decimal: str = ".") -> str:
    """Empty for None, integers as they are, floats with at most 6 decimals (no trailing zeros)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        text = "0" if text in ("-0", "") else text
        return text.replace(".", decimal)
    return str(value)


def long_rows(records: Sequence[PoolDay], measurement: Measurement = POOL_DAILY) -> Iterable[Sequence[object]]:
    """The header (``long_columns``), then one row per record: a day and pool."""
    columns = long_columns(measurement)
    yield columns
    for record in records:
        yield [record.day.isoformat(), *(getattr(record, column) for column in columns[1:])]


def wide_rows(records: Sequence[PoolDay], pools: Sequence[str]) -> Iterable[Sequence[object]]:
    """One row per day; per pool a group of columns named 'POOL figure'."""
    yield ["date"] + [f"{pool} {figure}" for pool in pools for figure in WIDE_FIGURES]
    by_day: dict[dt.date, dict[str, PoolDay]] = {}
    for record in records:
        by_day.setdefault(record.day, {})[record.pool] = record
    for day in sorted(by_day):
        row: list[object] = [day.isoformat()]
        for pool in pools:
            found = by_day[day].get(pool)
            row.extend(getattr(found, figure) if found else None for figure in WIDE_FIGURES)
        yield row


def render_csv(rows: Iterable[Sequence[object]], dialect: Dialect) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=dialect.line_end)
    for row in rows:
        writer.writerow([format_value(value, dialect.decimal) for value in row])
    return ("\ufeff" if dialect.bom else "") + buffer.getvalue()


def export_csv(config: Config, first: dt.date, last: dt.date, pools: Sequence[str] | None,
               layout: str, dialect_name: str, output: str | None) -> int:
    """Write the CSV; return the number of pool-day rows exported."""
    if layout == "legacy" and dialect_name not in LEGACY_DIALECTS:
        raise UsageError(f"--layout legacy is the first system's CSV, written in its dialects "
                         f"{' or '.join(LEGACY_DIALECTS)}, not {dialect_name}")
    pools = list(pools) if pools else [pool.name for pool in config.pools]
    store = open_history_store(config, "read")
    try:
        records = store.pool_days(first, last, pools)
    finally:
        store.close()
    days_found = {record.day for record in records}
    missing = (last - first).days + 1 - len(days_found)
    if missing:
        log.warning("%d of the %d days from %s to %s have no daily rows yet; run pinger aggregate for them",
                    missing, (last - first).days + 1, first, last)
    if layout == "legacy":
        hosts = {pool.name: len(pool.hosts) for pool in config.pools}
        text = render_legacy_csv(legacy_rows(records, [(name, hosts[name]) for name in pools]), dialect_name)
    else:
        rows = long_rows(records) if layout == "long" else wide_rows(records, pools)
        text = render_csv(rows, DIALECTS[dialect_name])
    # UTF-8, line ends as the dialect has them; None or "-" is standard output (see pinger.output).
    write_text(output, text)
    return len(records)
