r"""Regularized depth-2 nets, batched: SGD over many inits, Euler–Maruyama on the SGD SDE, and
Laplacians (closed form, exact Hessian trace with torch.func, Hutchinson).

Model: $f_W(x) = \sum_j a_j\sigma(w_j^\top x)$ with the outer layer $a$ fixed, and

.. math::  F(W) = \frac1n\sum_i \ell(f_W(x_i), y_i) + \frac\lambda2\|W\|_F^2,\qquad
   \ell_2:\ \tfrac12(f-y)^2,\quad \text{logistic: } \log(1+e^{-yf}).

Shapes: weights ``W`` are (S, R, p, d) — S data sets (one per claim seed), R inits per data set;
data ``X`` (S, n, d), ``y`` (S, n), outer layers ``a`` (S, p). Everything is float64 and every
loop is one tensor program over all (S, R).

Closed forms used (per sample, $z_j = w_j^\top x$):
$\nabla_{w_j} F = \frac1n\sum_i \ell'(f_i) a_j\sigma'(z_{ij}) x_i + \lambda w_j$ and
$\Delta F = \frac1n\sum_i \|x_i\|^2\big(\ell''(f_i)\sum_j a_j^2\sigma'(z_{ij})^2
+ \ell'(f_i)\sum_j a_j\sigma''(z_{ij})\big) + \lambda p d$.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.func import grad, hessian, jvp, vmap

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.trajectory import Recorder, Trajectory, log_spaced_steps

ACTIVATIONS = ("sigmoid", "tanh")
LOSSES = ("l2", "logistic")


def activation(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""$(\sigma, \sigma', \sigma'')$ at ``z``."""
    if name == "sigmoid":
        s = torch.sigmoid(z)
        d1 = s * (1 - s)
        return s, d1, d1 * (1 - 2 * s)
    if name == "tanh":
        t = torch.tanh(z)
        d1 = 1 - t * t
        return t, d1, -2 * t * d1
    raise InputError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def loss_derivs(loss: str, f: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""$(\ell, \ell', \ell'')$ in $f$, stable forms (softplus, sigmoid)."""
    if loss == "l2":
        r = f - y
        return 0.5 * r * r, r, torch.ones_like(f)
    if loss == "logistic":
        m = y * f
        sneg = torch.sigmoid(-m)
        return torch.nn.functional.softplus(-m), -y * sneg, sneg * (1 - sneg)
    raise InputError(f"loss must be one of {LOSSES}, got {loss!r}")


def _lam(lam: float | torch.Tensor) -> tuple[float | torch.Tensor, float | torch.Tensor]:
    """lambda as (per-net (S, R) or scalar, broadcastable to W (S, R, 1, 1) or scalar)."""
    if isinstance(lam, torch.Tensor):
        return lam, lam[..., None, None]
    return float(lam), float(lam)


def _pre(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Pre-activations (S, R, n, p) from W (S, R, p, d) and X (S, n, d) (or per-net X (S, R, n, d))."""
    Xr = X[:, None] if X.ndim == 3 else X
    return torch.matmul(Xr, W.transpose(-1, -2))


def _act01(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$(\sigma, \sigma')$ at ``z`` (what gradients need; :func:`activation` adds $\sigma''$)."""
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s, s * (1 - s)
    if name == "tanh":
        t = torch.tanh(z)
        return t, 1 - t * t
    raise InputError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _loss01(loss: str, f: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$(\ell, \ell')$ in $f$ (:func:`loss_derivs` adds $\ell''$)."""
    if loss == "l2":
        r = f - y
        return 0.5 * r * r, r
    if loss == "logistic":
        m = y * f
        return torch.nn.functional.softplus(-m), -y * torch.sigmoid(-m)
    raise InputError(f"loss must be one of {LOSSES}, got {loss!r}")


def _data_grad(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, a: torch.Tensor, act: str,
               loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean data loss (S, R) and its gradient (S, R, p, d); ``X`` (S, n, d) shared or (S, R, n, d) per net,
    ``y`` (S, n) or (S, R, n). Four batched matmuls."""
    Xr = X[:, None] if X.ndim == 3 else X
    yr = y[:, None] if y.ndim == 2 else y
    s0, s1 = _act01(act, torch.matmul(Xr, W.transpose(-1, -2)))                # (S, R, n, p)
    am = a[:, None, :, None]                                                  # (S, 1, p, 1)
    f = torch.matmul(s0, am)[..., 0]                                          # (S, R, n)
    val, l1 = _loss01(loss, f, yr)
    c = l1[..., None] * s1 * a[:, None, None, :]                              # (S, R, n, p)
    return val.mean(-1), torch.matmul(c.transpose(-1, -2), Xr) / Xr.shape[-2]


def value_grad(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, a: torch.Tensor, lam: float,
               act: str, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """F (S, R) and its gradient (S, R, p, d) in closed form on the full data."""
    val, g = _data_grad(W, X, y, a, act, loss)
    lam_n, lam_w = _lam(lam)
    return val + 0.5 * lam_n * (W * W).sum((-1, -2)), g + lam_w * W


def value(W, X, y, a, lam, act, loss) -> torch.Tensor:
    """F (S, R)."""
    s0, _ = _act01(act, _pre(W, X))
    f = torch.matmul(s0, a[:, None, :, None])[..., 0]
    return _loss01(loss, f, y[:, None, :])[0].mean(-1) + 0.5 * _lam(lam)[0] * (W * W).sum((-1, -2))


def minibatch_grad(W, X, y, a, lam, act, loss, idx: torch.Tensor) -> torch.Tensor:
    """Stochastic gradient on the minibatch ``idx`` (S, R, b) of sample indices (one per net)."""
    rows = torch.arange(idx.shape[0], device=X.device)[:, None, None]
    _, g = _data_grad(W, X[rows, idx], y[rows, idx], a, act, loss)
    return g + _lam(lam)[1] * W


def laplacian_closed(W, X, y, a, lam, act, loss) -> torch.Tensor:
    r"""Exact $\Delta F$ (S, R) from the closed form in the module docstring."""
    s0, s1, s2 = activation(act, _pre(W, X))
    f = torch.einsum("srnp,sp->srn", s0, a)
    _, l1, l2 = loss_derivs(loss, f, y[:, None, :])
    xx = (X * X).sum(-1)[:, None, :]                                        # (S, 1, n)
    gn = torch.einsum("srnp,sp->srn", s1 * s1, a * a)
    cv = torch.einsum("srnp,sp->srn", s2, a)
    p, d = W.shape[-2:]
    return (xx * (l2 * gn + l1 * cv)).mean(-1) + _lam(lam)[0] * p * d


def _single_value(w: torch.Tensor, x: torch.Tensor, yy: torch.Tensor, aa: torch.Tensor, lam: float,
                  act: str, loss: str) -> torch.Tensor:
    s0, _, _ = activation(act, x @ w.T)
    return loss_derivs(loss, s0 @ aa, yy)[0].mean() + 0.5 * lam * (w * w).sum()


def laplacian_exact(W, X, y, a, lam, act, loss, chunk: int = 32) -> torch.Tensor:
    r"""$\Delta F = \operatorname{tr}\nabla^2F$ (S, R) from the dense Hessian (torch.func.hessian,
    vmapped over ``chunk`` nets at a time to bound memory)."""
    if isinstance(lam, torch.Tensor):
        raise InputError("laplacian_exact takes a scalar lambda")

    def one(w, x, yy, aa):
        H = hessian(_single_value)(w, x, yy, aa, lam, act, loss)            # (p, d, p, d)
        return torch.einsum("ijij->", H)
    inner = vmap(one, in_dims=(0, None, None, None))
    S, R = W.shape[:2]
    out = torch.empty(S, R, dtype=W.dtype, device=W.device)
    for s in range(S):
        for r0 in range(0, R, chunk):
            out[s, r0:r0 + chunk] = inner(W[s, r0:r0 + chunk], X[s], y[s], a[s])
    return out


def laplacian_hutchinson(W, X, y, a, lam, act, loss, probes: int, gen: torch.Generator) -> torch.Tensor:
    r"""Hutchinson estimate $\frac1K\sum_k v_k^\top\nabla^2F\,v_k$ with Rademacher $v_k$ (S, R).

    Hessian-vector products are forward-over-reverse (``jvp`` of ``grad``); unbiased, with
    variance $2(\|\nabla^2F\|_F^2 - \sum_i (\nabla^2F)_{ii}^2)/K$.
    """
    S, R, p, d = W.shape
    V = torch.randint(0, 2, (probes, S, R, p, d), generator=gen, device=W.device).to(W.dtype) * 2 - 1
    g = grad(_single_value)

    def quad(w, x, yy, aa, v):
        _, hv = jvp(lambda ww: g(ww, x, yy, aa, lam, act, loss), (w,), (v,))
        return (hv * v).sum()
    f = vmap(vmap(vmap(quad, in_dims=(0, None, None, None, 0)), in_dims=(0, 0, 0, 0, 0)),
             in_dims=(None, None, None, None, 0))
    return f(W, X, y, a, V).mean(0)


def _check_finite(name: str, values: torch.Tensor, steps: np.ndarray) -> None:
    """Raise DivergenceError naming the first recorded step where ``values`` (batch, T) is not finite."""
    bad = ~torch.isfinite(values)
    if bool(bad.any()):
        col = int(torch.nonzero(bad.any(0))[0, 0])
        raise DivergenceError(name, int(steps[col]), float(values[bad][0]))


def sgd(W0: torch.Tensor, X: torch.Tensor, y: torch.Tensor, a: torch.Tensor, lam: float | torch.Tensor, act: str, loss: str,
        steps: int, batch: int, lr: float, decay: float, gen: torch.Generator, per_decade: int = 10,
        record_weights: bool = False) -> Trajectory:
    r"""Minibatch SGD $W \leftarrow W - \eta_t \hat g_t$ with $\eta_t = \eta_0/(1 + t/\tau)$, batched over (S, R).

    ``lam`` is a float or a per-net tensor (S, R) (e.g. regularized and unregularized runs side by
    side in one program). Every net draws its own minibatch (with replacement) each step. Records the full-data
    regularized loss $F$ at log-spaced steps (and, with ``record_weights``, the weights ``series["W"]``
    (S, T, R, p, d): the path); ``final`` holds the last W and F.
    """
    if batch < 1 or batch > X.shape[1]:
        raise InputError(f"batch must be in [1, n={X.shape[1]}], got {batch}")
    start = time.perf_counter()
    W = W0.clone()
    S, R = W.shape[:2]
    n = X.shape[1]
    rec = Recorder(np.concatenate([[0], log_spaced_steps(steps, per_decade)]))
    def snapshot() -> dict[str, torch.Tensor]:
        return {"F": value(W, X, y, a, lam, act, loss)} | ({"W": W} if record_weights else {})

    rec.record(**snapshot())
    for t in range(1, steps + 1):
        idx = torch.randint(0, n, (S, R, batch), generator=gen, device=W.device)
        eta = lr / (1.0 + (t - 1) / decay)
        W = W - eta * minibatch_grad(W, X, y, a, lam, act, loss, idx)
        if rec.wants(t):
            rec.record(**snapshot())
    series = rec.finish()
    F = torch.as_tensor(series["F"])
    _check_finite("regularized loss (SGD)", F.transpose(1, 2).reshape(-1, F.shape[1]), rec.steps)
    return Trajectory(rec.steps, series, {"W": W.cpu().numpy(), "F": series["F"][:, -1]},
                      str(W.device), time.perf_counter() - start)


def euler_maruyama(W0: torch.Tensor, X: torch.Tensor, y: torch.Tensor, a: torch.Tensor, lam: float, act: str,
                   loss: str, s: float, dt: float, steps: int, record_every: int,
                   gen: torch.Generator) -> Trajectory:
    r"""Euler–Maruyama for $d\theta = -\nabla F\,dt + \sqrt{s}\,dB$:
    $\theta_{k+1} = \theta_k - \nabla F(\theta_k)\,\Delta t + \sqrt{s\Delta t}\,\xi_k$, $\xi_k \sim N(0, I)$.

    Records $F$ for every path as ``series["F"]`` (S, T, R) every ``record_every`` steps (linearly spaced: the law
    under test is exponential in $t$); ``steps`` in the Trajectory are the times $k\Delta t$.
    """
    if dt <= 0 or s < 0:
        raise InputError(f"need dt > 0 and s >= 0, got dt={dt}, s={s}")
    start = time.perf_counter()
    W = W0.clone()
    grid = np.arange(0, steps + 1, record_every)
    rec = Recorder(grid)
    noise = float(np.sqrt(s * dt))
    F, g = value_grad(W, X, y, a, lam, act, loss)
    rec.record(F=F)
    for k in range(1, steps + 1):
        W = W - dt * g + noise * torch.randn(W.shape, generator=gen, device=W.device, dtype=W.dtype)
        F, g = value_grad(W, X, y, a, lam, act, loss)
        if rec.wants(k):
            rec.record(F=F)
    series = rec.finish()
    Ft = torch.as_tensor(series["F"])
    _check_finite("regularized loss (Euler-Maruyama)", Ft.transpose(1, 2).reshape(-1, Ft.shape[1]), grid)
    return Trajectory(grid * dt, {"F": series["F"]}, {"W": W.cpu().numpy()}, str(W.device),
                      time.perf_counter() - start)


def villani_along_rays(V: torch.Tensor, ts: torch.Tensor, X, y, a, lam: float, act: str, loss: str,
                       method: str = "closed", probes: int = 64, gen: torch.Generator | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$\|\nabla F\|^2$ and $\Delta F$ at $W = tV$ for unit directions ``V`` (S, R, p, d) and times ``ts`` (T,).

    Returns two tensors (S, R, T). ``method``: closed | exact | hutchinson (the Laplacian).
    """
    S, R, p, d = V.shape
    T = ts.numel()
    W = (ts[None, None, :, None, None] * V[:, :, None]).reshape(S, R * T, p, d)
    _, g = value_grad(W, X, y, a, lam, act, loss)
    if method == "closed":
        lap = laplacian_closed(W, X, y, a, lam, act, loss)
    elif method == "exact":
        lap = laplacian_exact(W, X, y, a, lam, act, loss)
    elif method == "hutchinson":
        if gen is None:
            raise InputError("hutchinson needs a generator")
        lap = laplacian_hutchinson(W, X, y, a, lam, act, loss, probes, gen)
    else:
        raise InputError(f"laplacian method must be closed, exact or hutchinson, got {method!r}")
    return (g * g).sum((-1, -2)).reshape(S, R, T), lap.reshape(S, R, T)


def teacher_data(seeds, n: int, d: int, p: int, loss: str, device: torch.device | str = "cpu",
                 teacher_gain: float = 2.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""One data set per seed: $x_i$ uniform on the unit sphere ($B_x = 1$), labels from a
    single-index teacher $y_i = \tanh(g\,x_i^\top w^*)$ ($|y_i| < 1$) for $\ell_2$ or
    $y_i = \operatorname{sign}(x_i^\top w^*)$ for the logistic loss, and a fixed outer layer
    $a_j = \pm 1/p$ (random signs; $\|a\|_1 = 1$, so the threshold does not grow with $p$).

    Returns X (S, n, d), y (S, n), a (S, p), float64, deterministic in each seed.
    """
    if loss not in LOSSES:
        raise InputError(f"loss must be one of {LOSSES}, got {loss!r}")
    Xs, ys, as_ = [], [], []
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed) * 7919 + (0 if loss == "l2" else 1))
        X = torch.randn(n, d, generator=gen, dtype=torch.float64)
        X = X / X.norm(dim=-1, keepdim=True)
        w = torch.randn(d, generator=gen, dtype=torch.float64)
        z = X @ (w / w.norm())
        y = torch.tanh(teacher_gain * z) if loss == "l2" else torch.where(z >= 0, 1.0, -1.0).to(torch.float64)
        a = (torch.randint(0, 2, (p,), generator=gen) * 2 - 1).to(torch.float64) / p
        Xs.append(X), ys.append(y), as_.append(a)
    return torch.stack(Xs).to(device), torch.stack(ys).to(device), torch.stack(as_).to(device)


def seeded_normal(seeds, shape: tuple[int, ...], scale: float, salt: int, device: torch.device | str = "cpu"
                  ) -> torch.Tensor:
    """(S, *shape) standard normals times ``scale``, one generator per seed (deterministic in the seed)."""
    out = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s) * 104729 + salt), dtype=torch.float64)
           for s in seeds]
    return (scale * torch.stack(out)).to(device)


def batch_generator(seeds, salt: int, device: torch.device | str = "cpu") -> torch.Generator:
    """One generator for in-loop noise of the whole batch, seeded from the seed list and ``salt``."""
    key = 0
    for s in seeds:
        key = (key * 1000003 + int(s) + 1) % (2**61 - 1)
    gen = torch.Generator(device=device)
    gen.manual_seed((key * 31 + salt) % (2**61 - 1))
    return gen
