"""Imports point down only: core <- stores <- collector / aggregator / ingestion (and reporting) <- command line.

Every import of every module of the product is read from its syntax tree, wherever it stands
(top of the file, inside a function, under ``if TYPE_CHECKING``), so a lazy import cannot hide
a cycle. The layers:

  0 core      pinger/*.py (records, schema, config, local time, line protocol, errors, progress)
  1 stores    pinger/store/
  2 users     pinger/collector, pinger/aggregator, pinger/ingestion, pinger/reporting: never each other
  3 command   pinger/cli.py, pinger/cli_parser.py, pinger/__main__.py
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "pinger"
USERS = ("collector", "aggregator", "ingestion", "reporting")
COMMAND = ("pinger.cli", "pinger.cli_parser", "pinger.__main__")
FOLDERS = ("collector", "aggregator", "ingestion", "reporting")  # installed inside pinger; never imported bare


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    """Every module of the installed package, the linked folders included."""
    found = {}
    for folder, _, files in os.walk(PACKAGE, followlinks=True):  # through the links pinger/collector -> ../collector
        for file in sorted(files):
            if file.endswith(".py"):
                found[module_name(Path(folder) / file)] = Path(folder) / file
    return found


def imports_of(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # `from . import x`
    return found


def layer_of(module: str) -> tuple[int, str] | None:
    """(layer, group) of a module of the package; None for anything outside it."""
    parts = module.split(".")
    if parts[0] != "pinger":
        return None
    if module in COMMAND or len(parts) >= 2 and ".".join(parts[:2]) in COMMAND:
        return 3, "command"
    if len(parts) >= 2 and parts[1] == "store":
        return 1, "store"
    if len(parts) >= 2 and parts[1] in USERS:
        return 2, parts[1]
    return 0, "core"


def direction_problems(modules: dict[str, Path]) -> list[str]:
    """One line per import that points up, or sideways between two users, or at a folder by its bare name."""
    problems = []
    for name, path in modules.items():
        layer, group = layer_of(name) or (0, "core")
        for line, target in imports_of(name, path):
            if target.split(".")[0] in FOLDERS:
                problems.append(f"{name}:{line}: imports {target}; write pinger.{target}")
                continue
            if target not in modules:
                continue  # a name imported from a module: that module's own entry counts
            target_layer, target_group = layer_of(target) or (0, "core")
            if target_layer > layer or (target_layer == layer and target_group != group):
                problems.append(
                    f"{name}:{line}: {group} (layer {layer}) imports {target} ({target_group}, layer {target_layer})"
                )
    return problems


def test_every_import_of_the_product_points_down():
    modules = product_modules()
    assert {
        "pinger.schema",
        "pinger.store.sqlite",
        "pinger.collector.daemon",
        "pinger.aggregator.job",
        "pinger.ingestion.import_lines",
        "pinger.cli",
    } <= set(modules)
    assert direction_problems(modules) == []


def write_module(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "module.py"
    path.write_text(text)
    return path


def test_a_lazy_import_that_points_up_is_found(tmp_path):
    sneaky = write_module(
        tmp_path,
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pinger.models import PoolDay\n"
        "def later():\n    from ..aggregator import daily\n    return daily\n",
    )
    modules = {**product_modules(), "pinger.store.sneaky": sneaky}
    assert direction_problems(modules) == [
        "pinger.store.sneaky:5: store (layer 1) imports pinger.aggregator (aggregator, layer 2)",
        "pinger.store.sneaky:5: store (layer 1) imports pinger.aggregator.daily (aggregator, layer 2)",
    ]


def test_an_import_under_type_checking_counts_too(tmp_path):
    sneaky = write_module(
        tmp_path,
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pinger.store.sqlite import SqliteStore\n",
    )
    modules = {**product_modules(), "pinger.sneaky": sneaky}
    assert direction_problems(modules) == [
        "pinger.sneaky:3: core (layer 0) imports pinger.store.sqlite (store, layer 1)"
    ]


def test_the_collector_and_the_aggregator_may_not_import_each_other(tmp_path):
    sneaky = write_module(tmp_path, "from pinger.aggregator.rule import tally\n")
    modules = {**product_modules(), "pinger.collector.sneaky": sneaky}
    assert direction_problems(modules) == [
        "pinger.collector.sneaky:1: collector (layer 2) imports pinger.aggregator.rule (aggregator, layer 2)"
    ]


def test_tests_and_benchmarks_import_the_folders_through_pinger():
    bare = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        for line, target in imports_of(module_name(path), path):
            if target.split(".")[0] in FOLDERS:
                bare.append(f"{path.relative_to(ROOT)}:{line}: {target}")
    assert bare == []
