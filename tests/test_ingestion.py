"""`pinger import` of line protocol: plausible values only, every malformed line named, streaming at speed."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinger import line_format
from pinger.config_load import load_config
from pinger.errors import MalformedImportError
from pinger.line_format import LineProtocolError, parse_line

NOW = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC).timestamp()
T = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())  # a plausible time, in seconds
NS = 1_000_000_000


def test_the_precision_table_and_the_time_limits_are_defined_once_in_the_core():
    """Both importers read timestamps alike: one table of precisions (pinger/line_format.py) and one span of
    plausible times (pinger/time_limits.py), which no other module of the product defines again."""
    import ast

    from tests.test_layers import product_modules

    shared = {"PRECISION_NS", "EARLIEST_S", "FUTURE_SLACK_S"}
    defined = sorted(
        (name.lstrip("_"), module)
        for module, path in product_modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and (name := target.id).lstrip("_") in shared
    )
    assert defined == [
        ("EARLIEST_S", "pinger.time_limits"),
        ("FUTURE_SLACK_S", "pinger.time_limits"),
        ("PRECISION_NS", "pinger.line_format"),
    ]


@pytest.fixture
def config(write_config, tmp_path):
    path = write_config(f"""
        timezone: UTC
        interval: 5m
        storage: {{path: {tmp_path / "store.sqlite"}}}
        pools:
          - {{name: A, watts: 80, hosts: [10.0.0.0/24]}}
    """)
    return load_config(path)


def stored(config) -> list[tuple]:
    path = config.storage.path
    if not Path(path).exists():
        return []
    with sqlite3.connect(path) as db:
        try:
            return db.execute("SELECT time, pool, host, up, rtt_ms FROM ping ORDER BY host, time").fetchall()
        except sqlite3.OperationalError:  # no table: nothing was ever written
            return []


def write_lp(tmp_path: Path, lines: list[str], name: str = "in.lp") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ping(host: str = "10.0.0.1", up: str = "1i", rtt: str | None = "0.25", time: int | str = T * NS) -> str:
    return f"ping,host={host},pool=A up={up}{f',rtt_ms={rtt}' if rtt is not None else ''} {time}"


def refused(config, path: Path, **options) -> list[str]:
    """The import's error lines, after checking that it raised and wrote nothing."""
    from pinger.ingestion.import_lines import import_file

    with pytest.raises(MalformedImportError) as caught:
        import_file(config, path, **options)
    assert caught.value.exit_code == 2
    assert stored(config) == []
    return str(caught.value).splitlines()


# -- 1. implausible values ---------------------------------------------------------------------


def test_timestamps_before_2000_or_far_in_the_future_are_refused_with_line_numbers(config, tmp_path):
    path = write_lp(
        tmp_path,
        [
            ping(time=T * NS),
            ping(time=5),  # 1970
            ping(time=-T * NS),  # 1919
            ping(time=4_102_444_800 * NS),  # 2100
            ping(time=946_684_799 * NS),  # one second before 2000
            ping(time=946_684_800 * NS),  # 2000-01-01T00:00:00Z exactly: fine
        ],
    )
    errors = refused(config, path)
    assert errors[1:] == [
        f"{path}:2: timestamp 5 (ns) is 1970-01-01T00:00:00Z, before 2000-01-01T00:00:00Z",
        f"{path}:3: timestamp {-T * NS} (ns) is 1913-03-03T00:00:00Z, before 2000-01-01T00:00:00Z",
        f"{path}:4: timestamp {4_102_444_800 * NS} (ns) is 2100-01-01T00:00:00Z, more than a day after now",
        f"{path}:5: timestamp {946_684_799 * NS} (ns) is 1999-12-31T23:59:59Z, before 2000-01-01T00:00:00Z",
        f"{path}: if these timestamps are right, import them with --allow-any-time",
    ]


def test_now_is_a_parameter_and_one_day_ahead_is_the_limit(config, tmp_path):
    limit = int(NOW) + 86400
    path = write_lp(tmp_path, [ping(time=limit * NS), ping(time=(limit + 1) * NS)])
    errors = refused(config, path, now=NOW)
    assert errors[1:] == [
        f"{path}:2: timestamp {(limit + 1) * NS} (ns) is 2026-11-03T12:00:01Z, more than a day after now",
        f"{path}: if these timestamps are right, import them with --allow-any-time",
    ]


