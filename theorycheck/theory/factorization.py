r"""Convex programs for factorized models: minimum-trace / minimum-nuclear interpolants, matrix completion,
and the closed-form global optimum of dropout in matrix factorization.

Everything here is numpy + cvxpy (+ scipy for linear algebra), never torch. Every program checks what the
solver returns and raises :class:`~theorycheck.errors.SolverError` when the answer fails its certificate after
polishing and a second solver; infeasible input raises :class:`~theorycheck.errors.InputError`.

Programs
--------
* Symmetric matrix sensing, $y_i = \langle A_i, X\rangle$ with symmetric $A_i$:

  - :func:`min_trace_psd` — $\min \operatorname{tr} X$ s.t. $\mathcal A(X) = y,\ X \succeq 0$ (the minimum
    nuclear norm over PSD matrices, since $\|X\|_* = \operatorname{tr} X$ there). Certificate: the dual
    $\max\, y^\top\nu$ s.t. $I - \mathcal A^*(\nu) \succeq 0$; we check the primal residual, $\lambda_{\min}(X)$,
    $\lambda_{\min}(I - \mathcal A^*\nu)$ and the duality gap $\operatorname{tr}X - y^\top\nu$.
    :func:`certify_min_trace` certifies a given low-rank candidate with a least-squares dual certificate.
  - :func:`min_frobenius` — $\min \|X\|_F$ s.t. $\mathcal A(X) = y$ (closed form
    $\operatorname{vec}X = A^\top (A A^\top)^{-1} y$; symmetric because it lies in the span of the $A_i$).
  - Small-init gradient descent on $UU^\top$: :func:`greedy_low_rank` (Li, Luo & Lyu's GLRL, the
    $\alpha\to0$ limit), :func:`init_scale_exponent` (how GD's finite-$\alpha$ limit approaches it) and
    :func:`step_stability` (whether GD at step $\eta$ can settle at an interpolant).
* Completion, :func:`min_nuclear_completion` — $\min \|X\|_*$ s.t. $X_{ij} = M_{ij}$ on the observed set
  $\Omega$; certificate: the dual $\max \langle \Lambda, M\rangle$ s.t. $\|\Lambda\|_{op} \le 1$,
  $\operatorname{supp}\Lambda \subseteq \Omega$.
* Dropout in matrix factorization (Mianjy, Arora & Vidal, ICML 2018), :func:`dropout_factorization_optimum`:
  $\min_{U,V}\|Y - UV^\top\|_F^2 + \lambda\sum_{i\le r}\|u_i\|^2\|v_i\|^2$ has the induced regularizer
  $\frac{\lambda}{r}\|M\|_*^2$ on $M = UV^\top$ and a global optimum by singular-value shrinkage
  $\sigma_i(M) = \sigma_i(Y) - \frac{\lambda\rho}{r+\lambda\rho}\kappa_\rho$ ($i \le \rho$), $0$ otherwise,
  $\kappa_\rho = \frac1\rho\sum_{j\le\rho}\sigma_j(Y)$, $\rho$ the largest $j$ with
  $\sigma_j(Y) > \frac{\lambda j}{r+\lambda j}\kappa_j$. :func:`dropout_factorization_convex` is the cvxpy
  cross-check $\min_M \|Y - M\|_F^2 + \frac{\lambda}{r}\|M\|_*^2$.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from theorycheck.errors import InputError, SolverError

#: relative accuracy every certificate must reach
DEFAULT_TOL = 1e-6


@dataclass
class ConvexSolution:
    """A verified convex solution: the matrix, the multiplier and the certificate numbers."""

    X: np.ndarray
    value: float
    dual: np.ndarray | None = None
    solver: str = ""
    certificate: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------
# helpers

def _check_sensing(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise InputError(f"A must have shape (m, n, n), got {A.shape}")
    if A.shape[0] != y.shape[0]:
        raise InputError(f"A has {A.shape[0]} measurements but y has {y.shape[0]}")
    if not np.allclose(A, np.swapaxes(A, 1, 2), atol=1e-12 * max(1.0, np.abs(A).max())):
        raise InputError("the sensing matrices A_i must be symmetric")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(y))):
        raise InputError("A and y must be finite")
    n = A.shape[1]
    return A.reshape(A.shape[0], n * n), y, n


def sensing(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    r"""$\mathcal A(X)_i = \langle A_i, X\rangle$."""
    A = np.asarray(A, float)
    return A.reshape(A.shape[0], -1) @ np.asarray(X, float).reshape(-1)


def sensing_adjoint(A: np.ndarray, nu: np.ndarray) -> np.ndarray:
    r"""$\mathcal A^*(\nu) = \sum_i \nu_i A_i$."""
    A = np.asarray(A, float)
    return np.tensordot(np.asarray(nu, float), A, axes=1)


def _sym(X: np.ndarray) -> np.ndarray:
    return 0.5 * (X + X.T)


def _psd_part(X: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(_sym(X))
    return (V * np.clip(w, 0.0, None)) @ V.T


def _affine_projector(Af: np.ndarray):
    """Projection onto {x : Af x = y} in the Frobenius metric (least-norm correction)."""
    G = Af @ Af.T
    try:
        chol = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        chol = None

    def project(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = Af @ x - y
        if chol is not None:
            z = np.linalg.solve(chol.T, np.linalg.solve(chol, r))
        else:
            z = np.linalg.lstsq(G, r, rcond=None)[0]
        return x - Af.T @ z

    return project


def _solve(problem: cp.Problem, solver: str) -> bool:
    """Solve quietly; the caller certifies the answer, so an 'inaccurate' warning is not the verdict."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if solver == "SCS":
                problem.solve(solver="SCS", eps=1e-10, max_iters=200000)
            else:
                problem.solve(solver=solver)
    except (cp.error.SolverError, ArithmeticError, ValueError):
        return False
    return problem.status in ("optimal", "optimal_inaccurate")


