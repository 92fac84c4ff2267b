r"""Linear stability of gradient methods: delayed and momentum GD thresholds, the sharpness of the
gradient-flow solution of scalar networks, and the function-space bound of stable ReLU minima.

**Delayed GD** (Giladi, Nacson, Hoffer, Soudry 2020, arXiv 1909.12340). On a quadratic
$\frac12 x^\top Hx$, GD whose gradient is $\tau$ steps stale, $x_{t+1} = x_t - \eta Hx_{t-\tau}$
(with heavy-ball momentum $+\beta(x_t - x_{t-1})$ at the server), decouples into the eigendirections
of $H$; with $a = \eta\lambda$ each is the scalar recursion with characteristic polynomial
$$ p(z) = z^{m+1} - (1+\beta)z^m + \beta z^{m-1} + a z^{m-\tau},\qquad m = \max(\tau, 1), $$
($\beta = 0$: $z^{\tau+1} - z^\tau + a$ up to a factor $z$). The minimum is linearly stable iff all
roots lie in the open unit disk. For $\beta = 0$ the roots leave the disk first at
$z = e^{i\theta}$ with $a = z^\tau(1 - z)$ real and positive: $|1 - e^{i\theta}| = 2\sin(\theta/2)$
and the phase condition $\tau\theta + (\theta - \pi)/2 = 0$ give $\theta = \pi/(2\tau+1)$ and
$$ a^*(\tau) = 2\sin\frac{\pi}{2(2\tau+1)} \quad(\tau = 0: 2;\ \tau = 1: 1;\ \tau=2: (\sqrt5-1)/2), $$
so $\eta\lambda_{\max} < a^*(\tau)$ is the stability condition, and
$a^*(\tau) = \pi/(2\tau) - \pi/(4\tau^2) + O(\tau^{-3})$: the largest stable step is $\propto 1/\tau$.
:func:`derive_delayed_threshold` checks the root on the unit circle with sympy (30 digits), the
series, and the heavy-ball case $\tau = 0$: $z^2 - (1+\beta-a)z + \beta$ is Schur-stable iff
$|\beta| < 1$ and $|1 + \beta - a| < 1 + \beta$, i.e. $0 < a < 2 + 2\beta$. For $\tau \ge 1$ with
momentum no closed form is used here: :func:`momentum_threshold` finds the first crossing of the
spectral radius through 1 by bisection on the companion roots.

**Gradient-flow solution of scalar networks** (Kreisler, Nacson, Soudry, Carmon 2023, arXiv
2305.13064). For $f(w) = \prod_{i=1}^D w_i$ and $L(w) = \frac12(f(w) - y)^2$, gradient flow
conserves $w_i^2 - w_j^2$ (sympy), so its limit from $w$ is $s_i = \mathrm{sign}(w_i)\sqrt{w_i^2 + c}$
with $c$ the unique root of $\prod_i(w_i^2 + c) = y^2$ on $c > -\min_i w_i^2$; at a minimum
$\nabla^2 L = \nabla f\nabla f^\top$ (sympy: $\nabla^2L - \nabla f\nabla f^\top = (f - y)\nabla^2 f$),
so the GFS sharpness is
$$ \varphi(w) = \|\nabla f(s)\|^2 = y^2\sum_i \frac{1}{w_i^2 + c}. $$
The flattest minimum is balanced: $\varphi_{\min} = D\,|y|^{2 - 2/D}$. One GD step multiplies
every balance, $w_i'^2 - w_j'^2 = (w_i^2 - w_j^2)(1 - \varepsilon/(w_i^2w_j^2))$ with
$\varepsilon = \eta^2(f - y)^2f^2$ (sympy), which is how GD makes the GFS flatter.
The root $c$ is found by a safeguarded Newton iteration: $h(c) = \sum_i\log(w_i^2 + c) - 2\log|y|$
is increasing and concave, so Newton from a point right of the root lands left of it and then
increases monotonically; a step that would leave the domain is replaced by the midpoint to the
domain's edge (a non-strict test, so a converged step is never thrown back).

**Stable minima in function space** (Mulayoff, Michaeli, Soudry 2021, arXiv 2106.06088). For
$f(x) = \sum_i a_i\,\mathrm{relu}(w_ix + b_i) + c$ and $L = \frac1{2n}\sum_j(f(x_j) - y_j)^2$, at an
interpolating minimum $\nabla^2 L = G = J^\top J/n$. With the unit vector $\mathbf 1/\sqrt n$ in
sample space, $\lambda_{\max}(G) \ge \|\sum_j\nabla_\theta f(x_j)\|^2/n^2$; the output bias gives
exactly 1 and neuron $i$ (kink $\bar x_i = -b_i/w_i$) gives $s^2 + a_i^2(S_1^2 + N^2) \ge
2|a_i|s\sqrt{S_1^2+N^2}$ (sympy: the difference is a square), which is $2|a_iw_i|\,g_\pm(\bar x_i)$
with the side set by $\mathrm{sign}(w_i)$:
$$ g^+(x) = P(X>x)^2\,E[X - x\mid X>x]\sqrt{1 + E[X\mid X>x]^2},\quad
   g^-(x) = P(X<x)^2\,E[x - X\mid X<x]\sqrt{1 + E[X\mid X<x]^2}, $$
$X$ uniform on the training inputs. Hence, for any parameters (derived here),
$\lambda_{\max}(G) \ge 1 + 2\sum_i|a_iw_i|\,g_{\mathrm{sign}\,w_i}(\bar x_i)$, and a stable
interpolating minimum ($\lambda_{\max} \le 2/\eta$) satisfies the paper's bound
$\int|f''|\,g \le \sum_i |a_iw_i|\,g(\bar x_i) \le 1/\eta - 1/2$ with $g = \min(g^+, g^-)$.

Conventions: squared loss with the factor 1/2 everywhere; dropping it doubles every sharpness and
moves each "$2/\eta$" to "$1/\eta$".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theorycheck.errors import InputError

__all__ = [
    "delayed_threshold", "delayed_threshold_expr", "characteristic_polynomial", "spectral_radius",
    "momentum_threshold", "heavy_ball_threshold", "DelayedDerivation", "derive_delayed_threshold",
    "gfs_shift", "gfs_solution", "gfs_sharpness", "flattest_sharpness", "scalar_hessian", "GFSDerivation",
    "derive_gfs", "gradient_flow_limit",
    "side_weights", "stability_weight", "gauss_newton_lower_bound", "weighted_curvature", "function_space_bound",
    "derive_function_space",
]


# ------------------------------------------------------------------------------------------------
# delayed and momentum GD


def _check_tau(tau: int) -> int:
    if int(tau) != tau or tau < 0:
        raise InputError(f"delay tau must be a non-negative integer, got {tau!r}")
    return int(tau)


def _check_beta(beta: float) -> float:
    if not 0 <= beta < 1:
        raise InputError(f"momentum beta must lie in [0, 1), got {beta!r}")
    return float(beta)


def delayed_threshold(tau: int) -> float:
    r"""$a^*(\tau) = 2\sin(\pi/(2(2\tau+1)))$: delayed GD is stable iff $\eta\lambda_{\max} < a^*$."""
    tau = _check_tau(tau)
    return 2.0 * float(np.sin(np.pi / (2 * (2 * tau + 1))))


def delayed_threshold_expr() -> tuple[sp.Symbol, sp.Expr]:
    r"""The symbol $\tau$ and the sympy expression of $a^*(\tau)$."""
    tau = sp.Symbol("tau", nonnegative=True, integer=True)
    return tau, 2 * sp.sin(sp.pi / (2 * (2 * tau + 1)))


def characteristic_polynomial(a: float, tau: int, beta: float = 0.0) -> np.ndarray:
    r"""Coefficients (highest power first) of
    $z^{m+1} - (1+\beta)z^m + \beta z^{m-1} + a z^{m-\tau}$, $m = \max(\tau, 1)$."""
    tau = _check_tau(tau)
    m = max(tau, 1)
    coeffs = np.zeros(m + 2)
    coeffs[0] = 1.0
    coeffs[1] -= 1.0 + beta
    coeffs[2] += beta
    coeffs[1 + tau] += a  # the power m - tau sits at index (m + 1) - (m - tau)
    return coeffs


def spectral_radius(a: float, tau: int, beta: float = 0.0) -> float:
    """Largest root modulus of :func:`characteristic_polynomial` (numpy companion eigenvalues)."""
    return float(np.max(np.abs(np.roots(characteristic_polynomial(a, tau, beta)))))


@functools.lru_cache(maxsize=512)
def momentum_threshold(tau: int, beta: float = 0.0, rtol: float = 1e-12) -> float:
    r"""The stability threshold $a^*(\tau, \beta)$: the smallest $a > 0$ at which the spectral radius
    reaches 1 (first crossing, by a scan and bisection on the companion roots). $\beta = 0$ gives
    :func:`delayed_threshold`, $\tau = 0$ gives $2 + 2\beta$ (:func:`heavy_ball_threshold`)."""
    tau, beta = _check_tau(tau), _check_beta(beta)
    grid = np.geomspace(1e-6, 4.0 + 2 * beta, 400)
    unstable = [a for a in grid if spectral_radius(a, tau, beta) >= 1.0]
    if not unstable:
        raise InputError(f"no instability found for tau={tau}, beta={beta} below a={grid[-1]:g}")
    hi = unstable[0]
    lo = grid[max(int(np.searchsorted(grid, hi)) - 1, 0)]
    if spectral_radius(lo, tau, beta) >= 1.0:
        lo = 0.0
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if spectral_radius(mid, tau, beta) >= 1.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def heavy_ball_threshold(beta: float) -> float:
    r"""$\tau = 0$ with heavy-ball momentum: $a^* = 2 + 2\beta$ (derived in :func:`derive_delayed_threshold`)."""
    return 2.0 + 2.0 * _check_beta(beta)


@dataclass
class DelayedDerivation:
    """What sympy and numpy verified about the delayed threshold (all residuals should be tiny)."""

    taus: list[int]
    closed_form: dict[int, float]
    boundary_residual: float  # max over tau of |p(e^{i pi/(2 tau+1)})| at a*, 30-digit evaluation
    bisection_gap: float  # max relative gap between a*(tau) and the numeric first crossing
    series: sp.Expr  # a*(tau) at large tau
    heavy_ball: sp.Expr  # the tau = 0 momentum threshold
    latex: dict[str, str]


@functools.lru_cache(maxsize=8)
def derive_delayed_threshold(taus: tuple[int, ...] = tuple(range(9))) -> DelayedDerivation:
    r"""Verify $a^*(\tau)$: the root $e^{i\pi/(2\tau+1)}$ of $z^{\tau+1} - z^\tau + a^*$ (sympy, 30 digits),
    agreement with the numeric first crossing (:func:`momentum_threshold` with $\beta = 0$), the
    large-$\tau$ series, and the heavy-ball threshold $2 + 2\beta$ from the Schur conditions."""
    taus = [_check_tau(t) for t in taus]
    z = sp.Symbol("z")
    residual, gap, closed = 0.0, 0.0, {}
    for tau in taus:
        a_star = 2 * sp.sin(sp.pi / (2 * (2 * tau + 1)))
        root = sp.exp(sp.I * sp.pi / (2 * tau + 1))
        value = (z ** (tau + 1) - z**tau + a_star).subs(z, root)
        residual = max(residual, float(sp.Abs(sp.N(value, 30))))
        closed[tau] = float(a_star)
        gap = max(gap, abs(momentum_threshold(tau, 0.0) / closed[tau] - 1.0))
    t, expr = delayed_threshold_expr()
    u = sp.Symbol("u", positive=True)
    series = sp.series(expr.subs(t, 1 / u), u, 0, 3).removeO().subs(u, 1 / t)
    a, beta = sp.symbols("a beta", positive=True)
    # z^2 + b z + c is Schur-stable iff |c| < 1 and |b| < 1 + c; here b = -(1 + beta - a), c = beta
    boundary = sp.solve(sp.Eq(1 + beta - a, -(1 + beta)), a)  # the edge |1 + beta - a| = 1 + beta with a > 0
    heavy = sp.simplify(boundary[0])
    latex = {
        "threshold": r"a^*(\tau) = " + sp.latex(expr),
        "series": r"a^*(\tau) = " + sp.latex(sp.expand(series)) + r" + O(\tau^{-3})",
        "heavy_ball": r"a^*(0, \beta) = " + sp.latex(heavy),
    }
    return DelayedDerivation(taus, closed, residual, gap, sp.expand(series), heavy, latex)


# ------------------------------------------------------------------------------------------------
# scalar networks: the gradient-flow solution and its sharpness


def _as_rows(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim == 0 or w.shape[-1] < 1:
        raise InputError(f"weights must have a last axis of length D >= 1, got shape {w.shape}")
    return w


def gfs_shift(w: np.ndarray, y: np.ndarray | float, iters: int = 200) -> np.ndarray:
    r"""The root $c$ of $\prod_i(w_i^2 + c) = y^2$ on $c > -\min_i w_i^2$, for every row of ``w`` (..., D).

    Safeguarded Newton on $h(c) = \sum_i\log(w_i^2 + c) - 2\log|y|$ (increasing, concave): start right
    of the root at $c_0 = \max(0, |y|^{2/D} - \min w^2)$; a step that leaves the domain is replaced
    by the midpoint between the domain edge and the current point; rows freeze once converged."""
    w = _as_rows(w)
    y = np.broadcast_to(np.asarray(y, dtype=float), w.shape[:-1])
    if np.any(y == 0):
        raise InputError("the target y must be non-zero (the GFS of y = 0 is the origin)")
    w2 = (w * w).reshape(-1, w.shape[-1])
    edge = -w2.min(axis=-1)
    target = 2.0 * np.log(np.abs(y)).reshape(-1)
    D = w.shape[-1]
    c = np.maximum(0.0, np.abs(y).reshape(-1) ** (2.0 / D) + edge)
    live = np.arange(c.size)  # rows still iterating (converged rows are frozen and dropped)
    for _ in range(iters):
        s = w2[live] + c[live, None]
        h = np.log(s).sum(axis=-1) - target[live]
        dh = (1.0 / s).sum(axis=-1)
        new = c[live] - h / dh
        new = np.where(new > edge[live], new, 0.5 * (edge[live] + c[live]))
        moving = np.abs(new - c[live]) > 1e-15 * np.maximum(1.0, np.abs(new))
        c[live] = new
        live = live[moving]
        if live.size == 0:
            break
    c = c.reshape(w.shape[:-1])
    return c


def gfs_solution(w: np.ndarray, y: np.ndarray | float) -> np.ndarray:
    r"""The limit of gradient flow from ``w``: $s_i = \mathrm{sign}(w_i)\sqrt{w_i^2 + c}$ (rows of ``w``)."""
    w = _as_rows(w)
    c = gfs_shift(w, y)
    return np.sign(w) * np.sqrt(w * w + c[..., None])


def gfs_sharpness(w: np.ndarray, y: np.ndarray | float) -> np.ndarray:
    r"""$\varphi(w) = y^2\sum_i 1/(w_i^2 + c)$: the sharpness of the gradient-flow solution from ``w``."""
    w = _as_rows(w)
    y = np.broadcast_to(np.asarray(y, dtype=float), w.shape[:-1])
    c = gfs_shift(w, y)
    return y * y * (1.0 / (w * w + c[..., None])).sum(axis=-1)


def flattest_sharpness(depth: int, y: float = 1.0) -> float:
    r"""$D|y|^{2-2/D}$: the sharpness of the balanced minimum, the flattest one gradient flow can reach."""
    if depth < 1:
        raise InputError(f"depth must be >= 1, got {depth}")
    return depth * abs(y) ** (2.0 - 2.0 / depth)


def scalar_hessian(w: np.ndarray, y: np.ndarray | float) -> np.ndarray:
    r"""Closed-form Hessian of $\frac12(\prod_i w_i - y)^2$ per row: $\nabla f\nabla f^\top + (f - y)\nabla^2 f$,
    $\partial_i f = \prod_{k\ne i}w_k$, $\partial_{ij}f = \prod_{k\ne i,j}w_k$ ($i \ne j$)."""
    w = _as_rows(w)
    D = w.shape[-1]
    y = np.broadcast_to(np.asarray(y, dtype=float), w.shape[:-1])
    f = np.prod(w, axis=-1)
    grad = np.stack([np.prod(np.delete(w, i, axis=-1), axis=-1) for i in range(D)], axis=-1)
    second = np.zeros(w.shape + (D,))
    for i in range(D):
        for j in range(D):
            if i != j:
                second[..., i, j] = np.prod(np.delete(w, [i, j], axis=-1), axis=-1)
    return grad[..., :, None] * grad[..., None, :] + (f - y)[..., None, None] * second


@dataclass
class GFSDerivation:
    """The sympy facts behind :func:`gfs_sharpness` (each ``True`` when verified)."""

    depth: int
    balances_conserved: bool
    hessian_at_minimum: bool
    one_step_balance: bool
    latex: dict[str, str]


def derive_gfs(depth: int = 3) -> GFSDerivation:
    r"""Verify with sympy, for $f = \prod_{i\le D} w_i$: (i) gradient flow conserves $w_i^2 - w_j^2$;
    (ii) $\nabla^2L - \nabla f\nabla f^\top = (f - y)\nabla^2 f$, so at a minimum $\nabla^2 L = \nabla f\nabla f^\top$
    and $\lambda_{\max} = \|\nabla f\|^2$; (iii) one GD step gives
    $w_i'^2 - w_j'^2 = (w_i^2 - w_j^2)(1 - \eta^2(f-y)^2f^2/(w_i^2w_j^2))$."""
    if depth < 2:
        raise InputError(f"depth must be >= 2 for the balance identities, got {depth}")
    w = sp.symbols(f"w1:{depth + 1}", real=True, nonzero=True)
    y, eta = sp.symbols("y eta", real=True)
    f = sp.Mul(*w)
    L = (f - y) ** 2 / 2
    grad = [sp.diff(L, wi) for wi in w]
    conserved = all(sp.simplify(2 * w[i] * (-grad[i]) - 2 * w[j] * (-grad[j])) == 0
                    for i in range(depth) for j in range(i + 1, depth))
    H = sp.hessian(L, w)
    gf = sp.Matrix([sp.diff(f, wi) for wi in w])
    hess_ok = sp.simplify(H - gf * gf.T - (f - y) * sp.hessian(f, w)) == sp.zeros(depth, depth)
    new = [wi - eta * g for wi, g in zip(w, grad)]
    i, j = 0, 1
    lhs = new[i] ** 2 - new[j] ** 2
    rhs = (w[i] ** 2 - w[j] ** 2) * (1 - eta**2 * (f - y) ** 2 * f**2 / (w[i] ** 2 * w[j] ** 2))
    step_ok = sp.simplify(sp.expand(lhs - rhs)) == 0
    latex = {
        "gfs": r"\varphi(w) = y^2\sum_i \frac{1}{w_i^2 + c},\quad \prod_i (w_i^2 + c) = y^2",
        "balance": r"w_i'^2 - w_j'^2 = (w_i^2 - w_j^2)\Big(1 - \frac{\eta^2 (f-y)^2 f^2}{w_i^2 w_j^2}\Big)",
        "flattest": r"\varphi_{\min} = D\,|y|^{2 - 2/D}",
    }
    return GFSDerivation(depth, bool(conserved), bool(hess_ok), bool(step_ok), latex)


def gradient_flow_limit(w0: np.ndarray, y: float, horizon: float = 200.0) -> tuple[np.ndarray, float]:
    r"""Integrate gradient flow $\dot w = -\nabla L(w)$ from ``w0`` (one row, D) with LSODA (rtol 1e-12)
    and return the limit point and the top eigenvalue of :func:`scalar_hessian` there (a numerical
    reference for :func:`gfs_solution` / :func:`gfs_sharpness`)."""
    from scipy.integrate import solve_ivp

    w0 = np.asarray(w0, dtype=float).ravel()

    def rhs(_t: float, w: np.ndarray) -> np.ndarray:
        f = np.prod(w)
        return -(f - y) * np.array([np.prod(np.delete(w, i)) for i in range(w.size)])

    sol = solve_ivp(rhs, (0.0, horizon), w0, method="LSODA", rtol=1e-12, atol=1e-14)
    w = sol.y[:, -1]
    return w, float(np.linalg.eigvalsh(scalar_hessian(w, y))[-1])


# ------------------------------------------------------------------------------------------------
# univariate shallow ReLU networks: the data-dependent weight of the function-space bound


def side_weights(x_data: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""$g^+(\bar x)$ and $g^-(\bar x)$ at each knot, for $X$ uniform on ``x_data`` (n,); ``knots``
    any shape. $g^\pm$ vanish where no data point lies on that side."""
    x = np.asarray(x_data, dtype=float).ravel()
    k = np.asarray(knots, dtype=float)
    n = x.size
    diff = x[None, :] - k.reshape(-1, 1)  # (K, n): x_j - knot
    right, left = diff > 0, diff < 0
    n_r, n_l = right.sum(1), left.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_r, p_l = n_r / n, n_l / n
        excess_r = np.where(right, diff, 0).sum(1) / np.maximum(n_r, 1)
        excess_l = np.where(left, -diff, 0).sum(1) / np.maximum(n_l, 1)
        mean_r = np.where(right, x[None, :], 0).sum(1) / np.maximum(n_r, 1)
        mean_l = np.where(left, x[None, :], 0).sum(1) / np.maximum(n_l, 1)
    g_plus = np.where(n_r > 0, p_r**2 * excess_r * np.sqrt(1 + mean_r**2), 0.0)
    g_minus = np.where(n_l > 0, p_l**2 * excess_l * np.sqrt(1 + mean_l**2), 0.0)
    return g_plus.reshape(k.shape), g_minus.reshape(k.shape)


