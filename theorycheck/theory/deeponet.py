r"""Rademacher bounds for DeepONets (bias-free branch and trunk nets, activation $|\cdot|$).

**The tensor-product bound (the second reference).** A DeepONet $G(u)(y) = \sum_{j=1}^p\mathcal B(u)_j
\mathcal T(y)_j$ with $n$ layers $B_1..B_n$ (branch) and $T_1..T_n$ (trunk), no biases, activation
$|\cdot|$, is *exactly* the $|\cdot|$-network on $x = u\otimes y$ with layers $B_k\otimes T_k$
($k<n$) and last layer $\mathrm{vec}(B_n^\top T_n)^\top$: $(B\otimes T)(a\otimes b) = Ba\otimes Tb$
and $|a\otimes b| = |a|\otimes|b|$ (numerically to ~1e-13, ``tests/test_deeponet.py``). With
$\|B_k\otimes T_k\|_F = \|B_k\|_F\|T_k\|_F$, Golowich, Rakhlin & Shamir (2018), Theorem 1
(:func:`theorycheck.theory.rademacher.golowich_frobenius`; $|\cdot|$ is 1-Lipschitz and positively
homogeneous) gives, for the class with these layer norms at most $M_k$,

.. math::  \hat{\mathfrak R}_S \le \frac{(\sqrt{2\ln 2\cdot n}+1)}{N}\,\|B_n^\top T_n\|_F
   \prod_{k<n}\|B_k\|_F\|T_k\|_F\,\sqrt{\textstyle\sum_{i=1}^N\|u_i\|^2\|y_i\|^2}

(convention: $\hat{\mathfrak R}_S = E_\sigma\sup\frac1N\sum_i\sigma_if(x_i)$, no absolute value;
$N$ = number of (function, point) pairs). The DeepONet class is a subclass of that $|\cdot|$-network
class, so the bound holds for it.

**The paper's capacity measure and its bound.** Gopalani, Karmakar, Kumar & Mukherjee, "Towards
size-independent generalization bounds for deep operator nets" (arXiv 2205.11359, TMLR 2024). The measure
is confirmed from the authors' code (JAX; ``calculate_radbound(model, N_train, P_train)``; MLPs with the
biases commented out), which computes, with $W$ stored as (in, out) and transposed back to our (out, in),

.. math::  C_1 = \sum_{k,l}\|B_{n-1}[k,:]\|_2\,|(B_n^\top T_n)_{kl}|\,\|T_{n-1}[l,:]\|_2,\qquad
   C_k = \big\|\,(\|B_{n-k}[j_1,:]\|\,\|T_{n-k}[j_2,:]\|)_{j_1j_2}\big\|_2 = \|B_{n-k}\|_F\|T_{n-k}\|_F,

and returns ``C_vals[0]*C_vals[1]/sqrt(N_train*P_train)`` — i.e. $C_1C_2/\sqrt{NP}$, the full product
only for $n = 3$ (the code ignores $C_3, \dots$ and fails for $n = 2$). We implement the general product
$C(\theta) = C_1\prod_{k=2}^{n-1}C_k$ (:func:`paper_capacity`). The theorem's constants could not be
read from the stored material (the pages stop at the introduction), so :func:`paper_bound` **derives**
them, in the paper's capacity measure, by Golowich et al.'s peeling (their Lemma 1 and the final
sub-Gaussian step):

.. math::  \hat{\mathfrak R}_S\big(\{C(\theta)\le C\}\big) \le \frac{\sqrt{2\ln 2\,(n-1)}+1}{N}\,C\,
   \sqrt{\textstyle\sum_i\|u_i\|^2\|y_i\|^2}.

Derivation: with $M = B_n^\top T_n$, $r_k = \|B_{n-1}[k,:]\|$, $s_l = \|T_{n-1}[l,:]\|$ and $z = a^B\otimes a^T$
the outputs of layer $n-2$ of both nets, $G = \sum_{k,l}M_{kl}r_ks_l\,|v_{kl}^\top z|$ with unit
$v_{kl} = (B_{n-1}[k,:]\otimes T_{n-1}[l,:])/(r_ks_l)$: an $\ell_1$ combination of weight $C_1$ of
one-neuron $|\cdot|$ units. Hence $\sup\sum_i\sigma_iG(x_i)\le C_1\sup_{\|v\|\le1}|\sum_i\sigma_i|v^\top z_i||$;
Jensen on $\exp(\lambda\,\cdot)$, one peeling step for the unit $v$ and one for each of the $n-2$ layers
$B_k\otimes T_k$ (Frobenius norm $C_{n-k}$; each step a factor 2), then
$\mathbb E\exp(\lambda M\|\sum_i\sigma_ix_i\|)\le\exp(\lambda M\sqrt{S_2}+\lambda^2M^2S_2/2)$ and the optimal
$\lambda$ give the stated bound — Golowich's Theorem 1 at depth $n-1$. Since
$\sum_{kl}r_k|M_{kl}|s_l\le\|r\|\,\|M\|_F\,\|s\|$, $C(\theta)$ never exceeds the Frobenius product of the
checked tensor-product bound (tested), and the depth factor is smaller: this bound is the tighter one.
The authors' code returns $C/\sqrt{NP}$ without the constant and the data factor
(:func:`authors_radbound`); taken as the bound itself it is below the complexity (a control).

**Control.** The same expression with the $1/\sqrt N$ rate replaced by $1/N$
(:func:`too_fast_bound`: $\sqrt{S_2}/N \to \sqrt{S_2/N}/N$) — the estimated complexity must violate it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy as sp

from theorycheck.errors import InputError
from theorycheck.theory.rademacher import Bound, M_F, S2, capacity, depth, golowich_frobenius, n

PAPER_LATEX = (r"C(\theta) = \Big(\sum_{k,l}\|B_{n-1}[k,:]\|_2\,|(B_n^\top T_n)_{kl}|\,\|T_{n-1}[l,:]\|_2\Big)"
               r"\prod_{k=1}^{n-2}\|B_k\|_F\|T_k\|_F")


def deeponet_bound(n_layers: int | None = None) -> Bound:
    r"""The checked bound: Golowich et al. Theorem 1 on the tensor-product network.

    Free symbols: ``M_F`` $= \|B_n^\top T_n\|_F\prod_{k<n}\|B_k\|_F\|T_k\|_F$,
    ``S2`` $= \sum_i\|u_i\|^2\|y_i\|^2$, ``n`` = number of pairs $N$ (and ``depth`` unless given).
    """
    base = golowich_frobenius(n_layers)
    return Bound(
        "deeponet-golowich",
        base.expr,
        ("DeepONet G(u)(y) = B(u).T(y), branch and trunk of equal depth n, no biases, activation |.|",
         "equivalent |.|-network on u (x) y with layers B_k (x) T_k (k<n) and vec(B_n^T T_n)",
         "M_F = ||B_n^T T_n||_F prod_{k<n} ||B_k||_F ||T_k||_F; S2 = sum_i ||u_i||^2 ||y_i||^2",
         *base.assumptions[2:]),
        "Golowich, Rakhlin, Shamir (2018), Thm. 1, applied to the tensor-product form of the DeepONet",
    )


def paper_bound(n_layers: int) -> Bound:
    r"""The bound in the paper's capacity measure, constants derived by Golowich's peeling (module docstring):
    $\hat{\mathfrak R}_S\le(\sqrt{2\ln2\,(n-1)}+1)\,C\,\sqrt{S_2}/N$. Free symbols: ``C`` (the capacity
    :func:`paper_capacity` of the class), ``S2`` $=\sum_i\|u_i\|^2\|y_i\|^2$, ``n`` = number of pairs $N$."""
    if int(n_layers) < 2:
        raise InputError(f"the paper's measure needs n_layers >= 2, got {n_layers}")
    expr = (sp.sqrt(2 * sp.log(2) * (int(n_layers) - 1)) + 1) * capacity * sp.sqrt(S2) / n
    return Bound(
        "deeponet-paper-capacity",
        expr,
        ("DeepONet G(u)(y) = B(u).T(y), branch and trunk of equal depth n >= 2, no biases, activation |.|",
         "C(theta) = C_1 prod_{k=2}^{n-1} ||B_{n-k}||_F ||T_{n-k}||_F <= C (the paper's measure, authors' code)",
         "S2 = sum_i ||u_i||^2 ||y_i||^2; constants derived by Golowich et al.'s peeling at depth n-1",
         "convention: E sup (1/N) sum sigma_i f(x_i), no absolute value"),
        "Gopalani, Karmakar, Kumar, Mukherjee (TMLR 2024, arXiv 2205.11359): capacity measure; constants derived here",
    )


def too_fast_bound(n_layers: int | None = None) -> Bound:
    r"""Control: the checked bound with the rate $1/\sqrt N$ replaced by $1/N$ (wrong on purpose)."""
    expr = deeponet_bound(n_layers).expr * sp.sqrt(1 / n)
    return Bound("deeponet-too-fast (control)", expr, ("deliberately wrong: sqrt(S2)/N -> sqrt(S2/N)/N",),
                 "control, not a theorem")


def frobenius_factors(Bs: Sequence[np.ndarray], Ts: Sequence[np.ndarray]) -> np.ndarray:
    r"""Layer norms of the equivalent network: $[\|B_1\|_F\|T_1\|_F, \dots, \|B_n^\top T_n\|_F]$.

    ``Bs``, ``Ts``: lists of arrays (..., out, in) (batched over leading axes). Returns (..., n).
    """
    _check(Bs, Ts)
    cols = [np.linalg.norm(b, axis=(-2, -1)) * np.linalg.norm(t, axis=(-2, -1)) for b, t in zip(Bs[:-1], Ts[:-1])]
    cols.append(np.linalg.norm(np.swapaxes(Bs[-1], -1, -2) @ Ts[-1], axis=(-2, -1)))
    return np.stack(cols, -1)


def frobenius_product(Bs, Ts) -> np.ndarray:
    """``M_F`` of :func:`deeponet_bound`: the product of :func:`frobenius_factors`."""
    return np.prod(frobenius_factors(Bs, Ts), axis=-1)


def paper_capacity(Bs: Sequence[np.ndarray], Ts: Sequence[np.ndarray]) -> np.ndarray:
    r"""The paper's capacity measure $C(\theta)$ (:data:`PAPER_LATEX`), batched (numpy)."""
    _check(Bs, Ts)
    if len(Bs) < 2:
        raise InputError("the paper's capacity measure needs at least 2 layers per net")
    M = np.abs(np.swapaxes(Bs[-1], -1, -2) @ Ts[-1])
    rb = np.linalg.norm(Bs[-2], axis=-1)
    rt = np.linalg.norm(Ts[-2], axis=-1)
    C = np.einsum("...k,...kl,...l->...", rb, M, rt)
    for b, t in zip(Bs[:-2], Ts[:-2]):
        C = C * np.linalg.norm(b, axis=(-2, -1)) * np.linalg.norm(t, axis=(-2, -1))
    return C


