"""Pool, host and roster ids of a schema-3 store, cached: names become small integers, rosters are found by content.

Ids are never changed or deleted once committed, so a cached id stays right whatever other
processes write. An id made inside a transaction that then rolls back must be forgotten: the
store calls ``commit`` or ``rollback`` after each transaction (``pending`` holds what is new).

Roster choice for a sweep (``for_sweep``): a pool's sweep normally covers the roster it covered
last time (``current``), so the rows need no ``seen`` bit map. A sweep that covers only some of
that roster's hosts (a name that did not resolve) keeps it and marks the hosts it saw; when the
same hosts stay missing for SETTLE sweeps in a row, the sweep's own host list becomes the roster
(a host removed from the config). Any other host list (a host added, the order changed) is looked
up by content, or made. The choice only changes how the samples are packed, never what they are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import NamedTuple

SETTLE = 12  # sweeps in a row with the same hosts missing before the roster follows the sweep


class Roster(NamedTuple):
    id: int
    pool: int
    hosts: tuple[int, ...]  # host ids in position order

    @property
    def positions(self) -> dict[int, int]:
        return {host: position for position, host in enumerate(self.hosts)}


class Rosters:
    def __init__(self, db: sqlite3.Connection):
        self._db = db
        self._pools: dict[str, int] = {}
        self._hosts: dict[str, int] = {}
        self._host_names: dict[int, str] = {}
        self._by_content: dict[tuple[int, tuple[int, ...]], Roster] = {}
        self._by_id: dict[int, Roster] = {}
        self._positions: dict[int, dict[int, int]] = {}
        self._loaded_pools: set[int] = set()
        self.current: dict[int, Roster] = {}  # pool id -> the roster its last sweep used
        self._missing: dict[int, tuple[frozenset[int], int]] = {}  # pool id -> (hosts missing, sweeps in a row)
        self._pending_names: list[tuple[dict[str, int], str]] = []
        self._pending_rosters: list[Roster] = []

    # -- ids ---------------------------------------------------------------------------------------

    def pool_id(self, name: str) -> int:
        found = self._pools.get(name)
        if found is None:
            found = self._name_id("pools", name, self._pools)
        return found

    def host_ids(self, names: Sequence[str]) -> list[int]:
        hosts = self._hosts
        missing = list(dict.fromkeys(name for name in names if name not in hosts))
        if len(missing) > 10:
            self._many_ids(missing)
        for name in missing:
            if name not in hosts:
                self._name_id("hosts", name, hosts)
        return [hosts[name] for name in names]

    def _many_ids(self, names: list[str]) -> None:
        """Ids for many host names at once: the known ones read, the others made, in few statements."""
        self._read_ids(names)
        new = [name for name in names if name not in self._hosts]
        self._db.executemany("INSERT INTO hosts (name) VALUES (?)", ((name,) for name in new))
        self._pending_names += [(self._hosts, name) for name in self._read_ids(new)]

    def _read_ids(self, names: list[str]) -> list[str]:
        """Remember the ids of those of ``names`` the hosts table has (500 names a statement); return them."""
        found = []
        for first in range(0, len(names), 500):
            chunk = names[first : first + 500]
            marks = ", ".join("?" * len(chunk))
            for name, host in self._db.execute(f"SELECT name, id FROM hosts WHERE name IN ({marks})", chunk):
                self._hosts[name] = host
                self._host_names[host] = name
                found.append(name)
        return found

    def host_name(self, host: int) -> str:
        name = self._host_names.get(host)
        if name is None:
            (name,) = self._db.execute("SELECT name FROM hosts WHERE id = ?", (host,)).fetchone()
            self._host_names[host] = name
        return name

    def host_names(self, hosts: Sequence[int]) -> list[str]:
        missing = [host for host in dict.fromkeys(hosts) if host not in self._host_names]
        for first in range(0, len(missing), 500):
            chunk = missing[first : first + 500]
            marks = ", ".join("?" * len(chunk))
            for host, name in self._db.execute(f"SELECT id, name FROM hosts WHERE id IN ({marks})", chunk):
                self._host_names[host] = name
        return [self._host_names[host] for host in hosts]

    def pool_name(self, pool: int) -> str:
        for name, found in self._pools.items():
            if found == pool:
                return name
        (name,) = self._db.execute("SELECT name FROM pools WHERE id = ?", (pool,)).fetchone()
        self._pools[name] = pool
        return str(name)

    def _name_id(self, table: str, name: str, cache: dict[str, int]) -> int:
        row = self._db.execute(f"SELECT id FROM {table} WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = self._db.execute(f"INSERT INTO {table} (name) VALUES (?) RETURNING id", (name,)).fetchone()
            self._pending_names.append((cache, name))
        cache[name] = row[0]
        if table == "hosts":
            self._host_names[row[0]] = name
        return int(row[0])

    # -- rosters -----------------------------------------------------------------------------------

    def roster(self, roster_id: int) -> Roster:
        found = self._by_id.get(roster_id)
        if found is None:
            self.preload([roster_id])  # one made by another process since its pool was read is found too
            found = self._by_id[roster_id]
        return found

    def positions(self, roster: Roster) -> dict[int, int]:
        found = self._positions.get(roster.id)
        if found is None:
            found = self._positions[roster.id] = roster.positions
        return found

    def of_pool(self, pool: int) -> list[Roster]:
        self._load_pool(pool)
        return [roster for roster in self._by_id.values() if roster.pool == pool]

    def newest(self, pool: int) -> Roster | None:
        """The pool's roster with the highest id (the last one made), or None."""
        found = self.of_pool(pool)
        return max(found, key=lambda roster: roster.id) if found else None

    def exact(self, pool: int, hosts: tuple[int, ...]) -> Roster:
        """The roster of exactly these hosts in this order, made when there is none."""
        self._load_pool(pool)
        found = self._by_content.get((pool, hosts))
        if found is not None:
            return found
        (roster_id,) = self._db.execute(
            "INSERT INTO rosters (pool, size) VALUES (?, ?) RETURNING id", (pool, len(hosts))
        ).fetchone()
        self._db.executemany(
            "INSERT INTO roster_hosts (roster, position, host) VALUES (?, ?, ?)",
            ((roster_id, position, host) for position, host in enumerate(hosts)),
        )
        made = Roster(roster_id, pool, hosts)
        self._remember(made)
        self._pending_rosters.append(made)
        return made

    def for_sweep(self, pool: int, hosts: tuple[int, ...]) -> Roster:
        """The roster a collector's sweep of these hosts (in sweep order) is packed with (see the module)."""
        current = self.current.get(pool)
        if current is not None and current.hosts == hosts:
            self._missing.pop(pool, None)
            return current
        if current is not None and len(hosts) < len(current.hosts):
            positions = self.positions(current)
            if all(host in positions for host in hosts) and _increasing([positions[host] for host in hosts]):
                missing = frozenset(current.hosts) - frozenset(hosts)
                before, count = self._missing.get(pool, (frozenset(), 0))
                count = count + 1 if missing == before else 1
                if count < SETTLE:
                    self._missing[pool] = (missing, count)
                    return current
        self._missing.pop(pool, None)
        chosen = self.exact(pool, hosts)
        self.current[pool] = chosen
        return chosen

    def preload(self, roster_ids: Iterable[int]) -> None:
        """Read the rosters not cached yet in one query per 500 (a span's rows name many)."""
        missing = [roster for roster in dict.fromkeys(roster_ids) if roster not in self._by_id]
        for first in range(0, len(missing), 500):
            chunk = missing[first : first + 500]
            marks = ", ".join("?" * len(chunk))
            members: dict[int, list[int]] = {roster: [] for roster in chunk}
            pools: dict[int, int] = {}
            for roster_id, pool in self._db.execute(f"SELECT id, pool FROM rosters WHERE id IN ({marks})", chunk):
                pools[roster_id] = pool
            for roster_id, host in self._db.execute(
                f"SELECT roster, host FROM roster_hosts WHERE roster IN ({marks}) ORDER BY roster, position", chunk
            ):
                members[roster_id].append(host)
            for roster_id, pool in pools.items():
                self._remember(Roster(roster_id, pool, tuple(members[roster_id])))

    def _load_pool(self, pool: int) -> None:
        if pool in self._loaded_pools:
            return
        members: dict[int, list[int]] = {}
        for roster_id, host in self._db.execute(
            "SELECT r.id, h.host FROM rosters AS r JOIN roster_hosts AS h ON h.roster = r.id "
            "WHERE r.pool = ? ORDER BY r.id, h.position",
            (pool,),
        ):
            members.setdefault(roster_id, []).append(host)
        for (roster_id,) in self._db.execute("SELECT id FROM rosters WHERE pool = ? AND size = 0", (pool,)):
            members.setdefault(roster_id, [])
        for roster_id, hosts in members.items():
            self._remember(Roster(roster_id, pool, tuple(hosts)))
        self._loaded_pools.add(pool)

    def _remember(self, roster: Roster) -> None:
        self._by_id[roster.id] = roster
        self._by_content.setdefault((roster.pool, roster.hosts), roster)

    # -- transactions ------------------------------------------------------------------------------

    def commit(self) -> None:
        self._pending_names.clear()
        self._pending_rosters.clear()

    def rollback(self) -> None:
        """Forget the ids made in the transaction that was rolled back."""
        for cache, name in self._pending_names:
            found = cache.pop(name, None)
            if found is not None and cache is self._hosts:
                self._host_names.pop(found, None)
        for roster in self._pending_rosters:
            self._by_id.pop(roster.id, None)
            self._positions.pop(roster.id, None)
            if self._by_content.get((roster.pool, roster.hosts)) == roster:
                del self._by_content[(roster.pool, roster.hosts)]
            if self.current.get(roster.pool) == roster:
                del self.current[roster.pool]
        self._pending_names.clear()
        self._pending_rosters.clear()


def _increasing(values: list[int]) -> bool:
    return all(a < b for a, b in zip(values, values[1:], strict=False))
