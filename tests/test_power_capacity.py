"""Power of the capacity and convergence claims: realistic theory-side bugs, injected where the claim looks the
theory function up, must turn the quick verdict into ``disagrees`` (or ``error`` where a certificate catches
them; the test says which). A bug that leaves the verdict at ``agrees`` means a check is too weak."""

from __future__ import annotations

import dataclasses

import sympy as sp

from theorycheck.theory import deeponet as td
from theorycheck.theory import rademacher as rad
from theorycheck.theory import villani as tv
from theorycheck.verify.claim import Verdict
from theorycheck.verify.registry import load_claims
from theorycheck.verify.runner import run_claim

CATALOG = load_claims()


def _with_expr(bound: rad.Bound, expr: sp.Expr) -> rad.Bound:
    return dataclasses.replace(bound, expr=expr)


def _run(claim_id: str):
    return run_claim(CATALOG[claim_id], preset="quick", device="cpu")


def _failed(result) -> list[str]:
    return [c.name for c in result.checks if c.passed is False]


# ---------------------------------------------------------------------------------- linear classes

def test_l2_bound_that_no_longer_decays_with_n(monkeypatch):
    """B sqrt(S2/n) in place of B sqrt(S2)/n (the square root over the ratio): constant on the sphere. It still
    holds; the slope in n exposes it."""
    good = rad.linear_l2_bound

    def bug(form="data"):
        b = good(form)
        return _with_expr(b, rad.B * sp.sqrt(rad.S2 / rad.n)) if form == "data" else b
    monkeypatch.setattr(rad, "linear_l2_bound", bug)
    res = _run("rademacher.linear-l2")
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("slope in n" in name for name in _failed(res))


def test_l2_khintchine_without_szarek_constant(monkeypatch):
    """The Khintchine-Kahane lower bound without Szarek's 1/sqrt 2 (Jensen taken as tight). The exact enumeration
    certificate (theory against theory) catches it first — verdict error — and the counted lower-bound check
    fails as well."""
    good = rad.linear_l2_lower
    monkeypatch.setattr(rad, "linear_l2_lower", lambda: _with_expr(good(), rad.B * sp.sqrt(rad.S2) / rad.n))
    res = _run("rademacher.linear-l2")
    assert res.verdict is Verdict.ERROR, res.message
    assert "exact enumeration" in res.message
    assert any("Khintchine" in name for name in _failed(res))


def test_l1_massart_over_d_instead_of_2d_signed_columns(monkeypatch):
    """Massart's lemma over the d columns instead of the 2d signed columns: sqrt(2 ln d), zero at d = 1."""
    good = rad.linear_l1_massart_bound

    def bug(form="data"):
        b = good(form)
        return _with_expr(b, b.expr.subs(2 * rad.d, rad.d))
    monkeypatch.setattr(rad, "linear_l1_massart_bound", bug)
    res = _run("rademacher.linear-l1")
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("Massart" in name for name in _failed(res))


def test_l1_massart_with_rate_one_over_n(monkeypatch):
    """B R_inf sqrt(2 ln 2d)/n: the exact-enumeration certificate catches it (verdict error), and the counted
    Monte Carlo check fails on every grid."""
    good = rad.linear_l1_massart_bound

    def bug(form="data"):
        b = good(form)
        return _with_expr(b, rad.B * rad.R_inf * sp.sqrt(2 * sp.log(2 * rad.d)) / rad.n)
    monkeypatch.setattr(rad, "linear_l1_massart_bound", bug)
    res = _run("rademacher.linear-l1")
    assert res.verdict is Verdict.ERROR, res.message
    assert "exact enumeration" in res.message
    assert any("Massart" in name for name in _failed(res))


# ---------------------------------------------------------------------------------- two-layer nets

