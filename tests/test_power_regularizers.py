"""Power of the regularizers family: realistic bugs on the theory side, injected where each claim looks the
theory function up, must turn its quick verdict into ``disagrees`` — or into ``error`` when a certificate
(theory against theory) catches the bug first; each test says which."""

from __future__ import annotations

import numpy as np
import pytest

from theorycheck.theory import dropout as theory_dropout
from theorycheck.theory import factorization as theory_factorization
from theorycheck.theory import regularizers as theory_regularizers
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.dropout import DropoutLastLayer, DropoutLinear
from theorycheck.verify.claims.factorization import DropoutFactorization, GreedyLowRank, MatrixFactorization
from theorycheck.verify.claims.regularizers import DiagonalScale, InitShape, KernelToRich
from theorycheck.verify.runner import run_claim


def _quick(cls, seeds=None):
    return run_claim(cls, preset="quick", seeds=seeds, device="cpu")


def _disagrees(result, check_fragment: str) -> None:
    assert result.verdict is Verdict.DISAGREES, result.message
    assert check_fragment in result.message, result.message


def _certificate_error(result, certificate_fragment: str) -> None:
    assert result.verdict is Verdict.ERROR, result.message
    assert "certificate failed" in result.message and certificate_fragment in result.message, result.message


# ------------------------------------------------------------------------------------------- diagonal networks

def test_diagonal_scale_alpha_in_place_of_alpha_squared(monkeypatch):
    """The mirror-map scale written 2 alpha where the paper has 2 alpha^2: the solver's interpolant no longer
    satisfies the stationarity of the paper's Q_alpha -> error from the KKT certificate in the paper's form."""
    monkeypatch.setattr(theory_regularizers, "beta_uniform", lambda alpha: 2.0 * float(alpha))
    _certificate_error(_quick(DiagonalScale), "KKT of min Q_alpha")


def test_diagonal_scale_dropped_factor_2_throughout_the_derivation(monkeypatch):
    """A derivation that drops the factor 2 of the mirror map everywhere (w/alpha^2 = sinh(s), hence
    q'(z) = asinh(z) and beta = alpha^2): a self-consistent wrong theory, so only GD can tell."""
    monkeypatch.setattr(theory_regularizers, "beta_uniform", lambda alpha: float(alpha) ** 2)
    monkeypatch.setattr(theory_regularizers, "dq", lambda z: np.arcsinh(np.asarray(z, float)))
    _disagrees(_quick(DiagonalScale), "GD limit = argmin Q_alpha")


def test_diagonal_scale_dropped_factor_2_inside_q(monkeypatch):
    """q(z) = 2 - sqrt(4 + z^2) + z asinh(z) (the /2 of asinh(z/2) dropped) with the right mirror map: its
    derivative is no longer the mirror map's inverse -> error from the KKT certificate."""
    def dq_bug(z):
        z = np.asarray(z, float)
        return np.arcsinh(z) + z / np.sqrt(1 + z**2) - z / np.sqrt(4 + z**2)

    monkeypatch.setattr(theory_regularizers, "dq", dq_bug)
    _certificate_error(_quick(DiagonalScale), "KKT of min Q_alpha")


def test_kernel_to_rich_dropped_factor_2_of_the_mirror_map(monkeypatch):
    """beta = alpha^2 (the factor 2 of w = 2 alpha^2 sinh(X^T nu) dropped): the crossover moves 0.15 decades
    and the kernel-side distance 4x."""
    monkeypatch.setattr(theory_regularizers, "beta_uniform", lambda alpha: float(alpha) ** 2)
    result = _quick(KernelToRich)
    _disagrees(result, "kernel side")
    assert "crossover" in result.message


def test_init_shape_k_without_its_factor_2(monkeypatch):
    """k_i = u0_i^2 + v0_i^2 instead of 2(u0_i^2 + v0_i^2)."""
    monkeypatch.setattr(theory_regularizers, "shape_k", lambda u0, v0: np.asarray(u0) ** 2 + np.asarray(v0) ** 2)
    _disagrees(_quick(InitShape), "GD limit = argmin Q_k")


# ------------------------------------------------------------------------------------------- matrix sensing