def authors_radbound(Bs, Ts, n_train: int, p_train: int) -> np.ndarray:
    r"""What the authors' ``calculate_radbound`` returns: $C/\sqrt{N_\text{train}P_\text{train}}$."""
    return paper_capacity(Bs, Ts) / np.sqrt(n_train * p_train)


def evaluate_bound(Bs, Ts, sum_sq: np.ndarray, n_pairs: int) -> np.ndarray:
    """The checked bound evaluated at trained weights (batched over leading axes)."""
    n_layers = len(Bs)
    return deeponet_bound(n_layers).evaluate(M_F=frobenius_product(Bs, Ts), S2=sum_sq, n=n_pairs)


def unit_bound(n_layers: int, sum_sq: np.ndarray, n_pairs: int) -> np.ndarray:
    """The checked bound for the class whose layer norms are all 1 (``M_F = 1``)."""
    return deeponet_bound(n_layers).evaluate(M_F=np.ones_like(np.asarray(sum_sq, float)), S2=sum_sq, n=n_pairs)


def _check(Bs, Ts) -> None:
    if len(Bs) != len(Ts) or len(Bs) < 1:
        raise InputError(f"branch and trunk need the same positive depth, got {len(Bs)} and {len(Ts)}")
    if np.shape(Bs[-1])[-2] != np.shape(Ts[-1])[-2]:
        raise InputError(f"branch and trunk outputs differ: p = {np.shape(Bs[-1])[-2]} vs {np.shape(Ts[-1])[-2]}")


__all__ = ["PAPER_LATEX", "deeponet_bound", "paper_bound", "too_fast_bound", "frobenius_factors", "frobenius_product",
           "paper_capacity", "authors_radbound", "evaluate_bound", "unit_bound", "M_F", "S2", "capacity", "depth", "n"]
