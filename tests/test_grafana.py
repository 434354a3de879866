"""Static checks of the provisioned Grafana: dashboards, their queries, the datasource.

No Grafana or InfluxDB runs here: dashboards are validated against the schemas in
../shared/schemas/grafana (Grafana's own, via grafana-foundation-sdk), and every Flux query
through the Flux front end (tests/support/flux_check.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from pinger import schema
from tests.support.flux_check import check_flux, check_names

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parent / "schemas" / "grafana"  # a copy of ../shared/schemas (test_schemas_copy.py)
DASHBOARDS = ROOT / "grafana" / "dashboards"
PROVISIONING = ROOT / "grafana" / "provisioning"

EXPECTED_UIDS = {
    "pools-now.json": "pinger-pools-now",
    "pool-detail.json": "pinger-pool-detail",
    "daily-runtime-energy.json": "pinger-daily",
    "collector-health.json": "pinger-collector-health",
}
GRAFANA_11_SCHEMA_VERSIONS = range(39, 42)  # 11.0 ... 11.6

# Sample values of the dashboards' query variables (lists: multi-value), for the Flux check.
SAMPLE_VALUES = {
    "pool": ["A101", "B204"],
    "host": ["10.1.1.10", "pc-a101-07.example.edu"],
    "collector": ["lab-1"],
    "sweep_interval": "5m",
    "aggregate_at": "30m",
    "top": "25",
}
# Grafana's global variables; the second set only means something in links and display names.
GLOBAL_VARIABLES = {
    "__interval",
    "__interval_ms",
    "__rate_interval",
    "__range",
    "__range_s",
    "__range_ms",
    "__from",
    "__to",
    "__timezone",
    "__dashboard",
    "__org",
    "__user",
}
DISPLAY_MACROS = {"__field", "__data", "__series", "__value", "__url_time_range", "__all"}
VARIABLE_REF = re.compile(r"\$(\w+)|\[\[(\w+?)(?::\w+)?\]\]|\$\{(\w+)(?:\.[^:}]+)?(?::[^}]+)?\}")


def load(name: str) -> dict:
    return json.loads((DASHBOARDS / name).read_text())


def all_panels(dashboard: dict) -> list[dict]:
    """Panels, with those nested in (collapsed) rows; rows themselves left out."""
    found = []
    for item in dashboard.get("panels", []):
        if item["type"] == "row":
            found += item.get("panels", [])
        else:
            found.append(item)
    return found


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(label, Flux) of every query the dashboard runs: panel targets, variables, annotations."""
    found = [
        (f"panel {p['title']!r} target {t['refId']}", t["query"])
        for p in all_panels(dashboard)
        for t in p.get("targets", [])
    ]
    found += [(f"variable {v['name']!r}", v["query"]) for v in dashboard["templating"]["list"] if v["type"] == "query"]
    found += [
        (f"annotation {a['name']!r}", a["target"]["query"]) for a in dashboard["annotations"]["list"] if "target" in a
    ]
    return found


