"""The report as Markdown, self-contained HTML (with the figure as inline SVG), CSV or JSON.

Every format carries the same figures: the tables are built once (``_sections``) and JSON holds the
same values unrounded to six decimals, so md, html and csv equal json cell for cell.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence

from pinger.config import Energy
from pinger.numbers import format_value

from .analysis import Analysis, Effect, EnergyChange, PhaseSummary, Placebo
from .comparison import Check, WeekGap
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
    """How every number of the report was made, and what it assumes."""
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
        f"Phases are the config's study.phases; the baseline is {analysis.baseline!r} (study.baseline names it, "
        "else it is the phase that starts first; the order of the list does not matter). A phase name whose "
        "entries start on different dates in different pools is one intervention, each pool from its own start, "
        "and a pool's baseline is its baseline days before that start. "
        "Effect versus controls: a treated pool's controls are the pools that are in the baseline or in no phase "
        "on every date of its baseline and phase (never treated over those dates) and were ever on. Pool and day "
        "effects are fitted on the controls' days (two-way fixed effects); the pool's gap on a day is its value "
        "minus that day's effect, and the effect is the gap's mean over its phase days minus its mean over its "
        "baseline days. With every pool present every day this is the classic difference-in-differences (the pool "
        "minus the controls' daily mean); a control that misses days does not shift it, because its level is its "
        "pool effect. It assumes parallel trends: without the phase the pool would have moved by as many hours as "
        "its controls. What every pool shares cancels only when it shifts every pool by the same hours: a holiday "
        "that cuts runtime in proportion (a busier pool loses more hours) does not, and shows in the weekly gaps "
        "and, in the baseline, in the pre-trend check. An effect versus baseline is the pool's mean in the phase "
        "minus its mean in the baseline; it counts every change over time as an effect. "
        "Uncertainty: the units are weeks (7-day blocks from the pool's start; calendar weeks for the phase means), "
        "which are assumed to be independent apart from the likeness of neighbouring weeks, and that likeness is "
        "measured: the gap's weekly means are an AR(1) series around one mean per period, whose correlation of "
        "neighbouring weeks (rho) is the lag-one autocorrelation of overlapping 7-day means (a week starting on "
        "every day), pooled over the treated pool's gap and its controls' residuals, corrected for short series by "
        "(1 + 3 rho) / n (Kendall) and kept between 0 and 0.95 (so intervals are never narrower than with "
        "independent weeks, and err on the wide side). The interval is the estimate ± t(0.975, df) × its standard "
        "error "
        "and p is the two-sided t-test, with df the effective number of weeks n (1 − rho) / (1 + rho) minus the "
        "means fitted, so p < 0.05 exactly when the interval excludes 0, and p has no floor. Each period needs 2 "
        "weeks for an interval. Checks on the baseline: a pre-trend placebo (the baseline's later half minus its "
        "earlier half, in the gap) and whether the pool's own weeks are more alike than the pooled rho says; a "
        "failed check is a warning on the effect. With one treated pool in a phase, each control is also taken as "
        "if it had been treated on the same dates (cross-pool placebo); the share of placebo effects at least as "
        "large as the real one is a p that cannot be smaller than 1 / (1 + controls), printed beside it. "
        "Energy: the runtime effect in the treated pool's own terms, times its PCs' mean watts minus standby watts "
        "(a PC that is off rather than on saves the difference), so pools with other watts do not enter; over the "
        "phase times its PCs and its days of the phase in the report's range"
        f"{kept}, measured or not." + _money_method(analysis)
    )


def currency(analysis: Analysis) -> str:
    """The unit of cost: the config's energy.currency, or a neutral word when it names none."""
    return analysis.pricing.currency or "currency units"


