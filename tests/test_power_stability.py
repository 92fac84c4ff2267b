"""Power of the stability family's checks: realistic theory-side bugs, injected where each claim looks the
function up, must turn its quick verdict into ``disagrees`` (or ``error`` where a certificate catches the bug
first — each test says which). ``dynamics.lazy-rich-delay`` is exempt: its quick verdict is inconclusive by
design (no grokking setting yet, see tests/test_catalog_verdicts.py KNOWN_NOT_AGREEING), so no bug can make
it disagree."""

import numpy as np
import pytest

import theorycheck.verify.claims.edge as edge_claims
from theorycheck.theory import margins as TM
from theorycheck.theory import stability as TS
from theorycheck.verify.registry import load_claims
from theorycheck.verify.runner import run_claim

CATALOG = load_claims()
_delayed = TS.delayed_threshold
_gfs = TS.gfs_sharpness
_side = TS.side_weights
_l1 = TM.l1_max_margin


def _quick(claim_id: str):
    return run_claim(CATALOG[claim_id], preset="quick", device="cpu")


def _off_by_one_delay(tau):
    """The delay counted from one (tau + 1 stale steps)."""
    return _delayed(tau + 1)


def _dropped_two_in_denominator(tau):
    """2 sin(pi/(2 tau + 1)) for 2 sin(pi/(2(2 tau + 1))) (tau = 0 kept at the classical 2)."""
    return 2.0 * np.sin(np.pi / (2 * tau + 1)) if tau > 0 else 2.0


@pytest.mark.parametrize("bug", [_off_by_one_delay, _dropped_two_in_denominator])
def test_delayed_threshold_bugs_flip_to_disagrees(monkeypatch, bug):
    monkeypatch.setattr(TS, "delayed_threshold", bug)
    assert _quick("stability.delayed-threshold").verdict.value == "disagrees"


def test_async_selection_off_by_one_delay_flips_to_disagrees(monkeypatch):
    monkeypatch.setattr(TS, "delayed_threshold", _off_by_one_delay)
    result = _quick("stability.async-minima-selection")
    assert result.verdict.value == "disagrees"
    assert "eta S_final / a*(tau, beta) <= 1" in result.message


def test_async_selection_cannot_tell_the_asymptotic_threshold_apart(monkeypatch):
    """A limit of the check, recorded: pi/(2 tau + 1) is within 5% of a*(tau) for tau >= 1, inside the edge band."""
    monkeypatch.setattr(TS, "delayed_threshold", lambda tau: np.pi / (2 * tau + 1) if tau > 0 else 2.0)
    assert _quick("stability.async-minima-selection").verdict.value == "agrees"


@pytest.mark.parametrize("bug", [
    lambda w, y: _gfs(w, np.sqrt(np.abs(y))),  # the root of prod(w^2 + c) = y instead of y^2
    lambda w, y: _gfs(w, y) / np.asarray(y) ** 2,  # the y^2 factor dropped
])
def test_gfs_formula_bugs_are_caught_by_the_gradient_flow_certificate(monkeypatch, bug):
    monkeypatch.setattr(TS, "gfs_sharpness", bug)
    result = _quick("stability.gfs-sharpness")
    assert result.verdict.value == "error"
    assert "integrated gradient flow" in result.message


def test_gfs_formula_bug_fails_the_counted_closed_form_check(monkeypatch):
    """With the certificate's reference patched out too, the counted check phi(w_T) = S_T fails on its own."""
    monkeypatch.setattr(TS, "gfs_sharpness", lambda w, y: _gfs(w, y) / np.asarray(y) ** 2)
    monkeypatch.setattr(TS, "gradient_flow_limit", lambda w0, y: (w0, float(_gfs(w0, y) / y**2)))
    result = _quick("stability.gfs-sharpness")
    assert result.verdict.value == "disagrees"
    assert "closed form phi(w_T)" in result.message


def test_edge_threshold_one_over_eta_flips_to_disagrees(monkeypatch):
    monkeypatch.setattr(edge_claims, "stability_threshold", lambda eta: 1.0 / np.asarray(eta, float))
    result = _quick("stability.edge-of-stability")
    assert result.verdict.value == "disagrees"


def _side_without_square(x_data, knots):
    """P(X > x) instead of P(X > x)^2 in g^+ (and likewise g^-)."""
    plus, minus = _side(x_data, knots)
    x = np.asarray(x_data, float).ravel()
    k = np.asarray(knots, float)
    p_r = (x[None, :] > k.reshape(-1, 1)).mean(1).reshape(k.shape)
    p_l = (x[None, :] < k.reshape(-1, 1)).mean(1).reshape(k.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p_r > 0, plus / np.where(p_r > 0, p_r, 1), 0.0), np.where(p_l > 0, minus / np.where(p_l > 0, p_l, 1), 0.0)


@pytest.mark.parametrize("bug", [_side_without_square, lambda x, k: _side(x, k)[::-1]])  # the other side convention
def test_function_space_weight_bugs_are_caught(monkeypatch, bug):
    monkeypatch.setattr(TS, "side_weights", bug)
    result = _quick("stability.minima-function-space")
    assert result.verdict.value == "error"  # the lemma certificate at random parameters fails first
    assert "lemma at random parameters" in result.message


def test_function_space_weight_bug_fails_the_counted_lemma_at_trained_nets(monkeypatch):
    monkeypatch.setattr(TS, "side_weights", lambda x, k: _side(x, k)[::-1])
    monkeypatch.setattr(CATALOG["stability.minima-function-space"], "_lemma_at_random", staticmethod(lambda p, d: 1.0))
    result = _quick("stability.minima-function-space")
    assert result.verdict.value == "disagrees"
    assert "lemma at every trained net" in result.message


def _l2_normalized_gamma(Z):
    """gamma = 1/||w||_2 where the l1 max-margin has gamma = 1/||w||_1 (the neighbouring norm)."""
    sol = _l1(Z)
    return TM.L1MaxMargin(sol.w, sol.direction, 1.0 / float(np.linalg.norm(sol.w)))


def test_diagonal_kkt_wrong_margin_norm_flips_to_disagrees(monkeypatch):
    monkeypatch.setattr(TM, "l1_max_margin", _l2_normalized_gamma)
    result = _quick("margins.diagonal-kkt")
    assert result.verdict.value == "disagrees"
    assert "gamma_S" in result.message


def test_ensemble_wrong_margin_norm_is_caught(monkeypatch):
    monkeypatch.setattr(TM, "l1_max_margin", _l2_normalized_gamma)
    result = _quick("margins.ensemble-discards-shallow")
    assert result.verdict.value == "error"  # the margin-path certificate (cvxpy vs the LP value) fails first
    assert "margin path" in result.message
