r"""Rademacher complexity and generalization: bounds against measured complexities and trained networks.

Convention everywhere:
$\hat{\mathfrak R}_S(\mathcal F)=\mathbb E_\sigma\sup_{f\in\mathcal F}\frac1n\sum_i\sigma_if(x_i)$,
**no absolute value** (Mohri, Rostamizadeh, Talwalkar 2018); see :mod:`theorycheck.theory.rademacher`.

Claims:

* ``rademacher.linear-l2`` / ``rademacher.linear-l1`` — Monte Carlo of the exact expression
  $\frac Bn\mathbb E\|\sum\sigma_ix_i\|_{p^*}$ against the symbolic bounds, the Khintchine–Kahane
  lower bound ($\ell_2$), exact enumeration of all sign vectors, and the $1/\sqrt n$ law.
* ``rademacher.two-layer`` — a lower estimate of the complexity of norm-bounded two-layer ReLU nets
  (projected gradient ascent on the sign correlation, batched over draws and inits) against the
  two-layer / path-norm bound and Golowich et al.'s Frobenius bound, across widths; the exact
  supremum (d ≤ 3) certifies the estimate.
* ``rademacher.generalization`` — trained two-layer nets on a teacher task and on random labels:
  test error never exceeds the margin bound evaluated at the trained weights.

Decisions that rest on Monte Carlo or finite test sets use both ends of the confidence interval:
a bound "holds" when the upper end (mean + z·se) is below it and is "violated" when the lower end
(mean − z·se) is above it; in between the check is undecided. Across seeds the framework's
interval rule (bootstrap interval of the median) applies on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import mlp
from theorycheck.numerics.device import generator as make_generator
from theorycheck.numerics.rademacher import linear_rademacher_mc, relu_correlation_ascent
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import rademacher as theory
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.rates import log_slope, select_law
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

MOHRI = Source(authors="Mohri, Rostamizadeh, Talwalkar", year=2018, title="Foundations of Machine Learning (2nd ed.)",
               venue="MIT Press")


# ---------------------------------------------------------------------------------------------
# shared helpers

def _batch_generator(seeds: Sequence[int], salt: int, device: Any) -> torch.Generator:
    """One generator for a batched program over ``seeds`` (deterministic in the seed list)."""
    mixed = int(np.random.SeedSequence([salt, *map(int, seeds)]).generate_state(1)[0])
    return make_generator(mixed, device)


def interval_check(name: str, lower: Sequence[float], upper: Sequence[float], point: Sequence[float],
                   tolerance: float, relation: str, curve: Curve | None = None, note: str = "") -> CheckResult:
    """A check whose per-seed measurement is itself an interval [lower, upper] (Monte Carlo or test-set CI).

    For ``<=``: passes when the seeds' median *upper* end is (by the bootstrap interval rule) within
    the tolerance, fails when the median *lower* end is entirely beyond it; ``>=`` mirrors this.
    The reported value is the median point estimate.
    """
    favourable, adverse = (upper, lower) if relation == "<=" else (lower, upper)
    ok = seed_check(name, favourable, tolerance, relation, quantifier="every")
    bad = seed_check(name, adverse, tolerance, relation, quantifier="every")
    passed: bool | None = True if ok.passed else (False if bad.passed is False else None)
    med = float(np.median(np.asarray(point, float)))
    lo = min(ok.interval[0], bad.interval[0]) if ok.interval and bad.interval else med
    hi = max(ok.interval[1], bad.interval[1]) if ok.interval and bad.interval else med
    reason = note
    if passed is None:
        reason = (f"Monte Carlo / test-set interval straddles {tolerance:.3g} "
                  f"(median ends {np.median(lower):.4g} .. {np.median(upper):.4g})") + (f"; {note}" if note else "")
    return CheckResult(name, med, tolerance, relation, passed, [float(v) for v in point], (lo, hi), reason, curve)


def _int_tuple(name: str, values: Sequence[float], minimum: int) -> tuple[int, ...]:
    out = []
    for v in values:
        if float(v) != int(v) or int(v) < minimum:
            raise InputError(f"{name} must be integers >= {minimum}, got {values!r}")
        out.append(int(v))
    if len(out) < 2 or sorted(set(out)) != out:
        raise InputError(f"{name} must list at least two increasing distinct values, got {values!r}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# 1. linear classes

@dataclass(frozen=True)
class LinearParams(Params):
    """``ns``: sample sizes; ``d``: dimension; ``radius``: B; ``draws``: sign vectors per (seed, n);
    ``z``: half-width of the Monte Carlo interval in standard errors; ``enum_n``: sample size of the
    exact-enumeration check ($2^{n-1}$ sign vectors); ``enum_z``: allowed |MC − exact|/se there;
    ``slope_tol``: allowed |fitted log-slope + 1/2|."""

    ns: tuple[float, ...] = (16, 32, 64, 128, 256, 512)
    d: int = 5
    radius: float = 1.0
    draws: int = 4000
    z: float = 3.0
    enum_n: int = 14
    enum_z: float = 4.0
    slope_tol: float = 0.05

    @classmethod
    def full(cls) -> "LinearParams":
        return cls(ns=(16, 32, 64, 128, 256, 512, 1024, 2048), d=20, draws=20000, enum_n=20)

    def validate(self) -> None:
        _int_tuple("ns", self.ns, 2)
        if self.d < 1:
            raise InputError(f"d must be >= 1, got {self.d}")
        if self.radius <= 0:
            raise InputError(f"radius must be positive, got {self.radius}")
        if self.draws < 100:
            raise InputError(f"draws must be >= 100 for a usable confidence interval, got {self.draws}")
        if not 2 <= self.enum_n <= theory.MAX_ENUM_N:
            raise InputError(f"enum_n must be in [2, {theory.MAX_ENUM_N}], got {self.enum_n}")
        if self.z <= 0 or self.enum_z <= 0 or self.slope_tol <= 0:
            raise InputError("z, enum_z and slope_tol must be positive")


class _LinearClaim(Claim):
    """Shared machinery of the two norm-ball claims; subclasses set ``p`` and the data/bounds."""

    Params = LinearParams
    default_seeds = 4
    source = MOHRI
    p: float = 2.0
    salt: int = 0

    def _sample(self, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
        raise NotImplementedError

    def _bound(self, params: LinearParams, X: np.ndarray) -> float:
        raise NotImplementedError

    def _wrong_bound(self, params: LinearParams, X: np.ndarray) -> float:
        raise NotImplementedError

    def make_data(self, params: LinearParams, seeds: Sequence[int]) -> dict[str, Any]:
        params.validate()
        ns = _int_tuple("ns", params.ns, 2)
        def draw(s: int, n: int, key: int) -> np.ndarray:
            return self._sample(np.random.default_rng([self.salt, s, key]), n, params.d)

        X = {n: np.stack([draw(s, n, n) for s in seeds]) for n in ns}
        X_enum = np.stack([draw(s, params.enum_n, 0) for s in seeds])
        return {"ns": ns, "X": X, "X_enum": X_enum}

    def predict(self, params: LinearParams, data: dict[str, Any]) -> dict[str, Any]:
        ns = data["ns"]
        S = data["X_enum"].shape[0]
        bound = np.array([[self._bound(params, data["X"][n][s]) for n in ns] for s in range(S)])
        wrong = np.array([[self._wrong_bound(params, data["X"][n][s]) for n in ns] for s in range(S)])
        exact = np.array([theory.linear_rademacher_exact(data["X_enum"][s], params.radius, self.p) for s in range(S)])
        out = {"bound": bound, "wrong_bound": wrong, "exact_enum": exact}
        if self.p == 2:
            lower = theory.linear_l2_lower()
            out["khintchine"] = np.array([[float(lower.evaluate(B=params.radius, S2=float((data["X"][n][s] ** 2).sum()),
                                                                n=n)) for n in ns] for s in range(S)])
        return out

    def simulate(self, params: LinearParams, data: dict[str, Any], device: Any, seeds: Sequence[int]) -> Trajectory:
        gen = _batch_generator(seeds, 100 + self.salt, device)
        means, ses = [], []
        for n in data["ns"]:
            X = torch.as_tensor(data["X"][n], dtype=torch.float64, device=device)
            m, se = linear_rademacher_mc(X, params.radius, self.p, params.draws, gen)
            means.append(m)
            ses.append(se)
        Xe = torch.as_tensor(data["X_enum"], dtype=torch.float64, device=device)
        me, see = linear_rademacher_mc(Xe, params.radius, self.p, params.draws, gen)
        return Trajectory(steps=np.array(data["ns"]),
                          series={"mc": torch.stack(means, 1).cpu().numpy(), "se": torch.stack(ses, 1).cpu().numpy()},
                          final={"enum_mc": me.cpu().numpy(), "enum_se": see.cpu().numpy()}, device=str(device))

    def observations(self, params: LinearParams, data: Any, prediction: dict[str, Any],
                     trajectory: Trajectory) -> dict[str, float]:
        """Tightness MC/bound (median over seeds) at every n, and the fitted power of n."""
        ns = trajectory.steps.astype(float)
        ratio = np.median(trajectory.series["mc"] / prediction["bound"], axis=0)
        out = {f"MC/bound at n={int(n)}": float(r) for n, r in zip(ns, ratio)}
        sel = select_law(ns, np.median(trajectory.series["mc"], 0), ["1/sqrt t", "1/t", "t^-p"])
        out["fitted exponent p of n^-p"] = float(sel.fits["t^-p"].param)
        out["exact enumeration (median over seeds)"] = float(np.median(prediction["exact_enum"]))
        return out

    # -- checks ---------------------------------------------------------------------------------
    def _holds(self, name: str, params: LinearParams, traj: Trajectory, bound: np.ndarray, ylabel: str) -> CheckResult:
        mc, se = traj.series["mc"], traj.series["se"]
        ns = traj.steps.astype(float)
        curve = Curve(ns, mc / bound, xlabel="sample size $n$", ylabel=ylabel, logx=True, logy=False,
                      predicted=np.ones_like(ns), predicted_label="bound (ratio 1)")
        return interval_check(name, ((mc - params.z * se) / bound).max(1), ((mc + params.z * se) / bound).max(1),
                              (mc / bound).max(1), 1.0, "<=", curve,
                              note="tightness MC/bound per n (median over seeds): "
                                   + ", ".join(f"{int(n)}: {r:.3f}" for n, r in zip(ns, np.median(mc / bound, 0))))

    def _slope(self, name: str, params: LinearParams, traj: Trajectory, target: float) -> CheckResult:
        ns = traj.steps.astype(float)
        mc = traj.series["mc"]
        slopes = np.array([log_slope(ns, row) for row in mc])
        sel = select_law(ns, np.median(mc, 0), ["1/sqrt t", "1/t", "t^-p"])
        fitted = sel.fits["t^-p"].param
        curve = Curve(ns, mc, xlabel="sample size $n$", ylabel=r"$\hat{\mathfrak{R}}_S$ (Monte Carlo)",
                      predicted=np.median(mc[:, :1], 0) * (ns / ns[0]) ** target, predicted_label=f"$n^{{{target:g}}}$")
        res = seed_check(name, np.abs(slopes - target), params.slope_tol, "<=", curve=curve, quantifier="every")
        res.reason = (res.reason + "; " if res.reason else "") + (
            f"median log-slope {np.median(slopes):.4f}; BIC-best law {sel.best!r}, fitted t^-p exponent {fitted:.4f}")
        return res

    def _enum(self, params: LinearParams, prediction: dict[str, Any], traj: Trajectory) -> CheckResult:
        zs = np.abs(traj.final["enum_mc"] - prediction["exact_enum"]) / traj.final["enum_se"]
        res = seed_check(f"MC = exact enumeration at n={params.enum_n}: |z|", zs,
                         params.enum_z, "<=", quantifier="every")
        exact, mc = np.round(prediction["exact_enum"], 6).tolist(), np.round(traj.final["enum_mc"], 6).tolist()
        res.reason = (res.reason + "; " if res.reason else "") + f"exact {exact} vs MC {mc}"
        return res


@register
class LinearL2(_LinearClaim):
    r"""$\ell_2$ ball $\{w:\|w\|_2\le B\}$, points uniform on the unit sphere of $\mathbb R^d$ ($R=1$).

    Exact: $\hat{\mathfrak R}_S=\frac Bn\mathbb E\|\sum_i\sigma_ix_i\|_2$ (Cauchy–Schwarz is tight at
    $w\propto\sum\sigma_ix_i$). Bound (Jensen): $\le B\sqrt{\sum\|x_i\|^2}/n=BR/\sqrt n$ on the sphere.
    Lower (Khintchine–Kahane, Szarek's $1/\sqrt2$; Latała–Oleszkiewicz for vectors):
    $\ge B\sqrt{\sum\|x_i\|^2}/(\sqrt2n)$, so MC/bound $\in[0.707,1]$ (THEORY.md measured 0.883 at
    d = 2, 0.995 at d = 50). Tolerances: the bounds are exact inequalities, decided by the Monte
    Carlo interval (mean ± 3 se, 4000 draws: se/mean ≈ 0.5%); the log-slope of the MC value over
    $n\in[16,512]$ equals −1/2 up to the variation of the tightness ratio (a few percent over a
    factor 32 in n ⇒ |Δslope| ≲ 0.01), tolerance 0.05. Controls: the "bound" $BR/n$ ($\sqrt n$
    replaced by $n$), which the MC value exceeds by a factor ≈ 0.95√n ≥ 3.8, and the $1/n$ law
    (slope −1, 0.5 away).
    """

    id = "rademacher.linear-l2"
    title = "Rademacher complexity of the l2 ball: exact Monte Carlo vs B R / sqrt(n)"
    statement = (r"\hat{\mathfrak R}_S(\{w:\|w\|_2\le B\})=\frac Bn\mathbb E_\sigma\Big\|\sum_i\sigma_ix_i\Big\|_2"
                 r"\in\Big[\frac{B\sqrt{\sum_i\|x_i\|^2}}{\sqrt2\,n},\ \frac{B\sqrt{\sum_i\|x_i\|^2}}{n}\Big]"
                 r"\le\frac{BR}{\sqrt n}")
    statement_text = ("R_S(l2 ball of radius B) = (B/n) E||sum sigma_i x_i||_2 lies between "
                      "B sqrt(sum ||x_i||^2)/(sqrt(2) n) and B sqrt(sum ||x_i||^2)/n <= B R/sqrt(n)")
    p = 2.0
    salt = 1

    def _sample(self, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
        X = rng.normal(size=(n, d))
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    def _bound(self, params: LinearParams, X: np.ndarray) -> float:
        return float(theory.linear_l2_bound("data").evaluate(B=params.radius, S2=float((X**2).sum()), n=X.shape[0]))

    def _wrong_bound(self, params: LinearParams, X: np.ndarray) -> float:
        R = float(np.linalg.norm(X, axis=1).max())
        return params.radius * R / X.shape[0]

    def checks(self, params, data, prediction, trajectory):
        mc, se = trajectory.series["mc"], trajectory.series["se"]
        low = prediction["khintchine"]
        ns = trajectory.steps.astype(float)
        kk = interval_check("MC >= B sqrt(S2)/(sqrt2 n) (Khintchine-Kahane), all n",
                            ((mc - params.z * se) / low).min(1), ((mc + params.z * se) / low).min(1),
                            (mc / low).min(1), 1.0, ">=",
                            Curve(ns, mc / prediction["bound"], xlabel="sample size $n$", ylabel="MC / bound",
                                  logy=False, predicted=np.full_like(ns, 2**-0.5), predicted_label=r"$1/\sqrt{2}$"))
        return [self._holds("MC <= B sqrt(S2)/n = B R/sqrt(n), all n", params, trajectory,
                            prediction["bound"], "MC / bound"),
                kk,
                self._enum(params, prediction, trajectory),
                self._slope("1/sqrt(n) law: |log-slope + 1/2|", params, trajectory, -0.5)]

    def controls(self, params, data, prediction, trajectory):
        return [self._holds("MC <= B R/n (sqrt n -> n), all n", params, trajectory,
                            prediction["wrong_bound"], "MC / wrong bound"),
                self._slope("1/n law: |log-slope + 1|", params, trajectory, -1.0)]


@register
class LinearL1(_LinearClaim):
    r"""$\ell_1$ ball $\{w:\|w\|_1\le B\}$, Rademacher design $x_{ij}=\pm1$ ($R_\infty=1$).

    Exact: $\hat{\mathfrak R}_S=\frac Bn\mathbb E\|\sum_i\sigma_ix_i\|_\infty$ (the dual norm; the sup
    of a linear function over the $\ell_1$ ball is attained at a signed vertex). Massart's lemma over
    the $2d$ vectors $\pm X_{:,j}$ (each of norm $\sqrt n$ here): $\le BR_\infty\sqrt{2\ln(2d)/n}$ —
    the data form and the radius form coincide for this design. THEORY.md measured MC/Massart
    0.42–0.51 (≈ 2× slack: $\mathbb E\max$ of $2d$ Gaussians against $\sqrt{2\ln 2d}$). Same
    tolerances and controls as the $\ell_2$ claim; the control "bound"
    $BR_\infty\sqrt{2\ln(2d)}/n$ is exceeded by a factor ≈ 0.45√n ≥ 1.8 at n = 16 and more beyond.
    """

    id = "rademacher.linear-l1"
    title = "Rademacher complexity of the l1 ball: exact Monte Carlo vs Massart's B R_inf sqrt(2 ln(2d)/n)"
    statement = (r"\hat{\mathfrak R}_S(\{w:\|w\|_1\le B\})=\frac Bn\mathbb E_\sigma\Big\|\sum_i\sigma_ix_i\Big\|_\infty"
                 r"\le BR_\infty\sqrt{\frac{2\ln(2d)}{n}}")
    statement_text = "R_S(l1 ball of radius B) = (B/n) E||sum sigma_i x_i||_inf <= B R_inf sqrt(2 ln(2d)/n) (Massart)"
    p = 1.0
    salt = 2

    def _sample(self, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
        return rng.choice([-1.0, 1.0], size=(n, d))

    def _bound(self, params: LinearParams, X: np.ndarray) -> float:
        R_inf = float(np.abs(X).max())
        bound = theory.linear_l1_massart_bound("radius")
        return float(bound.evaluate(B=params.radius, R_inf=R_inf, d=X.shape[1], n=X.shape[0]))

    def _wrong_bound(self, params: LinearParams, X: np.ndarray) -> float:
        R_inf = float(np.abs(X).max())
        return params.radius * R_inf * np.sqrt(2 * np.log(2 * X.shape[1])) / X.shape[0]

    def checks(self, params, data, prediction, trajectory):
        return [self._holds("MC <= B R_inf sqrt(2 ln(2d)/n) (Massart), all n", params, trajectory,
                            prediction["bound"], "MC / Massart bound"),
                self._enum(params, prediction, trajectory),
                self._slope("1/sqrt(n) law: |log-slope + 1/2|", params, trajectory, -0.5)]

    def controls(self, params, data, prediction, trajectory):
        return [self._holds("MC <= B R_inf sqrt(2 ln(2d))/n (sqrt n -> n), all n", params, trajectory,
                            prediction["wrong_bound"], "MC / wrong bound"),
                self._slope("1/n law: |log-slope + 1|", params, trajectory, -1.0)]


# ---------------------------------------------------------------------------------------------
# 2. two-layer ReLU networks

@dataclass(frozen=True)
class TwoLayerParams(Params):
    """``n`` points uniform on the unit sphere of $\\mathbb R^d$; ``widths`` of the nets; ``draws``
    sign vectors per seed (shared by all widths); ``neurons`` starting neurons per draw (inits per
    width = max(1, neurons // width), so every width gets the same search budget); ``steps`` of
    projected ascent; ``B_a``, ``B_w`` the norm radii; ``z`` the MC interval half-width in standard
    errors; ``exact_tol`` allowed relative shortfall of the estimate below the exact supremum;
    ``width_tol`` allowed |log(estimate at width m / estimate at the smallest width)|;
    ``grid_per_side`` of the certified sphere grid for d = 3."""

    n: int = 32
    d: int = 2
    widths: tuple[float, ...] = (1, 4, 16, 64)
    draws: int = 24
    neurons: int = 96
    steps: int = 80
    B_a: float = 1.0
    B_w: float = 1.0
    z: float = 3.0
    exact_tol: float = 0.01
    width_tol: float = 0.02
    grid_per_side: int = 60

    @classmethod
    def full(cls) -> "TwoLayerParams":
        return cls(n=64, d=3, widths=(1, 4, 16, 64, 256, 1024), draws=64, neurons=256, steps=150)

    def validate(self) -> None:
        _int_tuple("widths", self.widths, 1)
        if self.n < 2 or self.d < 1:
            raise InputError(f"n must be >= 2 and d >= 1, got n = {self.n}, d = {self.d}")
        if self.draws < 8:
            raise InputError(f"draws must be >= 8 for a usable confidence interval, got {self.draws}")
        if self.neurons < 1 or self.steps < 1:
            raise InputError(f"neurons and steps must be >= 1, got {self.neurons}, {self.steps}")
        if self.B_a <= 0 or self.B_w <= 0:
            raise InputError(f"B_a and B_w must be positive, got {self.B_a}, {self.B_w}")
        if self.z <= 0 or self.exact_tol <= 0 or self.width_tol <= 0:
            raise InputError("z, exact_tol and width_tol must be positive")


def _mean_se(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    k = values.shape[axis]
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(k)


@register
class TwoLayerRelu(Claim):
    r"""Two-layer ReLU nets $f(x)=\sum_{j\le m}a_j\mathrm{relu}(w_j^\top x)$ with $\|a\|_1\le B_a$, $\|w_j\|_2\le B_w$.

    **Bounds** (:mod:`theorycheck.theory.rademacher`, all width-free): the two-layer bound
    $2LB_aB_w\sqrt{S_2}/n$ ($L=1$), the same number as the path-norm bound $2\varphi\sqrt{S_2}/n$ at
    $\varphi=B_aB_w$, and Golowich et al. (2018) Thm. 1 with depth 2,
    $(\sqrt{4\ln2}+1)B_aB_w\sqrt{S_2}/n$. Golowich's class ($\|W\|_F\|a\|_2\le B_aB_w$) is the *same*
    set of functions: by positive homogeneity each neuron can be rescaled to $\|w_j\|=1$, and
    $\sum|a_j|\|w_j\|\le\|a\|_2\|W\|_F$ with equality reachable — so all three bound one quantity,
    $\hat{\mathfrak R}_S=(B_aB_w/n)\,\mathbb E_\sigma\max_{\|u\|=1}|\sum_i\sigma_i\mathrm{relu}(u^\top x_i)|$,
    for every width $m\ge1$.

    **Measurement.** For each sign draw, projected gradient ascent on $\frac1n\sum\sigma_if(x_i)$
    (:func:`~theorycheck.numerics.rademacher.relu_correlation_ascent`, batched over seeds × draws ×
    inits) — a lower estimate: every iterate is in the class. The same sign draws are used at every
    width (common random numbers), and every width starts the same number of neurons per draw.
    In $d\le3$ the exact supremum per draw is computed independently (exact arcs in $d=2$, a
    certified cube-sphere grid in $d=3$) and certifies the estimate from both sides.

    **Checks.** (1) estimate ≤ two-layer bound at every width (Monte Carlo interval over draws);
    (2) estimate ≤ Golowich bound; (3) estimate ≥ (1 − 1%) × exact supremum, and ≤ exact (the
    tolerance is the optimizer's, fixed up front); (4) the estimate does not change with width,
    |log ratio| ≤ 0.02 (same draws, so no MC noise enters the ratio). The tightness ratios
    estimate/bound per width are reported in the reasons.

    **Controls.** (a) the issue's "parameter-count bound" $c\,m(d+1)/\sqrt n$, scaled down until it
    equals the estimate at the largest width: at the smallest width it is smaller by the factor
    $m_{\min}/m_{\max}$ (≤ 1/64) while the estimate is unchanged, so it is violated; (b) the
    two-layer bound with $\sqrt n$ replaced by $n$, $2B_aB_wR/n$, below the estimate by the factor
    ≈ (estimate/bound)·√n.
    """

    id = "rademacher.two-layer"
    title = "Two-layer ReLU nets: sign-correlation lower estimate vs width-free norm bounds"
    statement = (r"\hat{\mathfrak R}_S\Big(\Big\{\sum_j a_j\,\mathrm{relu}(w_j^\top x):"
                 r"\|a\|_1\le B_a,\|w_j\|_2\le B_w\Big\}\Big)"
                 r"\le\frac{2B_aB_w\sqrt{\sum_i\|x_i\|^2}}{n}\quad\text{for every width}")
    statement_text = ("R_S(two-layer ReLU nets with ||a||_1 <= B_a, ||w_j||_2 <= B_w) "
                      "<= 2 B_a B_w sqrt(sum ||x_i||^2)/n, "
                      "independent of the width; Golowich et al. (2018) Thm 1 gives "
                      "(sqrt(2 ln2 * 2)+1) B_a B_w sqrt(S2)/n")
    source = Source(authors="Golowich, Rakhlin, Shamir", year=2018,
                    title="Size-Independent Sample Complexity of Neural Networks", venue="COLT", arxiv="1712.06541")
    Params = TwoLayerParams
    default_seeds = 4

    def make_data(self, params: TwoLayerParams, seeds: Sequence[int]) -> dict[str, Any]:
        params.validate()
        X, sig = [], []
        for s in seeds:
            rng = np.random.default_rng([3, s])
            x = rng.normal(size=(params.n, params.d))
            X.append(x / np.linalg.norm(x, axis=1, keepdims=True))
            sig.append(rng.choice([-1.0, 1.0], size=(params.draws, params.n)))
        return {"X": np.stack(X), "sigma": np.stack(sig), "widths": _int_tuple("widths", params.widths, 1)}

    def predict(self, params: TwoLayerParams, data: dict[str, Any]) -> dict[str, Any]:
        X, sig = data["X"], data["sigma"]
        n = params.n
        S2 = (X**2).sum(axis=(1, 2))
        two = theory.two_layer_bound().evaluate(L=1.0, B_a=params.B_a, B_w=params.B_w, S2=S2, n=n)
        path = theory.path_norm_bound().evaluate(phi=params.B_a * params.B_w, S2=S2, n=n)
        gol = theory.golowich_frobenius(2).evaluate(M_F=params.B_a * params.B_w, S2=S2, n=n)
        R = np.linalg.norm(X, axis=2).max(axis=1)
        scale = params.B_a * params.B_w / n
        exact = upper = None
        if params.d == 2:
            exact = np.stack([theory.relu_sup_exact_2d(X[s], sig[s]) for s in range(X.shape[0])]) * scale
            upper = exact
        elif params.d == 3:
            vals = [theory.relu_sup_grid(X[s], sig[s], per_side=params.grid_per_side) for s in range(X.shape[0])]
            exact = np.stack([v[0] for v in vals]) * scale
            upper = np.stack([v[1] for v in vals]) * scale
        return {"two_layer": two, "path_norm": path, "golowich": gol, "wrong_n": 2 * params.B_a * params.B_w * R / n,
                "exact": exact, "exact_upper": upper}

    def simulate(self, params: TwoLayerParams, data: dict[str, Any], device: Any, seeds: Sequence[int]) -> Trajectory:
        gen = _batch_generator(seeds, 300, device)
        X = torch.as_tensor(data["X"], dtype=torch.float64, device=device)
        sig = torch.as_tensor(data["sigma"], dtype=torch.float64, device=device)
        values, paths = [], []
        for m in data["widths"]:
            out = relu_correlation_ascent(X, sig, m, max(1, params.neurons // m), params.steps, params.B_a,
                                          params.B_w, gen)
            values.append(out["value"])
            paths.append(out["path_norm"])
        return Trajectory(steps=np.array(data["widths"]),
                          series={"estimate": torch.stack(values, 1).cpu().numpy(),  # (S, widths, draws)
                                  "path_norm": torch.stack(paths, 1).cpu().numpy()}, device=str(device))

    def _holds(self, name: str, params: TwoLayerParams, traj: Trajectory, bound: np.ndarray,
               ylabel: str) -> CheckResult:
        mean, se = _mean_se(traj.series["estimate"])  # (S, W)
        b = np.asarray(bound, float).reshape(mean.shape[0], -1)
        widths = traj.steps.astype(float)
        ratio = mean / b
        curve = Curve(widths, ratio, xlabel="width $m$", ylabel=ylabel, logx=True, logy=False,
                      predicted=np.ones_like(widths), predicted_label="bound (ratio 1)")
        return interval_check(name, ((mean - params.z * se) / b).max(1), ((mean + params.z * se) / b).max(1),
                              ratio.max(1), 1.0, "<=", curve,
                              note="estimate/bound per width (median over seeds): "
                                   + ", ".join(f"{int(w)}: {r:.4f}" for w, r in zip(widths, np.median(ratio, 0))))

    def checks(self, params, data, prediction, trajectory):
        est = trajectory.series["estimate"]
        widths = trajectory.steps.astype(float)
        out = [self._holds("estimate <= 2 B_a B_w sqrt(S2)/n, all widths", params,
                           trajectory, prediction["two_layer"][:, None], "estimate / two-layer bound"),
               self._holds("estimate <= Golowich Thm 1 (depth 2), all widths", params, trajectory,
                           prediction["golowich"][:, None], "estimate / Golowich bound")]
        if prediction["exact"] is not None:
            exact = prediction["exact"][:, None, :]
            short = 1.0 - (est / exact).mean(axis=2)  # (S, W): mean relative shortfall per width
            curve = Curve(widths, est.mean(2) / exact.mean(2), xlabel="width $m$", ylabel="estimate / exact supremum",
                          logy=False, predicted=np.ones_like(widths), predicted_label="exact")
            res = seed_check(f"estimate attains the exact sup (d={params.d}): shortfall", short.max(1),
                             params.exact_tol, "<=", curve=curve, quantifier="every")
            over = (est - prediction["exact_upper"][:, None, :]).max(axis=(1, 2))
            res.reason = (res.reason + "; " if res.reason else "") + f"max (estimate - exact upper) = {over.max():.2e}"
            out.append(res)
            out.append(seed_check("estimate <= exact sup, every draw",
                                  over / (params.B_a * params.B_w), 1e-9, "<=", quantifier="every"))
        means = est.mean(axis=2)
        drift = np.abs(np.log(means / means[:, :1])).max(axis=1)
        out.append(seed_check("width-free: max |log est(m)/est(m_min)|", drift,
                              params.width_tol, "<=",
                              curve=Curve(widths, means, xlabel="width $m$",
                                    ylabel=r"lower estimate of $\hat{\mathfrak{R}}_S$", logy=False,
                                    predicted=np.full(widths.shape, float(np.median(prediction["two_layer"]))),
                                    predicted_label="two-layer bound (median over seeds)"), quantifier="every"))
        return out

    def observations(self, params, data, prediction, trajectory):
        """Estimate / bound per width (median over seeds) for both bounds, and the exact value."""
        means = trajectory.series["estimate"].mean(axis=2)  # (S, W)
        out = {}
        for w, col in zip(trajectory.steps, means.T):
            out[f"estimate/two-layer bound, width {int(w)}"] = float(np.median(col / prediction["two_layer"]))
        out["estimate/Golowich bound, largest width"] = float(np.median(means[:, -1] / prediction["golowich"]))
        if prediction["exact"] is not None:
            out["exact/two-layer bound"] = float(np.median(prediction["exact"].mean(1) / prediction["two_layer"]))
        out["path norm of maximizers / (B_a B_w)"] = float(np.median(trajectory.series["path_norm"])
                                                          / (params.B_a * params.B_w))
        return out

    def controls(self, params, data, prediction, trajectory):
        est = trajectory.series["estimate"]
        widths = trajectory.steps.astype(float)
        count = widths * (params.d + 1)  # parameters of a width-m net (a and W)
        means = est.mean(axis=2)
        calib = means[:, -1] * np.sqrt(params.n) / count[-1]  # tight at the largest width, per seed
        pc_bound = calib[:, None] * count[None, :] / np.sqrt(params.n)
        return [self._holds("estimate <= c #params/sqrt(n) (tight at max width)", params, trajectory,
                            pc_bound, "estimate / parameter-count bound"),
                self._holds("estimate <= 2 B_a B_w R/n (sqrt n -> n), all widths", params, trajectory,
                            prediction["wrong_n"][:, None], "estimate / wrong bound")]


# ---------------------------------------------------------------------------------------------
# 3. generalization of trained networks

@dataclass(frozen=True)
class GeneralizationParams(Params):
    """Data: $x=c\\,\\mu v+\\sqrt{1-\\mu^2}\\,\\xi$ with $c=\\pm1$ fair, $v$ a unit vector, $\\xi$ uniform on the
    unit sphere of $v^\\perp$ (so $\\|x\\|=1$ and $|v^\\top x|=\\mu$); the teacher label is $c$, flipped with
    probability ``noise`` (0.5 = random labels, independent of $x$). ``noise_levels``: the tasks;
    ``draws``: training sets per seed and task; two-layer ReLU nets of ``width`` trained by full-batch
    GD (``steps``, ``lr``) on the logistic loss; ``n_test`` fresh points per seed and task;
    ``delta`` the confidence; the margin grid has ``n_gammas`` geometric values in
    [``gamma_min``, ``gamma_max``] (normalized margins $yf/\\varphi\\le1$); ``z`` the test-error interval
    half-width in standard errors."""

    n: int = 200
    d: int = 32
    width: int = 32
    mu: float = 0.8
    steps: int = 400
    lr: float = 4.0
    draws: int = 2
    noise_levels: tuple[float, ...] = (0.0, 0.5)
    n_test: int = 1000
    delta: float = 0.05
    gamma_min: float = 1e-3
    gamma_max: float = 1.0
    n_gammas: int = 16
    z: float = 3.0

    @classmethod
    def full(cls) -> "GeneralizationParams":
        return cls(n=500, d=64, width=48, steps=1500, lr=2.0, draws=12, noise_levels=(0.0, 0.2, 0.5), n_test=4000)

    def validate(self) -> None:
        if self.n < 10 or self.d < 2 or self.width < 1:
            raise InputError(f"need n >= 10, d >= 2, width >= 1; got n = {self.n}, d = {self.d}, width = {self.width}")
        if not 0 < self.mu < 1:
            raise InputError(f"mu must be in (0, 1), got {self.mu}")
        if self.steps < 1 or self.lr <= 0:
            raise InputError(f"steps must be >= 1 and lr > 0, got {self.steps}, {self.lr}")
        if self.draws < 1 or self.n_test < 100:
            raise InputError(f"draws must be >= 1 and n_test >= 100, got {self.draws}, {self.n_test}")
        levels = list(self.noise_levels)
        if len(levels) < 2 or levels != sorted(set(levels)) or levels[0] < 0 or levels[-1] > 0.5:
            raise InputError(f"noise_levels must be >= 2 increasing values in [0, 0.5], got {self.noise_levels!r}")
        if not 0 < self.delta < 1:
            raise InputError(f"delta must be in (0, 1), got {self.delta}")
        if not 0 < self.gamma_min < self.gamma_max or self.n_gammas < 1:
            raise InputError(f"need 0 < gamma_min < gamma_max and n_gammas >= 1, got "
                             f"{self.gamma_min}, {self.gamma_max}, {self.n_gammas}")
        if self.z <= 0:
            raise InputError(f"z must be positive, got {self.z}")

    @property
    def gammas(self) -> np.ndarray:
        return np.geomspace(self.gamma_min, self.gamma_max, self.n_gammas)


def _cluster_sample(rng: np.random.Generator, v: np.ndarray, k: int, mu: float) -> tuple[np.ndarray, np.ndarray]:
    c = rng.choice([-1.0, 1.0], size=k)
    xi = rng.normal(size=(k, v.size))
    xi -= np.outer(xi @ v, v)
    xi /= np.linalg.norm(xi, axis=1, keepdims=True)
    return c[:, None] * mu * v + np.sqrt(1 - mu**2) * xi, c


def _noisy(rng: np.random.Generator, c: np.ndarray, p: float) -> np.ndarray:
    if p >= 0.5:
        return rng.choice([-1.0, 1.0], size=c.shape)
    return np.where(rng.random(c.shape) < p, -c, c)


@register
class MarginGeneralization(Claim):
    r"""Test error of trained two-layer ReLU nets never exceeds the Rademacher margin bound at the trained weights.

    **Bound.** Loss in $[0,1]$, ramp loss at margin $\gamma$ ($1/\gamma$-Lipschitz; contraction without a
    factor 2 in this convention): w.p. $\ge1-\delta$, for all $f\in\mathcal F$,
    $P(yf(x)\le0)\le\hat R_\gamma(f)+\frac2\gamma\hat{\mathfrak R}_S(\mathcal F)+3\sqrt{\ln(2/\delta)/(2n)}$
    (Mohri et al. 2018, Thm. 5.8; THEORY.md §4). With $\mathcal F$ the path-norm ball
    $\{\varphi\le1\}$, $\hat{\mathfrak R}_S\le2\sqrt{\sum\|x_i\|^2}/n$, applied to $f/\varphi(f)$ with the
    *measured* path norm $\varphi(f)=\sum_j|a_j|\|w_j\|_2$ of the trained net (equivalently: the class
    $\{\varphi\le\varphi(f)\}$ at margin $\gamma\varphi(f)$). The margin is not chosen after the fact:
    the stated bound is applied at each $\gamma_k$ of a fixed geometric grid with $\delta/K$ and the
    minimum is taken — a union bound, so the result holds for all nets, margins and snapshots at
    once (:func:`~theorycheck.theory.rademacher.margin_bound_on_grid`). No constant is left implicit.

    **Experiment.** Two clusters on the unit sphere ($|v^\top x|=\mu$), labels from the teacher
    $\mathrm{sign}(v^\top x)$, flipped with probability $p$ ($p=0.5$: random labels); the dimension
    (32-64 for 200-500 points) is large enough that GD memorizes random labels within the step
    budget. Many training sets per seed (redraws); full-batch GD on the logistic loss; the bound and
    the test error (on fresh points from the same distribution, with the same label noise) at
    log-spaced snapshots.

    **Checks.** (1) test error ≤ bound for every task, draw and snapshot (decided with the test-set
    interval ±3 se); (2) the fraction of training-set draws whose gap ever exceeds the bound is
    ≤ δ (it is 0; the slack is reported); (3) the bound tracks label noise: larger for noisier
    labels (ratio of medians ≥ 1 between consecutive levels); (4) so does the path norm. The bound
    is vacuous (> 1) at small n — reported, not hidden; at the full preset the teacher's bound is
    below 1.

    **Controls.** The bound without its complexity term, $\min_k\hat R_{\gamma_k}+3\sqrt{\ln(2K/\delta)/(2n)}$:
    nets that memorize random labels have a small ramp loss at the smallest grid margin while their
    test error is 1/2, so both (1) and (2) must fail against it.
    """

    id = "rademacher.generalization"
    title = "Margin bound with measured path norm vs test error of trained two-layer nets (teacher and random labels)"
    statement = (r"P(yf(x)\le0)\le\min_k\Big[\hat R_{\gamma_k}\big(f/\varphi(f)\big)"
                 r"+\frac2{\gamma_k}\cdot\frac{2\sqrt{\sum_i\|x_i\|^2}}n"
                 r"+3\sqrt{\frac{\ln(2K/\delta)}{2n}}\Big],\quad\varphi(f)=\sum_j|a_j|\,\|w_j\|_2")
    statement_text = ("with probability >= 1 - delta, test error <= min over a fixed margin grid of "
                      "[ramp loss of f/phi(f) at gamma_k + (2/gamma_k) * 2 sqrt(sum ||x_i||^2)/n "
                      "+ 3 sqrt(ln(2K/delta)/(2n))]")
    source = MOHRI
    Params = GeneralizationParams
    default_seeds = 4

    def make_data(self, params: GeneralizationParams, seeds: Sequence[int]) -> dict[str, Any]:
        params.validate()
        T, D = len(params.noise_levels), params.draws
        X = np.empty((len(seeds), T, D, params.n, params.d))
        y = np.empty((len(seeds), T, D, params.n))
        Xt = np.empty((len(seeds), params.n_test, params.d))
        yt = np.empty((len(seeds), T, params.n_test))
        for i, s in enumerate(seeds):
            rng = np.random.default_rng([5, s])
            v = rng.normal(size=params.d)
            v /= np.linalg.norm(v)
            for k, p in enumerate(params.noise_levels):
                for r in range(D):
                    X[i, k, r], c = _cluster_sample(rng, v, params.n, params.mu)
                    y[i, k, r] = _noisy(rng, c, p)
            Xt[i], ct = _cluster_sample(rng, v, params.n_test, params.mu)
            for k, p in enumerate(params.noise_levels):
                yt[i, k] = _noisy(rng, ct, p)
        return {"X": X, "y": y, "X_test": Xt, "y_test": yt}

    def predict(self, params: GeneralizationParams, data: dict[str, Any]) -> dict[str, Any]:
        S2 = (data["X"] ** 2).sum(axis=(-1, -2))
        K = params.n_gammas
        rad = theory.path_norm_bound().evaluate(phi=1.0, S2=float(S2.max()), n=params.n)
        return {"bound": theory.margin_bound(), "S2": float(S2.max()),
                "complexity": 2 / params.gammas * rad,
                "concentration": float(theory.margin_concentration().evaluate(delta=params.delta / K, n=params.n))}

    def simulate(self, params: GeneralizationParams, data: dict[str, Any], device: Any,
                 seeds: Sequence[int]) -> Trajectory:
        S, T, D = data["y"].shape[:3]
        B = S * T * D
        X = torch.as_tensor(data["X"].reshape(B, params.n, params.d), dtype=torch.float64, device=device)
        y = torch.as_tensor(data["y"].reshape(B, params.n), dtype=torch.float64, device=device)
        gen = _batch_generator(seeds, 500, device)
        a0, W0 = mlp.init_two_layer(B, params.width, params.d, gen, device=device)
        traj = mlp.train_two_layer(X, y, a0, W0, params.steps, params.lr, "logistic")
        A = torch.as_tensor(traj.series["a"], device=device)  # (B, Tsnap, m)
        Wt = torch.as_tensor(traj.series["W"], device=device)  # (B, Tsnap, m, d)
        Xt = torch.as_tensor(data["X_test"], dtype=torch.float64, device=device)
        yt = torch.as_tensor(data["y_test"], dtype=torch.float64, device=device)  # (S, T, n_test)
        margins, train_err, test_err = [], [], []
        for k in range(A.shape[1]):
            a, W = A[:, k], Wt[:, k]
            f = mlp.two_layer_forward(a, W, X)
            phi = mlp.path_norm(a, W).clamp_min(1e-300)
            margins.append(y * f / phi[:, None])
            train_err.append((y * f <= 0).to(torch.float64).mean(-1))
            errs = []
            for s in range(S):
                sl = slice(s * T * D, (s + 1) * T * D)
                ft = mlp.two_layer_forward(a[sl], W[sl], Xt[s]).reshape(T, D, -1)
                errs.append((yt[s][:, None, :] * ft <= 0).to(torch.float64).mean(-1).reshape(-1))
            test_err.append(torch.cat(errs))
        series = {"normalized_margins": torch.stack(margins, 1).cpu().numpy(),
                  "train_error": torch.stack(train_err, 1).cpu().numpy(),
                  "test_error": torch.stack(test_err, 1).cpu().numpy(),
                  "path_norm": traj.series["path_norm"], "loss": traj.series["loss"]}
        return Trajectory(steps=traj.steps, series=series, final={"shape": np.array([S, T, D])}, device=str(device))

    # -- evaluation -----------------------------------------------------------------------------
    def _evaluate(self, params: GeneralizationParams, prediction: dict[str, Any], traj: Trajectory,
                  with_complexity: bool) -> dict[str, np.ndarray]:
        S, T, D = (int(v) for v in traj.final["shape"])
        res = theory.margin_bound_on_grid(traj.series["normalized_margins"], params.gammas, prediction["S2"], params.n,
                                          params.delta, with_complexity)
        te = traj.series["test_error"]
        se = np.sqrt((te * (1 - te) + 1.0 / params.n_test) / params.n_test)
        shape = (S, T, D, -1)
        return {"bound": res["bound"].reshape(shape), "gamma": res["gamma"].reshape(shape), "test": te.reshape(shape),
                "lo": (te - params.z * se).reshape(shape), "hi": (te + params.z * se).reshape(shape),
                "train": traj.series["train_error"].reshape(shape), "phi": traj.series["path_norm"].reshape(shape)}

    def _bound_checks(self, params: GeneralizationParams, ev: dict[str, np.ndarray], traj: Trajectory,
                      label: str) -> list[CheckResult]:
        S = ev["bound"].shape[0]
        flat = lambda a: a.reshape(S, -1)  # noqa: E731
        excess_lo = flat(ev["lo"] - ev["bound"]).max(1)
        excess_hi = flat(ev["hi"] - ev["bound"]).max(1)
        point = flat(ev["test"] - ev["bound"]).max(1)
        steps = traj.steps.astype(float)
        keep = steps > 0
        curve = Curve(steps[keep], np.median(ev["test"][:, 0], axis=1)[:, keep], xlabel="step $t$",
                      ylabel="test error (teacher task)", logx=True, logy=False,
                      predicted=np.median(ev["bound"][:, 0], axis=(0, 1))[keep], predicted_label=label,
                      extra={f"test error, noise {p:g}": np.median(ev["test"][:, k], axis=1)[:, keep]
                             for k, p in enumerate(params.noise_levels)}
                      | {f"bound, noise {p:g}": np.median(ev["bound"][:, k], axis=1)[:, keep]
                         for k, p in enumerate(params.noise_levels)})
        final = {p: (float(np.median(ev["test"][:, k, :, -1])), float(np.median(ev["bound"][:, k, :, -1])),
                     float(np.median(ev["train"][:, k, :, -1])), float(np.median(ev["phi"][:, k, :, -1])))
                 for k, p in enumerate(params.noise_levels)}
        note = "; ".join(f"noise {p:g}: test {t:.3f}, train {tr:.3f}, bound {b:.3f}, slack {b - t:.3f}, "
                         f"path norm {ph:.3g}" for p, (t, b, tr, ph) in final.items())
        first = interval_check(f"test error <= {label}, all draws and snapshots", excess_lo, excess_hi, point, 0.0,
                               "<=", curve, note=note)
        viol_lo = (ev["lo"] - ev["bound"] > 0).any(axis=-1).reshape(S, -1).mean(1)
        viol_hi = (ev["hi"] - ev["bound"] > 0).any(axis=-1).reshape(S, -1).mean(1)
        viol = (ev["test"] - ev["bound"] > 0).any(axis=-1).reshape(S, -1).mean(1)
        second = interval_check(f"fraction of draws with test error > {label}",
                                viol_lo, viol_hi, viol, params.delta, "<=",
                                note=f"{ev['bound'][0].size // ev['bound'].shape[-1]} draws per seed")
        return [first, second]

    def checks(self, params, data, prediction, trajectory):
        ev = self._evaluate(params, prediction, trajectory, True)
        out = self._bound_checks(params, ev, trajectory, "margin bound")
        levels = params.noise_levels
        for key, label in (("bound", "margin bound"), ("phi", "path norm")):
            med = np.median(ev[key][..., -1], axis=2)  # (S, T) at the end of training
            ratios = (med[:, 1:] / med[:, :-1]).min(axis=1)
            out.append(seed_check(f"{label} grows with label noise: min ratio",
                                  ratios, 1.0, ">=", curve=Curve(np.asarray(levels, float) + 1e-3, med,
                                                           xlabel="label noise $p$", ylabel=label, logx=False,
                                                           logy=(key == "phi")), quantifier="every"))
            out[-1].reason = (out[-1].reason + "; " if out[-1].reason else "") + (
                "median per level: " + ", ".join(f"{p:g}: {v:.4g}" for p, v in zip(levels, np.median(med, 0))))
        return out

    def observations(self, params, data, prediction, trajectory):
        """Per noise level at the end of training (medians): test/train error, bound, slack, path norm,
        the bound's minimizing grid margin, and the normalized margin quantile."""
        ev = self._evaluate(params, prediction, trajectory, True)
        S, T, D = (int(v) for v in trajectory.final["shape"])
        margins = trajectory.series["normalized_margins"][:, -1].reshape(S, T, D, -1)
        out = {}
        for k, p in enumerate(params.noise_levels):
            last = {key: float(np.median(ev[key][:, k, :, -1])) for key in ("test", "train", "bound", "phi", "gamma")}
            out[f"noise {p:g}: test error"] = last["test"]
            out[f"noise {p:g}: train error"] = last["train"]
            out[f"noise {p:g}: bound"] = last["bound"]
            out[f"noise {p:g}: slack (bound - test error)"] = last["bound"] - last["test"]
            out[f"noise {p:g}: path norm"] = last["phi"]
            out[f"noise {p:g}: chosen margin gamma (normalized)"] = last["gamma"]
            out[f"noise {p:g}: 10% quantile of y f/phi"] = float(np.median(np.quantile(margins[:, k], 0.1, axis=-1)))
        out["complexity term at gamma = gamma_max"] = float(prediction["complexity"][-1])
        out["concentration term (delta/K)"] = prediction["concentration"]
        return out

    def controls(self, params, data, prediction, trajectory):
        ev = self._evaluate(params, prediction, trajectory, False)
        return self._bound_checks(params, ev, trajectory, "bound without complexity term")
