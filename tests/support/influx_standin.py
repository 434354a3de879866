"""An in-process stand-in for an InfluxDB 2 server: it keeps line-protocol writes in memory and fails on demand.

It serves what Pinger uses of the InfluxDB OSS 2.x HTTP API (POST /api/v2/write, GET /api/v2/buckets,
/health, /ping, /ready) on 127.0.0.1 only. Status codes, error bodies ({"code": ..., "message": ...})
and messages follow the server's source (http/write_handler.go, models/points.go) and the v2 API docs.
Where the stand-in is deliberately stricter than the server, parse_line_protocol's docstring says so.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import socket
import socketserver
import sys
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
INFLUXDB_VERSION = "v2.7.11"

PRECISION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
MIN_TIME_NS = -9_223_372_036_854_775_806
MAX_TIME_NS = 9_223_372_036_854_775_806

# InfluxDB's error codes (kit/transport/http/error_handler.go) by HTTP status.
ERROR_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    422: "unprocessable entity",
    429: "too many requests",
    500: "internal error",
    501: "not implemented",
    503: "unavailable",
}


class Unsigned(int):
    """A field value written with the `u` suffix; InfluxDB keeps unsigned and signed integers apart."""

    def __repr__(self) -> str:
        return f"Unsigned({int(self)})"


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | bool | str]
    time_ns: int
    bucket: str | None = None


class LineProtocolError(ValueError):
    def __init__(self, line_number: int, message: str, line: str = ""):
        self.line_number = line_number
        self.reason = message
        self.line = line
        super().__init__(f"unable to parse '{line}': {message} (line {line_number})")


class _Malformed(Exception):
    """A reason why one line is not line protocol; parse_line_protocol adds the line and its number."""


_INTEGER = re.compile(r"-?[0-9]+i")
_UNSIGNED = re.compile(r"[0-9]+u")
_FLOAT = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TIMESTAMP = re.compile(r"-?[0-9]+")
_UNQUOTED_VALUE = re.compile(r"[^, ]*")
_BOOLEANS = {
    "t": True,
    "T": True,
    "true": True,
    "True": True,
    "TRUE": True,
    "f": False,
    "F": False,
    "false": False,
    "False": False,
    "FALSE": False,
}
_STRING_ESCAPE = re.compile(r'\\([\\"])')


def parse_line_protocol(text: str, precision: str = "ns", now_ns: int | None = None) -> list[Point]:
    """Parse InfluxDB line protocol into points; the first malformed line raises LineProtocolError.

    Follows InfluxDB 2's parser: `\\,` `\\ ` (and `\\=` in keys and tag values) are the only escapes
    outside strings, a character after a backslash never delimits, strings unescape `\\"` and `\\\\`,
    integers end in `i`, unsigned integers in `u`, other numbers are floats, booleans are t/true/True/TRUE
    (f/...), blank lines and `#` comments are skipped, a missing timestamp means now (cut to precision).
    Stricter than the server: a raw newline inside a string field, a field key repeated within one line,
    and names starting with `_` (reserved, as the line protocol docs say) are errors.
    """
    if precision not in PRECISION_NS:
        raise ValueError(f"invalid precision {precision!r}; valid precision units are ns, us, ms, and s")
    points = []
    for line_number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r").lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        try:
            points.append(_parse_line(line, precision, now_ns))
        except _Malformed as problem:
            raise LineProtocolError(line_number, str(problem), line) from None
    return points


def _parse_line(line: str, precision: str, now_ns: int | None) -> Point:
    if line[0] == ",":
        raise _Malformed("missing measurement")
    end = _find_unescaped(line, 1, ", ")
    if end == len(line):
        raise _Malformed("missing fields")
    measurement = _unescape(line[:end], ", ")
    tags, pos = _parse_tags(line, end)
    fields, pos = _parse_fields(line, pos)
    time_ns = _parse_timestamp(line, pos, precision, now_ns)
    for name in (measurement, *tags, *fields):
        if name.startswith("_"):
            raise _Malformed(f"name {name!r} starts with '_', which is reserved for InfluxDB")
    return Point(measurement, tags, fields, time_ns)


def _find_unescaped(line: str, pos: int, stops: str) -> int:
    """Index of the first character in stops not preceded by a backslash, or len(line)."""
    for index in range(pos, len(line)):
        if line[index] in stops and not (index > 0 and line[index - 1] == "\\"):
            return index
    return len(line)


def _unescape(name: str, escapable: str) -> str:
    for character in escapable:
        name = name.replace("\\" + character, character)
    return name


def _parse_tags(line: str, pos: int) -> tuple[dict[str, str], int]:
    tags: dict[str, str] = {}
    while line[pos] == ",":
        key_start = pos + 1
        if key_start >= len(line) or line[key_start] in " ,=":
            raise _Malformed("missing tag key")
        key_end = _find_unescaped(line, key_start + 1, "= ,")
        if key_end == len(line) or line[key_end] != "=":
            raise _Malformed("missing tag value")
        value_start = key_end + 1
        if value_start >= len(line) or line[value_start] in ", =":
            raise _Malformed("missing tag value")
        value_end = _find_unescaped(line, value_start + 1, "=, ")
        if value_end == len(line):
            raise _Malformed("missing fields")
        if line[value_end] == "=":
            raise _Malformed("invalid tag format")
        key = _unescape(line[key_start:key_end], ", =")
        if key in tags:
            raise _Malformed("duplicate tags")
        tags[key] = _unescape(line[value_start:value_end], ", =")
        pos = value_end
    return tags, pos


def _parse_fields(line: str, pos: int) -> tuple[dict[str, float | int | bool | str], int]:
    pos = _skip_spaces(line, pos)
    if pos >= len(line):
        raise _Malformed("missing fields")
    fields: dict[str, float | int | bool | str] = {}
    while True:
        key_end = _find_unescaped(line, pos, "=, ")
        if key_end == pos:
            raise _Malformed("missing field key")
        if key_end == len(line) or line[key_end] != "=":
            raise _Malformed("invalid field format")
        key = _unescape(line[pos:key_end], ", =")
        value_start = key_end + 1
        if value_start >= len(line) or line[value_start] in ", ":
            raise _Malformed("missing field value")
        value, pos = _parse_field_value(line, value_start)
        if key in fields:
            raise _Malformed(f"duplicate field key {key!r}")
        fields[key] = value
        if pos == len(line) or line[pos] == " ":
            return fields, pos
        pos += 1  # the comma before the next field


def _parse_field_value(line: str, start: int) -> tuple[float | int | bool | str, int]:
    if line[start] == '"':
        return _parse_string(line, start)
    end = _UNQUOTED_VALUE.match(line, start).end()
    token = line[start:end]
    if token[0] in "0123456789.-Nn":
        return _parse_number(token), end
    if token not in _BOOLEANS:
        raise _Malformed("invalid boolean")
    return _BOOLEANS[token], end


def _parse_string(line: str, start: int) -> tuple[str, int]:
    index = start + 1
    while index < len(line):
        if line[index] == "\\" and index + 1 < len(line):
            index += 2
            continue
        if line[index] == '"':
            after = index + 1
            if after < len(line) and line[after] not in ", ":
                raise _Malformed("invalid field format")
            return _STRING_ESCAPE.sub(r"\1", line[start + 1 : index]), after
        index += 1
    raise _Malformed("unbalanced quotes")


def _parse_number(token: str) -> float | int:
    if _INTEGER.fullmatch(token):
        value = int(token[:-1])
        if not -(2**63) <= value < 2**63:
            raise _Malformed(f"unable to parse integer {token[:-1]}: value out of range")
        return value
    if _UNSIGNED.fullmatch(token):
        value = int(token[:-1])
        if value >= 2**64:
            raise _Malformed(f"unable to parse unsigned {token[:-1]}: value out of range")
        return Unsigned(value)
    if _FLOAT.fullmatch(token):
        value = float(token)
        if not math.isfinite(value):
            raise _Malformed("invalid float")
        return value
    raise _Malformed("invalid number")


def _parse_timestamp(line: str, pos: int, precision: str, now_ns: int | None) -> int:
    multiplier = PRECISION_NS[precision]
    pos = _skip_spaces(line, pos)
    if pos == len(line):
        now = time.time_ns() if now_ns is None else now_ns
        return now - now % multiplier
    end = line.find(" ", pos)
    end = len(line) if end == -1 else end
    token = line[pos:end]
    if not _TIMESTAMP.fullmatch(token):
        raise _Malformed("bad timestamp")
    if line[end:].strip(" "):
        raise _Malformed("point is invalid")
    time_ns = int(token) * multiplier
    if not MIN_TIME_NS <= time_ns <= MAX_TIME_NS:
        raise _Malformed(f"time outside range {time_ns}")
    return time_ns


def _skip_spaces(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] == " ":
        pos += 1
    return pos


def _type_name(value: float | int | bool | str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Unsigned):
        return "unsigned"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string"


def flux_runs(samples: list[tuple[int, int]], threshold: int) -> list[tuple[int, int, int | None]]:
    """One table of the runs query (pinger.store.flux.pool_runs_flux), step by step as Flux computes it, over
    one host's samples (time, up) in time order: (time, up, gap) for each row the query keeps.

    Times and ``threshold`` in one unit (nanoseconds over HTTP). Follows the query's own steps, not
    pinger.store.influx_runs: map copies ``_value`` to ``up`` and ``_time`` to ``gap`` and ``newer``;
    difference(columns: ["_value", "gap"], keepFirst: true) turns them into the change from the row before,
    null on the first row (flux stdlib/universe/difference.go); the reverse sort and the second difference
    make ``newer`` null on the newest row only; filter keeps a row with a null ``gap`` or ``newer``, a
    ``_value`` other than 0 or a ``gap`` above the threshold.
    """
    rows = [{"_time": t, "_value": v, "up": v, "gap": t, "newer": t} for t, v in samples]
    _difference(rows, ("_value", "gap"))
    rows.reverse()  # sort(columns: ["_time"], desc: true)
    _difference(rows, ("newer",))
    rows.reverse()  # sort(columns: ["_time"])
    return [
        (row["_time"], row["up"], row["gap"])
        for row in rows
        if row["gap"] is None or row["newer"] is None or row["_value"] != 0 or row["gap"] > threshold
    ]


def _difference(rows: list[dict], columns: tuple[str, ...]) -> None:
    """Flux's difference(columns: ..., keepFirst: true) in place: each value minus the row before's, null first."""
    before = None
    for row in rows:
        current = {name: row[name] for name in columns}
        for name in columns:
            row[name] = None if before is None else current[name] - before[name]
        before = current


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    arrived_at: float  # time.monotonic() when the request line was read
    status: int | None = None  # None while unanswered, and for good when stop() cut the request off
    body: bytes = b""  # as received: still gzipped when sent gzipped


Response = tuple[int, dict[str, str], bytes]


def _rfc3339_ns(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) * 10**9


def _annotated_csv(columns: list[tuple[str, str, bool]], rows: list[tuple[int, dict]]) -> bytes:
    """Flux's annotated CSV: columns are (name, datatype, in group key); rows are (table, values)."""
    if not rows:
        return b"\r\n"
    header = [("result", "string", False), ("table", "long", False), *columns]
    lines = [
        "#datatype," + ",".join(kind for _, kind, _ in header),
        "#group," + ",".join("true" if grouped else "false" for _, _, grouped in header),
        "#default,_result" + "," * (len(header) - 1),
        "," + ",".join(name for name, _, _ in header),
    ]
    for table, values in rows:
        cells = []
        for name, kind, _ in columns:
            value = values.get(name)
            if value is None:
                cells.append("")
            elif kind == "dateTime:RFC3339":
                cells.append(datetime.fromtimestamp(value // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            elif isinstance(value, str) and any(c in value for c in ',"\n'):
                cells.append('"' + value.replace('"', '""') + '"')
            else:
                cells.append(str(value))
        lines.append(f",,{table}," + ",".join(cells))
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _json_response(status: int, document: dict, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(document).encode()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    code = ERROR_CODES.get(status, "internal error")
    return _json_response(
        status, {"code": code, "message": message}, {"X-Platform-Error-Code": code, **(headers or {})}
    )


class InfluxStandin:
    """An InfluxDB 2 HTTP API on 127.0.0.1, started on construction; stop() and start() simulate an outage.

    Stored points survive stop()/start(), as on a real server's disk.
    """

    def __init__(
        self,
        org: str = "pinger",
        token: str | None = "test-token",
        buckets=("pinger", "pinger_daily"),
        *,
        port: int = 0,
        max_body_bytes: int | None = None,
    ):
        self.org = org
        self.org_id = f"{zlib.crc32(org.encode()):08x}{zlib.crc32(org.encode()[::-1]):08x}"
        self.max_body_bytes = max_body_bytes  # the write handler's batch size limit, counted after gunzip
        self._lock = threading.Lock()
        self._token = token
        self._buckets = set(buckets)
        self._points: dict[tuple, Point] = {}
        self._field_types: dict[tuple[str, str, str], str] = {}
        self._requests: list[RequestRecord] = []
        self._failures: deque[Response] = deque()
        self._delay = 0.0
        self._healthy = True
        self._started_at = datetime.now(UTC)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle_lock = threading.Lock()
        self.start()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> InfluxStandin:
        """Listen again, on the same port as before (the first start picks a free one when port=0)."""
        with self._lifecycle_lock:
            if self._server is None:
                server = _Server((HOST, self._port), _Handler, self)
                self._port = server.server_address[1]
                self._thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"influx-standin-{self._port}",
                    daemon=True,
                )
                self._server = server
                self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every open connection: clients then get connection refused."""
        with self._lifecycle_lock:
            server, self._server = self._server, None
            if server is None:
                return
            server.stopping.set()
            server.shutdown()
            server.server_close()
            server.drop_connections()
            self._thread.join(timeout=5)

    def __enter__(self) -> InfluxStandin:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- behaviour controls (thread-safe) ----------------------------------------------------

    def fail_next(
        self, count: int, status: int, retry_after: int | str | None = None, body: dict | str | bytes | None = None
    ) -> None:
        """Answer the next `count` write requests with `status` and store nothing; calls queue up."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if body is None:
            response = _error(status, f"injected failure: HTTP {status}", headers)
        elif isinstance(body, dict):
            response = _json_response(status, body, headers)
        else:
            payload = body.encode() if isinstance(body, str) else body
            response = (status, {"Content-Type": "text/plain; charset=utf-8", **headers}, payload)
        with self._lock:
            self._failures.extend([response] * count)

    def set_delay(self, seconds: float) -> None:
        """Hold every response this long; a write is stored only when its response goes out."""
        with self._lock:
            self._delay = seconds

    def set_token(self, token: str | None) -> None:
        with self._lock:
            self._token = token

    def reject_token(self) -> None:
        """From now on every token is wrong (401), as after the token was deleted on the server."""
        self.set_token(None)

    def set_healthy(self, healthy: bool) -> None:
        with self._lock:
            self._healthy = healthy

    def add_bucket(self, name: str) -> None:
        with self._lock:
            self._buckets.add(name)

    # -- inspection --------------------------------------------------------------------------

    def points(self, bucket: str | None = None, measurement: str | None = None) -> list[Point]:
        """Stored points (copies), ordered by time, then bucket, measurement and tags."""
        with self._lock:
            stored = list(self._points.values())
        selected = [
            Point(p.measurement, dict(p.tags), dict(p.fields), p.time_ns, p.bucket)
            for p in stored
            if bucket in (None, p.bucket) and measurement in (None, p.measurement)
        ]
        return sorted(selected, key=lambda p: (p.time_ns, p.bucket, p.measurement, sorted(p.tags.items())))

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    # -- request handling (called from the server's threads) ---------------------------------

    def _record(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> RequestRecord:
        record = RequestRecord(method, path, query, headers, time.monotonic())
        with self._lock:
            self._requests.append(record)
        return record

    def _respond(self, method: str, path: str, query: dict[str, str], headers, body: bytes) -> Response:
        routes = {
            "/api/v2/write": ({"POST"}, lambda: self._write(query, headers, body)),
            "/api/v2/buckets": ({"GET"}, lambda: self._list_buckets(query, headers)),
            "/api/v2/query": ({"POST"}, lambda: self._query(query, headers, body)),
            "/api/v2/delete": ({"POST"}, lambda: self._delete(query, headers, body)),
            "/health": ({"GET"}, self._health),
            "/ready": ({"GET"}, self._ready),
            "/ping": ({"GET", "HEAD"}, self._ping),
        }
        if path not in routes:
            return _error(404, "path not found")
        methods, handle = routes[path]
        if method not in methods:
            return _error(405, "method not allowed")
        return handle()

    def _is_authorized(self, headers) -> bool:
        scheme, _, credential = (headers.get("Authorization") or "").partition(" ")
        with self._lock:
            token = self._token
        return token is not None and scheme in ("Token", "Bearer") and credential == token

    def _org_error(self, query: dict[str, str], required: bool) -> Response | None:
        org, org_id = query.get("org"), query.get("orgID")
        if not org and not org_id:
            return _error(400, "Please provide either orgID or org") if required else None
        if org_id and org_id != self.org_id:
            return _error(404, "organization not found")
        if org and org not in (self.org, self.org_id):
            return _error(404, f'organization name "{org}" not found')
        return None

    def _write(self, query: dict[str, str], headers, body: bytes) -> Response:
        # The checks run in the order of InfluxDB's write handler, so combined faults answer alike.
        with self._lock:
            injected = self._failures.popleft() if self._failures else None
        refusal = injected or self._request_refusal(query, headers)
        if refusal:
            return refusal
        if (headers.get("Content-Encoding") or "").lower() in ("gzip", "x-gzip"):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error):
                return _error(400, "unable to read data: gzipped HTTP body contains an invalid header")
        refusal = self._org_error(query, required=True) or self._bucket_refusal(query["bucket"], body)
        if refusal:
            return refusal
        try:
            points = parse_line_protocol(body.decode("utf-8"), query.get("precision") or "ns")
        except UnicodeDecodeError as problem:
            return _error(400, f"line protocol is not valid UTF-8: {problem}")
        except LineProtocolError as problem:
            return _error(400, str(problem))
        rejection = self._store(query["bucket"], points)
        if rejection:
            return _error(422, f"failure writing points to database: partial write: {rejection}")
        return 204, {}, b""

    def _request_refusal(self, query: dict[str, str], headers) -> Response | None:
        """A write's token, precision and bucket parameter, checked before its body is read."""
        if not self._is_authorized(headers):
            return _error(401, "unauthorized access")
        if (query.get("precision") or "ns") not in PRECISION_NS:
            return _error(400, "invalid precision; valid precision units are ns, us, ms, and s")
        if not query.get("bucket"):
            return _error(404, "bucket not found")
        return None

    def _bucket_refusal(self, bucket: str, body: bytes) -> Response | None:
        """The bucket must exist and the (decompressed) body hold something, within the size bound."""
        with self._lock:
            bucket_exists = bucket in self._buckets
        if not bucket_exists:
            return _error(404, f'bucket "{bucket}" not found')
        if self.max_body_bytes is not None and len(body) > self.max_body_bytes:
            return _error(413, "unable to read data: points batch is too large")
        if not body:
            return _error(400, "writing requires points")
        return None

    def _store(self, bucket: str, points: list[Point]) -> str | None:
        """Store points, merging the fields of one series and time; a point with a field type conflict is dropped.

        InfluxDB checks field types per shard (a week by default); the stand-in checks them per bucket.
        """
        first_conflict, dropped = None, 0
        with self._lock:
            for point in points:
                conflict = self._field_type_conflict(bucket, point)
                if conflict:
                    dropped += 1
                    first_conflict = first_conflict or conflict
                    continue
                for key, value in point.fields.items():
                    self._field_types[(bucket, point.measurement, key)] = _type_name(value)
                series_time = (bucket, point.measurement, tuple(sorted(point.tags.items())), point.time_ns)
                earlier = self._points.get(series_time)
                fields = {**earlier.fields, **point.fields} if earlier else dict(point.fields)
                self._points[series_time] = Point(point.measurement, dict(point.tags), fields, point.time_ns, bucket)
        return f"{first_conflict} dropped={dropped}" if first_conflict else None

    def _field_type_conflict(self, bucket: str, point: Point) -> str | None:
        for key, value in point.fields.items():
            existing = self._field_types.get((bucket, point.measurement, key))
            if existing is not None and existing != _type_name(value):
                return (
                    f'field type conflict: input field "{key}" on measurement "{point.measurement}" '
                    f"is type {_type_name(value)}, already exists as type {existing}"
                )
        return None

    # Flux is a language, not a format: the stand-in answers only the query shapes Pinger sends
    # (pinger.store.influx: *_flux functions), each matched exactly, and says so for anything else.
    _FROM_RANGE = (
        r'from\(bucket: "(?P<bucket>[^"]+)"\)\s*'
        r"\|> range\(start: (?P<start>[0-9TZ:-]+)(?:, stop: (?P<stop>[0-9TZ:-]+))?\)\s*"
    )
    _SAMPLE_QUERY = re.compile(
        _FROM_RANGE
        + r'\|> filter\(fn: \(r\) => r\._measurement == "(?P<measurement>\w+)" and r\._field == "(?P<field>\w+)" '
        r'and r\.pool == "(?P<pool>(?:[^"\\]|\\.)*)"\)\s*'
        r'\|> keep\(columns: \["_time", "_value", "host"\]\)\s*'
        r'\|> group\(columns: \["host"\]\)\s*'
        r'\|> sort\(columns: \["_time"\]\)\s*$'
    )
    _RUNS_QUERY = re.compile(
        _FROM_RANGE
        + r'\|> filter\(fn: \(r\) => r\._measurement == "(?P<measurement>\w+)" and r\._field == "(?P<field>\w+)" '
        r'and r\.pool == "(?P<pool>(?:[^"\\]|\\.)*)"\)\s*'
        r'\|> keep\(columns: \["_time", "_value", "host"\]\)\s*'
        r'\|> group\(columns: \["host"\]\)\s*'
        r'\|> sort\(columns: \["_time"\]\)\s*'
        r"\|> map\(fn: \(r\) => \(\{r with up: r\._value, gap: int\(v: r\._time\), newer: int\(v: r\._time\)\}\)\)\s*"
        r'\|> difference\(columns: \["_value", "gap"\], keepFirst: true\)\s*'
        r'\|> sort\(columns: \["_time"\], desc: true\)\s*'
        r'\|> difference\(columns: \["newer"\], keepFirst: true\)\s*'
        r"\|> filter\(fn: \(r\) => not exists r\.gap or not exists r\.newer or r\._value != 0 "
        r"or r\.gap > (?P<threshold>[0-9]+)\)\s*"
        r'\|> keep\(columns: \["_time", "host", "up", "gap"\]\)\s*'
        r'\|> sort\(columns: \["_time"\]\)\s*$'
    )
    _EDGE_QUERY = re.compile(
        _FROM_RANGE
        + r'\|> filter\(fn: \(r\) => r\._measurement == "(?P<measurement>\w+)" and r\._field == "(?P<field>\w+)"\)\s*'
        r"\|> (?P<per_series>first|last)\(\)\s*\|> group\(\)\s*"
        r'\|> (?P<overall>min|max)\(column: "_time"\)\s*\|> keep\(columns: \["_time"\]\)\s*$'
    )
    _ROWS_QUERY = re.compile(
        _FROM_RANGE + r'\|> filter\(fn: \(r\) => r\._measurement == "(?P<measurement>\w+)"\)\s*'
        r'\|> pivot\(rowKey: \["_time"\], columnKey: \["_field"\], valueColumn: "_value"\)\s*'
        r'\|> group\(\)\s*\|> sort\(columns: \["_time", "pool"\]\)\s*$'
    )

    def _refuse_token_or_org(self, query: dict[str, str], headers) -> Response | None:
        if not self._is_authorized(headers):
            return _error(401, "unauthorized access")
        return self._org_error(query, required=True)

    def _query(self, query: dict[str, str], headers, body: bytes) -> Response:
        refusal = self._refuse_token_or_org(query, headers)
        if refusal:
            return refusal
        try:
            flux = json.loads(body)["query"].strip() + "\n"
        except (ValueError, KeyError):
            return _error(400, "the query body must be JSON with a 'query' field")
        for pattern, answer in (  # noqa: B007 (answer is used after the loop)
            (self._SAMPLE_QUERY, self._samples),
            (self._RUNS_QUERY, self._runs),
            (self._EDGE_QUERY, self._edge),
            (self._ROWS_QUERY, self._rows),
        ):
            match = pattern.match(flux)
            if match:
                break
        else:
            return _error(400, "influx stand-in: only the query shapes of pinger.store.influx are understood")
        with self._lock:
            if match["bucket"] not in self._buckets:
                return _error(404, f'failed to initialize execute state: could not find bucket "{match["bucket"]}"')
            start = _rfc3339_ns(match["start"])
            stop = _rfc3339_ns(match["stop"]) if match["stop"] else 2**63 - 1
            selected = [
                p
                for p in self._points.values()
                if p.bucket == match["bucket"] and p.measurement == match["measurement"] and start <= p.time_ns < stop
            ]
        columns, rows = answer(match, selected)
        return 200, {"Content-Type": "text/csv; charset=utf-8"}, _annotated_csv(columns, rows)

    @staticmethod
    def _samples(match, points: list[Point]):
        pool = match["pool"].replace('\\"', '"').replace("\\\\", "\\")
        rows = sorted(
            (p.tags.get("host", ""), p.time_ns, p.fields[match["field"]])
            for p in points
            if p.tags.get("pool") == pool and match["field"] in p.fields
        )
        tables: dict[str, int] = {}
        return (
            [("_time", "dateTime:RFC3339", False), ("_value", "long", False), ("host", "string", True)],
            [
                (tables.setdefault(host, len(tables)), {"_time": t, "_value": int(v), "host": host})
                for host, t, v in rows
            ],
        )

    @staticmethod
    def _runs(match, points: list[Point]):
        """The runs query: per host (one table each, by host as the samples query), the rows flux_runs keeps."""
        pool = match["pool"].replace('\\"', '"').replace("\\\\", "\\")
        series: dict[str, list[tuple[int, int]]] = {}
        for p in points:
            if p.tags.get("pool") == pool and match["field"] in p.fields:
                series.setdefault(p.tags.get("host", ""), []).append((p.time_ns, int(p.fields[match["field"]])))
        rows = [
            (table, {"_time": t, "gap": gap, "host": host, "up": up})
            for table, host in enumerate(sorted(series))
            for t, up, gap in flux_runs(sorted(series[host]), int(match["threshold"]))
        ]
        columns = [("_time", "dateTime:RFC3339", False), ("gap", "long", False), ("host", "string", True)]
        return [*columns, ("up", "long", False)], rows

    @staticmethod
    def _edge(match, points: list[Point]):
        times = [p.time_ns for p in points if match["field"] in p.fields]
        if not times:
            return [], []
        chosen = min(times) if match["overall"] == "min" else max(times)
        return [("_time", "dateTime:RFC3339", False)], [(0, {"_time": chosen})]

    @staticmethod
    def _rows(match, points: list[Point]):
        merged: dict[tuple, dict] = {}
        for p in points:  # pivot on _time within each series (tag set)
            merged.setdefault((p.time_ns, tuple(sorted(p.tags.items()))), {"_time": p.time_ns, **p.tags}).update(
                p.fields
            )
        rows = sorted(merged.values(), key=lambda row: (row["_time"], row.get("pool", "")))
        names = sorted({key for row in rows for key in row} - {"_time"})
        types = {}
        for row in rows:
            for key in names:
                value = row.get(key)
                if value is not None:
                    types[key] = (
                        "double" if isinstance(value, float) else "long" if isinstance(value, int) else "string"
                    )
        columns = [("_time", "dateTime:RFC3339", False), ("_measurement", "string", False)] + [
            (name, types.get(name, "string"), False) for name in names
        ]
        for row in rows:
            row["_measurement"] = match["measurement"]
        return columns, [(0, row) for row in rows]

    def _delete(self, query: dict[str, str], headers, body: bytes) -> Response:
        """Delete with a predicate of `key="value"` terms joined by AND, as InfluxDB's delete API."""
        refusal = self._refuse_token_or_org(query, headers)
        if refusal:
            return refusal
        try:
            request = json.loads(body)
            start, stop = (
                int(datetime.fromisoformat(request[k].replace("Z", "+00:00")).timestamp() * 10**9)
                for k in ("start", "stop")
            )
            terms = dict(
                re.fullmatch(r'\s*(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*', term).groups()
                for term in re.split(r"\s+AND\s+", request.get("predicate", ""))
                if term.strip()
            )
        except (ValueError, KeyError, AttributeError):
            return _error(400, "invalid delete request")
        bucket = query.get("bucket")
        with self._lock:
            if bucket not in self._buckets:
                return _error(404, f'bucket "{bucket}" not found')
            for key, point in list(self._points.items()):
                labels = {**point.tags, "_measurement": point.measurement}
                if (
                    point.bucket == bucket
                    and start <= point.time_ns <= stop
                    and all(labels.get(k) == v.replace('\\"', '"') for k, v in terms.items())
                ):
                    del self._points[key]
        return 204, {}, b""

    def _list_buckets(self, query: dict[str, str], headers) -> Response:
        if not self._is_authorized(headers):
            return _error(401, "unauthorized access")
        org_error = self._org_error(query, required=False)
        if org_error:
            return org_error
        name = query.get("name")
        with self._lock:
            names = sorted(n for n in self._buckets if name in (None, n))
        return _json_response(
            200,
            {
                "links": {"self": "/api/v2/buckets?descending=false&limit=20&offset=0"},
                "buckets": [self._bucket_document(n) for n in names],
            },
        )

    def _bucket_document(self, name: str) -> dict:
        bucket_id = f"{zlib.crc32(name.encode()):08x}{self.org_id[:8]}"
        created = self._started_at.isoformat().replace("+00:00", "Z")
        return {
            "id": bucket_id,
            "orgID": self.org_id,
            "type": "user",
            "name": name,
            "retentionRules": [{"type": "expire", "everySeconds": 0, "shardGroupDurationSeconds": 604800}],
            "createdAt": created,
            "updatedAt": created,
            "labels": [],
            "links": {"self": f"/api/v2/buckets/{bucket_id}", "org": f"/api/v2/orgs/{self.org_id}"},
        }

    def _health(self) -> Response:
        with self._lock:
            healthy = self._healthy
        document = {
            "name": "influxdb",
            "message": "ready for queries and writes" if healthy else "unhealthy",
            "status": "pass" if healthy else "fail",
            "checks": [],
            "version": INFLUXDB_VERSION,
            "commit": "standin",
        }
        return _json_response(200 if healthy else 503, document)

    def _ready(self) -> Response:
        up = datetime.now(UTC) - self._started_at
        return _json_response(
            200, {"status": "ready", "started": self._started_at.isoformat(), "up": f"{up.total_seconds():.3f}s"}
        )

    def _ping(self) -> Response:
        return 204, {"X-Influxdb-Build": "OSS", "X-Influxdb-Version": INFLUXDB_VERSION}, b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # restart on the same port while old connections sit in TIME_WAIT

    def __init__(self, address, handler, standin: InfluxStandin):
        self.standin = standin
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up (getfqdn); a loopback stand-in needs no lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        # Without this, keep-alive connections would go on being served after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up, or stop() cutting it off
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as influxd: clients reuse pooled connections
    server_version = "InfluxStandin"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format, *args) -> None:
        pass

    def _handle(self) -> None:
        standin = self.server.standin
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        record = standin._record(self.command, url.path, query, dict(self.headers))
        body = self._read_body()
        record.body = body
        with standin._lock:
            delay = standin._delay
        if delay and self.server.stopping.wait(delay):
            self.close_connection = True  # the server went down while busy: the client sees the connection drop
            return
        try:
            status, headers, payload = standin._respond(self.command, url.path, query, self.headers, body)
        except Exception as bug:  # a fault of the stand-in itself must surface in the test, not hang it
            status, headers, payload = _error(500, f"influx stand-in failed: {bug!r}")
        record.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailer lines
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))
