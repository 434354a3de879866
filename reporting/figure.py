"""The report's figure: per outcome, each pool's daily series with the phases shaded and the phase means with
their intervals, as SVG text (matplotlib, from the optional extra ``pinger[report]``, imported only here)."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from typing import TYPE_CHECKING

from .analysis import Analysis
from .request import Context

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LABELS = {
    "runtime_per_pc_h": "runtime per PC (h)",
    "runtime_closed_per_pc_h": "runtime outside opening hours per PC (h)",
    "share_on_at_close": "share of PCs on at closing",
    "energy_per_pc_kwh": "energy per PC (kWh)",
    "cost_per_pc": "cost per PC",
}


class FigureUnavailable(Exception):
    """matplotlib is not installed; the message says what to install."""


def figure_svg(analysis: Analysis, context: Context) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ready to sit inside HTML; no fonts or links fetched."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise FigureUnavailable("The figure needs matplotlib: pip install 'pinger[report]'.") from None
    outcomes = list(dict.fromkeys(summary.outcome for summary in analysis.phases if summary.mean is not None))
    pools = list(context.request.pools)
    with matplotlib.rc_context({"svg.hashsalt": "pinger-report", "svg.fonttype": "none"}):
        figure = Figure(figsize=(10, 2.6 * max(len(outcomes), 1)), layout="constrained")
        axes = figure.subplots(max(len(outcomes), 1), 1, sharex=True, squeeze=False)[:, 0]
        colours = {pool: f"C{index % 10}" for index, pool in enumerate(pools)}
        for ax, outcome in zip(axes, outcomes, strict=False):
            _shade_phases(ax, context)
            series: dict[str, list[tuple[dt.date, float, str | None]]] = defaultdict(list)
            for day in context.days:
                if outcome in day.values:
                    series[day.pool].append((day.day, day.values[outcome], day.phase))
            for pool, points in series.items():
                ax.plot(
                    [d for d, _, _ in points],
                    [v for _, v, _ in points],
                    lw=0.8,
                    alpha=0.6,
                    color=colours[pool],
                    label=pool,
                )
            _phase_means(ax, analysis, outcome, series, colours)
            label = LABELS.get(outcome, outcome)
            if outcome == "cost_per_pc" and analysis.pricing.currency:
                label += f" ({analysis.pricing.currency})"
            ax.set_ylabel(label, fontsize=8)
            ax.grid(alpha=0.3)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            figure.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 8), fontsize=8)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _phase_means(
    ax: Axes,
    analysis: Analysis,
    outcome: str,
    series: dict[str, list[tuple[dt.date, float, str | None]]],
    colours: dict[str, str],
) -> None:
    """Each pool's phase mean as a thick line over the phase's days, its interval (if any) as a band (two collections:
    one artist per mean costs seconds with 40 pools)."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.dates import date2num

    lines, bands, line_colours, band_colours = [], [], [], []
    for summary in analysis.phases:
        if summary.outcome != outcome or summary.mean is None:
            continue
        dates = [day for day, _, phase in series[summary.pool] if phase == summary.phase]
        if not dates:
            continue
        start, end = float(date2num(min(dates))), float(date2num(max(dates)))
        lines.append([(start, summary.mean), (end, summary.mean)])
        line_colours.append(colours[summary.pool])
        if summary.ci_low is not None and summary.ci_high is not None:  # none with a single week
            bands.append(
                [(start, summary.ci_low), (end, summary.ci_low), (end, summary.ci_high), (start, summary.ci_high)]
            )
            band_colours.append(colours[summary.pool])
    ax.add_collection(PolyCollection(bands, facecolors=band_colours, alpha=0.25, linewidths=0))
    ax.add_collection(LineCollection(lines, colors=line_colours, linewidths=2))
    ax.autoscale_view()


def _shade_phases(ax: Axes, context: Context) -> None:
    from matplotlib.dates import date2num

    first, last = context.request.first, context.request.last
    for index, phase in enumerate(context.phases):
        start, end = max(phase.start, first), min(phase.end or last, last)
        if start > end:
            continue
        ax.axvspan(
            float(date2num(start)),
            float(date2num(end + dt.timedelta(days=1))),
            color=f"C{(index + 3) % 10}",
            alpha=0.1,
            lw=0,
            label=f"phase {phase.name}" + (f" ({', '.join(sorted(phase.pools))})" if phase.pools else ""),
        )
