"""Import raw ``ping`` samples from InfluxDB line protocol into the configured store, all or nothing.

Input: a file, a pipe (``/dev/stdin``, ``<(zcat file.gz)``) or a gzip-compressed file (recognised
by its first bytes), read as it streams: nothing seeks. It is read in blocks of whole lines, as
bytes; every malformed line is counted (the first MAX_REPORTED_ERRORS are named), and at the end of
the input any of them raises MalformedImportError from inside the store's transaction, which keeps
nothing. Memory holds one batch of samples, whatever the file's size.

Host names are canonical, as the config and the collector write them: DNS names in lower case
without a final dot, IPv6 addresses compressed (``FD00:0::1`` -> ``fd00::1``); pool names in
Unicode NFC.

Speed. Blocks of ordinary lines (no backslash, quote, comment or blank line; two spaces a line)
are read a block at a time: split into their three sections in one ``split``, each section looked
up in a dictionary of texts seen before (``ping,host=…,pool=…`` -> its series; ``up=1i,rtt_ms=0.25``
-> up and round-trip time; the timestamp -> seconds), into NumPy arrays. Only a text not seen
before goes through the careful parser (``pinger.line_format``), a line at a time; so does every
line of any other block. The SQLite store takes the arrays as they are (``pinger.store.bulk``);
any other store gets the samples one by one through ``HistoryStore.write_samples``.

Merging (``pinger.store.merge``, policy "measured"): samples of one host and second with the same
values (pool, up, round-trip time as stored) are one sample, counted as merged duplicates, in the
file or against the store; different values are refused naming both (ConflictingSamplesError,
nothing imported); a reconstructed sample stored by ``import-legacy`` is replaced. With InfluxDB,
duplicates are settled within a batch of BATCH_SAMPLES samples only (InfluxDB keeps the last).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pinger.config import Config
from pinger.errors import ConflictingSamplesError, MalformedImportError, StoreError, UsageError
from pinger.line_format import PRECISION_NS, LinePoint, LineProtocolError, parse_line, parse_line_fast
from pinger.models import Sample
from pinger.progress import Progress
from pinger.schema import PING
from pinger.store import open_history_store
from pinger.store.bulk import Batch, TimeOrderedFeed, rtt_codes, settle
from pinger.store.merge import Conflict, MergeCounts
from pinger.store.packing import rtt_value
from pinger.store.sqlite import SqliteStore
from pinger.time_limits import EARLIEST_S, FUTURE_SLACK_S

from .import_input import BAD, MAX_LINE_BYTES, Input, decoded, line_blocks, open_input

log = logging.getLogger("pinger.import")

MAX_REPORTED_ERRORS = 20
CACHE_ENTRIES = 50_000  # per dictionary of texts seen before: at most a few MB
BATCH_SAMPLES = 250_000  # samples handed to the store at a time (~9 MB of arrays)
FAST_PATH = True  # False: every line through the careful parser (benchmarks and tests compare the two)

_NS = 1_000_000_000
_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_MISSING = -(1 << 62)  # a time not in the dictionary
_NOT_WHITESPACE = bytes(value for value in range(256) if value not in b" \n\t\r\x0b\x0c")  # bytes.split()


class ImportStats:
    """What an import saw, filled in as it goes: lines of other measurements skipped, hosts not in
    ``known_hosts`` (at most MAX_UNKNOWN_HOSTS of them are kept), samples read, and the merges."""

    MAX_UNKNOWN_HOSTS = 1000

    def __init__(self) -> None:
        self.skipped = 0
        self.unknown_hosts: set[str] = set()
        self.lines = 0
        self.samples = 0
        self.merged = MergeCounts()


class Arrays(NamedTuple):
    """Samples as parallel arrays, in the order of their lines."""

    series: np.ndarray  # int64: index into the reader's series (pool, host)
    time: np.ndarray  # int64 unix seconds
    up: np.ndarray  # bool
    rtt: np.ndarray  # float64 milliseconds, NaN: none
    line: np.ndarray  # int64 line numbers


def import_file(
    config: Config, path: Path, precision: str = "ns", *, allow_any_time: bool = False, now: float | None = None
) -> int:
    """Import every ping sample of the file into the configured store, or none (MalformedImportError or
    ConflictingSamplesError, exit 2, naming the lines). Timestamps before 2000 or more than a day after
    ``now`` (unix seconds; default: the clock) are malformed unless ``allow_any_time``. Returns the
    samples stored (new ones, and those that replaced reconstructed ones)."""
    known = {host.name for pool in config.pools for host in pool.hosts}
    stats = ImportStats()
    reader = _Reader(path, precision, allow_any_time, now, known, stats)
    with open_input(path) as source:
        progress = Progress(source.size, f"import {path.name}")
        blocks = reader.blocks(source, lambda done: progress.update(done, f"bytes, {stats.lines} lines"))
        store = open_history_store(config, "create")
        try:
            if isinstance(store, SqliteStore):
                written = _into_sqlite(store, reader, blocks)
            else:
                written = store.write_samples(_settled_samples(reader, blocks))
        finally:
            store.close()
    merged = stats.merged
    details = [
        f"{written} stored",
        f"{merged.duplicates} merged (the same host, second and values as a sample earlier in the file or "
        "already stored)"
        if merged.duplicates
        else "",
        f"{merged.replaced_reconstructed} reconstructed samples replaced" if merged.replaced_reconstructed else "",
        f"skipped {stats.skipped} lines of other measurements" if stats.skipped else "",
    ]
    log.info(
        "imported %d ping samples from %s (%d lines): %s",
        stats.samples,
        path,
        stats.lines,
        "; ".join(d for d in details if d),
    )
    if stats.unknown_hosts:
        count = len(stats.unknown_hosts)
        log.warning(
            "%s imported hosts are not in the config and will not be aggregated (e.g. %s)",
            f"at least {count}" if count >= ImportStats.MAX_UNKNOWN_HOSTS else count,
            min(stats.unknown_hosts),
        )
    return written


def _into_sqlite(store: SqliteStore, reader: _Reader, blocks: Iterator[Arrays]) -> int:
    """The arrays into packed rows, one transaction; malformed lines or a conflict keep nothing."""
    with store.bulk("measured") as writer:
        feed = store.feed(writer)
        try:
            _feed(store, reader, blocks, feed)
            reader.finish()
            feed.finish()
        except Conflict as conflict:
            raise ConflictingSamplesError(
                reader.conflict(conflict, store.rosters.host_name, store.rosters.pool_name)
            ) from None
        except sqlite3.Error as err:
            raise StoreError(f"Cannot write to the SQLite store {store.path}: {err}") from None
        finally:
            feed.close()
    reader.stats.merged = writer.counts
    return writer.counts.added + writer.counts.replaced_reconstructed


def _feed(store: SqliteStore, reader: _Reader, blocks: Iterator[Arrays], feed: TimeOrderedFeed) -> None:
    """Every batch of the input, with the store's pool and host ids, into the feed."""
    pool_of = np.zeros(0, dtype=np.int64)
    host_of = np.zeros(0, dtype=np.int64)
    for arrays in _batches(blocks):
        if reader.problems.count:
            continue  # read on to count every malformed line; nothing will be kept
        if len(reader.pools) > len(pool_of):
            new = slice(len(pool_of), len(reader.pools))
            pool_of = np.concatenate([pool_of, [store.rosters.pool_id(name) for name in reader.pools[new]]])
            host_of = np.concatenate([host_of, store.rosters.host_ids(reader.hosts[new])]).astype(np.int64)
        series = arrays.series
        feed.feed(Batch(arrays.time, pool_of[series], host_of[series], arrays.up, rtt_codes(arrays.rtt), arrays.line))


