r"""Dropout penalties derived with sympy, closed-form minimizers, cvxpy solves (numpy + sympy + cvxpy; no torch).

Three exact identities (expectations over the dropout masks, squared loss):

1. **Inputs of linear regression** (Srivastava et al. 2014, section 9.1; Wager et al. 2013). Inverted dropout
   with *drop rate* $p$: $\tilde x_{ij} = x_{ij}\xi_{ij}/(1-p)$, $\xi_{ij}\sim\mathrm{Bernoulli}(1-p)$:

   $$\mathbb E\|y - \tilde Xw\|^2 = \|y - Xw\|^2 + \tfrac{p}{1-p}\,w^\top\operatorname{diag}(X^\top X)\,w,$$

   minimized by $w_p = (X^\top X + \tfrac{p}{1-p}\operatorname{diag}(X^\top X))^{-1}X^\top y$.
2. **Last hidden layer of a two-layer network** (Zhang & Xu, TPAMI 2024, arXiv 2207.05952), in their
   convention that $\eta_r = 1/p$ with *keep probability* $p$ and $0$ otherwise:
   $f_\eta(x) = \sum_r a_r\eta_r\sigma(w_r^\top x)$, $L = \frac1{2n}\sum_i(f(x_i) - y_i)^2$,

   $$\mathbb E_\eta L_\eta = L + R_1,\qquad R_1 = \frac{1-p}{2np}\sum_{i=1}^n\sum_{r=1}^m a_r^2\sigma(w_r^\top x_i)^2 .$$
3. **Matrix factorization** (Mianjy, Arora & Vidal, ICML 2018), keep probability $\theta$ on the $r$ columns:
   $\mathbb E\|Y - U\operatorname{diag}(b/\theta)V^\top\|_F^2 = \|Y - UV^\top\|_F^2 + \frac{1-\theta}{\theta}\sum_i\|u_i\|^2\|v_i\|^2$.

Each identity is *derived* here by sympy on a small symbolic instance: expand the square as a polynomial in
the Bernoulli variables, use $b^k = b$ and independence ($\mathbb E\prod_j b_j = \prod_j\mathbb E b_j$), and
compare with the closed form (:func:`expected_square_loss`). The per-entry variance factor that all three share
— $\operatorname{Var}(b/q) = (1-q)/q$ for keep probability $q$ — is :func:`dropout_variance_factor`.
"""

from __future__ import annotations

from functools import lru_cache

import cvxpy as cp
import numpy as np
import sympy as sp

from theorycheck.errors import InputError, SolverError


# ----------------------------------------------------------------------------------------------------------
# symbolic expectations

def bernoulli_expectation(expr: sp.Expr, masks: list[sp.Symbol], keep: sp.Expr) -> sp.Expr:
    r"""$\mathbb E[\text{expr}]$ for independent $b_j\sim\mathrm{Bernoulli}(\text{keep})$, expr polynomial in the $b_j$.

    Each monomial $\prod_j b_j^{k_j}$ becomes $\text{keep}^{\#\{j: k_j > 0\}}$ (since $b^k = b$).
    """
    poly = sp.Poly(sp.expand(expr), *masks)
    total = sp.Integer(0)
    for exponents, coeff in poly.terms():
        total += coeff * keep ** sum(1 for k in exponents if k > 0)
    return total


def _zero(expr: sp.Expr) -> sp.Expr:
    """Canonical form of a rational expression: 0 exactly when the expression vanishes identically."""
    return sp.expand(sp.cancel(sp.together(expr)))


@lru_cache(maxsize=None)
def dropout_variance_factor() -> sp.Expr:
    r"""sympy: $\operatorname{Var}(b/q) = \mathbb E[(b/q)^2] - 1 = (1-q)/q$ for $b\sim\mathrm{Bernoulli}(q)$."""
    q, b = sp.symbols("q b", positive=True)
    second = bernoulli_expectation((b / q) ** 2, [b], q)
    return sp.simplify(second - 1)