def test_allow_any_time_imports_implausible_timestamps(config, tmp_path):
    from pinger.ingestion.import_lines import import_file

    path = write_lp(tmp_path, [ping(time=60), ping(host="10.0.0.2", time=4_102_444_800 * NS)])
    assert import_file(config, path, now=NOW, allow_any_time=True) == 2
    assert stored(config) == [(0, "A", "10.0.0.1", 1, 0.25), (4_102_444_800, "A", "10.0.0.2", 1, 0.25)]


@pytest.mark.parametrize(
    "unit, precision, hint",
    [
        (1, "ns", "the timestamps look like seconds read as nanoseconds: try --precision s"),
        (1_000, "ns", "the timestamps look like milliseconds read as nanoseconds: try --precision ms"),
        (1_000, "s", "the timestamps look like milliseconds read as seconds: try --precision ms"),
        (NS, "s", "the timestamps look like nanoseconds read as seconds: try --precision ns"),
        (NS, "us", "the timestamps look like nanoseconds read as microseconds: try --precision ns"),
    ],
)
def test_a_precision_mistake_is_named(config, tmp_path, unit, precision, hint):
    path = write_lp(tmp_path, [ping(host=f"10.0.0.{i}", time=(T + 300 * i) * unit) for i in range(1, 30)])
    errors = refused(config, path, precision=precision, now=NOW)
    assert errors[-2:] == ["… and 9 more malformed lines", f"{path}: {hint}"]


def test_no_precision_hint_when_some_timestamps_are_plausible(config, tmp_path):
    path = write_lp(tmp_path, [ping(time=T), ping(time=T * NS)])
    errors = refused(config, path, now=NOW)
    assert errors[-1] == f"{path}: if these timestamps are right, import them with --allow-any-time"


@pytest.mark.parametrize(
    "up, expected",
    [
        ("1i", 1),
        ("0i", 0),
        ("1", 1),
        ("0.0", 0),
        ("1u", 1),
        ("true", 1),
        ("F", 0),
        ("1e0", 1),
    ],
)
def test_up_may_be_0_or_1_in_any_numeric_or_boolean_spelling(config, tmp_path, up, expected):
    from pinger.ingestion.import_lines import import_file

    assert import_file(config, write_lp(tmp_path, [ping(up=up)]), now=NOW) == 1
    assert stored(config) == [(T, "A", "10.0.0.1", expected, 0.25 if expected else None)]


@pytest.mark.parametrize("up", ["2i", "-1i", "0.5", '"1"', "nan", "inf"])
def test_up_other_than_0_or_1_is_refused(config, tmp_path, up):
    path = write_lp(tmp_path, [ping(), ping(up=up)])
    assert refused(config, path, now=NOW)[1:] == [f"{path}:2: a ping point needs the field up = 0 or 1"]


@pytest.mark.parametrize("rtt", ["nan", "NaN", "inf", "-inf", "Infinity", "-0.5", "-1i", "1e999", "9" * 400 + "i"])
def test_rtt_ms_must_be_finite_and_not_negative(config, tmp_path, rtt):
    path = write_lp(tmp_path, [ping(), ping(rtt=rtt), ping(up="0i", rtt=rtt)])
    errors = refused(config, path, now=NOW)
    assert [error.split(": ", 1)[0] for error in errors[1:]] == [f"{path}:2", f"{path}:3"]
    assert all("rtt_ms must be a finite number ≥ 0" in error for error in errors[1:])


@pytest.mark.parametrize(
    "line, message",
    [
        ("ping,host=10.0.0.1,pool=A,host=10.0.0.2 up=1i 5", "tag 'host' is given twice"),
        ("ping,host=10.0.0.1,pool=A up=1i,up=0i 5", "field 'up' is given twice"),
        (r"ping,host=10.0.0.1,pool=A up=1i,rtt_ms=0.5,rtt\_ms=1,rtt_ms=0.7 5", "field 'rtt_ms' is given twice"),
        ('ping,host=10.0.0.1,pool=A s="x",up=1i,s="y" 5', "field 's' is given twice"),
        (r"ping,p\ ool=A,host=10.0.0.1,p\ ool=B up=1i 5", "tag 'p ool' is given twice"),
    ],
)
def test_a_tag_or_field_given_twice_is_an_error(line, message):
    with pytest.raises(LineProtocolError) as caught:
        parse_line(line, 4)
    assert str(caught.value) == f"line 4: {message}"


def test_a_repeated_tag_is_refused_by_the_import(config, tmp_path):
    path = write_lp(tmp_path, [ping(), "ping,pool=A,host=10.0.0.1,host=10.0.0.2 up=1i " + str(T * NS)])
    assert refused(config, path, now=NOW)[1:] == [f"{path}:2: tag 'host' is given twice"]


