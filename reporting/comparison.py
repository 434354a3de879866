"""One treated pool's phase against its controls: the effect, its interval, the weekly gaps and the checks.

Every figure here comes from the gap series of the treated pool: on each of its days, its outcome
minus its controls' day effect (``panel.fit_two_way`` on the controls' days of the window). The
effect is the gap's mean over the phase days minus its mean over the baseline days: the treated
pool's own level cancels, and so does whatever the day brings to every pool. Weeks are 7-day blocks
counted from the pool's own start (week 0 is its first week in the phase, week -1 the last of its
baseline), so no week holds days of both periods, with staggered starts too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from . import statistics as stats
from .panel import Floats, fit_two_way

Series = Mapping[dt.date, float]  # a pool's kept days with the outcome


class Gap(NamedTuple):
    """The treated pool's gap to its controls per day, in time order (days without a control value left out)."""

    offsets: stats.Ints  # days from the pool's start (negative in the baseline)
    values: Floats
    after: stats.Bools  # the day is in the phase (else in the baseline)
    without_controls: int  # the pool's days on which no control had a value
    own_daily: Floats  # the gap around its period means on consecutive days (NaN: none), for the persistence
    control_daily: list[Floats]  # each control's residuals on the same days (with at least two controls)


class WeekGap(NamedTuple):
    """One week of the event study: the gap's mean that week minus its baseline mean, with its interval."""

    pool: str
    phase: str
    outcome: str
    week: int  # from the pool's start: ..., -2, -1 (baseline), 0, 1, ... (phase)
    first: dt.date  # the week's first day
    days: int
    gap: float
    ci_low: float | None
    ci_high: float | None


class Check(NamedTuple):
    """A check of the comparison's assumptions on the baseline; ``passed`` False puts a warning on the effect."""

    pool: str
    phase: str
    name: str  # PRE_TREND | AUTOCORRELATION
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    passed: bool
    detail: str


class Comparison(NamedTuple):
    test: stats.Test
    days: int
    baseline_days: int
    weeks: int
    baseline_weeks: int
    spread: stats.Spread | None
    controls: tuple[str, ...]  # those with a value on a day of the window
    without_controls: int
    week_gaps: list[WeekGap]
    checks: list[Check]


PRE_TREND = "pre-trend"
AUTOCORRELATION = "week independence"
MIN_PRE_TREND_WEEKS = 4  # the placebo split needs 2 + 2 baseline weeks


def gap_series(
    treated: Series,
    controls: Sequence[Series],
    window: Sequence[dt.date],
    phase_dates: frozenset[dt.date],
    start: dt.date,
) -> Gap | None:
    """The gap of ``treated`` to the controls' day effects on the window's dates; None without controls' values."""
    index = {day: column for column, day in enumerate(window)}
    matrix = np.full((len(controls), len(window)), np.nan)
    for row, series in enumerate(controls):
        for day, value in series.items():
            column = index.get(day)
            if column is not None:
                matrix[row, column] = value
    own = np.array([treated.get(day, np.nan) for day in window])
    origin = start.toordinal()
    offsets = np.array([day.toordinal() - origin for day in window], dtype=np.int64)
    after = np.array([day in phase_dates for day in window], dtype=bool)
    return gap_of(own, matrix, offsets, after)


