"""Static checks of the provisioned alerting: grafana/provisioning/alerting/ (rules, contact point, policy).

No Grafana runs here and ../shared/schemas has no schema for alerting provisioning, so the files are
checked against the structure Grafana's file provisioning reads (pkg/services/provisioning/alerting:
AlertingFileV1, AlertRuleGroupV1, AlertRuleV1, QueryV1, ContactPointV1, NotificiationPolicyV1) and
its documented values; every rule's Flux goes through the Flux front end (tests/support/flux_check.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.flux_check import check_flux, check_names

ROOT = Path(__file__).resolve().parents[1]
ALERTING = ROOT / "grafana" / "provisioning" / "alerting"
DATASOURCE_UID = "pinger-influxdb"
EXPRESSIONS = "__expr__"

FILE_KEYS = {
    "apiVersion",
    "groups",
    "deleteRules",
    "contactPoints",
    "deleteContactPoints",
    "policies",
    "resetPolicies",
    "muteTimes",
    "deleteMuteTimes",
    "templates",
    "deleteTemplates",
}
GROUP_KEYS = {"orgId", "name", "folder", "interval", "rules"}
RULE_KEYS = {
    "uid",
    "title",
    "condition",
    "data",
    "dashboardUid",
    "panelId",
    "noDataState",
    "execErrState",
    "for",
    "keepFiringFor",
    "annotations",
    "labels",
    "isPaused",
    "notification_settings",
}
QUERY_KEYS = {"refId", "queryType", "relativeTimeRange", "datasourceUid", "model"}
NO_DATA_STATES = {"Alerting", "NoData", "OK", "KeepLast"}
EXEC_ERR_STATES = {"Alerting", "Error", "OK", "KeepLast"}
DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")  # Prometheus model.ParseDuration
EXPRESSION_TYPES = {"reduce", "threshold", "math", "resample", "classic_conditions"}
EVALUATORS = {"gt", "lt", "within_range", "outside_range"}


def load_all() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(ALERTING.glob("*.yaml"))}


def rules() -> list[dict]:
    return [rule for document in load_all().values() for group in document.get("groups", []) for rule in group["rules"]]


def influx_queries() -> list[tuple[str, str]]:
    """(label, Flux) of every query the rules send to the InfluxDB datasource."""
    return [
        (f"rule {rule['uid']} query {query['refId']}", query["model"]["query"])
        for rule in rules()
        for query in rule["data"]
        if query["datasourceUid"] == DATASOURCE_UID
    ]


def test_alerting_files_have_grafanas_provisioning_structure():
    documents = load_all()
    assert documents, f"no alerting provisioning in {ALERTING}"
    for name, document in documents.items():
        assert document["apiVersion"] == 1, name
        assert set(document) <= FILE_KEYS, f"{name}: unknown keys {set(document) - FILE_KEYS}"
        for group in document.get("groups", []):
            assert set(group) <= GROUP_KEYS and group["name"].strip() and group["folder"] == "Pinger alerts"
            assert DURATION.fullmatch(group["interval"]), group["interval"]
            assert group["orgId"] == 1
    dashboards = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/pinger.yaml").read_text())
    assert "Pinger alerts" not in {provider["folder"] for provider in dashboards["providers"]}


def test_every_rule_is_complete_and_its_expressions_refer_to_its_queries():
    uids = [rule["uid"] for rule in rules()]
    assert len(uids) >= 3
    assert len(uids) == len(set(uids)) and all(re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid) for uid in uids)
    for rule in rules():
        where = rule["uid"]
        assert set(rule) <= RULE_KEYS, f"{where}: unknown keys {set(rule) - RULE_KEYS}"
        assert rule["title"].strip()
        assert rule["noDataState"] in NO_DATA_STATES and rule["execErrState"] in EXEC_ERR_STATES, where
        assert DURATION.fullmatch(rule["for"]), where
        ref_ids = [query["refId"] for query in rule["data"]]
        assert len(ref_ids) == len(set(ref_ids)) and rule["condition"] in ref_ids, where
        for query in rule["data"]:
            assert set(query) <= QUERY_KEYS and query["model"]["refId"] == query["refId"], where
            span = query["relativeTimeRange"]
            assert isinstance(span["from"], int) and isinstance(span["to"], int) and span["from"] >= span["to"] >= 0
            if query["datasourceUid"] == EXPRESSIONS:
                model = query["model"]
                assert model["type"] in EXPRESSION_TYPES and model["expression"] in ref_ids, where
                assert model["datasource"] == {"type": EXPRESSIONS, "uid": EXPRESSIONS}
                if model["type"] == "threshold":
                    (condition,) = model["conditions"]
                    assert condition["evaluator"]["type"] in EVALUATORS
                    assert all(isinstance(p, (int, float)) for p in condition["evaluator"]["params"])
            else:
                assert query["datasourceUid"] == DATASOURCE_UID, where
                assert query["model"]["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
                assert query["relativeTimeRange"]["from"] > 0, f"{where}: a query needs a time range"


def test_the_rules_datasource_is_the_provisioned_one():
    (datasource,) = yaml.safe_load((ROOT / "grafana/provisioning/datasources/influxdb.yaml").read_text())["datasources"]
    assert datasource["uid"] == DATASOURCE_UID and datasource["type"] == "influxdb"


def test_no_dollar_sign_outside_the_query_models():
    """Provisioning interpolates $NAME in every value but the query models: a stray $ would be lost."""
    assert rules()
    for rule in rules():
        text = yaml.safe_dump({key: value for key, value in rule.items() if key != "data"})
        assert "$" not in text, rule["uid"]


def test_every_rule_query_is_valid_flux():
    labelled = influx_queries()
    assert len(labelled) == 3
    labels, texts = zip(*labelled, strict=True)
    assert check_flux(texts, labels=labels) == []


def test_rule_queries_read_names_the_collector_and_aggregator_write():
    assert len(influx_queries()) == 3
    problems = [f"{label}: {error}" for label, query in influx_queries() for error in check_names(query)]
    assert problems == []


@pytest.mark.parametrize(
    ("uid", "needle", "threshold", "no_data"),
    [
        ("pinger-collector-silent", '_measurement == "collector"', 3, "Alerting"),
        ("pinger-spool-growing", '_field == "spool_backlog"', 0, "OK"),
        ("pinger-aggregation-missing", '_measurement == "pool_daily"', 49.5, "NoData"),
    ],
)
def test_the_three_rules_the_issue_asks_for(uid, needle, threshold, no_data):
    (rule,) = [rule for rule in rules() if rule["uid"] == uid]
    queries = {query["refId"]: query for query in rule["data"]}
    assert needle in queries["A"]["model"]["query"]
    condition = queries[rule["condition"]]["model"]
    assert condition["type"] == "threshold" and condition["conditions"][0]["evaluator"]["params"] == [threshold]
    assert rule["noDataState"] == no_data


def test_collector_silent_counts_in_the_collectors_own_intervals():
    (rule,) = [rule for rule in rules() if rule["uid"] == "pinger-collector-silent"]
    query = rule["data"][0]["model"]["query"]
    assert "tail(n: 2)" in query and "elapsed(" in query and "/ float(v: r.interval_s)" in query
    # A collector silent for longer than the range drops out of the result and would resolve, not fire:
    # the range reaches back as far as the dashboard's "Time since last sweep" (30 days).
    assert rule["data"][0]["relativeTimeRange"] == {"from": 30 * 86400, "to": 0}


SPOOL_RULE_STEPS = (
    '|> sort(columns: ["_time"], desc: true)',
    "identity: {newest: 0, last: -1.0, first: -1.0, lowest: -1.0},",
    "newest = if accumulator.newest == 0 then int(v: r._time) else accumulator.newest",
    "inside = int(v: r._time) >= newest - int(v: 30m)",
    "last: if accumulator.last < 0.0 then r._value else accumulator.last,",
    "first: if inside then r._value else accumulator.first,",
    "lowest: if inside and (accumulator.lowest < 0.0 or r._value < accumulator.lowest)",
    "then r._value else accumulator.lowest,",
    "_value: if r.lowest > 0.0 then r.last - r.first else 0.0}))",
)
MINUTE, INTERVAL = 60, 300


def spool_rule():
    (rule,) = [rule for rule in rules() if rule["uid"] == "pinger-spool-growing"]
    return rule


def spool_rule_value(stored: list[tuple[int, float]], now: int, span: int) -> float | None:
    """The rule's query on a collector's stored (time, spool_backlog) points, evaluated at ``now`` over the
    query's range [now - span, now): newest first, the 30 minutes of sweeps before the newest, then the growth
    when the backlog never reached 0 there. None: no data (the series is not in the result)."""
    newest = last = first = lowest = None
    for time, backlog in sorted((p for p in stored if now - span <= p[0] < now), reverse=True):
        newest = time if newest is None else newest
        last = backlog if last is None else last
        if time >= newest - 30 * MINUTE:
            first = backlog
            lowest = backlog if lowest is None or backlog < lowest else lowest
    if newest is None:
        return None
    return last - first if lowest > 0 else 0.0


def old_spool_rule_value(stored: list[tuple[int, float]], now: int) -> float | None:
    """The rule as it was: the last 30 minutes before now."""
    window = sorted(p for p in stored if now - 30 * MINUTE <= p[0] < now)
    if not window:
        return None
    values = [backlog for _, backlog in window]
    return values[-1] - values[0] if min(values) > 0 else 0.0


def simulate(outage: tuple[int, int], every: int, hours: int) -> list[tuple[int, int, float]]:
    """A collector sweeping every 5 minutes, its spool delivering oldest first: at once outside ``outage``,
    inside it one sweep per ``every`` seconds (InfluxDB slower than the collector). Each sweep records the
    spool's backlog when it is taken (the collector's own spool_backlog). (sweep time, arrival time, backlog)."""
    spool: list[tuple[int, float]] = []
    arrived: list[tuple[int, int, float]] = []
    next_delivery = 0
    for now in range(0, hours * 3600, MINUTE):
        if now % INTERVAL == 0:
            spool.append((now, float(len(spool))))
        slow = outage[0] <= now < outage[1]
        while spool and (not slow or now >= next_delivery):
            sweep_time, backlog = spool.pop(0)
            arrived.append((sweep_time, now, backlog))
            if slow:
                next_delivery = now + every
                break
    return arrived


def test_spool_growing_fires_and_stays_firing_while_the_backlog_grows_then_resolves():
    rule = spool_rule()
    query = rule["data"][0]["model"]["query"]
    assert all(step in query for step in SPOOL_RULE_STEPS), "the rule's query is the one evaluated here"
    span = rule["data"][0]["relativeTimeRange"]["from"]
    assert span == 30 * 86400
    # InfluxDB takes one sweep every 10 minutes from 1 h to 5 h (the collector makes one every 5), then all.
    arrivals = simulate(outage=(3600, 5 * 3600), every=600, hours=8)
    states = {}
    for now in range(0, 8 * 3600, MINUTE):
        stored = [(sweep, backlog) for sweep, arrived, backlog in arrivals if arrived <= now]
        states[now] = spool_rule_value(stored, now, span)
    lag = {now: now - max(sweep for sweep, arrived, _ in arrivals if arrived <= now) for now in states}
    # Quiet before; firing from 30 minutes of sweeps with a growing spool on, at every evaluation while it
    # grows, long after the newest delivered sweep is more than 30 minutes old.
    assert not any(states[now] for now in range(0, 3600, MINUTE))  # None: no data yet, resolved (OK)
    firing = [now for now in range(3600, 5 * 3600, MINUTE) if states[now] > 0]
    assert firing and firing == list(range(firing[0], 5 * 3600, MINUTE))
    assert firing[0] <= 3600 + 90 * MINUTE and max(lag[now] for now in firing) > 90 * MINUTE
    # Delivery back: it resolves once the delivered sweeps show the spool empty, and stays quiet.
    assert all(states[now] == 0 for now in range(5 * 3600 + 40 * MINUTE, 8 * 3600, MINUTE))


def test_spool_growing_keeps_firing_while_nothing_is_delivered_at_all():
    span = spool_rule()["data"][0]["relativeTimeRange"]["from"]
    arrivals = simulate(outage=(3600, 10 * 3600), every=600, hours=4)  # slow for three hours...
    stored = [(sweep, backlog) for sweep, _, backlog in arrivals]
    for now in range(4 * 3600, 14 * 3600, 10 * MINUTE):  # ... then nothing more arrives for ten hours
        assert spool_rule_value(stored, now, span) > 0, now


def test_the_old_window_of_the_last_30_minutes_resolved_as_the_backlog_grew():
    arrivals = simulate(outage=(3600, 5 * 3600), every=600, hours=6)
    resolved = []
    for now in range(2 * 3600, 5 * 3600, MINUTE):
        stored = [(sweep, backlog) for sweep, arrived, backlog in arrivals if arrived <= now]
        if old_spool_rule_value(stored, now) is None:  # no data: noDataState OK
            resolved.append(now)
    assert resolved


def test_the_contact_point_is_left_for_the_operator_and_receives_every_alert():
    (document,) = [d for d in load_all().values() if "contactPoints" in d]
    (contact,) = document["contactPoints"]
    (receiver,) = contact["receivers"]
    assert receiver["uid"].strip() and receiver["type"] == "email"
    assert receiver["settings"]["addresses"] == "$GRAFANA_ALERT_EMAIL"
    (policy,) = document["policies"]
    assert policy["receiver"] == contact["name"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GRAFANA_ALERT_EMAIL"].startswith("${GRAFANA_ALERT_EMAIL:-")
    for setting in ("ENABLED", "HOST", "USER", "PASSWORD", "FROM_ADDRESS"):
        assert f"GF_SMTP_{setting}" in grafana
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "GRAFANA_ALERT_EMAIL" in operations and "Pinger operator" in operations
