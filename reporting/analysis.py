"""From the kept pool-days to the report's figures: phase means, effects (before/after and against controls),
the weekly gaps and the checks, and the changes in energy, cost and CO2; and a note for everything that gets
no estimate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from pinger.config import Energy, Pool, Study
from pinger.errors import ReportInputError

from . import statistics as stats
from .comparison import Check, Comparison, WeekGap, before_after, compare, gap_of, placebo_estimates
from .outcomes import COST, ENERGY, OUTCOMES, RUNTIME, RUNTIME_CLOSED, SHARE_ON_AT_CLOSE, Selection
from .request import ReportRequest
from .statistics import Interval
from .study import Intervention, dates_in, interventions, phase_days, phase_names, pools_of

BASELINE = "baseline"
CONTROLS = "controls"
EFFECT_OUTCOMES = (RUNTIME, RUNTIME_CLOSED, SHARE_ON_AT_CLOSE)  # energy and cost follow from the runtime effect
UNPRICED = Energy()  # no energy: section: neither cost nor CO2
FEW_WEEKS = 4  # fewer weeks in a period: the note says how large an effect would have to be to reach p < 0.05


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
    ci_low: float | None  # None: a period has fewer than MIN_WEEKS weeks
    ci_high: float | None
    p: float | None  # None with the interval
    days: int  # the pool's days in the phase that entered the estimate
    baseline_days: int
    controls: tuple[str, ...]
    weeks: int = 0  # the 7-day blocks the phase days fall in
    baseline_weeks: int = 0
    df: float | None = None  # the t distribution's degrees of freedom (AR-adjusted effective weeks - 2)
    rho: float | None = None  # the correlation of neighbouring weeks the interval allows for
    warning: str | None = None  # a check on the baseline failed: the estimate or its interval may mislead


class Placebo(NamedTuple):
    """With one treated pool, each control as if treated on its dates (Conley-Taber): where the real effect ranks."""

    pool: str
    phase: str
    estimate: float
    placebos: tuple[tuple[str, float], ...]
    p: float  # (1 + placebos at least as large in size) / (1 + placebos)
    p_floor: float  # the smallest p this test can give: 1 / (1 + placebos)


class EnergyChange(NamedTuple):
    """The runtime effect in the treated pool's own energy terms: per PC and day, and over the phase's days in the
    range that --days keeps; with ``energy:`` pricing the cost, with a CO2 intensity the CO2 (None: not known)."""

    pool: str
    phase: str
    versus: str
    per_pc_day: Interval  # kWh
    pcs: int
    phase_days: int
    over_phase: Interval  # kWh
    cost_per_pc_day: Interval | None = None  # in the config's currency
    cost_over_phase: Interval | None = None
    co2_per_pc_day: Interval | None = None  # kg
    co2_over_phase: Interval | None = None
    kwh_per_pc_hour: float = 0.0  # the pool's mean (watts - standby watts) / 1000 over its PCs
    price_per_kwh: float | None = None  # what a kWh of the pool costs (its baseline cost over its baseline kWh)


class Analysis(NamedTuple):
    baseline: str
    phases: list[PhaseSummary]
    effects: list[Effect]
    energy: list[EnergyChange]
    notes: list[str]
    weeks: list[WeekGap]  # the event study of runtime per PC, per treated pool and phase with controls
    checks: list[Check]
    placebos: list[Placebo]
    pricing: Energy = UNPRICED  # the config's energy: section (pricing, CO2 intensity), for the renderers


Series = dict[dt.date, float]


def analyse(
    selection: Selection,
    study: Study,
    baseline: str,
    pools: Mapping[str, Pool],
    request: ReportRequest,
    energy: Energy = UNPRICED,
) -> Analysis:
    """Everything the report says, for the pools in ``pools`` (in that order); ReportInputError when no treated pool
    that has days in its phase has usable baseline days (the sentence says why)."""
    return _Analyst(selection, study, baseline, pools, request, energy).analysis()


class _Analyst:
    """What ``analyse`` gathers as it goes through the interventions in turn: effects, energy changes, the
    event study's weeks and checks, placebos, and the notes, in the order the report gives them."""

    def __init__(
        self,
        selection: Selection,
        study: Study,
        baseline: str,
        pools: Mapping[str, Pool],
        request: ReportRequest,
        energy: Energy,
    ):
        self.selection, self.study, self.baseline = selection, study, baseline
        self.pools, self.request, self.energy = pools, request, energy
        self.series: dict[str, dict[str, Series]] = {outcome: {pool: {} for pool in pools} for outcome in OUTCOMES}
        for day in selection.days:
            for outcome, value in day.values.items():
                self.series[outcome][day.pool][day.day] = value
        self.notes: list[str] = []
        self.effects: list[Effect] = []
        self.changes: list[EnergyChange] = []
        self.weeks: list[WeekGap] = []
        self.checks: list[Check] = []
        self.placebos: list[Placebo] = []
        self.unusable: list[str] = []  # why a treated pool's baseline cannot be used, one sentence each
        self.panels: dict[str, Panel] = {}

    def analysis(self) -> Analysis:
        request, notes = self.request, self.notes
        never_on = _never_on(self.series[RUNTIME], request, notes)
        summaries = _phase_summaries(self.selection, self.study, self.pools, self.series, notes)
        found = interventions(self.study, self.baseline, self.pools, request.first, request.last, excluded=never_on)
        notes += _phases_without_days(self.study, self.baseline, self.pools, request, found)
        estimated = 0
        for intervention in found:
            if intervention.pool not in never_on and self._has_days(intervention):  # never on: its note says why
                estimated += 1
                self._estimate(intervention)
        if self.unusable and not estimated:
            raise ReportInputError(self.unusable[0])
        return Analysis(
            self.baseline,
            summaries,
            self.effects,
            self.changes,
            notes,
            self.weeks,
            self.checks,
            self.placebos,
            self.energy,
        )

    def _has_days(self, intervention: Intervention) -> bool:
        """Whether the pool has days in its phase and in the baseline; when not, a note says why."""
        pool, phase, baseline = intervention.pool, intervention.phase, self.baseline
        runtime = self.series[RUNTIME][pool]
        if not any(day in runtime for day in intervention.phase_dates):
            why = _why_unused(pool, intervention.phase_dates, self.selection, self.request, phase)
            self.notes.append(f"{pool}, {phase}: no estimate: {why}")
            return False
        if any(day in runtime for day in intervention.baseline_dates):
            return True
        self.unusable.append(_no_baseline(pool, baseline, intervention, self.study, self.selection, self.request))
        why = (
            _why_unused(pool, intervention.baseline_dates, self.selection, self.request, baseline)
            if intervention.baseline_dates
            else f"the baseline phase {baseline!r} has no days of {pool} before {intervention.start} in the range"
        )
        self.notes.append(f"{pool}, {phase}: no estimate: {why}")
        return False

    def _estimate(self, intervention: Intervention) -> None:
        """Each outcome's effect, before/after and versus controls; then what rests on runtime."""
        by_outcome: dict[str, tuple[stats.Test | None, Comparison | None]] = {}
        for outcome in EFFECT_OUTCOMES:
            own = _window(self.series[outcome][intervention.pool], intervention)
            if own:
                by_outcome[outcome] = self._outcome(intervention, outcome, own)
        if not intervention.controls:
            self.notes.append(
                f"{intervention.pool}, {intervention.phase}: no control pool (no other pool stayed in "
                f"{self.baseline} or in no phase over these dates, or those that did were never on), so only the "
                "before/after difference is given; it is weaker, because it counts every change over time (term "
                "rhythm, exams, season) as an effect of the phase."
            )
        self._runtime_follow_ups(intervention, *by_outcome.get(RUNTIME, (None, None)))

    def _outcome(
        self, intervention: Intervention, outcome: str, own: Series
    ) -> tuple[stats.Test | None, Comparison | None]:
        own_test = before_after(own, intervention.phase_dates, intervention.start)
        comparison = None
        if intervention.controls:
            if outcome not in self.panels:
                self.panels[outcome] = Panel.of(self.series[outcome], self.request.first, self.request.last)
            comparison = _against_controls(intervention, outcome, self.panels[outcome])
        if own_test is not None:
            self.effects.append(_effect(intervention, outcome, BASELINE, own_test, own))
        if comparison is not None:
            self.effects.append(_controls_effect(intervention, outcome, comparison))
            if outcome == RUNTIME:
                self.weeks += comparison.week_gaps
                self.checks += comparison.checks
                if comparison.without_controls:
                    self.notes.append(
                        f"{intervention.pool}, {intervention.phase}: {comparison.without_controls} of its days have "
                        "no control pool with data that day, so they do not enter its effect versus controls."
                    )
        return own_test, comparison

    def _runtime_follow_ups(
        self, intervention: Intervention, runtime_test: stats.Test | None, runtime_comparison: Comparison | None
    ) -> None:
        """Few weeks, the placebo test and the energy change: all rest on the runtime estimate."""
        pool, phase = intervention.pool, intervention.phase
        if runtime_comparison is not None:
            self.notes += _few_weeks(pool, phase, runtime_comparison)
            if len(pools_of(self.study, phase, self.pools)) == 1 and len(intervention.controls) >= 2:
                placebo = _placebo(intervention, self.series[RUNTIME], runtime_comparison.test.estimate)
                if placebo is not None:
                    self.placebos.append(placebo)
        test = runtime_comparison.test if runtime_comparison is not None else runtime_test
        if test is None:
            return
        versus = CONTROLS if runtime_comparison is not None else BASELINE
        self.changes.append(
            _energy(
                intervention,
                versus,
                test,
                self.pools[pool],
                self.study,
                self.request,
                self.energy,
                self.series,
                self.notes,
            )
        )


