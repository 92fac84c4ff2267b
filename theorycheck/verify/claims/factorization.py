r"""Claims on factorized models: the implicit bias of gradient descent on $X = UU^\top$ (matrix sensing) and
the explicit regularizer of dropout in matrix factorization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.stats import spearmanr

from theorycheck.errors import InputError
from theorycheck.numerics.factorization import (gd_dropout_factorization, gd_symmetric_sensing,
                                                sgd_dropout_factorization)
from theorycheck.theory import factorization as theory
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check


def _rel(X: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(X - ref) / np.linalg.norm(ref))


def _sensing_instance(rng: np.random.Generator, n: int, r: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wu & Rebeschini's instance: X* = U U^T / ||U U^T||_* (U Gaussian n x r), A_i = (G + G^T)/2 Gaussian."""
    U = rng.standard_normal((n, r))
    X_star = U @ U.T
    X_star /= np.trace(X_star)
    G = rng.standard_normal((m, n, n))
    A = (G + np.swapaxes(G, 1, 2)) / 2.0
    return A, theory.sensing(A, X_star), X_star


# ==========================================================================================================
# regularizers.matrix-factorization

@dataclass(frozen=True)
class MatrixFactorizationParams(Params):
    n: int = 20
    r: int = 2
    #: number of measurements m = measurements_per_nr * n * r (3 in Wu & Rebeschini)
    measurements_per_nr: float = 3.0
    lr: float = 0.25
    steps: int = 5000
    alphas: tuple[float, ...] = (1e-1, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10)
    #: relative Frobenius gap to the min-nuclear solution allowed at the smallest alpha
    tol: float = 1e-2
    #: also run the failure side (m = failure_measurements_per_nr * n * r) and report it (not a check)
    failure_probe: bool = True
    failure_measurements_per_nr: float = 1.0

    @classmethod
    def quick(cls) -> "MatrixFactorizationParams":
        return cls(steps=3000, failure_probe=False)

    @classmethod
    def full(cls) -> "MatrixFactorizationParams":
        return cls(n=50, r=5, measurements_per_nr=2.0, steps=5000, alphas=tuple(10.0 ** -k for k in range(1, 11)))

    @property
    def m(self) -> int:
        return int(round(self.measurements_per_nr * self.n * self.r))

    @property
    def m_failure(self) -> int:
        return int(round(self.failure_measurements_per_nr * self.n * self.r))

    def validate(self) -> None:
        if self.n < 2:
            raise InputError(f"n must be at least 2, got {self.n}")
        if not 1 <= self.r <= self.n:
            raise InputError(f"r must be in [1, n={self.n}], got {self.r}")
        if self.m < 1 or self.m >= self.n * (self.n + 1) // 2:
            raise InputError(f"measurements_per_nr gives m={self.m}; need 1 <= m < n(n+1)/2 = {self.n * (self.n + 1) // 2} "
                             "(an underdetermined problem)")
        if self.failure_probe and self.m_failure < 1:
            raise InputError(f"failure_measurements_per_nr gives m={self.m_failure}; need at least 1")
        if not 0 < self.lr <= 0.5:
            raise InputError(f"lr must be in (0, 0.5] (GD diverges beyond, the scale of A*A/m is about 1), got {self.lr}")
        if self.steps < 1:
            raise InputError(f"steps must be at least 1, got {self.steps}")
        if len(self.alphas) < 3:
            raise InputError(f"alphas needs at least 3 init scales for a trend, got {self.alphas}")
        if any(a <= 0 for a in self.alphas):
            raise InputError(f"alpha must be positive, got alphas={self.alphas}")
        if self.tol <= 0:
            raise InputError(f"tol must be positive, got {self.tol}")


