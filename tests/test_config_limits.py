"""Config limits: intervals and durations, what may be read as a config file, alias bombs, text
problems (encoding, tabs, implausible watts) and unset ${VAR} placeholders for check-config."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest

from pinger import config_load
from pinger.config_load import load_config, reload_config
from pinger.config_values import expand_host_spec, host_spec_size
from pinger.errors import ConfigError
from tests.support import ROOT

EXAMPLE = ROOT / "config" / "pools.example.yaml"


def problems_of(path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={}, **kwargs)
    return caught.value.problems


def pool(hosts: str = "[10.0.0.1]") -> str:
    return f"pools:\n  - {{name: A, watts: 80, hosts: {hosts}}}\n"


# -- 1. intervals and other durations ------------------------------------------------------------------


def test_sub_second_interval_is_refused(write_config):
    path = write_config("timezone: UTC\ninterval: 500ms\n" + pool())
    assert problems_of(path) == [f"{path}:2: interval: must be at least 1s: samples are stored on whole seconds"]


def test_one_second_interval_with_a_short_timeout_is_accepted(write_config):
    path = write_config("timezone: UTC\ninterval: 1s\nping: {timeout: 300ms, retries: 2}\n" + pool())
    config = load_config(path, environ={})
    assert config.interval == 1.0 and config.aggregate.hold == 1.0


@pytest.mark.parametrize(
    "settings, line, expected",
    [
        (
            "interval: 10s\nping: {timeout: 4s, retries: 2}\n",
            3,
            "4s × (1 + 2 retries) = 12s is not shorter than the interval 10s",
        ),
        (
            "interval: 10s\nping:\n  retries: 1\n  timeout: 5s\n",
            5,
            "5s × (1 + 1 retry) = 10s is not shorter than the interval 10s",
        ),
        # The defaults (timeout 1s, one retry) do not fit a 2s interval: the interval's line is named.
        ("interval: 2s\n", 2, "1s × (1 + 1 retry) = 2s is not shorter than the interval 2s"),
        (
            "interval: 1.5s\nping: {timeout: 500ms, retries: 2}\n",
            3,
            "0.5s × (1 + 2 retries) = 1.5s is not shorter than the interval 1.5s",
        ),
    ],
)
def test_a_sweep_that_cannot_finish_within_the_interval_is_refused(write_config, settings, line, expected):
    path = write_config("timezone: UTC\n" + settings + pool())
    assert problems_of(path) == [
        f"{path}:{line}: ping.timeout: {expected}: a sweep could not finish before the next one is due"
    ]


@pytest.mark.parametrize(
    "settings, expected",
    [
        ("interval: 99999999999999h\n", "2: interval: must be at most 24h (one day)"),
        ("interval: 25h\n", "2: interval: must be at most 24h (one day)"),
        ("interval: " + "9" * 400 + "h\n", "2: interval: must be at most 24h (one day)"),  # float('9...9') is inf
        ("ping: {timeout: 99999999999999h}\n", "2: ping.timeout: must be at most 24h (one day)"),
        ("aggregate: {hold: 99999999999999h}\n", "2: aggregate.hold: must be at most 24h (one day)"),
        ("aggregate: {hold: 1441m}\n", "2: aggregate.hold: must be at most 24h (one day)"),
    ],
)
def test_durations_above_one_day_are_refused(write_config, settings, expected):
    path = write_config("timezone: UTC\n" + settings + pool())
    assert problems_of(path) == [f"{path}:{expected}"]


def test_one_day_is_the_largest_interval_and_hold_defaults_to_it(write_config):
    path = write_config("timezone: UTC\ninterval: 24h\n" + pool())
    config = load_config(path, environ={})
    assert config.interval == 86400.0 and config.aggregate.hold == 86400.0


# -- 2. what may be read as a config file ------------------------------------------------------------

LOAD_IN_CHILD = """
import json, logging, sys
from pinger import config_load
from pinger.config_load import load_config, reload_config
from pinger.config_values import expand_host_spec, host_spec_size
from pinger.errors import ConfigError
mode, path = sys.argv[1], sys.argv[2]
if mode == "reload":
    running = load_config(sys.argv[3], environ={})
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logging.getLogger("pinger").addHandler(handler)
    kept = reload_config(path, running) is running
    print(json.dumps({"kept": kept, "log": records}))
