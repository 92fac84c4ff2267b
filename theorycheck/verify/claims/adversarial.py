r"""Adversarial training of linear classifiers on separable data (Li, Fang, Xu, Zhao 2020, ICLR; arXiv 1906.02931).

For a linear classifier the inner maximization of adversarial training has a closed form,
$\min_{\|\delta\|_q\le\varepsilon} y\,w^\top(x+\delta) = z^\top w - \varepsilon\|w\|_{q^*}$, so GD-based
adversarial training is GD on $\sum_i\ell(z_i^\top w - \varepsilon\|w\|_{q^*})$
(:mod:`theorycheck.numerics.adversarial`). The paper (abstract, confirmed with the search tool on
OpenReview / ICLR / arXiv pages): "for any fixed iteration $T$, when the adversarial perturbation during
training has proper bounded $\ell_2$ norm, the classifier learned by gradient descent based adversarial
training converges in direction to the maximum $\ell_2$ norm margin classifier at the rate of
$\tilde O(1/\sqrt T)$, significantly faster than the rate $O(1/\log T)$ of training with clean data"; with
$\ell_q$-bounded perturbations it converges to the maximum mixed-norm margin classifier
$\arg\max_{\|w\|_2\le1}\min_i z_i^\top w - \varepsilon\|w\|_{q^*}$. The stored pages give the abstract only:
the exact condition on the radius behind $\tilde O(1/\sqrt T)$ could not be read, so the schedule
$\varepsilon(T) = \gamma(1 - r_0\sqrt{T_0/T})$ is our reading, derived in
:func:`theorycheck.theory.adversarial.horizon_radius`.

Three claims:

* ``separable.adversarial-l2`` — the published rate, across horizons: for every $T$ of a grid spanning a
  decade (two in the full preset) train with $\varepsilon(T)$ and check that gap$(T)$ is $\tilde O(1/\sqrt T)$;
* ``separable.adversarial-l2-fixed-eps`` — **derived**: at a fixed $\varepsilon$ the gap follows a $1/\log t$
  law with a constant fixed by the SVM dual (gap$\cdot\|w\| \to K$), smaller than plain GD's;
* ``separable.adversarial-linf`` — the mixed-norm limit for $\ell_\infty$ perturbations.

**What fixed-step GD at a fixed $\varepsilon$ does (derived here, measured below).** Write
$w = g\,u^\star + \rho$. Balancing the support weights (:func:`theorycheck.theory.adversarial.balance_offset`)
fixes the component of $\rho$ in the span of the support vectors, $P_\perp\rho \to P_\perp v$ with
$Z_S v = -\log\lambda_S$; for $\ell_2$ perturbations the penalty's gradient $-\varepsilon(\sum_i c_i)\,w/\|w\|$
adds a restoring force $-\tfrac{\varepsilon}{\gamma-\varepsilon}\tfrac{\dot g}{g}\rho_\perp$ that kills every
other component like $g^{-\varepsilon/(\gamma-\varepsilon)}$, while the norm grows like
$g \approx \log t/(\gamma-\varepsilon)$ (the adversarial margin is $\gamma - \varepsilon$). Hence

.. math::  \text{gap}(t) \approx \frac{K}{\|w(t)\|} \approx \frac{K(\gamma-\varepsilon)}{\log t},
           \qquad K = \|P_\perp v\|,

a $1/\log t$ law at fixed $\varepsilon$, with a constant smaller than plain GD's by $(\gamma-\varepsilon)/\gamma$. With the
radius of the horizon, $\gamma - \varepsilon(T) \propto T^{-1/2}$ and $\eta(\gamma-\varepsilon(T))^2T$ fixed, the same formula gives
gap$(T) \propto T^{-1/2}$ — once the out-of-span part, which dies like $g^{-\varepsilon/(\gamma-\varepsilon)}$, is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics.adversarial import adversarial_gd
from theorycheck.numerics.data import fold_labels, separable_binary
from theorycheck.numerics.trajectory import log_spaced_steps
from theorycheck.theory import adversarial as ta
from theorycheck.theory.separable import max_margin
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.metrics import direction_gap
from theorycheck.verify.rates import law_check, log_slope, predicted_law
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

SOURCE = Source(authors="Li, Fang, Xu, Zhao", year=2020,
                title="Implicit Bias of Gradient Descent based Adversarial Training on Separable Data",
                venue="ICLR", arxiv="1906.02931")

#: fraction of the separation D within which the iterate must lie (key check) / stay out of (control)
SEPARATION_FRACTION = 0.25
#: direction gap to the predicted limit at the last horizon (as in the separable family)
TOL_GAP = 0.05
#: log-slope tolerance of the rate laws across horizons
TOL_SLOPE = 0.1
#: a certificate: the mixed-norm program for l2 perturbations returns the SVM direction
TOL_CERTIFICATE = 1e-6


def _data(params: Any, seeds) -> dict[str, Any]:
    X, y = separable_binary(params.n, params.d, list(seeds), margin_threshold=params.margin,
                            n_support=None if params.n_support < 0 else params.n_support,
                            gap_factor=params.gap_factor)
    Z = fold_labels(X, y)
    Zn = Z.numpy()
    sigma2 = np.array([np.linalg.norm(z, 2) ** 2 for z in Zn])
    return {"Z": Z, "Zn": Zn, "lr": params.lr_scale / sigma2}


def _with_svm(data: dict[str, Any]) -> dict[str, Any]:
    """Add the per-dataset l2 SVM (``svm``) and its margin ``gamma``, the l2-robust margin."""
    data["svm"] = [max_margin(z, 2) for z in data["Zn"]]
    data["gamma"] = np.array([s.margin for s in data["svm"]])
    return data


def _validate_data_and_schedule(p: Any) -> None:
    """InputError for the data and step parameters shared by the claims (n, d, margin, lr_scale)."""
    if p.n < 2 or p.d < 2:
        raise InputError(f"n and d must be at least 2, got n={p.n}, d={p.d}")
    if not p.margin > 0:
        raise InputError(f"margin must be positive, got {p.margin}")
    if not p.lr_scale > 0:
        raise InputError(f"lr_scale must be positive, got {p.lr_scale}")


def _validate_steps(steps: int) -> None:
    if steps < 1000:
        raise InputError(f"steps must be at least 1000 (checks compare T with T/100), got {steps}")


def _gap_series(W: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Direction gaps (S, T) of the snapshots ``W`` (S, T, d) to the unit directions ``ref`` (S, d)."""
    return np.stack([direction_gap(W[:, k], ref) for k in range(W.shape[1])], 1)


