"""`pinger health`: exit 0 when the collector's newest stored (or, with InfluxDB, spooled) sweep is younger than
three intervals, else 1, always with one sentence; the image's HEALTHCHECK runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pinger.models import CollectorStatus, HostResult, SweepResult
from tests.support import as_nobody, influx_storage, pinger_command
from tests.support.processes import HANG_S

UTC = ZoneInfo("UTC")


def sqlite_config(write_config, tmp_path, collector: str = "lab-1") -> object:
    return write_config(f"""
        timezone: UTC
        interval: 5m
        collector: {{name: {collector}}}
        allow: [127.0.0.0/8]
        storage: {{backend: sqlite, path: {tmp_path / "data" / "pinger.sqlite"}}}
        pools:
          - {{name: LOOP, watts: 50, hosts: [127.0.0.1]}}
    """)


def influx_yaml(spool: Path) -> str:
    return textwrap.dedent(f"""
        timezone: UTC
        interval: 5m
        collector: {{name: lab-1}}
        allow: [127.0.0.0/8]
        {influx_storage("http://127.0.0.1:9", spool)}
        pools:
          - {{name: LOOP, watts: 50, hosts: [127.0.0.1]}}
    """).lstrip("\n")


def influx_config(write_config, tmp_path) -> object:
    return write_config(influx_yaml(tmp_path / "spool.sqlite"))


def a_sweep(scheduled: int, collector: str = "lab-1") -> tuple[SweepResult, CollectorStatus]:
    sweep = SweepResult(scheduled, 0.01, (HostResult("LOOP", "127.0.0.1", True, 0.1),))
    return sweep, CollectorStatus(time=scheduled, collector=collector, hosts=1, online=1, sweep_s=0.01)


def store_sweep_at(config_path, scheduled: int, collector: str = "lab-1") -> None:
    """Store one sweep as the collector does (with InfluxDB: into the spool, without a delivery thread)."""
    from pinger.config_load import load_config
    from pinger.store import Spooled, open_history_store

    config = load_config(config_path, environ={"INFLUX_TOKEN": "not-a-secret"})
    store = open_history_store(config, "create")  # one-shot: no delivery thread
    try:
        store.write_sweep(*a_sweep(scheduled, collector))  # both stores are SweepStores too
    finally:
        if isinstance(store, Spooled):
            store.close(flush_seconds=0)  # leave the sweep in the spool
        else:
            store.close()


def one_sentence(result) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_store_the_collector_just_wrote_is_healthy(write_config, tmp_path, run_pinger):
    config = sqlite_config(write_config, tmp_path)
    collected = run_pinger("collect", "-c", str(config), "--once")  # pings 127.0.0.1 only
    assert collected.returncode == 0, collected.stderr
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert one_sentence(result).startswith("collector lab-1: healthy, newest sweep ")


def test_a_stale_store_is_unhealthy_with_its_age(write_config, tmp_path, run_pinger):
    config = sqlite_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()) - 20 * 60)
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    sentence = one_sentence(result)
    assert sentence.startswith("collector lab-1: stale, newest sweep ")
    assert sentence.endswith("20 min ago (limit: 15 min, 3 intervals)")


def test_only_the_configured_collectors_sweeps_count(write_config, tmp_path, run_pinger):
    config = sqlite_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()), collector="another-one")
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    assert one_sentence(result).startswith("collector lab-1: no sweep stored yet")


@pytest.mark.parametrize(
    "backend, missing, sentence",
    [
        ("sqlite", "data/pinger.sqlite", "pinger: no store at {} (storage.path): run the collector first"),
        (
            "influxdb",
            "spool.sqlite",
            "pinger: no spool at {} (storage.influxdb.spool): the collector has not run here",
        ),
    ],
)
def test_a_missing_store_or_spool_is_named(write_config, tmp_path, run_pinger, backend, missing, sentence):
    config = (sqlite_config if backend == "sqlite" else influx_config)(write_config, tmp_path)
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    assert one_sentence(result) == sentence.format(tmp_path / missing)
    assert not (tmp_path / missing).exists(), "health reads; it never creates a store"
    assert not (tmp_path / "data").exists()


def test_with_influxdb_the_spool_remembers_the_newest_sweep_after_delivery(write_config, tmp_path, run_pinger):
    """InfluxDB itself is away here (port 9): the spool alone answers, and its delivered batches are gone.
    The token's variable is not set either: health reads local files only (a HEALTHCHECK has no secrets)."""
    from pinger.config_load import load_config
    from pinger.store.influx import InfluxStore

    config = influx_config(write_config, tmp_path)
    store = InfluxStore(load_config(config, environ={"INFLUX_TOKEN": "not-a-secret"}), deliver=False)
    store.write_sweep(*a_sweep(int(time.time()) - 60))
    store.spool.remove([batch.id for batch in store.spool.oldest(10_000)])  # as a delivery does
    assert store.spool.backlog() == 0
    store.spool.close()
    store.client.close()
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert one_sentence(result).startswith("collector lab-1: healthy, newest sweep ")


