r"""Dataset generators, batched over seeds, deterministic in the seed.

Every generator draws each seed's data with its own CPU ``torch.Generator`` seeded with that
seed (so the data do not depend on the device or on the other seeds in the batch), in float64,
then moves the batch to ``device``. Leading axis = seed.

Separable data (see ``theorycheck.verify.claims.separable``): fixed-step GD shows its
asymptotic $1/\log t$ regime only when the non-support points are well away from the margin
(a point with normalized margin $r > 1$ relative to the SVM margin is forgotten like $t^{-r}$;
with $r \approx 1$ it pollutes the direction for decades). :func:`separable_binary` therefore
*plants* the max-margin solution: a few support points at margin exactly $\gamma$ around a
random unit direction $w^\star$, arranged so that $w^\star$ lies in their conic hull, and all
other points at margin at least ``gap_factor`` $\cdot\gamma$. Then the hard-margin SVM is known
in closed form, $\hat w = w^\star/\gamma$ (KKT: feasible, $\hat w = \sum_s\alpha_s z_s$ with
$\alpha_s > 0$, and only the planted points are active).
"""

from __future__ import annotations

from typing import Sequence

import torch

from theorycheck.errors import InputError

__all__ = ["separable_binary", "separable_multiclass", "fold_labels", "seed_generator"]


