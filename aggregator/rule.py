"""The nearest-sample rule over one host's samples: on-time, observed time, and state at an instant.

Samples are two parallel sequences: ``times`` (unix seconds, strictly increasing) and ``states``
(True = up). Every function raises ValueError when the times are not strictly increasing, the
sequences differ in length, or ``hold`` is negative.

At an instant τ the host is on when the sample nearest to τ says up and lies no farther than
``hold`` from τ; when no sample lies within ``hold``, τ is unobserved. So sample i owns the
interval from the midpoint with its predecessor to the midpoint with its successor, clipped to
[t_i - hold, t_i + hold]. Durations do not depend on which side owns a single instant; only
``state_at`` does, and it gives an exact midpoint to the earlier sample.

Runs. ``per_bucket``, ``state_at`` and ``check_samples`` also take ``lasts``: then entry i stands for a
run of samples from ``times[i]`` to ``lasts[i]`` (inclusive), all in state ``states[i]``, no two
consecutive ones of it more than ``2 * hold`` apart (the samples inside need not be given). Runs
follow each other: ``times[i] <= lasts[i] < times[i + 1]``. Without ``lasts`` every sample is a run
of one. The figures of runs equal those of the samples they stand for:

- Two consecutive samples a < b own touching intervals exactly when ``b - a <= 2 * hold``: then
  their midpoint lies within hold of both, so a's interval ends and b's begins at it. Inside a run every
  step is such a step and keeps the state, so the run's samples together own one interval in one
  state, from its first sample's low end (set by ``times[i]``, the last sample before it and hold)
  to its last sample's high end (set by ``lasts[i]``, the first sample after it and hold): exactly
  the interval ``_owned`` gives the run. Every bucket sum is a sum of the lengths of these
  intervals' parts, so on- and observed time are the same sums, grouped differently.
- Grouping changes no bit when the arithmetic is exact: with whole-second times (as both stores
  keep them) and ``hold`` a multiple of 1/1024 s, every end point, midpoint and day edge is a
  multiple of 1/1024 s below 2**32 s, and every difference and sum of them is exact in a float.
  (With another hold, such as 300.1 s, the ends at gaps are rounded, and a figure could differ in its
  last bits: far below a microsecond.)
- ``state_at`` inside a run is the run's state (some sample of it lies within hold, and every
  nearest one has its state); between runs the nearest samples are ``lasts[i]`` and
  ``times[i + 1]``, as between single samples.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from operator import lt
from typing import NamedTuple

_AFTER_LAST = (float("inf"),)


class Tally(NamedTuple):
    """Seconds within one span [start, stop): on, observed, and on inside the given sub-spans."""

    on: float
    observed: float
    on_within: float


def _check_shape(
    times: Sequence[float], states: Sequence[bool], hold: float, lasts: Sequence[float] | None = None
) -> None:
    if len(times) != len(states):
        raise ValueError(f"{len(times)} sample times but {len(states)} states")
    if lasts is not None and len(lasts) != len(times):
        raise ValueError(f"{len(times)} run starts but {len(lasts)} run ends")
    if hold < 0:
        raise ValueError(f"hold must not be negative, got {hold}")


def check_samples(
    times: Sequence[float], states: Sequence[bool], hold: float, lasts: Sequence[float] | None = None
) -> None:
    """Raise ValueError unless the samples (or runs, with ``lasts``) and ``hold`` can be used by the rule."""
    _check_shape(times, states, hold, lasts)
    if not all(map(lt, times if lasts is None else lasts, islice(times, 1, None))):
        raise ValueError("sample times must be strictly increasing")
    if lasts is not None and any(map(lt, lasts, times)):
        raise ValueError("a run must not end before it starts")


def _owned(
    times: Sequence[float], states: Sequence[bool], hold: float, lasts: Sequence[float] | None = None
) -> Iterator[tuple[float, float, bool]]:
    """(low, high, up) for each sample, or for each run with ``lasts`` (its last sample on the high
    side); checks the order on the way, so callers need not. One loop for both: a sample is a run that
    ends where it starts, so the loop reads only each entry's end, and the samples' path (the hot
    one) carries nothing for runs but the one check of ``lasts`` up front."""
    _check_shape(times, states, hold, lasts)
    if not times:
        return
    if lasts is None:
        lasts = times
    elif any(map(lt, lasts, times)):
        raise ValueError("a run must not end before it starts")
    low = times[0] - hold
    for last, following, up in zip(lasts, chain(islice(times, 1, None), _AFTER_LAST), states, strict=True):
        if following <= last:
            raise ValueError("sample times must be strictly increasing")
        midpoint = (last + following) / 2
        high = last + hold
        if midpoint < high:
            high = midpoint
        yield low, high, up
        low = following - hold
        if midpoint > low:
            low = midpoint


def covered_intervals(times: Sequence[float], states: Sequence[bool], hold: float) -> list[tuple[float, float, bool]]:
    """The interval (low, high) each sample owns, with its state; one entry per sample, in order.

    The intervals are disjoint and increasing; gaps between them are unobserved. With hold 0 every
    interval is empty (low == high).
    """
    return list(_owned(times, states, hold))


class Buckets(NamedTuple):
    """Seconds on and observed in each bucket [edges[i], edges[i + 1]) of a sorted partition."""

    on: list[float]
    observed: list[float]


def per_bucket(
    times: Sequence[float],
    states: Sequence[bool],
    hold: float,
    edges: Sequence[float],
    lasts: Sequence[float] | None = None,
) -> Buckets:
    """On-time and observed time in each bucket of the partition ``edges`` (strictly increasing;
    n + 1 edges make n buckets, and time outside [edges[0], edges[-1]) counts nowhere); of runs
    with ``lasts`` (see the module's docstring).

    One pass over the samples, O(n + len(edges)): an owned interval that crosses an edge is split
    there. This is the one mechanism behind a day's runtime, on-time within opening hours, the
    hourly rows and tariff-priced energy: each is a sum over buckets.
    """
    count = len(edges) - 1
    on = [0.0] * max(count, 0)
    observed = [0.0] * max(count, 0)
    if count <= 0:
        check_samples(times, states, hold, lasts)
        return Buckets(on, observed)
    start, stop = edges[0], edges[-1]
    index = 0
    boundary = edges[1]
    bucket_on = bucket_observed = 0.0  # the current bucket's sums, kept in locals: the loop is the hot path
    for low, high, up in _owned(times, states, hold, lasts):
        if low < start:
            low = start
        if high > stop:
            high = stop
        if high <= low:
            continue
        if boundary <= low:
            on[index] += bucket_on
            observed[index] += bucket_observed
            bucket_on = bucket_observed = 0.0
            while boundary <= low:  # owned intervals increase: buckets left behind are done
                index += 1
                boundary = edges[index + 1]
        while boundary < high:  # the interval crosses an edge: its part up to the edge is this bucket's
            observed[index] += bucket_observed + boundary - low
            on[index] += bucket_on + (boundary - low if up else 0.0)
            bucket_on = bucket_observed = 0.0
            low = boundary
            index += 1
            boundary = edges[index + 1]
        bucket_observed += high - low
        if up:
            bucket_on += high - low
    on[index] += bucket_on
    observed[index] += bucket_observed
    return Buckets(on, observed)


def tally(
    times: Sequence[float],
    states: Sequence[bool],
    hold: float,
    start: float,
    stop: float,
    spans: Sequence[tuple[float, float]] = (),
) -> Tally:
    """On-time and observed time within [start, stop), and on-time within ``spans`` ∩ [start, stop).

    ``spans`` must be sorted and non-overlapping. ``per_bucket`` over the partition the spans cut
    [start, stop) into.
    """
    edges = [start]
    inside: list[bool] = []
    for span_start, span_stop in spans:
        span_start, span_stop = max(span_start, start), min(span_stop, stop)
        if span_stop <= span_start:
            continue
        if span_start > edges[-1]:
            edges.append(span_start)
            inside.append(False)
        edges.append(span_stop)
        inside.append(True)
    if stop > edges[-1]:
        edges.append(stop)
        inside.append(False)
    if stop <= start:
        edges, inside = [], []
    seconds = per_bucket(times, states, hold, edges)
    on_within = sum(on for on, within in zip(seconds.on, inside, strict=True) if within)
    return Tally(sum(seconds.on), sum(seconds.observed), on_within)


def on_and_observed(
    times: Sequence[float], states: Sequence[bool], hold: float, start: float, stop: float
) -> tuple[float, float]:
    """Seconds on and seconds observed within [start, stop)."""
    result = tally(times, states, hold, start, stop)
    return result.on, result.observed


def on_within(
    times: Sequence[float], states: Sequence[bool], hold: float, spans: Sequence[tuple[float, float]]
) -> float:
    """Seconds on within the union of sorted, non-overlapping spans [start, stop)."""
    if not spans:
        check_samples(times, states, hold)
        return 0.0
    return tally(times, states, hold, spans[0][0], spans[-1][1], spans).on_within


def state_at(
    times: Sequence[float],
    states: Sequence[bool],
    hold: float,
    instant: float,
    lasts: Sequence[float] | None = None,
) -> bool | None:
    """True (on), False (off) or None (unobserved) at one instant; of runs with ``lasts``.

    A sample exactly ``hold`` away still counts. At an exact midpoint between two samples the
    earlier one decides: a state holds until the midpoint inclusive, so a change of state takes
    effect just after it.
    """
    check_samples(times, states, hold, lasts)
    ends = times if lasts is None else lasts
    index = bisect_left(times, instant)  # times[index - 1] < instant <= times[index]
    if index > 0 and instant <= ends[index - 1]:
        return bool(states[index - 1])  # inside a run
    nearest = distance = None
    if index < len(times):
        nearest, distance = index, times[index] - instant
    if index > 0 and (distance is None or instant - ends[index - 1] <= distance):
        nearest, distance = index - 1, instant - ends[index - 1]
    if nearest is None or distance is None or distance > hold:
        return None
    return bool(states[nearest])
