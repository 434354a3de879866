"""The ``pinger`` command line: parse arguments, run one command, turn failures into one sentence."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .cli_parser import LEGACY_CONFIG_OUT, build_parser
from .errors import ConfigError, PingerError, UsageError

if TYPE_CHECKING:
    from .config import Config
    from .models import HostResult

log = logging.getLogger("pinger")


class _ZonedFormatter(logging.Formatter):
    """Log times with their zone's name ("2026-11-30 10:05:00 CET"): the machine's zone until a config is
    loaded, then the config's, the zone ``health`` and the daily rows speak."""

    zone: dt.tzinfo | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        moment = (
            dt.datetime.fromtimestamp(record.created, self.zone)
            if self.zone
            else dt.datetime.fromtimestamp(record.created).astimezone()
        )
        return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def _set_up_logging(debug: bool) -> _ZonedFormatter:
    handler = logging.StreamHandler()
    formatter = _ZonedFormatter("%(asctime)s %(levelname)s %(message)s")
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler])
    return formatter


def main(argv: list[str] | None = None) -> int:
    # NumPy's OpenBLAS starts a thread per core when NumPy is imported, and they spin a while. No command
    # gains from them (aggregate, import and import-legacy call no BLAS routine; report's small matrices
    # run as fast on one thread), and a day of 10,000 PCs aggregates with 0.1 s less CPU without them
    # (docs/performance.md). Set before NumPy is first imported; a value the user set wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    debug = False
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        debug = args.debug
        formatter = _set_up_logging(debug)
        if not args.loads_config:  # import-legacy: it may write the config itself
            return RUN_ALONE[args.command](args)
        if not args.config:
            raise UsageError("no config given: pass -c FILE or set PINGER_CONFIG")
        from .config_load import load_config

        run = RUN[args.command]
        config = load_config(args.config, allow_unset_env=args.allow_unset_env)
        formatter.zone = config.timezone
        return run(args, config)
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
    from .collector.daemon import open_collector

    collector = open_collector(config)
    collector.install_signal_handlers()
    done = collector.run(sweeps=1, immediately=True) if args.once else collector.run(sweeps=args.sweeps)
    return 1 if done.lost else 0  # the log said which sweeps are lost


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
    from .aggregator.job import aggregate_days

    aggregate_days(config, *_day_span(args))
    return 0