def _window(values: Series, intervention: Intervention) -> Series:
    dates = intervention.baseline_dates | intervention.phase_dates
    return {day: value for day, value in values.items() if day in dates}


class Panel(NamedTuple):
    """One outcome of every pool on every day of the range: pools × days, NaN where a pool-day was not kept."""

    first: dt.date
    rows: dict[str, int]
    values: stats.Floats

    @classmethod
    def of(cls, series: Mapping[str, Series], first: dt.date, last: dt.date) -> Panel:
        rows = {pool: row for row, pool in enumerate(series)}
        values = np.full((len(rows), (last - first).days + 1), np.nan)
        for pool, days in series.items():
            for day, value in days.items():
                values[rows[pool], (day - first).days] = value
        return cls(first, rows, values)


def _against_controls(intervention: Intervention, outcome: str, panel: Panel) -> Comparison | None:
    window = sorted(intervention.baseline_dates | intervention.phase_dates)
    columns = np.array([(day - panel.first).days for day in window], dtype=np.int64)
    values = panel.values[:, columns]
    controls = [name for name in intervention.controls if np.isfinite(values[panel.rows[name]]).any()]
    if not controls:
        return None
    origin = intervention.start.toordinal()
    offsets = np.array([day.toordinal() - origin for day in window], dtype=np.int64)
    after = np.array([day in intervention.phase_dates for day in window], dtype=bool)
    gap = gap_of(values[panel.rows[intervention.pool]], values[[panel.rows[name] for name in controls]], offsets, after)
    if gap is None:
        return None
    return compare(intervention.pool, intervention.phase, outcome, gap, intervention.start, tuple(controls))