def seed_generator(seed: int) -> torch.Generator:
    """CPU generator for one seed (data must not depend on the device)."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return gen


def _seeds(seeds: Sequence[int] | int) -> list[int]:
    if isinstance(seeds, int):
        if seeds < 1:
            raise InputError(f"seeds must be at least 1, got {seeds}")
        return list(range(seeds))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("seeds must name at least one seed")
    return seeds


def _check_int(name: str, value, minimum: int = 1) -> None:
    """InputError unless ``value`` is an integer >= ``minimum``."""
    if int(value) != value or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{name} must be {what}, got {value!r}")


def _check_margin(margin_threshold: float) -> None:
    if not margin_threshold > 0:
        raise InputError(f"margin_threshold must be positive, got {margin_threshold!r}")


def _truncated_abs_normal(size: int, lower: float, gen: torch.Generator) -> torch.Tensor:
    r"""Samples of $|g|$, $g \sim N(0,1)$, conditioned on $|g| \ge$ ``lower`` (inverse CDF, exact)."""
    lower_t = torch.tensor(float(lower), dtype=torch.float64)
    p_lo = torch.special.ndtr(lower_t)
    u = torch.rand(size, generator=gen, dtype=torch.float64)
    p = p_lo + u * (1.0 - p_lo)
    p = p.clamp(max=1.0 - 1e-16)
    return torch.special.ndtri(p)


def separable_binary(
    n: int,
    d: int,
    seeds: Sequence[int] | int,
    margin_threshold: float = 0.5,
    *,
    n_support: int | None = None,
    gap_factor: float = 2.0,
    offset: float = 0.0,
    support_weights: Sequence[float] | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    return_direction: bool = False,
) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Linearly separable binary data through the origin, one dataset per seed.

    Returns ``X`` (seeds, n, d) and labels ``y`` (seeds, n) in $\{-1, +1\}$ (and the planted unit
    direction ``w_star`` (seeds, d) if ``return_direction``).

    * ``n_support`` $= m \ge 1$ (default $\min(\lceil d/2\rceil, \max(1, \lfloor n/2\rfloor))$): planted mode. $m$ points $z_s = \gamma w^\star + v_s$
      with $\gamma$ = ``margin_threshold``, $v_s \perp w^\star$ Gaussian, re-centred so that
      $\sum_s a_s v_s = 0$ for random weights $a_s \in [0.5, 1.5]$; the other $n - m$ points have
      $|w^{\star\top} x| \ge$ ``gap_factor`` $\cdot\gamma$ (exact truncated-normal draw), Gaussian
      orthogonal part. Then $\hat w = w^\star/\gamma$, the SVM margin is $\gamma$, the support vectors
      are the planted points, and every other point has normalized margin $\ge$ ``gap_factor``.
      Keep $m < d$ when another norm's max-margin solution must differ from $\hat w$: with $m = d$
      independent support points the solution is a vertex of $\{Zw \ge 1\}$ and the $\ell_1$ and
      $\ell_\infty$ programs often return the same point.
    * ``support_weights``: the weights $a_s$ (length $m$, positive) instead of random ones; the SVM dual is
      $\alpha \propto a$, so e.g. ``(1, 3)`` fixes the spread of the dual on every dataset (the random draw is
      still made, so the rest of the data are those of the default).
    * ``offset``: the orthogonal parts of the non-support points get mean ``offset`` $\cdot u$ for a
      random unit $u \perp w^\star$ (default 0). The SVM is unchanged, but the data mean — hence
      the first GD steps from $w = 0$ — points away from $\hat w$, so the direction has to travel.
    * ``n_support=0``: generic mode. $x \sim N(0, I_d)$ conditioned on $|w^{\star\top}x| \ge \gamma$,
      $y = \mathrm{sign}(w^{\star\top} x)$: separable with margin $\ge\gamma$ along $w^\star$, but the SVM
      direction is not $w^\star$ (solve it) and near-margin non-support points are likely.
    """
    seeds = _seeds(seeds)
    _check_int("n", n)
    _check_int("d", d)
    _check_margin(margin_threshold)
    if not gap_factor >= 1:
        raise InputError(f"gap_factor must be >= 1, got {gap_factor!r}")
    m = min((d + 1) // 2, max(1, n // 2)) if n_support is None else int(n_support)
    if support_weights is not None and (len(support_weights) != m or min(support_weights) <= 0):
        raise InputError(f"support_weights must be {m} positive numbers (one per support point), got {support_weights}")
    if m < 0 or m > n:
        raise InputError(f"n_support must be in [0, n={n}], got {n_support!r}")
    if m > d:
        raise InputError(f"n_support={m} exceeds d={d}: a planted support set needs at most d points")
    gamma = float(margin_threshold)
    Xs, ys, ws = [], [], []
    for seed in seeds:
        gen = seed_generator(seed)
        w_star = torch.randn(d, generator=gen, dtype=torch.float64)
        w_star = w_star / w_star.norm()
        proj = torch.eye(d, dtype=torch.float64) - torch.outer(w_star, w_star)
        lower = gamma * (gap_factor if m > 0 else 1.0)
        k = n - m
        s = _truncated_abs_normal(k, lower, gen)
        sign = torch.where(torch.rand(k, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0).to(torch.float64)
        g = torch.randn(k, d, generator=gen, dtype=torch.float64) @ proj
        if offset:
            u = torch.randn(d, generator=gen, dtype=torch.float64) @ proj
            g = g + float(offset) * u / u.norm()
        z_rest = s[:, None] * w_star[None, :] + g  # y_i x_i for the non-support points
        if m > 0:
            v = torch.randn(m, d, generator=gen, dtype=torch.float64) @ proj
            a = 0.5 + torch.rand(m, generator=gen, dtype=torch.float64)
            if support_weights is not None:
                a = torch.as_tensor(support_weights, dtype=torch.float64)
            v = v - (a @ v) / a.sum()
            z_sup = gamma * w_star[None, :] + v
            sign_sup = torch.where(torch.rand(m, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0).to(torch.float64)
            z = torch.cat([z_sup, z_rest])
            y = torch.cat([sign_sup, sign])
        else:
            z, y = z_rest, sign
        perm = torch.randperm(n, generator=gen)
        z, y = z[perm], y[perm]
        Xs.append(y[:, None] * z)
        ys.append(y)
        ws.append(w_star)
    X = torch.stack(Xs).to(device=device, dtype=dtype)
    y = torch.stack(ys).to(device=device, dtype=dtype)
    if return_direction:
        return X, y, torch.stack(ws).to(device=device, dtype=dtype)
    return X, y


def separable_multiclass(
    n: int,
    d: int,
    K: int,
    seeds: Sequence[int] | int,
    margin_threshold: float = 0.5,
    *,
    planted: bool = True,
    gap_factor: float = 2.0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    return_teacher: bool = False,
) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Linearly separable K-class data, one dataset per seed; integer labels in [0, K).

    Returns ``X`` (seeds, n, d), labels ``y`` (seeds, n) (int64), and with ``return_teacher`` a
    (seeds, K, d) matrix: the planted multiclass SVM solution $\hat W$ (planted mode) or the
    random teacher $W^\star$ (rejection mode).

    * ``planted=True`` (needs $d > K$ and $n \ge 2K(K-1)$): in coordinates $e_1..e_K$ (then rotated
      by a random orthogonal $Q$), with $\gamma$ = ``margin_threshold`` and $g$ = ``gap_factor``, for
      every ordered pair $(c, k)$ two support points of class $c$,
      $x = \tfrac{\gamma}{2}(e_c - e_k) - (g - \tfrac12)\gamma\sum_{j\ne c,k} e_j \pm v$ with $v$ Gaussian
      in the last $d - K$ coordinates. All other points have score gaps
      $x_c - x_j \ge g\gamma$ to every other class. With $\hat W = \gamma^{-1}[I_K - \tfrac1K 11^\top, 0]Q^\top$,
      the support points meet $(\hat w_c - \hat w_k)^\top x = 1$ on their pair and $= g$ elsewhere,
      every other constraint is $\ge g$, and KKT holds with equal duals $\alpha = 1/(2K\gamma^2)$ (the
      $\pm v$ cancel; $\sum_{c\ne k}(e_c - e_k)(e_c - e_k)^\top = 2(KI - 11^\top)$). So $\hat W$ is the
      multiclass max-margin solution, and every non-active constraint has normalized margin $\ge g$
      (no slow pre-asymptotic plateau, see :func:`separable_binary`).
    * ``planted=False``: a teacher $W^\star$ with Gaussian rows; $x \sim N(0, I_d)$ labelled
      $\arg\max_k w_k^{\star\top}x$, kept if $\min_{k\ne y}(w^\star_y - w^\star_k)^\top x/\|w^\star_y - w^\star_k\| \ge$
      ``margin_threshold``; about $n/K$ points per class.
    """
    seeds = _seeds(seeds)
    _check_int("K", K, 2)
    _check_int("d", d)
    _check_margin(margin_threshold)
    if planted:
        if d <= K:
            raise InputError(f"planted multiclass data need d > K, got d={d}, K={K}")
        if int(n) != n or n < 2 * K * (K - 1):
            raise InputError(f"planted multiclass data need n >= 2K(K-1) = {2 * K * (K - 1)}, got n={n!r}")
        if not gap_factor >= 1:
            raise InputError(f"gap_factor must be >= 1, got {gap_factor!r}")
        return _planted_multiclass(int(n), int(d), int(K), seeds, float(margin_threshold), float(gap_factor),
                                   device, dtype, return_teacher)
    if int(n) != n or n < K:
        raise InputError(f"n must be an integer >= K={K}, got {n!r}")
    want = torch.tensor([n // K + (1 if c < n % K else 0) for c in range(K)])
    Xs, ys, Ws = [], [], []
    for seed in seeds:
        gen = seed_generator(seed)
        W = torch.randn(K, d, generator=gen, dtype=torch.float64)
        diff = W[:, None, :] - W[None, :, :]  # (K, K, d): w_c - w_k
        dn = diff.norm(dim=-1) + torch.eye(K, dtype=torch.float64)
        got: list[list[torch.Tensor]] = [[] for _ in range(K)]
        counts = torch.zeros(K, dtype=torch.long)
        for _ in range(10000):
            if bool((counts >= want).all()):
                break
            x = torch.randn(4 * n, d, generator=gen, dtype=torch.float64)
            scores = x @ W.T
            lab = scores.argmax(dim=1)
            marg = (scores[:, :, None] - scores[:, None, :]) / dn[None]  # (B, c, k)
            marg = marg[torch.arange(x.shape[0]), lab]  # (B, k)
            marg[torch.arange(x.shape[0]), lab] = float("inf")
            ok = marg.min(dim=1).values >= margin_threshold
            for c in range(K):
                need = int(want[c] - counts[c])
                if need > 0:
                    pts = x[ok & (lab == c)][:need]
                    got[c].append(pts)
                    counts[c] += pts.shape[0]
        else:  # pragma: no cover - only for absurd thresholds
            raise InputError(f"margin_threshold={margin_threshold} too large: could not draw enough points")
        X = torch.cat([torch.cat(g) for g in got])
        y = torch.cat([torch.full((int(want[c]),), c, dtype=torch.long) for c in range(K)])
        perm = torch.randperm(n, generator=gen)
        Xs.append(X[perm])
        ys.append(y[perm])
        Ws.append(W)
    X = torch.stack(Xs).to(device=device, dtype=dtype)
    y = torch.stack(ys).to(device=device)
    if return_teacher:
        return X, y, torch.stack(Ws).to(device=device, dtype=dtype)
    return X, y


def _planted_multiclass(n, d, K, seeds, gamma, g, device, dtype, return_teacher):
    Xs, ys, Ws = [], [], []
    eye = torch.eye(K, dtype=torch.float64)
    for seed in seeds:
        gen = seed_generator(seed)
        Q, R = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
        Q = Q * torch.sign(torch.diagonal(R))[None, :]  # Haar-distributed rotation
        pts, labs = [], []
        for c in range(K):
            for k in range(K):
                if c == k:
                    continue
                base = torch.zeros(d, dtype=torch.float64)
                base[:K] = -(g - 0.5) * gamma * (1.0 - eye[c] - eye[k])
                base[c], base[k] = gamma / 2, -gamma / 2
                v = torch.zeros(d, dtype=torch.float64)
                v[K:] = torch.randn(d - K, generator=gen, dtype=torch.float64)
                pts += [base + v, base - v]
                labs += [c, c]
        m = n - len(pts)
        x = torch.randn(m, d, generator=gen, dtype=torch.float64)
        lab = torch.randint(0, K, (m,), generator=gen)
        head = x[:, :K].clone()
        rows = torch.arange(m)
        others = head.clone()
        others[rows, lab] = float("-inf")
        extra = 0.5 * gamma * torch.rand(m, generator=gen, dtype=torch.float64)
        head[rows, lab] = others.max(dim=1).values + g * gamma + extra
        x[:, :K] = head
        X = torch.cat([torch.stack(pts), x]) @ Q.T  # rotate every point: x -> Q x
        y = torch.cat([torch.tensor(labs, dtype=torch.long), lab])
        perm = torch.randperm(n, generator=gen)
        Xs.append(X[perm])
        ys.append(y[perm])
        W = torch.zeros(K, d, dtype=torch.float64)
        W[:, :K] = (eye - 1.0 / K) / gamma
        Ws.append(W @ Q.T)
    X = torch.stack(Xs).to(device=device, dtype=dtype)
    y = torch.stack(ys).to(device=device)
    if return_teacher:
        return X, y, torch.stack(Ws).to(device=device, dtype=dtype)
    return X, y


def fold_labels(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""$Z = y \odot X$: rows $z_i = y_i x_i$ (batched over leading axes)."""
    return y[..., None] * X
