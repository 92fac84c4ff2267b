r"""Adversarial training of linear classifiers: robust margins and the mixed-norm max-margin program.

Li, Fang, Xu, Zhao (2020, ICLR; arXiv 1906.02931), "Implicit Bias of Gradient Descent based Adversarial
Training on Separable Data". For a linear classifier the worst case of a perturbation $\|\delta\|_q \le \varepsilon$
is explicit (Hölder):

.. math::  \min_{\|\delta\|_q\le\varepsilon} y\,w^\top(x+\delta) = y\,w^\top x - \varepsilon\|w\|_{q^*},
           \qquad 1/q + 1/q^* = 1,

so adversarial training is GD on $\sum_i \ell(z_i^\top w - \varepsilon\|w\|_{q^*})$ with $z_i = y_i x_i$.
Its normalized iterate converges to the **maximum mixed-norm margin** classifier

.. math::  w^\star = \arg\max_{\|w\|_2\le 1}\ \min_i z_i^\top w - \varepsilon\|w\|_{q^*}
           \quad\Longleftrightarrow\quad
           \max_{s,\,w}\ s - \varepsilon\|w\|_{q^*}\ \text{ s.t. } Zw \ge s\mathbf 1,\ \|w\|_2 \le 1 .

For $q = 2$ the penalty is $\varepsilon\|w\|_2 = \varepsilon$ on the sphere, so $w^\star$ is the
$\ell_2$ SVM direction. For $q = \infty$ ($q^* = 1$) it is a different classifier in general.

**Dual and verification.** With $\lambda$ the multipliers of $Zw \ge s\mathbf 1$,

.. math::  \max_{\|w\|_2\le1} \min_i z_i^\top w - \varepsilon\|w\|_{q^*}
           \;=\; \min_{\lambda\in\Delta_n} \operatorname{dist}_2\!\big(Z^\top\lambda,\ \varepsilon B_q\big),

($B_q$ the unit $\ell_q$ ball, $\Delta_n$ the simplex; derived from
$\sup_w v^\top w - \varepsilon\|w\|_{q^*} - \mu\|w\|_2 = 0 \iff v \in \varepsilon B_q + \mu B_2$), and
the optimal $w^\star$ is the normalized residual $v - \Pi_{\varepsilon B_q}(v)$ at $v = Z^\top\lambda^\star$
(Moreau decomposition). Every answer is verified by the **duality gap** between the primal value
of the normalized $w$ and the dual value of $\lambda$ projected on the simplex — both are computed
here in numpy, independent of the solver's own report. Because the objective is positively
homogeneous and concave, a gap $g$ bounds the distance to the unique optimal direction:
$\|w - w^\star\|_2 \le 2\sqrt{g/V^\star}$ (midpoint argument: $V^\star - f(w) \ge V^\star\|w - w^\star\|^2/4$
on the unit sphere). Polishing: the dual-derived candidate $w(\lambda)$ and an exact
active-set (Newton) solution are tried as well; the best verified one is kept; then SCS.

**Robust margin.** The data stay separable under every $\|\delta_i\|_q \le \varepsilon$ iff
$\varepsilon < \gamma_{q^*} := \max_{\|w\|_{q^*}\le1}\min_i z_i^\top w = \min_{\lambda\in\Delta_n}\|Z^\top\lambda\|_q$
(LP/SOCP duality), the max-margin in the $q^*$ norm. For $\varepsilon \ge \gamma_{q^*}$ the mixed-norm
optimum is $w = 0$ and the program is rejected with :class:`InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np

from theorycheck.errors import InputError, NotSeparableError, SolverError
from theorycheck.theory.separable import as_matrix, dual_exponent, solver_attempts

__all__ = [
    "RobustMarginSolution",
    "MixedMarginSolution",
    "robust_margin",
    "mixed_norm_margin",
    "mixed_objective",
    "dual_exponent",
    "project_ball",
    "PERTURBATIONS",
    "balance_offset",
    "horizon_radius",
]

#: relative duality-gap tolerance of a verified answer
GAP_TOL = 1e-7
#: accepted perturbation norms q (and their names)
PERTURBATIONS = {"l2": 2.0, "linf": np.inf, "l1": 1.0}


def _norm(v: np.ndarray, p: float, axis: int = -1) -> np.ndarray:
    v = np.abs(np.asarray(v, float))
    if np.isinf(p):
        return np.max(v, axis=axis)
    if p == 1.0:
        return np.sum(v, axis=axis)
    return np.sum(v**p, axis=axis) ** (1.0 / p)


def _check_q(q: Any) -> float:
    if isinstance(q, str):
        if q not in PERTURBATIONS:
            raise InputError(f"perturbation norm must be one of {sorted(PERTURBATIONS)} or 1, 2, inf, got {q!r}")
        return PERTURBATIONS[q]
    try:
        qf = float(q)
    except (TypeError, ValueError):
        raise InputError(f"perturbation norm must be 1, 2 or inf, got {q!r}") from None
    if qf not in (1.0, 2.0, np.inf):
        raise InputError(f"perturbation norm must be 1, 2 or inf, got {q!r}")
    return qf


def project_ball(v: np.ndarray, radius: float, q: float) -> np.ndarray:
    r"""Euclidean projection of ``v`` (d,) onto $\{u : \|u\|_q \le \text{radius}\}$ for q in {1, 2, inf}."""
    v = np.asarray(v, float)
    if radius <= 0:
        return np.zeros_like(v)
    if np.isinf(q):
        return np.clip(v, -radius, radius)
    if q == 2.0:
        nv = float(np.linalg.norm(v))
        return v if nv <= radius else v * (radius / nv)
    if q == 1.0:  # Duchi, Shalev-Shwartz, Singer, Chandra (2008): sort and threshold
        a = np.abs(v)
        if a.sum() <= radius:
            return v.copy()
        u = np.sort(a)[::-1]
        css = np.cumsum(u)
        k = np.arange(1, u.size + 1)
        rho = np.nonzero(u * k > css - radius)[0][-1]
        theta = (css[rho] - radius) / (rho + 1.0)
        return np.sign(v) * np.maximum(a - theta, 0.0)
    raise InputError(f"projection onto the l{q:g} ball is not implemented (q in 1, 2, inf)")


def _simplex(lam: np.ndarray) -> np.ndarray | None:
    lam = np.maximum(np.asarray(lam, float).ravel(), 0.0)
    total = lam.sum()
    return None if total <= 0 or not np.isfinite(total) else lam / total


# --------------------------------------------------------------------------------------------
# robust margin: max_{||w||_{q*} <= 1} min_i z_i^T w  =  min_{lambda in simplex} ||Z^T lambda||_q


@dataclass
class RobustMarginSolution:
    r"""$\gamma_{q^*} = \max_{\|w\|_{q^*}\le1}\min_i z_i^\top w$: the largest $\ell_q$ perturbation radius
    under which the data stay separable. ``w`` attains it ($\|w\|_{q^*} = 1$), ``lam`` is the dual
    certificate on the simplex, ``gap`` the verified duality gap."""

    margin: float
    w: np.ndarray
    lam: np.ndarray
    q: float
    gap: float
    solver: str = ""
    status: str = ""


def robust_margin(Z: np.ndarray, q: Any = np.inf) -> RobustMarginSolution:
    r"""The $\ell_q$-robust margin of the data $z_i = y_i x_i$ (rows of ``Z``): the sup of $\varepsilon$ such that
    some $w$ has $z_i^\top w - \varepsilon\|w\|_{q^*} > 0$ for all $i$.

    Raises NotSeparableError when the data admit no separator through the origin, SolverError when no
    solver's answer closes the duality gap.
    """
    Z = as_matrix(Z)
    q = _check_q(q)
    qs = dual_exponent(q)
    n, d = Z.shape
    w = cp.Variable(d)
    s = cp.Variable()
    cons = [Z @ w >= s]
    prob = cp.Problem(cp.Maximize(s), cons + [cp.norm(w, "inf" if np.isinf(qs) else qs) <= 1])
    failures: list[str] = []
    for solver in solver_attempts(prob, w, cons[0], failures):
        scale = max(1.0, float(np.max(_norm(Z, q))))
        lam = _simplex(cons[0].dual_value)
        if prob.value is not None and prob.value <= 1e-9 * scale:
            # no strictly separating w; the dual certificate lam (Z^T lam = 0 on the simplex) confirms it
            cert = float(_norm(Z.T @ lam, q)) if lam is not None else np.nan
            if lam is None or cert <= 1e-6 * scale:
                raise NotSeparableError(f"data are not linearly separable through the origin (n={n}, d={d}): "
                                        "no w has y_i w^T x_i > 0 for all i")
        wv = np.asarray(w.value, float)
        nw = float(_norm(wv, qs))
        if lam is None or nw <= 0:
            failures.append(f"{solver}: degenerate answer (status {prob.status})")
            continue
        wv = wv / nw
        primal = float(np.min(Z @ wv))
        dual = float(_norm(Z.T @ lam, q))
        gap = dual - primal
        if gap <= GAP_TOL * scale and gap >= -1e-9 * scale:
            return RobustMarginSolution(margin=primal, w=wv, lam=lam, q=q, gap=gap, solver=solver,
                                        status=str(prob.status))
        failures.append(f"{solver}: status {prob.status}, duality gap {gap:.1e}")
    raise SolverError("robust margin program: no solver closed the duality gap (" + "; ".join(failures) + ")")


# --------------------------------------------------------------------------------------------
# maximum mixed-norm margin


@dataclass
class MixedMarginSolution:
    r"""The maximum mixed-norm margin classifier $w^\star$ ($\|w^\star\|_2 = 1$) for perturbations
    $\|\delta\|_q\le\varepsilon$.

    ``value`` $= \min_i z_i^\top w^\star - \varepsilon\|w^\star\|_{q^*}$; ``lam`` the dual certificate
    (simplex); ``gap`` the verified duality gap; ``direction_error_bound`` $= 2\sqrt{\text{gap}/\text{value}}$
    bounds $\|w^\star - w_{\rm exact}\|_2$; ``robust`` the $\ell_q$-robust margin of the data;
    ``support`` the points with $z_i^\top w^\star$ within $10^{-6}$ of the minimum.
    """

    w: np.ndarray
    value: float
    eps: float
    q: float
    lam: np.ndarray
    gap: float
    direction_error_bound: float
    robust: float
    support: np.ndarray
    solver: str = ""
    status: str = ""
    residuals: dict[str, float] = field(default_factory=dict)

    @property
    def direction(self) -> np.ndarray:
        return self.w / np.linalg.norm(self.w)


def mixed_objective(Z: np.ndarray, w: np.ndarray, eps: float, q: Any = np.inf) -> np.ndarray:
    r"""$\min_i z_i^\top u - \varepsilon\|u\|_{q^*}$ at $u = w/\|w\|_2$, for ``w`` of shape (..., d)."""
    q = _check_q(q)
    w = np.asarray(w, float)
    u = w / np.linalg.norm(w, axis=-1, keepdims=True)
    return np.min(u @ np.asarray(Z, float).T, axis=-1) - eps * _norm(u, dual_exponent(q))


def _dual_value(Z: np.ndarray, lam: np.ndarray, eps: float, q: float) -> tuple[float, np.ndarray]:
    v = Z.T @ lam
    r = v - project_ball(v, eps, q)
    return float(np.linalg.norm(r)), r


def _active_set_polish(Z: np.ndarray, lam: np.ndarray, w: np.ndarray, eps: float,
                       q: float) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Newton polish on a guessed active set (q in {2, inf}): with support $S$ (equal margins), active
    coordinates $A$ ($|v_j| > \varepsilon$, $v = Z^\top\lambda$) and signs $\sigma = \operatorname{sign}(v_A)$, the
    optimum is $w_A \propto Z_{S,A}^\top\lambda_S - \varepsilon\sigma$ (zero off $A$; for q = 2, $A$ = all and
    $\sigma = 0$), and the margins on $S$ are equal: solve $[G, -\mathbf 1; \mathbf 1^\top, 0][\lambda_S; k] =
    [\varepsilon Z_{S,A}\sigma; 1]$ with $G = Z_{S,A}Z_{S,A}^\top$ exactly. Returns (direction, lambda) candidates."""
    if q not in (2.0, np.inf):
        return []
    out = []
    margins = Z @ w
    v = Z.T @ lam
    amax = float(np.max(lam))
    supports = [lam > 1e-6 * amax, margins <= margins.min() + 1e-6 * max(1.0, abs(margins.min()))]
    for S in supports:
        if not np.any(S):
            continue
        if np.isinf(q):
            A = np.abs(v) > eps
            sigma = np.sign(v[A])
        else:
            A = np.ones(Z.shape[1], bool)
            sigma = np.zeros(Z.shape[1])
        if not np.any(A):
            continue
        ZSA = Z[np.ix_(S, A)]
        m = int(S.sum())
        K = np.zeros((m + 1, m + 1))
        K[:m, :m] = ZSA @ ZSA.T
        K[:m, m] = -1.0
        K[m, :m] = 1.0
        rhs = np.concatenate([eps * (ZSA @ sigma), [1.0]])
        sol, *_ = np.linalg.lstsq(K, rhs, rcond=1e-13)
        lam_S = sol[:m]
        if np.any(lam_S < -1e-10):
            continue
        c = np.zeros(Z.shape[1])
        c[A] = ZSA.T @ lam_S - eps * sigma
        lam_full = np.zeros(Z.shape[0])
        lam_full[S] = np.maximum(lam_S, 0.0)
        if np.linalg.norm(c) > 0 and np.all(np.isfinite(c)) and lam_full.sum() > 0:
            out.append((c, lam_full / lam_full.sum()))
    return out