def _effect(intervention: Intervention, outcome: str, versus: str, test: stats.Test, own: Series) -> Effect:
    days = sum(day in intervention.phase_dates for day in own)
    return Effect(
        intervention.pool,
        intervention.phase,
        outcome,
        versus,
        test.estimate,
        test.low,
        test.high,
        test.p,
        days,
        len(own) - days,
        (),
        df=test.df,
    )


def _controls_effect(intervention: Intervention, outcome: str, comparison: Comparison) -> Effect:
    test = comparison.test
    failed = [check.detail for check in comparison.checks if not check.passed]
    return Effect(
        intervention.pool,
        intervention.phase,
        outcome,
        CONTROLS,
        test.estimate,
        test.low,
        test.high,
        test.p,
        comparison.days,
        comparison.baseline_days,
        comparison.controls,
        comparison.weeks,
        comparison.baseline_weeks,
        test.df,
        None if comparison.spread is None else comparison.spread.rho,
        "; ".join(failed) or None,
    )


def _few_weeks(pool: str, phase: str, comparison: Comparison) -> list[str]:
    """Why an effect has no interval, or how large it would have to be for p < 0.05 with few weeks."""
    weeks, base = comparison.weeks, comparison.baseline_weeks
    if comparison.test.se is None:
        return [
            f"{pool}, {phase}: its days fall in {base} baseline and {weeks} phase weeks, so its effect has no 95 % "
            f"interval and no p (each period needs at least {stats.MIN_WEEKS} weeks and one more week is needed for "
            "a spread); the estimate stands without one."
        ]
    if min(weeks, base) >= FEW_WEEKS:
        return []
    test = comparison.test
    assert test.se is not None and test.df is not None
    needed = stats.t_quantile(test.df) * test.se
    return [
        f"{pool}, {phase}: only {base} baseline and {weeks} phase weeks: the week-level spread rests on "
        f"{test.df:.1f} degrees of freedom, so the test can reach p < 0.05 only for an effect of at least "
        f"{needed:.2f} in size (a test that deals weeks out anew could not reach 0.05 at all below about "
        f"{FEW_WEEKS} + {FEW_WEEKS} weeks)."
    ]


