"""The nearest-sample rule over one host's samples: on-time, observed time, and state at an instant.

Samples are two parallel sequences sorted by time: ``times`` (unix seconds, unique) and
``states`` (True = up). Sample i speaks for the instants nearer to it than to any other sample,
up to ``hold`` seconds away: the interval from the midpoint with its predecessor to the midpoint
with its successor, clipped to [t_i - hold, t_i + hold]. Instants no sample speaks for are
unobserved. At an exact midpoint the earlier sample speaks (it only matters for ``state_at``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Sequence


def owned_interval(times: Sequence[float], index: int, hold: float) -> tuple[float, float]:
    """The interval sample ``index`` speaks for."""
    t = times[index]
    low, high = t - hold, t + hold
    if index > 0:
        low = max(low, (times[index - 1] + t) / 2)
    if index + 1 < len(times):
        high = min(high, (t + times[index + 1]) / 2)
    return low, high


def on_and_observed(times: Sequence[float], states: Sequence[bool], hold: float,
                    start: float, stop: float) -> tuple[float, float]:
    """Seconds on and seconds observed within [start, stop)."""
    if stop <= start or not times:
        return 0.0, 0.0
    # Only samples within hold of the span can speak for any of it.
    first = max(bisect_left(times, start - hold) - 1, 0)
    last = min(bisect_right(times, stop + hold) + 1, len(times))
    on = observed = 0.0
    previous = times[first - 1] if first > 0 else None
    for index in range(first, last):
        t = times[index]
        low = t - hold
        if previous is not None and (previous + t) / 2 > low:
            low = (previous + t) / 2
        high = t + hold
        if index + 1 < len(times) and (t + times[index + 1]) / 2 < high:
            high = (t + times[index + 1]) / 2
        previous = t
        if low < start:
            low = start
        if high > stop:
            high = stop
        if high > low:
            observed += high - low
            if states[index]:
                on += high - low
    return on, observed


def on_within(times: Sequence[float], states: Sequence[bool], hold: float,
              spans: Sequence[tuple[float, float]]) -> float:
    """Seconds on within the union of non-overlapping spans [start, stop)."""
    return sum(on_and_observed(times, states, hold, start, stop)[0] for start, stop in spans)


def state_at(times: Sequence[float], states: Sequence[bool], hold: float, instant: float) -> bool | None:
    """On (True), off (False) or unobserved (None) at one instant; ties go to the earlier sample."""
    index = bisect_left(times, instant)
    best = None
    if index < len(times):
        best = index
    if index > 0 and (best is None or instant - times[index - 1] <= times[best] - instant):
        best = index - 1
    if best is None or abs(times[best] - instant) > hold:
        return None
    return bool(states[best])
