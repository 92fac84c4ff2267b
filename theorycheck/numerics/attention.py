r"""One-layer softmax attention with a fixed linear head, trained by (normalized) gradient descent, batched over seeds.

Convention (shared with :mod:`theorycheck.theory.attention`): scores $s_{it} = x_{it}^\top W z_i$,
$p_i = \mathrm{softmax}(s_i)$, output $f_i = \sum_t p_{it}\, u_{it}$ with $u_{it} = v^\top x_{it}$; $W = K Q^\top$
in the key-query parametrization. Loss $L = \frac1n\sum_i \log(1 + e^{-Y_i f_i})$ (softplus, stable).

Closed-form gradient: with $g_i = \partial L/\partial f_i = -Y_i\,\sigma(-Y_i f_i)/n$ and
$\partial f_i/\partial s_{it} = p_{it}(u_{it} - f_i)$,

.. math:: \nabla_W L = \sum_i \sum_t g_i\, p_{it}(u_{it} - f_i)\, x_{it} z_i^\top, \qquad
          \nabla_K = \nabla_W L\, Q, \quad \nabla_Q = (\nabla_W L)^\top K.

Every tensor carries a leading batch axis B (one row per seed). All loops are over iterations only; snapshots are
recorded on the device at log-spaced steps (no host syncs in the loop) and NaN/inf is checked once at the end.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.device import DEFAULT_DTYPE, generator
from theorycheck.numerics.trajectory import Recorder, Trajectory

EPS64 = float(torch.finfo(torch.float64).eps)  # 2.2e-16: the authors' normalization guard and ridge strength


def attention_data(seeds: Sequence[int], n: int, T: int, d: int, cross: bool = True,
                   device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    r"""The authors' data (``local_converge.ipynb``), one draw per seed, batched: head $v$, labels $Y = \pm1$, tokens
    $X$ and queries $Z$, Gaussian with unit-norm rows, drawn in that order from ``torch.Generator().manual_seed(seed)``
    in float32 and cast to float64 (so seed $s$ reproduces their run $s$). Self-attention (``cross=False``) uses
    $z_i = x_{i1}$. Which tokens are optimal is theory's business (:mod:`theorycheck.theory.attention`), not the
    generator's.
    """
    if min(n, T, d) < 1 or T < 2:
        raise InputError(f"need n >= 1, T >= 2, d >= 1; got n={n}, T={T}, d={d}")
    vs, Ys, Xs, Zs = [], [], [], []
    for seed in seeds:
        gen = generator(seed, "cpu")
        v = torch.randn(d, generator=gen)
        v = v / v.norm()
        Y = 2 * torch.ones(n) * (torch.randn(n, generator=gen) > 0) - 1
        X = torch.randn((n, T, d), generator=gen)
        X = X / X.norm(dim=-1, keepdim=True)
        Z = torch.randn((n, d), generator=gen)
        Z = Z / Z.norm(dim=-1, keepdim=True)
        vs.append(v), Ys.append(Y), Xs.append(X), Zs.append(Z)
    out = {k: torch.stack(val).to(device=device, dtype=DEFAULT_DTYPE)
           for k, val in (("v", vs), ("Y", Ys), ("X", Xs), ("Z", Zs))}
    if not cross:
        out["Z"] = out["X"][:, :, 0, :].clone()
    return out


def equal_score_data(seeds: Sequence[int], n: int, T: int, d: int, opt_score: float = 0.5, other_score: float = 0.0,
                     device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    r"""Cross-attention data whose non-optimal tokens all have the same score, one draw per seed, batched.

    Per seed: a unit head $v$, labels $Y_i = \pm 1$, unit queries $z_i$, and unit tokens
    $x_{it} = a_{it} Y_i v + \sqrt{1 - a_{it}^2}\, w_{it}$ with $w_{it} \perp v$ a random unit vector, where
    $a_{it}$ = ``opt_score`` for one token per sequence (at a random position) and ``other_score`` for the rest. Then
    the token scores $Y_i v^\top x_{it}$ are ``opt_score`` on that token and exactly ``other_score`` on all others
    (the equal-score condition of the attention-SVM global-convergence theorem). float64 throughout; which token
    is optimal is left for theory to find from $(X, Y, v)$.
    """
    if min(n, T, d) < 1 or T < 2 or d < 2:
        raise InputError(f"need n >= 1, T >= 2, d >= 2; got n={n}, T={T}, d={d}")
    if not -1.0 < other_score < opt_score < 1.0:
        raise InputError(f"need -1 < other_score < opt_score < 1, got {other_score}, {opt_score}")
    vs, Ys, Xs, Zs = [], [], [], []
    for seed in seeds:
        gen = generator(seed, "cpu")
        v = torch.randn(d, generator=gen, dtype=DEFAULT_DTYPE)
        v = v / v.norm()
        Y = 2.0 * (torch.randn(n, generator=gen, dtype=DEFAULT_DTYPE) > 0).to(DEFAULT_DTYPE) - 1.0
        perp = torch.randn((n, T, d), generator=gen, dtype=DEFAULT_DTYPE)
        perp = perp - (perp @ v)[..., None] * v
        perp = perp / perp.norm(dim=-1, keepdim=True)
        best = torch.randint(T, (n,), generator=gen)
        a = torch.full((n, T), float(other_score), dtype=DEFAULT_DTYPE)
        a[torch.arange(n), best] = float(opt_score)
        X = a[..., None] * Y[:, None, None] * v + torch.sqrt(1.0 - a**2)[..., None] * perp
        Z = torch.randn((n, d), generator=gen, dtype=DEFAULT_DTYPE)
        Z = Z / Z.norm(dim=-1, keepdim=True)
        vs.append(v), Ys.append(Y), Xs.append(X), Zs.append(Z)
    return {k: torch.stack(val).to(device=device, dtype=DEFAULT_DTYPE)
            for k, val in (("v", vs), ("Y", Ys), ("X", Xs), ("Z", Zs))}


def init_weights(seeds: Sequence[int], shape: tuple[int, ...], scale: float, offset: int = 1,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    r"""Uniform $U(-{\rm scale}, {\rm scale})$ init per seed (``nn.Linear``'s default is scale $1/\sqrt{d}$),
    from a generator seeded with ``seed * 1000 + offset`` so it is deterministic and independent of the data draw."""
    draws = [(torch.rand(shape, generator=generator(s * 1000 + offset, "cpu"), dtype=DEFAULT_DTYPE) * 2 - 1) * scale
             for s in seeds]
    return torch.stack(draws).to(device)


def forward(W: torch.Tensor, X: torch.Tensor, Z: torch.Tensor, v: torch.Tensor):
    """Scores, softmax, token values and outputs: returns (p (B,n,T), u (B,n,T), f (B,n))."""
    s = torch.einsum("bntd,bde,bne->bnt", X, W, Z)
    p = torch.softmax(s, dim=-1)
    u = torch.einsum("bntd,bd->bnt", X, v)
    f = (p * u).sum(-1)
    return p, u, f


class _Problem:
    """Per-batch constants of the attention loss, precomputed once: token-query outer products F (B, nT, d*d),
    token values u (B, n, T), their pairwise differences (B, n, T, T) and a -inf diagonal mask."""

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, Z: torch.Tensor, v: torch.Tensor):
        B, n, T, d = X.shape
        self.shape = (B, n, T, d)
        self.F = torch.einsum("bntd,bne->bntde", X, Z).reshape(B, n * T, d * d)
        self.u = torch.einsum("bntd,bd->bnt", X, v)
        self.du = self.u[..., :, None] - self.u[..., None, :]
        self.mask = torch.zeros((T, T), dtype=X.dtype, device=X.device).masked_fill(
            torch.eye(T, dtype=torch.bool, device=X.device), -torch.inf)
        self.Y = Y

    def __call__(self, W: torch.Tensor, rescale: bool = False):
        B, n, T, d = self.shape
        s = torch.bmm(self.F, W.reshape(B, d * d, 1)).view(B, n, T)
        logp = torch.log_softmax(s, dim=-1)
        p = logp.exp()
        margin = self.Y * (p * self.u).sum(-1)
        loss = torch.nn.functional.softplus(-margin).mean(-1)
        g = -self.Y * torch.sigmoid(-margin) / n  # (B, n)
        logq = logp[..., :, None] + logp[..., None, :] + self.mask  # (B, n, T, T); t = s contributes 0
        if rescale:
            logq = logq - logq.amax(dim=(1, 2, 3), keepdim=True)
        coef = g[..., None] * (logq.exp() * self.du).sum(-1)  # (B, n, T)
        grad = torch.bmm(coef.view(B, 1, n * T), self.F).view(B, d, d)
        return loss, grad, p


def loss_and_grad(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, Z: torch.Tensor, v: torch.Tensor,
                  rescale: bool = False):
    r"""Mean logistic loss per batch element (B,), its gradient in $W$ (B, d, d) and the softmax p (B, n, T).

    The gradient is computed in the pairwise form
    $p_{it}(u_{it} - f_i) = \sum_s p_{it}p_{is}(u_{it} - u_{is})$, with $p_{it}p_{is}$ taken in the log domain:
    the naive form $u_{it} - f_i$ cancels catastrophically once the non-selected probabilities fall below the
    float64 epsilon (score gaps above ~36, reached after ~1000 normalized steps in the authors' setup), after which the
    gradient is rounding noise. With ``rescale=True`` every batch element's gradient is multiplied by
    $e^{c_b}$ so that its largest pair weight is 1 — harmless for normalized updates (direction only) and free of
    underflow at any norm. (One-off convenience wrapper; the trainers precompute the constants with ``_Problem``.)
    """
    return _Problem(X, Y, Z, v)(W, rescale)


def _unit_rows(G: torch.Tensor) -> torch.Tensor:
    norm = G.flatten(1).norm(dim=1).view(-1, *([1] * (G.dim() - 1)))
    return G / (norm + EPS64)


def train_attention(data: dict[str, torch.Tensor], steps: int, lr: float, record: np.ndarray,
                    param: str = "W", W0: torch.Tensor | None = None, K0: torch.Tensor | None = None,
                    Q0: torch.Tensor | None = None, ridge: float = 0.0, normalized: bool = True) -> Trajectory:
    r"""(Normalized) GD on $W$ (``param="W"``) or on $(K, Q)$ (``param="KQ"``, $W = KQ^\top$), all seeds at once.

    Normalized GD as the authors: $W \leftarrow W - \eta\,\nabla L/(\|\nabla L\|_F + \epsilon)$; for $(K, Q)$ each
    factor's gradient is normalized separately and the loss carries the ridge
    ``ridge`` $\cdot(\|K\|_F^2 + \|Q\|_F^2)$. Snapshots at the steps in ``record`` (after that many updates):
    ``W`` (B, S, d, d), ``loss``, ``mass`` (mean over sequences of the largest softmax probability), ``selected``
    (B, S, n) argmax tokens; ``final["p"]`` (B, n, T) is the softmax at the last step.
    """
    X, Y, Z, v = data["X"], data["Y"], data["Z"], data["v"]
    problem = _Problem(X, Y, Z, v)
    if param not in ("W", "KQ"):
        raise InputError(f"param must be 'W' or 'KQ', got {param!r}")
    if steps < 1 or lr <= 0:
        raise InputError(f"need steps >= 1 and lr > 0, got steps={steps}, lr={lr}")
    rec = Recorder(record)
    if param == "W":
        W = W0.clone()
    else:
        K, Q = K0.clone(), Q0.clone()
        W = K @ Q.transpose(1, 2)

    def snapshot(W, p, loss):
        rec.record(W=W, loss=loss, mass=p.max(-1).values.mean(-1), selected=p.argmax(-1))

    if rec.wants(0):
        loss, _, p = problem(W)
        snapshot(W, p, loss)
    for step in range(1, steps + 1):
        loss, G, p = problem(W, rescale=normalized and param == "W")
        if param == "W":
            W = W - lr * (_unit_rows(G) if normalized else G)
        else:
            gK = G @ Q + 2 * ridge * K
            gQ = G.transpose(1, 2) @ K + 2 * ridge * Q
            if normalized:
                gK, gQ = _unit_rows(gK), _unit_rows(gQ)
            K, Q = K - lr * gK, Q - lr * gQ
            W = K @ Q.transpose(1, 2)
        if rec.wants(step):
            loss, _, p = problem(W)
            snapshot(W, p, loss)
    series = rec.finish()
    _check_finite(series, record)
    _, _, p = problem(W)
    final = {"W": series["W"][:, -1], "selected": series["selected"][:, -1], "p": p.cpu().numpy()}
    if param == "KQ":
        final.update(K=K.cpu().numpy(), Q=Q.cpu().numpy())
    return Trajectory(steps=np.asarray(record, dtype=np.int64), series=series, final=final, device=str(W.device))


def _check_finite(series: dict[str, np.ndarray], steps: np.ndarray) -> None:
    for name, arr in series.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise DivergenceError(name, int(steps[bad[1]]), float(arr[tuple(bad)]))


def regularization_path(data: dict[str, torch.Tensor], radii: Sequence[float], inner_steps: int,
                        W0: torch.Tensor, step_start: float = 0.3, step_end: float = 1e-5) -> Trajectory:
    r"""The ridge-constrained path $W_R \in \arg\min_{\|W\|_F \le R} L(W)$ for increasing $R$, all seeds at once.

    Each problem is solved by projected normalized gradient descent,
    $W \leftarrow \Pi_R\big(W - \eta_k R\, \nabla L/\|\nabla L\|_F\big)$ with a geometrically decaying relative step
    $\eta_k$ from ``step_start`` to ``step_end`` over ``inner_steps`` iterations (the angular resolution is
    ``step_end``), warm-started from $W_{R_{\rm prev}}\cdot R/R_{\rm prev}$ — a continuation path of (local) minimizers
    starting at the small-$R$ solution near $-R\,\nabla L(0)/\|\nabla L(0)\|$. Records per radius ``W`` (B, S, d, d),
    ``norm``, ``loss``, ``mass``, ``selected`` and ``stationarity`` $= 1 - \cos(-\nabla L(W_R), W_R)$ (0 at a KKT
    point of the ball constraint with the constraint active); ``steps`` are radius indices and ``final['radii']``
    the radii.
    """
    problem = _Problem(data["X"], data["Y"], data["Z"], data["v"])
    radii = np.asarray(radii, float)
    if radii.ndim != 1 or radii.size < 2 or np.any(radii <= 0) or np.any(np.diff(radii) <= 0):
        raise InputError(f"radii must be positive and increasing, got {radii}")
    if inner_steps < 1:
        raise InputError(f"inner_steps must be >= 1, got {inner_steps}")
    rec = Recorder(np.arange(radii.size))
    decay = (step_end / step_start) ** (1.0 / max(inner_steps - 1, 1))
    W = W0.clone()
    prev = float(W0.flatten(1).norm(dim=1).max())
    for k, R in enumerate(radii):
        W = W * (R / prev) if prev > 0 else W
        W = _project(W, R)
        eta = step_start
        for _ in range(inner_steps):
            _, G, _ = problem(W, rescale=True)
            W = _project(W - eta * R * _unit_rows(G), R)
            eta *= decay
        loss, G, p = problem(W, rescale=True)
        cos = -(G * W).sum((1, 2)) / (G.flatten(1).norm(dim=1) * W.flatten(1).norm(dim=1) + 1e-300)
        rec.record(W=W, norm=W.flatten(1).norm(dim=1), loss=loss, mass=p.max(-1).values.mean(-1),
                   selected=p.argmax(-1), stationarity=1.0 - cos)
        prev = R
    series = rec.finish()
    _check_finite(series, np.arange(radii.size))
    return Trajectory(steps=np.arange(radii.size, dtype=np.int64), series=series,
                      final={"radii": radii, "W": series["W"][:, -1], "selected": series["selected"][:, -1]},
                      device=str(W.device))


def _project(W: torch.Tensor, R: float) -> torch.Tensor:
    norm = W.flatten(1).norm(dim=1).view(-1, 1, 1)
    return W * torch.clamp(R / torch.clamp(norm, min=1e-300), max=1.0)


def instance_tensors(arrays: dict[str, np.ndarray], batch: int, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Broadcast one fixed instance (numpy X, Y, Z, v) to a batch of ``batch`` identical rows (for init studies)."""
    out = {k: torch.as_tensor(np.asarray(arrays[k], float), dtype=DEFAULT_DTYPE, device=device)
           .unsqueeze(0).expand(batch, *np.shape(arrays[k])).clone() for k in ("X", "Y", "Z", "v")}
    return out


def default_init_scale(d: int) -> float:
    """``nn.Linear``'s default init bound $1/\\sqrt{d_{\\rm in}}$."""
    return 1.0 / math.sqrt(d)