def walk(node, path=""):
    """(path, key, value) of every dict entry below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def provisioned_datasource() -> dict:
    (datasource,) = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text())["datasources"]
    return datasource


def panel_schema(panel_type: str) -> dict:
    path = SCHEMAS / f"{panel_type.replace('-', '')}.jsonschema.json"
    assert path.is_file(), f"no schema for panel type {panel_type!r} in {SCHEMAS}"
    return json.loads(path.read_text())


def errors_against(schema_doc: dict, definition: str, instance) -> list[str]:
    validator = jsonschema.Draft7Validator({"$ref": f"#/definitions/{definition}", **schema_doc})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


dashboard_files = pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))


def test_the_four_dashboards_are_there_with_fixed_uids():
    assert sorted(p.name for p in DASHBOARDS.glob("*.json")) == sorted(EXPECTED_UIDS)
    for name, uid in EXPECTED_UIDS.items():
        board = load(name)
        assert board["uid"] == uid
        assert board.get("id") is None, "a provisioned dashboard carries no instance-specific id"
        assert board["schemaVersion"] in GRAFANA_11_SCHEMA_VERSIONS
        assert "pinger" in board["tags"]


@dashboard_files
def test_dashboard_is_valid_against_grafanas_schema(name):
    dashboard_schema = json.loads((SCHEMAS / "dashboard.jsonschema.json").read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(dashboard_schema).iter_errors(load(name))
    ]
    assert errors == []


@dashboard_files
def test_panel_options_and_field_config_are_valid_for_their_panel_type(name):
    errors = []
    for panel in all_panels(load(name)):
        own = panel_schema(panel["type"])
        where = f"panel {panel['title']!r} ({panel['type']})"
        errors += [f"{where} options/{e}" for e in errors_against(own, "Options", panel.get("options", {}))]
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
        if "FieldConfig" in own["definitions"]:
            errors += [f"{where} custom/{e}" for e in errors_against(own, "FieldConfig", custom or {})]
        elif custom:
            errors.append(f"{where}: has fieldConfig.defaults.custom, but its type defines none")
    assert errors == []


@dashboard_files
def test_panels_have_unique_ids_and_do_not_overlap(name):
    panels = load(name)["panels"]
    ids = [p["id"] for p in panels] + [q["id"] for p in panels for q in p.get("panels", [])]
    assert len(ids) == len(set(ids))
    cells = {}
    for panel in panels:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


@dashboard_files
def test_every_datasource_reference_is_the_provisioned_one(name):
    datasource = provisioned_datasource()
    references = [(path, value) for path, key, value in walk(load(name)) if key == "datasource"]
    assert references, "the dashboard names its datasource"
    for path, value in references:
        assert value == {"type": datasource["type"], "uid": datasource["uid"]}, path


@dashboard_files
def test_every_variable_used_is_defined(name):
    board = load(name)
    defined = {v["name"] for v in board["templating"]["list"]}
    query_texts = {q for _, q in queries(board)}
    problems = []
    for path, key, value in walk(board):
        if not isinstance(value, str) or key == "current":
            continue
        allowed = defined | GLOBAL_VARIABLES | (set() if value in query_texts else DISPLAY_MACROS)
        for match in VARIABLE_REF.finditer(value):
            used = next(g for g in match.groups() if g)
            if used not in allowed:
                problems.append(f"{path}/{key}: {match.group(0)}")
    assert problems == []


@dashboard_files
def test_every_query_is_valid_flux(name):
    labelled = queries(load(name))
    assert labelled
    labels, texts = zip(*labelled, strict=True)
    assert check_flux(texts, labels=labels, variables=SAMPLE_VALUES) == []


@dashboard_files
def test_queries_read_names_the_collector_and_aggregator_write(name):
    problems = [f"{label}: {error}" for label, query in queries(load(name)) for error in check_names(query)]
    assert problems == []


def test_the_csv_table_is_the_wide_layout():
    (table,) = [p for p in all_panels(load("daily-runtime-energy.json")) if "Download CSV" in p["title"]]
    assert table["type"] == "table"
    query = table["targets"][0]["query"]
    listed = re.search(r"set: \[([^\]]*)\]", query).group(1)
    # The figures, plus the stored date and the pool's place in the config (test_grafana_data.py: the header).
    assert tuple(re.findall(r'"([^"]+)"', listed)) == (
        "date",
        "pool_order",
        *schema.WIDE_FIGURES,
        *schema.ENERGY_FIELDS,
    )
    # One row per day, a column per pool and figure.
    assert 'pivot(rowKey: ["date"], columnKey: ["column"]' in query


def test_the_daily_dashboard_shows_study_phases_as_annotations():
    (phases,) = load("daily-runtime-energy.json")["annotations"]["list"]
    assert phases["enable"] and "phase" in phases["target"]["query"]
    assert set(phases["mappings"]) >= {"time", "timeEnd", "text"}


def test_dashboards_cover_the_issue():
    titles = {name: {p["title"] for p in all_panels(load(name))} for name in EXPECTED_UIDS}
    types = {name: {p["type"] for p in all_panels(load(name))} for name in EXPECTED_UIDS}
    assert {"Pools now", "PCs on per pool", "PCs on now"} <= titles["pools-now.json"]
    assert {"state-timeline", "barchart"} <= types["pool-detail.json"]
    assert {"Runtime per day", "Average runtime per used PC", "Energy per day", "PCs on at closing time"} <= titles[
        "daily-runtime-energy.json"
    ]
    assert {
        "Time since last sweep",
        "Sweep duration",
        "Spool backlog",
        "Write errors",
        "Hosts swept and online",
    } <= titles["collector-health.json"]
    for name in EXPECTED_UIDS:
        assert any(
            v["name"] in ("pool", "collector") and v["type"] == "query" for v in load(name)["templating"]["list"]
        ), f"{name}: a variable from the data"


def test_datasource_is_influxdb_in_flux_mode_with_grafanas_own_read_only_token():
    datasource = provisioned_datasource()
    assert datasource["type"] == "influxdb" and datasource["uid"] == "pinger-influxdb"
    assert datasource["jsonData"]["version"] == "Flux"
    assert datasource["jsonData"]["organization"] == "$INFLUX_ORG"
    assert datasource["jsonData"]["defaultBucket"] == "$INFLUX_BUCKET"
    # Grafana's read-only token, from the file the setup service writes (docs/operations.md, Tokens).
    assert datasource["secureJsonData"]["token"] == "$__file{/run/pinger/influx-token}"
    assert datasource["url"] == "http://influxdb:8086"


def test_dashboards_provider_loads_files_from_the_mounted_folder():
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "pinger.yaml").read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
