r"""Bounds checked both ways: they hold on every draw, they scale as the measured quantity does,
and they say something.

An upper bound $B(x)$ on a measured quantity $E(x)$ (a Rademacher complexity, a test error) is a
claim about three things, each a check here:

* **holds** — $E \le B$ on every draw (quantifier ``every``): one draw above the bound is a
  counterexample (:func:`bound_holds`; ``kind="lower"`` checks a lower bound $E \ge B$ the same way);
* **dependence** — for each variable $x$ the bound names ($n$, width, norms, depth, $d$), the log-log
  slope of $E$ against $x$ matches that of $B$ within a stated tolerance, fitted over at least a decade
  (:func:`bound_dependence`; a bound loose by $\sqrt n$ holds but fails here). Where the quantity is
  known to lie within a factor $\kappa$ of the bound (a matching lower bound), :func:`band_tolerance`
  gives the largest slope difference that sandwich allows — a tolerance no correct bound can exceed;
* **informative** — a bound on an error rate that is $\ge 1$ is vacuous: the check says so and is
  undecided, never passing (:func:`informative`).

Tightness $E/B$ is reported next to the best known lower bound where one exists
(:func:`tightness`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from theorycheck.verify.claim import CheckResult, Curve
from theorycheck.verify.rates import log_slope
from theorycheck.verify.stats import seed_check

#: stands in for estimate / bound when the bound is 0 and the estimate positive (a decided violation)
_FAR_ABOVE = 1e300


def ratio_to_bound(estimate: np.ndarray, bound: np.ndarray) -> np.ndarray:
    r"""$E/B$, with a zero bound under a positive estimate counted as a (finite, huge) violation and
    $0/0$ as 0: a bound that predicts nothing where something is measured is violated, not undecided."""
    estimate, bound = np.asarray(estimate, float), np.asarray(bound, float)
    safe = np.where(bound > 0, bound, 1.0)
    return np.where(bound > 0, estimate / safe, np.where(estimate > 0, _FAR_ABOVE, 0.0))


def bound_holds(name: str, estimate: np.ndarray, bound: np.ndarray, *, labels: Sequence[str] | None = None,
                curve: Curve | None = None, se: np.ndarray | None = None, kind: str = "upper") -> CheckResult:
    r"""$E/B \le 1$ (``kind="upper"``) or $E/B \ge 1$ (``kind="lower"``) on every draw.

    ``estimate``, ``bound`` (and ``se``, the standard error of each $E$) are flattened together; each
    item is judged on its own (a Monte Carlo $E$ with its Bonferroni interval, see
    :func:`~theorycheck.verify.stats.seed_check`).
    """
    if kind not in ("upper", "lower"):
        raise ValueError(f"kind must be 'upper' or 'lower', got {kind!r}")
    estimate, bound = np.asarray(estimate, float).reshape(-1), np.asarray(bound, float).reshape(-1)
    scaled_se = None if se is None else np.asarray(se, float).reshape(-1) / np.where(bound > 0, bound, 1.0)
    relation = "<=" if kind == "upper" else ">="
    return seed_check(name, ratio_to_bound(estimate, bound), 1.0, relation, quantifier="every", labels=labels,
                      curve=curve, se=scaled_se)


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log-log slope of each row of ``y`` (draws, len(x)) against ``x``."""
    y = np.atleast_2d(np.asarray(y, float))
    return np.array([log_slope(x, row) for row in y])


def slope_weights(x: np.ndarray) -> np.ndarray:
    r"""Least-squares weights $w_i = (u_i-\bar u)/\sum_j(u_j-\bar u)^2$, $u = \log x$: the slope is
    $\sum_i w_i\log y_i$."""
    u = np.log(np.asarray(x, float))
    u = u - u.mean()
    return u / np.sum(u**2)


def slope_se(x: np.ndarray, y: np.ndarray, y_se: np.ndarray) -> np.ndarray:
    r"""Standard error of each row's log-log slope from independent per-point standard errors:
    $\big(\sum_i w_i^2(\mathrm{se}_i/y_i)^2\big)^{1/2}$ (delta method, :func:`slope_weights`)."""
    w = slope_weights(x)
    rel = np.atleast_2d(np.asarray(y_se, float)) / np.atleast_2d(np.asarray(y, float))
    return np.sqrt(np.sum((w * rel) ** 2, axis=-1))


