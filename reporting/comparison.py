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
    control_weeks: list[stats.Weeks]  # each control's residuals in the same weeks, one period (two controls or more)


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
    # control they are zero (the day effects are that control), so they need two controls to say anything. They are
    # untreated, so one mean each (their pool effect) is all that was fitted: no split at the phase's start.
    with_values = [row for row in range(len(controls)) if present[row].any()]
    control_weeks = []
    if len(with_values) >= 2:
        residuals = np.where(present, controls - fit.pool[:, None] - fit.day[None, :], 0.0)
        number, column = np.unique(np.floor_divide(offsets, 7), return_inverse=True)
        by_week = np.zeros((len(offsets), len(number)))
        by_week[np.arange(len(offsets)), column] = 1.0
        sums, counts = residuals @ by_week, present.astype(np.float64) @ by_week
        for row in with_values:
            kept = counts[row] > 0
            control_weeks.append(
                stats.Weeks(
                    number[kept].astype(np.int64),
                    sums[row, kept] / counts[row, kept],
                    counts[row, kept],
                    np.zeros(int(kept.sum()), dtype=bool),
                )
            )
    return Gap(offsets[usable], gap[usable], after[usable], int((has_own & ~usable).sum()), control_weeks)


class Persistences(NamedTuple):
    pooled: stats.Persistence  # the treated pool's gap and its controls' residuals: what intervals use
    controls: stats.Persistence  # the controls' residuals alone (the pre-trend check's null)
    own: stats.Persistence  # the treated pool's gap alone (the week-independence check)


def persistences(weeks: stats.Weeks, control_weeks: Sequence[stats.Weeks]) -> Persistences:
    """rho from the treated pool's gap (its weeks, two means) and its controls' residuals (one mean each), together
    and apart; k controls' residuals sum to about zero every day, so together they count as k - 1 series."""
    series = [stats.persistence_weeks(weeks)] + [stats.persistence_weeks(found) for found in control_weeks]
    curves = stats.profile_likelihoods(series)
    sizes = [found.size for found in series]
    share = (len(control_weeks) - 1) / len(control_weeks) if control_weeks else 0.0
    weights = [1.0] + [share] * len(control_weeks)
    return Persistences(
        stats.pooled(curves, sizes, weights),
        stats.pooled(curves[1:], sizes[1:], weights[1:]),
        stats.pooled(curves[:1], sizes[:1]),
    )


def pooled_persistence(weeks: stats.Weeks, control_weeks: Sequence[stats.Weeks]) -> stats.Persistence:
    """The rho intervals use: ``persistences(...).pooled``."""
    series = [stats.persistence_weeks(weeks)] + [stats.persistence_weeks(found) for found in control_weeks]
    share = (len(control_weeks) - 1) / len(control_weeks) if control_weeks else 0.0
    return stats.persistence(series, [1.0] + [share] * len(control_weeks))


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
    found = persistences(weeks, gap.control_weeks)
    model = stats.spread(weeks, found.pooled.rho, found.pooled.se)
    test = test_of(estimate, weeks, model)
    checks = []
    if model is not None:
        # Under the pre-trend check's null the pool's gap is as persistent as its controls' residuals: a drift in
        # its baseline would otherwise pass for persistence and hide itself.
        null = stats.spread(weeks, found.controls.rho, found.controls.se) if gap.control_weeks else model
        checks = _checks(pool, phase, weeks, model, null or model, found.own)
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
    return stats.contrast_test(estimate, weeks, model, stats.period_weights(weeks))


def quick_test(gap: Gap) -> stats.Test | None:
    """The effect and its test alone (what `pinger plan` simulates), as ``compare`` makes them."""
    estimate = effect_of(gap)
    if estimate is None:
        return None
    weeks = stats.weeks_of(gap.offsets, gap.values, split=0)
    pooled = pooled_persistence(weeks, gap.control_weeks)
    return test_of(estimate, weeks, stats.spread(weeks, pooled.rho, pooled.se))


def _week_gaps(
    pool: str, phase: str, outcome: str, weeks: stats.Weeks, model: stats.Spread | None, start: dt.date
) -> list[WeekGap]:
    """Each week's gap minus the baseline's mean gap (the event study), with its interval when there is a model."""
    before = ~weeks.after
    base_weights = np.where(before, weeks.days / weeks.days[before].sum(), 0.0)
    base = float(base_weights @ weeks.mean)
    weights = np.eye(weeks.size) - base_weights[None, :]
    ses, dfs = (None, None) if model is None else stats.contrast_spreads(weeks, model, weights)
    found = []
    for row in range(weeks.size):
        gap = float(weeks.mean[row]) - base
        test = stats.t_test(gap, None if ses is None else float(ses[row]), None if dfs is None else float(dfs[row]))
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
        test = stats.contrast_test(float(weights @ weeks.mean), weeks, null, weights)
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
    # The pool's own gap alone: more persistent than the pooled rho used by more than two standard errors of its own
    # estimate means its interval may be too narrow (the pool is unlike its controls).
    passed = own.rho <= model.rho + 2.0 * own.se
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
            f"neighbouring weeks correlate {model.rho:.2f} ± {model.rho_se:.2f} (pooled over the pool's gap and its "
            f"controls), so its {weeks.size} weeks count as {model.effective_weeks:.1f} independent ones"
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
    own = stats.persistence([stats.persistence_weeks(weeks)])
    return test_of(estimate, weeks, stats.spread(weeks, own.rho, own.se))
