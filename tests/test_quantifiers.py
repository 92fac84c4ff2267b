"""Quantifiers: real coverage of each interval by simulation, planted single-seed violations, margins."""

import numpy as np
import pytest
from scipy import stats as sps

from theorycheck.verify.stats import (
    DEFAULT_LEVEL, Quantifier, clopper_pearson, confidence_level, draws_for_probability, margin_of,
    mean_interval, median_order_interval, seed_check, seeds_for_median,
)

REPS = 4000


def exact_median_coverage(n: int, level: float = DEFAULT_LEVEL) -> float:
    return median_order_interval(np.arange(n, dtype=float), level)[3]


@pytest.mark.parametrize("n", [6, 9, 12, 16])
@pytest.mark.parametrize("dist", ["normal", "lognormal", "cauchy"])
def test_median_interval_covers_at_the_stated_level_for_any_distribution(n, dist):
    rng = np.random.default_rng(n)
    draw = {"normal": rng.standard_normal, "lognormal": lambda s: rng.lognormal(0, 1.5, s),
            "cauchy": rng.standard_cauchy}[dist]
    true_median = {"normal": 0.0, "lognormal": 1.0, "cauchy": 0.0}[dist]
    samples = draw((REPS, n))
    hits = 0
    for x in samples:
        _, lo, hi, _ = median_order_interval(x, DEFAULT_LEVEL)
        hits += lo <= true_median <= hi
    coverage = hits / REPS
    stated = exact_median_coverage(n)
    assert abs(coverage - stated) < 4 * np.sqrt(stated * (1 - stated) / REPS)  # the binomial value, exactly
    assert DEFAULT_LEVEL <= stated <= DEFAULT_LEVEL + 0.03  # within 3 points of nominal at these counts


def test_too_few_seeds_for_a_median_say_how_many():
    assert seeds_for_median(0.95) == 6 and seeds_for_median(0.9) == 5
    res = seed_check("gap", [0.01] * 5, 0.1, quantifier="typical")
    assert res.passed is None and "needs 6 seeds" in res.reason
    with confidence_level(0.9):
        assert seed_check("gap", [0.01] * 5, 0.1, quantifier="typical").passed is True


@pytest.mark.parametrize("n", [4, 6, 10])
def test_mean_t_interval_coverage(n):
    rng = np.random.default_rng(100 + n)
    hits = 0
    for x in rng.normal(2.0, 3.0, (REPS, n)):
        _, lo, hi = mean_interval(x, DEFAULT_LEVEL)
        hits += lo <= 2.0 <= hi
    assert abs(hits / REPS - DEFAULT_LEVEL) < 0.03


def test_mean_z_interval_with_a_monte_carlo_standard_error():
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(REPS):
        x = rng.normal(1.0, 1.0, 400)
        _, lo, hi = mean_interval([x.mean()], DEFAULT_LEVEL, se=x.std(ddof=1) / 20)
        hits += lo <= 1.0 <= hi
    assert abs(hits / REPS - DEFAULT_LEVEL) < 0.03


@pytest.mark.parametrize("n,p", [(60, 0.97), (200, 0.99), (30, 0.8)])
def test_clopper_pearson_coverage(n, p):
    rng = np.random.default_rng(n)
    k = rng.binomial(n, p, REPS)
    hits = sum(lo <= p <= hi for lo, hi in (clopper_pearson(int(j), n, DEFAULT_LEVEL) for j in k))
    coverage = hits / REPS
    assert DEFAULT_LEVEL - 0.01 <= coverage <= DEFAULT_LEVEL + 0.045  # exact: conservative, never below


def test_every_turns_one_planted_violation_into_a_counterexample_naming_the_seed():
    values = [0.01, 0.02, 0.015, 0.3, 0.012, 0.02, 0.01, 0.018, 0.011]
    res = seed_check("gap at T", values, 0.05, quantifier="every")
    assert res.passed is False and res.worst_index == 3 and res.value == 0.3
    res.name_item(list(range(100, 109)))
    assert res.worst_seed == 103 and res.worst_item == "seed 103"
    # the median statement is not touched by one outlier once n >= 9 (k = 2: the extremes are dropped) ...
    assert seed_check("gap at T", values, 0.05, quantifier="typical").passed is True
    # ... but at n = 8 the 95% interval is [min, max], so one outlier leaves it undecided
    assert seed_check("gap at T", values[:8], 0.05, quantifier="typical").passed is None
    # a seed that cannot decide (its standard error straddles the tolerance) makes 'every' undecided
    res = seed_check("gap", [0.01, 0.045, 0.02], 0.05, quantifier="every", se=[0.001, 0.01, 0.001])
    assert res.passed is None and "straddle" in res.reason
    res = seed_check("gap", [0.01, np.nan, 0.02], 0.05, quantifier="every")
    assert res.passed is None and "non-finite" in res.reason


