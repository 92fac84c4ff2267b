r"""Tangent ranks of small models at parameters that represent a target, and recovery of a tanh teacher from small
initialization (torch, float64).

:func:`tangent_rank` builds the model at the "minimal" parameters of a generic random target — the target's units
in the first slots, every extra unit of the (wider) student at zero — and returns the numerical rank of the
Jacobian $[\partial f_\theta(x_i)/\partial\theta_p]$ over many generic inputs (singular values above
``rtol`` times the largest). :func:`recover_tanh_teacher` trains two-layer tanh students by full-batch GD from a
small initialization on $n$ samples of a tanh teacher, all sample sizes and seeds in one batch (padded samples
are masked out), and returns the relative test error.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.func import jacrev

from theorycheck.errors import InputError


def _pad(t: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    out = torch.zeros(shape, dtype=t.dtype)
    out[tuple(slice(0, s) for s in t.shape)] = t
    return out


def _model(architecture: str, length: int, kernel: int):
    """f(params, X) -> outputs (N,) for each architecture (factorization ignores X and returns vec(U V^T))."""
    if architecture == "factorization":
        return lambda p, X: (p["U"] @ p["V"].T).reshape(-1)
    if architecture in ("tanh2", "relu2"):
        act = torch.tanh if architecture == "tanh2" else torch.relu
        return lambda p, X: act(X @ p["W"].T) @ p["a"]
    if architecture == "tanh3":
        return lambda p, X: torch.tanh(torch.tanh(X @ p["W1"].T) @ p["W2"].T) @ p["a"]
    if architecture == "cnn1d":
        def cnn(p, X):
            patches = X.unfold(1, kernel, 1)                     # (N, length - kernel + 1, kernel)
            return torch.tanh(patches @ p["w"].T).sum(dim=1) @ p["a"]
        return cnn
    raise InputError(f"unknown architecture {architecture!r}")


def minimal_parameters(architecture: str, gen: torch.Generator, *, d: int, k: int, width: int, k2: int = 0,
                       width2: int = 0, r: int = 0, kernel: int = 0) -> dict[str, torch.Tensor]:
    """A generic target's parameters inside a student of the given width(s), extra units at zero."""
    randn = lambda *shape: torch.randn(shape, generator=gen, dtype=torch.float64)  # noqa: E731
    if architecture == "factorization":
        return {"U": _pad(randn(d, r), (d, d)), "V": _pad(randn(d, r), (d, d))}
    if width < k:
        raise InputError(f"student width {width} is below the target's {k} units")
    if architecture in ("tanh2", "relu2"):
        return {"W": _pad(randn(k, d) / d**0.5, (width, d)), "a": _pad(randn(k), (width,))}
    if architecture == "tanh3":
        if width2 < k2:
            raise InputError(f"student width2 {width2} is below the target's {k2} units")
        return {"W1": _pad(randn(k, d) / d**0.5, (width, d)), "W2": _pad(randn(k2, k) / k**0.5, (width2, width)),
                "a": _pad(randn(k2), (width2,))}
    if architecture == "cnn1d":
        return {"w": _pad(randn(k, kernel) / kernel**0.5, (width, kernel)), "a": _pad(randn(k), (width,))}
    raise InputError(f"unknown architecture {architecture!r}")


def tangent_rank(architecture: str, params: dict[str, torch.Tensor], inputs: torch.Tensor, *, kernel: int = 0,
                 rtol: float = 1e-8) -> tuple[int, int]:
    """(numerical rank of the Jacobian over ``inputs``, number of parameters)."""
    f = _model(architecture, inputs.shape[-1], kernel)
    jac = jacrev(f)(params, inputs)
    J = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1)
    sv = torch.linalg.svdvals(J)
    return int(torch.sum(sv > rtol * sv[0]).item()), J.shape[1]


def recover_tanh_teacher(seeds: Sequence[int], sizes: Sequence[int], *, d: int, k: int, width: int,
                         init_scale: float, lr: float, steps: int, test_points: int = 1000) -> np.ndarray:
    r"""Relative test error $\|f - f^*\|^2/\|f^*\|^2$ on fresh inputs, (S, len(sizes)), of two-layer tanh students
    (no biases) trained by full-batch GD on $\frac12\,\mathrm{mean}_i(f(x_i) - y_i)^2$ from
    $w, a\sim N(0, \text{init\_scale}^2)$, for teachers $f^*(x) = a^*\cdot\tanh(W^*x)$ with $k$ units,
    $W^*\sim N(0, I/d)$, $a^*\sim N(0, 1)$ (one teacher and one sample per seed, nested in $n$)."""
    if min(sizes) < 1 or width < 1 or steps < 1:
        raise InputError(f"sizes, width and steps must be positive, got {sizes}, {width}, {steps}")
    n_max, G = max(sizes), len(sizes)
    Xs, ys, Xt, yt, Ws, As = [], [], [], [], [], []
    for seed in seeds:
        gen = torch.Generator()
        gen.manual_seed(int(seed) * 1_000_033 + 5)
        Wt = torch.randn((k, d), generator=gen, dtype=torch.float64) / d**0.5
        at = torch.randn((k,), generator=gen, dtype=torch.float64)
        X = torch.randn((n_max, d), generator=gen, dtype=torch.float64)
        Xte = torch.randn((test_points, d), generator=gen, dtype=torch.float64)
        Xs.append(X), ys.append(torch.tanh(X @ Wt.T) @ at), Xt.append(Xte), yt.append(torch.tanh(Xte @ Wt.T) @ at)
        Ws.append(init_scale * torch.randn((width, d), generator=gen, dtype=torch.float64))
        As.append(init_scale * torch.randn((width,), generator=gen, dtype=torch.float64))
    rep = lambda t: torch.stack(t).repeat_interleave(G, dim=0)          # noqa: E731  (S*G, ...)
    X, y, W, a = rep(Xs), rep(ys), rep(Ws), rep(As)
    mask = (torch.arange(n_max)[None, :] < torch.tensor(list(sizes) * len(seeds))[:, None]).to(torch.float64)
    count = mask.sum(dim=1)
    for _ in range(steps):
        H = torch.tanh(X @ W.transpose(1, 2))                            # (B, n, m)
        r = (torch.einsum("bnm,bm->bn", H, a) - y) * mask / count[:, None]
        grad_a = torch.einsum("bnm,bn->bm", H, r)
        grad_W = torch.einsum("bnm,bnd->bmd", (1 - H * H) * r[..., None] * a[:, None, :], X)
        a = a - lr * grad_a
        W = W - lr * grad_W
    Xte, yte = rep(Xt), rep(yt)
    err = ((torch.einsum("bnm,bm->bn", torch.tanh(Xte @ W.transpose(1, 2)), a) - yte) ** 2).mean(1)
    rel = err / (yte**2).mean(1)
    rel = torch.where(torch.isfinite(rel), rel, torch.full_like(rel, 1e300))
    return rel.reshape(len(seeds), G).numpy()
