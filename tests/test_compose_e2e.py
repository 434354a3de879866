"""tests/e2e/compose_e2e.sh, the end-to-end test of the compose stack: here (no Docker engine) it must skip
cleanly with its reason; its compose override, config and CI job are checked statically, so that drift
(a renamed panel, a service the override no longer matches) shows here and not only on a runner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support import ROOT

SCRIPT = ROOT / "tests" / "e2e" / "compose_e2e.sh"
OVERRIDE = ROOT / "tests" / "e2e" / "compose.targets.yml"
E2E_CONFIG = ROOT / "tests" / "e2e" / "config" / "pools.yaml"
COMPOSE_SCHEMA = ROOT / "tests" / "schemas" / "compose" / "compose-spec.json"  # copy of ../shared/schemas
SKIPPED = 77
BASH = shutil.which("bash") or "/bin/bash"


def run_script(path_dirs: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    env = None if path_dirs is None else {"PATH": ":".join(map(str, path_dirs))}
    return subprocess.run([BASH, str(SCRIPT)], capture_output=True, text=True, timeout=60, env=env, cwd="/")


def fake_docker(folder: Path, body: str) -> Path:
    """A `docker` command that answers with the given shell case statement body; `dirname` beside it."""
    folder.mkdir()
    docker = folder / "docker"
    docker.write_text(f'#!{BASH}\ncase "$*" in\n{body}\nesac\n')
    docker.chmod(0o755)
    for tool in ("dirname", "grep"):
        found = shutil.which(tool)
        assert found
        (folder / tool).symlink_to(found)
    return folder


def engine_runs_here() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0


def test_the_script_skips_here_with_its_reason():
    if engine_runs_here():
        pytest.skip("a Docker engine runs here: the script would run the stack (CI's e2e job does)")
    started = time.monotonic()
    result = run_script()
    assert result.returncode == SKIPPED, result.stdout + result.stderr
    assert result.stderr == ""
    assert re.fullmatch(
        r"compose_e2e: SKIP: (no docker CLI on PATH|no Docker engine reachable \(.+\))\n", result.stdout
    ), result.stdout
    assert time.monotonic() - started < 10


def test_without_an_engine_the_daemons_answer_is_the_reason(tmp_path):
    folder = fake_docker(
        tmp_path / "bin",
        '  info*) echo "Cannot connect to the Docker daemon at '
        'unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;',
    )
    result = run_script([folder])
    assert (result.returncode, result.stdout) == (
        SKIPPED,
        (
            "compose_e2e: SKIP: no Docker engine reachable (Cannot connect to the Docker daemon at "
            "unix:///var/run/docker.sock. Is the docker daemon running?)\n"
        ),
    )


def test_without_the_compose_plugin_it_skips(tmp_path):
    folder = fake_docker(tmp_path / "bin", '  info*) echo 27.5.1 ;;\n  "compose version") exit 1 ;;')
    result = run_script([folder])
    assert (result.returncode, result.stdout) == (
        SKIPPED,
        "compose_e2e: SKIP: Docker engine 27.5.1, but no Compose plugin (docker compose)\n",
    )


def test_without_docker_it_skips(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    result = run_script([folder])
    assert (result.returncode, result.stdout) == (SKIPPED, "compose_e2e: SKIP: no docker CLI on PATH\n")


def test_the_script_is_executable_and_strict():
    assert SCRIPT.stat().st_mode & 0o111
    assert "set -euo pipefail" in SCRIPT.read_text()


# -- the compose override: valid, and still matching docker-compose.yml ------------------------------------


@pytest.fixture(scope="module")
def override() -> dict:
    return yaml.safe_load(OVERRIDE.read_text())


@pytest.fixture(scope="module")
def base() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_override_is_valid_against_the_compose_spec(override):
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text())).iter_errors(override)
    ]
    assert errors == []


def test_targets_start_only_with_the_e2e_profile(override, base):
    targets = {name for name in override["services"] if name not in base["services"]}
    assert targets == {"target-a", "target-b"}
    for name in targets:
        assert override["services"][name]["profiles"] == ["e2e"], "a plain `docker compose up` never starts them"


def test_override_replaces_the_config_mount_of_services_that_exist(override, base):
    """Compose merges volumes by their target: the test's config replaces config/ only while the target matches."""
    for name in ("collector", "aggregator"):
        assert name in base["services"]
        base_targets = {volume.split(":")[1] for volume in base["services"][name]["volumes"]}
        for volume in override["services"][name]["volumes"]:
            source, target, _mode = volume.split(":")
            assert target in base_targets, f"{name}: {target} is not mounted by docker-compose.yml"
            assert (ROOT / source).resolve() == E2E_CONFIG.parent


def test_the_collector_pings_only_the_targets_on_the_test_network(override):
    config = yaml.safe_load(E2E_CONFIG.read_text())
    subnet = override["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert config["allow"] == [subnet], "any address outside the test's own compose network is refused"
    assert [host for pool in config["pools"] for host in pool["hosts"]] == ["target-a", "target-b"]


def test_the_e2e_config_is_valid(run_pinger):
    result = run_pinger("check-config", "-c", str(E2E_CONFIG), "--allow-unset-env")
    assert result.returncode == 0, result.stderr


def test_the_daily_csv_table_flux_the_script_sends_has_no_variable_left():
    """The script finds the panel by "Download CSV" in its title and substitutes these variables only (what
    Grafana's front end does before sending a query; v.timeRangeStart and the like are the datasource's)."""
    dashboard = json.loads((ROOT / "grafana" / "dashboards" / "daily-runtime-energy.json").read_text())
    panels = [p for p in dashboard["panels"] if p.get("type") == "table" and "Download CSV" in p.get("title", "")]
    assert len(panels) == 1
    query = panels[0]["targets"][0]["query"]
    assert "${pool:regex}" in query
    assert set(re.findall(r"\$\{[^}]+\}", query)) <= {"${__timezone}", "${pool:regex}"}


# -- the workflow ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())


def test_workflow_permissions_are_least(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values()), "no job asks for more"


def test_workflow_runs_the_e2e_script_and_keeps_its_logs_on_failure(workflow):
    steps = workflow["jobs"]["e2e"]["steps"]
    runs = [step for step in steps if step.get("run") == "tests/e2e/compose_e2e.sh"]
    assert len(runs) == 1
    logs = runs[0]["env"]["E2E_LOGS"]
    upload = [step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(upload) == 1 and upload[0]["if"] == "failure()"
    assert logs.endswith("/" + upload[0]["with"]["path"].rstrip("/"))


def test_workflow_scans_with_a_pinned_checkov(workflow):
    commands = " ".join(step.get("run", "") for step in workflow["jobs"]["scan"]["steps"])
    assert re.search(r"checkov==\d+\.\d+\.\d+", commands)
    assert "--framework dockerfile,github_actions,secrets" in commands