def linear_dropout_derivation(n: int = 2, d: int = 2) -> dict[str, sp.Expr]:
    r"""Derive $\mathbb E\|y - \tilde Xw\|^2$ for symbolic $X\in\mathbb R^{n\times d}$, $y$, $w$, drop rate $p$.

    Returns the expectation, the closed form $\|y - Xw\|^2 + \frac{p}{1-p}w^\top\operatorname{diag}(X^\top X)w$
    and their simplified difference (``residual``, which is 0 when the identity holds).
    """
    p = sp.Symbol("p", positive=True)
    X = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"x_{i}{j}", real=True))
    y = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"y_{i}", real=True))
    w = sp.Matrix(d, 1, lambda j, _: sp.Symbol(f"w_{j}", real=True))
    B = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"b_{i}{j}"))
    Xt = X.multiply_elementwise(B) / (1 - p)
    loss = ((y - Xt * w).T * (y - Xt * w))[0, 0]
    expectation = bernoulli_expectation(loss, list(B), 1 - p)
    penalty = sum(((X.T * X)[j, j] * w[j] ** 2 for j in range(d)), sp.Integer(0))
    closed = ((y - X * w).T * (y - X * w))[0, 0] + p / (1 - p) * penalty
    return {"expectation": expectation, "closed_form": closed,
            "residual": _zero(expectation - closed), "coefficient": p / (1 - p)}


def last_layer_derivation(n: int = 2, m: int = 3) -> dict[str, sp.Expr]:
    r"""Derive $\mathbb E_\eta L_\eta - L$ for a two-layer net with dropout on the last hidden layer (Zhang & Xu).

    Symbolic hidden outputs $h_{ir} = \sigma(w_r^\top x_i)$, weights $a_r$, keep probability $p$,
    $\eta_{ir} = b_{ir}/p$ (a fresh mask per sample, as a framework draws them; the expectation is the same
    for one mask shared by all samples since $L$ is a sum over samples). Returns the penalty and
    ``residual`` $= \mathbb E L_\eta - L - R_1$ with $R_1 = \frac{1-p}{2np}\sum_{i,r}a_r^2h_{ir}^2$.
    """
    p = sp.Symbol("p", positive=True)
    a = [sp.Symbol(f"a_{r}", real=True) for r in range(m)]
    H = sp.Matrix(n, m, lambda i, r: sp.Symbol(f"h_{i}{r}", real=True))
    y = [sp.Symbol(f"y_{i}", real=True) for i in range(n)]
    B = sp.Matrix(n, m, lambda i, r: sp.Symbol(f"b_{i}{r}"))
    f_eta = [sum(a[r] * B[i, r] / p * H[i, r] for r in range(m)) for i in range(n)]
    f = [sum(a[r] * H[i, r] for r in range(m)) for i in range(n)]
    L_eta = sum((f_eta[i] - y[i]) ** 2 for i in range(n)) / (2 * n)
    L = sum((f[i] - y[i]) ** 2 for i in range(n)) / (2 * n)
    expectation = bernoulli_expectation(L_eta, list(B), p)
    R1 = (1 - p) / (2 * n * p) * sum(a[r] ** 2 * H[i, r] ** 2 for i in range(n) for r in range(m))
    return {"expectation": expectation, "penalty": sp.factor(sp.cancel(expectation - L)), "R1": R1,
            "residual": _zero(expectation - L - R1)}


def factorization_dropout_derivation(d1: int = 2, d2: int = 2, r: int = 2) -> dict[str, sp.Expr]:
    r"""Derive $\mathbb E\|Y - U\operatorname{diag}(b/\theta)V^\top\|_F^2$ (Mianjy, Arora & Vidal) symbolically."""
    th = sp.Symbol("theta", positive=True)
    U = sp.Matrix(d1, r, lambda i, k: sp.Symbol(f"u_{i}{k}", real=True))
    V = sp.Matrix(d2, r, lambda j, k: sp.Symbol(f"v_{j}{k}", real=True))
    Y = sp.Matrix(d1, d2, lambda i, j: sp.Symbol(f"Y_{i}{j}", real=True))
    b = [sp.Symbol(f"b_{k}") for k in range(r)]
    R = Y - U * sp.diag(*[bk / th for bk in b]) * V.T
    expectation = bernoulli_expectation(sum(R[i, j] ** 2 for i in range(d1) for j in range(d2)), b, th)
    R0 = Y - U * V.T
    closed = sum(R0[i, j] ** 2 for i in range(d1) for j in range(d2)) + (1 - th) / th * sum(
        (U[:, k].T * U[:, k])[0, 0] * (V[:, k].T * V[:, k])[0, 0] for k in range(r))
    return {"expectation": expectation, "closed_form": closed,
            "residual": _zero(expectation - closed)}


