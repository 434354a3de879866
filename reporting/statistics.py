"""Week-level intervals and p-values that allow for neighbouring weeks being alike: pure arithmetic.

A daily series (a pool's outcome, or its gap to what its controls predict) is cut into weeks; a
week carries the mean of its days and their number. The report's assumption is that weeks are the
units, independent apart from the likeness of neighbouring weeks; daily persistence (a busy week
tends to follow a busy week) is what breaks plain week-cluster intervals (a simulation with 8 + 8
weeks and day-to-day persistence 0.9 covered 85 %). So the weeks are modelled as an AR(1) series
around one mean per period (the baseline and the phase), weeks ``d`` apart correlating ``rho ** d``:

- ``rho`` is the lag-one autocorrelation of weekly means, measured on overlapping 7-day means (a
  week starting on every day, which uses every alignment and leaves no weekday rhythm behind),
  pooled over several series (the treated pool's gap and its controls' residuals), with Kendall's
  small-sample correction (1 + 3 rho) / n for n weeks, and kept between 0 and 0.95, so an interval is
  never narrower than with independent weeks; a rho from a few short series is uncertain, and the
  correction errs on the wide side;
- the series' variance is the generalised-least-squares one at that rho, the variance of an estimate
  (a contrast of week means) follows from the AR(1) correlation, and the interval and p-value use the
  t distribution with the AR-adjusted effective number of weeks, n (1 - rho) / (1 + rho), minus the
  means fitted, as degrees of freedom.

The t distribution is computed here (the regularised incomplete beta function by its continued
fraction), so the report needs NumPy only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

LEVEL = 0.95
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

MIN_WEEKS = 2  # fewer weeks in a period: no interval and no p
MAX_RHO = 0.95
MIN_WINDOW_DAYS = 3  # an overlapping week counts when it holds at least this many days (--days weekdays: 5)


class Interval(NamedTuple):
    """An estimate and its 95 % interval; low and high are None when there is none (too few weeks)."""

    estimate: float
    low: float | None
    high: float | None


class Weeks(NamedTuple):
    """A daily series in weeks, in time order: the week's number, the mean of its days, their number,
    and whether it lies in the second period (the phase; all False for a series of one period)."""

    number: Ints
    mean: Floats
    days: Floats
    after: Bools

    @property
    def size(self) -> int:
        return len(self.number)

    @property
    def periods(self) -> int:
        return 2 if bool(self.after.any()) and not bool(self.after.all()) else 1

    def design(self) -> Floats:
        if self.periods == 1:
            return np.ones((self.size, 1))
        return np.stack([~self.after, self.after], axis=1).astype(np.float64)


class Spread(NamedTuple):
    """The week-level model of one series: autocorrelation used, week variance, and the t's degrees of freedom."""

    rho: float  # the autocorrelation of neighbouring weeks used (likelihood mean over 0..0.95)
    variance: float  # of one week's mean around its period's mean
    effective_weeks: float  # n (1 - rho) / (1 + rho)
    df: float  # effective weeks minus the means fitted, at least 1


class Test(NamedTuple):
    """An estimate with its interval, standard error, p-value and degrees of freedom (None: too few weeks)."""

    estimate: float
    low: float | None
    high: float | None
    se: float | None
    p: float | None
    df: float | None


def week_number(ordinal: int, origin: int) -> int:
    """The 7-day block of a day (a date's ordinal) counted from ``origin`` (block 0 starts there; before it, < 0)."""
    return (ordinal - origin) // 7


def weeks_of(offsets: Sequence[int] | Ints, values: Sequence[float] | Floats, split: int | None = 0) -> Weeks:
    """The weeks of a daily series; ``offsets`` are days from an origin on which week 0 starts (the phase's
    start, or a Monday). With ``split`` the weeks from that number on are the second period."""
    days = np.asarray(offsets, dtype=np.int64)
    data = np.asarray(values, dtype=np.float64)
    number = np.floor_divide(days, 7)
    index, inverse = np.unique(number, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(index)).astype(np.float64)
    sums = np.bincount(inverse, weights=data, minlength=len(index))
    after = index >= split if split is not None else np.zeros(len(index), dtype=bool)
    return Weeks(index.astype(np.int64), sums / np.maximum(counts, 1.0), counts, after)


