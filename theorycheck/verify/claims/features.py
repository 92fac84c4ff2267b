r"""Random-feature ridge regression: the eigenlearning risk estimates and "more is better" at the optimal ridge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from theorycheck.errors import InputError
from theorycheck.numerics.random_features import ridge_risk_trials
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import kernels as theory
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

MORE_IS_BETTER = Source(authors="Simon, Karkada, Ghosh, Belkin", year=2023,
                        title="More is Better in Modern Machine Learning: when Infinite Overparameterization is "
                              "Optimal and Overfitting is Obligatory", arxiv="2311.14646")


@dataclass(frozen=True)
class MoreIsBetterParams(Params):
    modes: int = 1000
    alpha: float = 1.5
    beta: float = 1.5
    noise: float = 0.01
    #: samples of the feature sweep and features of the sample sweep
    n: int = 128
    k: int = 128
    features: tuple[int, ...] = (16, 32, 64, 96, 128, 160, 256, 512, 1024)
    samples: tuple[int, ...] = (16, 32, 64, 96, 128, 160, 256, 512)
    #: sample sizes of the kernel-regression (k = infinity) accuracy check
    krr_samples: tuple[int, ...] = (64, 128, 256)
    #: log10 of the ridge grid: start, stop, count
    log10_ridges: tuple[float, ...] = (-6.0, 1.0, 15.0)
    #: allowed relative error of the risk estimates
    tol: float = 0.1
    #: allowed rise of the measured optimal-ridge risk between neighbours, in standard errors
    rise_se: float = 2.0

    @classmethod
    def full(cls) -> "MoreIsBetterParams":
        return cls(modes=2000, n=256, k=256, features=(16, 32, 64, 128, 192, 256, 320, 512, 1024, 2048),
                   samples=(16, 32, 64, 128, 192, 256, 320, 512, 1024), krr_samples=(64, 256, 1024))

    @property
    def ridges(self) -> np.ndarray:
        start, stop, count = self.log10_ridges
        return np.logspace(start, stop, int(count))

    def sizes(self) -> list[tuple[int, int]]:
        """(n, k) of every fit: the feature sweep, the sample sweep, then kernel regression (k = 0)."""
        return ([(self.n, k) for k in self.features] + [(n, self.k) for n in self.samples]
                + [(n, 0) for n in self.krr_samples])

    def validate(self) -> None:
        if self.modes < 2 or self.alpha <= 1 or self.beta <= 0 or self.noise < 0:
            raise InputError(f"need modes >= 2, alpha > 1 (trace-class kernel), beta > 0, noise >= 0; got "
                             f"{self.modes}, {self.alpha}, {self.beta}, {self.noise}")
        for name, seq in (("features", self.features), ("samples", self.samples), ("krr_samples", self.krr_samples)):
            if len(seq) < 2 or list(seq) != sorted(set(seq)) or min(seq) < 1:
                raise InputError(f"{name} must be >= 2 increasing positive counts, got {seq}")
        if max(self.samples + self.krr_samples + (self.n,)) >= self.modes:
            raise InputError(f"sample counts must stay below modes={self.modes} (the ridgeless fit must interpolate)")
        if len(self.log10_ridges) != 3 or self.log10_ridges[2] < 3 or self.log10_ridges[0] >= self.log10_ridges[1]:
            raise InputError(f"log10_ridges must be (start, stop, count >= 3), got {self.log10_ridges}")
        if self.tol <= 0 or self.rise_se <= 0:
            raise InputError("tol and rise_se must be positive")


@register
class MoreIsBetter(Claim):
    r"""At the optimal ridge, random-feature regression gets better with more features and more samples; the
    eigenlearning equations predict its test error.

    **Statement** (Simon, Karkada, Ghosh & Belkin 2023, arXiv 2311.14646, abstract confirmed: for RF ridge regression under the
    Gaussian-universality ansatz, the test risk at optimal ridge decreases monotonically in the number of
    features $k$ and of samples $n$, and the "omniscient risk" equations of
    :func:`theorycheck.theory.kernels.random_feature_risk` predict it; $k\to\infty$ is kernel regression, predicted by
    the eigenlearning equations, :func:`theorycheck.theory.kernels.eigenlearning`).

    **Measurement.** The Gaussian power-law task ($x\sim N(0, I_M)$, $M = 1000$, $\lambda_i = i^{-1.5}$,
    $v_i\propto i^{-0.75}$, $\varepsilon^2 = 0.01$); one trial per seed (fresh data, noise and Gaussian features);
    exact test MSE $\|\hat\beta - v\|^2 + \varepsilon^2$ of every fit (all predictors are linear in $x$); 15 ridges
    $10^{-6}..10$; a feature sweep at $n = 128$ and a sample sweep at $k = 128$, both through the interpolation
    point $k = n$.

    **Checks.** (1, key) more is better: along each sweep, the measured optimal-ridge risk (the ridge that
    minimizes the trial mean; per-trial values there) rises between neighbours by at most 2 standard errors of
    the paired difference, for every neighbour pair (quantifier ``every`` over pairs); (2) the RF risk
    estimate: per fit, the median over the ridge grid of $|\text{measured} - \text{predicted}|/\text{predicted}$
    is at most 0.1 (measured 0.02-0.07), for every fit (the estimate is asymptotic in $k$: at $k = 8$ it is
    7-11% low, so the feature sweep starts at 16); (3) eigenlearning: for each $n\ge64$ the largest
    relative error over the ridges is at most 0.1 (measured $\le 0.06$; below $n = 64$ the estimate is 20% low,
    it is exact only asymptotically). Certificate: the predicted optimal-ridge risk is non-increasing in $k$
    and in $n$. **Controls.** (a, near miss) the risk estimate without the noise term, i.e. against noiseless
    test labels (the other convention), which is off by $\mathcal E_0\varepsilon^2$ (5-18% here); (b) ridgeless
    ($\delta = 10^{-6}$) regression is also monotone — rejected by its double-descent peak at $k = n$.
    """

    id = "features.more-is-better"
    title = "Random-feature ridge regression: optimal-ridge risk falls with features and samples; eigenlearning predicts it"
    statement = (r"\min_\delta R(n, k, \delta)\ \text{is non-increasing in } k \text{ and } n,\quad "
                 r"R = \mathcal E_0\big(\textstyle\sum_i[(1-L_i) - \tfrac{\kappa L_i}{\lambda_i+\gamma}\tfrac{k}{k-q}]v_i^2"
                 r" + \varepsilon^2\big)")
    statement_text = ("At the optimal ridge the test risk of random-feature ridge regression is non-increasing in the "
                      "number of features and of samples, and the omniscient-risk (eigenlearning) equations predict "
                      "it (Simon et al. 2023).")
    departures = ("The statement assumes Gaussian universality; it is checked on a Gaussian power-law task (input "
                  "dimension 1000, eigenvalues i^-1.5) with the optimal ridge taken on a grid of 15 ridges. The risk "
                  "equations are asymptotic and are checked only where accurate: from 16 features for the RF "
                  "estimate, from n = 64 for eigenlearning.")
    source = MORE_IS_BETTER
    Params = MoreIsBetterParams
    default_seeds = 12

    def make_data(self, params: MoreIsBetterParams, seeds: Sequence[int]) -> dict[str, np.ndarray]:
        lam, v = theory.power_law_task(params.modes, params.alpha, params.beta)
        return {"eigenvalues": lam, "coefficients": v}

    def predict(self, params: MoreIsBetterParams, data) -> dict[str, Any]:
        lam, v = data["eigenvalues"], data["coefficients"]
        risks, risks_noiseless = [], []
        for n, k in params.sizes():
            fn = (lambda d, e: theory.eigenlearning(lam, v, n, d, e).test_mse) if k == 0 else \
                (lambda d, e: theory.random_feature_risk(lam, v, n, k, d, e).test_mse)
            risks.append([fn(d, params.noise) for d in params.ridges])
            risks_noiseless.append([fn(d, 0.0) for d in params.ridges])
        return {"risk": np.array(risks), "risk_noiseless": np.array(risks_noiseless)}

    def simulate(self, params: MoreIsBetterParams, data, device, seeds):
        risk = ridge_risk_trials(seeds, data["eigenvalues"], data["coefficients"], params.noise, params.ridges,
                                 params.sizes(), device)
        return Trajectory(steps=np.arange(len(params.sizes())), final={"risk": risk}, device=str(device))

    # -- measurements --------------------------------------------------------------------------------------
    def _blocks(self, params) -> dict[str, slice]:
        a, b = len(params.features), len(params.samples)
        return {"features": slice(0, a), "samples": slice(a, a + b), "krr": slice(a + b, a + b + len(params.krr_samples))}

    def _optimal(self, trajectory, block: slice, ridge: int | None = None) -> np.ndarray:
        """(S, len(block)) per-trial risk at the ridge minimizing the trial mean (or at the given ridge index)."""
        risk = trajectory.final["risk"][:, block]                      # (S, B, R)
        idx = np.argmin(risk.mean(axis=0), axis=1) if ridge is None else np.full(risk.shape[1], ridge)
        return np.take_along_axis(risk, idx[None, :, None], axis=2)[..., 0]

    def _rises(self, values: np.ndarray) -> np.ndarray:
        """Rise between neighbours in standard errors of the paired difference (S trials)."""
        diff = values[:, 1:] - values[:, :-1]
        se = diff.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
        return diff.mean(axis=0) / np.where(se > 0, se, np.inf)

    def _monotone(self, name: str, params, trajectory, ridge: int | None = None,
                  curve: Curve | None = None) -> CheckResult:
        blocks = self._blocks(params)
        rises, labels = [], []
        for sweep, counts, letter in (("features", params.features, "k"), ("samples", params.samples, "n")):
            rises.extend(self._rises(self._optimal(trajectory, blocks[sweep], ridge)))
            labels.extend(f"{letter}={a}->{b}" for a, b in zip(counts[:-1], counts[1:]))
        return seed_check(name, rises, params.rise_se, "<=", quantifier="every", labels=labels, curve=curve)

    def _accuracy(self, params, trajectory, predicted: np.ndarray, which: str) -> tuple[np.ndarray, list[str]]:
        """Per fit of the RF sweeps: median over ridges of the relative error of the trial-mean risk."""
        measured = trajectory.final["risk"].mean(axis=0)
        rel = np.abs(measured - predicted) / predicted
        sizes = params.sizes()
        keep = [i for i, (_, k) in enumerate(sizes) if (k > 0) == (which == "rf")]
        stat = np.median(rel[keep], axis=1) if which == "rf" else rel[keep].max(axis=1)
        return stat, [f"n={sizes[i][0]}, k={sizes[i][1] or 'inf'}" for i in keep]

    def _sweep_curve(self, params, trajectory, prediction, sweep: str) -> Curve:
        block = self._blocks(params)[sweep]
        counts = np.asarray(params.features if sweep == "features" else params.samples, float)
        pred = prediction["risk"][block]
        ridgeless = trajectory.final["risk"][:, block, 0]
        return Curve(x=counts, y=self._optimal(trajectory, block),
                     xlabel="features $k$" if sweep == "features" else "samples $n$", ylabel="test MSE",
                     predicted=pred.min(axis=1), predicted_label="predicted, optimal ridge",
                     label="measured, optimal ridge",
                     extra={"measured, ridgeless": ridgeless, "predicted, ridgeless": pred[:, 0]})

    def checks(self, params, data, prediction, trajectory) -> list[CheckResult]:
        rf, rf_labels = self._accuracy(params, trajectory, prediction["risk"], "rf")
        krr, krr_labels = self._accuracy(params, trajectory, prediction["risk"], "krr")
        blocks = self._blocks(params)
        pred_opt = [prediction["risk"][blocks[s]].min(axis=1) for s in ("features", "samples")]
        theory_rise = max(float(np.max(np.diff(p) / p[:-1])) for p in pred_opt)
        return [
            self._monotone(f"optimal-ridge risk never rises by more than {params.rise_se:g} SE (k and n sweeps)",
                           params, trajectory, curve=self._sweep_curve(params, trajectory, prediction, "features")),
            seed_check("RF risk estimate: median relative error over ridges", rf, params.tol, "<=",
                       quantifier="every", labels=rf_labels,
                       curve=self._sweep_curve(params, trajectory, prediction, "samples")),
            seed_check("eigenlearning (KRR): max relative error over ridges", krr, params.tol, "<=",
                       quantifier="every", labels=krr_labels),
            seed_check("theory: predicted optimal-ridge risk is non-increasing (largest relative rise)",
                       [max(theory_rise, 0.0)], 1e-9, "<=", quantifier="every", role="certificate"),
        ]

    def controls(self, params, data, prediction, trajectory) -> list[CheckResult]:
        rf, rf_labels = self._accuracy(params, trajectory, prediction["risk_noiseless"], "rf")
        return [
            seed_check("RF risk estimate against noiseless test labels (noise term dropped)", rf, params.tol, "<=",
                       quantifier="every", labels=rf_labels),
            self._monotone("ridgeless risk (ridge 1e-6) is monotone too", params, trajectory, ridge=0),
        ]

    def observations(self, params, data, prediction, trajectory) -> dict[str, float]:
        blocks = self._blocks(params)
        out = {}
        for sweep, counts in (("features", params.features), ("samples", params.samples)):
            ridgeless = trajectory.final["risk"][:, blocks[sweep], 0].mean(axis=0)
            opt = self._optimal(trajectory, blocks[sweep]).mean(axis=0)
            out[f"{sweep}: ridgeless risk peak (trial mean)"] = float(ridgeless.max())
            out[f"{sweep}: ridgeless peak at"] = float(counts[int(np.argmax(ridgeless))])
            out[f"{sweep}: optimal-ridge risk first -> last"] = float(opt[0])
            out[f"{sweep}: optimal-ridge risk last"] = float(opt[-1])
        return out