# ----------------------------------------------------------------------------------------------------------
# symmetric matrix sensing

def min_frobenius(A: np.ndarray, y: np.ndarray, tol: float = DEFAULT_TOL) -> np.ndarray:
    r"""$\arg\min \|X\|_F$ s.t. $\mathcal A(X) = y$: $\operatorname{vec}X = A^\top(AA^\top)^{-1}y$.

    Raises InputError if no interpolant exists ($y$ outside the range of $\mathcal A$).
    """
    Af, y, n = _check_sensing(A, y)
    x, *_ = np.linalg.lstsq(Af, y, rcond=None)
    res = np.linalg.norm(Af @ x - y) / max(np.linalg.norm(y), 1e-300)
    if res > tol:
        raise InputError(f"no matrix X satisfies A(X) = y (least-squares residual {res:.2e} relative)")
    return _sym(x.reshape(n, n))


def _psd_attempts(problem: cp.Problem):
    """Solve a PSD sensing program with Clarabel, then SCS; yield the solver's name after each solve that
    returned an answer (the caller certifies it). An infeasible status means no PSD X fits the data."""
    for solver in ("CLARABEL", "SCS"):
        if _solve(problem, solver):
            yield solver
        elif problem.status in ("infeasible", "infeasible_inaccurate"):
            raise InputError("no positive semidefinite X satisfies A(X) = y")


