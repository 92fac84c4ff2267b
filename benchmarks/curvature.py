"""Benchmark: the batched curvature engine against dense eigensolvers and the per-seed loops of the standard
Hessian tools.

Model: the tanh MLP of ``stability.edge-of-stability`` (widths 16-32-32-4 by default, P = 1732, n = 128
teacher-labelled points, squared loss with 1/2), one model per seed, perturbed from its init so the spectrum
is generic. Float64 throughout.

* HVPs per second: one batched double-backward HVP for all B seeds vs the same HVP for one seed at a time.
* Top eigenvalue to relative tolerance ``--tol``:
  - batched Lanczos (``theorycheck.numerics.curvature.lanczos``), all seeds at once;
  - batched power iteration (same stopping rule as the standard tools: relative change of the estimate);
  - the plain per-seed power-iteration loop as PyHessian / pytorch-hessian-eigenthings run it: a
    ``torch.nn.Module`` per seed, the gradient with ``create_graph=True``, vectors as lists of parameter-shaped
    tensors, ``torch.autograd.grad(grads, params, v)`` per HVP, at most 100 iterations;
  - ``scipy.sparse.linalg.eigsh`` on a LinearOperator, per seed;
  - the dense Hessian (P batched HVPs) and ``torch.linalg.eigvalsh``.
  Each reports seconds, HVPs, and the largest relative error against the dense answer.

Usage: ``python benchmarks/curvature.py [--seeds 8] [--widths 16,32,32,4] [--tol 1e-6]``; the last line
printed is ``speedup <batched Lanczos vs per-seed power loop>``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from theorycheck.numerics import curvature as C  # noqa: E402
from theorycheck.numerics.edge import init_mlp, mlp_loss, mlp_shapes, teacher_data  # noqa: E402


class TanhMLP(nn.Module):
    """The same network as a module (what the per-seed tools take)."""

    def __init__(self, widths, flat: torch.Tensor):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(i, o).double() for i, o in zip(widths[:-1], widths[1:]))
        parts = C.unflatten(flat[None], mlp_shapes(widths))
        with torch.no_grad():
            for layer, (W, b) in zip(self.layers, zip(parts[::2], parts[1::2])):
                layer.weight.copy_(W[0])
                layer.bias.copy_(b[0])

    def forward(self, x):
        for j, layer in enumerate(self.layers):
            x = layer(x)
            if j + 1 < len(self.layers):
                x = torch.tanh(x)
        return x


def per_seed_power(widths, theta, X, Y, tol: float, max_iter: int = 100):
    """The standard tools' loop: per model, list-of-tensor vectors, relative-change stopping."""
    values, hvps = [], 0
    for b in range(theta.shape[0]):
        model = TanhMLP(widths, theta[b])
        params = [p for p in model.parameters()]
        loss = 0.5 * ((model(X[b]) - Y[b]) ** 2).sum(dim=-1).mean()
        grads = torch.autograd.grad(loss, params, create_graph=True)
        gen = torch.Generator().manual_seed(b)
        v = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
        norm = torch.sqrt(sum((x * x).sum() for x in v))
        v = [x / norm for x in v]
        eig = None
        for _ in range(max_iter):
            Hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
            hvps += 1
            new = sum((x * y).sum() for x, y in zip(Hv, v)).item()
            norm = torch.sqrt(sum((x * x).sum() for x in Hv))
            v = [x / norm for x in Hv]
            if eig is not None and abs(new - eig) / (abs(eig) + 1e-6) < tol:
                eig = new
                break
            eig = new
        values.append(eig)
    return np.array(values), hvps


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--widths", default="16,32,32,4")
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--hvps", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    widths = tuple(int(w) for w in args.widths.split(","))
    seeds = list(range(args.seeds))
    X, Y = teacher_data(args.n, widths[0], widths[-1], seeds)
    theta = init_mlp(widths, seeds)
    theta = theta + 0.2 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    loss = mlp_loss(X, Y, widths)
    B, P = theta.shape
    print(f"tanh MLP {widths}, P = {P}, n = {args.n}, B = {B} seeds, float64, {torch.get_num_threads()} thread(s)")

    op = C.HessianOperator(loss, theta)
    v = torch.randn(theta.shape, dtype=torch.float64)
    _, t_batched = timed(lambda: [op.matvec(v) for _ in range(args.hvps)])
    one = C.HessianOperator(mlp_loss(X[:1], Y[:1], widths), theta[:1])
    _, t_one = timed(lambda: [one.matvec(v[:1]) for _ in range(args.hvps)])
    print(f"HVPs: batched {B * args.hvps / t_batched:,.0f} model-HVPs/s; one model at a time "
          f"{args.hvps / t_one:,.0f} model-HVPs/s; batching gain {B * t_one / t_batched:.2f}x")

    dense_vals, t_dense = timed(lambda: torch.linalg.eigvalsh(C.dense_hessian(loss, theta))[:, -1])
    ref = dense_vals.numpy()
    print(f"dense Hessian ({P} batched HVPs) + eigvalsh: {t_dense:.2f} s")

    rows = []
    (lan, _), t = timed(lambda: C.lanczos(loss, theta, k=1, steps=200, tol=args.tol, ends="top", check_every=2))
    rows.append(("batched Lanczos", t, lan.matvecs * B, lan.values[:, 0].numpy()))
    pw, t = timed(lambda: C.power_iteration(loss, theta, iters=1000, tol=args.tol))
    rows.append(("batched power iteration", t, pw.matvecs * B, pw.values.numpy()))
    (ps, hv), t = timed(lambda: per_seed_power(widths, theta, X, Y, args.tol))
    rows.append(("per-seed power loop (standard tools)", t, hv, ps))
    ar, t = timed(lambda: C.eigsh(loss, theta, k=1, which="LA", tol=args.tol))
    rows.append(("scipy eigsh per seed", t, ar.matvecs * B, ar.values[:, 0].numpy()))  # each matvec is a batched HVP
    rows.append(("dense eigvalsh", t_dense, P * B, ref))
    print(f"{'method':40s} {'seconds':>9s} {'model-HVPs':>11s} {'max rel err':>12s} {'time vs Lanczos':>16s}")
    for name, secs, hvps, vals in rows:
        err = float(np.max(np.abs(vals / ref - 1)))
        print(f"{name:40s} {secs:9.3f} {hvps:11d} {err:12.2e} {secs / rows[0][1]:15.2f}x")
    print(f"speedup {rows[2][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
