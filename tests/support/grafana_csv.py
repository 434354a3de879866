"""Grafana's CSV download, rendered by Grafana's own ``@grafana/data`` (tests/support/grafana_csv.js).

``grafana_csv(jobs)`` runs ONE node process over all jobs and returns the CSV text of each, as the file that
Inspect → Data → Download CSV saves. A job is a data frame (``{"fields": [{"name", "type", "values"}]}``,
shaped as Grafana's InfluxDB data source returns a Flux table), the panel's ``fieldConfig``, and whether
"Formatted data" is on (Grafana's default) or off.

The renderer needs node and ``@grafana/data`` in .cache/grafana-data (``make test`` installs it). Without them
``grafana_csv`` raises GrafanaDataUnavailable, so tests fail, not skip.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support import run_node

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "grafana-data" / "node_modules"
RENDERER = Path(__file__).with_name("grafana_csv.js")
PACKAGE = "@grafana/data"


class GrafanaDataUnavailable(RuntimeError):
    """node or @grafana/data is missing: the download cannot be rendered (a failure, never a skip)."""


def grafana_csv(jobs: Sequence[dict[str, Any]]) -> list[str]:
    """The downloaded CSV of each job ({"frame": ..., "fieldConfig": ..., "formatted": bool})."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / PACKAGE / "package.json").is_file():
        raise GrafanaDataUnavailable(
            f"rendering Grafana's CSV download needs node and {PACKAGE} in {NODE_MODULES} (run `make test`, "
            "which installs it)"
        )
    result = run_node(RENDERER, NODE_MODULES, jobs, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"grafana_csv.js failed: {result.stderr.strip()[-2000:]}")
    texts: list[str] = json.loads(result.stdout)
    return texts
