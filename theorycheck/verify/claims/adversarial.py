r"""Adversarial training of linear classifiers on separable data (Li, Fang, Xu, Zhao 2020, ICLR).

For a linear classifier the inner maximization of adversarial training has a closed form,
$\min_{\|\delta\|_q\le\varepsilon} y\,w^\top(x+\delta) = z^\top w - \varepsilon\|w\|_{q^*}$, so GD-based
adversarial training is GD on $\sum_i\ell(z_i^\top w - \varepsilon\|w\|_{q^*})$
(:mod:`theorycheck.numerics.adversarial`). The paper (abstract, confirmed with the search tool on
OpenReview / ICLR pages): with $\ell_2$-bounded perturbations the iterate converges in direction to
the maximum $\ell_2$-margin classifier, "at the rate $\tilde O(1/\sqrt T)$ [...] for any fixed iteration
$T$ [with a] proper bounded $\ell_2$ norm" of the perturbation, "significantly faster than the rate
$O(1/\log T)$ of training with clean data"; with $\ell_q$-bounded perturbations it converges to the
maximum mixed-norm margin classifier $\arg\max_{\|w\|_2\le1}\min_i z_i^\top w - \varepsilon\|w\|_{q^*}$.
The stored pages give the abstract only, so the exact conditions behind $\tilde O(1/\sqrt T)$
(how $\varepsilon$ and the step may depend on $T$) could not be confirmed.

**What fixed-step GD at a fixed $\varepsilon$ does (derived here, measured below).** Write
$w = g\,u^\star + \rho$. Balancing the support weights (:func:`theorycheck.theory.adversarial.balance_offset`)
fixes the component of $\rho$ in the span of the support vectors, $P_\perp\rho \to P_\perp v$ with
$Z_S v = -\log\lambda_S$; for $\ell_2$ perturbations the penalty's gradient $-\varepsilon(\sum_i c_i)\,w/\|w\|$
adds a restoring force $-\tfrac{\varepsilon}{\gamma-\varepsilon}\tfrac{\dot g}{g}\rho_\perp$ that kills every
other component like $g^{-\varepsilon/(\gamma-\varepsilon)}$, while the norm grows like
$g \approx \log t/(\gamma-\varepsilon)$ (the adversarial margin is $\gamma - \varepsilon$). Hence

.. math::  \text{gap}(t) \approx \frac{K}{\|w(t)\|} \approx \frac{K(\gamma-\varepsilon)}{\log t},
           \qquad K = \|P_\perp v\|,

a $1/\log t$ law with a constant smaller than plain GD's by $(\gamma-\varepsilon)/\gamma$ (and without
plain GD's frozen out-of-span component). At fixed $\varepsilon$ and step we therefore check the
limit, the first-order constant $K$ and the speed-up over plain GD — not a $1/\sqrt T$ law, which
these runs do not show: on the default data ($\varepsilon = 0.75\gamma$) the local exponent
$d\log\text{gap}/d\log t$ falls from $\approx -0.57$ over $[10^3, 10^4]$ to $\approx -0.33$ over
$[3\cdot10^4, 3\cdot10^5]$ (a $1/\sqrt t$ law would hold it at $-1/2$, a $\log$ law drives it to 0), while
$\text{gap}\cdot\|w\|/K$ is 1 within 0.2% at $3\cdot10^5$ steps.

Both claims compare directions through the separation $D = \|u^\star - u_{\rm wrong}\|$ between the
predicted limit and a deliberately wrong one: the key check asks for $\text{gap}(T) \le D/4$, the
control asks the same of the wrong direction, which then needs $\text{gap}_{\rm wrong}(T) \ge 3D/4$ to be
rejected. A separation check $D \ge$ ``min_separation`` guards the control: if the two predictions
are too close the claim is **inconclusive**, not "agrees".
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
from theorycheck.verify.rates import log_slope
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

SOURCE = Source(authors="Li, Fang, Xu, Zhao", year=2020,
                title="Implicit Bias of Gradient Descent based Adversarial Training on Separable Data",
                venue="ICLR", arxiv="")

#: fraction of the separation D within which the iterate must lie (key check) / stay out of (control)
SEPARATION_FRACTION = 0.25


def _data(params: Any, seeds) -> dict[str, Any]:
    X, y = separable_binary(params.n, params.d, list(seeds), margin_threshold=params.margin,
                            n_support=None if params.n_support < 0 else params.n_support,
                            gap_factor=params.gap_factor)
    Z = fold_labels(X, y)
    Zn = Z.numpy()
    sigma2 = np.array([np.linalg.norm(z, 2) ** 2 for z in Zn])
    return {"Z": Z, "Zn": Zn, "lr": params.lr_scale / sigma2}


def _validate_data_and_schedule(p: Any) -> None:
    """InputError for the data and step parameters shared by both claims (n, d, margin, lr_scale, steps)."""
    if p.n < 2 or p.d < 2:
        raise InputError(f"n and d must be at least 2, got n={p.n}, d={p.d}")
    if not p.margin > 0:
        raise InputError(f"margin must be positive, got {p.margin}")
    if not p.lr_scale > 0:
        raise InputError(f"lr_scale must be positive, got {p.lr_scale}")
    if p.steps < 100:
        raise InputError(f"steps must be at least 100, got {p.steps}")


def _gap_series(W: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Direction gaps (S, T) of the snapshots ``W`` (S, T, d) to the unit directions ``ref`` (S, d)."""
    return np.stack([direction_gap(W[:, k], ref) for k in range(W.shape[1])], 1)