else:
    try:
        load_config(path, environ={})
        print(json.dumps({"problems": None}))
    except ConfigError as err:
        print(json.dumps({"problems": err.problems}))
"""


def in_child(*args: str) -> dict:
    """Run load_config (or reload_config) in a child process: a regression that blocks or reads
    without end fails the test after 20 seconds instead of hanging the suite."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", LOAD_IN_CHILD, *args], capture_output=True, text=True, timeout=20, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {args[1]} did not finish within 20 seconds")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pinger.yaml"
    os.mkfifo(fifo)
    assert in_child("load", str(fifo)) == {"problems": [f"{fifo}: not a regular file (a named pipe)"]}


def test_a_character_device_is_refused():
    assert in_child("load", "/dev/zero") == {"problems": ["/dev/zero: not a regular file (a character device)"]}


def test_a_directory_is_refused(tmp_path):
    assert problems_of(tmp_path) == [f"{tmp_path}: not a regular file (a directory)"]


def test_a_file_over_16_mb_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(17_200_000)  # sparse: takes no disk space
    started = time.monotonic()
    assert problems_of(big) == [f"{big}: 17.2 MB is larger than the 16 MB a config may have"]
    assert time.monotonic() - started < 2


def test_a_file_of_exactly_16_mb_is_read(tmp_path):
    path = tmp_path / "padded.yaml"
    text = "timezone: UTC\n" + pool()
    path.write_text(text + "#" * (16_000_000 - len(text) - 1) + "\n")
    assert load_config(path, environ={}).host_count == 1


def test_reload_keeps_the_running_config_when_the_file_became_a_fifo(tmp_path, write_config):
    good = write_config("timezone: UTC\n" + pool(), "good.yaml")
    fifo = tmp_path / "pinger.yaml"
    os.mkfifo(fifo)
    result = in_child("reload", str(fifo), str(good))
    assert result == {
        "kept": True,
        "log": [f"config reload rejected, keeping the running config:\n{fifo}: not a regular file (a named pipe)"],
    }


def test_reload_keeps_the_running_config_when_the_file_grew_too_large(tmp_path, write_config, caplog):
    path = write_config("timezone: UTC\n" + pool())
    running = load_config(path, environ={})
    with open(path, "ab") as handle:
        handle.truncate(17_200_000)
    with caplog.at_level(logging.ERROR, logger="pinger"):
        assert reload_config(path, running) is running
    assert f"{path}: 17.2 MB is larger than the 16 MB a config may have" in caplog.text


# -- 3. alias bombs -------------------------------------------------------------------------------------


def refused_quickly(path) -> list[str]:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"refusing took {elapsed:.1f} s"
    return caught.value.problems


@pytest.mark.parametrize(
    "first, repeated",
    [
        ("{name: P0, watts: 1, hosts: &big [10.0.0.0/16]}", "{{name: P{i}, watts: 1, hosts: *big}}"),
        # A merge key (<<) brings the anchored pool's hosts along: they count towards the bound like an alias's.
        ("&pool {name: P0, watts: 1, hosts: [10.0.0.0/16]}", "{{<<: *pool, name: P{i}}}"),
    ],
    ids=["alias", "merge key"],
)
def test_aliases_or_merge_keys_repeating_65534_hosts_2000_times_are_refused_quickly(write_config, first, repeated):
    lines = ["timezone: UTC", "pools:", f"  - {first}"] + [f"  - {repeated.format(i=i)}" for i in range(1, 2001)]
    path = write_config("\n".join(lines) + "\n")
    assert refused_quickly(path) == [
        f"{path}:3: pools: the pools hold 131,133,534 hosts, more than the 1,000,000 a config may have"
    ]


def test_aliases_repeating_a_whole_pool_2000_times_are_refused_quickly(write_config):
    lines = ["timezone: UTC", "pools:", "  - &pool {name: P, watts: 1, hosts: [10.0.0.0/16]}"]
    lines += ["  - *pool"] * 2000
    path = write_config("\n".join(lines) + "\n")
    assert refused_quickly(path) == [
        f"{path}:3: pools: the pools hold 131,133,534 hosts, more than the 1,000,000 a config may have"
    ]


