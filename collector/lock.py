"""One collector per store and pool: a lock file beside the store's local file, held for the collector's lifetime.

Two collectors writing one store are almost always a mistake (a service started twice, a test run
beside the real one): their sweeps of the same hosts overwrite each other. So each collector
holds ``flock`` on ``<store>.collector-<name>.lock`` (its name, pid, host, pools and start time
written inside) for as long as it runs, and a collector that starts while another one with the
same ``collector.name`` or a pool in common holds its lock refuses to start, naming it. Collectors
with different names and disjoint pools may share a store; each says so in its log.

The kernel drops a lock when its process ends, however it ends, so a lock file left behind by a
killed collector is recognised as stale and removed. Starting is serialised by a short lock on
``<store>.collectors.lock``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pinger.errors import CollectorConflict

log = logging.getLogger("pinger.collector")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


class CollectorLock:
    def __init__(self, store_file: Path, name: str, pools: Sequence[str]):
        self.store_file = Path(store_file)
        self.name = name
        self.pools = list(pools)
        self.path = self.store_file.with_name(f"{self.store_file.name}.collector-{_safe(name)}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise CollectorConflict naming the collector that holds the store's pools."""
        self.store_file.parent.mkdir(parents=True, exist_ok=True)
        guard = os.open(
            self.store_file.with_name(f"{self.store_file.name}.collectors.lock"), os.O_RDWR | os.O_CREAT, 0o644
        )
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)  # another collector starting now waits here, briefly
            for other in sorted(self.store_file.parent.glob(f"{self.store_file.name}.collector-*.lock")):
                self._look_at(other)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._fd = fd
            self._write_info()
        finally:
            os.close(guard)

    def update_pools(self, pools: Sequence[str]) -> None:
        """After a reload: the pools this collector now sweeps."""
        self.pools = list(pools)
        if self._fd is not None:
            self._write_info()

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def _write_info(self) -> None:
        assert self._fd is not None
        info = {
            "collector": self.name,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "pools": self.pools,
            "since": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)

    def _look_at(self, other: Path) -> None:
        """Remove a stale lock file; refuse a live one that shares the name or a pool; mention the rest."""
        try:
            fd = os.open(other, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                info = _read_info(fd)
            else:
                other.unlink(missing_ok=True)  # its collector ended without removing it
                return
        finally:
            os.close(fd)
        who = (
            f"{info.get('collector', '?')} (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
            f"since {info.get('since', '?')}, pools {', '.join(info.get('pools', [])) or 'none'})"
        )
        shared = sorted(set(info.get("pools", [])) & set(self.pools))
        if other == self.path or info.get("collector") == self.name or shared:
            raise CollectorConflict(
                f"another collector is already writing to {self.store_file}: {who}; stop it first, or give this "
                "one another collector.name and pools of its own"
            )
        log.info("collector %s also writes to %s, with other pools", who, self.store_file)


def _read_info(fd: int) -> dict[str, Any]:
    try:
        found = json.loads(os.pread(fd, 65536, 0) or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
