"""Is the file at the store's path still the file the collector writes? Checked before every write.

SQLite keeps writing into a file that was deleted (``rm -rf`` of its directory) or replaced (a backup
moved over it) as long as it holds it open: the collector would log "3/3 hosts on" and exit 0 while
every sample went into a file no one can open any more. So the writer compares the file at the path
with the one it opened, by device and inode, before each write.

When they differ the collector stops with exit 1 (StoreFileLost), rather than making a new store at
the path and going on. Why stop:

* It cannot tell a mistake from an intent. The directory may have been wiped on purpose, a backup
  restored over the store, or the store moved to another disk; writing a fresh file at the path
  would decide for the operator, and over a restored backup would mix two histories.
* What made the store safe to write is gone with it: the lock file that keeps a second collector
  off the store lies beside it, and a new file needs its schema. A start does all of that, and is
  the path that is tested; under systemd (``Restart=on-failure``) or compose (``restart:``) the
  restart follows by itself, with the loss in the log as an error and the exit code.
* Loud beats quiet: a collector that stops makes ``pinger health`` go stale and alerts fire; one
  that quietly begins a new file leaves a hole that shows only in a later report.

The sweeps not yet stored at that moment are reported as lost with their time span (writer.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from pinger.errors import StoreFileLost


class StoreFileWatch:
    """The identity (device, inode) of the file at ``path``, taken when the store opened it.

    A file that is not there yet (the InfluxDB spool is made at the first write) is taken at the
    first write that finds it; from then on ``check`` raises StoreFileLost when the path names no
    file or another one.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._identity = self._current()

    def check(self) -> None:
        """Before a write: raise StoreFileLost when the file was deleted or replaced since it was opened."""
        if self._identity is None:
            return
        current = self._current()
        if current == self._identity:
            return
        if current is None:
            what, then = "deleted", "to begin a new store there"
        else:
            what, then = "replaced by another file", "to write to the file now there"
        raise StoreFileLost(
            f"the store file {self.path} was {what} while the collector ran; stopping rather than write "
            f"sweeps into a file no one can open any more (start the collector again {then})"
        )

    def written(self) -> None:
        """After a write: remember the file a first write made."""
        if self._identity is None:
            self._identity = self._current()

    def _current(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_dev, found.st_ino