# -- 2. non-UTF-8 lines ------------------------------------------------------------------------


def test_a_non_utf8_line_is_reported_with_its_line_number(config, tmp_path):
    path = tmp_path / "latin1.lp"
    path.write_bytes(
        "\n".join([ping(), ping(host="10.0.0.2"), ping(host="10.0.0.3")]).encode()
        + b"\nping,host=10.0.0.4,pool=M\xfcnchen\xff up=1i "
        + str(T * NS).encode()
        + b"\n"
        + ping(up="2i").encode()
        + b"\n"
        + ping(host="10.0.0.6").encode()
        + b"\n"
    )
    assert refused(config, path, now=NOW)[1:] == [
        f"{path}:4: not UTF-8 text (byte 0xfc at column 26)",
        f"{path}:5: a ping point needs the field up = 0 or 1",
    ]


def test_the_cli_reports_a_non_utf8_line_and_exits_2(write_config, tmp_path, run_pinger):
    config = write_config(f"""
        timezone: UTC
        interval: 5m
        storage: {{path: {tmp_path / "store.sqlite"}}}
        pools:
          - {{name: A, watts: 80, hosts: [10.0.0.1]}}
    """)
    path = tmp_path / "bad.lp"
    path.write_bytes(f"{ping()}\n{ping()}\n".encode() + b"ping,host=\xff,pool=A up=1i 1\n")
    result = run_pinger("import", "-c", str(config), str(path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == f"{path}:3: not UTF-8 text (byte 0xff at column 11)"


def test_line_ends_crlf_and_cr_count_as_before(config, tmp_path):
    from pinger.ingestion.import_lines import read_samples

    path = tmp_path / "mixed.lp"
    path.write_bytes(
        b"\r\n".join([b"# windows", ping().encode(), b""])
        + ping(up="7i").encode()
        + b"\r"
        + ping(host="10.0.0.2").encode()
        + b"\n"
        + ping(up="x").encode()
        + b"\r\n"
    )
    with pytest.raises(MalformedImportError) as caught:
        read_samples(path, "ns")
    assert str(caught.value).splitlines()[1:] == [
        f"{path}:3: a ping point needs the field up = 0 or 1",
        f"{path}:5: field 'up': 'x' is not a valid value",
    ]


READS = [
    b"",
    b"\n",
    b"\r",
    b"\r\n",
    b"a",
    b"a\n",
    b"a\r",
    b"a\r\n",
    b"\n\n\r\r\n\r",
    b"ab\r\ncd\ref\ngh",
    b"abc\r\r\n\n\rdef",
    b"\xef\xbb\xbfa\nb",
    b"x\xffy\nz\r\n\xc3\xa4\n",
    "Süd\r\nÄ\rö".encode(),
    b"long line " * 9 + b"\r\nshort\r\n" + b"y" * 40 + b"\rz",
]


@pytest.mark.parametrize("data", READS)
def test_the_lines_read_are_those_of_a_text_file_whatever_the_chunks(data, monkeypatch):
    import io

    import pinger.ingestion.import_input as module

    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace", newline=None)
    expected = [line.removesuffix("\n") for line in text]
    for chunk in [1, 2, 3, 5, 8, 1 << 20]:
        monkeypatch.setattr(module, "CHUNK_BYTES", chunk)
        read = [line for lines, _ in module.decoded_lines(io.BytesIO(data)) for line in lines]
        assert [line if not line.startswith(module.BAD) else "?" for line in read] == [
            line if "\ufffd" not in line else "?" for line in expected
        ], chunk


def test_an_endless_line_is_one_malformed_line(config, tmp_path, monkeypatch):
    import pinger.ingestion.import_input as reading
    import pinger.ingestion.import_lines as module

    monkeypatch.setattr(reading, "CHUNK_BYTES", 64)
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(module, "MAX_LINE_BYTES", 1000)  # the message names it
    path = tmp_path / "long.lp"
    path.write_bytes(f"{ping()}\n".encode() + b"x" * 5000 + b"\r\n" + f"{ping(up='x')}\r".encode() + b"y" * 3000)
    assert refused(config, path, now=NOW)[1:] == [
        f"{path}:2: longer than 1,000 bytes: not a line of points",
        f"{path}:3: field 'up': 'x' is not a valid value",
        f"{path}:4: longer than 1,000 bytes: not a line of points",
    ]


def test_a_byte_order_mark_is_not_part_of_the_first_line(config, tmp_path):
    from pinger.ingestion.import_lines import import_file

    path = tmp_path / "bom.lp"
    path.write_bytes(b"\xef\xbb\xbf" + ping().encode() + b"\n")
    assert import_file(config, path, now=NOW) == 1


# -- 3. streaming, at speed --------------------------------------------------------------------


def test_the_store_gets_an_iterator_not_a_list(config, tmp_path, monkeypatch):
    import pinger.ingestion.import_lines as module

    seen = []

    class Store:
        def write_samples(self, samples):
            seen.append(type(samples))
            assert iter(samples) is samples  # an iterator, consumed once, never a list
            return sum(1 for _ in samples)

        def close(self, flush_seconds=0.0):
            pass

    monkeypatch.setattr(module, "open_history_store", lambda *args, **kwargs: Store())
    path = write_lp(tmp_path, [ping(host=f"10.0.0.{i}") for i in range(1, 200)])
    assert module.import_file(config, path) == 199
    assert seen and seen[0] not in (list, tuple)


def test_every_malformed_line_counts_even_after_samples_were_streamed(config, tmp_path):
    lines = [ping(host=f"10.0.0.{i}") for i in range(1, 101)]
    bad = [3, 50, 99, 100, 101, 102] + list(range(104, 124))
    for number in bad:
        lines.insert(number - 1, ping(up="bad"))
    path = write_lp(tmp_path, lines)
    errors = refused(config, path, now=NOW)
    assert errors[0] == "nothing imported; malformed lines:"
    assert [error.split(": ")[0] for error in errors[1:21]] == [f"{path}:{n}" for n in bad[:20]]
    assert errors[21:] == ["… and 6 more malformed lines"]


def test_a_malformed_last_line_rolls_back_what_was_streamed_before(config, tmp_path):
    from pinger.ingestion.import_lines import import_file

    assert import_file(config, write_lp(tmp_path, [ping(host="10.0.0.9")], "first.lp"), now=NOW) == 1
    path = write_lp(
        tmp_path,
        [ping(host=f"10.0.0.{i}", time=(T + 300 * k) * NS) for k in range(50) for i in range(1, 20)]
        + ["ping,pool=A up=1i 5"],
    )
    with pytest.raises(MalformedImportError, match=f"{path}:951: a ping point needs the tags pool and host"):
        import_file(config, path, now=NOW)
    assert stored(config) == [(T, "A", "10.0.0.9", 1, 0.25)]


def test_equal_samples_of_one_host_and_second_are_merged_and_counted(config, tmp_path, monkeypatch, caplog):
    # Issue 20 item 11: six lines, three samples: "imported 6" was reported for three stored rows.
    import pinger.ingestion.import_lines as module

    monkeypatch.setattr(module, "BATCH_SAMPLES", 2)  # duplicates across batches, and inside one
    lines = [
        ping(host="10.0.0.1", time=T * NS),
        ping(host="10.0.0.2", up="0i", rtt=None, time=T * NS),
        ping(host="10.0.0.1", time=T * NS + 400_000_000),  # the same second, 0.4 s later: the same sample
        ping(host="10.0.0.3", time=T * NS),
        ping(host="10.0.0.2", up="0i", rtt=None, time=T * NS),
        ping(host="10.0.0.3", time=T * NS),
    ]
    with caplog.at_level("INFO", logger="pinger.import"):
        assert module.import_file(config, write_lp(tmp_path, lines), now=NOW) == 3
    assert stored(config) == [
        (T, "A", "10.0.0.1", 1, 0.25),
        (T, "A", "10.0.0.2", 0, None),
        (T, "A", "10.0.0.3", 1, 0.25),
    ]
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith(
            f"imported 6 ping samples from {tmp_path / 'in.lp'} (6 lines): 3 stored; 3 merged (the same host, second "
        )
    )


@pytest.mark.parametrize(
    "second, message",
    [
        (ping(host="10.0.0.1", up="0i", rtt=None), "(pool A, up=0) conflicts with line 1 (pool A, up=1, rtt_ms=0.25)"),
        (
            ping(host="10.0.0.1", rtt="0.5"),
            "(pool A, up=1, rtt_ms=0.5) conflicts with line 1 (pool A, up=1, rtt_ms=0.25)",
        ),
        (
            ping(host="10.0.0.1").replace("pool=A", "pool=B"),
            "(pool B, up=1, rtt_ms=0.25) conflicts with line 1 (pool A, ",
        ),
    ],
)
def test_different_samples_of_one_host_and_second_are_refused_naming_both_lines(config, tmp_path, second, message):
    from pinger.errors import ConflictingSamplesError
    from pinger.ingestion.import_lines import import_file

    path = write_lp(tmp_path, [ping(host="10.0.0.1"), ping(host="10.0.0.2"), second])
    with pytest.raises(ConflictingSamplesError) as caught:
        import_file(config, path, now=NOW)
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"{path}:3: host 10.0.0.1 at 2026-11-01T00:00:00Z {message}")
    assert str(caught.value).endswith("nothing imported")
    assert stored(config) == []


