"""`pinger report`: read the daily pool rows, check they can answer the question, analyse, render, write."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pinger.config import Config, Energy, Pool, Study
from pinger.errors import ReportInputError
from pinger.models import PoolDay
from pinger.output import write_text
from pinger.store import open_history_store

from .outcomes import select_days
from .request import Context, ReportRequest
from .study import baseline_of

if TYPE_CHECKING:
    from .analysis import Analysis

log = logging.getLogger("pinger.report")


def run_report(config: Config, request: ReportRequest, report_format: str, output: str | None) -> None:
    """Write the report, or raise a PingerError before anything is written."""
    baseline_of(config.study, config.source)  # no phases: say what to add before touching the store
    rows = stored_rows(config, request.first, request.last, request.pools)
    pools = {pool.name: pool for pool in config.pools}
    analysis, context = analyse_rows(
        rows, pools, config.study, config.timezone, request, str(config.source), config.energy
    )
    from .render import render

    write_text(output, render(report_format, analysis, context))
    log.info("report: %d of %d pool-days used, %d effects", len(context.days), len(rows), len(analysis.effects))


def stored_rows(config: Config, first: dt.date, last: dt.date, pools: Sequence[str]) -> list[PoolDay]:
    """The stored pool_daily rows of ``pools`` from first to last, by date then pool (the store read only)."""
    store = open_history_store(config, "read")
    try:
        return store.pool_days(first, last, list(pools))
    finally:
        store.close()


def analyse_rows(
    rows: Sequence[PoolDay],
    pools: Mapping[str, Pool],
    study: Study,
    tz: ZoneInfo,
    request: ReportRequest,
    source: str = "the config",
    energy: Energy | None = None,
) -> tuple[Analysis, Context]:
    """The analysis of stored (or synthetic) pool_daily rows; ReportInputError when they cannot answer.

    ``energy`` is the config's ``energy:`` section: with pricing the cost change is reported, with a CO2
    intensity the CO2 change; without it (None) nothing about either.
    """
    energy = energy or Energy()
    baseline = baseline_of(study, source)
    pools = {name: pools[name] for name in request.pools if name in pools}  # the rows of other pools are ignored
    span = f"from {request.first} to {request.last}"
    if not rows:
        raise ReportInputError(
            f"there are no daily rows of {_names(request.pools)} {span}: run pinger aggregate "
            f"--from {request.first} --to {request.last} first, or pick days with samples"
        )
    selection = select_days(rows, pools, study, tz, request.min_coverage, request.days_mode, energy.priced)
    if not selection.days:
        low = sum(selection.left_out.values())
        reasons = [f"{low} are below --min-coverage {request.min_coverage}"] if low else []
        if low < len(rows):
            reasons.append(f"{len(rows) - low} are not kept by --days {request.days_mode} or have no outcome")
        raise ReportInputError(
            f"none of the {len(rows)} pool-days {span} is left for the report: " + ", ".join(reasons)
        )
    from .analysis import analyse

    analysis = analyse(selection, study, baseline, pools, request, energy)
    return analysis, Context(source, request, study.phases, selection.days)


def _names(pools: Sequence[str]) -> str:
    return f"pool {pools[0]}" if len(pools) == 1 else f"the {len(pools)} pools"
