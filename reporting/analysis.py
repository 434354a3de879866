"""From the kept pool-days to the report's figures: phase means, effects (before/after and DiD), and the
changes in energy, cost and CO2."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pinger.config import Energy, Phase, Pool, Study

from .outcomes import COST, ENERGY, OUTCOMES, DayOutcomes, Selection
from .statistics import (
    MIN_WEEKS,
    PERMUTATIONS,
    RESAMPLES,
    SEED,
    Interval,
    bootstrap_difference,
    bootstrap_mean,
    permutation_p,
    weekly_blocks,
)
from .study import Intervention, interventions, phase_days

BASELINE = "baseline"
CONTROLS = "controls"
UNPRICED = Energy()  # no energy: section: neither cost nor CO2


class PhaseSummary(NamedTuple):
    pool: str
    phase: str
    outcome: str
    mean: float | None  # None: every day of the phase was left out
    ci_low: float | None  # None also when the phase's days fall in fewer than MIN_WEEKS calendar weeks
    ci_high: float | None
    days: int
    days_left_out: int  # below --min-coverage


class Effect(NamedTuple):
    """An intervention's effect on one outcome, versus the pool's own baseline or versus the control pools."""

    pool: str
    phase: str
    outcome: str
    versus: str  # BASELINE | CONTROLS
    estimate: float
    ci_low: float | None  # None: the phase or the baseline has fewer than MIN_WEEKS calendar weeks
    ci_high: float | None
    p: float
    days: int  # the pool's days in the phase that entered the estimate
    baseline_days: int
    controls: tuple[str, ...]


class EnergyChange(NamedTuple):
    """The energy effect per PC and day, and extrapolated to the pool's PCs and the phase's days in the range
    that --days keeps; with ``energy:`` pricing the cost effect the same way, with a CO2 intensity the CO2
    change (None: not configured)."""

    pool: str
    phase: str
    versus: str
    per_pc_day: Interval  # kWh
    pcs: int
    phase_days: int  # the phase's days in the range that --days keeps
    over_phase: Interval  # kWh
    cost_per_pc_day: Interval | None = None  # in the config's currency
    cost_over_phase: Interval | None = None
    co2_per_pc_day: Interval | None = None  # kg
    co2_over_phase: Interval | None = None


class Analysis(NamedTuple):
    baseline: str
    phases: list[PhaseSummary]
    effects: list[Effect]
    energy: list[EnergyChange]
    notes: list[str]
    resamples: int
    permutations: int
    seed: int
    pricing: Energy = UNPRICED  # the config's energy: section (pricing, CO2 intensity), for the renderers


def analyse(
    selection: Selection,
    study: Study,
    baseline: Phase,
    pools: Mapping[str, Pool],
    first: dt.date,
    last: dt.date,
    days_mode: str = "all",
    energy: Energy = UNPRICED,
) -> Analysis:
    """Everything the report says, for the pools in ``pools`` (in that order)."""
    by_pool: dict[str, list[DayOutcomes]] = defaultdict(list)
    for day in selection.days:
        by_pool[day.pool].append(day)
    few_weeks: dict[tuple[str, str], None] = {}  # (pool, phase) without an interval: too few weeks, in order
    summaries = [
        summary for pool in pools for summary in _phase_summaries(pool, by_pool[pool], study, selection, few_weeks)
    ]
    effects: list[Effect] = []
    notes: list[str] = []
    control_means: dict[tuple[tuple[str, ...], str], dict[dt.date, float]] = {}
    for intervention in interventions(study, baseline, selection.days):
        effects += _effects(intervention, baseline, by_pool, control_means, few_weeks)
        if not intervention.controls:
            notes.append(
                f"{intervention.pool}, {intervention.phase.name}: no control pool (no other pool stayed "
                f"in {baseline.name} or in no phase over these dates), so only the before/after "
                "difference is given; it is weaker, because it counts every change over time (term "
                "rhythm, exams, season) as an effect of the phase."
            )
    notes += [
        f"{pool}, {phase}: its days in the range fall in one calendar week, so its mean and the differences "
        f"involving it have no 95 % interval (the bootstrap resamples whole weeks and needs at least "
        f"{MIN_WEEKS} calendar weeks in the range for an interval); the estimates stand without one."
        for pool, phase in few_weeks
    ]
    changes = [
        _energy(effect, _cost_effect(effect, effects), pools[effect.pool], study, first, last, days_mode, energy)
        for effect in effects
        if effect.outcome == ENERGY and (effect.versus == CONTROLS or not _has_controls(effect, effects))
    ]
    return Analysis(baseline.name, summaries, effects, changes, notes, RESAMPLES, PERMUTATIONS, SEED, energy)


def _phase_summaries(
    pool: str, days: Sequence[DayOutcomes], study: Study, selection: Selection, few_weeks: dict[tuple[str, str], None]
) -> list[PhaseSummary]:
    found = []
    for phase in study.phases:
        in_phase = [day for day in days if day.phase == phase.name]
        left_out = selection.left_out.get((pool, phase.name), 0)
        for outcome in OUTCOMES:
            with_outcome = [day for day in in_phase if outcome in day.values]
            if with_outcome:
                blocks = weekly_blocks([d.day for d in with_outcome], [d.values[outcome] for d in with_outcome])
                mean = bootstrap_mean(blocks)
                if mean.low is None:
                    few_weeks[pool, phase.name] = None
                found.append(
                    PhaseSummary(
                        pool, phase.name, outcome, mean.estimate, mean.low, mean.high, len(with_outcome), left_out
                    )
                )
            elif left_out and in_phase == [] and outcome in _outcomes_of(days):
                found.append(PhaseSummary(pool, phase.name, outcome, None, None, None, 0, left_out))
    return found


def _outcomes_of(days: Sequence[DayOutcomes]) -> set[str]:
    return {outcome for day in days for outcome in day.values}


def _effects(
    intervention: Intervention,
    baseline: Phase,
    by_pool: Mapping[str, Sequence[DayOutcomes]],
    control_means: dict[tuple[tuple[str, ...], str], dict[dt.date, float]],
    few_weeks: dict[tuple[str, str], None],
) -> list[Effect]:
    """Before/after and, with controls, DiD for every outcome; ``control_means`` caches the controls' daily means,
    ``few_weeks`` gains the (pool, phase) of a period too short for an interval."""
    pool, phase = intervention.pool, intervention.phase.name
    days = by_pool[pool]
    found = []
    for outcome in OUTCOMES:
        before = {d.day: d.values[outcome] for d in days if d.phase == baseline.name and outcome in d.values}
        after = {d.day: d.values[outcome] for d in days if d.phase == phase and outcome in d.values}
        if not before or not after:
            continue
        found.append(_difference(pool, (baseline.name, phase), outcome, BASELINE, before, after, (), few_weeks))
        if intervention.controls:
            key = (intervention.controls, outcome)
            if key not in control_means:
                control_means[key] = _control_means(outcome, [by_pool[name] for name in intervention.controls])
            control = control_means[key]
            gap_before = {day: value - control[day] for day, value in before.items() if day in control}
            gap_after = {day: value - control[day] for day, value in after.items() if day in control}
            if gap_before and gap_after:
                found.append(
                    _difference(
                        pool,
                        (baseline.name, phase),
                        outcome,
                        CONTROLS,
                        gap_before,
                        gap_after,
                        intervention.controls,
                        few_weeks,
                    )
                )
    return found


def _control_means(outcome: str, pools: Sequence[Sequence[DayOutcomes]]) -> dict[dt.date, float]:
    """Per date, the mean of the outcome over the control pools that have it that day."""
    sums: dict[dt.date, float] = defaultdict(float)
    counts: dict[dt.date, int] = defaultdict(int)
    for days in pools:
        for day in days:
            if outcome in day.values:
                sums[day.day] += day.values[outcome]
                counts[day.day] += 1
    return {day: sums[day] / counts[day] for day in sums}


def _difference(
    pool: str,
    phases: tuple[str, str],
    outcome: str,
    versus: str,
    before: Mapping[dt.date, float],
    after: Mapping[dt.date, float],
    controls: tuple[str, ...],
    few_weeks: dict[tuple[str, str], None],
) -> Effect:
    """mean(after) - mean(before) of a daily series: the pool's values, or its gap to the controls (the DiD);
    ``phases``: (baseline, phase)."""
    before_blocks = weekly_blocks(list(before), list(before.values()))
    after_blocks = weekly_blocks(list(after), list(after.values()))
    for name, blocks in zip(phases, (before_blocks, after_blocks), strict=True):
        if blocks.weeks < MIN_WEEKS:
            few_weeks[pool, name] = None
    interval = bootstrap_difference(before_blocks, after_blocks)
    p = permutation_p(before_blocks, after_blocks)
    return Effect(
        pool,
        phases[1],
        outcome,
        versus,
        interval.estimate,
        interval.low,
        interval.high,
        p,
        len(after),
        len(before),
        controls,
    )


def _has_controls(effect: Effect, effects: Sequence[Effect]) -> bool:
    return any(
        other.pool == effect.pool
        and other.phase == effect.phase
        and other.outcome == effect.outcome
        and other.versus == CONTROLS
        for other in effects
    )


def _cost_effect(energy_effect: Effect, effects: Sequence[Effect]) -> Effect | None:
    """The effect on cost per PC made the same way (pool, phase, versus) as the energy effect; None unpriced."""
    return next(
        (
            other
            for other in effects
            if other.outcome == COST
            and other.pool == energy_effect.pool
            and other.phase == energy_effect.phase
            and other.versus == energy_effect.versus
        ),
        None,
    )


def _energy(
    effect: Effect,
    cost: Effect | None,
    pool: Pool,
    study: Study,
    first: dt.date,
    last: dt.date,
    days_mode: str,
    energy: Energy,
) -> EnergyChange:
    """Per PC and day, and times the pool's PCs and the phase's days that --days keeps (the effect is a mean over
    such days only). Cost is its own effect (tariffs price the hours differently, so it is not a multiple of kWh);
    CO2 is the kWh change times the one intensity."""
    phase = next(phase for phase in study.phases if phase.name == effect.phase)
    days = phase_days(phase, first, last, pool, days_mode)
    pcs = len(pool.hosts)

    def scaled(interval: Interval, factor: float) -> Interval:
        low, high = interval.low, interval.high
        return Interval(
            interval.estimate * factor, None if low is None else low * factor, None if high is None else high * factor
        )

    per_pc_day = Interval(effect.estimate, effect.ci_low, effect.ci_high)
    cost_per_pc_day = None if cost is None else Interval(cost.estimate, cost.ci_low, cost.ci_high)
    co2_per_pc_day = None if energy.co2_g_per_kwh is None else scaled(per_pc_day, energy.co2_g_per_kwh / 1000.0)
    return EnergyChange(
        effect.pool,
        effect.phase,
        effect.versus,
        per_pc_day,
        pcs,
        days,
        scaled(per_pc_day, pcs * days),
        cost_per_pc_day,
        None if cost_per_pc_day is None else scaled(cost_per_pc_day, pcs * days),
        co2_per_pc_day,
        None if co2_per_pc_day is None else scaled(co2_per_pc_day, pcs * days),
    )
