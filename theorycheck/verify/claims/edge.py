r"""Sharpness of trained networks: the edge of stability of full-batch GD, and the function-space
bound that linear stability puts on the minima GD can reach (curvature from
:mod:`theorycheck.numerics.curvature`).

Convention: squared loss with the factor 1/2 (``0.5 * ||f - y||^2`` summed over outputs, averaged over
examples), so the stability threshold is $2/\eta$; without the 1/2 every threshold is $1/\eta$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics.data import seed_generator
from theorycheck.numerics.edge import gd_with_sharpness, init_mlp, mlp_loss, teacher_data
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import stability as T
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

COHEN = Source(authors="Cohen, Kaur, Li, Kolter, Talwalkar", year=2021,
               title="Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability", venue="ICLR",
               arxiv="2103.00065")


def stability_threshold(eta: np.ndarray) -> np.ndarray:
    r"""$2/\eta$: the largest sharpness at which GD on a quadratic with this step is stable (loss with ½)."""
    return 2.0 / np.asarray(eta, dtype=float)


# ----------------------------------------------------------------------------------------------
# 4. stability.edge-of-stability
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeParams(Params):
    widths: tuple[int, ...] = (16, 32, 32, 4)
    n: int = 128
    teacher_width: int = 32
    etas: tuple[float, ...] = (0.4, 0.8)
    steps: int = 500
    every: int = 5
    lanczos_steps: int = 8
    top_k: int = 1
    arrive: float = 0.95
    skip: int = 20
    band: float = 0.1
    sharpening_start: float = 0.8
    slope_tol: float = 0.1
    flow_eta: float = 0.0
    flow_time: float = 120.0

    @classmethod
    def full(cls):
        return cls(etas=(0.3, 0.4, 0.6, 0.8), steps=1000, top_k=2, lanczos_steps=10, flow_eta=0.15, flow_time=200.0)

    def validate(self):
        if len(self.widths) < 3 or min(self.widths) < 1:
            raise InputError(f"widths must be (in, hidden..., out) with at least one hidden layer, got {self.widths}")
        if len(self.etas) < 2 or min(self.etas) <= 0 or len(set(self.etas)) != len(self.etas):
            raise InputError(f"etas must list at least two distinct positive step sizes, got {self.etas}")
        if self.steps < 50 or self.every < 1 or self.lanczos_steps < self.top_k or self.top_k < 1:
            raise InputError("steps >= 50, every >= 1 and lanczos_steps >= top_k >= 1 are required")
        if not 0 < self.arrive < 1 or not 0 < self.band < 1 or not 0 < self.sharpening_start < self.arrive:
            raise InputError("need 0 < sharpening_start < arrive < 1 and 0 < band < 1")
        if self.flow_eta < 0 or (self.flow_eta and self.flow_eta >= min(self.etas)):
            raise InputError(f"flow_eta must be 0 (no gradient-flow run) or below every eta, got {self.flow_eta}")
        if self.flow_eta and self.flow_time > self.steps * min(self.etas):
            raise InputError(f"flow_time must be reachable by the smallest eta: <= {self.steps * min(self.etas):g}")


@dataclass
class EdgeData:
    X: torch.Tensor  # (S, n, d)
    Y: torch.Tensor  # (S, n, k)
    theta0: torch.Tensor  # (S, P)
    seeds: list[int]


@register
class EdgeOfStability(Claim):
    r"""Full-batch GD with squared loss trains at the edge of stability (Cohen et al. 2021).

    **Statement** (empirical, as the paper states it). The sharpness $S_t = \lambda_{\max}(\nabla^2L(\theta_t))$
    rises (progressive sharpening) until it reaches $2/\eta$, then hovers just above it while the loss keeps
    decreasing non-monotonically; the plateau scales as $\eta^{-1}$ across step sizes.

    **Runs.** A tanh MLP (``widths``) on a random-teacher classification task with one-hot targets
    (:mod:`theorycheck.numerics.edge`), one batched program over (step size × seed), the sharpness every
    ``every`` steps by warm-started batched Lanczos (``lanczos_steps`` HVPs; tested against dense
    eigensolvers in the test suite). The *plateau* of a run is the median of $\eta S_t/2$ over the snapshots
    from ``skip`` steps after the first time $\eta S_t/2 \ge$ ``arrive``.

    **Checks** (``every`` run: the statement is about every run, and the band already absorbs the
    oscillation). (1, 2) the plateau lies in $[1 - \text{band}, 1 + \text{band}]$ (a two-sided band: the edge
    of stability is not a bound, the plateau sits 1–4% *above* $2/\eta$); (3) the plateau scales as
    $\eta^{-1}$: per seed, the log-log slope of the plateau sharpness against $\eta$ is within
    ``slope_tol`` of $-1$; (4) progressive sharpening: every run that starts below
    ``sharpening_start``$\cdot 2/\eta$ reaches ``arrive``$\cdot2/\eta$.

    **Controls.** The plateau at $1/\eta$ (a loss without the ½; check 2); "the sharpness never exceeds
    $2/\eta$" (the classical bound, check 2 with no band); an $\eta$-independent plateau (check 3 with slope
    0); with ``flow_eta`` > 0 (full preset), "GD follows gradient flow": a run at the small step
    ``flow_eta`` stands in for the flow, and its sharpness at the physical time ``flow_time``, as a
    prediction for GD at $\eta$, is checked like check 2.

    **Loss spikes** (Xu group; reported as an observation, not checked): the fraction of steps with a
    rising loss (two-step comparison, which removes the period-2 oscillation) at which the sharpness of the
    nearest snapshot exceeds $2/\eta$ — the rate statement needs the deviation along the top eigenvector,
    which is not measured here.
    """

    id = "stability.edge-of-stability"
    title = "Full-batch GD sharpens progressively, then hovers at 2/eta (edge of stability)"
    statement = (r"\lambda_{\max}(\nabla^2L(\theta_t))\ \uparrow\ 2/\eta,\ \text{then}\ "
                 r"\eta\lambda_{\max}/2 \in [1 - b, 1 + b];\ S_{\rm plateau} \propto \eta^{-1}")
    statement_text = ("Full-batch GD with squared loss on a small tanh MLP: the sharpness rises until 2/eta, then "
                      "hovers just above 2/eta (plateau within a band), with the plateau proportional to 1/eta.")
    departures = ("An empirical statement, checked on a small tanh MLP on a random-teacher classification task with "
                  "squared loss (factor 1/2): the plateau is the median of eta S/2 after arrival, within a two-sided "
                  "band, with the sharpness by Lanczos. Loss spikes are reported only, not checked.")
    source = COHEN
    Params = EdgeParams
    default_seeds = 3

    def make_data(self, params, seeds):
        X, Y = teacher_data(params.n, params.widths[0], params.widths[-1], seeds, params.teacher_width)
        return EdgeData(X, Y, init_mlp(params.widths, seeds), [int(s) for s in seeds])

    def predict(self, params, data):
        return {"threshold": stability_threshold(np.asarray(params.etas)), "slope": -1.0}

    def simulate(self, params, data, device, seeds):
        E, S = len(params.etas), len(seeds)
        rep = lambda t: t.to(device).repeat(E, *([1] * (t.ndim - 1)))  # noqa: E731  row = eta_index * S + seed
        loss = mlp_loss(rep(data.X), rep(data.Y), params.widths)
        eta = np.repeat(np.asarray(params.etas, float), S)
        run = gd_with_sharpness(loss, rep(data.theta0), eta, params.steps, every=params.every, k=params.top_k,
                                lanczos_steps=params.lanczos_steps, generator=seed_generator(data.seeds[0]))
        shape = lambda a: a.reshape(E, S, *a.shape[1:]).swapaxes(0, 1)  # noqa: E731  -> (S, E, ...)
        series = {"loss": shape(run.loss).transpose(0, 2, 1)}
        final = {"sharpness": shape(run.sharpness[..., 0]), "residual": shape(run.residual),
                 "sharp_steps": np.broadcast_to(run.sharp_steps, (S, run.sharp_steps.size)).copy()}
        if params.top_k > 1:
            final["second"] = shape(run.sharpness[..., 1])
        seconds = run.seconds
        if params.flow_eta:
            flow_steps = int(np.ceil(params.flow_time / params.flow_eta))
            flow = gd_with_sharpness(mlp_loss(data.X.to(device), data.Y.to(device), params.widths),
                                     data.theta0.to(device), np.full(S, params.flow_eta), flow_steps,
                                     every=max(1, flow_steps // 20), lanczos_steps=params.lanczos_steps,
                                     generator=seed_generator(data.seeds[0]))
            final["flow_sharpness"] = flow.sharpness[:, -1, 0]
            seconds += flow.seconds
        # loss series are per step; the snapshot grid is shared by all rows
        return Trajectory(steps=np.arange(params.steps + 1), series=series, final=final, device=str(device),
                          seconds=seconds)

    @staticmethod
    def _plateaus(params, prediction, trajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (seed, eta): plateau of S / threshold (nan if never arrived), first arrival step, start ratio."""
        S_t = trajectory.final["sharpness"]  # (S, E, K)
        steps = trajectory.final["sharp_steps"][0]
        ratio = S_t / prediction["threshold"][None, :, None]
        plateau = np.full(ratio.shape[:2], np.nan)
        arrival = np.full(ratio.shape[:2], -1)
        for s in range(ratio.shape[0]):
            for e in range(ratio.shape[1]):
                hit = np.flatnonzero(ratio[s, e] >= params.arrive)
                if hit.size:
                    arrival[s, e] = steps[hit[0]]
                    window = steps >= steps[hit[0]] + params.skip
                    if window.sum() >= 3:
                        plateau[s, e] = float(np.median(ratio[s, e, window]))
        return plateau, arrival, ratio[:, :, 0]

    def _labels(self, data, params, mask) -> list[str]:
        return [f"eta={params.etas[e]:g} seed {data.seeds[s]}" for s in range(mask.shape[0])
                for e in range(mask.shape[1]) if mask[s, e]]

    def checks(self, params, data, prediction, trajectory):
        plateau, arrival, start = self._plateaus(params, prediction, trajectory)
        arrived = np.isfinite(plateau)
        labels = self._labels(data, params, arrived)
        etas = np.asarray(params.etas)
        thr = prediction["threshold"]
        steps = trajectory.final["sharp_steps"][0]
        S_t = trajectory.final["sharpness"]
        # the classic picture: sharpness against step, each step size with its 2/eta (same colour, dashed)
        extra = {rf"$\eta = {etas[e]:g}$": S_t[:, e] for e in range(1, len(etas))}
        theory = {rf"$2/\eta = {thr[e]:.3g}$": np.full(steps.size, thr[e]) for e in range(1, len(etas))}
        curve = Curve(x=steps, y=S_t[:, 0], xlabel="step $t$", ylabel=r"sharpness $\lambda_{\max}(\nabla^2 L)$",
                      logx=False, logy=False, label=rf"$\eta = {etas[0]:g}$", predicted=np.full(steps.size, thr[0]),
                      predicted_label=rf"$2/\eta = {thr[0]:.3g}$", extra=extra, predicted_extra=theory, band="none")
        out = [
            seed_check(f"plateau eta S / 2 <= 1 + {params.band:g}", plateau[arrived], 1 + params.band, "<=",
                       quantifier="every", labels=labels, curve=curve),
            seed_check(f"plateau eta S / 2 >= 1 - {params.band:g}", plateau[arrived], 1 - params.band, ">=",
                       quantifier="every", labels=labels),
        ]
        slopes = self._slopes(etas, plateau * thr[None, :])
        out.append(seed_check(f"plateau sharpness proportional to eta^{prediction['slope']:g}: |slope - ({prediction['slope']:g})|",
                              np.abs(slopes - prediction["slope"]), params.slope_tol, "<=", quantifier="every",
                              labels=[f"seed {s}" for s in data.seeds]))
        below = start < params.sharpening_start
        peak = np.max(S_t / thr[None, :, None], axis=2)
        sharpen = seed_check(f"progressive sharpening: runs starting below {params.sharpening_start:g} x 2/eta reach "
                             f"{params.arrive:g} x 2/eta", peak[below] if below.any() else [np.nan], params.arrive,
                             ">=", quantifier="every", labels=self._labels(data, params, below) if below.any() else None)
        if not below.any():
            sharpen.passed, sharpen.reason = None, "no run starts below the sharpening threshold; lower the step sizes"
        out.append(sharpen)
        if not arrived.all():
            for check in out[:3]:
                check.passed = None if check.passed else check.passed
                check.reason = (f"{int((~arrived).sum())} run(s) never reached {params.arrive:g} x 2/eta "
                                "(progressive sharpening lost the race: raise steps or eta)")
        return out

    @staticmethod
    def _slopes(etas: np.ndarray, plateau_sharpness: np.ndarray) -> np.ndarray:
        lx = np.log(etas) - np.log(etas).mean()
        out = np.full(plateau_sharpness.shape[0], np.nan)
        for s, row in enumerate(plateau_sharpness):
            if np.all(np.isfinite(row)):
                ly = np.log(row)
                out[s] = float(np.sum(lx * (ly - ly.mean())) / np.sum(lx * lx))
        return out

    def controls(self, params, data, prediction, trajectory):
        plateau, _, _ = self._plateaus(params, prediction, trajectory)
        arrived = np.isfinite(plateau)
        labels = self._labels(data, params, arrived)
        etas = np.asarray(params.etas)
        out = [
            seed_check(f"edge at 1/eta (loss without 1/2): eta S <= 1 + {params.band:g}", 2 * plateau[arrived],
                       1 + params.band, "<=", quantifier="every", labels=labels),
            seed_check("classical bound: the sharpness stays at or below 2/eta (plateau eta S / 2 <= 1)", plateau[arrived],
                       1.0, "<=", quantifier="every", labels=labels),
            seed_check("eta-independent plateau: |slope - 0|",
                       np.abs(self._slopes(etas, plateau * prediction["threshold"][None, :])), params.slope_tol, "<=",
                       quantifier="every", labels=[f"seed {s}" for s in data.seeds]),
        ]
        if "flow_sharpness" in trajectory.final:
            flow = trajectory.final["flow_sharpness"]  # (S,) at physical time flow_time
            e = int(np.argmin(etas))
            out.append(seed_check(f"GD follows gradient flow: eta S_flow(t={params.flow_time:g}) / 2 <= 1 + {params.band:g}"
                                  f" at eta={etas[e]:g}", flow / prediction["threshold"][e], 1 + params.band, "<=",
                                  quantifier="every",
                                  labels=[f"seed {s}" for s in data.seeds]))
        return out

    def observations(self, params, data, prediction, trajectory):
        plateau, arrival, start = self._plateaus(params, prediction, trajectory)
        obs = {}
        etas = np.asarray(params.etas)
        for e, eta in enumerate(etas):
            obs[f"median plateau eta S/2 at eta={eta:g}"] = float(np.nanmedian(plateau[:, e]))
            obs[f"median start eta S_0/2 at eta={eta:g}"] = float(np.median(start[:, e]))
        loss = trajectory.series["loss"]  # (S, T+1, E)
        steps = trajectory.final["sharp_steps"][0]
        S_t = trajectory.final["sharpness"]
        rising = loss[:, 2:, :] > loss[:, :-2, :]
        nearest = np.clip(np.searchsorted(steps, np.arange(loss.shape[1] - 2), side="right") - 1, 0, steps.size - 1)
        above = (S_t[:, :, nearest] / prediction["threshold"][None, :, None] > 1.0).transpose(0, 2, 1)
        if rising.any():
            obs["loss spikes: fraction of rising steps with eta S/2 > 1"] = float(above[rising].mean())
            obs["loss spikes: rising steps"] = float(rising.sum())
        residual = trajectory.final["residual"] / np.maximum(S_t, 1e-12)
        obs["max relative Lanczos residual of the tracked sharpness"] = float(residual.max())
        if "second" in trajectory.final:
            gap = 1 - trajectory.final["second"] / S_t
            obs["median relative gap lambda_2 vs lambda_1 on the plateau"] = float(np.median(gap[:, :, -20:]))
        return obs


