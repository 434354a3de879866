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


def test_spool_growth_is_measured_over_30_minutes_and_only_when_it_never_emptied():
    (rule,) = [rule for rule in rules() if rule["uid"] == "pinger-spool-growing"]
    assert rule["data"][0]["relativeTimeRange"] == {"from": 1800, "to": 0}
    assert "if r.lowest > 0.0 then r.last - r.first else 0.0" in rule["data"][0]["model"]["query"]


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
