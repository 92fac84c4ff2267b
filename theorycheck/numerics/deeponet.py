r"""DeepONets without biases, activation $|\cdot|$: data, training with the capacity regularizer,
norms, the tensor-product identity, and the sign-correlation maximization (torch, float64, batched).

A DeepONet with $n$ layers in the branch and in the trunk,

.. math::  G(u)(y) = \sum_{j=1}^p \mathcal B(u)_j\,\mathcal T(y)_j,\qquad
   \mathcal B(u) = B_n|B_{n-1}\cdots|B_1u||,\quad \mathcal T(y) = T_n|T_{n-1}\cdots|T_1y||,

is exactly an $|\cdot|$-network on $u\otimes y$: since $(B\otimes T)(a\otimes b) = Ba\otimes Tb$
and $|a\otimes b| = |a|\otimes|b|$ entrywise, $G(u)(y) = w^\top|K_{n-1}\cdots|K_1(u\otimes y)||$ with
$K_k = B_k\otimes T_k$ and $w = \mathrm{vec}(B_n^\top T_n)$ (:func:`kron_forward` builds it;
``tests/test_deeponet.py`` checks the identity to ~1e-13).

Weights are lists of tensors (S, out, in), S = batch (configs x seeds). Data: branch inputs
``U`` (S, F, m_u), trunk inputs ``Y`` (S, F, P, m_y) — F functions, P query points per function,
N = F·P pairs; targets ``G`` (S, F, P).
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import DivergenceError, InputError
from theorycheck.numerics.trajectory import Recorder, Trajectory, log_spaced_steps

Weights = list[torch.Tensor]


# --------------------------------------------------------------------------- data

def antiderivative_data(seeds: Sequence[int], n_funcs: int, n_points: int, sensors: int, modes: int = 6,
                        decay: float = 1.0, salt: int = 0, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    r"""The antiderivative operator $G(u)(y) = \int_0^y u(x)\,dx$ on random smooth functions.

    $u(x) = \sum_{k=0}^{K} (1+k)^{-\text{decay}}\,(\alpha_k\cos 2\pi kx + \beta_k\sin 2\pi kx)$,
    $\alpha_k, \beta_k \sim N(0,1)$, so $\int_0^y u = \alpha_0 y + \sum_{k\ge1}(1+k)^{-\text{decay}}
    (\alpha_k\sin 2\pi ky + \beta_k(1-\cos 2\pi ky))/(2\pi k)$ exactly. Branch input: the values at
    ``sensors`` equispaced points scaled by $1/\sqrt m$, plus a constant coordinate 1; trunk input
    $(y, 1)$, $y\sim U[0,1]$. The constant coordinates let bias-free nets represent affine maps
    (without them a bias-free $|\cdot|$-trunk is $|y|$ times a constant vector, and a branch with
    $\ge 2$ layers is even in $u$, while $G$ is odd); the bound below is for nets on these augmented
    inputs, so nothing is lost.
    """
    if min(n_funcs, n_points, sensors, modes) < 1:
        raise InputError("n_funcs, n_points, sensors and modes must be >= 1")
    k = torch.arange(modes + 1, dtype=torch.float64)
    amp = (1.0 + k) ** (-decay)
    xs = torch.linspace(0, 1, sensors, dtype=torch.float64)
    Us, Ys, Gs = [], [], []
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed) * 15485863 + salt)
        al = torch.randn(n_funcs, modes + 1, generator=gen, dtype=torch.float64) * amp
        be = torch.randn(n_funcs, modes + 1, generator=gen, dtype=torch.float64) * amp
        y = torch.rand(n_funcs, n_points, generator=gen, dtype=torch.float64)
        ang = 2 * math.pi * xs[:, None] * k                                   # (m, K+1)
        u = al @ torch.cos(ang).T + be @ torch.sin(ang).T                     # (F, m)
        ky = 2 * math.pi * y[..., None] * k[1:]                               # (F, P, K)
        G = al[:, None, 0] * y + (al[:, None, 1:] * torch.sin(ky) + be[:, None, 1:] * (1 - torch.cos(ky))).div(
            2 * math.pi * k[1:]).sum(-1)
        Us.append(torch.cat([u / math.sqrt(sensors), torch.ones(n_funcs, 1, dtype=torch.float64)], 1))
        Ys.append(torch.stack([y, torch.ones_like(y)], -1))
        Gs.append(G)
    return {"U": torch.stack(Us).to(device), "Y": torch.stack(Ys).to(device), "G": torch.stack(Gs).to(device)}


def init_weights(batch: int, widths: Sequence[int], gen: torch.Generator, device: torch.device | str = "cpu") -> Weights:
    """Glorot-normal bias-free layers for widths (in, h_1, ..., out): list of (batch, out, in)."""
    if len(widths) < 2 or min(widths) < 1:
        raise InputError(f"widths must list >= 2 positive sizes, got {list(widths)}")
    return [torch.randn((batch, o, i), generator=gen, dtype=torch.float64).to(device) * math.sqrt(2.0 / (i + o))
            for i, o in zip(widths[:-1], widths[1:])]


# --------------------------------------------------------------------------- forward passes

def mlp_abs(weights: Sequence[torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    r"""$W_n|W_{n-1}\cdots|W_1x||$ for X (S, ..., d_in) → (S, ..., d_out)."""
    h = X
    for k, W in enumerate(weights):
        shape = h.shape
        h = torch.bmm(h.reshape(shape[0], -1, shape[-1]), W.transpose(1, 2)).reshape(*shape[:-1], W.shape[1])
        if k < len(weights) - 1:
            h = h.abs()
    return h


def deeponet(Bw: Sequence[torch.Tensor], Tw: Sequence[torch.Tensor], U: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    r"""$G(u_f)(y_{fp}) = \mathcal B(u_f)^\top\mathcal T(y_{fp})$: U (S, F, m_u), Y (S, F, P, m_y) → (S, F, P)."""
    if len(Bw) != len(Tw):
        raise InputError(f"branch and trunk must have the same depth, got {len(Bw)} and {len(Tw)}")
    b = mlp_abs(Bw, U)                                  # (S, F, p)
    t = mlp_abs(Tw, Y)                                  # (S, F, P, p)
    return torch.einsum("sfj,sfpj->sfp", b, t)


def kron_layers(Bw: Sequence[torch.Tensor], Tw: Sequence[torch.Tensor]) -> Weights:
    r"""The equivalent $|\cdot|$-network on $u\otimes y$: $K_k = B_k\otimes T_k$ ($k<n$) and
    the last layer $\mathrm{vec}(B_n^\top T_n)^\top$ (row-major, matching ``kron``)."""
    K = [torch.stack([torch.kron(b, t) for b, t in zip(B, T)]) for B, T in zip(Bw[:-1], Tw[:-1])]
    last = torch.einsum("sjk,sjl->skl", Bw[-1], Tw[-1])                 # B_n^T T_n
    return K + [last.reshape(last.shape[0], 1, -1)]


def kron_forward(Bw: Sequence[torch.Tensor], Tw: Sequence[torch.Tensor], U: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    r"""The same DeepONet evaluated as the $|\cdot|$-network on $u\otimes y$ (for tests): (S, F, P)."""
    X = torch.einsum("sfa,sfpb->sfpab", U, Y).reshape(*Y.shape[:3], -1)     # u ⊗ y, row-major
    return mlp_abs(kron_layers(Bw, Tw), X)[..., 0]


# --------------------------------------------------------------------------- norms

def layer_norms(Bw: Sequence[torch.Tensor], Tw: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""Frobenius norms of the equivalent net's layers, (S, n): $\|B_k\|_F\|T_k\|_F$ for $k<n$
    ($=\|B_k\otimes T_k\|_F$) and $\|B_n^\top T_n\|_F$."""
    cols = [torch.linalg.matrix_norm(b) * torch.linalg.matrix_norm(t) for b, t in zip(Bw[:-1], Tw[:-1])]
    cols.append(torch.linalg.matrix_norm(torch.einsum("sjk,sjl->skl", Bw[-1], Tw[-1])))
    return torch.stack(cols, -1)


