"""theory/rademacher.py: bounds on hand-computed numbers, exact values against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp

from theorycheck.errors import InputError
from theorycheck.theory import rademacher as rad


# ----------------------------------------------------------------------------- bounds on fixed numbers

def test_linear_bounds_hand_computed():
    assert rad.linear_l2_bound("data").evaluate(B=2, S2=9, n=4) == pytest.approx(1.5)
    assert rad.linear_l2_bound("radius").evaluate(B=2, R=1, n=4) == pytest.approx(1.0)
    assert rad.linear_l2_lower().evaluate(B=2, S2=9, n=4) == pytest.approx(1.5 / math.sqrt(2))
    massart_r, massart_d = rad.linear_l1_massart_bound("radius"), rad.linear_l1_massart_bound("data")
    assert massart_r.evaluate(B=1, R_inf=1, d=2, n=8) == pytest.approx(math.sqrt(math.log(4) / 4))
    assert massart_d.evaluate(B=3, C_inf=2, d=5, n=10) == pytest.approx(3 * 2 * math.sqrt(2 * math.log(10)) / 10)


def test_network_bounds_hand_computed():
    assert rad.two_layer_bound().evaluate(L=1, B_a=2, B_w=3, S2=16, n=4) == pytest.approx(12.0)
    assert rad.path_norm_bound().evaluate(phi=6, S2=16, n=4) == pytest.approx(12.0)
    gol = (math.sqrt(4 * math.log(2)) + 1) * 6 * 4 / 4
    assert rad.golowich_frobenius(2).evaluate(M_F=6, S2=16, n=4) == pytest.approx(gol)
    assert rad.golowich_frobenius().evaluate(M_F=6, S2=16, n=4, depth=2) == pytest.approx(gol)
    assert rad.golowich_frobenius_bound([2.0, 3.0], 16.0, 4) == pytest.approx(gol)
    # depth 3, batched over two networks
    got = rad.golowich_frobenius_bound(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]), 100.0, 25)
    expected = (math.sqrt(6 * math.log(2)) + 1) * np.array([6.0, 1.0]) * 10 / 25
    np.testing.assert_allclose(got, expected)


def test_generalization_bounds_hand_computed():
    conc = 3 * math.sqrt(math.log(40) / 200)
    assert rad.margin_bound().evaluate(emp=0.1, gamma=0.5, rad=0.05, delta=0.05, n=100) == pytest.approx(0.3 + conc)
    assert rad.margin_bound(False).evaluate(emp=0.1, delta=0.05, n=100) == pytest.approx(0.1 + conc)
    lip = rad.lipschitz_loss_bound().evaluate(emp=0.2, L=2, rad=0.1, c=2, delta=0.05, n=100)
    assert lip == pytest.approx(0.6 + 2 * conc)
    assert rad.margin_concentration().evaluate(delta=0.05, n=100) == pytest.approx(conc)


def test_bound_symbols_latex_and_convention():
    b = rad.two_layer_bound()
    assert set(b.symbols) == {"L", "B_a", "B_w", "S2", "n"}
    assert "sqrt" in b.latex and b.kind == "upper"
    assert rad.linear_l2_lower().kind == "lower"
    assert any("no absolute value" in a for a in b.assumptions)
    # the path-norm bound is the two-layer bound with B_a B_w = phi and L = 1
    assert sp.simplify(b.expr.subs({rad.L: 1, rad.B_a: rad.phi, rad.B_w: 1}) - rad.path_norm_bound().expr) == 0


def test_bound_evaluate_rejects_bad_input():
    b = rad.linear_l2_bound()
    with pytest.raises(InputError, match="needs"):
        b.evaluate(B=1, n=4)
    with pytest.raises(InputError, match="no parameter"):
        b.evaluate(B=1, S2=1, n=4, R=1)
    with pytest.raises(InputError, match="positive"):
        b.evaluate(B=-1, S2=1, n=4)
    with pytest.raises(InputError, match="delta"):
        rad.margin_bound().evaluate(emp=0, gamma=1, rad=1, delta=1.5, n=10)
    with pytest.raises(InputError, match="form"):
        rad.linear_l2_bound("bogus")
    with pytest.raises(InputError):
        rad.golowich_frobenius_bound(3.0, 1.0, 1)


# ----------------------------------------------------------------------------- exact values

def test_sign_vectors_complete():
    s = rad.sign_vectors(5)
    assert s.shape == (32, 5) and len({tuple(r) for r in s}) == 32
    h = rad.sign_vectors(5, first_positive=True)
    assert h.shape == (16, 5) and np.all(h[:, 0] == 1)
    with pytest.raises(InputError, match="sign enumeration"):
        rad.sign_vectors(30)


def test_linear_exact_hand_computed():
    X = np.eye(2)
    # E||s1 e1 + s2 e2||_2 = sqrt 2, ||.||_inf = 1, ||.||_1 = 2
    assert rad.linear_rademacher_exact(X, 1.0, 2) == pytest.approx(math.sqrt(2) / 2)
    assert rad.linear_rademacher_exact(X, 3.0, 1) == pytest.approx(3 * 1 / 2)
    assert rad.linear_rademacher_exact(X, 1.0, np.inf) == pytest.approx(2 / 2)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_linear_exact_matches_bruteforce(p):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    q = {1.0: np.inf, 2.0: 2.0, 3.0: 1.5}[p]
    brute = np.mean([np.linalg.norm(np.array(s) @ X, ord=q) for s in itertools.product([-1, 1], repeat=7)]) / 7
    assert rad.linear_rademacher_exact(X, 1.0, p) == pytest.approx(brute, rel=1e-12)


def test_khintchine_and_jensen_bracket_exact():
    rng = np.random.default_rng(1)
    for d in (1, 2, 10):
        X = rng.normal(size=(14, d))
        exact = rad.linear_rademacher_exact(X, 1.0, 2)
        S2 = float((X**2).sum())
        lower = rad.linear_l2_lower().evaluate(B=1, S2=S2, n=14)
        assert lower <= exact <= rad.linear_l2_bound().evaluate(B=1, S2=S2, n=14)


def _relu_brute(X, sigma, k=200_001):
    th = np.linspace(0, 2 * np.pi, k)
    U = np.stack([np.cos(th), np.sin(th)], 1)
    return np.abs(sigma @ np.maximum(U @ X.T, 0).T).max(axis=1)


def test_relu_sup_exact_2d_matches_dense_angles():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(9, 2))
    sigma = rad.sign_vectors(9)[::7].astype(float)
    exact = rad.relu_sup_exact_2d(X, sigma)
    brute = _relu_brute(X, sigma)
    lip = np.linalg.norm(X, axis=1).sum() * (2 * np.pi / 200_000)
    assert np.all(exact >= brute - 1e-12) and np.all(exact <= brute + lip)


@pytest.mark.parametrize("dim", [2, 3])
def test_cube_sphere_grid_covering_radius(dim):
    U, h = rad.cube_sphere_grid(dim, 12)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0)
    probe = np.random.default_rng(3).normal(size=(4000, dim))
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    nearest = np.sqrt(np.maximum(2 - 2 * (probe @ U.T).max(axis=1), 0))
    assert nearest.max() <= h


def test_relu_sup_grid_brackets_exact_in_2d_and_certifies_in_3d():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 2))
    sigma = rad.sign_vectors(10)[::13].astype(float)
    exact = rad.relu_sup_exact_2d(X, sigma)
    val, upper = rad.relu_sup_grid(X, sigma, per_side=100)
    assert np.all(val <= exact + 1e-10) and np.all(upper >= exact - 1e-10)
    np.testing.assert_allclose(val, exact, rtol=1e-6)
    X3 = rng.normal(size=(8, 3))
    s3 = rad.sign_vectors(8)[::5].astype(float)
    v3, u3 = rad.relu_sup_grid(X3, s3, per_side=40)
    # independent dense random search never beats the certified upper value
    P = rng.normal(size=(200_000, 3))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    dense = np.abs(s3 @ np.maximum(P @ X3.T, 0).T).max(axis=1)
    assert np.all(dense <= u3 + 1e-10) and np.all(v3 >= dense - 1e-2 * dense)


def test_margin_bound_on_grid_union_bound():
    m = np.array([[0.5, 0.5, 0.5, 0.5]])
    g = np.array([0.25, 0.5])
    out = rad.margin_bound_on_grid(m, g, sum_sq=4.0, n_samples=4, delta_value=0.1)
    conc = 3 * math.sqrt(math.log(2 * 2 / 0.1) / 8)
    # gamma = 0.5: ramp 0, complexity (2/0.5) * 2*2/4 = 4;  gamma = 0.25: ramp 0, complexity 8
    assert out["bound"][0] == pytest.approx(4 + conc)
    assert out["gamma"][0] == 0.5
    assert out["concentration"] == pytest.approx(conc)
    ctrl = rad.margin_bound_on_grid(m, g, 4.0, 4, 0.1, with_complexity=False)
    assert ctrl["bound"][0] == pytest.approx(conc)
    with pytest.raises(InputError, match="samples"):
        rad.margin_bound_on_grid(m, g, 4.0, 5, 0.1)


def test_lower_bounds_sit_below_exact_values():
    rng = np.random.default_rng(5)
    for d in (1, 3, 8):
        X = rng.choice([-1.0, 1.0], size=(12, d))
        exact = rad.linear_rademacher_exact(X, 2.0, 1)
        lower = float(rad.linear_l1_lower().evaluate(B=2.0, C_inf=float(np.linalg.norm(X, axis=0).max()), n=12))
        upper = float(rad.linear_l1_massart_bound("radius").evaluate(B=2.0, R_inf=1.0, d=d, n=12))
        assert lower <= exact <= upper
    # two-layer ReLU: the exact supremum over every sign vector of a small sample in 2-D
    X = rng.normal(size=(10, 2))
    signs = rad.sign_vectors(10).astype(float)
    exact = rad.relu_sup_exact_2d(X, signs).mean() / 10
    S2 = float((X**2).sum())
    assert rad.two_layer_lower().evaluate(B_a=1, B_w=1, S2=S2, n=10) <= exact
    assert exact <= rad.two_layer_bound().evaluate(L=1, B_a=1, B_w=1, S2=S2, n=10)


def test_gaussian_max_abs_closed_forms():
    assert rad.gaussian_max_abs(1) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-10)
    assert rad.gaussian_max_abs(2) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-10)
    g = np.abs(np.random.default_rng(6).normal(size=(200_000, 20))).max(1)
    assert rad.gaussian_max_abs(20) == pytest.approx(g.mean(), abs=4 * g.std() / math.sqrt(g.size))
    assert rad.gaussian_max_abs(100) < math.sqrt(2 * math.log(200))
    with pytest.raises(InputError):
        rad.gaussian_max_abs(0)


def test_margin_bound_on_grid_takes_one_sample_norm_per_net():
    m = np.full((2, 4), 0.5)
    g = np.array([0.25, 0.5])
    both = rad.margin_bound_on_grid(m, g, sum_sq=np.array([4.0, 16.0]), n_samples=4, delta_value=0.1)
    one = [rad.margin_bound_on_grid(m[:1], g, s2, 4, 0.1)["bound"][0] for s2 in (4.0, 16.0)]
    np.testing.assert_allclose(both["bound"], one)
