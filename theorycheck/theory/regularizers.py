r"""Closed-form implicit regularizers of diagonal linear networks, and the interpolants they pick.

**The theorem** (Woodworth et al. 2020, COLT, arXiv 2002.09277). The depth-2 diagonal network
$w = u_+\circ u_+ - u_-\circ u_-$ started at $u_\pm(0) = \alpha\mathbf 1$ and trained by gradient flow
on the squared loss of an underdetermined regression $Xw = y$ converges (if it reaches zero
loss) to

$$ w_\alpha(\infty) = \arg\min_{Xw = y} Q_\alpha(w), \qquad Q_\alpha(w) = \alpha^2\sum_i q(w_i/\alpha^2),
\qquad q(z) = 2 - \sqrt{4 + z^2} + z\,\operatorname{arcsinh}(z/2). $$

**The derivation** (:func:`derive_q`, every step done by sympy). With $g = \nabla_w L = X^\top r$,
the flow $\dot u_\pm = \mp 2 g\circ u_\pm$ integrates to $u_\pm = \alpha e^{\mp 2G}$, $G = \int_0^t g$;
so $w = -2\alpha^2\sinh(4G)$ and, since $G$ stays in the row space of $X$,
$w = 2\alpha^2\sinh(X^\top\nu)$ for some $\nu$: the *mirror map* $z = w/\alpha^2 = 2\sinh(s)$.
Inverting it gives $q'(z) = \operatorname{arcsinh}(z/2)$; integrating with $q(0) = 0$ gives $q$.
Then $w = 2\alpha^2\sinh(X^\top\nu)$, $Xw = y$ is exactly the KKT system of
$\min Q_\alpha$ s.t. $Xw = y$ (stationarity: $\nabla Q_\alpha(w) = q'(w/\alpha^2) = X^\top\nu$).
The Legendre conjugate is $q^*(s) = 2\cosh(s) - 2$ (so $(q^*)' = 2\sinh$ is the mirror map).
Series and limits: $q(z) = z^2/4 - z^4/192 + \dots$, so $4\alpha^2 Q_\alpha(w) \to \|w\|_2^2$ as
$\alpha\to\infty$ (kernel regime, min-$\ell_2$); $Q_\alpha(w)/\log(1/\alpha^2) \to \|w\|_1$ as
$\alpha\to 0$ (rich regime, min-$\ell_1$).

**Init shape** (Azulay et al. 2021, ICML, arXiv 2102.09769, Theorem 4.1). For
$w = u_+\circ v_+ - u_-\circ v_-$ from $u_\pm(0) = u_0$, $v_\pm(0) = v_0$ the flow gives
$u_\pm \pm v_\pm$ in closed form and $w = \beta\circ\sinh(X^\top\nu)$ with
$\beta_i = u_{0i}^2 + v_{0i}^2 = k_i/2$ (:func:`derive_shape`). The general rule: a mirror map
$w = \beta\circ\sinh(s)$ is the gradient of $\sum_i\beta_i(\cosh s_i - 1)$, whose conjugate is
$$ Q_\beta(w) = \sum_i \frac{\beta_i}{2}\, q\!\left(\frac{2 w_i}{\beta_i}\right). $$
Uniform scale: $\beta = 2\alpha^2$ gives Woodworth's $Q_\alpha$. Shape: $\beta = k/2$ gives
$\sum_i (k_i/4)\,q(4w_i/k_i)$, which is twice the paper's
$Q_k(w) = \sum_i (k_i/4)[1 - \sqrt{1 + 4w_i^2/k_i^2} + (2w_i/k_i)\operatorname{arcsinh}(2w_i/k_i)]
= \sum_i (k_i/8) q(4w_i/k_i)$ — a constant factor, same minimizer (sympy checks the identity).

**The convex programs.** Everything reduces to $\min_{Xw=y} Q_\beta(w)$:

* dual (exponential cone): $\min_\nu \sum_i \beta_i\cosh(s_i) - y^\top\nu$, $s = X^\top\nu$, written as
  ``cp.exp(s + log(beta/2)) + cp.exp(-s + log(beta/2))`` so that tiny $\beta$ does not underflow;
  recover $w = \beta\circ\sinh(X^\top\nu)$. A solver's ``optimal`` is not trusted: the recovered $w$
  must satisfy $\|Xw - y\| \le 10^{-9}(1 + \|y\|)$ after Newton polishing on the smooth dual
  (measured: Clarabel says ``optimal`` at $\alpha = 3$ with $\|Xw - y\| = 1.5\cdot10^{-2}$; Newton
  gives $3\cdot10^{-12}$). Stationarity, $\nabla Q_\beta(w) = q'(2w/\beta) = X^\top\nu$, holds by
  construction of $w$, so primal feasibility is the whole KKT check.
* primal (entropy form, :func:`min_q_interpolant_primal`, used to cross-check):
  $\tfrac{\beta}{2}q(2w/\beta) = \min_{a,b\ge0,\,a-b=w} \mathrm{kl}(a, \beta/2) + \mathrm{kl}(b, \beta/2)$
  with $\mathrm{kl}(x, c) = x\log(x/c) - x + c$ (``cp.kl_div``).
* min-$\ell_1$ (:func:`min_l1_interpolant`, an LP; polished on its support and certified by the
  dual: $\|X^\top\nu\|_\infty \le 1$, $y^\top\nu = \|w\|_1$) and min-$\ell_2$
  (:func:`min_l2_interpolant`; KKT: $w \in \operatorname{row}(X)$, polished to $X^\top(XX^\top)^{-1}y$).

Infeasible input (``y`` not in the range of ``X``) raises :class:`InputError`; a solve that fails its
check after polishing and a fallback solver raises :class:`SolverError`.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Callable

import cvxpy as cp
import numpy as np
import sympy as sp

from theorycheck.errors import InputError, SolverError

__all__ = [
    "QDerivation", "derive_q", "derive_shape", "q", "dq", "q_conjugate", "Q_alpha", "Q_beta",
    "beta_uniform", "beta_shape", "shape_k", "Interpolant", "MinQSolver", "min_q_interpolant", "newton_dual",
    "min_q_alpha",
    "min_q_shape", "min_q_interpolant_primal", "min_l1_interpolant", "min_l2_interpolant",
    "check_interpolable", "kernel_threshold", "rich_threshold",
]

#: relative feasibility tolerance every returned interpolant meets: ||Xw - y|| <= RTOL (1 + ||y||)
RTOL = 1e-9


# --------------------------------------------------------------------------------------------
# sympy: the derivation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QDerivation:
    """The symbolic objects of the uniform-scale theorem, each derived (not typed in) by sympy.

    ``mirror`` is $w/\\alpha^2$ as a function of the dual variable $s$; ``dq``, ``q``, ``q_star`` the
    derivative, the potential and its conjugate; ``series`` the Taylor expansion of $q$ at 0;
    ``kernel_limit`` $= \\lim_{\\alpha\\to\\infty} 4\\alpha^2\\cdot\\alpha^2 q(w/\\alpha^2)$ and
    ``rich_limit`` $= \\lim_{\\alpha\\to0} \\alpha^2 q(w/\\alpha^2)/\\log(1/\\alpha^2)$ for $w > 0$
    (empty when ``derive_q(limits=False)``).
    """

    z: sp.Symbol
    s: sp.Symbol
    w: sp.Symbol
    alpha: sp.Symbol
    flow_w: sp.Expr
    mirror: sp.Expr
    dq: sp.Expr
    q: sp.Expr
    q_star: sp.Expr
    series: sp.Expr
    kernel_limit: sp.Expr | None = None
    rich_limit: sp.Expr | None = None
    steps: dict[str, str] = field(default_factory=dict)

    def latex(self) -> dict[str, str]:
        """LaTeX of each object, for the report."""
        out = {
            "w(t)": sp.latex(self.flow_w),
            "mirror": r"w/\alpha^2 = " + sp.latex(self.mirror),
            "q'": r"q'(z) = " + sp.latex(self.dq),
            "q": r"q(z) = " + sp.latex(self.q),
            "q*": r"q^*(s) = " + sp.latex(self.q_star),
            "series": r"q(z) = " + sp.latex(self.series),
            "Q": r"Q_\alpha(w) = \alpha^2 \sum_i q(w_i/\alpha^2)",
        }
        if self.kernel_limit is not None:
            out["kernel limit"] = (r"\lim_{\alpha\to\infty} 4\alpha^4 q(w/\alpha^2) = "
                                   + sp.latex(self.kernel_limit))
        if self.rich_limit is not None:
            out["rich limit"] = (r"\lim_{\alpha\to 0} \frac{\alpha^2 q(w/\alpha^2)}{\log(1/\alpha^2)} = "
                                 + sp.latex(self.rich_limit))
        return out


def _is_zero(expr: sp.Expr) -> bool:
    """Exact zero test by cheap rewrites: exponential form, expand, rationalize, common denominator."""
    return sp.together(sp.expand(sp.radsimp(sp.expand(expr.rewrite(sp.exp))))) == 0


@functools.lru_cache(maxsize=2)
def derive_q(limits: bool = False) -> QDerivation:
    """Derive $q$, $q'$, $q^*$ and the series (and with ``limits`` the two regime limits) in sympy.

    Each step is checked symbolically with cheap exact rewrites (exp form, ``together``,
    ``radsimp``) rather than ``simplify``, so the derivation costs well under a second; an
    ``AssertionError`` here means the derivation broke. The limits (about 2 s) are opt-in.
    """
    t = sp.Symbol("t", real=True)
    z, s, tau = sp.symbols("z s tau", real=True)
    w = sp.Symbol("w", positive=True)
    alpha = sp.Symbol("alpha", positive=True)
    G = sp.Function("G")(t)  # G(t) = int_0^t g, g = X^T r  (componentwise)
    steps: dict[str, str] = {}

    # 1. Gradient flow of w = u+^2 - u-^2: du+/dt = -2 g u+, du-/dt = +2 g u-, g = dG/dt.
    u_plus, u_minus = alpha * sp.exp(-2 * G), alpha * sp.exp(2 * G)
    assert _is_zero(sp.diff(u_plus, t) + 2 * sp.diff(G, t) * u_plus)
    assert _is_zero(sp.diff(u_minus, t) - 2 * sp.diff(G, t) * u_minus)
    assert u_plus.subs(G, 0) == alpha and u_minus.subs(G, 0) == alpha
    flow_w = -2 * alpha**2 * sp.sinh(4 * G)
    assert _is_zero(u_plus**2 - u_minus**2 - flow_w)
    steps["flow"] = r"u_\pm = \alpha e^{\mp 2G},\ w = " + sp.latex(flow_w)

    # 2. Mirror map in z = w/alpha^2, with s = -4G = X^T nu (G lies in the row space of X).
    mirror = 2 * sp.sinh(s)
    assert _is_zero((u_plus**2 - u_minus**2).subs(G, -s / 4) / alpha**2 - mirror)

    # 3. q' is the inverse of the mirror map: mirror(asinh(z/2)) = z.
    dq_expr = sp.asinh(z / 2)
    assert sp.expand(mirror.subs(s, dq_expr)) == z

    # 4. q = int_0^z q'(tau) dtau, so q(0) = 0.
    q_expr = sp.integrate(dq_expr.subs(z, tau), (tau, 0, z), meijerg=False, risch=False)
    assert _is_zero(sp.diff(q_expr, z) - dq_expr) and q_expr.subs(z, 0) == 0

    # 5. Conjugate by Legendre: q*(s) = s z(s) - q(z(s)) at z(s) = 2 sinh(s); for real s,
    #    asinh(sinh s) = s and sqrt(4 sinh^2 s + 4) = 2 cosh s.
    legendre = (s * mirror - q_expr.subs(z, mirror)).replace(sp.asinh(sp.sinh(s)), s)
    q_star = sp.expand(legendre.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp == sp.Rational(1, 2),
        lambda e: sp.sqrt(sp.trigsimp(e.base))))
    assert _is_zero(q_star - (2 * sp.cosh(s) - 2))
    assert _is_zero(sp.diff(q_star, s) - mirror)

    # 6. Series at 0.
    series = sp.series(q_expr, z, 0, 8).removeO()

    kernel_limit = rich_limit = None
    if limits:
        Q1 = alpha**2 * q_expr.subs(z, w / alpha**2)
        kernel_limit = sp.limit(4 * alpha**2 * Q1, alpha, sp.oo)
        rich_limit = sp.limit(Q1 / sp.log(1 / alpha**2), alpha, 0)
    return QDerivation(z, s, w, alpha, flow_w, mirror, dq_expr, q_expr, q_star, series,
                       kernel_limit, rich_limit, steps)


@functools.lru_cache(maxsize=1)
def derive_shape() -> dict[str, sp.Expr]:
    r"""The init-shape flow in sympy: $w = \beta\sinh(s)$ with $\beta = u_0^2 + v_0^2 = k/2$.

    For $w = u_+v_+ - u_-v_-$: $\dot u_+ = -g v_+$, $\dot v_+ = -g u_+$ (and $+g$ for the minus
    pair), so $u_+ + v_+ = (u_0+v_0)e^{-G}$, $u_+ - v_+ = (u_0 - v_0)e^{G}$ and the minus pair with
    $G \to -G$. Returns ``{"w": ..., "beta": ..., "Q_paper": ..., "Q_rule": ...}`` and asserts the
    identity $Q_k^{\rm paper}(w) = (k/8) q(4w/k)$ and $Q_\beta = 2 Q_k^{\rm paper}$.
    """
    t = sp.Symbol("t", real=True)
    u0, v0, k, w = sp.symbols("u_0 v_0 k w", positive=True)
    G = sp.Function("G")(t)
    g = sp.diff(G, t)
    p_plus, m_plus = (u0 + v0) * sp.exp(-G), (u0 - v0) * sp.exp(G)
    u_p, v_p = (p_plus + m_plus) / 2, (p_plus - m_plus) / 2
    assert _is_zero(sp.diff(u_p, t) + g * v_p) and _is_zero(sp.diff(v_p, t) + g * u_p)
    assert _is_zero(u_p.subs(G, 0) - u0) and _is_zero(v_p.subs(G, 0) - v0)
    p_minus, m_minus = (u0 + v0) * sp.exp(G), (u0 - v0) * sp.exp(-G)
    u_m, v_m = (p_minus + m_minus) / 2, (p_minus - m_minus) / 2
    assert _is_zero(sp.diff(u_m, t) - g * v_m) and _is_zero(sp.diff(v_m, t) - g * u_m)
    beta = u0**2 + v0**2
    w_flow = -beta * sp.sinh(2 * G)
    assert _is_zero(u_p * v_p - u_m * v_m - w_flow)
    der = derive_q()
    qz = sp.Lambda(der.z, der.q)
    Q_paper = k / 4 * (1 - sp.sqrt(1 + 4 * w**2 / k**2) + (2 * w / k) * sp.asinh(2 * w / k))
    assert _is_zero(sp.expand(Q_paper - k / 8 * qz(4 * w / k)))
    b = k / 2
    Q_rule = b / 2 * qz(2 * w / b)
    assert _is_zero(Q_rule - 2 * Q_paper)
    return {"w": w_flow, "beta": beta, "Q_paper": Q_paper, "Q_rule": Q_rule}


@functools.lru_cache(maxsize=1)
def _numeric() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    der = derive_q()
    z = der.z
    # Stable form for numpy: 2 - sqrt(4 + z^2) cancels catastrophically against z asinh(z/2) when
    # |z| << 1 (q ~ z^2/4 from O(1) terms: 1e-8 relative error at z = 1e-4, i.e. alpha = 100).
    # Rationalizing sqrt(4 + z^2) - 2 = z^2/(2 + sqrt(4 + z^2)) leaves a benign difference of
    # z^2/2 and z^2/4; sympy checks that it is the same function.
    q_stable = z * sp.asinh(z / 2) - z**2 / (2 + sp.sqrt(4 + z**2))
    assert _is_zero(q_stable - der.q)
    return {
        "q": sp.lambdify(z, q_stable, "numpy"),
        "dq": sp.lambdify(der.z, der.dq, "numpy"),
        "q_star": sp.lambdify(der.s, der.q_star, "numpy"),
    }


def q(z: np.ndarray) -> np.ndarray:
    r"""$q(z) = 2 - \sqrt{4+z^2} + z\,\operatorname{arcsinh}(z/2)$ (lambdified from :func:`derive_q`)."""
    return _numeric()["q"](np.asarray(z, dtype=float))


def dq(z: np.ndarray) -> np.ndarray:
    r"""$q'(z) = \operatorname{arcsinh}(z/2)$."""
    return _numeric()["dq"](np.asarray(z, dtype=float))


