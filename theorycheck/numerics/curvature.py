r"""Curvature of batched losses: Hessian-vector products and extreme Hessian eigenvalues (torch, float64).

**The batched loss.** A closure ``loss(theta) -> (B,)`` over a flat parameter tensor ``theta`` of
shape (B, P): row $b$ holds the parameters of one independent model (a seed, a configuration) and
``loss(theta)[b]`` depends on row $b$ only. The Hessian of $\sum_b L_b$ is then block diagonal,
and one double-backward pass through the gradient returns all B Hessian-vector products at once:
with $g = \nabla_\theta \sum_b L_b(\theta_b)$ (built once, with ``create_graph``),
$\nabla_\theta\langle g, V\rangle$ has rows $H_b v_b$. Models whose parameters are a list of
tensors with a leading batch axis use :func:`flatten` / :func:`unflatten` or
:func:`flat_closure`; a single model is a batch of one.

**Estimators** (each returns per-row values, batched over rows):

* :func:`power_iteration` — $v \leftarrow Hv/\|Hv\|$, Rayleigh quotient $\lambda = v^\top Hv$, the
  eigenvalue of largest *modulus*; stops when every row's relative change
  $|\lambda_k - \lambda_{k-1}| \le \mathrm{tol}\,|\lambda_k|$ (the criterion of the standard Hessian
  tools). Linear convergence at rate $|\lambda_2/\lambda_1|$ per HVP.
* :func:`lanczos` — Lanczos with full reorthogonalization on the Krylov space of a start vector:
  the extreme Ritz values of the tridiagonal $T_m$ approach the extreme eigenvalues (largest
  *algebraic* and smallest, i.e. the most negative one) at a rate governed by the Chebyshev
  polynomials of the spectral gap, far fewer HVPs than power iteration for the same accuracy.
  A Ritz value $\theta_i$ with Ritz vector $y_i = V s_i$ satisfies
  $\|Hy_i - \theta_i y_i\| = |\beta_m s_{m,i}|$, and for a symmetric $H$ some eigenvalue lies
  within that residual of $\theta_i$: rows stop when the residuals of the wanted Ritz values are
  $\le \mathrm{tol}\,\max|\theta|$.
* :func:`eigsh` — :func:`scipy.sparse.linalg.eigsh` (ARPACK implicitly restarted Lanczos) on a
  :class:`scipy.sparse.linalg.LinearOperator`, one row at a time (reference implementation).
* :func:`dense_hessian` — the full (B, P, P) Hessian from P batched HVPs, for small models and for
  testing the others against :func:`torch.linalg.eigvalsh`.

All arithmetic is float64. Nothing here synchronizes with the host inside an iteration except the
convergence tests, which run every ``check_every`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from theorycheck.errors import InputError

__all__ = ["BatchedLoss", "HessianOperator", "EigenEstimate", "flatten", "unflatten", "flat_closure",
           "power_iteration", "lanczos", "eigsh", "dense_hessian", "top_eigenvalue", "bottom_eigenvalue"]

#: a batched loss: theta (B, P) -> per-row losses (B,)
BatchedLoss = Callable[[torch.Tensor], torch.Tensor]


# ------------------------------------------------------------------------------------------------
# parameters as a flat (B, P) tensor


def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate tensors of shapes (B, ...) into one (B, P) tensor (row b = model b's parameters)."""
    if not tensors:
        raise InputError("flatten needs at least one tensor")
    B = tensors[0].shape[0]
    if any(t.shape[0] != B for t in tensors):
        raise InputError(f"all tensors need the same leading batch size, got {[tuple(t.shape) for t in tensors]}")
    return torch.cat([t.reshape(B, -1) for t in tensors], dim=1)


