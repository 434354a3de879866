"""The nearest-sample rule over plain numbers, against expectations worked out by hand (see comments)."""

from __future__ import annotations

import pytest

from pinger.aggregator.rule import (
    check_samples,
    covered_intervals,
    on_and_observed,
    on_within,
    per_bucket,
    state_at,
    tally,
)


def split(samples):
    return [t for t, _ in samples], [up for _, up in samples]


def test_change_of_state_falls_at_the_midpoint():
    # 0 up, 300 down, hold 300. Midpoint 150: up owns [-300, 150), down owns [150, 600).
    # Inside [0, 600): on 0..150 = 150 s; observed 0..600 = 600 s.
    assert on_and_observed(*split([(0, True), (300, False)]), 300, 0, 600) == (150, 600)


def test_covered_intervals_are_clipped_by_midpoints_and_hold():
    # 0 up, 100 down, 1000 up, hold 300.
    # 0:    low 0-300 = -300, high min(0+300, mid 50) = 50
    # 100:  low max(100-300, mid 50) = 50, high min(100+300, mid 550) = 400
    # 1000: low max(1000-300, mid 550) = 700, high 1000+300 = 1300
    assert covered_intervals(*split([(0, True), (100, False), (1000, True)]), 300) == [
        (pytest.approx(-300), pytest.approx(50), True),
        (pytest.approx(50), pytest.approx(400), False),
        (pytest.approx(700), pytest.approx(1300), True),
    ]


def test_hold_zero_observes_nothing():
    # hold 0: every owned interval is [t, t], so nothing is observed.
    assert covered_intervals([0, 300], [True, True], 0) == [(0, 0, True), (300, 300, True)]
    assert on_and_observed([0, 300], [True, True], 0, -1000, 1000) == (0, 0)


def test_regular_sweeps_observe_everything():
    # up at 0, 300, ..., 3600 (13 samples), hold 300: consecutive owned intervals meet at the
    # midpoints, so [0, 3600) is observed and on throughout: 3600 s each.
    samples = [(t, True) for t in range(0, 3601, 300)]
    assert on_and_observed(*split(samples), 300, 0, 3600) == (3600, 3600)


def test_gap_longer_than_hold_is_unobserved():
    # up at 0 and 1000, hold 300: owned [-300, 300) and [700, 1300); 300..700 unobserved.
    # Inside [0, 1000): on = observed = (300 - 0) + (1000 - 700) = 600 s; the first sample's on-time
    # stops at t + hold = 300 although the midpoint (500) is farther.
    assert on_and_observed(*split([(0, True), (1000, True)]), 300, 0, 1000) == (600, 600)
    assert state_at(*split([(0, True), (1000, True)]), 300, 500) is None


def test_nearer_neighbour_than_hold():
    # 0 up, 100 down, hold 300, window [-400, 500): midpoint 50.
    # up owns [-300, 50) = 350 s, down owns [50, 400) = 350 s. Observed 700 s, on 350 s.
    assert on_and_observed(*split([(0, True), (100, False)]), 300, -400, 500) == (350, 700)


def test_no_samples():
    assert on_and_observed([], [], 300, 0, 86400) == (0, 0)
    assert covered_intervals([], [], 300) == []
    assert state_at([], [], 300, 0) is None


def test_single_sample():
    # one up sample at 1000, hold 300: owns [700, 1300) = 600 s.
    assert on_and_observed([1000], [True], 300, 0, 86400) == (600, 600)
    # clipped by the window [0, 900): [700, 900) = 200 s.
    assert on_and_observed([1000], [True], 300, 0, 900) == (200, 200)
    # a single down sample: observed 600 s, on 0.
    assert on_and_observed([1000], [False], 300, 0, 86400) == pytest.approx((0, 600))