# ----------------------------------------------------------------------------------------------------------
# dropout on the inputs of linear regression

def _check_xy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, float)
    y = np.asarray(y, float).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise InputError(f"X must be (n, d) with n = len(y); got {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("X and y must be finite")
    return X, y


def dropout_ridge_coefficient(p: float) -> float:
    r"""The coefficient $\frac{p}{1-p}$ of $w^\top\operatorname{diag}(X^\top X)w$ for inverted dropout with drop
    rate $p$ (the variance $\operatorname{Var}(\xi/(1-p)) = p/(1-p)$ of the rescaled keep mask)."""
    if not 0.0 <= p < 1.0:
        raise InputError(f"drop rate p must be in [0, 1), got {p}")
    return p / (1.0 - p)


def diag_ridge(X: np.ndarray, y: np.ndarray, coefficient: float) -> np.ndarray:
    r"""$(X^\top X + c\,\operatorname{diag}(X^\top X))^{-1}X^\top y$: the minimizer of
    $\|y - Xw\|^2 + c\,w^\top\operatorname{diag}(X^\top X)w$ for a coefficient $c \ge 0$."""
    X, y = _check_xy(X, y)
    if not np.isfinite(coefficient) or coefficient < 0:
        raise InputError(f"the ridge coefficient must be finite and non-negative, got {coefficient}")
    G = X.T @ X
    if np.any(np.diag(G) == 0):
        raise InputError("a column of X is identically zero; the dropout penalty does not determine its weight")
    if coefficient == 0 and np.linalg.matrix_rank(G) < G.shape[0]:
        raise InputError("p = 0 (no dropout) and X^T X is singular: the least-squares minimizer is not unique")
    return np.linalg.solve(G + coefficient * np.diag(np.diag(G)), X.T @ y)


def linear_dropout_objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, p: float) -> float:
    r"""$\|y - Xw\|^2 + \frac{p}{1-p}w^\top\operatorname{diag}(X^\top X)w$."""
    X, y = _check_xy(X, y)
    c = dropout_ridge_coefficient(p)
    w = np.asarray(w, float)
    return float(np.sum((y - X @ w) ** 2) + c * np.sum(np.sum(X * X, 0) * w * w))


def linear_dropout_minimizer(X: np.ndarray, y: np.ndarray, p: float) -> np.ndarray:
    r"""$w_p = (X^\top X + \frac{p}{1-p}\operatorname{diag}(X^\top X))^{-1}X^\top y$ (closed form)."""
    return diag_ridge(X, y, dropout_ridge_coefficient(p))


def linear_dropout_cvxpy(X: np.ndarray, y: np.ndarray, p: float, tol: float = 1e-8) -> np.ndarray:
    r"""The same minimizer from cvxpy: $\min_w \|y - Xw\|^2 + \frac{p}{1-p}\|\operatorname{diag}(X^\top X)^{1/2}w\|^2$.

    Verified by the gradient (KKT) residual $\|(X^\top X + cD)w - X^\top y\| / \|X^\top y\| \le$ ``tol``
    after one Newton polish step (exact for a quadratic).
    """
    X, y = _check_xy(X, y)
    c = dropout_ridge_coefficient(p)
    G = X.T @ X
    D = np.diag(G)
    H = G + c * np.diag(D)
    rhs = X.T @ y
    scale = max(np.linalg.norm(rhs), 1e-300)
    w = cp.Variable(X.shape[1])
    problem = cp.Problem(cp.Minimize(cp.sum_squares(y - X @ w) + c * cp.sum_squares(cp.multiply(np.sqrt(D), w))))
    last = ""
    for solver in ("CLARABEL", "SCS"):
        try:
            problem.solve(solver=solver)
        except cp.error.SolverError as err:
            last = f"{solver}: {err}"
            continue
        if w.value is None:
            last = f"{solver}: status {problem.status}"
            continue
        wv = np.asarray(w.value, float)
        for attempt in range(2):
            kkt = float(np.linalg.norm(H @ wv - rhs) / scale)
            if kkt <= tol:
                return wv
            wv = wv - np.linalg.solve(H, H @ wv - rhs)  # Newton polish
        last = f"{solver}: KKT residual {kkt:.1e}"
    raise SolverError(f"dropout ridge program failed its KKT check (tol {tol:.0e}); last {last}")


