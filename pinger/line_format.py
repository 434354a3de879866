"""The text format of InfluxDB line protocol: parse a line into a typed point, and format a point as a line.

What both sides of Pinger share: the InfluxDB store writes its points with ``format_line`` and
``line_formatter``; ``pinger import`` (``ingestion/import_lines.py``) reads files with ``parse_line``
and ``parse_line_fast``. ``PRECISION_NS``: nanoseconds per unit of each timestamp precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

FieldValue = float | int | bool | str

PRECISION_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


class LineProtocolError(ValueError):
    def __init__(self, line_number: int, message: str):
        self.line_number = line_number
        super().__init__(f"line {line_number}: {message}")


class LinePoint(NamedTuple):
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ns: int | None


def _split_unescaped(text: str, separator: str, line_number: int, quotes: bool = False) -> list[str]:
    """Split on a separator that is not backslash-escaped (nor inside double quotes, if asked)."""
    parts, current, index, quoted = [], [], 0, False
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if quotes and char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    if quoted:
        raise LineProtocolError(line_number, "a string field value is not closed with a double quote")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text) and text[index + 1] in ',= "\\':
            out.append(text[index + 1])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _field_value(raw: str, line_number: int, key: str) -> FieldValue:
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            raise LineProtocolError(line_number, f"field {key!r}: unterminated string")
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw in ("t", "T", "true", "True", "TRUE"):
        return True
    if raw in ("f", "F", "false", "False", "FALSE"):
        return False
    try:
        if raw.endswith("i"):
            return int(raw[:-1])
        if raw.endswith("u"):
            value = int(raw[:-1])
            if value < 0:
                raise ValueError
            return value
        return float(raw)
    except ValueError:
        raise LineProtocolError(line_number, f"field {key!r}: {raw!r} is not a valid value") from None


def parse_line(line: str, line_number: int, precision: str = "ns") -> LinePoint | None:
    """One line as a point; None for blank lines and comments."""
    text = line.rstrip("\n").rstrip("\r")
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    sections = _split_unescaped(text, " ", line_number, quotes=True)
    sections = [section for section in sections if section != ""]
    if len(sections) not in (2, 3):
        raise LineProtocolError(line_number, "expected 'measurement[,tags] fields [timestamp]'")
    series = _split_unescaped(sections[0], ",", line_number)
    measurement = _unescape(series[0])
    if not measurement:
        raise LineProtocolError(line_number, "missing measurement name")
    tags: dict[str, str] = {}
    for pair in series[1:]:
        key_value = _split_unescaped(pair, "=", line_number)
        if len(key_value) != 2 or not key_value[0] or not key_value[1]:
            raise LineProtocolError(line_number, f"tag {pair!r} is not key=value")
        key = _unescape(key_value[0])
        if key in tags:
            raise LineProtocolError(line_number, f"tag {key!r} is given twice")
        tags[key] = _unescape(key_value[1])
    fields: dict[str, FieldValue] = {}
    for pair in _split_unescaped(sections[1], ",", line_number, quotes=True):
        key_value = _split_unescaped(pair, "=", line_number, quotes=True)
        if len(key_value) != 2 or not key_value[0] or not key_value[1]:
            raise LineProtocolError(line_number, f"field {pair!r} is not key=value")
        key = _unescape(key_value[0])
        if key in fields:
            raise LineProtocolError(line_number, f"field {key!r} is given twice")
        fields[key] = _field_value(key_value[1], line_number, key)
    time_ns = None
    if len(sections) == 3:
        try:
            time_ns = int(sections[2]) * PRECISION_NS[precision]
        except ValueError:
            raise LineProtocolError(line_number, f"timestamp {sections[2]!r} is not an integer") from None
    return LinePoint(measurement, tags, fields, time_ns)


def parse_line_fast(line: str, line_number: int, precision: str = "ns") -> LinePoint | None:
    """parse_line's result, byte for byte, several times faster for lines without a backslash or a
    double quote (nearly every line): in those nothing is escaped or quoted, so ``str.split`` splits
    exactly where ``_split_unescaped`` would, and ``_unescape`` changes nothing. Any other line, and
    any line parse_line refuses, goes to parse_line itself, which raises its own error."""
    if "\\" in line or '"' in line:
        return parse_line(line, line_number, precision)
    text = line.rstrip("\n").rstrip("\r")
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    sections = text.split(" ")
    if "" in sections:
        sections = [section for section in sections if section != ""]
    if len(sections) not in (2, 3):
        return parse_line(line, line_number, precision)
    series = sections[0].split(",")
    measurement = series[0]
    tags: dict[str, str] = {}
    fields: dict[str, FieldValue] = {}
    time_ns = None
    try:
        if not measurement:
            raise ValueError
        for pair in series[1:]:
            key, value = pair.split("=")  # ValueError unless exactly one "="
            if not key or not value or key in tags:
                raise ValueError
            tags[key] = value
        for pair in sections[1].split(","):
            key, raw = pair.split("=")
            if not key or not raw or key in fields:
                raise ValueError
            fields[key] = _field_value(raw, line_number, key)
        if len(sections) == 3:
            time_ns = int(sections[2]) * PRECISION_NS[precision]
    except (ValueError, LineProtocolError):  # LineProtocolError is a ValueError; named for the reader
        return parse_line(line, line_number, precision)
    return LinePoint(measurement, tags, fields, time_ns)


def _escape_key(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def format_line(measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], time_s: int) -> str:
    """One point as a line with a timestamp in seconds; tags sorted, as InfluxDB prefers."""
    tag_text = "".join(f",{_escape_key(k)}={_escape_key(v)}" for k, v in sorted(tags.items()) if v != "")
    parts = []
    for key, value in fields.items():
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int):
            rendered = _render_int(value)
        elif isinstance(value, float):
            rendered = _render_float(value)
        else:
            rendered = _render_string(value)
        parts.append(f"{_escape_key(key)}={rendered}")
    return f"{_escape_measurement(measurement)}{tag_text} {','.join(parts)} {time_s}"


def _escape_measurement(text: str) -> str:
    return text.replace(",", "\\,").replace(" ", "\\ ")


def _render_int(value: Any) -> str:
    return f"{int(value)}i"


def _render_float(value: Any) -> str:
    return repr(float(value))


def _render_string(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


_RENDER = {int: _render_int, float: _render_float, str: _render_string}


def line_formatter(
    measurement: str, tags: Sequence[str], fields: Sequence[tuple[str, type]]
) -> Callable[[Any, int], str]:
    """A function writing a record with these attributes as one line, prepared once for a hot path.

    Its text is format_line's for the same tags and fields with these types, where a tag that is
    None or empty and a field that is None are left out; it only builds no dicts per point.
    """
    prefix = _escape_measurement(measurement)
    tag_keys = [(name, f",{_escape_key(name)}=") for name in sorted(tags)]
    field_keys = [(name, f"{_escape_key(name)}=", _RENDER[kind]) for name, kind in fields]

    def line(record: Any, time_s: int) -> str:
        text = prefix
        for name, key in tag_keys:
            value = getattr(record, name)
            if value:
                text += key + _escape_key(value)
        rendered = [
            key + render(value) for name, key, render in field_keys if (value := getattr(record, name)) is not None
        ]
        return f"{text} {','.join(rendered)} {time_s}"

    return line
