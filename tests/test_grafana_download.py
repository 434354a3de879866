"""Grafana's CSV download of the two daily tables equals `pinger export`, as Grafana's own code renders it.

The rows come from a real run: samples imported into the InfluxDB stand-in, `pinger aggregate`, then
`pinger export --layout wide|long` on a site in Europe/Berlin over the end of summer time (2026-10-25 has 25
hours), with and without energy pricing. The same stored pool_daily points become the Flux table each panel's
query returns (``flux_table``: the query's semantics, below), shaped as Grafana's InfluxDB data source hands it
to the browser, and Grafana's ``@grafana/data`` 13.2.3 renders the download (tests/support/grafana_csv.js:
applyFieldOverrides with the panel's own fieldConfig, then toCSV as Inspect → Data → Download CSV calls it).

Why Flux rounds and the panel's unit is "string" (Grafana's source; line numbers of @grafana/data 13.2.3's
src/, as shipped in its source maps, and of grafana/grafana's main branch):
- Inspect → Data downloads with "Formatted data" on by default: dashboard-scene/inspect/InspectDataTab.tsx:29
  (``withFieldConfig: true``); InspectDataTab.tsx:143 calls ``downloadDataFrameAsCsv(frame, name, {}, ...)``,
  which is ``toCSV([frame], {})`` (inspector/utils/download.ts) unless "Download for Excel" is on.
- Formatted, toCSV writes ``formattedValueToString(field.display(value))`` (utils/csv.ts:221-226); the display
  processor formats a number with the unit's formatter and ``decimals`` (field/displayProcessor.ts:146-169):
  decimals: 6 pads (``12.000000``), no decimals rounds to a few digits (``1.42``). With unit "string" the value
  is not taken as a number (displayProcessor.ts:92, 98) and its text is lodash's ``toString(value)``
  (displayProcessor.ts:183-184), JavaScript's shortest round-trip form of the double.
- Raw ("Formatted data" off), the text is ``${value}`` (displayProcessor.ts:224-228): the same form.
- So Grafana can show the export's digits only if the double itself is the export's 6-decimal value: Flux
  rounds each figure exactly as the export's ``format_value`` (Python's "%.6f", pinger/numbers.py), and the
  shortest form of that double is the export's text (for figures below 10^9: at most 15 significant digits).
  Strings formatted in Flux would need Flux's own float formatting and lose numeric sorting; rounding keeps
  numbers. Then both "Formatted data" settings download the same file; the one setting that matters is
  "Download for Excel", which must stay off (it adds a ``sep=`` line, or writes UTF-16 with tabs).

Frames as Grafana's InfluxDB (Flux) data source builds them (pkg/tsdb/influxdb/flux/builder.go, Init and
Append): one field per column that is not in the group key (after ``group()`` none is), timestamp columns first
(these tables have none), the others in the table's column order, named by the column, typed by the annotated
CSV's datatype (string: string, double: number), nulls as null.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pinger.numbers import format_value
from tests.support import influx_storage
from tests.support.grafana_csv import grafana_csv
from tests.support.in_process import run_in_process
from tests.support.influx_standin import InfluxStandin, Point
from tests.test_grafana_data import DAILY, LONG_TITLE, WIDE_TITLE, panel

BERLIN = ZoneInfo("Europe/Berlin")
FIRST, LAST = dt.date(2026, 10, 24), dt.date(2026, 10, 26)  # Saturday to Monday; Sunday has 25 hours
POOLS = ("A101", "B204", "Raum Ä 2")  # config order; also byte order, which `pinger export --layout long` uses
PRICED = "energy: {currency: EUR, price: 0.3175, co2_g_per_kwh: 380}"


# -- the query's semantics ---------------------------------------------------------------------------------------
#
# Flux v0.196.1 (the version InfluxDB 2.7.12 pins):
# - map() builds each output table's columns from the record it returns, sorted by name (stdlib/universe/map.go
#   384-398);
# - union() keeps the columns in the order it first meets them (stdlib/universe/union.go 135);
# - pivot() keeps its input's columns that are in the row key or group key, in the input's order (not the
#   rowKey's order), then adds one column per column key in the order it meets them (stdlib/universe/pivot.go
#   220-233);
# - rename() and drop() keep the remaining columns in place (stdlib/universe/schema_functions.go); two columns
#   renamed to one name are an error ("column ... have the same name", schema_functions.go 455-463).
# The queries make their column order certain under these rules: every column's name sorts in the export's order
# (the long table's "00|date", ...; the wide table's keys), and rename drops the prefix at the end.

ROUND6 = re.compile(r"^round6 = \(x\) => \{\n(?P<body>.*?)\n\}$", re.MULTILINE | re.DOTALL)
PLACES = (
    "places = rows\n"
    "  |> map(fn: (r) => ({pool: r.pool, _time: r._time, place: if exists r.pool_order then r.pool_order else 9999}))\n"
    '  |> group(columns: ["pool"])\n'
    '  |> sort(columns: ["_time"])\n'
    '  |> last(column: "place")\n'
    "  |> group()\n"
    '  |> keep(columns: ["pool", "place"])\n'
    "placed = join.inner(left: rows, right: places, on: (l, r) => l.pool == r.pool, "
    "as: (l, r) => ({l with place: r.place}))\n"
)
RENAME = (
    '|> rename(fn: (column) => if strings.containsStr(v: column, substr: "|") then '
    'strings.splitN(v: column, t: "|", i: 2)[1] else column)'
)
WIDE_KEY = 'key = (r, figure) => string(v: 10000 + r.place) + figure + "|" + r.pool\n'
WIDE_CELL = re.compile(
    r"placed \|> (?:filter\(fn: \(r\) => exists r\.(?P<cond>\w+)\) \|> )?map\(fn: \(r\) => \(\{date: r\.date, "
    r'column: key\(r: r, figure: "(?P<figure>\d)"\) \+ " (?P<name>\w+)", '
    r"_value: round6\(x: float\(v: r\.(?P<read>\w+)\)\)\}\)\),"
)
LONG_CELL = re.compile(
    r'placed \|> filter\(fn: \(r\) => exists r\.(?P<cond>\w+)\) \|> map\(fn: \(r\) => \(\{"00\|date": r\.date, '
    r'"01\|place": r\.place, "02\|pool": r\.pool, "03\|phase": phase\(r: r\), column: "(?P<key>\d\d\|\w+)", '
    r"_value: round6\(x: float\(v: r\.(?P<read>\w+)\)\)\}\)\),"
)
LONG_EMPTY_COLUMNS = re.compile(
    r'\{"00\|date": "", "01\|place": 0, "02\|pool": "", "03\|phase": "", column: "(\d\d\|\w+)"'
)


def query(title: str) -> str:
    return panel(DAILY, title)["targets"][0]["query"]


def round6_of(flux: str):
    """The query's round6 as a Python function, statement by statement: Flux floats are IEEE doubles with the
    same operations (math.floor and math.mod are Go's math.Floor and math.Mod; Python's fmod is C's fmod), so
    the function computes in Python what it computes in Flux."""
    body = ROUND6.search(flux)["body"]
    source = ["def round6(x):"]
    for line in body.splitlines():
        line = line.strip()
        line = re.sub(r"math\.floor\(x: ([^)]*)\)", r"_floor(\1)", line)
        line = re.sub(r"math\.mod\(x: ([^,]*), y: ([^)]*)\)", r"_mod(\1, \2)", line)
        conditional = re.fullmatch(r"(\w+) = if (.*) then (.*) else (.*)", line)
        if conditional:
            name, test, yes, no = conditional.groups()
            line = f"{name} = ({yes}) if ({test}) else ({no})"
        assert re.fullmatch(r"(return |\w+ = )[\w\s.()+\-*/=!<>,]*", line), line
        source.append("    " + line)
    scope = {"_floor": lambda v: float(math.floor(v)), "_mod": math.fmod}
    exec("\n".join(source), scope)  # noqa: S102 (the query's own arithmetic, checked above)
    return scope["round6"]


def places(points: list[Point]) -> dict[str, int]:
    """The ``places`` stream: per pool the pool_order of its newest row (9999 for rows without one)."""
    newest: dict[str, tuple[int, int]] = {}
    for p in sorted(points, key=lambda p: p.time_ns):
        newest[p.tags["pool"]] = (p.time_ns, p.fields.get("pool_order", 9999))
    return {pool: place for pool, (_, place) in newest.items()}


def pivot(rows: list[dict], input_columns: list[str], row_key: list[str]) -> tuple[list[str], list[dict]]:
    """Flux's pivot on (row key, "column", "_value"), group key empty: the input's row key columns in input
    order, then one column per "column" value in the order met; one output row per row key, as first met."""
    new_columns = list(dict.fromkeys(row["column"] for row in rows))
    columns = [c for c in input_columns if c in row_key] + new_columns
    out: dict[tuple, dict] = {}
    for row in rows:
        out.setdefault(tuple(row[c] for c in row_key), {c: row[c] for c in row_key})[row["column"]] = row["_value"]
    return columns, list(out.values())


def renamed(column: str) -> str:
    return column.split("|", 1)[1] if "|" in column else column


def flux_table(title: str, points: list[Point], first: dt.date, last: dt.date) -> tuple[list[str], list[dict]]:
    """The one table the panel's query returns for the stored pool_daily points of first..last: its columns in
    order and its rows (values by column name; a missing cell is None)."""
    flux = query(title)
    assert PLACES in flux and flux.rstrip().endswith(RENAME)
    round6 = round6_of(flux)
    days = {(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}
    rows = [{**p.tags, **p.fields, "_time": p.time_ns} for p in points if p.fields["date"] in days]
    place = places([p for p in points if p.fields["date"] in days])
    for row in rows:
        row["place"] = place[row["pool"]]
    cells: list[dict] = []
    if title == WIDE_TITLE:
        assert WIDE_KEY in flux
        found = [m.groupdict() for m in WIDE_CELL.finditer(flux)]
        assert len(found) == 7
        for cell in found:
            assert cell["name"] == cell["read"] and cell["cond"] in (None, cell["name"])
            for row in rows:
                if cell["cond"] is None or row.get(cell["cond"]) is not None:
                    key = f"{10000 + row['place']}{cell['figure']}|{row['pool']} {cell['name']}"
                    cells.append({"date": row["date"], "column": key, "_value": round6(float(row[cell["read"]]))})
        mapped = sorted(["date", "column", "_value"])  # map: columns by name
        assert '|> sort(columns: ["column", "date"])\n  |> pivot(rowKey: ["date"]' in flux
        cells.sort(key=lambda c: (c["column"], c["date"]))
        columns, table = pivot(cells, mapped, ["date"])
        table.sort(key=lambda r: r["date"])
    else:
        found = [m.groupdict() for m in LONG_CELL.finditer(flux)]
        assert len(found) == 10
        for cell in found:
            assert cell["cond"] == cell["read"] == cell["key"].split("|")[1]
            for row in rows:
                if row.get(cell["read"]) is not None:
                    cells.append(
                        {
                            "00|date": row["date"],
                            "01|place": row["place"],
                            "02|pool": row["pool"],
                            "03|phase": row.get("phase", ""),
                            "column": cell["key"],
                            "_value": round6(float(row[cell["read"]])),
                        }
                    )
        for key in LONG_EMPTY_COLUMNS.findall(flux):  # the row of no day that makes the last two columns exist
            cells.append({"00|date": "", "01|place": 0, "02|pool": "", "03|phase": "", "column": key, "_value": 0.0})
        row_key = ["00|date", "01|place", "02|pool", "03|phase"]
        assert '|> pivot(rowKey: ["00|date", "01|place", "02|pool", "03|phase"]' in flux
        cells.sort(key=lambda c: (c["column"], c["00|date"], c["01|place"], c["02|pool"]))
        columns, table = pivot(cells, sorted([*row_key, "column", "_value"]), row_key)
        table = sorted(
            (r for r in table if r["00|date"] != ""), key=lambda r: (r["00|date"], r["01|place"], r["02|pool"])
        )
        assert '|> drop(columns: ["01|place"])' in flux
        columns.remove("01|place")
    names = [renamed(c) for c in columns]
    assert len(set(names)) == len(names), "Flux: column ... have the same name"
    return names, [{renamed(c): row.get(c) for c in columns} for row in table]


STRING_COLUMNS = {"date", "pool", "phase"}  # the tables' string columns; every other is a double (round6's)


def frame(columns: list[str], rows: list[dict]) -> dict:
    """The data frame Grafana's InfluxDB data source makes of the table (see the module's docstring)."""
    return {
        "fields": [
            {"name": name, "type": "string" if name in STRING_COLUMNS else "number", "values": [r[name] for r in rows]}
            for name in columns
        ]
    }


def javascript_string(value: float) -> str:
    """``String(value)`` in JavaScript for 1e-6 <= |value| < 1e21 or 0: the shortest round-trip digits (as
    Python's repr), never in exponent form."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def as_grafana_writes(exported: str) -> str:
    """The export's CSV as Grafana's download would write the same cells: every header name quoted, CRLF line
    ends, none after the last row (utils/csv.ts: toCSV)."""
    lines = exported.rstrip("\n").split("\n")
    header = next(csv.reader([lines[0]]))
    quoted = ",".join('"' + name.replace('"', '""') + '"' for name in header)
    return "\r\n".join([quoted, *lines[1:]])


# -- the run ------------------------------------------------------------------------------------------------------


def samples() -> str:
    """Five-minute samples 2026-10-23 23:55 to 2026-10-27 00:00 Berlin; the repeated hour of the 25th unobserved
    for the third pool's PC (coverage below 1)."""
    start = int(dt.datetime(2026, 10, 23, 23, 55, tzinfo=BERLIN).timestamp())
    stop = int(dt.datetime(2026, 10, 27, 0, 0, tzinfo=BERLIN).timestamp())
    lines = []
    for t in range(start, stop + 1, 300):
        local = dt.datetime.fromtimestamp(t, BERLIN)
        minutes = local.hour * 60 + local.minute
        states = {
            ("A101", "10.0.0.1"): 7 * 60 + 10 <= minutes < 19 * 60 + 35,
            ("A101", "10.0.0.2"): minutes >= 22 * 60 or (local.day == 26 and 9 * 60 + 5 <= minutes < 11 * 60),
            ("B204", "10.0.1.1"): 8 * 60 <= minutes < 9 * 60 + 25,
            ("Raum Ä 2", "10.0.2.1"): 13 * 60 + 5 <= minutes < 13 * 60 + 20,
        }
        for (pool, host), up in states.items():
            if host == "10.0.2.1" and local.day == 25 and local.hour == 2:
                continue
            escaped = pool.replace(" ", "\\ ").replace(",", "\\,")
            lines.append(f"ping,pool={escaped},host={host} up={int(up)}i {t}")
    return "\n".join(lines) + "\n"


def config_text(url: str, spool, energy: str) -> str:
    return f"""
        timezone: Europe/Berlin
        interval: 5m
        {influx_storage(url, spool)}
        {energy}
        pools:
          - name: A101
            watts: 80
            standby_watts: 1.5
            open: {{mon-fri: "08:00-18:00", sat: "09:00-14:00"}}
            hosts: [10.0.0.1, {{host: 10.0.0.2, watts: 115}}]
          - {{name: B204, watts: 65, hosts: [10.0.1.1]}}
          - {{name: "Raum Ä 2", watts: 70, standby_watts: 0.7, hosts: [10.0.2.1]}}
        study:
          phases:
            - {{name: baseline, start: 2026-10-01, end: 2026-10-25}}
            - {{name: polite sign, start: 2026-10-26, pools: [A101]}}
    """


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """For each energy section: the stored pool_daily points and `pinger export`'s wide and long CSV."""
    results = {}
    for label, energy in (("unpriced", ""), ("priced", PRICED)):
        tmp = tmp_path_factory.mktemp(label)
        with InfluxStandin(token="t0ken") as standin:
            config = tmp / "pinger.yaml"
            config.write_text(
                "\n".join(line[8:] for line in config_text(standin.url, tmp / "spool.sqlite", energy).splitlines())
            )
            (tmp / "s.lp").write_text(samples())
            span = ("--from", str(FIRST), "--to", str(LAST))
            outputs = {}
            for name, args in (
                ("import", ("import", "-c", str(config), str(tmp / "s.lp"), "--precision", "s")),
                ("aggregate", ("aggregate", "-c", str(config), *span)),
                ("wide", ("export", "-c", str(config), *span, "--layout", "wide")),
                ("long", ("export", "-c", str(config), *span, "--layout", "long")),
            ):
                done = run_in_process(*args, env={"INFLUX_TOKEN": "t0ken"})
                assert done.returncode == 0, done.stderr
                outputs[name] = done.stdout
            points = standin.points(bucket="pinger_daily", measurement="pool_daily")
        results[label] = (points, outputs)
    return results


@pytest.fixture(scope="module")
def downloads(runs):
    """Grafana's download of each table and run, with "Formatted data" on (the default) and off."""
    jobs, keys = [], []
    for label, (points, _) in runs.items():
        for layout, title in (("wide", WIDE_TITLE), ("long", LONG_TITLE)):
            columns, rows = flux_table(title, points, FIRST, LAST)
            for formatted in (True, False):
                jobs.append(
                    {
                        "frame": frame(columns, rows),
                        "fieldConfig": panel(DAILY, title)["fieldConfig"],
                        "formatted": formatted,
                    }
                )
                keys.append((label, layout, formatted))
    return dict(zip(keys, grafana_csv(jobs), strict=True))


@pytest.mark.parametrize("formatted", [True, False], ids=["formatted-data-on", "formatted-data-off"])
@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("label", ["unpriced", "priced"])
def test_grafanas_download_is_the_export(runs, downloads, label, layout, formatted):
    exported = runs[label][1][layout]
    downloaded = downloads[(label, layout, formatted)]
    # Header (modulo Grafana's quoting), column order and every value, byte for byte.
    assert downloaded == as_grafana_writes(exported)
    rows = list(csv.reader(io.StringIO(exported)))
    assert [row[0] for row in rows[1:]][:1] == [str(FIRST)] and rows[-1][0] == str(LAST)
    if label == "priced":
        assert {"cost", "co2_kg"} <= {name.split()[-1] for name in rows[0]}
    else:
        assert not {"cost", "co2_kg"} & {name.split()[-1] for name in rows[0]}


def test_the_run_has_what_could_go_wrong(runs):
    # Long decimals, integers, empty cells, a 25-hour day, phases, a day not fully observed.
    points, outputs = runs["priced"]
    values = [p.fields[name] for p in points for name in ("runtime_h", "energy_kwh", "pcs_total")]
    assert any(len(repr(v)) > 12 for v in values) and any(float(v).is_integer() for v in values)
    long_rows = list(csv.reader(io.StringIO(outputs["long"])))
    assert {"baseline", "polite sign", ""} == {row[2] for row in long_rows[1:]}
    assert any(row[9] == "" for row in long_rows[1:]) and any(row[9] not in ("", "0") for row in long_rows[1:])
    assert any(p.fields["coverage"] < 1 for p in points)
    assert {p.fields["date"] for p in points} == {"2026-10-24", "2026-10-25", "2026-10-26"}


def test_decimals_pad_and_raw_values_show_the_floats_repr_without_rounding_in_flux(runs):
    """Why the panels round in Flux and use unit "string": the old fieldConfig (decimals: 6, unit: none) on the
    stored, unrounded values, rendered by Grafana, gives the export's numbers neither formatted nor raw."""
    points, outputs = runs["unpriced"]
    days = sorted({p.fields["date"] for p in points})
    stored = {(p.fields["date"], p.tags["pool"]): p.fields["runtime_h"] for p in points}
    columns = ["date", *(f"{pool} runtime_h" for pool in POOLS)]
    rows = [{"date": day, **{f"{pool} runtime_h": stored.get((day, pool)) for pool in POOLS}} for day in days]
    old = {"defaults": {"decimals": 6, "unit": "none"}, "overrides": []}
    formatted, raw = grafana_csv(
        [{"frame": frame(columns, rows), "fieldConfig": old, "formatted": f} for f in (True, False)]
    )
    exported = list(csv.reader(io.StringIO(outputs["wide"])))
    expected = [[row[0], *(row[exported[0].index(name)] for name in columns[1:])] for row in exported[1:]]
    for download in (formatted, raw):
        assert list(csv.reader(io.StringIO(download)))[1:] != expected
    assert re.search(r",\d+\.\d{5}0(,|\r|$)", formatted)  # padded to 6 decimals: 0.250000 (the export: 0.25)
    assert re.search(r"\d\.\d{7,}", raw)  # a float's repr, longer than the export's 6 decimals


# -- round6 against the export's formatting --------------------------------------------------------------------


def test_round6_rounds_exactly_as_the_export_formats():
    round6 = round6_of(query(WIDE_TITLE))
    assert ROUND6.search(query(WIDE_TITLE))["body"] == ROUND6.search(query(LONG_TITLE))["body"]
    # Ties in binary (x.xxxxxx5 exactly: j / 128), values just below and above ties, and what a product
    # rounds wrong: round(x * 10^6) gives 0.007813, 0.000003 is right for 2.5e-6 (its double is above the tie).
    hard = [0.0078125, 0.0234375, 2.5e-6, 3.5e-6, 1.0000005, 1.4166666666666667, 0.1 + 0.2, 1e-7, 0.0, 12.0]
    hard += [k / 128 for k in range(1, 400, 2)] + [k / 3600 for k in range(1, 7200, 7)]
    hard += [math.nextafter(v, d) for v in (0.0078125, 2.5e-6, 1.0000005) for d in (0.0, 10.0)]
    generator = random.Random(21)
    hard += [generator.uniform(0, 1000) for _ in range(20_000)] + [generator.uniform(0, 1e-3) for _ in range(5000)]
    for value in hard:
        assert javascript_string(round6(value)) == format_value(value), value
    naive = [v for v in hard if format_value(round(v * 1e6) / 1e6) != format_value(v)]
    assert naive  # half away from zero on x * 10^6 (math.round) would not be exact


# -- a pool moved in the config ------------------------------------------------------------------------------------


def stored(day: dt.date, pool: str, order: int | None, runtime_h: float) -> Point:
    """A pool_daily point as the aggregator writes it (pinger.store.influx.daily_point_line) and InfluxDB keeps it."""
    from pinger.localtime import day_start
    from pinger.models import PoolDay
    from pinger.schema import POOL_DAILY
    from pinger.store.influx import daily_point_line
    from tests.support.influx_standin import parse_line_protocol

    row = PoolDay(day, pool, None, {}, 2, 1, runtime_h, runtime_h, runtime_h / 10, 1.0, None, None)
    (point,) = parse_line_protocol(daily_point_line(POOL_DAILY, row, day_start(day, BERLIN), order), "s")
    return point


def test_a_pool_moved_in_the_config_keeps_one_group_of_columns_in_its_newest_place():
    # Config before the 25th: A101, B204, Zeta; from the 25th on Zeta moved first. Rows written before
    # pool_order existed (None) sort last.
    first, last = dt.date(2026, 10, 24), dt.date(2026, 10, 26)
    points = [
        stored(first, "A101", 0, 1.0),
        stored(first, "B204", 1, 2.0),
        stored(first, "Zeta", 2, 3.0),
        stored(first, "Old", None, 4.0),
        *(
            stored(day, pool, order, 5.0)
            for day in (dt.date(2026, 10, 25), last)
            for pool, order in (("Zeta", 0), ("A101", 1), ("B204", 2))
        ),
    ]
    columns, rows = flux_table(WIDE_TITLE, points, first, last)
    pools = list(dict.fromkeys(name.split(" ")[0] for name in columns[1:]))
    assert pools == ["Zeta", "A101", "B204", "Old"]
    assert len(columns) == 1 + 4 * 5 and [row["date"] for row in rows] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert rows[0]["Zeta runtime_h"] == 3.0 and rows[1]["Old runtime_h"] is None
    # The old key (each row's own pool_order) gave Zeta two keys, which rename made one name: Flux refuses that.
    old_keys = {f"{10000 + p.fields.get('pool_order', 9999)}1|{p.tags['pool']} runtime_h" for p in points}
    names = [key.split("|", 1)[1] for key in old_keys]
    assert len(names) != len(set(names))


def test_the_wide_tables_key_takes_the_pools_one_place_not_the_rows_pool_order():
    flux = query(WIDE_TITLE)
    assert PLACES in flux and WIDE_KEY in flux and "r.pool_order)" not in flux.split(PLACES)[1]


# -- the columns for every energy section, and why the prefixes ---------------------------------------------------

ENERGY_CONFIGS = {
    "no energy section": "",
    "priced": "energy: {currency: EUR, price: 0.32}",
    "priced with CO2": "energy: {currency: EUR, price: 0.32, co2_g_per_kwh: 380}",
    "CO2 only": "energy: {co2_g_per_kwh: 380}",
}
MANY_POOLS = ["Zentrum", "B204", "A101", *(f"P{n:02d}" for n in range(12))]  # config order, not by name; > 10


@pytest.mark.parametrize("energy", list(ENERGY_CONFIGS.values()), ids=list(ENERGY_CONFIGS))
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_the_tables_have_the_exports_header_for_every_energy_section(write_config, energy, layout):
    from pinger.aggregator.export import long_rows, unconfigured, wide_figures, wide_rows
    from pinger.config_load import load_config

    pools = "".join(f"  - {{name: {name}, watts: 50, hosts: [10.0.{n}.1]}}\n" for n, name in enumerate(MANY_POOLS))
    config = load_config(write_config(f"timezone: Europe/Berlin\n{energy}\npools:\n{pools}"))
    left_out = unconfigured(config.energy)
    points = []
    for order, name in enumerate(MANY_POOLS):
        point = stored(FIRST, name, order, 1.5)
        extra = {"cost": 0.25, "co2_kg": 0.125}
        point.fields.update({k: v for k, v in extra.items() if k not in left_out})
        points.append(point)
    title = WIDE_TITLE if layout == "wide" else LONG_TITLE
    columns, _ = flux_table(title, points, FIRST, FIRST)
    if layout == "wide":
        header = next(iter(wide_rows([], MANY_POOLS, wide_figures(config.energy))))
    else:
        header = next(iter(long_rows([], left_out=left_out)))
    assert columns == list(header)


def test_pivot_keeps_its_inputs_order_so_the_row_key_alone_gave_date_phase_pool():
    """The long table's old query relied on pivot putting rowKey ["date", "pool", "phase"] first in that order.
    From Flux's source (the rules above): map sorts its record's columns by name, so pivot's input had
    _value, column, date, phase, pool, and pivot keeps that order: date, phase, pool. The prefixed names sort in
    the export's order, so every rule gives the same header."""
    old_input = sorted(["date", "pool", "phase", "column", "_value"])
    columns, _ = pivot(
        [{"date": "d", "pool": "p", "phase": "", "column": "pcs_total", "_value": 1.0}],
        old_input,
        ["date", "pool", "phase"],
    )
    assert columns[:3] == ["date", "phase", "pool"]
    prefixed = ["00|date", "01|place", "02|pool", "03|phase"]
    assert sorted([*prefixed, "column", "_value"])[:4] == prefixed  # by name = the export's order
    keys = [m["key"] for m in LONG_CELL.finditer(query(LONG_TITLE))]
    figures = "pcs_total pcs_used runtime_h avg_runtime_h energy_kwh coverage runtime_closed_h on_at_close cost co2_kg"
    assert keys == sorted(keys) and [k.split("|")[1] for k in keys] == figures.split()
