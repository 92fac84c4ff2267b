"""numerics/rademacher.py, numerics/mlp.py and the rademacher claims (quick presets, controls, bad input)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import mlp
from theorycheck.numerics.rademacher import (_ascent_step, linear_rademacher_mc, project_l1_ball,
                                             project_rows_l2_ball, rademacher_signs, relu_correlation,
                                             relu_correlation_ascent)
from theorycheck.theory import rademacher as rad
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.rademacher import (GeneralizationParams, L1Params, LinearL1, LinearL2,
                                                  LinearParams, MarginGeneralization, TwoLayerParams, TwoLayerRelu)
from theorycheck.verify.runner import run_claim

torch.set_num_threads(1)
CLAIMS = [LinearL2, LinearL1, TwoLayerRelu, MarginGeneralization]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- Monte Carlo vs exact enumeration

@pytest.mark.parametrize("p", [2.0, 1.0])
def test_linear_mc_matches_exact_enumeration(p):
    rng = np.random.default_rng(7)
    Xs = [rng.normal(size=(n, 4)) for n in (10, 16)]
    for X in Xs:
        exact = rad.linear_rademacher_exact(X, 2.0, p)
        mean, se = linear_rademacher_mc(torch.as_tensor(X)[None], 2.0, p, 20000, _gen(1), chunk=4096)
        assert abs(float(mean[0]) - exact) <= 4 * float(se[0])
        assert float(se[0]) < 0.01 * exact


def test_linear_mc_batched_equals_per_dataset():
    X = torch.randn(3, 12, 5, generator=_gen(2), dtype=torch.float64)
    mean_b, _ = linear_rademacher_mc(X, 1.0, 2.0, 500, _gen(3))
    # same signs, drawn per dataset by hand
    sig = rademacher_signs((3, 500, 12), _gen(3))
    ref = torch.stack([torch.linalg.vector_norm(sig[s] @ X[s], dim=-1).mean() / 12 for s in range(3)])
    torch.testing.assert_close(mean_b, ref)


# ----------------------------------------------------------------------------- sign-correlation ascent

def test_projections():
    v = torch.randn(50, 7, generator=_gen(4), dtype=torch.float64) * 2
    p = project_l1_ball(v, 1.5)
    assert torch.all(p.abs().sum(-1) <= 1.5 + 1e-12)
    # optimality: projection onto the l1 ball via bisection on the soft threshold
    for row, prow in zip(v.numpy(), p.numpy()):
        if np.abs(row).sum() <= 1.5:
            np.testing.assert_allclose(prow, row)
            continue
        lo, hi = 0.0, np.abs(row).max()
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if np.maximum(np.abs(row) - mid, 0).sum() > 1.5 else (lo, mid)
        np.testing.assert_allclose(prow, np.sign(row) * np.maximum(np.abs(row) - lo, 0), atol=1e-10)
    W = torch.randn(4, 3, 5, generator=_gen(5), dtype=torch.float64)
    assert torch.all(torch.linalg.vector_norm(project_rows_l2_ball(W, 0.7), dim=-1) <= 0.7 + 1e-12)


def test_ascent_step_gradient_matches_autograd():
    S, k, I, m, n, d = 2, 3, 2, 4, 9, 3
    X = torch.randn(S, n, d, generator=_gen(6), dtype=torch.float64)
    sig = rademacher_signs((S, k, n), _gen(7))
    a = torch.randn(S, k, I, m, generator=_gen(8), dtype=torch.float64, requires_grad=True)
    W = torch.randn(S, k, I, m, d, generator=_gen(9), dtype=torch.float64, requires_grad=True)
    relu_correlation(a, W, X, sig).sum().backward()
    _, _, h = _ascent_step(a.detach(), W.detach(), X, sig, 0.0, 1.0, 1.0)
    torch.testing.assert_close(h, a.grad)
    # the W step direction is the autograd gradient, normalized per (draw, init)
    a2, W2, _ = _ascent_step(a.detach(), W.detach() * 1e-3, X, sig, 1e-6, 1e9, 1e9)
    W0 = (W.detach() * 1e-3).requires_grad_(True)
    relu_correlation(a.detach(), W0, X, sig).sum().backward()
    step = W2 - W.detach() * 1e-3
    g = W0.grad
    norm = torch.linalg.vector_norm(g, dim=-1).amax(dim=-1, keepdim=True)[..., None]
    torch.testing.assert_close(step, 1e-6 * 1e9 * g / norm)


def test_lower_estimator_equals_exact_supremum_in_2d():
    S, n, K = 2, 16, 12
    X = torch.randn(S, n, 2, generator=_gen(10), dtype=torch.float64)
    X = X / torch.linalg.vector_norm(X, dim=-1, keepdim=True)
    sig = rademacher_signs((S, K, n), _gen(11))
    exact = np.stack([rad.relu_sup_exact_2d(X[s].numpy(), sig[s].numpy()) for s in range(S)]) * 2.0 * 0.5 / n
    for width, inits in ((1, 64), (8, 8)):  # 64 starting neurons per draw, as in the claim's budget rule
        est = relu_correlation_ascent(X, sig, width, inits, 80, 2.0, 0.5, _gen(12))["value"].numpy()
        assert np.all(est <= exact + 1e-12)  # a lower estimate: every iterate is feasible
        assert np.all(est >= 0.99 * exact)
        assert abs(est.mean() / exact.mean() - 1) < 1e-3


def test_lower_estimator_path_norm_feasible():
    X = torch.randn(1, 10, 3, generator=_gen(13), dtype=torch.float64)
    sig = rademacher_signs((1, 5, 10), _gen(14))
    out = relu_correlation_ascent(X, sig, 6, 3, 30, 1.5, 2.0, _gen(15))
    assert torch.all(out["path_norm"] <= 1.5 * 2.0 + 1e-9)
    with pytest.raises(InputError):
        relu_correlation_ascent(X, sig[:, :, :4], 6, 3, 30, 1.5, 2.0, _gen(15))


# ----------------------------------------------------------------------------- batched MLPs

def test_two_layer_grads_match_torch_func():
    B, n, m, d = 3, 11, 5, 4
    g = _gen(16)
    X = torch.randn(B, n, d, generator=g, dtype=torch.float64)
    y = torch.sign(torch.randn(B, n, generator=g, dtype=torch.float64))
    a, W = mlp.init_two_layer(B, m, d, g)

    def single(a1, W1, X1, y1, loss):
        f = torch.relu(X1 @ W1.T) @ a1
        return (torch.nn.functional.softplus(-y1 * f) if loss == "logistic" else 0.5 * (f - y1) ** 2).mean()

    for loss in mlp.LOSSES:
        value, ga, gW = mlp.two_layer_grads(a, W, X, y, loss)
        per_net = torch.func.vmap(torch.func.grad(single, argnums=(0, 1)), in_dims=(0, 0, 0, 0, None))
        ref_ga, ref_gW = per_net(a, W, X, y, loss)
        torch.testing.assert_close(ga, ref_ga)
        torch.testing.assert_close(gW, ref_gW)
        torch.testing.assert_close(value, mlp.two_layer_loss(a, W, X, y, loss))


def test_train_two_layer_batched_equals_per_network_loop():
    B, n, m, d = 3, 20, 6, 3
    g = _gen(17)
    X = torch.randn(B, n, d, generator=g, dtype=torch.float64)
    y = torch.sign(X[..., 0])
    a, W = mlp.init_two_layer(B, m, d, g)
    traj = mlp.train_two_layer(X, y, a, W, 50, 0.5)
    for b in range(B):
        ab, Wb = a[b:b + 1].clone().requires_grad_(True), W[b:b + 1].clone().requires_grad_(True)
        opt = torch.optim.SGD([ab, Wb], lr=0.5)
        for _ in range(50):
            opt.zero_grad()
            mlp.two_layer_loss(ab, Wb, X[b:b + 1], y[b:b + 1]).sum().backward()
            opt.step()
        np.testing.assert_allclose(traj.final["a"][b], ab.detach().numpy()[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(traj.final["W"][b], Wb.detach().numpy()[0], rtol=1e-10, atol=1e-12)
    assert traj.series["a"].shape[:2] == (B, traj.steps.size) and traj.steps[0] == 0


def test_norms_match_numpy():
    g = _gen(18)
    weights = mlp.init_mlp(2, (4, 6, 5, 1), g)
    fro = mlp.frobenius_norms(weights).numpy()
    spec = mlp.spectral_norms(weights).numpy()
    for b in range(2):
        for j, w in enumerate(weights):
            assert fro[b, j] == pytest.approx(np.linalg.norm(w[b].numpy()))
            assert spec[b, j] == pytest.approx(np.linalg.norm(w[b].numpy(), 2))
    a, W = mlp.init_two_layer(2, 7, 3, g)
    ref = (np.abs(a.numpy()) * np.linalg.norm(W.numpy(), axis=-1)).sum(-1)
    np.testing.assert_allclose(mlp.path_norm(a, W).numpy(), ref)
    # a two-layer net through the generic forward equals the closed form
    X = torch.randn(2, 8, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(mlp.mlp_forward([W, a[:, None, :]], X), mlp.two_layer_forward(a, W, X))


def test_golowich_bound_dominates_lower_estimate_of_a_trained_shape():
    """The Frobenius class at product M equals the path-norm class at phi = M (homogeneity): the
    exact 2-D complexity of that class sits below Golowich's bound."""
    rng = np.random.default_rng(19)
    X = rng.normal(size=(12, 2))
    sig = rad.sign_vectors(12)[::9].astype(float)
    exact = rad.relu_sup_exact_2d(X, sig).mean() * 3.0 / 12
    assert exact <= rad.golowich_frobenius_bound([1.0, 3.0], float((X**2).sum()), 12)
    assert exact <= rad.path_norm_bound().evaluate(phi=3.0, S2=float((X**2).sum()), n=12)