def test_a_conflict_with_a_measured_sample_already_stored_is_refused(config, tmp_path):
    from pinger.errors import ConflictingSamplesError
    from pinger.ingestion.import_lines import import_file

    assert import_file(config, write_lp(tmp_path, [ping(host="10.0.0.1")], "first.lp"), now=NOW) == 1
    path = write_lp(tmp_path, [ping(host="10.0.0.2"), ping(host="10.0.0.1", up="0i", rtt=None)])
    with pytest.raises(
        ConflictingSamplesError,
        match=r"in.lp:2: host 10.0.0.1 at .* conflicts with the measured "
        r"sample already stored \(pool A, up=1, rtt_ms=0.25\)",
    ):
        import_file(config, path, now=NOW)
    assert stored(config) == [(T, "A", "10.0.0.1", 1, 0.25)]


def test_the_same_file_imported_twice_stores_nothing_twice(config, tmp_path, caplog):
    from pinger.ingestion.import_lines import import_file

    lines = [ping(host=f"10.0.0.{i}", rtt=f"0.{i}", time=(T + 300 * k) * NS) for k in range(4) for i in (1, 2, 3)]
    path = write_lp(tmp_path, lines)
    assert import_file(config, path, now=NOW) == 12
    first = stored(config)
    with caplog.at_level("INFO", logger="pinger.import"):
        assert import_file(config, path, now=NOW) == 0
    assert stored(config) == first and len(first) == 12
    assert "12 ping samples from" in caplog.records[-1].getMessage()
    assert "(12 lines): 0 stored; 12 merged" in caplog.records[-1].getMessage()


