"""The README's Reliability table names tests: each must exist, so the table cannot promise what nothing checks."""

from __future__ import annotations

import re

from tests.support import ROOT


def test_every_test_the_reliability_table_names_exists():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Reliability"):readme.index("## Performance")]
    named = set(re.findall(r"`(?:\w+\.py::)?(test_\w+)`", table))
    sources = "".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    assert len(named) >= 30
    assert sorted(name for name in named if f"def {name}(" not in sources) == []
