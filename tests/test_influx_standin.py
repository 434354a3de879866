"""The InfluxDB 2 stand-in answers the real influxdb-client as InfluxDB OSS 2.x would, for what Pinger uses."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import urllib3
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS, WriteOptions
from influxdb_client.rest import ApiException

from pinger import schema
from tests.support.influx_standin import InfluxStandin, LineProtocolError, Unsigned, parse_line_protocol
from tests.support.influx_standin import Point as StoredPoint
from tests.support.processes import wait_until

ORG = "pinger"
TOKEN = "s3cret-token"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, in seconds


@pytest.fixture
def influx():
    with InfluxStandin(org=ORG, token=TOKEN, buckets={"pinger", "pinger_daily"}) as standin:
        yield standin


@pytest.fixture
def client(influx):
    with InfluxDBClient(url=influx.url, token=TOKEN, org=ORG) as influx_client:
        yield influx_client


def write(influx_client, records, bucket="pinger", precision=WritePrecision.S):
    with influx_client.write_api(write_options=SYNCHRONOUS) as write_api:
        write_api.write(bucket=bucket, org=ORG, record=records, write_precision=precision)


def ping_sample(pool, host, up, rtt_ms=None, t=T0):
    point = Point(schema.PING.name).tag("pool", pool).tag("host", host).field("up", up).time(t, WritePrecision.S)
    return point.field("rtt_ms", rtt_ms) if rtt_ms is not None else point


def post_raw(influx, body: bytes, bucket="pinger", precision="s", headers=None):
    """POST to /api/v2/write with urllib; returns (status, parsed JSON body or None)."""
    request = urllib.request.Request(
        f"{influx.url}/api/v2/write?org={ORG}&bucket={bucket}&precision={precision}",
        data=body,
        method="POST",
        headers={"Authorization": f"Token {TOKEN}", "Content-Type": "text/plain; charset=utf-8", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def get_raw(influx, path, token=TOKEN):
    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(f"{influx.url}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def writes(influx):
    return [r for r in influx.requests if r.path == "/api/v2/write"]


def wait_for(condition):
    wait_until(condition, "the points' arrival")


# -- writes through the real client ---------------------------------------------------------


def test_synchronous_write_arrives_with_types_and_escaped_tags(influx, client):
    write(
        client,
        [
            ping_sample("Mensa Süd", "pc 1,a=b", 1, rtt_ms=0.25),
            ping_sample("Mensa Süd", "pc-2", 0),
            ping_sample("A101", "10.1.1.10", 1, rtt_ms=2.0),  # the client sends a whole float as "2": still a float
            Point(schema.POOL_STATUS.name)
            .tag("pool", "Mensa Süd")
            .field("online", 1)
            .field("total", 2)
            .time(T0, WritePrecision.S),
        ],
    )

    t0_ns = T0 * 1_000_000_000
    assert influx.points(measurement=schema.PING.name) == [
        StoredPoint("ping", {"host": "10.1.1.10", "pool": "A101"}, {"up": 1, "rtt_ms": 2.0}, t0_ns, "pinger"),
        StoredPoint("ping", {"host": "pc 1,a=b", "pool": "Mensa Süd"}, {"up": 1, "rtt_ms": 0.25}, t0_ns, "pinger"),
        StoredPoint("ping", {"host": "pc-2", "pool": "Mensa Süd"}, {"up": 0}, t0_ns, "pinger"),
    ]
    whole_float = influx.points(measurement=schema.PING.name)[0]
    assert type(whole_float.fields["rtt_ms"]) is float and type(whole_float.fields["up"]) is int
    [status] = influx.points(measurement=schema.POOL_STATUS.name)
    assert status.tags == {"pool": "Mensa Süd"} and status.fields == {"online": 1, "total": 2}
    assert [r.status for r in writes(influx)] == [204]


def test_every_field_type_and_precision_round_trips(influx, client):
    typed = (
        Point("collector")
        .tag("collector", "lab 1")
        .field("hosts", 40)
        .field("sweep_s", 1.5)
        .field("flag", True)
        .field("note", 'say "hi" \\ bye')
        .field("count", 7)
        .time(T0 * 1000, WritePrecision.MS)
    )
    unsigned = "collector,collector=lab\\ 1 spool_backlog=3u"  # the client has no unsigned Point field
    write(client, [typed, unsigned + f" {T0 * 1000}"], precision=WritePrecision.MS)
    write(
        client,
        Point("ping").tag("pool", "P").field("up", 1).time(T0 * 10**6 + 1, WritePrecision.US),
        precision=WritePrecision.US,
    )
    write(
        client,
        Point("ping").tag("pool", "P").field("up", 0).time(T0 * 10**9 + 2, WritePrecision.NS),
        precision=WritePrecision.NS,
    )

    [collector] = influx.points(measurement="collector")
    assert collector.fields == {
        "hosts": 40,
        "sweep_s": 1.5,
        "flag": True,
        "note": 'say "hi" \\ bye',
        "count": 7,
        "spool_backlog": 3,
    }
    assert isinstance(collector.fields["spool_backlog"], Unsigned)
    assert collector.time_ns == T0 * 1_000_000_000
    assert [p.time_ns for p in influx.points(measurement="ping")] == [T0 * 10**9 + 2, T0 * 10**9 + 1000]
    assert [r.query["precision"] for r in writes(influx)] == ["ms", "us", "ns"]


def test_gzip_enabled_client_writes(influx):
    with InfluxDBClient(url=influx.url, token=TOKEN, org=ORG, enable_gzip=True) as gzip_client:
        write(gzip_client, [ping_sample("Mensa Süd", "pc 1", 1, rtt_ms=0.5)])

    [request] = writes(influx)
    assert request.headers["Content-Encoding"] == "gzip" and request.status == 204
    [point] = influx.points()
    assert point.tags == {"pool": "Mensa Süd", "host": "pc 1"} and point.fields == {"up": 1, "rtt_ms": 0.5}


def test_same_series_and_time_written_twice_is_one_point_with_merged_fields(influx, client):
    write(client, ping_sample("A101", "pc-1", 0))
    write(client, ping_sample("A101", "pc-1", 1, rtt_ms=3.5))
    write(client, Point("ping").tag("host", "pc-1").tag("pool", "A101").field("rtt_ms", 4.0).time(T0, WritePrecision.S))

    assert influx.points() == [
        StoredPoint("ping", {"pool": "A101", "host": "pc-1"}, {"up": 1, "rtt_ms": 4.0}, T0 * 10**9, "pinger")
    ]
    write(client, ping_sample("A101", "pc-1", 1), bucket="pinger_daily")
    assert len(influx.points()) == 2, "the same series and time in another bucket is another point"


def test_field_type_conflict_drops_only_that_point_with_422(influx, client):
    write(client, ping_sample("A101", "pc-1", 1))  # up is an integer from now on
    with pytest.raises(ApiException) as raised:
        write(
            client,
            [
                ping_sample("A101", "pc-2", 1, t=T0 + 300),
                Point("ping").tag("pool", "A101").tag("host", "pc-3").field("up", 1.0).time(T0 + 300, WritePrecision.S),
            ],
        )

    assert raised.value.status == 422
    assert raised.value.message == (
        'failure writing points to database: partial write: field type conflict: input field "up" on '
        'measurement "ping" is type float, already exists as type integer dropped=1'
    )
    assert [p.tags["host"] for p in influx.points()] == ["pc-1", "pc-2"]


# -- errors the client sees -----------------------------------------------------------------


def test_wrong_token_is_401_and_stores_nothing(influx):
    with InfluxDBClient(url=influx.url, token="wrong", org=ORG) as bad_client:
        with pytest.raises(ApiException) as raised:
            write(bad_client, ping_sample("A101", "pc-1", 1))

    assert raised.value.status == 401
    assert json.loads(raised.value.body) == {"code": "unauthorized", "message": "unauthorized access"}
    assert influx.points() == []


def test_rejected_and_changed_token(influx, client):
    influx.reject_token()
    with pytest.raises(ApiException) as raised:
        write(client, ping_sample("A101", "pc-1", 1))
    assert raised.value.status == 401

    influx.set_token("rotated")
    with InfluxDBClient(url=influx.url, token="rotated", org=ORG) as rotated_client:
        write(rotated_client, ping_sample("A101", "pc-1", 1))
    assert len(influx.points()) == 1


def test_unknown_bucket_and_unknown_org_are_404(influx, client):
    with pytest.raises(ApiException) as raised:
        write(client, ping_sample("A101", "pc-1", 1), bucket="nope")
    assert raised.value.status == 404
    assert json.loads(raised.value.body) == {"code": "not found", "message": 'bucket "nope" not found'}

    with pytest.raises(ApiException) as raised:
        with client.write_api(write_options=SYNCHRONOUS) as write_api:
            write_api.write(bucket="pinger", org="elsewhere", record=ping_sample("A101", "pc-1", 1))
    assert raised.value.status == 404
    assert raised.value.message == 'organization name "elsewhere" not found'

    influx.add_bucket("nope")
    write(client, ping_sample("A101", "pc-1", 1), bucket="nope")
    assert [p.bucket for p in influx.points()] == ["nope"]


def test_injected_503_with_retry_after_reaches_the_synchronous_client(influx, client):
    influx.fail_next(1, 503, retry_after=7)

    # SYNCHRONOUS writes are not retried by influxdb-client (retries=False): the 503 surfaces at once.
    with pytest.raises(ApiException) as raised:
        write(client, ping_sample("A101", "pc-1", 1))
    assert raised.value.status == 503 and raised.value.retry_after == "7"
    assert json.loads(raised.value.body)["code"] == "unavailable"
    assert influx.points() == []

    write(client, ping_sample("A101", "pc-1", 1))
    assert len(influx.points()) == 1
    assert [r.status for r in writes(influx)] == [503, 204]


def test_injected_failures_queue_up_in_order(influx, client):
    influx.fail_next(2, 429, retry_after="1")
    influx.fail_next(1, 500, body={"code": "internal error", "message": "disk full"})
    influx.fail_next(1, 413, body="too big")

    outcomes = []
    for _ in range(5):
        try:
            write(client, ping_sample("A101", "pc-1", 1))
            outcomes.append((204, None))
        except ApiException as error:
            outcomes.append((error.status, error.message))
    assert outcomes == [
        (429, "injected failure: HTTP 429"),
        (429, "injected failure: HTTP 429"),
        (500, "disk full"),
        (413, "too big"),
        (204, None),
    ]
    assert len(influx.points()) == 1


def test_batching_client_retries_and_honours_retry_after(influx, client):
    influx.fail_next(1, 503, retry_after=1)
    options = WriteOptions(batch_size=1, flush_interval=50, retry_interval=100, max_retries=3, jitter_interval=0)
    with client.write_api(write_options=options) as write_api:
        write_api.write(
            bucket="pinger", org=ORG, record=ping_sample("A101", "pc-1", 1), write_precision=WritePrecision.S
        )
        wait_for(lambda: influx.points())

    first, second = writes(influx)
    assert (first.status, second.status) == (503, 204)
    assert second.arrived_at - first.arrived_at >= 1.0
    assert len(influx.points()) == 1


def test_body_limit_answers_413_after_gunzip(influx):
    influx.max_body_bytes = 200
    samples = [ping_sample("A101", f"pc-{n:02}", 1, rtt_ms=0.5) for n in range(10)]
    with InfluxDBClient(url=influx.url, token=TOKEN, org=ORG, enable_gzip=True) as gzip_client:
        with pytest.raises(ApiException) as raised:
            write(gzip_client, samples)
        assert raised.value.status == 413
        assert json.loads(raised.value.body) == {
            "code": "request too large",
            "message": "unable to read data: points batch is too large",
        }
        write(gzip_client, samples[:2])
    assert len(influx.points()) == 2


def test_slow_server_times_the_client_out_and_stores_when_it_answers(influx):
    influx.set_delay(0.6)
    with InfluxDBClient(url=influx.url, token=TOKEN, org=ORG, timeout=150) as impatient:
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            write(impatient, ping_sample("A101", "pc-1", 1))
    assert influx.points() == []
    wait_for(lambda: influx.points())  # the write was not lost, only late: retrying must not duplicate
    influx.set_delay(0)


# -- outage and recovery --------------------------------------------------------------------


def test_stop_refuses_connections_and_start_recovers_on_the_same_port(influx, client):
    write(client, ping_sample("A101", "pc-1", 1))  # leaves a keep-alive connection in the client's pool
    url = influx.url

    influx.stop()
    assert not influx.running
    with pytest.raises(urllib3.exceptions.NewConnectionError) as raised:
        write(client, ping_sample("A101", "pc-1", 0, t=T0 + 300))
    assert isinstance(raised.value.__context__, ConnectionRefusedError)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", influx.port), timeout=2).close()

    influx.start()
    assert influx.url == url
    write(client, ping_sample("A101", "pc-1", 0, t=T0 + 300))
    assert [p.fields["up"] for p in influx.points()] == [1, 0], "points survive the outage, as on disk"


def test_stop_while_a_write_is_held_drops_the_connection_and_stores_nothing(influx):
    influx.set_delay(5)
    with InfluxDBClient(url=influx.url, token=TOKEN, org=ORG) as waiting_client:
        started = time.monotonic()
        stopper = threading.Timer(0.3, influx.stop)
        stopper.start()
        with pytest.raises(urllib3.exceptions.ProtocolError):
            write(waiting_client, ping_sample("A101", "pc-1", 1))
        stopper.join()
    assert time.monotonic() - started < 3
    assert influx.points() == [] and writes(influx)[0].status is None


# -- raw HTTP: strict line protocol, health, ping, buckets ------------------------------------


def test_malformed_line_protocol_is_400_naming_the_line_and_nothing_is_stored(influx):
    body = b"ping,pool=A101,host=pc-1 up=1i 1767225600\nping,pool=A101,host=pc-2 up=1i,rtt_ms=oops 1767225600\n"
    status, error = post_raw(influx, body)

    assert status == 400 and error["code"] == "invalid"
    assert error["message"] == (
        "unable to parse 'ping,pool=A101,host=pc-2 up=1i,rtt_ms=oops 1767225600': invalid boolean (line 2)"
    )
    assert influx.points() == []


def test_raw_gzip_body_and_bad_gzip(influx):
    body = gzip.compress("ping,pool=Mensa\\ Süd,host=pc-1 up=0i 1767225600\n".encode())
    assert post_raw(influx, body, headers={"Content-Encoding": "gzip"}) == (204, None)
    assert influx.points()[0].tags["pool"] == "Mensa Süd"

    status, error = post_raw(influx, b"not gzip", headers={"Content-Encoding": "gzip"})
    assert status == 400 and error["code"] == "invalid"


def test_write_parameter_errors(influx):
    assert post_raw(influx, b"m v=1", precision="m") == (
        400,
        {"code": "invalid", "message": "invalid precision; valid precision units are ns, us, ms, and s"},
    )
    assert post_raw(influx, b"") == (400, {"code": "invalid", "message": "writing requires points"})
    request = urllib.request.Request(
        f"{influx.url}/api/v2/write?bucket=pinger",
        data=b"m v=1",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 400
    assert json.loads(raised.value.read())["message"] == "Please provide either orgID or org"


def test_health_ping_and_ready(influx, client):
    assert client.ping() is True
    assert client.version() == "v2.7.11"
    status, headers, body = get_raw(influx, "/ping", token=None)
    assert status == 204 and headers["X-Influxdb-Version"] == "v2.7.11" and body == b""
    status, _, body = get_raw(influx, "/health", token=None)
    assert status == 200 and json.loads(body)["status"] == "pass" and json.loads(body)["name"] == "influxdb"
    assert client.ready().status == "ready"

    influx.set_healthy(False)
    status, _, body = get_raw(influx, "/health", token=None)
    assert status == 503 and json.loads(body)["status"] == "fail"
    with pytest.warns(DeprecationWarning):
        assert client.health().status == "fail"


def test_buckets_lookup(influx, client):
    buckets_api = client.buckets_api()
    found = buckets_api.find_bucket_by_name("pinger_daily")
    assert found.name == "pinger_daily" and found.org_id == influx.org_id
    assert buckets_api.find_bucket_by_name("missing") is None
    assert sorted(b.name for b in buckets_api.find_buckets(org=ORG).buckets) == ["pinger", "pinger_daily"]

    status, _, body = get_raw(influx, "/api/v2/buckets?name=pinger", token=None)
    assert status == 401 and json.loads(body)["code"] == "unauthorized"
    status, _, body = get_raw(influx, "/api/v2/buckets?name=pinger&org=other")
    assert status == 404 and json.loads(body)["message"] == 'organization name "other" not found'
    status, _, body = get_raw(influx, "/api/v2/nothing")
    assert status == 404 and json.loads(body) == {"code": "not found", "message": "path not found"}


def test_request_log_records_method_path_query_status_and_arrival(influx, client):
    write(client, ping_sample("A101", "pc-1", 1))
    get_raw(influx, "/health")

    first, second = influx.requests
    assert (first.method, first.path, first.status) == ("POST", "/api/v2/write", 204)
    assert first.query == {"org": ORG, "bucket": "pinger", "precision": "s"}
    assert first.body == b"ping,host=pc-1,pool=A101 up=1i 1767225600"
    assert (second.method, second.path, second.status) == ("GET", "/health", 200)
    assert first.arrived_at <= second.arrived_at


def test_binds_only_to_loopback(influx):
    assert influx.url.startswith("http://127.0.0.1:")
    assert influx._server.server_address[0] == "127.0.0.1"


# -- the parser on its own ------------------------------------------------------------------


def test_parser_reads_escapes_types_comments_and_crlf():
    text = (
        "# a comment\r\n"
        "\r\n"
        "  my\\ meas\\,ure,tag\\ key=va\\=l\\,ue\\ x,z=a\\\\b "
        'f\\=k=-1.5e3,i=-7i,u=0u,s="a\\"b\\\\c\\d",b=FALSE 12\r\n'
        "m,emoji=🍭 v=.5\n"
    )
    first, second = parse_line_protocol(text, "s", now_ns=123_456_789_999)

    assert first == StoredPoint(
        "my meas,ure",
        {"tag key": "va=l,ue x", "z": "a\\\\b"},
        {"f=k": -1500.0, "i": -7, "u": 0, "s": 'a"b\\c\\d', "b": False},
        12_000_000_000,
    )
    assert isinstance(first.fields["u"], Unsigned) and type(first.fields["i"]) is int
    assert second.tags == {"emoji": "🍭"} and second.fields == {"v": 0.5}
    assert second.time_ns == 123_000_000_000, "a missing timestamp is now, cut to the precision"


@pytest.mark.parametrize(
    "line, reason",
    [
        ("ping", "missing fields"),
        ("ping,pool=A101", "missing fields"),
        ("ping up=1i,", "missing field key"),
        (",pool=A101 up=1i", "missing measurement"),
        ("ping,=A101 up=1i", "missing tag key"),
        ("ping,pool= up=1i", "missing tag value"),
        ("ping,pool up=1i", "missing tag value"),
        ("ping,pool=a=b up=1i", "invalid tag format"),
        ("ping,pool=A,pool=B up=1i", "duplicate tags"),
        ("ping up", "invalid field format"),
        ("ping up=", "missing field value"),
        ("ping up=1i,up=2i", "duplicate field key 'up'"),
        ('ping note="open', "unbalanced quotes"),
        ("ping up=yes", "invalid boolean"),
        ("ping up=\u0663i", "invalid boolean"),  # an Arabic-Indic digit is no number in line protocol
        ("ping up=1.5i", "invalid number"),
        ("ping up=NaN", "invalid number"),
        ("ping up=1e999", "invalid float"),
        ("ping up=-1u", "invalid number"),
        ("ping up=9223372036854775808i", "unable to parse integer 9223372036854775808: value out of range"),
        ("ping up=1i 12x", "bad timestamp"),
        ("ping up=1i 12 13", "point is invalid"),
        ("ping up=1i 9223372036854775807", "time outside range 9223372036854775807000000000"),
        ("_ping up=1i", "name '_ping' starts with '_', which is reserved for InfluxDB"),
    ],
)
def test_parser_rejects_malformed_lines(line, reason):
    with pytest.raises(LineProtocolError) as raised:
        parse_line_protocol(f"ok v=1i 1\n\n{line}\nok v=2i 2", "s")
    assert (raised.value.line_number, raised.value.reason, raised.value.line) == (3, reason, line)
    assert str(raised.value) == f"unable to parse '{line}': {reason} (line 3)"


def test_parser_rejects_unknown_precision():
    with pytest.raises(ValueError):
        parse_line_protocol("m v=1", "m")
