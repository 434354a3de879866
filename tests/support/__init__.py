"""What the tests and the benchmarks share: the checkout's root, and how to run the pinger command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def pinger_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinger", *args]


def as_nobody(argv: list[str]) -> list[str]:
    """The command run as user nobody, without capabilities (setpriv, from util-linux)."""
    return [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        *argv,
    ]


def influx_storage(
    url: str, spool: Path, org: str = "pinger", bucket: str = "pinger", daily_bucket: str = "pinger_daily"
) -> str:
    """A config's ``storage:`` for InfluxDB at ``url``, the token from ${INFLUX_TOKEN}: one line (a YAML flow
    mapping), so that it fits into a config at any indentation."""
    return (
        f'storage: {{backend: influxdb, influxdb: {{url: "{url}", org: "{org}", bucket: "{bucket}", '
        f'daily_bucket: "{daily_bucket}", token: "${{INFLUX_TOKEN}}", spool: "{spool}"}}}}'
    )


def loopback_config(write_config, store, hosts="127.0.0.1-127.0.0.3", interval="1s", name="pinger.yaml") -> Path:
    """A collector's config on loopback addresses (``allow:`` holds it there): one pool, LOOP, of ``hosts``, swept
    every ``interval`` with a short timeout, storing into the SQLite file ``store``; written by ``write_config``."""
    return write_config(
        f"""
        timezone: UTC
        interval: {interval}
        collector: {{name: loop}}
        ping: {{timeout: 500ms, retries: 0}}
        allow: [127.0.0.0/8]
        storage: {{path: {store}}}
        pools:
          - {{name: LOOP, watts: 50, hosts: [{hosts}]}}
    """,
        name,
    )


def modules_loaded(script: str, *args: str, packages: Sequence[str]) -> tuple[list[str], str]:
    """Run the Python ``script`` in a fresh interpreter from the checkout (``sys.argv[1:]``: ``args``); return
    the modules of ``packages`` (top-level names) it had loaded at its end, sorted, and its other output."""
    watched = tuple(packages)
    report = (
        "\nimport json as _j, sys as _s\n"
        f"print(_j.dumps(sorted(m for m in _s.modules if m.split('.')[0] in {watched!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script + report, *args], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    *printed, loaded = result.stdout.splitlines()
    return json.loads(loaded), "\n".join(printed)


def run_node(
    script: Path, node_modules: Path, payload: Sequence[Any], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``node SCRIPT NODE_MODULES`` with ``payload`` as JSON on its standard input: the Node.js helpers of
    tests/support (the Flux check, Grafana's CSV download), each answering in JSON on its standard output."""
    node = shutil.which("node") or "node"
    return subprocess.run(
        [node, str(script), str(node_modules)],
        input=json.dumps(list(payload)),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
