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
  pool's watts minus standby watts).

The table in docs/report.md is this script's output (`python -m bench.report_validity_bench`, 200 seeds).

Usage: python -m bench.report_validity_bench [SEEDS] [SCENARIO ...]
       python -m bench.report_validity_bench --example docs/report-example.svg
         (docs/report.md's example: a report and a plan of synthetic studies, and the report's figure)
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from pinger.reporting.report import analyse_rows
from pinger.reporting.request import ReportRequest
from pinger.reporting.simulate import PRICED, SCENARIOS, simulate

UTC = ZoneInfo("UTC")
EFFECT_H = -0.6
RUNTIME = "runtime_per_pc_h"


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
    return {
        "estimate": effect.estimate,
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
    return {
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
    print(render_plan("md", plan_rows(pilot.rows, pools, Study(), UTC, plan_request, "pilot.yaml")))


def main() -> None:
    if sys.argv[1:2] == ["--example"]:
        example(sys.argv[2])
        return
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    names = sys.argv[2:] or list(SCENARIOS)
    print(f"report validity: {seeds} seeds per scenario (0 … {seeds - 1}), true effect {EFFECT_H} h or none")
    print()
    print(
        "| scenario | coverage (no effect) | coverage (effect) | bias (h) | false positives | power "
        "| warned | coverage unwarned | kWh/PC/day bias |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    for name in names:
        s = summary(name, seeds)
        print(
            f"| {name} | {s['coverage']:.1%} | {s['coverage_effect']:.1%} | {s['bias']:+.3f} ± {s['bias_se']:.3f} "
            f"| {s['false_positives']:.1%} | {s['power']:.1%} | {s['warned']:.1%} | {s['coverage_unwarned']:.1%} "
            f"| {s['kwh_bias']:+.4f} ± {s['kwh_bias_se']:.4f} |"
            + (f" duplicated rows in {s['duplicated']:.0%}" if s["duplicated"] else "")
        )
    print()
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
