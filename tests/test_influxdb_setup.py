"""deploy/compose/influxdb-setup.sh (the compose stack's one-shot setup) run against a fake `influx` CLI.

No InfluxDB runs here: a small stand-in for the influx CLI (the subcommands and the tab-separated
`--hide-headers` output the script uses, as in influx-cli's auth and bucket clients) keeps buckets
and authorizations in a JSON file, so the script's decisions can be checked: which tokens it makes,
with which permissions, where it puts them, and that a second start changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "compose" / "influxdb-setup.sh"
OPERATOR_TOKEN = "operator-token-never-printed"

FAKE_INFLUX = r'''
import itertools, json, os, sys
state_file = os.environ["FAKE_INFLUX_STATE"]
state = json.load(open(state_file))
args = sys.argv[1:]
state["calls"].append(args)
assert os.environ["INFLUX_TOKEN"] == os.environ["FAKE_INFLUX_OPERATOR"], "the CLI uses the operator token"

def flag_values(name):
    return [args[i + 1] for i, a in enumerate(args) if a == name]

def save():
    json.dump(state, open(state_file, "w"))

def table(rows):
    """As influx-cli's tables: Go's text/tabwriter with tab padding (tab width 8, padding 1), so a
    cell shorter than its column's widest is followed by several tabs."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell + "\t" * -(-(-(-(width + 1) // 8) * 8 - len(cell)) // 8) for cell, width in zip(row, widths)]
        print("".join(cells) + row[-1])

command = args[:2]
if command == ["bucket", "list"]:
    (name,) = flag_values("--name")
    found = [b for b in state["buckets"] if b["name"] == name]
    if not found:
        save(); sys.stderr.write("Error: bucket not found\n"); sys.exit(1)
    print("\t".join([found[0]["id"], name, "infinite", "168h0m0s", "org1", "implicit"]))
elif command == ["bucket", "create"]:
    (name,) = flag_values("--name")
    state["buckets"].append({"id": "%016x" % (0xb000 + len(state["buckets"])), "name": name,
                             "retention": flag_values("--retention")[0]})
elif command == ["auth", "list"]:
    if state["auths"]:
        table([[a["id"], a["description"], a["token"], a["user"], "u1", "[]"] for a in state["auths"]])
elif command == ["auth", "create"]:
    serial = state["serial"] = state["serial"] + 1
    auth = {"id": "%016x" % (0xa000 + serial), "description": flag_values("--description")[0],
            "token": "token-%d" % serial, "user": flag_values("--user")[0],
            "read": flag_values("--read-bucket"), "write": flag_values("--write-bucket")}
    state["auths"].append(auth)
    print("\t".join([auth["id"], auth["description"], auth["token"], auth["user"], "u1", "[...]"]))
elif command == ["auth", "delete"]:
    (auth_id,) = flag_values("--id")
    deleted = [a for a in state["auths"] if a["id"] == auth_id]
    state["auths"] = [a for a in state["auths"] if a["id"] != auth_id]
    print("\t".join([auth_id, deleted[0]["description"], deleted[0]["token"], "admin", "u1", "[]", "true"]))
else:
    save(); sys.stderr.write("fake influx: unexpected %r\n" % args); sys.exit(2)
