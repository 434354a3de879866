"""Write a small SQLite store with a given Pinger release, through its command line only.

The migration tests open the file this makes with the current code and check that every row is
still there. ``store-schema1.sqlite`` beside this script was made with the release at commit
cd64022 (schema 1), as root, like this::

    git worktree add /tmp/pinger-v1 cd64022
    python3 -m venv /tmp/pinger-v1/.venv && /tmp/pinger-v1/.venv/bin/pip install -q /tmp/pinger-v1
    python3 tests/data/make_store_fixture.py --pinger /tmp/pinger-v1/.venv/bin/pinger \\
        --out tests/data/store-schema1.sqlite

What goes in, so that every table of the schema has rows:

* ``ping``: 780 synthetic samples (five hosts, one IPv6, every 10 minutes from 23:00 the evening
  before 2026-11-02 to 01:00 after it, Europe/Berlin), given to ``pinger import``;
* ``host_daily`` and ``pool_daily``: ``pinger aggregate --date 2026-11-02`` (a pool with opening
  hours, tags and a study phase, and one without: both kinds of row);
* ``ping``, ``pool_status``, ``collector``: one real sweep (``pinger collect --once``) run inside
  the sealed test lab (tests/support/lab.py), so nothing outside it is pinged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

CHECKOUT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 2)
STEP_S = 600
ZONE = "Europe/Berlin"

CONFIG = f"""\
timezone: {ZONE}
interval: 10m
collector: {{name: fixture}}
ping: {{timeout: 200ms, retries: 0}}
allow: [10.199.0.0/16, "fd00:199::/64"]
storage: {{backend: sqlite, path: STORE}}
aggregate: {{at: "00:30", hold: 10m}}
pools:
  - name: A101
    watts: 80
    standby_watts: 1.5
    open: {{mon-fri: "08:00-20:00"}}
    tags: {{building: main, keyboard: DE}}
    hosts: [10.199.0.1-10.199.0.3, "fd00:199::1"]
  - name: "Mensa Süd 2"
    watts: 65
    hosts: [10.199.1.1-10.199.1.2]
study:
  phases:
    - {{name: baseline, start: 2026-11-01, end: 2026-11-30, pools: [A101]}}
"""

HOSTS = (
    ("A101", "10.199.0.1"),
    ("A101", "10.199.0.2"),
    ("A101", "10.199.0.3"),
    ("A101", "fd00:199::1"),
    ("Mensa Süd 2", "10.199.1.1"),
)


def synthetic_samples() -> list[tuple[int, str, str, bool, float | None]]:
    """(time_s, pool, host, up, rtt_ms): each host on in its own stretch of the day, rtt by host and step."""
    tz = ZoneInfo(ZONE)
    start = int(dt.datetime.combine(DAY, dt.time(0), tz).timestamp()) - 3600
    stop = int(dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0), tz).timestamp()) + 3600
    samples = []
    for step, time_s in enumerate(range(start, stop, STEP_S)):
        for index, (pool, host) in enumerate(HOSTS):
            up = (6 + 3 * index) * 6 <= step < (14 + 4 * index) * 6  # from 05:00/08:00/… for 8 h/12 h/…
            samples.append((time_s, pool, host, up, round(0.1 + index / 10 + step / 1000, 3) if up else None))
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
            command = [args.pinger, *argv, "-c", str(config)]
            subprocess.run(inside.command(command) if inside else command, check=True)

        pinger("import", str(samples), "--precision", "s")
        pinger("aggregate", "--date", DAY.isoformat())
        with Lab() as lab:
            lab.switch_on(["10.199.0.1", "fd00:199::1"])
            pinger("collect", "--once", inside=lab)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store, args.out)  # the store was closed cleanly: no -wal file is left beside it
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
