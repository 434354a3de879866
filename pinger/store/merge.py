"""The merge rule: what happens when a sample arrives for a host and second the store already has, in pure Python.

A store holds at most one sample per host and second, whatever pool it was recorded under (as
schema 2's ``(host, time)`` key did). A sample arriving where one is stored is decided by the
writer's policy:

* ``replace`` (the collector; ``write_samples`` as the HistoryStore protocol states it): the new
  sample replaces the stored one.
* ``measured`` (``pinger import``): the same values (pool, up, round-trip time as stored) are a
  duplicate and change nothing; a stored reconstructed sample is replaced (measured wins); other
  values conflict, and the import is refused (Conflict).
* ``reconstructed`` (``pinger import-legacy``): a stored measured sample is kept and the new one
  skipped (measured wins); a stored reconstructed one is replaced.

Bulk writers (``pinger.store.bulk``) pack the samples at sweep times the store does not have yet
without looking; the samples at times it has come here, a sweep time at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from .packing import PART, Slot, pack_slots, part_sizes, unpack
from .rosters import Roster, Rosters

Policy = Literal["replace", "measured", "reconstructed"]
COLUMNS = ("time", "pool", "part", "roster", "up", "seen", "rtt", "rank", "source", "reconstructed", "online", "total")
INSERT_ROW = f"INSERT INTO sweeps ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_REQUIRED = {0, 1, 2, 3, 4, 8}  # never NULL: time, pool, part, roster, up, source


def insert_rows(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert full rows (COLUMNS order), naming only the columns some row uses: sqlite3 binds None (and
    bytes) through its adapter look-up, slowly, so columns that are NULL in every row are left to their
    default; that halves the cost of inserting rows that are mostly NULL."""
    if not rows:
        return
    used = [
        index
        for index in range(len(COLUMNS))
        if index in _REQUIRED or list(map(itemgetter(index), rows)).count(None) < len(rows)
    ]
    if len(used) < len(COLUMNS):
        pick = itemgetter(*used)
        rows = [pick(row) for row in rows]
    names = ", ".join(COLUMNS[index] for index in used)
    db.executemany(f"INSERT INTO sweeps ({names}) VALUES ({', '.join('?' * len(used))})", rows)


class Incoming(NamedTuple):
    pool: int
    host: int
    slot: Slot
    line: int  # where it came from (a line of an import file); -1 when not from a file


class Stored(NamedTuple):
    pool: int
    slot: Slot


class Conflict(Exception):
    """A measured sample that disagrees with the one stored for its host and second."""

    def __init__(self, time: int, host: int, new: Incoming, old: Stored, old_line: int | None):
        self.time, self.host, self.new, self.old, self.old_line = time, host, new, old, old_line
        super().__init__(f"host {host} at {time}: conflicting samples")


class MergeCounts:
    """What merges did: samples added, duplicates left as they were, reconstructed samples replaced by
    measured ones, new samples skipped because a measured one was stored (``kept``), replaced otherwise."""

    def __init__(self) -> None:
        self.added = 0
        self.duplicates = 0
        self.replaced_reconstructed = 0
        self.kept_measured = 0
        self.replaced = 0


class _Row:
    """One pool's samples at the sweep time being merged, by host id."""

    def __init__(self, pool: int, roster: Roster | None, online: int | None, total: int | None):
        self.pool = pool
        self.roster = roster
        self.online, self.total = online, total
        self.samples: dict[int, Slot] = {}
        self.changed = False


def merge_time(
    db: sqlite3.Connection,
    rosters: Rosters,
    time: int,
    incoming: Iterable[Incoming],
    policy: Policy,
    counts: MergeCounts,
    lines: dict[int, int] | None = None,
    pool_counts: dict[int, tuple[int, int]] | None = None,
) -> None:
    """Merge the samples of one sweep time into the rows stored at that time, by the policy's rule.

    ``lines`` (host -> line) names where a stored sample came from when it was written earlier in
    the same import, for a Conflict's message; ``pool_counts`` (pool -> (online, total)) are the
    collector's counts to keep on the pools' rows. Raises Conflict (policy "measured")."""
    rows, where = _stored_rows(db, rosters, time)
    merge = _Merge(time, rows, where, policy, counts, lines or {})
    for sample in incoming:
        merge.add(sample)
    for pool, (online, total) in (pool_counts or {}).items():
        row = rows.get(pool)
        if row is not None:
            row.online, row.total, row.changed = online, total, True
    for row in rows.values():
        if row.changed:
            _rewrite(db, rosters, time, row)