def _guard(control: CheckResult, D: np.ndarray, minimum: float, what: str) -> CheckResult:
    """A control whose wrong prediction is within ``minimum`` of the right one on every seed cannot fail:
    it is undecided (and the claim inconclusive), never counted as rejected."""
    if np.max(D) < minimum:
        control.passed = None
        control.reason = (f"{what} is at most {np.max(D):.3g} from the predicted limit (< {minimum}): this control "
                          "cannot fail on these data")
    return control


def _index_before(steps: np.ndarray, decades: float) -> int:
    """Index of the last snapshot at or before ``steps[-1] / 10**decades``."""
    idx = np.nonzero(steps <= steps[-1] / 10**decades)[0]
    return int(idx[-1]) if idx.size else 0


# ============================================================================================
# l2 perturbations: the published rate, across horizons


@dataclass(frozen=True)
class AdversarialL2Params(Params):
    n: int = 30
    d: int = 5
    margin: float = 0.3              # planted l2 SVM margin gamma
    n_support: int = 2               # planted support points (-1: the generator's default)
    gap_factor: float = 2.0          # non-support points at margin >= gap_factor * gamma
    lr_scale: float = 4.0            # eta = lr_scale / sigma_max(Z)^2 (summed logistic loss, beta = 1/4)
    base_horizon: int = 1000         # T_0, the shortest horizon of the grid
    decades: float = 1.0             # the grid spans T_0 .. T_0 * 10**decades
    per_decade: int = 4              # horizons per decade
    robust_fraction: float = 0.5     # r_0 = (gamma - eps(T_0)) / gamma
    predicted_rate: str = "log(t)/sqrt(t)"

    @classmethod
    def full(cls) -> "AdversarialL2Params":
        return cls(decades=2.0)

    def validate(self) -> None:
        _validate_data_and_schedule(self)
        if self.base_horizon < 10:
            raise InputError(f"base_horizon must be at least 10, got {self.base_horizon}")
        if self.decades < 1:
            raise InputError(f"decades must be at least 1 (an exponent is fitted over a decade or more), "
                             f"got {self.decades}")
        if self.per_decade < 2:
            raise InputError(f"per_decade must be at least 2, got {self.per_decade}")
        if not 0 < self.robust_fraction < 1:
            raise InputError(f"robust_fraction must be in (0, 1): eps(T_0) = (1 - robust_fraction) * gamma, got "
                             f"{self.robust_fraction}")
        predicted_law(self.predicted_rate)

    def horizons(self) -> np.ndarray:
        """The grid of horizons $T$ (log-spaced, ``per_decade`` per decade, from ``base_horizon``)."""
        count = int(round(self.decades * self.per_decade)) + 1
        return np.unique(np.round(self.base_horizon * np.logspace(0, self.decades, count)).astype(np.int64))


