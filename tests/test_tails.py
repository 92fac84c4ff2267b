"""Poly-exponential tails: the loss family, the batched trainer, the claim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theorycheck.errors import InputError
from theorycheck.numerics.tails import (phi, phi_prime, poly_phi, tail_gd, tail_loss, tail_loss_curvature_bound,
                                        tail_weights)
from theorycheck.theory.tails import margin_constant, polynomial_tail_direction, tail_rate_laws
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.tails import PolyExponentialTails, TailsParams
from theorycheck.verify.runner import run_claim

NUS = (0.3, 0.5, 1.0, 1.5, 2.0, 3.0)


@pytest.mark.parametrize("nu", NUS)
def test_loss_family_properties(nu):
    u = torch.linspace(-3.0, 12.0, 30001, dtype=torch.float64)
    v = torch.tensor(nu, dtype=torch.float64)
    loss = tail_loss(u, v)
    # exact tail above 1; positive and strictly decreasing everywhere
    above = u >= 1
    assert torch.allclose(loss[above], torch.exp(-u[above] ** nu), rtol=1e-12, atol=0)
    representable = phi(u, v) < 700  # e^{-700} ~ 1e-304: beyond it float64 underflows to 0 (harmless, see module)
    assert bool((loss[representable] > 0).all()) and bool((tail_weights(u, v)[representable] > 0).all())
    assert bool((loss[1:] <= loss[:-1]).all())
    # C^1 at u = 1: both branches of phi and phi' meet
    one = torch.tensor([1.0 - 1e-9, 1.0 + 1e-9], dtype=torch.float64)
    assert abs(float(phi(one, v)[1] - phi(one, v)[0])) < 1e-8
    assert abs(float(phi_prime(one, v)[1] - phi_prime(one, v)[0])) < 1e-8
    # weights = -l' (against finite differences) and convexity (second differences >= 0)
    h = float(u[1] - u[0])
    fd = -(loss[2:] - loss[:-2]) / (2 * h)
    smooth = (u[1:-1] - 1.0).abs() > 2 * h  # l'' jumps at u = 1 (C^1 junction): skip the kink itself
    assert torch.allclose(fd[smooth], tail_weights(u, v)[1:-1][smooth], rtol=1e-5, atol=1e-9)
    second = (loss[2:] - 2 * loss[1:-1] + loss[:-2]) / h**2
    assert float(second.min()) > -1e-6
    # the curvature bounds used for the step size hold on [0, inf) and on [1, inf) (right of the kink)
    mid = u[1:-1]
    assert float(second[mid >= 0].max()) <= tail_loss_curvature_bound(nu, u_min=0.0) * (1 + 1e-4)
    right = mid >= 1 + 2 * h
    assert float(second[right].max()) <= tail_loss_curvature_bound(nu) * (1 + 1e-4)
    assert tail_loss_curvature_bound(nu) <= float(second[right].max()) * 1.01 + 1e-12


def test_nu_one_is_the_exponential_loss():
    u = torch.linspace(-2, 20, 101, dtype=torch.float64)
    assert torch.allclose(tail_loss(u, torch.tensor(1.0, dtype=torch.float64)), torch.exp(-u), rtol=1e-14)


def _reference(Z, nu, lr, steps, w0, poly):
    out = []
    for b in range(Z.shape[0]):
        w = w0[b].clone()
        for _ in range(steps):
            w = w.detach().requires_grad_(True)
            m = Z[b] @ w
            ph = poly_phi(m, nu[b]) if poly[b] else phi(m, nu[b])
            (g,) = torch.autograd.grad(torch.exp(-ph).sum(), w)
            w = w - lr[b] * g
        out.append(w.detach())
    return torch.stack(out)


def test_batched_trainer_matches_a_per_row_loop():
    torch.manual_seed(1)
    Z = torch.randn(5, 6, 3, dtype=torch.float64) + torch.tensor([1.5, 0, 0], dtype=torch.float64)
    nu = torch.tensor([0.5, 1.0, 2.0, 3.0, 1.0], dtype=torch.float64)
    poly = torch.tensor([False, False, False, False, True])
    lr = torch.tensor([0.05, 0.05, 0.02, 0.01, 0.05], dtype=torch.float64)
    w0 = 0.3 * torch.randn(5, 3, dtype=torch.float64)
    tr = tail_gd(Z, nu, lr, 40, record=np.array([1, 40]), w0=w0, polynomial=poly)
    ref = _reference(Z, nu, lr, 40, w0, poly)
    assert np.allclose(tr.final["w"], ref.numpy(), atol=1e-12)
    assert tr.series["loss"].shape == (5, 2)


def test_trainer_rejects_bad_input():
    Z = torch.randn(2, 3, 2, dtype=torch.float64)
    with pytest.raises(InputError, match="nu"):
        tail_gd(Z, -1.0, 0.1, 10)
    with pytest.raises(InputError, match="polynomial"):
        tail_gd(Z, 1.0, 0.1, 10, polynomial=[True, False, True])


def test_tails_bad_input():
    with pytest.raises(InputError, match="must contain 1.0"):
        run_claim(PolyExponentialTails, preset="quick", overrides={"nus": "2,3"})
    with pytest.raises(InputError, match="nu > 1"):
        run_claim(PolyExponentialTails, preset="quick", overrides={"nus": "0.5,0.75,1"})
    with pytest.raises(InputError, match="lr_scale"):
        run_claim(PolyExponentialTails, preset="quick", overrides={"lr_scale": "2.5"})
    with pytest.raises(InputError, match="support_weights"):
        run_claim(PolyExponentialTails, preset="quick", overrides={"support_weights": "1,2,3"})
    with pytest.raises(InputError, match="init"):
        TailsParams().with_overrides({"init": "random"})


def test_rate_laws_and_the_margin_constant():
    for nu, k_d, k_m in [(0.5, 1.0, 1.0), (1.0, 1.0, 1.0), (2.0, 0.5, 1.0), (3.0, 1 / 3, 2 / 3)]:
        laws = tail_rate_laws(nu)
        assert float(laws["direction_exponent"]) == pytest.approx(k_d)
        assert float(laws["margin_exponent"]) == pytest.approx(k_m)
    # A_nu = max_s (log alpha_s - mean_alpha log alpha) / nu: duals 1 : 3 give (log 3)/4 / nu
    assert margin_constant(np.array([1.0, 3.0]), 1.0) == pytest.approx(np.log(3) / 4)
    assert margin_constant(np.array([2.0, 6.0]), 2.0) == pytest.approx(np.log(3) / 8)
    assert margin_constant(np.ones(3), 1.0) == pytest.approx(0.0, abs=1e-15)


def test_margin_law_on_a_synthetic_balanced_iterate():
    # w = g u + rho with the balanced in-span offset of the exponential tail: the margin gap is A/s + gap^2/2
    rng = np.random.default_rng(0)
    u = np.array([1.0, 0.0, 0.0])
    gamma = 0.5
    v = np.array([[0.0, 1.0, 0.0], [0.0, -1.0 / 3.0, 0.0]])  # a . v = 0 for a = (1, 3): alpha ∝ a
    Z = gamma * u + v
    alpha = np.array([1.0, 3.0]) / (4 * gamma**2)
    c = np.sum(alpha * np.log(alpha)) / alpha.sum()
    g = 400.0
    delta = c - np.log(alpha)  # nu = 1: z_s^T rho = c - log alpha_s
    rho, *_ = np.linalg.lstsq(Z, delta, rcond=None)
    rho -= u * (u @ rho)
    rho += np.array([0.0, 0.0, 1.5]) * rng.standard_normal()  # a frozen out-of-span part
    w = g * u + rho
    margin_gap = 1 - np.min(Z @ w) / np.linalg.norm(w) / gamma
    gap = np.linalg.norm(w / np.linalg.norm(w) - u)
    s = np.linalg.norm(w) * gamma
    assert margin_gap == pytest.approx(margin_constant(alpha, 1.0) / s + gap**2 / 2, rel=2e-3)


@pytest.mark.slow
def test_tails_full_preset_agrees():
    res = run_claim(PolyExponentialTails, preset="full", device="auto")
    assert res.verdict is Verdict.AGREES, res.message
    assert all(c.passed is False for c in res.controls)


def test_polynomial_tail_direction():
    # symmetric pair: u = e1 by symmetry, for every k
    Z = np.array([[1.0, 1.0], [1.0, -1.0]])
    for k in (0.5, 1.0, 3.0):
        u, res = polynomial_tail_direction(Z, k)
        assert np.allclose(u, [1.0, 0.0], atol=1e-10)
    # random data: stationarity on the sphere, and it beats nearby directions
    Z = np.random.default_rng(5).standard_normal((12, 4)) + np.array([3.0, 0, 0, 0])
    Z = Z[Z[:, 0] > 0]
    u, _ = polynomial_tail_direction(Z, 1.0)
    F = lambda v: np.sum((Z @ (v / np.linalg.norm(v))) ** -1.0)  # noqa: E731
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert F(u) <= F(u + 1e-3 * rng.standard_normal(4)) + 1e-12
