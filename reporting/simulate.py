"""Synthetic studies with a known effect, for tests, benchmarks and the report's validity figures.

A study is a set of pools observed day by day over ``weeks_before`` weeks of baseline and
``weeks_after`` weeks of intervention, as pool_daily rows. A pool's runtime per configured PC and
day is built from parts a real study has (all in hours per PC and day):

- the pool's level times a weekday rhythm (busier pools swing more; some leave PCs on at weekends);
- shocks every pool shares: one per week (exam and holiday weeks) and one per day;
- a pool's own week shock, and its own day-to-day persistence: an AR(1) series with coefficient
  ``phi`` drawn per pool (what makes neighbouring weeks alike, and week-level intervals too narrow
  when ignored);
- day noise that shrinks with the pool's PCs (the mean over 4 PCs varies more than over 30);
- PCs that are never on (a share of each pool, or a whole pool);
- the effect, in the treated pools from their own start (staggered starts), fading by ``fade`` per
  week if asked (on the PCs that are on at all: the study's ``effect_h`` is the change its rows show);
- pool-days that are missing: outages, and pools whose hosts arrive mid-study.

Energy, cost and CO2 follow from each pool's runtime with its own watts and standby watts, so pools
with different watts differ in kWh by more than their runtime does. Everything is drawn from one
seed, so a (scenario, seed) pair is one reproducible study.

    from pinger.reporting.simulate import SCENARIOS, simulate
    study = simulate(SCENARIOS["realistic"], seed=1)
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np

from pinger.config import Energy, Host, OpeningHours, Phase, Pool, Study
from pinger.models import PoolDay

MONDAY = dt.date(2026, 9, 7)
OPEN_WEEKDAYS = OpeningHours(tuple((((480, 1200),) if weekday < 5 else ()) for weekday in range(7)))  # 08-20
RHYTHM = (1.0, 1.0, 1.0, 1.0, 0.9, 0.45, 0.35)  # Monday..Sunday, times the pool's level
WEEKEND_ON = (1.0, 1.0, 1.0, 1.0, 0.95, 0.9, 0.9)  # a pool that leaves its PCs on over the weekend
PRICE = 0.3  # per kWh: the synthetic studies' energy section
PRICED = Energy(currency="EUR", price=PRICE, co2_g_per_kwh=400.0)
PHASE = "sign"


class Scenario(NamedTuple):
    """What a synthetic study looks like; pools are P01, P02, … and the first ``treated`` are treated.

    Tuples given per pool (``pcs``, ``watts``, ``weekend_on``) repeat cyclically over the pools.
    """

    pools: int = 4
    treated: int = 1
    weeks_before: int = 8
    weeks_after: int = 8
    effect_h: float = 0.0  # the effect on runtime per PC and day, in the first week of the intervention
    fade: float = 1.0  # the effect's factor per week after that (1: constant)
    stagger_weeks: int = 0  # treated pool i starts i * stagger_weeks weeks after the first
    pcs: tuple[int, ...] = (20,)
    watts: tuple[float, ...] = (80.0,)
    standby_watts: float = 0.0
    level_h: float = 8.0  # mean level over pools; each pool's is drawn around it (sd level_sd_h)
    level_sd_h: float = 1.0
    treated_level_h: float = 0.0  # added to the treated pools' level (a busier treated pool)
    level_offsets_h: tuple[float, ...] = ()  # added to pool i's level (pools beyond the tuple: 0)
    weekend_on: tuple[bool, ...] = (False,)
    never_on_share: float = 0.0  # share of each pool's PCs that are never on
    phi: tuple[float, float] = (0.0, 0.0)  # each pool's AR(1) coefficient is drawn uniformly from this range
    ar_sd_h: float = 0.0  # the AR(1) series' standard deviation
    pool_week_sd_h: float = 0.4
    common_week_sd_h: float = 0.6
    common_day_sd_h: float = 0.0
    day_sd_h: float = 0.6  # day noise of a pool of 12 PCs; scaled by sqrt(12 / PCs)
    holiday_weeks: tuple[int, ...] = ()  # weeks (from 0) in which every pool runs at holiday_share of its level
    holiday_share: float = 1.0
    exam_weeks: tuple[int, ...] = ()  # weeks in which every pool runs exam_h longer
    exam_h: float = 0.0
    outages: tuple[tuple[int, int, int], ...] = ()  # (pool index, first day from the start, days) without rows
    arrivals: tuple[tuple[int, int], ...] = ()  # (pool index, week): the pool has no rows before that week
    never_on_pools: tuple[int, ...] = ()  # pool indices whose PCs are never on (misconfigured)


class SyntheticStudy(NamedTuple):
    pools: tuple[Pool, ...]
    study: Study
    rows: list[PoolDay]
    first: dt.date
    last: dt.date
    treated: tuple[str, ...]
    starts: dict[str, dt.date]  # each treated pool's first day of the intervention
    # each treated pool's true mean effect on runtime per configured PC and day over its phase days with a row, as
    # its rows show it: the change on days clipped at 0 or 24 h, and none for the PCs that are never on
    effect_h: dict[str, float]


SCENARIOS: dict[str, Scenario] = {
    # The README's old case: independent weeks, equal pools.
    "independent weeks": Scenario(),
    # The review's structure: pools of 4, 12 and 30 PCs with different watts, shared exam and holiday
    # weeks, pool-specific persistence, weekends left on, PCs never on.
    "realistic": Scenario(
        pcs=(12, 4, 30, 12),
        watts=(120.0, 60.0, 90.0, 150.0),
        standby_watts=2.0,
        weekend_on=(False, True, False, False),
        never_on_share=0.1,
        phi=(0.6, 0.9),
        ar_sd_h=0.5,
        exam_weeks=(6, 7),
        exam_h=1.0,
        holiday_weeks=(11,),
        holiday_share=0.97,
        common_day_sd_h=0.3,
    ),
    "persistence 0.9": Scenario(
        pcs=(12, 4, 30, 12), watts=(120.0, 60.0, 90.0, 150.0), phi=(0.9, 0.9), ar_sd_h=0.5, common_day_sd_h=0.3
    ),
    # Control pools miss days: a one-day outage, a week-long one, and a quieter pool whose hosts
    # arrive in week 10 (the controls' daily mean changes make-up when it arrives).
    "controls miss days": Scenario(
        pcs=(12, 4, 30, 12),
        watts=(120.0, 60.0, 90.0, 150.0),
        phi=(0.6, 0.9),
        ar_sd_h=0.5,
        level_offsets_h=(0.0, 0.0, 0.0, -3.0),
        outages=((1, 30, 1), (2, 70, 7)),
        arrivals=((3, 10),),
    ),
    # The treated pool draws 60 W, the controls 150 W, and two exam weeks (every pool 1.5 h longer) fall in the
    # intervention: a kWh difference across pools counts them as an effect, a runtime difference does not.
    "unequal watts": Scenario(
        pcs=(12, 12, 12, 12), watts=(60.0, 150.0, 150.0, 150.0), standby_watts=2.0, exam_weeks=(12, 13), exam_h=1.5
    ),
    "staggered starts": Scenario(
        pools=6, treated=2, stagger_weeks=2, pcs=(12, 4, 30), phi=(0.6, 0.9), ar_sd_h=0.5, weeks_after=10
    ),
    "fading effect": Scenario(pcs=(12, 4, 30, 12), phi=(0.6, 0.9), ar_sd_h=0.5, fade=0.85),
    "3 + 3 weeks": Scenario(weeks_before=3, weeks_after=3, pcs=(12, 4, 30, 12), phi=(0.6, 0.9), ar_sd_h=0.5),
}


def synthetic_pools(
    count: int, pcs: int | tuple[int, ...] = 20, watts: float | tuple[float, ...] = 80.0, standby_watts: float = 0.0
) -> tuple[Pool, ...]:
    """Pools P01, P02, … open Monday to Friday 08:00-20:00; ``pcs`` and ``watts`` repeat cyclically over them."""
    sizes = pcs if isinstance(pcs, tuple) else (pcs,)
    draws = watts if isinstance(watts, tuple) else (watts,)
    found = []
    for index in range(1, count + 1):
        size, draw = sizes[(index - 1) % len(sizes)], draws[(index - 1) % len(draws)]
        hosts = tuple(Host(f"p{index:02d}-pc{pc:02d}", draw, standby_watts, False) for pc in range(size))
        found.append(Pool(f"P{index:02d}", draw, standby_watts, hosts, {}, OPEN_WEEKDAYS))
    return tuple(found)


def simulate(scenario: Scenario, seed: int = 0, start: dt.date = MONDAY, phase: str = PHASE) -> SyntheticStudy:
    """One study of the scenario; the same (scenario, seed) gives the same rows."""
    s = scenario
    rng = np.random.default_rng([seed, 20261101])
    pools = synthetic_pools(s.pools, s.pcs, s.watts, s.standby_watts)
    names = tuple(pool.name for pool in pools)
    treated = names[: s.treated]
    weeks = s.weeks_before + s.weeks_after
    days = weeks * 7
    first = start
    last = start + dt.timedelta(days=days - 1)
    change = start + dt.timedelta(weeks=s.weeks_before)
    starts = {name: change + dt.timedelta(weeks=index * s.stagger_weeks) for index, name in enumerate(treated)}

    study = _study(start, names, treated, starts, phase)

    levels = rng.normal(s.level_h, s.level_sd_h, s.pools) + np.array(
        [
            (s.treated_level_h if name in treated else 0.0)
            + (s.level_offsets_h[index] if index < len(s.level_offsets_h) else 0.0)
            for index, name in enumerate(names)
        ]
    )
    phis = rng.uniform(s.phi[0], s.phi[1], s.pools)
    common_week = rng.normal(0.0, s.common_week_sd_h, weeks)
    common_day = rng.normal(0.0, s.common_day_sd_h, days) if s.common_day_sd_h > 0 else np.zeros(days)
    pool_week = rng.normal(0.0, s.pool_week_sd_h, (s.pools, weeks))
    ar = np.zeros((s.pools, days))
    if s.ar_sd_h > 0:
        innovations = rng.normal(0.0, 1.0, (s.pools, days)) * s.ar_sd_h * np.sqrt(1 - phis**2)[:, None]
        ar[:, 0] = rng.normal(0.0, s.ar_sd_h, s.pools)
        for t in range(1, days):
            ar[:, t] = phis * ar[:, t - 1] + innovations[:, t]
    sizes = np.array([len(pool.hosts) for pool in pools], dtype=float)
    noise = rng.normal(0.0, 1.0, (s.pools, days)) * (s.day_sd_h * np.sqrt(12.0 / sizes))[:, None]
    missing = np.zeros((s.pools, days), dtype=bool)
    for index, offset, length in s.outages:
        missing[index, offset : offset + length] = True
    for index, week in s.arrivals:
        missing[index, : week * 7] = True

    effects: dict[str, list[float]] = {name: [] for name in treated}
    rows: list[PoolDay] = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        week, weekday = divmod(offset, 7)
        holiday = s.holiday_share if week in s.holiday_weeks else 1.0
        exam = s.exam_h if week in s.exam_weeks else 0.0
        for index, pool in enumerate(pools):
            rhythm = (WEEKEND_ON if s.weekend_on[index % len(s.weekend_on)] else RHYTHM)[weekday]
            per_pc = (
                levels[index] * rhythm * holiday
                + exam
                + common_week[week]
                + common_day[offset]
                + pool_week[index, week]
                + ar[index, offset]
                + noise[index, offset]
            )
            on_share = 0.0 if index in s.never_on_pools else 1.0 - s.never_on_share
            observed = min(max(per_pc, 0.0), 24.0) * on_share
            if pool.name in treated and day >= starts[pool.name]:
                effect = s.effect_h * s.fade ** ((day - starts[pool.name]).days // 7)
                untreated, observed = observed, min(max(per_pc + effect, 0.0), 24.0) * on_share
                if not missing[index, offset]:
                    effects[pool.name].append(observed - untreated)  # as realised: never-on PCs, clipped days
            if not missing[index, offset]:
                rows.append(_row(pool, day, observed, study, rng))
    rows.sort(key=lambda row: (row.day, row.pool))
    mean_effect = {name: float(np.mean(values)) if values else 0.0 for name, values in effects.items()}
    return SyntheticStudy(pools, study, rows, first, last, treated, starts, mean_effect)


class FirstTreated(NamedTuple):
    """A study's first treated pool and what the report compares it with, as the report builds it."""

    pool: str
    series: dict[str, dict[dt.date, float]]  # each pool's runtime per configured PC, by day (days with a row)
    window: list[dt.date]  # every day from the study's first to its last
    start: dt.date  # the treated pool's first day of the intervention
    phase: frozenset[dt.date]  # the window's days from ``start`` on
    controls: list[str]  # the pools never treated, in the study's order


