r"""Scaling exponents in width (or samples, features) checked from per-seed log-log slopes.

Each seed draws one independent network (or data set) per value of $x$, so its log-log slope $s_i$ of $y$
against $x$ is an unbiased estimate of the exponent of the geometric mean, $\mathbb E\log y = c + e\log x$.
Most exponent statements of the kernel family are statements about that expectation, hence quantifier
``mean`` (Student's $t$ interval of $\bar s$); where an exponent holds for every initialization (almost-sure
limits) the quantifier is ``every`` and each seed's $|s_i - e_{pred}|$ is judged. Two-sided ``mean`` and
``typical`` checks $|e - e_{pred}| \le \tau$ are decided on the side where the mean (median) lies (values
$\pm(s_i - e_{pred})$): the whole interval must lie within $\tau$ to pass and beyond it to fail, and the
margin is $|\bar s - e_{pred}|/\tau$.
"""

from __future__ import annotations

import warnings

import numpy as np

from theorycheck.verify.claim import CheckResult, Curve
from theorycheck.verify.rates import log_slope
from theorycheck.verify.stats import current_level, mean_interval, seed_check


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row log-log slope of ``y`` (rows, len(x)) against ``x`` (nan where a row is not positive)."""
    x = np.asarray(x, float)
    y = np.atleast_2d(np.asarray(y, float))
    return np.array([log_slope(x, row) if np.all(np.isfinite(row) & (row > 0)) else np.nan for row in y])


def slope_summary(s: np.ndarray) -> str:
    """'slope -0.49 [-0.52, -0.46]': the mean slope with its t interval at the current level."""
    s = np.asarray(s, float)
    s = s[np.isfinite(s)]
    if s.size < 2:
        return f"slope {np.mean(s):.3g}" if s.size else "slope n/a"
    mean, lo, hi = mean_interval(s, current_level())
    return f"slope {mean:.3f} [{lo:.3f}, {hi:.3f}]"


def exponent_curve(x: np.ndarray, y: np.ndarray, predicted: float | None, *, xlabel: str, ylabel: str,
                   predicted_label: str = "", extra: dict[str, np.ndarray] | None = None) -> Curve:
    """The measured series per seed, labelled with the fitted mean slope and its interval, and the predicted
    power law (dashed) through the geometric mean of the data at the middle of the range."""
    x = np.asarray(x, float)
    y = np.atleast_2d(np.asarray(y, float))
    line = None
    if predicted is not None:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # a censored (all-nan) column has no centre
            centre = np.exp(np.nanmean(np.log(np.where(y > 0, y, np.nan)), axis=0))
        mid = len(x) // 2
        line = centre[mid] * (x / x[mid]) ** predicted
    return Curve(x=x, y=y, xlabel=xlabel, ylabel=ylabel, logx=True, logy=True, predicted=line,
                 predicted_label=predicted_label or (f"slope {predicted + 0.0:g}" if predicted is not None else ""),
                 label=f"measured, {slope_summary(slopes(x, y))}", extra=extra or {})


def mean_equals(name: str, values: np.ndarray, predicted: float, tolerance: float, *, curve: Curve | None = None,
                quantifier: str = "mean", labels: list[str] | None = None, what: str = "mean") -> CheckResult:
    r"""$|v - v_{pred}| \le \tau$: ``every`` judges each seed's $|v_i - v_{pred}|$; ``mean`` and ``typical`` decide
    on the side where the mean (median) lies, so that the interval of the statistic is the one compared."""
    dev = np.asarray(values, float) - predicted
    finite = dev[np.isfinite(dev)]
    if quantifier == "every":
        signed = np.abs(dev)
    else:
        centre = (np.median(finite) if quantifier == "typical" else finite.mean()) if finite.size else 0.0
        signed = dev if centre >= 0 else -dev
    return seed_check(f"{name}: |{what} - ({predicted:.3g})|", signed, tolerance, "<=", quantifier=quantifier,
                      curve=curve, labels=labels)


def exponent_equals(name: str, s: np.ndarray, predicted: float, tolerance: float, *, curve: Curve | None = None,
                    quantifier: str = "mean", labels: list[str] | None = None) -> CheckResult:
    r"""$|\bar s - e_{pred}| \le \tau$ for per-seed slopes ``s`` (see the module docstring)."""
    return mean_equals(name, s, predicted, tolerance, curve=curve, quantifier=quantifier, labels=labels,
                       what="slope")


def exponent_at_most(name: str, s: np.ndarray, bound: float, *, curve: Curve | None = None,
                     quantifier: str = "mean") -> CheckResult:
    r"""$\bar s \le$ ``bound`` (decays at least as fast as $x^{bound}$), decided on the interval of the mean."""
    return _shifted(name, s, bound, "<=", curve, quantifier)


def exponent_at_least(name: str, s: np.ndarray, bound: float, *, curve: Curve | None = None,
                      quantifier: str = "mean") -> CheckResult:
    r"""$\bar s \ge$ ``bound`` (decays no faster than $x^{bound}$), decided on the interval of the mean."""
    return _shifted(name, s, bound, ">=", curve, quantifier)


def _shifted(name: str, s: np.ndarray, bound: float, relation: str, curve: Curve | None,
             quantifier: str) -> CheckResult:
    """Slopes compared with a negative bound through their magnitude, so that the margin is a ratio of positive
    numbers: ``s <= b < 0`` is ``-s >= -b``; ``s >= b`` with ``b < 0`` is ``-s <= -b``."""
    s = np.asarray(s, float)
    if bound < 0:
        flipped = ">=" if relation == "<=" else "<="
        return seed_check(f"{name}: slope {relation} {bound:.3g}", -s, -bound, flipped, quantifier=quantifier,
                          curve=curve)
    return seed_check(f"{name}: slope {relation} {bound:.3g}", s, bound, relation, quantifier=quantifier, curve=curve)
