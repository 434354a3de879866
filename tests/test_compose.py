"""Static checks of the production stack: docker-compose.yml, Dockerfile, .env.example.

No docker here: the compose file is validated against the Compose Specification's schema
(../shared/schemas/compose) and the promises of docs/operations.md are asserted one by one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# A copy of ../shared/schemas: see test_schemas_copy.py.
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "schemas" / "compose" / "compose-spec.json"
LONG_RUNNING = ("influxdb", "grafana", "collector", "aggregator")
PINGER_SERVICES = ("collector", "aggregator")
SETUP = "influxdb-setup"
# The services that get their own InfluxDB token from influxdb-setup, each on its own volume.
TOKEN_VOLUMES = {"grafana": "grafana-token", "collector": "collector-token", "aggregator": "aggregator-token"}
TOKEN_FILE = "/run/pinger/influx-token"
# ${NAME}, ${NAME:-default}, ${NAME:?error} ... (compose interpolation; $$ escapes)
REFERENCE = re.compile(r"(?<!\$)\$\{(\w+)(:?[-?+])?")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def mounts(service: dict) -> dict[str, str]:
    """target -> "source[:mode]" of a service's short-syntax volumes."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        found[target] = ":".join([source, *mode])
    return found


def test_compose_file_is_valid_against_the_compose_spec(compose):
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(compose)
    ]
    assert errors == []


def test_images_are_pinned(services):
    assert re.fullmatch(r"influxdb:2\.7\.\d+", services["influxdb"]["image"])
    assert services[SETUP]["image"] == services["influxdb"]["image"]
    assert re.fullmatch(r"grafana/grafana:11\.\d+\.\d+", services["grafana"]["image"])
    for name in PINGER_SERVICES:
        assert services[name]["build"] == ".", f"{name} is built from the repo's Dockerfile"


def test_influxdb_first_run_setup_comes_from_the_environment(services):
    environment = services["influxdb"]["environment"]
    assert environment["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for variable in ("USERNAME", "PASSWORD", "ORG", "BUCKET", "RETENTION", "ADMIN_TOKEN"):
        assert f"DOCKER_INFLUXDB_INIT_{variable}" in environment
    assert environment["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"].startswith("${INFLUX_TOKEN:?")
    assert environment["DOCKER_INFLUXDB_INIT_BUCKET"] == "${INFLUX_BUCKET:-pinger}"


def test_the_setup_service_runs_the_setup_script_before_the_services_that_need_its_tokens(services):
    setup = services[SETUP]
    assert setup["environment"]["DAILY_BUCKET"] == "${INFLUX_BUCKET:-pinger}_daily"
    assert setup["environment"]["RAW_BUCKET"] == "${INFLUX_BUCKET:-pinger}"
    assert setup["environment"]["ADMIN_USER"] == "${INFLUX_ADMIN_USER:-admin}"
    script = mounts(setup)["/influxdb-setup.sh"]
    assert script == "./deploy/compose/influxdb-setup.sh:ro" and (ROOT / script.split(":")[0]).is_file()
    assert setup["entrypoint"] == ["/bin/sh", "/influxdb-setup.sh"]
    assert 'influx bucket create --name "$DAILY_BUCKET" --retention 0' in (ROOT / script.split(":")[0]).read_text()
    assert setup["depends_on"]["influxdb"]["condition"] == "service_healthy"
    for name in TOKEN_VOLUMES:
        assert services[name]["depends_on"][SETUP]["condition"] == "service_completed_successfully"


def test_bucket_names_agree_with_the_example_config(services):
    influxdb = yaml.safe_load((ROOT / "config" / "pools.example.yaml").read_text())["storage"]["influxdb"]
    assert influxdb["url"] == "http://influxdb:8086"
    assert influxdb["token"] == "${INFLUX_TOKEN}", "the pinger services' entrypoint sets it from their token file"
    assert (influxdb["org"], influxdb["bucket"], influxdb["daily_bucket"]) == ("pinger", "pinger", "pinger_daily")
    assert services["collector"]["environment"]["INFLUX_DAILY_BUCKET"] == "${INFLUX_BUCKET:-pinger}_daily"


def test_grafana_gets_provisioning_and_dashboards_read_only(services):
    grafana = services["grafana"]
    volumes = mounts(grafana)
    assert volumes["/etc/grafana/provisioning"] == "./grafana/provisioning:ro"
    assert volumes["/etc/grafana/dashboards"] == "./grafana/dashboards:ro"
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/pinger.yaml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "grafana" / "dashboards" / Path(home).name).is_file()


