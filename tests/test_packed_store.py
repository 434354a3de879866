"""Schema 3's packed rows: the bytes, the ``ping`` view over them, the merge rule, rosters, the collector's write.

Expectations are worked out by hand (bit maps, codes) or come from a second, independent path:
the pure-Python packer against the NumPy one, the view against the samples that went in.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pinger.errors import ConflictingSamplesError
from pinger.models import CollectorStatus, HostResult, Sample, SweepResult
from pinger.store import packing
from pinger.store.packing import RTT_NONE, pack, rtt_code, rtt_value, unpack
from pinger.store.rosters import SETTLE
from pinger.store.sqlite import SqliteStore
from tests.support import ROOT

UTC = ZoneInfo("UTC")
T = 1_793_574_000  # 2026-11-02 00:00 in Berlin, a multiple of 300


def view(path: Path, where: str = "") -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT time, pool, host, up, rtt_ms FROM ping {where} ORDER BY time, host").fetchall()


def sweep(when: int, *hosts: tuple[str, str, bool, float | None]) -> tuple[SweepResult, CollectorStatus]:
    results = tuple(HostResult(pool, host, up, rtt) for pool, host, up, rtt in hosts)
    made = SweepResult(when, 0.5, results)
    return made, CollectorStatus(when, "lab", len(results), made.online, 0.5)


# -- the bytes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rtt, code, stored",
    [
        (None, 65_535, None),
        (0.0, 0, 0.0),
        (0.004, 0, 0.0),  # 10 µs steps: below 5 µs is 0
        (0.253, 25, 0.25),
        (0.256, 26, 0.26),
        (499.99, 49_999, 499.99),
        (499.996, 50_000, 500.0),  # the first 1 ms step
        (712.345, 50_212, 712.0),
        (16_034.0, 65_534, 16_034.0),
        (20_000.0, 65_534, 16_034.0),  # slower than the codes reach: their largest value
    ],
)
def test_round_trip_time_codes_keep_10_microseconds_below_500_ms_and_1_ms_above(rtt, code, stored):
    assert rtt_code(rtt) == code
    assert rtt_value(code) == stored


def test_a_row_packs_bits_least_significant_first_and_codes_of_up_hosts_only():
    # Positions 0..9: up at 1, 3, 8; seen all but 5; the up ones answered in 0.25, -, 1.5 ms.
    up_bits = 0b1_0000_1010
    packed = pack(10, up_bits, [rtt_code(0.25), RTT_NONE, rtt_code(1.5)], seen_bits=0b11_1101_1111)
    assert packed.up == bytes([0b0000_1010, 0b0000_0001])
    assert packed.seen == bytes([0b1101_1111, 0b0000_0011])
    assert packed.rtt == bytes([0, 25, 0xFF, 0xFF, 0, 150])  # big-endian uint16 per up position
    assert packed.rank is None and packed.source == packing.MEASURED
    slots = unpack(10, *packed[:3], packed.source, packed.reconstructed)
    assert sorted(slots) == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert (slots[1].code, slots[3].code, slots[8].code, slots[0].up) == (25, RTT_NONE, 150, 0)


def test_trailing_down_hosts_cost_no_bytes_and_a_rank_directory_counts_up_hosts_before_each_group():
    assert pack(40, 0, []).up == b""  # a pool switched off at night
    up_bits = (1 << 0) | (1 << 31) | (1 << 33) | (1 << 39)
    packed = pack(40, up_bits, [1, 2, 3, 4])
    assert packed.rank == bytes([2])  # positions 0 and 31 are up before the second group of 32
    assert pack(40, 0b1, [RTT_NONE]).rtt is None  # no time recorded in the whole row: no rtt column


def test_numpy_packs_the_bytes_the_pure_python_packer_makes(tmp_path):
    # The collector's write (pure Python) and write_samples (NumPy) of the same sweeps give the same rows.
    rng = random.Random(5)
    hosts = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(700)]
    sweeps = []
    for _ in range(6):
        sweeps.append(
            [
                ("P", host, rng.random() < 0.45, round(rng.uniform(0.1, 900), 3) if rng.random() < 0.9 else None)
                for host in hosts
            ]
        )
    collector = SqliteStore(tmp_path / "c.sqlite", UTC)
    bulk = SqliteStore(tmp_path / "b.sqlite", UTC)
    try:
        for step, found in enumerate(sweeps):
            collector.write_sweep(*sweep(T + 300 * step, *found))
        bulk.write_samples(
            (T + 300 * step, pool, host, int(up), rtt if up else None)
            for step, found in enumerate(sweeps)
            for pool, host, up, rtt in found
        )
    finally:
        collector.close()
        bulk.close()
    query = "SELECT time, part, up, seen, rtt, rank, source FROM sweeps ORDER BY time, part"
    with (
        contextlib.closing(sqlite3.connect(tmp_path / "c.sqlite")) as one,
        contextlib.closing(sqlite3.connect(tmp_path / "b.sqlite")) as other,
    ):
        assert one.execute(query).fetchall() == other.execute(query).fetchall()
        assert len(one.execute(query).fetchall()) == 6 * 3  # 700 hosts: parts of 256, 256 and 188


# -- the view ------------------------------------------------------------------------------------


def test_the_ping_view_gives_every_sample_back_large_partial_and_without_times(tmp_path):
    rng = random.Random(11)
    store = SqliteStore(tmp_path / "s.sqlite", UTC)
    expected = []
    try:
        hosts = [f"pc-{i:03d}" for i in range(600)]
        for step in range(5):
            seen = [host for host in hosts if rng.random() < 0.9]  # sweeps that missed some hosts
            found = []
            for host in seen:
                up = rng.random() < 0.5
                rtt = round(rng.uniform(0, 40), 2) if up and step != 2 else None  # sweep 2: no times at all
                found.append(("Big", host, up, rtt))
                expected.append((T + 300 * step, "Big", host, int(up), rtt))
            store.write_sweep(*sweep(T + 300 * step, *found))
    finally:
        store.close()
    assert view(tmp_path / "s.sqlite") == sorted(expected, key=lambda row: (row[0], row[2]))
    one = view(tmp_path / "s.sqlite", "WHERE host = 'pc-599' AND time BETWEEN 0 AND 9999999999")
    assert one == [row for row in sorted(expected) if row[2] == "pc-599"]


def test_plain_sql_can_still_insert_into_ping(tmp_path):
    SqliteStore(tmp_path / "s.sqlite", UTC).close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db, db:
        db.execute("INSERT INTO ping VALUES (?, 'A', 'pc-1', 1, 0.5)", (T,))
    assert view(tmp_path / "s.sqlite") == [(T, "A", "pc-1", 1, 0.5)]
    store = SqliteStore(tmp_path / "s.sqlite", UTC)  # packs what waits
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        assert db.execute("SELECT count(*) FROM ping_staged").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM sweeps").fetchone() == (1,)
    assert view(tmp_path / "s.sqlite") == [(T, "A", "pc-1", 1, 0.5)]


# -- late and partial data: the merge rule -------------------------------------------------------


def test_a_sweep_that_covered_part_of_its_roster_stores_only_what_it_saw(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", UTC)
    try:
        everyone = [("A", f"pc-{i}", True, 1.0) for i in range(5)]
        store.write_sweep(*sweep(T, *everyone))
        store.write_sweep(*sweep(T + 300, *(everyone[:2] + everyone[3:])))  # pc-2 did not resolve
    finally:
        store.close()
    rows = view(tmp_path / "s.sqlite", "WHERE host = 'pc-2'")
    assert rows == [(T, "A", "pc-2", 1, 1.0)]  # not observed at T + 300: no sample, not a down one
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        rosters, seen = db.execute("SELECT count(DISTINCT roster), max(seen) FROM sweeps").fetchone()
    assert rosters == 1 and seen == bytes([0b11011])  # one roster; the second row marks whom it saw


def test_a_host_the_sweep_did_not_observe_gets_no_sample_and_no_count(tmp_path):
    # Main's HostResult.observed: a host whose name did not resolve (error set) is not off, it has no
    # sample. Pool A: pc-1 up, pc-2 not observed, pc-3 off; pool B: its only host not observed (0 of 0).
    # The same sweep written again (the merge path, as a second write at a stored time) keeps that.
    results = (
        HostResult("A", "pc-1", True, 0.25),
        HostResult("A", "pc-2", False, None, "name does not resolve"),
        HostResult("A", "pc-3", False, None),
        HostResult("B", "pc-9", False, None, "name does not resolve"),
    )
    made = SweepResult(T, 0.5, results)
    store = SqliteStore(tmp_path / "s.sqlite", UTC)
    try:
        store.write_sweep(made, CollectorStatus(T, "lab", made.observed, made.online, 0.5))
        store.write_sweep(SweepResult(T + 300, 0.5, results), CollectorStatus(T + 300, "lab", 2, 1, 0.5))
        store.write_sweep(SweepResult(T + 300, 0.5, results), CollectorStatus(T + 300, "lab", 2, 1, 0.5))
    finally:
        store.close()
    expected = [("A", "pc-1", 1, 0.25), ("A", "pc-3", 0, None)]
    assert view(tmp_path / "s.sqlite") == [(when, *row) for when in (T, T + 300) for row in expected]
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        status = db.execute("SELECT time, pool, online, total FROM pool_status ORDER BY time, pool").fetchall()
    assert status == [(when, pool, *counts) for when in (T, T + 300) for pool, counts in (("A", (1, 2)), ("B", (0, 0)))]


def test_a_roster_follows_the_config_but_not_a_short_outage(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", UTC)
    hosts = [("A", f"pc-{i}", True, 1.0) for i in range(4)]
    try:
        store.write_sweep(*sweep(T, *hosts))
        for step in range(1, SETTLE + 2):  # pc-3 missing for SETTLE + 1 sweeps: removed from the config
            store.write_sweep(*sweep(T + 300 * step, *hosts[:3]))
        store.write_sweep(*sweep(T + 300 * (SETTLE + 2), *hosts, ("A", "pc-new", False, None)))  # one added
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        used = [row[0] for row in db.execute("SELECT roster FROM sweeps ORDER BY time")]
        sizes = dict(db.execute("SELECT id, size FROM rosters"))
    assert used[:SETTLE] == [used[0]] * SETTLE  # a missing host keeps the roster for SETTLE - 1 sweeps
    assert sizes[used[SETTLE]] == 3 and sizes[used[-1]] == 5
    assert len(view(tmp_path / "s.sqlite")) == 4 + 3 * (SETTLE + 1) + 5


def test_two_collectors_with_disjoint_pools_share_a_store_and_a_sweep_time(tmp_path):
    first, second = SqliteStore(tmp_path / "s.sqlite", UTC), SqliteStore(tmp_path / "s.sqlite", UTC)
    try:
        for step in range(3):
            first.write_sweep(*sweep(T + 300 * step, ("A", "pc-a1", True, 0.5), ("A", "pc-a2", False, None)))
            second.write_sweep(*sweep(T + 300 * step, ("B", "pc-b1", True, 0.7)))
    finally:
        first.close()
        second.close()
    rows = view(tmp_path / "s.sqlite")
    assert len(rows) == 9 and {row[1] for row in rows} == {"A", "B"}
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        status = db.execute("SELECT pool, online, total FROM pool_status WHERE time = ?", (T,)).fetchall()
    assert sorted(status) == [("A", 1, 2), ("B", 1, 1)]


def test_an_import_of_older_samples_merges_into_the_sweeps_stored_at_those_times(tmp_path, write_config):
    from pinger.config_load import load_config
    from pinger.ingestion.import_lines import import_file

    config = load_config(
        write_config(
            f"timezone: UTC\nstorage: {{path: {tmp_path / 's.sqlite'}}}\npools:\n  - {{name: A, watts: 1, "
            "hosts: [10.0.0.1-10.0.0.3]}\n"
        )
    )
    store = SqliteStore(config.storage.path, UTC)
    store.write_sweep(*sweep(T, ("A", "10.0.0.1", True, 0.5)))  # a sweep that saw only 10.0.0.1
    store.close()
    lines = [
        f"ping,host=10.0.0.1,pool=A up=1i,rtt_ms=0.5 {T}",  # the same sample again: merged, stored once
        f"ping,host=10.0.0.2,pool=A up=0i {T}",  # another host of the same sweep time: joins its row
        f"ping,host=10.0.0.3,pool=A up=1i {T - 300}",  # an earlier time: a row of its own
    ]
    path = tmp_path / "late.lp"
    path.write_text("\n".join(lines) + "\n")
    assert import_file(config, path, precision="s", now=T) == 2
    assert view(config.storage.path) == [
        (T - 300, "A", "10.0.0.3", 1, None),
        (T, "A", "10.0.0.1", 1, 0.5),
        (T, "A", "10.0.0.2", 0, None),
    ]
    with contextlib.closing(sqlite3.connect(config.storage.path)) as db:
        assert db.execute("SELECT count(*) FROM sweeps WHERE time = ?", (T,)).fetchone() == (1,)
        assert db.execute("SELECT online, total FROM pool_status").fetchall() == [(1, 1)]  # the collector's counts
    path.write_text(f"ping,host=10.0.0.1,pool=A up=0i {T}\n")  # disagrees with the collector's sample
    with pytest.raises(ConflictingSamplesError, match="conflicts with the measured sample already stored"):
        import_file(config, path, precision="s", now=T)


def test_the_collector_replaces_a_sample_of_its_host_and_time_whatever_pool_held_it(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", UTC)
    try:
        store.write_samples([Sample(T, "Old", "pc-1", 0), Sample(T, "Old", "pc-2", 1, 2.0)])
        store.write_sweep(*sweep(T, ("New", "pc-1", True, 0.5)))  # pc-1 moved to pool New
    finally:
        store.close()
    assert view(tmp_path / "s.sqlite") == [(T, "New", "pc-1", 1, 0.5), (T, "Old", "pc-2", 1, 2.0)]


# -- the collector's write path ------------------------------------------------------------------


def test_the_collectors_write_path_imports_no_numpy(tmp_path):
    probe = (
        "import sys\n"
        "from zoneinfo import ZoneInfo\n"
        "from pinger.models import CollectorStatus, HostResult, SweepResult\n"
        "from pinger.store import open_sweep_store\n"
        "from pinger.store.sqlite import SqliteStore\n"
        f"store = SqliteStore({str(tmp_path / 's.sqlite')!r}, ZoneInfo('UTC'))\n"
        "hosts = tuple(HostResult('A', f'pc-{i}', i % 2 == 0, 0.5) for i in range(300))\n"
        "store.write_sweep(SweepResult(1793574000, 0.1, hosts), CollectorStatus(1793574000, 'c', 300, 150, 0.1))\n"
        "store.close()\n"
        "print('numpy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert len(view(tmp_path / "s.sqlite")) == 300


def test_numpy_codes_match_the_pure_python_codes():
    from pinger.store.bulk import rtt_codes

    values = [0.0, 0.004, 0.005, 0.015, 0.253, 499.99, 499.994, 499.996, 500.4, 712.345, 16_034.0, 99_999.0]
    assert rtt_codes(np.array(values)).tolist() == [rtt_code(value) for value in values]
    assert rtt_codes(np.array([np.nan])).tolist() == [RTT_NONE]


def test_the_analysts_reader_gives_what_the_view_gives(tmp_path):
    rng = random.Random(3)
    store = SqliteStore(tmp_path / "s.sqlite", UTC)
    hosts = [f"pc-{i}" for i in range(300)]
    for step in range(4):
        store.write_sweep(
            *sweep(T + 300 * step, *(("A", h, rng.random() < 0.5, round(rng.uniform(0.1, 5), 2)) for h in hosts))
        )
    store.close()
    reader = SqliteStore(tmp_path / "s.sqlite", UTC, "read")
    try:
        found = []
        for group in reader.read_groups(T, T + 3600, codes=True):
            names = reader.rosters.host_names(group.host.tolist())
            for row, when in enumerate(group.times.tolist()):
                for column, name in enumerate(names):
                    up = bool(group.up[row, column])
                    found.append((when, "A", name, int(up), rtt_value(int(group.code[row, column])) if up else None))
    finally:
        reader.close()
    assert sorted(found) == sorted(view(tmp_path / "s.sqlite"))