def min_trace_psd(A: np.ndarray, y: np.ndarray, tol: float = DEFAULT_TOL, guess: np.ndarray | None = None) -> ConvexSolution:
    r"""$\arg\min \operatorname{tr}X$ s.t. $\mathcal A(X) = y$, $X\succeq 0$ (= min nuclear norm over PSD).

    Verified by primal residual, PSD-ness, dual feasibility of $I - \mathcal A^*(\nu)$ and the duality gap,
    each relative and below ``tol``. With a ``guess`` (e.g. the planted low-rank matrix) the guess is tried
    first with a least-squares dual certificate (:func:`certify_min_trace`): seconds instead of minutes at
    $n = 50$, and exact when it passes; if it fails and the solver's answer lies within $10^{-4}$ of the guess,
    the guess is certified with the solver's multiplier (the solver's own answer is only accurate to about
    $10^{-7}$). Otherwise Clarabel; if Clarabel's answer fails, it is
    polished (alternating projections onto the affine set and the PSD cone, then re-certified) and, failing
    that, re-solved with SCS.
    """
    Af, y, n = _check_sensing(A, y)
    ynorm = max(np.linalg.norm(y), 1e-300)
    min_frobenius(A, y, tol=max(tol, 1e-9))  # raises InputError if A(X) = y has no solution at all
    if guess is not None:
        certified = certify_min_trace(A, y, guess, tol)
        if certified is not None:
            return certified
    project = _affine_projector(Af)
    X = cp.Variable((n, n), PSD=True)
    constraint = Af @ cp.vec(X, order="C") == y
    problem = cp.Problem(cp.Minimize(cp.trace(X)), [constraint])
    last = "no solver returned an answer"
    for solver in _psd_attempts(problem):
        Xv = _sym(np.asarray(X.value))
        # cvxpy's multiplier enters the Lagrangian as +nu^T(A x - y): nu_ours = -nu_cvxpy
        nu = -np.asarray(constraint.dual_value, float).reshape(-1)
        for attempt in range(2):
            cert = _trace_certificate(Af, y, ynorm, Xv, nu, n)
            if max(cert.values()) <= tol:
                if guess is not None and np.linalg.norm(Xv - guess) <= 1e-4 * np.linalg.norm(guess):
                    # the solver lands next to the exact candidate: certify the candidate with its multiplier
                    exact = _trace_certificate(Af, y, ynorm, _sym(np.asarray(guess, float)), nu, n)
                    if max(exact.values()) <= tol:
                        return ConvexSolution(_sym(np.asarray(guess, float)), float(np.trace(guess)), nu,
                                              f"{solver} dual certificate", exact)
                return ConvexSolution(Xv, float(np.trace(Xv)), nu, solver, cert)
            if attempt == 0:  # polish: alternating projections keep tr X within the duality gap
                x = Xv.reshape(-1)
                for _ in range(50):
                    x = project(x, y)
                    x = _psd_part(x.reshape(n, n)).reshape(-1)
                Xv = _sym(project(x, y).reshape(n, n))
        last = f"{solver}: certificate {', '.join(f'{k}={v:.1e}' for k, v in cert.items())}"
    raise SolverError(f"min-trace PSD program failed its certificate (tol {tol:.0e}); last {last}")


def certify_min_trace(A: np.ndarray, y: np.ndarray, X: np.ndarray, tol: float = DEFAULT_TOL) -> ConvexSolution | None:
    r"""Certify that a PSD interpolant $X = U\Lambda U^\top$ (rank $k$) minimizes the trace, or return None.

    The dual of $\min\operatorname{tr}X$ s.t. $\mathcal A(X) = y$, $X\succeq0$ is $\max y^\top\nu$ s.t.
    $Z = I - \mathcal A^*(\nu)\succeq 0$; complementary slackness asks $ZU = 0$, i.e. $\mathcal A^*(\nu)U = U$:
    $nk$ linear equations in the $m$ multipliers. Their least-norm solution is the classical candidate
    certificate (Candès & Recht); $X$ is optimal when, in addition, $Z\succeq0$ and the duality gap
    $\operatorname{tr}X - y^\top\nu$ vanishes (checked by the same certificate as the SDP's, to ``tol``).
    """
    Af, y, n = _check_sensing(A, y)
    X = _sym(np.asarray(X, float))
    w, V = np.linalg.eigh(X)
    keep = w > 1e-9 * max(w.max(), 1e-300)
    U = V[:, keep]
    if U.shape[1] == 0 or n * U.shape[1] > Af.shape[0]:
        return None
    B = np.einsum("mij,jk->ikm", Af.reshape(-1, n, n), U).reshape(n * U.shape[1], -1)  # vec(A_j U) as columns
    nu = np.linalg.lstsq(B, U.reshape(-1), rcond=None)[0]
    cert = _trace_certificate(Af, y, max(np.linalg.norm(y), 1e-300), X, nu, n)
    if max(cert.values()) > tol:
        return None
    return ConvexSolution(X, float(np.trace(X)), nu, "dual certificate", cert)


