r"""Gradient descent on factorized models, batched over seeds and configurations (torch only).

* :func:`gd_symmetric_sensing` — symmetric matrix sensing with $X = UU^\top$, $U\in\mathbb R^{n\times n}$,
  loss $L(U) = \frac{1}{2m}\sum_i(\langle A_i, UU^\top\rangle - y_i)^2$, closed-form gradient
  $\nabla_U L = \frac{2}{m}\mathcal A^*(r)\,U$ (symmetric $A_i$), update $U \leftarrow U - \eta\nabla_U L$
  (Wu & Rebeschini's $U \leftarrow U - 2\eta\mathcal A^*(r)U/m$), from $U_0 = \sqrt{\alpha}\,I$.
  One tensor program over (seed, alpha).
* :func:`gd_dropout_factorization` — plain GD on the dropout objective of matrix factorization,
  $\|Y - UV^\top\|_F^2 + \lambda\sum_i\|u_i\|^2\|v_i\|^2$ (the expectation over dropout masks on the $r$
  factor columns; Mianjy, Arora & Vidal 2018), batched over seeds.
* :func:`sgd_dropout_factorization` — the dropout itself: SGD on $\|Y - U\,\mathrm{diag}(b/\theta)V^\top\|_F^2$
  with a fresh Bernoulli mask $b$ on the $r$ columns each step, several step sizes at once, averaged iterates.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.device import DEFAULT_DTYPE
from theorycheck.numerics.trajectory import Recorder, Trajectory, log_spaced_steps


def gd_symmetric_sensing(A: np.ndarray, y: np.ndarray, alphas: Sequence[float], lr: float, steps: int,
                         device: torch.device | str = "cpu", per_decade: int = 10,
                         snapshot_matrices: bool = False) -> Trajectory:
    r"""GD on $\frac1{2m}\|\mathcal A(UU^\top) - y\|^2$ from $U_0 = \sqrt\alpha I$ for every (seed, alpha).

    ``A`` has shape (S, m, n, n) (symmetric), ``y`` (S, m); ``alphas`` (K,). Returns a Trajectory with
    series ``residual`` (S, T, K) $= \|\mathcal A(X) - y\|/\|y\|$ and ``trace`` (S, T, K) (and ``X`` of shape
    (S, T, K, n, n) when ``snapshot_matrices``); final ``X`` (S, K, n, n) and ``residual`` (S, K).
    """
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float)
    if A.ndim != 4 or A.shape[2] != A.shape[3] or y.shape != A.shape[:2]:
        raise InputError(f"A must be (S, m, n, n) and y (S, m); got {A.shape} and {y.shape}")
    alphas = np.asarray(alphas, dtype=float)
    if np.any(alphas <= 0) or not np.all(np.isfinite(alphas)):
        raise InputError(f"alphas must be positive and finite, got {alphas.tolist()}")
    if lr <= 0:
        raise InputError(f"lr must be positive, got {lr}")
    if steps < 1:
        raise InputError(f"steps must be at least 1, got {steps}")
    S, m, n, _ = A.shape
    K = len(alphas)
    start = time.perf_counter()
    dev = torch.device(device)
    # full vectorization (no triangular gather/scatter: measured faster on CPUs): <A_i, X> = vec(A_i) . vec(X)
    Af = torch.as_tensor(A, dtype=DEFAULT_DTYPE, device=dev).reshape(S, m, n * n)             # (S, m, n^2)
    AfT = Af.transpose(1, 2).contiguous()                                                     # (S, n^2, m)
    yt = torch.as_tensor(y, dtype=DEFAULT_DTYPE, device=dev)[:, None, :]                    # (S, 1, m)
    ynorm = yt.norm(dim=-1)                                                                  # (S, 1)
    eye = torch.eye(n, dtype=DEFAULT_DTYPE, device=dev)
    U = (torch.as_tensor(np.sqrt(alphas), dtype=DEFAULT_DTYPE, device=dev)[None, :, None, None] * eye).repeat(S, 1, 1, 1)
    scale = 2.0 * lr / m
    grid = log_spaced_steps(steps, per_decade=per_decade, start=1)
    grid = np.unique(np.concatenate([[0], grid]))
    rec = Recorder(grid)

    for t in range(steps + 1):
        X = U @ U.transpose(-1, -2)
        r = torch.bmm(X.reshape(S, K, n * n), AfT) - yt                                       # (S, K, m)
        if rec.wants(t):
            values = dict(residual=r.norm(dim=-1) / ynorm,
                          trace=torch.diagonal(X, dim1=-2, dim2=-1).sum(-1))
            if snapshot_matrices:
                values["X"] = X
            rec.record(**values)
        if t == steps:
            break
        G = torch.bmm(r, Af).reshape(S, K, n, n)                                              # A*(r), symmetric
        U = torch.baddbmm(U.reshape(S * K, n, n), G.reshape(S * K, n, n), U.reshape(S * K, n, n),
                          alpha=-scale).reshape(S, K, n, n)
    series = rec.finish()
    X_final = X.cpu().numpy()
    res_final = (r.norm(dim=-1) / ynorm).cpu().numpy()
    if not np.all(np.isfinite(X_final)):
        bad = np.argwhere(~np.isfinite(series["trace"]))
        step = int(grid[bad[0, 1]]) if len(bad) else steps
        raise DivergenceError("trace of U U^T", step, float("nan"))
    return Trajectory(steps=grid, series=series, final={"X": X_final, "residual": res_final},
                      device=str(dev), seconds=time.perf_counter() - start)


def _factor_init(seeds: Sequence[int], d1: int, d2: int, r: int, init_scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$U, V$ i.i.d. $\mathcal N(0, \text{init\_scale}^2)$, (S, d1, r) and (S, d2, r), from a CPU generator per seed."""
    Us, Vs = [], []
    for s in seeds:
        g = torch.Generator(device="cpu").manual_seed(int(s))
        Us.append(init_scale * torch.randn(d1, r, generator=g, dtype=DEFAULT_DTYPE))
        Vs.append(init_scale * torch.randn(d2, r, generator=g, dtype=DEFAULT_DTYPE))
    return torch.stack(Us), torch.stack(Vs)


