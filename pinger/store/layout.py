"""Schema 3's tables for raw samples, and the ``ping`` and ``pool_status`` views that read them with plain SQL.

The samples live in ``sweeps``, one row per pool, sweep time and part of its roster (see
``pinger.store.packing`` for the columns' bytes). A roster is a pool's hosts in the order a sweep
covered them; a config edit that adds, removes or reorders hosts starts a new one, and old rows
keep theirs:

* ``pools (id, name)``, ``hosts (id, name)``: names once, as small integers everywhere else;
* ``rosters (id, pool, size)``, ``roster_hosts (roster, position, host)``;
* ``sweeps (time, pool, part, roster, up, seen, rtt, rank, source, reconstructed, online, total)``,
  keyed (time, pool, part): rows are appended in time order, so a write touches the end of the
  tree whatever the store's size. ``online`` and ``total`` are the collector's pool counts
  (``pool_status``), on part 0 of the rows it wrote; NULL on imported rows.

The views need nothing but SQLite itself (no registered function): a byte of a BLOB is read with
``instr`` on a 256-byte BLOB of all byte values, a byte's bit count with ``unicode`` on a 256-character
text, so analysts can open the file with the ``sqlite3`` shell, R or pandas.
"""

from __future__ import annotations

from pinger.schema import PING, POOL_STATUS

from .packing import GROUP, PART, RTT_COARSE, RTT_COARSE_OFFSET, RTT_NONE

TABLES = (
    "CREATE TABLE pools (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE rosters (id INTEGER PRIMARY KEY, pool INTEGER NOT NULL, size INTEGER NOT NULL)",
    "CREATE TABLE roster_hosts (roster INTEGER NOT NULL, position INTEGER NOT NULL, host INTEGER NOT NULL, "
    "PRIMARY KEY (roster, position)) WITHOUT ROWID",
    "CREATE INDEX roster_hosts_by_host ON roster_hosts (host, roster)",
    "CREATE TABLE sweeps (time INTEGER NOT NULL, pool INTEGER NOT NULL, part INTEGER NOT NULL, "
    "roster INTEGER NOT NULL, up BLOB NOT NULL, seen BLOB, rtt BLOB, rank BLOB, source INTEGER NOT NULL, "
    "reconstructed BLOB, online INTEGER, total INTEGER, PRIMARY KEY (time, pool, part)) WITHOUT ROWID",
    # Rows given to ``INSERT INTO ping`` by plain SQL wait here (the view shows them) until the store
    # next opens for writing or reads samples, which packs them (a later one replaces an earlier one).
    "CREATE TABLE ping_staged (time INTEGER NOT NULL, pool TEXT NOT NULL, host TEXT NOT NULL, "
    "up INTEGER NOT NULL, rtt_ms REAL, PRIMARY KEY (host, time)) WITHOUT ROWID",
)
PACKED_TABLES = ("pools", "hosts", "rosters", "roster_hosts", "sweeps", "ping_staged")

_BYTES = "X'" + bytes(range(256)).hex().upper() + "'"
_POPCOUNT = "'" + "".join(str(value.bit_count()) for value in range(256)) + "'"


def _byte(blob: str, index: str) -> str:
    """The byte at 0-based ``index`` of ``blob`` (0 past its end; substr of an empty BLOB is NULL)."""
    return f"(coalesce(instr({_BYTES}, substr({blob}, ({index}) + 1, 1)), 1) - 1)"


def _ones(value: str) -> str:
    """The number of 1 bits of a byte value."""
    return f"(unicode(substr({_POPCOUNT}, ({value}) + 1, 1)) - 48)"


def _bit(blob: str, slot: str) -> str:
    return f"(({_byte(blob, f'({slot}) >> 3')} >> (({slot}) & 7)) & 1)"