@register
class AdversarialL2(Claim):
    r"""$\ell_2$-adversarial training with the radius of the horizon: direction gap $\tilde O(1/\sqrt T)$ across horizons.

    For each horizon $T$ of a log-spaced grid ($10^3$–$10^4$, 5 horizons; full: $10^3$–$10^5$, 9) and each
    dataset, GD runs $T$ steps on the $\ell_2$-adversarial logistic loss with $\varepsilon(T) = \gamma(1 - r_0\sqrt{T_0/T})$
    ($r_0 = 1/2$; :func:`theorycheck.theory.adversarial.horizon_radius` — our reading of the paper's
    "proper bounded $\ell_2$ norm for any fixed $T$"; the exact condition is not in the stored pages), and
    plain GD ($\varepsilon = 0$) runs on the same data. All horizons and seeds are one batch. Planted data
    (:func:`theorycheck.numerics.data.separable_binary`: $n = 30$, $d = 5$, support at margin $\gamma = 0.3$, the
    rest at $\ge 2\gamma$), $\eta = 4/\sigma_{\max}(Z)^2$ (half the stability bound), $w_0 = 0$.

    Checks (for every dataset): (key) gap$(T)$ is $\tilde O(1/\sqrt T)$ — ``law_check`` of ``predicted_rate``
    $= \log T/\sqrt T$ (one log factor allowed) across the grid, one-sided as the paper states it: the
    log-slope of gap$(T)\sqrt T/\log T$ against $\log T$ is $\le 0.1$ (measured $-1.3$ to $+0.01$: on datasets whose
    out-of-span part is still decaying the gap falls faster than $T^{-1/2}$; the fitted exponents,
    $-0.36$ to $-1.7$, are reported as observations); the limit: gap to the $\ell_2$ SVM at the last horizon
    $\le 0.05$. Certificate: the mixed-norm program at $\varepsilon(T_{\max})$ returns the $\ell_2$ SVM direction.
    Controls: (near miss) the same $\tilde O(1/\sqrt T)$ law for plain GD on the same grid — the paper's
    "significantly faster than clean data": clean gaps fall like $1/\log T$, leaving slopes 0.15–0.26;
    (straw men) adversarial training at the clean rate (a $\Theta(1/\log T)$ law, slopes $-0.3$ to $-1.6$),
    and the $\ell_\infty$ max-margin direction as the limit.

    **What the check cannot tell apart (measured).** The bound is an upper bound, and at these horizons it
    also holds at a *fixed* radius: with $\varepsilon = \gamma/2$ for every $T$ the gap falls like $T^{-0.31}$ to
    $T^{-0.46}$ over $10^3$–$10^4$ and $10^3$–$10^5$ (the part of $\rho$ outside the support span still dies like
    $g^{-\varepsilon/(\gamma-\varepsilon)}$; the fixed-radius $1/\log T$ regime of ``separable.adversarial-l2-fixed-eps``
    starts later), and so does $\gamma - \varepsilon \propto T^{-1/4}$. The run therefore confirms the
    $\tilde O(1/\sqrt T)$ rate with the radius of the horizon and its speed-up over clean data, but does not
    show that choosing the radius for the horizon is what produces it. Reading the condition as a radius that
    itself shrinks, $\varepsilon \propto T^{-1/2}$, is rejected (slopes 0.17–0.26: nearly clean training).
    """

    id = "separable.adversarial-l2"
    related = (("compares with", "separable.gd-logistic"),)
    title = "l2-adversarial training with the radius of the horizon reaches the l2 max-margin direction at rate 1/sqrt(T)"
    statement = (r"\varepsilon = \varepsilon(T):\ w_{t+1} = w_t - \eta\nabla\sum_i \ell(y_i w_t^\top x_i - \varepsilon\|w_t\|_2)"
                 r"\ \Rightarrow\ \Big\|\frac{w_T}{\|w_T\|} - \frac{\hat w}{\|\hat w\|}\Big\| = \tilde O\!\Big(\frac{1}{\sqrt T}\Big)"
                 r"\ \ (\text{clean data: } O(1/\log T))")
    statement_text = ("For any fixed horizon T, GD-based adversarial training with a suitably bounded l2 perturbation "
                      "radius eps(T) converges in direction to the l2 max-margin classifier at rate O~(1/sqrt(T)), "
                      "significantly faster than the O(1/log T) of training on clean data. The radius schedule "
                      "eps(T) = gamma (1 - r0 sqrt(T0/T)) is our reading of the paper's condition.")
    departures = ("The paper's condition on the radius could not be read (abstract only): the schedule eps(T) = gamma "
                  "(1 - r0 sqrt(T0/T)), r0 = 1/2, is our reading, and the O~(1/sqrt T) rate is checked one-sided, one "
                  "log factor allowed, over horizons 1e3 to 1e4 (1e5 full). At these horizons a fixed radius passes "
                  "too, so the run does not show that choosing the radius for the horizon is what produces the rate.")
    source = SOURCE
    Params = AdversarialL2Params
    default_seeds = 6

    def make_data(self, params, seeds):
        return _with_svm(_data(params, seeds))

    def predict(self, params, data):
        T = params.horizons()
        eps = np.array([[ta.horizon_radius(g, t, params.base_horizon, params.robust_fraction) for t in T]
                        for g in data["gamma"]])  # (S, J)
        mixed = np.array([ta.mixed_norm_margin(z, e[-1], 2.0).w for z, e in zip(data["Zn"], eps)])
        dirs = np.array([s.direction for s in data["svm"]])
        linf = np.array([max_margin(z, np.inf).direction for z in data["Zn"]])
        return {"direction": dirs, "linf_direction": linf, "eps": eps, "horizons": T,
                "mixed_error": np.linalg.norm(mixed - dirs, axis=1), "separation": np.linalg.norm(dirs - linf, axis=1)}

    def simulate(self, params, data, device, seeds):
        S = len(seeds)
        T = params.horizons()
        eps = np.array([[ta.horizon_radius(g, t, params.base_horizon, params.robust_fraction) for g in data["gamma"]]
                        for t in T]).reshape(-1)  # row j*S + s: horizon j, seed s
        Z = data["Z"].to(device)
        Zb = torch.cat([Z.repeat(len(T), 1, 1), Z])  # the last S rows: plain GD
        lr = np.concatenate([np.tile(data["lr"], len(T)), data["lr"]])
        return adversarial_gd(Zb, torch.as_tensor(np.concatenate([eps, np.zeros(S)])), torch.as_tensor(lr),
                              int(T[-1]), "l2", record=T)

    def _measure(self, prediction, trajectory):
        """Per seed and horizon: the adversarial gap of the run with eps(T_j) at T_j, and plain GD's gap at T_j."""
        T = prediction["horizons"]
        S, J = prediction["direction"].shape[0], len(T)
        W = trajectory.series["w"]
        adv = np.stack([direction_gap(W[j * S:(j + 1) * S, j], prediction["direction"]) for j in range(J)], 1)
        clean = np.stack([direction_gap(W[J * S:, j], prediction["direction"]) for j in range(J)], 1)
        wrong = direction_gap(W[(J - 1) * S:J * S, J - 1], prediction["linf_direction"])
        return T.astype(float), adv, clean, wrong

    def _rate(self, name, T, gaps, law, two_sided=False, ylabel=""):
        return law_check(name, T, gaps, law, quantifier="every", tolerance=TOL_SLOPE, decades=np.log10(T[-1] / T[0]),
                         two_sided=two_sided, ylabel=ylabel)

    def checks(self, params, data, prediction, trajectory):
        T, adv, clean, _ = self._measure(prediction, trajectory)
        key = self._rate("adversarial gap across horizons", T, adv, predicted_law(params.predicted_rate),
                         ylabel=f"gap(T) / ({params.predicted_rate})")
        key.curve.xlabel = "horizon $T$ (radius $\\varepsilon(T)$)"
        key.curve.extra["gap(T), adversarial"] = adv
        key.curve.extra["gap(T), plain GD"] = clean
        limit = seed_check("gap to the l2 max-margin direction at the last horizon", adv[:, -1], TOL_GAP, "<=",
                           quantifier="every")
        certificate = seed_check("mixed-norm program at eps(T_max) returns the l2 SVM direction", prediction["mixed_error"],
                                 TOL_CERTIFICATE, "<=", quantifier="every", role="certificate")
        return [key, limit, certificate]

    def controls(self, params, data, prediction, trajectory):
        T, adv, clean, wrong = self._measure(prediction, trajectory)
        return [
            self._rate("the O~(1/sqrt T) law for plain GD on the same grid", T, clean, predicted_law(params.predicted_rate)),
            self._rate("adversarial training at the clean rate (Theta(1/log T))", T, adv, predicted_law("1/log(t)"),
                       two_sided=True),
            _guard(seed_check("l_inf max-margin direction as the limit (gap at the last horizon)", wrong, TOL_GAP, "<=",
                              quantifier="every"), prediction["separation"], 2 * TOL_GAP, "the l_inf max-margin direction"),
        ]

    def observations(self, params, data, prediction, trajectory):
        T, adv, clean, _ = self._measure(prediction, trajectory)
        k_adv = np.array([log_slope(T, g) for g in adv])
        k_clean = np.array([log_slope(T, g) for g in clean])
        return {"fitted exponent of gap(T), adversarial (median)": float(np.median(k_adv)),
                "fitted exponent of gap(T), adversarial (slowest seed)": float(np.max(k_adv)),
                "fitted exponent of gap(T), plain GD (median)": float(np.median(k_clean)),
                "radius eps(T_max)/gamma": float(np.median(prediction["eps"][:, -1] / data["gamma"]))}