def _placebo(intervention: Intervention, runtime: Mapping[str, Series], estimate: float) -> Placebo | None:
    window = sorted(intervention.baseline_dates | intervention.phase_dates)
    found = placebo_estimates(
        runtime, list(intervention.controls), window, intervention.phase_dates, intervention.start
    )
    if not found:
        return None
    larger = sum(abs(value) >= abs(estimate) - 1e-12 for _, value in found)
    return Placebo(
        intervention.pool,
        intervention.phase,
        estimate,
        tuple(found),
        (1 + larger) / (1 + len(found)),
        1 / (1 + len(found)),
    )


def _never_on(runtime: Mapping[str, Series], request: ReportRequest, notes: list[str]) -> set[str]:
    """Pools whose every kept day has runtime 0: no control, no effect, and a note (one for all-zero data)."""
    with_days = [pool for pool, values in runtime.items() if values]
    never = {pool for pool in with_days if not any(value > 0 for value in runtime[pool].values())}
    if with_days and len(never) == len(with_days):
        notes.append(
            f"Every kept pool-day from {request.first} to {request.last} has runtime 0: no PC was ever seen on, "
            "so there is no behaviour to compare and no effect is estimated (check the hosts' addresses and that "
            "the collector could ping them)."
        )
        return never
    notes += [
        f"{pool} was never on: runtime 0 on all its {len(runtime[pool])} kept days, most likely misconfigured "
        "(wrong addresses, or PCs that do not answer pings); it is not used as a control and gets no effect."
        for pool in with_days
        if pool in never
    ]
    return never


