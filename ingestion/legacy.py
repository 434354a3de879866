"""Import the first system's backup (its Django ``dumpdata`` fixture): a Pinger config and the history as samples.

Two steps, so that bad input is refused before anything is written:

1. ``scan_dump`` reads the fixture once, streaming (``legacy_dump``), checks every record, and
   spools the computer days and intervals into a temporary SQLite file; then checks references
   and overlaps there, in each computer's time order. Memory holds the pools and computers, not
   the intervals.
2. ``_write_history`` turns each computer's intervals into samples (``legacy_samples``) on the
   grid of the first system's cadence: into the SQLite store as packed rows a block of sweep times
   at a time (``legacy_write``, NumPy), into any other store a host after another through
   ``HistoryStore.write_samples`` in batches of about BATCH_SAMPLES; one transaction per batch.

The samples are marked reconstructed, and measured samples win (the store's merge rule): where
the collector measured a computer within ``aggregate.hold`` of a grid time, the reconstructed
sample is left out and counted. The samples lie on the clock-aligned grid, so importing the same
dump again writes the same (host, time) keys: nothing is stored twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pinger.config import Config, StorageSettings
from pinger.config_load import parse_config
from pinger.config_values import MAX_WATTS, InvalidValue, ipv4, ipv6, pool_name
from pinger.errors import LegacyDumpError, UsageError
from pinger.localtime import local_day
from pinger.models import SampleRow
from pinger.output import write_text
from pinger.progress import Progress
from pinger.store import open_history_store
from pinger.store.sqlite import SqliteStore
from pinger.time_limits import EARLIEST_S, FUTURE_SLACK_S

from .legacy_config import LegacyPool, config_text
from .legacy_dump import FixtureRecord, fits_a_key, read_fixture
from .legacy_samples import Grid, grid_around, merge_midnight_splits, states_on_grid

log = logging.getLogger("pinger.import")

APP = "pingerservice"
MODELS = ("pool", "computer", "computerday", "interval")
_BATCH = 50_000  # spooled records per insert while reading
BATCH_SAMPLES = 10_000_000  # samples per transaction of the store (SQLite: a write-ahead log of ~0.5 GB)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


class Computer(NamedTuple):
    pk: int
    record: int
    pool_pk: int
    host: str  # the address in canonical text, as the config and the samples write it


class DumpScan(NamedTuple):
    """What the dump holds, checked. ``spool`` is the temporary SQLite file with the table
    ``ordered`` (computer, start_ms, end_ms or NULL while open, record, pk) in each computer's
    time order; it lives as long as ``scan_dump``'s caller keeps its directory."""

    pools: tuple[LegacyPool, ...]  # in database (pk) order, each with its computers
    empty_pools: tuple[str, ...]  # pools without computers: a Pinger pool needs a host
    computers: dict[int, Computer]
    intervals: int
    open_intervals: int
    first_ms: int | None  # the oldest and newest instant anywhere in the dump; None without intervals
    last_ms: int | None
    skipped: int  # records of other apps' models
    spool: Path


class LegacyImport(NamedTuple):
    """What an import did; ``first_day``/``last_day``: the local days the samples cover (None: no samples);
    ``kept_measured``: samples left out where the store had measured ones (measured wins)."""

    config: Config
    config_written: Path | None
    hosts: int
    samples: int
    midnight_splits: int
    first_day: dt.date | None
    last_day: dt.date | None
    kept_measured: int = 0


def _refuse(scan_path: Path, record: FixtureRecord | tuple[int, str, int], message: str) -> LegacyDumpError:
    number, model, pk = record[:3]
    return LegacyDumpError(f"{scan_path}: record {number} ({model} pk {pk}): {message}")


_KINDS = {int: "a whole number", str: "text", bool: "true or false"}


