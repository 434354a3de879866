"""docs/flux.md's and the aggregator's queries are valid Flux over the names Pinger writes; the check can fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import flux_check
from tests.support.flux_check import FluxCheckUnavailable, check_flux, check_names, to_script

ROOT = Path(__file__).resolve().parents[1]
COOKBOOK = ROOT / "docs" / "flux.md"
FLUX_BLOCK = re.compile(r"```flux\n(.*?)```", re.DOTALL)


def cookbook_queries() -> list[str]:
    return FLUX_BLOCK.findall(COOKBOOK.read_text())


def test_cookbook_covers_the_questions_analysts_ask():
    text = COOKBOOK.read_text()
    for heading in (
        "## Raw samples of one PC",
        "## The daily table for a period",
        "## Before and after: two study phases",
        "## PCs left on overnight",
        "## Exporting with the influx CLI",
    ):
        assert heading in text
    assert "influx query --raw" in text


def test_every_cookbook_query_is_explained_in_a_sentence():
    queries = cookbook_queries()
    assert len(queries) >= 8
    for query in queries:
        first = next(line for line in query.splitlines() if line.strip() and not line.startswith("import"))
        assert first.startswith("// ") and len(first) > 20, f"explain the query first: {query[:80]!r}"


def test_every_cookbook_query_is_valid_flux():
    queries = cookbook_queries()
    labels = [f"docs/flux.md block {i + 1}" for i in range(len(queries))]
    assert check_flux(queries, labels=labels) == []


def test_cookbook_queries_read_names_pinger_writes():
    problems = [
        f"block {i + 1}: {error}"
        for i, query in enumerate(cookbook_queries())
        for error in check_names(query, raw_bucket='"pinger"', daily_bucket='"pinger_daily"')
    ]
    assert problems == []


def test_the_aggregators_sample_queries_are_valid_flux():
    from pinger.store.flux import pool_runs_flux, pool_samples_flux

    pools = ["A101", 'Raum "B" 2.04', "Ü-Pool ${x} \\ end"]
    queries = [pool_samples_flux("pinger", pool, 1_793_487_600, 1_793_574_000) for pool in pools]
    queries += [
        pool_runs_flux("pinger", pool, 1_793_487_600, 1_793_574_000, hold)
        for pool, hold in zip(pools, (300, 0.1, 0), strict=True)
    ]
    labels = [f"{kind} {pool}" for kind in ("samples", "runs") for pool in pools]
    assert check_flux(queries, labels=labels) == []
    assert [check_names(query, raw_bucket='"pinger"') for query in queries] == [[]] * len(queries)


# The checker itself: it must be able to say no, or the tests above prove nothing.
WRONG = {
    "misspelled function": 'from(bucket: "pinger") |> rnage(start: -1h)',
    "wrong argument type": "from(bucket: 42) |> range(start: -1h)",
    "unknown argument": 'from(bucket: "pinger") |> range(begin: -1h)',
    "undefined identifier": 'from(bucket: "pinger") |> range(start: v.timeRangeStart) |> filter(fn: (r) => r.x == x)',
    "missing import": 'from(bucket: "pinger") |> range(start: -1h) |> map(fn: (r) => ({h: date.hour(t: r._time)}))',
    "syntax error": 'from(bucket: "pinger") |> range(start: -1h',
    "empty query": "  ",
}


def test_the_check_rejects_wrong_flux_with_a_reason():
    errors = check_flux(list(WRONG.values()), labels=list(WRONG))
    assert [error.split(":", 1)[0] for error in errors] == sorted(WRONG, key=lambda name: name != "empty query")
    assert "rnage" in next(e for e in errors if e.startswith("misspelled function"))
    assert "expected string but found int" in next(e for e in errors if e.startswith("wrong argument type"))


def test_the_check_accepts_a_grafana_query_once_prepared_like_grafana():
    query = """
from(bucket: v.defaultBucket)
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "ping" and r.pool =~ /^${pool:regex}$/ and r.host == "$host")
  |> aggregateWindow(every: ${__interval}, fn: mean)
import "date"
"""
    script = to_script(query, {"pool": ["A101", "B/2"], "host": "pc-1"})
    assert script.startswith('import "date"\nv = {timeRangeStart: ')
    assert r"/^(A101|B\/2)$/" in script and '"pc-1"' in script and "every: 1m" in script
    assert check_flux([query], variables={"pool": ["A101", "B/2"], "host": "pc-1"}) == []


def test_names_check_rejects_unknown_measurements_fields_tags_and_buckets():
    raw = "from(bucket: v.defaultBucket) |> filter(fn: (r) => {})"
    assert check_names(raw.format('r._measurement == "pings"'))
    assert check_names(raw.format('r._measurement == "ping" and r._field == "rtt"'))
    assert check_names(raw.format('r._measurement == "ping" and r.room == "A"'))
    assert check_names(raw.format('r._measurement == "pool_daily"')), "daily rows are in the daily bucket"
    assert not check_names(raw.format('r._measurement == "ping" and r.pool == "A"'))
    # a column the query makes itself is no tag; the same name unmade is
    made = raw + " |> map(fn: (r) => ({{r with gap: 1}})) |> filter(fn: (r) => r.gap > 0)"
    assert not check_names(made.format('r._measurement == "ping"'))
    assert check_names(made.replace("gap: 1", "other: 1").format('r._measurement == "ping"'))


def test_a_missing_flux_front_end_fails_instead_of_skipping(monkeypatch, tmp_path):
    monkeypatch.setattr(flux_check, "NODE_MODULES", tmp_path)
    with pytest.raises(FluxCheckUnavailable, match="make test"):
        check_flux(['from(bucket: "pinger") |> range(start: -1h)'])


def test_names_check_takes_a_union_of_both_buckets_only_when_each_read_names_its_own():
    pools = 'tag: "pool", predicate: (r) => r._measurement == "{}", start: 0),\n'
    both = (
        "union(tables: [\n"
        + "  schema.tagValues(bucket: v.defaultBucket, "
        + pools.format("pool_status")
        + '  schema.tagValues(bucket: v.defaultBucket + "_daily", '
        + pools.format("pool_daily")
        + "])"
    )
    assert check_names(both) == []
    swapped = both.replace("bucket: v.defaultBucket, tag", 'bucket: v.defaultBucket + "_daily", tag', 1)
    assert check_names(swapped) and "pool_status" in check_names(swapped)[0]
