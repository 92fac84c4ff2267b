r"""Underdetermined regression data: Gaussian design, sparse planted vector, deterministic in the seed.

For the implicit-regularizer claims (``theorycheck.verify.claims.regularizers``): $X \in \mathbb R^{n\times d}$ with
i.i.d. $N(0, 1)$ entries and $n < d$, a sparse planted $w^\star$ and noiseless labels
$y = X w^\star$. With $n < d$ a Gaussian $X$ has full row rank almost surely, so every $y$ is
interpolated by a $(d - n)$-dimensional affine family, and the claims ask which member gradient
descent picks.

Each seed's data are drawn with their own CPU ``torch.Generator`` (seeded with that seed), in
float64, so they do not depend on the device or on the other seeds of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import InputError

__all__ = ["RegressionData", "sparse_regression"]


@dataclass
class RegressionData:
    """A batch of regression problems, one per seed (numpy, float64).

    ``X`` (seeds, n, d), ``y`` (seeds, n), ``w_star`` (seeds, d), ``seeds`` the seed list.
    """

    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray
    seeds: list[int]

    @property
    def n(self) -> int:
        return int(self.X.shape[1])

    @property
    def d(self) -> int:
        return int(self.X.shape[2])


def sparse_regression(
    n: int,
    d: int,
    seeds: Sequence[int] | int,
    support_values: Sequence[float] = (1.0, -1.0, 0.5),
    *,
    shuffle_support: bool = False,
    noise: float = 0.0,
) -> RegressionData:
    r"""Gaussian design $X_{ij} \sim N(0,1)$ and $y = X w^\star + \sigma\xi$, one problem per seed.

    ``support_values`` are the nonzero entries of $w^\star$; they sit on the first coordinates
    (the reference setup's $w^\star = (1, -1, 0.5, 0, \dots)$) unless ``shuffle_support``, which places
    them on random coordinates (the Gaussian design is exchangeable, so this changes nothing in
    distribution). ``noise`` $\sigma \ge 0$ adds Gaussian label noise (still interpolable when
    $n < d$).
    """
    if isinstance(seeds, int):
        if seeds < 1:
            raise InputError(f"seeds must be at least 1, got {seeds}")
        seeds = list(range(seeds))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("seeds must name at least one seed")
    if n < 1 or d < 1:
        raise InputError(f"n and d must be positive, got n={n}, d={d}")
    k = len(support_values)
    if k > d:
        raise InputError(f"support_values has {k} entries but d={d}")
    if noise < 0:
        raise InputError(f"noise must be non-negative, got {noise}")
    Xs, ys, ws = [], [], []
    for seed in seeds:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(seed)
        X = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w = torch.zeros(d, dtype=torch.float64)
        idx = torch.randperm(d, generator=gen)[:k] if shuffle_support else torch.arange(k)
        w[idx] = torch.tensor(list(support_values), dtype=torch.float64)
        y = X @ w
        if noise > 0:
            y = y + noise * torch.randn(n, generator=gen, dtype=torch.float64)
        Xs.append(X)
        ys.append(y)
        ws.append(w)
    return RegressionData(torch.stack(Xs).numpy(), torch.stack(ys).numpy(), torch.stack(ws).numpy(), seeds)
