"""The study design read from the config: the baseline phase, each pool's interventions, and its control pools."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from pinger.config import Phase, Pool, Study
from pinger.errors import ReportInputError

from .outcomes import DayOutcomes, keeps_weekday

NO_PHASES = (
    "{source} has no study phases, so there is nothing to compare: add a baseline phase and an intervention, "
    "e.g. study: {{phases: [{{name: baseline, start: 2026-10-01, end: 2026-10-31}}, "
    "{{name: polite-sign, start: 2026-11-01, pools: [A101]}}]}}"
)


class Intervention(NamedTuple):
    """A pool in a phase that is not the baseline, and the pools that stayed untreated over the same dates."""

    pool: str
    phase: Phase
    controls: tuple[str, ...]


def baseline_of(study: Study, source: Path | str) -> Phase:
    """The first configured phase is the baseline."""
    if not study.phases:
        raise ReportInputError(NO_PHASES.format(source=source))
    return study.phases[0]


def phase_days(phase: Phase, first: dt.date, last: dt.date, pool: Pool, days_mode: str) -> int:
    """The phase's days inside the report's range (an open-ended phase ends with the range) that --days keeps
    for the pool: all calendar days, those with opening hours, or Monday to Friday. Days without data or with
    too little coverage count too: the effect is the pool's, whether or not it was measured that day."""
    start = max(phase.start, first)
    end = min(phase.end or last, last)
    return sum(
        keeps_weekday(start + dt.timedelta(days=offset), pool, days_mode) for offset in range((end - start).days + 1)
    )


def interventions(study: Study, baseline: Phase, days: Sequence[DayOutcomes]) -> list[Intervention]:
    """Every (pool, non-baseline phase) with kept days, in config order of phases, then pool order.

    A control pool has kept days and, on every date the treated pool has in the baseline or the
    intervention, is in the baseline phase or in none.
    """
    by_pool: dict[str, list[DayOutcomes]] = {}
    for day in days:
        by_pool.setdefault(day.pool, []).append(day)
    if not days:
        return []
    first, last = min(day.day for day in days), max(day.day for day in days)
    treated_on = {pool: _treated_dates(study, baseline, pool, first, last) for pool in by_pool}
    found: list[Intervention] = []
    for phase in study.phases:
        if phase.name == baseline.name:
            continue
        for pool, pool_days in by_pool.items():
            if not any(day.phase == phase.name for day in pool_days):
                continue
            dates = {day.day for day in pool_days if day.phase in (phase.name, baseline.name)}
            controls = tuple(other for other in by_pool if other != pool and not dates & treated_on[other])
            found.append(Intervention(pool, phase, controls))
    return found


def _treated_dates(study: Study, baseline: Phase, pool: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """The dates from first to last on which the pool is in a phase other than the baseline."""
    dates = (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))
    return {day for day in dates if study.phase_for(pool, day) not in (None, baseline.name)}
