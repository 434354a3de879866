"""Storage backends behind two small interfaces (``interface``); the open functions pick the configured backend."""

from __future__ import annotations

from pinger.config import Config

from .interface import HistoryStore, SweepStore
from .sqlite import SqliteStore

__all__ = ["HistoryStore", "SweepStore", "open_history_store", "open_sweep_store"]


def open_sweep_store(config: Config) -> SweepStore:
    """The collector's store. With InfluxDB, a background thread delivers the spooled sweeps."""
    if config.storage.backend == "influxdb":
        from .influx import InfluxStore

        return InfluxStore(config, deliver=True)
    return SqliteStore(config.storage.path, config.timezone)


def open_history_store(config: Config) -> HistoryStore:
    """The store the aggregator, the export and the import read and write; one-shot, it delivers in line."""
    if config.storage.backend == "influxdb":
        from .influx import InfluxStore

        return InfluxStore(config, deliver=False)
    return SqliteStore(config.storage.path, config.timezone)
