r"""Max-margin programs and rate laws for gradient methods on separable data.

Notation: ``Z`` is the (n, d) matrix whose rows are $z_i = y_i x_i$ (labels folded into the
points), so a linear classifier $w$ separates the data through the origin iff $Zw > 0$.

Programs (each solved with cvxpy, then *verified*: primal feasibility, dual feasibility,
stationarity / duality gap; Clarabel first, SCS as fallback; an answer that fails the
verification after polishing raises :class:`~theorycheck.errors.SolverError`):

* $\ell_2$ hard-margin SVM (Soudry et al. 2018):
  $\hat w = \arg\min_w \tfrac12\|w\|_2^2$ s.t. $Zw \ge 1$, with dual
  $\hat w = Z^\top\alpha$, $\alpha \ge 0$, $\alpha_i (z_i^\top\hat w - 1) = 0$.
  Polished by solving the support-set system $Z_S Z_S^\top \alpha_S = 1$ exactly.
* $\ell_p$ max-margin: $\arg\min_w \|w\|_p$ s.t. $Zw \ge 1$; its dual is
  $\max_{\lambda\ge 0} 1^\top\lambda$ s.t. $\|Z^\top\lambda\|_{q} \le 1$ ($1/p + 1/q = 1$),
  verified through the duality gap $\|w\|_p - 1^\top\lambda$.
* multiclass max-margin (Soudry et al. 2018, Sec. 4):
  $\hat W = \arg\min_W \|W\|_F^2$ s.t. $(w_{y_i} - w_k)^\top x_i \ge 1$ for all $k \ne y_i$.
  Written as an $\ell_2$ SVM over $\mathrm{vec}(W)$ with rows
  $(e_{y_i} - e_k)\otimes x_i$, so it shares the solver, the verification and the polish.

The **margin** reported with a solution is $1/\|\hat w\|_p$: the largest $\gamma$ such that some
$u$ with $\|u\|_p \le 1$ has $z_i^\top u \ge \gamma$ for all $i$, i.e. the distance from the
closest point to the separating hyperplane measured in the dual norm $\|\cdot\|_q$
(for $p = 2$: the usual Euclidean geometric margin).

Data that admit no separator through the origin raise
:class:`~theorycheck.errors.NotSeparableError` (the programs are infeasible).

Rate laws of the family are sympy expressions (from :mod:`theorycheck.theory.rates`), with
LaTeX via ``.latex``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import sympy as sp

from theorycheck.errors import InputError, NotSeparableError, SolverError
from theorycheck.theory.rates import LAWS, RateLaw, t as t_symbol

__all__ = [
    "MaxMarginSolution",
    "MulticlassMaxMarginSolution",
    "max_margin",
    "multiclass_max_margin",
    "multiclass_rows",
    "residual_limit",
    "loss_limit",
    "norm_offset",
    "sgd_effective_step",
    "normalized_margin",
    "GAP_GD",
    "LOSS_GD",
    "GAP_NORMALIZED_GD",
    "norm_growth",
    "asymptotic_iterate",
    "as_matrix",
    "dual_exponent",
    "solver_attempts",
]

#: feasibility tolerance of a verified solution: max_i (1 - z_i^T w)_+ (the constraint RHS is 1)
FEAS_TOL = 1e-7
#: relative stationarity / duality-gap tolerance of a verified solution
OPT_TOL = 1e-6

SOLVERS = ("CLARABEL", "SCS")


@dataclass
class MaxMarginSolution:
    r"""A verified max-margin solution.

    ``w`` (d,): the minimum-norm $w$ with $Zw \ge 1$; ``margin`` $= 1/\|w\|_{\mathrm{norm}}$ (the margin
    measured in the dual norm, see the module docstring); ``alpha`` (n,): the SVM dual
    ($w = Z^\top\alpha$) for ``norm == 2``, else None; ``support`` (n,) bool: active constraints
    ($z_i^\top w \le 1 + 10^{-6}$); ``status``: e.g. ``"optimal"`` or ``"optimal (polished)"``;
    ``solver``: which solver produced it; ``residuals``: the verification numbers.
    """

    w: np.ndarray
    margin: float
    alpha: np.ndarray | None
    support: np.ndarray
    status: str
    norm: float = 2.0
    solver: str = ""
    residuals: dict[str, float] = field(default_factory=dict)

    @property
    def direction(self) -> np.ndarray:
        """$w/\\|w\\|_2$ — the Euclidean unit direction (what direction gaps compare)."""
        return self.w / np.linalg.norm(self.w)


@dataclass
class MulticlassMaxMarginSolution:
    r"""Verified multiclass max-margin solution: ``W`` (K, d), ``margin`` $= 1/\|W\|_F$,
    ``alpha`` (n, K) duals (zero in the column of the true class), ``support`` (n, K) active
    constraints, ``status``, ``solver``, ``residuals``."""

    W: np.ndarray
    margin: float
    alpha: np.ndarray
    support: np.ndarray
    status: str
    solver: str = ""
    residuals: dict[str, float] = field(default_factory=dict)

    @property
    def direction(self) -> np.ndarray:
        return self.W / np.linalg.norm(self.W)


# --------------------------------------------------------------------------------------------
# input checks


def as_matrix(Z: Any, name: str = "Z") -> np.ndarray:
    """``Z`` as a finite non-empty float (n, d) array; InputError naming ``name`` otherwise."""
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or Z.shape[0] < 1 or Z.shape[1] < 1:
        raise InputError(f"{name} must be a non-empty (n, d) matrix, got shape {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise InputError(f"{name} contains NaN or inf")
    return Z


def _check_norm(norm: float) -> float:
    try:
        p = float(norm)
    except (TypeError, ValueError):
        raise InputError(f"norm must be a number >= 1 or inf, got {norm!r}") from None
    if not (p >= 1.0):
        raise InputError(f"norm must be >= 1 (a norm), got {norm!r}")
    return p


def dual_exponent(p: float) -> float:
    """$p^*$ with $1/p + 1/p^* = 1$ (1 <-> inf): the dual norm's exponent."""
    if p == 1.0:
        return np.inf
    if np.isinf(p):
        return 1.0
    return p / (p - 1.0)