# ----------------------------------------------------------------------------- claims (quick runs shared with
# tests/test_catalog_verdicts.py, which checks that they agree on two seed blocks with a near miss rejected)

def test_linear_claims_check_both_bounds_and_every_named_variable(quick_run):
    for cls in (LinearL2, LinearL1):
        res = quick_run(cls)
        names = " | ".join(c.name for c in res.checks)
        for needle in ("every data set", "slope in n", "slope in d", "slope in data radius", "exact enumeration"):
            assert needle in names, (cls.id, needle)
        holds = res.checks[0]
        assert holds.quantifier == "every" and len(holds.per_seed) == len(res.seeds) * (
            len(res.params["ns"]) + len(res.params["ds"]) + len(res.params["scales"]))
        assert [c.role for c in res.checks].count("certificate") == 1
        assert "lower bound/bound (median)" in res.observations


def test_two_layer_claim_lower_bound_and_slopes(quick_run):
    res = quick_run(TwoLayerRelu)
    names = [c.name for c in res.checks]
    assert any("2 sqrt2 n" in n for n in names) and any("slope in width" in n for n in names)
    assert any("slope in n" in n for n in names)
    assert 0.3 < res.observations["tightness estimate/bound (median)"] < 0.6


def test_generalization_claim_is_checked_where_the_bound_is_informative(quick_run):
    res = quick_run(MarginGeneralization)
    key = res.checks[0]
    assert key.quantifier == "probability" and key.passed is True
    assert res.observations["teacher: max margin bound over draws"] < 1.0          # informative on every draw
    assert res.observations["random: margin bound"] >= 1.0                         # vacuous where it must be
    assert res.observations["random: test error"] > 0.4 and res.observations["random: train error"] < 0.05


