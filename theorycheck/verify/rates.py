r"""Rate-law fitting and model selection (docs/architecture.md, "Asymptotic claims").

Each candidate law $a f(t;\theta)$ is fitted to a positive series $g(t)$ in log space:
$\log g = \log a + \log f(t;\theta) + \varepsilon$. For a given $\theta$ the best $\log a$ is
the mean residual, so only the (at most one) shape parameter is optimized numerically.
Laws are compared by BIC $= n\log(\mathrm{RSS}/n) + k\log n$ ($k$ = number of fitted
parameters). Two laws within ``margin`` BIC units of the best are reported as *ambiguous*
instead of naming a winner: over a short window, 1/log t and a small power law fit alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import functools
from typing import Callable, Iterable

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from theorycheck.errors import InputError
from theorycheck.theory.rates import LAWS, RateLaw, law_from_formula, t as t_symbol
from theorycheck.verify.claim import CheckResult, Curve
from theorycheck.verify.stats import seed_check


@dataclass
class Fit:
    """A fitted law: amplitude, shape parameter (or None), residual sum of squares, BIC."""

    law: str
    amplitude: float
    param: float | None
    rss: float
    bic: float
    n: int
    rate_law: RateLaw | None = field(default=None, repr=False, compare=False)

    def predict(self, t: np.ndarray) -> np.ndarray:
        rate_law = self.rate_law or LAWS[self.law]
        return self.amplitude * _shape_values(rate_law, np.asarray(t, float), self.param)


@dataclass
class Selection:
    """Outcome of model selection among candidate laws."""

    fits: dict[str, Fit]
    best: str
    ambiguous: list[str] = field(default_factory=list)

    def delta_bic(self, name: str) -> float:
        return self.fits[name].bic - self.fits[self.best].bic

    @property
    def decided(self) -> bool:
        return not self.ambiguous


@functools.lru_cache(maxsize=256)
def _numeric(law: RateLaw) -> Callable[..., np.ndarray]:
    """The law's shape as a numpy function of (t) or (t, param), lambdified once per law."""
    args = t_symbol if law.param is None else (t_symbol, law.param)
    return sp.lambdify(args, law.shape, "numpy")


def _shape_values(law: RateLaw, t: np.ndarray, param: float | None) -> np.ndarray:
    fn = _numeric(law)
    if law.param is None:
        return np.broadcast_to(np.asarray(fn(t), float), t.shape)
    return np.asarray(fn(t, param), float)


def fit_law(t: np.ndarray, g: np.ndarray, law: RateLaw | str) -> Fit:
    """Least-squares fit of ``law`` to ``g(t)`` in log space; ``t`` must exceed e for log-log laws."""
    law = LAWS[law] if isinstance(law, str) else law
    t = np.asarray(t, float)
    log_g = np.log(np.asarray(g, float))
    if not np.all(np.isfinite(log_g)):
        raise ValueError("rate fitting needs a positive, finite series")

    def rss_and_amp(param: float | None) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            log_f = np.log(_shape_values(law, t, param))
        if not np.all(np.isfinite(log_f)):
            return np.inf, np.nan
        resid = log_g - log_f
        log_a = resid.mean()
        return float(np.sum((resid - log_a) ** 2)), float(log_a)

    param = None
    if law.param is not None:
        lo, hi = law.bounds
        if str(law.param) == "c":  # exponential: scale the search to the time window
            hi = min(hi, 500.0 / t.max())
            opt = minimize_scalar(lambda q: rss_and_amp(np.exp(q))[0], bounds=(np.log(lo), np.log(hi)), method="bounded")
            param = float(np.exp(opt.x))
        else:
            opt = minimize_scalar(lambda q: rss_and_amp(q)[0], bounds=(lo, hi), method="bounded")
            param = float(opt.x)
    rss, log_a = rss_and_amp(param)
    n = t.size
    k = 1 + (law.param is not None)
    bic = n * np.log(max(rss, 1e-300) / n) + k * np.log(n)
    return Fit(law.name, float(np.exp(log_a)), param, rss, float(bic), n, law)


def select_law(t: np.ndarray, g: np.ndarray, candidates: Iterable[str | RateLaw], margin: float = 6.0) -> Selection:
    """Fit every candidate (a name in LAWS or a RateLaw) and pick the lowest BIC; laws within
    ``margin`` of it are ambiguous."""
    fits = {fit.law: fit for fit in (fit_law(t, g, law) for law in candidates)}
    best = min(fits, key=lambda k: fits[k].bic)
    ambiguous = [k for k in fits if k != best and fits[k].bic - fits[best].bic < margin]
    return Selection(fits, best, ambiguous)


