"""Import raw ``ping`` samples from InfluxDB line protocol into the configured store, all or nothing.

The file streams through: it is read in chunks of bytes, decoded a chunk at a time (a line at a
time where a chunk is not UTF-8, so that such a line is named), and every line becomes a Sample
handed on at once to ``HistoryStore.write_samples``, which writes them in one transaction. Every
malformed line is counted (the first MAX_REPORTED_ERRORS are named); at the end of the file, any
of them raises MalformedImportError from inside the store's transaction, which keeps nothing.
Memory does not grow with the file.

Speed: ``pinger.lineprotocol.parse_line`` reads a character at a time (~30,000 lines/s). Ordinary
lines (no backslash, no double quote) go through ``parse_line_fast`` instead, which gives the same
results; and since the lines of one host repeat the same series (``ping,host=…,pool=…``) and mostly
the same few field texts (``up=0i``), the sample parts each of those two texts gives are kept in two
bounded dictionaries, so that most lines cost a partition, two look-ups and one ``int``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
import os
import time
from collections.abc import Callable, Collection, Generator, Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from pinger.config import Config
from pinger.errors import MalformedImportError, PingerError, UsageError
from pinger.lineprotocol import LinePoint, LineProtocolError, parse_line, parse_line_fast
from pinger.models import Sample
from pinger.progress import Progress
from pinger.schema import PING
from pinger.store import open_history_store

log = logging.getLogger("pinger.import")

MAX_REPORTED_ERRORS = 20
EARLIEST_S = 946_684_800  # 2000-01-01T00:00:00Z: no sample is older (Pinger did not exist)
FUTURE_SLACK_S = 86_400  # a sample may be stamped up to a day ahead of this host's clock
CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 4 << 20  # a longer "line" is not a ping point; keeps memory bounded for a file without line ends
CACHE_ENTRIES = 50_000  # per dictionary of the fast path: at most a few MB
FAST_PATH = True  # False: every line through the careful parser (benchmarks and tests compare the two)

_NS = 1_000_000_000
_PRECISION_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_BAD = "\ud800"  # starts a line that could not be read (a lone surrogate: never in decoded text); the rest says why
_BOM = b"\xef\xbb\xbf"


class ImportStats:
    """What iter_samples saw, filled in as it goes: lines of other measurements skipped, and hosts
    not in ``known_hosts`` (at most MAX_UNKNOWN_HOSTS of them are kept)."""

    MAX_UNKNOWN_HOSTS = 1000

    def __init__(self) -> None:
        self.skipped = 0
        self.unknown_hosts: set[str] = set()


def import_file(
    config: Config, path: Path, precision: str = "ns", *, allow_any_time: bool = False, now: float | None = None
) -> int:
    """Import every ping sample of the file into the configured store, or none (MalformedImportError,
    exit 2, naming the malformed lines). Timestamps before 2000 or more than a day after ``now`` (unix
    seconds; default: the clock) are malformed unless ``allow_any_time``. Returns the samples written."""
    known = {host.name for pool in config.pools for host in pool.hosts}
    stats = ImportStats()
    with _open(path) as handle:
        progress = Progress(os.fstat(handle.fileno()).st_size, f"import {path.name}")
        samples = _samples(
            handle,
            path,
            precision,
            allow_any_time=allow_any_time,
            now=now,
            known_hosts=known,
            stats=stats,
            on_progress=lambda done, lines: progress.update(done, f"bytes, {lines} lines"),
        )
        store = open_history_store(config, "create")
        try:
            written = store.write_samples(samples)
        finally:
            samples.close()
            store.close()
    log.info(
        "imported %d ping samples from %s%s",
        written,
        path,
        f"; skipped {stats.skipped} lines of other measurements" if stats.skipped else "",
    )
    if stats.unknown_hosts:
        count = len(stats.unknown_hosts)
        log.warning(
            "%s imported hosts are not in the config and will not be aggregated (e.g. %s)",
            f"at least {count}" if count >= ImportStats.MAX_UNKNOWN_HOSTS else count,
            min(stats.unknown_hosts),
        )
    return written


def iter_samples(
    path: Path,
    precision: str = "ns",
    *,
    allow_any_time: bool = False,
    now: float | None = None,
    known_hosts: Collection[str] | None = None,
    stats: ImportStats | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[Sample]:
    """The file's ping samples, one at a time, as they are read; lines of other measurements are
    skipped. After the last line, raises MalformedImportError naming the malformed lines when there
    are any (the samples already yielded must then be discarded). The file is opened now: one that
    cannot be read raises PingerError here. ``on_progress(bytes_read, lines_read)`` follows the
    reading; ``stats`` and ``known_hosts``: see ImportStats."""
    handle = _open(path)
    try:
        samples = _samples(
            handle,
            path,
            precision,
            allow_any_time=allow_any_time,
            now=now,
            known_hosts=known_hosts,
            stats=stats,
            on_progress=on_progress,
        )
    except BaseException:
        handle.close()
        raise
    return _closing(handle, samples)


def read_samples(
    path: Path, precision: str = "ns", *, allow_any_time: bool = True, now: float | None = None
) -> tuple[list[Sample], int]:
    """Every ``ping`` sample of the file as a list, and the number of lines of other measurements
    skipped; for small files (tools and tests): import_file streams instead. Unlike import_file it
    accepts any timestamp unless asked (``allow_any_time=False``). Raises MalformedImportError."""
    stats = ImportStats()
    samples = list(iter_samples(path, precision, allow_any_time=allow_any_time, now=now, stats=stats))
    return samples, stats.skipped


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as err:
        raise PingerError(f"cannot read {path}: {err.strerror or err}") from None


def _closing(handle: BinaryIO, samples: Iterator[Sample]) -> Iterator[Sample]:
    with handle:
        yield from samples


def _samples(
    handle: BinaryIO,
    path: Path,
    precision: str,
    *,
    allow_any_time: bool,
    now: float | None,
    known_hosts: Collection[str] | None,
    stats: ImportStats | None,
    on_progress: Callable[[int, int], None] | None,
) -> Generator[Sample, None, None]:
    """iter_samples on an open file. Checks its arguments at once; the rest runs as it is iterated."""
    if precision not in _PRECISION_NS:
        raise UsageError(f"unknown precision {precision!r}: use one of s, ms, us, ns")
    now = time.time() if now is None else now
    return _parse(handle, path, precision, allow_any_time, now, known_hosts, stats or ImportStats(), on_progress)


def _parse(
    handle: BinaryIO,
    path: Path,
    precision: str,
    allow_any_time: bool,
    now: float,
    known_hosts: Collection[str] | None,
    stats: ImportStats,
    on_progress: Callable[[int, int], None] | None,
) -> Generator[Sample, None, None]:
    factor = _PRECISION_NS[precision]
    earliest_ns: float = -math.inf if allow_any_time else EARLIEST_S * _NS
    latest_ns: float = math.inf if allow_any_time else int(now * _NS) + FUTURE_SLACK_S * _NS
    problems = _Problems(path)
    times = _TimeCheck(precision, earliest_ns, latest_ns)
    fast = FAST_PATH
    parse = parse_line_fast if fast else parse_line
    # The fast path. parse_line reads the three sections of "SERIES FIELDS TIME" each on its own, and
    # _as_sample takes pool and host from SERIES alone, up and rtt_ms from FIELDS alone: so where the
    # SERIES and FIELDS texts of a line split so (no backslash, no quote) made a good sample before,
    # they make the same parts again, and only TIME needs reading (as parse_line does: int × factor).
    series_parts: dict[str, tuple[str, str]] = {}  # series text -> (pool, host)
    field_parts: dict[str, tuple[int, float | None]] = {}  # fields text -> (up, rtt_ms as stored)
    series_get, fields_get = series_parts.get, field_parts.get
    last_time_text, last_time = _BAD, 0  # the last timestamp text that passed (none yet), and its time in seconds
    make = tuple.__new__  # Sample(...) would run a Python __new__ per line
    ping = PING.name
    number = 0
    for lines, done in _decoded_lines(handle):
        for line in lines:
            number += 1
            series_text, _, rest = line.partition(" ")
            series = series_get(series_text)
            if series is not None:
                fields_text, _, time_text = rest.partition(" ")
                values = fields_get(fields_text)
                if values is not None:
                    if time_text == last_time_text:
                        yield make(Sample, (last_time, series[0], series[1], values[0], values[1]))
                        continue
                    try:
                        time_ns = int(time_text) * factor  # what parse_line does with the third section
                    except ValueError:
                        time_ns = None
                    if time_ns is not None and earliest_ns <= time_ns <= latest_ns:
                        last_time_text, last_time = time_text, time_ns // _NS
                        yield make(Sample, (last_time, series[0], series[1], values[0], values[1]))
                        continue
            # Any other line: parsed on its own.
            if line.startswith(_BAD):
                problems.add(number, line[1:])
                continue
            try:
                point = parse(line, number, precision)
                if point is None:
                    continue
                if point.measurement != ping:
                    stats.skipped += 1
                    continue
                sample = _as_sample(point, number)
                times.check(point, number)
            except LineProtocolError as err:
                problems.add(number, str(err).split(": ", 1)[1])
                continue
            times.plausible = True
            if (
                known_hosts is not None
                and sample.host not in known_hosts
                and len(stats.unknown_hosts) < ImportStats.MAX_UNKNOWN_HOSTS
            ):
                stats.unknown_hosts.add(sample.host)
            if fast and "\\" not in line and '"' not in line:
                sections = line.split(" ")
                if len(sections) == 3 and all(sections):
                    if len(series_parts) >= CACHE_ENTRIES:
                        series_parts.clear()
                    if len(field_parts) >= CACHE_ENTRIES:
                        field_parts.clear()
                    series_parts[sections[0]] = (sample.pool, sample.host)
                    field_parts[sections[1]] = (sample.up, sample.rtt_ms)
                    last_time_text, last_time = sections[2], sample.time
            yield sample
        del lines  # not held while the next chunk is read
        if on_progress is not None:
            on_progress(done, number)
    if problems.count:
        raise MalformedImportError(problems.report(times.hint(path)))


def _decoded_lines(handle: BinaryIO) -> Iterator[tuple[list[str], int]]:
    """The file's lines, a chunk at a time, with the bytes read so far. Line ends: LF, CRLF and CR, as
    Python's text files read them. A line that is not UTF-8, or too long, comes as _BAD + the reason."""
    carry = b""  # the start of a line whose end is not read yet
    after_cr = False  # the last chunk ended in CR: a LF starting the next one belongs to it
    skipping = False  # in a line longer than MAX_LINE_BYTES: drop bytes up to its end
    start = handle.read(len(_BOM))
    for block in chain([start.removeprefix(_BOM)], iter(lambda: handle.read(CHUNK_BYTES), b"")):
        done = handle.tell()
        if after_cr and block.startswith(b"\n"):
            block = block[1:]
        after_cr = False
        if skipping:
            end = _first_line_end(block)
            if end < 0:
                continue
            skipping = False
            if block[end] == 13 and end + 1 == len(block):
                after_cr = True
            elif block[end] == 13 and block[end + 1] == 10:
                end += 1
            block = block[end + 1 :]
        data = carry + block if carry else block
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if cut < 0:
            carry = data
            if len(carry) > MAX_LINE_BYTES:
                carry, skipping = b"", True
                yield [f"{_BAD}longer than {MAX_LINE_BYTES:,} bytes: not a line of points"], done
            continue
        after_cr = data[cut] == 13 and cut + 1 == len(data)
        carry = data[cut + 1 :]
        lines = _lines_of(data[: cut - 1] if data[cut] == 10 and cut and data[cut - 1] == 13 else data[:cut])
        del data, block  # not held while the lines are worked on
        yield lines, done
        del lines
    if carry and not skipping:
        yield _lines_of(carry), done