def _trace_certificate(Af, y, ynorm, X, nu, n) -> dict[str, float]:
    tr = max(abs(np.trace(X)), 1e-300)
    S = np.eye(n) - (nu @ Af).reshape(n, n)
    return {
        "primal_residual": float(np.linalg.norm(Af @ X.reshape(-1) - y) / ynorm),
        "psd_violation": float(max(0.0, -np.linalg.eigvalsh(X).min()) / tr),
        "dual_violation": float(max(0.0, -np.linalg.eigvalsh(_sym(S)).min())),
        "duality_gap": float(abs(np.trace(X) - y @ nu) / tr),
    }


# ----------------------------------------------------------------------------------------------------------
# completion

def min_nuclear_completion(M: np.ndarray, mask: np.ndarray, tol: float = 1e-5) -> ConvexSolution:
    r"""$\arg\min \|X\|_*$ s.t. $X_{ij} = M_{ij}$ for $(i,j)$ with ``mask`` true.

    Certificate: dual $\Lambda$ (the multiplier of the observation constraint) has $\|\Lambda\|_{op}\le 1$
    and $\langle\Lambda, M\rangle = \|X\|_*$, both relative to ``tol``.
    """
    M = np.asarray(M, float)
    mask = np.asarray(mask, bool)
    if M.shape != mask.shape or M.ndim != 2:
        raise InputError(f"M and mask must be matrices of equal shape, got {M.shape} and {mask.shape}")
    if not mask.any():
        raise InputError("mask observes no entry")
    W = mask.astype(float)
    X = cp.Variable(M.shape)
    constraint = cp.multiply(W, X) == W * M
    problem = cp.Problem(cp.Minimize(cp.normNuc(X)), [constraint])
    last = ""
    for solver in ("CLARABEL", "SCS"):
        if not _solve(problem, solver):
            last = f"{solver}: status {problem.status}"
            continue
        Xv = np.asarray(X.value)
        Lam = -np.asarray(constraint.dual_value, float) * W
        if np.sum(Lam * M) < 0:  # sign convention of the multiplier
            Lam = -Lam
        nuc = np.linalg.svd(Xv, compute_uv=False).sum()
        scale = max(nuc, 1e-300)
        cert = {
            "primal_residual": float(np.linalg.norm(W * (Xv - M)) / max(np.linalg.norm(W * M), 1e-300)),
            "dual_violation": float(max(0.0, np.linalg.norm(Lam, 2) - 1.0)),
            "duality_gap": float(abs(nuc - np.sum(Lam * M)) / scale),
        }
        if max(cert.values()) <= tol:
            return ConvexSolution(Xv, float(nuc), Lam, solver, cert)
        last = f"{solver}: certificate {', '.join(f'{k}={v:.1e}' for k, v in cert.items())}"
    raise SolverError(f"nuclear-norm completion failed its certificate (tol {tol:.0e}); last {last}")


# ----------------------------------------------------------------------------------------------------------
# dropout in matrix factorization (Mianjy, Arora & Vidal 2018)

def dropout_lambda(keep: float) -> float:
    r"""$\lambda = (1-\theta)/\theta$ for keep probability $\theta$."""
    if not 0.0 < keep <= 1.0:
        raise InputError(f"keep probability must be in (0, 1], got {keep}")
    return (1.0 - keep) / keep


