"""Opening a SQLite file read-only, also where the reader cannot write: what export, report and health share."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """A read-only connection to the SQLite file at ``path``, waiting up to ``timeout`` seconds for a writer's lock.

    SQLite reads a WAL file through a shared-memory file (-shm) beside it; in a directory this process
    cannot write, with no writer running (so no -wal/-shm files), that file cannot be made: the file is
    then read as it stands on disk (``immutable``). With a writer running, its -shm file is there to use.
    """
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    try:
        db.execute("PRAGMA user_version").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
        if os.access(Path(path).parent, os.W_OK) or Path(f"{path}-wal").exists():
            raise
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None)
