r"""Max-margin limits of diagonal networks and of the ensemble $a^\top x + (u\circ u - v\circ v)^\top x$
(cvxpy, numpy).

**Diagonal networks** (Gunasekar, Lee, Soudry, Srebro 2018; Lyu & Li 2020). $w = u\circ u - v\circ v$ is
2-homogeneous in $\theta = (u, v)$ and $\min\{\|u\|^2 + \|v\|^2 : u\circ u - v\circ v = w\} = \|w\|_1$
(take $u = \sqrt{w_+}$, $v = \sqrt{w_-}$; AM–GM otherwise), so the KKT points of
$\min\|\theta\|^2$ s.t. $z_i^\top w \ge 1$ that GD approaches in direction are those of the LP
$\min\|w\|_1$ s.t. $Zw \ge 1$: the $\ell_1$ max-margin direction $w_1/\|w_1\|_1$, with margin
$\gamma_1 = 1/\|w_1\|_1$ (unique for generic data).

**The ensemble** (Nacson, Gunasekar, Lee, Srebro, Soudry 2019). With $b = u\circ u - v\circ v$,
$\|\theta\|^2 = \|a\|^2 + \|u\|^2 + \|v\|^2 \ge \|a\|^2 + \|b\|_1$ (equality at the optimum), so the
*margin path* $\max\{\min_i z_i^\top(a + b) : \|\theta\| \le R\}$ is the convex program (derived)
$$ \max\ t\quad\text{s.t. } Z(a + b) \ge t,\ \|a\|_2^2 + \|b\|_1 \le R^2, $$
solved here in the scaled variables $a' = a/R$, $b' = b/R^2$ (so its margin is $t/R^2$ and stays
$O(1)$ for any $R$). As $R\to\infty$, $t/R^2 \to \gamma_1$, $b/\|b\|_1 \to w_1/\|w_1\|_1$ and $\|a\|$
stays bounded (a unit of $\|b\|_1$ buys $\gamma_1$ margin while $a$ costs $\|a\|^2$), so the degree-1
part's share of the margin is $O(R^{-2})$: the shallow sub-model is discarded.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from theorycheck.errors import SolverError
from theorycheck.theory.separable import as_matrix, max_margin

__all__ = ["L1MaxMargin", "l1_max_margin", "l2_direction", "l1_margin_of", "MarginPathPoint", "margin_path", "shallow_share", "kkt_residual",
           "active_support", "restricted_l1_margin"]


@dataclass
class L1MaxMargin:
    """The $\\ell_1$ max-margin solution: ``w`` with $\\min_i z_i^\\top w = 1$, the direction $w/\\|w\\|_1$
    and the margin $\\gamma_1 = 1/\\|w\\|_1$."""

    w: np.ndarray
    direction: np.ndarray
    gamma: float


def l1_max_margin(Z: np.ndarray) -> L1MaxMargin:
    """$\\min\\|w\\|_1$ s.t. $Zw \\ge 1$ (the LP of :func:`theorycheck.theory.separable.max_margin`, certified there)."""
    sol = max_margin(as_matrix(Z), norm=1)
    norm1 = float(np.abs(sol.w).sum())
    return L1MaxMargin(sol.w, sol.w / norm1, 1.0 / norm1)


def l2_direction(Z: np.ndarray) -> np.ndarray:
    """The $\\ell_2$ max-margin direction, normalized to unit $\\ell_1$ norm (for comparisons with $w_1$)."""
    sol = max_margin(as_matrix(Z), norm=2)
    return sol.w / np.abs(sol.w).sum()


def l1_margin_of(Z: np.ndarray, w: np.ndarray) -> float:
    """$\\min_i z_i^\\top w / \\|w\\|_1$: the $\\ell_1$-normalized margin of a direction."""
    w = np.asarray(w, dtype=float)
    return float((as_matrix(Z) @ w).min() / np.abs(w).sum())


@dataclass
class MarginPathPoint:
    """One point of the margin path: ``a``, ``b``, the margin ``t``, and the norm budget ``R``."""

    R: float
    a: np.ndarray
    b: np.ndarray
    t: float

    @property
    def normalized_margin(self) -> float:
        return self.t / self.R**2


def shallow_share(Z: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""$\max_i|z_i^\top a| / \min_i z_i^\top(a + b)$: how much of the margin the degree-1 part can carry
    (an upper bound on its share at every point); rows of ``a``, ``b`` (..., d)."""
    Z = as_matrix(Z)
    lin = np.abs(np.asarray(a) @ Z.T).max(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):  # at a = b = 0 (the init) the share is undefined: nan
        return lin / (np.asarray(a + b) @ Z.T).min(axis=-1)


