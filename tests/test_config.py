"""Config loading: the shipped files parse; every kind of mistake names its file, line and field."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from pinger.config_load import load_config
from pinger.config_values import expand_host_spec, parse_duration
from pinger.errors import ConfigError
from tests.support import ROOT

MINIMAL = """
timezone: Europe/Berlin
pools:
  - name: A
    watts: 80
    hosts: [127.0.0.1]
"""


def problems_of(path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    return caught.value.problems


def test_demo_config_parses_with_expected_hosts():
    config = load_config(ROOT / "config" / "demo.yaml", environ={})
    assert config.timezone.key == "Europe/Berlin"
    assert config.interval == 10.0
    assert config.aggregate.hold == 10.0  # defaults to the interval
    assert [pool.name for pool in config.pools] == ["DEMO-1", "DEMO-2"]
    # 127.0.0.1-127.0.0.4 plus 127.0.0.5; a /29 has 6 usable addresses.
    assert config.host_count == 11
    assert config.pools[0].hosts[4].name == "127.0.0.5" and config.pools[0].hosts[4].watts == 120
    assert config.pools[0].hosts[0].watts == 80 and config.pools[0].hosts[0].standby_watts == 1.5
    assert all(ipaddress.IPv4Address(h.name).is_loopback for p in config.pools for h in p.hosts)


def test_real_world_example_parses_with_env_token():
    config = load_config(ROOT / "config" / "pools.example.yaml", environ={"INFLUX_TOKEN": "s3cret"})
    assert config.storage.backend == "influxdb"
    assert config.storage.influxdb.token == "s3cret"
    assert "s3cret" not in repr(config.storage)  # secrets never end up in logs via repr
    a101 = config.pool("A101")
    # 10.1.1.10-40 (31) + 10.1.2.0/28 (14 usable) + two DNS names
    assert len(a101.hosts) == 31 + 14 + 2
    assert a101.tags == {"building": "main", "printer": "yes", "keyboard": "DE"}
    assert a101.hosts[-1].name == "pc-a101-08.example.edu" and a101.hosts[-1].watts == 120
    assert not a101.hosts[-1].is_address
    b204 = [host.name for host in config.pool("B204").hosts]
    assert len(b204) == 60 + 4 and b204[59] == "10.1.4.60"  # 10.1.4.1-60, short range form
    assert b204[60:] == ["2001:db8:b204::1", "2001:db8:b204::2", "2001:db8:b204::3", "2001:db8:b204::4"]
    # mon-fri 08:00-20:00, sat 09:00-14:00, sunday closed
    assert a101.open.periods_on(dt.date(2026, 11, 30)) == ((480, 1200),)  # a Monday
    assert a101.open.periods_on(dt.date(2026, 12, 5)) == ((540, 840),)  # a Saturday
    assert a101.open.periods_on(dt.date(2026, 12, 6)) == ()  # a Sunday
    assert config.pool("B204").open.periods_on(dt.date(2026, 11, 30)) == ((480, 720), (780, 1200))
    assert config.study.phase_for("A101", dt.date(2026, 10, 15)) == "baseline"
    assert config.study.phase_for("A101", dt.date(2026, 11, 15)) == "polite-sign"
    assert config.study.phase_for("B204", dt.date(2026, 11, 15)) is None


def test_example_without_token_variable_names_the_line(tmp_path):
    problems = problems_of(ROOT / "config" / "pools.example.yaml")
    assert problems == [
        f"{ROOT / 'config' / 'pools.example.yaml'}:16: storage.influxdb.token: "
        "environment variable INFLUX_TOKEN is not set"
    ]


def test_every_problem_is_reported_at_once_with_its_line(write_config):
    path = write_config("""
        timezone: Europe/Berlinn
        interval: 5 minutes
        ping: {timeout: 1s, retries: -1, colour: red}
        pools:
          - name: A101
            watts: eighty
            open: {mon-fri: "08:00-20:00", fri: "09:00-10:00", sun: "20:00-08:00"}
            hosts:
              - 10.1.1.10-10.1.1.40
              - 10.1.1.20
              - bad_name!
          - name: A101
            watts: 50
            tags: {pool: x}
            hosts: [10.1.3.1, "${NOPE}"]
        study:
          phases:
            - {name: a, start: 2026-10-01, end: 2026-09-01}
            - {name: b, start: 2026-10-01, pools: [ZZ]}
    """)
    expected = [
        "1: timezone: 'Europe/Berlinn' is not an IANA time zone name (e.g. Europe/Berlin)",
        "2: interval: '5 minutes' is not a duration (write e.g. 500ms, 30s, 5m, 1h)",
        "3: ping.colour: unknown field (known here: privileged, rate, retries, timeout)",
        "3: ping.retries: must be zero or more",
        "6: pools[0].watts: 'eighty' is not a number",
        "7: pools[0].open.fri: fri is already given by 'mon-fri'",
        "7: pools[0].open.sun: '20:00-08:00' ends before it starts (periods cannot cross midnight)",
        "10: pools[0].hosts[1]: host 10.1.1.20 is already listed at line 9 (pool A101)",
        "11: pools[0].hosts[2]: 'bad_name!' is neither an IP address, a range a-b, a CIDR network nor a DNS name",
        "12: pools[1].name: pool 'A101' is already defined at line 5",
        "14: pools[1].tags.pool: 'pool' is a reserved tag name",
        "15: pools[1].hosts[1]: environment variable NOPE is not set",
        "18: study.phases[0].end: the phase ends before it starts",
        "19: study.phases[1].pools[0]: no pool is named 'ZZ'",
    ]
    assert problems_of(path) == [f"{path}:{line}" for line in expected]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("pools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n", "1: timezone: required"),
        ("timezone: UTC\n", "1: pools: required (a list of pools with their hosts)"),
        ("timezone: UTC\npools:\n  - {name: A, hosts: [10.0.0.1]}\n", "3: pools[0].watts: required"),
        ("timezone: UTC\npools:\n  - {name: A, watts: 1}\n", "3: pools[0].hosts: required: at least one host"),
        (
            "timezone: UTC\nallow: [127.0.0.0/8]\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n",
            "4: pools[0].hosts[0]: 10.0.0.1 is outside the allowed networks (allow:)",
        ),
        # A range that leaves the allowed network names its first address outside, not its first address.
        (
            "timezone: UTC\nallow: [10.0.0.0/30, 10.0.0.8/29]\n"
            "pools:\n  - {name: A, watts: 1, hosts: [10.0.0.2-10.0.0.9]}\n",
            "4: pools[0].hosts[0]: 10.0.0.4 is outside the allowed networks (allow:)",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n"
            "  - {name: B, watts: 1, hosts: [10.0.0.0/30]}\n",
            "4: pools[1].hosts[0]: host 10.0.0.1 is already listed at line 3 (pool A)",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['fe80::1']}\n",
            "3: pools[0].hosts[0]: 'fe80::1' is link-local and would need an interface; "
            "list a global or unique-local address",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['::ffff:10.0.0.1']}\n",
            "3: pools[0].hosts[0]: '::ffff:10.0.0.1' is an IPv4-mapped address; list 10.0.0.1 instead",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['fd00::1:2:3:4:5:6:7']}\n",
            "3: pools[0].hosts[0]: 'fd00::1:2:3:4:5:6:7' is not an IPv6 address",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['fd00::/64']}\n",
            "3: pools[0].hosts[0]: 'fd00::/64' holds more than 65536 addresses; split it",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [fd00::]}\n",
            "3: (yaml): found unexpected ':' (quote IPv6 addresses inside [...] lists, e.g. ['fd00::1'])",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['fd00::9-fd00::3']}\n",
            "3: pools[0].hosts[0]: range 'fd00::9-fd00::3' ends before it starts",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['FD00::1', 'fd00:0:0::1']}\n",
            "3: pools[0].hosts[1]: host fd00::1 is already listed at line 3 (pool A)",
        ),
        (
            "timezone: UTC\nallow: [10.0.0.0/8, 'fd00:1::/64']\n"
            "pools:\n  - {name: A, watts: 1, hosts: ['fd00:2::1']}\n",
            "4: pools[0].hosts[0]: fd00:2::1 is outside the allowed networks (allow:)",
        ),
        # ::a00:1 is 10.0.0.1 as a number; an IPv4 network still does not hold it.
        (
            "timezone: UTC\nallow: [10.0.0.0/8]\npools:\n  - {name: A, watts: 1, hosts: ['::a00:1']}\n",
            "4: pools[0].hosts[0]: ::a00:1 is outside the allowed networks (allow:)",
        ),
        (
            "timezone: UTC\nallow: ['fd00:1::/64']\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n",
            "4: pools[0].hosts[0]: 10.0.0.1 is outside the allowed networks (allow:)",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.9-10.0.0.3]}\n",
            "3: pools[0].hosts[0]: range '10.0.0.9-10.0.0.3' ends before it starts",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1/33]}\n",
            "3: pools[0].hosts[0]: '10.0.0.1/33' is not a CIDR network (write e.g. 10.1.2.0/28 or fd00:1::/120)",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1/28]}\n",
            "3: pools[0].hosts[0]: '10.0.0.1/28' has host bits set; did you mean 10.0.0.0/28?",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, open: {mon: '8:00-25:00'}, hosts: [10.0.0.1]}\n",
            "3: pools[0].open.mon: '25:00' is not a time of day (write HH:MM)",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, open: {funday: '08:00-10:00'}, hosts: [10.0.0.1]}\n",
            "3: pools[0].open.funday: 'funday' is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            "timezone: UTC\naggregate: {at: 25:00}\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n",
            "2: aggregate.at: '25:00' is not a time of day (write HH:MM)",
        ),
        (
            "timezone: UTC\nstorage: {backend: influxdb}\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n",
            "2: storage.influxdb: required when backend is influxdb (url, org, bucket, token)",
        ),
        (
            "timezone: UTC\ntimezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n",
            "2: timezone: given twice in the same mapping",
        ),
        (
            "timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\nstudy:\n  phases:\n"
            "    - {name: a, start: 2026-01-01, end: 2026-01-31}\n    - {name: b, start: 2026-01-31}\n",
            "7: study.phases[1]: overlaps phase 'a' for the same pool; a day has one phase",
        ),
        ("timezone: UTC\npools: [\n", None),  # YAML syntax error: reported with a line, not a traceback
    ],
)
def test_single_mistakes(write_config, body, expected):
    path = write_config(body)
    problems = problems_of(path)
    if expected is None:
        assert len(problems) == 1 and problems[0].startswith(f"{path}:") and "(yaml)" in problems[0]
    else:
        assert problems == [f"{path}:{expected}"]


def test_a_range_across_two_adjacent_allowed_networks_is_allowed(write_config):
    path = write_config(
        "timezone: UTC\nallow: [10.0.0.0/30, 10.0.0.4/30]\n"
        "pools:\n  - {name: A, watts: 1, hosts: [10.0.0.1-10.0.0.6]}\n"
    )
    assert [host.name for host in load_config(path).pools[0].hosts] == [f"10.0.0.{i}" for i in range(1, 7)]


def test_env_substitution_inside_strings(write_config):
    path = write_config("""
        timezone: UTC
        collector: {name: "lab-${ROOM}"}
        pools:
          - {name: A, watts: 1, hosts: ["${HOST}"]}
    """)
    config = load_config(path, environ={"ROOM": "7", "HOST": "127.0.0.9"})
    assert config.collector_name == "lab-7"
    assert config.pools[0].hosts[0].name == "127.0.0.9"


def test_yaml_1_1_surprises_are_not_applied(write_config):
    # Unquoted 00:30 would be the integer 30 in YAML 1.1, and yes/no would be booleans.
    path = write_config("""
        timezone: UTC
        aggregate: {at: 00:30}
        pools:
          - {name: A, watts: 1, tags: {printer: yes}, hosts: [127.0.0.1]}
    """)
    config = load_config(path, environ={})
    assert config.aggregate.at == dt.time(0, 30)
    assert config.pools[0].tags == {"printer": "yes"}


@pytest.mark.parametrize("text, seconds", [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "spec, first, last, count",
    [
        ("10.0.0.5", "10.0.0.5", "10.0.0.5", 1),
        ("10.0.0.250-10.0.1.4", "10.0.0.250", "10.0.1.4", 11),
        ("10.0.0.5-9", "10.0.0.5", "10.0.0.9", 5),
        ("10.0.0.0/28", "10.0.0.1", "10.0.0.14", 14),
        ("10.0.0.8/31", "10.0.0.8", "10.0.0.9", 2),
        ("PC-7.Example.EDU.", "pc-7.example.edu", "pc-7.example.edu", 1),
        ("FD00:0:0:0::A", "fd00::a", "fd00::a", 1),
        ("2001:db8::fffe-2001:db8::1:1", "2001:db8::fffe", "2001:db8::1:1", 4),
        ("fd00:1::/126", "fd00:1::1", "fd00:1::3", 3),
        ("fd00:1::4/127", "fd00:1::4", "fd00:1::5", 2),
        ("fd00:1::/120", "fd00:1::1", "fd00:1::ff", 255),
    ],
)
def test_host_forms(spec, first, last, count):
    names, _ = expand_host_spec(spec)
    assert (names[0], names[-1], len(names)) == (first, last, count)


def test_check_config_cli_exit_codes(write_config, run_pinger):
    good = write_config(MINIMAL, "good.yaml")
    result = run_pinger("check-config", "-c", str(good))
    assert result.returncode == 0, result.stderr
    assert "ok (1 hosts in 1 pools)" in result.stdout

    bad = write_config("timezone: Mars/Base\ninterval: soon\npools: []\n", "bad.yaml")
    result = run_pinger("check-config", "-c", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{bad}:1: timezone: 'Mars/Base' is not an IANA time zone name (e.g. Europe/Berlin)",
        f"{bad}:2: interval: 'soon' is not a duration (write e.g. 500ms, 30s, 5m, 1h)",
        f"{bad}:3: pools: the list is empty; add at least one pool with hosts",
    ]

    result = run_pinger("check-config", "-c", str(bad.parent / "missing.yaml"))
    assert result.returncode == 2 and "cannot read the config file" in result.stderr

    result = run_pinger("check-config", env={"PINGER_CONFIG": str(good)})
    assert result.returncode == 0, result.stderr


# -- names, tags and files that cannot work (issue 20) ---------------------------------------------------------


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            'collector: {name: "lab\\n1"}\n',
            "2: collector.name: 'lab\\n1' holds a control character (U+000A)",
        ),
        (
            'pools:\n  - {name: A, watts: 1, tags: {building: "main\\thall"}, hosts: [10.0.0.1]}\n',
            "3: pools[0].tags.building: 'main\\thall' holds a control character (U+0009)",
        ),
        (
            'pools:\n  - {name: A, watts: 1, tags: {"bui\\x01lding": main}, hosts: [10.0.0.1]}\n',
            "3: pools[0].tags.bui\\x01lding: 'bui\\x01lding' holds a control character (U+0001)",
        ),
        (
            'pools:\n  - {name: A, watts: 1, tags: {building: "main\\x85"}, hosts: [10.0.0.1]}\n',
            "3: pools[0].tags.building: 'main\\x85' holds a control character (U+0085)",
        ),
        (
            'study:\n  phases: [{name: "sign\\ntwo", start: 2026-01-01}]\n',
            "5: study.phases[0].name: 'sign\\ntwo' holds a control character (U+000A)",
        ),
    ],
)
def test_control_characters_in_names_and_tags_are_refused_at_load(write_config, body, expected):
    pools = "pools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n"
    if body.startswith("collector"):
        body += pools
    elif body.startswith("study"):
        body = pools + body
    path = write_config("timezone: UTC\n" + body)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{expected}: names and tags go into InfluxDB line protocol and CSV")


def test_a_control_character_from_the_environment_is_refused_too(write_config):
    path = write_config(
        'timezone: UTC\ncollector: {name: "${NAME}"}\npools:\n  - {name: A, watts: 1, hosts: [10.0.0.1]}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"NAME": "lab\r1"})
    assert caught.value.problems[0].startswith(
        f"{path}:2: collector.name: 'lab\\r1' holds a control character (U+000D)"
    )


def test_a_merge_key_in_a_pool_takes_the_anchored_fields(write_config):
    path = write_config("""
        timezone: UTC
        pools:
          - &a {name: A, watts: 80, standby_watts: 1.5, tags: {building: main}, hosts: [10.0.0.1]}
          - <<: *a
            name: B
            watts: 120
            hosts: [10.0.0.2]
          - <<: [{watts: 7, open: {mon: "08:00-20:00"}}, *a]
            name: C
            hosts: [10.0.0.3]
    """)
    a, b, c = load_config(path, environ={}).pools
    assert (b.name, b.watts, b.standby_watts, b.tags, [h.name for h in b.hosts]) == (
        "B",
        120.0,
        1.5,
        {"building": "main"},
        ["10.0.0.2"],
    )
    # In a list of merged mappings the earlier one wins (YAML's merge rule); explicit keys win over all.
    assert (c.watts, c.standby_watts, c.open is not None) == (7.0, 1.5, True)


def test_a_merge_key_whose_value_is_no_mapping_is_named(write_config):
    path = write_config("timezone: UTC\npools:\n  - {<<: [1, 2], name: A, watts: 1, hosts: [10.0.0.1]}\n")
    assert problems_of(path) == [
        f"{path}:3: pools[0].<<: a merge key (<<) takes a mapping or a list of mappings, such as *defaults"
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("- timezone: UTC\n- pools: []\n", "1: (top level): the config is a list; it must be a mapping of sections "),
        ("just some text\n", "1: (top level): the config is a single value; it must be a mapping of sections "),
    ],
)
def test_a_config_that_is_not_a_mapping_says_so(write_config, text, expected):
    path = write_config(text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{expected}(timezone:, pools:, …)")


def test_decomposed_unicode_names_are_normalised_to_nfc(write_config):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Café")
    assert decomposed != "Café"
    path = write_config(f"""
        timezone: UTC
        collector: {{name: "{decomposed}-1"}}
        pools:
          - {{name: "{decomposed}", watts: 1, tags: {{"{decomposed}": "{decomposed}"}}, hosts: [10.0.0.1]}}
        study:
          phases: [{{name: "{decomposed}", start: 2026-01-01, pools: ["{decomposed}"]}}]
    """)
    config = load_config(path, environ={})
    assert config.pools[0].name == "Café" and config.collector_name == "Café-1"
    assert config.pools[0].tags == {"Café": "Café"}
    assert config.study.phases[0].name == "Café" and config.study.phases[0].pools == frozenset({"Café"})


def test_an_ipv6_address_with_a_zone_index_is_not_called_link_local(write_config):
    path = write_config("timezone: UTC\npools:\n  - {name: A, watts: 1, hosts: ['::1%lo']}\n")
    assert problems_of(path) == [
        f"{path}:3: pools[0].hosts[0]: '::1%lo' carries a zone index (%lo); write the address without it"
    ]


@pytest.mark.parametrize("key", ["path", "influxdb"])
def test_a_store_path_that_is_a_device_or_directory_is_refused(write_config, tmp_path, key):
    storage = (
        "{path: /dev/null}"
        if key == "path"
        else "{backend: influxdb, influxdb: {url: 'http://127.0.0.1:9', org: o, bucket: b, token: t, spool: /dev/null}}"
    )
    path = write_config(f"timezone: UTC\nstorage: {storage}\npools:\n  - {{name: A, watts: 1, hosts: [10.0.0.1]}}\n")
    field = "storage.path" if key == "path" else "storage.influxdb.spool"
    assert problems_of(path) == [
        f"{path}:2: {field}: /dev/null is a character device, not a store file; name a file (it is created "
        "when missing)"
    ]
    directory = write_config(
        f"timezone: UTC\nstorage: {{path: {tmp_path}}}\npools:\n  - {{name: A, watts: 1, hosts: [10.0.0.1]}}\n",
        "dir.yaml",
    )
    assert problems_of(directory) == [
        f"{directory}:2: storage.path: {tmp_path} is a directory, not a store file; name a file (it is created when "
        "missing)"
    ]


def test_a_store_path_that_is_the_config_itself_is_refused(write_config, tmp_path):
    link = tmp_path / "store.sqlite"
    link.symlink_to(tmp_path / "pinger.yaml")
    path = write_config(
        f"timezone: UTC\nstorage: {{path: {link}}}\npools:\n  - {{name: A, watts: 1, hosts: [10.0.0.1]}}\n"
    )
    assert problems_of(path) == [f"{path}:2: storage.path: {link} is this config file; name the store's own file"]