def test_typical_disagrees_when_the_median_is_off_and_mean_sees_the_outlier():
    assert seed_check("g", [0.2] * 6, 0.05, quantifier="typical").passed is False
    values = [0.01] * 7 + [5.0]  # one huge seed drags the mean
    res = seed_check("g", values, 0.05, quantifier="mean")
    assert res.passed is None and "t interval" in res.reason
    assert seed_check("g", [0.01, 0.012, 0.011, 0.009], 0.05, quantifier="mean").passed is True


def test_probability_statements_are_binomial():
    # holds with probability >= 0.95: 100 draws, one failure -> the interval of the success rate decides
    values = np.zeros(100)
    values[17] = 2.0
    res = seed_check("gap <= bound", values, 1.0, quantifier="probability", delta=0.05)
    assert res.passed is None and res.value == 0.99 and res.tolerance == 0.95 and res.threshold == 1.0
    values = np.zeros(200)
    values[17] = 2.0
    assert seed_check("gap <= bound", values, 1.0, quantifier="probability", delta=0.05).passed is True
    values[:40] = 2.0
    assert seed_check("gap <= bound", values, 1.0, quantifier="probability", delta=0.05).passed is False
    few = seed_check("gap <= bound", np.zeros(20), 1.0, quantifier="probability", delta=0.05)
    assert few.passed is None and f"needs at least {draws_for_probability(0.05, 0.95)} draws" in few.reason


def test_margins_are_oriented_so_above_one_is_violating():
    assert margin_of(0.2, 0.1, "<=") == pytest.approx(2.0)
    assert margin_of(0.05, 0.1, "<=") == pytest.approx(0.5)
    assert margin_of(0.5, 1.0, ">=") == pytest.approx(2.0)
    control = seed_check("l1 direction as the limit", [0.12, 0.2, 0.15], 0.05, quantifier="every")
    assert control.passed is False and control.margin == pytest.approx(4.0)


def test_level_is_recorded_and_validated():
    with confidence_level(0.9):
        res = seed_check("g", [0.0] * 6, 1.0, quantifier=Quantifier.TYPICAL)
    assert res.level == 0.9 and res.interval is not None
    from theorycheck.errors import InputError

    with pytest.raises(InputError, match="level"):
        with confidence_level(1.5):
            pass


def test_exact_intervals_do_not_depend_on_the_distribution():
    # the coverage formula itself: 1 - 2 F(k-1; n, 1/2)
    for n in (6, 9, 12):
        _, _, _, cov = median_order_interval(np.arange(n, dtype=float), 0.95)
        k = max(k for k in range(1, n // 2 + 1) if 1 - 2 * sps.binom.cdf(k - 1, n, 0.5) >= 0.95)
        assert cov == pytest.approx(1 - 2 * sps.binom.cdf(k - 1, n, 0.5))


def test_guard_items_lets_only_ready_seeds_refute():
    from theorycheck.verify.stats import guard_items
    values = [0.01, 0.2, 0.02]
    failed = seed_check("gap", values, 0.05, "<=", quantifier="every")
    assert failed.passed is False
    excused = guard_items(seed_check("gap", values, 0.05, "<=", quantifier="every"), [False, True, False], "short")
    assert excused.passed is None and "short (1 of 3 seeds)" in excused.reason
    kept = guard_items(seed_check("gap", [0.3, 0.2, 0.02], 0.05, "<=", quantifier="every"), [False, True, False], "x")
    assert kept.passed is False and kept.worst_index == 0 and kept.value == 0.3  # a ready seed still refutes
    passed = guard_items(seed_check("gap", [0.01, 0.02, 0.03], 0.05, "<=", quantifier="every"), [True] * 3, "x")
    assert passed.passed is True