def _money_method(analysis: Analysis) -> str:
    energy, parts = analysis.pricing, []
    if energy.priced:
        parts.append(
            f" Cost (in {currency(analysis)}): the kWh change times the pool's own price per kWh, its stored cost "
            "over its kWh on its baseline days (its tariffs as its PCs used them; with time-of-use tariffs this "
            "assumes the saved hours fall on the tariffs as its baseline hours did)."
        )
    if energy.co2_g_per_kwh is not None:
        parts.append(f" CO2 (kg): the kWh change times the configured {energy.co2_g_per_kwh:g} g per kWh.")
    return "".join(parts)


def number(value: float | None, outcome: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if outcome in (SHARE_ON_AT_CLOSE, COST) else f"{value:.2f}"  # a day's cost is cents


NO_INTERVAL = "n/a"  # too few weeks: see the report's notes


def interval_text(low: float | None, high: float | None, outcome: str = "") -> str:
    return NO_INTERVAL if low is None or high is None else f"{number(low, outcome)} to {number(high, outcome)}"


def p_value(p: float | None) -> str:
    if p is None:
        return NO_INTERVAL
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _effect_cells(effect: Effect) -> list[str]:
    weeks = f"{effect.weeks} / {effect.baseline_weeks}" if effect.versus == "controls" else "–"
    return [
        effect.pool,
        effect.phase,
        effect.outcome,
        effect.versus,
        number(effect.estimate, effect.outcome),
        interval_text(effect.ci_low, effect.ci_high, effect.outcome),
        p_value(effect.p),
        f"{effect.days} / {effect.baseline_days}",
        weeks,
        "–" if effect.rho is None else f"{effect.rho:.2f}",
        "warning" if effect.warning else ("ok" if effect.versus == "controls" else "–"),
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
        f"{change.kwh_per_pc_hour:.3f}",
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


def _week_cells(week: WeekGap) -> list[str]:
    return [
        week.pool,
        week.phase,
        str(week.week),
        week.first.isoformat(),
        str(week.days),
        number(week.gap, week.outcome),
        interval_text(week.ci_low, week.ci_high, week.outcome),
    ]


def _check_cells(check: Check) -> list[str]:
    estimate = "–" if check.estimate is None else f"{check.estimate:.2f}"
    interval = "–" if check.ci_low is None else interval_text(check.ci_low, check.ci_high)
    return [
        check.pool,
        check.phase,
        check.name,
        estimate,
        interval,
        "–" if check.p is None else p_value(check.p),
        "passed" if check.passed else "failed",
        check.detail,
    ]


def _placebo_cells(placebo: Placebo) -> list[str]:
    return [
        placebo.pool,
        placebo.phase,
        number(placebo.estimate),
        ", ".join(f"{pool} {number(value)}" for pool, value in placebo.placebos),
        f"{placebo.p:.3f}",
        f"{placebo.p_floor:.3f}",
    ]


EFFECT_HEADER = [
    "pool",
    "phase",
    "outcome",
    "versus",
    "estimate",
    "95 % CI",
    "p",
    "days (phase / baseline)",
    "weeks (phase / baseline)",
    "rho",
    "checks",
]
ENERGY_HEADER = [
    "pool",
    "phase",
    "versus",
    "kWh per PC-hour",
    "kWh per PC per day (95 % CI)",
    "PCs",
    "days",
    "kWh over the phase (95 % CI)",
]
WEEK_HEADER = ["pool", "phase", "week", "from", "days", "gap to baseline (h per PC)", "95 % CI"]
CHECK_HEADER = ["pool", "phase", "check", "estimate", "95 % CI", "p", "result", "what it says"]
PLACEBO_HEADER = ["pool", "phase", "effect", "placebo effects", "p (rank)", "smallest attainable p"]


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
        ("Checks on the baseline", CHECK_HEADER, [_check_cells(check) for check in analysis.checks]),
        ("Cross-pool placebo", PLACEBO_HEADER, [_placebo_cells(placebo) for placebo in analysis.placebos]),
        ("Weekly gaps (runtime per PC versus controls)", WEEK_HEADER, [_week_cells(week) for week in analysis.weeks]),
        ("Phases", PHASE_HEADER, [_phase_cells(summary) for summary in analysis.phases]),
    ]


def warnings(analysis: Analysis) -> list[str]:
    return [
        f"{effect.pool}, {effect.phase}, {effect.outcome}: {effect.warning}."
        for effect in analysis.effects
        if effect.warning
    ]


def energy_title(analysis: Analysis) -> str:
    return "In energy and money" if analysis.pricing.priced else "Energy"


def _title(context: Context) -> str:
    return f"Pinger report: {context.request.first} to {context.request.last}"


def _summary_line(context: Context) -> str:
    return f"Config {context.source}; pools {', '.join(context.request.pools)}; {len(context.days)} pool-days used."


def render_markdown(analysis: Analysis, context: Context) -> str:
    lines = [f"# {_title(context)}", "", _summary_line(context), ""]
    if found := warnings(analysis):
        lines += ["## Warnings", ""] + [f"- **{warning}**" for warning in found] + [""]
    lines += ["## Method", "", method(analysis, context), ""]
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
    from .figure import figure_svg, svg_or_note

    figure = svg_or_note(lambda: figure_svg(analysis, context))
    parts = [
        f"<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>{html.escape(_title(context))}"
        "</title>\n<style>body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.2rem .5rem;"
        "text-align:right}th:nth-child(-n+4),td:nth-child(-n+4){text-align:left}.note{color:#a40}"
        ".warning{color:#a00;font-weight:bold}</style>\n</head>\n<body>",
        f"<h1>{html.escape(_title(context))}</h1>",
        f"<p>{html.escape(_summary_line(context))}</p>",
    ]
    if found := warnings(analysis):
        parts += ["<h2>Warnings</h2>", "<ul>"]
        parts += [f"<li class=warning>{html.escape(warning)}</li>" for warning in found]
        parts.append("</ul>")
    parts += ["<h2>Method</h2>", f"<p>{html.escape(method(analysis, context))}</p>", "<h2>Figure</h2>", figure]
    for title, header, rows in _sections(analysis):
        parts.append(f"<h2>{html.escape(title)}</h2>")
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
    "week",
    "week_start",
    "df",
    "p_floor",
    "detail",
]