def test_with_influxdb_a_spool_in_a_directory_health_cannot_write_is_read(public_dir):
    """The image's HEALTHCHECK may run as another user than the collector: with the collector stopped (no -wal
    or -shm file) and the spool's directory not writable to that user, the verdict is still given."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    spool = public_dir / "spool.sqlite"
    config = public_dir / "pinger.yaml"
    config.write_text(influx_yaml(spool))
    store_sweep_at(config, int(time.time()) - 60)
    assert sorted(p.name for p in public_dir.iterdir()) == ["pinger.yaml", "spool.sqlite"]  # closed cleanly
    os.chmod(spool, 0o644)
    os.chmod(config, 0o644)
    health = as_nobody(pinger_command("health", "-c", str(config)))
    result = subprocess.run(health, capture_output=True, text=True, cwd="/", timeout=HANG_S)
    if "Permission denied" in result.stderr and "python" in result.stderr:
        pytest.skip("user nobody cannot run this checkout's Python (a private directory on the way)")
    assert result.returncode == 0, result.stdout + result.stderr
    assert one_sentence(result).startswith("collector lab-1: healthy, newest sweep ")
    assert sorted(p.name for p in public_dir.iterdir()) == ["pinger.yaml", "spool.sqlite"]  # nothing created


def test_with_influxdb_a_stale_spool_is_unhealthy(write_config, tmp_path, run_pinger):
    config = influx_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()) - 16 * 60)
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    assert " stale, " in one_sentence(result)


def test_an_older_spool_is_kept_newest_first(tmp_path):
    """A late batch (a sweep handed over out of order) never moves the recorded newest sweep back."""
    from pinger.store.spool import Spool, newest_spooled_sweep

    spool = Spool(tmp_path / "spool.sqlite", 10_000_000)
    spool.append("pinger", ["m v=1i 2000"], sweep=("lab-1", 2000))
    spool.append("pinger", ["m v=1i 1000"], sweep=("lab-1", 1000))
    spool.append("pinger", ["m v=1i 3000"])  # an import's batch: no sweep
    spool.close()
    assert newest_spooled_sweep(tmp_path / "spool.sqlite", "lab-1") == 2000
    assert newest_spooled_sweep(tmp_path / "spool.sqlite", "lab-2") is None


@pytest.mark.parametrize(("age", "healthy"), [(0, True), (899, True), (900, False), (3600, False)])
def test_the_limit_is_three_intervals(age, healthy):
    from pinger.collector.health import judge

    assert judge("lab-1", 1_780_000_000, 1_780_000_000 + age, 300.0, UTC).healthy is healthy


def test_the_sentence_names_the_time_in_the_configured_zone():
    from pinger.collector.health import judge

    berlin = judge("lab-1", 1_780_000_000, 1_780_000_030, 300.0, ZoneInfo("Europe/Berlin"))
    assert berlin.sentence == (
        "collector lab-1: healthy, newest sweep 2026-05-28 22:26:40 CEST, 30 s ago (limit: 15 min, 3 intervals)"
    )


# -- issue 20: a sweep from the future, rejected batches, a wrong collector name --------------------------------


def test_a_sweep_stamped_in_the_future_is_never_fresh(write_config, tmp_path, run_pinger):
    """A collector stopped 22 minutes ago whose last sweep carries a time two hours ahead (the clock was set back
    since): health cannot tell whether it is alive, and says so, exit 1."""
    config = sqlite_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()) + 7300)
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    sentence = one_sentence(result)
    assert sentence.startswith("collector lab-1: unknown, newest sweep ")
    assert sentence.endswith(
        " is 2.0 h ahead of this machine's clock (the clock was set back since, or was ahead then): "
        "its age, and so whether the collector is alive, cannot be told"
    )


@pytest.mark.parametrize(("ahead", "healthy"), [(-3, True), (4, True), (6, False)])
def test_only_a_few_seconds_ahead_count_as_now(ahead, healthy):
    from pinger.collector.health import judge

    assert judge("lab-1", 1_780_000_000 + ahead, 1_780_000_000, 300.0, UTC).healthy is healthy


def test_a_wrong_collector_name_lists_the_names_in_the_store(write_config, tmp_path, run_pinger):
    config = sqlite_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()), collector="lab-3")
    store_sweep_at(config, int(time.time()), collector="lab-2")
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    assert one_sentence(result) == (
        "collector lab-1: no sweep stored yet; the store holds sweeps of the collectors lab-2, lab-3: "
        "is collector.name right?"
    )


def test_with_influxdb_a_wrong_collector_name_lists_the_names_in_the_spool(write_config, tmp_path, run_pinger):
    config = influx_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()), collector="lab-9")
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    assert one_sentence(result) == (
        "collector lab-1: no sweep stored yet; the spool holds sweeps of the collector lab-9: is collector.name right?"
    )


def reject_spooled_batches(config_path, reason: str, rejected_at: float | None = None) -> None:
    """As the delivery does when InfluxDB answers 400: every spooled batch moves to the rejected table."""
    from pinger.config_load import load_config
    from pinger.store.spool import Spool

    config = load_config(config_path, environ={"INFLUX_TOKEN": "not-a-secret"})
    spool = Spool(config.storage.influxdb.spool, 10**9)
    for batch in spool.oldest(10_000):
        spool.reject(batch, reason)
    if rejected_at is not None:
        spool._db().execute("UPDATE rejected SET rejected = ?", (rejected_at,))
    spool.close()


def test_with_influxdb_rejected_batches_make_the_collector_unhealthy(write_config, tmp_path, run_pinger):
    config = influx_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()) - 60)
    reject_spooled_batches(config, "400 partial write: unable to parse 'collector,collector=lab\\n1 …'")
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 1
    sentence = one_sentence(result)
    assert sentence.startswith(
        "collector lab-1: rejected, InfluxDB refused 1 batch of sweeps as malformed, the newest "
    )
    assert sentence.endswith(
        " ago (400 partial write: unable to parse 'collector,collector=lab\\n1 …'); the spool keeps them in its "
        "'rejected' table"
    )


def test_with_influxdb_batches_rejected_long_ago_are_mentioned_but_healthy(write_config, tmp_path, run_pinger):
    config = influx_config(write_config, tmp_path)
    store_sweep_at(config, int(time.time()) - 3 * 3600)
    reject_spooled_batches(config, "400 bad", rejected_at=time.time() - 3 * 3600)
    store_sweep_at(config, int(time.time()) - 60)
    result = run_pinger("health", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    sentence = one_sentence(result)
    assert sentence.startswith("collector lab-1: healthy, newest sweep ")
    assert sentence.endswith("; 1 batch refused by InfluxDB earlier, the newest 3.0 h ago, is kept in the spool")
