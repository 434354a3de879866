"""Storage backends behind small interfaces (``interface``); ``backends`` knows which one a config names.

``open_sweep_store``, ``open_history_store`` and ``newest_sweep`` ask the configured backend's entry
(``pinger.store.backends``); a backend's module is imported when it is first opened.
"""

from __future__ import annotations

from pinger.config import Config

from .backends import Backend, LocalFile, NewestSweep, backend_of
from .interface import Access, HistoryStore, Spooled, SweepStore

__all__ = [
    "Access",
    "Backend",
    "HistoryStore",
    "LocalFile",
    "NewestSweep",
    "Spooled",
    "SweepStore",
    "backend_of",
    "newest_sweep",
    "open_history_store",
    "open_sweep_store",
]


def open_sweep_store(config: Config) -> SweepStore:
    """The collector's store. A Spooled one (InfluxDB) delivers its outbox from a background thread."""
    return backend_of(config).sweep_store(config)


def open_history_store(config: Config, access: Access) -> HistoryStore:
    """The store the aggregator ("write"), the export and report ("read") and the imports ("create") use;
    one-shot, a Spooled one delivers in line. Only "create" makes a SQLite store that is not there."""
    return backend_of(config).history_store(config, access)


def newest_sweep(config: Config) -> NewestSweep:
    """What this machine knows of the newest sweep this config's collector stored: the SQLite store's newest
    ``collector`` row of its name, or with InfluxDB the newest sweep committed to the spool (delivered or not:
    InfluxDB itself may be away). StoreMissing when the store or spool is not there. Read-only."""
    return backend_of(config).newest_sweep(config)