def test_flapping_host():
    # up at 0, 600, 1200, 1800, 2400; down at 300, 900, 1500, 2100, 2700; hold 300; window [0, 3000).
    # Midpoints every 150 s after each sample. Up samples own: 0 → [0, 150) = 150 s (clipped at 0),
    # 600, 1200, 1800, 2400 → 300 s each. On = 150 + 4 × 300 = 1350 s.
    # The last sample (2700, down) owns [2550, 3000): the window is fully observed, 3000 s.
    samples = [(t, (t // 300) % 2 == 0) for t in range(0, 2701, 300)]
    assert on_and_observed(*split(samples), 300, 0, 3000) == (1350, 3000)


def test_window_outside_the_samples():
    # one up sample at 0, hold 300: owns [-300, 300). Window [300, 900) touches none of it.
    assert on_and_observed([0], [True], 300, 300, 900) == (0, 0)


def test_on_within_sub_spans():
    # up at 0..3000 every 300 s (11 samples), down at 3300, hold 300.
    # On from -300 to 3150 (midpoint of 3000 and 3300).
    # Spans [100, 200) and [3000, 3600): 100 s + (3150 - 3000) = 250 s.
    samples = [(t, True) for t in range(0, 3001, 300)] + [(3300, False)]
    assert on_within(*split(samples), 300, [(100, 200), (3000, 3600)]) == pytest.approx(250)
    assert on_within(*split(samples), 300, []) == 0


def test_tally_counts_spans_only_inside_the_window():
    # Same host as above (on -300..3150). Window [0, 1000), spans [-500, 50) and [900, 2000):
    # on in window 1000 s, observed 1000 s; on within spans ∩ window: 0..50 + 900..1000 = 150 s.
    samples = [(t, True) for t in range(0, 3001, 300)] + [(3300, False)]
    result = tally(*split(samples), 300, 0, 1000, [(-500, 50), (900, 2000)])
    assert (result.on, result.observed, result.on_within) == pytest.approx((1000, 1000, 150))


def test_tally_with_several_spans_inside_one_owned_interval():
    # one up sample at 0, hold 300: owns [-300, 300). Spans [-250, -200), [-100, 0), [250, 400).
    # On within: 50 + 100 + 50 = 200 s. Window [-1000, 1000).
    result = tally([0], [True], 300, -1000, 1000, [(-250, -200), (-100, 0), (250, 400)])
    assert (result.on, result.on_within) == pytest.approx((600, 200))


def test_state_at_ties_go_to_the_earlier_sample():
    times, states = split([(0, True), (300, False)])
    assert state_at(times, states, 300, 150) is True  # exactly the midpoint: the earlier sample (up)
    assert state_at(times, states, 300, 150.001) is False
    assert state_at(times, states, 300, 151) is False
    assert state_at(times, states, 300, 149.999) is True
    times, states = split([(0, False), (300, True)])
    assert state_at(times, states, 300, 150) is False  # and the other way round


def test_state_at_hold_boundaries():
    times, states = split([(0, True), (300, False)])
    assert state_at(times, states, 300, 0) is True  # at a sample: that sample
    assert state_at(times, states, 300, 300) is False
    assert state_at(times, states, 300, 600) is False  # exactly hold after the last sample: observed
    assert state_at(times, states, 300, 600.5) is None  # beyond hold: unobserved
    assert state_at(times, states, 300, 601) is None
    assert state_at(times, states, 300, -300) is True  # exactly hold before the first sample
    assert state_at(times, states, 300, -300.5) is None


@pytest.mark.parametrize(
    "times, states, hold",
    [
        ([0, 300, 200], [True, True, True], 300),  # out of order
        ([0, 300, 300], [True, True, True], 300),  # duplicate time
        ([0, 300], [True], 300),  # lengths differ
        ([0, 300], [True, True], -1),  # negative hold
    ],
)
def test_unusable_samples_are_refused(times, states, hold):
    with pytest.raises(ValueError):
        check_samples(times, states, hold)
    with pytest.raises(ValueError):
        on_and_observed(times, states, hold, 0, 1000)
    with pytest.raises(ValueError):
        covered_intervals(times, states, hold)
    with pytest.raises(ValueError):
        state_at(times, states, hold, 100)


def test_usable_samples_pass_the_check():
    check_samples([0, 1, 2.5], [True, False, True], 0)  # raises nothing


# -- runs: a run of samples stands for all of them (rule.py's docstring) ------------------------------


def test_a_run_gives_the_figures_of_the_samples_it_stands_for():
    # Up at 0, 300, 600, 900; down at 1200, 1500; hold 300. As samples: up owns -300..1050 (the midpoint of
    # 900 and 1200), down 1050..1800. As two runs, 0..900 up and 1200..1500 down: the same.
    # Buckets [0, 500), [500, 1000), [1000, 1600): on 500, 500, 50; observed 500, 500, 600.
    edges = [0, 500, 1000, 1600]
    samples = per_bucket([0, 300, 600, 900, 1200, 1500], [True] * 4 + [False] * 2, 300, edges)
    runs = per_bucket([0, 1200], [True, False], 300, edges, lasts=[900, 1500])
    assert samples == runs == ([500, 500, 50], [500, 500, 600])


def test_a_run_after_a_gap_longer_than_twice_the_hold_leaves_the_gap_unobserved():
    # Runs 0..600 up and 1500..1500 up, hold 300: 600 and 1500 are 900 apart (> 600), so the first run owns
    # -300..900 and the second 1200..1800; 900..1200 is unobserved. Window [0, 2000): on = observed = 1500.
    assert per_bucket([0, 1500], [True, True], 300, [0, 2000], lasts=[600, 1500]) == ([1500], [1500])


def test_state_at_inside_a_run_and_between_runs():
    # Runs 0..900 up (samples every 300 inside), 1200..1500 down, hold 300.
    times, lasts, states = [0, 1200], [900, 1500], [True, False]
    assert state_at(times, states, 300, 450, lasts) is True  # between two samples of the run, given or not
    assert state_at(times, states, 300, 900, lasts) is True
    assert state_at(times, states, 300, 1050, lasts) is True  # the midpoint of 900 and 1200: the earlier
    assert state_at(times, states, 300, 1051, lasts) is False
    assert state_at(times, states, 300, 1800, lasts) is False  # hold after the last sample
    assert state_at(times, states, 300, 1801, lasts) is None
    assert state_at(times, states, 300, -300, lasts) is True


@pytest.mark.parametrize(
    "times, lasts",
    [
        ([0, 1200], [900]),  # one end for two runs
        ([0, 1200], [-1, 1500]),  # a run ending before it starts
        ([0, 1200], [1200, 1500]),  # a run ending where the next begins
    ],
)
def test_runs_that_overlap_or_end_before_they_start_are_refused(times, lasts):
    with pytest.raises(ValueError):
        check_samples(times, [True, False], 300, lasts)
    with pytest.raises(ValueError):
        per_bucket(times, [True, False], 300, [0, 2000], lasts)
    with pytest.raises(ValueError):
        state_at(times, [True, False], 300, 100, lasts)
