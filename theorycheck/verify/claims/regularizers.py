r"""Closed-form implicit regularizers of diagonal linear networks.

Three claims share one setting: an underdetermined regression $Xw = y$ ($X$ Gaussian $n\times d$,
$n < d$, planted sparse $w^\star = (1, -1, 0.5, 0, \dots)$, so the min-$\ell_1$ interpolant is
$w^\star$ itself), a diagonal network trained from $w(0) = 0$ by full-batch GD on
$\frac1{2n}\|Xw - y\|^2$, and a closed-form potential whose constrained minimizer is the predicted
limit (:mod:`theorycheck.theory.regularizers` derives it in sympy and solves the program in cvxpy).

**Step sizes and horizons (how gradient flow is approximated).** The flow is approximated by GD,
whose limit differs from the flow's by a *finite-step bias* that is linear in the step
(reference values: $1.36\cdot10^{-2}, 6.9\cdot10^{-3}, 3.45\cdot10^{-3}$ at $\eta = 0.1, 0.05, 0.025$;
we measure the same: $\approx 0.02\,h$ relative at $\alpha = 0.1$). Each config gets the step
$\eta = h/(\lambda_{\max}(X^\top X/n)\,(\beta + \|w^\star\|_\infty))$ (four-factor units; the tied
model $u_+^2 - u_-^2$ uses half of it, which is the same dynamics), where $\beta$ is the mirror-map
scale ($2\alpha^2$ for a uniform init): near a point $w$ the flow's metric is
$\approx 2\sqrt{w^2 + \beta^2}$ per coordinate, so $h < 1$ keeps GD stable at every init scale,
and $h$ is a dimensionless step ("gradient-flow time" per step, in units of the fastest mode).
This is what lets one batched program run a grid from $\alpha = 10^{-3}$ to $10^2$: the kernel
regime automatically gets $\eta\propto1/\alpha^2$.

**The tolerance comes from the step size, by Richardson extrapolation.** Claims
``diagonal-scale`` and ``init-shape`` run every config twice, at $h$ for ``steps``/2 steps and at
$h/2$ for ``steps`` steps (the same gradient-flow time), and compare
$w_R = 2w_{h/2} - w_h$ (the first-order bias removed) with the prediction. The tolerance
$10^{-3}$ is a tenth of the raw first-order bias at $h = 0.4$ ($\approx 7.6\cdot10^{-3}$ at
$\alpha = 0.1$), so a pass means the $O(h)$ term really was the whole discrepancy; the measured
remainder is $\sim 5\cdot10^{-5}$. The raw errors at $h/2$ are reported too.

**Convergence guard.** Small init scales converge slowly at the end (off-support coordinates of
size $\alpha^{2(1-|\eta_i|)}$ move at a rate proportional to their size), so the horizon is checked:
if the final relative residual $\|Xw - y\|/\|y\|$ exceeds $10^{-4}$ the key check is *undecided*
("horizon too short"), never passed or failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from theorycheck.errors import InputError
from theorycheck.numerics.diagonal import train_diagonal
from theorycheck.numerics.regression import RegressionData, sparse_regression
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import regularizers as R
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.registry import register
from theorycheck.verify.stats import guard_items, seed_check

WOODWORTH = Source(
    authors="Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro",
    year=2020, title="Kernel and Rich Regimes in Overparametrized Models", venue="COLT", arxiv="2002.09277")
AZULAY = Source(
    authors="Azulay, Moroshko, Nacson, Woodworth, Srebro, Globerson, Soudry",
    year=2021, title="On the Implicit Bias of Initialization Shape: Beyond Infinitesimal Mirror Descent",
    venue="ICML", arxiv="2102.09769")

#: relative residual above which a run counts as not converged
CONVERGED_RTOL = 1e-4
#: a near-miss control is evaluated where theory puts the mistake this many tolerances from the prediction
NEAR_BAND = (1.2, 2.7)


# ----------------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------------


#: largest step factor h: GD is stable up to h = 1, but Richardson extrapolation needs the limit's bias to be
#: linear in h; at h = 0.8 it is not (measured, n = 18, d = 27: the h-run's log-bias changes sign across alpha
#: and the extrapolated kernel-side distance is off by 0.38 in log10; 0.08 at h = 0.6, 0.02 at h = 0.4)
H_MAX = 0.5


def _validate_problem(n: int, d: int, h: float, steps: int) -> None:
    if n < 1 or d < 1:
        raise InputError(f"n and d must be positive, got n={n}, d={d}")
    if n >= d:
        raise InputError(f"the theorems are about underdetermined regression: need n < d, got n={n}, d={d}")
    if not 0 < h <= H_MAX:
        raise InputError(f"h (step in units of the stability limit) must lie in (0, {H_MAX:g}] for the Richardson "
                         f"extrapolation in h to hold, got {h}")
    if steps < 2:
        raise InputError(f"steps must be at least 2, got {steps}")


def _validate_alphas(alphas: Sequence[float], name: str = "alphas") -> None:
    if len(alphas) == 0:
        raise InputError(f"{name} must name at least one init scale")
    for a in alphas:
        if not np.isfinite(a) or a <= 0:
            raise InputError(f"init scale alpha must be positive and finite, got {a} in {name}")


def _step_sizes(data: RegressionData, beta: np.ndarray, h: float) -> np.ndarray:
    r"""Four-factor step $\eta = h/(\lambda_{\max}(X^\top X/n)(\beta + \|w^\star\|_\infty))$, shape (S, C).

    ``beta`` (C,) or (S, C) is the largest mirror-map scale of each config."""
    lam = np.array([np.linalg.eigvalsh(X.T @ X / data.n)[-1] for X in data.X])
    scale = np.abs(data.w_star).max(axis=1)
    beta = np.broadcast_to(np.asarray(beta, float), (data.X.shape[0], np.shape(beta)[-1]))
    return h / (lam[:, None] * (beta + scale[:, None]))


def _rel(w: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Relative distance along the last axis."""
    return np.linalg.norm(w - ref, axis=-1) / np.linalg.norm(ref, axis=-1)


def _rel_residual(data: RegressionData, w: np.ndarray) -> np.ndarray:
    """||Xw - y|| / ||y|| for w of shape (S, C, d); returns (S, C)."""
    r = np.einsum("snd,scd->scn", data.X, w) - data.y[:, None, :]
    return np.linalg.norm(r, axis=-1) / np.linalg.norm(data.y, axis=-1)[:, None]


def _guard(check: CheckResult, residual: np.ndarray, what: str, rtol: float = CONVERGED_RTOL) -> CheckResult:
    """Only seeds whose GD runs interpolated to ``rtol`` (``residual`` per seed, shape (S, ...)) decide ``check``.

    A limit is compared with its prediction once GD has reached it. A failure on seeds that have not is
    undecided (:func:`~theorycheck.verify.stats.guard_items`; a converged seed that fails still refutes),
    and, stricter than ``guard_items``, a pass is withheld too: a distance read before interpolation
    says nothing about where the run ends up."""
    per_seed = np.asarray(residual, float).reshape(len(check.per_seed), -1).max(axis=1)
    unready = per_seed > rtol
    if not unready.any():
        return check
    why = f"horizon too short: {what} reached only relative residual {per_seed.max():.2g} > {rtol:g}; raise steps"
    if check.passed:
        check.passed, check.reason = None, why
        return check
    return guard_items(check, unready, why)


