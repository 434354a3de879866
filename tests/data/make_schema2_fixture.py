"""Write a schema-2 SQLite store with the release before schema 3, through its command line only.

The migration tests open the file this makes with the current code and compare every sample, as the
``ping`` view shows it, with the old ``ping`` table. ``store-schema2.sqlite`` beside this script was
made with the release at commit 0acbc98 (schema 2, the last before the packed layout), as root:

    git archive 0acbc98 | tar -x -C /tmp/pinger-v2
    PYTHONPATH=/tmp/pinger-v2 python3 tests/data/make_schema2_fixture.py \\
        --pinger "python3 -m pinger" --cwd /tmp/pinger-v2 --out tests/data/store-schema2.sqlite

What goes in, so that the packed layout meets every case it has to keep:

* ``ping``: ``pinger import`` of samples every 10 minutes over two local days (Europe/Berlin), 23:00
  before 2026-11-02 to 01:00 after 2026-11-03: a pool of 300 hosts (more than one 256-host row;
  sampled on the first morning only, to keep the file small), a
  host that answers without a round-trip time, round-trip times with three decimals, one above the
  10 µs codes' range (712.345 ms) and one above the 1 ms codes' range (20,000 ms), sweeps that miss
  some hosts, a host recorded under a pool that the config no longer has (renamed), DNS names;
* ``host_daily``, ``pool_daily``, ``pool_hourly``: ``pinger aggregate`` of both days, with energy
  pricing and CO2 (``cost``, ``co2_kg``), opening hours and a study phase;
* ``ping``, ``pool_status``, ``collector``: one real sweep (``pinger collect --once``) in the
  sealed test lab (tests/support/lab.py), so nothing outside it is pinged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

CHECKOUT = Path(__file__).resolve().parents[2]
FIRST_DAY = dt.date(2026, 11, 2)
DAYS = 2
STEP_S = 600
ZONE = "Europe/Berlin"
BIG = 300  # hosts of the pool "Big": 10.199.2.1 onwards

CONFIG = f"""\
timezone: {ZONE}
interval: 10m
collector: {{name: fixture2}}
ping: {{timeout: 200ms, retries: 0}}
allow: [10.199.0.0/16, "fd00:199::/64"]
storage: {{backend: sqlite, path: STORE}}
aggregate: {{at: "00:30", hold: 10m}}
energy:
  currency: EUR
  price: 0.30
  tariffs: [{{price: 0.20, at: {{mon-sun: "22:00-06:00"}}}}]
  co2_g_per_kwh: 380
pools:
  - name: A101
    watts: 80
    standby_watts: 1.5
    open: {{mon-fri: "08:00-20:00"}}
    tags: {{building: main, keyboard: DE}}
    hosts: [10.199.0.1-10.199.0.3, "fd00:199::1", pc-a.lab, pc-b.lab]
  - name: "Mensa Süd 2"
    watts: 65
    hosts: [10.199.1.1-10.199.1.2]
  - name: Big
    watts: 70
    hosts: [10.199.2.1-10.199.3.44]
study:
  phases:
    - {{name: baseline, start: 2026-11-01, end: 2026-11-30, pools: [A101]}}
"""

SMALL = (
    ("A101", "10.199.0.1"),
    ("A101", "10.199.0.2"),
    ("A101", "10.199.0.3"),
    ("A101", "fd00:199::1"),
    ("A101", "pc-a.lab"),
    ("A101", "pc-b.lab"),
    ("Mensa Süd 2", "10.199.1.1"),
    ("Mensa Süd 2", "10.199.1.2"),
)
NAMES = {"pc-a.lab": "10.199.0.21", "pc-b.lab": "10.199.0.22"}


def big_hosts() -> list[str]:
    first = 0x0AC70201  # 10.199.2.1
    return [".".join(str(first + index >> shift & 255) for shift in (24, 16, 8, 0)) for index in range(BIG)]


def hosts() -> list[tuple[str, str]]:
    return [*SMALL, *(("Big", host) for host in big_hosts())]


def synthetic_samples() -> list[tuple[int, str, str, bool, float | None]]:
    """(time_s, pool, host, up, rtt_ms or None)."""
    tz = ZoneInfo(ZONE)
    start = int(dt.datetime.combine(FIRST_DAY, dt.time(0), tz).timestamp()) - 3600
    stop = int(dt.datetime.combine(FIRST_DAY + dt.timedelta(days=DAYS), dt.time(0), tz).timestamp()) + 3600
    samples = []
    for step, time_s in enumerate(range(start, stop, STEP_S)):
        clock = (step + 6) % 144  # 10-minute steps since local midnight
        for index, (pool, host) in enumerate(hosts()):
            if (index * 7 + step) % 53 == 0:
                continue  # a sweep that missed this host
            if pool == "Big" and not 40 <= step < 70:
                continue  # the large pool only in the morning of the first day: a small file
            if host == "10.199.1.2" and step < 80:
                pool = "Mensa Alt"  # recorded under a pool since renamed
            up = (36 + index % 30) <= clock < (80 + index % 50)
            rtt: float | None = round(0.105 + (index * 37 + step * 11) % 900 / 1000, 3) if up else None
            if up and host == "10.199.0.3":
                rtt = None  # answered, no round-trip time recorded
            if up and host == "10.199.0.2" and clock == 50:
                rtt = 712.345
            if up and host == "10.199.0.2" and clock == 51:
                rtt = 20_000.0
            samples.append((time_s, pool, host, up, rtt))
    return samples


def _escape(text: str) -> str:
    return text.replace(",", "\\,").replace(" ", "\\ ").replace("=", "\\=")


def line_protocol(samples) -> str:
    lines = []
    for time_s, pool, host, up, rtt in samples:
        fields = f"up={int(up)}i" + (f",rtt_ms={rtt}" if rtt is not None else "")
        lines.append(f"ping,pool={_escape(pool)},host={_escape(host)} {fields} {time_s}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pinger", required=True, help="the pinger command of the release to write with")
    parser.add_argument("--cwd", type=Path, default=None, help="where to run it (a release's checkout)")
    parser.add_argument("--out", required=True, type=Path, help="the store file to write (replaced)")
    args = parser.parse_args()
    sys.path.insert(0, str(CHECKOUT))
    from tests.support.lab import Lab

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        store = work / "store.sqlite"
        config = work / "pinger.yaml"
        config.write_text(CONFIG.replace("STORE", str(store)))
        samples = work / "samples.lp"
        samples.write_text(line_protocol(synthetic_samples()))

        def pinger(*argv: str, inside=None) -> None:
            command = [*shlex.split(args.pinger), *argv, "-c", str(config)]
            subprocess.run(inside.command(command) if inside else command, check=True, cwd=args.cwd)

        pinger("import", str(samples), "--precision", "s")
        last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
        pinger("aggregate", "--from", FIRST_DAY.isoformat(), "--to", last.isoformat())
        with Lab() as lab:
            lab.hosts_file(NAMES.items())
            lab.switch_on(["10.199.0.1", "fd00:199::1", NAMES["pc-a.lab"], *big_hosts()[::3]])
            pinger("collect", "--once", inside=lab)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store, args.out)  # the store was closed cleanly: no -wal file is left beside it
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
