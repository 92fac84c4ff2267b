"""Benchmark: the layer-by-layer empirical NTK against a plain ``torch.func.jacrev`` J Jᵀ, and the analytic kernels.

* empirical NTK (``theorycheck.numerics.wide.empirical_ntk``): one forward and one backward pass per input, memory
  O(inputs x width) besides the weights, no Jacobian;
* baseline: ``torch.func.jacrev`` of the network's outputs in all its parameters, then J Jᵀ — the Jacobian has
  inputs x parameters entries (the memory blow-up users of empirical-NTK tools report).

For each method and width the measurement runs in a fresh subprocess and reports NTK entries per second and the
peak resident memory *added* by the computation (``ru_maxrss`` after the computation minus after building the
network), so the two methods are compared on the same network. Widths where the Jacobian alone would exceed
``--jacobian-limit-gb`` are skipped for the baseline (and say so). Then the analytic NNGP/NTK recursion's
entries per second (ReLU and erf closed forms, tanh by quadrature).

Usage: ``python benchmarks/ntk.py [--quick] [--hidden-layers 1] [--points 32]``; prints a Markdown table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from torch.func import jacrev
from theorycheck.numerics.wide import empirical_ntk, init_network, ntk_scaling, forward, Network
method, width, layers, points, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = torch.randn(points, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
net = init_network(ntk_scaling(dim, width, layers, 1.4, 0.1), "relu", [0])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if method == "layerwise":
    K = empirical_ntk(net, X)[0]
else:
    params = [p[0] for p in net.parameters()]
    depth = net.scaling.depth
    def f(ps):
        probe = Network(net.scaling, net.activation, [w[None] for w in ps[:depth]], [b[None] for b in ps[depth:]])
        return forward(probe, X)[0][0]
    jac = jacrev(f)(params)
    J = torch.cat([j.reshape(points, -1) for j in jac], dim=1)
    K = J @ J.T
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "extra_mb": (peak - base) / 1024, "trace": float(K.trace())}))
"""


def measure(method: str, width: int, layers: int, points: int, dim: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, method, str(width), str(layers), str(points), str(dim)],
                         capture_output=True, text=True, check=True, env={**os.environ})
    return json.loads(out.stdout.strip().splitlines()[-1])


def parameter_count(width: int, layers: int, dim: int) -> int:
    widths = [dim] + [width] * layers + [1]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def analytic_rates(quick: bool) -> list[tuple[str, int, float]]:
    from theorycheck.theory.kernels import infinite_width_kernels

    rng = np.random.default_rng(0)
    rows = []
    for activation, depth, count in (("relu", 3, 256 if quick else 1024), ("erf", 3, 256 if quick else 1024),
                                     ("tanh", 1, 16 if quick else 48)):
        X = rng.standard_normal((count, 16))
        start = time.perf_counter()
        infinite_width_kernels(X, depth=depth, sw=1.4, sb=0.1, activation=activation)
        rows.append((f"{activation}, depth {depth}", count * count, count * count / (time.perf_counter() - start)))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="widths 1k..16k only")
    parser.add_argument("--hidden-layers", type=int, default=1)
    parser.add_argument("--points", type=int, default=32)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--jacobian-limit-gb", type=float, default=4.0)
    args = parser.parse_args(argv)
    widths = [1024, 4096, 16384] if args.quick else [1024, 2048, 4096, 8192, 16384, 32768, 65536]
    if args.hidden_layers > 1:
        widths = [w for w in widths if w <= 8192]
    print(f"empirical NTK of a {args.hidden_layers}-hidden-layer ReLU net, {args.points} inputs in d = {args.dim}, "
          f"float64, one thread")
    print("| width | parameters | layerwise entries/s | layerwise extra MB | jacrev entries/s | jacrev extra MB | "
          "speedup | max rel. diff |")
    print("|---|---|---|---|---|---|---|---|")
    entries = args.points**2
    for width in widths:
        P = parameter_count(width, args.hidden_layers, args.dim)
        mine = measure("layerwise", width, args.hidden_layers, args.points, args.dim)
        jac_gb = 3 * args.points * P * 8 / 1e9          # J plus the per-output cotangent batch, roughly
        if jac_gb > args.jacobian_limit_gb:
            base_cols = f"skipped (J alone ~{args.points * P * 8 / 1e9:.1f} GB) | - | - | -"
        else:
            ref = measure("jacrev", width, args.hidden_layers, args.points, args.dim)
            diff = abs(mine["trace"] - ref["trace"]) / abs(ref["trace"])
            base_cols = (f"{entries / ref['seconds']:,.0f} | {ref['extra_mb']:.0f} | "
                         f"{ref['seconds'] / mine['seconds']:.1f}x | {diff:.1e}")
        print(f"| {width} | {P:,} | {entries / mine['seconds']:,.0f} | {mine['extra_mb']:.0f} | {base_cols} |")
    print()
    print("| analytic kernel | entries | entries/s |")
    print("|---|---|---|")
    for name, count, rate in analytic_rates(args.quick):
        print(f"| {name} | {count:,} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
