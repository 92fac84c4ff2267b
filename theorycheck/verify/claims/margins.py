r"""Margins of deeper and non-homogeneous models on separable data: the ensemble
$a^\top x + (u\circ u - v\circ v)^\top x$ discards its shallow part, and depth-2 diagonal networks converge
in direction to the $\ell_1$ max-margin solution with a monotone smoothed margin
(theory in :mod:`theorycheck.theory.margins`, training in :mod:`theorycheck.numerics.margins`).

Both claims use the exponential loss $L = \sum_i e^{-z_i^\top w}$ and loss-normalized GD (step
$\eta\nabla L/L$): plain GD reaches the asymptotic direction far too slowly to check it (measured in development:
a gap of 0.50 after $2\cdot10^5$ steps), while the normalized steps make the norm grow exponentially. A
constant step keeps the iterate in an $O(\eta)$ band around its limit (the support vectors take turns), so the
step is annealed geometrically over the second half of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theorycheck.errors import InputError
from theorycheck.numerics.margins import normalized_gd, plain_gd_margin, sparse_separable
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import margins as M
from theorycheck.verify.claim import Claim, Curve, Params, Source
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

NACSON_2019 = Source(authors="Nacson, Gunasekar, Lee, Srebro, Soudry", year=2019,
                     title="Lexicographic and Depth-Sensitive Margins in Homogeneous and Non-Homogeneous Deep Models",
                     venue="ICML", arxiv="1905.07325")
LYU_LI = Source(authors="Lyu, Li", year=2020, title="Gradient Descent Maximizes the Margin of Homogeneous Neural Networks",
                venue="ICLR", arxiv="1906.05890")


def _validate_common(p) -> None:
    if p.n < 2 or p.dim < len(p.teacher):
        raise InputError(f"need n >= 2 and dim >= len(teacher), got n={p.n}, dim={p.dim}")
    if p.alpha <= 0 or p.eta <= 0 or p.steps < 100 or not 0 < p.anneal <= 1:
        raise InputError("alpha and eta must be positive, steps >= 100 and anneal in (0, 1]")
    if not 0 < p.gap_tol < 1 or not 0 < p.margin_tol < 1:
        raise InputError(f"gap_tol and margin_tol must lie in (0, 1), got {p.gap_tol}, {p.margin_tol}")


@dataclass
class MarginPrediction:
    l1: list[M.L1MaxMargin]  # per seed
    l2_dir: np.ndarray  # (S, d), unit l1 norm
    l2_margin: np.ndarray  # (S,) l1-normalized margin of the l2 direction
    extra: dict


def _predict_l1(Z: np.ndarray) -> tuple[list[M.L1MaxMargin], np.ndarray, np.ndarray]:
    l1 = [M.l1_max_margin(z) for z in Z]
    l2 = np.array([M.l2_direction(z) for z in Z])
    return l1, l2, np.array([M.l1_margin_of(z, w) for z, w in zip(Z, l2)])


def _separable_data(params, seeds) -> dict:
    """Sparse-teacher separable data ``Z`` (S, n, d) and the seeds."""
    return {"Z": sparse_separable(params.n, params.dim, seeds, params.teacher), "seeds": [int(s) for s in seeds]}


def _l1_gap(b: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """$\\|b/\\|b\\|_1 - \\mathrm{dir}\\|_1$ along the last axis (``direction`` has unit l1 norm)."""
    return np.abs(b / np.abs(b).sum(axis=-1, keepdims=True) - direction).sum(axis=-1)


# ----------------------------------------------------------------------------------------------
# 6. margins.ensemble-discards-shallow
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnsembleParams(Params):
    n: int = 20
    dim: int = 10
    teacher: tuple[float, ...] = (1.0, -0.7, 0.5)
    alpha: float = 0.1
    eta: float = 0.03
    anneal: float = 0.01
    steps: int = 10_000
    share_tol: float = 1e-3
    gap_tol: float = 0.05
    margin_tol: float = 0.03
    predicted_exponent: float = -2.0
    exponent_tol: float = 0.5

    @classmethod
    def full(cls):
        return cls(eta=0.015, steps=20_000, anneal=0.002)

    def validate(self):
        _validate_common(self)
        if not 0 < self.share_tol < 1 or self.exponent_tol <= 0:
            raise InputError("share_tol must lie in (0, 1) and exponent_tol be positive")


@register
class EnsembleDiscardsShallow(Claim):
    r"""A non-homogeneous ensemble discards its shallow sub-model and its deep part reaches the deep model's
    max-margin (Nacson et al. 2019 on the margin path; tested along loss-normalized GD — derived).

    **Statement.** For $f(x) = a^\top x + (u\circ u - v\circ v)^\top x$ on separable data, the margin path
    (and the constrained path) of the paper discards the degree-1 part when the degree-2 part alone
    separates the data: with $b = u\circ u - v\circ v$, $t(R)/R^2 \to \gamma_1$ (the $\ell_1$ max-margin of
    $b$), $b/\|b\|_1 \to w_1/\|w_1\|_1$, and the degree-1 share of the margin vanishes. The margin path is a
    convex program after the change of variables (derived, :mod:`theorycheck.theory.margins`); its laws are
    certificates here: at $R = 10, 100, 1000$ the degree-1 share and the direction gap scale as $R^{-2}$
    (their products with $R^2$ agree within 25% between 100 and 1000) and $t/R^2$ is within $10^{-4}$ of
    $\gamma_1$ at $R = 1000$.

    **What is trained (derived consequence).** The paper's limit is checked on what training does:
    loss-normalized GD on $(a, u, v)$ from $a = 0$, $u = v = \alpha\mathbf 1$ (exponential loss). Along GD
    the norm $R_t = \|\theta_t\|$ grows exponentially; the paper's discarding is then a statement about
    $R_t\to\infty$. Derived expectation: $\|a_t\|$ grows only linearly in $t$, i.e. like $\log R_t$,
    so the shallow share decays like $R_t^{-2}$ up to a log factor.

    **Checks** (``every`` seed: the statement is for every separable dataset). (1) the shallow share
    $\max_i|z_i^\top a|/\min_iz_i^\top(a + b) \le$ ``share_tol`` at the end; (2) the normalized margin
    $\min_i z_i^\top(a + b)/\|\theta\|^2 \ge (1 - \text{margin\_tol})\gamma_S$, with $\gamma_S$ the $\ell_1$
    max-margin of the LP restricted to the deep part's live coordinates $S$ (the KKT points GD can reach in
    $\theta$-space are these restricted optima; $\gamma_S = \gamma_1$ when $S$ covers the global solution,
    which held on 4–6 of 9 seeds — the others stopped at a restricted optimum within 1.1% of $\gamma_1$; the
    direction gap to the global $\ell_1$ max-margin is reported as an observation); (3) the share decays with
    exponent ``predicted_exponent`` = −2 in $R_t$: log-log slope over the second half of the run within
    ``exponent_tol``. The step is annealed over the second half (``anneal``): with a constant step, normalized GD
    hovers in an $O(\eta)$ band around its limit (measured margin deficits up to 12%).

    **Controls.** "the deep part goes to the $\ell_2$ max-margin direction" (direction gap ≤ ``gap_tol``);
    "the normalized margin is that of the $\ell_2$ max-margin direction" (the measured margin may not exceed
    it by more than ``margin_tol``; near miss); "the shallow share decays like $1/R$" (the norm-share intuition;
    check 3 with exponent −1; near miss).
    """

    id = "margins.ensemble-discards-shallow"
    evidence = "published + derived"
    title = "A linear + diagonal-quadratic ensemble discards its linear part; the quadratic part reaches the l1 max-margin"
    statement = (r"f = a^\top x + (u\circ u - v\circ v)^\top x:\ \frac{\max_i|z_i^\top a|}{\min_i z_i^\top(a+b)} \to 0,\ "
                 r"\frac{b}{\|b\|_1} \to \frac{w_1}{\|w_1\|_1},\ \frac{\min_i z_i^\top(a+b)}{\|\theta\|^2} \to \gamma_1")
    statement_text = ("On separable data the ensemble a'x + (u*u - v*v)'x discards its degree-1 part (share ~ R^-2) and "
                      "its degree-2 part reaches the l1 max-margin (the paper's margin-path limit, certified by cvxpy; "
                      "checked along loss-normalized GD, a derived consequence, against the l1 max-margin on the live "
                      "coordinates).")
    departures = ("The paper's limit is about the margin path; it is checked along loss-normalized GD (exponential "
                  "loss, step annealed over the second half), a derived consequence, with a derived R^-2 decay of the "
                  "shallow share. The margin is compared with the l1 max-margin on the live coordinates: GD reached "
                  "the global one on only 4-6 of 9 seeds (reported).")
    source = NACSON_2019
    Params = EnsembleParams
    default_seeds = 9

    def make_data(self, params, seeds):
        return _separable_data(params, seeds)

    def predict(self, params, data):
        Z = data["Z"].numpy()
        l1, l2, l2m = _predict_l1(Z)
        z0 = Z[0]
        path = {R: M.margin_path(z0, R) for R in (10.0, 100.0, 1000.0)}
        share = {R: float(M.shallow_share(z0, p.a, p.b)) * R**2 for R, p in path.items()}
        gap = {R: float(_l1_gap(p.b, l1[0].direction)) * R**2 for R, p in path.items()}
        extra = {"path_margin_error": abs(path[1000.0].normalized_margin / l1[0].gamma - 1.0),
                 "share_law": share[1000.0] / share[100.0], "gap_law": gap[1000.0] / gap[100.0],
                 "path_share_R2": share[1000.0]}
        return MarginPrediction(l1, l2, l2m, extra)

    def simulate(self, params, data, device, seeds):
        run = normalized_gd(data["Z"].to(device), params.alpha, params.eta, params.steps, linear=True,
                            anneal=params.anneal)
        return Trajectory(steps=run.steps, series={"a": run.a, "b": run.b, "sq_norm": run.sq_norm},
                          final={"a": run.a[:, -1], "b": run.b[:, -1], "sq_norm": run.sq_norm[:, -1]},
                          device=str(device), seconds=run.seconds)

    @staticmethod
    def _restricted(data, b: np.ndarray) -> np.ndarray:
        """gamma_S of the restricted l1 LP on the deep part's live coordinates, per seed."""
        Z = data["Z"].numpy()
        return np.array([M.restricted_l1_margin(z, M.active_support(w)) for z, w in zip(Z, b)])

    def _measures(self, params, data, traj) -> dict[str, np.ndarray]:
        Z = data["Z"].numpy()
        a, b, sq = traj.series["a"], traj.series["b"], traj.series["sq_norm"]
        share = np.stack([M.shallow_share(Z[s], a[s], b[s]) for s in range(Z.shape[0])])  # (S, T)
        margin = np.stack([(np.asarray(a[s] + b[s]) @ Z[s].T).min(axis=-1) for s in range(Z.shape[0])]) / sq
        return {"share": share, "margin": margin, "R": np.sqrt(sq)}

    @staticmethod
    def _slopes(R: np.ndarray, share: np.ndarray) -> np.ndarray:
        out = np.full(R.shape[0], np.nan)
        for s in range(R.shape[0]):
            late = (np.arange(R.shape[1]) >= R.shape[1] // 2) & (share[s] > 0)
            if late.sum() >= 3 and R[s, late].max() / R[s, late].min() >= 10:
                lx = np.log(R[s, late])
                ly = np.log(share[s, late])
                out[s] = float(np.polyfit(lx, ly, 1)[0])
        return out

    def checks(self, params, data, prediction, trajectory):
        m = self._measures(params, data, trajectory)
        labels = [f"seed {s}" for s in data["seeds"]]
        gamma = np.array([p.gamma for p in prediction.l1])
        direction = np.array([p.direction for p in prediction.l1])
        R = m["R"]
        curve = Curve(x=trajectory.steps + 1, y=m["share"], ylabel="degree-1 share of the margin",
                      label="shallow share", predicted=np.full(R.shape[1], params.share_tol),
                      predicted_label="tolerance", extra={r"$R_t^{-2}$ (scaled)": (R[:, -1:] / R) ** 2 * m["share"][:, -1:]})
        slopes = self._slopes(R, m["share"])
        ex = prediction.extra
        gamma_s = self._restricted(data, trajectory.final["b"])
        return [
            seed_check("shallow share at the end", m["share"][:, -1], params.share_tol, "<=", quantifier="every",
                       labels=labels, curve=curve),
            seed_check(f"normalized margin / gamma_S (l1 max-margin on the live coordinates) >= 1 - {params.margin_tol:g}",
                       m["margin"][:, -1] / gamma_s, 1 - params.margin_tol, ">=", quantifier="every", labels=labels),
            seed_check(f"share ~ R^({params.predicted_exponent:g}): |slope - ({params.predicted_exponent:g})|",
                       np.abs(slopes - params.predicted_exponent), params.exponent_tol, "<=", quantifier="every",
                       labels=labels),
            seed_check("margin path (cvxpy): |t/R^2 / gamma_l1 - 1| at R = 1000", [ex["path_margin_error"]], 1e-4, "<=",
                       quantifier="every", role="certificate"),
            seed_check("margin path: shallow share x R^2 constant (ratio 1000 vs 100)", [abs(np.log(ex["share_law"]))],
                       np.log(1.25), "<=", quantifier="every", role="certificate"),
            seed_check("margin path: direction gap x R^2 constant (ratio 1000 vs 100)", [abs(np.log(ex["gap_law"]))],
                       np.log(1.25), "<=", quantifier="every", role="certificate"),
        ]

    def controls(self, params, data, prediction, trajectory):
        m = self._measures(params, data, trajectory)
        labels = [f"seed {s}" for s in data["seeds"]]
        slopes = self._slopes(m["R"], m["share"])
        return [
            seed_check("deep part goes to the l2 max-margin direction", _l1_gap(trajectory.final["b"], prediction.l2_dir),
                       params.gap_tol, "<=", quantifier="every", labels=labels),
            seed_check(f"normalized margin is the l2 direction's: margin / gamma(w_l2) <= 1 + {params.margin_tol:g}",
                       m["margin"][:, -1] / prediction.l2_margin, 1 + params.margin_tol, "<=", quantifier="every",
                       labels=labels),
            seed_check("share ~ 1/R (norm-share intuition): |slope - (-1)|", np.abs(slopes + 1.0), params.exponent_tol,
                       "<=", quantifier="every", labels=labels),
        ]

    def observations(self, params, data, prediction, trajectory):
        m = self._measures(params, data, trajectory)
        gamma = np.array([p.gamma for p in prediction.l1])
        direction = np.array([p.direction for p in prediction.l1])
        gaps = _l1_gap(trajectory.final["b"], direction)
        return {"seeds whose deep part is within gap_tol of the global l1 max-margin direction": float((gaps <= params.gap_tol).sum()),
                "median l1 gap to the global l1 max-margin direction": float(np.median(gaps)),
                "seeds at the global l1 optimum (gamma_S = gamma_1)": float(
                    (self._restricted(data, trajectory.final["b"]) >= gamma * (1 - 1e-9)).sum()),
                "median final |a|": float(np.median(np.linalg.norm(trajectory.final["a"], axis=-1))),
                "median final R = |theta|": float(np.median(m["R"][:, -1])),
                "median share slope vs R": float(np.nanmedian(self._slopes(m["R"], m["share"]))),
                "margin path: shallow share x R^2 at R = 1000 (seed 0)": prediction.extra["path_share_R2"]}


# ----------------------------------------------------------------------------------------------
# 7. margins.diagonal-kkt
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagonalKKTParams(Params):
    n: int = 20
    dim: int = 10
    teacher: tuple[float, ...] = (1.0, -0.7, 0.5)
    alpha: float = 0.1
    eta: float = 0.03
    anneal: float = 0.01
    steps: int = 10_000
    gap_tol: float = 0.05
    margin_tol: float = 0.03
    kkt_tol: float = 0.05
    plain_eta: float = 0.01
    plain_steps: int = 3000
    monotone_tol: float = 1e-12

    @classmethod
    def full(cls):
        return cls(eta=0.015, steps=20_000, anneal=0.002, plain_steps=20_000)

    def validate(self):
        _validate_common(self)
        if self.plain_eta <= 0 or self.plain_steps < 10 or not 0 < self.kkt_tol < 1:
            raise InputError("plain_eta must be positive, plain_steps >= 10 and kkt_tol in (0, 1)")


@register
class DiagonalKKT(Claim):
    r"""Depth-2 diagonal networks on separable data: direction → $\ell_1$ max-margin, smoothed margin
    non-decreasing (Lyu & Li 2020; Gunasekar et al. 2018).

    **Statement.** For an $L$-homogeneous model with exponential-type loss, once the data are separated
    ($L < 1$ for the exponential loss summed over examples) gradient flow — and GD with small steps —
    increases the smoothed margin $\tilde\gamma = \log(1/L)/\|\theta\|^L$, and $\theta/\|\theta\|$ converges
    to a KKT direction of $\min\|\theta\|^2$ s.t. $y_if(x_i;\theta) \ge 1$. For $w = u\circ u - v\circ v$
    ($L = 2$) those are the KKT points of $\min\|w\|_1$ s.t. $Zw \ge 1$, an LP with a unique solution on
    generic data: the $\ell_1$ max-margin direction (derived in :mod:`theorycheck.theory.margins`).

    **Runs.** Loss-normalized GD from $u = v = \alpha\mathbf 1$ for the direction (module doc; step annealed
    over the second half), and plain GD with step ``plain_eta`` with $\tilde\gamma$ recorded at every step for
    the monotonicity.

    **Checks** (``every`` seed). (1) the final $\theta = (u, v)$ is an approximate KKT point of
    $\min\|\theta\|^2$ s.t. margins $\ge 1$: relative KKT residual (non-negative least squares over the
    near-active points) $\le$ ``kkt_tol``; (2) its $\ell_1$-normalized margin is at least
    $(1 - \text{margin\_tol})\gamma_S$, $\gamma_S$ the $\ell_1$ max-margin restricted to the live coordinates
    (a coordinate with $u_i = v_i \to 0$ imposes no dual condition, so KKT points of the $\theta$-problem are the
    restricted LP optima, and the global $\ell_1$ max-margin is reached only when the live set covers its
    support: measured on 4–6 of 9 seeds, with the others within 1.1% of $\gamma_1$ — reported, not checked);
    (3) $\tilde\gamma$ never decreases after the first step with $L < 1$: the largest relative decrease over
    all later steps is at most $10^{-12}$.

    **Controls.** "the margin reached is the $\ell_2$ max-margin direction's" (check 2 from the other side: the
    measured $\ell_1$-normalized margin may not exceed it by more than ``margin_tol``; near miss); the $\ell_2$
    max-margin direction as the limit (its own KKT residual, check 1); the $\ell_\infty$ max-margin direction
    (direction gap ≤ ``gap_tol``).
    """

    id = "margins.diagonal-kkt"
    title = "Depth-2 diagonal nets on separable data: direction -> l1 max-margin, smoothed margin monotone"
    statement = (r"w = u\circ u - v\circ v:\ \frac{\theta(t)}{\|\theta(t)\|} \to \text{KKT of } \min\|\theta\|^2 "
                 r"\text{ s.t. } Zw \ge 1\ (\ell_1 \text{ max-margin on the live coordinates});\quad "
                 r"\tilde\gamma = \frac{\log(1/L)}{\|\theta\|^2}\ \uparrow")
    statement_text = ("GD on a depth-2 diagonal network u*u - v*v with exponential loss on separable data converges in "
                      "direction to a KKT point of min ||theta||^2 s.t. margins >= 1 (an l1 max-margin optimum on its live "
                      "coordinates, the global l1 max-margin when they cover its support), and the smoothed normalized "
                      "margin log(1/L)/||theta||^2 never decreases once L < 1.")
    departures = ("The direction is checked on loss-normalized GD (exponential loss, step annealed over the second "
                  "half) instead of gradient flow or small-step GD, against the l1 max-margin on the live coordinates "
                  "(the global one was reached on only 4-6 of 9 seeds; reported). The monotone smoothed margin is "
                  "checked on plain fixed-step GD.")
    source = LYU_LI
    Params = DiagonalKKTParams
    default_seeds = 9

    def make_data(self, params, seeds):
        return _separable_data(params, seeds)

    def predict(self, params, data):
        Z = data["Z"].numpy()
        l1, l2, l2m = _predict_l1(Z)
        from theorycheck.theory.separable import max_margin

        linf = np.array([max_margin(z, norm=np.inf).w for z in Z])
        return MarginPrediction(l1, l2, l2m, {"linf": linf})

    def simulate(self, params, data, device, seeds):
        Z = data["Z"].to(device)
        run = normalized_gd(Z, params.alpha, params.eta, params.steps, linear=False, anneal=params.anneal)
        log_loss, smoothed, secs = plain_gd_margin(Z, params.alpha, params.plain_eta, params.plain_steps)
        return Trajectory(steps=run.steps, series={"b": run.b},
                          final={"w": run.b[:, -1], "u": run.u, "v": run.v, "log_loss": log_loss, "smoothed": smoothed},
                          device=str(device), seconds=run.seconds + secs)

    @staticmethod
    def _l2_gap(w: np.ndarray, ref: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):  # w = 0 at the init: nan
            unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
            return np.linalg.norm(unit(w) - unit(ref), axis=-1)

    @staticmethod
    def _largest_decrease(log_loss: np.ndarray, smoothed: np.ndarray) -> np.ndarray:
        out = np.full(log_loss.shape[0], np.nan)
        for s in range(log_loss.shape[0]):
            sep = np.flatnonzero(log_loss[s] < 0)
            if sep.size and sep[0] < log_loss.shape[1] - 2:
                g = smoothed[s, sep[0]:]
                out[s] = float(np.max((g[:-1] - g[1:]) / np.abs(g[:-1])))
        return out

    def checks(self, params, data, prediction, trajectory):
        Z = data["Z"].numpy()
        labels = [f"seed {s}" for s in data["seeds"]]
        w = trajectory.final["w"]
        l1w = np.array([p.w for p in prediction.l1])
        series = trajectory.series["b"]
        gaps = np.stack([self._l2_gap(series[:, t], l1w) for t in range(series.shape[1])], axis=1)
        curve = Curve(x=trajectory.steps + 1, y=gaps, ylabel=r"$\|w/\|w\| - w_{\ell_1}/\|w_{\ell_1}\|\|$",
                      label=r"gap to $\ell_1$ max-margin", predicted=np.full(gaps.shape[1], params.gap_tol),
                      predicted_label="gap_tol",
                      extra={r"gap to $\ell_2$ max-margin": np.stack([self._l2_gap(series[:, t], prediction.l2_dir)
                                                                       for t in range(series.shape[1])], axis=1)})
        kkt = np.array([M.kkt_residual(z, u, v) for z, u, v in zip(Z, trajectory.final["u"], trajectory.final["v"])])
        gamma_s = np.array([M.restricted_l1_margin(z, M.active_support(v)) for z, v in zip(Z, w)])
        margin = np.array([M.l1_margin_of(z, v) for z, v in zip(Z, w)])
        smoothed = trajectory.final["smoothed"]
        steps = np.arange(smoothed.shape[1]) + 1
        mono_curve = Curve(x=steps, y=smoothed, ylabel=r"smoothed margin $\log(1/L)/\|\theta\|^2$", logy=False,
                           label="plain GD", extra={r"$\log L$": trajectory.final["log_loss"]})
        return [
            seed_check("limit direction is a KKT point of min |theta|^2 s.t. margins >= 1: relative KKT residual", kkt,
                       params.kkt_tol, "<=", quantifier="every", labels=labels, curve=curve),
            seed_check(f"l1-normalized margin / gamma_S (l1 max-margin on the live coordinates) >= 1 - {params.margin_tol:g}",
                       margin / gamma_s, 1 - params.margin_tol, ">=", quantifier="every", labels=labels),
            seed_check("smoothed margin never decreases after L < 1: largest relative decrease",
                       self._largest_decrease(trajectory.final["log_loss"], smoothed), params.monotone_tol, "<=",
                       quantifier="every", labels=labels, curve=mono_curve),
        ]

    def controls(self, params, data, prediction, trajectory):
        Z = data["Z"].numpy()
        labels = [f"seed {s}" for s in data["seeds"]]
        w = trajectory.final["w"]
        margin = np.array([M.l1_margin_of(z, v) for z, v in zip(Z, w)])
        l2 = prediction.l2_dir
        l2_kkt = np.array([M.kkt_residual(z, np.sqrt(np.maximum(d, 0)), np.sqrt(np.maximum(-d, 0))) for z, d in zip(Z, l2)])
        return [
            seed_check(f"margin is the l2 direction's: margin / gamma(w_l2) <= 1 + {params.margin_tol:g}",
                       margin / prediction.l2_margin, 1 + params.margin_tol, "<=", quantifier="every", labels=labels),
            seed_check("the l2 max-margin direction is the limit: its KKT residual", l2_kkt, params.kkt_tol, "<=",
                       quantifier="every", labels=labels),
            seed_check("direction is the l_inf max-margin's", self._l2_gap(w, prediction.extra["linf"]), params.gap_tol,
                       "<=", quantifier="every", labels=labels),
        ]

    def observations(self, params, data, prediction, trajectory):
        Z = data["Z"].numpy()
        w = trajectory.final["w"]
        l1w = np.array([p.w for p in prediction.l1])
        gaps = self._l2_gap(w, l1w)
        gamma = np.array([p.gamma for p in prediction.l1])
        gamma_s = np.array([M.restricted_l1_margin(z, M.active_support(v)) for z, v in zip(Z, w)])
        return {"seeds within gap_tol of the global l1 max-margin direction": float((gaps <= params.gap_tol).sum()),
                "median gap to the global l1 max-margin direction": float(np.median(gaps)),
                "seeds at the global l1 optimum (gamma_S = gamma_1)": float((gamma_s >= gamma * (1 - 1e-9)).sum())}
