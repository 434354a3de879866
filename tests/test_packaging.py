"""What `pip install` puts into site-packages: one top-level package, pinger, with every part of the product in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow  # builds the wheel

SOURCES = ("pyproject.toml", "README.md", "pinger", "collector", "aggregator", "ingestion", "reporting")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources, so that no build/ left in the checkout can leak into it."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (built,) = (work / "dist").glob("pinger-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_exactly_one_top_level_package(wheel):
    names = wheel.namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"pinger"}
    (listed,) = [name for name in names if name.endswith(".dist-info/top_level.txt")] or [None]
    if listed:  # setuptools writes it; it must agree
        assert wheel.read(listed).decode().split() == ["pinger"]


def test_the_folders_of_the_product_ship_inside_pinger(wheel):
    names = set(wheel.namelist())
    for folder in ("collector", "aggregator", "ingestion", "reporting"):
        modules = sorted(p.name for p in (ROOT / folder).glob("*.py"))
        assert modules, folder
        missing = [m for m in modules if f"pinger/{folder}/{m}" not in names]
        assert not missing, f"{folder}: {missing} not in the wheel"
    assert "pinger/store/sqlite.py" in names


def test_the_command_points_into_the_package(wheel):
    (entry_points,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    assert "pinger = pinger.cli:main" in wheel.read(entry_points).decode()


@pytest.mark.parametrize("folder", ["collector", "aggregator", "ingestion", "reporting"])
def test_a_folder_imported_under_its_bare_name_is_refused(folder):
    done = subprocess.run([sys.executable, "-c", f"import {folder}"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0
    assert f"import pinger.{folder}, not {folder}" in done.stderr


def test_the_source_tree_maps_each_folder_into_pinger():
    for folder in ("collector", "aggregator", "ingestion", "reporting"):
        link = ROOT / "pinger" / folder
        assert link.is_symlink() and Path(link.readlink()) == Path("..") / folder
