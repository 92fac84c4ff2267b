"""Batched trainers of the stability family against slow per-row references and autograd."""

import numpy as np
import torch

from theorycheck.numerics import curvature as C
from theorycheck.numerics.delayed import delayed_growth
from theorycheck.numerics.edge import gd_with_sharpness, init_mlp, mlp_loss, teacher_data
from theorycheck.numerics.lazy_rich import single_index_task, train_lazy_rich
from theorycheck.numerics.margins import normalized_gd, plain_gd_margin, sparse_separable, step_schedule
from theorycheck.numerics.relu1d import init_relu1d, relu1d_grad, relu1d_loss
from theorycheck.numerics.scalar import pad_depths, scalar_grad, train_scalar
from theorycheck.theory import stability as T


def test_delayed_growth_rate_is_the_log_spectral_radius():
    rows = [(0.5, 1, 0.0), (0.3, 2, 0.5), (0.7, 2, 0.0), (1.05, 1, 0.0), (2.5, 0, 0.5)]
    a, tau, beta = (np.array(c) for c in zip(*rows))
    history = torch.randn((len(rows), 4), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    g = delayed_growth(a, tau, beta, 4000, history)
    expected = np.log([T.spectral_radius(*r) for r in rows])
    assert np.allclose(g.rate, expected, atol=2e-3)


def _scalar_reference(w0, y, eta, tau, beta, steps):
    hist = [np.array(w0, float)] * (tau + 2)
    w = np.array(w0, float)
    prev = w.copy()
    for t in range(steps):
        stale = hist[-1 - tau]
        f = np.prod(stale)
        g = (f - y) * np.array([np.prod(np.delete(stale, i)) for i in range(stale.size)])
        w, prev = w - eta * g + beta * (w - prev), w
        hist = hist[1:] + [w]
    return w


def test_train_scalar_matches_a_per_row_loop_with_delay_and_momentum():
    w0 = np.array([[0.9, 1.2, 1.1], [1.3, 0.8, 0.95], [1.0, 1.0, 1.0]])
    y = np.array([1.2, 0.9, 1.0])
    eta, tau, beta = np.array([0.2, 0.1, 0.3]), np.array([0, 2, 1]), np.array([0.0, 0.5, 0.2])
    run = train_scalar(w0, y, eta, 300, tau=tau, beta=beta)
    for r in range(3):
        ref = _scalar_reference(w0[r], y[r], eta[r], tau[r], beta[r], 300)
        assert np.allclose(run.final_w[r], ref, rtol=1e-10, atol=1e-12)
    _, g = scalar_grad(torch.tensor(w0), torch.tensor(y))
    wt = torch.tensor(w0, requires_grad=True)
    (ga,) = torch.autograd.grad((0.5 * (wt.prod(1) - torch.tensor(y)) ** 2).sum(), wt)
    assert torch.allclose(g, ga)


def test_padded_depths_run_like_separate_programs():
    a, b = np.array([[0.9, 1.2, 1.1]]), np.array([[1.1, 0.9, 1.05, 0.95]])
    w0, frozen = pad_depths([a, b])
    run = train_scalar(w0, np.array([1.0, 1.0]), np.array([0.3, 0.2]), 200, frozen=frozen)
    assert np.allclose(run.final_w[0, :3], train_scalar(a, [1.0], [0.3], 200).final_w[0])
    assert np.allclose(run.final_w[1], train_scalar(b, [1.0], [0.2], 200).final_w[0])
    assert run.final_w[0, 3] == 1.0


def test_scalar_run_marks_orthant_crossings_dead():
    run = train_scalar(np.array([[0.05, 3.0, 3.0]]), [1.0], [2.0], 50)
    assert run.dead[0] and run.died_at[0] > 0 and np.all(np.isfinite(run.w))


def test_gd_with_sharpness_tracks_the_dense_top_eigenvalue():
    widths = (4, 8, 3)
    X, Y = teacher_data(16, 4, 3, [0, 1], teacher_width=5)
    theta = init_mlp(widths, [0, 1])
    loss = mlp_loss(X, Y, widths)
    run = gd_with_sharpness(loss, theta, np.array([0.5, 0.5]), 20, every=5, lanczos_steps=10, first_steps=60)
    dense = torch.linalg.eigvalsh(C.dense_hessian(loss, run.theta))[:, -1].numpy()
    assert np.allclose(run.sharpness[:, -1, 0], dense, rtol=1e-4)
    # GD steps equal a plain autograd loop
    th = theta.clone()
    for _ in range(20):
        t = th.requires_grad_(True)
        (g,) = torch.autograd.grad(loss(t).sum(), t)
        th = (th - 0.5 * g).detach()
    assert torch.allclose(th, run.theta, atol=1e-12)


def test_relu1d_gradient_matches_autograd():
    theta = init_relu1d(7, [0, 1])
    x = torch.randn((2, 5), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = torch.randn((2, 5), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    value, g = relu1d_grad(theta, x, y)
    t = theta.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad(relu1d_loss(x, y)(t).sum(), t)
    assert torch.allclose(g, ga, atol=1e-14) and torch.allclose(value, relu1d_loss(x, y)(theta))


def test_normalized_and_plain_gd_match_numpy_loops():
    Z = sparse_separable(12, 5, [0])
    run = normalized_gd(Z, 0.3, 0.05, 40, linear=True, anneal=0.1)
    z = Z[0].numpy()
    a, u, v = np.zeros(5), np.full(5, 0.3), np.full(5, 0.3)
    for h in step_schedule(0.05, 40, 0.1):
        m = z @ (a + u * u - v * v)
        p = np.exp(-(m - m.min()))
        g = (p / p.sum()) @ z
        a, u, v = a + h * g, u * (1 + 2 * h * g), v * (1 - 2 * h * g)
    assert np.allclose(run.a[0, -1], a) and np.allclose(run.b[0, -1], u * u - v * v)
    log_loss, smoothed, _ = plain_gd_margin(Z, 0.3, 0.01, 5)
    u = v = np.full(5, 0.3)
    for _ in range(5):
        m = z @ (u * u - v * v)
        g = np.exp(-m) @ z
        u, v = u * (1 + 2 * 0.01 * g), v * (1 - 2 * 0.01 * g)
    m = z @ (u * u - v * v)
    assert np.isclose(log_loss[0, -1], np.log(np.exp(-m).sum()))
    assert np.isclose(smoothed[0, -1], -np.log(np.exp(-m).sum()) / (u @ u + v @ v))


def test_lazy_rich_gradients_match_autograd():
    data = single_index_task(10, 5, 4, 6, [0])
    run = train_lazy_rich(data, np.array([0.5]), 0.1, 1, record_every=1)
    W, a = data.W.clone().requires_grad_(True), data.a.clone().requires_grad_(True)

    def f(W, a, X):
        return torch.relu(X @ W.transpose(1, 2) / 2.0).matmul(a[..., None])[..., 0] / 6**0.5

    loss = 0.5 * ((0.5 * (f(W, a, data.X) - f(data.W, data.a, data.X)) - data.y) ** 2).mean()
    assert np.isclose(run.train[0, 0], float(loss.detach()))
    gW, ga = torch.autograd.grad(loss, (W, a))
    W1, a1 = data.W - 0.1 / 0.25 * gW, data.a - 0.1 / 0.25 * ga
    loss1 = 0.5 * ((0.5 * (f(W1, a1, data.X) - f(data.W, data.a, data.X)) - data.y) ** 2).mean()
    assert np.isclose(run.train[0, 1], float(loss1.detach()), rtol=1e-12)
