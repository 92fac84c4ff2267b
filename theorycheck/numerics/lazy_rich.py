r"""Centered two-layer ReLU networks with an output scale $\alpha$ (the laziness), trained by full-batch GD on
a single-index regression task, batched over (scale × seed) (torch, float64).

Model: $f(x) = \alpha\,(g_\theta(x) - g_{\theta_0}(x))$, $g_\theta(x) = N^{-1/2}\sum_{i\le N}a_i\,
\mathrm{relu}(w_i^\top x/\sqrt d)$, loss $L = \frac1{2n}\sum_j(f(x_j) - y_j)^2$, step $\eta/\alpha^2$. With that
step the function-space (kernel) dynamics do not depend on $\alpha$, while each parameter moves by
$O(\eta/\alpha)$: large $\alpha$ is lazy (the initial kernel), small $\alpha$ rich (features learned), and the
time at which features move enough to matter grows with $\alpha$. Target $y = (\beta^\top x)^2 - 1$ with
$\|\beta\| = 1$, $x\sim N(0, I_d)$ (train and test sets drawn per seed). Closed-form gradients:
with $r = (f - y)/n$, $h = \mathrm{relu}(Xw^\top/\sqrt d)$: $\nabla_a = \alpha N^{-1/2}h^\top r$,
$\nabla_W = \alpha N^{-1/2}((r a^\top)\odot 1[z > 0])^\top X/\sqrt d$.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.data import seed_generator

__all__ = ["LazyRichData", "single_index_task", "LazyRichRun", "train_lazy_rich"]


@dataclass
class LazyRichData:
    """Per seed: train ``X`` (S, n, d), ``y`` (S, n), test ``Xt``, ``yt``, and the init ``W`` (S, N, d), ``a`` (S, N)."""

    X: torch.Tensor
    y: torch.Tensor
    Xt: torch.Tensor
    yt: torch.Tensor
    W: torch.Tensor
    a: torch.Tensor
    seeds: list[int]


def single_index_task(n: int, n_test: int, dim: int, width: int, seeds: Sequence[int]) -> LazyRichData:
    """Draw $\\beta$, train/test inputs and the network init for each seed (standard normal weights)."""
    if min(n, n_test, dim, width) < 1:
        raise InputError("n, n_test, dim and width must be positive")
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("X", "y", "Xt", "yt", "W", "a")}
    for seed in seeds:
        g = seed_generator(int(seed) + 271_828)
        beta = torch.randn(dim, generator=g, dtype=torch.float64)
        beta = beta / beta.norm()
        X = torch.randn((n, dim), generator=g, dtype=torch.float64)
        Xt = torch.randn((n_test, dim), generator=g, dtype=torch.float64)
        parts["X"].append(X), parts["y"].append((X @ beta) ** 2 - 1)
        parts["Xt"].append(Xt), parts["yt"].append((Xt @ beta) ** 2 - 1)
        parts["W"].append(torch.randn((width, dim), generator=g, dtype=torch.float64))
        parts["a"].append(torch.randn(width, generator=g, dtype=torch.float64))
    return LazyRichData(**{k: torch.stack(v) for k, v in parts.items()}, seeds=[int(s) for s in seeds])


@dataclass
class LazyRichRun:
    """Train and test loss (B, T) at ``steps`` (T,) (every ``record_every`` steps)."""

    steps: np.ndarray
    train: np.ndarray
    test: np.ndarray
    seconds: float


def _g(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    Z = torch.bmm(X, W.transpose(1, 2)) / X.shape[-1] ** 0.5
    return torch.einsum("bnm,bm->bn", torch.relu(Z), a) / a.shape[-1] ** 0.5, Z


def train_lazy_rich(data: LazyRichData, alphas: np.ndarray, eta: float, steps: int, record_every: int = 10
                    ) -> LazyRichRun:
    """GD on every (alpha, seed) row: row ``k * S + s`` has scale ``alphas[k]`` and seed ``s``."""
    alphas = np.asarray(alphas, dtype=float)
    if np.any(alphas <= 0) or eta <= 0 or steps < 1 or record_every < 1:
        raise InputError("alphas and eta must be positive, steps and record_every >= 1")
    K = alphas.size
    rep = lambda t: t.repeat(K, *([1] * (t.ndim - 1)))  # noqa: E731
    X, y, Xt, yt, W, a = (rep(getattr(data, k)) for k in ("X", "y", "Xt", "yt", "W", "a"))
    S = data.X.shape[0]
    al = torch.as_tensor(np.repeat(alphas, S), dtype=X.dtype, device=X.device)
    lr = eta / al**2
    g0, _ = _g(W, a, X)
    g0t, _ = _g(W, a, Xt)
    n, d, N = X.shape[1], X.shape[2], W.shape[1]
    train, test, at = [], [], []
    start = time.perf_counter()
    for t in range(steps + 1):
        gx, Z = _g(W, a, X)
        r = al[:, None] * (gx - g0) - y
        if t % record_every == 0 or t == steps:
            gt, _ = _g(W, a, Xt)
            rt = al[:, None] * (gt - g0t) - yt
            train.append(0.5 * (r * r).mean(dim=1)), test.append(0.5 * (rt * rt).mean(dim=1)), at.append(t)
        if t == steps:
            break
        dl = al[:, None] * r / (n * N**0.5)  # dL/dg per sample times N^{-1/2}
        ga = torch.einsum("bnm,bn->bm", torch.relu(Z), dl)
        gW = torch.bmm(((Z > 0).to(X.dtype) * dl[:, :, None] * a[:, None, :]).transpose(1, 2), X) / d**0.5
        a = a - lr[:, None] * ga
        W = W - lr[:, None, None] * gW
    seconds = time.perf_counter() - start
    tr, te = torch.stack(train, 1).cpu().numpy(), torch.stack(test, 1).cpu().numpy()
    if not (np.all(np.isfinite(tr)) and np.all(np.isfinite(te))):
        row = int(np.argwhere(~np.isfinite(tr).all(axis=1) | ~np.isfinite(te).all(axis=1))[0, 0])
        raise DivergenceError(f"lazy-rich training (alpha={np.repeat(alphas, S)[row]:g})", -1, float("nan"))
    return LazyRichRun(np.asarray(at, dtype=np.int64), tr, te, seconds)