def _whiten(weeks: Weeks, rhos: Floats) -> tuple[Floats, Floats, Floats]:
    """The series and its design multiplied by the inverse Cholesky factor of the AR(1) correlation, for each rho
    (rows), and log det of the correlation. Weeks d apart correlate rho ** d (gaps of missing weeks allowed)."""
    y, x = weeks.mean, weeks.design()
    distance = np.diff(weeks.number).astype(np.float64)
    r = rhos[:, None] ** distance[None, :]
    scale = np.sqrt(1.0 - r * r)
    white_y = np.empty((len(rhos), weeks.size))
    white_y[:, 0] = y[0]
    white_y[:, 1:] = (y[None, 1:] - r * y[None, :-1]) / scale
    white_x = np.empty((len(rhos), weeks.size, x.shape[1]))
    white_x[:, 0, :] = x[0]
    white_x[:, 1:, :] = (x[None, 1:, :] - r[:, :, None] * x[None, :-1, :]) / scale[:, :, None]
    return white_y, white_x, np.log(1.0 - r * r).sum(axis=1)


def _residual_squares(weeks: Weeks, rhos: Floats) -> tuple[Floats, Floats, Floats]:
    """GLS residual sum of squares per rho, log det of the correlation, log det of X' R^-1 X."""
    white_y, white_x, log_det = _whiten(weeks, rhos)
    gram = np.einsum("gni,gnj->gij", white_x, white_x)
    beta = np.linalg.solve(gram, np.einsum("gni,gn->gi", white_x, white_y)[..., None])[..., 0]
    residual = white_y - np.einsum("gni,gi->gn", white_x, beta)
    return (residual * residual).sum(axis=1), log_det, np.linalg.slogdet(gram)[1]


class Persistence(NamedTuple):
    """The pooled lag-one autocorrelation of weekly means: as measured, corrected, and how many weeks it rests on."""

    raw: float
    rho: float  # corrected for short series and kept in 0 .. MAX_RHO: the one intervals use
    weeks: float  # the mean length of the series in weeks (n of the correction)


def persistence(series: Sequence[Floats]) -> Persistence:
    """``series`` are daily values on consecutive days (NaN: no value), each around its own mean(s) already.

    Each day starts an overlapping week (the mean of the values among it and the next 6 days, when at
    least MIN_WINDOW_DAYS have one); rho is sum(w_t w_t+7) / sqrt(sum w_t^2 sum w_t+7^2) over all series'
    pairs of weeks 7 days apart, then rho + (1 + 3 rho) / n (Kendall), n the series' mean length in weeks.
    No pair at all gives 0 measured (the correction still applies).
    """
    products = first = second = 0.0
    lengths = []
    for values in series:
        present = np.isfinite(values)
        if present.sum() < 2:
            continue
        lengths.append(float(present.sum()) / 7.0)
        if len(values) < 14:
            continue
        kernel = np.ones(7)
        sums = np.convolve(np.where(present, values, 0.0), kernel, mode="valid")
        counts = np.convolve(present.astype(np.float64), kernel, mode="valid")
        means = np.where(counts >= MIN_WINDOW_DAYS, sums / np.maximum(counts, 1.0), np.nan)
        early, late = means[:-7], means[7:]
        both = np.isfinite(early) & np.isfinite(late)
        products += float((early[both] * late[both]).sum())
        first += float((early[both] ** 2).sum())
        second += float((late[both] ** 2).sum())
    raw = products / math.sqrt(first * second) if first > 0 and second > 0 else 0.0
    weeks = sum(lengths) / len(lengths) if lengths else 1.0
    corrected = raw + (1.0 + 3.0 * raw) / max(weeks, 1.0)
    return Persistence(raw, min(max(corrected, 0.0), MAX_RHO), weeks)


