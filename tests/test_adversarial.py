"""Adversarial training family: robust margins, the mixed-norm program, the batched trainer, the claims."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linprog, minimize

from theorycheck.errors import InputError, NotSeparableError
from theorycheck.numerics.adversarial import adversarial_gd, adversarial_loss
from theorycheck.theory import adversarial as ta
from theorycheck.theory.separable import max_margin, residual_limit
from theorycheck.verify.claim import Verdict
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.verify.claims.adversarial import AdversarialL2, AdversarialL2FixedEps, AdversarialLinf
from theorycheck.verify.runner import run_claim


def _gauss(seed: int, n: int = 8, d: int = 20) -> np.ndarray:
    """Gaussian rows z_i (n < d: separable through the origin with probability 1)."""
    return np.random.default_rng(seed).standard_normal((n, d))


# ------------------------------------------------------------------------------ theory


@pytest.mark.parametrize("q", [1.0, 2.0, np.inf])
def test_project_ball_is_the_euclidean_projection(q):
    rng = np.random.default_rng(0)
    for _ in range(5):
        v = rng.standard_normal(6) * 2
        p = ta.project_ball(v, 0.7, q)
        assert ta._norm(p, q) <= 0.7 + 1e-12
        # optimality: no feasible random point is closer (projection onto a convex set)
        for _ in range(200):
            u = rng.standard_normal(6)
            u = u * 0.7 * rng.random() / ta._norm(u, q)
            assert np.linalg.norm(v - p) <= np.linalg.norm(v - u) + 1e-12


def test_robust_margin_linf_matches_an_independent_lp():
    for seed in range(3):
        Z = _gauss(seed)
        n, d = Z.shape
        # max t s.t. Z (p - m) >= t, sum(p + m) <= 1, p, m >= 0  (scipy HiGHS, not cvxpy)
        c = np.zeros(2 * d + 1)
        c[-1] = -1.0
        A = np.hstack([-Z, Z, np.ones((n, 1))])
        A = np.vstack([A, np.concatenate([np.ones(2 * d), [0.0]])])
        b = np.concatenate([np.zeros(n), [1.0]])
        lp = linprog(c, A_ub=A, b_ub=b, bounds=[(0, None)] * (2 * d) + [(None, None)], method="highs")
        sol = ta.robust_margin(Z, np.inf)
        assert sol.margin == pytest.approx(-lp.fun, rel=1e-7)
        assert sol.gap <= 1e-7


def test_robust_margin_l2_is_the_svm_margin():
    Z = _gauss(1)
    assert ta.robust_margin(Z, 2).margin == pytest.approx(max_margin(Z, 2).margin, rel=1e-6)


def test_mixed_norm_one_point_by_hand():
    # one point z = (2, 1), eps = 0.5: on the positive quadrant z^T w - eps ||w||_1 = 1.5 w1 + 0.5 w2,
    # maximized on the unit sphere by w = (1.5, 0.5)/||.|| with value sqrt(1.5^2 + 0.5^2)
    sol = ta.mixed_norm_margin(np.array([[2.0, 1.0]]), 0.5, "linf")
    assert np.allclose(sol.w, np.array([1.5, 0.5]) / np.hypot(1.5, 0.5), atol=1e-9)
    assert sol.value == pytest.approx(np.hypot(1.5, 0.5), rel=1e-9)
    assert sol.gap <= 1e-9


def test_mixed_norm_two_points_by_hand():
    # z1 = e1, z2 = e2: the optimum is symmetric, w = (1, 1)/sqrt 2, value 1/sqrt 2 - eps sqrt 2
    eps = 0.1
    sol = ta.mixed_norm_margin(np.eye(2), eps, np.inf)
    assert np.allclose(sol.w, np.ones(2) / np.sqrt(2), atol=1e-9)
    assert sol.value == pytest.approx(1 / np.sqrt(2) - eps * np.sqrt(2), rel=1e-9)
    assert sol.robust == pytest.approx(0.5, rel=1e-7)  # max_{||w||_1<=1} min(w1, w2) = 1/2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixed_norm_l2_perturbations_give_the_svm_direction(seed):
    Z = _gauss(seed)
    sol = ta.mixed_norm_margin(Z, 0.3, 2)
    svm = max_margin(Z, 2)
    assert np.linalg.norm(sol.w - svm.direction) < 1e-7
    assert sol.value == pytest.approx(svm.margin - 0.3, rel=1e-7)


@pytest.mark.parametrize("seed", [0, 3])
def test_mixed_norm_linf_against_an_independent_dual_solve(seed):
    Z = _gauss(seed)
    eps = 0.5 * ta.robust_margin(Z, np.inf).margin
    sol = ta.mixed_norm_margin(Z, eps, np.inf)
    n = Z.shape[0]

    def dual(lam):  # || soft-threshold(Z^T lam, eps) ||_2 on the simplex (module docstring)
        v = Z.T @ lam
        return np.linalg.norm(np.sign(v) * np.maximum(np.abs(v) - eps, 0.0))

    res = minimize(dual, np.full(n, 1.0 / n), method="SLSQP", bounds=[(0, 1)] * n,
                   constraints=[{"type": "eq", "fun": lambda lam: lam.sum() - 1.0}],
                   options={"ftol": 1e-14, "maxiter": 1000})
    v = Z.T @ res.x
    w_dual = np.sign(v) * np.maximum(np.abs(v) - eps, 0.0)
    w_dual /= np.linalg.norm(w_dual)
    assert sol.value == pytest.approx(res.fun, rel=1e-6)
    assert np.linalg.norm(sol.w - w_dual) < 1e-3
    # the primal value of the returned w is what it claims, and it beats random unit vectors
    assert ta.mixed_objective(Z, sol.w, eps, np.inf) == pytest.approx(sol.value, rel=1e-12)
    rand = np.random.default_rng(0).standard_normal((2000, Z.shape[1]))
    assert np.max(ta.mixed_objective(Z, rand, eps, np.inf)) < sol.value
    # and differs from the l2 SVM direction on these n << d data
    assert np.linalg.norm(sol.w - max_margin(Z, 2).direction) > 0.1


def test_eps_above_the_robust_margin_is_an_input_error():
    Z = _gauss(0)
    rob = ta.robust_margin(Z, np.inf).margin
    with pytest.raises(InputError, match="exceeds the robust margin.*w = 0"):
        ta.mixed_norm_margin(Z, 1.01 * rob, np.inf)
    with pytest.raises(InputError, match="eps must be finite"):
        ta.mixed_norm_margin(Z, -0.1, np.inf)
    with pytest.raises(InputError, match="perturbation norm"):
        ta.mixed_norm_margin(Z, 0.1, 3)


def test_non_separable_data_raise():
    Z = np.array([[1.0, 0.0], [-1.0, 0.0]])
    with pytest.raises(NotSeparableError):
        ta.robust_margin(Z, np.inf)
    with pytest.raises(NotSeparableError):
        ta.mixed_norm_margin(Z, 0.1, 2)


def test_balance_offset_matches_soudry_residual_for_l2():
    Z = _gauss(4, n=6, d=5)
    svm = max_margin(Z, 2)
    mixed = ta.mixed_norm_margin(Z, 0.2 * svm.margin, 2)
    perp, K = ta.balance_offset(Z, mixed.w, mixed.lam)
    w_tilde = residual_limit(Z, svm, eta=1.0)
    u = svm.direction
    ref = w_tilde - u * (u @ w_tilde)
    assert np.allclose(perp, ref, atol=1e-8)
    assert K == pytest.approx(np.linalg.norm(ref), rel=1e-8)


# ------------------------------------------------------------------------------ numerics


def _reference_gd(Z, eps, lr, steps, perturbation):
    """Slow per-row loop with autograd on the adversarial loss (the subgradient at 0 is 0 in both)."""
    out = []
    for b in range(Z.shape[0]):
        w = torch.zeros(Z.shape[2], dtype=torch.float64)
        for _ in range(steps):
            w = w.detach().requires_grad_(True)
            pen = w.abs().sum() if perturbation == "linf" else torch.sqrt((w * w).sum() + 1e-300)
            loss = torch.nn.functional.softplus(-(Z[b] @ w - eps[b] * pen)).sum()
            (g,) = torch.autograd.grad(loss, w)
            w = w - lr[b] * g
        out.append(w.detach())
    return torch.stack(out)


@pytest.mark.parametrize("perturbation", ["l2", "linf"])
def test_batched_trainer_matches_a_per_row_loop(perturbation):
    torch.manual_seed(0)
    Z = torch.randn(3, 5, 4, dtype=torch.float64) + torch.tensor([2.0, 0, 0, 0], dtype=torch.float64)
    eps = torch.tensor([0.0, 0.3, 0.6], dtype=torch.float64)
    lr = torch.tensor([0.05, 0.1, 0.02], dtype=torch.float64)
    tr = adversarial_gd(Z, eps, lr, 30, perturbation, record=np.array([10, 30]))
    ref = _reference_gd(Z, eps, lr, 30, perturbation)
    assert np.allclose(tr.final["w"], ref.numpy(), atol=1e-11)
    assert tr.series["w"].shape == (3, 2, 4)
    assert np.allclose(tr.series["loss"][:, -1], adversarial_loss(Z, ref, eps, perturbation).numpy())


def test_trainer_rejects_bad_input():
    Z = torch.randn(2, 3, 2, dtype=torch.float64)
    with pytest.raises(InputError, match="perturbation"):
        adversarial_gd(Z, 0.1, 0.1, 10, "l3")
    with pytest.raises(InputError, match="eps"):
        adversarial_gd(Z, [0.1, 0.2, 0.3], 0.1, 10, "l2")
    with pytest.raises(InputError, match="lr"):
        adversarial_gd(Z, 0.1, -1.0, 10, "l2")


# ------------------------------------------------------------------------------ claims


def test_horizon_radius_keeps_the_regime_fixed_across_horizons():
    gamma, T0, r0 = 0.3, 1000, 0.5
    assert ta.horizon_radius(gamma, T0, T0, r0) == pytest.approx(gamma * (1 - r0))
    T = np.array([1e3, 1e4, 1e5])
    robust = np.array([gamma - ta.horizon_radius(gamma, t, T0, r0) for t in T])
    np.testing.assert_allclose(robust**2 * T, (gamma * r0) ** 2 * T0, rtol=1e-12)  # eta (gamma - eps)^2 T fixed
    with pytest.raises(InputError, match="robust_fraction"):
        ta.horizon_radius(gamma, T0, T0, 0.0)
    with pytest.raises(InputError, match="horizon"):
        ta.horizon_radius(gamma, 10, T0, r0)


def test_each_run_of_the_horizon_grid_is_read_at_its_own_horizon():
    params = AdversarialL2.Params()
    T = params.horizons()
    assert T[0] == 1000 and T[-1] == 10000 and len(T) == 5
    S, J, d = 2, len(T), 3
    u = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    W = np.zeros((J * S + S, J, d))
    for j in range(J):
        W[j * S:(j + 1) * S, :] = u[:, None, :] + 0.5  # wrong everywhere ...
        W[j * S:(j + 1) * S, j] = u + 0.005 * (j + 1)  # ... except at the run's own horizon
    W[J * S:] = u[:, None, :] + 0.2
    pred = {"horizons": T, "direction": u, "linf_direction": -u}
    Tm, adv, clean, _ = AdversarialL2()._measure(pred, Trajectory(steps=T, series={"w": W}))
    assert adv.shape == (S, J) and np.all(adv < 0.05) and np.all(np.diff(adv, axis=1) > 0)
    assert np.all(clean > 0.15)


def test_adversarial_l2_predict_rate_wrong_law_disagrees():
    # the loss rate 1/T put in place of O~(1/sqrt T) leaves a slope of about +0.1 to +0.5 on every dataset
    res = run_claim(AdversarialL2, preset="quick", device="cpu", seeds=2, overrides={"predicted_rate": "1/t"})
    assert res.verdict is Verdict.DISAGREES, res.message
    assert res.key_check.name.startswith("adversarial gap across horizons")


def test_adversarial_claims_bad_input():
    with pytest.raises(InputError, match="exceeds the robust margin"):
        run_claim(AdversarialLinf, preset="quick", overrides={"eps_fraction": "1.2"})
    with pytest.raises(InputError, match="eps_fraction"):
        run_claim(AdversarialL2FixedEps, preset="quick", overrides={"eps_fraction": "1.0"})
    with pytest.raises(InputError, match="robust_fraction"):
        run_claim(AdversarialL2, preset="quick", overrides={"robust_fraction": "1.0"})
    with pytest.raises(InputError, match="decades"):
        run_claim(AdversarialL2, preset="quick", overrides={"decades": "0.5"})
    with pytest.raises(InputError, match="free parameter"):
        run_claim(AdversarialL2, preset="quick", overrides={"predicted_rate": "t**(-p)"})
    # an absolute eps above the data's robust margin stops the run with that message (verdict error)
    res = run_claim(AdversarialLinf, preset="quick", seeds=2, overrides={"eps": "5.0", "steps": "1000"})
    assert res.verdict is Verdict.ERROR
    assert "exceeds the robust margin" in res.message and "w = 0" in res.message


@pytest.mark.slow
@pytest.mark.parametrize("cls", [AdversarialL2, AdversarialL2FixedEps, AdversarialLinf])
def test_adversarial_full_presets_agree(cls):
    res = run_claim(cls, preset="full", device="auto")
    assert res.verdict is Verdict.AGREES, res.message
    assert all(c.passed is False for c in res.controls)