def stability_weight(x_data: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""The paper's weight $g(x) = \min(g^+(x), g^-(x))$ (zero outside the data's range)."""
    plus, minus = side_weights(x_data, x)
    return np.minimum(plus, minus)


def _knots(w: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w != 0, -b / np.where(w != 0, w, 1.0), np.inf)


def gauss_newton_lower_bound(a: np.ndarray, w: np.ndarray, b: np.ndarray, x_data: np.ndarray) -> np.ndarray:
    r"""$1 + 2\sum_i|a_iw_i|\,g_{\mathrm{sign}\,w_i}(\bar x_i)$ per network: a lower bound on
    $\lambda_{\max}(J^\top J/n)$ for *any* parameters (module doc). ``a``, ``w``, ``b``: (B, k)."""
    a, w, b = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (a, w, b))
    plus, minus = side_weights(x_data, _knots(w, b))
    side = np.where(w > 0, plus, np.where(w < 0, minus, 0.0))
    return 1.0 + 2.0 * (np.abs(a * w) * side).sum(axis=-1)


def weighted_curvature(a: np.ndarray, w: np.ndarray, b: np.ndarray, x_data: np.ndarray) -> np.ndarray:
    r"""$\sum_i|a_iw_i|\,g(\bar x_i) \ge \int|f''(x)|g(x)\,dx$ per network (the paper's left-hand side)."""
    a, w, b = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (a, w, b))
    return (np.abs(a * w) * stability_weight(x_data, _knots(w, b))).sum(axis=-1)


def function_space_bound(eta: float) -> float:
    r"""$1/\eta - 1/2$: the bound on $\int|f''|g$ at a linearly stable interpolating minimum (loss with ½)."""
    if eta <= 0:
        raise InputError(f"step size eta must be positive, got {eta}")
    return 1.0 / eta - 0.5


def derive_function_space() -> bool:
    r"""sympy: $s^2 + a^2(S_1^2 + N^2) - 2|a|s\sqrt{S_1^2 + N^2} = (s - |a|\sqrt{S_1^2+N^2})^2$, the AM–GM
    step behind :func:`gauss_newton_lower_bound`."""
    s, a, S1, N = sp.symbols("s a S_1 N", real=True)
    r = sp.sqrt(S1**2 + N**2)
    return sp.simplify(s**2 + a**2 * (S1**2 + N**2) - 2 * sp.Abs(a) * s * r - (s - sp.Abs(a) * r) ** 2) == 0
