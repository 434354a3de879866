"""The ``pinger`` command line: parse arguments, run one command, turn failures into one sentence."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .errors import ConfigError, PingerError, UsageError

if TYPE_CHECKING:
    from .config import Config
    from .models import HostResult

log = logging.getLogger("pinger")

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pinger", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    every_command = _Parser(add_help=False)
    every_command.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=os.environ.get("PINGER_CONFIG"),
        help="the YAML config (default: $PINGER_CONFIG)",
    )
    every_command.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    every_command.set_defaults(allow_unset_env=False)

    def command(name: str, help_text: str, run: Callable[[argparse.Namespace, Config], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[every_command])
        sub.set_defaults(run=run)
        return sub

    check = command(
        "check-config", "validate the config; list every problem as FILE:LINE: field: message", _check_config
    )
    check.add_argument(
        "--allow-unset-env",
        action="store_true",
        help="let ${VAR}s that are not set pass: the values holding one are left unchecked, "
        "everything else is checked (for checking a config away from its secrets)",
    )

    sweep = command("sweep", "ping every configured host once and print one line per host; store nothing", _sweep)
    sweep.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: pool, host, up (0/1), rtt_ms (null when off), error",
    )

    collect = command("collect", "the collector daemon: one sweep per interval, aligned to the clock", _collect)
    how_long = collect.add_mutually_exclusive_group()
    how_long.add_argument(
        "--once", action="store_true", help="sweep once, right now (stamped with the current second), then exit"
    )
    how_long.add_argument(
        "--sweeps", type=_positive_int, metavar="N", help="do N sweeps on the interval's boundaries, then exit"
    )

    health = command(
        "health",
        "exit 0 when the collector's newest stored sweep (with InfluxDB: the newest spooled "
        "one) is younger than three intervals, else 1; one sentence either way",
        _health,
    )
    health.set_defaults(allow_unset_env=True)  # it reads local files only: no secret needs to be at hand

    aggregate = command("aggregate", "compute the daily host and pool rows from the samples", _aggregate)
    which = aggregate.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=_date, metavar="D", help="one local day, YYYY-MM-DD")
    which.add_argument("--from", dest="first", type=_date, metavar="D", help="first day of a range (with --to)")
    which.add_argument(
        "--nightly",
        action="store_true",
        help="daemon: run at aggregate.at local time for every finished day not yet aggregated "
        "(catching up missed days at start)",
    )
    aggregate.add_argument("--to", dest="last", type=_date, metavar="D", help="last day of the range, inclusive")

    importer = command(
        "import", "load raw ping samples given as InfluxDB line protocol into the configured store", _import
    )
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

    legacy_help = (
        "import the first system's backup (manage.py dumpdata pingerservice): write a config for its "
        "pools, its history as samples into that config's store, then aggregate the imported days"
    )
    legacy = commands.add_parser("import-legacy", help=legacy_help, description=legacy_help)
    legacy.add_argument("dump", metavar="DUMP.json", help="the first system's dumpdata fixture (pingerdump.json)")
    legacy.add_argument(
        "--timezone",
        type=_timezone_name,
        metavar="ZONE",
        help="IANA zone of the new config: its days are local days of this zone "
        "(required unless -c; with -c, the config's zone)",
    )
    legacy.add_argument(
        "--interval",
        type=_whole_seconds,
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
    legacy.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    legacy.set_defaults(run_alone=_import_legacy, allow_unset_env=False)

    export = command("export", "print the daily pool rows as CSV", _export)
    export.add_argument("--from", dest="first", type=_date, metavar="D", required=True, help="first day")
    export.add_argument("--to", dest="last", type=_date, metavar="D", required=True, help="last day, inclusive")
    export.add_argument("--pools", metavar="A,B", help="only these pools (default: all configured)")
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
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here: a file is replaced atomically, a device, FIFO or link target is written "
        "in place (default: standard output, also -)",
    )
    export.add_argument(
        "--hourly",
        action="store_true",
        help="the pool_hourly rows instead of the daily ones: one row per pool and local clock hour, "
        "long layout only (default: off, daily rows)",
    )

    report = command(
        "report",
        "compare the study's phases and pools: means, effects with confidence intervals and "
        "p-values, energy, cost and CO2 saved (the HTML figure needs "
        "pip install 'pinger[report]')",
        _report,
    )
    report.add_argument("--from", dest="first", type=_date, metavar="D", required=True, help="first day")
    report.add_argument("--to", dest="last", type=_date, metavar="D", required=True, help="last day, inclusive")
    report.add_argument("--pools", metavar="A,B", help="only these pools (default: all configured)")
    report.add_argument(
        "--min-coverage",
        type=_fraction,
        default=0.9,
        metavar="F",
        help="leave out (and count) pool-days observed less than this fraction of the day (default: 0.9)",
    )
    report.add_argument(
        "--days",
        dest="days_mode",
        choices=("all", "open", "weekdays"),
        default="all",
        help="all days, only days with opening hours, or Monday to Friday (default: all)",
    )
    report.add_argument(
        "--format",
        dest="report_format",
        choices=("md", "html", "csv", "json"),
        default="md",
        help="Markdown, self-contained HTML with the figure, CSV or JSON (default: md)",
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here, replaced atomically; nothing is written when the report fails "
        "(default: standard output, also -)",
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


LEGACY_CONFIG_OUT = "pinger.yaml"


def _timezone_name(text: str) -> str:
    from .config_values import InvalidValue, timezone

    try:
        return timezone(text).key
    except InvalidValue as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _whole_seconds(text: str) -> int:
    from .config_values import InvalidValue, interval

    try:
        seconds = interval(text)
    except InvalidValue as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None
    if seconds != int(seconds):
        raise argparse.ArgumentTypeError(f"{text!r} is not whole seconds: samples are stored on whole seconds")
    return int(seconds)


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if day == dt.date.max:  # its end, the next midnight, is past what dates can hold
        raise argparse.ArgumentTypeError(f"{text} is past the last day Pinger can handle, 9999-12-30")
    return day


def main(argv: list[str] | None = None) -> int:
    debug = False
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        debug = args.debug
        logging.basicConfig(
            level=logging.DEBUG if debug else logging.INFO,
            format="%(asctime)s %(levelname)s %(message)s",
            datefmt="%Y-%m-%d %H:%M:%S",
        )
        if getattr(args, "run_alone", None) is not None:  # import-legacy: it may write the config itself
            return int(args.run_alone(args))
        if not args.config:
            raise UsageError("no config given: pass -c FILE or set PINGER_CONFIG")
        from .config_load import load_config

        run: Callable[[argparse.Namespace, Config], int] = args.run
        return run(args, load_config(args.config, allow_unset_env=args.allow_unset_env))
    except PingerError as err:
        if debug:
            raise
        # Config problems already start with FILE:LINE; everything else gets the program's name.
        print(str(err) if isinstance(err, ConfigError) else f"pinger: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # anything unforeseen still ends in one sentence
        if debug:
            raise
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"pinger: {type(err).__name__}: {detail} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def _check_config(args: argparse.Namespace, config: Config) -> int:
    print(f"{args.config}: ok ({config.host_count} hosts in {len(config.pools)} pools)")
    return 0


def _collect(args: argparse.Namespace, config: Config) -> int:
    from .collector.daemon import Collector

    collector = Collector(Path(args.config), config)
    collector.install_signal_handlers()
    if args.once:
        collector.run(sweeps=1, immediately=True)
    else:
        collector.run(sweeps=args.sweeps)
    return 0


def _health(args: argparse.Namespace, config: Config) -> int:
    from .collector.health import check_health

    health = check_health(config)
    print(health.sentence)
    return 0 if health.healthy else 1


def _aggregate(args: argparse.Namespace, config: Config) -> int:
    if args.nightly:
        if args.last is not None:
            raise UsageError("--nightly takes no --to")
        from .aggregator.nightly import NightlyAggregator

        nightly = NightlyAggregator(Path(args.config), config)
        nightly.install_signal_handlers()
        nightly.run()
        return 0
    if args.first is not None and args.last is None:
        raise UsageError("--from needs --to")
    if args.last is not None and args.first is None:
        raise UsageError("--to needs --from")
    first, last = (args.date, args.date) if args.date else (args.first, args.last)
    if last < first:
        raise UsageError("--to is before --from")
    from .aggregator.job import aggregate_days

    aggregate_days(config, first, last)
    return 0


def _export(args: argparse.Namespace, config: Config) -> int:
    if args.last < args.first:
        raise UsageError("--to is before --from")
    pools = _pools(args, config)
    from .aggregator.export import export_csv, export_hourly_csv

    if args.hourly:
        if args.layout != "long":
            raise UsageError(f"--hourly writes the long layout only, not --layout {args.layout}")
        export_hourly_csv(config, args.first, args.last, pools, args.dialect, args.output)
        return 0
    export_csv(config, args.first, args.last, pools, args.layout, args.dialect, args.output)
    return 0


def _report(args: argparse.Namespace, config: Config) -> int:
    if args.last < args.first:
        raise UsageError("--to is before --from")
    pools = _pools(args, config)
    from .reporting.report import run_report
    from .reporting.request import ReportRequest

    request = ReportRequest(
        args.first, args.last, tuple(pools or [pool.name for pool in config.pools]), args.min_coverage, args.days_mode
    )
    run_report(config, request, args.report_format, args.output)
    return 0


def _pools(args: argparse.Namespace, config: Config) -> list[str] | None:
    """--pools as a list in the order given; None for all. An unknown name is one sentence (exit 2)."""
    pools = [name.strip() for name in args.pools.split(",") if name.strip()] if args.pools else None
    unknown = [name for name in pools or () if name not in {pool.name for pool in config.pools}]
    if unknown:
        raise UsageError(f"--pools: no pool is named {unknown[0]!r} in {args.config}")
    return pools


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _import(args: argparse.Namespace, config: Config) -> int:
    from .ingestion.line_protocol import import_file

    import_file(config, Path(args.file), args.precision, allow_any_time=args.allow_any_time)
    return 0


def _import_legacy(args: argparse.Namespace) -> int:
    from .config_load import load_config
    from .ingestion.legacy import import_legacy

    existing = load_config(args.config) if args.config else None
    if existing is not None and args.force:
        raise UsageError("--force goes with --config-out: with -c no config is written")
    imported = import_legacy(
        Path(args.dump),
        timezone=args.timezone,
        interval_s=args.interval,
        config_out=None if existing else Path(args.config_out or LEGACY_CONFIG_OUT),
        force=args.force,
        existing=existing,
    )
    if imported.first_day is not None and imported.last_day is not None:
        from .aggregator.job import aggregate_days

        aggregate_days(imported.config, imported.first_day, imported.last_day)
    return 0


def _sweep(args: argparse.Namespace, config: Config) -> int:
    from .collector.sweep import run_sweep
    from .collector.targets import Resolver

    result = run_sweep(config, Resolver())
    lines: Iterable[str]
    if args.json:
        from json.encoder import encode_basestring_ascii as quote

        lines = (_json_line(host, quote) for host in result.hosts)
    else:
        width = max((len(host.host) for host in result.hosts), default=4)
        lines = (
            f"{host.pool}\t{host.host:<{width}}\t"
            + (f"up  {host.rtt_ms:8.3f} ms" if host.up else "off" + (f"  ({host.error})" if host.error else ""))
            + "\n"
            for host in result.hosts
        )
    out = sys.stdout
    out.write("".join(lines))
    out.flush()
    log.info("sweep: %d/%d hosts on, %.3f s", result.online, len(result.hosts), result.duration_s)
    return 0


def _json_line(host: HostResult, quote: Callable[[str], str]) -> str:
    """One host exactly as ``json.dumps`` of its record writes it, at a fifth of the cost."""
    rtt = "null" if host.rtt_ms is None else repr(host.rtt_ms)
    error = f', "error": {quote(host.error)}' if host.error else ""
    return f'{{"pool": {quote(host.pool)}, "host": {quote(host.host)}, "up": {int(host.up)}, "rtt_ms": {rtt}{error}}}\n'
