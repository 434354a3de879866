"""What the aggregator's compute path reads: a day's samples of the configured pools as DaySamples.

A store with ``day_samples`` (the SQLite store; the InfluxDB store, as runs) hands them over in one read;
any other HistoryStore is read through ``host_samples`` a pool at a time, each sample a run of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pinger.store import HistoryStore
from pinger.store.interface import DaySamples, SampleRuns


def day_samples(
    store: HistoryStore, pools: Sequence[tuple[str, Sequence[str]]], start: float, stop: float
) -> DaySamples:
    """The samples of the pools' hosts with start <= time < stop: ``host`` indexes the pools' host lists
    taken one after another (the first pool's hosts are 0 .. n - 1, and so on)."""
    read = getattr(store, "day_samples", None)
    if read is not None:
        found: DaySamples = read(pools, start, stop)
        return found
    hosts: list[int] = []
    times: list[float] = []
    states: list[bool] = []
    offset = 0
    for pool, names in pools:
        position = {name: offset + index for index, name in enumerate(names)}
        for samples in store.host_samples(pool, list(names), start, stop):
            hosts += [position[samples.host]] * len(samples.times)
            times += samples.times
            states += samples.states
        offset += len(names)
    host = np.array(hosts, dtype=np.int64)
    order = np.argsort(host, kind="stable")
    at = np.array(times, dtype=np.float64)[order]
    return DaySamples(SampleRuns(host[order], at, at, np.array(states, dtype=bool)[order]))
