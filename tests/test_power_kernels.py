"""Power of the kernel-family checks: realistic theory-side bugs, injected where the claims look the theory up,
must turn each quick verdict into ``disagrees`` (a failed certificate, ``error``, is said explicitly)."""

import numpy as np

from theorycheck.theory import kernels, model_rank, width_scaling
from theorycheck.verify.registry import load_claims
from theorycheck.verify.runner import run_claim

CATALOG = load_claims()


def _verdict(claim_id: str) -> str:
    result = run_claim(CATALOG[claim_id], preset="quick", device="cpu")
    return f"{result.verdict.value}: {result.message}"


# ------------------------------------------------------------------------------------------------
# ntk.init-limit

def test_init_limit_catches_an_ntk_without_the_readout_and_bias_term(monkeypatch):
    """Theta^{l+1} = Sdot Theta^l, forgetting the + Sigma^{l+1} (the gradient of the layer's own parameters): the sympy
    closed-form certificate fails first, so the verdict is ``error`` (certificate), not ``disagrees``."""
    original = kernels.infinite_width_kernels

    def bug(*args, **kwargs):
        k = original(*args, **kwargs)
        return kernels.Kernels(nngp=k.nngp, ntk=k.ntk - k.nngp)

    monkeypatch.setattr(kernels, "infinite_width_kernels", bug)
    assert _verdict("ntk.init-limit").startswith("error: certificate failed")


def test_init_limit_catches_the_second_moment_in_place_of_the_variance(monkeypatch):
    """n E||Theta_hat - Theta||^2 computed with E[T^2] instead of Var T (the mean not subtracted)."""
    original = kernels.relu_ntk_unit_variance

    def bug(X, *, sw, sb, readout_fourth_moment=3.0):
        kern = original(X, sw=sw, sb=sb, readout_fourth_moment=readout_fourth_moment)
        mean = kernels.infinite_width_kernels(X, depth=1, sw=sw, sb=sb).ntk - sb * sb
        return kern + mean**2

    monkeypatch.setattr(kernels, "relu_ntk_unit_variance", bug)
    assert _verdict("ntk.init-limit").startswith("disagrees")


# ------------------------------------------------------------------------------------------------
# ntk.constancy

def test_constancy_catches_the_bound_taken_as_the_smooth_rate(monkeypatch):
    original = kernels.ntk_change_exponent
    monkeypatch.setattr(kernels, "ntk_change_exponent",
                        lambda act: (-0.5, -0.5) if act in ("erf", "tanh") else original(act))
    assert _verdict("ntk.constancy").startswith("disagrees")


def test_constancy_catches_a_one_over_width_bound(monkeypatch):
    monkeypatch.setattr(kernels, "NTK_CHANGE_BOUND_EXPONENT", -1.0)
    assert _verdict("ntk.constancy").startswith("disagrees")


# ------------------------------------------------------------------------------------------------
# ntk.kernel-regression

def test_kernel_regression_catches_the_mean_loss_step(monkeypatch):
    """The linearized predictor with eta/N: the loss convention of the theory is the mean, of the training the sum."""
    original = kernels.gd_predictor
    monkeypatch.setattr(kernels, "gd_predictor", lambda kx, kt, eta, steps: original(kx, kt, eta / len(kt), steps))
    assert _verdict("ntk.kernel-regression").startswith("disagrees")


def test_kernel_regression_catches_nngp_and_ntk_swapped(monkeypatch):
    original = kernels.infinite_width_kernels

    def bug(*args, **kwargs):
        k = original(*args, **kwargs)
        return kernels.Kernels(nngp=k.ntk, ntk=k.nngp)

    monkeypatch.setattr(kernels, "infinite_width_kernels", bug)
    assert _verdict("ntk.kernel-regression").startswith("disagrees")


# ------------------------------------------------------------------------------------------------
# width.*

def test_coord_check_catches_yang_hus_r_used_at_step_one(monkeypatch):
    """The -r slogan at every step: SP's first step would move features as n^{+1}, not n^{+1/2}."""
    monkeypatch.setattr(width_scaling, "feature_update_exponent", lambda p, L, step: -width_scaling.yang_hu_r(p, L))
    assert _verdict("width.coord-check").startswith("disagrees")