def _settled_samples(reader: _Reader, blocks: Iterator[Arrays]) -> Iterator[Sample]:
    """The samples one by one for a store without packed rows, duplicates settled within each batch."""
    counts = reader.stats.merged
    host_index: dict[str, int] = {}
    make = tuple.__new__
    for arrays in _batches(blocks):
        hosts = np.array([host_index.setdefault(host, len(host_index)) for host in reader.hosts], dtype=np.int64)
        position = np.arange(len(arrays.time), dtype=np.int64)
        batch = Batch(arrays.time, arrays.series, hosts[arrays.series], arrays.up, rtt_codes(arrays.rtt), position)
        try:
            kept = settle(batch, "measured", counts, reconstructed=False, keep_order=True)
        except Conflict as conflict:
            names = list(host_index)
            lines = arrays.line.tolist()
            conflict.new = conflict.new._replace(line=lines[conflict.new.line])
            conflict.old_line = None if conflict.old_line is None else lines[conflict.old_line]
            raise ConflictingSamplesError(
                reader.conflict(conflict, names.__getitem__, reader.pools.__getitem__)
            ) from None
        index = kept.line
        for series, when, up, rtt in zip(
            arrays.series[index].tolist(),
            arrays.time[index].tolist(),
            arrays.up[index].tolist(),
            arrays.rtt[index].tolist(),
            strict=True,
        ):
            yield make(
                Sample,
                (when, reader.pools[series], reader.hosts[series], int(up), None if math.isnan(rtt) else rtt),
            )
    reader.finish()