def first_treated(study: SyntheticStudy) -> FirstTreated:
    """The inputs of the first treated pool's runtime gap to the controls (``comparison.gap_series``)."""
    treated = study.treated[0]
    series: dict[str, dict[dt.date, float]] = {p.name: {} for p in study.pools}
    for r in study.rows:
        series[r.pool][r.day] = r.runtime_h / r.pcs_total
    window = [study.first + dt.timedelta(days) for days in range((study.last - study.first).days + 1)]
    start = study.starts[treated]
    phase = frozenset(day for day in window if day >= start)
    controls = [p.name for p in study.pools if p.name not in study.treated]
    return FirstTreated(treated, series, window, start, phase, controls)


def _study(
    start: dt.date, names: tuple[str, ...], treated: tuple[str, ...], starts: dict[str, dt.date], phase: str
) -> Study:
    """Every pool in the baseline until its start (all of it for controls); the treated ones in ``phase`` from
    their start: one entry per start date, so staggered starts are one phase name with several entries."""
    by_start: dict[dt.date, list[str]] = {}
    for name in treated:
        by_start.setdefault(starts[name], []).append(name)
    phases = []
    for day, group in sorted(by_start.items()):
        phases.append(Phase("baseline", start, day - dt.timedelta(days=1), frozenset(group)))
    controls = frozenset(names) - frozenset(treated)
    if controls:
        phases.append(Phase("baseline", start, None, controls))
    for day, group in sorted(by_start.items()):
        phases.append(Phase(phase, day, None, frozenset(group)))
    return Study(tuple(phases))


