"""Reading packed rows back with NumPy: a span of time in one query, every host at once.

The rows of a span come in (time, pool, part) order. Rows of one roster part share their hosts,
so they stack into a matrix (sweep times x positions): a Group. ``day_samples`` turns the groups
into the aggregator's input (``interface.DaySamples``): a group whose rows saw every host, for the
hosts found in no other group, is a SweepBlock as it stands; every other sample becomes a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .interface import DaySamples, SampleRuns, SweepBlock
from .packing import PART, RECONSTRUCTED, RTT_NONE, part_sizes
from .rosters import Rosters


class Group(NamedTuple):
    """The rows of one roster part in a span: ``up[i, j]`` is host j at times[i] (where ``seen``)."""

    host: np.ndarray  # int64 host ids
    times: np.ndarray  # int64 unix seconds, increasing
    up: np.ndarray  # bool, times x hosts
    seen: np.ndarray | None  # bool, times x hosts; None: every host at every time
    reconstructed: np.ndarray | None  # bool, times x hosts; None: every sample measured
    code: np.ndarray | None  # uint16 round-trip time codes, when asked for


def _bits(blobs: list[bytes], positions: int) -> np.ndarray:
    """Rows of bit maps (short ones padded with zero bytes) as a bool matrix rows x positions."""
    width = (positions + 7) // 8
    if not width:
        return np.zeros((len(blobs), 0), dtype=bool)
    joined = b"".join(blob if len(blob) == width else blob.ljust(width, b"\0")[:width] for blob in blobs)
    matrix = np.frombuffer(joined, dtype=np.uint8).reshape(len(blobs), width)
    found: np.ndarray = np.unpackbits(matrix, axis=1, count=positions, bitorder="little").view(bool)
    return found


def read_groups(
    db: sqlite3.Connection, rosters: Rosters, start: float, stop: float, *, codes: bool = False
) -> list[Group]:
    """The rows with start <= time < stop, a Group per roster part."""
    rows_of: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    columns = "time, roster, part, up, seen, source, reconstructed" + (", rtt" if codes else "")
    row: tuple[Any, ...]
    for row in db.execute(f"SELECT {columns} FROM sweeps WHERE time >= ? AND time < ?", (start, stop)):
        found = rows_of.get((row[1], row[2]))
        if found is None:
            found = rows_of[(row[1], row[2])] = []
        found.append(row)
    rosters.preload(roster for roster, _ in rows_of)
    groups = []
    for (roster_id, part), rows in rows_of.items():
        roster = rosters.roster(roster_id)
        count = part_sizes(len(roster.hosts))[part]
        if not count:
            continue
        hosts = np.array(roster.hosts[part * PART : part * PART + count], dtype=np.int64)
        times = np.array([row[0] for row in rows], dtype=np.int64)
        up = _bits([row[3] for row in rows], count)
        seens = [row[4] for row in rows]
        seen = None
        if any(value is not None for value in seens):
            seen = _bits([b"\xff" * 32 if value is None else value for value in seens], count)
        recon = None
        sources = [row[5] for row in rows]
        if any(source != 0 for source in sources):
            marks = [
                b"\xff" * 32 if source == RECONSTRUCTED else (row[6] or b"")
                for source, row in zip(sources, rows, strict=True)
            ]
            recon = _bits(marks, count)
        code = _codes(rows, up) if codes else None
        groups.append(Group(hosts, times, up, seen, recon, code))
    return groups


def _codes(rows: list[tuple[Any, ...]], up: np.ndarray) -> np.ndarray:
    codes = np.full(up.shape, RTT_NONE, dtype=np.uint16)
    for index, row in enumerate(rows):
        if row[7]:
            codes[index, up[index]] = np.frombuffer(row[7], dtype=">u2")
    return codes


def day_samples(groups: list[Group], index_of: Mapping[int, int]) -> DaySamples:
    """The groups' samples of the hosts in ``index_of`` (host id -> index), as DaySamples."""
    if not groups:
        empty = np.zeros(0)
        return DaySamples(SampleRuns(empty.astype(np.int64), empty, empty, empty.astype(bool)))
    top = max(int(group.host.max()) for group in groups) + 1
    lookup = np.full(top, -1, dtype=np.int64)
    for host, index in index_of.items():
        if host < top:
            lookup[host] = index
    appearances = np.zeros(top, dtype=np.int64)
    for group in groups:
        appearances[group.host] += 1
    blocks: list[SweepBlock] = []
    hosts: list[np.ndarray] = []
    times: list[np.ndarray] = []
    states: list[np.ndarray] = []
    for group in groups:
        indices = lookup[group.host]
        wanted = indices >= 0
        if not wanted.any():
            continue
        alone = wanted & (appearances[group.host] == 1)
        if group.seen is None and alone.any():
            blocks.append(SweepBlock(indices[alone], group.times.astype(np.float64), group.up[:, alone]))
            rest = wanted & ~alone
        else:
            rest = wanted
        if not rest.any():
            continue
        up = group.up[:, rest]
        seen = np.ones_like(up) if group.seen is None else group.seen[:, rest]
        columns = int(rest.sum())
        mask = seen.T
        hosts.append(np.repeat(indices[rest], len(group.times)).reshape(columns, len(group.times))[mask])
        times.append(np.broadcast_to(group.times, (columns, len(group.times)))[mask])
        states.append(up.T[mask])
    if not hosts:
        empty = np.zeros(0)
        runs = SampleRuns(empty.astype(np.int64), empty, empty, empty.astype(bool))
        return DaySamples(runs, tuple(blocks))
    every_host = np.concatenate(hosts)
    every_time = np.concatenate(times)
    order = np.lexsort((every_time, every_host))
    at = every_time[order].astype(np.float64)
    return DaySamples(SampleRuns(every_host[order], at, at, np.concatenate(states)[order]), tuple(blocks))