def _batches(blocks: Iterator[Arrays]) -> Iterator[Arrays]:
    """Blocks joined into batches of about BATCH_SAMPLES."""
    waiting: list[Arrays] = []
    count = 0
    for arrays in blocks:
        waiting.append(arrays)
        count += len(arrays.time)
        if count >= BATCH_SAMPLES:
            yield _joined(waiting)
            waiting, count = [], 0
    if waiting:
        yield _joined(waiting)


def _joined(parts: list[Arrays]) -> Arrays:
    if len(parts) == 1:
        return parts[0]
    return Arrays(*(np.concatenate([getattr(part, field) for part in parts]) for field in Arrays._fields))


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
    """The file's ping samples, one at a time, in file order, as they are read; lines of other
    measurements are skipped. After the last line, raises MalformedImportError naming the malformed
    lines when there are any (the samples already yielded must then be discarded). The file is opened
    now: one that cannot be read raises PingerError here. ``on_progress(bytes_read, lines_read)``
    follows the reading; ``stats`` and ``known_hosts``: see ImportStats."""
    found = stats or ImportStats()
    reader = _Reader(path, precision, allow_any_time, now, known_hosts, found)
    source = open_input(path)
    return _yielded(source, reader, None if on_progress is None else lambda done: on_progress(done, found.lines))


def _yielded(source: Input, reader: _Reader, on_progress: Callable[[int], None] | None) -> Iterator[Sample]:
    make = tuple.__new__
    with source:
        for arrays in reader.blocks(source, on_progress):
            pools, hosts = reader.pools, reader.hosts
            for series, when, up, rtt in zip(
                arrays.series.tolist(), arrays.time.tolist(), arrays.up.tolist(), arrays.rtt.tolist(), strict=True
            ):
                yield make(Sample, (when, pools[series], hosts[series], int(up), None if math.isnan(rtt) else rtt))
        reader.finish()


def read_samples(
    path: Path, precision: str = "ns", *, allow_any_time: bool = True, now: float | None = None
) -> tuple[list[Sample], int]:
    """Every ``ping`` sample of the file as a list, and the number of lines of other measurements
    skipped; for small files (tools and tests): import_file streams instead. Unlike import_file it
    accepts any timestamp unless asked (``allow_any_time=False``). Raises MalformedImportError."""
    stats = ImportStats()
    samples = list(iter_samples(path, precision, allow_any_time=allow_any_time, now=now, stats=stats))
    return samples, stats.skipped


# -- reading lines into samples ------------------------------------------------------------------


