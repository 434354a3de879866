"""`pinger report`: hand-computed outcomes, means and a DiD; validity by simulation; the real pipeline; bad input."""

from __future__ import annotations

import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pinger.config import Energy, Host, OpeningHours, Phase, Pool, Study
from pinger.config_load import load_config
from pinger.models import PoolDay, Sample
from pinger.reporting.outcomes import select_days
from pinger.reporting.report import analyse_rows
from pinger.reporting.request import ReportRequest
from pinger.reporting.simulate import synthetic_study
from pinger.reporting.statistics import Blocks, bootstrap_difference, bootstrap_mean, permutation_p, weekly_blocks
from pinger.store import open_history_store

UTC = ZoneInfo("UTC")
MONDAY = dt.date(2026, 9, 7)
TWO_PERIODS_ON_MONDAY = OpeningHours((((480, 720), (840, 1200)),) + ((),) * 6)  # 08-12 and 14-20, Mondays only


def pool(name: str, pcs: int, hours: OpeningHours | None = None) -> Pool:
    return Pool(name, 80.0, 0.0, tuple(Host(f"{name}-{i}", 80.0, 0.0, False) for i in range(pcs)), {}, hours)


def row(
    day: dt.date,
    name: str,
    runtime_h: float,
    *,
    pcs: int = 4,
    energy_kwh: float = 0.0,
    coverage: float = 1.0,
    closed_h: float | None = None,
    on_at_close: int | None = None,
    cost: float | None = None,
) -> PoolDay:
    return PoolDay(
        day, name, None, {}, pcs, pcs, runtime_h, runtime_h / pcs, energy_kwh, coverage, closed_h, on_at_close, cost
    )


def request(
    first: dt.date, last: dt.date, pools: tuple[str, ...], min_coverage: float = 0.9, days_mode: str = "all"
) -> ReportRequest:
    return ReportRequest(first, last, pools, min_coverage, days_mode)


# --- outcomes and exclusions, by hand ---------------------------------------------------------------------------


def test_outcomes_are_per_configured_pc_and_share_counts_every_closing():
    study = Study((Phase("baseline", MONDAY),))
    pools = {"A": pool("A", 4, TWO_PERIODS_ON_MONDAY)}
    selection = select_days(
        [row(MONDAY, "A", 10.0, energy_kwh=2.0, closed_h=2.0, on_at_close=3)], pools, study, UTC, 0.9, "all"
    )
    (day,) = selection.days
    # 10 h over 4 PCs; 2 h outside hours over 4 PCs; 3 PCs on at 2 closings of 4 PCs; 2 kWh over 4 PCs
    assert day.values == {
        "runtime_per_pc_h": 2.5,
        "runtime_closed_per_pc_h": 0.5,
        "share_on_at_close": 0.375,
        "energy_per_pc_kwh": 0.5,
    }
    assert day.phase == "baseline"


def test_a_day_without_a_closing_has_no_share_and_a_pool_without_hours_has_neither_hours_outcome():
    study = Study((Phase("baseline", MONDAY),))
    pools = {"A": pool("A", 4, TWO_PERIODS_ON_MONDAY), "B": pool("B", 2)}
    tuesday = MONDAY + dt.timedelta(days=1)
    selection = select_days(
        [row(tuesday, "A", 4.0, closed_h=4.0, on_at_close=0), row(MONDAY, "B", 4.0, pcs=2)],
        pools,
        study,
        UTC,
        0.9,
        "all",
    )
    assert [sorted(day.values) for day in selection.days] == [
        ["energy_per_pc_kwh", "runtime_closed_per_pc_h", "runtime_per_pc_h"],
        ["energy_per_pc_kwh", "runtime_per_pc_h"],
    ]


def test_days_below_the_coverage_threshold_are_left_out_and_counted_per_phase():
    study = Study((Phase("baseline", MONDAY, MONDAY + dt.timedelta(days=6)), Phase("sign", MONDAY + dt.timedelta(7))))
    pools = {"A": pool("A", 4)}
    rows = [
        row(MONDAY + dt.timedelta(days=offset), "A", 8.0, coverage=coverage)
        for offset, coverage in enumerate([1.0, 0.95, 0.89, 0.5, 1.0, 1.0, 1.0, 0.2, 0.9])
    ]
    selection = select_days(rows, pools, study, UTC, 0.9, "all")
    assert len(selection.days) == 6
    assert dict(selection.left_out) == {("A", "baseline"): 2, ("A", "sign"): 1}