def _row(pool: Pool, day: dt.date, per_pc_h: float, study: Study, rng: np.random.Generator) -> PoolDay:
    """A pool_daily row whose runtime per PC is ``per_pc_h``; energy with the pool's own watts and standby,
    cost at PRICE, the other figures following from the runtime."""
    pcs = len(pool.hosts)
    runtime = per_pc_h * pcs
    energy = (runtime * pool.watts + (24.0 * pcs - runtime) * pool.standby_watts) / 1000.0
    is_open = bool(pool.open and pool.open.periods_on(day))
    closed_h = per_pc_h * (0.25 if is_open else 1.0)  # a share of the runtime falls outside opening hours
    on_at_close = min(pcs, max(0, round(pcs * min(per_pc_h / 24.0, 1.0) + rng.normal(0, 1)))) if is_open else 0
    return PoolDay(
        day=day,
        pool=pool.name,
        phase=study.phase_for(pool.name, day),
        tags={},
        pcs_total=pcs,
        pcs_used=pcs if per_pc_h > 0 else 0,
        runtime_h=runtime,
        avg_runtime_h=per_pc_h,
        energy_kwh=energy,
        coverage=1.0,
        runtime_closed_h=closed_h * pcs,
        on_at_close=on_at_close,
        cost=energy * PRICE,
        co2_kg=energy * 0.4,
    )


def synthetic_study(
    pools: int = 6,
    treated: int = 3,
    weeks_before: int = 8,
    weeks_after: int = 8,
    effect_h: float = -1.0,
    seed: int = 0,
    pcs: int = 20,
) -> SyntheticStudy:
    """The plain study of the benchmark and the docs' example: equal pools, independent weeks."""
    return simulate(
        Scenario(
            pools=pools,
            treated=treated,
            weeks_before=weeks_before,
            weeks_after=weeks_after,
            effect_h=effect_h,
            pcs=(pcs,),
        ),
        seed,
    )
