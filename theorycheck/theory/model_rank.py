r"""Model rank: the dimension of the tangent space of a model at the simplest parameters that represent a target
(Zhang, Zhang, Zhang, Bai, Luo & Xu, "Optimistic Estimate Uncovers the Potential of Nonlinear Models",
arXiv 2307.08921; "Linear Stability Hypothesis and Rank Stratification for Nonlinear Models", arXiv 2211.11623).

For a model $f_\theta$ and a target $f^*$, the model rank is $\min\{\mathrm{rank}\{\partial_{\theta_i}f_\theta\}:
f_\theta = f^*\}$ (rank of the functions $\partial_{\theta_i}f_\theta$ over generic inputs). It is the optimistic
sample size: the smallest number of samples from which the target can be recovered. Counts (the minimizing
parameters put the target's units in the model and every extra unit at zero, which contributes nothing):

* matrix factorization $UV^\top$, $U, V\in\mathbb R^{d\times d}$, target of rank $r$: $2dr - r^2$ (the tangent
  $\{\dot UV^\top + U\dot V^\top\}$ of the rank-$r$ manifold);
* two-layer tanh network $\sum_j a_j\tanh(w_j\cdot x)$ without biases, target with $k$ effective neurons:
  $k(d+1)$ for every width $m\ge k$ (with input biases $k(d+2)$);
* two-layer ReLU network: $kd$ (positive homogeneity: $\mathrm{relu}(w\cdot x) = \mathrm{relu}'(w\cdot x)\,w\cdot x$ puts
  $\partial_{a_j}f$ in the span of $\partial_{w_j}f$);
* three-layer tanh network, target widths $(k_1, k_2)$: $k_1d + k_2k_1 + k_2$;
* one-dimensional convolution with kernel size $s$, $k$ channels, tanh and a sum-pooled readout: $k(s+1)$.
"""

from __future__ import annotations

from theorycheck.errors import InputError

ARCHITECTURES = ("factorization", "tanh2", "relu2", "tanh3", "cnn1d")


def model_rank(architecture: str, *, d: int, k: int = 1, k2: int = 0, r: int = 0, s: int = 0) -> int:
    """Predicted model rank of the target (see the module docstring for the conventions)."""
    if d < 1:
        raise InputError(f"d must be positive, got {d}")
    if architecture == "factorization":
        if not 1 <= r <= d:
            raise InputError(f"target rank r must be in [1, d={d}], got {r}")
        return 2 * d * r - r * r
    if k < 1:
        raise InputError(f"the target needs k >= 1 units, got {k}")
    if architecture == "tanh2":
        return k * (d + 1)
    if architecture == "relu2":
        return k * d
    if architecture == "tanh3":
        if k2 < 1:
            raise InputError(f"tanh3 needs k2 >= 1, got {k2}")
        return k * d + k2 * k + k2
    if architecture == "cnn1d":
        if s < 1:
            raise InputError(f"cnn1d needs kernel size s >= 1, got {s}")
        return k * (s + 1)
    raise InputError(f"unknown architecture {architecture!r}; choose from {ARCHITECTURES}")