def test_host_names_are_canonical_as_the_config_writes_them(config, tmp_path):
    from pinger.ingestion.import_lines import import_file

    path = write_lp(
        tmp_path,
        [
            ping(host="PC-1.Example.EDU."),
            ping(host="FD00:0::A"),
            ping(host="10.0.0.7"),
            ping(host="pc-1.example.edu", time=(T + 300) * NS),
        ],
    )
    assert import_file(config, path, now=NOW) == 4
    assert [row[2] for row in stored(config)] == ["10.0.0.7", "fd00::a", "pc-1.example.edu", "pc-1.example.edu"]


def test_hosts_not_in_the_config_are_named_once(config, tmp_path, caplog):
    from pinger.ingestion.import_lines import import_file

    path = write_lp(
        tmp_path,
        [
            ping(host=host, time=(T + 300 * k) * NS)
            for k in range(3)
            for host in ("10.0.0.1", "10.9.0.2", "10.9.0.1", r"a\ b")
        ],
    )
    with caplog.at_level("INFO", logger="pinger.import"):
        assert import_file(config, path, now=NOW) == 12
    assert [record.getMessage() for record in caplog.records][
        -1
    ] == "3 imported hosts are not in the config and will not be aggregated (e.g. 10.9.0.1)"


def test_a_malformed_last_line_spools_and_sends_nothing_to_influxdb(write_config, tmp_path, monkeypatch):
    from pinger.ingestion.import_lines import import_file
    from tests.support import influx_storage
    from tests.support.influx_standin import InfluxStandin

    monkeypatch.setenv("INFLUX_TOKEN", "s3cret-token")
    with InfluxStandin(org="pinger", token="s3cret-token", buckets=("pinger", "pinger_daily")) as standin:
        config = load_config(
            write_config(f"""
            timezone: UTC
            interval: 5m
            {influx_storage(standin.url, tmp_path / "spool.sqlite")}
            pools:
              - {{name: A, watts: 80, hosts: [10.0.0.0/24]}}
        """)
        )
        lines = [ping(host=f"10.0.0.{i}", time=(T + 300 * k) * NS) for k in range(60) for i in range(1, 201)]
        path = write_lp(tmp_path, lines + ["ping,host=10.0.0.1,pool=A up=1i,rtt_ms=-1 " + str(T * NS)])
        with pytest.raises(MalformedImportError, match=f"{path}:12001: rtt_ms must be a finite number"):
            import_file(config, path, now=NOW)  # 12,000 good samples first: more than two requests' worth
        assert standin.points(bucket="pinger") == []
        with sqlite3.connect(tmp_path / "spool.sqlite") as db:
            assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        assert import_file(config, write_lp(tmp_path, lines, "good.lp"), now=NOW) == 12_000
        assert len(standin.points(bucket="pinger")) == 12_000