def _field(path: Path, record: FixtureRecord, name: str, kind: type, *, nullable: bool = False) -> Any:
    """A field of the record, checked to be of the kind the first system's model gives it."""
    if name not in record.fields:
        raise _refuse(path, record, f"field {name} is missing")
    value = record.fields[name]
    if value is None and nullable:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        long_number = isinstance(value, int) and not fits_a_key(value)
        shown = "a number that long" if long_number else json.dumps(value)
        raise _refuse(path, record, f"field {name} must be {_KINDS[kind]}, not {shown}")
    if isinstance(value, int) and not fits_a_key(value):
        raise _refuse(path, record, f"field {name} is larger than a database key (64 bits) can be")
    return value


def parse_instant_ms(text: str) -> int:
    """An ISO 8601 timestamp as the first system writes it ("2026-10-20T05:40:12.069Z") in unix
    milliseconds; one without an offset is UTC (the first system runs with TIME_ZONE UTC)."""
    found = dt.datetime.fromisoformat(text)
    if found.tzinfo is None:
        found = found.replace(tzinfo=dt.UTC)
    return (found - _EPOCH) // _MS


def canonical_address(text: str) -> str:
    """A computer's ip as Pinger writes it; InvalidValue when it is no address Pinger can ping."""
    text = text.strip()
    return str(ipv6(text)) if ":" in text else str(ipv4(text))