# ============================================================================================
# l2 perturbations at a fixed radius: the derived first-order law


@dataclass(frozen=True)
class AdversarialL2FixedParams(Params):
    n: int = 30
    d: int = 5
    margin: float = 0.2          # planted l2 SVM margin gamma (against unit orthogonal spread)
    n_support: int = -1          # -1: the generator's default number of planted support points (3 for d = 5)
    gap_factor: float = 3.0      # non-support points at margin >= gap_factor * gamma
    eps_fraction: float = 0.75   # eps = eps_fraction * gamma (the l2-robust margin)
    lr_scale: float = 4.0        # eta = lr_scale / sigma_max(Z)^2 (summed logistic loss, beta = 1/4)
    steps: int = 30000
    gap_tol: float = 0.25        # |gap * ||w|| / K - 1| tolerance (first-order constant)

    @classmethod
    def full(cls) -> "AdversarialL2FixedParams":
        return cls(n=100, d=10, steps=100000)

    def validate(self) -> None:
        _validate_data_and_schedule(self)
        _validate_steps(self.steps)
        if not 0 < self.eps_fraction < 1:
            raise InputError(f"eps_fraction must be in (0, 1), got {self.eps_fraction}: eps at or above the robust "
                             "margin gamma leaves no separating direction (the optimum is w = 0)")