def test_grafana_login_and_anonymous_access(services):
    environment = services["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "${GRAFANA_ANONYMOUS:-false}"
    assert env_example()["GRAFANA_ANONYMOUS"] == "false"


def provisioned_values(node, in_query_model: bool = False):
    """String values of a provisioning file that Grafana interpolates (alert query models are taken raw)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from provisioned_values(value, in_query_model or key == "model")
    elif isinstance(node, list):
        for value in node:
            yield from provisioned_values(value, in_query_model)
    elif isinstance(node, str) and not in_query_model:
        yield node


def test_grafana_has_every_variable_and_file_its_provisioning_reads(services):
    grafana = services["grafana"]
    environment = grafana["environment"]
    files = [path for path in (ROOT / "grafana" / "provisioning").rglob("*.yaml")]
    assert {path.parent.name for path in files} == {"datasources", "dashboards", "alerting"}
    read_files = set()
    for path in files:
        for value in provisioned_values(yaml.safe_load(path.read_text())):
            read_files |= set(re.findall(r"\$__file\{([^}]+)\}", value))
            value = re.sub(r"\$__file\{[^}]+\}", "", value)
            for name in re.findall(r"\$\{?(\w+)", value):
                assert name in environment, f"{path.name} reads ${name}, which grafana's environment lacks"
    assert read_files == {TOKEN_FILE}
    assert mounts(grafana)["/run/pinger"] == f"{TOKEN_VOLUMES['grafana']}:ro"


def test_pinger_services_run_unprivileged_without_any_capability(services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the image runs as a non-root user"
    for name in PINGER_SERVICES:
        service = services[name]
        assert "user" not in service or service["user"].split(":")[0] not in ("0", "root")
        assert service["cap_drop"] == ["ALL"]
        assert "privileged" not in service
        assert "no-new-privileges:true" in service["security_opt"]
        # NET_RAW would do nothing for user 10001 (no effective capabilities without file
        # capabilities, which no-new-privileges forbids): none is added.
        assert "cap_add" not in service
    # A non-root process pings with datagram ICMP, which this namespaced sysctl permits.
    assert services["collector"]["sysctls"]["net.ipv4.ping_group_range"] == "0 2147483647"
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "NET_RAW" in operations and "ping_group_range" in operations


def test_pinger_services_read_their_config_from_config_dir(services):
    for name in PINGER_SERVICES:
        service = services[name]
        assert mounts(service)["/etc/pinger"] == "./config:ro"
        assert service["environment"]["PINGER_CONFIG"] == "/etc/pinger/${PINGER_CONFIG_FILE:-pools.yaml}"
        assert "INFLUX_TOKEN" not in service["environment"], "its own token comes from its token file"
    assert services["collector"]["command"] == ["collect"]
    assert services["aggregator"]["command"] == ["aggregate", "--nightly"]


def test_healthchecks_dependencies_and_restart_policies(services):
    for name in LONG_RUNNING:
        service = services[name]
        assert service["restart"] in ("unless-stopped", "always"), name
        if name != "collector":
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "healthcheck" not in services["collector"], "the image's HEALTHCHECK (pinger health) applies"
    assert 'CMD ["pinger", "health"]' in (ROOT / "Dockerfile").read_text()
    assert services["grafana"]["depends_on"]["influxdb"]["condition"] == "service_healthy"
    for name in PINGER_SERVICES:
        assert services[name]["depends_on"]["influxdb"]["condition"] == "service_healthy"
    aggregator = services["aggregator"]
    assert aggregator["healthcheck"]["test"][-2:] == ["pinger", "check-config"]
    assert aggregator["healthcheck"]["test"][1:4] == aggregator["entrypoint"][:3], "with its token"
    assert services[SETUP]["restart"] == "no"


def test_state_lives_in_named_volumes(compose, services):
    declared = set(compose["volumes"])
    expected = {
        "influxdb": "/var/lib/influxdb2",
        "grafana": "/var/lib/grafana",
        "collector": "/var/lib/pinger",
        "aggregator": "/var/lib/pinger",
    }
    for name, target in expected.items():
        source = mounts(services[name])[target]
        assert source in declared, f"{name}: {target} is on the named volume it declares"
    assert "/etc/influxdb2" in mounts(services["influxdb"]), "the influx CLI config (with its token) persists"
    assert "WORKDIR /var/lib/pinger" in (ROOT / "Dockerfile").read_text()


def test_only_grafana_publishes_a_port(services):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"grafana"}
    assert services["grafana"]["ports"] == ["${GRAFANA_PORT:-3000}:3000"]


def test_env_example_documents_every_variable_and_no_secret_has_a_default(compose_text):
    example = env_example()
    used = {name: operator for name, operator in REFERENCE.findall(compose_text)}
    assert set(used) == set(example), "every variable of docker-compose.yml, and only those, is in .env.example"
    for block in (ROOT / ".env.example").read_text().split("\n\n"):
        lines = block.strip().splitlines()
        assert any(line.startswith("#") for line in lines), f"explained: {lines}"
    secrets = {name for name in example if re.search(r"TOKEN|PASSWORD", name)}
    assert secrets >= {"INFLUX_TOKEN", "INFLUX_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
    for name in secrets:
        assert example[name] == "", f"{name} has no working default in .env.example"
        defaults = re.findall(rf"\$\{{{name}:-([^}}$]*)", compose_text)
        assert all(default == "" for default in defaults), f"{name} has a default in docker-compose.yml"
    for name in ("INFLUX_TOKEN", "INFLUX_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert re.search(rf"\$\{{{name}:\?", compose_text), f"compose refuses to start without {name}"


def test_dockerignore_keeps_secrets_and_state_out_of_the_image():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines, "allow-list: everything is excluded unless named"
    assert not [line for line in lines if line.startswith("!.env") or line.startswith("!data")]
    for needed in ("pyproject.toml", "README.md", "pinger", "collector", "aggregator"):
        assert f"!{needed}" in lines


def test_operations_doc_covers_start_backup_restore_upgrade_and_scaling():
    text = (ROOT / "docs" / "operations.md").read_text()
    for heading in ("## Quick start", "## Backup", "## Restore", "## Upgrading", "## Scaling"):
        assert heading in text
    for command in (
        "cp .env.example .env",
        "docker compose up -d",
        "influx backup",
        "influx restore --full",
        "spool.sqlite",
        "kill -s HUP collector",
    ):
        assert command in text


def references(node) -> set[str]:
    """Names of the ${VARIABLES} a part of the compose file interpolates."""
    return {name for name, _ in REFERENCE.findall(json.dumps(node))}


def test_the_operator_token_reaches_only_influxdb_and_the_setup_service(services):
    seeing = {name for name, service in services.items() if "INFLUX_TOKEN" in references(service)}
    assert seeing == {"influxdb", SETUP}
    assert services["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"].startswith("${INFLUX_TOKEN:?")
    assert services[SETUP]["environment"]["INFLUX_TOKEN"].startswith("${INFLUX_TOKEN:?")
    assert "GRAFANA_INFLUX_TOKEN" not in env_example(), "Grafana no longer takes a token from .env"


def test_each_service_mounts_only_its_own_token_volume_read_only(compose, services):
    for owner, volume in TOKEN_VOLUMES.items():
        assert volume in compose["volumes"]
        holders = {
            name: mounts(service)
            for name, service in services.items()
            if any(source.split(":")[0] == volume for source in mounts(service).values())
        }
        assert set(holders) == {owner, SETUP}, f"{volume} is mounted by {sorted(holders)}"
        assert holders[owner]["/run/pinger"] == f"{volume}:ro"
        assert holders[SETUP][f"/tokens/{owner}"] == volume
    for name in PINGER_SERVICES:
        wrapper = services[name]["entrypoint"]
        assert wrapper[:2] == ["/bin/sh", "-c"] and wrapper[3:] == ["pinger"]
        assert f"INFLUX_TOKEN=$$(cat {TOKEN_FILE})" in wrapper[2] and 'exec pinger "$$@"' in wrapper[2]


def test_the_setup_script_gives_each_service_only_the_permissions_it_needs():
    script = (ROOT / "deploy" / "compose" / "influxdb-setup.sh").read_text()
    grants = dict(re.findall(r'^ensure_token (\w+) "\$\w+" (.+)$', script, re.MULTILINE))
    assert grants == {
        "grafana": '--read-bucket "$raw" --read-bucket "$daily"',
        "collector": '--read-bucket "$raw" --write-bucket "$raw"',
        "aggregator": '--read-bucket "$raw" --read-bucket "$daily" --write-bucket "$daily"',
    }
    assert not re.search(r"--(all-access|operator|write-buckets|read-buckets)\b", script)


def test_anonymous_access_stays_off_unless_asked_for(services):
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "${GRAFANA_ANONYMOUS:-false}"
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def test_one_variable_sets_the_site_time_zone_for_grafana_collector_and_aggregator(compose_text, services):
    zone = services["grafana"]["environment"]["GF_DATE_FORMATS_DEFAULT_TIMEZONE"]
    assert re.fullmatch(r"\$\{PINGER_TIMEZONE:-[A-Za-z_]+/[A-Za-z_]+\}", zone)
    for name in PINGER_SERVICES:
        assert services[name]["environment"]["PINGER_TIMEZONE"] == zone
    assert len(re.findall(r"\$\{PINGER_TIMEZONE:-", compose_text)) == 1, "the default is written in one place"
    example = yaml.safe_load((ROOT / "config" / "pools.example.yaml").read_text())
    default = zone.removeprefix("${PINGER_TIMEZONE:-").removesuffix("}")
    assert default == example["timezone"] == env_example()["PINGER_TIMEZONE"]


def test_readme_says_next_to_timezone_that_grafana_follows_pinger_timezone():
    readme = (ROOT / "README.md").read_text()
    sample = readme[readme.index("## Configuration") :]
    sample = sample[sample.index("```yaml") :]
    at = sample.index("timezone:")
    comment = sample[at : sample.index("\ninterval:", at)]
    assert "PINGER_TIMEZONE" in comment and "check-config" in comment and "Grafana" in comment


def test_operations_doc_explains_tokens_time_zone_alerts_and_exact_csv():
    text = (ROOT / "docs" / "operations.md").read_text()
    for heading in ("## Tokens", "## Site time zone", "## Alerts", "## Exact CSV from Grafana"):
        assert heading in text
    tokens = text[text.index("## Tokens") :]
    tokens = tokens[: tokens.index("\n## ", 4)]
    for service in ("grafana", "collector", "aggregator", SETUP):
        assert f"`{service}`" in tokens
    assert "Formatted data" in text and "GRAFANA_ALERT_EMAIL" in text and "PINGER_TIMEZONE" in text


def test_the_datasource_caps_the_series_a_query_may_return():
    (datasource,) = yaml.safe_load((ROOT / "grafana/provisioning/datasources/influxdb.yaml").read_text())["datasources"]
    assert datasource["jsonData"]["maxSeries"] == 1000, "set deliberately: no panel may draw more than 1000 series"


def test_influxdb_runs_hardened_so_flux_cannot_reach_private_addresses(services):
    """InfluxDB 2.7 lets any reader's Flux (http.post, sql.from, ...) reach any address unless influxd runs with
    --hardening-enabled (cmd/influxd/launcher/launcher.go 403-410), whose variable is INFLUXD_HARDENING_ENABLED;
    Grafana's viewers can send such Flux with Grafana's read token."""
    assert services["influxdb"]["environment"]["INFLUXD_HARDENING_ENABLED"] == "true"
    assert "hardening" in (ROOT / "docs" / "operations.md").read_text()


def test_operations_doc_says_what_influxdb_cloud_does_differently():
    text = (ROOT / "docs" / "operations.md").read_text()
    cloud = text.split("## InfluxDB Cloud", 1)[1].split("\n## ", 1)[0]
    assert "Cloud Serverless cannot delete by predicate" in cloud and "What to do instead" in cloud
    assert "InfluxDB OSS never sends `Retry-After`" in cloud and "Cloud's 429" in cloud
    assert "operations.md#influxdb-cloud" in (ROOT / "docs" / "influxdb.md").read_text()