# ----------------------------------------------------------------------------------------------
# 5. stability.minima-function-space
# ----------------------------------------------------------------------------------------------

MULAYOFF = Source(authors="Mulayoff, Michaeli, Soudry", year=2021,
                  title="The Implicit Bias of Minima Stability: A View from Function Space", venue="NeurIPS")


@dataclass(frozen=True)
class FunctionSpaceParams(Params):
    n: int = 6
    width: int = 50
    label_scale: float = 0.5
    etas: tuple[float, ...] = (0.1, 0.2)
    steps: int = 6000
    interpolated: float = 1e-8
    random_draws: int = 200

    @classmethod
    def full(cls):
        return cls(etas=(0.05, 0.1, 0.15, 0.2, 0.25), steps=20_000, random_draws=2000)

    def validate(self):
        if self.n < 2 or self.width < 1:
            raise InputError(f"n must be >= 2 and width >= 1, got n={self.n}, width={self.width}")
        if not self.etas or min(self.etas) <= 0 or max(self.etas) >= 2:
            raise InputError(f"etas must lie in (0, 2), got {self.etas}")
        if self.steps < 10 or self.interpolated <= 0 or self.label_scale <= 0 or self.random_draws < 1:
            raise InputError("steps >= 10, interpolated > 0, label_scale > 0 and random_draws >= 1 are required")


