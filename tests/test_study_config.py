"""The config's study section: which phase is the baseline never depends on list order, staggered starts are one
phase, and an ambiguous or contradictory study is refused with file and line (issue 20 item 5, issue 19 item 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from pinger.config import Phase, Study
from pinger.config_load import load_config
from pinger.errors import ConfigError, ReportInputError
from pinger.reporting.study import baseline_of, interventions

POOLS = """\
timezone: UTC
pools:
  - {name: A, watts: 80, hosts: [10.0.0.1]}
  - {name: B, watts: 80, hosts: [10.0.0.2]}
  - {name: C, watts: 80, hosts: [10.0.0.3]}
study:
"""


def load(tmp_path, study: str):
    path = tmp_path / "pinger.yaml"
    path.write_text(POOLS + study)
    return load_config(path, environ={}), path


def problems(tmp_path, study: str) -> list[str]:
    path = tmp_path / "pinger.yaml"
    path.write_text(POOLS + study)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    return caught.value.problems


def test_the_baseline_is_the_earliest_phase_whatever_the_order_of_the_list(tmp_path):
    config, _ = load(
        tmp_path,
        "  phases:\n"
        "    - {name: sign, start: 2026-09-21, pools: [A]}\n"
        "    - {name: baseline, start: 2026-09-07, end: 2026-09-20}\n",
    )
    assert config.study.baseline == "baseline"
    assert baseline_of(config.study, "x") == "baseline"


def test_an_explicit_baseline_key_names_the_baseline_even_when_it_starts_later(tmp_path):
    config, _ = load(
        tmp_path,
        "  baseline: calm\n"
        "  phases:\n"
        "    - {name: warm-up, start: 2026-09-01, end: 2026-09-06}\n"
        "    - {name: calm, start: 2026-09-07, end: 2026-09-20}\n"
        "    - {name: sign, start: 2026-09-21, pools: [A]}\n",
    )
    assert config.study.baseline == "calm"


def test_two_phases_starting_first_on_the_same_day_are_refused_without_a_baseline_key(tmp_path):
    study = (
        "  phases:\n"
        "    - {name: quiet, start: 2026-09-07, pools: [A]}\n"
        "    - {name: loud, start: 2026-09-07, pools: [B]}\n"
    )
    path = tmp_path / "pinger.yaml"
    assert problems(tmp_path, study) == [
        f"{path}:9: study.phases[1]: phases 'quiet' and 'loud' both start first, on 2026-09-07, so which is the "
        "baseline is ambiguous: name it with study.baseline"
    ]
    config, _ = load(tmp_path, "  baseline: loud\n" + study)
    assert config.study.baseline == "loud"


def test_a_baseline_key_naming_no_phase_is_refused_with_its_line(tmp_path):
    path = tmp_path / "pinger.yaml"
    assert problems(tmp_path, "  baseline: basline\n  phases:\n    - {name: baseline, start: 2026-09-07}\n") == [
        f"{path}:7: study.baseline: no phase is named 'basline' (phases: 'baseline')"
    ]


def test_staggered_starts_are_one_phase_name_and_the_same_pool_twice_on_a_day_stays_an_error(tmp_path):
    config, _ = load(
        tmp_path,
        "  phases:\n"
        "    - {name: baseline, start: 2026-09-07, end: 2026-09-27}\n"
        "    - {name: sign, start: 2026-09-28, pools: [A]}\n"
        "    - {name: sign, start: 2026-10-05, pools: [B]}\n",
    )
    study = config.study
    assert study.phase_for("A", dt.date(2026, 9, 28)) == "sign"
    assert study.phase_for("B", dt.date(2026, 9, 28)) is None and study.phase_for("B", dt.date(2026, 10, 5)) == "sign"
    found = interventions(study, "baseline", ["A", "B", "C"], dt.date(2026, 9, 7), dt.date(2026, 10, 18))
    assert [(i.pool, i.phase, i.start, len(i.phase_dates), i.controls) for i in found] == [
        ("A", "sign", dt.date(2026, 9, 28), 21, ("C",)),
        ("B", "sign", dt.date(2026, 10, 5), 14, ("C",)),  # B's own 14 days, not the 21 of A's entry
    ]
    path = tmp_path / "pinger.yaml"
    assert problems(
        tmp_path,
        "  phases:\n"
        "    - {name: baseline, start: 2026-09-07, end: 2026-09-27}\n"
        "    - {name: sign, start: 2026-09-28, pools: [A]}\n"
        "    - {name: sign, start: 2026-10-05, pools: [A, B]}\n",
    ) == [f"{path}:10: study.phases[2]: overlaps phase 'sign' for the same pool; a day has one phase"]


def test_a_study_built_in_code_gets_the_same_rule_and_an_ambiguous_one_is_refused():
    day = dt.date(2026, 9, 7)
    assert (
        baseline_of(Study((Phase("sign", day + dt.timedelta(14), None, frozenset("A")), Phase("b", day))), "x") == "b"
    )
    with pytest.raises(ReportInputError, match="both start first, on 2026-09-07"):
        baseline_of(Study((Phase("a", day, None, frozenset("A")), Phase("b", day, None, frozenset("B")))), "cfg")