def _phase_summaries(
    selection: Selection,
    study: Study,
    pools: Mapping[str, Pool],
    series: Mapping[str, Mapping[str, Series]],
    notes: list[str],
) -> list[PhaseSummary]:
    """Each pool's mean per phase and outcome, its interval from calendar weeks (rho pooled over all the series
    of an outcome); a row without a mean where every day of the phase was left out."""
    names = phase_names(study)
    phase_of = {(day.pool, day.day): day.phase for day in selection.days}
    rows: list[tuple[str, str, str, stats.Weeks | None, float | None, int]] = []
    daily: dict[str, list[stats.Floats]] = {}
    for pool in pools:
        for phase in names:
            left_out = selection.left_out.get((pool, phase), 0)
            for outcome in OUTCOMES:
                values = series[outcome][pool]
                days = sorted(day for day in values if phase_of.get((pool, day)) == phase)
                if days:
                    data = np.array([values[d] for d in days])
                    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
                    weeks = stats.weeks_of(ordinals - 1, data, None)  # ordinal 1, 0001-01-01, was a Monday
                    grid = np.full(int(ordinals[-1] - ordinals[0]) + 1, np.nan)
                    grid[ordinals - ordinals[0]] = data - data.mean()
                    daily.setdefault(outcome, []).append(grid)
                    rows.append((pool, phase, outcome, weeks, float(data.mean()), len(days)))
                elif left_out and values and not any(phase_of.get((pool, d)) == phase for d in series[RUNTIME][pool]):
                    rows.append((pool, phase, outcome, None, None, 0))
    rho = {outcome: stats.persistence(found).rho for outcome, found in daily.items()}
    summaries = []
    single: dict[tuple[str, str], None] = {}
    for pool, phase, outcome, found_weeks, mean, count in rows:
        low = high = None
        if found_weeks is not None and mean is not None:
            model = stats.spread(found_weeks, rho[outcome])
            if model is None:
                single[pool, phase] = None
            else:
                se = stats.contrast_se(found_weeks, model, stats.mean_weights(found_weeks))
                test = stats.t_test(mean, se, model.df)
                low, high = test.low, test.high
        summaries.append(
            PhaseSummary(pool, phase, outcome, mean, low, high, count, selection.left_out.get((pool, phase), 0))
        )
    notes += [
        f"{pool}, {phase}: its days in the range fall in one calendar week, so its mean has no 95 % interval "
        f"(the interval needs at least {stats.MIN_WEEKS} weeks); the mean stands without one."
        for pool, phase in single
    ]
    return summaries


def _phases_without_days(
    study: Study, baseline: str, pools: Mapping[str, Pool], request: ReportRequest, found: Sequence[Intervention]
) -> list[str]:
    """A note for each phase that puts none of the report's pools into the range."""
    treated = {intervention.phase for intervention in found}
    notes = []
    for phase in phase_names(study):
        if phase == baseline or phase in treated:
            continue
        entries = [entry for entry in study.phases if entry.name == phase]
        spans = ", ".join(
            f"{entry.start} to {entry.end or 'open end'}"
            + (f" ({', '.join(sorted(entry.pools))})" if entry.pools is not None else "")
            for entry in entries
        )
        in_pools = [pool for pool in pools if dates_in(study, phase, pool, request.first, request.last)]
        reason = (
            f"its dates ({spans}) lie outside {request.first} to {request.last}"
            if not in_pools
            else f"its pools in range ({', '.join(in_pools)}) were left out"
        )
        notes.append(f"phase {phase!r}: no estimate: {reason}.")
    return notes


def _why_unused(pool: str, dates: frozenset[dt.date], selection: Selection, request: ReportRequest, phase: str) -> str:
    """Why none of a pool's dates in a phase is usable: coverage, --days, or no daily row."""
    total = len(dates)
    if not total:
        return f"the phase {phase!r} has no days of {pool} from {request.first} to {request.last}."
    rows = sum((pool, day) in selection.rows for day in dates)
    low = selection.left_out.get((pool, phase), 0)
    reasons = []
    if low:
        reasons.append(f"{low} are below --min-coverage {request.min_coverage:g}")
    if rows - low > 0:
        reasons.append(f"{rows - low} are not kept by --days {request.days_mode} or have no outcome")
    if total - rows > 0:
        reasons.append(f"{total - rows} have no daily row (not aggregated, or nothing collected)")
    return (
        f"none of its {total} days in the phase {phase!r} from {min(dates)} to {max(dates)} is usable: "
        + ", ".join(reasons)
        + "."
    )