def test_coord_check_catches_the_input_layer_indicator_dropped(monkeypatch):
    """min_l (2 a_l + 1[l = 1]) without the indicator: muP's features would blow up."""
    monkeypatch.setattr(width_scaling, "_hidden_min",
                        lambda p, L: min(2 * a for a, _ in p.layer_exponents(L)[:-1]))
    assert _verdict("width.coord-check").startswith("disagrees")


def test_lr_transfer_catches_a_stable_lr_from_the_feature_update_alone(monkeypatch):
    """The largest stable lr from the features' contribution to Delta f only (the readout update forgotten)."""
    def bug(p, L):
        r1 = -width_scaling.feature_update_exponent(p, L, 1)
        return 1 - (p.a[2] + p.b[2]) - r1

    monkeypatch.setattr(width_scaling, "output_update_exponent", bug)
    assert _verdict("width.lr-transfer").startswith("disagrees")


def test_super_consistency_catches_the_input_layer_indicator_dropped(monkeypatch):
    monkeypatch.setattr(width_scaling, "_hidden_min",
                        lambda p, L: min(2 * a for a, _ in p.layer_exponents(L)[:-1]))
    assert _verdict("width.super-consistency").startswith("disagrees")


# ------------------------------------------------------------------------------------------------
# features.more-is-better

def test_more_is_better_catches_the_squared_bias_in_the_random_feature_risk(monkeypatch):
    """The KRR bias (1 - L_i)^2 in place of the linear random-feature bracket."""
    original = kernels.random_feature_risk

    def bug(lam, v, n, k, ridge, noise=0.0):
        r = original(lam, v, n, k, ridge, noise)
        L = r.learnabilities
        return kernels.RiskPrediction(kappa=r.kappa, learnabilities=L, overfitting=r.overfitting, gamma=r.gamma,
                                      test_mse=r.overfitting * (float(np.sum((1 - L) ** 2 * np.asarray(v) ** 2))
                                                                + noise))

    monkeypatch.setattr(kernels, "random_feature_risk", bug)
    assert _verdict("features.more-is-better").startswith("disagrees")


def test_more_is_better_catches_the_other_ridge_convention(monkeypatch):
    """Eigenlearning with the ridge multiplied by n (K + n delta I) while the fits use K + delta I."""
    original = kernels.eigenlearning
    monkeypatch.setattr(kernels, "eigenlearning", lambda lam, v, n, ridge, noise=0.0: original(lam, v, n, n * ridge, noise))
    assert _verdict("features.more-is-better").startswith("disagrees")


# ------------------------------------------------------------------------------------------------
# rank.*

def test_model_rank_catches_relu_counted_like_tanh(monkeypatch):
    original = model_rank.model_rank
    monkeypatch.setattr(model_rank, "model_rank", lambda arch, **kw: original("tanh2" if arch == "relu2" else arch, **kw))
    assert _verdict("rank.model-rank").startswith("disagrees")


def test_model_rank_catches_the_factorization_without_the_overlap(monkeypatch):
    original = model_rank.model_rank
    monkeypatch.setattr(model_rank, "model_rank",
                        lambda arch, **kw: 2 * kw["d"] * kw["r"] if arch == "factorization" else original(arch, **kw))
    assert _verdict("rank.model-rank").startswith("disagrees")


def test_optimistic_sample_size_catches_the_formula_evaluated_at_the_student(monkeypatch):
    """k(d+1) evaluated with the student's width (6 units) instead of the teacher's."""
    original = model_rank.model_rank
    monkeypatch.setattr(model_rank, "model_rank", lambda arch, **kw: original(arch, **{**kw, "k": 6 * kw.get("k", 1)}))
    assert _verdict("rank.optimistic-sample-size").startswith("disagrees")


def test_optimistic_sample_size_catches_a_doubled_count(monkeypatch):
    """Twice the count (each layer's tangent counted without the shared directions): caught by the no-recovery check
    at half the predicted rank. (k(d+2), the count with input biases, lies within the factor 2 and is not caught.)"""
    original = model_rank.model_rank
    monkeypatch.setattr(model_rank, "model_rank", lambda arch, **kw: 2 * original(arch, **kw))
    assert _verdict("rank.optimistic-sample-size").startswith("disagrees")
