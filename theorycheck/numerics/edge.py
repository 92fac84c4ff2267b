r"""Full-batch GD with the sharpness tracked, and the small tanh MLPs of the edge-of-stability runs
(torch, float64, batched over rows).

:func:`gd_with_sharpness` is model-agnostic: it takes a batched loss closure over a flat (B, P)
parameter tensor (:mod:`theorycheck.numerics.curvature`) and per-row step sizes, runs
$\theta_{t+1} = \theta_t - \eta_b\nabla L_b(\theta_t)$, records every step's loss and, every
``every`` steps, the top Hessian eigenvalues by batched Lanczos warm-started from the previous top
eigenvector (``lanczos_steps`` HVPs; the first snapshot uses ``first_steps``). Warm starts make a
handful of HVPs enough between nearby iterates; the residual $\|Hv - \lambda v\|$ of each estimate is
recorded so a run can say how accurate its sharpness was.

:func:`teacher_data` and :func:`init_mlp` build the Cohen et al.-style setting: Gaussian inputs,
one-hot labels from the argmax of a random two-layer tanh teacher, a tanh MLP student with
$N(0, 1/\text{fan-in})$ weights and zero biases, squared loss
$L = \frac1{2n}\sum_j\|f(x_j) - y_j\|^2$ (½ summed over outputs, mean over examples).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics import curvature
from theorycheck.numerics.data import seed_generator

__all__ = ["SharpnessRun", "gd_with_sharpness", "teacher_data", "init_mlp", "mlp_shapes", "mlp_loss"]


def teacher_data(n: int, dim: int, classes: int, seeds: Sequence[int], teacher_width: int = 32
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``X`` (S, n, dim) standard normal and one-hot ``Y`` (S, n, classes) from a random tanh teacher."""
    if min(n, dim, classes, teacher_width) < 1:
        raise InputError("n, dim, classes and teacher_width must be positive")
    Xs, Ys = [], []
    for seed in seeds:
        g = seed_generator(int(seed))
        X = torch.randn((n, dim), generator=g, dtype=torch.float64)
        W1 = torch.randn((teacher_width, dim), generator=g, dtype=torch.float64) / dim**0.5
        W2 = torch.randn((classes, teacher_width), generator=g, dtype=torch.float64) / teacher_width**0.5
        labels = (torch.tanh(X @ W1.T) @ W2.T).argmax(dim=1)
        Xs.append(X)
        Ys.append(torch.nn.functional.one_hot(labels, classes).to(torch.float64))
    return torch.stack(Xs), torch.stack(Ys)


def mlp_shapes(widths: Sequence[int]) -> list[tuple[int, ...]]:
    """Per-model parameter shapes [(W1), (b1), (W2), (b2), ...] for layer widths (in, h1, ..., out)."""
    if len(widths) < 2 or min(widths) < 1:
        raise InputError(f"widths must list at least an input and an output size, got {tuple(widths)}")
    shapes: list[tuple[int, ...]] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        shapes += [(fan_out, fan_in), (fan_out,)]
    return shapes


def init_mlp(widths: Sequence[int], seeds: Sequence[int]) -> torch.Tensor:
    """Flat (S, P) parameters: weights N(0, 1/fan_in), biases 0, one row per seed (its own generator)."""
    rows = []
    for seed in seeds:
        g = seed_generator(int(seed) + 104_729)
        parts = []
        for shape in mlp_shapes(widths):
            if len(shape) == 2:
                parts.append((torch.randn(shape, generator=g, dtype=torch.float64) / shape[1] ** 0.5).ravel())
            else:
                parts.append(torch.zeros(shape, dtype=torch.float64))
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def mlp_loss(X: torch.Tensor, Y: torch.Tensor, widths: Sequence[int]) -> curvature.BatchedLoss:
    r"""Batched loss $\frac1{2n}\sum_j\|f_b(x_{bj}) - y_{bj}\|^2$ of tanh MLPs, ``X`` (B, n, in), ``Y`` (B, n, out)."""
    shapes = mlp_shapes(widths)

    def loss(theta: torch.Tensor) -> torch.Tensor:
        params = curvature.unflatten(theta, shapes)
        h = X
        for j in range(0, len(params), 2):
            W, b = params[j], params[j + 1]
            h = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))
            if j + 2 < len(params):
                h = torch.tanh(h)
        return 0.5 * ((h - Y) ** 2).sum(dim=-1).mean(dim=-1)

    return loss


@dataclass
class SharpnessRun:
    """``loss`` (B, T+1) at every step; ``sharpness`` (B, K, k) top-k Hessian eigenvalues at
    ``sharp_steps`` (K,); ``residual`` (B, K) Lanczos residual of the top one; ``theta`` the final
    parameters (B, P); ``hvps`` batched Hessian-vector products spent."""

    loss: np.ndarray
    sharp_steps: np.ndarray
    sharpness: np.ndarray
    residual: np.ndarray
    theta: torch.Tensor
    hvps: int
    seconds: float


def gd_with_sharpness(loss: curvature.BatchedLoss, theta0: torch.Tensor, eta: torch.Tensor | np.ndarray,
                      steps: int, *, every: int = 5, k: int = 1, lanczos_steps: int = 8, first_steps: int = 30,
                      generator: torch.Generator | None = None) -> SharpnessRun:
    """Full-batch GD on B independent models with the top-``k`` Hessian eigenvalues every ``every`` steps."""
    if steps < 1 or every < 1 or k < 1 or lanczos_steps < k:
        raise InputError("steps, every and k must be >= 1 and lanczos_steps >= k")
    theta = theta0.detach().clone()
    B = theta.shape[0]
    eta_t = torch.as_tensor(np.asarray(eta, dtype=float), dtype=theta.dtype, device=theta.device).reshape(B, 1)
    losses = torch.empty((B, steps + 1), dtype=theta.dtype, device=theta.device)
    snaps, resid, at = [], [], []
    v = None
    hvps = 0
    start = time.perf_counter()
    for t in range(steps + 1):
        if t % every == 0 or t == steps:
            op = curvature.HessianOperator(loss, theta)
            top, _ = curvature.lanczos(op, k=k, steps=first_steps if v is None else lanczos_steps, tol=0.0,
                                       v0=v, generator=generator, check_every=10**9)
            v = top.vectors
            snaps.append(top.values)
            resid.append(top.residual)
            at.append(t)
            hvps += op.matvecs
            grad, value = op.gradient.detach(), op.loss
        else:
            th = theta.requires_grad_(True)
            value = loss(th)
            (grad,) = torch.autograd.grad(value.sum(), th)
            value = value.detach()
        losses[:, t] = value
        if t == steps:
            break
        theta = (theta.detach() - eta_t * grad).detach()
    seconds = time.perf_counter() - start
    loss_np = losses.cpu().numpy()
    if not np.all(np.isfinite(loss_np)):
        row, step = np.argwhere(~np.isfinite(loss_np))[0]
        raise DivergenceError(f"GD loss of row {row}", int(step), float(loss_np[row, max(step - 1, 0)]))
    return SharpnessRun(loss=loss_np, sharp_steps=np.asarray(at, dtype=np.int64),
                        sharpness=torch.stack(snaps, dim=1).cpu().numpy(), residual=torch.stack(resid, dim=1).cpu().numpy(),
                        theta=theta.detach(), hvps=hvps, seconds=seconds)