@dataclass
class Relu1dData:
    x: torch.Tensor  # (S, n) sorted inputs, near-uniform on [-1, 1]
    y: torch.Tensor  # (S, n)
    theta0: torch.Tensor  # (S, 3k + 1)
    seeds: list[int]


@register
class MinimaFunctionSpace(Claim):
    r"""Linearly stable minima of univariate shallow ReLU networks have a bounded weighted $\int|f''|$
    (Mulayoff, Michaeli, Soudry 2021, Theorem 1).

    **Statement** (confirmed in the paper's text). For $f(x) = \sum_i a_i\,\mathrm{relu}(w_ix + b_i) + c$
    and $L = \frac1{2n}\sum_j(f(x_j) - y_j)^2$, a linearly stable interpolating solution for step $\eta$
    (knots off the data points) satisfies $\int|f''(x)|\,g(x)\,dx \le 1/\eta - 1/2$ with
    $g = \min(g^+, g^-)$ on $[x_{\min}, x_{\max}]$ (module :mod:`theorycheck.theory.stability`).
    The proof goes through a lemma that holds for *any* parameters (derived here, AM–GM step checked by
    sympy): $\lambda_{\max}(J^\top J/n) \ge 1 + 2\sum_i|a_iw_i|\,g_{\mathrm{sign}\,w_i}(\bar x_i)$.

    **Runs.** $n$ near-uniform inputs on $[-1, 1]$ with Gaussian labels (few, well-separated points, so GD
    interpolates: 12 noisy points never did in development runs), width ``width``, every step size in
    ``etas`` × seed in one batched program; the Hessian (dense, by the curvature engine) and the
    Gauss–Newton matrix $G = J^\top J/n$ at the end.

    **Checks.** (1, key, ``every``) at every trained network, $\lambda_{\max}(G) / (1 + 2\sum_i|a_iw_i|
    g_{\mathrm{sign}\,w_i}(\bar x_i)) \ge 1 - 10^{-9}$; (2, ``every``) at every run that reached an
    interpolating (loss $\le$ ``interpolated``) stable ($\eta\lambda_{\max}(\nabla^2L) \le 2 + 10^{-6}$)
    minimum, $\sum_i|a_iw_i|\,g(\bar x_i) \le 1/\eta - 1/2$ (runs that did not interpolate are reported
    and excluded; none left makes it undecided). Certificates: the lemma at ``random_draws`` random
    parameter sets of random sizes (theory against theory) and the sympy AM–GM identity.

    **Controls.** "$\lambda_{\max}(G) \ge 1 + 4\sum\dots$" (the weight counted twice; check 1) and the
    unweighted $\int|f''| = \sum_i|a_iw_i| \le 1/\eta - 1/2$ (check 2; it fails only at larger $\eta$,
    hence $\eta \ge 0.1$ in the presets). The bound is loose on these minima (reported as tightness).
    """

    id = "stability.minima-function-space"
    title = "Stable minima of shallow univariate ReLU nets satisfy int |f''| g <= 1/eta - 1/2"
    statement = (r"\lambda_{\max}(\nabla^2L) \le \tfrac{2}{\eta},\ L = 0 \ \Rightarrow\ "
                 r"\int |f''(x)|\,g(x)\,dx \le \frac1\eta - \frac12,\quad g = \min(g^+, g^-)")
    statement_text = ("A linearly stable interpolating minimum of a shallow univariate ReLU network trained with step "
                      "eta satisfies int |f''| g <= 1/eta - 1/2 with the paper's data-dependent weight g; checked at "
                      "the minima GD reaches, with the lemma lambda_max(G) >= 1 + 2 sum |a_i w_i| g(knot_i) at "
                      "every trained network.")
    departures = ("The bound is checked only at the minima GD reaches (runs that do not interpolate are excluded and "
                  "reported), with stability read as eta lambda_max <= 2. The lemma lambda_max(G) >= 1 + 2 sum |a_i "
                  "w_i| g(knot_i), derived here (AM-GM step checked in sympy), is checked at every trained network.")
    source = MULAYOFF
    Params = FunctionSpaceParams
    default_seeds = 4

    def make_data(self, params, seeds):
        from theorycheck.numerics.relu1d import init_relu1d

        xs, ys = [], []
        for seed in seeds:
            g = seed_generator(int(seed) + 8191)
            jitter = (torch.rand(params.n, generator=g, dtype=torch.float64) - 0.5) * (0.3 / params.n)
            xs.append(torch.linspace(-1, 1, params.n, dtype=torch.float64) + jitter)
            ys.append(torch.randn(params.n, generator=g, dtype=torch.float64) * params.label_scale)
        return Relu1dData(torch.stack(xs), torch.stack(ys), init_relu1d(params.width, seeds), [int(s) for s in seeds])

    def predict(self, params, data):
        return {"bound": np.array([T.function_space_bound(e) for e in params.etas]),
                "am_gm": T.derive_function_space(), "lemma_random": self._lemma_at_random(params, data)}

    @staticmethod
    def _lemma_at_random(params, data) -> float:
        """min over random (n, k, parameters) of lambda_max(G) / lower bound (theory against theory)."""
        from theorycheck.numerics.relu1d import relu1d_jacobian

        g = seed_generator(data.seeds[0] + 4099)
        worst = np.inf
        for _ in range(params.random_draws):
            n = int(torch.randint(3, 31, (1,), generator=g))
            k = int(torch.randint(1, 61, (1,), generator=g))
            x = torch.randn(1, n, generator=g, dtype=torch.float64) * float(torch.exp(torch.randn(1, generator=g)))
            theta = torch.randn(1, 3 * k + 1, generator=g, dtype=torch.float64) * float(
                torch.exp(torch.randn(1, generator=g)))
            J = relu1d_jacobian(theta, x)
            lam = float(torch.linalg.eigvalsh(J[0].T @ J[0] / n)[-1])
            w, b, a = (v.numpy() for v in (theta[0, :k], theta[0, k:2 * k], theta[0, 2 * k:3 * k]))
            worst = min(worst, lam / float(T.gauss_newton_lower_bound(a, w, b, x[0].numpy())[0]))
        return worst

    def simulate(self, params, data, device, seeds):
        from theorycheck.numerics import curvature
        from theorycheck.numerics.relu1d import relu1d_jacobian, relu1d_loss, train_relu1d

        E, S = len(params.etas), len(seeds)
        x, y = data.x.to(device).repeat(E, 1), data.y.to(device).repeat(E, 1)
        eta = np.repeat(np.asarray(params.etas, float), S)
        run = train_relu1d(data.theta0.to(device).repeat(E, 1), x, y, eta, params.steps)
        hess = curvature.top_eigenvalue(relu1d_loss(x, y), run.theta, method="dense").values
        J = relu1d_jacobian(run.theta, x)
        gn = torch.linalg.eigvalsh(J.transpose(1, 2) @ J / params.n)[:, -1]
        shape = lambda a: np.asarray(a).reshape(E, S, *np.shape(a)[1:]).swapaxes(0, 1)  # noqa: E731
        theta = run.theta.cpu().numpy()
        return Trajectory(steps=run.steps, series={"loss": shape(run.loss).transpose(0, 2, 1)},
                          final={"theta": shape(theta), "loss": shape(run.final_loss),
                                 "sharpness": shape(hess.cpu().numpy()), "gauss_newton": shape(gn.cpu().numpy())},
                          device=str(device), seconds=run.seconds)

    def _measures(self, params, data, trajectory) -> dict[str, np.ndarray]:
        theta = trajectory.final["theta"]  # (S, E, P)
        k = params.width
        w, b, a = theta[..., :k], theta[..., k:2 * k], theta[..., 2 * k:3 * k]
        lower = np.zeros(theta.shape[:2])
        weighted = np.zeros(theta.shape[:2])
        for s in range(theta.shape[0]):
            xs = data.x[s].numpy()
            lower[s] = T.gauss_newton_lower_bound(a[s], w[s], b[s], xs)
            weighted[s] = T.weighted_curvature(a[s], w[s], b[s], xs)
        etas = np.asarray(params.etas)[None, :]
        premise = (trajectory.final["loss"] <= params.interpolated) & \
            (etas * trajectory.final["sharpness"] / 2 <= 1 + 1e-6)
        return {"lower": lower, "weighted": weighted, "tv": np.abs(a * w).sum(axis=-1), "premise": premise,
                "gn": trajectory.final["gauss_newton"]}

    def _labels(self, params, data, mask) -> list[str]:
        return [f"eta={params.etas[e]:g} seed {data.seeds[s]}" for s in range(mask.shape[0])
                for e in range(mask.shape[1]) if mask[s, e]]

    def checks(self, params, data, prediction, trajectory):
        m = self._measures(params, data, trajectory)
        every = np.ones_like(m["premise"])
        etas = np.asarray(params.etas)
        bound = prediction["bound"]
        lemma = seed_check("lemma at every trained net: lambda_max(G) / (1 + 2 sum |a w| g_side) >= 1 - 1e-9",
                           (m["gn"] / m["lower"]).ravel(), 1 - 1e-9, ">=", quantifier="every",
                           labels=self._labels(params, data, every))
        premise = m["premise"]
        curve = Curve(x=etas, y=np.where(premise, m["weighted"], np.nan), xlabel=r"step size $\eta$",
                      ylabel=r"$\sum_i |a_i w_i|\,g(\bar x_i)$ at the minimum", label="weighted (theorem)",
                      predicted=bound, predicted_label=r"$1/\eta - 1/2$",
                      extra={r"unweighted $\int|f''|$": np.where(premise, m["tv"], np.nan)})
        values = (m["weighted"] / bound[None, :])[premise] if premise.any() else [np.nan]
        theorem = seed_check("stable interpolating minima: sum |a w| g / (1/eta - 1/2) <= 1", values, 1.0, "<=",
                             quantifier="every", curve=curve,
                             labels=self._labels(params, data, premise) if premise.any() else None)
        if not premise.any():
            theorem.passed, theorem.reason = None, "no run reached an interpolating stable minimum: raise steps"
        return [
            lemma, theorem,
            seed_check("lemma at random parameters (theory against theory): min ratio", [prediction["lemma_random"]],
                       1 - 1e-9, ">=", quantifier="every", role="certificate"),
            seed_check("sympy: AM-GM step s^2 + a^2 Q^2 - 2|a| s Q is a square", [0.0 if prediction["am_gm"] else 1.0],
                       0.5, "<=", quantifier="every", role="certificate"),
        ]

    def controls(self, params, data, prediction, trajectory):
        m = self._measures(params, data, trajectory)
        every = np.ones_like(m["premise"])
        doubled = 2 * m["lower"] - 1  # 1 + 4 sum |a w| g_side
        premise = m["premise"]
        bound = prediction["bound"]
        return [
            seed_check("weight counted twice: lambda_max(G) / (1 + 4 sum |a w| g_side) >= 1 - 1e-9",
                       (m["gn"] / doubled).ravel(), 1 - 1e-9, ">=", quantifier="every",
                       labels=self._labels(params, data, every)),
            seed_check("unweighted int |f''| / (1/eta - 1/2) <= 1 at stable interpolating minima",
                       (m["tv"] / bound[None, :])[premise] if premise.any() else [np.nan], 1.0, "<=",
                       quantifier="every", labels=self._labels(params, data, premise) if premise.any() else None),
        ]

    def observations(self, params, data, prediction, trajectory):
        m = self._measures(params, data, trajectory)
        premise = m["premise"]
        obs = {"runs at an interpolating stable minimum": float(premise.sum()),
               "runs in all": float(premise.size),
               "smallest lemma slack lambda_max(G) / lower bound": float((m["gn"] / m["lower"]).min())}
        if premise.any():
            obs["largest tightness sum |a w| g / (1/eta - 1/2)"] = float((m["weighted"] / prediction["bound"])[premise].max())
            sharp = trajectory.final["sharpness"]
            obs["max |lambda_max(H) - lambda_max(G)| / lambda at those minima"] = float(
                (np.abs(sharp - m["gn"]) / sharp)[premise].max())
        return obs
