"""Versioned SQLite schema: the tables as declared now, and the ordered steps that bring an older store file there.

``PRAGMA user_version`` holds a file's schema version. When a store opens:

* version 0 (a new or empty file): every declared table is created and the file gets the current
  version, in one transaction;
* an older version: each later step runs in order, each in its own transaction together with the
  new version number, so a step that fails leaves the file exactly at the version before it;
* a newer version (written by a newer Pinger): refused with one sentence; nothing is touched.

Version 1 is the schema of the first release (cd64022); version 2 adds ``pool_hourly`` and the
optional ``cost`` and ``co2_kg`` of ``host_daily`` and ``pool_daily`` (issue 14); version 3 packs the
samples (``ping`` and ``pool_status`` become views over ``sweeps``: ``pinger.store.layout``). A fresh
file and a migrated one end with the same tables, column for column (tests/test_migrations.py
compares them).

Step 3 is not done in place: it is a ``rewrite`` step, which ``migrate`` leaves to its caller
(``pinger.store.rewrite`` writes a new file and renames it over the old one; dropping ``ping`` in
place would double the file and its write-ahead log with ``secure_delete``, and keep the space).

Adding a field to a measurement: declare it in ``pinger.schema`` as optional (older rows have
none), then append ``Migration(N + 1, "why", (add_column_sql(MEASUREMENT, "field"),))`` here.
A new measurement: ``(create_table_sql(MEASUREMENT),)``.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import NamedTuple

from pinger.errors import StoreError
from pinger.schema import ALL, ENERGY_FIELDS, HOST_DAILY, PING, POOL_DAILY, POOL_HOURLY, POOL_STATUS, Measurement

from .layout import create_statements
from .tables import add_column_sql, create_table_sql

log = logging.getLogger("pinger.store")

FIRST_VERSION = 1


PACKED_VERSION = 3  # from this version on, ping and pool_status are views over the packed sweeps
VIEWS = (PING.name, POOL_STATUS.name)


class Migration(NamedTuple):
    version: int  # the file's version once this step is done
    description: str
    statements: tuple[str, ...]
    rewrite: bool = False  # done by writing a new file (the caller's part: see RewriteNeeded), not in place


class RewriteNeeded(Exception):
    """``migrate`` reached a rewrite step: the caller closes its connection, rewrites the file, opens it again."""

    def __init__(self, step: Migration):
        self.step = step
        super().__init__(f"schema {step.version}: {step.description}")


class StoreSchema(NamedTuple):
    """The measurements a store holds now, and the steps from version 1 to now."""

    measurements: tuple[Measurement, ...]
    migrations: tuple[Migration, ...] = ()

    @property
    def version(self) -> int:
        return self.migrations[-1].version if self.migrations else FIRST_VERSION


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2,
        "hourly pool rows (pool_hourly); cost and co2_kg on host_daily and pool_daily",
        (
            create_table_sql(POOL_HOURLY),
            *(
                add_column_sql(measurement, field)
                for measurement in (HOST_DAILY, POOL_DAILY)
                for field in ENERGY_FIELDS
            ),
        ),
    ),
    Migration(
        PACKED_VERSION,
        "samples packed one row per pool and sweep (ping and pool_status become views)",
        (),
        rewrite=True,
    ),
)
SCHEMA = StoreSchema(ALL, MIGRATIONS)


def check_steps(schema: StoreSchema) -> None:
    """Raise ValueError unless the steps number the versions after the first one by one."""
    expected = list(range(FIRST_VERSION + 1, FIRST_VERSION + 1 + len(schema.migrations)))
    if [step.version for step in schema.migrations] != expected:
        raise ValueError(f"migration steps must be numbered {expected}")


def migrate(db: sqlite3.Connection, path: Path, schema: StoreSchema = SCHEMA) -> int:
    """Bring the file to ``schema.version``; return the version it had. ``db`` is in autocommit mode."""
    check_steps(schema)
    found = _version(db)
    if found > schema.version:
        raise StoreError(
            f"{path} was written by a newer Pinger (schema {found}; this one reads up to "
            f"{schema.version}): upgrade Pinger"
        )
    if found == schema.version:
        return found
    if found == 0:
        _create(db, schema)
        if _version(db) != schema.version:
            migrate(db, path, schema)
        return found
    for step in schema.migrations:
        if step.version > found:
            _run_step(db, path, step)
    return found


def _create(db: sqlite3.Connection, schema: StoreSchema) -> None:
    """Give a file without a version ``schema``'s tables and version; or, when it holds tables of an earlier
    schema (made that schema's way), the version before the packed one, for ``migrate`` to go on from."""
    with Transaction(db):
        if _version(db) != 0:
            return  # another process created it meanwhile
        if schema.version >= PACKED_VERSION and _is_table(db, PING.name):
            for measurement in schema.measurements:
                db.execute(create_table_sql(measurement, if_not_exists=True))
            db.execute(f"PRAGMA user_version = {PACKED_VERSION - 1}")
        else:
            for statement in fresh_statements(schema):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {schema.version}")


def _run_step(db: sqlite3.Connection, path: Path, step: Migration) -> None:
    """Do one step in its own transaction (a rewrite step: raise RewriteNeeded), unless another process did it."""
    if step.rewrite:
        if _version(db) == step.version - 1:
            raise RewriteNeeded(step)
        return  # another process did this step meanwhile
    try:
        with Transaction(db):
            if _version(db) != step.version - 1:
                return  # another process did this step meanwhile
            for statement in step.statements:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {step.version}")
    except sqlite3.Error as err:
        raise StoreError(
            f"Cannot migrate {path} to schema {step.version} ({step.description}): {err}; "
            f"the file is unchanged at schema {step.version - 1}"
        ) from None
    log.info("migrated %s to schema %d: %s", path, step.version, step.description)


def fresh_statements(schema: StoreSchema = SCHEMA) -> list[str]:
    """The statements that make a new file's tables and views, as of ``schema``'s version.
    IF NOT EXISTS: a file that has some of the tables but no version yet keeps them."""
    packed = schema.version >= PACKED_VERSION
    found = [
        create_table_sql(measurement, if_not_exists=True)
        for measurement in schema.measurements
        if not (packed and measurement.name in VIEWS)
    ]
    if packed:
        found += [
            statement.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
            .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ")
            .replace("CREATE VIEW ", "CREATE VIEW IF NOT EXISTS ")
            .replace("CREATE TRIGGER ", "CREATE TRIGGER IF NOT EXISTS ")
            for statement in create_statements()
        ]
    return found


def check_current(db: sqlite3.Connection, path: Path, schema: StoreSchema = SCHEMA) -> int:
    """For a read-only connection, which cannot migrate: raise StoreError unless the file is a Pinger store
    this Pinger can read; return its version. An older file is read as it stands (``present_columns``);
    the collector or ``pinger aggregate`` migrates it when it next opens it."""
    found = _version(db)
    if found > schema.version:
        raise StoreError(
            f"{path} was written by a newer Pinger (schema {found}; this one reads up to "
            f"{schema.version}): upgrade Pinger"
        )
    if found == 0:
        raise StoreError(f"{path} is not a Pinger store (it has no schema version)")
    return found


def present_columns(db: sqlite3.Connection, version: int, schema: StoreSchema = SCHEMA) -> dict[str, set[str]] | None:
    """The columns of each table an older file has (None for a current file): reading it without migrating,
    a column added since reads NULL and a table added since reads empty."""
    if version >= schema.version:
        return None
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")} for table in tables}


def _is_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _version(db: sqlite3.Connection) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (for connections in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
