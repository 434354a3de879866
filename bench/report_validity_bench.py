"""The report's validity on synthetic studies: coverage, bias, false positives and power per scenario.

Each scenario of ``pinger.reporting.simulate.SCENARIOS`` is simulated with seeds 0 … N-1, once with no
effect and once with a true effect of EFFECT_H hours per PC and day on the treated pools, and each
study goes through the report's analysis (``analyse_rows``, as `pinger report` runs it). For the
first treated pool's effect on runtime versus the controls it counts:

- coverage: the share of 95 % intervals that contain the true effect (no effect: 0);
- bias: the mean of estimate − true effect, ± its standard error over the seeds;
- false positives: the share of no-effect studies with p < 0.05;
- power: the share of studies with the effect where p < 0.05;
- warned: the share of studies the report warns about (its check of the week-cluster assumption on
  the baseline), and the coverage among those it does not warn about;
- kWh bias: the mean error of the energy change per PC and day (true: the runtime effect times the
  pool's watts minus standby watts);
- se / sd: the root mean square of the intervals' standard errors over the standard deviation of the
  no-effect estimates (1: as wide as the estimates really scatter; the t quantile comes on top).

1000 seeds by default: 200 measure a coverage of 95 % to ± 1.5 points only, too coarse to tell a
calibrated interval (95 %) from one that misses the 93 % target or one that is too wide (98 %).

`--causes` takes the intervals apart on the same no-effect studies (docs/report.md, "Where the width
came from"): the first AR(1) intervals of issue 19 (rho from overlapping 7-day means with Kendall's
correction, kept in 0 .. 0.95, df the effective weeks n (1 - rho) / (1 + rho) minus 2, rebuilt here
from that version), then one change at a time up to the report's own, and rho known to be 0. Power
there is the share of the same studies called significant once shifted by the true effect (a
constant effect moves the estimate and nothing else).

The tables in docs/report.md are this script's output with 2000 seeds (`python -m
bench.report_validity_bench 2000` and `--causes 2000`; the table of the first AR(1) intervals is the
same script run on that version's code, main at b043333).

Usage: python -m bench.report_validity_bench [SEEDS] [SCENARIO ...]
       python -m bench.report_validity_bench --causes [SEEDS] [SCENARIO ...]
       python -m bench.report_validity_bench --example docs/report-example.svg
         (docs/report.md's example: a report and a plan of synthetic studies, and the report's figure)
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from pinger.reporting import statistics as stats
from pinger.reporting.comparison import Gap, effect_of, gap_series
from pinger.reporting.panel import fit_two_way
from pinger.reporting.report import analyse_rows
from pinger.reporting.request import ReportRequest
from pinger.reporting.simulate import PRICED, SCENARIOS, Scenario, simulate

UTC = ZoneInfo("UTC")
EFFECT_H = -0.6
RUNTIME = "runtime_per_pc_h"
SEEDS = 1000


def one(name: str, seed: int, effect_h: float) -> dict[str, Any]:
    scenario = SCENARIOS[name]._replace(effect_h=effect_h)
    study = simulate(scenario, seed)
    pools = {pool.name: pool for pool in study.pools}
    request = ReportRequest(study.first, study.last, tuple(pools), 0.9, "all")
    analysis, _ = analyse_rows(study.rows, pools, study.study, UTC, request, "simulation", PRICED)
    treated = study.treated[0]
    effect = next(e for e in analysis.effects if e.pool == treated and e.outcome == RUNTIME and e.versus == "controls")
    true = study.effect_h[treated]
    pool = pools[treated]
    change = next(c for c in analysis.energy if c.pool == treated and c.versus == "controls")
    rows = sum(1 for e in analysis.effects if e.outcome == RUNTIME and e.versus == "controls")
    se = None
    if effect.ci_high is not None and effect.df is not None:
        se = (effect.ci_high - effect.estimate) / stats.t_quantile(effect.df)
    return {
        "estimate": effect.estimate,
        "se": se,
        "true": true,
        "covered": effect.ci_low is not None and effect.ci_low <= true <= effect.ci_high,
        "p": effect.p if effect.p is not None else 1.0,
        "warned": bool(getattr(effect, "warning", None)),
        "kwh_error": change.per_pc_day.estimate - true * (pool.watts - pool.standby_watts) / 1000.0,
        "duplicated": rows > len(study.treated),
    }


def summary(name: str, seeds: int) -> dict[str, float]:
    null = [one(name, seed, 0.0) for seed in range(seeds)]
    effect = [one(name, seed, EFFECT_H) for seed in range(seeds)]
    errors = [run["estimate"] - run["true"] for run in null]
    mean = sum(errors) / seeds
    sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (seeds - 1))
    kwh = [run["kwh_error"] for run in null + effect]
    kwh_mean = sum(kwh) / len(kwh)
    kwh_sd = math.sqrt(sum((k - kwh_mean) ** 2 for k in kwh) / (len(kwh) - 1))
    calm = [run for run in null if not run["warned"]]
    ses = [run["se"] for run in null if run["se"] is not None]
    return {
        "se_ratio": math.sqrt(sum(x * x for x in ses) / len(ses)) / sd if ses and sd > 0 else float("nan"),
        "coverage": sum(run["covered"] for run in null) / seeds,
        "coverage_effect": sum(run["covered"] for run in effect) / seeds,
        "bias": mean,
        "bias_se": sd / math.sqrt(seeds),
        "sd": sd,
        "false_positives": sum(run["p"] < 0.05 for run in null) / seeds,
        "power": sum(run["p"] < 0.05 for run in effect) / seeds,
        "warned": sum(run["warned"] for run in null) / seeds,
        "coverage_unwarned": sum(run["covered"] for run in calm) / len(calm) if calm else float("nan"),
        "kwh_bias": kwh_mean,
        "kwh_bias_se": kwh_sd / math.sqrt(len(kwh)),
        "duplicated": sum(run["duplicated"] for run in null) / seeds,
    }


def example(figure: str) -> None:
    """The report of a staggered study (P01 from week 8, P02 from week 10, true effect -1 h), and the plan of a
    study of P01 from a 16-week pilot of the same pools."""
    from pathlib import Path

    from pinger.config import Study
    from pinger.reporting.figure import figure_svg
    from pinger.reporting.plan import PlanRequest, plan_rows, render_plan
    from pinger.reporting.render import render

    study = simulate(SCENARIOS["staggered starts"]._replace(effect_h=-1.0), seed=3)
    pools = {pool.name: pool for pool in study.pools}
    request = ReportRequest(study.first, study.last, tuple(pools), 0.9, "all")
    analysis, context = analyse_rows(study.rows, pools, study.study, UTC, request, "staggered.yaml", PRICED)
    print(render("md", analysis, context))
    Path(figure).write_text(figure_svg(analysis, context))
    pilot = simulate(SCENARIOS["staggered starts"]._replace(treated=0, weeks_before=16, weeks_after=0), seed=3)
    plan_request = PlanRequest(pilot.first, pilot.last, tuple(pools), ("P01",), baseline_weeks=8)
    print(render_plan("md", plan_rows(pilot.rows, pools, Study(), UTC, plan_request, source="pilot.yaml")))


def main() -> None:
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        return
    if sys.argv[1:2] == ["--example"]:
        example(sys.argv[2])
        return
    if sys.argv[1:2] == ["--causes"]:
        causes(int(sys.argv[2]) if len(sys.argv) > 2 else SEEDS, sys.argv[3:] or list(SCENARIOS))
        return
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else SEEDS
    names = sys.argv[2:] or list(SCENARIOS)
    print(f"report validity: {seeds} seeds per scenario (0 … {seeds - 1}), true effect {EFFECT_H} h or none")
    print()
    print(
        "| scenario | coverage (no effect) | coverage (effect) | bias (h) | false positives | power "
        "| warned | coverage unwarned | kWh/PC/day bias | se / sd |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    for name in names:
        s = summary(name, seeds)
        print(
            f"| {name} | {s['coverage']:.1%} | {s['coverage_effect']:.1%} | {s['bias']:+.3f} ± {s['bias_se']:.3f} "
            f"| {s['false_positives']:.1%} | {s['power']:.1%} | {s['warned']:.1%} | {s['coverage_unwarned']:.1%} "
            f"| {s['kwh_bias']:+.4f} ± {s['kwh_bias_se']:.4f} | {s['se_ratio']:.2f} |"
            + (f" duplicated rows in {s['duplicated']:.0%}" if s["duplicated"] else "")
        )
    print()
    print(f"({time.perf_counter() - started:.0f} s)")


# --- where the width came from ------------------------------------------------------------------------------------


def first_rho(gap: Gap, controls_daily: list[stats.Floats]) -> tuple[float, float]:
    """rho as the first AR(1) intervals of issue 19 measured it, before its correction: the lag-7 autocorrelation of
    overlapping 7-day means (a mean counts with 3 days or more) of the treated gap around its period means and of
    the controls' daily residuals, pooled; and the series' mean length in weeks, n. That version used
    rho + (1 + 3 rho) / n (Kendall), kept in 0 .. 0.95."""
    origin = int(gap.offsets.min())
    own = np.full(int(gap.offsets.max()) - origin + 1, np.nan)
    values = gap.values.copy()
    for period in (gap.after, ~gap.after):
        values[period] -= values[period].mean()
    own[gap.offsets - origin] = values
    products = first = second = 0.0
    lengths = []
    for series in [own, *controls_daily]:
        present = np.isfinite(series)
        lengths.append(float(present.sum()) / 7.0)
        sums = np.convolve(np.where(present, series, 0.0), np.ones(7), mode="valid")
        counts = np.convolve(present.astype(np.float64), np.ones(7), mode="valid")
        means = np.where(counts >= 3, sums / np.maximum(counts, 1.0), np.nan)
        early, late = means[:-7], means[7:]
        both = np.isfinite(early) & np.isfinite(late)
        products += float((early[both] * late[both]).sum())
        first += float((early[both] ** 2).sum())
        second += float((late[both] ** 2).sum())
    raw = products / math.sqrt(first * second) if first > 0 and second > 0 else 0.0
    return raw, max(sum(lengths) / len(lengths), 1.0)


def causes_study(scenario: Scenario, seed: int) -> tuple[Gap, float, list[stats.Floats]]:
    """The first treated pool's runtime gap (as the report builds it), its true effect, and its controls' daily
    residuals on the gap's days (for the first version's rho; none with a single control)."""
    from pinger.reporting.simulate import first_treated  # imported here: the main table runs on older code too

    study = simulate(scenario, seed)
    treated, series, window, start, phase, names = first_treated(study)
    gap = gap_series(series[treated], [series[name] for name in names], window, phase, start)
    assert gap is not None
    matrix = np.array([[series[name].get(day, np.nan) for day in window] for name in names])
    present = np.isfinite(matrix)
    fit = fit_two_way(matrix, present)
    residuals = np.where(present, matrix - fit.pool[:, None] - fit.day[None, :], np.nan)
    offsets = np.array([(day - start).days for day in window])
    origin = int(gap.offsets.min())
    inside = (offsets >= origin) & (offsets <= int(gap.offsets.max()))
    daily = []
    for row in residuals:
        grid = np.full(int(gap.offsets.max()) - origin + 1, np.nan)
        grid[offsets[inside] - origin] = row[inside]
        daily.append(grid)
    return gap, study.effect_h[treated], daily if len(names) >= 2 else []


def causes(seeds: int, names: list[str]) -> None:
    """Coverage with no effect and power against EFFECT_H of interval variants on the same studies."""
    from pinger.reporting.comparison import pooled_persistence  # imported here: the main table runs on older code too

    n_minus_2 = "weeks - 2"
    variants: list[tuple[str, str, str]] = [
        ("first AR(1) intervals (issue 19)", "first", "effective"),
        ("… with df = weeks − 2", "first", n_minus_2),
        ("… and rho not kept ≥ 0", "kendall", n_minus_2),
        ("… and without Kendall's correction (raw overlapping weeks)", "raw", n_minus_2),
        ("rho by REML on the report's weeks, kept ≥ 0, df = weeks − 2", "reml0", n_minus_2),
        ("… not kept ≥ 0", "reml", n_minus_2),
        ("… and Satterthwaite's df (the report now)", "reml", "satterthwaite"),
        ("rho known to be 0, df = weeks − 2", "zero", n_minus_2),
    ]
    print(f"where the width came from: {seeds} no-effect seeds per scenario, power against {EFFECT_H} h")
    print()
    print("| interval | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    results: dict[str, list[str]] = {label: [] for label, _, _ in variants}
    rhos: dict[str, list[str]] = {label: [] for label, _, _ in variants}
    for name in names:
        scenario = SCENARIOS[name]
        runs: dict[str, list[tuple[float, float, float, float]]] = {label: [] for label, _, _ in variants}
        for seed in range(seeds):
            gap, true, controls_daily = causes_study(scenario, seed)
            estimate = effect_of(gap)
            assert estimate is not None
            weeks = stats.weeks_of(gap.offsets, gap.values, split=0)
            weights = stats.period_weights(weeks)[None, :]
            pooled = pooled_persistence(weeks, gap.control_weeks)
            raw, length = first_rho(gap, controls_daily)
            kendall = min(max(raw + (1.0 + 3.0 * raw) / length, -0.95), 0.95)
            for label, rho_rule, df_rule in variants:
                rho, rho_se = {
                    "first": (max(kendall, 0.0), 0.0),
                    "kendall": (kendall, 0.0),
                    "raw": (min(max(raw, -0.95), 0.95), 0.0),
                    "reml0": (max(pooled.rho, 0.0), pooled.se),
                    "reml": (pooled.rho, pooled.se),
                    "zero": (0.0, 0.0),
                }[rho_rule]
                model = stats.spread(weeks, rho, rho_se if df_rule == "satterthwaite" else 0.0)
                assert model is not None
                se = float(stats.contrast_ses(weeks, model, weights)[0])
                if df_rule == "effective":
                    df = max(1.0, model.effective_weeks - 2.0)
                else:
                    df = float(stats.contrast_dfs(weeks, model, weights)[0])
                runs[label].append((estimate - true, se, stats.t_quantile(df), rho))
        for label, found in runs.items():
            covered = sum(abs(error) <= quantile * se for error, se, quantile, _ in found) / seeds
            power = sum(abs(error + EFFECT_H) > quantile * se for error, se, quantile, _ in found) / seeds
            results[label].append(f"{covered:.1%} / {power:.1%}")
            rhos[label].append(f"{sum(rho for *_, rho in found) / seeds:+.2f}")
    for label, _, _ in variants:
        print(f"| {label} | " + " | ".join(results[label]) + " |")
    print()
    print("mean rho used:")
    print()
    print("| interval | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for label, _, _ in variants:
        print(f"| {label} | " + " | ".join(rhos[label]) + " |")


if __name__ == "__main__":
    main()