def peak_python_memory(config, path: Path) -> int:
    from pinger.ingestion.import_lines import import_file

    tracemalloc.start()
    try:
        import_file(config, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(config, tmp_path, monkeypatch):
    import pinger.ingestion.import_input as reading
    import pinger.ingestion.import_lines as module

    monkeypatch.setattr(reading, "CHUNK_BYTES", 64 << 10)  # both files span many chunks
    monkeypatch.setattr(module, "BATCH_SAMPLES", 2000)  # and the store takes many batches

    def sweeps(count: int) -> list[str]:
        return [
            ping(host=f"10.0.0.{i}", rtt=f"0.{i}", time=(T + 300 * k) * NS) for k in range(count) for i in range(1, 201)
        ]

    small = peak_python_memory(config, write_lp(tmp_path, sweeps(50), "small.lp"))  # 10,000 lines
    large = peak_python_memory(config, write_lp(tmp_path, sweeps(400), "large.lp"))  # 80,000 lines
    assert large < small * 1.3 + 500_000, (small, large)


def test_progress_is_shown_over_the_bytes_read(config, tmp_path, monkeypatch):
    import pinger.ingestion.import_input as reading
    import pinger.ingestion.import_lines as module

    made = []

    class Recorder:
        def __init__(self, total, what, *args, **kwargs):
            self.total, self.what, self.done = total, what, []
            made.append(self)

        def update(self, done, detail=""):
            self.done.append(done)

    monkeypatch.setattr(module, "Progress", Recorder)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 4096)
    path = write_lp(tmp_path, [ping(host=f"10.0.0.{i}") for i in range(1, 255)] * 4)
    module.import_file(config, path, now=NOW)
    size = path.stat().st_size
    assert [(p.total, p.what) for p in made] == [(size, f"import {path.name}")]
    progress = made[0].done
    assert len(progress) > 5 and progress == sorted(progress) and progress[-1] == size


def test_ordinary_lines_skip_the_careful_parser(config, tmp_path, monkeypatch):
    from pinger.ingestion.import_lines import import_file

    calls = []
    careful = line_format.parse_line

    def counted(*args, **kwargs):
        calls.append(args)
        return careful(*args, **kwargs)

    monkeypatch.setattr(line_format, "parse_line", counted)
    import pinger.ingestion.import_lines as module

    monkeypatch.setattr(module, "parse_line", counted, raising=False)
    path = write_lp(
        tmp_path,
        [ping(host=f"10.0.0.{i}", rtt=f"0.{i % 7}", time=(T + 300 * k) * NS) for k in range(10) for i in range(1, 101)]
        + [r"ping,host=10.0.0.200,pool=Mensa\ Süd up=1i " + str(T * NS)],
    )
    assert import_file(config, path, now=NOW) == 1001
    assert len(calls) == 1  # only the line with an escape


# -- the fast path gives the careful parser's results, byte for byte --------------------------