def render_csv(analysis: Analysis) -> str:
    """One row per figure. Sections: ``effect``; ``energy`` (kWh, cost and CO2 per PC and day and over the phase;
    ``days`` the phase's days); ``check`` (outcome the check's name, ``detail`` its finding); ``placebo`` (the real
    effect, then one ``placebo`` row per control, p and p_floor on the first); ``week`` (the event study: ``week``
    from the pool's start, ``week_start`` its first day); ``phase`` (the phase's mean). A missing figure is an empty
    cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def row(section: str, pool: str, phase: str, outcome: str = "", versus: str = "", **cells: object) -> None:
        writer.writerow(
            [section, pool, phase, outcome, versus] + [format_value(cells.get(column)) for column in CSV_COLUMNS[5:]]
        )

    for e in analysis.effects:
        row(
            "effect",
            e.pool,
            e.phase,
            e.outcome,
            e.versus,
            estimate=e.estimate,
            ci_low=e.ci_low,
            ci_high=e.ci_high,
            p=e.p,
            days=e.days,
            baseline_days=e.baseline_days,
            df=e.df,
            detail=e.warning,
        )
    for c in analysis.energy:
        for name, interval in _changes(c):
            row(
                "energy",
                c.pool,
                c.phase,
                name,
                c.versus,
                estimate=interval.estimate,
                ci_low=interval.low,
                ci_high=interval.high,
                days=c.phase_days,
            )
    for check in analysis.checks:
        row(
            "check",
            check.pool,
            check.phase,
            check.name,
            "",
            estimate=check.estimate,
            ci_low=check.ci_low,
            ci_high=check.ci_high,
            p=check.p,
            detail=("passed: " if check.passed else "failed: ") + check.detail,
        )
    for placebo in analysis.placebos:
        row(
            "placebo",
            placebo.pool,
            placebo.phase,
            "runtime_per_pc_h",
            "controls",
            estimate=placebo.estimate,
            p=placebo.p,
            p_floor=placebo.p_floor,
        )
        for pool, value in placebo.placebos:
            row("placebo", pool, placebo.phase, "runtime_per_pc_h", f"placebo for {placebo.pool}", estimate=value)
    for w in analysis.weeks:
        row(
            "week",
            w.pool,
            w.phase,
            w.outcome,
            "controls",
            estimate=w.gap,
            ci_low=w.ci_low,
            ci_high=w.ci_high,
            days=w.days,
            week=w.week,
            week_start=w.first.isoformat(),
        )
    for s in analysis.phases:
        row(
            "phase",
            s.pool,
            s.phase,
            s.outcome,
            "",
            estimate=s.mean,
            ci_low=s.ci_low,
            ci_high=s.ci_high,
            days=s.days,
            days_left_out=s.days_left_out,
        )
    return buffer.getvalue()


def _changes(change: EnergyChange) -> list[tuple[str, Interval]]:
    """The energy section's figures by name (those the config gives)."""
    named = [
        ("kwh_per_pc_day", change.per_pc_day),
        ("kwh_over_phase", change.over_phase),
        ("cost_per_pc_day", change.cost_per_pc_day),
        ("cost_over_phase", change.cost_over_phase),
        ("co2_kg_per_pc_day", change.co2_per_pc_day),
        ("co2_kg_over_phase", change.co2_over_phase),
    ]
    return [(name, interval) for name, interval in named if interval is not None]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _json_change(c: EnergyChange) -> dict[str, object]:
    """kWh, then cost and CO2 where the config gives them: per PC and day and over the phase, each with its interval."""
    found: dict[str, object] = {
        "pool": c.pool,
        "phase": c.phase,
        "versus": c.versus,
        "kwh_per_pc_hour": _rounded(c.kwh_per_pc_hour),
        "price_per_kwh": _rounded(c.price_per_kwh),
        "kwh_per_pc_day": _rounded(c.per_pc_day.estimate),
        "ci_low": _rounded(c.per_pc_day.low),
        "ci_high": _rounded(c.per_pc_day.high),
        "pcs": c.pcs,
        "phase_days": c.phase_days,
    }
    for prefix, interval in _changes(c)[1:]:
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
        "level": 0.95,
        "warnings": warnings(analysis),
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
                "weeks": e.weeks,
                "baseline_weeks": e.baseline_weeks,
                "df": _rounded(e.df),
                "rho": _rounded(e.rho),
                "controls": list(e.controls),
                "warning": e.warning,
            }
            for e in analysis.effects
        ],
        "energy": [_json_change(c) for c in analysis.energy],
        "checks": [
            {
                "pool": c.pool,
                "phase": c.phase,
                "check": c.name,
                "estimate": _rounded(c.estimate),
                "ci_low": _rounded(c.ci_low),
                "ci_high": _rounded(c.ci_high),
                "p": _rounded(c.p),
                "passed": c.passed,
                "detail": c.detail,
            }
            for c in analysis.checks
        ],
        "placebos": [
            {
                "pool": p.pool,
                "phase": p.phase,
                "estimate": _rounded(p.estimate),
                "placebos": [{"pool": pool, "estimate": _rounded(value)} for pool, value in p.placebos],
                "p": _rounded(p.p),
                "p_floor": _rounded(p.p_floor),
            }
            for p in analysis.placebos
        ],
        "weeks": [
            {
                "pool": w.pool,
                "phase": w.phase,
                "outcome": w.outcome,
                "week": w.week,
                "from": w.first.isoformat(),
                "days": w.days,
                "gap": _rounded(w.gap),
                "ci_low": _rounded(w.ci_low),
                "ci_high": _rounded(w.ci_high),
            }
            for w in analysis.weeks
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
        "notes": analysis.notes,
    }
    if analysis.pricing.priced:
        document["currency"] = analysis.pricing.currency
    if analysis.pricing.co2_g_per_kwh is not None:
        document["co2_g_per_kwh"] = analysis.pricing.co2_g_per_kwh
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
