"""Power of the separable-data family: realistic theory-side bugs must change the quick verdict.

Each bug is injected with ``monkeypatch`` on the theory function the claim actually calls (the claim modules
look them up as ``th.name`` / ``ta.name`` / ``tt.name`` at run time). A bug must turn the verdict into
``disagrees`` (a counted check fails against the measurement) — or, where it breaks a theory-against-theory
certificate, into ``error``; each test says which.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theorycheck.theory import adversarial as ta
from theorycheck.theory import separable as th
from theorycheck.theory import tails as tt
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims import adversarial as adv
from theorycheck.verify.claims import separable as sep
from theorycheck.verify.claims import tails
from theorycheck.verify.runner import run_claim


def _quick(cls):
    return run_claim(cls, preset="quick", device="cpu")


def _failed(res) -> list[str]:
    return [c.name for c in res.checks if c.counted and c.passed is False]


# ------------------------------------------------------------------------------------------------ GD, multiclass, SGD


def test_gd_loss_constant_with_the_step_off_by_2_disagrees(monkeypatch):
    # t L(t) -> ||w_hat||^2 / eta, written with 2 eta (the step bound 2/(beta sigma^2) in place of the step)
    monkeypatch.setattr(th, "loss_limit", lambda alpha, eta: float(np.sum(alpha) / (2 * eta)))
    res = _quick(sep.GDLogistic)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("t*L(t)") for name in _failed(res))


def test_gd_norm_offset_without_its_log_eta_disagrees(monkeypatch):
    # ||w(t)|| = ||w_hat|| log t + sum alpha log(eta/alpha)/||w_hat||, with log(eta) dropped
    original = th.norm_offset
    monkeypatch.setattr(th, "norm_offset", lambda alpha, eta: original(alpha, 1.0))
    res = _quick(sep.GDLogistic)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("norm(w(T))") for name in _failed(res))


def test_gd_svm_in_the_wrong_norm_is_an_error_from_the_planted_certificate(monkeypatch):
    # the l2 SVM solved in l_inf: it no longer reproduces the planted closed form (theory against theory)
    original = th.max_margin
    monkeypatch.setattr(th, "max_margin", lambda Z, norm=2: original(Z, np.inf if norm == 2 else norm))
    res = _quick(sep.GDLogistic)
    assert res.verdict is Verdict.ERROR and "certificate failed" in res.message, res.message


def test_multiclass_loss_constant_off_by_2_disagrees(monkeypatch):
    monkeypatch.setattr(th, "loss_limit", lambda alpha, eta: float(2 * np.sum(alpha) / eta))
    res = _quick(sep.GDMulticlass)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("t*L(t)") for name in _failed(res))


def test_sgd_effective_step_without_batch_over_n_disagrees(monkeypatch):
    # the SGD step taken as the GD step (B/n dropped): constants off by n/B = 3
    monkeypatch.setattr(th, "sgd_effective_step", lambda eta, batch_size, n: float(eta))
    res = _quick(sep.SGDFixedLR)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert {"t*L(t)", "norm(w(T))"} <= {name.split(" ")[0] for name in _failed(res)}


def test_normalized_gd_margin_in_the_wrong_norm_disagrees(monkeypatch):
    # the normalized margin divided by ||w||_inf instead of ||w||_2: the margin gap no longer vanishes
    monkeypatch.setattr(th, "normalized_margin",
                        lambda w, Z: np.min(np.asarray(w) @ np.asarray(Z).T, axis=-1) / np.max(np.abs(w), axis=-1))
    res = _quick(sep.NormalizedGD)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("margin gap rate") for name in _failed(res))


# ------------------------------------------------------------------------------------------------ adversarial


def test_adversarial_radius_read_as_shrinking_disagrees(monkeypatch):
    # eps(T) = r0 gamma sqrt(T0/T): the radius itself taken to shrink like 1/sqrt(T) (eps confused with gamma - eps);
    # training is nearly clean at large T and the gap falls like 1/log T, not O~(1/sqrt T)
    monkeypatch.setattr(ta, "horizon_radius",
                        lambda gamma, horizon, base_horizon, robust_fraction:
                        float(gamma) * robust_fraction * np.sqrt(base_horizon / horizon))
    res = _quick(adv.AdversarialL2)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("adversarial gap across horizons") for name in _failed(res))


def test_adversarial_first_order_constant_off_by_2_disagrees(monkeypatch):
    original = ta.balance_offset
    monkeypatch.setattr(ta, "balance_offset", lambda *a, **k: (lambda v, K: (2 * v, 2 * K))(*original(*a, **k)))
    res = _quick(adv.AdversarialL2FixedEps)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("first-order constant" in name for name in _failed(res))


def test_adversarial_linf_with_the_dual_norm_swapped_disagrees(monkeypatch):
    # the penalty ||w||_inf (the norm of the perturbation) in place of its dual ||w||_1
    original = ta.mixed_norm_margin
    monkeypatch.setattr(ta, "mixed_norm_margin",
                        lambda Z, eps, q=np.inf: original(Z, eps, 1.0 if np.isinf(q) else q))
    res = _quick(adv.AdversarialLinf)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("gap to mixed-norm") for name in _failed(res))


# ------------------------------------------------------------------------------------------------ tails


def test_tails_direction_exponent_nu_in_place_of_1_over_nu_disagrees(monkeypatch):
    # the predicted k(nu) is now read by a counted check: min(1, nu) for min(1, 1/nu) must not pass
    original = tt.tail_rate_laws

    def swapped(nu):
        laws = dict(original(nu))
        laws["direction_exponent"] = sp.Float(min(1.0, nu))
        return laws

    monkeypatch.setattr(tt, "tail_rate_laws", swapped)
    res = _quick(tails.PolyExponentialTails)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("exponents vs theory") for name in _failed(res))


def test_tails_margin_constant_without_1_over_nu_disagrees(monkeypatch):
    original = tt.margin_constant
    monkeypatch.setattr(tt, "margin_constant", lambda alpha, nu: original(alpha, 1.0))
    res = _quick(tails.PolyExponentialTails)
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any(name.startswith("margin gap = A_nu/s") for name in _failed(res))


@pytest.mark.parametrize("cls", [sep.GDLogistic, adv.AdversarialL2, tails.PolyExponentialTails])
def test_the_bugs_are_bugs_the_unpatched_claims_agree(cls, quick_run):
    assert quick_run(cls).verdict is Verdict.AGREES