def _exponent_without_one_over_m(A, y, lr, discrete=True):
    """The init-scale exponent from the eigenvalues of A*(y) instead of A*(y)/m (a dropped 1/m)."""
    lam = np.sort(np.linalg.eigvalsh(theory_factorization.sensing_adjoint(A, y)))[::-1]
    if not discrete:
        return float(1.0 - lam[1] / lam[0])
    return float(1.0 - np.log1p(2 * lr * lam[1]) / np.log1p(2 * lr * lam[0]))


def test_matrix_factorization_exponent_without_the_1_over_m(monkeypatch):
    monkeypatch.setattr(theory_factorization, "init_scale_exponent", _exponent_without_one_over_m)
    _disagrees(_quick(MatrixFactorization), "alpha^kappa")


def test_matrix_factorization_gradient_flow_rates_for_gd(monkeypatch):
    """The exponent computed with gradient flow's rates 1 - lambda2/lambda1 for a GD run at eta = 1/4."""
    original = theory_factorization.init_scale_exponent
    monkeypatch.setattr(theory_factorization, "init_scale_exponent",
                        lambda A, y, lr, discrete=True: original(A, y, lr, discrete=False))
    _disagrees(_quick(MatrixFactorization), "alpha^kappa")


def test_greedy_low_rank_exponent_without_the_1_over_m(monkeypatch):
    monkeypatch.setattr(theory_factorization, "init_scale_exponent", _exponent_without_one_over_m)
    _disagrees(_quick(GreedyLowRank, seeds=list(range(6))), "alpha^kappa")


def test_greedy_low_rank_gradient_flow_rates_for_gd(monkeypatch):
    original = theory_factorization.init_scale_exponent
    monkeypatch.setattr(theory_factorization, "init_scale_exponent",
                        lambda A, y, lr, discrete=True: original(A, y, lr, discrete=False))
    _disagrees(_quick(GreedyLowRank, seeds=list(range(6))), "alpha^kappa")


# ------------------------------------------------------------------------------------------- dropout

def test_dropout_factorization_keep_drop_convention_swapped(monkeypatch):
    """lambda = theta/(1 - theta): the closed form, the cvxpy certificate and GD on the expected objective all
    follow the wrong lambda, but real dropout (sampled masks at keep 0.8) does not."""
    monkeypatch.setattr(theory_factorization, "dropout_lambda", lambda keep: keep / (1.0 - keep))
    _disagrees(_quick(DropoutFactorization), "dropout SGD")


def test_dropout_factorization_lambda_over_r_in_the_shrinkage(monkeypatch):
    """The shrinkage computed with lambda/r where the induced regularizer already carries the 1/r: the optimality
    certificate of the closed form fails -> error from the certificate."""
    original = theory_factorization.dropout_factorization_optimum
    monkeypatch.setattr(theory_factorization, "dropout_factorization_optimum",
                        lambda Y, r, lam: original(Y, r, lam / r))
    _certificate_error(_quick(DropoutFactorization), "optimality")


def test_dropout_linear_coefficient_p_in_place_of_p_over_1_minus_p(monkeypatch):
    monkeypatch.setattr(theory_dropout, "dropout_ridge_coefficient", lambda p: float(p))
    _disagrees(_quick(DropoutLinear), "averaged dropout GD vs w_p")


def test_dropout_last_layer_keep_drop_convention_swapped(monkeypatch):
    """R1 with (1-p) and p exchanged (p read as the drop probability)."""
    original = theory_dropout.last_layer_coefficient
    monkeypatch.setattr(theory_dropout, "last_layer_coefficient",
                        lambda n, p, variant="paper": original(n, 1 - p if variant == "paper" else p, variant))
    _disagrees(_quick(DropoutLastLayer), "Monte Carlo")


@pytest.mark.parametrize("cls", [DiagonalScale, KernelToRich, InitShape, MatrixFactorization, GreedyLowRank,
                                 DropoutFactorization, DropoutLinear, DropoutLastLayer], ids=lambda c: c.id)
def test_every_claim_of_the_family_has_a_power_test(cls):
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    assert f"_quick({cls.__name__}" in source
