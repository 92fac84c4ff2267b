r"""The scalar delayed-momentum recursion, simulated for many (a, τ, β) rows at once (torch, float64).

Each row runs $x_{t+1} = x_t - a\,x_{t-\tau} + \beta(x_t - x_{t-1})$ — delayed (heavy-ball) GD in one
eigendirection of a quadratic, $a = \eta\lambda$ — from a given history $x_{-L+1..0}$. Rows with
different delays share one ring buffer of length $L = \max\tau + 2$; each step gathers
$x_{t-\tau_r}$ per row. The state is rescaled every ``renorm`` steps (the log of the scale is kept),
so growth and decay are measured over any horizon without overflow.

The measured per-step growth rate is the least-squares slope of $\log\max_{\text{window}}|x|$ (the
largest modulus over the last $L$ values, which removes the oscillation of complex roots) against
$t$ over the second half of the run; it estimates $\log\rho$, $\rho$ the spectral radius of the
recursion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.errors import InputError

__all__ = ["DelayedGrowth", "delayed_growth", "history_length"]


@dataclass
class DelayedGrowth:
    """Per-row growth rates (R,) (log of the per-step factor), the log-modulus samples used for them
    (R, K) at ``steps`` (K,), and the wall time."""

    rate: np.ndarray
    log_size: np.ndarray
    steps: np.ndarray
    seconds: float


def history_length(tau: np.ndarray) -> int:
    """Ring-buffer length the rows need: max delay + 2."""
    return int(np.max(tau)) + 2


def delayed_growth(a: np.ndarray, tau: np.ndarray, beta: np.ndarray, steps: int, history: torch.Tensor,
                   *, renorm: int = 50, samples: int = 64, device: torch.device | str = "cpu") -> DelayedGrowth:
    r"""Simulate every row $(a_r, \tau_r, \beta_r)$ for ``steps`` steps from ``history`` (R, L),
    $L \ge$ :func:`history_length` (its last column is $x_0$, the one before $x_{-1}$, ...); return the
    growth rates (module doc). ``samples`` log-modulus samples are taken, evenly spaced over the second half."""
    a = np.asarray(a, dtype=float).ravel()
    tau_np = np.asarray(tau, dtype=np.int64).ravel()
    beta = np.asarray(beta, dtype=float).ravel()
    if not (a.shape == tau_np.shape == beta.shape):
        raise InputError(f"a, tau and beta need one entry per row, got {a.shape}, {tau_np.shape}, {beta.shape}")
    if np.any(tau_np < 0):
        raise InputError("delays must be non-negative")
    if steps < 4 * renorm:
        raise InputError(f"steps must be at least {4 * renorm}, got {steps}")
    R = a.size
    L = history_length(tau_np)
    device = torch.device(device)
    dt = torch.float64
    if history.ndim != 2 or history.shape[0] != R or history.shape[1] < L:
        raise InputError(f"history must be (R={R}, >= {L}), got {tuple(history.shape)}")
    past = history[:, -L:].to(device=device, dtype=dt)
    buf = torch.empty((R, L), dtype=dt, device=device)
    for j in range(L):  # x_{-j} sits in slot (-j) mod L
        buf[:, (-j) % L] = past[:, L - 1 - j]
    a_t = torch.as_tensor(a, dtype=dt, device=device)
    b_t = torch.as_tensor(beta, dtype=dt, device=device)
    tau_t = torch.as_tensor(tau_np, device=device)
    rows = torch.arange(R, device=device)
    log_scale = torch.zeros(R, dtype=dt, device=device)
    sample_at = set(np.unique(np.linspace(steps // 2, steps, samples).astype(np.int64)).tolist())
    logs, at = [], []
    start = time.perf_counter()
    for t in range(steps):
        now = buf[:, t % L]
        prev = buf[:, (t - 1) % L]
        stale = buf[rows, (t - tau_t) % L]
        buf[:, (t + 1) % L] = now - a_t * stale + b_t * (now - prev)
        if (t + 1) % renorm == 0:
            size = buf.abs().amax(dim=1).clamp_min(1e-300)
            buf = buf / size[:, None]
            log_scale = log_scale + torch.log(size)
        if (t + 1) in sample_at:
            logs.append(log_scale + torch.log(buf.abs().amax(dim=1).clamp_min(1e-300)))
            at.append(t + 1)
    seconds = time.perf_counter() - start
    log_size = torch.stack(logs, dim=1).cpu().numpy()
    x = np.asarray(at, dtype=float)
    xc = x - x.mean()
    rate = (log_size - log_size.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    return DelayedGrowth(rate, log_size, x.astype(np.int64), seconds)