def q_conjugate(s: np.ndarray) -> np.ndarray:
    r"""$q^*(s) = 2\cosh(s) - 2$."""
    return _numeric()["q_star"](np.asarray(s, dtype=float))


def Q_beta(w: np.ndarray, beta: np.ndarray | float) -> np.ndarray:
    r"""$Q_\beta(w) = \sum_i (\beta_i/2)\,q(2w_i/\beta_i)$ over the last axis."""
    w = np.asarray(w, dtype=float)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), w.shape)
    return np.sum(beta / 2 * q(2 * w / beta), axis=-1)


def Q_alpha(w: np.ndarray, alpha: float) -> np.ndarray:
    r"""Woodworth's $Q_\alpha(w) = \alpha^2\sum_i q(w_i/\alpha^2)$ (= $Q_\beta$ at $\beta = 2\alpha^2$)."""
    _check_alpha(alpha)
    return Q_beta(w, beta_uniform(alpha))


def _check_alpha(alpha: float) -> None:
    if not np.isfinite(alpha) or alpha <= 0:
        raise InputError(f"init scale alpha must be positive and finite, got {alpha}")


def beta_uniform(alpha: float) -> float:
    r"""Mirror-map scale of the uniform init: $w = 2\alpha^2\sinh(X^\top\nu)$."""
    _check_alpha(alpha)
    return 2.0 * float(alpha) ** 2


