"""What the tests and the benchmarks share: the checkout's root, and how to run the pinger command."""

from __future__ import annotations

import sys
from pathlib import Path

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
