"""Reading packed rows back as samples with NumPy: a span of time in one query, every host at once.

The rows of a span come in (time, pool, part) order. Rows of one roster part share their hosts,
so they stack into a matrix (sweep times x positions) whose transpose lists each host's samples in
time order; ``read_span`` returns every sample of the span so, host block after host block.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

import numpy as np

from .packing import PART, RECONSTRUCTED, part_sizes
from .rosters import Rosters


class Samples(NamedTuple):
    """Samples as parallel arrays; each host's in time order, hosts in blocks (not sorted)."""

    host: np.ndarray  # int64 host ids
    time: np.ndarray  # int64 unix seconds
    up: np.ndarray  # bool
    reconstructed: np.ndarray  # bool
    code: np.ndarray | None  # uint16 round-trip time codes, when asked for


def _bits(blobs: list[bytes], positions: int) -> np.ndarray:
    """Rows of bit maps (short ones padded with zero bytes) as a bool matrix rows x positions."""
    width = (positions + 7) // 8
    if not width:
        return np.zeros((len(blobs), 0), dtype=bool)
    joined = b"".join(blob.ljust(width, b"\0")[:width] for blob in blobs)
    matrix = np.frombuffer(joined, dtype=np.uint8).reshape(len(blobs), width)
    return np.unpackbits(matrix, axis=1, count=positions, bitorder="little").astype(bool)


def read_span(db: sqlite3.Connection, rosters: Rosters, start: float, stop: float, *, codes: bool = False) -> Samples:
    """Every sample with start <= time < stop."""
    groups: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    columns = "time, roster, part, up, seen, source, reconstructed" + (", rtt" if codes else "")
    row: tuple[Any, ...]
    for row in db.execute(f"SELECT {columns} FROM sweeps WHERE time >= ? AND time < ?", (start, stop)):
        groups.setdefault((row[1], row[2]), []).append(row)
    found: list[Samples] = []
    for (roster_id, part), rows in groups.items():
        roster = rosters.roster(roster_id)
        count = part_sizes(len(roster.hosts))[part]
        if not count:
            continue
        hosts = np.array(roster.hosts[part * PART : part * PART + count], dtype=np.int64)
        times = np.array([row[0] for row in rows], dtype=np.int64)
        up = _bits([row[3] for row in rows], count)
        seens = [row[4] for row in rows]
        seen = (
            np.ones_like(up)
            if all(value is None for value in seens)
            else _bits([b"\xff" * 32 if value is None else value for value in seens], count)
        )
        sources = [row[5] for row in rows]
        if all(source == 0 for source in sources):
            recon = np.zeros_like(up)
        else:
            marks = [
                b"\xff" * 32 if source == RECONSTRUCTED else (row[6] or b"")
                for source, row in zip(sources, rows, strict=True)
            ]
            recon = _bits(marks, count)
        code = _codes(rows, up, count) if codes else None
        mask = seen.T
        found.append(
            Samples(
                np.repeat(hosts, len(rows)).reshape(count, len(rows))[mask],
                np.tile(times, count).reshape(count, len(rows))[mask],
                up.T[mask],
                recon.T[mask],
                None if code is None else code.T[mask],
            )
        )
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return Samples(empty, empty, empty.astype(bool), empty.astype(bool), empty.astype(np.uint16) if codes else None)
    return Samples(
        np.concatenate([block.host for block in found]),
        np.concatenate([block.time for block in found]),
        np.concatenate([block.up for block in found]),
        np.concatenate([block.reconstructed for block in found]),
        np.concatenate([block.code for block in found if block.code is not None]) if codes else None,
    )


def _codes(rows: list[tuple[Any, ...]], up: np.ndarray, count: int) -> np.ndarray:
    from .packing import RTT_NONE

    codes = np.full(up.shape, RTT_NONE, dtype=np.uint16)
    blobs = [row[7] for row in rows]
    for index, blob in enumerate(blobs):
        if blob:
            values = np.frombuffer(blob, dtype=">u2").astype(np.uint16)
            codes[index, up[index]] = values
    return codes