def mixed_norm_margin(Z: np.ndarray, eps: float, q: Any = np.inf) -> MixedMarginSolution:
    r"""$\arg\max_{\|w\|_2\le1}\min_i z_i^\top w - \varepsilon\|w\|_{q^*}$, solved as the cvxpy program
    maximize $s - \varepsilon\|w\|_{q^*}$ s.t. $Zw \ge s$, $\|w\|_2\le1$, and verified by the duality gap
    against $\min_{\lambda\in\Delta}\operatorname{dist}_2(Z^\top\lambda, \varepsilon B_q)$ (module docstring).

    ``q`` is the perturbation norm: ``np.inf``/"linf" (penalty $\|w\|_1$), 2/"l2" (penalty $\|w\|_2$:
    the $\ell_2$ SVM direction), 1/"l1" (penalty $\|w\|_\infty$). Raises InputError when
    $\varepsilon < 0$ or $\varepsilon$ is at or above the data's $\ell_q$-robust margin (optimum $w = 0$),
    NotSeparableError for non-separable data, SolverError when no candidate closes the gap.
    """
    Z = as_matrix(Z)
    q = _check_q(q)
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise InputError(f"eps must be a number, got {eps!r}") from None
    if not np.isfinite(eps) or eps < 0:
        raise InputError(f"eps must be finite and >= 0, got {eps!r}")
    qs = dual_exponent(q)
    rob = robust_margin(Z, q)
    if eps >= rob.margin * (1 - 1e-9):
        raise InputError(
            f"eps={eps:.4g} exceeds the robust margin {rob.margin:.4g} of the data under l{q:g} perturbations; "
            "the optimum is w = 0"
        )
    n, d = Z.shape
    w = cp.Variable(d)
    s = cp.Variable()
    cons = [Z @ w >= s, cp.norm(w, 2) <= 1]
    penalty = cp.norm(w, "inf" if np.isinf(qs) else qs)
    prob = cp.Problem(cp.Maximize(s - eps * penalty), cons)
    scale = max(1.0, float(np.max(np.linalg.norm(Z, axis=1))))
    failures: list[str] = []
    for solver in solver_attempts(prob, w, cons[0], failures):
        lam = _simplex(cons[0].dual_value)
        if lam is None:
            failures.append(f"{solver}: zero dual (status {prob.status})")
            continue
        dual, r = _dual_value(Z, lam, eps, q)
        # primal candidates: the solver's w, the dual-derived w(lambda), the active-set solution;
        # dual candidates: the solver's lambda and the active-set lambda. Keep the best of each.
        candidates = [("solver", np.asarray(w.value, float))]
        if np.linalg.norm(r) > 0:
            candidates.append(("dual", r))
        for c, lam_c in _active_set_polish(Z, lam, np.asarray(w.value, float), eps, q):
            candidates.append(("active set", c))
            dual_c, _ = _dual_value(Z, lam_c, eps, q)
            if dual_c < dual:
                dual, lam = dual_c, lam_c
        best = None
        for tag, cand in candidates:
            if not np.all(np.isfinite(cand)) or np.linalg.norm(cand) == 0:
                continue
            val = float(mixed_objective(Z, cand, eps, q))
            if best is None or val > best[2]:
                best = (tag, cand / np.linalg.norm(cand), val)
        if best is None:
            failures.append(f"{solver}: no usable primal candidate")
            continue
        tag, wv, value = best
        gap = dual - value
        if -1e-9 * scale <= gap <= GAP_TOL * scale and value > 0:
            margins = Z @ wv
            status = str(prob.status) + ("" if tag == "solver" else f" (polished: {tag})")
            return MixedMarginSolution(
                w=wv, value=value, eps=eps, q=q, lam=lam, gap=max(gap, 0.0),
                direction_error_bound=2.0 * np.sqrt(max(gap, 0.0) / value), robust=rob.margin,
                support=margins <= margins.min() + 1e-6, solver=solver, status=status,
                residuals={"duality_gap": gap, "primal": value, "dual": dual},
            )
        failures.append(f"{solver}: status {prob.status}, duality gap {gap:.1e}")
    raise SolverError("mixed-norm margin program: no solver closed the duality gap (" + "; ".join(failures) + ")")