def _no_baseline(
    pool: str, baseline: str, intervention: Intervention, study: Study, selection: Selection, request: ReportRequest
) -> str:
    """The sentence for a treated pool without usable baseline days: the range misses them, or they are unusable."""
    span = f"from {request.first} to {request.last}"
    head = (
        f"pool {pool} has no usable days in the baseline phase {baseline!r} {span}, so nothing to compare its "
        "later phases with"
    )
    if not intervention.baseline_dates:
        configured = dates_in(study, baseline, pool, dt.date.min, intervention.start - dt.timedelta(days=1))
        if configured:
            return (
                f"{head}: its baseline runs from {configured[0]} to {configured[-1]}, outside --from/--to: "
                f"include those days in the range"
            )
        return f"{head}: the config puts no baseline day of {pool} before its phase {intervention.phase!r} starts"
    reason = _why_unused(pool, intervention.baseline_dates, selection, request, baseline).rstrip(".")
    return f"{head}: {reason}; lower --min-coverage, change --days or aggregate those days"


def _energy(
    intervention: Intervention,
    versus: str,
    test: stats.Test,
    pool: Pool,
    study: Study,
    request: ReportRequest,
    energy: Energy,
    series: Mapping[str, Mapping[str, Series]],
    notes: list[str],
) -> EnergyChange:
    """The runtime effect times the pool's own kWh per PC-hour (watts minus standby: a PC that is off rather than on
    saves the difference), the pool's own price per kWh for cost, the CO2 intensity for CO2; per PC and day, and
    times the pool's PCs and the phase's days that --days keeps (the effect is a mean over such days)."""
    hosts = pool.hosts
    per_hour = sum(host.watts - host.standby_watts for host in hosts) / len(hosts) / 1000.0 if hosts else 0.0
    days = phase_days(study, intervention.phase, pool, request.first, request.last, request.days_mode)
    pcs = len(hosts)

    def scaled(factor: float) -> Interval:
        low, high = test.low, test.high
        return Interval(
            test.estimate * factor, None if low is None else low * factor, None if high is None else high * factor
        )

    per_pc_day = scaled(per_hour)
    price = _price(intervention, energy, series) if energy.priced else None
    if energy.priced and price is None:
        notes.append(
            f"{intervention.pool}, {intervention.phase}: no cost change: its baseline days carry no stored cost (they "
            "were aggregated before energy pricing was configured), and with time-of-use tariffs the price of a "
            "saved hour cannot be told without them; run pinger aggregate over the baseline again."
        )
    cost = None if price is None else scaled(per_hour * price)
    co2 = None if energy.co2_g_per_kwh is None else scaled(per_hour * energy.co2_g_per_kwh / 1000.0)

    def over(interval: Interval | None) -> Interval | None:
        if interval is None:
            return None
        low, high = interval.low, interval.high
        factor = pcs * days
        return Interval(
            interval.estimate * factor, None if low is None else low * factor, None if high is None else high * factor
        )

    over_phase = over(per_pc_day)
    assert over_phase is not None
    return EnergyChange(
        intervention.pool,
        intervention.phase,
        versus,
        per_pc_day,
        pcs,
        days,
        over_phase,
        cost,
        over(cost),
        co2,
        over(co2),
        per_hour,
        price,
    )


def _price(intervention: Intervention, energy: Energy, series: Mapping[str, Mapping[str, Series]]) -> float | None:
    """What a kWh costs the pool: its stored cost over its kWh on its kept baseline days (its own tariffs as its PCs
    used them); without stored costs the flat price when no tariff is configured, else None."""
    costs, kwh = series[COST][intervention.pool], series[ENERGY][intervention.pool]
    days = [day for day in intervention.baseline_dates if day in costs and day in kwh]
    total = sum(kwh[day] for day in days)
    if days and total > 0:
        return sum(costs[day] for day in days) / total
    if energy.price is not None and not energy.tariffs:
        return energy.price
    return None
