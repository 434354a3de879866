"""Week-level intervals and p-values that allow for neighbouring weeks being alike: pure arithmetic.

A daily series (a pool's outcome, or its gap to what its controls predict) is cut into weeks; a
week carries the mean of its days and their number. The report's assumption is that weeks are the
units, independent apart from the likeness of neighbouring weeks; day-to-day persistence (a busy
week tends to follow a busy week) is what breaks plain week-cluster intervals (a simulation with
8 + 8 weeks and day-to-day persistence 0.9 covered 84 %). So the weeks are modelled as an AR(1)
series around one mean per period (the baseline and the phase), weeks ``d`` apart correlating
``rho ** d``, and the uncertainty about ``rho`` itself enters the degrees of freedom:

- ``rho`` is the restricted (residual) maximum likelihood estimate, REML (Patterson and Thompson),
  of the AR(1) correlation of the report's own weeks (the same 7-day blocks the estimate is made
  of), pooled over several series (the treated pool's gap around its two period means and each
  control's residuals around its one mean): the sum of their profile log-likelihoods, each series
  with its own variance, over a grid of ``rho`` from -0.95 to 0.95, refined by a parabola through
  the best grid point and its neighbours. REML accounts for the means fitted, which is what makes a
  lag-one autocorrelation of a few short series biased towards 0 or below; it is not clipped at 0,
  because a clip turns the noise of an estimate around 0 into positive persistence (and wider
  intervals) exactly where weeks are independent. A series may count for less than one: ``k``
  controls' residuals sum to about zero on every day, so together they carry the information of
  ``k - 1`` series (each has weight ``(k - 1) / k``);
- the standard error of ``rho`` is the curvature of that pooled profile log-likelihood at its
  maximum (at most that of a ``rho`` known only to lie in -1 .. 1);
- the series' variance is the REML one at ``rho``, the variance of an estimate (a contrast of week
  means) follows from the AR(1) correlation, and its degrees of freedom are Satterthwaite's: the
  weeks minus the means fitted when ``rho`` is known, fewer as far as the estimate's variance
  depends on the uncertain ``rho`` (2 / (2 / (n - p) + (d log V / d rho)^2 se(rho)^2)), as in the
  small-sample inference of mixed models (Giesbrecht and Burns; Kenward and Roger).

A weekly AR(1) is a working model. Weekly means of a day-to-day persistent process mixed with
week-level noise decay more slowly than an AR(1) with the same lag-one correlation, so with strong
persistence the intervals still run a little narrow (docs/report.md gives the simulated coverage).

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
RHO_LIMIT = 0.95  # rho is estimated in -RHO_LIMIT .. RHO_LIMIT (an AR(1) at 1 is no longer a stationary series)
RHO_GRID = np.linspace(-RHO_LIMIT, RHO_LIMIT, 39)  # steps of 0.05, refined by a parabola
MAX_RHO_VARIANCE = 1.0 / 3.0  # the variance of a rho known only to lie in -1 .. 1 (uniform)
MIN_PERSISTENCE_DAYS = 3  # a week enters the estimate of rho when it holds at least this many days


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
    """The week-level model of one series: the autocorrelation used and its standard error, the week variance, and
    that variance's degrees of freedom at a known rho (a contrast's own df: ``contrast_dfs``)."""

    rho: float  # the autocorrelation of neighbouring weeks used
    rho_se: float  # its standard error (0: taken as known)
    variance: float  # of one week's mean around its period's mean (REML at rho)
    effective_weeks: float  # n (1 - rho) / (1 + rho): as many independent weeks would give a mean as precise
    df: float  # weeks minus the means fitted: the variance's degrees of freedom when rho is known
    variance_slope: float = 0.0  # d log variance / d rho over rho ± 0.01 (for Satterthwaite's df; 0 when rho_se is 0)


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
    """The pooled AR(1) correlation of neighbouring weeks: REML estimate, standard error, and the weeks it rests on."""

    rho: float  # in -RHO_LIMIT .. RHO_LIMIT, not clipped at 0
    se: float  # from the curvature of the pooled profile log-likelihood; at most sqrt(MAX_RHO_VARIANCE)
    weeks: float  # the weeks of the series it was estimated from, each counted with its series' weight


NOTHING_KNOWN = Persistence(0.0, math.sqrt(MAX_RHO_VARIANCE), 0.0)


def persistence_weeks(weeks: Weeks) -> Weeks:
    """The weeks that enter the estimate of rho: those with at least MIN_PERSISTENCE_DAYS days (a stub week at the
    edge of the range, or one an outage cut short, is mostly its few days' noise and weekday rhythm)."""
    keep = weeks.days >= min(MIN_PERSISTENCE_DAYS, float(weeks.days.max()) if weeks.size else 0.0)
    return Weeks(weeks.number[keep], weeks.mean[keep], weeks.days[keep], weeks.after[keep])


def profile_likelihood(weeks: Weeks) -> Floats | None:
    """The REML profile log-likelihood of ``rho`` on RHO_GRID for one series, its variance profiled out:
    -(n - p)/2 log(RSS(rho) / (n - p)) - 1/2 log det R(rho) - 1/2 log det X' R(rho)^-1 X, with RSS the generalised
    least-squares residual sum of squares (constants dropped). None when the series has fewer than 2 weeks more
    than its means (nothing to say about rho), or no spread at all."""
    return profile_likelihoods([weeks])[0]


def profile_likelihoods(series: Sequence[Weeks]) -> list[Floats | None]:
    """``profile_likelihood`` of each series; series with the same weeks and periods (a treated pool's controls, the
    pools of a phase) are computed together."""
    found: list[Floats | None] = [None] * len(series)
    groups: dict[tuple[bytes, bytes], list[int]] = {}
    for index, weeks in enumerate(series):
        if weeks.size - weeks.periods >= 2:
            groups.setdefault((weeks.number.tobytes(), weeks.after.tobytes()), []).append(index)
    for (number, after), members in groups.items():
        values = np.stack([series[index].mean for index in members])
        curves = _profile_group(number, after, values.tobytes(), len(members))
        for index, curve in zip(members, curves, strict=True):
            found[index] = curve
    return found


@functools.lru_cache(maxsize=64)
def _profile_group(
    number_bytes: bytes, after_bytes: bytes, values_bytes: bytes, count: int
) -> tuple[Floats | None, ...]:
    """The profile log-likelihoods on RHO_GRID of ``count`` series (their week means as bytes, row by row) in the
    same weeks (numbers, in the second period or not, as bytes). Cached: the treated pools that share a start date
    share their controls, whose residuals are then the same."""
    number = np.frombuffer(number_bytes, dtype=np.int64)
    layout = Weeks(number, np.zeros(len(number)), np.ones(len(number)), np.frombuffer(after_bytes, dtype=np.bool_))
    values = np.frombuffer(values_bytes, dtype=np.float64).reshape(count, len(number))
    x = layout.design()
    free = layout.size - x.shape[1]
    distance = np.diff(layout.number).astype(np.float64)
    r = RHO_GRID[:, None] ** distance[None, :]  # grid × (n - 1)
    scale = np.sqrt(1.0 - r * r)
    white_y = np.empty((len(RHO_GRID), len(values), layout.size))
    white_y[:, :, 0] = values[None, :, 0]
    white_y[:, :, 1:] = (values[None, :, 1:] - r[:, None, :] * values[None, :, :-1]) / scale[:, None, :]
    white_x = np.empty((len(RHO_GRID), layout.size, x.shape[1]))
    white_x[:, 0, :] = x[0]
    white_x[:, 1:, :] = (x[None, 1:, :] - r[:, :, None] * x[None, :-1, :]) / scale[:, :, None]
    gram = np.einsum("gni,gnj->gij", white_x, white_x)
    beta = np.einsum("gij,gsj->gsi", np.linalg.inv(gram), np.einsum("gni,gsn->gsi", white_x, white_y))
    residual = white_y - np.einsum("gni,gsi->gsn", white_x, beta)
    squares = (residual * residual).sum(axis=2)  # grid × series
    constant = -0.5 * np.log(1.0 - r * r).sum(axis=1) - 0.5 * np.linalg.slogdet(gram)[1]
    found: list[Floats | None] = []
    for column in range(len(values)):
        column_squares = squares[:, column]
        if not bool((column_squares > 0).all()):
            found.append(None)
            continue
        curve = np.asarray(-0.5 * free * np.log(column_squares / free) + constant, dtype=np.float64)
        curve.flags.writeable = False  # shared through the cache
        found.append(curve)
    return tuple(found)


def persistence(series: Sequence[Weeks], weights: Sequence[float] | None = None) -> Persistence:
    """The pooled REML estimate of rho from ``series`` (each around its own mean per period, its own variance), the
    log-likelihood of series ``i`` counted ``weights[i]`` times (default 1); NOTHING_KNOWN without a usable series."""
    return pooled(profile_likelihoods(series), [weeks.size for weeks in series], weights)


def pooled(
    curves: Sequence[Floats | None], sizes: Sequence[int], weights: Sequence[float] | None = None
) -> Persistence:
    """rho from profile log-likelihoods (``profile_likelihoods``) of series of ``sizes`` weeks, weighted.

    The maximum over RHO_GRID is refined by the parabola through it and its two neighbours (the nearest three at an
    end of the grid), whose curvature gives the standard error; a likelihood flat or curved upwards there, or a
    maximum beyond the grid, gives the largest standard error."""
    total = np.zeros(len(RHO_GRID))
    weeks = 0.0
    used = False
    for index, curve in enumerate(curves):
        weight = 1.0 if weights is None else float(weights[index])
        if curve is None or weight <= 0:
            continue
        total += weight * curve
        weeks += weight * sizes[index]
        used = True
    if not used:
        return NOTHING_KNOWN
    best = int(np.argmax(total))
    middle = min(max(best, 1), len(RHO_GRID) - 2)
    before, at, after = total[middle - 1], total[middle], total[middle + 1]
    step = float(RHO_GRID[1] - RHO_GRID[0])
    bend = (before - 2.0 * at + after) / step**2
    if bend < 0:
        shift = (before - after) / (2.0 * (before - 2.0 * at + after)) * step
        rho = float(RHO_GRID[middle]) + shift
        variance = min(-1.0 / bend, MAX_RHO_VARIANCE)
    else:
        rho, variance = float(RHO_GRID[best]), MAX_RHO_VARIANCE
    rho = min(max(float(rho), -RHO_LIMIT), RHO_LIMIT)
    return Persistence(rho, math.sqrt(float(variance)), float(weeks))


def spread(weeks: Weeks, rho: float, rho_se: float = 0.0) -> Spread | None:
    """The series' week variance at ``rho`` (REML) and its degrees of freedom at a known rho; None with fewer than
    MIN_WEEKS weeks in a period, or no week left over for a variance. ``rho_se`` is carried along for the
    contrasts' own degrees of freedom (``contrast_dfs``)."""
    periods = weeks.periods
    if weeks.size - periods < 1:
        return None
    if periods == 2 and min(int(weeks.after.sum()), int((~weeks.after).sum())) < MIN_WEEKS:
        return None
    if periods == 1 and weeks.size < MIN_WEEKS:
        return None
    low, high = max(rho - 0.01, -RHO_LIMIT), min(rho + 0.01, RHO_LIMIT)
    squares = _residual_squares(weeks, np.array([rho, low, high]))[0]
    slope = 0.0
    if rho_se > 0.0 and squares[1] > 0 and squares[2] > 0:
        slope = float(np.log(squares[2]) - np.log(squares[1])) / (high - low)
    effective = weeks.size * (1.0 - rho) / (1.0 + rho)
    free = weeks.size - periods
    return Spread(rho, rho_se, float(squares[0]) / free, effective, float(free), slope)


def correlation(number: Ints, rho: float) -> Floats:
    distance = np.abs(number[:, None] - number[None, :]).astype(np.float64)
    return np.asarray(rho**distance, dtype=np.float64)


def contrast_se(weeks: Weeks, model: Spread, weights: Floats) -> float:
    """The standard error of sum(weights * week means) under the model."""
    return float(contrast_ses(weeks, model, weights[None, :])[0])


def contrast_ses(weeks: Weeks, model: Spread, weights: Floats) -> Floats:
    """The standard errors of several contrasts at once: one per row of ``weights``."""
    return contrast_spreads(weeks, model, weights)[0]


def contrast_dfs(weeks: Weeks, model: Spread, weights: Floats) -> Floats:
    """Satterthwaite's degrees of freedom of each contrast's variance (one per row of ``weights``)."""
    return contrast_spreads(weeks, model, weights)[1]


def contrast_spreads(weeks: Weeks, model: Spread, weights: Floats) -> tuple[Floats, Floats]:
    """The standard error and Satterthwaite's degrees of freedom of each contrast (rows of ``weights``).

    The estimated variance V = variance(rho) × w' R(rho) w has, at a known rho, the REML variance's df = n - p (its
    relative variance 2 / df); an uncertain rho adds (d log V / d rho)^2 se(rho)^2, where d log V / d rho is the week
    variance's slope over rho ± 0.01 plus w' R'(rho) w / w' R(rho) w (R' the derivative d rho^d / d rho). df = 2 /
    (2 / (n - p) + slope^2 se^2), at least 1 (as the degrees of freedom of a t-test are)."""
    distance = np.abs(weeks.number[:, None] - weeks.number[None, :]).astype(np.float64)
    power = model.rho**distance
    quadratic = ((weights @ power) * weights).sum(axis=1)
    ses = np.sqrt(np.maximum(0.0, model.variance * quadratic))
    if model.rho_se <= 0.0:
        return np.asarray(ses, dtype=np.float64), np.full(weights.shape[0], model.df)
    if model.rho == 0.0:
        derivative = (distance == 1.0).astype(np.float64)
    else:
        derivative = distance * power / model.rho  # d rho^d / d rho = d rho^(d - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = model.variance_slope + np.where(
            quadratic > 0, ((weights @ derivative) * weights).sum(axis=1) / quadratic, 0.0
        )
    dfs = np.maximum(2.0 / (2.0 / model.df + slopes * slopes * model.rho_se**2), 1.0)
    return np.asarray(ses, dtype=np.float64), np.asarray(dfs, dtype=np.float64)


def contrast_test(estimate: float, weeks: Weeks, model: Spread | None, weights: Floats) -> Test:
    """The t-test of one contrast of the week means (no interval without a model)."""
    if model is None:
        return Test(estimate, None, None, None, None, None)
    ses, dfs = contrast_spreads(weeks, model, weights[None, :])
    return t_test(estimate, float(ses[0]), float(dfs[0]))


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
