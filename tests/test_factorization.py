"""Tests for theory/factorization.py, numerics/factorization.py and the factorization claims."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from theorycheck.errors import InputError
from theorycheck.numerics.factorization import (gd_dropout_factorization, gd_symmetric_sensing,
                                                sgd_dropout_factorization)
from theorycheck.theory import factorization as F
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.factorization import (
    DropoutFactorization,
    GreedyLowRank,
    MatrixFactorization,
    _sensing_instance,
    fitted_exponents,
)
from theorycheck.verify.runner import build_params, run_claim


@pytest.fixture(scope="module")
def small_sensing():
    return _sensing_instance(np.random.default_rng(3), n=8, r=1, m=20)


# ---------------------------------------------------------------------------------------------- theory

def test_min_trace_commuting_reduces_to_lp():
    """Diagonal (commuting) A_i: min tr X over PSD = min sum x s.t. A diag(x) = y, x >= 0 (an LP)."""
    rng = np.random.default_rng(0)
    n, m = 6, 3
    B = rng.standard_normal((m, n))
    x_true = np.array([1.0, 0.0, 2.0, 0.0, 0.5, 0.0])
    A = np.stack([np.diag(b) for b in B])
    y = B @ x_true
    sol = F.min_trace_psd(A, y)
    lp = linprog(np.ones(n), A_eq=B, b_eq=y, bounds=[(0, None)] * n, method="highs")
    assert lp.status == 0
    assert sol.value == pytest.approx(lp.fun, rel=1e-6)
    assert np.allclose(np.diag(sol.X), lp.x, atol=1e-5)
    assert np.abs(sol.X - np.diag(np.diag(sol.X))).max() < 1e-5


def test_min_trace_certificate_and_recovery(small_sensing):
    A, y, X_star = small_sensing
    sol = F.min_trace_psd(A, y)
    assert max(sol.certificate.values()) <= 1e-6
    assert np.linalg.norm(sol.X - X_star) / np.linalg.norm(X_star) < 1e-5  # rank 1, 20 of 36 measurements


def test_min_frobenius_is_least_norm(small_sensing):
    A, y, _ = small_sensing
    X = F.min_frobenius(A, y)
    assert np.allclose(X, X.T)
    assert np.allclose(F.sensing(A, X), y, atol=1e-10)
    # least norm: orthogonal to the null space of the measurement map
    Af = A.reshape(len(A), -1)
    null = np.linalg.svd(Af)[2][len(A):]
    assert np.abs(null @ X.reshape(-1)).max() < 1e-10


def test_certified_min_trace_matches_the_sdp_and_refuses_a_wrong_candidate():
    A, y, X_star = _sensing_instance(np.random.default_rng(7), n=8, r=1, m=30)
    sdp = F.min_trace_psd(A, y)
    cert = F.certify_min_trace(A, y, X_star)
    assert cert is not None and cert.solver == "dual certificate"
    assert np.linalg.norm(cert.X - sdp.X) / np.linalg.norm(sdp.X) < 1e-5
    assert F.min_trace_psd(A, y, guess=X_star).solver.endswith("dual certificate")
    assert F.certify_min_trace(A, y, F.min_frobenius(A, y)) is None        # not PSD, not optimal
    below = _sensing_instance(np.random.default_rng(3), n=8, r=1, m=9)    # below the nuclear threshold
    assert F.certify_min_trace(below[0], below[1], below[2]) is None
    assert F.min_trace_psd(below[0], below[1], guess=below[2]).solver in ("CLARABEL", "SCS")


def test_greedy_low_rank_recovers_a_rank_one_matrix_and_stops():
    A, y, X_star = _sensing_instance(np.random.default_rng(0), n=10, r=1, m=16)
    out = F.greedy_low_rank(A, y)
    assert out.rank == 1 and out.stage_residuals[-1] < 1e-10 and not out.near_saddle
    assert np.linalg.norm(out.X - X_star) / np.linalg.norm(X_star) < 1e-8
    # a rank-two target needs two greedy stages
    A2, y2, X2 = _sensing_instance(np.random.default_rng(1), n=8, r=2, m=40)
    two = F.greedy_low_rank(A2, y2)
    assert two.rank == 2 and len(two.stage_residuals) == 2 and two.stage_residuals[0] > 1e-2
    assert np.linalg.norm(two.X - X2) / np.linalg.norm(X2) < 1e-6


def test_init_scale_exponent_is_the_linear_phase_rate():
    """The top two directions of A*(y)/m grow like (1 + 2 eta lambda)^t in GD's linear phase."""
    A, y, _ = _sensing_instance(np.random.default_rng(2), n=6, r=1, m=12)
    lam = np.sort(np.linalg.eigvalsh(F.sensing_adjoint(A, y) / len(y)))[::-1]
    assert F.init_scale_exponent(A, y, 0.25) == pytest.approx(1 - np.log1p(0.5 * lam[1]) / np.log1p(0.5 * lam[0]))
    assert F.init_scale_exponent(A, y, 0.25, discrete=False) == pytest.approx(1 - lam[1] / lam[0])
    assert F.init_scale_exponent(A, y, 1e-6) == pytest.approx(1 - lam[1] / lam[0], rel=1e-5)
    traj = gd_symmetric_sensing(A[None], y[None], [1e-30], 0.25, 40, snapshot_matrices=True)
    top = np.linalg.eigvalsh(traj.series["X"][0, -1, 0])[-1]
    assert top == pytest.approx(1e-30 * (1 + 0.5 * lam[0]) ** (2 * traj.steps[-1]), rel=1e-6)