def _day_span(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    """The days a command covers, (first, last): --date's day, or --from to --to; a span with one end, or whose
    end is before its start, is a usage error (exit 2)."""
    day = getattr(args, "date", None)
    if day is not None and args.last is None:
        return day, day
    if args.first is None or args.last is None:
        raise UsageError("--from needs --to" if args.last is None else "--to needs --from")
    if args.last < args.first:
        raise UsageError("--to is before --from")
    return args.first, args.last


# Files SQLite keeps beside a database while it is open (or after a crash), each an input of a reader too.
_SQLITE_COMPANIONS = (("-wal", "write-ahead log"), ("-shm", "shared-memory file"), ("-journal", "rollback journal"))


def _store_files(config: Config) -> list[tuple[str, Path]]:
    """The local file of the configured store (the SQLite file, or the InfluxDB spool), with its companions."""
    from .store.backends import backend_of

    local = backend_of(config).local_file(config)
    return _with_companions(local.role, local.path)


def _with_companions(role: str, path: Path) -> list[tuple[str, Path]]:
    """A SQLite file and the files SQLite keeps beside it, each with its role."""
    return [(role, path)] + [(f"{role}'s {what}", Path(f"{path}{suffix}")) for suffix, what in _SQLITE_COMPANIONS]


def _refuse_output_over_inputs(args: argparse.Namespace, config: Config) -> None:
    """-o must name none of the command's inputs: the config file, the store and its companions (exit 2)."""
    from .output import refuse_output_over_inputs

    refuse_output_over_inputs(args.output, [("the config", Path(args.config)), *_store_files(config)])


def _export(args: argparse.Namespace, config: Config) -> int:
    _refuse_output_over_inputs(args, config)
    _day_span(args)
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
    _refuse_output_over_inputs(args, config)
    _day_span(args)
    pools = _pools(args, config)
    from .reporting.report import run_report
    from .reporting.request import ReportRequest

    request = ReportRequest(
        args.first, args.last, tuple(pools or [pool.name for pool in config.pools]), args.min_coverage, args.days_mode
    )
    run_report(config, request, args.output_format, args.output)
    return 0


def _plan(args: argparse.Namespace, config: Config) -> int:
    _day_span(args)
    pools = _pools(args, config) or [pool.name for pool in config.pools]
    treated = [name.strip() for name in args.treated.split(",") if name.strip()] if args.treated else []
    unknown = [name for name in treated if name not in pools]
    if unknown:
        raise UsageError(f"--treated: {unknown[0]!r} is not one of the pools ({', '.join(pools)})")
    from .reporting.plan import PlanRequest, run_plan

    request = PlanRequest(
        args.first,
        args.last,
        tuple(pools),
        tuple(treated),
        args.min_coverage,
        args.days_mode,
        args.baseline_weeks,
        reference_weeks=args.weeks,
        simulations=args.simulations,
    )
    run_plan(config, request, args.output_format, args.output)
    return 0


def _pools(args: argparse.Namespace, config: Config) -> list[str] | None:
    """--pools as a list in the order given, each name once (in NFC, as the config's names); None for all.
    An unknown name is one sentence (exit 2)."""
    import unicodedata

    names = [unicodedata.normalize("NFC", name.strip()) for name in args.pools.split(",")] if args.pools else []
    pools = list(dict.fromkeys(name for name in names if name)) or None
    unknown = [name for name in pools or () if name not in {pool.name for pool in config.pools}]
    if unknown:
        raise UsageError(f"--pools: no pool is named {unknown[0]!r} in {args.config}")
    return pools


def _import(args: argparse.Namespace, config: Config) -> int:
    from .ingestion.import_lines import import_file

    import_file(config, Path(args.file), args.precision, allow_any_time=args.allow_any_time)
    return 0


def _import_legacy(args: argparse.Namespace) -> int:
    from .config_load import load_config
    from .ingestion.legacy import import_legacy

    existing = load_config(args.config) if args.config else None
    if existing is not None and args.force:
        raise UsageError("--force goes with --config-out: with -c no config is written")
    if existing is None:
        from .config import StorageSettings
        from .output import refuse_output_over_inputs

        new_store = StorageSettings().path  # the store the new config names, written next
        refuse_output_over_inputs(
            args.config_out or LEGACY_CONFIG_OUT,
            [("the dump", Path(args.dump)), *_with_companions("the store", new_store)],
            option="--config-out",
        )
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
            + (
                f"up  {host.rtt_ms:8.3f} ms"
                if host.up
                else ("off" if host.observed else f"not observed  ({host.error})")
            )
            + "\n"
            for host in result.hosts
        )
    out = sys.stdout
    out.write("".join(lines))
    out.flush()
    unobserved = len(result.hosts) - result.observed
    log.info(
        "sweep: %d/%d hosts on,%s %.3f s",
        result.online,
        result.observed,
        f" {unobserved} not observed," if unobserved else "",
        result.duration_s,
    )
    return 0


def _json_line(host: HostResult, quote: Callable[[str], str]) -> str:
    """One host exactly as ``json.dumps`` of its record writes it, at a fifth of the cost. ``up`` is null for a
    host the sweep did not observe (``error`` says why)."""
    rtt = "null" if host.rtt_ms is None else repr(host.rtt_ms)
    up = int(host.up) if host.observed else "null"
    error = f', "error": {quote(host.error)}' if host.error else ""
    return f'{{"pool": {quote(host.pool)}, "host": {quote(host.host)}, "up": {up}, "rtt_ms": {rtt}{error}}}\n'


# What each command of pinger.cli_parser runs: with the config loaded, or (RUN_ALONE) with the arguments alone.
RUN: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "check-config": _check_config,
    "sweep": _sweep,
    "collect": _collect,
    "health": _health,
    "aggregate": _aggregate,
    "import": _import,
    "export": _export,
    "report": _report,
    "plan": _plan,
}
RUN_ALONE: dict[str, Callable[[argparse.Namespace], int]] = {"import-legacy": _import_legacy}
