"""The report as Markdown, self-contained HTML (with the figure as inline SVG), CSV or JSON."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence

from pinger.config import Energy
from pinger.numbers import format_value

from .analysis import Analysis, Effect, EnergyChange, PhaseSummary
from .outcomes import COST, SHARE_ON_AT_CLOSE
from .request import Context
from .statistics import Interval


def render(report_format: str, analysis: Analysis, context: Context) -> str:
    if report_format == "json":
        return render_json(analysis, context)
    if report_format == "csv":
        return render_csv(analysis)
    if report_format == "html":
        return render_html(analysis, context)
    return render_markdown(analysis, context)


def method(analysis: Analysis, context: Context) -> str:
    """One paragraph on how every number of the report was made."""
    request = context.request
    days = {
        "all": "",
        "open": "; only days with opening hours count (--days open)",
        "weekdays": "; only Monday to Friday count (--days weekdays)",
    }[request.days_mode]
    kept = {
        "all": " (every calendar day)",
        "open": " that have opening hours (--days open)",
        "weekdays": " from Monday to Friday (--days weekdays)",
    }[request.days_mode]
    return (
        "The unit of analysis is the pool-day: each outcome is a pool's daily figure divided by its configured PCs "
        "(the share on at close: PCs on at closing time over PCs × closings that day). "
        f"Days with coverage below {request.min_coverage:g} are left out and counted{days}. "
        f"Phases are the config's study.phases; the first, {analysis.baseline!r}, is the baseline. "
        "Intervals are 95 % percentile intervals from a block bootstrap over calendar weeks (Monday to Sunday): "
        f"{analysis.resamples} resamples of whole weeks drawn with replacement within each phase, fixed seed "
        f"{analysis.seed}, so the weekly rhythm and the likeness of neighbouring days stay inside every resample; "
        "the resamples' spread is widened by sqrt(k / (k - 1)) for k weeks, as drawing k of k weeks understates it, "
        "and the interval's half-widths by t(0.975, df) / 1.96 (df = k - 1 for a mean, Welch-Satterthwaite for a "
        "difference; the normal quantile from df 30 on), as a spread estimated from few weeks is itself uncertain "
        "(on simulated weekly data this keeps a mean's coverage near 95 % from 3 weeks on; without it, 81 % at 3 "
        "weeks and 89 % at 8). A phase whose days in the range fall in a single calendar week has no "
        "interval (n/a), and neither has a difference involving it: every resample would be that one week. "
        "An effect versus baseline is the pool's mean in the phase minus its mean in the baseline. An effect versus "
        "controls is a difference-in-differences: per day, the pool's value minus the mean of the control pools "
        "(pools in the baseline or in no phase over the same dates), then that gap's mean in the phase minus its "
        "mean in the baseline; what all pools share (holidays, the term's rhythm) cancels out. p is a two-sided "
        f"permutation test: the week blocks of both periods are dealt out anew {analysis.permutations} times, "
        f"p = (1 + permutations at least as extreme) / (1 + {analysis.permutations}). The energy change per PC and "
        "day is the effect on energy per PC (versus controls when there are any); over the phase it is multiplied "
        f"by the pool's PCs and the number of the phase's days in the report's range{kept}, measured or not (a day "
        "left out for low coverage counts too)." + _money_method(analysis)
    )


def currency(analysis: Analysis) -> str:
    """The unit of cost: the config's energy.currency, or a neutral word when it names none."""
    return analysis.pricing.currency or "currency units"


def _money_method(analysis: Analysis) -> str:
    energy, parts = analysis.pricing, []
    if energy.priced:
        parts.append(
            f" The cost change (in {currency(analysis)}) is the effect on cost per PC, made the same way "
            "as the energy change, from the cost the aggregator stored for each day (on-time and standby "
            "energy priced by the tariff in force at each instant); days aggregated before pricing was "
            "configured have no cost and do not enter it."
        )
    if energy.co2_g_per_kwh is not None:
        parts.append(
            f" The CO2 change (kg) is the energy change times the configured {energy.co2_g_per_kwh:g} g "
            "per kWh, interval included."
        )
    return "".join(parts)


