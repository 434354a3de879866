"""Storage backends behind two small interfaces (``interface``); the open functions pick the configured backend."""

from __future__ import annotations

from pinger.config import Config

from .interface import HistoryStore, SweepStore
from .sqlite import Access, SqliteStore

__all__ = ["Access", "HistoryStore", "SweepStore", "newest_sweep_time", "open_history_store", "open_sweep_store"]


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


def newest_sweep_time(config: Config) -> int | None:
    """The scheduled time of the newest sweep this config's collector stored, as far as this machine knows:
    the SQLite store's newest ``collector`` row of its name, or with InfluxDB the newest sweep committed to
    the spool (delivered or not: InfluxDB itself may be away). None when there is none yet; StoreMissing
    when the store or spool is not there. Read-only."""
    if config.storage.backend == "influxdb" and config.storage.influxdb is not None:
        from .spool import newest_spooled_sweep

        return newest_spooled_sweep(config.storage.influxdb.spool, config.collector_name)
    store = SqliteStore(config.storage.path, config.timezone, "read")
    try:
        return store.newest_sweep(config.collector_name)
    finally:
        store.close()
