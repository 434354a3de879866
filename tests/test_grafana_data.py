"""The dashboards hand out exact data and hold at 10,000 PCs (issue 12): static checks over their JSON and Flux.

No Grafana or InfluxDB runs here. Where a check depends on how Flux or Grafana behave, the behaviour is
named in the test; tests/test_influx_daily.py runs the wide table's Flux on a real InfluxDB when one is set.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from tests.test_grafana import EXPECTED_UIDS, all_panels, load, queries

DAILY = "daily-runtime-energy.json"
WIDE_TITLE = "Daily figures per pool: Inspect → Data → Download CSV"
LONG_TITLE = "Daily rows, one per pool and day (long layout)"
DAILY_MEASUREMENTS = re.compile(r'_measurement == "(pool_daily|host_daily)"')
# Grafana's Flux backend keeps at most 10 x maxDataPoints rows of a frame.
GRAFANA_ROWS_PER_DATA_POINT = 10


def panel(name: str, title: str, kind: str | None = None) -> dict:
    (found,) = [p for p in all_panels(load(name)) if p["title"] == title and kind in (None, p["type"])]
    return found


def query_of(name: str, title: str, ref: str = "A", kind: str | None = None) -> str:
    (found,) = [t["query"] for t in panel(name, title, kind)["targets"] if t["refId"] == ref]
    return found


def variable(name: str, variable_name: str) -> dict:
    (found,) = [v for v in load(name)["templating"]["list"] if v["name"] == variable_name]
    return found


def csv_tables() -> list[dict]:
    return [panel(DAILY, WIDE_TITLE), panel(DAILY, LONG_TITLE)]


# -- 1. a day's date never depends on the viewer -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))
def test_dashboards_show_the_sites_time_zone(name):
    # "" = Grafana's default zone, which compose sets from PINGER_TIMEZONE ("browser" was the viewer's).
    assert load(name)["timezone"] == ""


@pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))
def test_no_query_makes_a_date_from_the_viewers_time_zone(name):
    for label, query in queries(load(name)):
        if "__timezone" in query:
            assert not re.search(r"date\.(year|month|monthDay|yearDay|add|sub|truncate)\(", query), label
            assert not DAILY_MEASUREMENTS.search(query), label


def test_the_csv_tables_take_the_date_the_aggregator_stored():
    for table in csv_tables():
        query = table["targets"][0]["query"]
        assert re.search(r'\bdate"?: r\.date\b', query) and "localDate" not in query, table["title"]


NOON_RANGE = re.compile(
    r"range\(start: date\.sub\(d: (\d+)h, from: v\.timeRangeStart\), "
    r"stop: date\.sub\(d: (\d+)h, from: v\.timeRangeStop\)\)"
)


def days_shown(shift_h: int, viewer: ZoneInfo, site: ZoneInfo, first: dt.date, last: dt.date) -> list[dt.date]:
    """The site's days a range query shifted back by shift_h returns when a viewer in ``viewer`` picks the
    local days first..last (from its first midnight to the midnight after its last day)."""
    start = dt.datetime.combine(first, dt.time(0), viewer)
    stop = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), viewer)
    shift = dt.timedelta(hours=shift_h)
    shown = []
    day = first - dt.timedelta(days=3)
    while day <= last + dt.timedelta(days=3):
        stamp = dt.datetime.combine(day, dt.time(0), site)  # a daily row's time: the local midnight starting it
        if start - shift <= stamp < stop - shift:
            shown.append(day)
        day += dt.timedelta(days=1)
    return shown


def test_every_daily_query_shows_the_first_and_last_selected_day_whatever_the_viewers_zone():
    site = ZoneInfo("Europe/Berlin")
    viewers = [
        ZoneInfo(zone)
        for zone in (
            "America/Los_Angeles",
            "America/New_York",
            "UTC",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Asia/Tokyo",
            "Pacific/Honolulu",
        )
    ]
    ranges = [
        (dt.date(2026, 11, 1), dt.date(2026, 11, 7)),
        (dt.date(2027, 3, 27), dt.date(2027, 3, 29)),  # over the spring change (a 23 h day)
        (dt.date(2026, 10, 25), dt.date(2026, 10, 25)),
    ]  # the autumn change alone (a 25 h day)
    checked = 0
    for name in EXPECTED_UIDS:
        for label, query in queries(load(name)):
            if not DAILY_MEASUREMENTS.search(query) or "range(start: -" in query or label.startswith("variable"):
                continue  # relative ranges ("the last 35 days") are no selection of days; pool lists need none
            if "On/off per PC" in label:
                continue  # its range depends on the range's length: test_on_off_per_pc_...
            found = NOON_RANGE.search(query)
            assert found, f"{name} {label}: a daily query's range must take the days whose noon is selected"
            start_shift, stop_shift = map(int, found.groups())
            assert start_shift == stop_shift
            for viewer in viewers:
                for first, last in ranges:
                    expected = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
                    assert days_shown(start_shift, viewer, site, first, last) == expected, (label, viewer, first)
            checked += 1
    assert checked >= 8


def test_the_unshifted_range_loses_the_first_day_west_of_the_site():
    # Why the shift: the old range(start: v.timeRangeStart, ...) for a viewer in New York and a Berlin site.
    shown = days_shown(
        0, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), dt.date(2026, 11, 1), dt.date(2026, 11, 7)
    )
    assert shown[0] == dt.date(2026, 11, 2) and shown[-1] == dt.date(2026, 11, 8)


def test_the_study_phase_annotation_ends_without_the_viewers_zone():
    (phases,) = load(DAILY)["annotations"]["list"]
    query = phases["target"]["query"]
    assert "__timezone" not in query and "location" not in query
    assert NOON_RANGE.search(query)


# -- 2. the download gives the export's digits ---------------------------------------------------------------
# Grafana's own library renders the download in tests/test_grafana_download.py, which also holds the column
# order (from Flux's semantics) and the comparison with `pinger export`; here: what the panels must say.


@pytest.mark.parametrize("title", [WIDE_TITLE, LONG_TITLE])
def test_csv_tables_show_values_as_flux_rounded_them_whatever_the_download_setting(title):
    table = panel(DAILY, title)
    defaults = table["fieldConfig"]["defaults"]
    # Unit "string": Grafana writes a value's own shortest form, formatted or raw (test_grafana_download.py);
    # decimals would pad it, another unit would scale or abbreviate it. No override may set either.
    assert defaults["unit"] == "string" and "decimals" not in defaults
    for override in table["fieldConfig"]["overrides"]:
        assert not {p["id"] for p in override["properties"]} & {"decimals", "unit"}, override
    assert "round6(x: float(v: r." in table["targets"][0]["query"]
    description = table["description"]
    assert "Inspect → Data" in description and '"Download for Excel" off' in description
    # Where the column set can differ from the export's, said beside the table (docs/operations.md too).
    assert "no longer in the config" in description and "newest row in the range" in description
    assert "when the config configures them" in description


# -- 4. large tables are not cut -----------------------------------------------------------------------------


def test_csv_tables_hold_100_pools_for_two_years():
    days = 2 * 366
    for table, rows in ((panel(DAILY, WIDE_TITLE), days), (panel(DAILY, LONG_TITLE), 100 * days)):
        assert table.get("maxDataPoints", 0) * GRAFANA_ROWS_PER_DATA_POINT >= rows, table["title"]


# -- 5. a window's value is drawn at its start ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))
def test_every_aggregate_window_is_stamped_with_its_start(name):
    calls = [
        (label, call) for label, query in queries(load(name)) for call in re.findall(r"aggregateWindow\([^)]*\)", query)
    ]
    for label, call in calls:
        assert 'timeSrc: "_start"' in call, f"{label}: {call}"


# -- pool_status.total counts the PCs a sweep observed, not those configured ---------------------------------------


# The panels that show pool_status.total, or a share of it ("Newest sweep" reads it for its time only).
SHOWS_TOTAL = {
    "pools-now.json": ["PCs observed", "Share of PCs on", "Share of PCs on, per pool", "Pools now"],
    "pool-detail.json": ["PCs observed", "PCs on"],
}


@pytest.mark.parametrize("name", sorted(SHOWS_TOTAL))
def test_panels_showing_pool_status_total_call_it_observed(name):
    # pool_status.total (and collector.hosts) count the hosts a sweep observed (README, Data), which is fewer
    # than the configured ones when a name does not resolve: no panel reading it says "configured", and each
    # that shows it says "observed".
    panels = all_panels(load(name))
    reading = [p for p in panels if any('r._field == "total"' in t["query"] for t in p.get("targets", []))]
    assert [p["title"] for p in reading if "configured" in json.dumps(p)] == []
    for title in SHOWS_TOTAL[name]:
        (panel,) = [p for p in reading if p["title"] == title]
        assert "observed" in json.dumps(panel), title


# -- 6. "now" shows a stopped collector ----------------------------------------------------------------------

THREE_INTERVALS = "range(start: time(v: int(v: now()) - 3 * int(v: ${sweep_interval})))"
NOW_PANELS = {
    "pools-now.json": ["PCs on now", "PCs observed", "Share of PCs on", "Share of PCs on, per pool", "Pools now"],
    "pool-detail.json": ["PCs on now", "PCs observed"],
}


@pytest.mark.parametrize("name", sorted(NOW_PANELS))
def test_now_reads_at_most_three_intervals_back(name):
    assert variable(name, "sweep_interval")["current"]["value"] == "5m"
    for title in NOW_PANELS[name]:
        panels = [p for p in all_panels(load(name)) if p["title"] == title]
        assert panels, f"{name} has no panel {title!r}"
        for found in panels:
            for target in found["targets"]:
                assert THREE_INTERVALS in target["query"], f"{title} {target['refId']}"
                assert "range(start: -" not in target["query"]


@pytest.mark.parametrize("name", sorted(NOW_PANELS))
def test_the_newest_sweeps_age_stands_next_to_pcs_on_now_and_turns_red_after_three_intervals(name):
    age = panel(name, "Newest sweep", "stat")
    on_now = panel(name, "PCs on now", "stat")
    assert age["gridPos"]["y"] == on_now["gridPos"]["y"]
    query = age["targets"][0]["query"]
    assert "/ float(v: int(v: ${sweep_interval}))" in query and "float(v: int(v: now()) - int(v: r._time))" in query
    steps = age["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"value": 3, "color": "red"} and all(s["color"] != "red" for s in steps[:-1])


# -- 8. on/off per PC stays usable ---------------------------------------------------------------------------


def test_on_off_per_pc_draws_at_most_the_top_pcs_and_a_daily_grid_beyond_two_days():
    timeline = panel("pool-detail.json", "On/off per PC", "state-timeline")
    top = variable("pool-detail.json", "top")
    choices = [int(value) for value in top["query"].split(",")]
    assert max(choices) <= 1000 and int(top["current"]["value"]) <= 25
    raw, daily = (query_of("pool-detail.json", "On/off per PC", ref) for ref in ("A", "B"))
    for query in (raw, daily):
        assert "long = int(v: v.timeRangeStop) - int(v: v.timeRangeStart) > int(v: 2d)" in query
        assert "|> top(n: ${top})" in query and "contains(value: r.host, set: shown)" in query
    assert '_measurement == "ping"' in raw and "start = if long then date.sub(d: 1ms, from: v.timeRangeStop)" in raw
    assert '_measurement == "host_daily"' in daily and "if long then date.sub(d: 12h, from: v.timeRangeStart)" in daily
    assert timeline["maxDataPoints"] <= 1000


# -- 9. no raw scan where a daily or pool_status measurement answers -----------------------------------------


def test_dashboard_queries_read_raw_pings_only_where_nothing_else_answers():
    for name in EXPECTED_UIDS:
        for label, query in queries(load(name)):
            if '_measurement == "ping"' not in query or label.startswith("variable"):
                continue
            if THREE_INTERVALS in query:
                continue  # "now": three intervals
            if "start = if long then date.sub(d: 1ms, from: v.timeRangeStop)" in query:
                continue  # on/off per PC: raw samples up to two days
            # Round-trip times exist only as samples: per PC first (pushed down), then over the PCs.
            assert 'r._field == "rtt_ms"' in query, label
            assert query.index("aggregateWindow(") < query.index("|> group()"), label


def test_the_overnight_panel_and_recipes_read_daily_rows():
    from tests.test_flux_docs import COOKBOOK

    text = COOKBOOK.read_text()
    overnight = text.split("## PCs left on overnight", 1)[1].split("\n## ", 1)[0]
    first_block = re.search(r"```flux\n(.*?)```", overnight, re.DOTALL).group(1)
    assert 'from(bucket: "pinger_daily")' in first_block


def test_no_cookbook_recipe_scans_raw_pings_over_more_than_a_day():
    from tests.test_flux_docs import cookbook_queries

    raw = [query for query in cookbook_queries() if '_measurement == "ping"' in query]
    assert raw
    for query in raw:
        start, stop = re.search(r"range\(start: ([0-9T:+-]+), stop: ([0-9T:+-]+)\)", query).groups()
        span = dt.datetime.fromisoformat(stop) - dt.datetime.fromisoformat(start)
        assert span <= dt.timedelta(days=1), query[:80]


# -- 10. aggregator health -----------------------------------------------------------------------------------


def red_after(at: dt.timedelta) -> dt.timedelta:
    """The panel's rule: red when the newest row started longer ago than this."""
    query = query_of("collector-health.json", "Aggregator health: last aggregated day per pool")
    hours = int(
        re.search(
            r"int\(v: now\(\)\) - int\(v: r\._time\) > int\(v: (\d+)h\) \+ int\(v: \$\{aggregate_at\}\)", query
        ).group(1)
    )
    return dt.timedelta(hours=hours) + at