def _separation_check(name: str, D: np.ndarray, minimum: float) -> CheckResult:
    """D >= minimum; a violation makes the claim inconclusive (the control could not fail), not false."""
    res = seed_check(name, D, minimum, ">=", quantifier="every")
    if res.passed is False:
        res.passed = None
        res.reason = (f"the predicted and the control directions are only {np.median(D):.3g} apart "
                      f"(< {minimum}): the control cannot fail on these data")
    return res


def _window(steps: np.ndarray, last: int, decades: float = 1.0) -> int:
    """Index of the last snapshot at or before ``steps[last] / 10**decades``."""
    target = steps[last] / 10**decades
    idx = np.nonzero(steps <= target)[0]
    return int(idx[-1]) if idx.size else 0


def _gap_curve(steps, gaps, label, predicted=None, predicted_label="prediction") -> Curve:
    return Curve(x=np.asarray(steps, float), y=np.asarray(gaps), ylabel=label, predicted=predicted,
                 predicted_label=predicted_label)


# ============================================================================================
# l2 perturbations


@dataclass(frozen=True)
class AdversarialL2Params(Params):
    n: int = 30
    d: int = 5
    margin: float = 0.3          # planted l2 SVM margin gamma
    n_support: int = -1          # -1: the generator's default number of planted support points
    gap_factor: float = 2.0      # non-support points at margin >= gap_factor * gamma
    eps_fraction: float = 0.75   # eps = eps_fraction * gamma (the l2-robust margin)
    lr_scale: float = 4.0        # eta = lr_scale / sigma_max(Z)^2 (summed logistic loss, beta = 1/4)
    steps: int = 20000
    gap_tol: float = 0.25        # |gap * ||w|| / K - 1| tolerance (first-order constant)
    speedup_tol: float = 0.5     # gap_adv(T) / gap_plain(T) must be below this
    min_separation: float = 0.1  # l2 vs l_inf max-margin directions must differ by this much

    @classmethod
    def quick(cls) -> "AdversarialL2Params":
        return cls(steps=10000)

    @classmethod
    def full(cls) -> "AdversarialL2Params":
        return cls(n=100, d=10, steps=300000)

    def validate(self) -> None:
        _validate_data_and_schedule(self)
        if not 0 < self.eps_fraction < 1:
            raise InputError(f"eps_fraction must be in (0, 1), got {self.eps_fraction}: eps at or above the robust "
                             "margin gamma leaves no separating direction (the optimum is w = 0)")