def shape_k(u0: np.ndarray, v0: np.ndarray) -> np.ndarray:
    r"""Azulay et al.'s $k_i = 2(u_{0i}^2 + v_{0i}^2)$."""
    u0, v0 = np.asarray(u0, float), np.asarray(v0, float)
    return 2.0 * (u0**2 + v0**2)


def beta_shape(u0: np.ndarray, v0: np.ndarray) -> np.ndarray:
    r"""Mirror-map scale of the shaped init: $\beta = u_0^2 + v_0^2 = k/2$."""
    beta = np.asarray(u0, float) ** 2 + np.asarray(v0, float) ** 2
    if np.any(~np.isfinite(beta)) or np.any(beta <= 0):
        raise InputError("init shape needs u0^2 + v0^2 > 0 on every coordinate (else that weight never moves)")
    return beta


# --------------------------------------------------------------------------------------------
# cvxpy: the programs
# --------------------------------------------------------------------------------------------


@dataclass
class Interpolant:
    """A verified solution of ``min R(w) s.t. Xw = y``.

    ``residual`` is $\\|Xw - y\\|$ after polishing; ``method`` says which solver and polish
    produced it (e.g. ``"CLARABEL+newton"``); ``dual`` is the multiplier $\\nu$ where there is one.
    """

    w: np.ndarray
    residual: float
    method: str
    dual: np.ndarray | None = None
    objective: float = float("nan")
    solver_residual: float = float("nan")
    notes: list[str] = field(default_factory=list)


