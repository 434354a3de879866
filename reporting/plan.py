"""`pinger plan`: how large an effect a study could detect, before it starts, from the weeks already collected.

The pilot is the pools' kept days in the range while in the baseline or in no phase, as whole
calendar weeks (Monday to Sunday) of every pool together. A planned study of B baseline weeks and
m intervention weeks is simulated by drawing B + m weeks from the pilot in blocks of consecutive
weeks (a circular moving-block bootstrap, the same weeks for every pool, so the shocks pools share
and the likeness of neighbouring weeks come along), then running the report's own estimator on it:
the treated pool against its controls, the t-test with AR(1) weeks. No effect is added, so each
draw gives the estimate the noise alone makes, its standard error and degrees of freedom; an effect
d moves the estimate by d and leaves the standard error as it is (the variance is fitted around the
periods' means), so the power against d is the share of draws with |estimate - d| / se beyond the
t quantile. The minimum detectable effect (MDE) is the smallest reduction detected with 80 % power
at alpha 0.05. The same draws with random subsets of k controls show what each added control buys.

With one treated pool the report also gives the cross-pool placebo, whose p cannot be smaller than
1 / (1 + controls): the plan prints that floor beside each number of controls. The report's own
t-test has no floor; with few weeks its degrees of freedom are few, which the MDE shows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from pinger.config import Config, Pool, Study
from pinger.errors import ReportInputError
from pinger.models import PoolDay
from pinger.output import write_text
from pinger.progress import Progress

from . import statistics as stats
from .comparison import gap_of, quick_test
from .outcomes import RUNTIME, Selection, select_days
from .study import baseline_of

if TYPE_CHECKING:
    from .statistics import Floats

SEED = 20261101  # fixed: the same pilot gives the same plan
POWER = 0.8
ALPHA = 0.05
WEEKS = tuple(range(2, 17))
MIN_PILOT_WEEKS = 4
BLOCK_WEEKS = 2  # weeks drawn together: neighbouring weeks stay neighbours


class PlanRequest(NamedTuple):
    first: dt.date
    last: dt.date
    pools: tuple[str, ...]  # the pools to consider, in config order unless --pools orders them
    treated: tuple[str, ...]  # empty: the pools the config's study.phases treat
    min_coverage: float = 0.9
    days_mode: str = "all"
    baseline_weeks: int | None = None  # None: as many as the pilot has
    weeks: tuple[int, ...] = WEEKS
    reference_weeks: int = 8  # the intervention length the control table is computed for
    simulations: int = 200
    seed: int = SEED


class Design(NamedTuple):
    """One treated pool, B baseline and m intervention weeks, k controls: its minimum detectable effect."""

    pool: str
    baseline_weeks: int
    weeks: int
    controls: int
    mde: float | None  # h per PC and day; None: not reached (too few weeks for a test)
    mde_kwh: float | None  # the same in the pool's own kWh per PC and day
    se: float  # the median standard error of the simulated estimates
    df: float  # the median degrees of freedom
    placebo_p_floor: float  # the cross-pool placebo's smallest p: 1 / (1 + controls)


class Plan(NamedTuple):
    source: str
    request: PlanRequest
    treated: tuple[str, ...]
    controls: tuple[str, ...]
    pilot_weeks: int
    baseline_weeks: int
    designs: list[Design]  # per treated pool, per intervention length, all controls
    by_controls: list[Design]  # per treated pool, per number of controls, at reference_weeks
    notes: list[str]


def run_plan(config: Config, request: PlanRequest, plan_format: str, output: str | None) -> None:
    from .report import stored_rows

    rows = stored_rows(config, request.first, request.last, request.pools)
    pools = {pool.name: pool for pool in config.pools}
    found = plan_rows(rows, pools, config.study, config.timezone, request, source=str(config.source))
    write_text(output, render_plan(plan_format, found))


def plan_rows(
    rows: Sequence[PoolDay],
    pools: Mapping[str, Pool],
    study: Study,
    tz: ZoneInfo,
    request: PlanRequest,
    *,
    source: str = "the config",
) -> Plan:
    """The plan from pilot rows; ReportInputError (exit 2) when they cannot give one, the sentence says why."""
    pools = {name: pools[name] for name in request.pools if name in pools}
    baseline = baseline_of(study, source) if study.phases else None
    treated = request.treated or tuple(
        name for name in pools if any(p.name != baseline and (p.pools is None or name in p.pools) for p in study.phases)
    )
    if not treated:
        raise ReportInputError(
            "no pool to treat: name the pools the intervention will go to with --treated A,B (or give them a phase "
            f"in {source}'s study.phases)"
        )
    span = f"from {request.first} to {request.last}"
    notes: list[str] = []
    selection = select_days(rows, pools, study, tz, request.min_coverage, request.days_mode)
    runtime = _pilot_runtime(selection, baseline, pools)
    if runtime.skipped:
        notes.append(
            f"{runtime.skipped} pool-days {span} lie in a phase other than the baseline and are not part of the pilot."
        )
    if runtime.never_on:
        notes.append(
            f"{', '.join(runtime.never_on)} never on in the pilot (runtime 0 on every kept day): left out, most likely "
            "misconfigured."
        )
    missing = [name for name in treated if name not in runtime.usable]
    if missing:
        raise ReportInputError(
            f"pool {missing[0]} has no usable pilot days {span} (none kept, or never on): pick a range it was "
            "measured in, or lower --min-coverage"
        )
    controls = tuple(name for name in pools if name not in treated and name in runtime.usable)
    if not controls:
        raise ReportInputError(
            f"no control pool: every pool in the range is treated or has no usable days {span}; a study needs at "
            "least one pool that stays untreated"
        )
    first_monday = request.first + dt.timedelta(days=(7 - request.first.weekday()) % 7)
    pilot_weeks = max(0, ((request.last - first_monday).days + 1) // 7)
    if pilot_weeks < MIN_PILOT_WEEKS:
        raise ReportInputError(
            f"the range {span} holds {pilot_weeks} whole calendar weeks (Monday to Sunday); the plan resamples "
            f"weeks and needs at least {MIN_PILOT_WEEKS}"
        )
    panel = _week_panel(runtime.usable, list(treated) + list(controls), first_monday, pilot_weeks)
    baseline_weeks = request.baseline_weeks or pilot_weeks
    designs, by_controls = _designs(panel, treated, len(controls), pools, request, baseline_weeks)
    return Plan(source, request, tuple(treated), controls, pilot_weeks, baseline_weeks, designs, by_controls, notes)


class _PilotRuntime(NamedTuple):
    """The pilot's runtime per PC and day of each pool that has kept days and was on on some (``usable``),
    the pools never on, and how many kept days lie in other phases (not part of the pilot)."""

    usable: dict[str, dict[dt.date, float]]
    never_on: list[str]
    skipped: int


def _pilot_runtime(selection: Selection, baseline: str | None, pools: Iterable[str]) -> _PilotRuntime:
    pilot_days = [kept for kept in selection.days if kept.phase in (None, baseline) and RUNTIME in kept.values]
    runtime: dict[str, dict[dt.date, float]] = {name: {} for name in pools}
    for kept in pilot_days:
        runtime[kept.pool][kept.day] = kept.values[RUNTIME]
    never_on = [name for name, values in runtime.items() if values and not any(v > 0 for v in values.values())]
    usable = {name: values for name, values in runtime.items() if values and name not in never_on}
    return _PilotRuntime(usable, never_on, len(selection.days) - len(pilot_days))


def _week_panel(
    runtime: Mapping[str, Mapping[dt.date, float]], names: list[str], first_monday: dt.date, weeks: int
) -> stats.Floats:
    """Pools × weeks × weekdays of runtime from ``first_monday``, NaN where a day was not kept."""
    panel = np.full((len(names), weeks, 7), np.nan)
    for row, name in enumerate(names):
        for day, value in runtime[name].items():
            offset = (day - first_monday).days
            if 0 <= offset < weeks * 7:
                panel[row, offset // 7, offset % 7] = value
    return panel


def _designs(
    panel: stats.Floats,
    treated: Sequence[str],
    controls: int,
    pools: Mapping[str, Pool],
    request: PlanRequest,
    baseline_weeks: int,
) -> tuple[list[Design], list[Design]]:
    """Resampled studies per treated pool: for each intervention length with all controls, then for each number
    of controls at the reference length (progress shown as they go)."""
    rng = np.random.default_rng(request.seed)
    per_hour = {name: _kwh_per_pc_hour(pools[name]) for name in treated}
    lengths = sorted(set(request.weeks))
    counts = _control_counts(controls)
    progress = Progress(len(lengths) + len(counts), "plan")
    designs: list[Design] = []
    for done, weeks in enumerate(lengths, 1):
        draws = _draws(panel, len(treated), baseline_weeks, weeks, controls, request.simulations, rng)
        designs += [
            _design(name, baseline_weeks, weeks, controls, draws[i], per_hour[name]) for i, name in enumerate(treated)
        ]
        progress.update(done, f"{weeks} weeks")
    by_controls: list[Design] = []
    for done, k in enumerate(counts, len(lengths) + 1):
        draws = _draws(panel, len(treated), baseline_weeks, request.reference_weeks, k, request.simulations, rng)
        by_controls += [
            _design(name, baseline_weeks, request.reference_weeks, k, draws[i], per_hour[name])
            for i, name in enumerate(treated)
        ]
        progress.update(done, f"{k} controls")
    return designs, by_controls


def _control_counts(available: int) -> list[int]:
    """1 … 8 controls, then steps of 2 up to 16, then every 4th, and all of them."""
    counts = [k for k in range(1, available + 1) if k <= 8 or (k <= 16 and k % 2 == 0) or k % 4 == 0]
    return counts if counts[-1] == available else counts + [available]


def _kwh_per_pc_hour(pool: Pool) -> float:
    hosts = pool.hosts
    return sum(host.watts - host.standby_watts for host in hosts) / len(hosts) / 1000.0 if hosts else 0.0


class Draws(NamedTuple):
    estimate: Floats  # under no effect
    se: Floats  # NaN: no test (too few weeks)
    df: Floats


def _draws(
    panel: Floats,
    treated: int,
    baseline: int,
    weeks: int,
    controls: int,
    simulations: int,
    rng: np.random.Generator,
) -> list[Draws]:
    """``simulations`` resampled studies; per treated pool the null estimate, its standard error and df.

    Row ``treated + j`` of ``panel`` is control j; each draw uses a random subset of ``controls`` of them.
    """
    pilot = panel.shape[1]
    total = baseline + weeks
    days = total * 7
    offsets = np.arange(days, dtype=np.int64) - baseline * 7
    after = offsets >= 0
    available = panel.shape[0] - treated
    found = [([], [], []) for _ in range(treated)]  # type: list[tuple[list[float], list[float], list[float]]]
    for _ in range(simulations):
        starts = rng.integers(0, pilot, size=math.ceil(total / BLOCK_WEEKS))
        picked = ((starts[:, None] + np.arange(BLOCK_WEEKS)[None, :]) % pilot).reshape(-1)[:total]
        chosen = treated + np.sort(rng.choice(available, size=controls, replace=False))
        study = panel[:, picked, :].reshape(panel.shape[0], days)
        for row in range(treated):
            gap = gap_of(study[row], study[chosen], offsets, after)
            test = None if gap is None else quick_test(gap)
            estimate, se, df = found[row]
            if test is None or test.se is None or test.df is None:
                estimate.append(0.0 if test is None else test.estimate)
                se.append(math.nan)
                df.append(math.nan)
            else:
                estimate.append(test.estimate)
                se.append(test.se)
                df.append(test.df)
    return [Draws(np.array(e), np.array(s), np.array(d)) for e, s, d in found]


def power(draws: Draws, effect: float) -> float:
    """The share of draws in which an effect of ``effect`` would give p < 0.05 (a draw without a test: never)."""
    tested = np.isfinite(draws.se)
    if not tested.any():
        return 0.0
    quantiles = np.array([stats.t_quantile(df) if np.isfinite(df) else math.inf for df in draws.df])
    shifted = np.abs(draws.estimate + effect)
    with np.errstate(invalid="ignore"):
        hits = tested & (shifted > quantiles * np.where(tested, draws.se, 1.0))
    return float(hits.sum() / len(draws.se))


def minimum_detectable(draws: Draws, target: float = POWER) -> float | None:
    """The smallest reduction detected with ``target`` power (bisection; None when no effect reaches it)."""
    tested = np.isfinite(draws.se)
    if tested.sum() < target * len(draws.se):
        return None
    high = float(np.nanmax(draws.se)) * 50.0 + float(np.abs(draws.estimate).max()) + 1e-9
    if power(draws, -high) < target:
        return None
    low = 0.0
    for _ in range(60):
        middle = (low + high) / 2.0
        if power(draws, -middle) >= target:
            high = middle
        else:
            low = middle
    return high


def _design(name: str, baseline: int, weeks: int, controls: int, draws: Draws, per_hour: float) -> Design:
    mde = minimum_detectable(draws)
    tested = np.isfinite(draws.se)
    return Design(
        name,
        baseline,
        weeks,
        controls,
        mde,
        None if mde is None else mde * per_hour,
        float(np.median(draws.se[tested])) if tested.any() else math.nan,
        float(np.median(draws.df[tested])) if tested.any() else math.nan,
        1.0 / (1 + controls),
    )


# --- output -----------------------------------------------------------------------------------------------------


def plan_method(plan: Plan) -> str:
    request = plan.request
    return (
        f"Pilot: the kept days (coverage at least {request.min_coverage:g}, --days {request.days_mode}) from "
        f"{request.first} to {request.last} of {', '.join(plan.treated + plan.controls)} outside any intervention "
        f"phase, {plan.pilot_weeks} whole calendar weeks. Each planned study ({plan.baseline_weeks} baseline weeks, "
        f"then the intervention weeks in the table) is drawn {request.simulations} times from those weeks in blocks "
        f"of {BLOCK_WEEKS} consecutive weeks, the same weeks for every pool (seed {request.seed}), and analysed as "
        "`pinger report` does: the treated pool against its controls with pool and day effects, the t-test with "
        "AR(1) weeks. The minimum detectable effect (MDE) is the smallest reduction in runtime per PC and day that "
        f"gives p < {ALPHA:g} in {POWER:.0%} of the draws, in hours and in the pool's own kWh per PC and day (its "
        "watts minus standby watts). The report's t-test has no p floor; with one treated pool its cross-pool "
        "placebo has one, 1 / (1 + controls), shown beside each number of controls: below 19 controls it cannot "
        "reach 0.05. Resampled weeks inherit the pilot's variance, its shared shocks and the likeness of "
        "neighbouring weeks within a block; a pilot that is calmer than the study will be (no exam weeks, no "
        "holidays) makes the MDE too optimistic."
    )


def _mde_text(value: float | None, decimals: int) -> str:
    return "not reached" if value is None else f"{value:.{decimals}f}"


DESIGN_HEADER = [
    "pool",
    "baseline weeks",
    "intervention weeks",
    "controls",
    "MDE (h per PC and day)",
    "MDE (kWh per PC and day)",
    "median se",
    "median df",
]
CONTROL_HEADER = [
    "pool",
    "intervention weeks",
    "controls",
    "MDE (h per PC and day)",
    "gain of the last control",
    "placebo p floor",
]


def _design_cells(design: Design) -> list[str]:
    return [
        design.pool,
        str(design.baseline_weeks),
        str(design.weeks),
        str(design.controls),
        _mde_text(design.mde, 2),
        _mde_text(design.mde_kwh, 3),
        "–" if math.isnan(design.se) else f"{design.se:.3f}",
        "–" if math.isnan(design.df) else f"{design.df:.1f}",
    ]


def _control_rows(plan: Plan) -> list[list[str]]:
    rows, previous = [], {}  # type: list[list[str]], dict[str, float | None]
    for design in plan.by_controls:
        before = previous.get(design.pool)
        gain = "–" if before is None or design.mde is None else f"{before - design.mde:.3f}"
        previous[design.pool] = design.mde
        rows.append(
            [
                design.pool,
                str(design.weeks),
                str(design.controls),
                _mde_text(design.mde, 2),
                gain,
                f"{design.placebo_p_floor:.3f}",
            ]
        )
    return rows


def render_plan(plan_format: str, plan: Plan) -> str:
    if plan_format == "json":
        return _json(plan)
    if plan_format == "html":
        return _html(plan)
    return _markdown(plan)


def _title(plan: Plan) -> str:
    return f"Pinger plan: what a study of {', '.join(plan.treated)} could detect"


def _markdown(plan: Plan) -> str:
    lines = [f"# {_title(plan)}", "", "## Method", "", plan_method(plan), ""]
    for title, header, rows in _tables(plan):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows] + [""]
    if plan.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in plan.notes] + [""]
    return "\n".join(lines)


def _tables(plan: Plan) -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        ("Minimum detectable effect by intervention length", DESIGN_HEADER, [_design_cells(d) for d in plan.designs]),
        (
            f"What each control pool adds ({plan.request.reference_weeks} intervention weeks)",
            CONTROL_HEADER,
            _control_rows(plan),
        ),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 6)


def _json_design(design: Design) -> dict[str, object]:
    return {
        "pool": design.pool,
        "baseline_weeks": design.baseline_weeks,
        "weeks": design.weeks,
        "controls": design.controls,
        "mde_h": _round(design.mde),
        "mde_kwh": _round(design.mde_kwh),
        "median_se": _round(design.se),
        "median_df": _round(design.df),
        "placebo_p_floor": _round(design.placebo_p_floor),
    }


def _json(plan: Plan) -> str:
    import json

    request = plan.request
    document = {
        "method": plan_method(plan),
        "from": request.first.isoformat(),
        "to": request.last.isoformat(),
        "treated": list(plan.treated),
        "controls": list(plan.controls),
        "pilot_weeks": plan.pilot_weeks,
        "baseline_weeks": plan.baseline_weeks,
        "power": POWER,
        "alpha": ALPHA,
        "simulations": request.simulations,
        "seed": request.seed,
        "designs": [_json_design(d) for d in plan.designs],
        "by_controls": [_json_design(d) for d in plan.by_controls],
        "notes": plan.notes,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _html(plan: Plan) -> str:
    import html

    from .figure import svg_or_note

    figure = svg_or_note(lambda: _figure(plan))
    parts = [
        f"<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>{html.escape(_title(plan))}</title>\n"
        "<style>body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.2rem .5rem;"
        "text-align:right}.note{color:#a40}</style>\n</head>\n<body>",
        f"<h1>{html.escape(_title(plan))}</h1>",
        "<h2>Method</h2>",
        f"<p>{html.escape(plan_method(plan))}</p>",
        "<h2>Figure</h2>",
        figure,
    ]
    for title, header, rows in _tables(plan):
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in rows)
        parts += [f"<h2>{html.escape(title)}</h2>", f"<table>\n<tr>{head}</tr>\n{body}</table>"]
    if plan.notes:
        parts += ["<h2>Notes</h2>", "<ul>"] + [f"<li>{html.escape(n)}</li>" for n in plan.notes] + ["</ul>"]
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def _figure(plan: Plan) -> str:
    """MDE against intervention weeks, and against the number of controls, per treated pool (SVG text)."""
    import io

    from .figure import require_matplotlib

    require_matplotlib()
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "pinger-plan", "svg.fonttype": "none"}):
        figure = Figure(figsize=(10, 3.6), layout="constrained")
        by_weeks, by_controls = figure.subplots(1, 2)
        for index, pool in enumerate(plan.treated):
            colour = f"C{index % 10}"
            rows = [d for d in plan.designs if d.pool == pool and d.mde is not None]
            by_weeks.plot([d.weeks for d in rows], [d.mde for d in rows], marker="o", color=colour, label=pool)
            rows = [d for d in plan.by_controls if d.pool == pool and d.mde is not None]
            by_controls.plot([d.controls for d in rows], [d.mde for d in rows], marker="o", color=colour)
        by_weeks.set_xlabel("intervention weeks")
        by_weeks.set_ylabel(f"MDE, h per PC and day ({POWER:.0%} power, alpha {ALPHA:g})", fontsize=8)
        by_controls.set_xlabel(f"control pools ({plan.request.reference_weeks} intervention weeks)")
        for ax in (by_weeks, by_controls):
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
        by_weeks.legend(fontsize=7)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