def gd_dropout_factorization(Y: np.ndarray, r: int, lam: float, lr: float, steps: int, init_scale: float,
                             seeds: Sequence[int], device: torch.device | str = "cpu",
                             per_decade: int = 10) -> Trajectory:
    r"""GD on $f(U,V) = \|Y - UV^\top\|_F^2 + \lambda\sum_{i\le r}\|u_i\|^2\|v_i\|^2$ for each seed's $Y$.

    ``Y`` (S, d1, d2). Init $U, V$ i.i.d. $\mathcal N(0, \text{init\_scale}^2)$ from a generator seeded with the
    seed. Closed-form gradients: $\nabla_U = -2RV + 2\lambda U\,\mathrm{diag}(\|v_i\|^2)$,
    $\nabla_V = -2R^\top U + 2\lambda V\,\mathrm{diag}(\|u_i\|^2)$ with $R = Y - UV^\top$.
    Series ``objective`` (S, T); final ``M`` (S, d1, d2), ``U``, ``V``.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 3:
        raise InputError(f"Y must be (S, d1, d2), got {Y.shape}")
    if lr <= 0 or steps < 1 or r < 1 or lam < 0 or init_scale <= 0:
        raise InputError(f"need lr > 0, steps >= 1, r >= 1, lam >= 0, init_scale > 0; got {lr}, {steps}, {r}, "
                         f"{lam}, {init_scale}")
    S, d1, d2 = Y.shape
    dev = torch.device(device)
    start = time.perf_counter()
    Ys = torch.as_tensor(Y, dtype=DEFAULT_DTYPE, device=dev)
    U, V = (x.to(dev) for x in _factor_init(seeds, d1, d2, r, init_scale))
    grid = log_spaced_steps(steps, per_decade=per_decade, start=1)
    rec = Recorder(grid)
    for t in range(1, steps + 1):
        R = Ys - U @ V.transpose(1, 2)
        nu = (U * U).sum(1, keepdim=True)
        nv = (V * V).sum(1, keepdim=True)
        gU = -2.0 * R @ V + 2.0 * lam * U * nv
        gV = -2.0 * R.transpose(1, 2) @ U + 2.0 * lam * V * nu
        U = U - lr * gU
        V = V - lr * gV
        if rec.wants(t):
            R = Ys - U @ V.transpose(1, 2)
            obj = (R * R).sum((1, 2)) + lam * ((U * U).sum(1) * (V * V).sum(1)).sum(-1)
            rec.record(objective=obj)
    series = rec.finish()
    M = (U @ V.transpose(1, 2)).cpu().numpy()
    if not np.all(np.isfinite(M)):
        raise DivergenceError("U V^T", steps, float("nan"))
    return Trajectory(steps=grid, series=series,
                      final={"M": M, "U": U.cpu().numpy(), "V": V.cpu().numpy()},
                      device=str(dev), seconds=time.perf_counter() - start)


def sgd_dropout_factorization(Y: np.ndarray, r: int, keep: float, lrs: Sequence[float], steps: int, burn_in: int,
                              init_scale: float, seeds: Sequence[int], device: torch.device | str = "cpu",
                              chunk: int = 512) -> Trajectory:
    r"""SGD with real dropout on the shared dimension of $UV^\top$: $f_b(U, V) = \|Y - U\,\mathrm{diag}(b/\theta)V^\top\|_F^2$.

    Each step draws a fresh mask $b_i\sim\mathrm{Bernoulli}(\theta)$ on the $r$ factor columns (``keep`` $=\theta$)
    and takes $U \leftarrow U + 2\eta\,R\,V D$, $V \leftarrow V + 2\eta\,R^\top U D$ with $D = \mathrm{diag}(b/\theta)$,
    $R = Y - UDV^\top$ (closed-form gradients; $\mathbb E_b f_b$ is the dropout objective of
    :func:`gd_dropout_factorization`). All step sizes ``lrs`` (K,) run from the same init as
    :func:`gd_dropout_factorization` for each seed, with independent masks, for ``steps`` steps; after
    ``burn_in`` steps the iterates are averaged. Final: ``M_avg`` (S, K, d1, d2) the average of $U_tV_t^\top$,
    ``M_sq_avg`` (S, K) the average of $\|U_tV_t^\top\|_F^2$ (so the mean-square distance to any $M$ is
    ``M_sq_avg`` $- 2\langle$``M_avg``$, M\rangle + \|M\|_F^2$), ``loads_avg`` (S, K, r) the average of
    $\|u_i\|\|v_i\|$, ``U``, ``V`` the last iterates. Masks come from one generator per seed, drawn in chunks.
    """
    Y = np.asarray(Y, dtype=float)
    lrs = np.asarray(lrs, dtype=float).reshape(-1)
    if Y.ndim != 3:
        raise InputError(f"Y must be (S, d1, d2), got {Y.shape}")
    if not 0.0 < keep <= 1.0:
        raise InputError(f"keep probability must be in (0, 1], got {keep}")
    if lrs.size == 0 or np.any(lrs <= 0) or r < 1 or init_scale <= 0 or not 0 <= burn_in < steps:
        raise InputError(f"need lrs > 0, r >= 1, init_scale > 0 and 0 <= burn_in < steps; got {lrs.tolist()}, {r}, "
                         f"{init_scale}, {burn_in}, {steps}")
    if len(seeds) != Y.shape[0]:
        raise InputError(f"{len(seeds)} seeds for {Y.shape[0]} matrices")
    S, d1, d2 = Y.shape
    K = lrs.size
    dev = torch.device(device)
    start = time.perf_counter()
    Ys = torch.as_tensor(Y, dtype=DEFAULT_DTYPE, device=dev)[:, None]                      # (S, 1, d1, d2)
    U0, V0 = _factor_init(seeds, d1, d2, r, init_scale)
    U = U0.to(dev)[:, None].repeat(1, K, 1, 1)                                              # (S, K, d1, r)
    V = V0.to(dev)[:, None].repeat(1, K, 1, 1)
    step = torch.as_tensor(2.0 * lrs, dtype=DEFAULT_DTYPE, device=dev)[None, :, None, None]
    gens = [torch.Generator(device="cpu").manual_seed(int(s) * 1_000_003 + 17) for s in seeds]
    M_sum = torch.zeros(S, K, d1, d2, dtype=DEFAULT_DTYPE, device=dev)
    sq_sum = torch.zeros(S, K, dtype=DEFAULT_DTYPE, device=dev)
    load_sum = torch.zeros(S, K, r, dtype=DEFAULT_DTYPE, device=dev)
    masks = None
    for t in range(steps):
        if t % chunk == 0:
            n = min(chunk, steps - t)
            masks = (torch.stack([torch.rand(n, K, 1, r, generator=g, dtype=DEFAULT_DTYPE) for g in gens], 1)
                     < keep).to(device=dev, dtype=DEFAULT_DTYPE) / keep                      # (n, S, K, 1, r)
        D = masks[t % chunk]
        UD, VD = U * D, V * D
        R = Ys - UD @ V.transpose(-1, -2)
        U, V = U + step * (R @ VD), V + step * (R.transpose(-1, -2) @ UD)
        if t >= burn_in:
            M = U @ V.transpose(-1, -2)
            M_sum += M
            sq_sum += (M * M).sum((-1, -2))
            load_sum += U.norm(dim=-2) * V.norm(dim=-2)
    W = steps - burn_in
    final = {"M_avg": (M_sum / W).cpu().numpy(), "M_sq_avg": (sq_sum / W).cpu().numpy(),
             "loads_avg": (load_sum / W).cpu().numpy(), "U": U.cpu().numpy(), "V": V.cpu().numpy()}
    if not all(np.all(np.isfinite(v)) for v in final.values()):
        raise DivergenceError("dropout SGD on U V^T", steps, float("nan"))
    return Trajectory(steps=np.array([0, steps]), series={}, final=final, device=str(dev),
                      seconds=time.perf_counter() - start)
