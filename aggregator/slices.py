"""A local day cut into slices at every clock hour, opening-hours edge and tariff edge: what each slice is part of."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pinger.config import Energy, OpeningHours
from pinger.localtime import day_bounds, hour_starts, opening_spans


class DaySlices(NamedTuple):
    """A partition of one local day for ``rule.per_bucket``: slice i is [edges[i], edges[i + 1])."""

    edges: tuple[float, ...]
    hour: tuple[int, ...]  # per slice: its clock hour's index in ``hours``
    open: tuple[bool, ...]  # per slice: inside opening hours (all False without them)
    price: tuple[float, ...] | None  # per slice: the price per kWh in force; None: no pricing configured
    hours: tuple[float, ...]  # the day's hour starts (23, 24 or 25)


def _inside(spans: tuple[tuple[float, float], ...], instant: float) -> bool:
    return any(start <= instant < stop for start, stop in spans)


def _price_at(tariffs: list[tuple[float, float, float]], instant: float, default: float) -> float:
    for start, stop, price in tariffs:
        if start <= instant < stop:
            return price
    return default


@lru_cache(maxsize=1024)
def day_slices(day: dt.date, tz: ZoneInfo, hours: OpeningHours | None, energy: Energy) -> DaySlices:
    """The day's slices: cut at each clock hour, each opening span's ends and each tariff period's ends.

    Computed once per pool and day (cached), then used for every host of the pool.
    """
    start, stop = day_bounds(day, tz)
    starts = hour_starts(day, tz)
    opening = opening_spans(hours, day, tz) if hours is not None else ()
    tariffs = [
        (low, high, tariff.price) for tariff in energy.tariffs for low, high in opening_spans(tariff.hours, day, tz)
    ]
    cuts = {start, stop, *starts}
    for low, high in (*opening, *((low, high) for low, high, _ in tariffs)):
        cuts.update(instant for instant in (low, high) if start < instant < stop)
    edges = tuple(sorted(cuts))
    firsts = edges[:-1]
    hour_of = []
    position = 0
    for instant in firsts:
        while position + 1 < len(starts) and starts[position + 1] <= instant:
            position += 1
        hour_of.append(position)
    price = None
    if energy.priced:
        default = energy.price if energy.price is not None else 0.0
        price = tuple(_price_at(tariffs, instant, default) for instant in firsts)
    return DaySlices(edges, tuple(hour_of), tuple(_inside(opening, instant) for instant in firsts), price, starts)
