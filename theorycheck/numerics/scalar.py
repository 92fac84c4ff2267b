r"""Scalar networks $f(w) = \prod_{i\le D} w_i$ trained by (delayed, momentum) GD, batched over rows (torch, float64).

Loss $L(w) = \frac12(f(w) - y)^2$ with the closed-form gradient $\partial_i L = (f - y)\prod_{k\ne i}w_k$
(exclusive products by a forward and a backward cumulative product, exact at $w_i = 0$).
The update of row $r$ is
$$ w_{t+1} = w_t - \eta_r\nabla L(w_{t-\tau_r}) + \beta_r(w_t - w_{t-1}), $$
plain GD for $\tau = \beta = 0$; the history is a ring buffer of length $\max\tau + 2$ initialized
to $w_0$ (a stale gradient before step 0 is the gradient at $w_0$).

A row *dies* when a weight changes sign (it leaves the orthant of the gradient-flow-solution formula)
or when a weight's modulus exceeds ``blowup``; a dead row is frozen at its last finite state and reported, not
trained further. :func:`scalar_loss` is the batched loss closure for the curvature engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics.trajectory import log_spaced_steps

__all__ = ["ScalarRun", "scalar_loss", "scalar_grad", "pad_depths", "train_scalar"]


def _exclusive_products(w: torch.Tensor) -> torch.Tensor:
    """$\\prod_{k\\ne i} w_k$ along the last axis."""
    ones = torch.ones_like(w[..., :1])
    left = torch.cumprod(torch.cat([ones, w[..., :-1]], dim=-1), dim=-1)
    right = torch.flip(torch.cumprod(torch.cat([ones, torch.flip(w[..., 1:], [-1])], dim=-1), dim=-1), [-1])
    return left * right


def scalar_loss(y: torch.Tensor):
    """Batched loss closure ``w (B, D) -> (B,)`` of $\\frac12(\\prod_i w_i - y_b)^2$ (for :mod:`curvature`)."""

    def loss(w: torch.Tensor) -> torch.Tensor:
        return 0.5 * (torch.prod(w, dim=-1) - y) ** 2

    return loss


def scalar_grad(w: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss (B,) and closed-form gradient (B, D)."""
    excl = _exclusive_products(w)
    f = excl[..., 0] * w[..., 0]
    r = f - y
    return 0.5 * r * r, r[..., None] * excl


@dataclass
class ScalarRun:
    """A batched scalar-network run: iterates at ``steps`` (R, T, D) (every step when ``every_step``),
    the loss there (R, T), the final iterate (R, D) and loss (R,), and which rows died (R,) and when."""

    steps: np.ndarray
    w: np.ndarray
    loss: np.ndarray
    final_w: np.ndarray
    final_loss: np.ndarray
    dead: np.ndarray
    died_at: np.ndarray
    seconds: float


def pad_depths(ws: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack row blocks of different depths into one (R, D_max) array padded with ones, and the mask of the
    padded (frozen) coordinates: a factor 1 that never moves leaves $f$ and every gradient unchanged."""
    D = max(w.shape[1] for w in ws)
    padded = [np.concatenate([w, np.ones((w.shape[0], D - w.shape[1]))], axis=1) for w in ws]
    mask = [np.concatenate([np.zeros(w.shape, bool), np.ones((w.shape[0], D - w.shape[1]), bool)], axis=1) for w in ws]
    return np.concatenate(padded), np.concatenate(mask)


def train_scalar(w0: np.ndarray, y: np.ndarray, eta: np.ndarray, steps: int, *, tau: np.ndarray | None = None,
                 beta: np.ndarray | None = None, frozen: np.ndarray | None = None, every_step: bool = False,
                 per_decade: int = 20, blowup: float = 1e6, device: torch.device | str = "cpu") -> ScalarRun:
    r"""Run (delayed, momentum) GD on R scalar networks: ``w0`` (R, D), targets ``y`` (R,), step sizes
    ``eta`` (R,), delays ``tau`` (R,) and momenta ``beta`` (R,) (default 0); ``frozen`` (R, D) marks padding
    coordinates that never move (:func:`pad_depths`, to run several depths in one program). Records every
    step when ``every_step`` (for quantities that must be checked at every step), else at log-spaced steps."""
    device = torch.device(device)
    dt = torch.float64
    w = torch.as_tensor(np.asarray(w0, dtype=float), dtype=dt, device=device).clone()
    if w.ndim != 2:
        raise InputError(f"w0 must be (R, D), got shape {tuple(w.shape)}")
    R, D = w.shape
    as_row = lambda v, default: torch.as_tensor(  # noqa: E731
        np.broadcast_to(np.asarray(default if v is None else v, dtype=float), (R,)).copy(), dtype=dt, device=device)
    y_t, eta_t, beta_t = as_row(y, 1.0), as_row(eta, 1.0), as_row(beta, 0.0)
    y_col = y_t[:, None]
    tau_np = np.broadcast_to(np.asarray(0 if tau is None else tau, dtype=np.int64), (R,)).copy()
    if steps < 1 or np.any(tau_np < 0) or torch.any(eta_t <= 0):
        raise InputError("steps must be >= 1, delays >= 0 and step sizes > 0")
    L = int(tau_np.max()) + 2
    hist = w.unsqueeze(0).repeat(L, 1, 1)  # hist[t % L] = w_t
    tau_t = torch.as_tensor(tau_np, device=device)
    rows = torch.arange(R, device=device)
    sign0 = torch.sign(w)
    alive = torch.ones(R, dtype=torch.bool, device=device)
    died_at = torch.full((R,), -1, dtype=torch.long, device=device)
    grid = np.arange(steps + 1) if every_step else np.unique(np.concatenate([[0], log_spaced_steps(steps, per_decade)]))
    want = np.zeros(steps + 1, dtype=bool)
    want[grid] = True
    ws = torch.empty((len(grid), R, D), dtype=dt, device=device)
    k = 0
    start = time.perf_counter()
    eta_col, beta_col = eta_t[:, None], beta_t[:, None]
    if frozen is not None:
        eta_col = eta_col * torch.as_tensor(~np.asarray(frozen, dtype=bool), dtype=dt, device=device)
    slots = [((t - tau_t) % L) * R + rows for t in range(L)]  # flat indices of w_{t - tau} in hist
    for t in range(steps + 1):
        if want[t]:
            ws[k] = w
            k += 1
        if t == steps:
            break
        stale = hist.view(L * R, D)[slots[t % L]]
        f = torch.prod(stale, dim=1, keepdim=True)
        g = (f - y_col) * f / stale  # alive rows never hold a zero weight (a sign change kills the row)
        new = w - eta_col * g + beta_col * (w - hist[(t - 1) % L])
        ok = ((new * sign0) > 0).all(dim=1) & (new.abs().amax(dim=1) < blowup)
        died = alive & ~ok
        died_at = torch.where(died, torch.full_like(died_at, t + 1), died_at)
        alive = alive & ok
        w = torch.where(alive[:, None], new, w)
        hist[(t + 1) % L] = w
    seconds = time.perf_counter() - start
    w_np = ws.permute(1, 0, 2).cpu().numpy()
    y_np = y_t.cpu().numpy()
    loss = 0.5 * (np.prod(w_np, axis=-1) - y_np[:, None]) ** 2
    return ScalarRun(steps=grid.astype(np.int64), w=w_np, loss=loss, final_w=w_np[:, -1], final_loss=loss[:, -1],
                     dead=~alive.cpu().numpy(), died_at=died_at.cpu().numpy(), seconds=seconds)