def _rank(slot: str) -> str:
    """The number of up positions before ``slot`` in its row: the rank directory's count up to the
    slot's group, the whole bytes of the group before it, and the bits below it in its own byte."""
    whole_bytes = " + ".join(
        f"CASE WHEN ({slot} & {GROUP - 1}) >= {8 * (index + 1)} "
        f"THEN {_ones(_byte('bits', f'({slot} >> 5) * 4 + {index}'))} ELSE 0 END"
        for index in range(GROUP // 8 - 1)
    )
    directory = _byte("rank", f"({slot} >> 5) - 1")
    own_byte = _byte("bits", f"{slot} >> 3")
    below = _ones(f"{own_byte} & ((1 << ({slot} & 7)) - 1)")
    return f"(CASE WHEN {slot} < {GROUP} THEN 0 ELSE {directory} END + {whole_bytes} + {below})"


def _rtt_ms(code: str) -> str:
    return (
        f"CASE WHEN {code} = {RTT_NONE} THEN NULL WHEN {code} < {RTT_COARSE} THEN {code} / 100.0 "
        f"ELSE {code} - {RTT_COARSE_OFFSET}.0 END"
    )


def ping_view_sql() -> str:
    """``ping`` with its documented columns (time, pool, host, up, rtt_ms): one row per sample."""
    rank = _rank("slot")
    code = f"({_byte('rtt', f'2 * {rank}')} * 256 + {_byte('rtt', f'2 * {rank} + 1')})"
    if GROUP != 32 or PART != 256:
        raise ValueError("the view's arithmetic assumes parts of 256 positions and groups of 32")
    return (
        f"CREATE VIEW {PING.name} (time, pool, host, up, rtt_ms) AS "
        f"SELECT time, pool, host, up, CASE WHEN up = 1 AND rtt IS NOT NULL THEN {_rtt_ms(code)} END "
        "FROM (SELECT s.time AS time, p.name AS pool, h.name AS host, s.up AS bits, s.rtt AS rtt, "
        f"s.rank AS rank, r.position % {PART} AS slot, {_bit('s.up', f'r.position % {PART}')} AS up "
        "FROM sweeps AS s "
        "JOIN pools AS p ON p.id = s.pool "
        f"JOIN roster_hosts AS r ON r.roster = s.roster AND r.position >= s.part * {PART} "
        f"AND r.position < s.part * {PART} + {PART} "
        # A host's rosters name their pool: the rows of other pools are passed over without a look-up.
        "JOIN rosters AS ro ON ro.id = r.roster AND ro.pool = s.pool "
        "JOIN hosts AS h ON h.id = r.host "
        f"WHERE s.seen IS NULL OR {_bit('s.seen', f'r.position % {PART}')}) "
        "UNION ALL SELECT time, pool, host, up, rtt_ms FROM ping_staged"
    )


def ping_insert_trigger_sql() -> str:
    """``INSERT INTO ping`` by plain SQL, as before schema 3: the row waits in ``ping_staged``."""
    return (
        f"CREATE TRIGGER ping_insert INSTEAD OF INSERT ON {PING.name} BEGIN "
        "INSERT OR REPLACE INTO ping_staged (time, pool, host, up, rtt_ms) "
        "VALUES (NEW.time, NEW.pool, NEW.host, NEW.up, CASE WHEN NEW.up = 1 THEN NEW.rtt_ms END); END"
    )


def pool_status_view_sql() -> str:
    """``pool_status`` (time, pool, online, total): the collector's counts kept on its rows."""
    return (
        f"CREATE VIEW {POOL_STATUS.name} (time, pool, online, total) AS "
        "SELECT s.time, p.name, s.online, s.total FROM sweeps AS s JOIN pools AS p ON p.id = s.pool "
        "WHERE s.part = 0 AND s.total IS NOT NULL"
    )


def create_statements() -> tuple[str, ...]:
    return (*TABLES, ping_view_sql(), ping_insert_trigger_sql(), pool_status_view_sql())
