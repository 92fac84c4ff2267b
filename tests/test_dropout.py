"""Tests for theory/dropout.py, numerics/dropout.py and the dropout claims."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
import torch
from scipy.optimize import minimize

from theorycheck.errors import InputError
from theorycheck.numerics.dropout import (
    dropout_linear_gd,
    last_layer_dropout_losses,
    last_layer_gradient_noise,
    train_two_layer,
    two_layer_objective,
)
from theorycheck.theory import dropout as D
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.dropout import DropoutLastLayer, DropoutLinear, _clusters, effective_coefficient
from theorycheck.verify.runner import build_params, run_claim


def _data(seed=0, n=30, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.logspace(-0.3, 0.3, d)
    return X, X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)


# ---------------------------------------------------------------------------------------------- sympy

def test_variance_factor():
    q = sp.Symbol("q", positive=True)
    assert sp.simplify(D.dropout_variance_factor() - (1 - q) / q) == 0


@pytest.mark.parametrize("derive", [
    lambda: D.linear_dropout_derivation(2, 2),
    lambda: D.last_layer_derivation(2, 2),
    lambda: D.factorization_dropout_derivation(2, 2, 2),
])
def test_sympy_identities(derive):
    assert derive()["residual"] == 0


def test_linear_expectation_by_enumeration():
    """Exact expectation over all 2^(n d) masks equals the closed-form objective (numbers, not symbols)."""
    X, y = _data(1, n=2, d=3)
    w = np.array([0.3, -1.2, 0.7])
    p = 0.35
    keep = 1 - p
    total = 0.0
    for bits in itertools.product([0, 1], repeat=X.size):
        B = np.array(bits, float).reshape(X.shape)
        prob = np.prod(np.where(B == 1, keep, p))
        total += prob * np.sum((y - (X * B / keep) @ w) ** 2)
    assert total == pytest.approx(D.linear_dropout_objective(X, y, w, p), rel=1e-12)


def test_last_layer_expectation_by_enumeration():
    rng = np.random.default_rng(2)
    n, m, p = 2, 3, 0.7
    a, H, y = rng.standard_normal(m), np.tanh(rng.standard_normal((n, m))), rng.standard_normal(n)
    L = np.sum((H @ a - y) ** 2) / (2 * n)
    total = 0.0
    for bits in itertools.product([0, 1], repeat=n * m):
        B = np.array(bits, float).reshape(n, m)
        prob = np.prod(np.where(B == 1, p, 1 - p))
        total += prob * np.sum(((H * B / p) @ a - y) ** 2) / (2 * n)
    assert total == pytest.approx(L + D.last_layer_penalty(a, H, p), rel=1e-12)


def test_last_layer_coefficients():
    assert D.last_layer_coefficient(10, 0.8) == pytest.approx(0.2 / (2 * 10 * 0.8))
    assert D.last_layer_coefficient(10, 0.8, "no-1/2n") == pytest.approx(0.25)
    assert D.last_layer_coefficient(10, 0.8, "swapped") == pytest.approx(0.8 / (2 * 10 * 0.2))
    assert D.last_layer_coefficient(10, 0.8, "no-1/p") == pytest.approx(0.2 / (2 * 10))
    with pytest.raises(InputError, match="unknown variant"):
        D.last_layer_coefficient(10, 0.8, "typo")
    with pytest.raises(InputError, match="keep probability"):
        D.last_layer_coefficient(10, 1.5)


# ---------------------------------------------------------------------------------------------- closed forms

def test_linear_minimizer_closed_form_cvxpy_scipy():
    X, y = _data(3)
    p = 0.3
    w_closed = D.linear_dropout_minimizer(X, y, p)
    w_cvx = D.linear_dropout_cvxpy(X, y, p)
    w_scipy = minimize(lambda w: D.linear_dropout_objective(X, y, w, p), np.zeros(X.shape[1]),
                       method="BFGS", options={"gtol": 1e-10}).x
    assert np.allclose(w_closed, w_cvx, rtol=1e-8, atol=1e-10)
    assert np.allclose(w_closed, w_scipy, rtol=1e-6, atol=1e-8)
    w_ridge = D.ridge_same_total_penalty(X, y, p)
    assert np.linalg.norm(w_ridge - w_closed) / np.linalg.norm(w_closed) > 0.02  # anisotropic columns differ
    assert D.dropout_ridge_coefficient(p) == pytest.approx(p / (1 - p))
    assert np.allclose(D.diag_ridge(X, y, D.dropout_ridge_coefficient(p)), w_closed, rtol=1e-12)
    assert np.allclose(D.diag_ridge(X, y, 0.0), D.least_squares(X, y), rtol=1e-10)
    with pytest.raises(InputError, match="non-negative"):
        D.diag_ridge(X, y, -1.0)


def test_linear_bad_input():
    X, y = _data(0)
    with pytest.raises(InputError, match="drop rate"):
        D.linear_dropout_minimizer(X, y, 1.0)
    with pytest.raises(InputError, match="X must be"):
        D.linear_dropout_minimizer(X, y[:-1], 0.3)
    X0 = X.copy()
    X0[:, 1] = 0
    with pytest.raises(InputError, match="identically zero"):
        D.linear_dropout_minimizer(X0, y, 0.3)


# ---------------------------------------------------------------------------------------------- numerics

def test_dropout_linear_gd_batched_equals_single_seed():
    X1, y1 = _data(4, n=20, d=3)
    X2, y2 = _data(5, n=20, d=3)
    both = dropout_linear_gd(np.stack([X1, X2]), np.stack([y1, y2]), 0.3, 0.02, 200, 50, 2, [4, 5])
    alone = dropout_linear_gd(X2[None], y2[None], 0.3, 0.02, 200, 50, 2, [5])
    assert np.allclose(both.final["w_avg"][1], alone.final["w_avg"][0], atol=1e-14)


def test_dropout_linear_gd_without_dropout_is_gd_to_ols():
    X, y = _data(6, n=40, d=3)
    traj = dropout_linear_gd(X[None], y[None], 0.0, 0.05, 3000, 2999, 1, [0])
    assert np.allclose(traj.final["w_last"][0, 0], D.least_squares(X, y), atol=1e-8)


def test_last_layer_mc_without_dropout_is_exact():
    rng = np.random.default_rng(0)
    a, W, X, y = rng.standard_normal((1, 5)), rng.standard_normal((1, 5, 2)), rng.standard_normal((1, 6, 1)), rng.standard_normal((1, 6))
    out = last_layer_dropout_losses(a, W, X, y, 1.0, 100, [0])
    assert out["mean"][0] == pytest.approx(out["L"][0], rel=1e-12)
    assert out["std"][0] < 1e-12
    obj = two_layer_objective(a, W, X, y)
    assert obj["L"][0] == pytest.approx(out["L"][0], rel=1e-12)
    assert last_layer_gradient_noise(a, W, X, y, 1.0, 50, [0])[0] < 1e-20


def test_train_two_layer_gradients_match_autograd():
    """One explicit-penalty step equals a step along the autograd gradient of L + c S2; dropout with p = 1 = plain."""
    rng = np.random.default_rng(1)
    n, m = 5, 4
    X, y = rng.uniform(-1, 1, (1, n, 1)), rng.standard_normal((1, n))
    a0, W0 = rng.standard_normal((1, m)), rng.standard_normal((1, m, 2))
    c, lr = 0.3, 1e-3
    traj = train_two_layer(X, y, a0, W0, 1.0, [False, True, False], [c, 0.0, 0.0], lr, 1, 0, [0])
    a = torch.tensor(a0[0], requires_grad=True)
    W = torch.tensor(W0[0], requires_grad=True)
    Xb = torch.cat([torch.tensor(X[0]), torch.ones(n, 1, dtype=torch.float64)], 1)
    H = torch.tanh(Xb @ W.T)
    J = ((H @ a - torch.tensor(y[0])) ** 2).sum() / (2 * n) + c * ((H * a) ** 2).sum()
    J.backward()
    assert np.allclose(traj.final["a"][0, 0], (a - lr * a.grad).detach().numpy(), atol=1e-14)
    assert np.allclose(traj.final["W"][0, 0], (W - lr * W.grad).detach().numpy(), atol=1e-14)
    assert np.allclose(traj.final["W"][0, 1], traj.final["W"][0, 2], atol=1e-15)


def test_train_two_layer_batched_equals_single_seed():
    rng = np.random.default_rng(2)
    X, y = rng.uniform(-1, 1, (2, 6, 1)), rng.standard_normal((2, 6))
    a0, W0 = rng.standard_normal((2, 5)), rng.standard_normal((2, 5, 2))
    kw = dict(keep=0.8, dropout=[True, False], penalty=[0.0, 0.1], lr=0.05, steps=50, average_from=10)
    both = train_two_layer(X, y, a0, W0, seeds=[3, 4], **kw)
    alone = train_two_layer(X[1:], y[1:], a0[1:], W0[1:], seeds=[4], **kw)
    assert np.allclose(both.final["a_avg"][1], alone.final["a_avg"][0], atol=1e-14)


def test_clusters():
    a = np.array([1.0, 1.0, 1.0, 0.01])
    W = np.array([[1.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    clusters, aligned, active = _clusters(a, W, 0.1, 0.99)
    assert (clusters, active) == (2, 3)
    assert aligned == pytest.approx(1 / 3)


def test_effective_coefficient_inverts_the_penalty_curve():
    """ln c_eff interpolates log S2 against log c; it is exact for a power law and NaN where S2 does not fall."""
    c = np.array([0.5, 1.0, 2.0])
    s2 = 3.0 * c[None, :] ** -0.8                                    # S2 = 3 c^-0.8
    target = 3.0 * np.array([0.7, 1.0, 3.0]) ** -0.8                # inside, on a node, extrapolated
    out = effective_coefficient(target, np.repeat(s2, 3, 0), c)
    assert np.allclose(out, np.log([0.7, 1.0, 3.0]), atol=1e-12)
    assert np.isnan(effective_coefficient(np.array([1.0]), np.array([[1.0, 2.0, 3.0]]), c)[0])


# ---------------------------------------------------------------------------------------------- claims

@pytest.mark.parametrize("claim, overrides, match", [
    (DropoutLinear, {"p": 1.0}, "drop rate"),
    (DropoutLinear, {"burn_in": 10**6}, "burn_in"),
    (DropoutLastLayer, {"p": 0.5}, "too close to 1/2"),
    (DropoutLastLayer, {"p": 0.0}, "keep probability"),
    (DropoutLastLayer, {"coef_tol": 0.0}, "coef_tol"),
])
def test_dropout_bad_input(claim, overrides, match):
    with pytest.raises(InputError, match=match):
        build_params(claim, "quick", overrides)


def test_dropout_claims_keep_theory_comparisons_as_certificates(quick_run):
    for claim in (DropoutLinear, DropoutLastLayer):
        res = quick_run(claim)
        assert {c.role for c in res.checks} == {"check", "certificate"}
        assert all("cvxpy" in c.name or "sympy" in c.name for c in res.checks if c.role == "certificate")


@pytest.mark.slow
@pytest.mark.parametrize("claim", [DropoutLinear, DropoutLastLayer])
def test_dropout_claims_full_agree(claim):
    res = run_claim(claim, preset="full", device="cpu")
    assert res.verdict is Verdict.AGREES, res.message
