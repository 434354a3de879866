"""Pool-day outcomes normalised per configured PC, and which pool-days the report keeps."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pinger.config import Pool, Study
from pinger.localtime import closing_instants
from pinger.models import PoolDay

RUNTIME = "runtime_per_pc_h"
RUNTIME_CLOSED = "runtime_closed_per_pc_h"
SHARE_ON_AT_CLOSE = "share_on_at_close"
ENERGY = "energy_per_pc_kwh"
COST = "cost_per_pc"  # only with energy pricing configured, from rows that carry a cost
OUTCOMES = (RUNTIME, RUNTIME_CLOSED, SHARE_ON_AT_CLOSE, ENERGY, COST)


class DayOutcomes(NamedTuple):
    """One pool-day kept for the report: its phase as the config says now, and its outcomes.

    An outcome the day cannot have (no opening hours, no closing that day) is absent from ``values``.
    """

    day: dt.date
    pool: str
    phase: str | None
    values: dict[str, float]


class Selection(NamedTuple):
    days: list[DayOutcomes]
    left_out: Counter[tuple[str, str | None]]  # (pool, phase): days below the coverage threshold
    # Every (pool, day) with a row, kept or not: what tells "no daily row" from "left out" in the notes.
    rows: frozenset[tuple[str, dt.date]] = frozenset()


def outcomes_of(row: PoolDay, pool: Pool, tz: ZoneInfo, priced: bool = False) -> dict[str, float]:
    """The day's outcomes per configured PC (``row.pcs_total``, the PCs the pool had that day).

    Cost only when ``priced`` (the config has ``energy:`` pricing now) and the row has one: a row
    aggregated before pricing was configured has none, and one stored under an old price is not shown
    once the config drops pricing.
    """
    pcs = row.pcs_total
    if pcs <= 0:
        return {}
    values = {RUNTIME: row.runtime_h / pcs, ENERGY: row.energy_kwh / pcs}
    if row.runtime_closed_h is not None:
        values[RUNTIME_CLOSED] = row.runtime_closed_h / pcs
    if row.on_at_close is not None and pool.open is not None:
        closings = len(closing_instants(pool.open, row.day, tz))
        if closings:
            values[SHARE_ON_AT_CLOSE] = row.on_at_close / (pcs * closings)
    if priced and row.cost is not None:
        values[COST] = row.cost / pcs
    return values


def keeps_weekday(day: dt.date, pool: Pool, days_mode: str) -> bool:
    """--days: ``all``; ``open``: days with opening hours; ``weekdays``: Monday to Friday."""
    if days_mode == "open":
        return pool.open is not None and bool(pool.open.periods_on(day))
    if days_mode == "weekdays":
        return day.weekday() < 5
    return True


def select_days(
    rows: Iterable[PoolDay],
    pools: Mapping[str, Pool],
    study: Study,
    tz: ZoneInfo,
    min_coverage: float,
    days_mode: str,
    priced: bool = False,
) -> Selection:
    """The pool-days to analyse: those of the given pools on the days --days keeps, with enough coverage.

    The phase comes from the config's ``study`` as it is now, not from the row's stored tag, so
    rows aggregated before a phase was configured count in it too.
    """
    kept: list[DayOutcomes] = []
    left_out: Counter[tuple[str, str | None]] = Counter()
    seen: set[tuple[str, dt.date]] = set()
    for row in rows:
        pool = pools.get(row.pool)
        if pool is None:
            continue
        seen.add((row.pool, row.day))
        if not keeps_weekday(row.day, pool, days_mode):
            continue
        phase = study.phase_for(row.pool, row.day)
        if row.coverage < min_coverage:
            left_out[(row.pool, phase)] += 1
            continue
        values = outcomes_of(row, pool, tz, priced)
        if values:
            kept.append(DayOutcomes(row.day, row.pool, phase, values))
    return Selection(kept, left_out, frozenset(seen))
