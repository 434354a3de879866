"""The ``pinger`` command line's parser: each command's options, and the options several commands share.

Shared options are declared once (``_Option``; pip's shared options are the model) and added to each command
that takes them, in the command's own words where it needs them. Option values are converted by the
converters of pinger.config_values, as config values are, with the same one-sentence messages. What each
command does lives in pinger.cli.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn, TypeVar

from . import config_values as values
from .errors import UsageError

DESCRIPTION = """\
How long do the PCs in a computer pool stay switched on each day, and what does that cost?
Pinger pings every configured host each interval, stores the samples, and turns them into
daily runtime, energy and coverage per host and pool.
"""
EPILOG = """\
-c may be omitted when PINGER_CONFIG is set.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's default exit code is 2 too; keep one sentence
        self.print_usage(sys.stderr)
        raise UsageError(f"{message} (see {self.prog} --help)")


T = TypeVar("T")


def _argument(convert: Callable[[str], T]) -> Callable[[str], T]:
    """A pinger.config_values converter as an option's type: its InvalidValue is argparse's one-sentence error."""

    def argument(text: str) -> T:
        try:
            return convert(text)
        except values.InvalidValue as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return argument


def _day(text: str) -> dt.date:
    day = values.date(text)
    if day == dt.date.max:  # its end, the next midnight, is past what dates can hold
        raise values.InvalidValue(f"{text} is past the last day Pinger can handle, 9999-12-30")
    return day


def _whole_seconds(text: str) -> int:
    try:
        seconds = values.interval(text)
    except values.InvalidValue as err:
        raise values.InvalidValue(f"{text!r}: {err}") from None
    if seconds != int(seconds):
        raise values.InvalidValue(f"{text!r} is not whole seconds: samples are stored on whole seconds")
    return int(seconds)


class _Option(NamedTuple):
    """An option as several commands declare it (pip's shared options are the model): its flags and settings.
    ``add`` puts it on a command, with other settings where the command says it in its own words."""

    flags: tuple[str, ...]
    settings: dict[str, Any]

    def add(self, parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup, **changes: Any) -> None:
        parser.add_argument(*self.flags, **{**self.settings, **changes})


def _option(*flags: str, **settings: Any) -> _Option:
    return _Option(flags, settings)


FIRST_DAY = _option("--from", dest="first", type=_argument(_day), metavar="D", required=True, help="first day")
LAST_DAY = _option("--to", dest="last", type=_argument(_day), metavar="D", required=True, help="last day, inclusive")
POOLS = _option("--pools", metavar="A,B", help="only these pools (default: all configured)")
MIN_COVERAGE = _option(
    "--min-coverage",
    type=_argument(values.fraction),
    default=0.9,
    metavar="F",
    help="leave out (and count) pool-days observed less than this fraction of the day (default: 0.9)",
)
DAYS = _option(
    "--days",
    dest="days_mode",
    choices=("all", "open", "weekdays"),
    default="all",
    help="all days, only days with opening hours, or Monday to Friday (default: all)",
)
OUTPUT = _option(
    "-o", "--output", metavar="FILE", help="write here, replaced atomically (default: standard output, also -)"
)
FORMAT = _option("--format", dest="output_format", default="md")  # choices and help: each command's own
POSITIVE = _argument(values.positive_int)


SUMMARIES = {  # what each command does, as --help says it (pip's commands_dict is the model)
    "check-config": "validate the config; list every problem as FILE:LINE: field: message",
    "sweep": "ping every configured host once and print one line per host; store nothing",
    "collect": (
        "the collector daemon: one sweep per interval, aligned to the clock; exit 1 when sweeps could not be "
        "stored or the store's file was deleted or replaced"
    ),
    "health": (
        "exit 0 when the collector's newest stored sweep (with InfluxDB: the newest spooled "
        "one) is younger than three intervals and not ahead of the clock (with InfluxDB: and no batch "
        "was refused meanwhile), else 1; one sentence either way"
    ),
    "aggregate": "compute the daily host and pool rows from the samples",
    "import": "load raw ping samples given as InfluxDB line protocol into the configured store",
    "import-legacy": (
        "import the first system's backup (manage.py dumpdata pingerservice): write a config for its "
        "pools, its history as samples into that config's store, then aggregate the imported days"
    ),
    "export": "print the daily pool rows as CSV",
    "report": (
        "compare the study's phases and pools: means, effects with confidence intervals and "
        "p-values, energy, cost and CO2 saved (the HTML figure needs "
        "pip install 'pinger[report]')"
    ),
    "plan": (
        "size a study before it starts: from the days already collected (a pilot or the baseline), the smallest "
        "effect on runtime per PC and day it could detect with 80 percent power at alpha 0.05, for 2 to 16 "
        "intervention weeks and per number of control pools (the HTML figure needs pip install 'pinger[report]')"
    ),
}


