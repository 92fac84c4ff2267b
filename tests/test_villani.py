"""Regularized depth-2 nets: curvature bounds and the convexity threshold, minima, SGD/SDE numerics, Laplacians,
the claim."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import sde
from theorycheck.theory import villani as tv
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.convergence import VillaniRegularizedSGD
from theorycheck.verify.runner import run_claim

torch.set_num_threads(1)


def _problem(loss="l2", act="tanh", n=12, d=3, p=5, seed=0):
    X, y, a = sde.teacher_data([seed], n, d, p, loss)
    return X, y, a, act


# ------------------------------------------------------------------ theory

@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_activation_bounds_match_dense_grid(name):
    b = tv.activation_bounds(name)
    z = np.linspace(-30, 30, 600_001)
    s0, s1, s2 = tv._act(name, z)
    assert float(b["B_sigma"]) == pytest.approx(np.abs(s0).max(), abs=1e-9)
    assert float(b["B_sigma1"]) == pytest.approx(np.abs(s1).max(), rel=1e-9)
    assert float(b["B_sigma2"]) == pytest.approx(np.abs(s2).max(), rel=1e-7)


def test_activation_bounds_exact_values_and_derivatives():
    assert sp.simplify(tv.activation_bounds("sigmoid")["B_sigma2"] - sp.sqrt(3) / 18) == 0
    assert sp.simplify(tv.activation_bounds("tanh")["B_sigma2"] - 4 * sp.sqrt(3) / 9) == 0
    # the polynomial representation sigma' = D(sigma) agrees with sympy's derivative
    z = tv._z
    for name in tv.ACTIVATIONS:
        s = tv.activation_expr(name)
        (_, _), D = tv._ACT_POLY[name]
        assert sp.simplify(sp.diff(s, z) - D.subs(tv._u, s)) == 0


def test_sufficient_threshold_hand_value():
    # B_x = 2, B_y = 1, a = (0.5, -0.25, 0.25), tanh: B_s = 1, B_s' = 1, B_s'' = 4 sqrt3 / 9
    a = np.array([0.5, -0.25, 0.25])
    X = np.array([[2.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, -0.5])
    b = tv.net_bounds(X, y, a, "tanh", "l2")
    Bs2 = 4 * np.sqrt(3) / 9
    expected = 4 * (0.375 * 1 + (1 + 1.0 * 1) * 0.5 * Bs2)          # ||a||_2^2 = 0.375, ||a||_1 = 1
    assert b.threshold == pytest.approx(expected, rel=1e-12)
    assert b.kappa_minus == pytest.approx(4 * 2 * 0.5 * Bs2, rel=1e-12)
    expr = tv.sufficient_threshold_expr("l2")
    subs = {tv.B_x: 2, tv.B_y: 1, tv.a1: 1, tv.a2: sp.sqrt(sp.Rational(3, 8)), tv.ainf: sp.Rational(1, 2),
            tv.Bs: 1, tv.Bs1: 1, tv.Bs2: 4 * sp.sqrt(3) / 9}
    assert float(expr.subs(subs)) == pytest.approx(expected, rel=1e-12)
    assert "lambda" in tv.sufficient_threshold_latex("logistic")


@pytest.mark.parametrize("loss,act", [("l2", "tanh"), ("logistic", "sigmoid"), ("l2", "sigmoid")])
def test_objective_derivatives_and_curvature_bounds(loss, act):
    X, y, a, _ = _problem(loss, act)
    X, y, a = X[0].numpy(), y[0].numpy(), a[0].numpy()
    b = tv.net_bounds(X, y, a, act, loss)
    lam = 1.2 * b.threshold
    rng = np.random.default_rng(1)
    for scale in (0.1, 1.0, 5.0):
        W = scale * rng.normal(size=(a.size, X.shape[1]))
        F, g, H = tv.objective(W, X, y, a, lam, act, loss)
        eps = 1e-6
        E = rng.normal(size=W.shape)
        Fp, gp, _ = tv.objective(W + eps * E, X, y, a, lam, act, loss)
        Fm, gm, _ = tv.objective(W - eps * E, X, y, a, lam, act, loss)
        assert (Fp - Fm) / (2 * eps) == pytest.approx(np.sum(g * E), rel=1e-6, abs=1e-9)
        np.testing.assert_allclose((gp - gm).ravel() / (2 * eps), H @ E.ravel(), rtol=1e-5, atol=1e-8)
        eig = np.linalg.eigvalsh(H)
        assert eig.min() >= lam - b.kappa_minus - 1e-12
        assert eig.max() <= lam + b.kappa_plus + 1e-12


def test_global_minimum_certified_and_bad_lambda():
    X, y, a, act = _problem()
    X, y, a = X[0].numpy(), y[0].numpy(), a[0].numpy()
    b = tv.net_bounds(X, y, a, act, "l2")
    gm = tv.global_minimum(X, y, a, 1.5 * b.threshold, act, "l2")
    assert gm.gap_certificate < 1e-14 and gm.hess_eigs.min() > 0
    with pytest.raises(InputError, match="strong convexity"):
        tv.global_minimum(X, y, a, 0.5 * b.kappa_minus, act, "l2")
    with pytest.raises(InputError, match="activation"):
        tv.net_bounds(X, y, a, "relu", "l2")
    with pytest.raises(InputError, match="labels"):
        tv.net_bounds(X, y, a, "tanh", "logistic")


@pytest.mark.parametrize("loss,act", [("l2", "tanh"), ("logistic", "sigmoid")])
def test_convexity_threshold_estimate_and_the_non_convex_minimum(loss, act):
    X, y, a = sde.teacher_data([0], 16, 4, 8, loss)
    X, y, a = X[0].numpy(), y[0].numpy(), a[0].numpy()
    rng = np.random.default_rng(0)
    points = np.concatenate([s * rng.normal(size=(30, 8, 4)) for s in (0.3, 1.0, 2.0, 4.0)])
    h = tv.convexity_threshold_estimate(X, y, a, act, loss, points)
    b = tv.net_bounds(X, y, a, act, loss)
    assert 0 < h <= b.kappa_minus                     # a lower estimate of a threshold kappa_- bounds from above
    worst = min(points, key=lambda W: tv.data_hessian_min_eig(W, X, y, a, act, loss))
    lam = 0.5 * h
    assert np.linalg.eigvalsh(tv.objective(worst, X, y, a, lam, act, loss)[2]).min() < 0   # F non-convex there
    m = tv.multistart_minimum(X, y, a, lam, act, loss, rng.normal(size=(6, 8, 4)))
    assert m.grad_norm < 1e-8 and m.hess_eigs.min() > 0 and m.distinct >= 1
    # in the strongly convex regime it finds the certified global minimum
    big = 1.5 * b.kappa_plus
    assert tv.multistart_minimum(X, y, a, big, act, loss, rng.normal(size=(3, 8, 4))).value == pytest.approx(
        tv.global_minimum(X, y, a, big, act, loss).value, rel=1e-10)


def test_gibbs_excess_matches_an_ornstein_uhlenbeck_average():
    """For a quadratic F the SDE is an OU process; its stationary mean of F - F* is sD/4 whatever the curvatures."""
    h = np.array([0.1, 1.0, 7.0])
    s = 0.3
    assert float(np.sum(0.5 * h * s / (2 * h))) == pytest.approx(tv.gibbs_excess(s, h.size))
    with pytest.raises(InputError):
        tv.gibbs_excess(0.0, 3)


# ------------------------------------------------------------------ numerics

@pytest.mark.parametrize("loss,act", [("l2", "tanh"), ("logistic", "sigmoid")])
def test_value_grad_against_numpy_and_autograd(loss, act):
    X, y, a = sde.teacher_data([0, 1], 10, 3, 4, loss)
    W = torch.randn(2, 3, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    F, g = sde.value_grad(W, X, y, a, 0.3, act, loss)
    Wr = W.clone().requires_grad_(True)
    sde.value(Wr, X, y, a, 0.3, act, loss).sum().backward()
    torch.testing.assert_close(g, Wr.grad, rtol=1e-12, atol=1e-14)
    for s in range(2):                       # slow per-net reference: the numpy objective
        for r in range(3):
            Fn, gn, _ = tv.objective(W[s, r].numpy(), X[s].numpy(), y[s].numpy(), a[s].numpy(), 0.3, act, loss)
            assert float(F[s, r]) == pytest.approx(Fn, rel=1e-12)
            np.testing.assert_allclose(g[s, r].numpy(), gn, rtol=1e-10, atol=1e-13)
    idx = torch.arange(10).expand(2, 3, 10)
    torch.testing.assert_close(sde.minibatch_grad(W, X, y, a, 0.3, act, loss, idx), g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss,act", [("l2", "tanh"), ("logistic", "sigmoid")])
def test_laplacians_closed_exact_hutchinson(loss, act):
    X, y, a = sde.teacher_data([0, 1], 8, 3, 4, loss)
    W = 2 * torch.randn(2, 3, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    closed = sde.laplacian_closed(W, X, y, a, 0.2, act, loss)
    exact = sde.laplacian_exact(W, X, y, a, 0.2, act, loss, chunk=2)
    torch.testing.assert_close(closed, exact, rtol=1e-11, atol=1e-12)
    # the numpy Hessian trace (theory) agrees as well
    _, _, H = tv.objective(W[0, 0].numpy(), X[0].numpy(), y[0].numpy(), a[0].numpy(), 0.2, act, loss)
    assert float(exact[0, 0]) == pytest.approx(np.trace(H), rel=1e-11)
    gen = torch.Generator().manual_seed(3)
    hutch = sde.laplacian_hutchinson(W, X, y, a, 0.2, act, loss, probes=2000, gen=gen)
    # Rademacher-probe variance is 2 sum_{i != j} H_ij^2 / K: bound it with the dense Hessians
    H_all = np.stack([[tv.objective(W[s, r].numpy(), X[s].numpy(), y[s].numpy(), a[s].numpy(), 0.2, act, loss)[2]
                       for r in range(3)] for s in range(2)])
    off = (H_all**2).sum((-1, -2)) - (np.diagonal(H_all, axis1=-2, axis2=-1) ** 2).sum(-1)
    se = np.sqrt(2 * off / 2000)
    assert np.all(np.abs(hutch.numpy() - exact.numpy()) <= 5 * se + 1e-12)


def test_euler_maruyama_without_noise_is_gradient_descent():
    X, y, a = sde.teacher_data([0], 10, 3, 4, "l2")
    W0 = torch.randn(1, 2, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    tr = sde.euler_maruyama(W0, X, y, a, 0.3, "tanh", "l2", s=0.0, dt=0.1, steps=50, record_every=10,
                            gen=torch.Generator().manual_seed(1))
    W = W0.clone()
    ref = []
    for k in range(51):
        F, g = sde.value_grad(W, X, y, a, 0.3, "tanh", "l2")
        if k % 10 == 0:
            ref.append(F)
        W = W - 0.1 * g
    np.testing.assert_allclose(tr.series["F"], torch.stack(ref, 1).numpy(), rtol=1e-12)
    assert tr.series["F"].shape == (1, 6, 2)


def test_sgd_per_net_lambda_and_divergence():
    X, y, a = sde.teacher_data([0], 10, 3, 4, "l2")
    W0 = torch.randn(1, 2, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lam = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    tr = sde.sgd(W0, X, y, a, lam, "tanh", "l2", steps=20, batch=10, lr=0.5, decay=1e9,
                 gen=torch.Generator().manual_seed(0))
    # batch = n with replacement is still stochastic; with lam per net the two columns differ
    assert tr.final["F"].shape == (1, 2)
    path = sde.sgd(W0, X, y, a, lam, "tanh", "l2", steps=20, batch=10, lr=0.5, decay=1e9,
                   gen=torch.Generator().manual_seed(0), record_weights=True)
    assert path.series["W"].shape == (1, path.steps.size, 2, 4, 3)
    np.testing.assert_array_equal(path.series["W"][:, 0], W0.numpy())
    np.testing.assert_array_equal(path.series["W"][:, -1], path.final["W"])
    from theorycheck.errors import DivergenceError
    with pytest.raises(DivergenceError):
        sde.sgd(W0, X, y, a, 0.1, "tanh", "l2", steps=20, batch=4, lr=1e200, decay=1e9,
                gen=torch.Generator().manual_seed(0))
    with pytest.raises(InputError, match="batch"):
        sde.sgd(W0, X, y, a, 0.1, "tanh", "l2", steps=2, batch=11, lr=0.1, decay=1.0, gen=torch.Generator())


def test_villani_envelope_holds_on_random_rays():
    X, y, a = sde.teacher_data([0], 12, 3, 5, "l2")
    b = tv.net_bounds(X[0].numpy(), y[0].numpy(), a[0].numpy(), "tanh", "l2")
    lam, s = 1.5 * b.threshold, 0.1
    V = torch.randn(1, 6, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    V = V / V.norm(dim=(-1, -2), keepdim=True)
    ts = torch.logspace(-1, 3, 9, dtype=torch.float64)
    g2, lap = sde.villani_along_rays(V, ts, X, y, a, lam, "tanh", "l2")
    Q = g2.numpy() / s - lap.numpy()
    dev = tv.villani_deviation(ts.numpy(), lam, s, b, 15)
    assert np.all(np.abs(Q - lam**2 * ts.numpy() ** 2 / s) <= dev)


# ------------------------------------------------------------------ the claim

def test_claim_runs_below_the_convexity_threshold(quick_run):
    res = quick_run(VillaniRegularizedSGD)
    for loss in ("l2", "logistic"):
        lam = res.observations[f"lambda ({loss})"]
        assert lam < res.observations[f"convexity-threshold estimate, min over seeds ({loss})"]
        assert lam < 0.1 * res.observations[f"kappa+ ({loss})"]
        assert res.observations[f"min Hessian eigenvalue on the SGD path / lambda, median ({loss})"] < 0
    certificates = [c for c in res.checks if c.role == "certificate"]
    assert len(certificates) == 4 and all(c.passed for c in certificates)
    assert any("lambda = 0" in c.name and c.passed is False for c in res.controls)
    assert res.checks[0].curve.extra


def test_claim_bad_input():
    with pytest.raises(InputError, match="lam_factor"):
        run_claim(VillaniRegularizedSGD, preset="quick", overrides={"lam_factor": "1.5"})
    with pytest.raises(InputError, match="activation_l2"):
        run_claim(VillaniRegularizedSGD, preset="quick", overrides={"activation_l2": "relu"})


@pytest.mark.slow
def test_claim_full_agrees():
    res = run_claim(VillaniRegularizedSGD, preset="full")
    assert res.verdict is Verdict.AGREES, res.message
    assert all(c.passed is False for c in res.controls)
