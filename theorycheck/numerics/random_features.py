r"""Kernel and random-feature ridge regression on the Gaussian linear-feature task, with exact population risk
(torch, float64, batched over trials).

Task: $x\sim N(0, I_M)$, eigenfunctions $\phi_i(x) = x_i$ (orthonormal under the data distribution), kernel
$K(x,x') = \sum_i\lambda_i x_ix_i'$, target $f^*(x) = v\cdot x$, labels $y = f^*(x) + \varepsilon$,
$\varepsilon\sim N(0, \sigma^2)$. Every predictor here is linear in $x$, $\hat f(x) = \hat\beta\cdot x$, so its
test MSE against noisy labels is exactly $\|\hat\beta - v\|^2 + \sigma^2$ — no test sample, no test noise.

* KRR: $\alpha = (K(X,X) + \delta I)^{-1}y$, $\hat\beta = \Lambda X^\top\alpha$.
* RF with $k$ features $g(x) = Z\Lambda^{1/2}x$, $Z_{ji}\sim N(0,1)$: $G = X\Lambda^{1/2}Z^\top$ ($n\times k$),
  $\hat K = GG^\top/k$, $\alpha = (\hat K + \delta I)^{-1}y$, $\hat\beta = \Lambda^{1/2}Z^\top G^\top\alpha/k$.

Feature counts use the first $k$ rows of one $Z$ per trial and sample counts the first $n$ rows of one $X$
(nested designs); all ridges come from one eigendecomposition per (trial, $n$, $k$). The ridge $\delta$ is not
multiplied by $n$.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from theorycheck.errors import InputError


def _risk_from_gram(gram: torch.Tensor, y: torch.Tensor, coef_map, v: torch.Tensor, noise: float,
                    ridges: torch.Tensor) -> torch.Tensor:
    """(T, R) test MSE for every ridge: alpha = U (s + ridge)^-1 U^T y, beta = coef_map(alpha)."""
    s, U = torch.linalg.eigh(gram)                                   # (T, n), (T, n, n)
    uy = torch.einsum("tnm,tn->tm", U, y)                            # (T, n)
    alphas = torch.einsum("tnm,tmr->tnr", U, uy[..., None] / (s[..., None] + ridges))   # (T, n, R)
    beta = coef_map(alphas)                                          # (T, M, R)
    return torch.sum((beta - v[None, :, None]) ** 2, dim=1) + noise


def ridge_risk_trials(seeds: Sequence[int], eigenvalues: np.ndarray, coefficients: np.ndarray, noise: float,
                      ridges: Sequence[float], sizes: Sequence[tuple[int, int]],
                      device: torch.device | str = "cpu") -> np.ndarray:
    """Test MSE (S, len(sizes), R): one trial per seed (fresh data, noise and features, drawn from the seed's own
    generator so that a seed's trial does not depend on the other seeds), see :func:`ridge_risks`."""
    lam = torch.as_tensor(np.asarray(eigenvalues, float), device=device)
    v = torch.as_tensor(np.asarray(coefficients, float), device=device)
    n_max = max(n for n, _ in sizes)
    k_max = max(k for _, k in sizes)
    out = []
    for seed in seeds:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed) * 7_777_777 + 31)
        X = torch.randn((1, n_max, lam.numel()), generator=gen, dtype=torch.float64).to(device)
        eps = torch.randn((1, n_max), generator=gen, dtype=torch.float64).to(device)
        Z = torch.randn((1, max(k_max, 1), lam.numel()), generator=gen, dtype=torch.float64).to(device)
        out.append(ridge_risks(X, eps, Z, lam, v, noise, ridges, sizes)[0])
    return torch.stack(out).cpu().numpy()


def ridge_risks(X: torch.Tensor, noise_draws: torch.Tensor, Z: torch.Tensor, eigenvalues: torch.Tensor,
                coefficients: torch.Tensor, noise: float, ridges: Sequence[float], sizes: Sequence[tuple[int, int]]
                ) -> torch.Tensor:
    r"""Test MSE (T, len(sizes), R) of ridge regression for each (n, k) in ``sizes``; ``k = 0`` means kernel
    regression with the exact kernel. ``X`` (T, n_max, M), ``noise_draws`` (T, n_max) standard normal, ``Z``
    (T, k_max, M)."""
    lam, v = eigenvalues, coefficients
    y_all = X @ v + noise ** 0.5 * noise_draws
    r = torch.as_tensor(np.asarray(ridges, float), dtype=X.dtype, device=X.device)
    root = torch.sqrt(lam)
    out = []
    for n, k in sizes:
        if n < 1 or n > X.shape[1] or k < 0 or k > Z.shape[1]:
            raise InputError(f"sample/feature count (n={n}, k={k}) outside the drawn design "
                             f"(n <= {X.shape[1]}, k <= {Z.shape[1]})")
        Xn, y = X[:, :n], y_all[:, :n]
        if k == 0:
            gram = (Xn * lam) @ Xn.transpose(1, 2)
            out.append(_risk_from_gram(gram, y, lambda a: lam[None, :, None] * (Xn.transpose(1, 2) @ a), v,
                                       noise, r))
        else:
            G = (Xn * root) @ Z[:, :k].transpose(1, 2)                 # (T, n, k)
            gram = G @ G.transpose(1, 2) / k
            Zk = Z[:, :k]
            coef = lambda a, G=G, Zk=Zk, k=k: root[None, :, None] * (Zk.transpose(1, 2) @ (G.transpose(1, 2) @ a)) / k
            out.append(_risk_from_gram(gram, y, coef, v, noise, r))
    return torch.stack(out, dim=1)