CORPUS = [
    # ordinary
    "ping,host=10.0.3.7,pool=A101 up=1i,rtt_ms=0.25 1793574000000000000",
    "ping,pool=A101,host=10.0.3.7 up=0i 1793574000000000000",
    "ping,host=10.0.3.7,pool=A101 rtt_ms=0.25,up=1i 1793574000000000000",
    "ping,host=FD00:0:0::A,pool=A up=1i,rtt_ms=0.5 1793574000000000000",
    "ping,host=ä,pool=Ü up=1i 1793574000000000000",
    "ping,host=a\tb,pool=A up=1i 5",
    'ping,host=a,pool=A,room=3 up=1i,rtt_ms=2,extra="x" 5',
    "pool_status,pool=A online=1i,total=2i 0",
    "cpu value=1",
    "ping,host=10.0.0.1,pool=A up=1i",
    # escapes in measurement, tag keys and values, field keys
    r"ping,host=10.0.0.1,pool=Mensa\ Süd\,\ 2 up=1i 1700000000",
    r"ping,host=a\=b,pool=A up=1i 5",
    r"pi\ ng,host=a,pool=A up=1i 5",
    r"p\,ing,host=a,pool=A up=1i 5",
    r"ping,ho\ st=a,pool=A up=1i 5",
    r"ping,ho\,st=a,pool=A up=1i 5",
    r"ping,ho\=st=a,pool=A up=1i 5",
    r"ping,host=a,pool=A u\ p=1i,up=0i 5",
    r"ping,host=a,pool=A r\=tt=1,r\,tt=2 5",
    r"ping,host=a\tb,pool=A up=1i 5",
    r"ping,host=a\\b,pool=A up=1i 5",
    "ping,host=a\\",
    r"ping,host=a,pool=A up=1i 5\ ",
    # quoted string fields
    'm,t=a s="a, b c",up=1i 5',
    'm,t=a s="say \\"hi\\", ok",b=t',
    'm s="back\\\\slash" 5',
    'm s="" 5',
    'm s="a=b",t="x y" 5',
    'm s="unterminated 5',
    'm s="a" "b" 5',
    # booleans in all spellings, and not quite
    "m a=t,b=T,c=true,d=True,e=TRUE 5",
    "m a=f,b=F,c=false,d=False,e=FALSE 5",
    "m a=tRUE 5",
    "m a=yes 5",
    # integers, unsigned, floats with exponents
    "m a=5i,b=-5i,c=5u,d=0u 5",
    "m a=-5u 5",
    "m a=1.5i 5",
    "m a=1e3,b=1.5E-3,c=-2.5e+2,d=.5,e=5.,f=1_000,g=0x10 5",
    "m a=nan,b=inf,c=-inf,d=Infinity 5",
    "m a=1_0i 5",
    # timestamps
    "m a=1 -5",
    "m a=1 1.5",
    "m a=1 12a",
    "m a=1 1_000",
    "m a=1 +7",
    # comments, blank lines, CRLF, spacing
    "# a comment",
    "   # indented comment",
    "#ping,host=a,pool=A up=1i 5",
    "",
    "   ",
    "\t",
    "ping,host=a,pool=A up=1i 5\r\n",
    "ping,host=a,pool=A up=1i 5\n",
    "\r\n",
    "ping,host=a,pool=A  up=1i  5",
    " ping,host=a,pool=A up=1i 5",
    "ping,host=a,pool=A up=1i 5 ",
    "\tping,host=a,pool=A up=1i 5",
    # malformed
    "ping",
    "ping up=1i 5 6",
    "ping,host up=1i 5",
    "ping,=a up=1i 5",
    "ping,host= up=1i",
    ",host=a up=1i",
    "ping up 5",
    "ping up= 5",
    "ping =1 5",
    "ping,host=a,,pool=A up=1i 5",
    "ping,host=a,pool=A up=1i,,rtt_ms=1 5",
    "ping,host=a=b,pool=A up=1i 5",
    "ping,host=a,pool=A,host=b up=1i 5",
    "ping,host=a,pool=A up=1i,up=1i 5",
    "ping,host=a,pool=A up=2x 5",
]


def outcome(parse, line: str, precision: str = "ns") -> str:
    """A parse's result or error as text that tells 1, 1.0 and True apart."""
    try:
        return repr(parse(line, 9, precision))
    except LineProtocolError as err:
        return f"error: {err}"


@pytest.mark.parametrize("line", CORPUS)
@pytest.mark.parametrize("precision", ["ns", "s"])
def test_the_fast_parser_agrees_with_the_careful_one(line, precision):
    from pinger.line_format import parse_line_fast

    assert outcome(parse_line_fast, line, precision) == outcome(parse_line, line, precision)


def import_outcome(path: Path, fast: bool, monkeypatch, **options) -> tuple[list[str], str]:
    import pinger.ingestion.import_lines as module

    monkeypatch.setattr(module, "FAST_PATH", fast)
    monkeypatch.setattr(module, "MAX_REPORTED_ERRORS", 10_000)
    samples: list[str] = []
    error = ""
    try:
        for sample in module.iter_samples(path, options.pop("precision", "ns"), now=NOW, **options):
            samples.append(repr(tuple(sample)))
    except MalformedImportError as err:
        error = str(err)
    return samples, error


def plausible(line: str) -> str:
    """The corpus line with timestamp 5 or 1700000000 made plausible, so that more lines reach the end."""
    return line.replace(" 5", f" {T * NS}").replace(" 1700000000", f" {T * NS}")