@register
class MatrixFactorization(Claim):
    r"""Gradient descent on $X = UU^\top$ from small init approaches the minimum nuclear-norm interpolant.

    **Statement** (Gunasekar, Woodworth, Bhojanapalli, Neyshabur & Srebro, NeurIPS 2017, arXiv 1705.09280).
    Symmetric sensing $y_i = \langle A_i, X^*\rangle$, full-dimensional factorization $X = UU^\top$
    ($U\in\mathbb R^{n\times n}$), gradient flow from $X(0) = \alpha X_{init}$. *Conjecture*: if the limit
    $\hat X = \lim_{\alpha\to0} X_\infty(\alpha)$ exists and interpolates, it is
    $\arg\min\|X\|_*$ s.t. $\mathcal A(X) = y$ ($=\min \operatorname{tr}X$ over PSD matrices). Confirmed via
    search (abstract, NeurIPS 2017): "We conjecture and provide empirical and theoretical evidence that with
    small enough step sizes and initialization close enough to the origin, gradient descent on a full
    dimensional factorization converges to the minimum nuclear norm solution." The paper proves it when the
    $A_i$ commute (then it reduces to the diagonal $\ell_1$ case of ``regularizers.diagonal-scale``).

    **It is false in general.** Li, Luo & Lyu (ICLR 2021, arXiv 2012.09839; abstract confirmed via search)
    show that for depth 2 gradient flow with infinitesimal init is equivalent to Greedy Low-Rank Learning and
    construct counter-examples to the conjecture; Razin & Cohen (NeurIPS 2020) give completion problems where
    every norm diverges. What is proved for generic (non-commuting) measurements is exact recovery under
    restricted isometry (Li, Ma & Zhang, COLT 2018): with Gaussian $A_i$ and enough measurements, small-init GD
    recovers the low-rank $X^*$, which is then also the min-nuclear solution.

    **The data therefore meet those conditions**: Wu & Rebeschini's setup — $X^* = UU^\top/\|UU^\top\|_*$ of
    rank $r$, $A_i = (G+G^\top)/2$ Gaussian, $U_0 = \sqrt\alpha I$, $U \leftarrow U - 2\eta\mathcal A^*(r)U/m$
    with $\eta = 1/4$, 5000 steps — with $m$ chosen inside the window where the check can tell solutions
    apart: above the exact-recovery threshold of trace minimization (so the RIP results apply and
    $X_{nuc} = X^*$, reported as an observation), and *below* the threshold where the PSD
    constraint alone pins the solution down. That second threshold is the statistical dimension of the PSD
    tangent cone at a rank-$r$ point, about $nr - r(r-1)/2 + (n-r)(n-r+1)/4$: 757 for $n = 50$, $r = 5$.
    Wu & Rebeschini's $m = 3nr = 750$ sits right on it — measured: the min-Frobenius-PSD and the
    min-spectral-PSD interpolants both coincide with $X^*$ on 2 of 4 seeds (gaps 2e-4, 6e-4), so every
    PSD interpolant is $X^*$ there and no control could fail (that run was *inconclusive*). Hence
    full: $n = 50$, $r = 5$, $m = 2nr = 500$ (trace minimization still recovers $X^*$ to 3e-6; the other PSD
    interpolants are 0.5-1.2 away), 5000 steps, $\alpha = 10^{-1}\ldots10^{-10}$; quick: $n = 20$, $r = 2$,
    $m = 3nr = 120$ (threshold about 125; the other PSD interpolants are 0.2-1.0 away), 3000 steps, no
    failure probe. GD at $\alpha = 0.1$ interpolates too (residual $\lesssim 10^{-5}$) yet lands 0.5-1.3 from
    $X_{nuc}$: the interpolants are not unique and the trend in $\alpha$ is informative.

    **Checks.** (1, key) relative Frobenius gap $\|X_{GD}(\alpha_{\min}) - X_{nuc}\|_F/\|X_{nuc}\|_F \le$ ``tol``
    $= 10^{-2}$; (2) $\operatorname{tr}X_{GD}/\operatorname{tr}X_{nuc} - 1$ (Wu & Rebeschini's nuclear-norm
    ratio) $\le$ ``tol``; (3) trend: Spearman correlation of $\log\alpha$ and $\log$ gap over the grid $\ge 0.9$
    (the gap shrinks as $\alpha\to0$); (4) GD interpolates at $\alpha_{\min}$: $\|\mathcal A(X) - y\|/\|y\| \le$
    ``tol`` (a relative misfit $\varepsilon$ moves $X$ by about $\varepsilon$ relative, since $\mathcal A/\sqrt m$
    is near-isometric on low-rank matrices; measured 2e-4 to 7e-4). *Why 1e-2*: at finite horizon the gap
    has two parts — the $\alpha$-dependent bias of the limit (the theorem's object, $\to 0$) and spurious
    eigenvalues picked up while the top-$r$ part is learned, which then decay only like $1/t$
    (over-parameterized factorization: the gradient on an eigenvalue $\lambda$ is $O(\lambda)$); measured at
    $\alpha = 10^{-10}$: 3e-4 (quick) and 2.3e-3 (full). The tolerance is 4-30x above that and 50-100x
    below the distance to either control solution.

    **Controls.** The same gap against (a) the min-Frobenius interpolant $A^\top(AA^\top)^{-1}y$ (what the
    kernel regime would suggest; 0.8-1.3 away) and (b) the min-spectral-norm PSD interpolant (same feasible set
    as GD, the Schatten-$\infty$ instead of the Schatten-1 norm; 0.6-1.0 away). Both must be rejected.
    Reported, not a control (drawn in the key figure with the two controls and the GD residual): the
    min-Frobenius PSD interpolant, 0.2-0.6 away.

    **Failure side (observation, not a check).** With ``failure_probe``, the same GD at $\alpha_{\min}$ on
    $m = nr$ measurements (below exact recovery): the gap to the min-nuclear solution, the trace ratio and how
    far min-nuclear is from $X^*$ are reported by ``observations()``. Measured at $n = 20$,
    $r = 2$, $m = 40$ (one seed): the gap to min-nuclear *grows* as $\alpha\to0$ (0.30 at $10^{-4}$, 0.57 at
    $10^{-10}$; trace ratio 1.09). Full preset ($n = 50$, $m = 250$, $\alpha = 10^{-10}$, residual 0): gap to
    min-nuclear 0.34-0.47, trace 6-9% above the minimum, and min-nuclear itself is 0.43-0.54 from $X^*$ —
    GD picks another interpolant than the min-nuclear one, consistent with Li, Luo & Lyu.
    """

    id = "regularizers.matrix-factorization"
    title = "Small-init GD on UU^T approaches the min-nuclear-norm interpolant (RIP regime)"
    statement = (r"\lim_{\alpha\to0}\lim_{t\to\infty} U_t U_t^\top = \arg\min_{X\succeq0,\ \mathcal A(X)=y}"
                 r"\operatorname{tr}X \quad (U_0 = \sqrt\alpha I;\ \text{conjecture, holds under RIP})")
    statement_text = ("As the init scale alpha -> 0, the limit of GD on X = U U^T (symmetric sensing, U0 = sqrt(alpha) I) "
                      "approaches argmin ||X||_* s.t. A(X) = y; a conjecture (Gunasekar et al. 2017) that holds for "
                      "commuting A_i and under RIP, false in general (Li, Luo, Lyu 2021).")
    source = Source(authors="Gunasekar, Woodworth, Bhojanapalli, Neyshabur, Srebro", year=2017,
                    title="Implicit Regularization in Matrix Factorization", venue="NeurIPS", arxiv="1705.09280")
    Params = MatrixFactorizationParams
    default_seeds = 4

    def make_data(self, params: MatrixFactorizationParams, seeds: Sequence[int]) -> dict[str, Any]:
        A, y, Xs, Af, yf, Xsf = [], [], [], [], [], []
        for s in seeds:
            a, b, c = _sensing_instance(np.random.default_rng([int(s), 0]), params.n, params.r, params.m)
            A.append(a), y.append(b), Xs.append(c)
            if params.failure_probe:
                a, b, c = _sensing_instance(np.random.default_rng([int(s), 1]), params.n, params.r, params.m_failure)
                Af.append(a), yf.append(b), Xsf.append(c)
        data = {"A": np.stack(A), "y": np.stack(y), "X_star": np.stack(Xs)}
        if params.failure_probe:
            data.update(A_fail=np.stack(Af), y_fail=np.stack(yf), X_star_fail=np.stack(Xsf))
        return data

    def predict(self, params: MatrixFactorizationParams, data: dict[str, Any]) -> dict[str, Any]:
        nuc, frob, frob_psd, spec, nuc_fail = [], [], [], [], []
        for i in range(len(data["y"])):
            nuc.append(theory.min_trace_psd(data["A"][i], data["y"][i]).X)
            frob.append(theory.min_frobenius(data["A"][i], data["y"][i]))
            frob_psd.append(theory.min_frobenius_psd(data["A"][i], data["y"][i]).X)
            spec.append(theory.min_spectral_psd(data["A"][i], data["y"][i]).X)
            if params.failure_probe:
                nuc_fail.append(theory.min_trace_psd(data["A_fail"][i], data["y_fail"][i]).X)
        out = {"X_nuc": np.stack(nuc), "X_frob": np.stack(frob), "X_frob_psd": np.stack(frob_psd),
               "X_spec": np.stack(spec)}
        if params.failure_probe:
            out["X_nuc_fail"] = np.stack(nuc_fail)
        return out

    def simulate(self, params: MatrixFactorizationParams, data: dict[str, Any], device: Any, seeds: Sequence[int]):
        traj = gd_symmetric_sensing(data["A"], data["y"], params.alphas, params.lr, params.steps, device)
        if params.failure_probe:
            fail = gd_symmetric_sensing(data["A_fail"], data["y_fail"], [min(params.alphas)], params.lr,
                                        params.steps, device)
            traj.final["X_fail"] = fail.final["X"][:, 0]
            traj.final["residual_fail"] = fail.final["residual"][:, 0]
        return traj

    # -- measurements ------------------------------------------------------------------------------------
    def _gaps(self, X: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """(S, K) relative Frobenius gaps of X (S, K, n, n) to ref (S, n, n)."""
        return np.array([[_rel(X[s, k], ref[s]) for k in range(X.shape[1])] for s in range(X.shape[0])])

    def _smallest(self, params: MatrixFactorizationParams) -> int:
        return int(np.argmin(params.alphas))

    def checks(self, params, data, prediction, trajectory) -> list[CheckResult]:
        X = trajectory.final["X"]
        alphas = np.asarray(params.alphas, float)
        k = self._smallest(params)
        gap = self._gaps(X, prediction["X_nuc"])
        # series against alpha only (the report draws extras on the same axis); scalars go to observations()
        extra = {
            "gap to min-Frobenius": self._gaps(X, prediction["X_frob"]),
            "gap to min-Frobenius PSD": self._gaps(X, prediction["X_frob_psd"]),
            "gap to min-spectral PSD": self._gaps(X, prediction["X_spec"]),
            "GD residual": trajectory.final["residual"],
        }
        curve = Curve(x=alphas, y=gap, xlabel=r"init scale $\alpha$",
                      ylabel=r"$\|X_{GD} - X_{nuc}\|_F/\|X_{nuc}\|_F$", extra=extra)
        trace_gd = np.trace(X, axis1=-2, axis2=-1)
        trace_nuc = np.trace(prediction["X_nuc"], axis1=-2, axis2=-1)
        ratio = trace_gd / trace_nuc[:, None] - 1.0
        rho = [spearmanr(np.log(alphas), np.log(gap[s])).statistic for s in range(gap.shape[0])]
        res = trajectory.final["residual"][:, k]
        res_curve = Curve(x=trajectory.steps[1:], y=trajectory.series["residual"][:, 1:, k],
                          ylabel=r"$\|A(X_t) - y\|/\|y\|$ at $\alpha_{\min}$")
        return [
            seed_check("gap to min-nuclear at smallest alpha", gap[:, k], params.tol, "<=", curve=curve, quantifier="every"),
            seed_check("nuclear-norm ratio - 1 at smallest alpha", np.abs(ratio[:, k]), params.tol, "<=",
                       curve=Curve(x=alphas, y=np.abs(ratio), xlabel=r"init scale $\alpha$",
                                   ylabel=r"$|\mathrm{tr}X_{GD}/\mathrm{tr}X_{nuc} - 1|$"), quantifier="every"),
            seed_check("gap shrinks as alpha -> 0 (Spearman of log alpha, log gap)", rho, 0.9, ">=", quantifier="every"),
            seed_check("GD interpolates at smallest alpha (relative residual)", res, params.tol, "<=",
                       curve=res_curve, quantifier="every"),
        ]

    def observations(self, params, data, prediction, trajectory) -> dict[str, float]:
        """Medians over seeds: exact recovery, the large-init gap, and the failure side (m = nr) when probed."""
        X = trajectory.final["X"]
        big = int(np.argmax(params.alphas))
        out = {
            "min-nuclear vs X* (rel)": float(np.median([_rel(a, b) for a, b in zip(prediction["X_nuc"], data["X_star"])])),
            "gap to min-nuclear at largest alpha": float(np.median(self._gaps(X, prediction["X_nuc"])[:, big])),
            "GD residual at largest alpha": float(np.median(trajectory.final["residual"][:, big])),
            "min-Frobenius-PSD vs min-nuclear (rel)": float(np.median(
                [_rel(a, b) for a, b in zip(prediction["X_frob_psd"], prediction["X_nuc"])])),
        }
        if params.failure_probe:
            Xf, nf = trajectory.final["X_fail"], prediction["X_nuc_fail"]
            out.update({
                "failure side (m = nr): gap GD -> min-nuclear": float(np.median([_rel(a, b) for a, b in zip(Xf, nf)])),
                "failure side: tr X_GD / tr X_nuc": float(np.median([np.trace(a) / np.trace(b) for a, b in zip(Xf, nf)])),
                "failure side: min-nuclear vs X* (rel)": float(np.median(
                    [_rel(a, b) for a, b in zip(nf, data["X_star_fail"])])),
                "failure side: GD residual": float(np.median(trajectory.final["residual_fail"])),
            })
        return out

    def controls(self, params, data, prediction, trajectory) -> list[CheckResult]:
        X = trajectory.final["X"]
        k = self._smallest(params)
        return [
            seed_check("gap to min-Frobenius interpolant at smallest alpha",
                       self._gaps(X, prediction["X_frob"])[:, k], params.tol, "<=", quantifier="every"),
            seed_check("gap to min-spectral-norm PSD interpolant at smallest alpha",
                       self._gaps(X, prediction["X_spec"])[:, k], params.tol, "<=", quantifier="every"),
        ]


# ==========================================================================================================
# regularizers.dropout-factorization

@dataclass(frozen=True)
class DropoutFactorizationParams(Params):
    d1: int = 8
    d2: int = 6
    #: factor columns; r >= min(d1, d2) keeps the rank constraint inactive, so cvxpy can cross-check
    r: int = 6
    #: keep probability theta; lambda = (1 - theta)/theta
    keep: float = 0.8
    #: GD on the expected objective (deterministic)
    lr: float = 0.05
    steps: int = 8000
    init_scale: float = 0.1
    tol: float = 1e-6
    #: dropout SGD with sampled masks at sgd_lr and sgd_lr/2
    sgd_lr: float = 0.02
    sgd_steps: int = 8000
    sgd_burn_in: int = 2000
    #: relative distance of the averaged SGD product (step sgd_lr/2) to the closed-form optimum
    sgd_tol: float = 0.02
    #: relative spread of the averaged column loads ||u_i|| ||v_i|| around ||M||_*/r (step sgd_lr/2)
    load_tol: float = 0.1
    #: |log2(rms(sgd_lr)/rms(sgd_lr/2)) - 1/2| allowed for the stochastic error ~ sqrt(step)
    exponent_tol: float = 0.2

    @classmethod
    def full(cls) -> "DropoutFactorizationParams":
        return cls(d1=40, d2=30, r=30, lr=0.005, steps=40000, sgd_lr=0.005, sgd_steps=40000, sgd_burn_in=10000)

    def validate(self) -> None:
        if min(self.d1, self.d2, self.r) < 1:
            raise InputError(f"d1, d2, r must be positive, got {self.d1}, {self.d2}, {self.r}")
        if self.r < min(self.d1, self.d2):
            raise InputError(f"r={self.r} < min(d1, d2)={min(self.d1, self.d2)}: the rank constraint could bind and "
                             "the convex cvxpy cross-check would not apply")
        if not 0.0 < self.keep < 1.0:
            raise InputError(f"keep probability must be in (0, 1), got {self.keep}")
        if self.lr <= 0 or self.steps < 1 or self.init_scale <= 0 or self.tol <= 0:
            raise InputError(f"lr, steps, init_scale, tol must be positive; got {self.lr}, {self.steps}, "
                             f"{self.init_scale}, {self.tol}")
        if self.sgd_lr <= 0 or not 0 <= self.sgd_burn_in < self.sgd_steps:
            raise InputError(f"need sgd_lr > 0 and 0 <= sgd_burn_in < sgd_steps; got {self.sgd_lr}, "
                             f"{self.sgd_burn_in}, {self.sgd_steps}")
        if min(self.sgd_tol, self.load_tol, self.exponent_tol) <= 0:
            raise InputError("sgd_tol, load_tol and exponent_tol must be positive")


@register
class DropoutFactorization(Claim):
    r"""Dropout in matrix factorization = squared-nuclear-norm regularizer; global optimum in closed form.

    **Statement** (Mianjy, Arora & Vidal, "On the Implicit Bias of Dropout", ICML 2018, arXiv 1806.09777).
    Dropout with keep probability $\theta$ on the $r$ columns of $U V^\top$ has expected objective
    $f(U,V) = \|Y - UV^\top\|_F^2 + \lambda\sum_{i\le r}\|u_i\|^2\|v_i\|^2$, $\lambda = (1-\theta)/\theta$
    (sympy derives it: ``theory.dropout.factorization_dropout_derivation``). Its induced regularizer on
    $M = UV^\top$ is $\frac\lambda r\|M\|_*^2$, attained by *equalized* factors
    $\|u_i\|\|v_i\| = \|M\|_*/r$ for all $i$, and the global optimum is singular-value shrinkage
    $\sigma_i(M) = \sigma_i(Y) - \frac{\lambda\rho}{r+\lambda\rho}\kappa_\rho$ ($i\le\rho$), else 0 (formulas
    from THEORY.md, not re-read in the paper: the search tool returned nothing for it; the shrinkage is certified
    against an independent cvxpy solve of $\min_M\|Y - M\|_F^2 + \frac\lambda r\|M\|_*^2$).

    **Dropout itself** (counted, quantifier *every*: every $Y$ and init). SGD on
    $\|Y - U\operatorname{diag}(b/\theta)V^\top\|_F^2$ with a fresh Bernoulli($\theta$) mask $b$ on the $r$
    columns each step (``numerics.factorization.sgd_dropout_factorization``), at two step sizes $\eta$ and
    $\eta/2$ from the same init, iterates averaged after a burn-in. Constant-step SGD does not converge: it
    fluctuates around the optimum, with a spread $\propto\sqrt\eta$ (stationary variance $\propto\eta$) and a bias
    of the average $O(\eta)$. Checks: (1, key) the averaged product at $\eta/2$ is within ``sgd_tol`` $= 0.02$
    (relative) of the closed-form optimum $M^\star$ (measured 0.5-1%); (2) its averaged column loads
    $\|u_i\|\|v_i\|$ are within ``load_tol`` $= 0.1$ of $\|M^\star\|_*/r$ (measured 2-6%: the equalizing force
    $\propto\lambda$ is weak at $\theta = 0.8$, and the loads diffuse); (3) the stochastic error shrinks with the
    step size like $\sqrt\eta$: the root-mean-square distance of the iterates to $M^\star$ at $\eta$ and $\eta/2$
    has $|\log_2(\mathrm{rms}_\eta/\mathrm{rms}_{\eta/2}) - \tfrac12| \le 0.2$ (a *derived* consequence of SGD
    theory, not the paper's statement; measured 0.47-0.64 over 48 datasets, median 0.56: the $O(\eta)$ bias adds
    to the spread, $\mathrm{rms}^2 \approx c_1\eta + c_2\eta^2$).

    **The expected objective** (counted): GD on $f$ (deterministic) from the same small random init reaches
    $M^\star$ ($f$ has no spurious local minima here) to $10^{-6}$, with loads equal to $10^{-6}$. Certificates
    (theory against theory, not counted): closed form vs cvxpy ($r \ge \min(d_1, d_2)$: the rank constraint of
    the factorization is inactive, so the convex program is the same problem), and the sympy identity.

    **Controls** (the SGD average against wrong optima). Near miss: $\lambda = 1-\theta$ (the $1/\theta$ of the
    rescaled mask's variance dropped; 3.1-3.8% from $M^\star$ at $\theta = 0.8$: why $\theta = 0.8$). Straw men:
    $\lambda/r$ in place of $\lambda$ in the shrinkage (15-18%), the other convention $\lambda = \theta/(1-\theta)$
    (60%), the best rank-$r$ approximation (no regularizer) and the prox of the non-squared nuclear norm
    $\sigma_i - \lambda/2$; and for check 3, an error $\propto\eta$ (the bias law in place of the spread's).

    Quick: $8\times6$, $r = 6$, $\theta = 0.8$; GD lr 0.05, 8000 steps (at lr 0.02 the equalizing direction,
    whose force is $\propto\lambda$, is still at $5\cdot10^{-5}$ on some datasets); SGD at 0.02 and 0.01, 8000 steps, burn-in
    2000. Full: $40\times30$, $r = 30$; GD lr 0.005, $4\cdot10^4$ steps; SGD at 0.005 and 0.0025, $4\cdot10^4$
    steps, burn-in $10^4$.
    """

    id = "regularizers.dropout-factorization"
    title = "Dropout in matrix factorization: squared nuclear norm, equalized factors, closed-form optimum"
    statement = (r"\min_{U,V}\mathbb E_b\|Y-U\mathrm{diag}(b/\theta)V^\top\|_F^2 = \min\|Y-UV^\top\|_F^2+\lambda\sum_{i\le r}"
                 r"\|u_i\|^2\|v_i\|^2:\ \sigma_i(M)=\sigma_i(Y)-\tfrac{\lambda\rho}{r+\lambda\rho}\kappa_\rho,\ "
                 r"\|u_i\|\|v_i\|=\|M\|_*/r")
    statement_text = ("Dropout (keep theta) on the r factors of U V^T induces (lambda/r)||M||_*^2, lambda = (1-theta)/theta; "
                      "SGD with sampled masks settles around the closed-form shrinkage optimum with equalized factors "
                      "(published statement); its spread shrinks like sqrt(step) (derived).")
    source = Source(authors="Mianjy, Arora, Vidal", year=2018, title="On the Implicit Bias of Dropout", venue="ICML",
                    arxiv="1806.09777")
    Params = DropoutFactorizationParams
    default_seeds = 4

    def make_data(self, params: DropoutFactorizationParams, seeds: Sequence[int]) -> dict[str, np.ndarray]:
        return {"Y": np.stack([np.random.default_rng([int(s), 40]).standard_normal((params.d1, params.d2))
                               for s in seeds])}

    def predict(self, params: DropoutFactorizationParams, data) -> dict[str, Any]:
        from theorycheck.theory.dropout import factorization_dropout_derivation

        lam = theory.dropout_lambda(params.keep)
        mistakes = {"lambda = 1 - theta (the 1/theta dropped)": 1 - params.keep,
                    "lambda/r in place of lambda": lam / params.r,
                    "the other convention lambda = theta/(1-theta)": params.keep / (1 - params.keep)}
        M, rho, cvx, best_r, nuc_prox = [], [], [], [], []
        wrong = {name: [] for name in mistakes}
        for Y in data["Y"]:
            m_, rho_ = theory.dropout_factorization_optimum(Y, params.r, lam)
            M.append(m_), rho.append(rho_)
            cvx.append(theory.dropout_factorization_convex(Y, params.r, lam).X)
            for name, value in mistakes.items():
                wrong[name].append(theory.dropout_factorization_optimum(Y, params.r, value)[0])
            P, s, Qt = np.linalg.svd(Y, full_matrices=False)
            best_r.append((P[:, :params.r] * s[:params.r]) @ Qt[:params.r])
            nuc_prox.append((P * np.clip(s - lam / 2, 0, None)) @ Qt)
        wrong["the best rank-r approximation (no regularizer)"] = best_r
        wrong["the non-squared nuclear-norm prox sigma - lambda/2"] = nuc_prox
        return {"lambda": lam, "M": np.stack(M), "rho": np.array(rho), "M_cvxpy": np.stack(cvx),
                "wrong": {name: np.stack(v) for name, v in wrong.items()},
                "sympy_residual": factorization_dropout_derivation(2, 2, 2)["residual"]}

    def simulate(self, params: DropoutFactorizationParams, data, device, seeds):
        traj = gd_dropout_factorization(data["Y"], params.r, theory.dropout_lambda(params.keep), params.lr,
                                        params.steps, params.init_scale, seeds, device)
        sgd = sgd_dropout_factorization(data["Y"], params.r, params.keep, [params.sgd_lr, params.sgd_lr / 2],
                                        params.sgd_steps, params.sgd_burn_in, params.init_scale, seeds, device)
        traj.final.update({f"sgd_{k}": v for k, v in sgd.final.items()})
        traj.seconds += sgd.seconds
        return traj

    # -- measurements ------------------------------------------------------------------------------------
    @staticmethod
    def _rel(M: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return np.linalg.norm(M - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))

    def _sgd_rms(self, trajectory, M_star: np.ndarray) -> np.ndarray:
        """(S, K) root-mean-square distance of the SGD iterates to M_star, relative to ||M_star||."""
        f = trajectory.final
        ref = M_star[:, None]
        ms = f["sgd_M_sq_avg"] - 2 * np.sum(f["sgd_M_avg"] * ref, axis=(-2, -1)) + np.sum(ref * ref, axis=(-2, -1))
        return np.sqrt(np.maximum(ms, 0.0)) / np.linalg.norm(M_star, axis=(-2, -1))[:, None]

    def checks(self, params, data, prediction, trajectory) -> list[CheckResult]:
        M = prediction["M"]
        f = trajectory.final
        nuc = np.array([np.linalg.svd(m, compute_uv=False).sum() for m in M])
        share = (nuc / params.r)[:, None]
        sgd_gap = self._rel(f["sgd_M_avg"][:, -1], M)
        loads = np.max(np.abs(f["sgd_loads_avg"][:, -1] - share), axis=1) / share[:, 0]
        rms = self._sgd_rms(trajectory, M)
        exponent = np.log2(rms[:, 0] / rms[:, 1])
        prods = np.linalg.norm(f["U"], axis=1) * np.linalg.norm(f["V"], axis=1)
        equal = np.max(np.abs(prods - share), axis=1) / share[:, 0]
        obj_star = np.array([np.sum((Y - m) ** 2) + prediction["lambda"] / params.r * n_ ** 2
                             for Y, m, n_ in zip(data["Y"], M, nuc)])
        excess = np.maximum(np.abs(trajectory.series["objective"] / obj_star[:, None] - 1), 1e-16)
        steps = np.array([params.sgd_lr, params.sgd_lr / 2])
        return [
            seed_check(f"dropout SGD (averaged, step {params.sgd_lr / 2:g}) vs closed-form optimum (relative)", sgd_gap,
                       params.sgd_tol, "<=", quantifier="every",
                       curve=Curve(x=steps, y=self._rel(f["sgd_M_avg"], M[:, None]), xlabel=r"SGD step $\eta$",
                                   ylabel=r"$\|\bar M - M^\star\|_F/\|M^\star\|_F$", label="averaged iterates",
                                   extra={"root-mean-square iterate": rms})),
            seed_check("dropout SGD equalizes the loads: max |mean ||u_i|| ||v_i|| - ||M||_*/r| (relative)", loads,
                       params.load_tol, "<=", quantifier="every"),
            seed_check("dropout SGD's spread shrinks like sqrt(step): |log2 rms(eta)/rms(eta/2) - 1/2|",
                       np.abs(exponent - 0.5), params.exponent_tol, "<=", quantifier="every"),
            seed_check("GD on the expected objective vs closed-form optimum (relative)", self._rel(f["M"], M),
                       params.tol, "<=", quantifier="every",
                       curve=Curve(x=trajectory.steps.astype(float), y=excess, ylabel=r"$f(U_t, V_t)/f^\star - 1$")),
            seed_check("GD equalizes the factors: max |‖u_i‖‖v_i‖ - ‖M‖_*/r| (relative)", equal, params.tol, "<=",
                       quantifier="every"),
            seed_check("closed form vs cvxpy (relative)", self._rel(prediction["M_cvxpy"], M), params.tol, "<=",
                       quantifier="every", role="certificate"),
            seed_check("sympy: dropout expectation minus closed form (0 = identity)",
                       [0.0 if prediction["sympy_residual"] == 0 else 1.0], 0.0, "<=", quantifier="every",
                       role="certificate"),
        ]

    def observations(self, params, data, prediction, trajectory) -> dict[str, float]:
        rms = self._sgd_rms(trajectory, prediction["M"])
        return {"rank rho of the optimum (median)": float(np.median(prediction["rho"])),
                "lambda = (1 - keep)/keep": float(prediction["lambda"]),
                f"SGD rms distance at step {params.sgd_lr:g} (median)": float(np.median(rms[:, 0])),
                f"SGD rms distance at step {params.sgd_lr / 2:g} (median)": float(np.median(rms[:, 1]))}

    def controls(self, params, data, prediction, trajectory) -> list[CheckResult]:
        avg = trajectory.final["sgd_M_avg"][:, -1]
        rms = self._sgd_rms(trajectory, prediction["M"])
        exponent = np.log2(rms[:, 0] / rms[:, 1])
        return [
            *(seed_check(f"dropout SGD vs the optimum with {name}", self._rel(avg, ref), params.sgd_tol, "<=",
                         quantifier="every") for name, ref in prediction["wrong"].items()),
            seed_check("stochastic error proportional to the step (the bias law): |log2 ratio - 1|",
                       np.abs(exponent - 1.0), params.exponent_tol, "<=", quantifier="every"),
        ]