# --------------------------------------------------------------------------------------------
# first-order offset of the GD iterate from the limit direction


def balance_offset(Z: np.ndarray, direction: np.ndarray, lam: np.ndarray, support: np.ndarray | None = None,
                   active: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    r"""The offset $P_\perp v$ fixed by balancing exponential-tail weights, and its norm $K$.

    Write the GD iterate as $w(t) = g(t)u^\star + \rho(t)$ ($u^\star$ the unit limit direction). The
    update $\sum_s c_s(z_s - \varepsilon\,\partial\|w\|)$ stays parallel to $u^\star$ only if the support
    weights $c_s = -\ell'(m_s) \approx e^{-m_s}$ are proportional to the dual certificate $\lambda_s$
    (the active-set KKT system of the limit). Hence $z_{s,A}^\top\rho_A = -\log\lambda_s + \text{const}$
    on the support $S$ (restricted to the active coordinates $A$; all of them for $\ell_2$), and the
    constant only moves $\rho$ along $u^\star$. The minimum-norm solution $v$ projected orthogonally to
    $u^\star$ is returned with $K = \|P_\perp v\|_2$: to first order the direction gap is
    $\|P_\perp\rho\|/\|w\|$, so $\text{gap}(t)\,\|w(t)\| \to K$ whenever the components of $\rho$ outside
    $\operatorname{span}\{z_{s,A}\}$ die out (they do for $\ell_2$-adversarial training, see the claim).
    For $\varepsilon = 0$ and the $\ell_2$ SVM ($\lambda \propto \alpha$) $P_\perp v$ is the component of
    Soudry et al.'s $\tilde w$ orthogonal to $\hat w$.
    """
    Z = as_matrix(Z)
    u = np.asarray(direction, float)
    u = u / np.linalg.norm(u)
    lam = np.asarray(lam, float)
    S = lam > 1e-12 * float(np.max(lam)) if support is None else (np.asarray(support, bool) & (lam > 0))
    if not np.any(S):
        raise InputError("balance_offset needs at least one support point with a positive dual weight")
    A = np.ones(Z.shape[1], bool) if active is None else np.asarray(active, bool)
    v = np.zeros(Z.shape[1])
    vA, *_ = np.linalg.lstsq(Z[np.ix_(S, A)], -np.log(lam[S]), rcond=None)
    v[A] = vA
    perp = v - u * (u @ v)
    return perp, float(np.linalg.norm(perp))


# --------------------------------------------------------------------------------------------
# the perturbation radius chosen for a horizon


def horizon_radius(gamma: float, horizon: float, base_horizon: float, robust_fraction: float) -> float:
    r"""$\varepsilon(T) = \gamma\,\big(1 - r_0\sqrt{T_0/T}\big)$: the $\ell_2$ radius chosen for the horizon $T$.

    Li, Fang, Xu, Zhao state the $\tilde O(1/\sqrt T)$ direction rate "for any fixed iteration $T$, when the
    adversarial perturbation during training has proper bounded $\ell_2$ norm"; the exact condition is not
    in the stored pages (only the abstract is). This is our reading, derived as follows. GD on the convex
    robust loss $\sum_i\ell(z_i^\top w - \varepsilon\|w\|_2)$ reaches a positive robust margin within $T$ steps
    once $\eta(\gamma - \varepsilon)^2 T$ is large (the loss along $\hat u$ is $\ell(g(\gamma - \varepsilon))$, and GD's
    convex rate gives $L(w_T) \lesssim ne^{-R(\gamma-\varepsilon)} + R^2/(\eta T)$); a positive robust margin
    confines the direction to within $O(\gamma - \varepsilon)$ of $\hat u$ in the span of the support vectors.
    The smallest robust margin $\gamma - \varepsilon \propto 1/\sqrt T$ gives the $\tilde O(1/\sqrt T)$ rate; with it,
    $\eta(\gamma - \varepsilon(T))^2 T = \eta\gamma^2 r_0^2 T_0$ is the same at every horizon, so every run of the grid
    is in the same regime. $r_0$ = ``robust_fraction`` $= (\gamma - \varepsilon(T_0))/\gamma$ at $T_0$ = ``base_horizon``.
    """
    if not 0 < robust_fraction <= 1:
        raise InputError(f"robust_fraction must be in (0, 1], got {robust_fraction}")
    if not (horizon >= base_horizon > 0):
        raise InputError(f"horizon must be >= base_horizon > 0, got {horizon} and {base_horizon}")
    return float(gamma) * (1.0 - float(robust_fraction) * np.sqrt(float(base_horizon) / float(horizon)))