@pytest.mark.parametrize("days_mode, kept", [("all", 7), ("weekdays", 5), ("open", 1)])
def test_days_option_keeps_weekdays_or_days_with_opening_hours(days_mode, kept):
    study = Study((Phase("baseline", MONDAY),))
    pools = {"A": pool("A", 4, TWO_PERIODS_ON_MONDAY)}
    rows = [row(MONDAY + dt.timedelta(days=offset), "A", 8.0, closed_h=1.0, on_at_close=1) for offset in range(7)]
    assert len(select_days(rows, pools, study, UTC, 0.9, days_mode).days) == kept


def test_cost_per_pc_is_an_outcome_only_when_pricing_is_configured_and_the_row_has_a_cost():
    study = Study((Phase("baseline", MONDAY),))
    pools = {"A": pool("A", 4)}
    priced_row, old_row = row(MONDAY, "A", 8.0, energy_kwh=2.0, cost=0.6), row(MONDAY, "A", 8.0, energy_kwh=2.0)
    (day,) = select_days([priced_row], pools, study, UTC, 0.9, "all", priced=True).days
    assert day.values["cost_per_pc"] == pytest.approx(0.6 / 4)  # the stored cost over the 4 configured PCs
    assert "cost_per_pc" not in select_days([priced_row], pools, study, UTC, 0.9, "all").days[0].values
    assert "cost_per_pc" not in select_days([old_row], pools, study, UTC, 0.9, "all", priced=True).days[0].values


# --- statistics on tiny tables -----------------------------------------------------------------------------------


def test_weekly_blocks_start_on_monday():
    sunday = MONDAY - dt.timedelta(days=1)
    blocks = weekly_blocks([sunday, MONDAY, MONDAY + dt.timedelta(days=6)], [1.0, 2.0, 4.0])
    assert blocks.sums.tolist() == [1.0, 6.0] and blocks.counts.tolist() == [1.0, 2.0]


def test_a_difference_without_spread_has_a_zero_width_interval_and_p_one():
    before = Blocks(np.array([10.0, 10.0]), np.array([2.0, 2.0]))  # 5 every day
    after = Blocks(np.array([6.0, 6.0]), np.array([2.0, 2.0]))  # 3 every day
    assert tuple(bootstrap_difference(before, after)) == (-2.0, -2.0, -2.0)
    same = Blocks(before.sums.copy(), before.counts.copy())
    assert permutation_p(before, same) == 1.0


def test_permutation_p_is_small_only_when_the_weeks_separate():
    low = Blocks(np.array([7.0, 7.1, 6.9, 7.0, 7.2, 6.8]), np.full(6, 7.0))
    high = Blocks(np.array([14.0, 14.1, 13.9, 14.2, 13.8, 14.0]), np.full(6, 7.0))
    # 6 + 6 weeks: 924 ways to split; the observed split and its mirror are the most extreme (p ~ 2/924)
    assert permutation_p(low, high) < 0.01
    mixed = Blocks(np.array([14.0, 7.0, 14.1, 7.1, 13.9, 6.9]), np.full(6, 7.0))
    assert permutation_p(low, mixed) > 0.05


def test_a_series_of_one_calendar_week_has_an_estimate_but_no_interval():
    one_week = Blocks(np.array([21.0]), np.array([7.0]))  # 3 a day
    two_weeks = Blocks(np.array([35.0, 42.0]), np.array([7.0, 7.0]))  # 5 and 6 a day
    assert tuple(bootstrap_mean(one_week)) == (3.0, None, None)
    assert tuple(bootstrap_difference(two_weeks, one_week)) == (3.0 - 5.5, None, None)
    assert tuple(bootstrap_difference(one_week, two_weeks)) == (5.5 - 3.0, None, None)
    low, high = bootstrap_mean(two_weeks)[1:]
    assert low is not None and high is not None and low < 5.5 < high