def scan_dump(path: Path, spool_dir: Path, *, now: float | None = None) -> DumpScan:
    """Read and check the whole dump; raise LegacyDumpError naming the first bad record. Instants
    before EARLIEST_S or more than FUTURE_SLACK_S after ``now`` (default: the clock) are refused."""
    latest_ms = int(((time.time() if now is None else now) + FUTURE_SLACK_S) * 1000)
    size = os.stat(path).st_size if path.exists() else 0
    progress = Progress(size, f"read {path.name}")
    spool = spool_dir / "legacy-spool.sqlite"
    db = sqlite3.connect(spool, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE day (pk INTEGER, computer INTEGER, record INTEGER, date INTEGER)")
        db.execute("CREATE TABLE interval (pk INTEGER, day INTEGER, start INTEGER, end INTEGER, record INTEGER)")
        db.execute("BEGIN")
        scan = _read(path, db, progress, spool, latest_ms)
        db.execute("COMMIT")
        _check_spooled(path, db, scan.computers)
        return scan
    finally:
        db.close()


def _read(path: Path, db: sqlite3.Connection, progress: Progress, spool: Path, latest_ms: int) -> DumpScan:
    reader = _DumpReader(path, db, latest_ms)
    for record in read_fixture(path, on_progress=lambda done: progress.update(done, "characters")):
        reader.take(record)
    return reader.finish(spool)


class _DumpReader:
    """The scan's state while the dump streams past: pools and computers are kept (checked as they come),
    computer days and intervals go to the spool in batches of _BATCH; each model of the first system has
    its step, and records of other apps are counted and passed over."""

    def __init__(self, path: Path, db: sqlite3.Connection, latest_ms: int):
        self.path = path
        self.db = db
        self.latest_ms = latest_ms
        self.pools: dict[int, tuple[FixtureRecord, str, int, str, bool]] = {}
        self.pool_names: dict[str, FixtureRecord] = {}
        self.computers: dict[int, Computer] = {}
        self.by_host: dict[str, Computer] = {}
        self.days: list[tuple[int, int, int, int]] = []
        self.intervals: list[tuple[int, int, int, int | None, int]] = []
        self.count = self.open_count = self.skipped = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self._steps: dict[str, Callable[[FixtureRecord], None]] = {
            "interval": self._interval,
            "computerday": self._computer_day,
            "computer": self._computer,
            "pool": self._pool,
        }

    def take(self, record: FixtureRecord) -> None:
        app, _, model = record.model.partition(".")
        if app != APP:
            self.skipped += 1
            return
        step = self._steps.get(model)
        if step is None:
            raise _refuse(self.path, record, f"unknown model: the first system's dump has {', '.join(MODELS)}")
        step(record)

    def _interval(self, record: FixtureRecord) -> None:
        day = _field(self.path, record, "day", int)
        start, end = self._instants(record)
        newest = start if end is None else end
        self.first_ms = start if self.first_ms is None else min(start, self.first_ms)
        self.last_ms = newest if self.last_ms is None else max(newest, self.last_ms)
        self.count += 1
        self.open_count += end is None
        self.intervals.append((record.pk, day, start, end, record.number))
        if len(self.intervals) >= _BATCH:
            self.db.executemany("INSERT INTO interval VALUES (?, ?, ?, ?, ?)", self.intervals)
            self.intervals.clear()

    def _instants(self, record: FixtureRecord) -> tuple[int, int | None]:
        """An interval's start and end (None: still open) in unix ms, each a plausible time, in order."""
        path = self.path
        try:
            start = parse_instant_ms(_field(path, record, "start_time", str))
            end_text = _field(path, record, "end_time", str, nullable=True)
            end = None if end_text is None else parse_instant_ms(end_text)
        except ValueError as err:
            raise _refuse(path, record, f"a time that is not ISO 8601 ({err})") from None
        for name, instant in (("start_time", start), ("end_time", end)):
            if instant is not None and not EARLIEST_S * 1000 <= instant <= self.latest_ms:
                when = "before 2000-01-01T00:00:00Z" if instant < EARLIEST_S * 1000 else "more than a day after now"
                raise _refuse(path, record, f"{name} {record.fields[name]} is {when}")
        if end is not None and end < start:
            raise _refuse(path, record, "end_time before start_time")
        return start, end

    def _computer_day(self, record: FixtureRecord) -> None:
        computer = _field(self.path, record, "computer", int)
        date = _field(self.path, record, "date", str)
        try:
            epoch_day = (dt.date.fromisoformat(date) - _EPOCH.date()).days
        except ValueError:
            raise _refuse(self.path, record, f"date {date!r} is not YYYY-MM-DD") from None
        self.days.append((record.pk, computer, record.number, epoch_day))
        if len(self.days) >= _BATCH:
            self.db.executemany("INSERT INTO day VALUES (?, ?, ?, ?)", self.days)
            self.days.clear()

    def _computer(self, record: FixtureRecord) -> None:
        path, by_host = self.path, self.by_host
        pool_pk = _field(path, record, "pool", int)
        try:
            host = canonical_address(_field(path, record, "ip", str))
        except InvalidValue as err:
            raise _refuse(path, record, f"ip: {err}") from None
        if record.pk in self.computers:
            raise _refuse(path, record, f"pk given twice (also record {self.computers[record.pk].record})")
        if host in by_host:
            raise _refuse(
                path, record, f"ip {host} is also computer pk {by_host[host].pk} (record {by_host[host].record})"
            )
        self.computers[record.pk] = by_host[host] = Computer(record.pk, record.number, pool_pk, host)

    def _pool(self, record: FixtureRecord) -> None:
        path, pool_names = self.path, self.pool_names
        try:
            name = pool_name(_field(path, record, "room_no", str))
        except InvalidValue as err:
            raise _refuse(path, record, f"room_no: Pinger cannot take it as a pool name: {err}") from None
        watts = _field(path, record, "pc_power_consumption", int)
        if not 0 <= watts <= MAX_WATTS:
            raise _refuse(path, record, f"pc_power_consumption {watts} is not 0 to {MAX_WATTS:g} watts")
        if record.pk in self.pools:
            raise _refuse(path, record, f"pk given twice (also record {self.pools[record.pk][0].number})")
        if name in pool_names:
            raise _refuse(
                path,
                record,
                f"room_no {name!r} is also pool pk {pool_names[name].pk} (record {pool_names[name].number})",
            )
        pool_names[name] = record
        self.pools[record.pk] = (
            record,
            name,
            watts,
            _field(path, record, "keyboard_layout", str),
            _field(path, record, "printer", bool),
        )

    def finish(self, spool: Path) -> DumpScan:
        """Spool what is left, check that each computer's pool is in the dump, and say what the dump holds."""
        self.db.executemany("INSERT INTO interval VALUES (?, ?, ?, ?, ?)", self.intervals)
        self.db.executemany("INSERT INTO day VALUES (?, ?, ?, ?)", self.days)
        pools = self.pools
        hosts: dict[int, list[str]] = {pk: [] for pk in pools}
        for computer in sorted(self.computers.values(), key=lambda c: c.pk):
            if computer.pool_pk not in pools:
                raise _refuse(
                    self.path,
                    (computer.record, f"{APP}.computer", computer.pk),
                    f"its pool pk {computer.pool_pk} is not in the dump",
                )
            hosts[computer.pool_pk].append(computer.host)
        legacy_pools = tuple(
            LegacyPool(pk, name, watts, keyboard, printer, tuple(hosts[pk]))
            for pk, (_, name, watts, keyboard, printer) in sorted(pools.items())
        )
        return DumpScan(
            tuple(pool for pool in legacy_pools if pool.hosts),
            tuple(pool.name for pool in legacy_pools if not pool.hosts),
            self.computers,
            self.count,
            self.open_count,
            self.first_ms,
            self.last_ms,
            self.skipped,
            spool,
        )


def _check_spooled(path: Path, db: sqlite3.Connection, computers: dict[int, Computer]) -> None:
    """References between the spooled records, duplicate pks, intervals off their day or far from all the
    others (a mistyped date: 2016 for 2026 would stretch every host's samples over ten years), and
    overlapping intervals of a computer."""
    db.execute("CREATE INDEX day_pk ON day (pk)")
    duplicate = db.execute(
        "SELECT b.record, b.pk, a.record FROM day a JOIN day b "
        "ON a.pk = b.pk AND a.record < b.record ORDER BY b.record LIMIT 1"
    ).fetchone()
    if duplicate:
        raise _refuse(
            path, (duplicate[0], f"{APP}.computerday", duplicate[1]), f"pk given twice (also record {duplicate[2]})"
        )
    try:
        db.execute("CREATE UNIQUE INDEX interval_pk ON interval (pk)")
    except sqlite3.IntegrityError:
        pk, earlier, later = db.execute(
            "SELECT pk, min(record), max(record) FROM interval GROUP BY pk HAVING count(*) > 1 "
            "ORDER BY max(record) LIMIT 1"
        ).fetchone()
        raise _refuse(path, (later, f"{APP}.interval", pk), f"pk given twice (also record {earlier})") from None
    db.execute("CREATE TEMP TABLE known (pk INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO known VALUES (?)", ((pk,) for pk in computers))
    orphan = db.execute(
        "SELECT record, pk, computer FROM day WHERE computer NOT IN (SELECT pk FROM known) ORDER BY record LIMIT 1"
    ).fetchone()
    if orphan:
        raise _refuse(
            path, (orphan[0], f"{APP}.computerday", orphan[1]), f"its computer pk {orphan[2]} is not in the dump"
        )
    orphan = db.execute(
        "SELECT i.record, i.pk, i.day FROM interval i LEFT JOIN day d ON d.pk = i.day "
        "WHERE d.pk IS NULL ORDER BY i.record LIMIT 1"
    ).fetchone()
    if orphan:
        raise _refuse(path, (orphan[0], f"{APP}.interval", orphan[1]), f"its day pk {orphan[2]} is not in the dump")
    db.execute(
        "CREATE TABLE ordered (computer INTEGER, start INTEGER, end INTEGER, record INTEGER, pk INTEGER, "
        "day INTEGER, date INTEGER, PRIMARY KEY (computer, start, record)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO ordered SELECT d.computer, i.start, i.end, i.record, i.pk, d.pk, d.date "
        "FROM interval i JOIN day d ON d.pk = i.day ORDER BY d.computer, i.start, i.record"
    )
    db.execute("DROP TABLE interval")
    _check_interval_days(path, db)
    _check_far_from_the_rest(path, db)
    previous: tuple[int, int, int | None, int, int] | None = None
    for row in db.execute("SELECT computer, start, end, record, pk FROM ordered"):
        if previous is not None and previous[0] == row[0] and (previous[2] is None or row[1] < previous[2]):
            later, earlier = (row, previous) if row[3] > previous[3] else (previous, row)
            raise _refuse(
                path,
                (later[3], f"{APP}.interval", later[4]),
                f"overlaps interval pk {earlier[4]} (record {earlier[3]}) of computer "
                f"{computers[row[0]].host}" + (", which is still open" if previous[2] is None else ""),
            )
        previous = row


_DAY_MS = 86_400_000
DAY_SLACK = 1  # an interval may lie a day off the date of its computer day (a system not quite on UTC)
MAX_APART_DAYS = 366  # intervals more than a year away from all the others are taken for a mistyped date


def _check_interval_days(path: Path, db: sqlite3.Connection) -> None:
    """Each interval lies on its computer day (the UTC date it started on, its end on that day too, a
    midnight split closing it at 23:59:59), give or take DAY_SLACK: else its date is mistyped."""
    found = db.execute(
        "SELECT record, pk, start, end, day, date FROM ordered "
        "WHERE start < (date - ?) * ? OR start >= (date + 1 + ?) * ? "
        "OR (end IS NOT NULL AND end >= (date + 1 + ?) * ?) ORDER BY record LIMIT 1",
        (DAY_SLACK, _DAY_MS, DAY_SLACK, _DAY_MS, DAY_SLACK, _DAY_MS),
    ).fetchone()
    if found is None:
        return
    record, pk, start, end, day, date = found
    start_off = not (date - DAY_SLACK) * _DAY_MS <= start < (date + 1 + DAY_SLACK) * _DAY_MS
    name, instant = ("start_time", start) if start_off else ("end_time", end)
    raise _refuse(
        path,
        (record, f"{APP}.interval", pk),
        f"{name} {_iso_ms(instant)} is not on its day (computerday pk {day}, "
        f"{_EPOCH.date() + dt.timedelta(days=date)}): a mistyped date?",
    )


def _check_far_from_the_rest(path: Path, db: sqlite3.Connection) -> None:
    """Refuse the intervals on one side of a gap of more than MAX_APART_DAYS between the days that have
    intervals, on the side holding fewer of them, naming the one nearest the gap: a date mistyped in both
    an interval and its day (2016 for 2026) leaves it alone in its year."""
    days = db.execute("SELECT start / ? AS day, count(*) FROM ordered GROUP BY day ORDER BY day", (_DAY_MS,)).fetchall()
    if len(days) < 2:
        return
    widest = max(range(1, len(days)), key=lambda index: days[index][0] - days[index - 1][0])
    apart = days[widest][0] - days[widest - 1][0]
    if apart <= MAX_APART_DAYS:
        return
    before = sum(count for _, count in days[:widest])
    after = sum(count for _, count in days[widest:])
    boundary = days[widest][0] * _DAY_MS
    if before <= after:  # the earlier side is the odd one out: its latest interval
        others = (days[widest][0], days[-1][0])
        record, pk, start = db.execute(
            "SELECT record, pk, start FROM ordered WHERE start < ? ORDER BY start DESC, record LIMIT 1", (boundary,)
        ).fetchone()
        where = "before"
    else:
        others = (days[0][0], days[widest - 1][0])
        record, pk, start = db.execute(
            "SELECT record, pk, start FROM ordered WHERE start >= ? ORDER BY start, record LIMIT 1", (boundary,)
        ).fetchone()
        where = "after"
    first, last = (_EPOCH.date() + dt.timedelta(days=day) for day in others)
    raise _refuse(
        path,
        (record, f"{APP}.interval", pk),
        f"starts {_EPOCH.date() + dt.timedelta(days=start // _DAY_MS)}, {apart:,} days {where} the dump's other "
        f"intervals ({first} to {last}): more than a year apart, a mistyped date?",
    )


def _iso_ms(instant_ms: int) -> str:
    """An instant as the first system writes it: 2026-10-20T05:40:12.069Z."""
    moment = _EPOCH + dt.timedelta(milliseconds=instant_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_existing_config(scan: DumpScan, config: Config) -> dict[str, str]:
    """host -> the config's pool holding it; UsageError listing the dump's computers the config lacks."""
    pool_of = {host.name: pool.name for pool in config.pools for host in pool.hosts}
    missing = sorted(
        (computer.host for computer in scan.computers.values() if computer.host not in pool_of),
        key=lambda host: (":" in host, host),
    )
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise UsageError(
            f"{config.source} lacks {len(missing)} of the dump's {len(scan.computers)} computers "
            f"(add them to its pools): {shown}"
        )
    return pool_of


def host_batches(scan: DumpScan, grid: Grid) -> list[list[Computer]]:
    """The computers in the store's key order (by host name), in batches of about BATCH_SAMPLES
    samples: each batch is one transaction, which bounds the store's write-ahead log."""
    by_host = sorted(scan.computers.values(), key=lambda computer: computer.host)
    size = max(1, BATCH_SAMPLES // grid.size)
    return [by_host[index : index + size] for index in range(0, len(by_host), size)]


def history_samples(
    scan: DumpScan,
    pool_of: dict[str, str],
    grid: Grid,
    computers: Sequence[Computer],
    on_host: Callable[[int], None] | None = None,
) -> Iterator[SampleRow]:
    """The computers' samples on the grid: a host after another, in the order given, each in time
    order; the pool is the one ``pool_of`` gives the host. ``on_host(midnight_splits_merged)`` is
    called as each host starts. Plain tuples in Sample's field order (SampleRow): no record per sample."""
    db = sqlite3.connect(scan.spool, isolation_level=None)
    last_open = (scan.last_ms or 0) + 1

    def one_host(computer: Computer) -> Iterator[SampleRow]:
        found = db.execute(
            "SELECT start, end FROM ordered WHERE computer = ? ORDER BY start, record", (computer.pk,)
        ).fetchall()
        # An interval still open runs to the dump's last instant, inclusive: [start, last + 1 ms).
        intervals = [(start, last_open if end is None else end) for start, end in found]
        merged = list(merge_midnight_splits(intervals))
        if on_host is not None:
            on_host(len(intervals) - len(merged))
        states = states_on_grid(grid, merged)
        return zip(grid.times(), repeat(pool_of[computer.host]), repeat(computer.host), states, repeat(None))

    try:
        yield from chain.from_iterable(map(one_host, computers))
    finally:
        db.close()


def import_legacy(
    dump: Path,
    *,
    timezone: str | None,
    interval_s: int,
    config_out: Path | None = None,
    force: bool = False,
    existing: Config | None = None,
    today: dt.date | None = None,
) -> LegacyImport:
    """Check the dump, write the config (unless ``existing`` is given), write the samples into the
    config's store; the caller aggregates ``first_day`` to ``last_day``."""
    if existing is None and config_out is None:
        raise UsageError("give --config-out FILE for the config to write, or -c FILE for an existing one")
    if existing is None and not timezone:
        raise UsageError("give --timezone ZONE: the config's days are local days of that zone")
    if existing is None and config_out is not None and config_out.exists() and not force:
        raise UsageError(f"{config_out} exists; pass --force to replace it")
    if existing is not None and timezone and timezone != existing.timezone.key:
        raise UsageError(
            f"--timezone {timezone} differs from {existing.source}'s timezone "
            f"{existing.timezone.key}; its daily rows are days of that zone"
        )
    if existing is not None and existing.aggregate.hold * 2 < interval_s:
        raise UsageError(
            f"{existing.source} has aggregate.hold {existing.aggregate.hold:g}s, less than half of "
            f"--interval {interval_s}s: samples that far apart leave unobserved gaps between them; "
            f"set aggregate.hold to at least {interval_s / 2:g}s"
        )
    if not dump.is_file():
        raise UsageError(f"{dump} is not a file")
    with tempfile.TemporaryDirectory(prefix="pinger-legacy-") as spool_dir:
        scan = scan_dump(dump, Path(spool_dir))
        log.info(
            "%s: %d pools, %d computers, %d intervals (%d still open)%s",
            dump.name,
            len(scan.pools),
            len(scan.computers),
            scan.intervals,
            scan.open_intervals,
            f"; skipped {scan.skipped} records of other apps" if scan.skipped else "",
        )
        for name in scan.empty_pools:
            log.warning("pool %s has no computers: left out (a Pinger pool needs at least one host)", name)
        written_to: Path | None = None
        if existing is None:
            assert config_out is not None and timezone
            text = config_text(
                scan.pools,
                source=dump.name,
                timezone=timezone,
                interval_s=interval_s,
                store_path=str(StorageSettings().path),
                left_out=scan.empty_pools,
                today=today,
            )
            config = parse_config(text, str(config_out), {})  # what check-config will say of the file
            write_text(config_out, text)
            written_to = config_out
            log.info("wrote %s (%d pools, %d hosts)", config_out, len(config.pools), config.host_count)
        else:
            config = existing
        pool_of = check_existing_config(scan, config)
        if scan.first_ms is None or scan.last_ms is None or not scan.computers:
            log.warning("%s has no intervals: no history to import", dump)
            return LegacyImport(config, written_to, len(scan.computers), 0, 0, None, None)
        grid = grid_around(scan.first_ms, scan.last_ms, interval_s)
        return _write_history(scan, config, pool_of, grid, written_to)


def _write_history(
    scan: DumpScan, config: Config, pool_of: dict[str, str], grid: Grid, written_to: Path | None
) -> LegacyImport:
    progress = Progress(len(scan.computers), "import-legacy")
    splits = done = written = 0

    def on_host(merged: int) -> None:
        nonlocal splits, done
        splits += merged
        progress.update(done, "hosts")
        done += 1

    # Validated input, and samples keyed by (host, time): a failure part way (a full disk) leaves
    # whole batches behind, which importing again replaces.
    store = open_history_store(config, "create")
    kept = duplicates = 0
    try:
        if isinstance(store, SqliteStore):
            written, kept, duplicates, splits = _write_packed(store, scan, config, pool_of, grid)
        else:
            for batch in host_batches(scan, grid):
                written += store.write_samples(history_samples(scan, pool_of, grid, batch, on_host))
            progress.update(len(scan.computers), "hosts")
    finally:
        store.close()
    tz: ZoneInfo = config.timezone
    log.info(
        "imported %d reconstructed ping samples of %d hosts every %ds from %s to %s (%d midnight splits merged)%s%s",
        written,
        len(scan.computers),
        grid.step,
        _utc(grid.first),
        _utc(grid.last),
        splits,
        f"; {kept} left out where the collector measured the host within aggregate.hold (measured samples win)"
        if kept
        else "",
        f"; {duplicates} were stored already" if duplicates else "",
    )
    return LegacyImport(
        config,
        written_to,
        len(scan.computers),
        written,
        splits,
        local_day(grid.first, tz),
        local_day(grid.last, tz),
        kept,
    )


def _write_packed(
    store: SqliteStore, scan: DumpScan, config: Config, pool_of: dict[str, str], grid: Grid
) -> tuple[int, int, int, int]:
    """The history into the SQLite store's packed rows (``legacy_write``): (samples, kept measured,
    duplicates, midnight splits)."""
    from .legacy_write import grid_intervals, write_history

    by_host = {computer.host: computer.pk for computer in scan.computers.values()}
    pools: list[tuple[str, list[str]]] = []
    columns: dict[int, int] = {}
    for pool in config.pools:
        hosts = [host.name for host in pool.hosts if host.name in by_host and pool_of.get(host.name) == pool.name]
        for host in hosts:
            columns[by_host[host]] = len(columns)
        if hosts:
            pools.append((pool.name, hosts))
    db = sqlite3.connect(scan.spool, isolation_level=None)
    try:
        intervals = grid_intervals(db, columns, grid, (scan.last_ms or 0) + 1)
    finally:
        db.close()
    progress = Progress(grid.size, "import-legacy")
    written = write_history(
        store, pools, intervals, grid, config.aggregate.hold, lambda done: progress.update(done, "sweep times")
    )
    return written.samples, written.kept_measured, written.duplicates, intervals.splits


def _utc(time_s: int) -> str:
    return dt.datetime.fromtimestamp(time_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
