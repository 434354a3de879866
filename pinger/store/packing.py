"""Schema 3's packed sweep rows, in pure Python: the bit maps, round-trip time codes and rank directory of one row.

A row of ``sweeps`` holds one pool's samples of one sweep time for up to PART consecutive positions
of a roster (a pool's ordered hosts; a larger roster has one row per PART positions, its ``part``):

* ``up``: bit i (byte i // 8, bit i % 8, least significant first) is 1 when position i answered.
  Trailing zero bytes are left out (a byte past the end reads as 0: a pool switched off at night
  costs no bytes).
* ``seen``: NULL when every position of the part was observed; else bit i is 1 for the observed
  ones (a sweep that covered part of its roster: a name that did not resolve, an import of some
  hosts). Positions not seen have no sample; their ``up`` bit is 0.
* ``rtt``: NULL when no sample of the row has a round-trip time; else one big-endian uint16 code
  per *up* position, in position order (down positions take no bytes). See ``rtt_code``.
* ``rank``: for rows with ``rtt`` and more than GROUP positions, one byte per further group of
  GROUP positions: the number of up positions before that group (up to 224, since a part has
  256 positions). With it, plain SQL finds the code of position i without counting every bit
  before it (the ``ping`` view does so).
* ``source``: 0 every sample measured, 1 every sample reconstructed (``import-legacy``), 2 some of
  each: then ``reconstructed`` has bit i set for the reconstructed ones (NULL otherwise).

This module needs nothing beyond the standard library: the collector's write path packs with it
(its start-up stays free of NumPy); bulk paths pack with NumPy in ``pinger.store.bulk`` to the same
bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

PART = 256  # roster positions per row: a row stays under SQLite's 1 KB in-page limit (no overflow pages)
GROUP = 32  # positions per entry of the rank directory
MEASURED, RECONSTRUCTED, MIXED = 0, 1, 2

# Round-trip time codes (uint16): below RTT_COARSE, steps of 10 µs (0.00 to 499.99 ms); from it, steps
# of 1 ms (500 ms to RTT_MAX_MS); RTT_NONE: the host answered but no time was recorded.
RTT_COARSE = 50_000
RTT_COARSE_OFFSET = 49_500  # code - offset = milliseconds, for codes from RTT_COARSE
RTT_NONE = 65_535
RTT_MAX_MS = RTT_NONE - 1 - RTT_COARSE_OFFSET  # 16,034 ms: a slower reply stores this
_FINE_LIMIT_MS = (RTT_COARSE - 0.5) / 100  # below this, rounding to 10 µs stays below RTT_COARSE


def rtt_code(rtt_ms: float | None) -> int:
    """The code of a round-trip time: 10 µs steps below 500 ms, 1 ms steps up to 16,034 ms, which
    also stands for anything slower; RTT_NONE for None."""
    if rtt_ms is None:
        return RTT_NONE
    if rtt_ms < _FINE_LIMIT_MS:
        return max(round(rtt_ms * 100), 0)
    return min(round(rtt_ms) + RTT_COARSE_OFFSET, RTT_NONE - 1)


def rtt_value(code: int) -> float | None:
    """The milliseconds a code stands for (what the ``ping`` view reads); None for RTT_NONE."""
    if code == RTT_NONE:
        return None
    return code / 100 if code < RTT_COARSE else float(code - RTT_COARSE_OFFSET)


def part_sizes(size: int) -> list[int]:
    """The number of positions of each part of a roster of ``size`` hosts (at least one part)."""
    return [min(PART, size - first) for first in range(0, size, PART)] or [0]


def bits_to_bytes(bits: int, positions: int) -> bytes:
    return bits.to_bytes((positions + 7) // 8, "little")


def rank_directory(up_bits: int, positions: int) -> bytes | None:
    """The up counts before each group of GROUP positions after the first; None for one group."""
    if positions <= GROUP:
        return None
    return bytes((up_bits & ((1 << first) - 1)).bit_count() for first in range(GROUP, positions, GROUP))


class Part(NamedTuple):
    """One row's packed columns (see the module's docstring)."""

    up: bytes
    seen: bytes | None
    rtt: bytes | None
    rank: bytes | None
    source: int
    reconstructed: bytes | None


def pack(
    positions: int,
    up_bits: int,
    codes: Sequence[int],
    seen_bits: int | None = None,
    reconstructed_bits: int | None = None,
) -> Part:
    """A row of ``positions`` positions: ``up_bits`` (bit i: position i up), ``codes`` (one per up
    position, in order), ``seen_bits`` (None: all seen), ``reconstructed_bits`` (None: all measured;
    bits of seen positions only)."""
    every = (1 << positions) - 1
    if seen_bits is not None and seen_bits & every == every:
        seen_bits = None
    seen_mask = every if seen_bits is None else seen_bits
    if reconstructed_bits is None or reconstructed_bits & seen_mask == 0:
        source, recon = MEASURED, None
    elif reconstructed_bits & seen_mask == seen_mask:
        source, recon = RECONSTRUCTED, None
    else:
        source, recon = MIXED, bits_to_bytes(reconstructed_bits & seen_mask, positions)
    with_rtt = any(code != RTT_NONE for code in codes)
    return Part(
        up=bits_to_bytes(up_bits, positions).rstrip(b"\0"),
        seen=None if seen_bits is None else bits_to_bytes(seen_bits, positions),
        rtt=struct.pack(f">{len(codes)}H", *codes) if with_rtt else None,
        rank=rank_directory(up_bits, positions) if with_rtt else None,
        source=source,
        reconstructed=recon,
    )


class Slot(NamedTuple):
    """One position's sample as a merge sees it."""

    up: int
    code: int  # rtt_code; RTT_NONE when down or not recorded
    reconstructed: bool


def unpack(
    positions: int,
    up: bytes,
    seen: bytes | None,
    rtt: bytes | None,
    source: int,
    reconstructed: bytes | None,
) -> dict[int, Slot]:
    """A row's samples by position (positions not seen are absent)."""
    up_bits = int.from_bytes(up, "little")
    seen_bits = (1 << positions) - 1 if seen is None else int.from_bytes(seen, "little")
    recon_bits = (
        0
        if source == MEASURED
        else (1 << positions) - 1
        if source == RECONSTRUCTED
        else int.from_bytes(reconstructed or b"", "little")
    )
    codes = struct.unpack(f">{len(rtt) // 2}H", rtt) if rtt else ()
    found: dict[int, Slot] = {}
    rank = 0
    for position in range(positions):
        if not seen_bits >> position & 1:
            continue
        if up_bits >> position & 1:
            code = codes[rank] if codes else RTT_NONE
            rank += 1
            found[position] = Slot(1, code, bool(recon_bits >> position & 1))
        else:
            found[position] = Slot(0, RTT_NONE, bool(recon_bits >> position & 1))
    return found


def pack_slots(positions: int, slots: dict[int, Slot]) -> Part:
    """``unpack``'s inverse: the row holding these samples."""
    up_bits = seen_bits = recon_bits = 0
    codes = []
    for position in sorted(slots):
        slot = slots[position]
        seen_bits |= 1 << position
        if slot.up:
            up_bits |= 1 << position
            codes.append(slot.code)
        if slot.reconstructed:
            recon_bits |= 1 << position
    return pack(positions, up_bits, codes, seen_bits, recon_bits or None)
