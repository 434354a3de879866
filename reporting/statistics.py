"""Block bootstrap over calendar weeks and week-block permutation tests: pure arithmetic on daily series.

A daily series is cut into blocks, one per calendar week (Monday to Sunday); a block carries the
sum and the number of its days. Resampling whole weeks keeps the weekly rhythm and the
correlation of neighbouring days inside each resample. A mean is the sum of the blocks' sums over
the sum of their day counts, so a week with fewer kept days weighs less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

SEED = 20261101  # fixed: the same rows give the same report
RESAMPLES = 2000
PERMUTATIONS = 2000
LEVEL = 0.95

Floats = npt.NDArray[np.float64]


class Blocks(NamedTuple):
    """A daily series in calendar-week blocks: per week, the sum of the values and the number of days."""

    sums: Floats
    counts: Floats

    @property
    def days(self) -> int:
        return int(self.counts.sum())

    def mean(self) -> float:
        return float(self.sums.sum() / self.counts.sum())


class Interval(NamedTuple):
    estimate: float
    low: float
    high: float


def week_of(day: dt.date) -> int:
    """The calendar week (Monday to Sunday) as a number: 0001-01-01 was a Monday, ordinal 1."""
    return (day.toordinal() - 1) // 7


def weekly_blocks(days: Sequence[dt.date], values: Sequence[float]) -> Blocks:
    """The series' weeks in time order; weeks without a day are not blocks."""
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for day, value in zip(days, values, strict=True):
        week = week_of(day)
        sums[week] = sums.get(week, 0.0) + value
        counts[week] = counts.get(week, 0) + 1
    weeks = sorted(sums)
    return Blocks(np.array([sums[w] for w in weeks], dtype=np.float64),
                  np.array([counts[w] for w in weeks], dtype=np.float64))


def _resampled_means(blocks: Blocks, resamples: int, rng: np.random.Generator) -> Floats:
    """Means of ``resamples`` series, each made of as many weeks as the series has, drawn with replacement.

    The spread of resampled means around the mean is widened by sqrt(k / (k - 1)) for k weeks: drawing
    k of k blocks underestimates the variance by the factor (k - 1) / k, which matters with the few
    weeks a study phase has (8 weeks: intervals 7 % too narrow, 92 % instead of 95 % coverage).
    """
    weeks = len(blocks.sums)
    picks = rng.integers(0, weeks, size=(resamples, weeks))
    means: Floats = blocks.sums[picks].sum(axis=1) / blocks.counts[picks].sum(axis=1)
    if weeks > 1:
        centre = blocks.mean()
        means = centre + (means - centre) * np.sqrt(weeks / (weeks - 1))
    return means


def _percentiles(estimate: float, draws: Floats) -> Interval:
    tail = (1.0 - LEVEL) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(estimate, float(low), float(high))


def bootstrap_mean(blocks: Blocks, resamples: int = RESAMPLES, seed: int = SEED) -> Interval:
    """The series' mean and its percentile interval from resampled weeks."""
    rng = np.random.default_rng(seed)
    return _percentiles(blocks.mean(), _resampled_means(blocks, resamples, rng))


def bootstrap_difference(before: Blocks, after: Blocks, resamples: int = RESAMPLES, seed: int = SEED) -> Interval:
    """mean(after) - mean(before), weeks resampled within each period, and its percentile interval."""
    rng = np.random.default_rng(seed)
    draws = _resampled_means(after, resamples, rng) - _resampled_means(before, resamples, rng)
    return _percentiles(after.mean() - before.mean(), draws)


def permutation_p(before: Blocks, after: Blocks, permutations: int = PERMUTATIONS, seed: int = SEED) -> float:
    """Two-sided p-value of mean(after) - mean(before) when the weeks are exchangeable between the periods.

    Each permutation deals the weeks of both periods out anew, as many to "after" as it had;
    p = (1 + permutations at least as extreme) / (1 + permutations).
    """
    sums = np.concatenate([before.sums, after.sums])
    counts = np.concatenate([before.counts, after.counts])
    in_after = np.zeros(len(sums), dtype=bool)
    in_after[len(before.sums):] = True
    observed = abs(after.mean() - before.mean())
    rng = np.random.default_rng(seed)
    labels = rng.permuted(np.tile(in_after, (permutations, 1)), axis=1)
    after_sum, after_count = labels @ sums, labels @ counts
    before_sum, before_count = sums.sum() - after_sum, counts.sum() - after_count
    statistics = np.abs(after_sum / after_count - before_sum / before_count)
    # A tolerance, so that a permutation giving the observed value up to rounding counts as "as extreme".
    extreme = int(np.count_nonzero(statistics >= observed - 1e-12 * max(1.0, observed)))
    return (1 + extreme) / (1 + permutations)
