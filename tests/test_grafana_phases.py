"""The daily dashboard's phase means per pool (issue 15): a bar per pool over each study phase, read from
pool_daily's phase tag, computed as `pinger report` computes its outcome, and pointing to the report.

Schema validity, Flux validity, names read and the days' range are checked for every panel by test_grafana.py
and test_grafana_data.py; here: what this panel computes and where it sends the reader.
"""

from __future__ import annotations

from pinger.cli import build_parser
from tests.support import ROOT
from tests.test_grafana import all_panels, load

TITLE = "Phase means: runtime per PC and day, per pool"
REPORT_DOC = "docs/report.md"


def phase_panel() -> dict:
    (found,) = [p for p in all_panels(load("daily-runtime-energy.json")) if p["title"] == TITLE]
    return found


def test_phase_means_are_a_bar_chart_with_a_bar_per_pool_over_each_phase_from_the_stored_phase_tag():
    panel = phase_panel()
    query = panel["targets"][0]["query"]
    assert panel["type"] == "barchart" and panel["options"]["xField"] == "phase"
    assert 'r._measurement == "pool_daily"' in query and "|> filter(fn: (r) => exists r.phase)" in query
    assert '|> group(columns: ["pool", "phase"])' in query and "|> mean()" in query
    assert 'pivot(rowKey: ["phase"], columnKey: ["pool"], valueColumn: "_value")' in query
    # Phases in the order they start, not by name (a baseline after the sign would read wrong).
    assert 'join(tables: {means: means, starts: starts}, on: ["phase"])\n  |> sort(columns: ["_time"])' in query
    assert panel["fieldConfig"]["defaults"]["unit"] == "h"


def test_phase_means_take_the_reports_outcome_and_its_default_coverage_threshold():
    query = phase_panel()["targets"][0]["query"]
    # runtime_per_pc_h: the pool-day's runtime over its configured PCs (reporting.outcomes.outcomes_of).
    assert "_value: r.runtime_h / float(v: r.pcs_total)" in query and "r.pcs_total > 0" in query
    default = build_parser().parse_args(["report", "--from", "2026-09-07", "--to", "2026-09-08"]).min_coverage
    assert f"r.coverage >= {default}" in query


def test_phase_means_say_how_to_run_the_report_and_where_its_method_is():
    description = phase_panel()["description"]
    assert "pinger report -c" in description and f"({REPORT_DOC})" in description
    assert (ROOT / REPORT_DOC).read_text().startswith("# Did it work? The report")