class _Commands:
    """The subcommands: each gets -c/--config (default $PINGER_CONFIG) and --debug; pinger.cli runs it with
    the config loaded. A command that loads no config before it runs (it may write one: import-legacy) has
    ``loads_config=False`` and declares its own -c."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        self.subparsers.required = True
        self.config = _Parser(add_help=False)
        self.config.add_argument(
            "-c",
            "--config",
            metavar="FILE",
            default=os.environ.get("PINGER_CONFIG"),
            help="the YAML config (default: $PINGER_CONFIG)",
        )
        self.debug = _Parser(add_help=False)
        for parent in (self.config, self.debug):
            parent.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
            parent.set_defaults(allow_unset_env=False)

    def add(self, name: str, loads_config: bool = True) -> argparse.ArgumentParser:
        parents = [self.config if loads_config else self.debug]
        summary = SUMMARIES[name]
        command = self.subparsers.add_parser(name, help=summary, description=summary, parents=parents)
        command.set_defaults(loads_config=loads_config)
        return command


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="pinger", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"pinger {__version__}")
    commands = _Commands(parser)
    for declare in (
        _collector_parsers,
        _aggregate_parser,
        _import_parsers,
        _export_parser,
        _report_parser,
        _plan_parser,
    ):
        declare(commands)
    return parser


def _collector_parsers(commands: _Commands) -> None:
    check = commands.add("check-config")
    check.add_argument(
        "--allow-unset-env",
        action="store_true",
        help="let ${VAR}s that are not set pass: the values holding one are left unchecked, "
        "everything else is checked (for checking a config away from its secrets)",
    )
    sweep = commands.add("sweep")
    sweep.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: pool, host, up (0/1; null when not observed), rtt_ms (null when off), "
        "error (why a host was not observed)",
    )
    collect = commands.add("collect")
    how_long = collect.add_mutually_exclusive_group()
    how_long.add_argument(
        "--once", action="store_true", help="sweep once, right now (stamped with the current second), then exit"
    )
    how_long.add_argument(
        "--sweeps", type=POSITIVE, metavar="N", help="do N sweeps on the interval's boundaries, then exit"
    )
    health = commands.add("health")
    health.set_defaults(allow_unset_env=True)  # it reads local files only: no secret needs to be at hand


def _aggregate_parser(commands: _Commands) -> None:
    aggregate = commands.add("aggregate")
    which = aggregate.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=_argument(_day), metavar="D", help="one local day, YYYY-MM-DD")
    FIRST_DAY.add(which, required=False, help="first day of a range (with --to)")
    which.add_argument(
        "--nightly",
        action="store_true",
        help="daemon: run at aggregate.at local time for every finished day not yet aggregated "
        "(catching up missed days at start)",
    )
    LAST_DAY.add(aggregate, required=False, help="last day of the range, inclusive")


def _import_parsers(commands: _Commands) -> None:
    importer = commands.add("import")
    importer.add_argument(
        "file",
        metavar="FILE.lp",
        help="line protocol, plain or gzip, a file or a pipe (/dev/stdin); lines of other measurements are skipped",
    )
    importer.add_argument(
        "--precision",
        choices=("s", "ms", "us", "ns"),
        default="ns",
        help="unit of the timestamps (default: ns, as in line protocol)",
    )
    importer.add_argument(
        "--allow-any-time",
        action="store_true",
        help="take timestamps before 2000-01-01 or more than a day ahead of the clock, which "
        "are refused otherwise (most often a --precision mistake)",
    )
    legacy = commands.add("import-legacy", loads_config=False)
    legacy.add_argument("dump", metavar="DUMP.json", help="the first system's dumpdata fixture (pingerdump.json)")
    legacy.add_argument(
        "--timezone",
        type=_argument(lambda text: values.timezone(text).key),
        metavar="ZONE",
        help="IANA zone of the new config: its days are local days of this zone "
        "(required unless -c; with -c, the config's zone)",
    )
    legacy.add_argument(
        "--interval",
        type=_argument(_whole_seconds),
        default="5m",
        metavar="DURATION",
        help="the first system's ping cadence: one sample per host each interval (default: 5m)",
    )
    target = legacy.add_mutually_exclusive_group()
    target.add_argument(
        "--config-out",
        metavar="FILE",
        help=f"write the new config here; an existing file only with --force (default: {LEGACY_CONFIG_OUT})",
    )
    target.add_argument(
        "-c",
        "--config",
        metavar="EXISTING.yaml",
        help="write no config: import into this config's store (SQLite or InfluxDB); its pools "
        "must hold the dump's computers. PINGER_CONFIG is not read here",
    )
    legacy.add_argument("--force", action="store_true", help="replace the --config-out file when it exists")


def _export_parser(commands: _Commands) -> None:
    export = commands.add("export")
    FIRST_DAY.add(export)
    LAST_DAY.add(export)
    POOLS.add(export)
    export.add_argument(
        "--layout",
        choices=("wide", "long", "legacy"),
        default="long",
        help="long: one row per day and pool; wide: one row per day, columns per pool; legacy: "
        "the first system's CSV, Verbrauch in Wh, dialect unix or excel (default: long)",
    )
    export.add_argument(
        "--dialect",
        choices=("unix", "excel", "excel-de"),
        default="unix",
        help="unix: comma, LF; excel: comma, CRLF, BOM; excel-de: semicolon, decimal comma; "
        "with --layout legacy Python's csv dialects unix (all quoted, LF) and excel "
        "(CRLF, no BOM) (default: unix)",
    )
    OUTPUT.add(
        export,
        help="write here: a file is replaced atomically, a device, FIFO or link target is written "
        "in place (default: standard output, also -)",
    )
    export.add_argument(
        "--hourly",
        action="store_true",
        help="the pool_hourly rows instead of the daily ones: one row per pool and local clock hour, "
        "long layout only (default: off, daily rows)",
    )


def _report_parser(commands: _Commands) -> None:
    report = commands.add("report")
    for option in (FIRST_DAY, LAST_DAY, POOLS, MIN_COVERAGE, DAYS):
        option.add(report)
    FORMAT.add(
        report,
        choices=("md", "html", "csv", "json"),
        help="Markdown, self-contained HTML with the figure, CSV or JSON (default: md)",
    )
    OUTPUT.add(
        report,
        help="write here, replaced atomically; nothing is written when the report fails "
        "(default: standard output, also -)",
    )


def _plan_parser(commands: _Commands) -> None:
    plan = commands.add("plan")
    FIRST_DAY.add(plan, help="first day of the pilot")
    LAST_DAY.add(plan)
    POOLS.add(plan)
    plan.add_argument(
        "--treated",
        metavar="A,B",
        help="the pools the intervention will go to (default: those study.phases puts in a phase other than the "
        "baseline); every other pool is a control",
    )
    plan.add_argument(
        "--baseline-weeks",
        type=POSITIVE,
        metavar="N",
        help="baseline weeks of the planned study (default: the pilot's whole weeks)",
    )
    plan.add_argument(
        "--weeks",
        type=POSITIVE,
        default=8,
        metavar="N",
        help="intervention weeks the table of control pools is computed for (default: 8)",
    )
    plan.add_argument(
        "--simulations", type=POSITIVE, default=200, metavar="N", help="resampled studies per design (default: 200)"
    )
    MIN_COVERAGE.add(plan, help="leave out pool-days observed less than this fraction of the day (default: 0.9)")
    DAYS.add(plan)
    FORMAT.add(
        plan,
        choices=("md", "html", "json"),
        help="Markdown, self-contained HTML with the figure, or JSON (default: md)",
    )
    OUTPUT.add(plan)


LEGACY_CONFIG_OUT = "pinger.yaml"
