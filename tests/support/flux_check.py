"""Check Flux the way InfluxDB's front end does, without an InfluxDB server.

``check_flux(queries)`` runs ONE node process (tests/support/flux_check.js) over all queries and returns
one error string per invalid query (an empty list when all pass). Each query is first made into a
stand-alone Flux script the way Grafana would send it:

- Grafana variables (``$pool``, ``${pool:regex}``, ``[[pool]]``, ``${__interval}``, ...) are
  replaced by sample values;
- ``import`` lines are moved to the top (Flux wants them before any statement);
- ``v`` (Grafana's record of the panel's time range, window and datasource defaults) is defined
  when the query uses it.

The checker needs node and ``@influxdata/flux-lsp-node`` in .cache/flux-lsp (``make test``
installs it). Without them ``check_flux`` raises FluxCheckUnavailable, so tests fail, not skip.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from pinger.schema import MEASUREMENTS, influx_field_names
from tests.support import run_node

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "flux-lsp" / "node_modules"
CHECKER = Path(__file__).with_name("flux_check.js")
PACKAGE = "@influxdata/flux-lsp-node"

# What Grafana's InfluxDB (Flux) datasource puts in place of v.* (macros in its query backend).
GRAFANA_V = (
    "v = {timeRangeStart: 2026-11-01T00:00:00Z, timeRangeStop: 2026-11-02T00:00:00Z, "
    'windowPeriod: 1m, defaultBucket: "pinger", organization: "pinger"}'
)

# Grafana's own variables, with sample values of the right shape.
BUILTIN_VARIABLES: dict[str, str | list[str]] = {
    "__interval": "1m",
    "__interval_ms": "60000",
    "__rate_interval": "4m",
    "__range": "1d",
    "__range_s": "86400",
    "__range_ms": "86400000",
    "__from": "1793491200000",
    "__to": "1793577600000",
    "__timezone": "Europe/Berlin",
    "__dashboard": "Pinger",
    "__org": "1",
}

# $name | [[name]] | [[name:format]] | ${name} | ${name:format}  (Grafana's variable syntax)
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")
IMPORT = re.compile(r'^\s*import\s+"[^"]+"\s*$')
USES_V = re.compile(r"(?<![\w.])v\.\w")
DEFINES_V = re.compile(r"^\s*(option\s+)?v\s*=", re.MULTILINE)


class FluxCheckUnavailable(RuntimeError):
    """node or the flux-lsp package is missing: the check cannot run (a failure, never a skip)."""


def format_value(value: str | list[str], fmt: str | None) -> str:
    """A variable's value as Grafana interpolates it with ``fmt`` (the formats Flux queries use)."""
    values = value if isinstance(value, list) else [value]
    if fmt is None or fmt in ("raw", "text"):
        return values[0]
    if fmt == "regex":
        # Grafana's escapeRegex: the same characters, so the sample is what Grafana would send.
        escaped = [re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    if fmt == "json":
        return json.dumps(values if isinstance(value, list) else value)
    if fmt in ("csv", "pipe"):
        return ("," if fmt == "csv" else "|").join(values)
    if fmt == "doublequote":
        return ",".join(f'"{v}"' for v in values)
    if fmt == "singlequote":
        return ",".join(f"'{v}'" for v in values)
    if fmt.startswith("date"):
        return "2026-11-01T00:00:00Z"
    raise ValueError(f"variable format {fmt!r} has no sample rendering in flux_check.py")


def substitute_variables(query: str, variables: Mapping[str, str | list[str]]) -> str:
    """Replace the Grafana variables named in ``variables`` (plus Grafana's built-ins); leave others."""
    known = {**BUILTIN_VARIABLES, **variables}

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(5)
        return format_value(known[name], fmt) if name in known else match.group(0)

    return VARIABLE.sub(replace, query)


def to_script(query: str, variables: Mapping[str, str | list[str]] | None = None) -> str:
    """The stand-alone Flux script Grafana would run for ``query``."""
    lines = substitute_variables(query, variables or {}).splitlines()
    imports = [line.strip() for line in lines if IMPORT.match(line)]
    body = [line for line in lines if not IMPORT.match(line)]
    text = "\n".join(body)
    prelude = [GRAFANA_V] if USES_V.search(text) and not DEFINES_V.search(text) else []
    return "\n".join([*imports, *prelude, text]) + "\n"


MEASUREMENT_REF = re.compile(r'_measurement\s*==\s*"([^"]+)"')
FIELD_REF = re.compile(r'_field\s*==\s*"([^"]+)"')
FIELD_SET = re.compile(r"contains\(value:\s*r\._field,\s*set:\s*\[([^\]]*)\]")
TAG_ARGUMENT = re.compile(r'\btag:\s*"([^"]+)"')
COLUMN_REF = re.compile(r'\br\.([A-Za-z]\w*)|\br\["([^"]+)"\]')
PREDICATE = re.compile(r"(?:filter\(fn:|predicate:)\s*\(r\)\s*=>(.*)")
# map(fn: (r) => ({r with a: ..., b: ...})) or ({a: ..., b: ...}): the columns a query makes itself
MAP_RECORD = re.compile(r"map\(fn:\s*\(r\)\s*=>\s*\(\{(?:\s*r\s+with\b)?([^{}]*)\}\)")
RECORD_KEY = re.compile(r'(?:^|,)\s*"?([A-Za-z_][\w|]*)"?\s*:')


def check_names(
    query: str, raw_bucket: str = "v.defaultBucket", daily_bucket: str = 'v.defaultBucket + "_daily"'
) -> list[str]:
    """Names in ``query`` that pinger.schema does not define, or read from the wrong bucket.

    Checks measurements (``_measurement == "x"``), fields (``_field == "x"``, ``contains(value: r._field,
    set: [...])``), tags used in filter predicates and tagValues (columns the query makes with ``map`` are
    no tags), and that daily measurements come
    from the daily bucket and raw ones from the raw bucket.
    """
    errors = []
    measurements = set(MEASUREMENT_REF.findall(query))
    errors += [f"unknown measurement {m!r}" for m in sorted(measurements - MEASUREMENTS.keys())]
    known = measurements & MEASUREMENTS.keys()
    if not known:
        return errors + ["the query names no measurement of pinger.schema"]
    tags = {tag for m in known for tag in MEASUREMENTS[m].tag_names}
    fields = {field for m in known for field in influx_field_names(MEASUREMENTS[m])}
    used_fields = set(FIELD_REF.findall(query))
    for listed in FIELD_SET.findall(query):
        used_fields |= set(re.findall(r'"([^"]+)"', listed))
    errors += [f"field {f!r} is not a field of {sorted(known)}" for f in sorted(used_fields - fields)]
    used_tags = set(TAG_ARGUMENT.findall(query))
    for line in query.splitlines():
        for predicate in PREDICATE.findall(line):
            used_tags |= {a or b for a, b in COLUMN_REF.findall(predicate)}
    used_tags -= {key for body in MAP_RECORD.findall(query) for key in RECORD_KEY.findall(body)}
    # pool_daily carries each pool's free-form tags too (building, ...): any tag name may be filtered on.
    if not any(MEASUREMENTS[m].free_tags for m in known):
        errors += [f"tag {t!r} is not a tag of {sorted(known)}" for t in sorted(used_tags - tags)]
    daily = {name for name, measurement in MEASUREMENTS.items() if measurement.in_daily_bucket}
    bucket = daily_bucket if known <= daily else raw_bucket
    if known & daily and known - daily:
        # Both buckets in one query (a union of two reads): each line that names a bucket must read only
        # measurements of that bucket, and every measurement must be read on such a line.
        read = set()
        for line in query.splitlines():
            named = set(MEASUREMENT_REF.findall(line)) & known
            if not named or "bucket:" not in line:
                continue
            right = daily_bucket if named <= daily else raw_bucket
            if (named & daily and named - daily) or not re.search(
                r"\bbucket:\s*" + re.escape(right) + r"\s*[,)]", line
            ):
                errors.append(f"the query mixes daily and raw measurements: {sorted(named)} must be read from {right}")
            read |= named
        if read != known:
            errors.append(f"the query mixes daily and raw measurements: {sorted(known)}")
    elif not re.search(r"\bbucket:\s*" + re.escape(bucket) + r"\s*[,)]", query):
        errors.append(f"{sorted(known)} must be read from bucket: {bucket}")
    return errors


def run_checker(scripts: Sequence[str]) -> list[dict]:
    """Run tests/support/flux_check.js once over ``scripts``; its verdicts, in order."""
    node = shutil.which("node")
    if node is None:
        raise FluxCheckUnavailable("node is not installed: the Flux check needs Node.js 18 or newer")
    if not (NODE_MODULES / PACKAGE).is_dir():
        raise FluxCheckUnavailable(
            f"{PACKAGE} is missing from {NODE_MODULES}: run `make test` (it installs it with npm)"
        )
    done = run_node(CHECKER, NODE_MODULES, scripts, timeout=300)
    if done.returncode != 0:
        raise FluxCheckUnavailable(f"flux_check.js failed (exit {done.returncode}): {done.stderr.strip()}")
    verdicts = json.loads(done.stdout)
    if len(verdicts) != len(scripts):
        raise FluxCheckUnavailable(f"flux_check.js answered {len(verdicts)} of {len(scripts)} scripts")
    return verdicts


def check_flux(
    queries: Sequence[str], labels: Sequence[str] | None = None, variables: Mapping[str, str | list[str]] | None = None
) -> list[str]:
    """Errors of the queries that fail Flux's semantic check; [] when every query passes.

    ``labels`` name the queries in the errors (default "query 1", "query 2", ...);
    ``variables`` gives sample values of Grafana variables (a list for multi-value ones).
    """
    labels = list(labels) if labels is not None else [f"query {i + 1}" for i in range(len(queries))]
    if len(labels) != len(queries):
        raise ValueError("check_flux: one label per query")
    scripts = [to_script(query, variables) for query in queries]
    errors = [f"{label}: empty query" for label, query in zip(labels, queries, strict=True) if not query.strip()]
    for label, script, verdict in zip(labels, scripts, run_checker(scripts), strict=True):
        if verdict["valid"]:
            continue
        source_lines = script.splitlines()
        reasons = []
        for diagnostic in verdict["diagnostics"]:
            line = diagnostic.split(":", 1)[0]
            quoted = source_lines[int(line) - 1].strip() if line.isdigit() and int(line) <= len(source_lines) else ""
            reasons.append(f"  {diagnostic}" + (f"   [{quoted}]" if quoted else ""))
        errors.append(f"{label}: invalid Flux\n" + "\n".join(reasons))
    return errors
