"""The systemd units in deploy/systemd/, checked by systemd's own tools: `systemd-analyze verify` finds no
problem and `systemd-analyze security --offline=yes` scores each at an exposure of 2.0 or less.

Skipped, with the reason, where systemd-analyze is not installed (it is on Debian, Ubuntu and GitHub's runners).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALLED_BINARY = "/opt/pinger/bin/pinger"  # where the units' comments install it
MAX_EXPOSURE = 2.0
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
OVERALL = re.compile(r"Overall exposure level for (\S+): (\d+(?:\.\d+)?) ")


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run([SYSTEMD_ANALYZE, *args], capture_output=True, text=True, timeout=60)


def exposure(unit: Path) -> float:
    """The unit's overall exposure as `systemd-analyze security --offline=yes` scores it (0 best, 10 worst)."""
    result = analyze("security", "--offline=yes", "--no-pager", str(unit))
    found = OVERALL.search(result.stdout)
    assert found, f"no overall exposure in the output for {unit.name}:\n{result.stdout}{result.stderr}"
    assert found.group(1) == unit.name
    return float(found.group(2))


def test_both_units_are_there():
    assert [unit.name for unit in UNITS] == ["pinger-aggregator.service", "pinger-collector.service"]


@needs_systemd_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_unit_exposure_is_at_most_two(unit):
    score = exposure(unit)
    assert score <= MAX_EXPOSURE, (
        f"{unit.name}: exposure {score} > {MAX_EXPOSURE}; see `systemd-analyze security "
        f"--offline=yes {unit.relative_to(ROOT)}` for the unset protections"
    )


@needs_systemd_analyze
def test_the_exposure_check_can_fail(tmp_path):
    """The bound means something: the units as they were before hardening (6.0 and 6.2) score above it."""
    unhardened = tmp_path / "unhardened.service"
    unhardened.write_text(
        "[Service]\nUser=pinger\nExecStart=/bin/true\nCapabilityBoundingSet=CAP_NET_RAW\n"
        "NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\n"
    )
    assert exposure(unhardened) > MAX_EXPOSURE


@needs_systemd_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_unit_verifies_clean(unit, tmp_path):
    """verify checks that ExecStart's program exists, and on this machine Pinger is not installed at
    /opt/pinger: so the unit is verified as it stands (its only complaint must be that program), and a
    copy whose ExecStart names a stand-in program must verify with no output at all, not even the
    warnings (unknown or misspelt keys) verify prints while exiting 0."""
    as_is = analyze("verify", str(unit))
    complaints = [line for line in (as_is.stdout + as_is.stderr).splitlines() if line.strip()]
    assert all(f"Command {INSTALLED_BINARY} is not executable" in line for line in complaints), complaints

    stand_in = tmp_path / "pinger"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = unit.read_text()
    assert f"ExecStart={INSTALLED_BINARY} " in text
    copy = tmp_path / unit.name
    copy.write_text(text.replace(INSTALLED_BINARY, str(stand_in)))
    result = analyze("verify", str(copy))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_verify_reports_a_misspelt_key(tmp_path):
    """verify's warnings reach the test (it exits 0 on them, so the test reads its output)."""
    unit = tmp_path / "misspelt.service"
    unit.write_text("[Service]\nExecStart=/bin/true\nProtectSytem=strict\n")
    result = analyze("verify", str(unit))
    assert "Unknown key 'ProtectSytem'" in result.stdout + result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_unit_settings_the_deployment_relies_on(unit):
    """What the scores do not show: state in /var/lib/pinger made by systemd, private files, the right privileges."""
    settings = [line.split("=", 1) for line in unit.read_text().splitlines() if "=" in line and line[0] != "#"]
    values: dict[str, list[str]] = {}
    for key, value in settings:
        values.setdefault(key, []).append(value)
    assert values["StateDirectory"] == ["pinger"]
    assert values["WorkingDirectory"] == ["/var/lib/pinger"]
    assert values["UMask"] == ["0027"]
    assert "@system-service" in values["SystemCallFilter"]
    families = set(values["RestrictAddressFamilies"][0].split())
    assert families == {"AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"}
    expected_capabilities = ["CAP_NET_RAW"] if "collector" in unit.name else [""]
    assert values["CapabilityBoundingSet"] == expected_capabilities
    assert values["AmbientCapabilities"] == expected_capabilities