@register
class AdversarialL2FixedEps(Claim):
    r"""**Derived**: $\ell_2$-adversarial training at a fixed radius — gap$\cdot\|w\| \to K$, a $1/\log t$ law faster than plain GD.

    A consequence we derived (module docstring), not the paper's statement (which is the rate across
    horizons, ``separable.adversarial-l2``). Data: planted separable data, $\varepsilon = $ ``eps_fraction``
    $\cdot\gamma$ ($\gamma$ the $\ell_2$-robust margin), summed logistic loss, $\eta = 4/\sigma_{\max}(Z)^2$, $w_0 = 0$;
    plain GD ($\varepsilon = 0$) runs on the same data in the same batch.

    Checks (for every dataset): (key) the first-order constant $|\text{gap}(T)\|w_T\|/K - 1| \le$ ``gap_tol``
    $= 0.25$ ($K$ from the SVM dual through :func:`theorycheck.theory.adversarial.balance_offset`; the
    neglected terms are relative $O(\varepsilon/(\gamma\log T))$ corrections and the decay $g^{-3}$ of the
    out-of-span part); the limit, gap to the $\ell_2$ SVM $\le 0.05$; still shrinking, gap$(T)/$gap$(T/100) \le 0.9$.
    The ratio gap$_{\rm adv}(T)/$gap$_{\rm plain}(T)$ is an observation (median 0.1–0.2; asymptotically
    $\approx (\gamma - \varepsilon)/\gamma$ times the ratio of the two clocks): plain GD's gap carries a trajectory-dependent
    frozen part, so a fixed threshold on the ratio is not a prediction. Data: margin $\gamma = 0.2$ against
    unit orthogonal spread, non-support points at $\ge 3\gamma$: as in ``separable.gd-logistic``, a small margin
    makes the support-span offset settle fast (with $\gamma = 0.3$, $2\gamma$ one dataset in 40 is still 0.35 off
    the constant at $3\cdot10^4$ steps, 0.25 off at $3\cdot10^5$). Controls: (near miss) the first-order constant off
    by a factor 2 ($2K$: the balance of $e^{-2u}$ weights, or the offset counted twice); (straw men) the
    $\ell_\infty$ max-margin direction as the limit, and "no speed-up" ($|\text{gap}_{\rm adv}/\text{gap}_{\rm plain} - 1|
    \le 0.25$).
    """

    id = "separable.adversarial-l2-fixed-eps"
    evidence = "derived"
    title = "Derived: l2-adversarial training at a fixed radius follows gap * ||w|| -> K, faster than plain GD"
    statement = (r"\varepsilon<\gamma\ \text{fixed}:\ \mathrm{gap}(t)\,\|w(t)\| \to K = \|P_\perp v\|,\ "
                 r"Z_S v = -\log\lambda_S;\quad \mathrm{gap}_{\rm adv}(t) \ll \mathrm{gap}_{\rm GD}(t)")
    statement_text = ("Derived consequence (not the paper's statement): GD on the l2-adversarial logistic loss at a "
                      "fixed radius eps below the margin converges in direction to the l2 max-margin classifier with "
                      "gap * ||w|| -> K, a constant fixed by the SVM dual, so the gap is a 1/log t law with a smaller "
                      "constant than plain GD's.")
    departures = ("Checks a consequence we derived, not the paper's statement (its rate across horizons is "
                  "separable.adversarial-l2): at a fixed radius below the margin, gap * ||w|| -> K with K from the "
                  "SVM dual (a 1/log t law), within 25%. The speed-up over plain GD is reported as an observation, "
                  "not checked.")
    source = SOURCE
    Params = AdversarialL2FixedParams
    default_seeds = 6

    def make_data(self, params, seeds):
        return _with_svm(_data(params, seeds))

    def predict(self, params, data):
        dirs, linf, K = [], [], []
        for Zs, g in zip(data["Zn"], data["gamma"]):
            mixed = ta.mixed_norm_margin(Zs, params.eps_fraction * g, 2.0)  # the l2 SVM direction, with its dual
            K.append(ta.balance_offset(Zs, mixed.w, mixed.lam)[1])
            dirs.append(mixed.w)
            linf.append(max_margin(Zs, np.inf).direction)
        dirs, linf = np.array(dirs), np.array(linf)
        return {"direction": dirs, "linf_direction": linf, "K": np.array(K),
                "separation": np.linalg.norm(dirs - linf, axis=1)}

    def simulate(self, params, data, device, seeds):
        S = len(seeds)
        Z = data["Z"].to(device)
        Zb = torch.cat([Z, Z])  # rows 0..S-1 adversarial, S..2S-1 plain GD
        eps = np.concatenate([params.eps_fraction * data["gamma"], np.zeros(S)])
        lr = np.concatenate([data["lr"], data["lr"]])
        return adversarial_gd(Zb, torch.as_tensor(eps), torch.as_tensor(lr), params.steps, "l2",
                              record=log_spaced_steps(params.steps, 10))

    def _measure(self, prediction, trajectory):
        S = prediction["direction"].shape[0]
        W = trajectory.series["w"]
        gaps = _gap_series(W[:S], prediction["direction"])
        plain = _gap_series(W[S:], prediction["direction"])
        wrong = _gap_series(W[:S], prediction["linf_direction"])
        return trajectory.steps.astype(float), gaps, plain, wrong, np.linalg.norm(W[:S], axis=-1)

    def _constant_check(self, name, steps, gaps, norms, K, tol) -> CheckResult:
        return seed_check(name, np.abs(gaps[:, -1] * norms[:, -1] / K - 1.0), tol, "<=", quantifier="every",
                          curve=Curve(x=steps, y=gaps * norms / K[:, None], ylabel="gap$\\cdot\\|w\\|/K$", logy=False,
                                      predicted=np.ones(len(steps)), predicted_label="1"))

    def checks(self, params, data, prediction, trajectory):
        steps, gaps, plain, _, norms = self._measure(prediction, trajectory)
        K = prediction["K"]
        k0 = _index_before(steps, 2.0)
        limit = seed_check("gap to the l2 max-margin direction at T", gaps[:, -1], TOL_GAP, "<=", quantifier="every",
                           curve=Curve(x=steps, y=gaps, ylabel="direction gap to the $\\ell_2$ SVM",
                                       predicted=np.median(K[:, None] / norms, axis=0), predicted_label="$K/\\|w(t)\\|$",
                                       extra={"plain GD": plain}))
        return [
            self._constant_check("|gap*||w|| / K - 1| (first-order constant)", steps, gaps, norms, K, params.gap_tol),
            limit,
            seed_check("gap(T) / gap(T/100) (still shrinking)", gaps[:, -1] / gaps[:, k0], 0.9, "<=", quantifier="every"),
        ]

    def observations(self, params, data, prediction, trajectory):
        steps, gaps, plain, _, _ = self._measure(prediction, trajectory)
        return {"gap_adv / gap_plain at T (median)": float(np.median(gaps[:, -1] / plain[:, -1])),
                "(gamma - eps) / gamma": 1.0 - params.eps_fraction}

    def controls(self, params, data, prediction, trajectory):
        steps, gaps, plain, wrong, norms = self._measure(prediction, trajectory)
        return [
            self._constant_check("first-order constant off by 2: |gap*||w|| / (2K) - 1|", steps, gaps, norms,
                                 2.0 * prediction["K"], params.gap_tol),
            _guard(seed_check("l_inf max-margin direction as the limit (gap at T)", wrong[:, -1], TOL_GAP, "<=",
                              quantifier="every"), prediction["separation"], 2 * TOL_GAP, "the l_inf max-margin direction"),
            seed_check("no speed-up: |gap_adv / gap_plain - 1|", np.abs(gaps[:, -1] / plain[:, -1] - 1.0), 0.25, "<=",
                       quantifier="every"),
        ]


