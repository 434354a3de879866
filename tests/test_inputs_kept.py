"""No command writes its output over one of its own inputs: the config, the store (with its -wal and -shm), the dump.

An output is the same file as an input when both names reach one inode (through a symbolic link, a hard
link or another spelling of the path), or when the output names an input's companion file that does not
exist yet (the store's -wal). Each such command is refused with exit 2 and one sentence, before it reads or
writes anything; ``--force`` does not change that.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from pinger.errors import OutputIsInput
from pinger.output import refuse_output_over_inputs
from tests.support import ROOT, pinger_command
from tests.support.legacy_fixture import Script, ScriptedComputer, ScriptedPool, play, write_fixture


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def collected(write_config, tmp_path, run_pinger):
    """A config and the store one collector sweep of 127.0.0.1 wrote (closed cleanly: no -wal, no -shm)."""
    store = tmp_path / "data" / "pinger.sqlite"
    config = write_config(f"""
        timezone: UTC
        interval: 5m
        collector: {{name: lab-1}}
        allow: [127.0.0.0/8]
        storage: {{path: {store}}}
        pools:
          - {{name: LOOP, watts: 50, hosts: [127.0.0.1]}}
        study:
          phases: [{{name: baseline, start: 2026-01-01}}]
    """)
    result = run_pinger("collect", "-c", str(config), "--once")
    assert result.returncode == 0, result.stderr
    return config, store


def one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in stderr and "Error" not in stderr
    return lines[0]


@pytest.mark.parametrize("command", ["export", "report"])
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "other spelling", "wal", "shm", "config"])
def test_an_output_that_is_an_input_is_refused_and_the_inputs_are_untouched(
    collected, tmp_path, run_pinger, command, how
):
    config, store = collected
    before = {path: digest(path) for path in (config, store)}
    output = {
        "same path": store,
        "other spelling": tmp_path / "data" / ".." / "data" / "pinger.sqlite",
        "wal": Path(f"{store}-wal"),
        "shm": Path(f"{store}-shm"),
        "config": config,
    }.get(how)
    if how == "symlink":
        output = tmp_path / "link.csv"
        output.symlink_to(store)
    elif how == "hard link":
        output = tmp_path / "hard.csv"
        os.link(store, output)
    assert output is not None
    result = run_pinger(command, "-c", str(config), "--from", "2026-01-01", "--to", "2026-01-02", "-o", str(output))
    assert result.returncode == 2, result.stderr
    sentence = one_sentence(result.stderr)
    assert sentence.startswith(f"pinger: -o {output} is ")
    assert "choose another file" in sentence
    assert {path: digest(path) for path in (config, store)} == before
    assert not Path(f"{store}-wal").exists() and not Path(f"{store}-shm").exists()  # the store was not opened


def test_standard_output_appended_to_the_store_is_refused(collected):
    config, store = collected
    before = digest(store)
    with open(store, "ab") as appended:
        result = subprocess.run(
            pinger_command("export", "-c", str(config), "--from", "2026-01-01", "--to", "2026-01-02"),
            cwd=ROOT,
            stdout=appended,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert one_sentence(result.stderr).startswith("pinger: standard output is the store ")
    assert digest(store) == before


def test_import_legacy_never_writes_the_config_over_its_dump_even_with_force(tmp_path, run_pinger):
    script = Script(
        pools=(ScriptedPool("R1", 60),),
        computers=(ScriptedComputer("10.0.0.1", 0, ()),),
        first_ping=1_790_000_000,
        last_ping=1_790_000_600,
        cadence=300,
    )
    dump = write_fixture(tmp_path / "pingerdump.json", play(script).records)
    link = tmp_path / "config.yaml"
    link.symlink_to(dump)
    before = digest(dump)
    for target in (dump, link):
        result = run_pinger("import-legacy", str(dump), "--timezone", "UTC", "--config-out", str(target), "--force")
        assert result.returncode == 2, result.stderr
        assert one_sentence(result.stderr).startswith(f"pinger: --config-out {target} is the dump {dump}")
        assert digest(dump) == before


def test_the_check_itself(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("x")
    other = tmp_path / "other.csv"
    inputs = [("the config", config)]
    refuse_output_over_inputs(other, inputs)  # a new file: fine
    refuse_output_over_inputs(None, inputs)  # standard output that is not a file of the inputs
    refuse_output_over_inputs("-", inputs)
    with pytest.raises(OutputIsInput, match=r"^-o .*c\.yaml is the config .*c\.yaml \(the same file\)"):
        refuse_output_over_inputs(config, inputs)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "later.sqlite-wal")
    with pytest.raises(OutputIsInput):
        refuse_output_over_inputs(dangling, [("the store's write-ahead log", tmp_path / "later.sqlite-wal")])
