"""Play the first system's bookkeeping over a scripted on/off schedule and write its ``dumpdata`` fixture.

The first system (Django + Celery) pings every computer once per cadence; a ping that finds a PC
on with no open interval opens one at that instant, one that finds it off closes the open one at
that instant. An interval that runs past UTC midnight is closed at 23:59:59 of its day and a new
one opened at 00:00:00 of the next (done here at the first ping after midnight, as its task
would). While the system is down (an outage) nothing is pinged. Each interval belongs to a
``computerday`` (the UTC date it started on), whose ``duration`` sums its closed intervals.
Nothing here pings anything: the "pings" are look-ups in the script.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

DAY_S = 86_400


class ScriptedPool(NamedTuple):
    room_no: str
    watts: int
    keyboard: str = "DE"
    printer: bool = False


class ScriptedComputer(NamedTuple):
    ip: str
    pool: int  # index into the pools
    on: tuple[tuple[float, float], ...]  # scripted truth: [on, off) in unix seconds, sorted, disjoint


class Script(NamedTuple):
    pools: tuple[ScriptedPool, ...]
    computers: tuple[ScriptedComputer, ...]
    first_ping: float  # unix seconds
    last_ping: float
    cadence: int  # seconds
    outages: tuple[tuple[float, float], ...] = ()  # the first system was down: no pings in [start, end)
    jitter_ms: int = 900  # each ping lands up to this late (deterministic: ping k at (k * 137) % jitter_ms)

    def pings(self) -> list[float]:
        """The instants the first system pinged (all computers at once), outages left out."""
        found = []
        k = 0
        while True:
            instant = (
                self.first_ping + k * self.cadence + ((k * 137) % self.jitter_ms) / 1000
                if self.jitter_ms
                else self.first_ping + k * self.cadence
            )
            if instant > self.last_ping:
                return found
            if not any(start <= instant < end for start, end in self.outages):
                found.append(round(instant, 3))
            k += 1


def is_on(computer: ScriptedComputer, instant: float) -> bool:
    return any(start <= instant < end for start, end in computer.on)


def iso_ms(instant: float) -> str:
    """As Django's JSON encoder writes an aware UTC datetime: milliseconds and a Z."""
    moment = dt.datetime.fromtimestamp(round(instant, 3), dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _duration(seconds: float) -> str:
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return text + (f".{micro:06d}" if micro else "")


class Played(NamedTuple):
    records: list[dict[str, Any]]
    intervals: dict[str, list[tuple[float, float | None]]]  # per ip, as the first system recorded them
    pings: list[float]


def play(script: Script, extra_records: Sequence[dict[str, Any]] = ()) -> Played:
    """The fixture's records (pools, computers, computer days, intervals, each in pk order, as
    dumpdata writes them) and the intervals per computer."""
    pools = [
        {
            "model": "pingerservice.pool",
            "pk": index + 1,
            "fields": {
                "room_no": pool.room_no,
                "keyboard_layout": pool.keyboard,
                "printer": pool.printer,
                "pc_power_consumption": pool.watts,
            },
        }
        for index, pool in enumerate(script.pools)
    ]
    computers = [
        {"model": "pingerservice.computer", "pk": index + 1, "fields": {"pool": computer.pool + 1, "ip": computer.ip}}
        for index, computer in enumerate(script.computers)
    ]
    recorder = _Recorder()
    pings = script.pings()
    for instant in pings:
        for index, computer in enumerate(script.computers):
            recorder.ping(index, instant, is_on(computer, instant))
    days, intervals = recorder.days, recorder.intervals
    for record in days.values():
        record["fields"]["duration"] = _duration(recorder.seconds_of[record["pk"]])
    recorded: dict[str, list[tuple[float, float | None]]] = {computer.ip: [] for computer in script.computers}
    by_day_pk = {record["pk"]: index for (index, _), record in days.items()}
    for record in intervals:
        recorded[script.computers[by_day_pk[record["fields"]["day"]]].ip].append(
            (record.pop("_start"), record.pop("_end", None))
        )
    ordered_days = sorted(days.values(), key=lambda record: record["pk"])
    return Played([*pools, *computers, *ordered_days, *intervals, *extra_records], recorded, pings)


class _Recorder:
    """What the first system recorded as it pinged: computer days and on-intervals, an interval split at each
    UTC midnight (closed at 23:59:59, opened again at 00:00:00)."""

    def __init__(self) -> None:
        self.days: dict[tuple[int, int], dict[str, Any]] = {}  # (computer index, UTC day number) -> record
        self.intervals: list[dict[str, Any]] = []
        self.open_of: dict[int, dict[str, Any]] = {}  # computer index -> its open interval record
        self.seconds_of: dict[int, float] = {}  # computer day pk -> closed seconds

    def ping(self, index: int, instant: float, on: bool) -> None:
        current = self.open_of.get(index)
        if current is not None:  # split at each UTC midnight since it opened
            for day in range(int(current["_start"] // DAY_S), int(instant // DAY_S)):
                self.close_at(index, day * DAY_S + DAY_S - 1)  # 23:59:59
                self.open_at(index, (day + 1) * DAY_S)  # 00:00:00
        if on and index not in self.open_of:
            self.open_at(index, instant)
        elif not on and index in self.open_of:
            self.close_at(index, instant)

    def day_pk(self, index: int, day: int) -> int:
        if (index, day) not in self.days:
            pk = len(self.days) + 1
            self.days[(index, day)] = {
                "model": "pingerservice.computerday",
                "pk": pk,
                "fields": {
                    "computer": index + 1,
                    "date": dt.date.fromordinal(719163 + day).isoformat(),
                    "duration": "00:00:00",
                },
            }
            self.seconds_of[pk] = 0.0
        return int(self.days[(index, day)]["pk"])

    def open_at(self, index: int, instant: float) -> None:
        record = {
            "model": "pingerservice.interval",
            "pk": len(self.intervals) + 1,
            "fields": {
                "day": self.day_pk(index, int(instant // DAY_S)),
                "start_time": iso_ms(instant),
                "end_time": None,
            },
            "_start": instant,
        }
        self.intervals.append(record)
        self.open_of[index] = record

    def close_at(self, index: int, instant: float) -> None:
        record = self.open_of.pop(index)
        record["fields"]["end_time"] = iso_ms(instant)
        record["_end"] = instant
        self.seconds_of[record["fields"]["day"]] += instant - record["_start"]


def write_fixture(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """As ``manage.py dumpdata --indent 2`` writes it: one object per element, indented by 2."""
    path.write_text(
        "[\n" + ",\n".join(json.dumps(record, indent=2, ensure_ascii=False) for record in records) + "\n]\n",
        encoding="utf-8",
    )
    return path
