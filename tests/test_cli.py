"""The command line itself: what --help says, and arguments refused in one sentence."""

from __future__ import annotations

import argparse
import os
import sqlite3

import pytest

from pinger.cli import build_parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (choices,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(choices.choices)


def test_every_command_of_the_parser_has_what_runs_it():
    from pinger.cli import RUN, RUN_ALONE

    parser = subcommands()
    assert sorted(parser) == sorted([*RUN, *RUN_ALONE])
    assert all(parser[name].get_default("loads_config") == (name in RUN) for name in parser)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_help_names_every_options_default(command):
    for action in subcommands()[command]._actions:
        if action.default in (None, False, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction):
            continue
        assert "(default: " in (action.help or ""), f"{command} {action.option_strings}: {action.help!r}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["aggregate", "--date", "9999-12-31"], "9999-12-31 is past the last day Pinger can handle, 9999-12-30"),
        (["export", "--from", "2026-11-01", "--to", "9999-12-31"], "past the last day Pinger can handle"),
        (["aggregate", "--date", "2026-02-30"], "'2026-02-30' is not a date (YYYY-MM-DD)"),
    ],
)
def test_impossible_dates_are_one_sentence_and_exit_2(run_pinger, argv, message):
    result = run_pinger(*argv, "-c", "config/demo.yaml")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr and "Error" not in result.stderr


def test_check_config_can_check_the_example_without_its_secrets(run_pinger):
    if "INFLUX_TOKEN" in os.environ:
        pytest.skip("INFLUX_TOKEN is set here")
    example = "config/pools.example.yaml"
    without = run_pinger("check-config", "-c", example)
    assert without.returncode == 2 and "environment variable INFLUX_TOKEN is not set" in without.stderr
    allowed = run_pinger("check-config", "-c", example, "--allow-unset-env")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith(f"{example}: ok (")


def test_import_takes_implausible_times_only_when_allowed(write_config, tmp_path, run_pinger):
    store = tmp_path / "s.sqlite"
    config = write_config(f"""
        timezone: UTC
        storage: {{path: {store}}}
        pools:
          - {{name: A, watts: 1, hosts: [10.0.0.1]}}
    """)
    old = tmp_path / "old.lp"
    old.write_text("ping,pool=A,host=10.0.0.1 up=1i 1700000000\n")  # seconds, read as nanoseconds: 1970
    refused = run_pinger("import", "-c", str(config), str(old))
    assert refused.returncode == 2 and "before 2000-01-01T00:00:00Z" in refused.stderr
    assert "try --precision s" in refused.stderr
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM ping").fetchone()[0] == 0
    taken = run_pinger("import", "-c", str(config), str(old), "--allow-any-time")
    assert taken.returncode == 0, taken.stderr
    assert "imported 1 ping samples" in taken.stderr


def test_version(run_pinger):
    from pinger import __version__

    result = run_pinger("--version")
    assert (result.returncode, result.stdout) == (0, f"pinger {__version__}\n")


def test_log_times_are_in_the_configs_zone_and_say_which(write_config, tmp_path, run_pinger):
    """health speaks the config's zone; the log does too, with the zone's name, whatever the machine's zone."""
    import datetime as dt
    import re
    from zoneinfo import ZoneInfo

    config = write_config(f"""
        timezone: Asia/Kathmandu
        allow: [127.0.0.0/8]
        storage: {{path: {tmp_path / "s.sqlite"}}}
        pools:
          - {{name: A, watts: 1, hosts: [127.0.0.1]}}
    """)
    result = run_pinger("collect", "-c", str(config), "--once", env={"TZ": "America/Los_Angeles"})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0545 (INFO|WARNING) ", line) for line in lines)
    (sweep,) = [line for line in lines if " INFO sweep " in line]
    logged, stamped = re.match(r"^(\S+ \S+) \+0545 INFO sweep (\S+ \S+) \+0545: 1/1 hosts on, ", sweep).groups()
    kathmandu = ZoneInfo("Asia/Kathmandu")
    now = dt.datetime.now(kathmandu).replace(tzinfo=None)
    assert abs((dt.datetime.fromisoformat(logged) - now).total_seconds()) < 600
    assert dt.datetime.fromisoformat(stamped) <= dt.datetime.fromisoformat(logged)
