"""Local days and wall-clock times of the config's zone as unix seconds: day bounds, opening spans, closing instants."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from .config import OpeningHours

MINUTES_PER_DAY = 1440


@lru_cache(maxsize=4096)
def local_instant(day: dt.date, minutes: int, tz: ZoneInfo) -> float:
    """Unix seconds of the first instant at which the local clock reads ``minutes`` after midnight
    of ``day`` (1440 = the next midnight).

    A wall time that a DST change repeats is its first occurrence; one that the change skips is
    the instant of the change, when the clock jumps past it.
    """
    day = day + dt.timedelta(days=minutes // MINUTES_PER_DAY)
    minutes %= MINUTES_PER_DAY
    wall = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=tz)
    with_offset_before = wall.timestamp()  # fold=0 reads the wall time with the offset before a change
    with_offset_after = wall.replace(fold=1).timestamp()
    if with_offset_before <= with_offset_after:  # equal: an ordinary time; less: repeated
        return with_offset_before
    # Skipped: reading it with the offset after the change lands before the change, and vice versa.
    return _offset_change(tz, int(with_offset_after), int(with_offset_before))


def _offset_change(tz: ZoneInfo, before: int, after: int) -> float:
    """The first second in (before, after] whose UTC offset differs from the one at ``before``."""
    offset = dt.datetime.fromtimestamp(before, tz).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return float(after)


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[float, float]:
    """The local midnight starting the day and the next one (23 h or 25 h apart on DST days)."""
    return local_instant(day, 0, tz), local_instant(day, MINUTES_PER_DAY, tz)


def day_start(day: dt.date, tz: ZoneInfo) -> int:
    """The unix second of the local midnight that starts the day: the timestamp of its daily rows."""
    return int(local_instant(day, 0, tz))


def local_day(time_s: float, tz: ZoneInfo) -> dt.date:
    """The local date of an instant."""
    return dt.datetime.fromtimestamp(time_s, tz).date()


@lru_cache(maxsize=4096)
def opening_spans(hours: OpeningHours, day: dt.date, tz: ZoneInfo) -> tuple[tuple[float, float], ...]:
    """The day's opening periods as sorted unix-second spans [start, stop) of wall-clock times.

    A period that a DST change skips entirely is dropped; periods that touch are merged.
    """
    spans: list[tuple[float, float]] = []
    for first, last in hours.periods_on(day):
        start, stop = local_instant(day, first, tz), local_instant(day, last, tz)
        if stop <= start:
            continue
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], stop)
        else:
            spans.append((start, stop))
    return tuple(spans)


def closing_instants(hours: OpeningHours, day: dt.date, tz: ZoneInfo) -> tuple[float, ...]:
    """The instants the pool closes on the day: the end of each opening span, except an end at
    midnight that the next day's first period continues (the pool does not close then)."""
    closes = [stop for _, stop in opening_spans(hours, day, tz)]
    if closes:
        following = opening_spans(hours, day + dt.timedelta(days=1), tz)
        if following and following[0][0] == closes[-1]:
            closes.pop()
    return tuple(closes)


_QUARTER_HOUR = 900


@lru_cache(maxsize=4096)
def hour_starts(day: dt.date, tz: ZoneInfo) -> tuple[float, ...]:
    """The instants within the day at which the local clock reads a full hour, in order.

    24 of them on most days, 23 on a spring-forward day, 25 on a fall-back day (the repeated hour
    starts twice, at two instants). Every UTC offset in use is a multiple of 15 minutes, so the
    full hours are found among the day's quarter-hour steps from its local midnight.
    """
    start, stop = day_bounds(day, tz)
    found = []
    instant = start
    while instant < stop:
        if dt.datetime.fromtimestamp(instant, tz).minute == 0:
            found.append(instant)
        instant += _QUARTER_HOUR
    return tuple(found)