@register
class AdversarialL2(Claim):
    r"""$\ell_2$-adversarial training $\to$ the $\ell_2$ max-margin direction, faster than plain GD.

    Data: planted separable data (:func:`theorycheck.numerics.data.separable_binary`: a few support
    points at margin $\gamma$, the rest at $\ge 2\gamma$), so the asymptotic regime is reached early.
    $\varepsilon = $ ``eps_fraction`` $\cdot\gamma$ ($\gamma$ is the $\ell_2$-robust margin), summed logistic
    loss, $\eta = 4/\sigma_{\max}(Z)^2$ (half the $2/(\beta\sigma^2)$ bound), $w_0 = 0$; plain GD
    ($\varepsilon = 0$) runs on the same data in the same batch.

    Checks (per seed, median and bootstrap interval across seeds):

    1. *limit*: $\|w_T/\|w_T\| - \hat u\| \le D/4$, $D$ the distance between the $\ell_2$ and the
       $\ell_\infty$ max-margin directions (the control), with $D \ge$ ``min_separation``;
    2. *first-order constant*: $|\text{gap}(T)\|w_T\|/K - 1| \le$ ``gap_tol`` $= 0.25$
       ($K$ from the SVM dual, module docstring; the neglected terms are relative
       $O(\varepsilon/(\gamma\log T))$ corrections to the balance, $\approx 2/\log T$ at $T = 10^4$, and the
       decay $g^{-\varepsilon/(\gamma-\varepsilon)} = g^{-3}$ of the out-of-span part);
    3. *faster than plain GD*: $\text{gap}_{\rm adv}(T)/\text{gap}_{\rm plain}(T) \le 0.5$ (predicted
       asymptotically $\le(\gamma-\varepsilon)/\gamma = 0.25$);
    4. *still shrinking*: $\text{gap}(T)/\text{gap}(T/10) \le 0.9$.

    Controls: the $\ell_\infty$ max-margin direction as the limit (check 1 against it); "no speed-up",
    i.e. plain GD's gap as the prediction ($|\text{gap}_{\rm adv}/\text{gap}_{\rm plain} - 1| \le 0.25$).
    Not used as controls, because they are not reliably rejected at $10^4$ steps: a $1/t$ law (early
    on the adversarial gap falls steeply, local slopes near $-1$ for some seeds), and plain GD's norm
    law $\|w\| \approx \log t/\gamma$ in the first-order formula — the adversarial clock is
    $\|w\|(\gamma-\varepsilon) \approx \log(\eta(\gamma-\varepsilon)^2 A\,t)$ with a tiny prefactor, and at $T = 10^4$
    its value happens to be close to $\log T/\gamma$ (this is also why ``gap * ||w||``, not
    ``gap * log t``, is the quantity checked).
    """

    id = "separable.adversarial-l2"
    title = "l2-adversarial training converges to the l2 max-margin direction, faster than plain GD"
    statement = (r"w_{t+1} = w_t - \eta\nabla\sum_i \ell(y_i w_t^\top x_i - \varepsilon\|w_t\|_2),\ \varepsilon<\gamma"
                 r"\ \Rightarrow\ \frac{w_t}{\|w_t\|} \to \frac{\hat w}{\|\hat w\|},\quad"
                 r"\mathrm{gap}_{\rm adv}(t) \ll \mathrm{gap}_{\rm GD}(t)")
    statement_text = ("GD on the l2-adversarial logistic loss sum_i l(y_i w^T x_i - eps ||w||_2), eps below the "
                      "margin, converges in direction to the l2 max-margin (hard-margin SVM) classifier, faster than "
                      "GD on the clean loss.")
    source = SOURCE
    Params = AdversarialL2Params
    default_seeds = 6

    def make_data(self, params, seeds):
        data = _data(params, seeds)
        data["gamma"] = np.array([max_margin(z, 2).margin for z in data["Zn"]])  # the l2-robust margin
        return data

    def predict(self, params, data):
        dirs, linf, K, gamma, eps = [], [], [], [], []
        for Zs in data["Zn"]:
            svm = max_margin(Zs, 2)
            g = svm.margin
            e = params.eps_fraction * g
            mixed = ta.mixed_norm_margin(Zs, e, 2.0)  # = the l2 SVM direction, with its dual certificate
            _, k = ta.balance_offset(Zs, mixed.w, mixed.lam)
            dirs.append(svm.direction)
            linf.append(max_margin(Zs, np.inf).direction)
            K.append(k)
            gamma.append(g)
            eps.append(e)
        dirs, linf = np.array(dirs), np.array(linf)
        return {"direction": dirs, "linf_direction": linf, "K": np.array(K), "gamma": np.array(gamma),
                "eps": np.array(eps), "separation": np.linalg.norm(dirs - linf, axis=1)}

    def simulate(self, params, data, device, seeds):
        S = len(seeds)
        Z = data["Z"].to(device)
        Zb = torch.cat([Z, Z])  # rows 0..S-1 adversarial, S..2S-1 plain GD
        eps = np.concatenate([params.eps_fraction * data["gamma"], np.zeros(S)])
        lr = np.concatenate([data["lr"], data["lr"]])
        return adversarial_gd(Zb, torch.as_tensor(eps), torch.as_tensor(lr), params.steps, "l2",
                              record=log_spaced_steps(params.steps, 10))

    def _measure(self, params, prediction, trajectory):
        S = prediction["direction"].shape[0]
        W = trajectory.series["w"]
        steps = trajectory.steps
        gaps = _gap_series(W[:S], prediction["direction"])
        plain = _gap_series(W[S:], prediction["direction"])
        wrong = _gap_series(W[:S], prediction["linf_direction"])
        norms = np.linalg.norm(W[:S], axis=-1)
        return steps, gaps, plain, wrong, norms

    def checks(self, params, data, prediction, trajectory):
        steps, gaps, plain, _, norms = self._measure(params, prediction, trajectory)
        D = prediction["separation"]
        K = prediction["K"]
        k0 = _window(steps, len(steps) - 1)
        curve = _gap_curve(steps, gaps, "direction gap to the $\\ell_2$ SVM",
                           predicted=np.median(K[:, None] / norms, axis=0), predicted_label="$K/\\|w(t)\\|$")
        curve.extra["plain GD"] = plain
        return [
            seed_check("gap to l2 max-margin / separation", gaps[:, -1] / D, SEPARATION_FRACTION, "<=", curve=curve, quantifier="every"),
            _separation_check("separation of l2 and l_inf max-margin directions", D, params.min_separation),
            seed_check("|gap*||w|| / K - 1| (first-order constant)", np.abs(gaps[:, -1] * norms[:, -1] / K - 1.0),
                       params.gap_tol, "<=",
                       curve=Curve(x=steps.astype(float), y=gaps * norms / K[:, None], ylabel="gap$\\cdot\\|w\\|/K$",
                                   logy=False, predicted=np.ones(len(steps)), predicted_label="1"), quantifier="every"),
            seed_check("gap_adv / gap_plain at T (speed-up)", gaps[:, -1] / plain[:, -1], params.speedup_tol, "<=",
                       curve=Curve(x=steps.astype(float), y=gaps / plain, ylabel="gap$_{adv}$/gap$_{GD}$",
                                   predicted=np.full(len(steps), float(np.median(1 - params.eps_fraction))),
                                   predicted_label="$(\\gamma-\\varepsilon)/\\gamma$"), quantifier="every"),
            seed_check("gap(T) / gap(T/10)", gaps[:, -1] / gaps[:, k0], 0.9, "<=", quantifier="every"),
        ]

    def controls(self, params, data, prediction, trajectory):
        steps, gaps, plain, wrong, _ = self._measure(params, prediction, trajectory)
        D = prediction["separation"]
        return [
            seed_check("limit = l_inf max-margin direction: gap / separation", wrong[:, -1] / D,
                       SEPARATION_FRACTION, "<=",
                       curve=_gap_curve(steps, wrong, "gap to the $\\ell_\\infty$ direction"), quantifier="every"),
            seed_check("no speed-up: |gap_adv / gap_plain - 1|", np.abs(gaps[:, -1] / plain[:, -1] - 1.0), 0.25, "<=", quantifier="every"),
        ]