def dropout_factorization_optimum(Y: np.ndarray, r: int, lam: float) -> tuple[np.ndarray, int]:
    r"""Global optimum $M$ of $\min_{U,V}\|Y-UV^\top\|_F^2 + \lambda\sum_{i\le r}\|u_i\|^2\|v_i\|^2$ and its rank $\rho$.

    Singular-value shrinkage by $\frac{\lambda\rho}{r+\lambda\rho}\kappa_\rho$ on the top $\rho$ values, with
    $\rho = \max\{j \le r : \sigma_j(Y) > \frac{\lambda j}{r+\lambda j}\kappa_j\}$ ($j \le r$ because
    $M = UV^\top$ has rank at most $r$). When $r \ge \operatorname{rank}Y$ the rank constraint is inactive and
    $M$ is the prox of $\frac\lambda r\|M\|_*^2$ at $Y$ (:func:`dropout_factorization_convex`).
    """
    Y = np.asarray(Y, float)
    if Y.ndim != 2:
        raise InputError(f"Y must be a matrix, got shape {Y.shape}")
    if r < 1:
        raise InputError(f"r must be at least 1, got {r}")
    if lam < 0:
        raise InputError(f"lambda must be non-negative, got {lam}")
    P, s, Qt = np.linalg.svd(Y, full_matrices=False)
    rho = 0
    for j in range(1, min(r, len(s)) + 1):
        kappa = s[:j].mean()
        if s[j - 1] > lam * j / (r + lam * j) * kappa:
            rho = j
    if rho == 0:
        return np.zeros_like(Y), 0
    kappa = s[:rho].mean()
    shrunk = s[:rho] - lam * rho / (r + lam * rho) * kappa
    return (P[:, :rho] * shrunk) @ Qt[:rho], rho


def dropout_factorization_kkt(Y: np.ndarray, r: int, lam: float, M: np.ndarray) -> float:
    r"""Relative residual of the optimality condition of $\min_M\|Y - M\|_F^2 + \frac\lambda r\|M\|_*^2$ at ``M``.

    The objective is strongly convex; its minimizer is the unique fixed point
    $M = P\,\mathrm{diag}((\sigma_i(Y) - \frac\lambda r\|M\|_*)_+)\,Q^\top$ ($Y = P\Sigma Q^\top$: the prox of the
    squared nuclear norm). Valid as a certificate of the factorization's optimum when $r \ge \operatorname{rank}Y$
    (then the rank constraint of $UV^\top$ is inactive)."""
    Y, M = np.asarray(Y, float), np.asarray(M, float)
    P, s, Qt = np.linalg.svd(Y, full_matrices=False)
    nuc = np.linalg.svd(M, compute_uv=False).sum()
    fixed = (P * np.clip(s - lam / r * nuc, 0.0, None)) @ Qt
    return float(np.linalg.norm(M - fixed) / max(np.linalg.norm(fixed), 1e-300))


def dropout_factorization_convex(Y: np.ndarray, r: int, lam: float, tol: float = 1e-6) -> ConvexSolution:
    r"""cvxpy: $\min_M \|Y - M\|_F^2 + \frac{\lambda}{r}\|M\|_*^2$; certified by its optimality condition.

    Optimality: $M = P\,\mathrm{diag}((\sigma_i(Y) - \mu)_+)\,Q^\top$ with $\mu = \frac{\lambda}{r}\|M\|_*$
    (the prox of the squared nuclear norm); the certificate is $\|M - \text{that prox at } \|M\|_*\| / \|M\|$.
    """
    Y = np.asarray(Y, float)
    if r < 1 or lam < 0:
        raise InputError(f"need r >= 1 and lambda >= 0, got r={r}, lambda={lam}")
    M = cp.Variable(Y.shape)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(Y - M) + lam / r * cp.square(cp.normNuc(M))))
    P, s, Qt = np.linalg.svd(Y, full_matrices=False)
    last = ""
    for solver in ("CLARABEL", "SCS"):
        if not _solve(problem, solver):
            last = f"{solver}: status {problem.status}"
            continue
        Mv = np.asarray(M.value)
        for attempt in range(2):
            err = dropout_factorization_kkt(Y, r, lam, Mv)
            if err <= tol:
                return ConvexSolution(Mv, float(problem.value), None, solver, {"fixed_point_residual": err})
            if attempt == 0:  # polish: solve the optimality condition exactly on the solver's active set
                active = int(np.sum(np.linalg.svd(Mv, compute_uv=False) > 1e-6 * max(s[0], 1e-300)))
                nuc = s[:active].sum() / (1.0 + lam * active / r)
                Mv = (P * np.clip(s - lam / r * nuc, 0.0, None)) @ Qt
        last = f"{solver}: fixed-point residual {err:.1e}"
    raise SolverError(f"dropout factorization program failed its certificate (tol {tol:.0e}); last {last}")