def test_aliases_multiplying_nodes_are_refused_quickly(write_config):
    # Few hosts, but 2,000 pools each walking the same 5,000 tags: ten million visits.
    tags = ", ".join(f"k{i}: v" for i in range(5000))
    lines = ["timezone: UTC", "pools:", f"  - {{name: P0, watts: 1, tags: &tags {{{tags}}}, hosts: [10.1.0.0]}}"]
    lines += [f"  - {{name: P{i}, watts: 1, tags: *tags, hosts: [10.1.{i // 256}.{i % 256}]}}" for i in range(1, 2000)]
    path = write_config("\n".join(lines) + "\n")
    assert refused_quickly(path) == [
        f"{path}:3: (aliases): aliases repeat the node on this line 1,999 times, expanding the config "
        "by 19,991,999 nodes, more than the 100,000 a config may gain through aliases"
    ]


def test_billion_laughs_is_refused_quickly(write_config):
    lines = ["timezone: UTC", "x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, 10)]
    lines += ["pools: [{name: A, watts: 1, hosts: [10.0.0.1], tags: *x9}]"]
    path = write_config("\n".join(lines) + "\n")
    problems = refused_quickly(path)
    assert problems == [
        f"{path}:2: (aliases): aliases repeat the node on this line 2,111,111,110 times, expanding the config "
        "by 23,456,790,101 nodes, more than the 100,000 a config may gain through aliases"
    ]


def test_an_alias_inside_its_own_anchor_is_refused(write_config):
    path = write_config("timezone: UTC\npools: &pools\n  - {name: A, watts: 1, hosts: *pools}\n")
    assert refused_quickly(path) == [
        f"{path}:3: (aliases): the node starting on this line holds an alias to a node that contains it"
    ]


@pytest.mark.parametrize(
    "spec",
    [
        "10.0.0.5",
        "10.0.0.250-10.0.1.4",
        "10.0.0.5-9",
        "10.0.0.0/28",
        "10.0.0.8/31",
        "10.0.0.8/32",
        "10.0.0.0/16",
        "PC-7.Example.EDU.",
        "FD00:0:0:0::A",
        "2001:db8::fffe-2001:db8::1:1",
        "fd00:1::/126",
        "fd00:1::4/127",
        "fd00:1::5/128",
        "fd00:1::/120",
        "fd00:1::/112",
        "10.0.0.0-10.0.255.255",
    ],
)
def test_host_spec_size_counts_what_expand_host_spec_makes(spec):
    assert host_spec_size(spec) == len(expand_host_spec(spec)[0])


def test_anchors_for_shared_opening_hours_and_tags_still_work(write_config):
    lines = [
        "timezone: UTC",
        "pools:",
        "  - {name: P0, watts: 1, open: &open {mon-fri: '08:00-20:00'}, tags: &tags {b: main}, hosts: [10.1.0.0]}",
    ]
    lines += [
        f"  - {{name: P{i}, watts: 1, open: *open, tags: *tags, hosts: [10.1.{i // 256}.{i % 256}]}}"
        for i in range(1, 1000)
    ]
    config = load_config(write_config("\n".join(lines) + "\n"), environ={})
    assert config.host_count == 1000 and config.pools[999].tags == {"b": "main"}


def test_the_host_bound_is_inclusive(write_config, monkeypatch):
    # The same check as with 1,000,000, at a size that loads in no time: 14 + 6 hosts are allowed, 14 + 7 are not.
    monkeypatch.setattr(config_load, "MAX_HOSTS", 20)
    path = write_config("timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.0/28, fd00::1-fd00::6]}\n")
    assert load_config(path, environ={}).host_count == 20
    path = write_config(
        "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.0/28]}\n"
        "  - {name: B, watts: 1, hosts: [fd00::1-fd00::7]}\n"
    )
    assert problems_of(path) == [f"{path}:3: pools: the pools hold 21 hosts, more than the 20 a config may have"]


# -- 4. messages: encoding, tabs, watts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"timezone: UTC\npools:\n  - {name: Caf\xe9, watts: 1, hosts: [10.0.0.1]}\n", "byte 0xe9 at line 3"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "byte 0x89 at line 1"),
        (b"\xff\xfet\x00i\x00m\x00e\x00", "byte 0xff at line 1"),  # UTF-16
        (b"timezone: UTC\n\n\x00\x00\x00", "byte 0x00 at line 3"),  # valid UTF-8, but not text
    ],
)
def test_a_file_that_is_not_utf8_text_names_the_byte_and_line(tmp_path, content, expected):
    path = tmp_path / "binary.yaml"
    path.write_bytes(content)
    assert problems_of(path) == [f"{path}: not UTF-8 text ({expected})"]


