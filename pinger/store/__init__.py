"""Storage backends behind two small interfaces (``interface``); the open functions pick the configured backend."""

from __future__ import annotations

from pinger.config import Config

from .interface import HistoryStore, SweepStore
from .sqlite import Access, SqliteStore

__all__ = ["Access", "HistoryStore", "SweepStore", "open_history_store", "open_sweep_store"]


def open_sweep_store(config: Config) -> SweepStore:
    """The collector's store. With InfluxDB, a background thread delivers the spooled sweeps."""
    if config.storage.backend == "influxdb":
        from .influx import InfluxStore

        return InfluxStore(config, deliver=True)
    return SqliteStore(config.storage.path, config.timezone)


def open_history_store(config: Config, access: Access) -> HistoryStore:
    """The store the aggregator ("write"), the export ("read") and the import ("create") use; one-shot,
    it delivers in line. Only "create" makes a SQLite store that is not there (see SqliteStore)."""
    if config.storage.backend == "influxdb":
        from .influx import InfluxStore

        return InfluxStore(config, deliver=False)
    return SqliteStore(config.storage.path, config.timezone, access)