def spread(weeks: Weeks, rho: float) -> Spread | None:
    """The series' week variance at ``rho`` (REML) and its degrees of freedom; None with fewer than MIN_WEEKS
    weeks in a period, or no week left over for a variance."""
    periods = weeks.periods
    if weeks.size - periods < 1:
        return None
    if periods == 2 and min(int(weeks.after.sum()), int((~weeks.after).sum())) < MIN_WEEKS:
        return None
    if periods == 1 and weeks.size < MIN_WEEKS:
        return None
    squares = _residual_squares(weeks, np.array([rho]))[0]
    effective = weeks.size * (1.0 - rho) / (1.0 + rho)
    return Spread(rho, float(squares[0]) / (weeks.size - periods), effective, max(1.0, effective - periods))


def correlation(number: Ints, rho: float) -> Floats:
    distance = np.abs(number[:, None] - number[None, :]).astype(np.float64)
    return np.asarray(rho**distance, dtype=np.float64)


def contrast_se(weeks: Weeks, model: Spread, weights: Floats) -> float:
    """The standard error of sum(weights * week means) under the model."""
    return float(contrast_ses(weeks, model, weights[None, :])[0])


def contrast_ses(weeks: Weeks, model: Spread, weights: Floats) -> Floats:
    """The standard errors of several contrasts at once: one per row of ``weights``."""
    quadratic = np.einsum("ij,jk,ik->i", weights, correlation(weeks.number, model.rho), weights)
    return np.asarray(np.sqrt(np.maximum(0.0, model.variance * quadratic)), dtype=np.float64)


def period_weights(weeks: Weeks) -> Floats:
    """The weights of mean(phase days) - mean(baseline days) on the week means (each week by its days)."""
    after, days = weeks.after, weeks.days
    return np.asarray(np.where(after, days / days[after].sum(), -days / days[~after].sum()), dtype=np.float64)


def mean_weights(weeks: Weeks) -> Floats:
    return np.asarray(weeks.days / weeks.days.sum(), dtype=np.float64)


def t_test(estimate: float, se: float | None, df: float | None) -> Test:
    """The 95 % t interval and the two-sided p of ``estimate`` against 0."""
    if se is None or df is None:
        return Test(estimate, None, None, None, None, None)
    half = t_quantile(df) * se
    if se == 0.0:
        p = 1.0 if estimate == 0.0 else 0.0
    else:
        p = t_two_sided(abs(estimate) / se, df)
    return Test(estimate, estimate - half, estimate + half, se, p, df)


# --- the t distribution ---------------------------------------------------------------------------------------


def t_two_sided(t: float, df: float) -> float:
    """P(|T| >= t) for Student's t with ``df`` degrees of freedom (df > 0, any real)."""
    if t <= 0.0:
        return 1.0
    return _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


@functools.lru_cache(maxsize=4096)
def _quantile(df_milli: int, level_milli: int) -> float:
    """Newton's method on P(|T| >= t) from the normal quantile, kept inside a bracket that bisection narrows
    whenever a step would leave it."""
    df, tail = df_milli / 1000.0, 1.0 - level_milli / 1000.0
    scale = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    low, high = 0.0, 2.0
    while t_two_sided(high, df) > tail:
        low, high = high, high * 2.0
    t = min(max(1.96 + (1.96**3 + 1.96) / (4 * df), low), high)
    for _ in range(100):
        error = t_two_sided(t, df) - tail  # decreasing in t
        if abs(error) < 1e-13:
            break
        if error > 0:
            low = t
        else:
            high = t
        density = scale * (1 + t * t / df) ** (-(df + 1) / 2)
        step = t + error / (2.0 * density)
        t = step if low < step < high else (low + high) / 2.0
    return t


def t_quantile(df: float, level: float = LEVEL) -> float:
    """The t with P(|T| >= t) = 1 - level; df rounded down to a thousandth (the wider interval)."""
    return _quantile(max(1, math.floor(df * 1000.0)), round(level * 1000.0))


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (Numerical Recipes' continued fraction)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def _continued_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h
