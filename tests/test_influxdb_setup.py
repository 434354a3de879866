"""deploy/compose/influxdb-setup.sh (the compose stack's one-shot setup) run against a fake `influx` CLI.

No InfluxDB runs here: a small stand-in for the influx CLI (the subcommands the script uses and their
`--json` output as influx-cli v2.7.5 writes it: clients/cli.go PrintJSON, clients/auth/auth.go's token
struct, the API's Bucket) keeps buckets and authorizations in a JSON file, so the script's decisions can
be checked: which tokens it makes, with which permissions, where it puts them, that a second start changes
nothing, also when InfluxDB 2.9 lists tokens hashed, and that no token is ever a command's argument.
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

FAKE_INFLUX = r"""
import json, os, sys
state_file = os.environ["FAKE_INFLUX_STATE"]
state = json.load(open(state_file))
args = sys.argv[1:]
state["calls"].append(args)
operator = os.environ["INFLUX_TOKEN"] == os.environ["FAKE_INFLUX_OPERATOR"]

def flag_values(name):
    return [args[i + 1] for i, a in enumerate(args) if a == name]

def save():
    json.dump(state, open(state_file, "w"))

def fail(message, code=1):
    save(); sys.stderr.write("Error: %s\n" % message); sys.exit(code)

def print_json(value):
    # influx-cli v2.7.5 clients/cli.go PrintJSON: json.NewEncoder(...).SetIndent("", "\t"), which ends in a
    # newline; a nil slice is null; Go escapes <, > and & and keeps other characters as UTF-8.
    text = json.dumps(value, indent="\t", ensure_ascii=False)
    for character, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(character, escaped)
    sys.stdout.write(text + "\n")

def bucket(b):
    # api.Bucket's MarshalJSON (openapi-generator) marshals a map: keys in sorted order, nested links.
    links = {k: "/api/v2/buckets/%s/%s" % (b["id"], k) for k in ("labels", "members", "owners")}
    links.update(org="/api/v2/orgs/org1", self="/api/v2/buckets/" + b["id"])
    links["write"] = "/api/v2/write?org=org1&bucket=" + b["id"]
    rules = [{"everySeconds": 0, "shardGroupDurationSeconds": 604800, "type": "expire"}]
    return {"createdAt": "2026-01-01T00:00:00Z", "id": b["id"], "labels": [], "links": links, "name": b["name"],
            "orgID": "org1", "retentionRules": rules, "type": "user", "updatedAt": "2026-01-01T00:00:00Z"}

def token(a, listed=False):
    # clients/auth/auth.go's token struct, in its field order; InfluxDB 2.9 lists hashed tokens empty.
    permissions = ["read:orgs/org1/buckets/" + b for b in a["read"]]
    permissions += ["write:orgs/org1/buckets/" + b for b in a["write"]]
    shown = "" if listed and state.get("hashed") else a["token"]
    return {"id": a["id"], "description": a["description"], "token": shown, "status": "active",
            "userName": a["user"], "userID": "u1", "permissions": permissions or None}

command = args[:2]
if not operator:
    # A service token: it may list the buckets it can read, nothing else.
    known = [a for a in state["auths"] if a["token"] == os.environ["INFLUX_TOKEN"]]
    if command != ["bucket", "list"] or not known:
        fail("unauthorized access")
    readable = [b for b in state["buckets"] if b["id"] in known[0]["read"]]
    found = [b for b in readable if b["name"] in flag_values("--name")]
    if not found:
        fail("bucket not found")
    print_json([bucket(b) for b in found])
elif command == ["bucket", "list"]:
    (name,) = flag_values("--name")
    found = [b for b in state["buckets"] if b["name"] == name]
    if not found:
        fail("bucket not found")
    assert "--json" in args
    print_json([bucket(b) for b in found])
elif command == ["bucket", "create"]:
    (name,) = flag_values("--name")
    state["buckets"].append({"id": "%016x" % (0xb000 + len(state["buckets"])), "name": name,
                             "retention": flag_values("--retention")[0]})
elif command == ["auth", "list"]:
    assert "--json" in args
    print_json([token(a, listed=True) for a in state["auths"]] or None)
elif command == ["auth", "create"]:
    assert "--json" in args
    serial = state["serial"] = state["serial"] + 1
    auth = {"id": "%016x" % (0xa000 + serial), "description": flag_values("--description")[0],
            "token": "Tk-%d_base64url==" % serial, "user": flag_values("--user")[0],
            "read": flag_values("--read-bucket"), "write": flag_values("--write-bucket")}
    state["auths"].append(auth)
    print_json(token(auth))
elif command == ["auth", "delete"]:
    (auth_id,) = flag_values("--id")
    deleted = [a for a in state["auths"] if a["id"] == auth_id]
    state["auths"] = [a for a in state["auths"] if a["id"] != auth_id]
    print_json(token(deleted[0], listed=True))
else:
    fail("fake influx: unexpected %r" % args, 2)
save()
"""


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


def hash_tokens(setup: Setup) -> None:
    """Upgrade the fake to InfluxDB 2.9: tokens are stored hashed and listed empty."""
    state = setup.state
    state["hashed"] = True
    setup.state_file.write_text(json.dumps(state))


def test_with_hashed_tokens_a_second_start_keeps_the_tokens_on_the_volumes(setup):
    setup.run()
    files = {service: setup.token_file(service).read_text() for service in ("grafana", "collector", "aggregator")}
    before = setup.state["auths"]
    hash_tokens(setup)
    for _ in range(2):
        done = setup.run()
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("kept (InfluxDB stores tokens hashed") == 3
    assert setup.state["auths"] == before
    assert {service: setup.token_file(service).read_text() for service in files} == files


def test_with_hashed_tokens_a_token_that_no_longer_authenticates_is_replaced(setup):
    setup.run()
    hash_tokens(setup)
    state = setup.state
    (lost,) = [auth for auth in state["auths"] if auth["description"].startswith("pinger collector: ")]
    lost["token"] = "revoked-and-re-made-elsewhere"  # the file's token is no longer InfluxDB's
    setup.state_file.write_text(json.dumps(state))
    done = setup.run()
    assert done.returncode == 0, done.stderr
    assert "token of collector created" in done.stdout and done.stdout.count("kept") == 2
    assert setup.token_file("collector").read_text().strip() == setup.auth_of("collector")["token"]


def test_no_token_is_ever_an_argument_that_ps_would_show(setup, tmp_path):
    """Every command the script runs, the influx CLI and the text tools alike, is logged with its arguments."""
    log = tmp_path / "argv.log"
    for tool in ("grep", "awk", "cut", "tr", "cat", "rm", "mv", "chmod", "chown"):
        real = shutil.which(tool)
        wrapper = setup.bin / tool
        wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "{tool} $*" >>"{log}"\nexec {real} "$@"\n')
        wrapper.chmod(0o755)
    setup.run()
    hash_tokens(setup)
    setup.token_file("grafana").unlink()
    done = setup.run()
    assert done.returncode == 0, done.stderr
    arguments = log.read_text() + "\n".join(" ".join(call) for call in setup.state["calls"])
    assert "grep -qxFf" in arguments
    tokens = [auth["token"] for auth in setup.state["auths"]]
    assert len(tokens) == 4 and not [token for token in tokens if token in arguments]


def test_the_script_reads_the_clis_json_never_its_tables(setup):
    setup.run()
    listing = [
        call for call in setup.state["calls"] if call[:2] in (["auth", "list"], ["auth", "create"], ["bucket", "list"])
    ]
    assert listing and all("--json" in call and "--hide-headers" not in call for call in listing)
