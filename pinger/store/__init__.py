"""Storage backends behind one small interface; ``open_store`` picks the configured one."""

from __future__ import annotations

from pinger.config import Config

from .sqlite import SqliteStore


def open_store(config: Config, deliver: bool = False):
    """The configured store: SqliteStore, or InfluxStore (with its spool; ``deliver`` starts its
    background delivery thread, which only the collector wants: one-shot commands deliver in line)."""
    if config.storage.backend == "influxdb":
        from .influx import InfluxStore

        return InfluxStore(config, deliver=deliver)
    return SqliteStore(config.storage.path)