def interval_coverage(weeks: int, series: int, difference: bool = False) -> float:
    """The share of ``series`` simulated studies (iid normal weekly values, true mean 0) whose interval covers 0."""
    rng = np.random.default_rng(weeks)
    covered = 0
    for seed in range(series):
        after = Blocks(rng.normal(0.0, 1.0, weeks), np.ones(weeks))
        if difference:
            interval = bootstrap_difference(Blocks(rng.normal(0.0, 1.0, weeks), np.ones(weeks)), after, seed=seed)
        else:
            interval = bootstrap_mean(after, seed=seed)
        assert interval.low is not None and interval.high is not None
        covered += interval.low <= 0.0 <= interval.high
    return covered / series


@pytest.mark.slow
@pytest.mark.parametrize("weeks", [3, 8])
def test_with_few_weeks_the_interval_still_covers_about_95_percent(weeks):
    # Percentile intervals widened only by sqrt(k / (k - 1)) covered 81 % (3 weeks) and 89 % (8) of 3,000
    # simulated means; with the t(0.975, k - 1) / 1.96 widening 95 % and 94 %.
    mean_coverage = interval_coverage(weeks, 1000)
    assert 0.93 <= mean_coverage <= 0.975, mean_coverage
    difference_coverage = interval_coverage(weeks, 500, difference=True)
    assert 0.93 <= difference_coverage <= 0.99, difference_coverage


def tiny_table() -> tuple[list[PoolDay], dict[str, Pool], Study]:
    """T and C, two weeks of baseline then two of the sign (T only). Per PC and day:
    T: baseline week 1 at 4 h, week 2 at 6 h, then 3 h; C: 4 h throughout the baseline, then 3.5 h."""
    study = Study(
        (
            Phase("baseline", MONDAY, MONDAY + dt.timedelta(days=13)),
            Phase("sign", MONDAY + dt.timedelta(days=14), None, frozenset({"T"})),
        )
    )
    rows = []
    for offset in range(28):
        day = MONDAY + dt.timedelta(days=offset)
        t = (4.0 if offset < 7 else 6.0) if offset < 14 else 3.0
        c = 4.0 if offset < 14 else 3.5
        rows += [row(day, "T", t * 4, energy_kwh=t * 0.4), row(day, "C", c * 2, pcs=2, energy_kwh=c * 0.2)]
    return rows, {"T": pool("T", 4), "C": pool("C", 2)}, study


