"""The weekday x hour heatmap of share_on (pool_hourly) and the cost panel on the Pool detail and daily dashboards.

Schema validity, Flux validity and names are checked for every panel by test_grafana.py; here: what these
panels read and how they are laid out.
"""

from __future__ import annotations

import re

import pytest

from tests.test_grafana import all_panels, load


@pytest.mark.parametrize("name", ["pool-detail.json", "daily-runtime-energy.json"])
def test_a_weekday_by_hour_heatmap_reads_the_hourly_rows_never_raw_pings(name):
    (panel,) = [p for p in all_panels(load(name)) if p["type"] == "heatmap"]
    query = panel["targets"][0]["query"]
    assert 'r._measurement == "pool_hourly"' in query and "ping" not in re.sub(r"//.*", "", query)
    assert 'v.defaultBucket + "_daily"' in query
    # The mean over the weeks per stored local weekday and hour: no time-zone arithmetic in the query.
    assert '|> group(columns: ["weekday", "hour"])\n  |> mean(column: "share_on")' in query
    assert 'days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]' in query
    assert 'pivot(rowKey: ["hour"], columnKey: ["day"]' in query
    options = panel["options"]
    assert options["calculate"] is False and options["yAxis"]["reverse"] is True  # Mon at the top
    assert options["color"]["min"] == 0 and options["color"]["max"] == 1


def test_the_daily_heatmap_repeats_per_selected_pool():
    (panel,) = [p for p in all_panels(load("daily-runtime-energy.json")) if p["type"] == "heatmap"]
    assert panel["repeat"] == "pool" and "/^${pool:regex}$/" in panel["targets"][0]["query"]


def test_the_daily_dashboard_shows_cost():
    panels = all_panels(load("daily-runtime-energy.json"))
    (cost,) = [p for p in panels if p["title"] == "Energy cost per day"]
    assert 'r._field == "cost"' in cost["targets"][0]["query"]
    (table,) = [p for p in panels if "long layout" in p["title"]]
    assert '"12|cost"' in table["targets"][0]["query"] and '"13|co2_kg"' in table["targets"][0]["query"]
