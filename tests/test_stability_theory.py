"""Theory of the stability family against known values and independent computations."""

import numpy as np
import pytest
import sympy as sp
import torch
from scipy.optimize import brentq

from theorycheck.errors import InputError
from theorycheck.numerics.margins import sparse_separable
from theorycheck.numerics.relu1d import relu1d_jacobian
from theorycheck.theory import margins as M
from theorycheck.theory import stability as T

SHEET = [2.0, 1.0, 0.618034, 0.445042, 0.347296, 0.284630, 0.241073, 0.209057, 0.184537]


def test_delayed_threshold_values_and_derivation():
    assert np.allclose([T.delayed_threshold(t) for t in range(9)], SHEET, atol=1e-6)
    assert abs(T.delayed_threshold(2) - (np.sqrt(5) - 1) / 2) < 1e-15
    der = T.derive_delayed_threshold()
    assert der.boundary_residual < 1e-100 and der.bisection_gap < 1e-10
    tau = T.delayed_threshold_expr()[0]
    assert sp.simplify(der.series - (sp.pi / (2 * tau) - sp.pi / (4 * tau**2))) == 0
    assert str(der.heavy_ball) == "2*beta + 2"


@pytest.mark.parametrize("tau", range(9))
def test_spectral_radius_crosses_one_at_the_threshold(tau):
    a = T.delayed_threshold(tau)
    assert T.spectral_radius(a * 0.999, tau) < 1 < T.spectral_radius(a * 1.001, tau)


def test_momentum_thresholds_match_the_sheet_table():
    half = [3.0, 0.5, 0.2808, 0.1993, 0.1559, 0.1286, 0.1097, 0.0958, 0.0851]
    nine = [3.8, 0.1, 0.0512, 0.0348, 0.0265, 0.0215, 0.0182, 0.0158, 0.0139]
    assert np.allclose([T.momentum_threshold(t, 0.5) for t in range(9)], half, atol=6e-5)
    assert np.allclose([T.momentum_threshold(t, 0.9) for t in range(9)], nine, atol=6e-5)
    assert abs(T.momentum_threshold(1, 0.3) - 0.7) < 1e-9  # tau = 1: a* = 1 - beta exactly
    assert T.heavy_ball_threshold(0.5) == 3.0
    with pytest.raises(InputError):
        T.delayed_threshold(-1)
    with pytest.raises(InputError):
        T.momentum_threshold(2, 1.0)


def test_gfs_shift_against_brentq_and_gradient_flow():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(50, 4)) * np.exp(rng.normal(size=(50, 1)) * 0.5)
    y = np.exp(rng.normal(size=50) * 0.5)
    c = T.gfs_shift(w, y)
    for i in range(10):
        h = lambda x, i=i: np.sum(np.log(w[i] ** 2 + x)) - 2 * np.log(y[i])  # noqa: E731
        assert abs(c[i] - brentq(h, -np.min(w[i] ** 2) + 1e-14, 50, xtol=1e-15)) < 1e-12
    for w0, yy in ([[0.7, 1.2, 1.5], 1.0], [[1.1, -0.9, 1.05], -0.8], [[0.5, 2.2], 1.3]):
        point, sharp = T.gradient_flow_limit(np.array(w0), yy)
        assert abs(T.gfs_sharpness(np.array(w0), yy) / sharp - 1) < 1e-9
        assert np.allclose(T.gfs_solution(np.array(w0), yy), point, rtol=1e-7)
    assert T.flattest_sharpness(3, 1.0) == 3.0
    assert abs(T.gfs_sharpness(np.full(3, 2.0 ** (1 / 3)), 2.0) - T.flattest_sharpness(3, 2.0)) < 1e-12


def test_scalar_hessian_and_sympy_identities():
    w = np.array([[0.7, -1.3, 0.9]])
    wt = torch.tensor(w[0], requires_grad=True)
    H = torch.autograd.functional.hessian(lambda v: 0.5 * (torch.prod(v) - 0.4) ** 2, wt)
    assert np.allclose(T.scalar_hessian(w, 0.4)[0], H.numpy(), atol=1e-12)
    der = T.derive_gfs(3)
    assert der.balances_conserved and der.hessian_at_minimum and der.one_step_balance


def test_side_weights_by_direct_formula():
    x = np.array([-1.0, -0.3, 0.2, 0.5, 1.1])
    knot = 0.0
    right = x[x > knot]
    g_plus = (right.size / x.size) ** 2 * np.mean(right - knot) * np.sqrt(1 + np.mean(right) ** 2)
    left = x[x < knot]
    g_minus = (left.size / x.size) ** 2 * np.mean(knot - left) * np.sqrt(1 + np.mean(left) ** 2)
    plus, minus = T.side_weights(x, np.array([knot]))
    assert np.allclose([plus[0], minus[0]], [g_plus, g_minus], rtol=1e-14)
    assert T.stability_weight(x, np.array([-2.0, 2.0])).tolist() == [0.0, 0.0]  # zero outside the data
    assert T.function_space_bound(0.2) == 4.5 and T.derive_function_space()


def test_gauss_newton_lemma_holds_at_random_parameters():
    g = torch.Generator().manual_seed(0)
    for _ in range(100):
        n, k = int(torch.randint(3, 20, (1,), generator=g)), int(torch.randint(1, 30, (1,), generator=g))
        x = torch.randn(1, n, generator=g, dtype=torch.float64)
        theta = torch.randn(1, 3 * k + 1, generator=g, dtype=torch.float64)
        J = relu1d_jacobian(theta, x)[0]
        lam = float(torch.linalg.eigvalsh(J.T @ J / n)[-1])
        w, b, a = (theta[0, i * k:(i + 1) * k].numpy() for i in range(3))
        lower = float(T.gauss_newton_lower_bound(a, w, b, x[0].numpy())[0])
        assert lam >= lower * (1 - 1e-12)
        assert T.weighted_curvature(a, w, b, x[0].numpy())[0] <= (lower - 1) / 2 + 1e-12


def test_margin_path_laws_and_kkt_residual():
    Z = sparse_separable(20, 10, [0])[0].numpy()
    l1 = M.l1_max_margin(Z)
    p1, p2 = M.margin_path(Z, 100.0), M.margin_path(Z, 1000.0)
    assert abs(p2.normalized_margin / l1.gamma - 1) < 1e-4
    s1, s2 = (float(M.shallow_share(Z, p.a, p.b)) * p.R**2 for p in (p1, p2))
    assert abs(s2 / s1 - 1) < 0.05  # share = O(R^-2)
    u, v = np.sqrt(np.maximum(l1.w, 0)), np.sqrt(np.maximum(-l1.w, 0))
    assert M.kkt_residual(Z, u, v) < 1e-6  # the l1 max-margin is a KKT point
    assert M.restricted_l1_margin(Z, np.ones(Z.shape[1], bool)) == pytest.approx(l1.gamma, rel=1e-9)
    assert M.restricted_l1_margin(Z, M.active_support(l1.w)) == pytest.approx(l1.gamma, rel=1e-6)
    w2 = M.l2_direction(Z)
    assert M.l1_margin_of(Z, w2) <= l1.gamma * (1 + 1e-9)
