r"""Bounds checked both ways: they hold on every draw, they scale as the measured quantity does,
and they say something.

An upper bound $B(x)$ on a measured quantity $E(x)$ (a Rademacher complexity, a test error) is a
claim about three things, each a check here:

* **holds** — $E \le B$ on every draw (quantifier ``every``): one draw above the bound is a
  counterexample;
* **dependence** — for each variable $x$ the bound names ($n$, width, norms, depth, $d$), the log-log
  slope of $E$ against $x$ matches that of $B$ within a stated tolerance, fitted over at least a decade
  (a bound loose by $\sqrt n$ holds but fails here);
* **informative** — a bound on an error rate that is $\ge 1$ is vacuous: the check says so and is
  undecided, never passing.

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


def bound_holds(name: str, estimate: np.ndarray, bound: np.ndarray, *, labels: Sequence[str] | None = None,
                curve: Curve | None = None, se: np.ndarray | None = None) -> CheckResult:
    r"""$E/B \le 1$ on every draw (``se``: standard error of each $E$, scaled by $B$ inside)."""
    estimate, bound = np.asarray(estimate, float).reshape(-1), np.asarray(bound, float).reshape(-1)
    scaled_se = None if se is None else np.asarray(se, float).reshape(-1) / bound
    return seed_check(name, estimate / bound, 1.0, "<=", quantifier="every", labels=labels, curve=curve,
                      se=scaled_se)


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log-log slope of each row of ``y`` (draws, len(x)) against ``x``."""
    y = np.atleast_2d(np.asarray(y, float))
    return np.array([log_slope(x, row) for row in y])


def bound_dependence(name: str, x: np.ndarray, estimate: np.ndarray, bound: np.ndarray, tolerance: float, *,
                     variable: str, quantifier: str = "every", labels: Sequence[str] | None = None) -> CheckResult:
    r"""$|\partial\log E/\partial\log x - \partial\log B/\partial\log x| \le$ ``tolerance`` per draw.

    ``estimate`` and ``bound`` have shape (draws, len(x)); ``x`` must span at least a decade.
    """
    x = np.asarray(x, float)
    if x.max() / x.min() < 10 - 1e-9:
        raise ValueError(f"{name}: the dependence on {variable} is fitted over at least a decade, "
                         f"got [{x.min():g}, {x.max():g}]")
    est, bnd = np.atleast_2d(estimate), np.atleast_2d(bound)
    gap = np.abs(slopes(x, est) - slopes(x, bnd))
    curve = Curve(x, est, xlabel=variable, ylabel="estimate and bound", logx=True, logy=True,
                  predicted=np.median(bnd, axis=0), predicted_label="bound", label="estimate")
    return seed_check(f"{name}: |slope in {variable} of estimate - of bound|", gap, tolerance, "<=",
                      quantifier=quantifier, labels=labels, curve=curve)


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