def paper_capacity(Bw: Sequence[torch.Tensor], Tw: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""The capacity measure of Gopalani, Karmakar, Kumar & Mukherjee (authors' ``calculate_radbound``
    without its $1/\sqrt{NP}$), differentiable, (S,):

    $C = \sum_{k,l}\|B_{n-1}[k,:]\|_2\,|(B_n^\top T_n)_{kl}|\,\|T_{n-1}[l,:]\|_2 \cdot
    \prod_{k=1}^{n-2}\|B_k\|_F\|T_k\|_F$ (for $n=3$ this is the authors' ``C_1*C_2``; the spectral
    norm of the rank-one matrix of row-norm products there equals $\|B_k\|_F\|T_k\|_F$).
    """
    n = len(Bw)
    if n < 2:
        raise InputError("the capacity measure needs at least 2 layers per net")
    M = torch.einsum("sjk,sjl->skl", Bw[-1], Tw[-1]).abs()
    rb = torch.linalg.vector_norm(Bw[-2], dim=-1)
    rt = torch.linalg.vector_norm(Tw[-2], dim=-1)
    C = torch.einsum("sk,skl,sl->s", rb, M, rt)
    for b, t in zip(Bw[:-2], Tw[:-2]):
        C = C * torch.linalg.matrix_norm(b) * torch.linalg.matrix_norm(t)
    return C


def sum_sq_norms(U: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    r"""$\sum_i\|u_i\otimes y_i\|^2 = \sum_{f,p}\|u_f\|^2\|y_{fp}\|^2$, (S,)."""
    return torch.einsum("sf,sfp->s", (U * U).sum(-1), (Y * Y).sum(-1))


# --------------------------------------------------------------------------- training

def _loss(pred: torch.Tensor, target: torch.Tensor, loss: str, delta: float) -> torch.Tensor:
    r = pred - target
    if loss == "l2":
        return (r * r).mean((-1, -2))
    if loss == "huber":
        a = r.abs()
        return torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)).mean((-1, -2))
    raise InputError(f"loss must be l2 or huber, got {loss!r}")


def train(Bw: Weights, Tw: Weights, data: dict[str, torch.Tensor], beta: torch.Tensor, steps: int, lr: float,
          loss: str = "l2", huber_delta: float = 1.0, per_decade: int = 10) -> Trajectory:
    r"""Full-batch Adam on $\hat L + \beta\,C(\theta)$ ($C$ = :func:`paper_capacity`), all nets at once.

    ``beta`` (S,) per net (0 = unregularized). Adam's update is coordinate-wise, so the batched
    problems do not interact. Records the data loss, $C$ and the Frobenius product of
    :func:`layer_norms` at log-spaced steps; ``final`` holds
    the weights (``B0``, ``B1``, ..., ``T0``, ...).
    """
    start = time.perf_counter()
    params = [w.clone().requires_grad_(True) for w in (*Bw, *Tw)]
    n = len(Bw)
    opt = torch.optim.Adam(params, lr=lr)
    rec = Recorder(np.concatenate([[0], log_spaced_steps(steps, per_decade)]))
    U, Y, G = data["U"], data["Y"], data["G"]
    for t in range(steps + 1):
        opt.zero_grad(set_to_none=True)
        data_loss = _loss(deeponet(params[:n], params[n:], U, Y), G, loss, huber_delta)
        cap = paper_capacity(params[:n], params[n:])
        if rec.wants(t):
            rec.record(loss=data_loss.detach(), capacity=cap.detach(),
                       frobenius=layer_norms(params[:n], params[n:]).prod(-1).detach())
        if t == steps:
            break
        (data_loss + beta * cap).sum().backward()
        opt.step()
    series = rec.finish()
    bad = ~np.isfinite(series["loss"])                                    # (S, T)
    if bad.any():
        col = int(np.argmax(bad.any(0)))
        raise DivergenceError("DeepONet training loss", int(rec.steps[col]), float(series["loss"][bad][0]))
    final = {f"B{k}": p.detach().cpu().numpy() for k, p in enumerate(params[:n])}
    final.update({f"T{k}": p.detach().cpu().numpy() for k, p in enumerate(params[n:])})
    return Trajectory(rec.steps, series, final, str(U.device), time.perf_counter() - start)


def evaluate_loss(Bw, Tw, data, loss: str = "l2", huber_delta: float = 1.0) -> torch.Tensor:
    """Data loss (S,) of the given weights on ``data`` (no gradient)."""
    with torch.no_grad():
        return _loss(deeponet(Bw, Tw, data["U"], data["Y"]), data["G"], loss, huber_delta)


def relative_l2_error(Bw, Tw, data) -> torch.Tensor:
    r"""$\|G_\theta - G\|_2/\|G\|_2$ over all pairs, (S,)."""
    with torch.no_grad():
        r = deeponet(Bw, Tw, data["U"], data["Y"]) - data["G"]
        return (r * r).sum((-1, -2)).sqrt() / (data["G"] ** 2).sum((-1, -2)).sqrt()


# --------------------------------------------------------------------------- sign-correlation maximization

MEASURES = ("frobenius", "paper")


def normalized_correlation(Bw, Tw, U, Y, sigma, measure: str = "frobenius") -> torch.Tensor:
    r"""$\frac1N\sum_i\sigma_iG_\theta(x_i)\,/\,\text{measure}(\theta)$ — the correlation of the DeepONet rescaled
    into the unit ball of a capacity measure.

    ``measure="frobenius"``: the product of the equivalent layers' Frobenius norms (:func:`layer_norms`);
    ``measure="paper"``: the paper's capacity $C(\theta)$ (:func:`paper_capacity`). Both are positively
    homogeneous of degree 1 in each layer, as $G_\theta$ is, so the ratio is the value attained by a
    member of the unit ball (rescale each layer). Shapes: weights (Q, ...), U (Q, F, m_u),
    Y (Q, F, P, m_y), sigma (Q, F, P) → (Q,).
    """
    corr = (sigma * deeponet(Bw, Tw, U, Y)).mean((-1, -2))
    if measure == "frobenius":
        return corr / layer_norms(Bw, Tw).prod(-1)
    if measure == "paper":
        return corr / paper_capacity(Bw, Tw)
    raise InputError(f"measure must be one of {MEASURES}, got {measure!r}")


def sign_correlation_max(U: torch.Tensor, Y: torch.Tensor, sigma: torch.Tensor, branch_widths: Sequence[int],
                         trunk_widths: Sequence[int], restarts: int, steps: int, lr: float,
                         gen: torch.Generator, init: tuple[Weights, Weights] | None = None,
                         measure: str = "frobenius") -> torch.Tensor:
    r"""Lower estimate of $\sup_\theta\frac1N\sum_i\sigma_iG_\theta(x_i)$ over the unit ball of ``measure``
    (:func:`normalized_correlation`: unit Frobenius product of the equivalent layers, or unit paper
    capacity $C(\theta)\le1$), for every sign draw.

    ``U`` (S, F, m_u), ``Y`` (S, F, P, m_y), ``sigma`` (S, K, F, P) with K sign draws per data set.
    Adam ascent on :func:`normalized_correlation` (scale-invariant, so no projection is needed;
    the layers are renormalized after each step to keep the scale fixed) from ``restarts`` random
    inits, all (S, K, restarts) problems as one tensor program. Returns the best value per draw
    (S, K); every value is attained by a member of the class, so it is a lower bound of the
    per-draw supremum. ``init`` (branch, trunk weights with leading size S*K*restarts, ordered
    (S, K, restarts)) replaces the random inits (for tests).
    """
    S, K = sigma.shape[:2]
    Q = S * K * restarts
    expand = lambda A: A[:, None, None].expand(S, K, restarts, *A.shape[1:]).reshape(Q, *A.shape[1:])  # noqa: E731
    Uq, Yq = expand(U), expand(Y)
    sq = sigma[:, :, None].expand(S, K, restarts, *sigma.shape[2:]).reshape(Q, *sigma.shape[2:])
    if init is None:
        Bw = init_weights(Q, branch_widths, gen, U.device)
        Tw = init_weights(Q, trunk_widths, gen, U.device)
    else:
        Bw, Tw = init
    params = [w.detach().clone().requires_grad_(True) for w in (*Bw, *Tw)]
    n = len(Bw)
    opt = torch.optim.Adam(params, lr=lr)
    best = torch.full((Q,), -torch.inf, dtype=torch.float64, device=U.device)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        val = normalized_correlation(params[:n], params[n:], Uq, Yq, sq, measure)
        best = torch.maximum(best, val.detach())
        (-val.sum()).backward()
        opt.step()
        with torch.no_grad():
            for w in params:
                w.div_(torch.linalg.matrix_norm(w)[:, None, None])
    with torch.no_grad():
        best = torch.maximum(best, normalized_correlation(params[:n], params[n:], Uq, Yq, sq, measure))
    if not bool(torch.isfinite(best).all()):
        raise DivergenceError("sign-correlation ascent", steps, float("nan"))
    return best.reshape(S, K, restarts).amax(-1)