def solver_attempts(prob: cp.Problem, primal: cp.Variable, constraint: cp.Constraint, failures: list[str],
                    infeasible=None):
    """Solve ``prob`` with each of :data:`SOLVERS` in turn; yield the solver's name after each solve that left
    a value for ``primal`` and a dual for ``constraint`` (the caller then verifies the answer and returns, or
    goes on to the next solver). Solver errors and empty answers are recorded in ``failures``; on an
    infeasible status ``infeasible()`` (an exception) is raised, where given."""
    for solver in SOLVERS:
        try:
            prob.solve(solver=solver)
        except cp.error.SolverError as err:
            failures.append(f"{solver}: {err}".splitlines()[0])
            continue
        if infeasible is not None and prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise infeasible()
        if primal.value is None or constraint.dual_value is None:
            failures.append(f"{solver}: status {prob.status}")
            continue
        yield solver


def _not_separable(Z: np.ndarray) -> NotSeparableError:
    n, d = Z.shape
    return NotSeparableError(
        f"data are not linearly separable through the origin (n={n}, d={d}): no w has y_i w^T x_i > 0 for all i"
    )


# --------------------------------------------------------------------------------------------
# l2 SVM: solve, verify, polish


def _l2_residuals(Z: np.ndarray, w: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    m = Z @ w
    scale = max(1.0, float(np.linalg.norm(w)))
    return {
        "feasibility": float(np.max(np.maximum(0.0, 1.0 - m))),
        "dual_feasibility": float(np.max(np.maximum(0.0, -alpha))) if alpha.size else 0.0,
        "stationarity": float(np.linalg.norm(w - Z.T @ alpha) / scale),
        "complementarity": float(np.max(np.abs(alpha * (m - 1.0)))) if alpha.size else 0.0,
        # primal 1/2||w||^2 minus dual 1^T alpha - 1/2||Z^T alpha||^2
        "duality_gap": float(abs(0.5 * w @ w - (alpha.sum() - 0.5 * np.sum((Z.T @ alpha) ** 2))) / scale**2),
    }


def _l2_ok(res: dict[str, float]) -> bool:
    return (res["feasibility"] <= FEAS_TOL and res["dual_feasibility"] <= OPT_TOL and res["stationarity"] <= OPT_TOL
            and res["complementarity"] <= OPT_TOL and res["duality_gap"] <= OPT_TOL)


def _l2_polish(Z: np.ndarray, w: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Solve the KKT system on the guessed support set exactly (one Newton step on the active set)."""
    m = Z @ w
    amax = float(np.max(alpha)) if alpha.size else 0.0
    for S in (alpha > 1e-6 * amax, np.abs(m - 1.0) < 1e-5, (alpha > 1e-6 * amax) | (np.abs(m - 1.0) < 1e-5)):
        if not np.any(S):
            continue
        ZS = Z[S]
        G = ZS @ ZS.T
        aS, *_ = np.linalg.lstsq(G, np.ones(int(S.sum())), rcond=1e-13)
        new_alpha = np.zeros_like(alpha)
        new_alpha[S] = np.maximum(aS, 0.0)
        if np.any(aS < -1e-9 * max(1.0, float(np.max(np.abs(aS))))):
            continue
        new_w = Z.T @ new_alpha
        if _l2_ok(_l2_residuals(Z, new_w, new_alpha)):
            return new_w, new_alpha
    return None


def _solve_l2(Z: np.ndarray) -> MaxMarginSolution:
    n, d = Z.shape
    w = cp.Variable(d)
    cons = [Z @ w >= 1]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), cons)
    failures: list[str] = []
    for solver in solver_attempts(prob, w, cons[0], failures, infeasible=lambda: _not_separable(Z)):
        wv = np.asarray(w.value, float)
        alpha = np.maximum(np.asarray(cons[0].dual_value, float).reshape(n), 0.0)
        res = _l2_residuals(Z, wv, alpha)
        status = str(prob.status)
        polished = _l2_polish(Z, wv, alpha)
        if polished is not None:
            wv, alpha = polished
            res = _l2_residuals(Z, wv, alpha)
            status = f"{status} (polished)"
        if _l2_ok(res):
            return _finish(Z, wv, alpha, status, 2.0, solver, res)
        failures.append(f"{solver}: status {prob.status}, residuals {_fmt(res)}")
    raise SolverError("l2 max-margin SVM: no solver produced a verified answer (" + "; ".join(failures) + ")")


def _finish(Z, w, alpha, status, p, solver, res) -> MaxMarginSolution:
    margins = Z @ w
    support = margins <= 1.0 + 1e-6
    norm = float(np.linalg.norm(w, ord=p)) if np.isfinite(p) else float(np.max(np.abs(w)))
    return MaxMarginSolution(w=w, margin=1.0 / norm, alpha=alpha, support=support, status=status, norm=p,
                             solver=solver, residuals=res)


def _fmt(res: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.1e}" for k, v in res.items())


# --------------------------------------------------------------------------------------------
# general lp max-margin


def _lp_norm(v: np.ndarray, p: float) -> float:
    return float(np.max(np.abs(v))) if np.isinf(p) else float(np.sum(np.abs(v) ** p) ** (1.0 / p))


def _solve_lp(Z: np.ndarray, p: float) -> MaxMarginSolution:
    n, d = Z.shape
    q = dual_exponent(p)
    w = cp.Variable(d)
    cons = [Z @ w >= 1]
    prob = cp.Problem(cp.Minimize(cp.norm(w, "inf" if np.isinf(p) else p)), cons)
    failures: list[str] = []
    for solver in solver_attempts(prob, w, cons[0], failures, infeasible=lambda: _not_separable(Z)):
        wv = np.asarray(w.value, float)
        lam = np.maximum(np.asarray(cons[0].dual_value, float).reshape(n), 0.0)
        # restore exact feasibility by scaling (the direction is unchanged)
        mmin = float(np.min(Z @ wv))
        if mmin > 0:
            wv = wv / min(mmin, 1.0)
        primal = _lp_norm(wv, p)
        res = {
            "feasibility": float(np.max(np.maximum(0.0, 1.0 - Z @ wv))),
            "dual_feasibility": max(0.0, _lp_norm(Z.T @ lam, q) - 1.0),
            "duality_gap": abs(primal - lam.sum()) / max(primal, 1.0),
        }
        if res["feasibility"] <= FEAS_TOL and res["dual_feasibility"] <= 1e-5 and res["duality_gap"] <= 1e-5:
            return _finish(Z, wv, None, str(prob.status), p, solver, res)
        failures.append(f"{solver}: status {prob.status}, residuals {_fmt(res)}")
    raise SolverError(f"l{p:g} max-margin program: no solver produced a verified answer (" + "; ".join(failures) + ")")


def max_margin(Z: np.ndarray, norm: float = 2) -> MaxMarginSolution:
    r"""The max-margin separator through the origin in the $\ell_p$ norm ``norm`` (1, 2, inf, any $p \ge 1$).

    ``Z`` (n, d) has rows $y_i x_i$. Solves $\min \|w\|_p$ s.t. $Zw \ge 1$ (for $p = 2$ the
    hard-margin SVM $\min \frac12\|w\|^2$, with its dual $\alpha$). Raises NotSeparableError when
    no separator exists, SolverError when no solver's answer passes verification.
    """
    Z = as_matrix(Z)
    p = _check_norm(norm)
    if np.any(np.all(Z == 0.0, axis=1)):
        raise _not_separable(Z)
    if p == 2.0:
        return _solve_l2(Z)
    return _solve_lp(Z, p)


# --------------------------------------------------------------------------------------------
# multiclass


def multiclass_rows(X: np.ndarray, y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Constraint rows $(e_{y_i} - e_k) \otimes x_i$ (one per pair $i$, $k \ne y_i$) over $\mathrm{vec}(W)$
    (row-major $W \in \mathbb R^{K\times d}$), with the index arrays ``(i, k)`` of each row."""
    X = as_matrix(X, "X")
    y = np.asarray(y)
    n, d = X.shape
    if y.shape != (n,):
        raise InputError(f"y must have shape ({n},), got {y.shape}")
    if int(K) != K or K < 2:
        raise InputError(f"K must be an integer >= 2, got {K!r}")
    if not np.all((y >= 0) & (y < K) & (y == np.round(y))):
        raise InputError(f"labels y must be integers in [0, {K}), got values {np.unique(y)[:10]}")
    y = y.astype(int)
    ii, kk = np.nonzero(np.arange(K)[None, :] != y[:, None])
    rows = np.zeros((ii.size, K, d))
    rows[np.arange(ii.size), y[ii]] = X[ii]
    rows[np.arange(ii.size), kk] -= X[ii]
    return rows.reshape(ii.size, K * d), ii, kk


def multiclass_max_margin(X: np.ndarray, y: np.ndarray, K: int) -> MulticlassMaxMarginSolution:
    r"""$\hat W = \arg\min \|W\|_F^2$ s.t. $(w_{y_i} - w_k)^\top x_i \ge 1$ for all $i$ and $k \ne y_i$.

    ``X`` (n, d), integer labels ``y`` in [0, K). Solved as the $\ell_2$ SVM over vec(W)
    (:func:`multiclass_rows`), hence verified and polished the same way. Raises
    NotSeparableError if some point cannot be classified correctly by any linear W.
    """
    A, ii, kk = multiclass_rows(X, y, K)
    n, d = np.asarray(X).shape
    try:
        sol = max_margin(A, 2)
    except NotSeparableError:
        raise NotSeparableError(
            f"multiclass data are not linearly separable (n={n}, d={d}, K={K}): no W classifies every point"
        ) from None
    alpha = np.zeros((n, K))
    alpha[ii, kk] = sol.alpha
    support = np.zeros((n, K), bool)
    support[ii, kk] = sol.support
    W = sol.w.reshape(K, d)
    return MulticlassMaxMarginSolution(W=W, margin=1.0 / float(np.linalg.norm(W)), alpha=alpha, support=support,
                                       status=sol.status, solver=sol.solver, residuals=sol.residuals)


# --------------------------------------------------------------------------------------------
# consequences of the theorem


def normalized_margin(w: np.ndarray, Z: np.ndarray) -> np.ndarray:
    r"""$\min_i z_i^\top w/\|w\|_2$ for ``w`` of shape (..., d)."""
    w = np.asarray(w, float)
    return np.min(w @ np.asarray(Z, float).T, axis=-1) / np.linalg.norm(w, axis=-1)


def residual_limit(Z: np.ndarray, sol: MaxMarginSolution, eta: float) -> np.ndarray:
    r"""The limit $\tilde w$ of $\rho(t) = w(t) - \hat w \log t$ projected on the span of the support vectors.

    Soudry et al. (2018), Theorem 3 / eq. (8): for the summed exponential-tailed loss and step
    $\eta$, $\tilde w$ satisfies $\eta\exp(-z_s^\top\tilde w) = \alpha_s$ on the support vectors $s \in S$,
    i.e. $Z_S\tilde w = \log(\eta/\alpha_S)$ — derived by matching $\Delta w(t) \approx \hat w/t$ with
    $\eta\sum_s e^{-z_s^\top w(t)} z_s = (\eta/t)\sum_s e^{-z_s^\top\tilde w} z_s$. Only the component in
    span$\{z_s\}$ is fixed by this; the minimum-norm solution is returned.
    """
    if sol.alpha is None:
        raise InputError("residual_limit needs the l2 SVM dual (norm=2)")
    S = sol.support & (sol.alpha > 0)
    ZS = np.asarray(Z, float)[S]
    w_tilde, *_ = np.linalg.lstsq(ZS, np.log(eta / sol.alpha[S]), rcond=None)
    return w_tilde


def loss_limit(alpha: np.ndarray, eta: float) -> float:
    r"""$\lim_t t\,L(w(t)) = \sum_s\alpha_s/\eta = \|\hat w\|^2/\eta$ for GD with step $\eta$ on the *summed*
    exponential-tailed loss (Soudry et al. 2018, Theorem 3: $w(t) = \hat w\log t + \tilde w + o(1)$ with
    $\eta e^{-z_s^\top\tilde w} = \alpha_s$, so $L(w(t)) \approx \sum_s e^{-\log t - z_s^\top\tilde w} = \sum_s\alpha_s/(\eta t)$;
    $\sum_s\alpha_s = \hat w^\top\hat w$ since $\hat w = Z^\top\alpha$ and $z_s^\top\hat w = 1$)."""
    alpha = np.asarray(alpha, float)
    return float(alpha.sum() / eta)


def norm_offset(alpha: np.ndarray, eta: float) -> float:
    r"""The $O(1)$ term of $\|w(t)\| = \|\hat w\|\log t + c + o(1)$:
    $c = \hat w^\top\tilde w/\|\hat w\| = \sum_s\alpha_s\log(\eta/\alpha_s)/\|\hat w\|$, with
    $\|\hat w\| = (\sum_s\alpha_s)^{1/2}$ ($\hat w^\top\tilde w = \sum_s\alpha_s z_s^\top\tilde w$ and
    $z_s^\top\tilde w = \log(\eta/\alpha_s)$ on the support, :func:`residual_limit`)."""
    alpha = np.asarray(alpha, float)
    a = alpha[alpha > 0]
    return float(np.sum(a * np.log(eta / a)) / np.sqrt(a.sum()))


def sgd_effective_step(eta: float, batch_size: int, n: int) -> float:
    r"""Minibatch SGD $w \leftarrow w - \eta\sum_{i\in B_t}\nabla\ell_i$ with $|B_t| = B$ drawn uniformly is GD on
    the summed loss $\sum_{i=1}^n\ell_i$ in expectation with step $\eta B/n$ (Nacson, Srebro, Soudry 2019):
    the step that fixes the constants $t L(t) \to \|\hat w\|^2/\eta_{\rm eff}$ and the norm offset."""
    return float(eta) * int(batch_size) / int(n)


#: direction gap of fixed-step GD: $\|w(t)/\|w(t)\| - \hat w/\|\hat w\|\| = O(1/\log t)$
GAP_GD: RateLaw = LAWS["1/log t"]
#: training loss of fixed-step GD and SGD: $L(w(t)) = O(1/t)$
LOSS_GD: RateLaw = LAWS["1/t"]
#: direction gap of normalized GD ($\eta_t \propto 1/\sqrt t$ on $\nabla L/L$): $O(\log t/\sqrt t)$
GAP_NORMALIZED_GD: RateLaw = LAWS["log t/sqrt t"]

_w_hat_norm = sp.Symbol(r"\|\hat w\|", positive=True)


def norm_growth() -> sp.Expr:
    r"""$\|w(t)\| \sim \|\hat w\|\log t$ (sympy, in the symbols ``t`` and $\|\hat w\|$)."""
    return _w_hat_norm * sp.log(t_symbol)


def asymptotic_iterate() -> sp.Expr:
    r"""$w(t) = \hat w\log t + \tilde w + o(1)$ as a sympy expression (matrix symbols of size d)."""
    d = sp.Symbol("d", integer=True, positive=True)
    w_hat, w_tilde = sp.MatrixSymbol(r"\hat{w}", d, 1), sp.MatrixSymbol(r"\tilde{w}", d, 1)
    return w_hat * sp.log(t_symbol) + w_tilde


def gap_first_order(w_hat: np.ndarray, w_tilde: np.ndarray) -> float:
    r"""Constant $C$ in gap $\approx C/\log t$: $C = \|P_\perp\tilde w\|/\|\hat w\|$, $P_\perp$ the projector
    orthogonal to $\hat w$ (first-order expansion of $w/\|w\|$ around $\hat w\log t$)."""
    u = w_hat / np.linalg.norm(w_hat)
    perp = w_tilde - u * (u @ w_tilde)
    return float(np.linalg.norm(perp) / np.linalg.norm(w_hat))