def ridge_same_total_penalty(X: np.ndarray, y: np.ndarray, p: float) -> np.ndarray:
    r"""Plain ridge with the same total penalty: $\lambda = \frac{p}{1-p}\operatorname{tr}(\operatorname{diag}X^\top X)/d$.

    The control for the dropout claim: it differs from $w_p$ exactly when the columns of $X$ have unequal norms.
    """
    X, y = _check_xy(X, y)
    c = dropout_ridge_coefficient(p)
    G = X.T @ X
    lam = c * np.trace(G) / G.shape[0]
    return np.linalg.solve(G + lam * np.eye(G.shape[0]), X.T @ y)


def least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ordinary least squares (minimum-norm if rank deficient)."""
    X, y = _check_xy(X, y)
    return np.linalg.lstsq(X, y, rcond=None)[0]


# ----------------------------------------------------------------------------------------------------------
# dropout on the last hidden layer (Zhang & Xu)

def _keep(p: float) -> None:
    if not 0.0 < p <= 1.0:
        raise InputError(f"keep probability p must be in (0, 1], got {p}")


def last_layer_penalty(a: np.ndarray, H: np.ndarray, p: float) -> np.ndarray:
    r"""$R_1 = \frac{1-p}{2np}\sum_{i,r}a_r^2 H_{ir}^2$ with $H_{ir} = \sigma(w_r^\top x_i)$; batched.

    ``a`` (..., m), ``H`` (..., n, m) -> (...). The coefficient is the sympy-derived one
    (:func:`last_layer_derivation`), evaluated by :func:`last_layer_coefficient`.
    """
    _keep(p)
    a = np.asarray(a, float)
    H = np.asarray(H, float)
    n = H.shape[-2]
    return last_layer_coefficient(n, p) * np.einsum("...r,...ir->...", a * a, H * H)


def last_layer_coefficient(n: int, p: float, variant: str = "paper") -> float:
    r"""The coefficient of $\sum_{i,r}a_r^2\sigma_{ir}^2$ in $R_1$.

    ``variant="paper"``: $\frac{1-p}{2np}$, obtained from sympy's $\operatorname{Var}(\eta) = (1-p)/p$ times the
    $1/(2n)$ of $L$. Deliberately wrong variants for controls: ``"no-1/2n"`` ($\frac{1-p}{p}$),
    ``"swapped"`` ($\frac{p}{2n(1-p)}$, keep and drop probabilities exchanged) and ``"no-1/p"``
    ($\frac{1-p}{2n}$, the variance of the unscaled mask over $p$: the $1/p$ of the rescaling dropped).
    """
    _keep(p)
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    q = sp.Symbol("q", positive=True)
    var = dropout_variance_factor().subs(sp.Symbol("q", positive=True), q)
    if variant == "paper":
        expr = var / (2 * n)
    elif variant == "no-1/2n":
        expr = var
    elif variant == "swapped":
        expr = 1 / var / (2 * n)
    elif variant == "no-1/p":
        expr = var * q / (2 * n)
    else:
        raise InputError(f"unknown variant {variant!r}; use paper, no-1/2n, swapped or no-1/p")
    if p == 1.0 and variant == "swapped":
        raise InputError("the swapped coefficient is infinite at p = 1")
    return float(expr.subs(q, p))
