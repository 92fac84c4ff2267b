r"""Frobenius-regularized depth-2 nets: when the regularized risk is strongly convex (and hence a
Villani function), and its global minimum with a certificate.

Setting (Gopalani & Mukherjee, arXiv 2210.11452, $\ell_2$ loss; Gopalani, Jha & Mukherjee,
arXiv 2309.09258, logistic loss). A depth-2 net with a *fixed* outer layer $a \in \mathbb{R}^p$ and
trained inner layer $W \in \mathbb{R}^{p\times d}$,

.. math::  f_W(x) = \sum_{j=1}^p a_j\,\sigma(w_j^\top x),

with a smooth bounded activation ($\sigma$ = sigmoid or tanh), data $\|x_i\|_2 \le B_x$,
$|y_i| \le B_y$, and the regularized empirical risk

.. math::  F(W) = \frac1n\sum_i \ell(f_W(x_i), y_i) + \frac{\lambda}{2}\|W\|_F^2,
   \qquad \ell_2:\ \ell = \tfrac12 (f-y)^2, \qquad \text{logistic: } \ell = \log(1+e^{-yf}).

The papers show $F$ is a *Villani function* (Shi, Su & Jordan, arXiv 2004.06977) for $\lambda$ above
a width-independent threshold $\lambda_c$. **We could not read the exact expression of $\lambda_c$** from the
stored material (the pages give the abstracts and introductions only: "the amount of regularization
required ... is independent of the size of the net"). For the activations used here (sigmoid, tanh:
$\sigma$, $\sigma'$, $\sigma''$ bounded) and a fixed outer layer, the Villani conditions hold for **every**
$\lambda > 0$: $F \ge \frac\lambda2\|W\|_F^2 \to \infty$, $\int e^{-2F/s} < \infty$, and (see the ray envelope
below) $\|\nabla F\|^2/s - \Delta F \ge (\lambda\|W\| - G)^2/s - \Lambda - \lambda pd \to \infty$ — so any
threshold the papers state for these activations is a sufficient condition at or above $0^+$.

Two curvature scales matter for choosing a regime where the theorem is not implied by convexity:

* the **convexity threshold** $\lambda_{\rm conv} = \sup_W(-\lambda_{\min}(\nabla^2\hat L(W)))$: $F$ is convex iff
  $\lambda \ge \lambda_{\rm conv}$. :func:`convexity_threshold_estimate` bounds it from below by the most
  negative curvature found on a sample of points (measured ≈ 0.03 for the $\ell_2$/tanh and ≈ 0.002 for
  the logistic/sigmoid setting of the claim);
* the closed-form **strong-convexity bounds** below, $\kappa_- \ge \lambda_{\rm conv}$ (far above it:
  0.19 and 0.012 there) and $\kappa_+$. Derivation (Hessian in $W$, per sample):

.. math::  \nabla^2 \ell(f_W(x), y) = \ell''\,\nabla f\,\nabla f^\top + \ell'\,\nabla^2 f,\qquad
   \|\nabla f\|^2 = \textstyle\sum_j a_j^2\sigma'(w_j^\top x)^2\|x\|^2 \le \|a\|_2^2 B_{\sigma'}^2 B_x^2,

and $\nabla^2 f$ is block diagonal with blocks $a_j\sigma''(w_j^\top x)\,xx^\top$, so
$\|\nabla^2 f\|_{op} \le \|a\|_\infty B_{\sigma''} B_x^2$. For $\ell_2$, $|\ell'| = |f-y| \le
B_y + \|a\|_1 B_\sigma$ and $\ell'' = 1$; for the logistic loss $|\ell'| \le 1$, $0 \le \ell'' \le 1/4$.
Hence every eigenvalue of $\nabla^2 F$ lies in $[\lambda - \kappa_-, \lambda + \kappa_+]$ with

.. math::  \ell_2:\ \kappa_- = B_x^2 (B_y + \|a\|_1 B_\sigma)\|a\|_\infty B_{\sigma''},\quad
   \kappa_+ = B_x^2\big(\|a\|_2^2 B_{\sigma'}^2 + (B_y + \|a\|_1 B_\sigma)\|a\|_\infty B_{\sigma''}\big),

   \text{logistic:}\ \kappa_- = B_x^2\|a\|_\infty B_{\sigma''},\quad
   \kappa_+ = B_x^2\big(\tfrac14\|a\|_2^2 B_{\sigma'}^2 + \|a\|_\infty B_{\sigma''}\big).

With $\lambda > \kappa_-$, $F$ is $(\lambda-\kappa_-)$-strongly convex and :func:`global_minimum` certifies its
unique minimizer. Below $\lambda_{\rm conv}$ there is no such certificate: :func:`multistart_minimum` returns
the lowest local minimum found from many starts (with its Hessian, a strict-minimum certificate).

Along a ray $W = tV$ ($\|V\|_F = 1$): $\nabla F = \nabla L + \lambda t V$ with
$\|\nabla L\| \le G$, $G = B_x\|a\|_2 B_{\sigma'}\sup|\ell'|$, and
$|\Delta L| \le \Lambda := B_x^2(\sup\ell''\,\|a\|_2^2B_{\sigma'}^2 + \sup|\ell'|\,\|a\|_1B_{\sigma''})$, so

.. math::  \Big|\frac{\|\nabla F\|^2}{s} - \Delta F - \frac{\lambda^2t^2}{s}\Big| \le
   \frac{G^2 + 2\lambda t G}{s} + \Lambda + \lambda\,pd \;=:\; \mathrm{dev}(t),

i.e. the Villani quantity grows like $\lambda^2 t^2/s$ with a relative error $O(1/t)$.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from theorycheck.errors import InputError, SolverError

ACTIVATIONS = ("sigmoid", "tanh")
LOSSES = ("l2", "logistic")

# symbols of the sufficient condition
lam, B_x, B_y, a1, a2, ainf, Bs, Bs1, Bs2 = sp.symbols(
    r"lambda B_x B_y \|a\|_1 \|a\|_2 \|a\|_\infty B_\sigma B_{\sigma'} B_{\sigma''}", positive=True)
_z = sp.Symbol("z", real=True)


_u = sp.Symbol("u", real=True)
#: each activation as (its range, the polynomial D with sigma' = D(sigma)): sigmoid' = s(1-s), tanh' = 1-t^2
_ACT_POLY = {"sigmoid": ((0, 1), _u * (1 - _u)), "tanh": ((-1, 1), 1 - _u**2)}


def activation_expr(name: str) -> sp.Expr:
    """sigma(z) as a sympy expression."""
    if name == "sigmoid":
        return 1 / (1 + sp.exp(-_z))
    if name == "tanh":
        return sp.tanh(_z)
    raise InputError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _sup_abs_poly(P: sp.Expr, lo: int, hi: int) -> sp.Expr:
    """sup of |P(u)| over [lo, hi]: endpoints and real critical points inside."""
    crit = [r for r in sp.real_roots(sp.Poly(sp.diff(P, _u), _u)) if lo < r < hi] if sp.degree(P, _u) > 1 else []
    return sp.Max(*[sp.Abs(sp.simplify(P.subs(_u, c))) for c in [lo, hi, *crit]])


@lru_cache(maxsize=None)
def activation_bounds(name: str) -> dict[str, sp.Expr]:
    r"""Exact $B_\sigma=\sup|\sigma|$, $B_{\sigma'}=\sup|\sigma'|$, $B_{\sigma''}=\sup|\sigma''|$ (sympy).

    Both activations satisfy $\sigma' = D(\sigma)$ for a polynomial $D$ (sigmoid: $u(1-u)$ on $(0,1)$;
    tanh: $1-u^2$ on $(-1,1)$), so $\sigma'' = D'(\sigma)D(\sigma)$ and each supremum is a polynomial
    maximum over the range of $\sigma$ (endpoints and critical points).
    sigmoid: $(1, 1/4, \sqrt3/18)$; tanh: $(1, 1, 4\sqrt3/9)$.
    """
    activation_expr(name)  # validates the name
    (lo, hi), D = _ACT_POLY[name]
    D2 = sp.expand(sp.diff(D, _u) * D)
    return {"B_sigma": sp.Integer(max(abs(lo), abs(hi))), "B_sigma1": _sup_abs_poly(D, lo, hi),
            "B_sigma2": _sup_abs_poly(D2, lo, hi)}


@lru_cache(maxsize=None)
def _activation_floats(name: str) -> dict[str, float]:
    return {k: float(v) for k, v in activation_bounds(name).items()}


def curvature_bounds_expr(loss: str) -> tuple[sp.Expr, sp.Expr]:
    r"""$(\kappa_-, \kappa_+)$ as sympy expressions: $\lambda_{\min}(\nabla^2F) \ge \lambda-\kappa_-$,
    $\lambda_{\max}(\nabla^2F) \le \lambda+\kappa_+$ (see module docstring)."""
    if loss == "l2":
        lp, lpp = B_y + a1 * Bs, sp.Integer(1)
    elif loss == "logistic":
        lp, lpp = sp.Integer(1), sp.Rational(1, 4)
    else:
        raise InputError(f"loss must be one of {LOSSES}, got {loss!r}")
    kminus = B_x**2 * lp * ainf * Bs2
    kplus = B_x**2 * (lpp * a2**2 * Bs1**2 + lp * ainf * Bs2)
    return kminus, kplus


_SYMBOLS = (B_x, B_y, a1, a2, ainf, Bs, Bs1, Bs2)


@lru_cache(maxsize=None)
def _curvature_fns(loss: str):
    """(kappa_minus, kappa_plus) lambdified over _SYMBOLS."""
    return tuple(sp.lambdify(_SYMBOLS, e, "math") for e in curvature_bounds_expr(loss))


def sufficient_threshold_expr(loss: str = "l2") -> sp.Expr:
    r"""The conservative sufficient condition $\lambda > \kappa_+$ (NOT the papers' $\lambda_c$).

    $\ell_2$: $B_x^2(\|a\|_2^2B_{\sigma'}^2 + (B_y+\|a\|_1B_\sigma)\|a\|_\infty B_{\sigma''})$;
    logistic: $B_x^2(\tfrac14\|a\|_2^2B_{\sigma'}^2 + \|a\|_\infty B_{\sigma''})$ (derived the same way).
    """
    return curvature_bounds_expr(loss)[1]


def sufficient_threshold_latex(loss: str = "l2") -> str:
    return r"\lambda > " + sp.latex(sufficient_threshold_expr(loss))


@dataclass(frozen=True)
class NetBounds:
    """Numeric bounds for one (data, outer layer, activation, loss) configuration."""

    kappa_minus: float      # lambda_min(Hess F) >= lambda - kappa_minus
    kappa_plus: float       # lambda_max(Hess F) <= lambda + kappa_plus; the conservative (strong-convexity) threshold
    grad_bound: float       # G >= ||grad L||
    lap_bound: float        # Lambda >= |Laplacian L|
    B_x: float
    B_y: float

    @property
    def threshold(self) -> float:
        """The conservative sufficient threshold used by the claim (kappa_plus)."""
        return self.kappa_plus


def net_bounds(X: np.ndarray, y: np.ndarray, a: np.ndarray, activation: str, loss: str) -> NetBounds:
    r"""Evaluate $\kappa_\pm$, $G$, $\Lambda$ on data ``X`` (n, d), labels ``y`` (n,), outer layer ``a`` (p,)."""
    X, y, a = np.asarray(X, float), np.asarray(y, float), np.asarray(a, float)
    if X.ndim != 2 or y.shape != (X.shape[0],) or a.ndim != 1:
        raise InputError(f"expected X (n, d), y (n,), a (p,); got {X.shape}, {y.shape}, {a.shape}")
    if loss == "logistic" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("logistic loss needs labels in {-1, +1}")
    ab = _activation_floats(activation)
    bx, by = float(np.max(np.linalg.norm(X, axis=1))), float(np.max(np.abs(y)))
    subs = {B_x: bx, B_y: by, a1: float(np.abs(a).sum()), a2: float(np.linalg.norm(a)),
            ainf: float(np.abs(a).max()), Bs: ab["B_sigma"], Bs1: ab["B_sigma1"], Bs2: ab["B_sigma2"]}
    km, kp = (float(fn(*(subs[sym] for sym in _SYMBOLS))) for fn in _curvature_fns(loss))
    lp_sup, lpp_sup = (by + subs[a1] * ab["B_sigma"], 1.0) if loss == "l2" else (1.0, 0.25)
    G = bx * subs[a2] * ab["B_sigma1"] * lp_sup
    Lam = bx**2 * (lpp_sup * subs[a2] ** 2 * ab["B_sigma1"] ** 2 + lp_sup * subs[a1] * ab["B_sigma2"])
    return NetBounds(km, kp, G, Lam, bx, by)


def villani_deviation(t: np.ndarray, lam_value: float, s: float, bounds: NetBounds, n_params: int) -> np.ndarray:
    r"""$\mathrm{dev}(t) = (G^2 + 2\lambda t G)/s + \Lambda + \lambda p d$: the envelope of
    $|\,\|\nabla F\|^2/s - \Delta F - \lambda^2 t^2/s\,|$ along unit rays."""
    t = np.asarray(t, float)
    G = bounds.grad_bound
    return (G**2 + 2 * lam_value * t * G) / s + bounds.lap_bound + lam_value * n_params


# ---------------------------------------------------------------- the global minimum (numpy)

def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if name == "sigmoid":
        s = 0.5 * (1 + np.tanh(z / 2))
        return s, s * (1 - s), s * (1 - s) * (1 - 2 * s)
    if name == "tanh":
        th = np.tanh(z)
        return th, 1 - th**2, -2 * th * (1 - th**2)
    raise InputError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _loss_derivs(loss: str, f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if loss == "l2":
        return 0.5 * (f - y) ** 2, f - y, np.ones_like(f)
    m = y * f
    val = np.logaddexp(0.0, -m)
    sig_neg = 0.5 * (1 - np.tanh(m / 2))  # sigmoid(-m)
    return val, -y * sig_neg, sig_neg * (1 - sig_neg)


def objective(W: np.ndarray, X: np.ndarray, y: np.ndarray, a: np.ndarray, lam_value: float,
              activation: str, loss: str) -> tuple[float, np.ndarray, np.ndarray]:
    """F(W), its gradient (p, d) and its Hessian (pd, pd) in closed form."""
    n = X.shape[0]
    p, d = W.shape
    Z = X @ W.T                                   # (n, p)
    s0, s1, s2 = _act(activation, Z)
    f = s0 @ a
    val, l1, l2 = _loss_derivs(loss, f, y)
    F = float(val.mean() + 0.5 * lam_value * np.sum(W**2))
    J = (a * s1)[:, :, None] * X[:, None, :]       # (n, p, d) = grad_W f(x_i)
    grad = np.einsum("n,npd->pd", l1, J) / n + lam_value * W
    Jf = J.reshape(n, p * d)
    H = (Jf.T * l2) @ Jf / n
    # block-diagonal part: sum_i l1_i a_j s2_ij x_i x_i^T on block j
    blocks = np.einsum("n,np,nd,ne->pde", l1, a * s2, X, X) / n
    for j in range(p):
        H[j * d:(j + 1) * d, j * d:(j + 1) * d] += blocks[j]
    H += lam_value * np.eye(p * d)
    return F, grad, H


@dataclass
class GlobalMin:
    W: np.ndarray
    value: float
    gap_certificate: float     # F(W) - F* <= ||grad||^2 / (2 mu_lb)
    mu_lb: float
    hess_eigs: np.ndarray      # eigenvalues of the Hessian at W


def global_minimum(X: np.ndarray, y: np.ndarray, a: np.ndarray, lam_value: float, activation: str, loss: str,
                   tol: float = 1e-14, max_iter: int = 100) -> GlobalMin:
    r"""The unique global minimizer of $F$ by damped Newton, certified by strong convexity:
    $F(W) - F^* \le \|\nabla F(W)\|^2/(2\mu)$ with $\mu = \lambda - \kappa_-$.

    Raises InputError when $\lambda \le \kappa_-$ (no uniqueness certificate) and SolverError when
    the certificate is not below ``tol`` (relative to $|F|$) after ``max_iter`` steps.
    """
    X, y, a = np.asarray(X, float), np.asarray(y, float), np.asarray(a, float)
    bounds = net_bounds(X, y, a, activation, loss)
    mu = lam_value - bounds.kappa_minus
    if mu <= 0:
        raise InputError(f"lambda = {lam_value:.4g} does not exceed the curvature bound {bounds.kappa_minus:.4g}: "
                         "strong convexity (and a unique minimum) is not certified")
    W = np.zeros((a.size, X.shape[1]))
    F, g, H = objective(W, X, y, a, lam_value, activation, loss)
    for _ in range(max_iter):
        step = np.linalg.solve(H, g.ravel()).reshape(W.shape)
        t = 1.0
        while True:  # Armijo backtracking
            Wn = W - t * step
            Fn, gn, Hn = objective(Wn, X, y, a, lam_value, activation, loss)
            if Fn <= F - 1e-4 * t * np.sum(g * step) or t < 1e-10:
                break
            t *= 0.5
        W, F, g, H = Wn, Fn, gn, Hn
        cert = float(np.sum(g**2) / (2 * mu))
        if cert <= tol * max(1.0, abs(F)):
            return GlobalMin(W, F, cert, mu, np.linalg.eigvalsh(H))
    raise SolverError(f"Newton did not certify the global minimum: gap bound {cert:.3g} after {max_iter} steps")


# ---------------------------------------------------------------- below the convexity threshold

def data_hessian_min_eig(W: np.ndarray, X: np.ndarray, y: np.ndarray, a: np.ndarray, activation: str,
                         loss: str) -> float:
    r"""$\lambda_{\min}(\nabla^2\hat L(W))$ of the unregularized data loss at ``W`` (p, d)."""
    return float(np.linalg.eigvalsh(objective(W, X, y, a, 0.0, activation, loss)[2]).min())


def convexity_threshold_estimate(X: np.ndarray, y: np.ndarray, a: np.ndarray, activation: str, loss: str,
                                 points: np.ndarray) -> float:
    r"""$\max_k(-\lambda_{\min}(\nabla^2\hat L(W_k)))$ over the sample ``points`` (K, p, d), floored at 0: a lower
    estimate of the convexity threshold $\lambda_{\rm conv}$ (for $\lambda$ below it, $F$ has negative curvature
    at the maximizing point)."""
    return max(0.0, max(-data_hessian_min_eig(W, X, y, a, activation, loss) for W in np.asarray(points, float)))


@dataclass
class LocalMin:
    W: np.ndarray
    value: float
    grad_norm: float
    hess_eigs: np.ndarray      # eigenvalues of the Hessian at W (all > 0: a strict local minimum)
    distinct: int              # distinct minimum values among the starts (relative tolerance 1e-8)


def multistart_minimum(X: np.ndarray, y: np.ndarray, a: np.ndarray, lam_value: float, activation: str, loss: str,
                       starts: np.ndarray, tol: float = 1e-12) -> LocalMin:
    r"""The lowest local minimum of $F$ found from the starting points ``starts`` (K, p, d).

    L-BFGS (scipy) on the closed-form value and gradient, then Newton steps while the Hessian is positive
    definite, to $\|\nabla F\| \le$ ``tol``. Not a certificate of global optimality (below $\lambda_{\rm conv}$
    there is none); ``hess_eigs`` certify a strict local minimum and ``distinct`` counts the different
    minimum values the starts reached. Raises SolverError when no start reaches a stationary point.
    """
    from scipy.optimize import minimize

    X, y, a = np.asarray(X, float), np.asarray(y, float), np.asarray(a, float)
    shape = (a.size, X.shape[1])

    def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
        F, g, _ = objective(w.reshape(shape), X, y, a, lam_value, activation, loss)
        return F, g.ravel()

    found = []
    for W0 in np.asarray(starts, float):
        res = minimize(fun, W0.ravel(), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 10000})
        W = res.x.reshape(shape)
        for _ in range(20):
            F, g, H = objective(W, X, y, a, lam_value, activation, loss)
            if np.linalg.norm(g) <= tol or np.linalg.eigvalsh(H).min() <= 0:
                break
            W = W - np.linalg.solve(H, g.ravel()).reshape(shape)
        F, g, H = objective(W, X, y, a, lam_value, activation, loss)
        found.append((F, W, float(np.linalg.norm(g)), np.linalg.eigvalsh(H)))
    order = np.sort([f[0] for f in found])
    distinct = 1 + int(np.sum(np.diff(order) > 1e-8 * np.maximum(1.0, np.abs(order[1:]))))
    F, W, grad_norm, eigs = min(found, key=lambda f: f[0])
    if grad_norm > 1e-8 * max(1.0, abs(F)):
        raise SolverError(f"no stationary point reached: gradient norm {grad_norm:.3g} at the best of "
                          f"{len(found)} starts")
    return LocalMin(W, float(F), grad_norm, eigs, distinct)


def gibbs_excess(s: float, n_params: int) -> float:
    r"""$E_{\rm Gibbs}F - F^* \approx sD/4$ for the Gibbs measure $\propto e^{-2F/s}$ of the SDE
    $d\theta = -\nabla F\,dt + \sqrt s\,dB$ (Laplace: each of the $D$ Hessian modes $h_k$ at the minimum is an
    Ornstein–Uhlenbeck coordinate with stationary variance $s/(2h_k)$ and mean energy $\tfrac12h_k\cdot s/(2h_k)
    = s/4$); corrections are $O(s^2)$."""
    if s <= 0 or n_params < 1:
        raise InputError(f"need s > 0 and n_params >= 1, got {s}, {n_params}")
    return s * n_params / 4.0