# ----------------------------------------------------------------------------------------------------------
# small-initialization gradient descent on U U^T: greedy low-rank learning (Li, Luo & Lyu, ICLR 2021)

def sensing_gradient(A: np.ndarray, y: np.ndarray, X: np.ndarray) -> np.ndarray:
    r"""$\nabla f(X) = \frac1m\mathcal A^*(\mathcal A(X) - y)$ for $f(X) = \frac1{2m}\|\mathcal A(X) - y\|^2$."""
    A = np.asarray(A, float)
    return sensing_adjoint(A, sensing(A, X) - np.asarray(y, float)) / A.shape[0]


@dataclass
class GreedyResult:
    """Output of greedy low-rank learning: the matrix, its rank, the relative residual after each stage, and
    whether some stage's flow passed near a critical point with nonzero loss (a saddle plateau)."""

    X: np.ndarray
    rank: int
    stage_residuals: list[float]
    near_saddle: bool = False


def greedy_low_rank(A: np.ndarray, y: np.ndarray, eps: float = 1e-6, lr: float = 0.25, max_steps: int = 20000,
                    max_rank: int | None = None, tol: float = 1e-10) -> GreedyResult:
    r"""Greedy Low-Rank Learning (Li, Luo & Lyu 2021), the $\alpha\to0$ limit of gradient flow on $UU^\top$.

    Stage $k$: $u_k$ is the top eigenvector of $-\nabla f(W_{k-1}W_{k-1}^\top)$; if its eigenvalue is $\le 0$ the
    current point is a global minimum of the convex $f$ over PSD matrices and GLRL stops. Otherwise
    $W_k = [W_{k-1}, \varepsilon u_k]$ follows gradient descent on $f(WW^\top)$ (step ``lr``) until its gradient
    is $10^{-8}$ of its initial size or ``max_steps`` — the path decides which local minimum the stage reaches
    (on some instances a spurious rank-$k$ one, whence the next stage) — and BFGS polishes that minimum. GLRL
    stops when the relative residual is below ``tol`` (an interpolant) or at ``max_rank``. numpy + scipy only.

    ``near_saddle`` flags a stage whose flow, after the new direction has grown, slowed to $10^{-3}$ of its peak
    gradient while the relative residual was still above $10^{-2}$: it passed near a saddle of the rank-$k$
    problem. There the $\alpha\to0$ equivalence is not expected at any reachable $\alpha$ (full-rank GD may
    leave the plateau along a new rank direction before the rank-$k$ flow does) — outside the paper's
    assumptions.
    """
    from scipy.optimize import minimize

    Af, y, n = _check_sensing(A, y)
    A3 = Af.reshape(-1, n, n)
    m = len(y)
    ynorm = max(np.linalg.norm(y), 1e-300)
    W = np.zeros((n, 0))
    residuals: list[float] = []
    near_saddle = False

    def gradient(Wm: np.ndarray) -> np.ndarray:
        return 2.0 * sensing_gradient(A3, y, Wm @ Wm.T) @ Wm

    def value_grad(wv: np.ndarray, k: int) -> tuple[float, np.ndarray]:
        Wm = wv.reshape(n, k)
        r = Af @ (Wm @ Wm.T).reshape(-1) - y
        return 0.5 * float(r @ r) / m, gradient(Wm).reshape(-1)

    for k in range(1, (max_rank or n) + 1):
        G = sensing_gradient(A3, y, W @ W.T)
        w, V = np.linalg.eigh(-_sym(G))
        if w[-1] <= 0:
            break
        W = np.hstack([W, eps * V[:, -1:]])
        g0 = float(np.linalg.norm(sensing_gradient(A3, y, W @ W.T)))
        peak = 0.0
        for _ in range(max_steps):
            grad = gradient(W)
            gnorm = float(np.linalg.norm(grad))
            if np.linalg.norm(W[:, -1]) > 1e3 * eps:
                if gnorm <= 1e-8 * g0:
                    break
                peak = max(peak, gnorm)
                if gnorm < 1e-3 * peak and np.linalg.norm(Af @ (W @ W.T).reshape(-1) - y) > 1e-2 * ynorm:
                    near_saddle = True
            W = W - lr * grad
        W = minimize(value_grad, W.reshape(-1), args=(k,), jac=True, method="BFGS",
                     options={"gtol": 1e-13, "maxiter": 2000}).x.reshape(n, k)
        residuals.append(float(np.linalg.norm(Af @ (W @ W.T).reshape(-1) - y) / ynorm))
        if residuals[-1] <= tol:
            break
    return GreedyResult(W @ W.T, W.shape[1], residuals, near_saddle)


