"""`pinger plan`: its minimum detectable effect against a simulator whose power is known, its outputs, its command."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from pinger.config import Study
from pinger.reporting.plan import PlanRequest, plan_rows, render_plan
from pinger.reporting.report import analyse_rows
from pinger.reporting.request import ReportRequest
from pinger.reporting.simulate import Scenario, simulate
from pinger.store.sqlite import SqliteStore

UTC = ZoneInfo("UTC")
# Independent weeks: each pool's own week shock (sd 0.5 h) and day noise, shocks every pool shares; no persistence.
PILOT = Scenario(pools=4, treated=0, weeks_before=30, weeks_after=0, pcs=(12,), pool_week_sd_h=0.5)


def pilot_plan(weeks: tuple[int, ...] = (8,), simulations: int = 200, reference: int = 8):
    study = simulate(PILOT, seed=1)
    pools = {pool.name: pool for pool in study.pools}
    request = PlanRequest(
        study.first,
        study.last,
        tuple(pools),
        ("P01",),
        baseline_weeks=8,
        weeks=weeks,
        reference_weeks=reference,
        simulations=simulations,
    )
    return plan_rows(study.rows, pools, Study(), UTC, request)


def true_power(effect: float, studies: int = 200) -> float:
    """The share of fresh studies from the pilot's generator (8 + 8 weeks, P01 treated) that the report calls
    significant: the power the plan has to predict."""
    hits = 0
    for seed in range(1000, 1000 + studies):
        study = simulate(PILOT._replace(treated=1, weeks_before=8, weeks_after=8, effect_h=effect), seed)
        pools = {pool.name: pool for pool in study.pools}
        request = ReportRequest(study.first, study.last, tuple(pools), 0.9, "all")
        analysis, _ = analyse_rows(study.rows, pools, study.study, UTC, request)
        (did,) = [e for e in analysis.effects if e.outcome == "runtime_per_pc_h" and e.versus == "controls"]
        hits += did.p is not None and did.p < 0.05
    return hits / studies


@pytest.mark.slow
def test_at_the_planned_minimum_detectable_effect_the_true_power_is_80_percent():
    plan = pilot_plan()
    (design,) = plan.designs
    assert (design.pool, design.baseline_weeks, design.weeks, design.controls) == ("P01", 8, 8, 3)
    assert design.mde is not None and 0.3 < design.mde < 2.0
    # From one 30-week pilot the plan predicts 80 % power at its MDE; studies drawn from the generator itself say how
    # often the report really finds an effect that large (200 studies: ± 6 points of sampling error at 80 %).
    assert 0.66 <= true_power(-design.mde) <= 0.94
    assert design.mde_kwh == pytest.approx(design.mde * 0.08)  # 80 W, no standby


def test_longer_interventions_and_more_controls_lower_the_mde_and_the_placebo_floor_is_shown():
    plan = pilot_plan(weeks=(2, 16), simulations=100, reference=8)
    short, long = plan.designs
    assert (short.weeks, long.weeks) == (2, 16) and long.mde < short.mde
    by_controls = {design.controls: design for design in plan.by_controls}
    assert sorted(by_controls) == [1, 2, 3]
    assert by_controls[3].mde < by_controls[1].mde
    assert [by_controls[k].placebo_p_floor for k in (1, 2, 3)] == pytest.approx([1 / 2, 1 / 3, 1 / 4])


def test_the_plan_comes_as_markdown_json_and_html_with_a_figure():
    pytest.importorskip("matplotlib")
    plan = pilot_plan(weeks=(4, 8), simulations=50)
    document = json.loads(render_plan("json", plan))
    assert document["treated"] == ["P01"] and document["controls"] == ["P02", "P03", "P04"]
    assert document["power"] == 0.8 and document["alpha"] == 0.05 and document["pilot_weeks"] == 30
    assert [d["weeks"] for d in document["designs"]] == [4, 8]
    assert {"mde_h", "mde_kwh", "median_se", "median_df", "placebo_p_floor"} <= set(document["designs"][0])
    markdown = render_plan("md", plan)
    assert "## Minimum detectable effect by intervention length" in markdown
    assert f"| P01 | 8 | 8 | 3 | {plan.designs[1].mde:.2f} |" in markdown
    assert "## What each control pool adds (8 intervention weeks)" in markdown
    page = render_plan("html", plan)
    assert page.count("<svg") == 1 and "<script" not in page and 'href="http' not in page


def test_an_html_plan_without_matplotlib_says_what_to_install(monkeypatch):
    import sys

    plan = pilot_plan(weeks=(4,), simulations=20)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    page = render_plan("html", plan)
    assert (
        "<svg" not in page
        and "<p class=note>The figure needs matplotlib: pip install &#x27;pinger[report]&#x27;." in page
    )


CONFIG = """\
timezone: UTC
storage: {{path: {store}}}
pools:
{pools}
"""


@pytest.fixture(scope="module")
def pilot_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    study = simulate(PILOT._replace(weeks_before=6), seed=2)
    store = SqliteStore(folder / "store.sqlite", UTC, "create")
    try:
        store.write_days([], study.rows)
    finally:
        store.close()
    pools = "\n".join(  # addresses only name the PCs here: nothing is pinged
        f"  - {{name: {pool.name}, watts: 80, hosts: [10.0.{index}.1-10.0.{index}.{len(pool.hosts)}]}}"
        for index, pool in enumerate(study.pools)
    )
    config = folder / "pinger.yaml"
    config.write_text(CONFIG.format(store=folder / "store.sqlite", pools=pools))
    return config, study


def test_plan_runs_from_the_command_line_on_the_stored_pilot(pilot_store, run_pinger, tmp_path):
    config, study = pilot_store
    out = tmp_path / "plan.json"
    result = run_pinger(
        "plan",
        "-c",
        str(config),
        "--from",
        str(study.first),
        "--to",
        str(study.last),
        "--treated",
        "P01",
        "--simulations",
        "20",
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert [d["weeks"] for d in document["designs"]] == list(range(2, 17))
    assert document["baseline_weeks"] == 6 and document["controls"] == ["P02", "P03", "P04"]


@pytest.mark.parametrize(
    "argv, sentence",
    [
        (["--treated", "P01", "--to", "2026-09-27"], "holds 3 whole calendar weeks (Monday to Sunday); the plan"),
        (["--treated", "Z"], "--treated: 'Z' is not one of the pools"),
        ([], "no pool to treat: name the pools the intervention will go to with --treated"),
        (["--treated", "P01,P02,P03,P04"], "no control pool"),
    ],
)
def test_bad_plan_input_is_one_sentence_exit_2(pilot_store, run_pinger, argv, sentence):
    config, study = pilot_store
    dates = ["--from", str(study.first)] + ([] if "--to" in argv else ["--to", str(study.last)])
    result = run_pinger("plan", "-c", str(config), *dates, *argv)
    assert result.returncode == 2 and sentence in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]) == 1
    assert result.stdout == ""


def test_a_plan_skips_days_of_a_running_intervention():
    study = simulate(PILOT._replace(treated=1, weeks_before=6, weeks_after=2, effect_h=-3.0), seed=3)
    pools = {pool.name: pool for pool in study.pools}
    request = PlanRequest(study.first, study.last, tuple(pools), (), weeks=(4,), simulations=20)
    plan = plan_rows(study.rows, pools, study.study, UTC, request)
    assert plan.treated == ("P01",)  # from study.phases
    assert plan.notes == [
        f"14 pool-days from {study.first} to {study.last} lie in a phase other than the baseline "
        "and are not part of the pilot."
    ]
    assert study.last - study.first == dt.timedelta(days=55)
