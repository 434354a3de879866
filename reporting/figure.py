"""The report's figure, as SVG text (matplotlib, from the optional extra ``pinger[report]``, imported only here).

The upper panel is the effect over time: per treated pool, each week's gap to its controls relative
to its baseline (the event study), with its 95 % band, the phase's overall effect as a line over its
weeks, and a dashed line where each phase starts (one per start date with staggered starts). Before
the start the weeks should hover around 0 (the pre-trend), after it they show the effect and whether
it fades. The lower panel shows each pool's weekly mean runtime per PC, the levels the gaps come from.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from pinger.errors import FigureUnavailable

from .analysis import CONTROLS, Analysis
from .comparison import WeekGap
from .outcomes import RUNTIME
from .request import Context
from .statistics import week_number

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def require_matplotlib() -> None:
    """Raise FigureUnavailable, whose sentence says what to install, when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise FigureUnavailable("The figure needs matplotlib: pip install 'pinger[report]'.") from None


def svg_or_note(draw: Callable[[], str]) -> str:
    """The figure ``draw`` makes (SVG text), or without matplotlib a note in its place saying what to install."""
    try:
        return draw()
    except FigureUnavailable as missing:
        return f"<p class=note>{html.escape(str(missing))}</p>"


def figure_svg(analysis: Analysis, context: Context) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ready to sit inside HTML; no fonts or links fetched."""
    require_matplotlib()
    import matplotlib
    from matplotlib.figure import Figure

    pools = list(context.request.pools)
    colours = {pool: f"C{index % 10}" for index, pool in enumerate(pools)}
    with matplotlib.rc_context({"svg.hashsalt": "pinger-report", "svg.fonttype": "none"}):
        figure = Figure(figsize=(10, 6.4), layout="constrained")
        effect_ax, level_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        _effects(effect_ax, analysis, colours)
        _levels(level_ax, context, colours)
        _starts(effect_ax, level_ax, analysis)
        for ax in (effect_ax, level_ax):
            ax.xaxis_date()  # the x values are matplotlib date numbers
        handles, labels = effect_ax.get_legend_handles_labels()
        if handles:
            effect_ax.legend(handles, labels, loc="upper left", fontsize=7, ncols=min(len(labels), 4))
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _x(day: dt.date) -> float:
    """A date as matplotlib's axis number (days since its epoch)."""
    from matplotlib.dates import date2num

    return float(date2num(day))


def _middle(week: WeekGap) -> float:
    return _x(week.first + dt.timedelta(days=3))


def _effects(ax: Axes, analysis: Analysis, colours: dict[str, str]) -> None:
    by_pool: dict[tuple[str, str], list[WeekGap]] = defaultdict(list)
    for week in analysis.weeks:
        by_pool[week.pool, week.phase].append(week)
    ax.axhline(0.0, color="0.4", lw=0.8)
    for (pool, phase), weeks in by_pool.items():
        colour = colours.get(pool, "C0")
        dates = [_middle(week) for week in weeks]
        ax.plot(dates, [week.gap for week in weeks], marker="o", ms=3, lw=1.2, color=colour, label=f"{pool}: {phase}")
        banded = [
            (_middle(week), week.ci_low, week.ci_high)
            for week in weeks
            if week.ci_low is not None and week.ci_high is not None
        ]
        if banded:
            ax.fill_between(
                [x for x, _, _ in banded],
                [low for _, low, _ in banded],
                [high for _, _, high in banded],
                color=colour,
                alpha=0.15,
                lw=0,
            )
        effect = next(
            (
                e
                for e in analysis.effects
                if e.pool == pool and e.phase == phase and e.outcome == RUNTIME and e.versus == CONTROLS
            ),
            None,
        )
        after = [week for week in weeks if week.week >= 0]
        if effect is not None and after:
            ax.hlines(
                effect.estimate, _x(after[0].first), _x(after[-1].first + dt.timedelta(days=7)), colors=colour, lw=2.5
            )
    if not by_pool:
        ax.text(0.5, 0.5, "no effect versus controls to show", transform=ax.transAxes, ha="center", fontsize=9)
    ax.set_ylabel("weekly gap to controls,\nminus the baseline's (h per PC)", fontsize=8)
    ax.set_title("Effect over time: runtime per PC and day versus controls (95 % band)", fontsize=9)
    ax.grid(alpha=0.3)


def _levels(ax: Axes, context: Context, colours: dict[str, str]) -> None:
    sums: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for day in context.days:
        if RUNTIME in day.values:
            sums[day.pool][week_number(day.day.toordinal(), 1)].append(day.values[RUNTIME])
    for pool, weeks in sums.items():
        ordered = sorted(weeks)
        ax.plot(
            [_x(dt.date.fromordinal(week * 7 + 1 + 3)) for week in ordered],
            [sum(weeks[week]) / len(weeks[week]) for week in ordered],
            lw=0.8,
            alpha=0.7,
            color=colours.get(pool, "C0"),
        )
    ax.set_ylabel("weekly mean runtime\nper PC (h)", fontsize=8)
    ax.grid(alpha=0.3)


def _starts(effect_ax: Axes, level_ax: Axes, analysis: Analysis) -> None:
    """A dashed line at each phase's start in each pool's event study (staggered starts: one per date)."""
    starts: dict[dt.date, set[str]] = defaultdict(set)
    for week in analysis.weeks:
        if week.week == 0:
            starts[week.first].add(week.phase)
    for index, (day, phases) in enumerate(sorted(starts.items())):
        for ax in (effect_ax, level_ax):
            ax.axvline(_x(day), color="0.2", ls="--", lw=0.8)
        effect_ax.annotate(
            f"{', '.join(sorted(phases))} starts {day}",
            (_x(day), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -10 - 9 * (index % 3)),  # starts a week apart: labels one under the other
            textcoords="offset points",
            fontsize=7,
        )
