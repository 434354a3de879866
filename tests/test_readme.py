"""The README is a first read (short), and docs/reliability.md names tests: each must exist, so the table cannot promise
what nothing checks."""

from __future__ import annotations

import re

from tests.support import ROOT


def test_every_test_the_reliability_table_names_exists():
    table = (ROOT / "docs" / "reliability.md").read_text()
    named = set(re.findall(r"`(?:\w+\.py::)?(test_\w+)`", table))
    sources = "".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    assert len(named) >= 30
    assert sorted(name for name in named if f"def {name}(" not in sources) == []


def test_the_readme_stays_a_first_read_of_at_most_250_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, "details belong in docs/ (the README's table 'More' lists them)"


def test_every_relative_link_in_the_readme_and_docs_points_at_a_file_that_exists():
    documents = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for document in documents:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
            if "://" not in target and not (document.parent / target).exists():
                missing.append(f"{document.relative_to(ROOT)} -> {target}")
    assert missing == []
