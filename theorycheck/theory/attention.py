r"""Attention as an SVM: the attention max-margin programs (Tarzanagh, Li, Thrampoulidis, Oymak 2023).

Model and convention (used throughout theorycheck): one-layer softmax attention with a fixed linear head,

.. math:: f(X_i) = v^\top X_i^\top \mathrm{softmax}(X_i W z_i), \qquad s_{it} = x_{it}^\top W z_i,

with tokens $x_{it}\in\mathbb R^d$ (rows of $X_i$, $t = 1..T$), query $z_i$ (cross-attention) or
$z_i = x_{i1}$ (self-attention), and $W = K Q^\top$ when parametrized by keys and queries
($s_{it} = (K^\top x_{it})^\top (Q^\top z_i)$). The authors' PyTorch code stores ``nn.Linear`` weights, which compute
$X W_{\rm lin}^\top$: their ``W.weight`` is our $W^\top$, and their $(W_k, W_q)$ give our $W = W_k^\top W_q$.

Token scores $\gamma_{it} = Y_i v^\top x_{it}$; the globally optimal token of sequence $i$ is
$\mathrm{opt}_i = \arg\max_t \gamma_{it}$. For any selection $\alpha = (\alpha_i)$ the attention SVM is

.. math:: W^{\rm mm}_\alpha = \arg\min_W \|W\| \quad \text{s.t.}\quad (x_{i\alpha_i} - x_{it})^\top W z_i \ge 1
          \ \ \forall i,\ \forall t \ne \alpha_i,

with $\|\cdot\|$ the Frobenius norm (GD on $W$) or the nuclear norm (GD on $(K, Q)$). Each constraint is linear in
$W$: $\langle W, (x_{i\alpha_i} - x_{it}) z_i^\top\rangle \ge 1$, so the programs are built from one constraint
matrix $A$ (rows ${\rm vec}((x_{i\alpha_i} - x_{it}) z_i^\top)$, row-major) with numpy broadcasting, no loops over
token pairs.

Every answer is certified by a duality gap: for multipliers $\lambda \ge 0$ (from the solver or the active-set polish)
$\sum_k\lambda_k / \|{\rm mat}(A^\top\lambda)\|_{\rm dual}$ is a lower bound on the optimal norm (weak duality; the dual
of Frobenius is Frobenius, the dual of nuclear is the spectral norm) and $\|W\|/\min_k (A\,{\rm vec} W)_k$ is an upper
bound (the rescaled $W$ is feasible). The answer is accepted when the relative gap is below ``gap_tol``.

Local optimality (Tarzanagh et al. 2023, arXiv 2308.16898, Definition of locally-optimal indices; also
arXiv 2306.13596 "SVM-neighbors"): the support tokens of $W^{\rm mm}_\alpha$ are
$\mathcal T_i = \{t \ne \alpha_i : (x_{i\alpha_i} - x_{it})^\top W^{\rm mm}_\alpha z_i = 1\}$, and $\alpha$ is
locally optimal when $\gamma_{i\alpha_i} > \gamma_{it}$ for every $i$ and every $t \in \mathcal T_i$. The globally
optimal selection is always locally optimal.

Global convergence (arXiv 2308.16898 for $W$, 2306.13596 for $p$): when every non-optimal token of a sequence has
the same score, $\gamma_{it} = \gamma_{i\tau}$ for $t, \tau \ne \mathrm{opt}_i$ (:func:`score_structure`), GD
converges to the SVM of $\mathrm{opt}$ (:func:`optimal_tokens`): then
$\langle\nabla L(W), W^{\rm mm}\rangle = \frac1n\sum_i \ell_i'\,(\gamma_{i,\mathrm{opt}_i} - \gamma_{io})\,
p_{i,\mathrm{opt}_i}\sum_{t\ne\mathrm{opt}_i} p_{it}\,(x_{i,\mathrm{opt}_i} - x_{it})^\top W^{\rm mm} z_i < 0$ at every
$W$ ($\ell' < 0$, every constraint $\ge 1$), so the selection is predicted from $(X, Y, v)$ alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from theorycheck.errors import InputError, NotSeparableError, SolverError

NORMS = ("fro", "nuc")


@dataclass
class AttSVM:
    """Solution of one attention SVM: ``W`` (d, d), its norm, the certified duality gap and the multipliers."""

    W: np.ndarray
    norm: str
    value: float
    gap: float
    multipliers: np.ndarray
    solver: str

    @property
    def direction(self) -> np.ndarray:
        return self.W / np.linalg.norm(self.W)


def _check_inputs(X: np.ndarray, Z: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    ids = np.asarray(ids)
    if X.ndim != 3:
        raise InputError(f"X must have shape (n, T, d), got {X.shape}")
    n, T, d = X.shape
    if T < 2:
        raise InputError(f"each sequence needs at least 2 tokens, got T={T}")
    if Z.shape != (n, d):
        raise InputError(f"Z must have shape (n, d) = {(n, d)}, got {Z.shape}")
    if ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer):
        raise InputError(f"ids must be {n} integer token indices, got shape {ids.shape} dtype {ids.dtype}")
    if np.any(ids < 0) or np.any(ids >= T):
        raise InputError(f"ids must lie in [0, {T - 1}], got {ids.tolist()}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Z))):
        raise InputError("X and Z must be finite")
    return X, Z, ids.astype(np.int64)


def constraint_matrix(X: np.ndarray, Z: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Rows ${\rm vec}((x_{i,\mathrm{ids}_i} - x_{it}) z_i^\top)$ for all $i$ and $t \ne \mathrm{ids}_i$ (row-major vec).

    Returns ``A`` of shape (n (T-1), d*d) and ``pairs`` (n (T-1), 2) holding $(i, t)$ per row. Built by broadcasting.
    """
    X, Z, ids = _check_inputs(X, Z, ids)
    return _constraint_rows(X, Z, ids)