class _Reader:
    """Turns blocks of lines into Arrays (see the module), remembering the texts it has seen."""

    def __init__(
        self,
        path: Path,
        precision: str,
        allow_any_time: bool,
        now: float | None,
        known_hosts: Collection[str] | None,
        stats: ImportStats,
    ):
        if precision not in PRECISION_NS:
            raise UsageError(f"unknown precision {precision!r}: use one of s, ms, us, ns")
        now = time.time() if now is None else now
        self.path = path
        self.precision = precision
        self.factor = PRECISION_NS[precision]
        self.earliest_ns: float = -math.inf if allow_any_time else EARLIEST_S * _NS
        self.latest_ns: float = math.inf if allow_any_time else int(now * _NS) + FUTURE_SLACK_S * _NS
        self.problems = _Problems(path)
        self.times = _TimeCheck(precision, self.earliest_ns, self.latest_ns)
        self.known_hosts = known_hosts
        self.stats = stats
        self.fast = FAST_PATH
        self.parse = parse_line_fast if self.fast else parse_line
        self.pools: list[str] = []  # per series: its pool and canonical host
        self.hosts: list[str] = []
        self._series_of: dict[tuple[str, str], int] = {}
        self._series_text = _Texts(-1)
        self._fields_text = _Texts(-1)
        self._field_of: dict[tuple[bool, float | None], int] = {}
        self._field_up: list[bool] = []
        self._field_rtt: list[float] = []
        self._field_arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._time_text = _Texts(_MISSING)
        self.number = 0  # lines read

    def blocks(self, source: Input, on_progress: Callable[[int], None] | None = None) -> Iterator[Arrays]:
        for block, done in line_blocks(source):
            if block is None:
                self.number += 1
                self.problems.add(self.number, f"longer than {MAX_LINE_BYTES:,} bytes: not a line of points")
            else:
                first = self.number + 1
                self.number += block.count(b"\n") + 1
                arrays = self._vector(block, first) if self.fast and _is_plain(block) else None
                if arrays is None:
                    arrays = self._lines(block, first)
                self.stats.samples += len(arrays.time)
                if len(arrays.time):
                    yield arrays
            self.stats.lines = self.number
            if on_progress is not None:
                on_progress(done)

    def finish(self) -> None:
        """At the end of the input: MalformedImportError when any line was malformed."""
        if self.problems.count:
            raise MalformedImportError(self.problems.report(self.times.hint(self.path)))

    # -- a block of plain lines, vectorised

    def _vector(self, block: bytes, first: int) -> Arrays | None:
        """The block's samples, or None when a line has an empty section (not plain after all)."""
        tokens = block.split()
        count = block.count(b"\n") + 1
        if len(tokens) != 3 * count:
            return None  # a line with an empty section: not plain after all
        series = np.fromiter(map(self._series_text.__getitem__, tokens[0::3]), np.int64, count)
        fields = np.fromiter(map(self._fields_text.__getitem__, tokens[1::3]), np.int64, count)
        times = self._time_runs(block, tokens, count)
        if times is None:
            time_texts = tokens[2::3]
            new_times = set(time_texts) - self._time_text.keys()
            if new_times:
                self._learn_times(new_times)
            times = np.fromiter(map(self._time_text.__getitem__, time_texts), np.int64, count)
        careful = np.flatnonzero((series < 0) | (fields < 0) | (times == _MISSING))
        valid = np.ones(count, dtype=bool)
        series_get, fields_get, times_get = self._series_text.get, self._fields_text.get, self._time_text.get
        for index in careful.tolist():
            # A text first seen earlier in this block is known by now: look again before parsing.
            known_series = series_get(tokens[3 * index])
            known_time = times_get(tokens[3 * index + 2])
            known_fields = fields_get(tokens[3 * index + 1])
            if known_series is not None and known_time is not None and known_fields is not None:
                series[index], times[index], fields[index] = known_series, known_time, known_fields
                continue
            found = self._careful(decoded(b" ".join(tokens[3 * index : 3 * index + 3])), first + index)
            if found is None:
                valid[index] = False
            else:
                series[index], times[index], fields[index] = found
        if len(careful) and not valid.all():
            series, fields, times = series[valid], fields[valid], times[valid]
            lines = first + np.flatnonzero(valid)
        else:
            lines = np.arange(first, first + count, dtype=np.int64)
        up, rtt = self._fields()
        return Arrays(series, times, up[fields], rtt[fields], lines)

    def _time_runs(self, block: bytes, tokens: list[bytes], count: int) -> np.ndarray | None:
        """The block's times when its lines come in runs of one timestamp (a sweep after another): each
        run found by searching the block for its text, no look-up per line. None otherwise."""
        values: list[int] = []
        lengths: list[int] = []
        line = 0
        while line < count:
            if len(values) == 16:
                return None  # many short runs: a look-up per line is cheaper
            text = tokens[3 * line + 2]
            value = self._time_text.get(text)
            if value is None:
                self._learn_times({text})
                value = self._time_text.get(text)
                if value is None:
                    return None
            pattern = b" " + text + b"\n"
            at_end = block.endswith(pattern[:-1])
            last = block.rfind(pattern)
            if at_end:
                last_line = count - 1
            elif last >= 0:
                last_line = block.count(b"\n", 0, last + len(pattern) - 1)
            else:
                return None
            if block.count(pattern) + at_end != last_line - line + 1:
                return None  # the run is not contiguous
            values.append(value)
            lengths.append(last_line - line + 1)
            line = last_line + 1
        return np.repeat(np.array(values, dtype=np.int64), lengths)

    def _learn_times(self, texts: set[bytes]) -> None:
        """Timestamps not seen before: in the dictionary when plausible (others go to the careful parser)."""
        if len(self._time_text) + len(texts) > CACHE_ENTRIES:
            self._time_text.clear()
        for text in texts:
            if not text.isdigit() or len(text) > 30:
                continue  # "+5", "-5", "1_000", a 400-digit number: the careful parser decides
            written = int(text)
            time_ns = written * self.factor
            if self.earliest_ns <= time_ns <= self.latest_ns:
                self._time_text[text] = time_ns // _NS
                self.times.plausible = True

    def _fields(self) -> tuple[np.ndarray, np.ndarray]:
        if self._field_arrays is None or len(self._field_arrays[0]) != len(self._field_up):
            self._field_arrays = (np.array(self._field_up, dtype=bool), np.array(self._field_rtt, dtype=np.float64))
        return self._field_arrays

    # -- any other block, a line at a time

    def _lines(self, block: bytes, first: int) -> Arrays:
        series: list[int] = []
        times: list[int] = []
        fields: list[int] = []
        lines: list[int] = []
        series_get, fields_get, times_get = self._series_text.get, self._fields_text.get, self._time_text.get
        fast = self.fast
        for offset, raw in enumerate(block.split(b"\n")):
            number = first + offset
            if fast:
                sections = raw.split(b" ")
                if len(sections) == 3:
                    found_series, found_fields = series_get(sections[0]), fields_get(sections[1])
                    if found_series is not None and found_fields is not None:
                        found_time = times_get(sections[2])
                        if found_time is None and b"\\" not in raw and b'"' not in raw:
                            self._learn_times({sections[2]})
                            found_time = times_get(sections[2])
                        if found_time is not None:
                            series.append(found_series)
                            times.append(found_time)
                            fields.append(found_fields)
                            lines.append(number)
                            continue
            found = self._careful(decoded(raw), number)
            if found is not None:
                series.append(found[0])
                times.append(found[1])
                fields.append(found[2])
                lines.append(number)
        up, rtt = self._fields()
        field_index = np.array(fields, dtype=np.int64)
        return Arrays(
            np.array(series, dtype=np.int64),
            np.array(times, dtype=np.int64),
            up[field_index],
            rtt[field_index],
            np.array(lines, dtype=np.int64),
        )

    def _careful(self, line: str, number: int) -> tuple[int, int, int] | None:
        """One line through the careful parser: (series, time, fields) of a ping sample, or None (a
        comment, a blank line, another measurement, a malformed line: counted)."""
        if line.startswith(BAD):
            self.problems.add(number, line[1:])
            return None
        try:
            point = self.parse(line, number, self.precision)
            if point is None:
                return None
            if point.measurement != PING.name:
                self.stats.skipped += 1
                return None
            sample = _as_sample(point, number)
            self.times.check(point, number)
        except LineProtocolError as err:
            self.problems.add(number, str(err).split(": ", 1)[1])
            return None
        self.times.plausible = True
        series = self._series(sample.pool, sample.host)
        fields = self._field(sample.up, sample.rtt_ms)
        if self.fast and "\\" not in line and '"' not in line:
            sections = line.split(" ")
            if len(sections) == 3 and all(sections):
                if len(self._series_text) >= CACHE_ENTRIES:
                    self._series_text.clear()
                if len(self._fields_text) >= CACHE_ENTRIES:
                    self._fields_text.clear()
                if len(self._time_text) >= CACHE_ENTRIES:
                    self._time_text.clear()
                self._series_text[sections[0].encode()] = series
                self._fields_text[sections[1].encode()] = fields
                self._time_text[sections[2].encode()] = sample.time
        return series, sample.time, fields

    def _series(self, pool: str, host: str) -> int:
        key = (pool, host)
        found = self._series_of.get(key)
        if found is None:
            found = self._series_of[key] = len(self.pools)
            self.pools.append(pool)
            self.hosts.append(host)
            unknown = self.stats.unknown_hosts
            if (
                self.known_hosts is not None
                and host not in self.known_hosts
                and len(unknown) < ImportStats.MAX_UNKNOWN_HOSTS
            ):
                unknown.add(host)
        return found

    def _field(self, up: int, rtt: float | None) -> int:
        key = (bool(up), rtt)
        found = self._field_of.get(key)
        if found is None:
            found = self._field_of[key] = len(self._field_up)
            self._field_up.append(bool(up))
            self._field_rtt.append(math.nan if rtt is None else rtt)
        return found

    def conflict(self, found: Conflict, host_name: Callable[[int], str], pool_name: Callable[[int], str]) -> str:
        """One sentence naming a Conflict's two samples, in the file's terms."""
        when = dt.datetime.fromtimestamp(found.time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def described(pool: int, up: int, code: int) -> str:
            rtt = rtt_value(code)
            return f"pool {pool_name(pool)}, up={up}" + (f", rtt_ms={rtt:g}" if up and rtt is not None else "")

        new = found.new
        old = described(found.old.pool, found.old.slot.up, found.old.slot.code)
        other = (
            f"line {found.old_line} ({old})"
            if found.old_line is not None and found.old_line >= 0
            else f"the measured sample already stored ({old})"
        )
        return (
            f"{self.path}:{new.line}: host {host_name(found.host)} at {when} "
            f"({described(new.pool, new.slot.up, new.slot.code)}) conflicts with {other}: one host has one "
            "state a second; nothing imported"
        )


class _Texts(dict[bytes, int]):
    """Texts seen before and what they gave; a text not seen reads as ``missing`` (and is not added):
    ``map(texts.__getitem__, …)`` runs at C speed, twice as fast as ``get`` with a default."""

    def __init__(self, missing: int):
        super().__init__()
        self.missing = missing

    def __missing__(self, key: bytes) -> int:
        return self.missing


def _is_plain(block: bytes) -> bool:
    """Whether every line of the block has two spaces, no other white space and nothing to unescape
    (``_vector`` then checks that no section is empty)."""
    if b"\\" in block or b'"' in block or b"#" in block:
        return False
    separators = block.translate(None, _NOT_WHITESPACE)
    return len(separators) % 3 == 2 and separators == b"  \n" * (len(separators) // 3) + b"  "


class _Problems:
    """The malformed lines: the first MAX_REPORTED_ERRORS as messages, and how many there are."""

    def __init__(self, path: Path):
        self.path = path
        self.shown: list[tuple[int, str]] = []
        self.count = 0

    def add(self, number: int, message: str) -> None:
        self.count += 1
        self.shown.append((number, f"{self.path}:{number}: {message}"))
        if len(self.shown) > 4 * MAX_REPORTED_ERRORS:
            self.shown = sorted(self.shown)[:MAX_REPORTED_ERRORS]

    def report(self, hint: str | None) -> str:
        shown = [message for _, message in sorted(self.shown)[:MAX_REPORTED_ERRORS]]
        more = self.count - len(shown)
        lines = shown + ([f"… and {more} more malformed lines"] if more > 0 else []) + ([hint] if hint else [])
        return "nothing imported; malformed lines:\n" + "\n".join(lines)


class _TimeCheck:
    """Refuses implausible timestamps, and remembers enough of them to say when they all look
    like a --precision mistake."""

    def __init__(self, precision: str, earliest_ns: float, latest_ns: float):
        self.precision = precision
        self.factor = PRECISION_NS[precision]
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
            for unit, factor in PRECISION_NS.items():
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
    return Sample(
        point.time_ns // _NS, unicodedata.normalize("NFC", pool), canonical_host(host), int(up), rtt if up else None
    )


def canonical_host(host: str) -> str:
    """A host name as the config and the collector write it: an IP address in its canonical form
    (``FD00:0::1`` -> ``fd00::1``), a DNS name in lower case without a final dot (``PC-1.Example.`` ->
    ``pc-1.example``)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        return host
    return host.rstrip(".").lower() or host