save()
'''


class Setup:
    """A sandbox: fake influx on PATH, its state, and the three token directories."""

    def __init__(self, tmp_path: Path):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        influx = self.bin / "influx"
        influx.write_text(f"#!{sys.executable}\n{FAKE_INFLUX}")
        influx.chmod(0o755)
        self.state_file = tmp_path / "state.json"
        self.state_file.write_text(
            json.dumps(
                {
                    "buckets": [{"id": "000000000000a0a0", "name": "pinger", "retention": "730d"}],
                    "auths": [
                        {
                            "id": "0000000000000001",
                            "description": "admin's Token",
                            "token": OPERATOR_TOKEN,
                            "user": "admin",
                            "read": [],
                            "write": [],
                        }
                    ],
                    "serial": 0,
                    "calls": [],
                }
            )
        )
        self.tokens = tmp_path / "tokens"
        for service in ("grafana", "collector", "aggregator"):
            (self.tokens / service).mkdir(parents=True)

    def run(self) -> subprocess.CompletedProcess[str]:
        uid = str(os.getuid())
        environment = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "INFLUX_HOST": "http://influxdb:8086",
            "INFLUX_TOKEN": OPERATOR_TOKEN,
            "INFLUX_ORG": "pinger",
            "ADMIN_USER": "admin",
            "RAW_BUCKET": "pinger",
            "DAILY_BUCKET": "pinger_daily",
            "TOKENS": str(self.tokens),
            "GRAFANA_UID": uid,
            "PINGER_UID": uid,
            "FAKE_INFLUX_STATE": str(self.state_file),
            "FAKE_INFLUX_OPERATOR": OPERATOR_TOKEN,
        }
        return subprocess.run(
            [shutil.which("dash") or "/bin/sh", str(SCRIPT)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    @property
    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    def token_file(self, service: str) -> Path:
        return self.tokens / service / "influx-token"

    def auth_of(self, service: str) -> dict:
        (auth,) = [a for a in self.state["auths"] if a["description"].startswith(f"pinger {service}: ")]
        return auth


@pytest.fixture
def setup(tmp_path) -> Setup:
    return Setup(tmp_path)


def test_first_start_creates_the_daily_bucket_and_one_least_privilege_token_per_service(setup):
    done = setup.run()
    assert done.returncode == 0, done.stderr
    daily = [b for b in setup.state["buckets"] if b["name"] == "pinger_daily"]
    assert [b["retention"] for b in daily] == ["0"]
    raw_id, daily_id = "000000000000a0a0", daily[0]["id"]
    permissions = {
        service: (sorted(setup.auth_of(service)["read"]), sorted(setup.auth_of(service)["write"]))
        for service in ("grafana", "collector", "aggregator")
    }
    assert permissions == {
        "grafana": (sorted([raw_id, daily_id]), []),
        "collector": ([raw_id], [raw_id]),
        "aggregator": (sorted([raw_id, daily_id]), [daily_id]),
    }
    tokens = {service: setup.token_file(service).read_text().strip() for service in permissions}
    assert tokens == {service: setup.auth_of(service)["token"] for service in permissions}
    assert len(set(tokens.values())) == 3 and OPERATOR_TOKEN not in tokens.values()
    for service in permissions:
        assert stat.S_IMODE(setup.token_file(service).stat().st_mode) == 0o400
        assert setup.auth_of(service)["user"] == "admin"


def test_no_token_is_ever_printed(setup):
    done = setup.run()
    again = setup.run()
    assert done.returncode == again.returncode == 0
    output = done.stdout + done.stderr + again.stdout + again.stderr
    for auth in setup.state["auths"]:
        assert auth["token"] not in output


def test_a_second_start_keeps_every_token(setup):
    setup.run()
    before = setup.state["auths"]
    done = setup.run()
    assert done.returncode == 0, done.stderr
    assert setup.state["auths"] == before
    assert done.stdout.count("kept") == 3
    assert not [call for call in setup.state["calls"] if call[:2] == ["bucket", "create"]][1:]


def test_a_lost_token_file_gets_a_new_token_and_the_old_one_is_deleted(setup):
    setup.run()
    old = setup.auth_of("collector")
    setup.token_file("collector").unlink()
    assert setup.run().returncode == 0
    new = setup.auth_of("collector")  # exactly one collector token is left
    assert new["token"] != old["token"]
    assert setup.token_file("collector").read_text().strip() == new["token"]
    assert [a["description"] for a in setup.state["auths"]].count("admin's Token") == 1


def test_a_token_influxdb_no_longer_knows_is_replaced(setup):
    setup.run()
    state = setup.state
    state["auths"] = [a for a in state["auths"] if not a["description"].startswith("pinger grafana: ")]
    setup.state_file.write_text(json.dumps(state))
    assert setup.run().returncode == 0
    assert setup.token_file("grafana").read_text().strip() == setup.auth_of("grafana")["token"]


def test_a_missing_raw_bucket_stops_the_setup(setup):
    state = setup.state
    state["buckets"] = []
    setup.state_file.write_text(json.dumps(state))
    done = setup.run()
    assert done.returncode == 1
    assert "bucket pinger or pinger_daily not found" in done.stderr
    assert not list(setup.tokens.rglob("influx-token"))
