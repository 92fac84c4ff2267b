"""Wide networks, the layerwise empirical NTK, the width-scaling trainers, random-feature ridge regression and the
tangent ranks, each against a slow exact computation on a small case."""

import numpy as np
import pytest
import torch
from torch.func import jacrev

from theorycheck.errors import InputError
from theorycheck.numerics import wide
from theorycheck.numerics.model_rank import minimal_parameters, tangent_rank
from theorycheck.numerics.random_features import ridge_risks
from theorycheck.numerics.width_training import coordinate_check, lr_sweep, preconditioned_sharpness
from theorycheck.theory.width_scaling import PARAMETRIZATIONS


def _single_forward(scaling, activation, weights, biases, X):
    """Per-network reference forward pass (no batch axis)."""
    phi, _ = wide.activation_pair(activation)
    h = X
    for l, w in enumerate(weights):
        h = scaling.multiplier[l] * h @ w.T + (scaling.bias_multiplier[l] * biases[l] if scaling.has_bias else 0.0)
        if l < len(weights) - 1:
            h = phi(h)
    return h[..., 0]


def _jacobian_ntk(net, X, b, lr_weighted=False):
    sc = net.scaling
    params = [w[b] for w in net.weights] + [x[b] for x in net.biases]
    depth = sc.depth

    def f(ps):
        return _single_forward(sc, net.activation, ps[:depth], ps[depth:], X)

    jac = jacrev(f)(params)
    factors = list(sc.lr) + list(sc.bias_lr) if lr_weighted else [1.0] * len(params)
    return sum(g * (j.reshape(X.shape[0], -1) @ j.reshape(X.shape[0], -1).T) for g, j in zip(factors, jac))