def number(value: float | None, outcome: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if outcome in (SHARE_ON_AT_CLOSE, COST) else f"{value:.2f}"  # a day's cost is cents


NO_INTERVAL = "n/a"  # fewer than two calendar weeks: see the report's notes


def interval_text(low: float | None, high: float | None, outcome: str = "") -> str:
    return NO_INTERVAL if low is None or high is None else f"{number(low, outcome)} to {number(high, outcome)}"


def p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _effect_cells(effect: Effect) -> list[str]:
    return [
        effect.pool,
        effect.phase,
        effect.outcome,
        effect.versus,
        number(effect.estimate, effect.outcome),
        interval_text(effect.ci_low, effect.ci_high, effect.outcome),
        p_value(effect.p),
        f"{effect.days} / {effect.baseline_days}",
    ]


def _with_interval(interval: Interval | None, decimals: int) -> str:
    if interval is None:
        return "–"
    if interval.low is None or interval.high is None:
        return f"{interval.estimate:.{decimals}f} ({NO_INTERVAL})"
    return f"{interval.estimate:.{decimals}f} ({interval.low:.{decimals}f} to {interval.high:.{decimals}f})"


def _energy_cells(change: EnergyChange, energy: Energy) -> list[str]:
    cells = [
        change.pool,
        change.phase,
        change.versus,
        _with_interval(change.per_pc_day, 3),
        str(change.pcs),
        str(change.phase_days),
        _with_interval(change.over_phase, 1),
    ]
    if energy.priced:
        cells += [_with_interval(change.cost_per_pc_day, 3), _with_interval(change.cost_over_phase, 2)]
    if energy.co2_g_per_kwh is not None:
        cells += [_with_interval(change.co2_per_pc_day, 3), _with_interval(change.co2_over_phase, 1)]
    return cells


def _phase_cells(summary: PhaseSummary) -> list[str]:
    interval = "–" if summary.mean is None else interval_text(summary.ci_low, summary.ci_high, summary.outcome)
    return [
        summary.pool,
        summary.phase,
        summary.outcome,
        str(summary.days),
        str(summary.days_left_out),
        number(summary.mean, summary.outcome),
        interval,
    ]


EFFECT_HEADER = ["pool", "phase", "outcome", "versus", "estimate", "95 % CI", "p", "days (phase / baseline)"]
ENERGY_HEADER = [
    "pool",
    "phase",
    "versus",
    "kWh per PC per day (95 % CI)",
    "PCs",
    "days",
    "kWh over the phase (95 % CI)",
]


def energy_header(analysis: Analysis) -> list[str]:
    """ENERGY_HEADER, then cost (with pricing) and CO2 (with an intensity), each per PC and day and over the phase."""
    header = list(ENERGY_HEADER)
    if analysis.pricing.priced:
        unit = currency(analysis)
        header += [f"{unit} per PC per day (95 % CI)", f"{unit} over the phase (95 % CI)"]
    if analysis.pricing.co2_g_per_kwh is not None:
        header += ["kg CO2 per PC per day (95 % CI)", "kg CO2 over the phase (95 % CI)"]
    return header


PHASE_HEADER = ["pool", "phase", "outcome", "days", "left out", "mean", "95 % CI"]


def _sections(analysis: Analysis) -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        ("Effects", EFFECT_HEADER, [_effect_cells(effect) for effect in analysis.effects]),
        (
            energy_title(analysis),
            energy_header(analysis),
            [_energy_cells(change, analysis.pricing) for change in analysis.energy],
        ),
        ("Phases", PHASE_HEADER, [_phase_cells(summary) for summary in analysis.phases]),
    ]


def energy_title(analysis: Analysis) -> str:
    return "In energy and money" if analysis.pricing.priced else "Energy"


def _title(context: Context) -> str:
    return f"Pinger report: {context.request.first} to {context.request.last}"


def _summary_line(context: Context) -> str:
    return f"Config {context.source}; pools {', '.join(context.request.pools)}; {len(context.days)} pool-days used."


def render_markdown(analysis: Analysis, context: Context) -> str:
    lines = [f"# {_title(context)}", "", _summary_line(context), "", "## Method", "", method(analysis, context), ""]
    for title, header, rows in _sections(analysis):
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["None in this range.", ""]
            continue
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    if analysis.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in analysis.notes] + [""]
    return "\n".join(lines)


def render_html(analysis: Analysis, context: Context) -> str:
    from .figure import FigureUnavailable, figure_svg

    try:
        figure = figure_svg(analysis, context)
    except FigureUnavailable as missing:
        figure = f"<p class=note>{html.escape(str(missing))}</p>"
    parts = [
        f"<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>{html.escape(_title(context))}"
        "</title>\n<style>body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.2rem .5rem;"
        "text-align:right}th:nth-child(-n+4),td:nth-child(-n+4){text-align:left}.note{color:#a40}"
        "</style>\n</head>\n<body>",
        f"<h1>{html.escape(_title(context))}</h1>",
        f"<p>{html.escape(_summary_line(context))}</p>",
        "<h2>Method</h2>",
        f"<p>{html.escape(method(analysis, context))}</p>",
        "<h2>Figure</h2>",
        figure,
    ]
    for title, header, rows in _sections(analysis):
        parts.append(f"<h2>{title}</h2>")
        parts.append(_html_table(header, rows) if rows else "<p>None in this range.</p>")
    if analysis.notes:
        parts += ["<h2>Notes</h2>", "<ul>"] + [f"<li>{html.escape(note)}</li>" for note in analysis.notes] + ["</ul>"]
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>\n" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}</table>"