def test_two_layer_bound_with_s2_for_its_square_root(monkeypatch):
    """2 L B_a B_w S2/n: larger, so it holds, but it no longer decays with n (and grows like R^2)."""
    good = rad.two_layer_bound
    monkeypatch.setattr(rad, "two_layer_bound",
                        lambda: _with_expr(good(), 2 * rad.L * rad.B_a * rad.B_w * rad.S2 / rad.n))
    res = _run("rademacher.two-layer")
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("slope in n" in name for name in _failed(res))


def test_golowich_with_the_rms_data_norm_for_sqrt_s2(monkeypatch):
    """Golowich's bound with the per-sample RMS norm sqrt(S2/n) in place of sqrt(S2) (a lost sqrt(n))."""
    good = rad.golowich_frobenius

    def bug(depth_value=None):
        b = good(depth_value)
        return _with_expr(b, b.expr.subs(sp.sqrt(rad.S2), sp.sqrt(rad.S2 / rad.n)))
    monkeypatch.setattr(rad, "golowich_frobenius", bug)
    res = _run("rademacher.two-layer")
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("Golowich" in name for name in _failed(res))


# ---------------------------------------------------------------------------------- generalization

def test_generalization_complexity_term_with_a_false_rate(monkeypatch):
    """The complexity term of the margin bound decaying like 1/n instead of 1/sqrt(n) (the path-norm class's
    Rademacher bound 2 phi sqrt(S2)/n^(3/2)): the bound on the teacher task still holds, the measured complexity
    exposes it."""
    good = rad.path_norm_bound
    monkeypatch.setattr(rad, "path_norm_bound",
                        lambda: _with_expr(good(), 2 * rad.phi * sp.sqrt(rad.S2) / rad.n ** sp.Rational(3, 2)))
    res = _run("rademacher.generalization")
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("complexity term" in name for name in _failed(res))


# ---------------------------------------------------------------------------------- DeepONets

def _deeponet_with_paper_bound(monkeypatch, transform):
    """Run the DeepONet claim with ``td.paper_bound``'s expression passed through ``transform``."""
    good = td.paper_bound
    monkeypatch.setattr(td, "paper_bound", lambda n_layers: _with_expr(good(n_layers), transform(good(n_layers).expr)))
    res = _run("rademacher.deeponet")
    assert res.verdict is Verdict.DISAGREES, res.message
    return _failed(res)


def test_deeponet_paper_bound_with_rate_one_over_n(monkeypatch):
    failed = _deeponet_with_paper_bound(monkeypatch, lambda expr: expr / sp.sqrt(rad.n))
    assert any("paper's bound" in name for name in failed)


def test_deeponet_paper_bound_with_s2_for_its_square_root(monkeypatch):
    """S2 in place of sqrt(S2): larger (it holds) but it stops decaying with N."""
    failed = _deeponet_with_paper_bound(monkeypatch, lambda expr: expr.subs(sp.sqrt(rad.S2), rad.S2))
    assert any("sample size" in name for name in failed)


# ---------------------------------------------------------------------------------- Villani

def test_villani_gibbs_limit_in_the_sqrt_2s_convention(monkeypatch):
    """E F - F* = sD/2, the Laplace value for dtheta = -grad F dt + sqrt(2s) dB, not for sqrt(s) dB."""
    monkeypatch.setattr(tv, "gibbs_excess", lambda s, n_params: s * n_params / 2)
    res = _run("convergence.villani-regularized")
    assert res.verdict is Verdict.DISAGREES, res.message
    assert any("Gibbs" in name for name in _failed(res))


def test_villani_regime_from_the_closed_form_curvature_bound(monkeypatch):
    """The convexity threshold taken from the closed-form bound kappa_- (0.19 instead of the measured 0.03 for
    l2): lambda lands in the convex regime, and the non-convexity certificate fails — verdict error."""
    def bug(X, y, a, activation, loss, points):
        return tv.net_bounds(X, y, a, activation, loss).kappa_minus
    monkeypatch.setattr(tv, "convexity_threshold_estimate", bug)
    res = _run("convergence.villani-regularized")
    assert res.verdict is Verdict.ERROR, res.message
    assert "non-convex" in res.message