# ============================================================================================
# l_inf perturbations


@dataclass(frozen=True)
class AdversarialLinfParams(Params):
    n: int = 6
    d: int = 20
    margin: float = 0.5          # |w*^T x| >= margin for the generating direction (Gaussian points)
    n_support: int = 0           # 0: generic Gaussian data (n < d, so the l2 SVM uses most points)
    gap_factor: float = 2.0
    eps_fraction: float = 0.9    # eps = eps_fraction * (l_inf-robust margin of each data set)
    eps: float = 0.0             # > 0: use this absolute eps for every seed instead
    lr_scale: float = 4.0
    steps: int = 10000
    min_separation: float = 0.1

    @classmethod
    def full(cls) -> "AdversarialLinfParams":
        return cls(steps=300000)

    def validate(self) -> None:
        _validate_data_and_schedule(self)
        _validate_steps(self.steps)
        if self.eps < 0:
            raise InputError(f"eps must be >= 0, got {self.eps}")
        if self.eps == 0 and not 0 < self.eps_fraction < 1:
            raise InputError(f"eps_fraction={self.eps_fraction} is not in (0, 1): eps exceeds the robust margin; "
                             "the optimum is w = 0")


#: the radius of the near-miss control, relative to the training radius
NEAR_RADIUS = 0.8


