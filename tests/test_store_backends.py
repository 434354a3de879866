"""One seam for the store backends: the registry (pinger/store/backends.py) and the Spooled protocol.

Which backend a config names is known in one place; callers ask its entry, or ask a store whether it is
Spooled, and never compare backend names. What the backends store and read alike is held by
tests/test_store_contract.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pinger import config as config_module
from pinger.config_load import load_config
from pinger.store import LocalFile, Spooled, backend_of
from pinger.store.backends import BACKENDS
from tests.support import ROOT, influx_storage, modules_loaded
from tests.test_layers import product_modules

# Where a backend's name may stand in a comparison: the registry, and the config loader (which requires the
# influxdb section for that backend).
MAY_NAME_BACKENDS = {"pinger.store.backends", "pinger.config_load"}


def test_every_backend_the_config_accepts_has_one_entry_of_that_name():
    assert tuple(BACKENDS) == config_module.BACKENDS
    assert all(entry.name == name for name, entry in BACKENDS.items())


def backend_name_comparisons(path: Path) -> list[int]:
    """Lines comparing something with a backend's name ("sqlite", "influxdb") or reading ``.backend`` in a
    comparison."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        names = any(isinstance(side, ast.Constant) and side.value in config_module.BACKENDS for side in sides)
        attribute = any(isinstance(side, ast.Attribute) and side.attr == "backend" for side in sides)
        if names or attribute:
            found.append(node.lineno)
    return found


def test_no_caller_compares_backend_names():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in product_modules().items()
        if name not in MAY_NAME_BACKENDS
        for line in backend_name_comparisons(path)
    ]
    assert offenders == []


def test_the_check_finds_a_comparison_of_backend_names(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f(config):\n    return config.storage.backend == 'influxdb'\n")
    assert backend_name_comparisons(source) == [2]


def sqlite_config(write_config, tmp_path):
    return load_config(
        write_config(f"""
        timezone: UTC
        storage: {{path: {tmp_path / "store.sqlite"}}}
        pools: [{{name: A, watts: 50, hosts: [127.0.0.1]}}]
    """)
    )


def influx_config(write_config, tmp_path):
    return load_config(
        write_config(f"""
        timezone: UTC
        {influx_storage("http://127.0.0.1:9", tmp_path / "spool.sqlite")}
        pools: [{{name: A, watts: 50, hosts: [127.0.0.1]}}]
    """),
        environ={"INFLUX_TOKEN": "not-a-secret"},
    )


def test_each_backend_names_the_local_file_it_owns_and_where_sweeps_go(write_config, tmp_path):
    sqlite, influx = sqlite_config(write_config, tmp_path), influx_config(write_config, tmp_path)
    assert backend_of(sqlite).local_file(sqlite) == LocalFile("the store", tmp_path / "store.sqlite")
    assert backend_of(influx).local_file(influx) == LocalFile("the InfluxDB spool", tmp_path / "spool.sqlite")
    assert backend_of(sqlite).describe(sqlite) == f"SQLite {tmp_path / 'store.sqlite'}"
    assert backend_of(influx).describe(influx) == (
        f"InfluxDB http://127.0.0.1:9 bucket pinger via spool {tmp_path / 'spool.sqlite'}"
    )


def test_only_the_influxdb_store_is_spooled(write_config, tmp_path):
    from pinger.store import open_history_store, open_sweep_store

    sqlite, influx = sqlite_config(write_config, tmp_path), influx_config(write_config, tmp_path)
    for config, spooled in ((sqlite, False), (influx, True)):
        for store in (open_history_store(config, "create"), open_sweep_store(config)):
            try:
                assert isinstance(store, Spooled) is spooled
            finally:
                if isinstance(store, Spooled):
                    store.close(flush_seconds=0)  # nothing to deliver; the server is not there
                else:
                    store.close()
    # The SQLite store answers no outbox question at all: it has none.
    from pinger.store.sqlite import SqliteStore

    assert not any(hasattr(SqliteStore, name) for name in ("backlog", "spool_fill", "write_errors", "deliver_pending"))


def test_the_newest_sweep_of_a_missing_store_is_store_missing_for_each_backend(write_config, tmp_path):
    from pinger.errors import StoreMissing
    from pinger.store import newest_sweep

    for config in (sqlite_config(write_config, tmp_path), influx_config(write_config, tmp_path)):
        with pytest.raises(StoreMissing):
            newest_sweep(config)


def test_a_sqlite_collector_and_its_health_never_load_influxdb_client(write_config, tmp_path):
    """The registry imports a backend's module when its entry is used: a SQLite config's collector start (lock,
    store, check) and health read leave influxdb_client (and NumPy) unloaded."""
    config = write_config(f"""
        timezone: UTC
        storage: {{path: {tmp_path / "store.sqlite"}}}
        pools: [{{name: A, watts: 50, hosts: [127.0.0.1]}}]
    """)
    probe = (
        "import sys\n"
        "from pinger.config_load import load_config\n"
        "from pinger.collector.daemon import open_collector\n"
        "from pinger.collector.health import check_health\n"
        "config = load_config(sys.argv[1])\n"
        "collector = open_collector(config)\n"
        "collector.store.close(); collector.lock.release()\n"
        "print(check_health(config).healthy)\n"
    )
    loaded, printed = modules_loaded(probe, str(config), packages=("influxdb_client", "numpy", "urllib3"))
    assert (printed, loaded) == ("False", [])  # no sweep yet: not healthy; nothing heavy loaded


def test_a_sqlite_store_written_as_the_collector_does_is_read_by_its_entry(write_config, tmp_path):
    from pinger.models import CollectorStatus, HostResult, SweepResult
    from pinger.store import newest_sweep, open_sweep_store

    config = sqlite_config(write_config, tmp_path)
    store = open_sweep_store(config)
    try:
        for time, name in ((1_800_000_000, "other"), (1_800_000_300, config.collector_name)):
            sweep = SweepResult(time, 0.01, (HostResult("A", "127.0.0.1", True, 0.1),))
            store.write_sweep(sweep, CollectorStatus(time, name, 1, 1, 0.01))
    finally:
        store.close()
    newest = newest_sweep(config)
    assert (newest.time, newest.holder, newest.rejections.batches) == (1_800_000_300, "store", 0)
    renamed = config._replace(collector_name="nobody")
    assert newest_sweep(renamed)[:3] == (None, "store", tuple(sorted((config.collector_name, "other"))))