CSV_COLUMNS = [
    "section",
    "pool",
    "phase",
    "outcome",
    "versus",
    "estimate",
    "ci_low",
    "ci_high",
    "p",
    "days",
    "days_left_out",
    "baseline_days",
]


def render_csv(analysis: Analysis) -> str:
    """One row per figure: section effect, energy (kWh over the phase; with pricing cost over the phase, with
    a CO2 intensity kg CO2 per PC and day and over the phase) or phase (the phase's mean). A missing figure
    (no interval with fewer than two calendar weeks, no mean when every day was left out) is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in analysis.effects:
        writer.writerow(
            [
                "effect",
                e.pool,
                e.phase,
                e.outcome,
                e.versus,
                format_value(e.estimate),
                format_value(e.ci_low),
                format_value(e.ci_high),
                format_value(e.p),
                e.days,
                "",
                e.baseline_days,
            ]
        )
    for c in analysis.energy:
        for name, interval in _csv_changes(c):
            writer.writerow(
                [
                    "energy",
                    c.pool,
                    c.phase,
                    name,
                    c.versus,
                    format_value(interval.estimate),
                    format_value(interval.low),
                    format_value(interval.high),
                    "",
                    c.phase_days,
                    "",
                    "",
                ]
            )
    for s in analysis.phases:
        writer.writerow(
            [
                "phase",
                s.pool,
                s.phase,
                s.outcome,
                "",
                format_value(s.mean),
                format_value(s.ci_low),
                format_value(s.ci_high),
                "",
                s.days,
                s.days_left_out,
                "",
            ]
        )
    return buffer.getvalue()


def _csv_changes(change: EnergyChange) -> list[tuple[str, Interval]]:
    """The energy section's figures in the CSV (per PC and day, kWh and cost are effect rows already)."""
    named = [
        ("energy_kwh_over_phase", change.over_phase),
        ("cost_over_phase", change.cost_over_phase),
        ("co2_kg_per_pc_day", change.co2_per_pc_day),
        ("co2_kg_over_phase", change.co2_over_phase),
    ]
    return [(name, interval) for name, interval in named if interval is not None]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _json_change(c: EnergyChange) -> dict[str, object]:
    """kWh, then cost and CO2 where the config gives them: per PC and day and over the phase, each with its interval."""
    found: dict[str, object] = {
        "pool": c.pool,
        "phase": c.phase,
        "versus": c.versus,
        "kwh_per_pc_day": _rounded(c.per_pc_day.estimate),
        "ci_low": _rounded(c.per_pc_day.low),
        "ci_high": _rounded(c.per_pc_day.high),
        "pcs": c.pcs,
        "phase_days": c.phase_days,
    }
    for prefix, interval in (
        ("kwh_over_phase", c.over_phase),
        ("cost_per_pc_day", c.cost_per_pc_day),
        ("cost_over_phase", c.cost_over_phase),
        ("co2_kg_per_pc_day", c.co2_per_pc_day),
        ("co2_kg_over_phase", c.co2_over_phase),
    ):
        if interval is not None:
            found.update(
                {
                    prefix: _rounded(interval.estimate),
                    f"{prefix}_ci_low": _rounded(interval.low),
                    f"{prefix}_ci_high": _rounded(interval.high),
                }
            )
    return found


def render_json(analysis: Analysis, context: Context) -> str:
    request = context.request
    document = {
        "method": method(analysis, context),
        "from": request.first.isoformat(),
        "to": request.last.isoformat(),
        "pools": list(request.pools),
        "min_coverage": request.min_coverage,
        "days": request.days_mode,
        "baseline": analysis.baseline,
        "resamples": analysis.resamples,
        "permutations": analysis.permutations,
        "seed": analysis.seed,
        "effects": [
            {
                "pool": e.pool,
                "phase": e.phase,
                "outcome": e.outcome,
                "versus": e.versus,
                "estimate": _rounded(e.estimate),
                "ci_low": _rounded(e.ci_low),
                "ci_high": _rounded(e.ci_high),
                "p": _rounded(e.p),
                "days": e.days,
                "baseline_days": e.baseline_days,
                "controls": list(e.controls),
            }
            for e in analysis.effects
        ],
        "phases": [
            {
                "pool": s.pool,
                "phase": s.phase,
                "outcome": s.outcome,
                "mean": _rounded(s.mean),
                "ci_low": _rounded(s.ci_low),
                "ci_high": _rounded(s.ci_high),
                "days": s.days,
                "days_left_out": s.days_left_out,
            }
            for s in analysis.phases
        ],
        "energy": [_json_change(c) for c in analysis.energy],
        "notes": analysis.notes,
    }
    if analysis.pricing.priced:
        document["currency"] = analysis.pricing.currency
    if analysis.pricing.co2_g_per_kwh is not None:
        document["co2_g_per_kwh"] = analysis.pricing.co2_g_per_kwh
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