def jackknife_slope_se(x: np.ndarray, draws: np.ndarray) -> np.ndarray:
    r"""Standard error of the log-log slope of the draw-average, by the jackknife over draws.

    ``draws`` (S, len(x), K): K Monte Carlo draws per grid point (independent across the grid, or common
    random numbers shared by all points — the jackknife leaves one draw out everywhere, so it is right
    in both cases, where :func:`slope_se` would overstate the error of a common-draw design).
    """
    draws = np.asarray(draws, float)
    K = draws.shape[-1]
    if K < 3:
        raise ValueError(f"the jackknife needs at least 3 draws, got {K}")
    total = draws.sum(-1)
    loo = np.stack([slopes(x, (total - draws[..., k]) / (K - 1)) for k in range(K)], -1)   # (S, K)
    return np.sqrt((K - 1) / K * np.sum((loo - loo.mean(-1, keepdims=True)) ** 2, axis=-1))


def band_tolerance(x: np.ndarray, factor: float) -> float:
    r"""The largest least-squares log-slope of a ratio confined to a band $[r, \kappa r]$ over the grid
    ``x``: $\tfrac12\ln\kappa\,\sum_i|w_i|$ (:func:`slope_weights`).

    If a quantity is known to lie between $B/\kappa$ and $B$ (a lower bound within a factor $\kappa$
    of the upper bound), its slope and the bound's can differ by at most this much; a larger
    difference means a wrong dependence.
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    return float(0.5 * np.log(factor) * np.sum(np.abs(slope_weights(x))))


def bound_dependence(name: str, x: np.ndarray, estimate: np.ndarray, bound: np.ndarray, tolerance: float, *,
                     variable: str, quantifier: str = "every", labels: Sequence[str] | None = None,
                     se: np.ndarray | None = None, role: str = "check") -> CheckResult:
    r"""$|\partial\log E/\partial\log x - \partial\log B/\partial\log x| \le$ ``tolerance`` per draw.

    ``bound`` has shape (S, len(x)); ``x`` must span at least a decade. ``estimate`` is (S, len(x)),
    optionally with ``se`` (same shape) the standard errors of a Monte Carlo estimate, propagated to each
    slope (:func:`slope_se`) — or (S, len(x), K), the K Monte Carlo draws themselves: the estimate is their
    mean and the slope's standard error comes from the jackknife (:func:`jackknife_slope_se`). Either
    way a seed within noise of the tolerance is undecided.
    """
    x = np.asarray(x, float)
    if x.max() / x.min() < 10 - 1e-9:
        raise ValueError(f"{name}: the dependence on {variable} is fitted over at least a decade, "
                         f"got [{x.min():g}, {x.max():g}]")
    estimate = np.asarray(estimate, float)
    gap_se = None
    if estimate.ndim == 3:
        if se is not None:
            raise ValueError(f"{name}: give either per-point standard errors or the draws, not both")
        gap_se = jackknife_slope_se(x, estimate)
        estimate = estimate.mean(-1)
    est, bnd = np.atleast_2d(estimate), np.atleast_2d(np.asarray(bound, float))
    gap = np.abs(slopes(x, est) - slopes(x, bnd))
    if se is not None:
        gap_se = slope_se(x, est, se)
    curve = Curve(x, est, xlabel=variable, ylabel="estimate and bound", logx=True, logy=True,
                  predicted=np.median(bnd, axis=0), predicted_label="bound", label="estimate")
    return seed_check(f"{name}: |slope in {variable} of estimate - of bound|", gap, tolerance, "<=",
                      quantifier=quantifier, labels=labels, curve=curve, se=gap_se, role=role)


def informative(check: CheckResult, bound: np.ndarray, ceiling: float = 1.0, what: str = "bound") -> CheckResult:
    """The same check, made undecided (never passing) when the bound is vacuous (``bound >= ceiling``)."""
    bound = np.asarray(bound, float)
    vacuous = int(np.sum(bound >= ceiling))
    if vacuous and check.passed is True:
        why = f"{what} is vacuous (>= {ceiling:g}) on {vacuous} of {bound.size} draws (max {bound.max():.3g})"
        return replace(check, passed=None, reason=why)
    return check


def tightness(estimate: np.ndarray, bound: np.ndarray, lower: np.ndarray | None = None) -> dict[str, float]:
    r"""Observations: median $E/B$ and, where a lower bound $\ell$ is known, median $\ell/B$ (the best
    tightness any estimate could show) and $E/\ell$."""
    estimate, bound = np.asarray(estimate, float), np.asarray(bound, float)
    out = {"tightness estimate/bound (median)": float(np.median(estimate / bound))}
    if lower is not None:
        lower = np.asarray(lower, float)
        out["lower bound/bound (median)"] = float(np.median(lower / bound))
        out["estimate/lower bound (median)"] = float(np.median(estimate / lower))
    return out