def gap_of(own: Floats, controls: Floats, offsets: stats.Ints, after: stats.Bools) -> Gap | None:
    """The gap on arrays: the treated pool's values (NaN: no value), the controls' (pools × days, NaN likewise),
    each day's offset from the start and whether it is in the phase; None when no control has a value."""
    present = np.isfinite(controls)
    if not present.any():
        return None
    fit = fit_two_way(controls, present)
    gap = own - fit.day
    has_own = np.isfinite(own)
    usable = np.isfinite(gap)
    # A control's residuals around the pool and day effects carry the week-to-week likeness too; with a single
    # control they are zero (the day effects are that control), so they need two controls to say anything.
    residuals = controls - fit.pool[:, None] - fit.day[None, :]
    with_values = [row for row in range(len(controls)) if present[row].any()]
    grid = offsets - offsets.min() if len(offsets) else offsets
    length = int(grid.max()) + 1 if len(grid) else 0

    def on_grid(values: Floats) -> Floats:
        daily = np.full(length, np.nan)
        daily[grid] = values
        return daily

    own_daily = np.where(usable, gap, np.nan)
    for period in (after, ~after):
        chosen = usable & period
        if chosen.any():
            own_daily[chosen] -= gap[chosen].mean()
    return Gap(
        offsets[usable],
        gap[usable],
        after[usable],
        int((has_own & ~usable).sum()),
        on_grid(own_daily),
        [on_grid(np.where(present[row], residuals[row], np.nan)) for row in with_values]
        if len(with_values) >= 2
        else [],
    )


def effect_of(gap: Gap) -> float | None:
    after = gap.after
    if not after.any() or after.all():
        return None
    return float(gap.values[after].mean() - gap.values[~after].mean())


def compare(
    pool: str, phase: str, outcome: str, gap: Gap, start: dt.date, controls: tuple[str, ...]
) -> Comparison | None:
    """The effect with its t interval (AR(1) weeks, rho pooled over the pool and its controls), the weekly gaps
    and the two checks; None when a period has no day."""
    estimate = effect_of(gap)
    if estimate is None:
        return None
    weeks = stats.weeks_of(gap.offsets, gap.values, split=0)
    model = stats.spread(weeks, stats.persistence([gap.own_daily, *gap.control_daily]).rho)
    test = test_of(estimate, weeks, model)
    checks = []
    if model is not None:
        # Under the pre-trend check's null the pool's gap is as persistent as its controls' residuals: a drift in
        # its baseline would otherwise pass for persistence and hide itself.
        null = stats.spread(weeks, stats.persistence(gap.control_daily).rho) if gap.control_daily else model
        checks = _checks(pool, phase, weeks, model, null or model, stats.persistence([gap.own_daily]))
    return Comparison(
        test,
        int(gap.after.sum()),
        int((~gap.after).sum()),
        int(weeks.after.sum()),
        int((~weeks.after).sum()),
        model,
        controls,
        gap.without_controls,
        _week_gaps(pool, phase, outcome, weeks, model, start),
        checks,
    )


def test_of(estimate: float, weeks: stats.Weeks, model: stats.Spread | None) -> stats.Test:
    """The t-test of the phase-minus-baseline contrast of ``weeks`` (no interval without a model)."""
    se = None if model is None else stats.contrast_se(weeks, model, stats.period_weights(weeks))
    return stats.t_test(estimate, se, None if model is None else model.df)


def quick_test(gap: Gap) -> stats.Test | None:
    """The effect and its test alone (what `pinger plan` simulates), as ``compare`` makes them."""
    estimate = effect_of(gap)
    if estimate is None:
        return None
    weeks = stats.weeks_of(gap.offsets, gap.values, split=0)
    return test_of(estimate, weeks, stats.spread(weeks, stats.persistence([gap.own_daily, *gap.control_daily]).rho))


def _week_gaps(
    pool: str, phase: str, outcome: str, weeks: stats.Weeks, model: stats.Spread | None, start: dt.date
) -> list[WeekGap]:
    """Each week's gap minus the baseline's mean gap (the event study), with its interval when there is a model."""
    before = ~weeks.after
    base_weights = np.where(before, weeks.days / weeks.days[before].sum(), 0.0)
    base = float(base_weights @ weeks.mean)
    weights = np.eye(weeks.size) - base_weights[None, :]
    ses = None if model is None else stats.contrast_ses(weeks, model, weights)
    found = []
    for row in range(weeks.size):
        gap = float(weeks.mean[row]) - base
        test = stats.t_test(gap, None if ses is None else float(ses[row]), None if model is None else model.df)
        week = int(weeks.number[row])
        found.append(
            WeekGap(
                pool,
                phase,
                outcome,
                week,
                start + dt.timedelta(weeks=week),
                int(weeks.days[row]),
                gap,
                test.low,
                test.high,
            )
        )
    return found