def test_step_stability_at_an_interpolant():
    A, y, X_star = _sensing_instance(np.random.default_rng(4), n=6, r=1, m=20)
    u = np.linalg.eigh(X_star)[1][:, -1]
    B = np.einsum("mij,j->mi", A, u)
    assert F.step_stability(A, X_star, 0.1) == pytest.approx(0.1 * np.linalg.eigvalsh(4 * B.T @ B / 20)[-1] / 2)
    assert F.step_stability(A, X_star, 0.2) == pytest.approx(2 * F.step_stability(A, X_star, 0.1))


def test_no_interpolant_is_an_input_error():
    A = np.zeros((2, 3, 3))
    A[0, 0, 0] = A[1, 0, 0] = 1.0
    with pytest.raises(InputError, match="no matrix X satisfies"):
        F.min_trace_psd(A, np.array([1.0, 2.0]))
    B = np.zeros((1, 2, 2))
    B[0, 0, 0] = 1.0
    with pytest.raises(InputError, match="positive semidefinite"):
        F.min_trace_psd(B, np.array([-1.0]))
    with pytest.raises(InputError, match="symmetric"):
        F.min_trace_psd(np.arange(8.0).reshape(2, 2, 2), np.ones(2))


def test_completion_known_case_and_optimality():
    # [[1, 1], [1, ?]]: the nuclear norm sqrt((1-t)^2 + 4) (t < 1) or 1 + t (t >= 1) is minimal at t = 1
    sol = F.min_nuclear_completion(np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([[True, True], [True, False]]))
    assert sol.X[1, 1] == pytest.approx(1.0, abs=1e-3)   # flat to second order: value to 1e-6 => t to ~1e-3
    assert sol.value == pytest.approx(2.0, abs=1e-6)
    rng = np.random.default_rng(1)
    M = np.outer(rng.standard_normal(8), rng.standard_normal(7))
    mask = rng.random(M.shape) < 0.6
    sol = F.min_nuclear_completion(M, mask)
    assert max(sol.certificate.values()) <= 1e-5
    assert np.allclose(sol.X[mask], M[mask], atol=1e-8)
    assert sol.value <= np.linalg.svd(M, compute_uv=False).sum() + 1e-6   # M itself is feasible


def test_dropout_factorization_closed_form_matches_cvxpy():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((7, 5))
    for keep in (0.3, 0.6, 0.9):
        lam = F.dropout_lambda(keep)
        M, rho = F.dropout_factorization_optimum(Y, 5, lam)
        cvx = F.dropout_factorization_convex(Y, 5, lam)
        assert np.linalg.norm(M - cvx.X) / np.linalg.norm(M) < 1e-6
        assert np.linalg.matrix_rank(M, tol=1e-8) == rho
    with pytest.raises(InputError, match="keep probability"):
        F.dropout_lambda(0.0)


# ---------------------------------------------------------------------------------------------- numerics

def test_gd_sensing_batched_equals_reference_loop():
    seeds_data = [_sensing_instance(np.random.default_rng(s), n=5, r=1, m=8) for s in (0, 1)]
    A = np.stack([d[0] for d in seeds_data])
    y = np.stack([d[1] for d in seeds_data])
    alphas, lr, steps = (1e-2, 1e-4), 0.25, 200
    traj = gd_symmetric_sensing(A, y, alphas, lr, steps)
    for s in range(2):
        for k, alpha in enumerate(alphas):
            U = np.sqrt(alpha) * np.eye(5)
            for _ in range(steps):
                r = np.einsum("mij,ij->m", A[s], U @ U.T) - y[s]
                U = U - lr * 2 / A.shape[1] * np.einsum("m,mij->ij", r, A[s]) @ U
            assert np.abs(U @ U.T - traj.final["X"][s, k]).max() < 1e-12
    assert traj.series["residual"].shape == (2, len(traj.steps), 2)