def test_a_character_yaml_refuses_is_named_on_one_line_with_its_line(tmp_path):
    path = tmp_path / "c1.yaml"
    path.write_text("timezone: UTC\npools:\n  - {name: \u0080, watts: 1, hosts: [10.0.0.1]}\n", encoding="utf-8")
    assert problems_of(path) == [f"{path}:3: (yaml): the character U+0080 is not allowed in YAML"]


@pytest.mark.parametrize(
    "body, line",
    [
        ("timezone: UTC\npools:\n\t- {name: A, watts: 1, hosts: [10.0.0.1]}\n", 3),
        ("timezone: UTC\npools:\n  - name: A\n    watts: 1\n\thosts: [10.0.0.1]\n", 5),
        ("timezone: UTC\npools:\n  - name: A\n    watts: 1\n    hosts:\n      - 10.0.0.1\n  \t  - 10.0.0.2\n", 7),
    ],
)
def test_tabs_in_indentation_are_named(write_config, body, line):
    path = write_config(body)
    assert problems_of(path) == [f"{path}:{line}: tabs are not allowed for indentation, use spaces"]


def test_a_tab_after_a_colon_is_still_fine(write_config):
    path = write_config("timezone:\tUTC\n" + pool())
    assert load_config(path, environ={}).timezone.key == "UTC"


def test_watts_above_10_kw_are_refused(write_config):
    path = write_config("""
        timezone: UTC
        pools:
          - name: A
            watts: 80000
            standby_watts: 10001
            hosts: [10.0.0.1, {host: 10.0.0.2, watts: 15000}]
          - {name: B, watts: 10000, standby_watts: 10000, hosts: [10.0.0.3]}
    """)
    message = "must be at most 10000 W (10 kW): is the unit watts?"
    assert problems_of(path) == [
        f"{path}:4: pools[0].watts: {message}",
        f"{path}:5: pools[0].standby_watts: {message}",
        f"{path}:6: pools[0].hosts[1].watts: {message}",
    ]


# -- 5. unset ${VAR} placeholders for check-config ------------------------------------------------------------


def test_the_example_loads_with_unset_variables_allowed():
    config = load_config(EXAMPLE, environ={}, allow_unset_env=True)
    assert config.storage.backend == "influxdb"
    assert config.storage.influxdb is not None and config.storage.influxdb.token == ""
    assert len(config.pool("A101").hosts) == 31 + 14 + 2


def test_the_example_still_fails_without_the_variable_by_default():
    assert problems_of(EXAMPLE) == [
        f"{EXAMPLE}:16: storage.influxdb.token: environment variable INFLUX_TOKEN is not set"
    ]


def test_unset_variables_allowed_still_checks_everything_else(write_config):
    path = write_config("""
        timezone: ${TZ_NAME}
        interval: 500ms
        collector: {name: "lab-${ROOM}"}
        pools:
          - name: A
            watts: ${WATTS}
            tags: {room: "${ROOM}"}
            open: {mon: "${HOURS}"}
            hosts: ["${HOST}", 10.0.0.1, bad_name!]
        study:
          phases:
            - {name: a, start: "${START}", pools: ["${POOL}", ZZ]}
    """)
    assert problems_of(path, allow_unset_env=True) == [
        f"{path}:2: interval: must be at least 1s: samples are stored on whole seconds",
        f"{path}:9: pools[0].hosts[2]: 'bad_name!' is neither an IP address, a range a-b, a CIDR network "
        "nor a DNS name",
        f"{path}:12: study.phases[0].pools[1]: no pool is named 'ZZ'",
    ]