def _first_line_end(block: bytes) -> int:
    ends = [index for index in (block.find(b"\n"), block.find(b"\r")) if index >= 0]
    return min(ends) if ends else -1


def _lines_of(data: bytes) -> list[str]:
    """The lines of whole lines of bytes (without the last line end)."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        return data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return [_decoded(line) for line in data.split(b"\n")]


def _decoded(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"{_BAD}not UTF-8 text (byte 0x{line[err.start]:02x} at column {err.start + 1})"


class _Problems:
    """The malformed lines: the first MAX_REPORTED_ERRORS as messages, and how many there are."""

    def __init__(self, path: Path):
        self.path = path
        self.shown: list[str] = []
        self.count = 0

    def add(self, number: int, message: str) -> None:
        self.count += 1
        if len(self.shown) < MAX_REPORTED_ERRORS:
            self.shown.append(f"{self.path}:{number}: {message}")

    def report(self, hint: str | None) -> str:
        more = self.count - len(self.shown)
        lines = self.shown + ([f"… and {more} more malformed lines"] if more > 0 else []) + ([hint] if hint else [])
        return "nothing imported; malformed lines:\n" + "\n".join(lines)


class _TimeCheck:
    """Refuses implausible timestamps, and remembers enough of them to say when they all look
    like a --precision mistake."""

    def __init__(self, precision: str, earliest_ns: float, latest_ns: float):
        self.precision = precision
        self.factor = _PRECISION_NS[precision]
        self.earliest_ns, self.latest_ns = earliest_ns, latest_ns
        self.plausible = False  # some sample had a plausible time
        self.refused = 0
        self.lowest: int | None = None  # the smallest and largest timestamp refused, as written
        self.highest: int | None = None

    def check(self, point: LinePoint, number: int) -> None:
        time_ns = point.time_ns
        assert time_ns is not None  # _as_sample refuses a ping point without one
        if self.earliest_ns <= time_ns <= self.latest_ns:
            return
        written = time_ns // self.factor
        self.refused += 1
        self.lowest = written if self.lowest is None else min(self.lowest, written)
        self.highest = written if self.highest is None else max(self.highest, written)
        when = _iso(time_ns)
        if time_ns < self.earliest_ns:
            reason = f"before {_iso(EARLIEST_S * _NS)}"
        else:
            reason = "more than a day after now"
        raise LineProtocolError(number, f"timestamp {written} ({self.precision}) is {when}, {reason}")

    def hint(self, path: Path) -> str | None:
        if not self.refused or self.lowest is None or self.highest is None:
            return None
        if not self.plausible:
            for unit, factor in _PRECISION_NS.items():
                if (
                    unit != self.precision
                    and self.earliest_ns <= self.lowest * factor
                    and self.highest * factor <= self.latest_ns
                ):
                    return (
                        f"{path}: the timestamps look like {_UNITS[unit]} read as {_UNITS[self.precision]}: "
                        f"try --precision {unit}"
                    )
        return f"{path}: if these timestamps are right, import them with --allow-any-time"


def _iso(time_ns: int | float) -> str:
    try:
        return dt.datetime.fromtimestamp(time_ns // _NS, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return "before the year 1" if time_ns < 0 else "after the year 9999"


def _as_sample(point: LinePoint, number: int) -> Sample:
    pool, host = point.tags.get("pool"), point.tags.get("host")
    if not pool or not host:
        raise LineProtocolError(number, "a ping point needs the tags pool and host")
    up = point.fields.get("up")
    if isinstance(up, bool):
        up = int(up)
    if up not in (0, 1):
        raise LineProtocolError(number, "a ping point needs the field up = 0 or 1")
    if point.time_ns is None:
        raise LineProtocolError(number, "a ping point needs a timestamp")
    rtt = point.fields.get("rtt_ms")
    if rtt is not None and (isinstance(rtt, (bool, str))):
        raise LineProtocolError(number, "rtt_ms must be a number")
    if rtt is not None:
        try:
            rtt = float(rtt)
        except OverflowError:  # an integer beyond a float's range
            rtt = math.inf
        if not 0 <= rtt < math.inf:
            raise LineProtocolError(number, f"rtt_ms must be a finite number ≥ 0, not {rtt}")
    return Sample(point.time_ns // _NS, pool, _canonical(host), int(up), rtt if up else None)


def _canonical(host: str) -> str:
    """An IPv6 address in the form the config and the collector use (``FD00:0::1`` -> ``fd00::1``)."""
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            pass
    return host