def _as_problem(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise InputError(f"X must be a matrix (n, d), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise InputError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("X and y must be finite")
    return X, y


def check_interpolable(X: np.ndarray, y: np.ndarray, rtol: float = 1e-8) -> None:
    """Raise :class:`InputError` unless some $w$ solves $Xw = y$ (``y`` in the range of ``X``)."""
    X, y = _as_problem(X, y)
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = float(np.linalg.norm(X @ w - y))
    if res > rtol * max(1.0, float(np.linalg.norm(y))):
        raise InputError(
            f"y is not in the range of X: no interpolant exists (least-squares residual {res:.3g}); "
            "the implicit-regularization theorems need Xw = y to be solvable"
        )


def _feasible(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.linalg.norm(X @ w - y))


def _tol(y: np.ndarray) -> float:
    return RTOL * (1.0 + float(np.linalg.norm(y)))


def _beta_vector(beta: np.ndarray | float, d: int) -> np.ndarray:
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (d,)).copy()
    if np.any(~np.isfinite(beta)) or np.any(beta <= 0):
        raise InputError(f"the scale beta must be positive and finite on every coordinate, got min {beta.min():.3g}")
    return beta


def _sinh_scaled(s: np.ndarray, log_half_beta: np.ndarray) -> np.ndarray:
    r"""$\beta\sinh(s)$: directly where $|s| < 700$ (accurate; $e^{|s| + \log(\beta/2)}$ would lose
    $\sim 10^{-15}|\log\beta|$ relative through rounding of the exponent), else in the log domain."""
    a = np.abs(s)
    safe = a < 700
    direct = 2 * np.exp(log_half_beta) * np.sinh(np.where(safe, s, 0.0))
    logdom = np.sign(s) * np.exp(np.where(safe, 0.0, a) + log_half_beta)
    return np.where(safe, direct, logdom)


def _cosh_scaled(s: np.ndarray, log_half_beta: np.ndarray) -> np.ndarray:
    a = np.abs(s)
    safe = a < 700
    return np.where(safe, 2 * np.exp(log_half_beta) * np.cosh(np.where(safe, s, 0.0)),
                    np.exp(np.where(safe, 0.0, a) + log_half_beta))


def newton_dual(X: np.ndarray, y: np.ndarray, beta: np.ndarray, nu0: np.ndarray | None = None,
                max_iter: int = 200) -> np.ndarray:
    r"""Damped Newton on the smooth dual $f(\nu) = \sum_i\beta_i\cosh(x_i^\top\nu) - y^\top\nu$.

    $\nabla f = X(\beta\sinh s) - y$ (the primal residual of the recovered $w$),
    $\nabla^2 f = X\,\mathrm{diag}(\beta\cosh s)\,X^\top$. A step is accepted if it passes the
    Armijo test on $f$, or — once $f$ no longer changes above rounding — if it shrinks
    $\|\nabla f\|$ (near the optimum $f$ is flat to machine precision while the residual is not).
    Stops when $\|\nabla f\|$ is 100 times below the feasibility tolerance or nothing improves.
    """
    n = X.shape[0]
    lhb = np.log(beta / 2)
    nu = np.zeros(n) if nu0 is None else np.asarray(nu0, float).copy()

    def evaluate(v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        s = X.T @ v
        cosh = _cosh_scaled(s, lhb)
        f = float(np.sum(cosh) - y @ v)
        grad = X @ _sinh_scaled(s, lhb) - y
        return f, grad, cosh

    f, grad, cosh = evaluate(nu)
    tol = _tol(y) * 1e-2
    for _ in range(max_iter):
        gnorm = float(np.linalg.norm(grad))
        if not np.isfinite(gnorm) or gnorm <= tol:
            break
        hess = (X * cosh) @ X.T
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(hess, grad, rcond=None)[0]
        slope = float(grad @ step)
        if not np.all(np.isfinite(step)) or slope >= 0:
            step, slope = -grad, -gnorm**2
        t, accepted = 1.0, False
        for _ls in range(60):
            fc, gc, cc = evaluate(nu + t * step)
            if np.isfinite(fc) and (fc <= f + 1e-4 * t * slope or (
                    fc <= f + 1e-13 * max(1.0, abs(f)) and np.linalg.norm(gc) < gnorm)):
                nu, f, grad, cosh, accepted = nu + t * step, fc, gc, cc, True
                break
            t *= 0.5
        if not accepted:
            break
    return nu


class MinQSolver:
    r"""$\arg\min_{Xw=y} Q_\beta(w)$ for one $(X, y)$ and many $\beta$: the exp-cone dual is compiled once.

    The dual is a DPP problem in the parameter $\log(\beta/2)$, so cvxpy compiles it once per
    solver and re-solves for each $\beta$ (half the cost of a fresh problem). See
    :func:`min_q_interpolant` for the program and the verification.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X, self.y = _as_problem(X, y)
        check_interpolable(self.X, self.y)
        self._problems: dict[str, tuple[cp.Variable, cp.Parameter, cp.Problem]] = {}

    def _problem(self, solver: str):
        if solver not in self._problems:
            n, d = self.X.shape
            nu = cp.Variable(n)
            lhb = cp.Parameter(d)
            s = self.X.T @ nu
            prob = cp.Problem(cp.Minimize(cp.sum(cp.exp(s + lhb) + cp.exp(-s + lhb)) - self.y @ nu))
            self._problems[solver] = (nu, lhb, prob)
        return self._problems[solver]

    def solve(self, beta: np.ndarray | float, *, solver: str = "CLARABEL", polish: bool = True) -> Interpolant:
        X, y = self.X, self.y
        beta = _beta_vector(beta, X.shape[1])
        lhb = np.log(beta / 2)
        tol = _tol(y)
        notes: list[str] = []
        for name in dict.fromkeys([solver, "SCS"]):
            nu_var, lhb_par, prob = self._problem(name)
            lhb_par.value = lhb
            try:
                with warnings.catch_warnings():  # "may be inaccurate": the status goes to notes, polish decides
                    warnings.simplefilter("ignore", UserWarning)
                    prob.solve(solver=name)
            except (cp.error.SolverError, ValueError, ArithmeticError) as err:
                notes.append(f"{name}: {type(err).__name__}")
                continue
            if nu_var.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
                notes.append(f"{name}: status {prob.status}")
                continue
            nu = np.asarray(nu_var.value, float)
            raw = _feasible(X, y, _sinh_scaled(X.T @ nu, lhb))
            notes.append(f"{name}: status {prob.status}, residual {raw:.2e}")
            if polish:
                nu = newton_dual(X, y, beta, nu)
            w = _sinh_scaled(X.T @ nu, lhb)
            res = _feasible(X, y, w)
            if res <= tol:
                method = f"{name}+newton" if polish else name
                return Interpolant(w, res, method, nu, float(Q_beta(w, beta)), raw, notes)
        if polish:
            nu = newton_dual(X, y, beta, None, max_iter=2000)
            w = _sinh_scaled(X.T @ nu, lhb)
            res = _feasible(X, y, w)
            notes.append(f"newton from 0: residual {res:.2e}")
            if res <= tol:
                return Interpolant(w, res, "newton", nu, float(Q_beta(w, beta)), float("nan"), notes)
        raise SolverError("min-Q interpolant failed its feasibility check (" + "; ".join(notes) + ")")


def min_q_interpolant(X: np.ndarray, y: np.ndarray, beta: np.ndarray | float, *,
                      solver: str = "CLARABEL", polish: bool = True) -> Interpolant:
    r"""$\arg\min_{Xw=y} Q_\beta(w)$ through the exponential-cone dual, verified and Newton-polished.

    $$\min_\nu\ \sum_i \tfrac{\beta_i}{2}\left(e^{s_i} + e^{-s_i}\right) - y^\top\nu,\quad s = X^\top\nu,
    \qquad w = \beta\circ\sinh(X^\top\nu),$$
    each exponential written as ``cp.exp(s + log(beta/2))`` against underflow. The solver's $\nu$
    is polished by :func:`newton_dual`; the answer must meet
    $\|Xw - y\| \le$ ``RTOL``$(1 + \|y\|)$. Falls back to SCS, then to Newton from $\nu = 0$;
    raises :class:`SolverError` if nothing passes. ``polish=False`` returns the solver's answer
    only if it passes unpolished (used to show that ``optimal`` alone is not enough).
    """
    return MinQSolver(X, y).solve(beta, solver=solver, polish=polish)


def min_q_alpha(X: np.ndarray, y: np.ndarray, alpha: float, **kw) -> Interpolant:
    r"""$\arg\min_{Xw=y} Q_\alpha(w)$ (Woodworth et al.): :func:`min_q_interpolant` at $\beta = 2\alpha^2$."""
    return min_q_interpolant(X, y, beta_uniform(alpha), **kw)


def min_q_shape(X: np.ndarray, y: np.ndarray, u0: np.ndarray, v0: np.ndarray, **kw) -> Interpolant:
    r"""$\arg\min_{Xw=y} Q_k(w)$ (Azulay et al.): :func:`min_q_interpolant` at $\beta = u_0^2 + v_0^2$."""
    return min_q_interpolant(X, y, beta_shape(u0, v0), **kw)


def min_q_interpolant_primal(X: np.ndarray, y: np.ndarray, beta: np.ndarray | float,
                             solver: str = "CLARABEL") -> Interpolant:
    r"""The same minimizer from the primal entropy form (an independent convex formulation).

    $\min_{a, b\ge0} \sum_i \mathrm{kl}(a_i, \beta_i/2) + \mathrm{kl}(b_i, \beta_i/2)$ s.t. $X(a - b) = y$;
    $w = a - b$. Not polished: used to cross-check :func:`min_q_interpolant` in tests (at moderate
    $\beta$, where the solver is accurate).
    """
    X, y = _as_problem(X, y)
    check_interpolable(X, y)
    n, d = X.shape
    beta = _beta_vector(beta, d)
    a, b = cp.Variable(d, nonneg=True), cp.Variable(d, nonneg=True)
    c = beta / 2
    prob = cp.Problem(cp.Minimize(cp.sum(cp.kl_div(a, c) + cp.kl_div(b, c))), [X @ (a - b) == y])
    prob.solve(solver=solver)
    if a.value is None:
        raise SolverError(f"primal entropy program: status {prob.status}")
    w = np.asarray(a.value - b.value, float)
    return Interpolant(w, _feasible(X, y, w), f"{solver} (primal kl)", None, float(prob.value),
                       _feasible(X, y, w), [f"status {prob.status}"])


def min_l1_interpolant(X: np.ndarray, y: np.ndarray) -> Interpolant:
    r"""$\arg\min_{Xw=y}\|w\|_1$ (basis pursuit), certified by its dual.

    cvxpy with Clarabel (then HiGHS, then SCS). Polish: solve $X_S w_S = y$ on the detected
    support $S$ (a vertex of the LP) and keep it if it is feasible and not worse. Certificate: the
    equality multiplier $\nu$ with $\|X^\top\nu\|_\infty \le 1 + 10^{-6}$ and
    $|y^\top\nu - \|w\|_1| \le 10^{-6}\|w\|_1$ (strong duality) — else :class:`SolverError`.
    """
    X, y = _as_problem(X, y)
    check_interpolable(X, y)
    n, d = X.shape
    tol = _tol(y)
    notes = []
    for name in ("CLARABEL", "HIGHS", "SCS"):
        w_var = cp.Variable(d)
        con = X @ w_var == y
        prob = cp.Problem(cp.Minimize(cp.norm1(w_var)), [con])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(solver=name)
        except (cp.error.SolverError, ValueError, ArithmeticError) as err:
            notes.append(f"{name}: {type(err).__name__}")
            continue
        if w_var.value is None or con.dual_value is None:
            notes.append(f"{name}: status {prob.status}")
            continue
        w = np.asarray(w_var.value, float)
        nu = np.asarray(con.dual_value, float)
        raw = _feasible(X, y, w)
        w = _polish_support(X, y, w, tol)
        res = _feasible(X, y, w)
        l1 = float(np.abs(w).sum())
        cert = float(np.abs(X.T @ nu).max())
        gap = abs(abs(float(y @ nu)) - l1)
        notes.append(f"{name}: status {prob.status}, residual {raw:.2e} -> {res:.2e}, "
                     f"||X^T nu||_inf {cert:.8f}, gap {gap:.2e}")
        if res <= tol and cert <= 1 + 1e-6 and gap <= 1e-6 * max(1.0, l1):
            return Interpolant(w, res, f"{name}+support", nu, l1, raw, notes)
    raise SolverError("min-l1 interpolant failed its certificate (" + "; ".join(notes) + ")")


def _polish_support(X: np.ndarray, y: np.ndarray, w: np.ndarray, tol: float) -> np.ndarray:
    scale = max(float(np.abs(w).max()), 1e-300)
    for thresh in (1e-6, 1e-8, 1e-4):
        S = np.flatnonzero(np.abs(w) > thresh * scale)
        if S.size == 0 or S.size > X.shape[0]:
            continue
        wS, *_ = np.linalg.lstsq(X[:, S], y, rcond=None)
        cand = np.zeros_like(w)
        cand[S] = wS
        if (_feasible(X, y, cand) <= tol and np.all(np.sign(wS) == np.sign(w[S]))
                and np.abs(cand).sum() <= np.abs(w).sum() + 1e-7 * max(1.0, np.abs(w).sum())):
            return cand
    return w


def min_l2_interpolant(X: np.ndarray, y: np.ndarray) -> Interpolant:
    r"""$\arg\min_{Xw=y}\|w\|_2$, by cvxpy, verified by its KKT conditions and polished.

    KKT: $Xw = y$ and $w = X^\top\lambda$ (row space). The polish is the exact Newton step of
    this equality-constrained QP, which lands on $X^\top(XX^\top)^{+}y$; the solver's answer must
    agree with it to $10^{-6}$ relative, else :class:`SolverError`.
    """
    X, y = _as_problem(X, y)
    check_interpolable(X, y)
    d = X.shape[1]
    w_var = cp.Variable(d)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(w_var)), [X @ w_var == y])
    try:
        prob.solve(solver="CLARABEL")
    except (cp.error.SolverError, ValueError, ArithmeticError) as err:
        raise SolverError(f"min-l2 interpolant: {type(err).__name__}: {err}") from err
    exact = np.linalg.lstsq(X, y, rcond=None)[0]  # minimum-norm solution of the consistent system
    if w_var.value is None:
        raise SolverError(f"min-l2 interpolant: status {prob.status}")
    w = np.asarray(w_var.value, float)
    gap = float(np.linalg.norm(w - exact) / max(np.linalg.norm(exact), 1e-300))
    if gap > 1e-6:
        raise SolverError(f"min-l2 interpolant: solver answer is {gap:.2e} away from the KKT point")
    res = _feasible(X, y, exact)
    return Interpolant(exact, res, "CLARABEL+kkt", None, float(exact @ exact), _feasible(X, y, w),
                       [f"solver vs KKT point {gap:.2e}"])


# --------------------------------------------------------------------------------------------
# Theorem 2 of Woodworth et al. (quantitative regimes), as the constants are usually quoted
# --------------------------------------------------------------------------------------------


def kernel_threshold(eps: float, l2_norm: float) -> float:
    r"""$\alpha$ above which $\|w_\alpha\|_2^2 \le (1+\epsilon)\|w_{\ell_2}\|_2^2$:
    $\sqrt{2(1+\epsilon)(1 + 2/\epsilon)\|w_{\ell_2}\|_2}$ (the quoted reading of Theorem 2)."""
    return float(np.sqrt(2 * (1 + eps) * (1 + 2 / eps) * l2_norm))


def rich_threshold(eps: float, l1_norm: float, d: int) -> float:
    r"""$\alpha$ below which $\|w_\alpha\|_1 \le (1+\epsilon)\|w_{\ell_1}\|_1$:
    $\min\{(2(1+\epsilon)\|w_{\ell_1}\|_1)^{-(2+\epsilon)/(2\epsilon)}, \exp(-d/(\epsilon\|w_{\ell_1}\|_1))\}$."""
    a = (2 * (1 + eps) * l1_norm) ** (-(2 + eps) / (2 * eps))
    b = np.exp(-d / (eps * l1_norm))
    return float(min(a, b))
