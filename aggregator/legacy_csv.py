"""The first system's CSV layout from Pinger's daily pool rows, so that scripts written for it keep working.

The first system's export (its ``views.py``): a header ``Datum`` and per pool the six columns
below; one row per day with, per pool, an empty cell, the room number, the runtime sum in hours,
that sum over the PCs that ran (0 when none), ``Verbrauch`` in watt-hours, and the number of PCs.
Written with Python's csv dialects ``unix`` (every field quoted, LF) or ``excel`` (quoted only
where needed, CRLF), no byte-order mark, numbers as ``str(float)``. In ``excel`` a text cell that a
spreadsheet would run as a formula gets a leading apostrophe (``guard_formula``); numbers stay as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from pinger.models import PoolDay

POOL_COLUMNS = (
    "",
    "Raum Nr",
    "Summe der Laufzeit (in h)",
    "Durchschnittliche Laufzeit (in h)",
    "Verbrauch",
    "Anzahl Rechner",
)
DIALECTS: dict[str, type[csv.Dialect]] = {"unix": csv.unix_dialect, "excel": csv.excel}


def legacy_number(value: float) -> str:
    """As the first system wrote numbers, ``str(float)`` ("6.0", "5.958333"), after rounding to 6
    decimals: Pinger's figures are sums of floats, and 0.6 kWh is 600.0000000000001 Wh unrounded."""
    return str(round(float(value), 6))


def legacy_rows(records: Sequence[PoolDay], pools: Sequence[tuple[str, int]]) -> Iterable[Sequence[str]]:
    """The header, then one row per day that has daily rows. ``pools``: (name, hosts configured) in
    the order of the columns. A pool without a row on such a day gets its room number and number of
    PCs, and empty figures (not zeros: nothing is known of it that day)."""
    yield ["Datum", *(column for _ in pools for column in POOL_COLUMNS)]
    by_day: dict[dt.date, dict[str, PoolDay]] = {}
    for record in records:
        by_day.setdefault(record.day, {})[record.pool] = record
    for day in sorted(by_day):
        row = [day.isoformat()]
        for name, configured in pools:
            found = by_day[day].get(name)
            if found is None:
                row += ["", name, "", "", "", str(configured)]
                continue
            row += [
                "",
                name,
                legacy_number(found.runtime_h),
                legacy_number(found.avg_runtime_h),
                legacy_number(found.energy_kwh * 1000),
                str(found.pcs_total),
            ]
        yield row


def render_legacy_csv(rows: Iterable[Sequence[str]], dialect: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=DIALECTS[dialect])
    if dialect == "excel":  # every cell here is text, numbers too: guard the cells that are not numbers
        rows = ([cell if _is_number(cell) else guard_formula(cell) for cell in row] for row in rows)
    writer.writerows(rows)
    return buffer.getvalue()


# OWASP's CSV injection rule (https://owasp.org/www-community/attacks/CSV_Injection): cells starting with these
# are formulas to a spreadsheet; a leading apostrophe makes Excel and LibreOffice show them as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(text: str) -> str:
    """The text with a leading apostrophe when a spreadsheet would take it for a formula; else as it is."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
