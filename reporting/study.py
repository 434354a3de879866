"""The study design read from the config: the baseline phase, each pool's interventions, and its control pools.

A phase name is one intervention even when it starts on different dates in different pools
(staggered starts: one ``study.phases`` entry per start date, each naming its pools); each pool's
own entry gives its dates. Which phase is the baseline never depends on the order of the entries:
the one ``study.baseline`` names, else the phase that starts first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from pinger.config import Phase, Pool, Study
from pinger.errors import ReportInputError

from .outcomes import keeps_weekday

NO_PHASES = (
    "{source} has no study phases, so there is nothing to compare: add a baseline phase and an intervention, "
    "e.g. study: {{phases: [{{name: baseline, start: 2026-10-01, end: 2026-10-31}}, "
    "{{name: polite-sign, start: 2026-11-01, pools: [A101]}}]}}"
)


class Intervention(NamedTuple):
    """A pool in a phase that is not the baseline: its dates in the phase and in the baseline within the
    report's range, and the pools untreated on all of those dates (its controls)."""

    pool: str
    phase: str
    start: dt.date  # the pool's first day in the phase (its own start with staggered starts)
    phase_dates: frozenset[dt.date]
    baseline_dates: frozenset[dt.date]
    controls: tuple[str, ...]


def baseline_of(study: Study, source: Path | str) -> str:
    """The baseline phase's name: ``study.baseline`` when set, else the phase that starts first.

    The config loader refuses an ambiguous study (two phase names starting first on the same day); a
    study built in code that is ambiguous is refused here the same way.
    """
    if not study.phases:
        raise ReportInputError(NO_PHASES.format(source=source))
    if study.baseline is not None:
        return study.baseline
    first = min(phase.start for phase in study.phases)
    names = list(dict.fromkeys(phase.name for phase in study.phases if phase.start == first))
    if len(names) > 1:
        raise ReportInputError(
            f"{source}: phases {names[0]!r} and {names[1]!r} both start first, on {first}, so which is the "
            "baseline is ambiguous: name it with study.baseline"
        )
    return names[0]


def phase_names(study: Study) -> list[str]:
    """Each phase name once, in the order of first appearance."""
    return list(dict.fromkeys(phase.name for phase in study.phases))


def entries_for(study: Study, name: str, pool: str) -> list[Phase]:
    """The entries of phase ``name`` that apply to ``pool``."""
    return [phase for phase in study.phases if phase.name == name and (phase.pools is None or pool in phase.pools)]


def dates_in(study: Study, name: str, pool: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """The pool's dates in phase ``name`` from ``first`` to ``last`` (an open-ended entry ends with the range)."""
    found: set[dt.date] = set()
    for phase in entries_for(study, name, pool):
        start, end = max(phase.start, first), min(phase.end or last, last)
        found.update(start + dt.timedelta(days=offset) for offset in range((end - start).days + 1))
    return sorted(found)


def phase_days(study: Study, name: str, pool: Pool, first: dt.date, last: dt.date, days_mode: str) -> int:
    """The pool's days in the phase inside the report's range that --days keeps: all calendar days, those with
    opening hours, or Monday to Friday. Days without data or with too little coverage count too: the effect is
    the pool's, whether or not it was measured that day."""
    return sum(keeps_weekday(day, pool, days_mode) for day in dates_in(study, name, pool.name, first, last))


def interventions(
    study: Study, baseline: str, pools: Iterable[str], first: dt.date, last: dt.date, excluded: Iterable[str] = ()
) -> list[Intervention]:
    """Every (pool, non-baseline phase) the config puts in the range, in phase order, then pool order.

    The pool's baseline is its baseline days before its own start (a return to the baseline after the
    phase is no clean comparison). A control has, on every date of the treated pool's baseline and
    phase, the baseline phase or no phase (never treated over those dates: Callaway and Sant'Anna's
    comparison group); pools in ``excluded`` (never on) are no controls.
    """
    names = list(pools)
    skip = set(excluded)
    treated_on = {pool: _treated_dates(study, baseline, pool, first, last) for pool in names}
    found: list[Intervention] = []
    for phase in phase_names(study):
        if phase == baseline:
            continue
        for pool in names:
            in_phase = dates_in(study, phase, pool, first, last)
            if not in_phase:
                continue
            start = min(entry.start for entry in entries_for(study, phase, pool))
            before = frozenset(day for day in dates_in(study, baseline, pool, first, last) if day < start)
            window = before | frozenset(in_phase)
            controls = tuple(
                other for other in names if other != pool and other not in skip and not window & treated_on[other]
            )
            found.append(Intervention(pool, phase, start, frozenset(in_phase), before, controls))
    return found


def _treated_dates(study: Study, baseline: str, pool: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """The dates from first to last on which the pool is in a phase other than the baseline."""
    dates = (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))
    return {day for day in dates if study.phase_for(pool, day) not in (None, baseline)}


def pools_of(study: Study, name: str, pools: Mapping[str, Pool]) -> list[str]:
    """The pools phase ``name`` applies to (in the order of ``pools``)."""
    return [pool for pool in pools if entries_for(study, name, pool)]
