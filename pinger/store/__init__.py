"""Storage backends behind one small interface; ``open_store`` picks the configured one."""

from __future__ import annotations

from pinger.config import Config
from pinger.errors import PingerError

from .sqlite import SqliteStore


def open_store(config: Config) -> SqliteStore:
    if config.storage.backend == "sqlite":
        return SqliteStore(config.storage.path)
    raise PingerError(
        f"{config.source}: storage.backend {config.storage.backend!r} is not available in this version yet; "
        "use backend: sqlite"
    )