@pytest.mark.parametrize("allow_any_time", [False, True])
def test_the_import_gives_the_same_samples_and_errors_on_both_paths(tmp_path, monkeypatch, allow_any_time):
    heads = ["ping,host=10.0.0.1,pool=A", "ping,pool=A,host=10.0.0.2", "ping,host=FD00::1,pool=A"]
    fields = [
        "up=1i,rtt_ms=0.25",
        "up=0i",
        "up=0i,rtt_ms=0.3",
        "up=1",
        "up=true,rtt_ms=1i",
        "up=2i",
        "up=1i,rtt_ms=nan",
        "up=1i,rtt_ms=-1",
        "up=1i,up=0i",
        "rtt_ms=1",
    ]
    times = [
        str(T * NS),
        str(T * NS),
        str((T + 300) * NS),
        "5",
        "",
        "x",
        str(4_102_444_800 * NS),
        f" {T * NS}",
        f"{T * NS} ",
        f"{T * NS} 7",
        "-1",
        f"+{T * NS}",
        f"{T * NS}\t",
        f"{T:_}000000000",
    ]
    lines = [line.rstrip("\r\n") for line in CORPUS] + [plausible(line).rstrip("\r\n") for line in CORPUS]
    lines += [f"{head} {field} {time}" for time in times for field in fields for head in heads]
    lines += lines[::-1]
    path = tmp_path / "corpus.lp"
    path.write_bytes("\n".join(lines).encode() + b"\n")
    fast = import_outcome(path, True, monkeypatch, allow_any_time=allow_any_time)
    careful = import_outcome(path, False, monkeypatch, allow_any_time=allow_any_time)
    assert fast == careful
    assert len(fast[0]) > 100 and len(fast[1].splitlines()) > 100  # both samples and errors were compared
    for precision in ("s", "ms"):
        assert import_outcome(path, True, monkeypatch, precision=precision) == import_outcome(
            path, False, monkeypatch, precision=precision
        )


def test_iter_samples_is_lazy(tmp_path, monkeypatch):
    import pinger.ingestion.import_input as reading
    import pinger.ingestion.import_lines as module

    monkeypatch.setattr(reading, "CHUNK_BYTES", 4096)
    path = write_lp(tmp_path, [ping(time=(T + k) * NS) for k in range(10_000)])
    samples: Iterator = module.iter_samples(path, "ns", now=NOW)
    first = next(samples)
    assert tuple(first) == (T, "A", "10.0.0.1", 1, 0.25)
    samples.close()


# -- pipes and compressed files (issue 20 item 14) ---------------------------------------------


def test_the_command_line_imports_from_standard_input(write_config, tmp_path):
    import subprocess

    from tests.support import ROOT, pinger_command

    config = write_config(f"""
        timezone: UTC
        storage: {{path: {tmp_path / "store.sqlite"}}}
        pools:
          - {{name: A, watts: 80, hosts: [10.0.0.0/24]}}
    """)
    text = "\n".join(ping(host=f"10.0.0.{i}") for i in range(1, 4)) + "\n"
    result = subprocess.run(
        pinger_command("import", "-c", str(config), "/dev/stdin"), input=text, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "imported 3 ping samples from /dev/stdin (3 lines): 3 stored" in result.stderr
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        assert db.execute("SELECT count(*) FROM ping").fetchone() == (3,)


def test_a_named_pipe_of_a_gzip_stream_is_read_as_it_comes(config, tmp_path):
    # `pinger import <(zcat file.gz)` hands a pipe that cannot seek; here the pipe even carries the gzip bytes.
    import gzip
    import os
    import threading

    from pinger.ingestion.import_lines import import_file

    lines = [ping(host=f"10.0.0.{i}", time=(T + 300 * k) * NS) for k in range(200) for i in range(1, 11)]
    fifo = tmp_path / "samples.lp.gz"
    os.mkfifo(fifo)
    payload = gzip.compress(("\n".join(lines) + "\n").encode())

    def feed() -> None:
        with fifo.open("wb") as pipe:
            for start in range(0, len(payload), 1000):  # in small pieces, as a pipe delivers
                pipe.write(payload[start : start + 1000])

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        assert import_file(config, fifo, now=NOW) == 2000
    finally:
        writer.join()
    assert len(stored(config)) == 2000


def test_a_gzip_file_is_read_directly_and_a_damaged_one_is_one_sentence(config, tmp_path):
    import gzip

    from pinger.errors import UsageError
    from pinger.ingestion.import_lines import import_file

    path = tmp_path / "samples.lp.gz"
    text = "\n".join(ping(host=f"10.0.0.{i}") for i in range(1, 6)) + "\n"
    path.write_bytes(gzip.compress(text.encode()))
    assert import_file(config, path, now=NOW) == 5
    damaged = tmp_path / "damaged.lp.gz"
    damaged.write_bytes(gzip.compress((text * 2000).encode())[:-40])  # cut short
    with pytest.raises(UsageError, match=r"damaged.lp.gz: not a readable gzip file \("):
        import_file(config, damaged, now=NOW)
    assert len(stored(config)) == 5  # the damaged file changed nothing