def log_slope(x: np.ndarray, y: np.ndarray) -> float:
    r"""Least-squares slope of $\log y$ against $\log x$: the local exponent of $y \sim x^s$."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    lx = lx - lx.mean()
    return float(np.sum(lx * (ly - ly.mean())) / np.sum(lx**2))


def law_values(law: RateLaw, t: np.ndarray) -> np.ndarray:
    """The shape of a fully specified law (no free parameter) evaluated at ``t``."""
    if law.param is not None:
        raise InputError(f"predicted rate {law.name!r} has a free parameter {law.param}: a prediction must fix it "
                         "(a fitted exponent cannot be wrong)")
    return _shape_values(law, np.asarray(t, float), None)


def law_check(name: str, steps: np.ndarray, values: np.ndarray, law: RateLaw | str, *, quantifier: str,
              tolerance: float = 0.1, decades: float = 2.0, clock: np.ndarray | None = None,
              two_sided: bool = True, ylabel: str = "") -> CheckResult:
    r"""Is ``values`` (seeds, T) $\Theta(f)$ (``two_sided``) or $O(f)$ for the law $f$?

    Per seed, the log-slope of $g(t)/f(\tau(t))$ against $\log t$ over the last ``decades`` decades is
    compared with ``tolerance``: $|s| \le$ tol for $\Theta(f)$, $s \le$ tol for $O(f)$. ``clock``
    (seeds, T) is the time the law is evaluated at, $\tau(t)$, where the claim measures one (default: the
    step $t$); e.g. $e^{\|w(t)\|/\|\hat w\|}$ removes the $O(1)$ shift of $\log t$ in the separable claims.
    A wrong law leaves a trend in the ratio: a slope of about $q - p$ for $t^{-p}$ data and a $t^{-q}$ law.
    """
    law = LAWS[law] if isinstance(law, str) else law
    steps = np.asarray(steps, float)
    values = np.asarray(values, float)
    t_eff = np.broadcast_to(steps, values.shape) if clock is None else np.asarray(clock, float)
    with np.errstate(all="ignore"):
        ratio = values / law_values(law, t_eff)
    mask = steps >= steps[-1] / 10**decades
    slopes = np.array([log_slope(steps[mask], r[mask]) if np.all(np.isfinite(r[mask]) & (r[mask] > 0)) else np.nan
                       for r in ratio])
    curve = Curve(steps, ratio, ylabel=ylabel or f"measured / ({law.name})", label="measured / law")
    if two_sided:
        return seed_check(f"{name}: |log-slope of value/({law.name})|", np.abs(slopes), tolerance, "<=",
                          quantifier=quantifier, curve=curve)
    return seed_check(f"{name}: log-slope of value/({law.name})", slopes, tolerance, "<=",
                      quantifier=quantifier, curve=curve)


def exponent_check(name: str, x: np.ndarray, y: np.ndarray, predicted: float, tolerance: float, *,
                   quantifier: str, labels: list[str] | None = None, xlabel: str = "", ylabel: str = "") -> CheckResult:
    r"""Per row of ``y`` (seeds, len(x)), the least-squares log-log slope against ``x`` minus ``predicted``:
    $|s - s_{\mathrm{pred}}| \le$ ``tolerance``. ``x`` must span at least a decade."""
    x = np.asarray(x, float)
    if x.max() / x.min() < 10 - 1e-9:
        raise InputError(f"{name}: an exponent is fitted over at least a decade, got x in [{x.min():g}, {x.max():g}]")
    y = np.atleast_2d(np.asarray(y, float))
    slopes = np.array([log_slope(x, row) if np.all(row > 0) else np.nan for row in y])
    curve = Curve(x, y, xlabel=xlabel, ylabel=ylabel, logx=True, logy=True,
                  predicted=np.median(y[:, 0]) * (x / x[0]) ** predicted, predicted_label=f"slope {predicted:g}")
    return seed_check(f"{name}: |slope - ({predicted + 0.0:.3g})|", np.abs(slopes - predicted), tolerance, "<=",
                      quantifier=quantifier, curve=curve, labels=labels)


def predicted_law(text: str) -> RateLaw:
    """A claim's ``predicted_rate`` parameter as a fully specified law (safe parsing; no free parameter).

    Call it in ``Params.validate`` so that ``--predict-rate`` / ``--set predicted_rate=...`` is refused
    before any training when the formula is malformed or leaves a shape parameter free.
    """
    law = law_from_formula(text)
    if law.param is not None:
        raise InputError(f"predicted rate {text!r} has a free parameter {law.param}: a prediction must fix it")
    return law
