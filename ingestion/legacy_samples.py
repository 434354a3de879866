"""The first system's on-intervals as Pinger samples: merge its midnight splits, then sample at its cadence.

Pure arithmetic on integers: interval ends in milliseconds (the first system's precision), sample
times in whole seconds (as the collector writes them).

Why samples reproduce the intervals: samples lie on a grid of step I (the first system's
cadence, aligned to the clock like the collector's sweeps); a sample is up when its instant lies
inside an on-interval [start, end). By the nearest-sample rule (hold >= I/2) every instant is
decided by the grid point nearest to it, which is at most I/2 away, so a change of state is
placed at the midpoint between the two grid points around it: at most I/2 from where the first
system recorded it. Between two grid points there is one rule-made change at most, so the
rule's on-time differs from the intervals' on-time by at most I/2 per recorded change of state,
in any span of time (proof in tests/test_legacy.py, which checks it against scripted truth).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

DAY_MS = 86_400_000
SECOND_MS = 1000


class Grid(NamedTuple):
    """Sample times ``first, first + step, ...`` (unix seconds), ``size`` of them."""

    first: int
    step: int
    size: int

    @property
    def last(self) -> int:
        return self.first + (self.size - 1) * self.step

    def times(self) -> range:
        return range(self.first, self.first + self.size * self.step, self.step)


def is_midnight_split(end_ms: int, next_start_ms: int) -> bool:
    """True when an interval closed in the last second of a UTC day and the next one opened in the
    first second of the following day: the first system's artificial split at midnight (it closes
    at 23:59:59 and reopens at 00:00:00, losing that second)."""
    day = end_ms // DAY_MS
    return (
        end_ms - day * DAY_MS >= DAY_MS - SECOND_MS
        and next_start_ms // DAY_MS == day + 1
        and next_start_ms % DAY_MS < SECOND_MS
    )


def merge_midnight_splits(intervals: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """One computer's (start_ms, end_ms) intervals, sorted and not overlapping, with each pair split
    at a UTC midnight joined into one: ``[(s, 23:59:59), (00:00:00, e)]`` -> ``[(s, e)]``."""
    pending: tuple[int, int] | None = None
    for start, end in intervals:
        if pending is not None:
            if is_midnight_split(pending[1], start):
                pending = (pending[0], end)
                continue
            yield pending
        pending = (start, end)
    if pending is not None:
        yield pending


def grid_around(first_ms: int, last_ms: int, step_s: int) -> Grid:
    """The clock-aligned grid from the last point before ``first_ms`` to the first point after
    ``last_ms``: the recorded span plus one sample on each side, which are off (nothing was on
    before the first recorded instant, and the dump ends at the last)."""
    step_ms = step_s * SECOND_MS
    first = (first_ms - 1) // step_ms * step_s
    last = last_ms // step_ms * step_s + step_s
    return Grid(first, step_s, (last - first) // step_s + 1)


def states_on_grid(grid: Grid, intervals: Iterable[tuple[int, int]]) -> list[int]:
    """1 for each grid time inside an interval [start_ms, end_ms), else 0."""
    states = [0] * grid.size
    origin_ms, step_ms = grid.first * SECOND_MS, grid.step * SECOND_MS
    for start, end in intervals:
        low = max(-(-(start - origin_ms) // step_ms), 0)  # the first grid index at or after start
        high = min(-(-(end - origin_ms) // step_ms), grid.size)  # the first at or after end
        if high > low:
            states[low:high] = [1] * (high - low)
    return states