@register
class AdversarialLinf(Claim):
    r"""$\ell_\infty$-adversarial training $\to$ the maximum mixed-norm margin classifier.

    Limit: $u^\star = \arg\max_{\|w\|_2\le1}\min_i z_i^\top w - \varepsilon\|w\|_1$, its own cvxpy program
    (:func:`theorycheck.theory.adversarial.mixed_norm_margin`, verified by a duality gap $\le 10^{-7}$
    and polished on its active set). It needs $\varepsilon$ below the data's $\ell_\infty$-robust margin
    $\gamma_1 = \max_{\|w\|_1\le1}\min_i z_i^\top w$; at or above it the optimum is $w = 0$ and the claim
    stops with an input error. Here $\varepsilon = $ ``eps_fraction`` $\cdot\gamma_1$ per data set (or an
    absolute ``eps``).

    Data: $n = 6$ Gaussian points in $d = 20$: with $n \ll d$ the $\ell_1$ penalty moves the limit far from
    the $\ell_2$ SVM ($D \approx 0.4$–$0.8$ at $\varepsilon = 0.9\gamma_1$; with $n \gg d$ the two programs coincide to
    $10^{-8}$ and the controls could not fail). With $n = 8$, one dataset in 20 has a non-support point
    within 7% of the mixed margin and is still at gap/$D = 0.56$ after $10^5$ steps (seed 100); with $n = 6$
    the worst of 120 datasets is at 0.22 after $10^4$ steps. Unlike $\ell_2$, the $\ell_1$ subgradient is
    constant on the active coordinates, so components of $\rho$ orthogonal to $\{z_{s,A}\}$ and
    $\operatorname{sign}(u^\star)$ are frozen: gap$\cdot\|w\|$ converges to a trajectory-dependent constant $\ge K$, and no
    first-order constant is checked.

    Check (for every dataset): gap to $u^\star$ $\le D/4$ with $D = \|u^\star - u_{\ell_2}\|$. No "still shrinking"
    check: the gap is not monotone (on seed 7924 it dips to 0.13 at $t \approx 200$, rises to 0.20 at $10^3$ and
    falls to 0.14 at $10^4$), so a ratio to an earlier snapshot tests the transient, not the limit. Controls: (near miss) the mixed-norm
    classifier at the radius $0.8\varepsilon$ — a radius 20% off, e.g. inputs rescaled between training and the
    prediction (gap/$D$ 0.3–0.75 against 0.25); (straw men) the $\ell_2$ SVM direction as the limit (the same
    $D/4$ check; undecided if every $D <$ ``min_separation``) and a $1/t$ law.
    """

    id = "separable.adversarial-linf"
    title = "l_inf-adversarial training converges to the maximum mixed-norm margin classifier"
    statement = (r"w_{t+1} = w_t - \eta\nabla\sum_i \ell(y_i w_t^\top x_i - \varepsilon\|w_t\|_1)\ \Rightarrow\ "
                 r"\frac{w_t}{\|w_t\|} \to \arg\max_{\|w\|_2\le1}\min_i y_i w^\top x_i - \varepsilon\|w\|_1")
    statement_text = ("GD on the l_inf-adversarial logistic loss sum_i l(y_i w^T x_i - eps ||w||_1) converges in "
                      "direction to the maximum mixed-norm margin classifier argmax_{||w||_2<=1} "
                      "min_i y_i w^T x_i - eps ||w||_1 (not to the l2 SVM).")
    departures = ("The radius is a fraction of the data's l_inf-robust margin, on n = 6 points in d = 20 (chosen so "
                  "the mixed-norm limit is far from the l2 SVM). Only the limit is checked (gap <= D/4): no rate, no "
                  "first-order constant (the l1 penalty freezes part of the iterate) and no still-shrinking check "
                  "(the gap is not monotone).")
    source = SOURCE
    Params = AdversarialLinfParams
    default_seeds = 6

    def make_data(self, params, seeds):
        data = _data(params, seeds)
        data["robust"] = np.array([ta.robust_margin(z, np.inf).margin for z in data["Zn"]])
        rob = data["robust"]
        data["eps"] = np.full(len(rob), params.eps) if params.eps > 0 else params.eps_fraction * rob
        return data

    def predict(self, params, data):
        mixed, near, l2 = [], [], []
        for Zs, e in zip(data["Zn"], data["eps"]):
            mixed.append(ta.mixed_norm_margin(Zs, e, np.inf).w)  # InputError when e >= robust margin
            near.append(ta.mixed_norm_margin(Zs, NEAR_RADIUS * e, np.inf).w)
            l2.append(max_margin(Zs, 2).direction)
        mixed, near, l2 = np.array(mixed), np.array(near), np.array(l2)
        return {"direction": mixed, "near_direction": near, "l2_direction": l2, "eps": data["eps"],
                "robust": data["robust"], "separation": np.linalg.norm(mixed - l2, axis=1)}

    def simulate(self, params, data, device, seeds):
        return adversarial_gd(data["Z"].to(device), torch.as_tensor(data["eps"]), torch.as_tensor(data["lr"]),
                              params.steps, "linf", record=log_spaced_steps(params.steps, 10))

    def _gaps(self, prediction, trajectory):
        W = trajectory.series["w"]
        return (trajectory.steps.astype(float), _gap_series(W, prediction["direction"]),
                _gap_series(W, prediction["l2_direction"]), _gap_series(W, prediction["near_direction"]))

    def checks(self, params, data, prediction, trajectory):
        steps, gaps, wrong, _ = self._gaps(prediction, trajectory)
        curve = Curve(x=steps, y=gaps, ylabel="gap to the mixed-norm direction", extra={"gap to the l2 SVM": wrong})
        return [seed_check("gap to mixed-norm max-margin / separation", gaps[:, -1] / prediction["separation"],
                           SEPARATION_FRACTION, "<=", curve=curve, quantifier="every")]

    def controls(self, params, data, prediction, trajectory):
        steps, gaps, wrong, near = self._gaps(prediction, trajectory)
        D = prediction["separation"]
        k0 = _index_before(steps, 1.0)
        sl = np.array([log_slope(steps[k0:], gaps[s, k0:] * steps[k0:]) for s in range(gaps.shape[0])])
        return [
            seed_check(f"mixed-norm classifier at the radius {NEAR_RADIUS:g} eps as the limit: gap / separation",
                       near[:, -1] / D, SEPARATION_FRACTION, "<=", quantifier="every"),
            _guard(seed_check("limit = l2 SVM direction: gap / separation", wrong[:, -1] / D, SEPARATION_FRACTION, "<=",
                              curve=Curve(x=steps, y=wrong, ylabel="gap to the $\\ell_2$ SVM"), quantifier="every"),
                   D, params.min_separation, "the l2 SVM direction"),
            seed_check("1/t law: log-slope of gap*t over the last decade", sl, 0.1, "<=", quantifier="every"),
        ]