# ============================================================================================
# l_inf perturbations


@dataclass(frozen=True)
class AdversarialLinfParams(Params):
    n: int = 8
    d: int = 20
    margin: float = 0.5          # |w*^T x| >= margin for the generating direction (Gaussian points)
    n_support: int = 0           # 0: generic Gaussian data (n < d, so the l2 SVM uses most points)
    gap_factor: float = 2.0
    eps_fraction: float = 0.9    # eps = eps_fraction * (l_inf-robust margin of each data set)
    eps: float = 0.0             # > 0: use this absolute eps for every seed instead
    lr_scale: float = 4.0
    steps: int = 20000
    min_separation: float = 0.1

    @classmethod
    def quick(cls) -> "AdversarialLinfParams":
        return cls(steps=10000)

    @classmethod
    def full(cls) -> "AdversarialLinfParams":
        return cls(steps=300000)

    def validate(self) -> None:
        _validate_data_and_schedule(self)
        if self.eps < 0:
            raise InputError(f"eps must be >= 0, got {self.eps}")
        if self.eps == 0 and not 0 < self.eps_fraction < 1:
            raise InputError(f"eps_fraction={self.eps_fraction} is not in (0, 1): eps exceeds the robust margin; "
                             "the optimum is w = 0")


@register
class AdversarialLinf(Claim):
    r"""$\ell_\infty$-adversarial training $\to$ the maximum mixed-norm margin classifier.

    Limit: $u^\star = \arg\max_{\|w\|_2\le1}\min_i z_i^\top w - \varepsilon\|w\|_1$, its own cvxpy program
    (:func:`theorycheck.theory.adversarial.mixed_norm_margin`, verified by a duality gap $\le 10^{-7}$
    and polished on its active set). It needs $\varepsilon$ below the data's $\ell_\infty$-robust margin
    $\gamma_1 = \max_{\|w\|_1\le1}\min_i z_i^\top w$; at or above it the optimum is $w = 0$ and the claim
    stops with an input error. Here $\varepsilon = $ ``eps_fraction`` $\cdot\gamma_1$ per data set (or an
    absolute ``eps``).

    Data: $n = 8$ Gaussian points in $d = 20$ (THEORY.md): with $n \ll d$ the $\ell_1$ penalty moves the
    limit far from the $\ell_2$ SVM ($D \approx 0.6$–$0.75$ at $\varepsilon = 0.9\gamma_1$; with $n \gg d$
    the two programs coincide to $10^{-8}$ and the control could not fail). $\varepsilon$ close to $\gamma_1$
    also speeds GD up: the gap constant scales with the adversarial margin, as in the $\ell_2$ case.
    Unlike $\ell_2$, the $\ell_1$ subgradient is constant on the active coordinates, so components of
    $\rho$ orthogonal to $\{z_{s,A}\}$ and $\operatorname{sign}(u^\star)$ are frozen: gap$\cdot\|w\|$ converges to
    a trajectory-dependent constant $\ge K$, and no first-order constant is checked.

    Checks: gap to $u^\star$ $\le D/4$ with $D = \|u^\star - u_{\ell_2}\|$ ($\ge$ ``min_separation``,
    else inconclusive); gap$(T)$/gap$(T/10) \le 0.9$. Controls: the $\ell_2$ SVM direction as the
    limit (the same $D/4$ check); a $1/t$ law.
    """

    id = "separable.adversarial-linf"
    title = "l_inf-adversarial training converges to the maximum mixed-norm margin classifier"
    statement = (r"w_{t+1} = w_t - \eta\nabla\sum_i \ell(y_i w_t^\top x_i - \varepsilon\|w_t\|_1)\ \Rightarrow\ "
                 r"\frac{w_t}{\|w_t\|} \to \arg\max_{\|w\|_2\le1}\min_i y_i w^\top x_i - \varepsilon\|w\|_1")
    statement_text = ("GD on the l_inf-adversarial logistic loss sum_i l(y_i w^T x_i - eps ||w||_1) converges in "
                      "direction to the maximum mixed-norm margin classifier argmax_{||w||_2<=1} "
                      "min_i y_i w^T x_i - eps ||w||_1 (not to the l2 SVM).")
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
        mixed, l2, eps, robust = [], [], [], []
        for Zs, rob, e in zip(data["Zn"], data["robust"], data["eps"]):
            sol = ta.mixed_norm_margin(Zs, e, np.inf)  # InputError when e >= robust margin
            mixed.append(sol.w)
            l2.append(max_margin(Zs, 2).direction)
            eps.append(e)
            robust.append(rob)
        mixed, l2 = np.array(mixed), np.array(l2)
        return {"direction": mixed, "l2_direction": l2, "eps": np.array(eps), "robust": np.array(robust),
                "separation": np.linalg.norm(mixed - l2, axis=1)}

    def simulate(self, params, data, device, seeds):
        return adversarial_gd(data["Z"].to(device), torch.as_tensor(data["eps"]), torch.as_tensor(data["lr"]),
                              params.steps, "linf", record=log_spaced_steps(params.steps, 10))

    def _gaps(self, prediction, trajectory):
        W = trajectory.series["w"]
        steps = trajectory.steps
        gaps = _gap_series(W, prediction["direction"])
        wrong = _gap_series(W, prediction["l2_direction"])
        return steps, gaps, wrong

    def checks(self, params, data, prediction, trajectory):
        steps, gaps, wrong = self._gaps(prediction, trajectory)
        D = prediction["separation"]
        k0 = _window(steps, len(steps) - 1)
        curve = _gap_curve(steps, gaps, "gap to the mixed-norm direction")
        curve.extra["gap to the l2 SVM"] = wrong
        return [
            seed_check("gap to mixed-norm max-margin / separation", gaps[:, -1] / D, SEPARATION_FRACTION, "<=",
                       curve=curve, quantifier="every"),
            _separation_check("separation of mixed-norm and l2 directions", D, params.min_separation),
            seed_check("gap(T) / gap(T/10)", gaps[:, -1] / gaps[:, k0], 0.9, "<=", quantifier="every"),
        ]

    def controls(self, params, data, prediction, trajectory):
        steps, gaps, wrong = self._gaps(prediction, trajectory)
        D = prediction["separation"]
        k0 = _window(steps, len(steps) - 1)
        sl = np.array([log_slope(steps[k0:], gaps[s, k0:] * steps[k0:]) for s in range(gaps.shape[0])])
        return [
            seed_check("limit = l2 SVM direction: gap / separation", wrong[:, -1] / D, SEPARATION_FRACTION, "<=",
                       curve=_gap_curve(steps, wrong, "gap to the $\\ell_2$ SVM"), quantifier="every"),
            seed_check("1/t law: log-slope of gap*t over the last decade", sl, 0.1, "<=", quantifier="every"),
        ]
