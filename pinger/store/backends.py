"""The store backends, one entry each: the one place that knows what ``storage.backend`` names.

Each ``Backend`` says how to open the collector's store (a SweepStore) and the history store (a
HistoryStore), which file on this machine it owns, and how to read the newest sweep this machine
stored for a collector. Callers take their config's entry (``backend_of``) and ask it; none of them
compares backend names. What only a store with an outbox can answer (its backlog, its spool's fill,
delivering what waits) is asked of the store itself, through the ``Spooled`` protocol
(``pinger.store.interface``).

The local file: the SQLite file, or the InfluxDB spool. The collector's lock lies beside it
(collector/lock.py), the collector stops when it is deleted or replaced under it
(collector/store_file.py), and no command's ``-o`` may name it (pinger/output.py). Every backend has
one: the lock needs a place.

A backend's module is imported when its entry is first used, not when this one is: a SQLite config
never loads influxdb_client, and the collector's start stays light.

A new backend: a module in ``pinger/store/`` implementing SweepStore and HistoryStore (and Spooled
if it keeps an outbox), an entry in BACKENDS, and its name in ``pinger.config.BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pinger.config import Config, InfluxSettings
from pinger.errors import StoreError

from .interface import Access, HistoryStore, SweepStore

if TYPE_CHECKING:
    from .influx import InfluxStore


class LocalFile(NamedTuple):
    """The file on this machine a backend owns, and what it is to the user ("the store", "the InfluxDB spool")."""

    role: str
    path: Path


class Rejections(NamedTuple):
    """Batches the server refused as malformed (an outbox keeps them in its 'rejected' table)."""

    batches: int
    newest_at: float | None
    reason: str | None


NO_REJECTIONS = Rejections(0, None, None)


class NewestSweep(NamedTuple):
    """What this machine knows of a collector's newest stored sweep (``pinger health``).

    ``time``: the sweep's scheduled time, None when the collector stored none yet. ``holder``: where it was
    read ("store", "spool"). ``collectors``: the names the holder has sweeps of (read at least when ``time``
    is None, so that a wrong ``collector.name`` can be named). ``rejections``: batches refused by the server.
    """

    time: int | None
    holder: str
    collectors: tuple[str, ...] = ()
    rejections: Rejections = NO_REJECTIONS


class Backend(NamedTuple):
    """One storage backend, as the rest of Pinger asks for it."""

    name: str
    sweep_store: Callable[[Config], SweepStore]  # the collector's (InfluxDB: with the delivery thread)
    history_store: Callable[[Config, Access], HistoryStore]  # one-shot commands' (InfluxDB: delivers in line)
    local_file: Callable[[Config], LocalFile]
    newest_sweep: Callable[[Config], NewestSweep]  # read-only; StoreMissing when the local file is not there
    describe: Callable[[Config], str]  # where sweeps go, for the collector's first log line


# -- SQLite -------------------------------------------------------------------------------------------------------


def _sqlite_history(config: Config, access: Access) -> HistoryStore:
    from .sqlite import SqliteStore

    return SqliteStore(config.storage.path, config.timezone, access)


def _sqlite_sweeps(config: Config) -> SweepStore:
    from .sqlite import SqliteStore

    return SqliteStore(config.storage.path, config.timezone)


def _sqlite_newest(config: Config) -> NewestSweep:
    """The store's newest ``collector`` row of this collector's name; the names it holds when there is none."""
    from .sqlite import SqliteStore

    store = SqliteStore(config.storage.path, config.timezone, "read")
    try:
        newest = store.newest_sweep(config.collector_name)
        return NewestSweep(newest, "store", store.collectors() if newest is None else ())
    finally:
        store.close()


SQLITE = Backend(
    name="sqlite",
    sweep_store=_sqlite_sweeps,
    history_store=_sqlite_history,
    local_file=lambda config: LocalFile("the store", config.storage.path),
    newest_sweep=_sqlite_newest,
    describe=lambda config: f"SQLite {config.storage.path}",
)


# -- InfluxDB -----------------------------------------------------------------------------------------------------


def _influx_settings(config: Config) -> InfluxSettings:
    if config.storage.influxdb is None:  # the config loader requires them; a Config built by hand may lack them
        raise StoreError("storage.backend is influxdb but storage.influxdb is not configured")
    return config.storage.influxdb


def _influx_store(config: Config, deliver: bool) -> InfluxStore:
    from .influx import InfluxStore

    return InfluxStore(config, deliver=deliver)


def _influx_newest(config: Config) -> NewestSweep:
    """The newest sweep committed to the spool, delivered or not (InfluxDB itself may be away), with the
    spool's collectors and the batches the server refused."""
    from .spool import newest_spooled_sweep, spool_summary

    spool = _influx_settings(config).spool
    newest = newest_spooled_sweep(spool, config.collector_name)
    summary = spool_summary(spool)
    rejections = Rejections(summary.rejected, summary.newest_rejected_at, summary.newest_reason)
    return NewestSweep(newest, "spool", summary.collectors, rejections)


def _influx_describe(config: Config) -> str:
    settings = _influx_settings(config)
    return f"InfluxDB {settings.url} bucket {settings.bucket} via spool {settings.spool}"


INFLUXDB = Backend(
    name="influxdb",
    sweep_store=lambda config: _influx_store(config, deliver=True),
    history_store=lambda config, _access: _influx_store(config, deliver=False),
    local_file=lambda config: LocalFile("the InfluxDB spool", _influx_settings(config).spool),
    newest_sweep=_influx_newest,
    describe=_influx_describe,
)


# One entry per name of pinger.config.BACKENDS, in its order (tests/test_store_backends.py holds it).
BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (SQLITE, INFLUXDB)}


def backend_of(config: Config) -> Backend:
    """The entry of the backend the config names."""
    return BACKENDS[config.storage.backend]