def _richardson_pairs(C: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Configs 0..C-1 at h for steps//2 steps, C..2C-1 at h/2 for ``steps`` steps."""
    hs = np.concatenate([np.ones(C), np.full(C, 0.5)])
    stop = np.concatenate([np.full(C, steps // 2), np.full(C, steps)])
    return hs, stop


@dataclass
class Interpolants:
    """min-ℓ1 and min-ℓ2 interpolants per seed (S, d), with the methods that certified them."""

    l1: np.ndarray
    l2: np.ndarray
    methods: list[str]


def _interpolants(data: RegressionData) -> Interpolants:
    l1, l2, methods = [], [], []
    for X, y in zip(data.X, data.y):
        a, b = R.min_l1_interpolant(X, y), R.min_l2_interpolant(X, y)
        l1.append(a.w)
        l2.append(b.w)
        methods += [a.method, b.method]
    return Interpolants(np.array(l1), np.array(l2), sorted(set(methods)))


def _min_q_grid(data: RegressionData, betas: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """argmin Q_beta per seed and config; ``betas`` (C,) scalars or (C, d) vectors -> (S, C, d)."""
    out, methods = [], set()
    for X, y in zip(data.X, data.y):
        row = []
        solver = R.MinQSolver(X, y)
        for beta in betas:
            sol = solver.solve(beta)
            row.append(sol.w)
            methods.add(sol.method)
        out.append(row)
    return np.array(out), sorted(methods)


def band_control(name: str, distance: np.ndarray, separation: np.ndarray, tol: float, seeds: Sequence[int],
                 configs: Sequence[str], band: tuple[float, float] = NEAR_BAND) -> CheckResult:
    r"""A near-miss control: GD's distance to a mistaken prediction, on the (seed, config) items where theory
    alone puts that mistake between ``band`` tolerances from the right prediction.

    ``distance`` and ``separation`` are (S, C): GD's limit to the mistaken prediction, and the right
    prediction to the mistaken one. The items are chosen from ``separation`` only (never from GD), so the
    control asks: where the mistake is subtle (1.2 to 2.7 tolerances), can the measurement still tell it
    from the truth? Decided for every item (one item beyond the tolerance rejects the mistake); its margin
    (the worst item over the tolerance) is then at most about ``band[1]`` plus GD's own error, below
    :data:`~theorycheck.verify.stats.NEAR_MISS`. With no item in the band the control is undecided
    (refine the grid).
    """
    lo, hi = band[0] * tol, band[1] * tol
    pick = (separation >= lo) & (separation <= hi)
    rows, cols = np.nonzero(pick)
    label = f"{name} [near miss: where theory puts it {band[0]:g}-{band[1]:g} tolerances away]"
    if rows.size == 0:
        return seed_check(label, [np.nan], tol, "<=", quantifier="every",
                          reason=f"no (seed, config) of the grid where the mistake is {band[0]:g}-{band[1]:g} "
                                 "tolerances from the prediction: refine the grid")
    labels = [f"seed {seeds[s]}, {configs[c]}" for s, c in zip(rows, cols)]
    return seed_check(label, distance[rows, cols], tol, "<=", quantifier="every", labels=labels)


def kkt_certificate(name: str, X: np.ndarray, gradients: np.ndarray, tol: float = 1e-6) -> CheckResult:
    r"""Certificate (theory against theory): the gradient of the paper's regularizer at the predicted
    interpolant lies in the row space of $X$ (stationarity of $\min Q$ s.t. $Xw = y$).

    ``X`` (S, n, d), ``gradients`` (S, C, d): per seed the worst relative residual of projecting each
    gradient on the null space of $X$."""
    worst = []
    for Xs, grads in zip(X, gradients):
        P = np.linalg.pinv(Xs) @ Xs
        res = grads - grads @ P.T
        worst.append(float(np.max(np.linalg.norm(res, axis=-1) / np.linalg.norm(grads, axis=-1))))
    return seed_check(name, worst, tol, "<=", quantifier="every", role="certificate")


# ----------------------------------------------------------------------------------------------
# 1. regularizers.diagonal-scale
# ----------------------------------------------------------------------------------------------

#: init scales where the two near-miss mistakes (beta = 2 alpha, beta = alpha^2) move argmin Q by 1-3 tolerances
TRANSITION_ALPHAS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)


@dataclass(frozen=True)
class DiagonalScaleParams(Params):
    n: int = 20
    d: int = 60
    support: tuple[float, ...] = (1.0, -1.0, 0.5)
    alphas: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, *TRANSITION_ALPHAS, 10.0)
    h: float = 0.4
    steps: int = 200_000
    tol: float = 1e-3
    wrong_factor: float = 10.0

    @classmethod
    def quick(cls):
        return cls(alphas=(0.1, *TRANSITION_ALPHAS, 10.0), steps=6000)

    def validate(self):
        _validate_problem(self.n, self.d, self.h, self.steps)
        _validate_alphas(self.alphas)
        if self.tol <= 0:
            raise InputError(f"tol must be positive, got {self.tol}")
        if self.wrong_factor <= 0 or self.wrong_factor == 1:
            raise InputError(f"wrong_factor must be positive and != 1, got {self.wrong_factor}")


@dataclass
class ScalePrediction:
    alphas: np.ndarray
    w_q: np.ndarray  # (S, A, d)
    #: mistaken predictions (S, A, d): argmin Q at the wrong mirror-map scale, by name
    wrong: dict[str, np.ndarray]
    interp: Interpolants
    methods: list[str]
    latex: dict[str, str]


@register
class DiagonalScale(Claim):
    r"""Woodworth et al. 2020, Theorem 1: the init scale $\alpha$ sets the implicit regularizer $Q_\alpha$.

    Model $w = u_+\circ u_+ - u_-\circ u_-$, $u_\pm(0) = \alpha\mathbf 1$, GD on
    $\frac1{2n}\|Xw-y\|^2$. Prediction: $w_\alpha(\infty) = \arg\min_{Xw=y}Q_\alpha(w)$,
    $Q_\alpha(w) = \alpha^2\sum_i q(w_i/\alpha^2)$, $q(z) = 2 - \sqrt{4+z^2} + z\operatorname{arcsinh}(z/2)$;
    sympy derives $q$, $q' = \operatorname{arcsinh}(z/2)$, $q^* = 2\cosh - 2$; cvxpy solves the
    exponential-cone dual (mirror-map scale $\beta = 2\alpha^2$, :func:`theory.regularizers.beta_uniform`) and
    Newton polishes it to $\|Xw - y\| \le 10^{-9}(1 + \|y\|)$. This is the published statement, checked on
    GD (gradient flow's limit up to the finite-step bias, which Richardson extrapolation removes).

    **Measurement** (counted, quantifier *every*: the theorem holds for every dataset and init scale). For each
    $\alpha$ and seed, $\|w_R - w_Q\|/\|w_Q\|$ with $w_R$ the Richardson extrapolation of the runs at $h$ and
    $h/2$ (module doc); the per-seed value is the worst $\alpha$; tolerance $10^{-3}$. Full preset:
    $\alpha \in \{0.01, \dots, 10\}$ over $2\cdot10^5$ steps (the slow end-phase at $\alpha = 0.01$ needs
    $\sim 2\cdot10^4$ steps at $h/2 = 0.2$ to settle at the $10^{-4}$ level). Quick preset: $\alpha = 0.1$,
    $10$ and the transition grid $0.8 \dots 2$, 6000 steps.

    **Certificate** (theory against theory, reported, not counted): the KKT condition in the paper's own form,
    $\nabla Q_\alpha(w_Q) = q'(w_Q/\alpha^2) \in \operatorname{row}(X)$, with the sympy-derived $q'$ — a wrong
    $q$ makes the run an error.

    **Controls.** Near misses, each evaluated on the (seed, $\alpha$) items of the grid where theory alone puts
    the mistake 1.2-2.7 tolerances from $\arg\min Q_\alpha$ (the transition $\alpha\approx 0.8$-$2$; the
    separation varies 14x across datasets at a fixed $\alpha$, hence the band): $Q$ with $\alpha$ in place of
    $\alpha^2$ ($\beta = 2\alpha$, equal at $\alpha = 1$ only) and $Q$ with the factor 2 of the mirror map
    dropped ($\beta = \alpha^2$, the scale of the init $(u_0, v_0) = (\alpha, 0)$ used by other papers). Straw
    men, at the $\alpha$ of the grid where theory puts each furthest: the min-$\ell_1$ and min-$\ell_2$
    interpolants and $Q$ with $10\alpha^2$ (at $\alpha \ge 3$ all coincide with min-$\ell_2$ to $10^{-5}$).
    """

    id = "regularizers.diagonal-scale"
    title = "Init scale alpha sets the implicit regularizer Q_alpha of a diagonal linear network"
    statement = (r"w = u_+^{\circ 2} - u_-^{\circ 2},\ u_\pm(0) = \alpha\mathbf 1:\quad "
                 r"w_\alpha(\infty) = \arg\min_{Xw=y} \alpha^2\sum_i q(w_i/\alpha^2),\ "
                 r"q(z) = 2 - \sqrt{4+z^2} + z\,\mathrm{arcsinh}(z/2)")
    statement_text = ("Gradient flow on a depth-2 diagonal linear network from init scale alpha converges to "
                      "the interpolant minimizing Q_alpha(w) = alpha^2 sum q(w_i/alpha^2), "
                      "q(z) = 2 - sqrt(4+z^2) + z asinh(z/2) (the published statement, checked on GD).")
    departures = ("Gradient flow is approximated by GD at a dimensionless step h and h/2, combined by Richardson "
                  "extrapolation to remove the first-order step bias; the tolerance 1e-3 rests on that. A run that "
                  "has not interpolated to 1e-4 makes the check undecided (horizon too short).")
    source = WOODWORTH
    Params = DiagonalScaleParams
    default_seeds = 4

    def make_data(self, params, seeds):
        return sparse_regression(params.n, params.d, seeds, params.support)

    def predict(self, params, data):
        der = R.derive_q()
        alphas = np.asarray(params.alphas, float)
        betas = np.array([R.beta_uniform(a) for a in alphas])
        mistakes = {
            "Q with alpha in place of alpha^2": 2 * alphas,
            "Q without the mirror map's factor 2 (beta = alpha^2)": betas / 2,
            f"wrong-scale Q ({params.wrong_factor:g} alpha^2)": params.wrong_factor * betas,
        }
        w_all, methods = _min_q_grid(data, np.concatenate([betas, *mistakes.values()]))
        A = len(alphas)
        wrong = {name: w_all[:, A * (i + 1):A * (i + 2)] for i, name in enumerate(mistakes)}
        interp = _interpolants(data)
        return ScalePrediction(alphas, w_all[:, :A], wrong, interp, sorted(set(methods + interp.methods)),
                               der.latex())

    def simulate(self, params, data, device, seeds):
        alphas = np.asarray(params.alphas, float)
        A = len(alphas)
        hs, stop = _richardson_pairs(A, params.steps)
        betas = np.tile(2 * alphas**2, 2)
        eta = _step_sizes(data, betas, params.h) * hs / 2  # tied model: half the four-factor step
        u0 = np.tile(alphas, 2)[None, :, None]
        return train_diagonal(data.X, data.y, u0, None, eta, params.steps, stop=stop[None, :].repeat(len(seeds), 0),
                              tied=True, device=device)

    @staticmethod
    def _measure(pred: ScalePrediction, traj: Trajectory):
        A = len(pred.alphas)
        w = traj.final["w"]
        w_h, w_h2 = w[:, :A], w[:, A:]
        w_r = 2 * w_h2 - w_h
        return w_r, w_h, w_h2

    def checks(self, params, data, prediction, trajectory):
        p = prediction
        w_r, w_h, w_h2 = self._measure(p, trajectory)
        err = _rel(w_r, p.w_q)  # (S, A)
        raw = _rel(w_h2, p.w_q)
        curve = Curve(x=p.alphas, y=err, xlabel=r"init scale $\alpha$",
                      ylabel=r"$\|w_{\rm GD} - \arg\min Q_\alpha\| / \|\arg\min Q_\alpha\|$",
                      predicted=np.full(len(p.alphas), params.tol), predicted_label="tolerance",
                      extra={f"raw GD at h={params.h / 2:g} (no extrapolation)": raw,
                             f"raw GD at h={params.h:g}": _rel(w_h, p.w_q)})
        key = seed_check("GD limit = argmin Q_alpha (Richardson in h, worst alpha)", err.max(axis=1),
                         params.tol, "<=", curve=curve, quantifier="every")
        key = _guard(key, _rel_residual(data, w_h2), "GD")
        grads = R.dq(p.w_q / p.alphas[None, :, None] ** 2)
        return [key, kkt_certificate("KKT of min Q_alpha in the paper's form: q'(w/alpha^2) in row(X)", data.X,
                                     grads)]

    def controls(self, params, data, prediction, trajectory):
        p = prediction
        w_r, _, _ = self._measure(p, trajectory)
        S, A, d = w_r.shape
        configs = [f"alpha={a:g}" for a in p.alphas]
        out = [band_control(name, _rel(w_r, p.wrong[name]), _rel(p.wrong[name], p.w_q), params.tol, data.seeds,
                            configs) for name in list(p.wrong)[:2]]
        straw = {
            "min-l1 interpolant": np.repeat(p.interp.l1[:, None], A, 1),
            "min-l2 interpolant": np.repeat(p.interp.l2[:, None], A, 1),
            **{name: p.wrong[name] for name in list(p.wrong)[2:]},
        }
        for name, ref in straw.items():
            separation = np.median(_rel(ref, p.w_q), axis=0)  # theory only: where they differ
            j = int(np.argmax(separation))
            dist = _rel(w_r, ref)
            curve = Curve(x=p.alphas, y=dist, xlabel=r"init scale $\alpha$",
                          ylabel="relative distance to the wrong prediction",
                          predicted=np.full(A, params.tol), predicted_label="tolerance")
            out.append(seed_check(f"{name} at alpha={p.alphas[j]:g}", dist[:, j], params.tol, "<=", curve=curve,
                                  quantifier="every"))
        return out


# ----------------------------------------------------------------------------------------------
# 2. regularizers.kernel-to-rich
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelRichParams(Params):
    n: int = 20
    d: int = 60
    support: tuple[float, ...] = (1.0, -1.0, 0.5)
    alpha_min: float = 1e-3
    alpha_max: float = 100.0
    per_decade: int = 2
    h: float = 0.4
    steps: int = 20_000
    crossover_tol: float = 0.05
    #: |log10(d_l2(GD) / d_l2(argmin Q_alpha))| allowed on the kernel side (Richardson-extrapolated GD)
    kernel_side_tol: float = 0.25
    rich_excess_tol: float = 0.2
    kernel_tol: float = 1e-6
    wrong_factor: float = 10.0

    @classmethod
    def quick(cls):
        return cls(steps=20_000)

    @classmethod
    def full(cls):
        return cls(per_decade=4, steps=100_000)

    def validate(self):
        _validate_problem(self.n, self.d, self.h, self.steps)
        _validate_alphas((self.alpha_min, self.alpha_max), "alpha_min/alpha_max")
        if self.alpha_max <= self.alpha_min:
            raise InputError(f"alpha_max must exceed alpha_min, got {self.alpha_min}, {self.alpha_max}")
        if min(self.crossover_tol, self.kernel_side_tol, self.rich_excess_tol, self.kernel_tol) <= 0:
            raise InputError("crossover_tol, kernel_side_tol, rich_excess_tol and kernel_tol must be positive")
        if self.per_decade < 1:
            raise InputError(f"per_decade must be at least 1, got {self.per_decade}")
        if self.wrong_factor <= 0 or self.wrong_factor == 1:
            raise InputError(f"wrong_factor must be positive and != 1, got {self.wrong_factor}")

    def grid(self) -> np.ndarray:
        decades = np.log10(self.alpha_max / self.alpha_min)
        return np.logspace(np.log10(self.alpha_min), np.log10(self.alpha_max),
                           int(round(decades * self.per_decade)) + 1)


def crossover(alphas: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    r"""$\log_{10}\alpha^*$ where $d_1 = d_2$ (first sign change of $d_1 - d_2$, linear in $\log\alpha$).

    ``d1``, ``d2`` (S, A); returns (S,), NaN where the curves do not cross on the grid."""
    la = np.log10(alphas)
    diff = np.asarray(d1) - np.asarray(d2)
    out = np.full(diff.shape[0], np.nan)
    for s, row in enumerate(diff):
        idx = np.flatnonzero((row[:-1] < 0) & (row[1:] >= 0))
        if idx.size:
            i = idx[0]
            out[s] = la[i] + (la[i + 1] - la[i]) * (-row[i]) / (row[i + 1] - row[i])
    return out


def kernel_eps(alpha: float, l2_norm: float) -> float:
    r"""Smallest $\epsilon$ with $\alpha \ge$ :func:`theory.regularizers.kernel_threshold`$(\epsilon)$, or inf.

    $\alpha^2/(2\|w_{\ell_2}\|) = 3 + \epsilon + 2/\epsilon$ has roots iff the left side is at least
    $3 + 2\sqrt2$; the smaller root is the tightest guarantee."""
    c = alpha**2 / (2 * l2_norm)
    disc = (c - 3) ** 2 - 8
    if c <= 3 or disc < 0:
        return float("inf")
    return float(((c - 3) - np.sqrt(disc)) / 2)


def rich_eps(alpha: float, l1_norm: float, d: int) -> float:
    r"""Smallest $\epsilon$ (bisection in log) with
    $\alpha \le$ :func:`theory.regularizers.rich_threshold`$(\epsilon)$, or inf."""
    lo, hi = 1e-6, 1e6
    if alpha > R.rich_threshold(hi, l1_norm, d):
        return float("inf")
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        if alpha <= R.rich_threshold(mid, l1_norm, d):
            hi = mid
        else:
            lo = mid
    return float(hi)


@dataclass
class KernelRichPrediction:
    alphas: np.ndarray
    w_q: np.ndarray  # (S, A, d)
    w_wrong: np.ndarray  # (S, A, d)
    interp: Interpolants
    d1: np.ndarray  # (S, A) argmin Q to min-l1 (relative)
    d2: np.ndarray
    crossover: np.ndarray  # (S,) log10 alpha*
    crossover_wrong: np.ndarray
    d2_half: np.ndarray  # (S, A) argmin Q at beta = alpha^2 (the mirror map's factor 2 dropped) to min-l2
    methods: list[str]


@register
class KernelToRich(Claim):
    r"""Woodworth et al. 2020: small init → min-$\ell_1$ (rich), large init → min-$\ell_2$ (kernel).

    Same model as ``regularizers.diagonal-scale`` on a log grid $\alpha\in[10^{-3}, 10^2]$, one GD
    run per $\alpha$ at the dimensionless step $h$ (no extrapolation: the raw bias, $\lesssim 10^{-2}$
    relative, moves the distances by far less than the tolerances below). Measured per $\alpha$:
    $d_1 = \|w_{\rm GD} - w_{\ell_1}\|/\|w_{\ell_1}\|$ and $d_2 = \|w_{\rm GD} - w_{\ell_2}\|/\|w_{\ell_2}\|$
    (both interpolants from cvxpy, certified), and $\|w_{\rm GD}\|_1$. The two limits are the paper's
    statement; the location of the crossover is a consequence of its Theorem 1 (*derived*).

    **Where the crossover is.** Theorem 1 ($\arg\min Q_\alpha$, computed exactly) predicts both
    curves, hence the crossover $\alpha^*$ where $d_1 = d_2$ ($\approx 0.1$ on this data: the
    transition happens where $\alpha^2$ is comparable to the entries of the solution, $q$ being
    quadratic for $|z| \ll 1$ and $\approx |z|\log|z|$ for $|z| \gg 1$). Check: $|\log_{10}\alpha^*_{\rm GD} -
    \log_{10}\alpha^*_Q| \le 0.05$ decades. Why 0.05: both are interpolated on the same grid, so grid error
    cancels; $d_1 - d_2$ changes by $\gtrsim 0.5$ per decade at the crossover, so a $10^{-2}$ finite-step bias
    shifts $\alpha^*$ by $\le 0.02$ decades.

    **How the kernel limit is approached.** On the kernel side ($1 \le \alpha \le 20$, above GD's floor)
    Theorem 1 predicts the distance to min-$\ell_2$ itself: $q(z) = z^2/4 - z^4/192 + \dots$ makes it
    $\propto \beta^{-2} \propto \alpha^{-4}$. GD's raw limit is 10-30% closer to min-$\ell_2$ (its finite-step
    bias is of the size of that small distance), so these configs are run at $h$ and $h/2$ and
    Richardson-extrapolated; check: $|\log_{10}(d_2^{\rm GD}/d_2^{Q})| \le 0.25$ at every such $\alpha$.

    **Theorem 2** (quantitative regimes), as usually quoted:
    $\|w_\alpha\|_2^2 \le (1+\epsilon)\|w_{\ell_2}\|_2^2$ for
    $\alpha \ge \sqrt{2(1+\epsilon)(1+2/\epsilon)\|w_{\ell_2}\|_2}$ and
    $\|w_\alpha\|_1 \le (1+\epsilon)\|w_{\ell_1}\|_1$ for
    $\alpha \le \min\{(2(1+\epsilon)\|w_{\ell_1}\|_1)^{-(2+\epsilon)/(2\epsilon)}, e^{-d/(\epsilon\|w_{\ell_1}\|_1)}\}$.
    *Search result:* the stored pages of arXiv 2002.09277 (groundai, deepai mirrors) expose only the
    abstract and introduction, and no repository quotes the theorem, so these constants could not
    be confirmed against the paper; they are used as quoted. They are *sufficient*
    conditions, and a certificate verifies them on the exact $\arg\min Q_\alpha$ (a wrong constant that made
    them false would show there first: the run is then an error). On this data they are loose: the kernel
    bound needs $\alpha \ge \sqrt{2(3+2\sqrt2)\|w_{\ell_2}\|_2}\approx 2.9$ for any $\epsilon$ (and gives
    $\epsilon = 10^{-2}$ only at $\alpha\approx17$, where the measured excess is $10^{-14}$); the rich bound is
    vacuous on the grid (at $\alpha = 10^{-3}$ it allows $\epsilon\approx3.5$). So Theorem 2 brackets the
    crossover between $\approx 10^{-11}$ and $\approx 3$; Theorem 1 locates it. The approach to $\ell_1$ is
    slow and data dependent ($d_1 \propto \alpha^{c}$, cf. Matt & Stöger 2025, arXiv 2506.01143); at
    $\alpha = 10^{-3}$ the predicted $d_1$ ranges from $3\cdot10^{-3}$ to $0.3$ across seeds, so "near
    $\ell_1$" is checked on the $\ell_1$ norm.

    **Checks** (counted, quantifier *every*: every dataset). (1, key) crossover as above. (2) kernel side as
    above. (3) rich end: the $\ell_1$-norm excess
    $(\|w\|_1 - \|w_{\ell_1}\|_1)/(\|w_{\ell_2}\|_1 - \|w_{\ell_1}\|_1) \le 0.2$ at $\alpha_{\min}$
    (theory: $\le 0.1$ on every seed). (4) kernel end: $d_2(\alpha_{\max}) \le 10^{-6}$ (theory
    $\sim 10^{-11}$: $Q_\alpha = \|w\|^2/(4\alpha^2) + O(\alpha^{-6})$; GD's floor $\sim10^{-9}$).
    (5) Theorem 2's bounds on GD's limit wherever they apply on the grid: per seed, the worst
    (excess)/$\epsilon(\alpha)$ $\le 1$.

    **Horizon.** Near the crossover GD must interpolate (relative residual $\le 10^{-4}$, else the key check
    is undecided): at 10 000 steps one dataset of the held-out block stopped at $7\cdot10^{-4}$, so the quick
    preset runs 30 000 steps.

    **Controls.** Near miss: the mirror map's factor 2 dropped ($\beta = \alpha^2$, the scale of the init
    $(u_0, v_0) = (\alpha, 0)$), on the kernel side, where it predicts $d_2$ exactly 4x too large
    ($|\log_{10} 4| = 0.60$, margin 2.4 on every dataset; on the crossover it is a shift of exactly
    $\tfrac12\log_{10}2 = 0.15$ decades, 3.0 crossover tolerances, too close to call a near miss). Straw men: a wrong-scale $Q$
    ($\alpha^2 \to 10\alpha^2$) predicts the crossover half a decade lower; "always min-$\ell_1$" is tested at
    $\alpha_{\max}$ and "always min-$\ell_2$" at $\alpha_{\min}$ with the same measurements as checks 4 and 3.
    """

    id = "regularizers.kernel-to-rich"
    evidence = "published + derived"
    related = (("derived from", "regularizers.diagonal-scale"),)
    title = "Init scale moves diagonal networks from the rich (min-l1) to the kernel (min-l2) regime"
    statement = (r"\lim_{\alpha\to0} w_\alpha(\infty) = \arg\min_{Xw=y}\|w\|_1,\quad "
                 r"\lim_{\alpha\to\infty} w_\alpha(\infty) = \arg\min_{Xw=y}\|w\|_2,\quad "
                 r"\text{crossover at } \alpha^*: \|w_{\alpha^*} - w_{\ell_1}\|/\|w_{\ell_1}\| "
                 r"= \|w_{\alpha^*} - w_{\ell_2}\|/\|w_{\ell_2}\| \text{ as } \arg\min Q_\alpha \text{ predicts}")
    statement_text = ("Small init scale gives the min-l1 interpolant, large init the min-l2 interpolant (published "
                      "statement); the transition is where argmin Q_alpha puts it (derived from Theorem 1).")
    departures = ("The crossover location and the alpha^-4 approach to min-l2 are derived from Theorem 1, and "
                  "nearness to min-l1 is checked on the l1 norm. Theorem 2's constants are used as usually quoted, "
                  "not confirmed against the paper; GD stands in for gradient flow, Richardson-extrapolated on the "
                  "kernel side.")
    source = WOODWORTH
    Params = KernelRichParams
    default_seeds = 4

    def make_data(self, params, seeds):
        return sparse_regression(params.n, params.d, seeds, params.support)

    def predict(self, params, data):
        alphas = params.grid()
        betas = np.array([R.beta_uniform(a) for a in alphas])
        A = len(alphas)
        # wrong-scale betas often coincide with grid betas (factor 10 = two grid steps at per_decade=2 in
        # alpha^2): solve each distinct beta once
        keys = np.round(np.log(np.concatenate([betas, params.wrong_factor * betas, betas / 2])), 9)
        uniq, inverse = np.unique(keys, return_inverse=True)
        w_all, methods = _min_q_grid(data, np.exp(uniq))
        w_q, w_wrong, w_half = (w_all[:, inverse[i * A:(i + 1) * A]] for i in range(3))
        interp = _interpolants(data)
        d1 = _rel(w_q, interp.l1[:, None])
        d2 = _rel(w_q, interp.l2[:, None])
        dw1 = _rel(w_wrong, interp.l1[:, None])
        dw2 = _rel(w_wrong, interp.l2[:, None])
        return KernelRichPrediction(alphas, w_q, w_wrong, interp, d1, d2, crossover(alphas, d1, d2),
                                    crossover(alphas, dw1, dw2), _rel(w_half, interp.l2[:, None]),
                                    sorted(set(methods + interp.methods)))

    @staticmethod
    def _kernel_side(alphas: np.ndarray) -> np.ndarray:
        """Indices of the grid alphas on the kernel side (alpha >= 1) that stay above GD's floor (alpha <= 20)."""
        return np.flatnonzero((alphas >= 1.0) & (alphas <= 20.0))

    def simulate(self, params, data, device, seeds):
        alphas = params.grid()
        side = self._kernel_side(alphas)
        # every grid alpha at h, and the kernel side again at h/2 (same number of steps: these converge
        # linearly, so both runs reach their limits and 2 w_{h/2} - w_h removes the O(h) bias of the limit)
        run = np.concatenate([alphas, alphas[side]])
        hs = np.concatenate([np.ones(len(alphas)), np.full(len(side), 0.5)])
        eta = _step_sizes(data, 2 * run**2, params.h) * hs / 2  # tied model
        return train_diagonal(data.X, data.y, run[None, :, None], None, eta, params.steps, tied=True,
                              device=device)

    def _measure(self, data, pred, traj):
        A = len(pred.alphas)
        w = traj.final["w"][:, :A]
        d1 = _rel(w, pred.interp.l1[:, None])
        d2 = _rel(w, pred.interp.l2[:, None])
        n1 = np.abs(w).sum(-1)
        l1n = np.abs(pred.interp.l1).sum(-1)[:, None]
        l2n1 = np.abs(pred.interp.l2).sum(-1)[:, None]
        excess = (n1 - l1n) / (l2n1 - l1n)
        return w, d1, d2, n1, excess

    def _kernel_distance(self, pred, traj) -> np.ndarray:
        """(S, K) distance to min-l2 of the Richardson-extrapolated GD limit on the kernel side."""
        A = len(pred.alphas)
        side = self._kernel_side(pred.alphas)
        w = traj.final["w"]
        w_r = 2 * w[:, A:] - w[:, side]
        return _rel(w_r, pred.interp.l2[:, None])

    def checks(self, params, data, prediction, trajectory):
        p = prediction
        w, d1, d2, n1, excess = self._measure(data, p, trajectory)
        A = len(p.alphas)
        x_gd = crossover(p.alphas, d1, d2)
        shift = np.abs(x_gd - p.crossover)
        xlabel = r"init scale $\alpha$"
        curve = Curve(x=p.alphas, y=d1, xlabel=xlabel, logy=False,
                      ylabel="relative distance", label=r"GD to min-$\ell_1$ (median)",
                      predicted=np.median(p.d1, axis=0), predicted_label=r"$\arg\min Q_\alpha$ to min-$\ell_1$",
                      extra={r"GD to min-$\ell_2$": d2},
                      predicted_extra={r"$\arg\min Q_\alpha$ to min-$\ell_2$": p.d2})
        residual = _rel_residual(data, w)
        mid = (np.abs(np.log10(p.alphas)[None, :] - p.crossover[:, None]) <= 0.5)  # configs that set alpha*
        curve.xmarks = {r"$\alpha^*$ of GD": float(10 ** np.median(x_gd)),
                        r"$\alpha^*$ predicted": float(10 ** np.median(p.crossover))}
        key = seed_check("crossover alpha* (d_l1 = d_l2) at Theorem 1's, |log10 ratio|", shift,
                         params.crossover_tol, "<=", curve=curve, quantifier="every")
        key = _guard(key, np.where(mid, residual, 0.0), "GD near the crossover")

        side = self._kernel_side(p.alphas)
        d2_r = self._kernel_distance(p, trajectory)
        ratio = np.abs(np.log10(d2_r / p.d2[:, side]))
        approach = seed_check("kernel side: |log10 d_l2(GD) / d_l2(argmin Q_alpha)| (Richardson in h, worst alpha)",
                              ratio.max(axis=1), params.kernel_side_tol, "<=", quantifier="every",
                              curve=Curve(x=p.alphas[side], y=d2_r, xlabel=xlabel,
                                          ylabel=r"$\|w - w_{\ell_2}\|/\|w_{\ell_2}\|$",
                                          predicted=np.median(p.d2[:, side], axis=0),
                                          predicted_label=r"$\arg\min Q_\alpha$"))
        both_steps = _rel_residual(data, trajectory.final["w"])  # the grid at h, then the kernel side at h/2
        approach = _guard(approach, both_steps[:, np.r_[side, A:both_steps.shape[1]]], "GD on the kernel side")

        l1n = np.abs(p.interp.l1).sum(-1)
        l2n1 = np.abs(p.interp.l2).sum(-1)
        norm_curve = Curve(x=p.alphas, y=n1, xlabel=xlabel, ylabel=r"$\|w\|_1$", logy=False,
                           predicted=np.median(np.abs(p.w_q).sum(-1), axis=0),
                           predicted_label=r"$\|\arg\min Q_\alpha\|_1$",
                           extra={r"min-$\ell_1$ value": np.repeat(l1n[:, None], A, 1),
                                  r"$\|w_{\ell_2}\|_1$": np.repeat(l2n1[:, None], A, 1)})
        rich = seed_check(f"rich end: l1-norm excess at alpha={p.alphas[0]:g} (fraction of the l1->l2 gap)",
                          excess[:, 0], params.rich_excess_tol, "<=", curve=norm_curve, quantifier="every")
        # a misfit r moves ||w||_1 by O(r ||w||_1): the coarse rich-end check needs r a tenth of its tolerance
        rich = _guard(rich, residual[:, :1], f"GD at alpha={p.alphas[0]:g}", rtol=params.rich_excess_tol / 10)

        kcurve = Curve(x=p.alphas, y=d2, xlabel=xlabel, ylabel=r"$\|w - w_{\ell_2}\|/\|w_{\ell_2}\|$",
                       predicted=np.median(p.d2, axis=0), predicted_label=r"$\arg\min Q_\alpha$")
        kernel = seed_check(f"kernel end: distance to min-l2 at alpha={p.alphas[-1]:g}", d2[:, -1],
                            params.kernel_tol, "<=", curve=kcurve, quantifier="every")
        kernel = _guard(kernel, residual[:, A - 1:A], f"GD at alpha={p.alphas[-1]:g}", rtol=params.kernel_tol)

        ratios, ratios_q = self._theorem2(params, data, p, w), self._theorem2(params, data, p, p.w_q)
        thm2 = seed_check("Theorem 2 bounds: worst excess / epsilon(alpha) on the grid", ratios, 1.0, "<=",
                          quantifier="every")
        thm2_q = seed_check("Theorem 2 bounds hold for argmin Q_alpha itself (constants as recorded)", ratios_q, 1.0,
                            "<=", quantifier="every", role="certificate")
        return [key, approach, rich, kernel, thm2, thm2_q]

    def _theorem2(self, params, data, p, w):
        """Per seed: max over grid alphas where a bound applies of (norm excess)/epsilon(alpha)."""
        out = []
        for s in range(w.shape[0]):
            l1n = float(np.abs(p.interp.l1[s]).sum())
            l2 = float(np.linalg.norm(p.interp.l2[s]))
            worst = 0.0
            for j, a in enumerate(p.alphas):
                ek, er = kernel_eps(a, l2), rich_eps(a, l1n, data.d)
                if np.isfinite(ek):
                    worst = max(worst, (np.sum(w[s, j] ** 2) / l2**2 - 1) / ek)
                if np.isfinite(er):
                    worst = max(worst, (np.abs(w[s, j]).sum() / l1n - 1) / er)
            out.append(worst)
        return np.array(out)

    def controls(self, params, data, prediction, trajectory):
        p = prediction
        w, d1, d2, n1, excess = self._measure(data, p, trajectory)
        side = self._kernel_side(p.alphas)
        halved = np.abs(np.log10(self._kernel_distance(p, trajectory) / p.d2_half[:, side]))
        shift = np.abs(crossover(p.alphas, d1, d2) - p.crossover_wrong)
        return [
            seed_check("kernel side of Q without the mirror map's factor 2 (beta = alpha^2: d_l2 4x larger)",
                       halved.max(axis=1), params.kernel_side_tol, "<=", quantifier="every"),
            seed_check(f"wrong-scale Q ({params.wrong_factor:g} alpha^2) crossover", shift, params.crossover_tol, "<=",
                       quantifier="every"),
            seed_check(f"always min-l1: distance to min-l1 at alpha={p.alphas[-1]:g}", d1[:, -1],
                       params.kernel_tol, "<=", quantifier="every"),
            seed_check(f"always min-l2: l1-norm excess vs 1 at alpha={p.alphas[0]:g}", np.abs(excess[:, 0] - 1),
                       params.rich_excess_tol, "<=", quantifier="every"),
        ]


# ----------------------------------------------------------------------------------------------
# 3. regularizers.init-shape
# ----------------------------------------------------------------------------------------------

#: small uniform shapes where the shape-blind Q moves argmin Q_k by 1-3 tolerances (at scale a = 0.01)
NEAR_SHAPES = (0.05, 0.06, 0.07, 0.085, 0.1)


@dataclass(frozen=True)
class InitShapeParams(Params):
    n: int = 20
    d: int = 60
    support: tuple[float, ...] = (1.0, -1.0, 0.5)
    scale: float = 0.01
    shapes: tuple[float, ...] = (0.0, *NEAR_SHAPES, 0.5, 0.9, 0.99)
    mixed: bool = True
    h: float = 0.4
    steps: int = 200_000
    tol: float = 1e-3

    @classmethod
    def quick(cls):
        return cls(shapes=(0.0, *NEAR_SHAPES, 0.9, 0.99), steps=6000)

    def validate(self):
        _validate_problem(self.n, self.d, self.h, self.steps)
        if not np.isfinite(self.scale) or self.scale <= 0:
            raise InputError(f"scale a = u0*v0 must be positive, got {self.scale}")
        if len(self.shapes) == 0:
            raise InputError("shapes must name at least one shape s")
        for s in self.shapes:
            if not 0 <= s < 1:
                raise InputError(f"shape s = (v0-u0)/(v0+u0) must lie in [0, 1), got {s}")
        if self.tol <= 0:
            raise InputError(f"tol must be positive, got {self.tol}")


def shape_init(scale: float, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""$u_0, v_0$ with $u_0v_0 = a$ and $(v_0 - u_0)/(v_0 + u_0) = s$:
    $u_0 = \sqrt{a(1-s)/(1+s)}$, $v_0 = \sqrt{a(1+s)/(1-s)}$ (so $k = 4a(1+s^2)/(1-s^2)$)."""
    s = np.asarray(s, float)
    return np.sqrt(scale * (1 - s) / (1 + s)), np.sqrt(scale * (1 + s) / (1 - s))


@dataclass
class ShapePrediction:
    labels: list[str]
    shape_values: np.ndarray  # (C, d) per-coordinate s of each config
    u0: np.ndarray  # (C, d)
    v0: np.ndarray
    k: np.ndarray  # (C, d) Azulay et al.'s k_i = 2(u0_i^2 + v0_i^2)
    w_q: np.ndarray  # (S, C, d)  argmin Q_k
    w_blind: np.ndarray  # (S, d)  argmin Q_alpha with alpha^2 = a (shape-blind)
    w_meank: np.ndarray  # (S, C, d) argmin Q with the coordinate-mean k (only differs for mixed)
    methods: list[str]


@register
class InitShape(Claim):
    r"""Azulay et al. 2021 (ICML), Theorem 4.1: the init *shape* enters the regularizer through $k$.

    Model $w = u_+\circ v_+ - u_-\circ v_-$ with $u_\pm(0) = u_0$, $v_\pm(0) = v_0$ ($w(0) = 0$),
    scale $a = u_0v_0$ and shape $s = (v_0-u_0)/(v_0+u_0)$. Prediction (the published statement, checked on
    GD): $w(\infty) = \arg\min_{Xw=y} Q_k(w)$, $Q_k(w) = \sum_i (k_i/4)[1 - \sqrt{1+4w_i^2/k_i^2} +
    (2w_i/k_i)\operatorname{arcsinh}(2w_i/k_i)] = \sum_i (k_i/8)\,q(4w_i/k_i)$,
    $k_i = 2(u_{0i}^2 + v_{0i}^2) = 4a(1+s_i^2)/(1-s_i^2)$ (:func:`theory.regularizers.shape_k`). sympy derives
    the flow $w = (k/2)\sinh(2X^\top\nu)$ and checks the identity (:func:`theory.regularizers.derive_shape`);
    the program is the same exponential-cone dual with $\beta = k/2$. At fixed scale $a$, $s\to1$ drives the
    solution to the kernel regime: measured $\|w\|_1$ 3.63 → 3.88 → 4.77 → 5.06 for
    $s = 0, 0.5, 0.9, 0.99$ ($a = 0.01$).

    Configs: each uniform shape $s$ of ``shapes`` and, with ``mixed``, a per-coordinate shape
    ($s_i = 0.99$ on even coordinates, $0$ on odd ones) where $Q_k$ is not any $Q_\alpha$. The measurement,
    quantifier (*every*: every dataset and init) and tolerance are those of ``regularizers.diagonal-scale``
    (Richardson in $h$, $10^{-3}$). Certificate (not counted): the paper's stationarity condition
    $\nabla Q_k(w) = \tfrac12\operatorname{arcsinh}(2w/k) \in \operatorname{row}(X)$ at the predicted limit.

    **Controls.** Near miss: the shape-blind $Q$ ($\alpha^2 = a$, what the scale alone predicts) on the
    (seed, shape) items where theory puts it 1.2-2.7 tolerances from $\arg\min Q_k$ — small shapes
    $s \approx 0.05$-$0.1$ (``NEAR_SHAPES``), where $k$ exceeds $4a$ by 0.5-2%. Straw men: the shape-blind $Q$
    at the uniform shape where theory puts it furthest ($s = 0.99$: relative separation $\sim 0.5$) and on the
    mixed config, and the $Q$ of a uniform init with the coordinate-mean $k$ (right scale, wrong structure).
    """

    id = "regularizers.init-shape"
    related = (("generalizes", "regularizers.diagonal-scale"),)
    title = "Init shape (u0 != v0) changes the implicit regularizer of a diagonal linear network"
    statement = (r"w = u_+\circ v_+ - u_-\circ v_-:\quad w(\infty) = \arg\min_{Xw=y}\sum_i \tfrac{k_i}{4}"
                 r"\Big[1 - \sqrt{1 + 4w_i^2/k_i^2} + \tfrac{2w_i}{k_i}\,\mathrm{arcsinh}\tfrac{2w_i}{k_i}\Big],"
                 r"\ k_i = 2(u_{0i}^2 + v_{0i}^2)")
    statement_text = ("For w = u+ v+ - u- v- started at (u0, v0), gradient flow converges to the interpolant "
                      "minimizing Q_k with k_i = 2(u0_i^2 + v0_i^2): the shape, not just the scale u0*v0, sets "
                      "the regularizer (the published statement, checked on GD).")
    departures = ("Gradient flow is approximated by GD at steps h and h/2 combined by Richardson extrapolation "
                  "(tolerance 1e-3); the flow's closed form and Q_k are re-derived in sympy. A run that has not "
                  "interpolated to 1e-4 makes the check undecided.")
    source = AZULAY
    Params = InitShapeParams
    default_seeds = 4

    def make_data(self, params, seeds):
        return sparse_regression(params.n, params.d, seeds, params.support)

    def _configs(self, params):
        d = params.d
        labels, svals = [], []
        for s in params.shapes:
            labels.append(f"s={s:g}")
            svals.append(np.full(d, float(s)))
        if params.mixed:
            labels.append("mixed s in {0, 0.99}")
            svals.append(np.where(np.arange(d) % 2 == 0, 0.99, 0.0))
        svals = np.array(svals)
        u0, v0 = shape_init(params.scale, svals)
        return labels, svals, u0, v0

    def predict(self, params, data):
        labels, svals, u0, v0 = self._configs(params)
        k = R.shape_k(u0, v0)  # (C, d), the paper's k_i = 2(u0_i^2 + v0_i^2)
        betas = k / 2  # mirror-map scale: w = (k/2) sinh(2 X^T nu)
        w_all, methods = _min_q_grid(data, np.concatenate([betas, np.full((1, params.d), 2 * params.scale),
                                                           np.repeat(betas.mean(axis=1, keepdims=True), params.d, 1)]))
        C = len(labels)
        return ShapePrediction(labels, svals, u0, v0, k, w_all[:, :C], w_all[:, C], w_all[:, C + 1:], methods)

    def simulate(self, params, data, device, seeds):
        labels, svals, u0, v0 = self._configs(params)
        C = len(labels)
        hs, stop = _richardson_pairs(C, params.steps)
        beta_max = np.tile((u0**2 + v0**2).max(axis=1), 2)
        eta = _step_sizes(data, beta_max, params.h) * hs
        return train_diagonal(data.X, data.y, np.tile(u0, (2, 1))[None], np.tile(v0, (2, 1))[None], eta,
                              params.steps, stop=stop[None, :].repeat(len(seeds), 0), device=device)

    @staticmethod
    def _measure(pred, traj):
        C = len(pred.labels)
        w = traj.final["w"]
        return 2 * w[:, C:] - w[:, :C], w[:, :C], w[:, C:]

    def checks(self, params, data, prediction, trajectory):
        p = prediction
        w_r, w_h, w_h2 = self._measure(p, trajectory)
        err = _rel(w_r, p.w_q)  # (S, C)
        raw = _rel(w_h2, p.w_q)
        U = len(params.shapes)
        curve = Curve(x=np.asarray(params.shapes, float), y=err[:, :U],
                      xlabel=r"init shape $s = (v_0-u_0)/(v_0+u_0)$",
                      ylabel=r"$\|w_{\rm GD} - \arg\min Q_k\|/\|\arg\min Q_k\|$", logx=False,
                      predicted=np.full(U, params.tol), predicted_label="tolerance",
                      extra={f"raw GD at h={params.h / 2:g}": raw[:, :U]})
        residual = _rel_residual(data, w_h2)
        key = seed_check("GD limit = argmin Q_k (Richardson in h, worst uniform shape)", err[:, :U].max(axis=1),
                         params.tol, "<=", curve=curve, quantifier="every")
        out = [_guard(key, residual[:, :U], "GD")]
        if params.mixed:
            mixed = seed_check("GD limit = argmin Q_k, per-coordinate shape (Richardson in h)", err[:, U],
                               params.tol, "<=", quantifier="every")
            out.append(_guard(mixed, residual[:, U:U + 1], "GD"))
        grads = 0.5 * np.arcsinh(2 * p.w_q / p.k[None])
        out.append(kkt_certificate("KKT of min Q_k in the paper's form: asinh(2w/k)/2 in row(X)", data.X, grads))
        return out

    def controls(self, params, data, prediction, trajectory):
        p = prediction
        w_r, _, _ = self._measure(p, trajectory)
        U = len(params.shapes)
        blind = np.repeat(p.w_blind[:, None], w_r.shape[1], 1)
        separation = _rel(blind, p.w_q)
        out = [band_control("shape-blind Q (alpha^2 = a)", _rel(w_r, blind)[:, :U], separation[:, :U], params.tol,
                            data.seeds, p.labels[:U])]
        j = int(np.argmax(np.median(separation, axis=0)[:U]))
        out.append(seed_check(f"shape-blind Q (alpha^2 = a) at {p.labels[j]}", _rel(w_r, blind)[:, j], params.tol,
                              "<=", quantifier="every"))
        if params.mixed:
            out.append(seed_check("shape-blind Q (alpha^2 = a), mixed shape", _rel(w_r, blind)[:, U], params.tol,
                                  "<=", quantifier="every"))
            out.append(seed_check("uniform Q with the mean k, mixed shape", _rel(w_r, p.w_meank)[:, U],
                                  params.tol, "<=", quantifier="every"))
        return out