@pytest.mark.parametrize("activation", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("hidden_layers, sb", [(1, 0.0), (2, 0.3), (3, 0.1)])
def test_layerwise_empirical_ntk_equals_autograd_jacobian_gram(activation, hidden_layers, sb):
    X = torch.randn(7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    X[1] = 0.5 * X[0]
    X[2] = -X[0]
    net = wide.init_network(wide.ntk_scaling(5, 48, hidden_layers, 1.5, sb), activation, [0, 1, 2])
    K = wide.empirical_ntk(net, X)
    for b in range(3):
        ref = _jacobian_ntk(net, X, b)
        assert torch.max(torch.abs(K[b] - ref)) <= 1e-12 * torch.max(torch.abs(ref))


def test_lr_weighted_ntk_of_an_abc_row_equals_the_weighted_jacobian_gram():
    p = PARAMETRIZATIONS["sp-lr/n"]
    net = wide.init_network(wide.abc_scaling(4, 96, 2, p.a, p.b, p.c, 32), "relu", [3])
    X = torch.randn(5, 4, dtype=torch.float64)
    ref = _jacobian_ntk(net, X, 0, lr_weighted=True)
    assert torch.allclose(wide.empirical_ntk(net, X, lr_weighted=True)[0], ref, rtol=1e-12, atol=1e-14)


def test_cross_kernel_and_gradients_match_autograd():
    net = wide.init_network(wide.ntk_scaling(3, 32, 2, 1.4, 0.2), "erf", [5, 6])
    X1 = torch.randn(4, 3, dtype=torch.float64)
    X2 = torch.randn(6, 3, dtype=torch.float64)
    K12 = wide.empirical_ntk(net, X1, X2)
    full = wide.empirical_ntk(net, torch.cat([X1, X2]))
    assert torch.allclose(K12, full[:, :4, 4:], rtol=1e-12, atol=1e-14)
    y = torch.randn(2, 4, dtype=torch.float64)
    f, inputs, pre = wide.forward(net, X1)
    gw, gb = wide.gradients(net, inputs, pre, f - y)
    params = [w.clone().requires_grad_(True) for w in net.weights] + [b.clone().requires_grad_(True) for b in net.biases]
    probe = wide.Network(net.scaling, net.activation, params[:3], params[3:])
    loss = 0.5 * ((wide.forward(probe, X1)[0] - y) ** 2).sum()
    grads = torch.autograd.grad(loss, params)
    for mine, ref in zip(gw + gb, grads):
        assert torch.allclose(mine, ref, rtol=1e-12, atol=1e-14)


def test_a_seed_draws_the_same_network_in_any_batch():
    sc = wide.ntk_scaling(3, 16, 2, 1.0, 0.1)
    alone = wide.init_network(sc, "relu", [7])
    batch = wide.init_network(sc, "relu", [3, 7, 11])
    for a, b in zip(alone.parameters(), batch.parameters()):
        assert torch.equal(a[0], b[1])


def test_ntk_at_init_chunks_like_one_batch():
    X = torch.randn(5, 3, dtype=torch.float64)
    K = wide.ntk_at_init(X, [64, 256], list(range(5)), activation="relu", sw=1.4, sb=0.0, hidden_layers=2)
    for i, n in enumerate([64, 256]):
        net = wide.init_network(wide.ntk_scaling(3, n, 2, 1.4, 0.0), "relu", list(range(5)), stream=n)
        assert torch.allclose(K[:, i], wide.empirical_ntk(net, X))


def test_abc_rows_coincide_at_the_base_width():
    X = torch.randn(8, 6, dtype=torch.float64)
    y = torch.randn(8, dtype=torch.float64)
    runs = [coordinate_check(X, y, wide.abc_scaling(6, 32, 2, p.a, p.b, p.c, 32), [0, 1], lr=0.05, steps=2)
            for p in PARAMETRIZATIONS.values()]
    for r in runs[1:]:
        np.testing.assert_allclose(r["features"], runs[0]["features"], rtol=1e-12)


def test_lr_sweep_batch_equals_a_loop_over_learning_rates():
    gen = np.random.default_rng(0)
    Xtr = torch.tensor(gen.standard_normal((2, 5, 4, 3)))
    ytr = torch.tensor(gen.standard_normal((2, 5, 4)))
    Xte = torch.tensor(gen.standard_normal((2, 9, 3)))
    yte = torch.tensor(gen.standard_normal((2, 9)))
    p = PARAMETRIZATIONS["mup"]
    sc = wide.abc_scaling(3, 24, 1, p.a, p.b, p.c, 8)
    lrs = [0.01, 0.3, 1e4]
    batched = lr_sweep(Xtr, ytr, Xte, yte, sc, [4, 5], lrs)
    for j, lr in enumerate(lrs):
        single = lr_sweep(Xtr, ytr, Xte, yte, sc, [4, 5], [lr])
        np.testing.assert_allclose(batched[:, j], single[:, 0], rtol=1e-12)
    assert np.all(batched[:, 2] == 1e300)        # the huge rate diverges and is marked, not raised


def test_preconditioned_sharpness_matches_the_dense_hessian():
    p = PARAMETRIZATIONS["ntp"]
    sc = wide.abc_scaling(3, 6, 1, p.a, p.b, p.c, 3)
    net = wide.init_network(sc, "tanh", [0])
    X = torch.randn(10, 3, dtype=torch.float64)
    y = torch.randn(10, dtype=torch.float64)
    f0 = wide.forward(net, X)[0]
    got = preconditioned_sharpness(net, X, y, f0, torch.Generator().manual_seed(0), tol=1e-10)[0]
    flat = torch.cat([w[0].reshape(-1) for w in net.weights]).clone()
    shapes = [w[0].shape for w in net.weights]

    def loss(theta):
        ws, i = [], 0
        for s in shapes:
            ws.append(theta[i:i + s.numel()].reshape(1, *s))
            i += s.numel()
        f = wide.forward(wide.Network(sc, "tanh", ws, []), X)[0]
        return 0.5 * torch.mean((f - f0 - y) ** 2)

    H = torch.autograd.functional.hessian(loss, flat)
    scale = torch.cat([torch.full((s.numel(),), g) for s, g in zip(shapes, sc.lr)])
    top = torch.linalg.eigvalsh(scale.sqrt()[:, None] * H * scale.sqrt()[None, :]).max()
    assert float(got) == pytest.approx(float(top), rel=1e-6)


def test_random_feature_risk_equals_an_explicit_solve():
    gen = torch.Generator().manual_seed(0)
    M, n, k = 30, 12, 9
    lam = torch.arange(1, M + 1, dtype=torch.float64) ** -1.5
    v = torch.randn(M, dtype=torch.float64, generator=gen)
    X = torch.randn(1, n, M, dtype=torch.float64, generator=gen)
    eps = torch.randn(1, n, dtype=torch.float64, generator=gen)
    Z = torch.randn(1, k, M, dtype=torch.float64, generator=gen)
    ridges = [1e-3, 0.1]
    got = ridge_risks(X, eps, Z, lam, v, 0.04, ridges, [(n, k), (n, 0)])[0]
    y = X[0] @ v + 0.2 * eps[0]
    G = X[0] * lam.sqrt() @ Z[0].T
    for j, r in enumerate(ridges):
        beta_rf = lam.sqrt() * (Z[0].T @ (G.T @ torch.linalg.solve(G @ G.T / k + r * torch.eye(n), y))) / k
        beta_krr = lam * (X[0].T @ torch.linalg.solve(X[0] * lam @ X[0].T + r * torch.eye(n), y))
        assert float(got[0, j]) == pytest.approx(float(((beta_rf - v) ** 2).sum() + 0.04), rel=1e-7)  # rank-9 Gram
        assert float(got[1, j]) == pytest.approx(float(((beta_krr - v) ** 2).sum() + 0.04), rel=1e-9)


def test_tangent_rank_counts_a_known_case_and_refuses_a_narrow_student():
    gen = torch.Generator().manual_seed(0)
    p = minimal_parameters("tanh2", gen, d=3, k=2, width=5)
    rank, count = tangent_rank("tanh2", p, torch.randn(80, 3, dtype=torch.float64, generator=gen))
    assert (rank, count) == (8, 20)
    with pytest.raises(InputError, match="below the target"):
        minimal_parameters("tanh2", gen, d=3, k=2, width=1)


def test_bad_scalings_are_refused():
    with pytest.raises(InputError, match="activation"):
        wide.activation_pair("gelu")
    with pytest.raises(InputError, match="width"):
        wide.ntk_scaling(3, 0, 1, 1.0, 0.0)
    with pytest.raises(InputError, match="base_width"):
        wide.abc_scaling(3, 8, 1, (0, 0, 0), (0, 0.5, 0.5), 0.0, 0)
