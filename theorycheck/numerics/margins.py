r"""Margins of diagonal networks and of the non-homogeneous ensemble $f(x) = a^\top x + (u\circ u - v\circ v)^\top x$
on separable data, trained with the exponential loss (torch, float64, batched over rows).

With $Z$ the rows $z_i = y_ix_i$, margins $m_i = z_i^\top(a + u\circ u - v\circ v)$ and
$L = \sum_i e^{-m_i}$. Two trainers:

* :func:`normalized_gd` — loss-normalized GD, the step $\eta\nabla L/L = -\eta\nabla\log L$. With
  $p = \mathrm{softmax}(-m)$ and $g = Z^\top p$ (computed in log space: $L$ itself underflows once
  the margins are large): $a \leftarrow a + \eta g$, $u \leftarrow u\circ(1 + 2\eta g)$,
  $v \leftarrow v\circ(1 - 2\eta g)$. The norm grows exponentially, the direction converges; ``linear``
  switches the degree-1 part $a$ on (ensemble) or off (diagonal network).
* :func:`plain_gd_margin` — plain GD on $L$ for the diagonal network, with the smoothed normalized
  margin of Lyu & Li, $\tilde\gamma = \log(1/L)/\|\theta\|^2$ ($\theta = (u, v)$, the model is
  2-homogeneous), recorded at *every* step.

:func:`sparse_separable` draws the data: Gaussian inputs labelled by a sparse teacher.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.data import seed_generator
from theorycheck.numerics.trajectory import log_spaced_steps

__all__ = ["sparse_separable", "MarginRun", "step_schedule", "normalized_gd", "plain_gd_margin"]


def sparse_separable(n: int, dim: int, seeds: Sequence[int], teacher: Sequence[float] = (1.0, -0.7, 0.5)
                     ) -> torch.Tensor:
    """``Z`` (S, n, dim): rows $y_ix_i$ with $x_i \\sim N(0, I)$ and $y_i = \\mathrm{sign}(w_\\star^\\top x_i)$,
    $w_\\star$ = ``teacher`` padded with zeros (separable by construction)."""
    if n < 2 or dim < len(teacher):
        raise InputError(f"need n >= 2 and dim >= len(teacher); got n={n}, dim={dim}")
    w = torch.zeros(dim, dtype=torch.float64)
    w[: len(teacher)] = torch.as_tensor(teacher, dtype=torch.float64)
    out = []
    for seed in seeds:
        X = torch.randn((n, dim), generator=seed_generator(int(seed) + 65_537), dtype=torch.float64)
        y = torch.sign(X @ w)
        y[y == 0] = 1.0
        out.append(y[:, None] * X)
    return torch.stack(out)


@dataclass
class MarginRun:
    """``a``, ``b`` = u∘u − v∘v (B, T, d) and ``sq_norm`` = ‖a‖² + ‖u‖² + ‖v‖² (B, T) at ``steps`` (T,);
    the final factors ``u``, ``v`` (B, d)."""

    steps: np.ndarray
    a: np.ndarray
    b: np.ndarray
    sq_norm: np.ndarray
    u: np.ndarray
    v: np.ndarray
    seconds: float


def step_schedule(eta: float, steps: int, anneal: float = 1.0) -> np.ndarray:
    """Per-step sizes: ``eta`` for the first half, then a geometric decay to ``eta * anneal`` at the end
    (``anneal`` = 1: constant). Normalized GD with a constant step hovers in an O(eta) band around its
    limit direction (the support vectors take turns); the decay lets it settle."""
    sizes = np.full(steps, float(eta))
    half = steps // 2
    if anneal != 1.0 and steps > half:
        sizes[half:] = eta * anneal ** (np.arange(1, steps - half + 1) / (steps - half))
    return sizes


def normalized_gd(Z: torch.Tensor, alpha: float, eta: float, steps: int, *, linear: bool, anneal: float = 1.0,
                  per_decade: int = 12) -> MarginRun:
    """Loss-normalized GD from $a = 0$, $u = v = \\alpha\\mathbf 1$ on every row of ``Z`` (B, n, d), with the
    step sizes of :func:`step_schedule`."""
    if alpha <= 0 or eta <= 0 or steps < 1:
        raise InputError(f"alpha and eta must be positive and steps >= 1, got {alpha}, {eta}, {steps}")
    B, n, d = Z.shape
    a = torch.zeros((B, d), dtype=Z.dtype, device=Z.device)
    u = torch.full((B, d), float(alpha), dtype=Z.dtype, device=Z.device)
    v = u.clone()
    grid = np.unique(np.concatenate([[0], log_spaced_steps(steps, per_decade)]))
    want = set(grid.tolist())
    sizes = step_schedule(eta, steps, anneal).tolist()
    As, Bs, Ns = [], [], []
    start = time.perf_counter()
    for t in range(steps + 1):
        if t in want:
            As.append(a.clone()), Bs.append(u * u - v * v), Ns.append((a * a + u * u + v * v).sum(dim=1))
        if t == steps:
            break
        m = torch.einsum("bnd,bd->bn", Z, a + u * u - v * v)
        g = torch.einsum("bn,bnd->bd", torch.softmax(-m, dim=1), Z)
        h = sizes[t]
        if linear:
            a = a + h * g
        u = u * (1 + 2 * h * g)
        v = v * (1 - 2 * h * g)
    seconds = time.perf_counter() - start
    if not bool(torch.isfinite(u * u).all() and torch.isfinite(v * v).all()):
        raise DivergenceError("loss-normalized GD: the weights overflowed (the norm grows exponentially; lower eta "
                              "or steps)", steps, float("inf"))
    stack = lambda xs: torch.stack(xs, dim=1).cpu().numpy()  # noqa: E731
    return MarginRun(grid.astype(np.int64), stack(As), stack(Bs), stack(Ns), u.cpu().numpy(), v.cpu().numpy(), seconds)


def plain_gd_margin(Z: torch.Tensor, alpha: float, eta: float, steps: int) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Plain GD on $L = \sum_i e^{-m_i}$ for $w = u\circ u - v\circ v$ from $u = v = \alpha\mathbf 1$; returns
    $\log L$ and $\tilde\gamma = -\log L/(\|u\|^2 + \|v\|^2)$ at every step, both (B, steps + 1), and seconds."""
    if alpha <= 0 or eta <= 0 or steps < 1:
        raise InputError(f"alpha and eta must be positive and steps >= 1, got {alpha}, {eta}, {steps}")
    B, n, d = Z.shape
    u = torch.full((B, d), float(alpha), dtype=Z.dtype, device=Z.device)
    v = u.clone()
    log_loss = torch.empty((B, steps + 1), dtype=Z.dtype, device=Z.device)
    smoothed = torch.empty_like(log_loss)
    start = time.perf_counter()
    for t in range(steps + 1):
        m = torch.einsum("bnd,bd->bn", Z, u * u - v * v)
        lse = torch.logsumexp(-m, dim=1)
        log_loss[:, t] = lse
        smoothed[:, t] = -lse / (u * u + v * v).sum(dim=1)
        if t == steps:
            break
        # grad_w L = -sum_i e^{-m_i} z_i = -L * Z^T softmax(-m)
        g = torch.exp(lse)[:, None] * torch.einsum("bn,bnd->bd", torch.softmax(-m, dim=1), Z)
        u = u * (1 + 2 * eta * g)
        v = v * (1 - 2 * eta * g)
    return log_loss.cpu().numpy(), smoothed.cpu().numpy(), time.perf_counter() - start