@pytest.mark.parametrize("cls, overrides, match", [
    (LinearL2, {"ns": "(32, 16)"}, "increasing"),
    (LinearL1, {"draws": 10}, "draws"),
    (LinearL2, {"enum_n": 40}, "enum_n"),
    (LinearL2, {"scales": "(1, 2, 3)"}, "scales"),
    (TwoLayerRelu, {"widths": "(4, 4)"}, "widths"),
    (TwoLayerRelu, {"B_a": -1.0}, "B_a"),
    (TwoLayerRelu, {"d": 4}, "d must be 2 or 3"),
    (MarginGeneralization, {"subsample": "(50, 100)"}, "subsample"),
    (MarginGeneralization, {"mu": 1.5}, "mu"),
    (MarginGeneralization, {"delta": 1.5}, "delta"),
    (MarginGeneralization, {"bogus": 1}, "unknown parameter"),
])
def test_bad_input(cls, overrides, match):
    with pytest.raises(InputError, match=match):
        run_claim(cls, preset="quick", overrides=overrides, device="cpu")


def test_presets_are_valid():
    for P in (LinearParams, L1Params, TwoLayerParams, GeneralizationParams):
        P.quick().validate()
        P.full().validate()


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLAIMS, ids=lambda c: c.id)
def test_claim_full_agrees(cls):
    res = run_claim(cls, preset="full", device="auto")
    assert res.verdict is Verdict.AGREES, res.message
    assert all(c.passed is False for c in res.controls)
