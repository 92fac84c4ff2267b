r"""Training runs across widths in a given parametrization: the coordinate check, learning-rate sweeps, and the
sharpness along full-batch GD (torch, float64; networks from :mod:`theorycheck.numerics.wide`).

* :func:`coordinate_check` — full-batch SGD on $\frac12\,\mathrm{mean}_i(f(x_i) - f_0(x_i) - y_i)^2$ (the
  *centered* output $f - f_0$: the gradients are those of $f$, but the residual no longer carries the init
  output $f_0$, whose size depends on the width and the parametrization); records the RMS over inputs and
  coordinates of $h^L_t - h^L_0$ (the last hidden layer's pre-activations) and of $f_t - f_0$ after each step.
* :func:`lr_sweep` — online SGD on a teacher, all learning rates and seeds of one width in one batch, the same
  mini-batches for every learning rate (common random numbers); returns the final test loss.
* :func:`sharpness_trajectory` — full-batch GD with the top eigenvalue of the learning-rate-preconditioned
  Hessian $\Gamma^{1/2}H\Gamma^{1/2}$ ($\Gamma$ = per-layer lr factors; GD with base step $\eta$ is stable iff
  $\eta\lambda_{\max} < 2$) at checkpoints, by :func:`preconditioned_sharpness`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics.curvature import flat_closure, top_eigenvalue
from theorycheck.numerics.wide import Network, Scaling, forward, gradients, init_network, sgd_step


#: test loss recorded for a diverged (non-finite or astronomically large) run
DIVERGED = 1e300


def _rms(x: torch.Tensor) -> torch.Tensor:
    """RMS over every axis but the first (the batch of networks)."""
    return torch.sqrt(torch.mean(x.reshape(x.shape[0], -1) ** 2, dim=1))


def coordinate_check(X: torch.Tensor, y: torch.Tensor, scaling: Scaling, seeds: Sequence[int], *, lr: float,
                     steps: int, activation: str = "relu", stream: int = 0) -> dict[str, np.ndarray]:
    r"""``steps`` full-batch SGD steps on the centered mean-squared loss; returns ``features`` and ``output``,
    (S, steps): RMS of $h^L_t - h^L_0$ and of $f_t - f_0$ after steps $t = 1..T$ (non-finite once diverged)."""
    net = init_network(scaling, activation, seeds, X.device, stream=stream)
    f0, _, pre0 = forward(net, X)
    h0 = pre0[-1]
    feats, outs = [], []
    for _ in range(steps):
        f, inputs, pre = forward(net, X)
        gw, gb = gradients(net, inputs, pre, (f - f0 - y) / X.shape[-2])
        sgd_step(net, gw, gb, lr)
        f, _, pre = forward(net, X)
        feats.append(_rms(pre[-1] - h0))
        outs.append(_rms(f - f0))
    return {"features": torch.stack(feats, 1).cpu().numpy(), "output": torch.stack(outs, 1).cpu().numpy()}


def lr_sweep(X_train: torch.Tensor, y_train: torch.Tensor, X_test: torch.Tensor, y_test: torch.Tensor,
             scaling: Scaling, seeds: Sequence[int], lrs: Sequence[float], *, activation: str = "relu",
             stream: int = 0) -> np.ndarray:
    r"""Online SGD, one step per mini-batch ``X_train[s, t]`` (S, T, B, d) with targets ``y_train`` (S, T, B), on
    $\frac12\,\mathrm{mean}(f - y)^2$, for every (seed, lr); returns the final test loss (S, len(lrs)) on
    ``X_test`` (S, N, d), ``y_test`` (S, N), with :data:`DIVERGED` where training diverged (a finite marker, so
    that a diverged configuration is a measurement, not a failed run)."""
    S, K = len(seeds), len(lrs)
    if X_train.shape[0] != S:
        raise InputError(f"X_train has {X_train.shape[0]} seeds, expected {S}")
    # one network per (seed, lr): the seed's init repeated for every learning rate
    base = init_network(scaling, activation, seeds, X_train.device, stream=stream)
    net = Network(scaling, activation, [w.repeat_interleave(K, dim=0) for w in base.weights],
                  [b.repeat_interleave(K, dim=0) for b in base.biases])
    rate = torch.tensor(list(lrs) * S, dtype=X_train.dtype, device=X_train.device)
    batch = X_train.shape[2]
    for t in range(X_train.shape[1]):
        xb = X_train[:, t].repeat_interleave(K, dim=0)
        yb = y_train[:, t].repeat_interleave(K, dim=0)
        f, inputs, pre = forward(net, xb)
        gw, gb = gradients(net, inputs, pre, (f - yb) / batch)
        sgd_step(net, gw, gb, rate)
    f, _, _ = forward(net, X_test.repeat_interleave(K, dim=0))
    loss = 0.5 * torch.mean((f - y_test.repeat_interleave(K, dim=0)) ** 2, dim=1)
    loss = torch.where(torch.isfinite(loss) & (loss < DIVERGED), loss, torch.full_like(loss, DIVERGED))
    return loss.reshape(S, K).cpu().numpy()


def preconditioned_sharpness(net: Network, X: torch.Tensor, y: torch.Tensor, f0: torch.Tensor,
                             generator: torch.Generator, tol: float = 1e-6, steps: int = 60) -> torch.Tensor:
    r"""Top eigenvalue of $\Gamma^{1/2}H\Gamma^{1/2}$ per network (B,), $H$ the Hessian of the centered loss in
    the raw weights and $\Gamma$ the per-layer learning-rate factors: the Hessian in the coordinates
    $u = \Gamma^{-1/2}w$, in which GD has one step size (so $\eta\lambda_{\max} < 2$ is the stability edge).
    Batched Lanczos on double-backward HVPs (:mod:`theorycheck.numerics.curvature`). Networks without biases."""
    if net.scaling.has_bias:
        raise InputError("the sharpness of a parametrization is computed for networks without biases")
    root = [float(g) ** 0.5 for g in net.scaling.lr]

    def loss_in_u(us: list[torch.Tensor]) -> torch.Tensor:
        probe = Network(net.scaling, net.activation, [r * u for r, u in zip(root, us)], [])
        f, _, _ = forward(probe, X)
        return 0.5 * torch.mean((f - f0 - y) ** 2, dim=1)

    loss, theta = flat_closure(loss_in_u, [w.detach() / r for w, r in zip(net.weights, root)])
    return top_eigenvalue(loss, theta, method="lanczos", tol=tol, iters=steps, generator=generator).values


def sharpness_trajectory(X: torch.Tensor, y: torch.Tensor, scaling: Scaling, seeds: Sequence[int], *, lr: float,
                         steps: int, checkpoints: Sequence[int], tol: float = 1e-7, activation: str = "relu",
                         stream: int = 0) -> dict[str, np.ndarray]:
    r"""Full-batch GD on the centered loss $\frac12\,\mathrm{mean}(f - f_0 - y)^2$; at each checkpoint the sharpness
    (S, C) and the loss (S, C)."""
    net = init_network(scaling, activation, seeds, X.device, stream=stream)
    f0, _, _ = forward(net, X)
    f0 = f0.detach()
    gen = torch.Generator(device="cpu")
    gen.manual_seed(10007 * int(stream) + 1)
    wanted = sorted(set(int(c) for c in checkpoints))
    if wanted[0] < 0 or wanted[-1] > steps:
        raise InputError(f"checkpoints must lie in [0, steps={steps}], got {checkpoints}")
    sharp, losses = [], []
    for t in range(steps + 1):
        if t in wanted:
            sharp.append(preconditioned_sharpness(net, X, y, f0, gen, tol))
            f, _, _ = forward(net, X)
            losses.append(0.5 * torch.mean((f - f0 - y) ** 2, dim=1))
        if t == steps:
            break
        f, inputs, pre = forward(net, X)
        gw, gb = gradients(net, inputs, pre, (f - f0 - y) / X.shape[-2])
        sgd_step(net, gw, gb, lr)
    return {"sharpness": torch.stack(sharp, 1).cpu().numpy(), "loss": torch.stack(losses, 1).cpu().numpy()}