def test_means_before_after_and_did_on_a_tiny_table():
    rows, pools, study = tiny_table()
    analysis, _ = analyse_rows(rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C")))
    means = {(s.pool, s.phase): (s.mean, s.days) for s in analysis.phases if s.outcome == "runtime_per_pc_h"}
    assert means == {("T", "baseline"): (5.0, 14), ("T", "sign"): (3.0, 14), ("C", "baseline"): (4.0, 14)}
    effects = {(e.outcome, e.versus): e for e in analysis.effects}
    assert effects["runtime_per_pc_h", "baseline"].estimate == pytest.approx(3.0 - 5.0)
    did = effects["runtime_per_pc_h", "controls"]
    assert did.estimate == pytest.approx((3.0 - 3.5) - (5.0 - 4.0))  # -1.5
    assert did.controls == ("C",) and did.days == 14 and did.baseline_days == 14
    assert did.ci_low <= did.estimate <= did.ci_high
    # energy: 0.1 kWh per PC-hour, so the DiD is -0.15 kWh per PC and day; the sign runs 14 days on 4 PCs
    (energy,) = analysis.energy
    assert energy.versus == "controls" and energy.per_pc_day.estimate == pytest.approx(-0.15)
    assert energy.pcs == 4 and energy.phase_days == 14 and energy.over_phase.estimate == pytest.approx(-0.15 * 4 * 14)


@pytest.mark.parametrize(
    "first, last, short",
    [(MONDAY, MONDAY + dt.timedelta(20), "sign"), (MONDAY + dt.timedelta(7), MONDAY + dt.timedelta(27), "baseline")],
    ids=["phase of one week", "baseline of one week"],
)
def test_a_period_of_one_calendar_week_keeps_its_estimates_without_intervals_and_says_why(first, last, short):
    from pinger.reporting.render import render

    rows, pools, study = priced_tiny_table()
    rows = [r for r in rows if first <= r.day <= last]
    analysis, context = analyse_rows(rows, pools, study, UTC, request(first, last, ("T", "C")), energy=PRICED)
    without = {(s.pool, s.phase) for s in analysis.phases if s.ci_low is None or s.ci_high is None}
    assert without == {("T", short)} | ({("C", "baseline")} if short == "baseline" else set())
    assert all(s.mean is not None for s in analysis.phases)
    assert analysis.effects and all(e.ci_low is None and e.ci_high is None for e in analysis.effects)
    did = next(e for e in analysis.effects if e.outcome == "runtime_per_pc_h" and e.versus == "controls")
    assert did.estimate == pytest.approx(-1.5 if short == "sign" else -2.5)  # (3 - 3.5) - (5 | 6 - 4)
    (change,) = analysis.energy
    for interval in (
        change.per_pc_day,
        change.over_phase,
        change.cost_per_pc_day,
        change.cost_over_phase,
        change.co2_per_pc_day,
        change.co2_over_phase,
    ):
        assert interval is not None and interval.estimate != 0.0 and (interval.low, interval.high) == (None, None)
    assert any(
        note.startswith(f"T, {short}: its days in the range fall in one calendar week")
        and "needs at least 2 calendar weeks in the range for an interval" in note
        for note in analysis.notes
    )
    document = json.loads(render("json", analysis, context))
    effect = document["effects"][0]
    assert effect["estimate"] is not None and effect["ci_low"] is None and effect["ci_high"] is None
    assert document["energy"][0]["kwh_over_phase_ci_low"] is None
    assert "| T | sign | runtime_per_pc_h | controls | -" in (markdown := render("md", analysis, context))
    assert "| n/a |" in markdown and " (n/a) |" in markdown and " 0.000 to 0.000 " not in markdown
    table = render("csv", analysis, context)
    assert "effect,T,sign,runtime_per_pc_h,controls," in table
    line = next(line for line in table.splitlines() if line.startswith("effect,T,sign,runtime_per_pc_h,controls,"))
    assert line.split(",")[6:8] == ["", ""]  # ci_low, ci_high
    assert "n/a" in render("html", analysis, context)


@pytest.mark.parametrize(
    "days_mode, hours, kept_days", [("all", None, 14), ("weekdays", None, 10), ("open", TWO_PERIODS_ON_MONDAY, 2)]
)
def test_the_change_over_the_phase_counts_only_the_phase_days_that_days_keeps(days_mode, hours, kept_days):
    from pinger.reporting.render import render

    rows, pools, study = priced_tiny_table()
    pools = {name: pool(name, len(p.hosts), hours) for name, p in pools.items()}
    analysis, context = analyse_rows(
        rows,
        pools,
        study,
        UTC,
        request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C"), days_mode=days_mode),
        energy=PRICED,
    )
    (change,) = analysis.energy
    assert change.phase_days == kept_days  # the sign: 14 calendar days, 10 of them weekdays, 2 Mondays
    per_pc_day = change.per_pc_day.estimate
    assert per_pc_day == pytest.approx(-0.15)  # the tiny table's DiD on every kind of day
    assert change.over_phase.estimate == pytest.approx(per_pc_day * 4 * kept_days)
    assert change.cost_over_phase.estimate == pytest.approx(change.cost_per_pc_day.estimate * 4 * kept_days)
    assert change.co2_over_phase.estimate == pytest.approx(per_pc_day * 0.4 * 4 * kept_days)
    assert {
        "all": "(every calendar day)",
        "weekdays": "from Monday to Friday (--days weekdays)",
        "open": "that have opening hours (--days open)",
    }[days_mode] in render("md", analysis, context)


PRICED = Energy(currency="EUR", price=0.3, co2_g_per_kwh=400.0)


def priced_tiny_table() -> tuple[list[PoolDay], dict[str, Pool], Study]:
    """The tiny table with a cost per day that is no multiple of its kWh (a cheaper tariff for T under the sign).
    Per PC and day, kWh: T 0.4, 0.6 in the baseline weeks, then 0.3; C 0.4, then 0.35. Cost: 0.3 per kWh,
    but T under the sign pays 0.2: T 0.12, 0.18, then 0.06; C 0.12, then 0.105."""
    rows, pools, study = tiny_table()
    priced = []
    for r in rows:
        per_kwh = 0.2 if r.pool == "T" and r.day >= MONDAY + dt.timedelta(days=14) else 0.3
        priced.append(r._replace(cost=r.energy_kwh * per_kwh))
    return priced, pools, study


def priced_report(fmt: str, energy: Energy = PRICED) -> str:
    from pinger.reporting.render import render

    rows, pools, study = priced_tiny_table()
    analysis, context = analyse_rows(
        rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C")), energy=energy
    )
    return render(fmt, analysis, context)


def test_cost_and_co2_changes_on_a_tiny_table_with_pricing():
    rows, pools, study = priced_tiny_table()
    analysis, _ = analyse_rows(
        rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C")), energy=PRICED
    )
    means = {(s.pool, s.phase): s.mean for s in analysis.phases if s.outcome == "cost_per_pc"}
    assert means == pytest.approx({("T", "baseline"): 0.15, ("T", "sign"): 0.06, ("C", "baseline"): 0.12})
    effects = {(e.outcome, e.versus): e.estimate for e in analysis.effects}
    assert effects["cost_per_pc", "baseline"] == pytest.approx(0.06 - 0.15)
    assert effects["cost_per_pc", "controls"] == pytest.approx((0.06 - 0.105) - (0.15 - 0.12))  # -0.075
    (change,) = analysis.energy
    assert change.versus == "controls" and change.per_pc_day.estimate == pytest.approx(-0.15)
    # Cost is its own DiD, not kWh x price (that would be -0.045); 4 PCs x 14 days of the sign.
    assert change.cost_per_pc_day.estimate == pytest.approx(-0.075)
    assert change.cost_over_phase.estimate == pytest.approx(-0.075 * 4 * 14)
    assert change.cost_per_pc_day.low <= -0.075 <= change.cost_per_pc_day.high
    assert tuple(change.cost_over_phase) == pytest.approx(tuple(v * 56 for v in change.cost_per_pc_day))
    # CO2: the kWh change times 400 g per kWh, its interval too.
    assert tuple(change.co2_per_pc_day) == pytest.approx(tuple(v * 0.4 for v in change.per_pc_day))
    assert change.co2_per_pc_day.estimate == pytest.approx(-0.06)
    assert change.co2_over_phase.estimate == pytest.approx(-0.06 * 56)


def test_every_format_shows_the_cost_outcome_and_the_changes_in_money_and_co2_with_pricing():
    document = json.loads(priced_report("json"))
    assert document["currency"] == "EUR" and document["co2_g_per_kwh"] == 400.0
    assert "cost_per_pc" in {e["outcome"] for e in document["effects"]}
    assert "cost_per_pc" in {s["outcome"] for s in document["phases"]}
    (energy,) = document["energy"]
    assert energy["cost_per_pc_day"] == pytest.approx(-0.075) and energy["cost_over_phase"] == pytest.approx(-4.2)
    assert energy["co2_kg_per_pc_day"] == pytest.approx(-0.06) and energy["co2_kg_over_phase"] == pytest.approx(-3.36)
    assert energy["cost_per_pc_day_ci_low"] <= -0.075 <= energy["cost_per_pc_day_ci_high"]
    assert energy["co2_kg_over_phase_ci_low"] <= -3.36 <= energy["co2_kg_over_phase_ci_high"]
    markdown = priced_report("md")
    assert "## In energy and money" in markdown and "EUR per PC per day (95 % CI)" in markdown
    assert "kg CO2 over the phase (95 % CI)" in markdown and "| -0.075 (" in markdown and "| -4.20 (" in markdown
    assert "| T | sign | cost_per_pc | controls |" in markdown
    assert "| T | baseline | cost_per_pc | 14 | 0 | 0.150 |" in markdown  # cents: 3 decimals
    table = priced_report("csv")
    assert ",cost_per_pc,controls,-0.075," in table and ",cost_over_phase,controls,-4.2," in table
    assert ",co2_kg_per_pc_day,controls,-0.06," in table and ",co2_kg_over_phase,controls,-3.36," in table
    page = priced_report("html")
    assert "cost_per_pc" in page and "EUR over the phase" in page


@pytest.mark.parametrize("energy", [Energy(), Energy(currency="EUR")], ids=["no energy section", "currency only"])
def test_without_pricing_nothing_about_cost_or_co2_appears(energy):
    for fmt in ("md", "csv", "json", "html"):
        text = priced_report(fmt, energy).lower()  # the rows carry a cost, the config prices nothing
        assert "cost" not in text and "co2" not in text and "eur" not in text and "money" not in text, fmt


def test_without_a_control_pool_only_before_after_is_given_and_the_report_says_why():
    rows, pools, study = tiny_table()
    analysis, _ = analyse_rows(rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T",)))
    assert {e.versus for e in analysis.effects} == {"baseline"}
    (note,) = analysis.notes
    assert note.startswith("T, sign: no control pool") and "weaker" in note


def test_json_has_the_shape_the_issue_gives():
    from pinger.reporting.render import render

    rows, pools, study = tiny_table()
    analysis, context = analyse_rows(rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C")))
    document = json.loads(render("json", analysis, context))
    assert isinstance(document["method"], str) and "block bootstrap over calendar weeks" in document["method"]
    assert "2000 resamples" in document["method"]
    for effect in document["effects"]:
        assert {"pool", "phase", "outcome", "versus", "estimate", "ci_low", "ci_high", "p", "days"} <= set(effect)
        assert effect["versus"] in ("baseline", "controls")
    for phase in document["phases"]:
        assert {"pool", "phase", "outcome", "mean", "ci_low", "ci_high", "days", "days_left_out"} <= set(phase)
    assert {e["outcome"] for e in document["effects"]} == {"runtime_per_pc_h", "energy_per_pc_kwh"}


def test_html_embeds_the_figure_as_svg_and_fetches_nothing():
    pytest.importorskip("matplotlib")
    from pinger.reporting.render import render

    rows, pools, study = tiny_table()
    analysis, context = analyse_rows(rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C")))
    page = render("html", analysis, context)
    assert page.count("<svg") == 1 and "<?xml" not in page
    assert "<script" not in page and 'href="http' not in page and "url(http" not in page and "<img" not in page


def test_html_without_matplotlib_says_what_to_install(monkeypatch):
    from pinger.reporting.render import render

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    rows, pools, study = tiny_table()
    analysis, context = analyse_rows(rows, pools, study, UTC, request(MONDAY, MONDAY + dt.timedelta(27), ("T", "C")))
    page = render("html", analysis, context)
    assert "<svg" not in page and "pip install &#x27;pinger[report]&#x27;" in page


# --- validity by simulation --------------------------------------------------------------------------------------


def did_runtime(seed: int, effect_h: float):
    study = synthetic_study(pools=4, treated=1, effect_h=effect_h, seed=seed)
    names = tuple(p.name for p in study.pools)
    analysis, _ = analyse_rows(
        study.rows, {p.name: p for p in study.pools}, study.study, UTC, request(study.first, study.last, names)
    )
    (effect,) = [e for e in analysis.effects if e.outcome == "runtime_per_pc_h" and e.versus == "controls"]
    return effect


@pytest.mark.slow
def test_a_true_effect_of_minus_one_hour_is_found_by_the_did():
    effects = [did_runtime(seed, -1.0) for seed in range(100)]
    contains = sum(e.ci_low <= -1.0 <= e.ci_high for e in effects)
    excludes_zero = sum(e.ci_high < 0 for e in effects)
    assert contains >= 85 and excludes_zero >= 85, (contains, excludes_zero)  # observed: 98 and 93 of 100


@pytest.mark.slow
def test_without_an_effect_the_interval_covers_zero_in_at_least_90_percent_of_200_seeds():
    covered = sum(e.ci_low <= 0.0 <= e.ci_high for e in (did_runtime(seed, 0.0) for seed in range(200)))
    assert covered >= 180, covered  # observed: 195 of 200 (97.5 %)


# --- the real pipeline and bad input, through the command line ---------------------------------------------------

STUDY_CONFIG = """\
timezone: UTC
interval: 1h
storage: {{path: {store}}}
aggregate: {{hold: 1h}}
pools:
  - {{name: A, watts: 100, hosts: [10.0.0.1, 10.0.0.2]}}
  - {{name: B, watts: 100, hosts: [10.0.1.1, 10.0.1.2]}}
  - {{name: C, watts: 100, hosts: [10.0.2.1, 10.0.2.2]}}
energy:
  currency: EUR
  price: 0.3
  tariffs: [{{price: 0.2, at: {{mon-sun: "14:00-24:00"}}}}]
  co2_g_per_kwh: 400
{study}"""
PHASES = """\
study:
  phases:
    - {name: baseline, start: 2026-09-07, end: 2026-09-20}
    - {name: sign, start: 2026-09-21, pools: [A]}
"""
FIRST, LAST = dt.date(2026, 9, 7), dt.date(2026, 10, 4)


def lost_cost_per_pc(day: dt.date) -> float:
    """What A saves per PC on a day of the sign: hourly samples put the changes at the half hours, so A is on
    07:30 to 13:30 + w (w = weekday % 3) without the sign and 2 h less with it; 0.1 kWh per hour, at 0.3 per kWh
    before 14:00 and 0.2 after."""
    w = day.weekday() % 3
    start, end = 11.5 + w, 13.5 + w
    before_14 = max(0.0, min(end, 14.0) - start)
    return 0.1 * (0.3 * before_14 + 0.2 * (end - start - before_14))


def hours_on(pool_name: str, day: dt.date) -> int:
    """Each host is on from 08:00 for this many hours: 6 to 8 by weekday, 2 fewer for A under the sign."""
    return 6 + day.weekday() % 3 - (2 if pool_name == "A" and day >= dt.date(2026, 9, 21) else 0)


@pytest.fixture(scope="module")
def study_store(tmp_path_factory):
    """Hourly samples of four weeks written to a SQLite store and aggregated: (folder, config text maker)."""
    from pinger.aggregator.job import aggregate_days

    folder = tmp_path_factory.mktemp("study")
    store = folder / "store.sqlite"

    def config_text(study: str = PHASES) -> str:
        return STUDY_CONFIG.format(store=store, study=study)

    path = folder / "pinger.yaml"
    path.write_text(config_text())
    config = load_config(str(path))
    samples = []
    for offset in range((LAST - FIRST).days + 1):
        day = FIRST + dt.timedelta(days=offset)
        midnight = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
        for p in config.pools:
            on = hours_on(p.name, day)
            samples += [
                Sample(midnight + hour * 3600, p.name, host.name, int(8 <= hour < 8 + on))
                for host in p.hosts
                for hour in range(24)
            ]
    writer = open_history_store(config, "create")
    try:
        writer.write_samples(samples)
    finally:
        writer.close()
    aggregate_days(config, FIRST, LAST)
    return folder, config_text


@pytest.mark.e2e
def test_samples_aggregate_report_end_to_end_on_sqlite(study_store, run_pinger):
    folder, config_text = study_store
    result = run_pinger(
        "report", "-c", str(folder / "pinger.yaml"), "--from", str(FIRST), "--to", str(LAST), "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    effects = {(e["pool"], e["outcome"], e["versus"]): e for e in document["effects"]}
    assert set(effects) == {
        ("A", outcome, versus)
        for outcome in ("runtime_per_pc_h", "energy_per_pc_kwh", "cost_per_pc")
        for versus in ("baseline", "controls")
    }
    # The weekday rhythm is the same in every pool and cancels: A runs 2 h less per PC and day under the sign.
    did = effects["A", "runtime_per_pc_h", "controls"]
    assert did["estimate"] == pytest.approx(-2.0, abs=1e-6) and did["days"] == 14 and did["baseline_days"] == 14
    assert effects["A", "energy_per_pc_kwh", "controls"]["estimate"] == pytest.approx(-0.2, abs=1e-6)
    (energy,) = document["energy"]
    assert energy["kwh_over_phase"] == pytest.approx(-0.2 * 2 * 14, abs=1e-6)
    means = {(s["pool"], s["phase"]): s["mean"] for s in document["phases"] if s["outcome"] == "runtime_per_pc_h"}
    weekday_mean = sum(6 + (MONDAY + dt.timedelta(days=d)).weekday() % 3 for d in range(14)) / 14
    assert means["B", "baseline"] == pytest.approx(weekday_mean)
    assert means["A", "sign"] == pytest.approx(weekday_mean - 2)
    # Energy pricing with a tariff from 14:00: the cost DiD is the mean saving over the sign's days, not kWh x price.
    sign_days = [dt.date(2026, 9, 21) + dt.timedelta(days=d) for d in range(14)]
    saving = sum(lost_cost_per_pc(day) for day in sign_days) / 14  # 0.38 / 7
    assert saving == pytest.approx(0.38 / 7)
    cost = effects["A", "cost_per_pc", "controls"]
    assert cost["estimate"] == pytest.approx(-saving, abs=1e-6) and cost["days"] == 14
    assert energy["cost_per_pc_day"] == pytest.approx(-saving, abs=1e-6)
    assert energy["cost_over_phase"] == pytest.approx(-saving * 2 * 14, abs=1e-5)
    assert energy["co2_kg_per_pc_day"] == pytest.approx(-0.2 * 0.4, abs=1e-6)
    assert energy["co2_kg_over_phase"] == pytest.approx(-0.2 * 0.4 * 2 * 14, abs=1e-6)
    assert document["currency"] == "EUR"


@pytest.mark.parametrize(
    "study, argv, sentence",
    [
        ("", [], "has no study phases, so there is nothing to compare: add a baseline phase"),
        (
            PHASES,
            ["--from", "2027-01-04", "--to", "2027-01-31"],
            "there are no daily rows of the 3 pools from 2027-01-04",
        ),
        (PHASES, ["--from", "2026-09-21", "--to", "2026-10-04"], "pool A has no usable days in the baseline phase"),
        (PHASES, ["--pools", "A,Z"], "--pools: no pool is named 'Z'"),
        (PHASES, ["--min-coverage", "1.5"], "1.5 is not between 0 and 1"),
        (PHASES, ["--days", "open"], "is left for the report: 84 are not kept by --days open or have no outcome"),
        (PHASES, ["--from", "2026-10-04", "--to", "2026-09-07"], "--to is before --from"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(study_store, run_pinger, tmp_path, study, argv, sentence):
    _, config_text = study_store
    config = tmp_path / "pinger.yaml"
    config.write_text(config_text(study))
    out = tmp_path / "report.md"
    dates = [] if "--from" in argv else ["--from", str(FIRST), "--to", str(LAST)]
    result = run_pinger("report", "-c", str(config), *dates, *argv, "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert sentence in result.stderr and "Traceback" not in result.stderr
    usage = ("usage:", " ")  # argparse's usage lines come first for a bad option
    assert len([line for line in result.stderr.splitlines() if not line.startswith(usage)]) == 1
    assert not out.exists() and result.stdout == ""


@pytest.mark.e2e
def test_samples_aggregate_report_end_to_end_through_the_influxdb_standin(tmp_path):
    import os
    import subprocess

    from tests.support import ROOT, influx_storage, pinger_command
    from tests.support.influx_standin import InfluxStandin

    with InfluxStandin(org="pinger", token="s3cret-token", buckets=("pinger", "pinger_daily")) as standin:
        config = tmp_path / "influx.yaml"
        config.write_text(
            STUDY_CONFIG.format(store=tmp_path / "unused.sqlite", study=PHASES).replace(
                f"storage: {{path: {tmp_path / 'unused.sqlite'}}}",
                influx_storage(standin.url, tmp_path / "spool.sqlite"),
            )
        )
        lines = []
        for offset in range((LAST - FIRST).days + 1):
            day = FIRST + dt.timedelta(days=offset)
            midnight = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
            for name, hosts in (("A", "10.0.0"), ("B", "10.0.1"), ("C", "10.0.2")):
                on = hours_on(name, day)
                lines += [
                    f"ping,pool={name},host={hosts}.{host} up={int(8 <= hour < 8 + on)}i {midnight + hour * 3600}"
                    for host in (1, 2)
                    for hour in range(24)
                ]
        samples = tmp_path / "samples.lp"
        samples.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "INFLUX_TOKEN": "s3cret-token"}

        def pinger(*args: str) -> subprocess.CompletedProcess:
            result = subprocess.run(
                pinger_command(*args), cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
            )
            assert result.returncode == 0, result.stderr
            return result

        pinger("import", "-c", str(config), str(samples), "--precision", "s")
        pinger("aggregate", "-c", str(config), "--from", str(FIRST), "--to", str(LAST))
        assert len(standin.points(bucket="pinger_daily", measurement="pool_daily")) == 3 * 28
        document = json.loads(
            pinger("report", "-c", str(config), "--from", str(FIRST), "--to", str(LAST), "--format", "json").stdout
        )
    (did,) = [e for e in document["effects"] if e["outcome"] == "runtime_per_pc_h" and e["versus"] == "controls"]
    assert did["pool"] == "A" and did["estimate"] == pytest.approx(-2.0, abs=1e-6)
    assert did["days"] == 14 and did["baseline_days"] == 14 and did["controls"] == ["B", "C"]
    (cost,) = [e for e in document["effects"] if e["outcome"] == "cost_per_pc" and e["versus"] == "controls"]
    assert cost["estimate"] == pytest.approx(-0.38 / 7, abs=1e-6)  # the cost read back from InfluxDB
