"""Measurement, tag and field names: the one source of truth for code, dashboards and tests."""

from __future__ import annotations

PING = "ping"
POOL_STATUS = "pool_status"
COLLECTOR = "collector"
HOST_DAILY = "host_daily"
POOL_DAILY = "pool_daily"

# measurement -> (tags, fields), as in DESIGN.md's data schema.
MEASUREMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    PING: (("pool", "host"), ("up", "rtt_ms")),
    POOL_STATUS: (("pool",), ("online", "total")),
    COLLECTOR: (("collector",), ("hosts", "online", "sweep_s", "spool_backlog", "write_errors")),
    HOST_DAILY: (("pool", "host"), ("runtime_h", "coverage")),
    POOL_DAILY: (
        ("pool", "phase"),  # plus each pool's free-form tags
        ("pcs_total", "pcs_used", "runtime_h", "avg_runtime_h", "energy_kwh", "coverage",
         "runtime_closed_h", "on_at_close"),
    ),
}

# The long CSV layout, column for column.
LONG_COLUMNS = (
    "date", "pool", "phase", "pcs_total", "pcs_used", "runtime_h", "avg_runtime_h",
    "energy_kwh", "coverage", "runtime_closed_h", "on_at_close",
)
# The wide layout: per pool, these figures (the original system's export, plus pcs_used).
WIDE_FIGURES = ("runtime_h", "avg_runtime_h", "energy_kwh", "pcs_total", "pcs_used")