def init_scale_exponent(A: np.ndarray, y: np.ndarray, lr: float, discrete: bool = True) -> float:
    r"""Exponent $\kappa$ of the finite-init deviation $\|X_{GD}(\alpha) - X_{GLRL}\| \propto \alpha^\kappa$ for a
    rank-one limit, GD on $\frac1{2m}\|\mathcal A(UU^\top) - y\|^2$ from $U_0 = \sqrt\alpha I$ with step ``lr``.

    Near 0 the residual is $-y$, so $U_t = (I + 2\eta M)^t\sqrt\alpha$ with $M = \mathcal A^*(y)/m$ (eigenvalues
    $\lambda_1 > \lambda_2 > \dots$): the top direction grows like $\alpha(1+2\eta\lambda_1)^{2t}$ and reaches
    $O(1)$ at $t_1 = \log(1/\alpha)/(2\log(1+2\eta\lambda_1))$, when the second is still
    $\alpha(1 + 2\eta\lambda_2)^{2t_1} = \alpha^\kappa$ with
    $$\kappa = 1 - \frac{\log(1 + 2\eta\lambda_2)}{\log(1 + 2\eta\lambda_1)};$$
    that leftover is what separates the limit from the $\alpha\to0$ one. ``discrete=False`` gives gradient
    flow's $\kappa = 1 - \lambda_2/\lambda_1$ (the $\eta\to0$ limit, used as a control).
    """
    A = np.asarray(A, float)
    lam = np.sort(np.linalg.eigvalsh(sensing_adjoint(A, np.asarray(y, float)) / A.shape[0]))[::-1]
    if lam[0] <= 0 or lam[1] >= lam[0]:
        raise InputError("the top eigenvalue of A*(y)/m must be positive and simple for a greedy first stage")
    if not discrete:
        return float(1.0 - lam[1] / lam[0])
    if lr <= 0 or 1 + 2 * lr * lam[-1] <= 0:
        raise InputError(f"lr must be positive and keep 1 + 2 lr lambda > 0, got {lr}")
    return float(1.0 - np.log1p(2 * lr * lam[1]) / np.log1p(2 * lr * lam[0]))


def step_stability(A: np.ndarray, X: np.ndarray, lr: float) -> float:
    r"""$\eta\lambda_{\max}(\nabla^2 L)/2$ at an interpolant $X = WW^\top$ for GD with step $\eta$ on
    $L(U) = \frac1{2m}\|\mathcal A(UU^\top) - y\|^2$: below 1 the limit is a stable fixed point of GD.

    At an interpolant the residual vanishes and $\nabla^2 L = \frac4m\sum_i \operatorname{vec}(A_iW)
    \operatorname{vec}(A_iW)^\top$ on the factor's columns (directions outside the column space have zero
    curvature). Above 1 GD cannot settle there (it oscillates or leaves along another direction)."""
    A = np.asarray(A, float)
    X = _sym(np.asarray(X, float))
    w, V = np.linalg.eigh(X)
    keep = w > 1e-9 * max(w.max(), 1e-300)
    W = V[:, keep] * np.sqrt(w[keep])
    B = np.einsum("mij,jk->mik", A, W).reshape(A.shape[0], -1)
    return float(lr * np.linalg.eigvalsh(4.0 * B.T @ B / A.shape[0])[-1] / 2.0)