def _stored_rows(db: sqlite3.Connection, rosters: Rosters, time: int) -> tuple[dict[int, _Row], dict[int, int]]:
    """The pools' rows stored at ``time`` (pool -> _Row) and, host -> pool, the row holding each host's sample."""
    rows: dict[int, _Row] = {}
    where: dict[int, int] = {}
    for pool, part, roster_id, up, seen, rtt, source, reconstructed, online, total in db.execute(
        "SELECT pool, part, roster, up, seen, rtt, source, reconstructed, online, total FROM sweeps "
        "WHERE time = ? ORDER BY pool, part",
        (time,),
    ):
        roster = rosters.roster(roster_id)
        row = rows.get(pool)
        if row is None:
            row = rows[pool] = _Row(pool, roster, online, total)
        sizes = part_sizes(len(roster.hosts))
        slots = unpack(sizes[part], up, seen, rtt, source, reconstructed)
        for position, slot in slots.items():
            host = roster.hosts[part * PART + position]
            row.samples[host] = slot
            where[host] = pool
    return rows, where


class _Merge:
    """The rule applied to one sweep time's samples, one at a time, on the rows read by _stored_rows."""

    def __init__(
        self,
        time: int,
        rows: dict[int, _Row],
        where: dict[int, int],
        policy: Policy,
        counts: MergeCounts,
        lines: dict[int, int],
    ):
        self.time, self.rows, self.where = time, rows, where
        self.policy, self.counts, self.lines = policy, counts, lines

    def add(self, sample: Incoming) -> None:
        row = self.rows.get(sample.pool)
        if row is None:
            row = self.rows[sample.pool] = _Row(sample.pool, None, None, None)
        holder = self.where.get(sample.host)
        if holder is None:
            self.counts.added += 1
        elif not self._replaces(sample, holder):
            return
        else:
            del self.rows[holder].samples[sample.host]
            self.rows[holder].changed = True
        row.samples[sample.host] = sample.slot
        row.changed = True
        self.where[sample.host] = sample.pool

    def _replaces(self, sample: Incoming, holder: int) -> bool:
        """Whether ``sample`` replaces the one stored in ``holder``'s row; counts what it does either way."""
        old = self.rows[holder].samples[sample.host]
        if self.policy == "reconstructed" and not old.reconstructed:
            self.counts.kept_measured += 1
            return False
        same = holder == sample.pool and old.up == sample.slot.up and old.code == sample.slot.code
        if same and old.reconstructed == sample.slot.reconstructed:
            self.counts.duplicates += 1
            return False
        if self.policy == "measured" and not old.reconstructed:
            raise Conflict(self.time, sample.host, sample, Stored(holder, old), self.lines.get(sample.host))
        if self.policy == "measured":
            self.counts.replaced_reconstructed += 1
        else:
            self.counts.replaced += 1
        return True


def _rewrite(db: sqlite3.Connection, rosters: Rosters, time: int, row: _Row) -> None:
    """Replace a pool's rows at ``time`` by rows holding ``row.samples``, on its roster when that has
    every host, else on a roster extended by the new hosts."""
    roster = row.roster
    if roster is None or any(host not in rosters.positions(roster) for host in row.samples):
        known = roster.hosts if roster is not None else ()
        added = sorted(host for host in row.samples if host not in set(known))
        roster = rosters.exact(row.pool, (*known, *added))
    db.execute("DELETE FROM sweeps WHERE time = ? AND pool = ?", (time, row.pool))
    if not row.samples and row.total is None:
        return
    positions = rosters.positions(roster)
    by_part: dict[int, dict[int, Slot]] = {}
    for host, slot in row.samples.items():
        position = positions[host]
        by_part.setdefault(position // PART, {})[position % PART] = slot
    sizes = part_sizes(len(roster.hosts))
    if row.total is not None:
        by_part.setdefault(0, {})
    for part in sorted(by_part):
        packed = pack_slots(sizes[part], by_part[part])
        counts = (row.online, row.total) if part == 0 else (None, None)
        db.execute(
            INSERT_ROW, (time, row.pool, part, roster.id, *packed[:4], packed.source, packed.reconstructed, *counts)
        )