def margin_path(Z: np.ndarray, R: float) -> MarginPathPoint:
    """Solve the (scaled) margin-path SOCP at norm budget ``R``; its constraint must be active and its margin
    feasible to $10^{-7}$ (relative), else :class:`SolverError`."""
    Z = as_matrix(Z)
    d = Z.shape[1]
    a, b, t = cp.Variable(d), cp.Variable(d), cp.Variable()
    cons = [Z @ (b + a / R) >= t, cp.sum_squares(a) + cp.norm1(b) <= 1]
    prob = cp.Problem(cp.Maximize(t), cons)
    for solver in ("CLARABEL", "SCS"):
        try:
            prob.solve(solver=solver)
        except (cp.error.SolverError, ValueError):
            continue
        if prob.status in ("optimal", "optimal_inaccurate") and a.value is not None:
            av, bv, tv = np.asarray(a.value), np.asarray(b.value), float(t.value)
            feas = float((Z @ (bv + av / R)).min())
            budget = float(av @ av + np.abs(bv).sum())
            if abs(feas - tv) <= 1e-7 * max(1.0, abs(tv)) and abs(budget - 1.0) <= 1e-6:
                return MarginPathPoint(float(R), av * R, bv * R**2, feas * R**2)
    raise SolverError(f"margin path at R={R:g}: the SOCP did not return a certified solution (status {prob.status})")


def kkt_residual(Z: np.ndarray, u: np.ndarray, v: np.ndarray, slack: float = 0.05) -> float:
    r"""Relative KKT residual of $\theta = (u, v)$ for $\min\frac12\|\theta\|^2$ s.t. $z_i^\top(u\circ u - v\circ v) \ge 1$
    (Lyu & Li's limit points): after scaling $\theta$ so that the smallest margin is 1,
    $\min_{\lambda\ge0}\|\theta - \sum_{i\in A}\lambda_i\nabla_\theta m_i\| / \|\theta\|$ over the points $A$ with
    margin $\le 1 + $ ``slack`` (non-negative least squares), $\nabla_\theta m_i = (2u\circ z_i, -2v\circ z_i)$."""
    from scipy.optimize import nnls

    Z = as_matrix(Z)
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    m = Z @ (u * u - v * v)
    if m.min() <= 0:
        return float("inf")
    scale = np.sqrt(m.min())
    u, v, m = u / scale, v / scale, m / m.min()
    theta = np.concatenate([u, v])
    active = np.flatnonzero(m <= 1 + slack)
    G = np.stack([np.concatenate([2 * u * Z[i], -2 * v * Z[i]]) for i in active], axis=1)
    _, res = nnls(G, theta)
    return float(res / np.linalg.norm(theta))


def active_support(w: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
    """Coordinates of ``w`` that carry weight: $|w_i| > $ ``rtol`` $\\cdot\\max_j|w_j|$ (GD's dead coordinates decay
    exponentially, so the cut is not delicate)."""
    w = np.abs(np.asarray(w, dtype=float))
    return w > rtol * w.max()


def restricted_l1_margin(Z: np.ndarray, support: np.ndarray) -> float:
    r"""$\gamma_S = 1/\min\{\|w\|_1 : Zw \ge 1,\ w_i = 0\ (i\notin S)\}$: the margin of the $\ell_1$ max-margin LP
    restricted to the coordinates $S$. The KKT points of $\min\|\theta\|^2$ s.t. margins $\ge 1$ for
    $w = u\circ u - v\circ v$ whose dead coordinates are $S^c$ are exactly these restricted optima (a coordinate
    with $u_i = v_i = 0$ imposes no dual condition), so $\gamma_S \le \gamma_1$ with equality when $S$ contains
    the support of the global solution."""
    Z = as_matrix(Z)
    support = np.asarray(support, dtype=bool)
    return l1_max_margin(Z[:, support]).gamma
