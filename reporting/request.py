"""What the user asked the report for, and what the renderers show besides the analysis."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from pinger.config import Phase

from .outcomes import DayOutcomes


class ReportRequest(NamedTuple):
    first: dt.date
    last: dt.date
    pools: tuple[str, ...]  # as --pools names them, else in config order
    min_coverage: float
    days_mode: str  # all | open | weekdays: see outcomes.keeps_weekday


class Context(NamedTuple):
    """The request, the config it came with, the study's phases and the kept days (for the figure)."""

    source: str
    request: ReportRequest
    phases: tuple[Phase, ...]
    days: list[DayOutcomes]