def _checks(
    pool: str, phase: str, weeks: stats.Weeks, model: stats.Spread, null: stats.Spread, own: stats.Persistence
) -> list[Check]:
    """The pre-trend placebo (the baseline's later half against its earlier half, with ``null``: the controls'
    persistence) and the week-independence check (is the treated pool's own gap more persistent than the rho its
    interval allows for?)."""
    found = []
    before = np.flatnonzero(~weeks.after)
    if len(before) >= MIN_PRE_TREND_WEEKS:
        early, late = before[: len(before) // 2], before[len(before) // 2 :]
        weights = np.zeros(weeks.size)
        weights[late] = weeks.days[late] / weeks.days[late].sum()
        weights[early] = -weeks.days[early] / weeks.days[early].sum()
        test = stats.t_test(float(weights @ weeks.mean), stats.contrast_se(weeks, null, weights), null.df)
        passed = test.p is None or test.p >= 0.05
        found.append(
            Check(
                pool,
                phase,
                PRE_TREND,
                test.estimate,
                test.low,
                test.high,
                test.p,
                passed,
                f"the baseline's last {len(late)} weeks minus its first {len(early)}, in the gap to the controls"
                + (
                    ""
                    if passed
                    else ": the gap moved before the phase began, so the controls may not show what the pool would "
                    "have done without it"
                ),
            )
        )
    # The pool's own gap alone: more persistent than the rho used by more than two standard errors of a lag-one
    # autocorrelation from its weeks (Bartlett: sqrt((1 - rho^2) / n)) means its interval may be too narrow.
    margin = 2.0 * math.sqrt(max(1.0 - model.rho**2, 0.0) / max(own.weeks, 1.0))
    passed = own.rho <= model.rho + margin
    found.append(
        Check(
            pool,
            phase,
            AUTOCORRELATION,
            model.rho,
            None,
            None,
            None,
            passed,
            f"neighbouring weeks correlate {model.rho:.2f} (pooled over the pool's gap and its controls), so its "
            f"{weeks.size} weeks count as {model.effective_weeks:.1f} independent ones"
            + ("" if passed else f"; its own gap alone says {own.rho:.2f}, so its interval may be too narrow"),
        )
    )
    return found


def placebo_estimates(
    series: Mapping[str, Series],
    controls: Sequence[str],
    window: Sequence[dt.date],
    phase_dates: frozenset[dt.date],
    start: dt.date,
) -> list[tuple[str, float]]:
    """Each control as if it were treated on the treated pool's dates, against the other controls (Conley-Taber)."""
    found = []
    for pseudo in controls:
        others = [series[name] for name in controls if name != pseudo]
        gap = gap_series(series[pseudo], others, window, phase_dates, start) if others else None
        estimate = None if gap is None else effect_of(gap)
        if estimate is not None:
            found.append((pseudo, estimate))
    return found


def before_after(series: Series, phase_dates: frozenset[dt.date], start: dt.date) -> stats.Test | None:
    """The pool's own mean in the phase minus its mean in the baseline, with the same week model (its own rho)."""
    days = sorted(series)
    after = [day in phase_dates for day in days]
    if all(after) or not any(after):
        return None
    values = np.array([series[day] for day in days])
    mask = np.array(after)
    estimate = float(values[mask].mean() - values[~mask].mean())
    origin = start.toordinal()
    offsets = np.array([day.toordinal() - origin for day in days], dtype=np.int64)
    weeks = stats.weeks_of(offsets, values, split=0)
    daily = np.full(int(offsets.max() - offsets.min()) + 1, np.nan)
    daily[offsets - offsets.min()] = values - np.where(mask, values[mask].mean(), values[~mask].mean())
    model = stats.spread(weeks, stats.persistence([daily]).rho)
    se = None if model is None else stats.contrast_se(weeks, model, stats.period_weights(weeks))
    return stats.t_test(estimate, se, None if model is None else model.df)