def unflatten(theta: torch.Tensor, shapes: Sequence[torch.Size | tuple[int, ...]]) -> list[torch.Tensor]:
    """Split ``theta`` (B, P) into views of shapes (B, *shape) for each per-model ``shape`` in ``shapes``."""
    B = theta.shape[0]
    sizes = [int(np.prod(s)) if len(s) else 1 for s in shapes]
    if sum(sizes) != theta.shape[1]:
        raise InputError(f"shapes {list(shapes)} hold {sum(sizes)} parameters per model, theta has {theta.shape[1]}")
    parts = torch.split(theta, sizes, dim=1)
    return [p.reshape(B, *s) for p, s in zip(parts, shapes)]


def flat_closure(loss_of_list: Callable[[list[torch.Tensor]], torch.Tensor],
                 like: Sequence[torch.Tensor]) -> tuple[BatchedLoss, torch.Tensor]:
    """A batched loss over a flat (B, P) tensor from one over a list of tensors shaped like ``like``
    (each (B, ...)); returns ``(loss, theta)`` with ``theta`` the flattened ``like``."""
    shapes = [tuple(t.shape[1:]) for t in like]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        return loss_of_list(unflatten(theta, shapes))

    return loss, flatten([t.detach() for t in like])


# ------------------------------------------------------------------------------------------------
# the operator


class HessianOperator:
    r"""The block-diagonal Hessian of a batched loss at ``theta`` (B, P), applied by double backward.

    The gradient graph is built once; each :meth:`matvec` is one backward pass through it, giving
    $H_b v_b$ for every row. ``matvecs`` counts the batched products applied so far.
    """

    def __init__(self, loss: BatchedLoss, theta: torch.Tensor):
        if theta.ndim != 2:
            raise InputError(f"theta must be (B, P), got shape {tuple(theta.shape)}")
        self.theta = theta.detach().clone().requires_grad_(True)
        value = loss(self.theta)
        if value.shape != (theta.shape[0],):
            raise InputError(f"a batched loss returns one value per row, shape ({theta.shape[0]},); got "
                             f"{tuple(value.shape)}")
        (self.gradient,) = torch.autograd.grad(value.sum(), self.theta, create_graph=True)
        self.loss = value.detach()
        self.matvecs = 0

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.theta.shape)  # type: ignore[return-value]

    @property
    def dtype(self) -> torch.dtype:
        return self.theta.dtype

    @property
    def device(self) -> torch.device:
        return self.theta.device

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """Rows $H_b v_b$ for ``v`` of shape (B, P)."""
        if not self.gradient.requires_grad:  # the loss is linear in theta: H = 0
            self.matvecs += 1
            return torch.zeros_like(v)
        (hv,) = torch.autograd.grad(self.gradient, self.theta, grad_outputs=v, retain_graph=True,
                                    allow_unused=True)
        self.matvecs += 1
        return torch.zeros_like(v) if hv is None else hv.detach()


def _operator(loss_or_op: BatchedLoss | HessianOperator, theta: torch.Tensor | None) -> HessianOperator:
    if hasattr(loss_or_op, "matvec"):
        return loss_or_op  # type: ignore[return-value]
    if theta is None:
        raise InputError("theta is required when a loss closure is given")
    return HessianOperator(loss_or_op, theta)


