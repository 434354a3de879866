"""The effect of one treated pool's phase, from pool and day effects fitted on the days nobody was treated.

The comparison is the 2-group subsample Callaway and Sant'Anna use: the treated pool and the pools
never treated over its dates (its controls), on the dates of its baseline and of its phase. On the
pool-days without treatment (the controls' days, the treated pool's baseline days) a two-way
fixed-effects model is fitted, y = pool effect + day effect; the treated pool's untreated outcome on
each of its phase days is then its pool effect plus that day's effect, and the effect of the phase
is the mean over its phase days of what it did minus that (Borusyak, Jaravel and Spiess's imputation
estimator; with a single start date it is the coefficient of the two-way fixed-effects regression
with one dummy per treated pool-day, averaged).

Why this and not the mean of the controls each day: when a control pool misses days (an outage,
hosts added mid-study) the controls' daily mean changes make-up and jumps by the difference in
level between the pools; the pool effects absorb each pool's level, so no day needs every pool.
With every pool present every day it is exactly the classic difference-in-differences, mean over
the phase of (pool − controls' mean) minus the same over the baseline.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


class Fit(NamedTuple):
    """Pool and day effects fitted on the untreated cells; a day without any untreated cell has NaN."""

    pool: Floats
    day: Floats


def fit_two_way(values: Floats, untreated: Bools) -> Fit:
    """Least squares y[p, t] = pool[p] + day[t] over the cells where ``untreated`` (values there are finite).

    The day effects are eliminated (each is the mean of y - pool effect over the day's cells), leaving
    a pools × pools system in the pool effects; it is singular by one constant (the pool effects and the
    day effects can trade a shift), which the minimum-norm solution fixes. Pools that share no day with
    the others are not identified against them; the caller only compares pools that do.
    """
    used = untreated.astype(np.float64)
    y = np.where(untreated, values, 0.0)
    per_day = used.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        inverse = np.where(per_day > 0, 1.0 / per_day, 0.0)
    day_mean = y.sum(axis=0) * inverse
    matrix = np.diag(used.sum(axis=1)) - (used * inverse) @ used.T
    rhs = y.sum(axis=1) - used @ day_mean
    pool = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
    day = (y.sum(axis=0) - pool @ used) * inverse
    day[per_day == 0] = np.nan
    return Fit(pool, day)


def gaps(values: Floats, untreated: Bools, present: Bools, row: int = 0) -> Floats:
    """Row ``row``'s outcome minus its imputed untreated outcome (pool effect + day effect), per day.

    On the row's untreated days this is the residual (they average 0 over the row's untreated days,
    since its pool effect is fitted on them), on its treated days the day's effect; NaN where the row
    has no value or the day no untreated cell.
    """
    fit = fit_two_way(values, untreated)
    found = np.asarray(values[row] - fit.pool[row] - fit.day, dtype=np.float64)
    found[~present[row]] = np.nan
    return found
