"""Synthetic studies with a known effect: pools × weeks of pool_daily rows, for tests, benchmarks and users.

Each pool's runtime per PC on a day is its own level, times a weekly rhythm (weekends lower), plus
a shock shared by every pool in that week (term rhythm, exams), a shock of the pool in that week
(so neighbouring days are alike), day-to-day noise, and ``effect_h`` on the treated pools' days
in the intervention phase. The first ``weeks_before`` weeks are the baseline of every pool; the
intervention phase then starts for the first ``treated`` pools, the others stay controls.

    from pinger.reporting.simulate import synthetic_study
    study = synthetic_study(pools=40, weeks_before=26, weeks_after=26, effect_h=-1.0, seed=1)
"""

from __future__ import annotations

import datetime as dt
import random
from typing import NamedTuple

from pinger.config import Host, OpeningHours, Phase, Pool, Study
from pinger.models import PoolDay

MONDAY = dt.date(2026, 9, 7)
OPEN_WEEKDAYS = OpeningHours(tuple((((480, 1200),) if weekday < 5 else ()) for weekday in range(7)))  # 08-20
RHYTHM = (1.0, 1.0, 1.0, 1.0, 0.9, 0.45, 0.35)  # Monday..Sunday, times the pool's level


class SyntheticStudy(NamedTuple):
    pools: tuple[Pool, ...]
    study: Study
    rows: list[PoolDay]
    first: dt.date
    last: dt.date
    treated: tuple[str, ...]


def synthetic_pools(count: int, pcs: int = 20, watts: float = 80.0) -> tuple[Pool, ...]:
    """Pools P01, P02, … of ``pcs`` PCs each, open Monday to Friday 08:00-20:00."""
    return tuple(
        Pool(
            name=f"P{index:02d}",
            watts=watts,
            standby_watts=0.0,
            hosts=tuple(Host(f"p{index:02d}-pc{pc:02d}", watts, 0.0, False) for pc in range(pcs)),
            tags={},
            open=OPEN_WEEKDAYS,
        )
        for index in range(1, count + 1)
    )


def synthetic_study(
    pools: int = 6,
    treated: int = 3,
    weeks_before: int = 8,
    weeks_after: int = 8,
    effect_h: float = -1.0,
    seed: int = 0,
    pcs: int = 20,
    start: dt.date = MONDAY,
    level_h: float = 8.0,
    noise_h: float = 0.6,
    pool_week_h: float = 0.4,
    common_week_h: float = 0.6,
    phase: str = "sign",
) -> SyntheticStudy:
    """A study with a known effect on runtime per PC and day (``effect_h``); see the module."""
    rng = random.Random(seed)
    made = synthetic_pools(pools, pcs)
    names = tuple(pool.name for pool in made)
    treated_names = names[:treated]
    change = start + dt.timedelta(weeks=weeks_before)
    last = change + dt.timedelta(weeks=weeks_after, days=-1)
    study = Study(
        (Phase("baseline", start, change - dt.timedelta(days=1)), Phase(phase, change, None, frozenset(treated_names)))
    )
    levels = {name: rng.gauss(level_h, 1.0) for name in names}
    rows: list[PoolDay] = []
    for week in range(weeks_before + weeks_after):
        common = rng.gauss(0.0, common_week_h)
        pool_shocks = {name: rng.gauss(0.0, pool_week_h) for name in names}
        for weekday in range(7):
            day = start + dt.timedelta(weeks=week, days=weekday)
            for pool in made:
                per_pc = levels[pool.name] * RHYTHM[weekday] + common + pool_shocks[pool.name] + rng.gauss(0, noise_h)
                if pool.name in treated_names and day >= change:
                    per_pc += effect_h
                rows.append(_row(pool, day, min(max(per_pc, 0.0), 24.0), study, rng))
    rows.sort(key=lambda row: (row.day, row.pool))
    return SyntheticStudy(made, study, rows, start, last, treated_names)


def _row(pool: Pool, day: dt.date, per_pc_h: float, study: Study, rng: random.Random) -> PoolDay:
    """A pool_daily row whose runtime per PC is ``per_pc_h``; the other figures follow from it."""
    pcs = len(pool.hosts)
    is_open = bool(pool.open and pool.open.periods_on(day))
    closed_h = per_pc_h * (0.25 if is_open else 1.0)  # a share of the runtime falls outside opening hours
    on_at_close = min(pcs, max(0, round(pcs * min(per_pc_h / 24.0, 1.0) + rng.gauss(0, 1)))) if is_open else 0
    return PoolDay(
        day=day,
        pool=pool.name,
        phase=study.phase_for(pool.name, day),
        tags={},
        pcs_total=pcs,
        pcs_used=pcs if per_pc_h > 0 else 0,
        runtime_h=per_pc_h * pcs,
        avg_runtime_h=per_pc_h,
        energy_kwh=per_pc_h * pcs * pool.watts / 1000.0,
        coverage=1.0,
        runtime_closed_h=closed_h * pcs,
        on_at_close=on_at_close,
    )
