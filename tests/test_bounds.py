"""verify/bounds.py: holds (either side, a zero bound), slopes with standard errors, the band tolerance,
informative, tightness."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from theorycheck.verify.bounds import (band_tolerance, bound_dependence, bound_holds, informative,
                                       jackknife_slope_se, ratio_to_bound, slope_se, slopes, tightness)


def test_bound_holds_upper_lower_and_zero_bound():
    est, bound = np.array([0.5, 0.9]), np.array([1.0, 1.0])
    assert bound_holds("b", est, bound).passed is True
    assert bound_holds("b", est, bound * 0.8).passed is False
    assert bound_holds("lower", est, bound * 0.4, kind="lower").passed is True
    assert bound_holds("lower", est, bound * 0.6, kind="lower").passed is False
    # a zero bound under a positive estimate is a decided violation, not a non-finite (undecided) value
    res = bound_holds("b", est, np.array([1.0, 0.0]))
    assert res.passed is False and res.worst_index == 1
    np.testing.assert_array_equal(ratio_to_bound(np.array([0.0, 1.0]), np.array([0.0, 0.0])), [0.0, 1e300])
    # a standard error that straddles the bound leaves the item undecided
    assert bound_holds("b", np.array([0.99]), np.array([1.0]), se=np.array([0.05])).passed is None
    with pytest.raises(ValueError, match="kind"):
        bound_holds("b", est, bound, kind="both")


def test_band_tolerance_is_the_worst_case_least_squares_slope():
    x = 2.0 ** np.arange(6)
    tol = band_tolerance(x, 2.0)
    # brute force: a ratio switching between the two ends of the band, every pattern
    worst = max(abs(slopes(x, 2.0 ** np.array(bits))[0]) for bits in itertools.product([0, 1], repeat=x.size))
    assert worst == pytest.approx(tol, rel=1e-12)
    assert band_tolerance(x, 1.0) == 0.0
    with pytest.raises(ValueError):
        band_tolerance(x, 0.5)


def test_slope_standard_errors_delta_method_and_jackknife_agree_for_independent_draws():
    rng = np.random.default_rng(0)
    x = np.array([10.0, 20, 40, 80, 160])
    draws = ((x[:, None] ** -0.5) * rng.lognormal(0.0, 0.3, size=(5, 64)))[None]   # (1, 5, 64), independent
    mean, se = draws.mean(-1), draws.std(-1, ddof=1) / np.sqrt(64)
    assert jackknife_slope_se(x, draws)[0] == pytest.approx(slope_se(x, mean, se)[0], rel=0.1)
    # common draws shared by every grid point: the slope of an exact power law carries no noise
    common = (x[:, None] ** -0.5) * rng.lognormal(0.0, 0.3, size=(1, 64))
    assert jackknife_slope_se(x, common[None])[0] < 1e-12 < slope_se(x, common.mean(-1)[None],
                                                                      common.std(-1, ddof=1)[None] / 8)[0]


def test_bound_dependence_tells_a_non_decaying_bound_apart():
    x = np.array([16.0, 64, 256, 1024])
    est = np.stack([0.9 * x**-0.5, 0.95 * x**-0.5])
    good = bound_dependence("rate", x, est, np.stack([x**-0.5] * 2), 0.05, variable="n")
    flat = bound_dependence("rate", x, est, np.ones((2, 4)), 0.05, variable="n")
    assert good.passed is True and flat.passed is False and flat.value == pytest.approx(0.5)
    with pytest.raises(ValueError, match="decade"):
        bound_dependence("rate", np.array([1.0, 2, 4]), est[:, :3], np.ones((2, 3)), 0.1, variable="n")
    with pytest.raises(ValueError, match="either"):
        bound_dependence("rate", x, est[..., None].repeat(3, -1), np.ones((2, 4)), 0.1, variable="n", se=est)


def test_informative_never_passes_a_vacuous_bound():
    ok = bound_holds("gen", np.array([0.1, 0.2]), np.array([0.5, 1.2]))
    assert ok.passed is True
    vac = informative(ok, np.array([0.5, 1.2]))
    assert vac.passed is None and "vacuous" in vac.reason
    assert informative(ok, np.array([0.5, 0.9])).passed is True
    failed = bound_holds("gen", np.array([0.1, 2.0]), np.array([0.5, 1.2]))
    assert informative(failed, np.array([0.5, 1.2])).passed is False


def test_tightness_reports_ratios():
    out = tightness(np.array([0.9, 0.8]), np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    assert out["tightness estimate/bound (median)"] == pytest.approx(0.85)
    assert out["lower bound/bound (median)"] == pytest.approx(0.5)
    assert out["estimate/lower bound (median)"] == pytest.approx(1.7)