def _constraint_rows(X: np.ndarray, Zr: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`constraint_matrix` for queries ``Zr`` (n, r) of any width r (coordinates in a basis of the queries)."""
    n, T, d = X.shape
    r = Zr.shape[1]
    diff = X[np.arange(n), ids][:, None, :] - X  # (n, T, d)
    keep = np.arange(T)[None, :] != ids[:, None]  # (n, T)
    outer = diff[:, :, :, None] * Zr[:, None, None, :]  # (n, T, d, r)
    A = outer[keep].reshape(-1, d * r)
    ii, tt = np.nonzero(keep)
    return A, np.stack([ii, tt], axis=1)


def query_basis(Z: np.ndarray) -> np.ndarray:
    r"""Orthonormal basis $Q$ (d, r) of the span of the queries $z_i$.

    The constraints see $W$ only through $W z_i = W QQ^\top z_i$, and $\|WQQ^\top\| \le \|W\|$ in the Frobenius and
    the nuclear norm, so the SVM solution has the form $W = MQ^\top$ with $M$ of size (d, r) and
    $\|W\| = \|M\|$: the programs are solved for $M$ (r = n < d in the over-parameterized regime)."""
    _, s, vt = np.linalg.svd(np.asarray(Z, float), full_matrices=False)
    rank = int(np.sum(s > 1e-12 * max(s[0], 1e-300)))
    return vt[:rank].T


def _dual_norm(G: np.ndarray, norm: str) -> float:
    return float(np.linalg.norm(G)) if norm == "fro" else float(np.linalg.norm(G, 2))


def _primal_norm(W: np.ndarray, norm: str) -> float:
    return float(np.linalg.norm(W)) if norm == "fro" else float(np.linalg.norm(W, "nuc"))


def _certify(A: np.ndarray, w: np.ndarray, lam: np.ndarray, shape: tuple[int, int],
             norm: str) -> tuple[np.ndarray, float, float]:
    """Rescale ``w`` to feasibility and return (M of ``shape``, upper bound, relative duality gap)."""
    margins = A @ w
    if not np.all(np.isfinite(margins)) or margins.min() <= 0:
        return w.reshape(shape), np.inf, np.inf
    w = w / min(margins.min(), 1.0) if margins.min() < 1.0 else w
    W = w.reshape(shape)
    upper = _primal_norm(W, norm)
    lam = np.clip(np.nan_to_num(np.asarray(lam, float).ravel()), 0.0, None)
    G = (A.T @ lam).reshape(shape)
    dn = _dual_norm(G, norm)
    lower = float(lam.sum() / dn) if dn > 0 else 0.0
    return W, upper, (upper - lower) / upper


def _polish_fro(A: np.ndarray, w: np.ndarray, tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray] | None:
    r"""Active-set polish for the Frobenius SVM: on the active set $S$, $w = A_S^\top\lambda_S$ with
    $A_S A_S^\top \lambda_S = 1$ (KKT of $\min \tfrac12\|w\|^2$ s.t. $A w \ge 1$)."""
    margins = A @ w
    active = margins <= 1.0 + tol * max(1.0, float(np.abs(margins).max()))
    if not active.any():
        return None
    AS = A[active]
    lam_s, *_ = np.linalg.lstsq(AS @ AS.T, np.ones(AS.shape[0]), rcond=None)
    if np.any(lam_s < -1e-10):
        return None
    w_new = AS.T @ lam_s
    lam = np.zeros(A.shape[0])
    lam[active] = np.clip(lam_s, 0.0, None)
    return w_new, lam


def att_svm(X: np.ndarray, Z: np.ndarray, ids: np.ndarray, norm: str = "fro", gap_tol: float = 1e-6) -> AttSVM:
    r"""Solve the attention SVM $\min\|W\|$ s.t. $(x_{i,\mathrm{ids}_i} - x_{it})^\top W z_i \ge 1$.

    ``X`` (n, T, d) tokens, ``Z`` (n, d) queries, ``ids`` (n,) selected token per sequence, ``norm`` "fro" | "nuc".
    Raises :class:`NotSeparableError` when no $W$ satisfies the constraints and :class:`SolverError` when no solver
    reaches a relative duality gap below ``gap_tol``.
    """
    if norm not in NORMS:
        raise InputError(f"norm must be one of {NORMS}, got {norm!r}")
    X, Z, ids = _check_inputs(X, Z, ids)
    n, T, d = X.shape
    Q = query_basis(Z)
    shape = (d, Q.shape[1])
    A, pairs = _constraint_rows(X, Z @ Q, ids)  # unknown M (d, r); W = M Q^T
    zero = np.linalg.norm(A, axis=1) == 0
    if zero.any():
        i, t = pairs[np.argmax(zero)]
        raise NotSeparableError(
            f"attention SVM infeasible: in sequence {i} token {t} cannot be separated from the selected token "
            f"{ids[i]} (identical tokens or a zero query)")
    scale = float(np.abs(A).max())
    As = A / scale  # better conditioning; the solution of the scaled problem is W * scale
    w = cp.Variable(shape[0] * shape[1])
    cons = [As @ w >= 1]
    if norm == "fro":
        objective = cp.Minimize(cp.sum_squares(w))
    else:
        objective = cp.Minimize(cp.normNuc(cp.reshape(w, shape, order="C")))
    problem = cp.Problem(objective, cons)
    best: tuple[float, np.ndarray, np.ndarray, str] | None = None
    for solver in ("CLARABEL", "SCS"):
        try:
            kwargs = {"eps": 1e-9, "max_iters": 200000} if solver == "SCS" else {}
            problem.solve(solver=solver, **kwargs)
        except cp.error.SolverError:
            continue
        if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise NotSeparableError(
                f"attention SVM ({norm}) infeasible: no W separates the selected tokens {ids.tolist()} from the "
                f"others in all {n} sequences")
        if w.value is None:
            continue
        w_val = np.asarray(w.value, float)
        lam = np.asarray(cons[0].dual_value, float) if cons[0].dual_value is not None else np.zeros(A.shape[0])
        candidates = [(w_val, lam, solver)]
        if norm == "fro":
            polished = _polish_fro(As, w_val)
            if polished is not None:
                candidates.insert(0, (polished[0], polished[1], solver + "+active-set"))
        for w_c, lam_c, name in candidates:
            W_c, _, gap = _certify(As, w_c, lam_c, shape, norm)
            if best is None or gap < best[0]:
                best = (gap, W_c, lam_c, name)
        if best is not None and best[0] <= gap_tol:
            break
    if best is None or not np.isfinite(best[0]) or best[0] > gap_tol:
        gap = None if best is None else best[0]
        raise SolverError(f"attention SVM ({norm}) not certified: relative duality gap {gap} > {gap_tol}")
    gap, M_s, lam, name = best
    W = (M_s / scale) @ Q.T  # undo the constraint scaling ((A/scale) w >= 1 <=> A (w/scale) >= 1) and the reduction
    return AttSVM(W=W, norm=norm, value=_primal_norm(W, norm), gap=float(gap), multipliers=lam * 1.0, solver=name)


def att_svm_batch(X: np.ndarray, Z: np.ndarray, ids: np.ndarray, norm: str = "fro") -> np.ndarray:
    """Solve one SVM per batch element: ``X`` (B, n, T, d), ``Z`` (B, n, d), ``ids`` (B, n) -> (B, d, d)."""
    X = np.asarray(X, float)
    return np.stack([att_svm(X[b], Z[b], np.asarray(ids)[b], norm).W for b in range(X.shape[0])])


def token_scores(X: np.ndarray, Y: np.ndarray, v: np.ndarray) -> np.ndarray:
    r"""$\gamma_{it} = Y_i v^\top x_{it}$, batched over leading axes: X (..., n, T, d), Y (..., n), v (..., d)."""
    X, Y, v = (np.asarray(a, float) for a in (X, Y, v))
    return np.einsum("...ntd,...d->...nt", X, v) * Y[..., None]


def support_tokens(X: np.ndarray, Z: np.ndarray, ids: np.ndarray, W: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    r"""Boolean (n, T): token $t$ is a support token of sequence $i$, i.e. $(x_{i\alpha_i} - x_{it})^\top W z_i = 1$
    (up to ``tol``) for the SVM solution ``W`` of the selection ``ids``."""
    X, Z, ids = _check_inputs(X, Z, ids)
    n, T, _ = X.shape
    margins = np.einsum("ntd,de,ne->nt", X[np.arange(n), ids][:, None, :] - X, W, Z)
    sup = margins <= 1.0 + tol
    sup[np.arange(n), ids] = False
    return sup


def is_locally_optimal(gamma: np.ndarray, ids: np.ndarray, support: np.ndarray) -> bool:
    r"""Local optimality of a selection: $\gamma_{i\alpha_i} > \gamma_{it}$ for all support tokens $t\in\mathcal T_i$."""
    gamma = np.asarray(gamma, float)
    ids = np.asarray(ids)
    sel = gamma[np.arange(gamma.shape[0]), ids][:, None]
    return bool(np.all(~support | (sel > gamma)))


def optimal_tokens(gamma: np.ndarray) -> np.ndarray:
    r"""The globally optimal token of every sequence, $\mathrm{opt}_i = \arg\max_t \gamma_{it}$: (..., n, T) -> (..., n).

    This is the selection the global-convergence theorem predicts; it needs only the scores, never a run."""
    return np.argmax(np.asarray(gamma, float), axis=-1)


def score_structure(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The two numbers the equal-score condition of the global-convergence theorem is about, per sequence.

    For scores sorted as $\gamma_{i(1)} \ge \gamma_{i(2)} \ge \dots \ge \gamma_{i(T)}$ returns the optimality gap
    $\gamma_{i(1)} - \gamma_{i(2)}$ (positive when the optimal token is unique) and the non-optimal spread
    $\gamma_{i(2)} - \gamma_{i(T)}$ (zero when every non-optimal token has the same score: Tarzanagh et al.'s
    condition for global convergence of GD on $W$), each of shape (..., n). Uses the sorted scores only, so it does
    not depend on which index :func:`optimal_tokens` returns."""
    g = -np.sort(-np.asarray(gamma, float), axis=-1)
    return g[..., 0] - g[..., 1], g[..., 1] - g[..., -1]


def svm_margin(X: np.ndarray, Z: np.ndarray, ids: np.ndarray, W: np.ndarray) -> float:
    r"""The attention-SVM margin of $W$ for the selection ``ids``: $\min_{i,\,t\ne\mathrm{ids}_i}
    (x_{i,\mathrm{ids}_i} - x_{it})^\top W z_i$ (1 for the SVM solution; $\le \|W\|/\|W^{\rm mm}\|$ for any $W$).

    Computed from the tokens directly (one einsum), independently of :func:`constraint_matrix`."""
    X, Z, ids = _check_inputs(X, Z, ids)
    n = X.shape[0]
    margins = np.einsum("ntd,de,ne->nt", X[np.arange(n), ids][:, None, :] - X, np.asarray(W, float), Z)
    margins[np.arange(n), ids] = np.inf
    return float(margins.min())


def is_globally_optimal(gamma: np.ndarray, ids: np.ndarray) -> bool:
    r"""The selection picks $\arg\max_t\gamma_{it}$ in every sequence."""
    gamma = np.asarray(gamma, float)
    return bool(np.all(gamma[np.arange(gamma.shape[0]), np.asarray(ids)] >= gamma.max(axis=1)))


def two_query_instance(c: float = 0.5) -> dict[str, np.ndarray | float]:
    r"""A hand-made instance on which the Frobenius and nuclear SVMs differ, with closed-form solutions.

    $d = 2$, two sequences of two tokens, queries $z_1 = e_1$, $z_2 = e_2$, token differences $a_1 = e_1$,
    $a_2 = (c, \sqrt{1-c^2})$ (unit, $\langle a_1, a_2\rangle = c$): $x_{i1} = a_i/2$, $x_{i2} = -a_i/2$, labels
    $Y = (1, 1)$ and head $v \propto a_1 + a_2$, so token 1 is optimal in both sequences. The constraints read
    $a_1^\top W e_1 \ge 1$, $a_2^\top W e_2 \ge 1$ (one per column of $W$), hence

    * Frobenius: $W_F = [a_1, a_2]$ (columns), $\|W_F\|_F = \sqrt 2$;
    * nuclear: $W_* = (a_1 + a_2)\mathbf 1^\top/(1 + c)$, $\|W_*\|_* = 2/\sqrt{1+c}$ (dual certificate
      $\lambda_1 = \lambda_2 = 1/\sqrt{1+c}$, spectral norm of $[\lambda a_1, \lambda a_2]$ equal to 1);
    * their cosine is $\sqrt{(1+c)/2}$ (0.866 at $c = 0.5$).
    """
    if not 0.0 < c < 1.0:
        raise InputError(f"c must lie in (0, 1), got {c}")
    a1 = np.array([1.0, 0.0])
    a2 = np.array([c, np.sqrt(1.0 - c * c)])
    X = np.stack([np.stack([a1 / 2, -a1 / 2]), np.stack([a2 / 2, -a2 / 2])])
    Z = np.eye(2)
    Y = np.ones(2)
    v = (a1 + a2) / np.linalg.norm(a1 + a2)
    W_fro = np.stack([a1, a2], axis=1)
    W_nuc = np.outer(a1 + a2, np.ones(2)) / (1.0 + c)
    return {"X": X, "Z": Z, "Y": Y, "v": v, "ids": np.zeros(2, dtype=np.int64), "W_fro": W_fro, "W_nuc": W_nuc,
            "cosine": float(np.sqrt((1.0 + c) / 2.0))}