def test_gd_dropout_factorization_gradient():
    """The closed-form gradient matches autograd on the dropout objective (one step from the init)."""
    Y = np.random.default_rng(0).standard_normal((1, 4, 3))
    lam, lr = 0.5, 1e-3
    traj = gd_dropout_factorization(Y, 2, lam, lr, 1, 0.3, [5])
    g = torch.Generator().manual_seed(5)
    U = (0.3 * torch.randn(4, 2, generator=g, dtype=torch.float64)).requires_grad_()
    V = (0.3 * torch.randn(3, 2, generator=g, dtype=torch.float64)).requires_grad_()
    f = ((torch.tensor(Y[0]) - U @ V.T) ** 2).sum() + lam * ((U * U).sum(0) * (V * V).sum(0)).sum()
    f.backward()
    assert np.allclose(traj.final["U"][0], (U - lr * U.grad).detach().numpy(), atol=1e-14)
    assert np.allclose(traj.final["V"][0], (V - lr * V.grad).detach().numpy(), atol=1e-14)


def test_sgd_dropout_factorization_batched_masks_and_expected_gradient():
    """Seeds are independent of the batch; the mean SGD step over many masks is the expected objective's GD step."""
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((2, 4, 3))
    both = sgd_dropout_factorization(Y, 3, 0.7, [0.01, 0.005], 30, 10, 0.3, [5, 6])
    alone = sgd_dropout_factorization(Y[1:], 3, 0.7, [0.01, 0.005], 30, 10, 0.3, [6])
    assert np.allclose(both.final["M_avg"][1], alone.final["M_avg"][0], atol=1e-14)
    assert both.final["M_avg"].shape == (2, 2, 4, 3) and both.final["loads_avg"].shape == (2, 2, 3)
    M = both.final["M_avg"]
    assert np.all(both.final["M_sq_avg"] >= np.sum(M * M, axis=(-2, -1)) - 1e-12)   # Jensen
    # one step from the same init, averaged over 4000 mask draws (seeds), vs one GD step on E f_b
    lam, lr, S = (1 - 0.7) / 0.7, 1e-3, 4000
    Ys = np.repeat(Y[:1], S, 0)
    sgd = sgd_dropout_factorization(Ys, 3, 0.7, [lr], 1, 0, 0.3, [9] * S)
    gd = gd_dropout_factorization(Y[:1], 3, lam, lr, 1, 0.3, [9])
    assert np.abs(sgd.final["U"][:, 0].mean(0) - gd.final["U"][0]).max() < 3e-3 * np.abs(gd.final["U"][0]).max()


def test_fitted_exponents_window_and_plateau():
    alphas = 10.0 ** -np.array([5, 10, 20, 30, 40, 80])
    clean = 0.5 * alphas ** 0.2                                   # 1e-1.3 ... 1e-16.3: window 1e-4 .. floor
    plateau = np.maximum(0.5 * alphas ** 0.2, 2e-9)                # an alpha-independent remainder
    fits = fitted_exponents(alphas, np.stack([clean, plateau, np.full(6, 0.3)]))
    assert fits[0] == pytest.approx(0.2) and fits[1] == pytest.approx(0.2) and fits[2] == 0.0


# ---------------------------------------------------------------------------------------------- claims

@pytest.mark.parametrize("cls, overrides, match", [
    (MatrixFactorization, {"alphas": "0.1,0,0.001"}, "alphas needs"),
    (MatrixFactorization, {"alphas": "1e-2,1e-3,1e-4"}, "ten decades"),
    (MatrixFactorization, {"measurements_per_n": 20.0}, "underdetermined"),
    (MatrixFactorization, {"measurements_per_n": 0.5}, "identifiable"),
    (MatrixFactorization, {"lr": -1.0}, "lr must be"),
    (GreedyLowRank, {"lr": 0.3}, "lr must be"),
    (GreedyLowRank, {"stability_max": 1.5}, "stability_max"),
])
def test_sensing_claims_bad_input(cls, overrides, match):
    with pytest.raises(InputError, match=match):
        build_params(cls, "quick", overrides)


def test_dropout_factorization_bad_input():
    with pytest.raises(InputError, match="rank constraint"):
        build_params(DropoutFactorization, "quick", {"r": 3})
    with pytest.raises(InputError, match="sgd_burn_in"):
        build_params(DropoutFactorization, "quick", {"sgd_burn_in": 10**6})


def test_matrix_factorization_reports_the_regime_where_the_conjecture_fails(quick_run):
    obs = quick_run(MatrixFactorization).observations
    assert obs["below threshold: min-nuclear vs X*"] > 0.05            # the two predictions differ there
    assert obs["below threshold: gap GD -> X* (exact low-rank recovery)"] < 1e-3
    assert obs["below threshold: gap GD -> min-nuclear"] > 0.05


def test_greedy_low_rank_counts_the_failure_of_the_conjecture(quick_run):
    res = quick_run(GreedyLowRank)
    failure = next(c for c in res.checks if c.name.startswith("the conjecture fails"))
    assert failure.counted and failure.passed is True and failure.relation == ">="
    assert res.observations["datasets in the regime (stable, limit reached)"] >= 6


@pytest.mark.slow
@pytest.mark.parametrize("cls", [MatrixFactorization, GreedyLowRank, DropoutFactorization])
def test_factorization_full_presets_agree(cls):
    res = run_claim(cls, preset="full", device="cpu")
    assert res.verdict is Verdict.AGREES, res.message