def _start(op: HessianOperator, v0: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
    B, P = op.shape
    if v0 is None:
        v = torch.randn((B, P), generator=generator, dtype=op.dtype, device="cpu").to(op.device)
    else:
        v = v0.detach().to(dtype=op.dtype, device=op.device).clone()
        if v.shape != (B, P):
            raise InputError(f"v0 must have shape {(B, P)}, got {tuple(v.shape)}")
    norms = v.norm(dim=1, keepdim=True)
    if torch.any(norms == 0):
        raise InputError("v0 has a zero row")
    return v / norms


# ------------------------------------------------------------------------------------------------
# estimators


@dataclass
class EigenEstimate:
    """Per-row eigenvalue estimates (B,) (or (B, k)), their eigenvectors (B, P) where computed, the
    number of batched HVPs spent, the steps each row needed, whether it met the tolerance, and a
    residual bound $\\|Hv - \\lambda v\\|$ per row."""

    values: torch.Tensor
    vectors: torch.Tensor | None
    matvecs: int
    steps: torch.Tensor
    converged: torch.Tensor
    residual: torch.Tensor


def power_iteration(loss: BatchedLoss | HessianOperator, theta: torch.Tensor | None = None, *, iters: int = 100,
                    tol: float = 1e-6, v0: torch.Tensor | None = None, generator: torch.Generator | None = None,
                    check_every: int = 1) -> EigenEstimate:
    r"""Eigenvalue of largest modulus of each row's Hessian by power iteration (batched).

    Every row runs until ``iters`` or until all rows meet $|\lambda_k-\lambda_{k-1}|\le$
    ``tol``$\,|\lambda_k|$ (checked every ``check_every`` steps; a row that has converged keeps
    iterating with the others, which only refines it). ``v0`` warm-starts (e.g. the previous step's
    eigenvector along a training run).
    """
    if iters < 1:
        raise InputError(f"iters must be >= 1, got {iters}")
    op = _operator(loss, theta)
    v = _start(op, v0, generator)
    B = op.shape[0]
    start = op.matvecs
    lam = torch.full((B,), float("nan"), dtype=op.dtype, device=op.device)
    steps = torch.full((B,), iters, dtype=torch.long, device=op.device)
    done = torch.zeros(B, dtype=torch.bool, device=op.device)
    for k in range(1, iters + 1):
        hv = op.matvec(v)
        new = (v * hv).sum(dim=1)
        if k > 1 and (k % check_every == 0 or k == iters):
            ok = (new - lam).abs() <= tol * new.abs()
            steps = torch.where(ok & ~done, torch.full_like(steps, k), steps)
            done = done | ok
        lam = new
        if bool(done.all()) or k == iters:
            break
        norm = hv.norm(dim=1, keepdim=True)
        v = torch.where(norm > 0, hv / norm.clamp_min(torch.finfo(op.dtype).tiny), v)
    residual = (hv - lam[:, None] * v).norm(dim=1)
    return EigenEstimate(lam.detach(), v.detach(), op.matvecs - start, steps, done, residual.detach())


def lanczos(loss: BatchedLoss | HessianOperator, theta: torch.Tensor | None = None, *, k: int = 1,
            steps: int = 60, tol: float = 1e-8, v0: torch.Tensor | None = None,
            generator: torch.Generator | None = None, check_every: int = 5, ends: str = "both",
            vectors: bool = True) -> tuple[EigenEstimate, EigenEstimate]:
    r"""The ``k`` largest and ``k`` smallest eigenvalues of each row's Hessian by batched Lanczos.

    Full reorthogonalization (twice, classical Gram–Schmidt) keeps the basis orthonormal in floating
    point; a row whose Krylov space closes (an invariant subspace, $\beta_j \approx 0$) continues from
    a random vector orthogonal to its basis, so small models get their exact spectrum after P steps.
    Every ``check_every`` steps the Ritz values of $T_j$ are computed and the run stops once, for every
    row, the residuals $|\beta_j s_{j,i}|$ of the ``k`` largest and/or ``k`` smallest Ritz values (``ends`` =
    'top', 'bottom' or 'both') are $\le$ ``tol``$\cdot\max_i|\theta_i|$. Returns ``(top, bottom)``: values (B, k) in decreasing
    (top) and increasing (bottom) order, the Ritz vector of the extreme one (B, P) if ``vectors``.
    """
    op = _operator(loss, theta)
    B, P = op.shape
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if ends not in ("top", "bottom", "both"):
        raise InputError(f"ends must be 'top', 'bottom' or 'both', got {ends!r}")
    m_max = min(int(steps), P)
    if m_max < k:
        raise InputError(f"steps must be >= k, got steps={steps}, k={k}")
    dtype, device = op.dtype, op.device
    v = _start(op, v0, generator)
    basis = torch.zeros((B, m_max, P), dtype=dtype, device=device)
    alpha = torch.zeros((B, m_max), dtype=dtype, device=device)
    beta = torch.zeros((B, m_max), dtype=dtype, device=device)
    start = op.matvecs
    tiny = torch.finfo(dtype).eps ** 0.75
    used = m_max
    step_count = torch.full((B,), m_max, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    for j in range(m_max):
        basis[:, j] = v
        w = op.matvec(v)
        a = (w * v).sum(dim=1)
        alpha[:, j] = a
        Vj = basis[:, : j + 1]
        for _ in range(2):  # full reorthogonalization, twice is enough
            w = w - torch.einsum("bjp,bj->bp", Vj, torch.einsum("bjp,bp->bj", Vj, w))
        b = w.norm(dim=1)
        beta[:, j] = b
        if j + 1 == m_max:
            used = m_max
            break
        scale = alpha[:, : j + 1].abs().amax(dim=1).clamp_min(1.0)
        broke = b <= tiny * scale
        if bool(broke.any()):  # invariant subspace: restart from a fresh direction orthogonal to the basis
            fresh = torch.randn((B, P), generator=generator, dtype=dtype, device="cpu").to(device)
            for _ in range(2):
                fresh = fresh - torch.einsum("bjp,bj->bp", Vj, torch.einsum("bjp,bp->bj", Vj, fresh))
            fresh = fresh / fresh.norm(dim=1, keepdim=True)
            beta[:, j] = torch.where(broke, torch.zeros_like(b), b)
            v = torch.where(broke[:, None], fresh, w / b.clamp_min(tiny)[:, None])
        else:
            v = w / b[:, None]
        if (j + 1) >= k and ((j + 1) % check_every == 0):
            theta_r, resid = _ritz(alpha[:, : j + 1], beta[:, : j + 1])
            ok = _wanted_converged(theta_r, resid, k, tol, ends)
            newly = ok & ~done
            step_count = torch.where(newly, torch.full_like(step_count, j + 1), step_count)
            done = done | ok
            if bool(done.all()):
                used = j + 1
                break
    theta_r, resid, S = _ritz(alpha[:, :used], beta[:, :used], with_vectors=True)
    final_ok = _wanted_converged(theta_r, resid, k, tol, ends)
    step_count = torch.where(done, step_count, torch.full_like(step_count, used))
    done = done | final_ok
    top_vals = theta_r[:, -k:].flip(1)
    bottom_vals = theta_r[:, :k]
    top_vec = bottom_vec = None
    if vectors:
        top_vec = torch.einsum("bjp,bj->bp", basis[:, :used], S[:, :, -1])
        bottom_vec = torch.einsum("bjp,bj->bp", basis[:, :used], S[:, :, 0])
    spent = op.matvecs - start
    top = EigenEstimate(top_vals, top_vec, spent, step_count, done, resid[:, -k:].flip(1)[:, 0])
    bottom = EigenEstimate(bottom_vals, bottom_vec, spent, step_count, done, resid[:, :k][:, 0])
    return top, bottom


def _ritz(alpha: torch.Tensor, beta: torch.Tensor, with_vectors: bool = False):
    """Ritz values (ascending) of the tridiagonal (B, m, m) matrices and their residual bounds."""
    B, m = alpha.shape
    T = torch.diag_embed(alpha)
    if m > 1:
        off = beta[:, : m - 1]
        T = T + torch.diag_embed(off, offset=1) + torch.diag_embed(off, offset=-1)
    vals, S = torch.linalg.eigh(T)
    resid = (beta[:, m - 1 : m] * S[:, m - 1, :]).abs()
    return (vals, resid, S) if with_vectors else (vals, resid)


def _wanted_converged(vals: torch.Tensor, resid: torch.Tensor, k: int, tol: float, ends: str) -> torch.Tensor:
    scale = vals.abs().amax(dim=1).clamp_min(torch.finfo(vals.dtype).tiny)
    parts = {"top": [resid[:, -k:]], "bottom": [resid[:, :k]], "both": [resid[:, :k], resid[:, -k:]]}[ends]
    return (torch.cat(parts, dim=1) <= tol * scale[:, None]).all(dim=1)


def eigsh(loss: BatchedLoss | HessianOperator, theta: torch.Tensor | None = None, *, k: int = 1,
          which: str = "LA", tol: float = 1e-8, v0: torch.Tensor | None = None) -> EigenEstimate:
    """``k`` eigenvalues per row by :func:`scipy.sparse.linalg.eigsh` (``which`` = 'LA' largest algebraic,
    'SA' smallest, 'LM' largest modulus) on a LinearOperator, one row at a time.

    Each matvec is a batched HVP with the other rows set to zero, so a row costs as much as the
    whole batch: this is the per-model loop of the standard tools, kept as a reference."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator
    from scipy.sparse.linalg import eigsh as arpack

    op = _operator(loss, theta)
    B, P = op.shape
    if not 1 <= k < P:
        raise InputError(f"eigsh needs 1 <= k < P={P}, got k={k}")
    start = op.matvecs
    values = np.zeros((B, k))
    vecs = np.zeros((B, P))
    ok = np.ones(B, dtype=bool)
    for b in range(B):
        def matvec(x: np.ndarray, b: int = b) -> np.ndarray:
            v = torch.zeros((B, P), dtype=op.dtype, device=op.device)
            v[b] = torch.as_tensor(np.ravel(x), dtype=op.dtype, device=op.device)
            return op.matvec(v)[b].cpu().numpy()

        lin = LinearOperator((P, P), matvec=matvec, dtype=np.float64)
        start_vec = None if v0 is None else v0[b].detach().cpu().numpy()
        try:
            vals, V = arpack(lin, k=k, which=which, tol=tol, v0=start_vec)
        except ArpackNoConvergence as err:
            vals, V, ok[b] = err.eigenvalues, err.eigenvectors, False
            if len(vals) < k:
                vals = np.concatenate([vals, np.full(k - len(vals), np.nan)])
                V = np.concatenate([V, np.full((P, k - V.shape[1]), np.nan)], axis=1)
        order = np.argsort(vals)[::-1] if which in ("LA", "LM") else np.argsort(vals)
        values[b] = vals[order]
        vecs[b] = V[:, order[0]]
    as_t = lambda a: torch.as_tensor(a, dtype=op.dtype, device=op.device)  # noqa: E731
    vectors = as_t(vecs)
    lam = as_t(values[:, 0])
    residual = (op.matvec(vectors) - lam[:, None] * vectors).norm(dim=1)
    spent = op.matvecs - start - 1
    return EigenEstimate(as_t(values), vectors, spent, torch.full((B,), spent // max(B, 1)), torch.as_tensor(ok),
                         residual)


def dense_hessian(loss: BatchedLoss | HessianOperator, theta: torch.Tensor | None = None) -> torch.Tensor:
    """The full Hessians (B, P, P) from P batched HVPs with the unit vectors, symmetrized. For small models and
    tests (a plain loop: ``is_grads_batched`` was measured slower on CPU)."""
    op = _operator(loss, theta)
    B, P = op.shape
    H = torch.empty((B, P, P), dtype=op.dtype, device=op.device)
    unit = torch.zeros((B, P), dtype=op.dtype, device=op.device)
    for i in range(P):
        unit.zero_()
        unit[:, i] = 1.0
        H[:, i, :] = op.matvec(unit)
    return 0.5 * (H + H.transpose(1, 2))


# ------------------------------------------------------------------------------------------------
# conveniences


def top_eigenvalue(loss: BatchedLoss | HessianOperator, theta: torch.Tensor | None = None, *,
                   method: str = "lanczos", tol: float = 1e-8, iters: int = 100,
                   v0: torch.Tensor | None = None, generator: torch.Generator | None = None) -> EigenEstimate:
    """Sharpness $\\lambda_{\\max}(\\nabla^2 L_b)$ per row by ``method``: 'lanczos' (default), 'power'
    (largest modulus: equal to $\\lambda_{\\max}$ when it dominates the negative end), 'eigsh' or 'dense'.
    ``values`` has shape (B,) whatever the method."""
    if method == "lanczos":
        return _one_per_row(lanczos(loss, theta, k=1, steps=iters, tol=tol, v0=v0, generator=generator, ends="top")[0])
    if method == "power":
        return power_iteration(loss, theta, iters=iters, tol=tol, v0=v0, generator=generator)
    if method == "eigsh":
        return _one_per_row(eigsh(loss, theta, k=1, which="LA", tol=tol, v0=v0))
    if method == "dense":
        return _one_per_row(_dense_extreme(loss, theta, top=True))
    raise InputError(f"method must be one of lanczos, power, eigsh, dense; got {method!r}")


def bottom_eigenvalue(loss: BatchedLoss | HessianOperator, theta: torch.Tensor | None = None, *,
                      method: str = "lanczos", tol: float = 1e-8, iters: int = 100,
                      v0: torch.Tensor | None = None, generator: torch.Generator | None = None) -> EigenEstimate:
    r"""Most negative (smallest) Hessian eigenvalue per row: 'lanczos' (default), 'eigsh', 'dense', or
    'power' — power iteration on the shifted operator $\sigma I - H$ with $\sigma$ an upper bound on
    $\lambda_{\max}$ (the Lanczos top value plus its residual), so its dominant eigenvalue is
    $\sigma - \lambda_{\min}$. ``values`` has shape (B,) whatever the method."""
    if method == "lanczos":
        return _one_per_row(lanczos(loss, theta, k=1, steps=iters, tol=tol, v0=v0, generator=generator,
                                    ends="bottom")[1])
    if method == "eigsh":
        return _one_per_row(eigsh(loss, theta, k=1, which="SA", tol=tol, v0=v0))
    if method == "dense":
        return _one_per_row(_dense_extreme(loss, theta, top=False))
    if method == "power":
        op = _operator(loss, theta)
        top = lanczos(op, k=1, steps=min(30, op.shape[1]), tol=1e-6, generator=generator, ends="top", vectors=False)[0]
        sigma = (top.values[:, 0] + top.residual).abs() * 1.01 + 1e-12
        shifted = _Shifted(op, sigma)
        est = power_iteration(shifted, iters=iters, tol=tol, v0=v0, generator=generator)  # type: ignore[arg-type]
        est.values = sigma - est.values
        est.matvecs += top.matvecs
        return est
    raise InputError(f"method must be one of lanczos, power, eigsh, dense; got {method!r}")


def _one_per_row(est: EigenEstimate) -> EigenEstimate:
    """The estimate with ``values`` (B, 1) reshaped to (B,)."""
    est.values = est.values.reshape(est.values.shape[0])
    return est


class _Shifted:
    r"""$\sigma_b I - H_b$ for the shifted power iteration (an operator with the parent's shape)."""

    def __init__(self, parent: HessianOperator, sigma: torch.Tensor):
        self.parent, self.sigma = parent, sigma
        self.shape, self.dtype, self.device = parent.shape, parent.dtype, parent.device
        self.matvecs = 0

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        self.matvecs += 1
        return self.sigma[:, None] * v - self.parent.matvec(v)


def _dense_extreme(loss, theta, top: bool) -> EigenEstimate:
    op = _operator(loss, theta)
    H = dense_hessian(op)
    vals, vecs = torch.linalg.eigh(H)
    idx = -1 if top else 0
    B = op.shape[0]
    lam, vec = vals[:, idx], vecs[:, :, idx]
    return EigenEstimate(lam, vec, op.matvecs, torch.full((B,), op.shape[1]), torch.ones(B, dtype=torch.bool),
                         torch.zeros(B, dtype=op.dtype))