def test_aggregator_health_is_red_when_yesterday_is_missing_an_hour_after_the_nightly_run():
    health = panel("collector-health.json", "Aggregator health: last aggregated day per pool", "table")
    query = health["targets"][0]["query"]
    assert '_measurement == "pool_daily" and r._field == "date"' in query
    assert '|> group(columns: ["pool"])\n  |> last()' in query
    mapping = health["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert mapping["yesterday missing"]["color"] == "red" and mapping["ok"]["color"] == "green"
    assert variable("collector-health.json", "aggregate_at")["current"]["value"] == "30m"
    site, at = ZoneInfo("Europe/Berlin"), dt.timedelta(minutes=30)
    today = dt.date(2026, 11, 18)
    for minutes in range(0, 24 * 60, 10):
        now = dt.datetime.combine(today, dt.time(0), site) + dt.timedelta(minutes=minutes)
        for newest in (today - dt.timedelta(days=1), today - dt.timedelta(days=2)):
            started = dt.datetime.combine(newest, dt.time(0), site)
            red = now - started > red_after(at)
            missing_after_run = newest < today - dt.timedelta(days=1) and now.time() > dt.time(1, 30)
            assert red == missing_after_run, (now, newest)


# -- 12. links, percent units, thresholds from the interval --------------------------------------------------

LINKED = {
    "pools-now.json": "/d/pinger-pools-now/",
    "pool-detail.json": "/d/pinger-pool-detail/",
    "daily-runtime-energy.json": "/d/pinger-daily/",
}


@pytest.mark.parametrize("name", sorted(LINKED))
def test_dashboard_links_carry_the_pool_and_the_time_range(name):
    links = [link for link in load(name)["links"] if link["type"] == "link"]
    targets = {other for other, url in LINKED.items() for link in links if link["url"].startswith(url)}
    assert targets == set(LINKED) - {name}
    assert all(link["includeVars"] and link["keepTime"] for link in links)


def test_coverage_and_shares_are_shown_in_percent():
    shares = [
        panel("pools-now.json", "Share of PCs on"),
        panel("pools-now.json", "Share of PCs on, per pool"),
        panel(DAILY, "Coverage"),
    ]
    for found in shares:
        assert found["fieldConfig"]["defaults"]["unit"] == "percentunit", found["title"]
    # Tables of mixed figures: the share's column is in % and says so.
    tables = (panel("pools-now.json", "Pools now"), panel("pool-detail.json", "Runtime per PC (daily rows)"))
    renamed = {
        name: label
        for table in tables
        for name, label in table["transformations"][0]["options"]["renameByName"].items()
    }
    assert "%" in renamed["share"] and "%" in renamed["coverage"]
    assert "* 100.0" in query_of("pool-detail.json", "Runtime per PC (daily rows)")


def test_collector_health_thresholds_are_in_sweep_intervals():
    name = "collector-health.json"
    assert variable(name, "sweep_interval")["current"]["value"] == "5m"
    age = panel(name, "Time since last sweep")
    assert "/ float(v: int(v: ${sweep_interval}))" in age["targets"][0]["query"]
    assert [s["value"] for s in age["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 2, 3]
    duration = panel(name, "Latest sweep duration")
    assert "r._value / (float(v: int(v: ${sweep_interval})) / 1000000000.0)" in duration["targets"][0]["query"]
    assert duration["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert [s["value"] for s in duration["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 0.8, 1]
    backlog = panel(name, "Spool backlog", "stat")  # sweeps: one per interval
    assert [s["value"] for s in backlog["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 1, 3]


def test_the_write_error_counter_shows_its_increase_over_the_range():
    name = "collector-health.json"
    stat = query_of(name, "Write errors", kind="stat")
    assert "range(start: v.timeRangeStart, stop: v.timeRangeStop)" in stat and "|> increase()" in stat
    graph = query_of(name, "Write errors", kind="timeseries")
    assert "|> difference(nonNegative: true)" in graph and "fn: sum" in graph


# -- 13. what users expect (issue 21) ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NOW_PANELS))
def test_pcs_on_now_holds_10000_pcs_on_any_screen(name):
    # Without maxDataPoints Grafana sends the panel's width in pixels, and its Flux backend refuses more than
    # 10 x maxDataPoints rows: the table of PCs on (one row per PC) broke at 10,000 PCs on a narrow screen.
    for found in [p for p in all_panels(load(name)) if p["title"] == "PCs on now"]:
        assert found.get("maxDataPoints", 0) * GRAFANA_ROWS_PER_DATA_POINT >= 10_000 * 2, found["type"]


def test_pool_detail_shows_the_study_phases_of_its_pool():
    (phases,) = load("pool-detail.json")["annotations"]["list"]
    (daily,) = load(DAILY)["annotations"]["list"]
    query = phases["target"]["query"]
    assert phases["enable"] and phases["name"] == "Study phases" and 'r.pool == "${pool}"' in query
    assert query.replace('r.pool == "${pool}"', "r.pool =~ /^${pool:regex}$/") == daily["target"]["query"]
    assert phases["mappings"] == daily["mappings"]


def test_the_cost_panel_has_a_currency_unit():
    cost = panel(DAILY, "Energy cost per day")
    assert cost["fieldConfig"]["defaults"]["unit"].startswith("currency")
    assert "Unit → Currency" in cost["description"]


def test_the_pool_variable_survives_links_between_the_dashboards():
    pools = [variable(name, "pool") for name in LINKED]
    # The same options on every dashboard, whatever the selected time range (a link keeps the range, and a
    # pool missing from the target's options was dropped), loaded once with the dashboard.
    assert len({v["query"] for v in pools}) == 1
    assert all(v["refresh"] == 1 and v["query"] == v["definition"] for v in pools)
    assert "timeRange" not in pools[0]["query"] and "start: 0" in pools[0]["query"]
    assert (
        'r._measurement == "pool_status"' in pools[0]["query"] and 'r._measurement == "pool_daily"' in pools[0]["query"]
    )
    # The dashboards link to each other with their variables.
    for name in LINKED:
        assert all(link["includeVars"] for link in load(name)["links"] if link["type"] == "link")
    # Pool detail shows one pool: from several (or All) it opens the first, and says so.
    detail = variable("pool-detail.json", "pool")
    assert not detail["multi"] and "first" in detail["description"]
