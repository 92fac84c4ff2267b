r"""Loss tails beyond the exponential: where GD's direction goes and how fast (Nacson et al. 2019, arXiv 1803.01905).

Two results for fixed-step GD on linearly separable data, used by
:mod:`theorycheck.verify.claims.tails` (Nacson et al. 2019, "Convergence of Gradient Descent on
Separable Data"):

* a **polynomial tail** $\ell(u) = u^{-k}$ keeps every point in play; the direction converges to
  $\arg\min_{\|u\|_2=1}\sum_i (z_i^\top u)^{-k}$, not to the $\ell_2$ max-margin direction
  (:func:`polynomial_tail_direction`, a verified convex program);
* a **poly-exponential tail** $e^{-u^\nu}$ converges to the max-margin direction; in the clock
  $s = (\|w\|\gamma)^\nu \approx \log t$ the direction gap falls like $s^{-\min(1, 1/\nu)}$ and the margin gap like
  $s^{-\min(1, 2/\nu)}$ (:func:`tail_rate_laws`, sympy; derived).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import sympy as sp

from theorycheck.errors import InputError, SolverError
from theorycheck.theory.adversarial import robust_margin
from theorycheck.theory.separable import SOLVERS, as_matrix
from theorycheck.theory.rates import t as t_symbol

__all__ = ["polynomial_tail_direction", "tail_rate_laws", "margin_constant"]


def polynomial_tail_direction(Z: np.ndarray, k: float) -> tuple[np.ndarray, dict[str, float]]:
    r"""Limit direction of GD for a loss with polynomial tail $\ell(u) = u^{-k}$:
    $\arg\min_{\|u\|_2=1}\sum_i (z_i^\top u)^{-k}$.

    Derivation (gradient flow): $\dot w = k\|w\|^{-k-1}\sum_i (z_i^\top u)^{-k-1}z_i$, so the direction
    $u = w/\|w\|$ follows the projected gradient flow of $F(u) = \sum_i (z_i^\top u)^{-k}$ on the sphere
    (every point keeps a weight polynomial in its margin, none is forgotten) and converges to its
    minimizer — a direction that depends on all points, not the $\ell_2$ max-margin one. By
    homogeneity the minimizer is the direction of $\arg\min_w F(w) + \tfrac12\|w\|_2^2$ (same stationarity
    condition $w \propto \sum_i (z_i^\top w)^{-k-1}z_i$), a smooth strictly convex program on $Zw > 0$:
    solved with cvxpy, then polished by damped Newton steps and verified by the gradient norm
    (relative $\le 10^{-8}$: Newton reaches $10^{-13}$ on well-conditioned data and stalls near $2\cdot10^{-9}$ on
    some planted data with small margins, far below what a direction comparison needs). Returns the unit direction and the residuals.
    """
    Z = as_matrix(Z)
    if not k > 0:
        raise InputError(f"polynomial tail exponent k must be positive, got {k}")
    rob = robust_margin(Z, 2.0)  # raises NotSeparableError
    n, d = Z.shape
    w = cp.Variable(d)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.power(Z @ w, -float(k))) + 0.5 * cp.sum_squares(w)))
    x = None
    for solver in SOLVERS:
        try:
            prob.solve(solver=solver)
        except cp.error.SolverError:
            continue
        if w.value is not None and np.all(Z @ w.value > 0):
            x = np.asarray(w.value, float)
            break
    if x is None:  # start Newton from the (feasible) l2 max-margin direction
        x = rob.w * (n ** (1.0 / (k + 2)))

    def parts(v):
        m = Z @ v
        f = float(np.sum(m ** (-k)) + 0.5 * v @ v)
        g = -k * Z.T @ (m ** (-k - 1)) + v
        H = k * (k + 1) * (Z.T * m ** (-k - 2)) @ Z + np.eye(d)
        return f, g, H

    f, g, H = parts(x)
    for _ in range(50):
        step = np.linalg.solve(H, g)
        a = 1.0
        while a > 1e-12:
            cand = x - a * step
            if np.all(Z @ cand > 0):
                fc = parts(cand)[0]
                if fc <= f - 1e-4 * a * (g @ step):
                    break
            a *= 0.5
        x = cand
        f, g, H = parts(x)
        if np.linalg.norm(g) <= 1e-13 * max(1.0, np.linalg.norm(x)):
            break
    res = {"gradient": float(np.linalg.norm(g) / max(1.0, np.linalg.norm(x)))}
    if not res["gradient"] <= 1e-8:
        raise SolverError(f"polynomial-tail limit: Newton did not converge (relative gradient {res['gradient']:.1e})")
    return x / np.linalg.norm(x), res


def tail_rate_laws(nu: float) -> dict[str, sp.Expr]:
    r"""Derived first-order laws of fixed-step GD for a loss with tail $e^{-u^\nu}$, in the clock
    $s = (\|w\|\gamma)^\nu$ (sympy; $\gamma$ the SVM margin).

    * ``clock``: $s - (2 - 2/\nu)\log s = \log t + c$, i.e. $s \approx \log t + (2 - 2/\nu)\log\log t$ (support
      weights $\nu u^{\nu-1}e^{-u^\nu}$ must decay like $1/t$ in sum);
    * ``direction_gap``: $s^{-\min(1, 1/\nu)}$ — write $w = g\hat u + \rho$; balancing the support weights makes
      the in-span margin differences $z_s^\top\rho \propto (g\gamma)^{1-\nu}$, while the component orthogonal to the
      support vectors is frozen, so the gap $\|\rho_\perp\|/g$ is $\propto g^{-\nu} = s^{-1}$ (in-span) plus
      $g^{-1} = s^{-1/\nu}$ (frozen), whichever is slower;
    * ``margin_gap``: $s^{-\min(1, 2/\nu)}$ — $1 - \min_i z_i^\top w/(\|w\|\gamma) = -\min_s z_s^\top\rho/(g\gamma) +
      \|\rho\|^2/(2g^2) + \dots$: the in-span term is $A_\nu/s$ with $A_\nu = \max_s(\log\alpha_s - \bar{\log\alpha})/\nu$,
      the frozen part enters only at second order, $\propto g^{-2} = s^{-2/\nu}$;
    * ``direction_exponent``, ``margin_exponent``: $\min(1, 1/\nu)$ and $\min(1, 2/\nu)$ as numbers.

    Since $s \approx \log t$ these are also the exponents in $\log t$, up to the $\log\log t$ shift. The paper
    (Nacson et al. 2019) states that $\nu = 1$ gives the optimal rate for $\nu > 0.25$ (the margin);
    these laws reproduce the ordering ($k(\nu) \le k(1) = 1$; the margin ties for $\nu \le 2$, the direction for
    $\nu \le 1$, and $\nu > 2$ is strictly slower in both).
    """
    if not nu > 0:
        raise InputError(f"nu must be positive, got {nu}")
    v = sp.nsimplify(nu)
    s = sp.Symbol("s", positive=True)
    k_dir = sp.Min(1, 1 / v)
    k_margin = sp.Min(1, 2 / v)
    return {
        "clock": sp.Eq(s - (2 - 2 / v) * sp.log(s), sp.log(t_symbol) + sp.Symbol("c")),
        "direction_gap": s ** (-k_dir),
        "margin_gap": s ** (-k_margin),
        "direction_exponent": sp.Float(k_dir),
        "margin_exponent": sp.Float(k_margin),
    }


def margin_constant(alpha: np.ndarray, nu: float) -> float:
    r"""$A_\nu = \max_s\big(\log\alpha_s - \sum_{s'}\alpha_{s'}\log\alpha_{s'}/\sum_{s'}\alpha_{s'}\big)/\nu$: the first-order
    in-span margin deficit, $1 - \min_i z_i^\top w/(\|w\|\gamma) - \tfrac12\text{gap}^2 \approx A_\nu/s$, $s = (\|w\|\gamma)^\nu$.

    Derivation: the support weights $\nu u_s^{\nu-1}e^{-u_s^\nu}$ stay proportional to the SVM dual $\alpha_s$, so with
    $u_s = g\gamma + \delta_s$, $\nu(g\gamma)^{\nu-1}\delta_s = c - \log\alpha_s$; $\rho \perp \hat u$ fixes
    $\sum_s\alpha_s\delta_s = 0$, hence $c = \sum\alpha\log\alpha/\sum\alpha$, and the smallest margin is short of $g\gamma$ by
    $(g\gamma)^{1-\nu}\max_s(\log\alpha_s - c)/\nu$, i.e. by $A_\nu/s$ relative to $g\gamma$; the rest of the margin gap is
    $1 - \cos\angle(w, \hat w) = \tfrac12\text{gap}^2 + O(\text{gap}^4)$. ``alpha``: the SVM dual on the support.
    """
    if not nu > 0:
        raise InputError(f"nu must be positive, got {nu}")
    a = np.asarray(alpha, float)
    a = a[a > 0]
    if a.size == 0:
        raise InputError("margin_constant needs a positive dual weight")
    return float((np.max(np.log(a)) - np.sum(a * np.log(a)) / a.sum()) / nu)