def test_unset_variables_allowed_still_uses_the_ones_that_are_set(write_config):
    path = write_config('timezone: UTC\ncollector: {name: "lab-${ROOM}"}\n' + pool())
    config = load_config(path, environ={"ROOM": "7"}, allow_unset_env=True)
    assert config.collector_name == "lab-7"


def test_check_config_exits_2_with_one_sentence_for_each_limit(tmp_path, write_config, run_pinger_process):
    bomb = write_config(
        "timezone: UTC\npools:\n  - {name: P0, watts: 1, hosts: &big [10.0.0.0/16]}\n"
        + "".join(f"  - {{name: P{i}, watts: 1, hosts: *big}}\n" for i in range(1, 2001)),
        "bomb.yaml",
    )
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    tabs = write_config("timezone: UTC\npools:\n\t- {name: A, watts: 1, hosts: [10.0.0.1]}\n", "tabs.yaml")
    for path, expected in [
        (bomb, f"{bomb}:3: pools: the pools hold 131,133,534 hosts, more than the 1,000,000 a config may have"),
        (fifo, f"{fifo}: not a regular file (a named pipe)"),
        ("/dev/zero", "/dev/zero: not a regular file (a character device)"),
        (tabs, f"{tabs}:3: tabs are not allowed for indentation, use spaces"),
    ]:
        try:
            result = run_pinger_process("check-config", "-c", str(path), timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"check-config -c {path} did not finish within 20 seconds")
        assert (result.returncode, result.stderr.splitlines()) == (2, [expected])


# -- 6. a sweep of many hosts at a low rate, and ${VAR:-default} (issue 20) ----------------------------------------


def test_a_sweep_whose_sending_cannot_finish_within_the_interval_is_refused(write_config):
    # 65,536 hosts at 2,000 per second: each round sends for 32.768 s and waits 1 s after the last request; with
    # one retry for the silent ones (at night: most of them) a sweep takes up to 2 × 33.768 = 67.536 s.
    path = write_config("timezone: UTC\ninterval: 10s\nping: {rate: 2000}\n" + pool("[10.0.0.0-10.0.255.255]"))
    assert problems_of(path) == [
        f"{path}:3: ping.rate: a sweep of 65536 hosts at 2000 requests/s takes up to (1 + 1 retry) × "
        "(65536 / 2000/s + 1s timeout) = 67.5s, not shorter than the interval 10s; raise ping.rate or the "
        "interval, or split the pools among collectors"
    ]


def test_a_sweep_that_fits_its_interval_is_accepted(write_config):
    # 16,000 hosts at 2,000/s: 2 × (8 s + 1 s) = 18 s < 20 s.
    path = write_config("timezone: UTC\ninterval: 20s\n" + pool("[10.0.0.0-10.0.62.127]"))
    assert load_config(path, environ={}).host_count == 16_000


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, "data/pinger.sqlite"),
        ({"DATA_DIR": ""}, "data/pinger.sqlite"),
        ({"DATA_DIR": "/srv"}, "/srv/pinger.sqlite"),
    ],
)
def test_a_variable_with_a_default_takes_the_default_when_unset_or_empty(write_config, environ, expected):
    path = write_config("timezone: UTC\nstorage: {path: '${DATA_DIR:-data}/pinger.sqlite'}\n" + pool())
    assert str(load_config(path, environ=environ).storage.path) == expected


@pytest.mark.parametrize("reference", ["${DATA_DIR-data}", "${DATA_DIR:?missing}", "${DATA_DIR:=data}", "${DATA DIR}"])
def test_a_variable_reference_pinger_does_not_know_is_refused(write_config, reference):
    path = write_config(f"timezone: UTC\nstorage: {{path: '{reference}/pinger.sqlite'}}\n" + pool())
    assert problems_of(path) == [
        f"{path}:2: storage.path: {reference} is not a variable reference Pinger knows: write ${{VAR}}, or "
        "${VAR:-default} for a default when VAR is unset or empty"
    ]
