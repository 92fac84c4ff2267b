r"""Univariate shallow ReLU networks $f(x) = \sum_{i\le k} a_i\,\mathrm{relu}(w_ix + b_i) + c$ trained by
full-batch GD, batched over rows (torch, float64).

Parameters of one network are stored flat as $\theta = (w_{1..k}, b_{1..k}, a_{1..k}, c)$, $P = 3k + 1$,
rows = networks. Loss $L = \frac1{2n}\sum_j(f(x_j) - y_j)^2$ with the closed-form gradient
($r_j = f(x_j) - y_j$, $h_{ij} = \mathrm{relu}(w_ix_j + b_i)$, $m_{ij} = 1[w_ix_j + b_i > 0]$):
$\partial_{a_i} = \frac1n\sum_j r_jh_{ij}$, $\partial_{w_i} = \frac1n\sum_j r_ja_im_{ij}x_j$,
$\partial_{b_i} = \frac1n\sum_j r_ja_im_{ij}$, $\partial_c = \frac1n\sum_j r_j$; the Jacobian rows
$\nabla_\theta f(x_j)$ give the Gauss–Newton matrix $G = J^\top J/n$. :func:`relu1d_loss` is the
batched closure for :mod:`theorycheck.numerics.curvature` (the Hessian of a ReLU net is defined
away from the measure-zero set where a kink sits on a data point).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.data import seed_generator
from theorycheck.numerics.trajectory import Recorder, log_spaced_steps

__all__ = ["split", "init_relu1d", "relu1d_forward", "relu1d_loss", "relu1d_grad", "relu1d_jacobian",
           "Relu1dRun", "train_relu1d"]


def split(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(w, b, a, c)`` views of flat parameters (B, 3k + 1)."""
    P = theta.shape[-1]
    if (P - 1) % 3:
        raise InputError(f"a univariate ReLU net has 3k + 1 parameters, got {P}")
    k = (P - 1) // 3
    return theta[..., :k], theta[..., k:2 * k], theta[..., 2 * k:3 * k], theta[..., 3 * k]


def init_relu1d(width: int, seeds, scale: float = 1.0) -> torch.Tensor:
    r"""Rows $(w, b, a, c)$: $w_i \sim N(0, 1)$, $b_i \sim U(-1, 1)$ (kinks spread over the data range),
    $a_i \sim N(0, \mathrm{scale}^2/k)$, $c = 0$; one row per seed."""
    if width < 1:
        raise InputError(f"width must be >= 1, got {width}")
    rows = []
    for seed in seeds:
        g = seed_generator(int(seed) + 31_337)
        w = torch.randn(width, generator=g, dtype=torch.float64)
        b = torch.rand(width, generator=g, dtype=torch.float64) * 2 - 1
        a = torch.randn(width, generator=g, dtype=torch.float64) * scale / width**0.5
        rows.append(torch.cat([w, b, a, torch.zeros(1, dtype=torch.float64)]))
    return torch.stack(rows)


def relu1d_forward(theta: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs (B, n) and pre-activations (B, k, n) for inputs ``x`` (B, n)."""
    w, b, a, c = split(theta)
    z = w[..., :, None] * x[..., None, :] + b[..., :, None]
    return torch.einsum("bk,bkn->bn", a, torch.relu(z)) + c[..., None], z


def relu1d_loss(x: torch.Tensor, y: torch.Tensor):
    """Batched closure ``theta (B, P) -> (B,)`` of $\\frac1{2n}\\sum_j(f(x_j) - y_j)^2$."""

    def loss(theta: torch.Tensor) -> torch.Tensor:
        f, _ = relu1d_forward(theta, x)
        return 0.5 * ((f - y) ** 2).mean(dim=-1)

    return loss


def relu1d_jacobian(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """$J$ (B, n, P) with rows $\\nabla_\\theta f(x_j)$ in the order (w, b, a, c)."""
    w, b, a, c = split(theta)
    _, z = relu1d_forward(theta, x)
    m = (z > 0).to(theta.dtype)  # (B, k, n)
    dw = (a[..., :, None] * m * x[..., None, :]).transpose(-1, -2)
    db = (a[..., :, None] * m).transpose(-1, -2)
    da = torch.relu(z).transpose(-1, -2)
    dc = torch.ones_like(x)[..., None]
    return torch.cat([dw, db, da, dc], dim=-1)


def relu1d_grad(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss (B,) and closed-form gradient (B, P)."""
    w, b, a, c = split(theta)
    f, z = relu1d_forward(theta, x)
    r = (f - y) / x.shape[-1]  # (B, n)
    m = (z > 0).to(theta.dtype)
    mr = m * r[..., None, :]  # (B, k, n)
    db = a * mr.sum(dim=-1)
    dw = a * (mr * x[..., None, :]).sum(dim=-1)
    da = (torch.relu(z) * r[..., None, :]).sum(dim=-1)
    dc = r.sum(dim=-1, keepdim=True)
    return 0.5 * ((f - y) ** 2).mean(dim=-1), torch.cat([dw, db, da, dc], dim=-1)


@dataclass
class Relu1dRun:
    """Loss (B, T) at log-spaced ``steps`` (T,); final parameters (B, P) and loss (B,)."""

    steps: np.ndarray
    loss: np.ndarray
    theta: torch.Tensor
    final_loss: np.ndarray
    seconds: float


def train_relu1d(theta0: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eta: np.ndarray, steps: int,
                 per_decade: int = 10) -> Relu1dRun:
    """Full-batch GD on B networks (rows of ``theta0``, data ``x``, ``y`` (B, n), step sizes ``eta`` (B,))."""
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    theta = theta0.detach().clone()
    eta_t = torch.as_tensor(np.asarray(eta, dtype=float), dtype=theta.dtype, device=theta.device).reshape(-1, 1)
    grid = np.unique(np.concatenate([[0], log_spaced_steps(steps, per_decade)]))
    rec = Recorder(grid)
    start = time.perf_counter()
    for t in range(steps + 1):
        value, g = relu1d_grad(theta, x, y)
        if rec.wants(t):
            rec.record(loss=value)
        if t == steps:
            break
        theta = theta - eta_t * g
    seconds = time.perf_counter() - start
    loss = rec.finish()["loss"]
    if not np.all(np.isfinite(loss)):
        row, k = np.argwhere(~np.isfinite(loss))[0]
        raise DivergenceError(f"ReLU-net loss of row {row}", int(grid[k]), float(loss[row, max(k - 1, 0)]))
    return Relu1dRun(grid.astype(np.int64), loss, theta, loss[:, -1], seconds)
