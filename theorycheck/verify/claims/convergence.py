r"""Global convergence of Frobenius-regularized SGD on depth-2 nets (Villani functions).

Gopalani & Mukherjee (arXiv 2210.11452, $\ell_2$ loss) and Gopalani, Jha & Mukherjee (arXiv
2309.09258, logistic loss): for a depth-2 net $f_W(x) = \sum_j a_j\sigma(w_j^\top x)$ with a smooth
bounded activation (sigmoid, tanh), any width and any data, the regularized risk
$F(W) = \hat L(W) + \frac\lambda2\|W\|_F^2$ is a Villani function once $\lambda$ exceeds a
width-independent threshold; then continuous-time SGD (the SDE $d\theta = -\nabla F\,dt + \sqrt s\,dB$)
converges exponentially fast to its Gibbs measure $\propto e^{-2F/s}$, and SGD converges to the
global minimum.

**Threshold.** The papers' exact $\lambda_c$ could not be confirmed with the search tool (the stored
pages of both papers give abstracts/introductions only; they confirm "a width-independent
regularization threshold $\lambda_c$" and that the regularized loss is a Villani function above
it). As THEORY.md prescribes we use a **conservative sufficient condition, not the papers'
threshold**: $\lambda = $ ``lam_factor`` $\times\,\kappa_+$ with $\kappa_+$ the strong-convexity
bound of :mod:`theorycheck.theory.villani` ($\ell_2$:
$B_x^2(\|a\|_2^2B_{\sigma'}^2 + (B_y+\|a\|_1B_\sigma)\|a\|_\infty B_{\sigma''})$, the logistic analogue
derived the same way). Above it $F$ is strongly convex, so it is a Villani function with a unique
minimizer $W^*$, which the theory layer computes by Newton with a certificate
$F(W)-F^* \le \|\nabla F\|^2/(2(\lambda-\kappa_-))$.

**Checks** (each per seed = per data set, for the $\ell_2$ loss with tanh and the logistic loss
with sigmoid):

(a) *same loss from every init*: SGD with minibatches, $\eta_t = \eta_0/(1+t/\tau)$,
$\eta_0 = c/(\lambda+\kappa_+)$ (a step below $2/L$ for the certified smoothness $L$), from
``sgd_inits`` Gaussian inits; the relative spread $(\max-\min)/\text{mean}$ of the final $F$ is
$\le 10^{-3}$ (the issue's tolerance; the SGD noise floor at the final step is $O(\eta_T)$, which the
schedule makes $\approx 2\cdot10^{-4}$), and the common value is $F^*$ within $10^{-3}$ (relative).

(b) *exponential convergence of the SDE*: Euler–Maruyama with $\Delta t = 0.05/(\lambda+\kappa_+)$
over $T = K/(\lambda-\kappa_-)$. $E F_t$ is the mean over ``sde_paths`` paths, $F_\infty$ the mean
over paths and over $t \ge T/2$. The fit window runs from the first snapshot to the last one
before $E F_t - F_\infty$ falls below 5 standard errors (across paths). Among
$\{e^{-ct}, t^{-p}, 1/t\}$ (:func:`theorycheck.verify.rates.select_law`), the exponential must beat
every polynomial law by ``bic_margin`` BIC units, and its rate must lie in the window the curvature
bounds allow, $c \in [2(\lambda-\kappa_-), 2(\lambda+\kappa_+)]$ (for gradient flow
$-\tfrac{d}{dt}(F-F^*) = \|\nabla F\|^2 \in [2\mu, 2L](F-F^*)$; for a quadratic $F$ the SDE mean
decays with modes $2h_k$ in the same window). Reported: $c/(2\lambda_{\min}(\nabla^2F(W^*)))$, the
small-$s$ asymptotic rate. And the limit is the Gibbs measure: $E_\infty F - F^* = sD/4 + O(s^2)$
(Laplace, $D = pd$ parameters) within 10% (Euler–Maruyama's stationary bias is
$\le L\Delta t/2 = 2.5\%$; Monte Carlo error a few %).

(c) *the Villani property along random rays* $W = tV$, $\|V\|_F = 1$, for $t$ from $t^*/10$ to
``ray_span`` $\cdot t^*$, $t^* = \max(G/\lambda, \sqrt{s(\Lambda+\lambda D)}/\lambda)$ the length
beyond which $\lambda^2t^2/s$ dominates the envelope's other terms:
$Q(t) = \|\nabla F\|^2/s - \Delta F$ with the exact Laplacian: the dense Hessian trace via
torch.func for the small nets of the quick preset (``laplacian="exact"``), the closed form of
:func:`theorycheck.numerics.sde.laplacian_closed` for the full preset ($D = 256$: dense Hessians
of 1600 points would need GBs); ``tests/test_villani.py`` checks closed form = Hessian trace to
1e-11 and Hutchinson (``laplacian="hutchinson"``) within 5 standard errors of it. Proven envelope:
$|Q(t) - \lambda^2t^2/s| \le \mathrm{dev}(t)$ (theory module); the check is
$\max_t |Q-\lambda^2t^2/s|/\mathrm{dev}(t) \le 1$, and the log-log slope of $Q$ over the last
decade of $t$ equals 2 within $3\max|\log(1\pm r)|/\ln 10$, $r = \mathrm{dev}/(\lambda^2t^2/s)$
(the least-squares slope error a bounded perturbation can cause on that window).

**Controls** (must be rejected): the polynomial law $1/t$ for the SDE (it must not come within
``bic_margin`` of the best law), and linear growth $Q \propto t$ (slope 1) along rays.

**Observation (not a check)**: below the threshold, $\lambda = 0$, the same SGD runs end at
different losses: the relative spread across inits is reported in ``observations`` (with the
fitted SDE rates and the curvature window, medians over seeds) and drawn as an extra line in the
figures of the first two checks; the final losses are in ``trajectory.final["sgd0_<loss>/F"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import sde
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import villani as tv
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.rates import log_slope, select_law
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check

#: the two settings of the two papers: (loss, activation parameter name)
SETTINGS = (("l2", "activation_l2"), ("logistic", "activation_logistic"))


def _relative_spread(F: np.ndarray) -> np.ndarray:
    """(max - min) / |mean| over the last axis (the inits)."""
    return (F.max(-1) - F.min(-1)) / np.abs(F.mean(-1))


@dataclass(frozen=True)
class VillaniParams(Params):
    n: int = 16
    d: int = 4
    p: int = 8
    activation_l2: str = "tanh"
    activation_logistic: str = "sigmoid"
    lam_factor: float = 1.5          # lambda = lam_factor * sufficient threshold (>= 1: at or above it)
    init_scale: float = 1.0
    sgd_inits: int = 8
    sgd_steps: int = 600
    sgd_batch: int = 8
    sgd_decay: float = 10.0          # tau of eta_t = eta_0 / (1 + t / tau)
    lr_factor: float = 1.0           # eta_0 = lr_factor / (lambda + kappa_plus)
    spread_tol: float = 1e-3
    sde_paths: int = 32
    s: float = 1e-3
    sde_horizon: float = 8.0         # T = sde_horizon / (lambda - kappa_minus)
    sde_dt: float = 0.05             # dt = sde_dt / (lambda + kappa_plus)
    sde_snapshots: int = 200
    gibbs_tol: float = 0.1
    bic_margin: float = 6.0
    rays: int = 4
    ray_s: float = 0.1
    ray_span: float = 1000.0         # rays run over t in [t*/10, ray_span * t*], t* from the theory bounds
    ray_points: int = 13
    laplacian: str = "exact"

    @classmethod
    def full(cls) -> "VillaniParams":
        return cls(n=64, d=8, p=32, sgd_inits=32, sgd_steps=20000, sgd_batch=8, sgd_decay=200.0,
                   sde_paths=256, sde_snapshots=400, rays=16, ray_points=25, laplacian="closed")

    def validate(self) -> None:
        for key in ("n", "d", "p", "sgd_inits", "sgd_steps", "sgd_batch", "sde_paths", "rays"):
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.sgd_inits < 2:
            raise InputError(f"sgd_inits must be at least 2 (a spread needs two runs), got {self.sgd_inits}")
        if self.sgd_batch > self.n:
            raise InputError(f"sgd_batch must not exceed n={self.n}, got {self.sgd_batch}")
        if self.lam_factor <= 1.0:
            raise InputError(f"lam_factor must exceed 1 (lambda above the sufficient threshold), got {self.lam_factor}")
        for key in ("activation_l2", "activation_logistic"):
            if getattr(self, key) not in sde.ACTIVATIONS:
                raise InputError(f"{key} must be one of {sde.ACTIVATIONS}, got {getattr(self, key)!r}")
        for key in ("s", "ray_s", "sde_dt", "sde_horizon", "sgd_decay", "lr_factor", "init_scale", "spread_tol"):
            if getattr(self, key) <= 0:
                raise InputError(f"{key} must be positive, got {getattr(self, key)}")
        if self.lr_factor >= 2:
            raise InputError(f"lr_factor must be below 2 (eta_0 < 2/L), got {self.lr_factor}")
        if self.ray_span < 100 or self.ray_points < 4:
            raise InputError("need ray_span >= 100 and ray_points >= 4 (a decade of t well above t* to fit the slope)")
        if self.laplacian not in ("exact", "closed", "hutchinson"):
            raise InputError(f"laplacian must be exact, closed or hutchinson, got {self.laplacian!r}")


@register
class VillaniRegularizedSGD(Claim):
    """Regularized SGD on depth-2 nets converges globally; the SDE converges exponentially."""

    id = "convergence.villani-regularized"
    title = "Frobenius-regularized depth-2 nets: SGD finds the global minimum, continuous-time SGD converges exponentially"
    source = Source(authors="Gopalani, Mukherjee; Gopalani, Jha, Mukherjee", year=2022,
                    title="Global Convergence of SGD On Two Layer Neural Nets (l2); "
                          "Global Convergence of SGD For Logistic Loss on Two Layer Neural Nets",
                    venue="arXiv (2022; 2023)", arxiv="2210.11452, 2309.09258")
    statement = (r"F(W)=\frac1n\sum_i\ell(f_W(x_i),y_i)+\frac\lambda2\|W\|_F^2,\ "
                 r"\lambda>\lambda_c\ (\text{here: the sufficient condition } " + tv.sufficient_threshold_latex("l2")
                 + r")\ \Rightarrow\ \|\nabla F\|^2/s-\Delta F\to\infty,\ "
                 r"E F(\theta_t)-E_\infty F\le Ce^{-ct},\ \text{SGD}\to\arg\min F")
    statement_text = ("Above the regularization threshold (here: a conservative sufficient condition, strong convexity, "
                      "NOT the papers' lambda_c), the regularized loss of a depth-2 sigmoid/tanh net is a Villani "
                      "function: SGD from any init reaches the same (global) minimum, and the SGD SDE converges "
                      "exponentially fast to its Gibbs measure; for the l2 and the logistic loss.")
    Params = VillaniParams
    default_seeds = 4

    # ------------------------------------------------------------------ data and theory
    def make_data(self, params: VillaniParams, seeds):
        data = {}
        for loss, act_key in SETTINGS:
            X, y, a = sde.teacher_data(seeds, params.n, params.d, params.p, loss)
            act = getattr(params, act_key)
            # lambda is part of the experiment: one value for the batch, lam_factor times the largest
            # per-seed sufficient threshold; mu_lb / L_ub bound the Hessian everywhere (theory.villani)
            bounds = [tv.net_bounds(X[i].numpy(), y[i].numpy(), a[i].numpy(), act, loss) for i in range(X.shape[0])]
            threshold = max(b.threshold for b in bounds)
            lam = params.lam_factor * threshold
            data[loss] = {"X": X, "y": y, "a": a, "activation": act, "bounds": bounds, "threshold": threshold,
                          "lam": lam, "mu_lb": lam - max(b.kappa_minus for b in bounds),
                          "L_ub": lam + max(b.kappa_plus for b in bounds)}
        return data

    def predict(self, params: VillaniParams, data):
        pred = {}
        for loss, _ in SETTINGS:
            d = data[loss]
            X, y, a, act, lam = (d[k] for k in ("X", "y", "a", "activation", "lam"))
            mins = [tv.global_minimum(X[i].numpy(), y[i].numpy(), a[i].numpy(), lam, act, loss) for i in range(X.shape[0])]
            pred[loss] = {
                **{k: d[k] for k in ("bounds", "threshold", "lam", "mu_lb", "L_ub")},
                "F_star": np.array([m.value for m in mins]), "certificate": np.array([m.gap_certificate for m in mins]),
                "h_min": np.array([m.hess_eigs.min() for m in mins]), "h_max": np.array([m.hess_eigs.max() for m in mins]),
                "threshold_latex": tv.sufficient_threshold_latex(loss),
            }
        return pred

    # ------------------------------------------------------------------ training
    def simulate(self, params: VillaniParams, data, device, seeds):
        final: dict[str, np.ndarray] = {}
        series: dict[str, np.ndarray] = {}
        steps = None
        seconds = 0.0
        for k, (loss, _) in enumerate(SETTINGS):
            d = data[loss]
            X, y, a, act = d["X"].to(device), d["y"].to(device), d["a"].to(device), d["activation"]
            lam, L, mu = d["lam"], d["L_ub"], d["mu_lb"]
            P, D = params.p, params.d
            W0 = sde.seeded_normal(seeds, (params.sgd_inits, P, D), params.init_scale, salt=10 + k, device=device)
            # the regularized runs and, side by side in the same program, the observation below the
            # threshold (lambda = 0) from the same inits with the same step schedule
            R = params.sgd_inits
            lam_t = torch.cat([torch.full((len(seeds), R), lam), torch.zeros(len(seeds), R)], 1).to(W0)
            gen = sde.batch_generator(seeds, salt=20 + k, device=device)
            eta0 = params.lr_factor / L
            tr = sde.sgd(torch.cat([W0, W0], 1), X, y, a, lam_t, act, loss, params.sgd_steps, params.sgd_batch, eta0,
                         params.sgd_decay, gen)
            series[f"sgd_{loss}/F"], final[f"sgd_{loss}/F"] = tr.series["F"][..., :R], tr.final["F"][:, :R]
            final[f"sgd0_{loss}/F"] = tr.final["F"][:, R:]
            series[f"sgd0_{loss}/F"] = tr.series["F"][..., R:]
            steps, seconds = tr.steps, seconds + tr.seconds
            # continuous-time SGD
            dt = params.sde_dt / L
            n_steps = int(np.ceil(params.sde_horizon / mu / dt))
            every = max(1, n_steps // params.sde_snapshots)
            Ws = sde.seeded_normal(seeds, (params.sde_paths, P, D), params.init_scale, salt=40 + k, device=device)
            em = sde.euler_maruyama(Ws, X, y, a, lam, act, loss, params.s, dt, n_steps, every,
                                    sde.batch_generator(seeds, salt=50 + k, device=device))
            final[f"sde_{loss}/t"], final[f"sde_{loss}/F"] = em.steps, em.series["F"]
            seconds += em.seconds
            # Villani quantity along rays
            V = sde.seeded_normal(seeds, (params.rays, P, D), 1.0, salt=60 + k, device=device)
            V = V / V.norm(dim=(-1, -2), keepdim=True)
            # t*: where lambda^2 t^2 / s overtakes the envelope's other terms (2 G / lambda and
            # sqrt(s (Lambda + lambda D)) / lambda), the largest over the seeds
            t_star = max(max(b.grad_bound / lam, np.sqrt(params.ray_s * (b.lap_bound + lam * P * D)) / lam)
                         for b in d["bounds"])
            ts = torch.logspace(np.log10(t_star / 10), np.log10(params.ray_span * t_star), params.ray_points,
                                dtype=torch.float64, device=device)
            g2, lap = sde.villani_along_rays(V, ts, X, y, a, lam, act, loss, params.laplacian, probes=256,
                                             gen=sde.batch_generator(seeds, salt=70 + k, device=device))
            final[f"ray_{loss}/t"], final[f"ray_{loss}/grad2"], final[f"ray_{loss}/lap"] = (
                ts.cpu().numpy(), g2.cpu().numpy(), lap.cpu().numpy())
        return Trajectory(steps, series, final, str(device), seconds)

    # ------------------------------------------------------------------ measurements
    def _sde_fits(self, params, pred_loss, final, loss):
        """Fits of E F_t - F_inf per seed (memoized: checks and controls share them)."""
        cache = self.__dict__.setdefault("_fit_cache", {})
        key = (loss, id(final[f"sde_{loss}/F"]))
        if key not in cache:
            cache[key] = self._sde_fits_uncached(params, final, loss)
        return cache[key]

    def _sde_fits_uncached(self, params, final, loss):
        t, F = final[f"sde_{loss}/t"], final[f"sde_{loss}/F"]           # (T,), (S, T, R)
        EF, SE = F.mean(-1), F.std(-1, ddof=1) / np.sqrt(F.shape[-1])
        late = t >= 0.5 * t[-1]
        Finf = EF[:, late].mean(1)
        out = []
        for i in range(F.shape[0]):
            gap = EF[i] - Finf[i]
            ok = gap > 5 * SE[i]
            ok[0] = False
            idx = np.arange(1, len(t))
            bad = idx[~ok[1:]]
            last = bad[0] if bad.size else len(t)
            w = slice(1, last)
            if last - 1 < 8:
                out.append(None)
                continue
            sel = select_law(t[w], gap[w], ["exp(-ct)", "t^-p", "1/t"], margin=params.bic_margin)
            out.append({"sel": sel, "window": (t[1], t[last - 1]), "gap": gap, "Finf": Finf[i],
                        "c": sel.fits["exp(-ct)"].param, "w": w})
        return t, EF, Finf, out

    def _ray_stats(self, params, pred_loss, final, loss):
        t = final[f"ray_{loss}/t"]
        Q = final[f"ray_{loss}/grad2"] / params.ray_s - final[f"ray_{loss}/lap"]      # (S, R, T)
        lam = pred_loss["lam"]
        lead = lam**2 * t**2 / params.ray_s
        env = np.stack([tv.villani_deviation(t, lam, params.ray_s, b, params.p * params.d) for b in pred_loss["bounds"]])
        norm_dev = np.abs(Q - lead) / env[:, None, :]
        top = t >= t[-1] / 10
        slopes = np.array([[log_slope(t[top], np.maximum(Q[i, r, top], 1e-300)) for r in range(Q.shape[1])]
                           for i in range(Q.shape[0])])
        r = env[:, top] / lead[top]
        rmax = float(np.max(r))
        slope_tol = 3 * max(abs(np.log1p(-min(rmax, 0.999))), np.log1p(rmax)) / np.log(t[top][-1] / t[top][0])
        return t, Q, lead, norm_dev, slopes, slope_tol, rmax

    def observations(self, params: VillaniParams, data, prediction, trajectory) -> dict[str, float]:
        r"""Reported, not checked, per loss: $\lambda$ and the sufficient threshold; the OBSERVATION at $\lambda = 0$
        (relative spread of the final losses across inits and the mean final loss, medians over seeds); the fitted
        SDE rate $c$ (median), $c/(2\lambda_{\min}(\nabla^2F(W^*)))$ and the curvature window $[2\mu, 2L]$."""
        fin = trajectory.final
        out: dict[str, float] = {}
        for loss, _ in SETTINGS:
            pr = prediction[loss]
            F0 = fin[f"sgd0_{loss}/F"]                                        # (S, R)
            out[f"lambda ({loss})"] = pr["lam"]
            out[f"sufficient threshold ({loss})"] = pr["threshold"]
            out[f"lambda = 0: relative spread of final losses across inits ({loss})"] = np.median(_relative_spread(F0))
            out[f"lambda = 0: mean final loss ({loss})"] = np.median(F0.mean(1))
            _, _, _, fits = self._sde_fits(params, pr, fin, loss)
            if all(f is not None for f in fits):
                cs = np.array([f["c"] for f in fits])
                out[f"SDE fitted rate c ({loss})"] = np.median(cs)
                out[f"c / (2 lambda_min(Hess F(W*))) ({loss})"] = np.median(cs / (2 * pr["h_min"]))
            out[f"curvature window low 2(lam-k-) ({loss})"] = 2 * pr["mu_lb"]
            out[f"curvature window high 2(lam+k+) ({loss})"] = 2 * pr["L_ub"]
        return {k: float(v) for k, v in out.items()}

    def checks(self, params: VillaniParams, data, prediction, trajectory) -> list[CheckResult]:
        fin = trajectory.final
        out: list[CheckResult] = []
        later: list[CheckResult] = []
        for loss, _ in SETTINGS:
            pr = prediction[loss]
            F_end = fin[f"sgd_{loss}/F"]                                      # (S, R)
            spread = _relative_spread(F_end)
            steps = trajectory.steps[1:]                                      # log axis: drop t = 0
            sp_t = _relative_spread(trajectory.series[f"sgd_{loss}/F"])[:, 1:]  # (S, T, R) -> (S, T-1)
            sp0_t = _relative_spread(trajectory.series[f"sgd0_{loss}/F"])[:, 1:]
            curve = Curve(steps, sp_t, ylabel="relative spread of $F$ across inits",
                          predicted=np.full(steps.shape, params.spread_tol), predicted_label="tolerance",
                          extra={r"$\lambda = 0$ (observation)": sp0_t})
            out.append(seed_check(
                f"SGD from {params.sgd_inits} inits ends at one loss ({loss}, {data[loss]['activation']})",
                spread, params.spread_tol, "<=", curve=curve, quantifier="every"))
            rel = np.abs(F_end.mean(1) - pr["F_star"]) / pr["F_star"]
            later.append(seed_check(f"SGD's loss is the certified global minimum F* ({loss})", rel, params.spread_tol, "<=", quantifier="every"))

            # (b) SDE
            t, EF, Finf, fits = self._sde_fits(params, pr, fin, loss)
            if any(f is None for f in fits):
                reason = "fewer than 8 snapshots above the noise floor: horizon/paths too small to fit a rate"
                nan = [np.nan] * len(fits)
                later.append(CheckResult(f"SDE: exponential law beats polynomial laws ({loss})", np.nan, params.bic_margin,
                                         ">=", None, nan, None, reason))
                continue
            dbic = np.array([min(f["sel"].fits[k].bic for k in ("t^-p", "1/t")) - f["sel"].fits["exp(-ct)"].bic
                             for f in fits])
            cs = np.array([f["c"] for f in fits])
            pos = np.maximum(2 * pr["mu_lb"] / cs, cs / (2 * pr["L_ub"]))
            gaps = np.stack([f["gap"] for f in fits])
            tt = np.where(t > 0, t, np.nan)
            fitted = np.median(cs)
            amp = np.median([f["sel"].fits["exp(-ct)"].amplitude for f in fits])
            end = max(f["w"].stop for f in fits)                              # draw up to the last fit window
            curve = Curve(t[1:end], np.where(gaps[:, 1:end] > 0, gaps[:, 1:end], np.nan), xlabel="time $t$",
                          ylabel=r"$E F(\theta_t) - F_\infty$", logx=False, logy=True,
                          predicted=amp * np.exp(-fitted * tt[1:end]), predicted_label=r"fitted $a e^{-ct}$")
            later.append(seed_check(
                f"SDE: exponential law beats polynomial laws by >= {params.bic_margin:g} BIC ({loss})",
                dbic, params.bic_margin, ">=", curve=curve, quantifier="every"))
            later.append(seed_check(f"SDE rate c within the curvature window [2(lam-k-), 2(lam+k+)] ({loss})",
                                    pos, 1.0, "<=", quantifier="every"))
            excess = (np.array([f["Finf"] for f in fits]) - pr["F_star"]) / (params.s * params.p * params.d / 4)
            later.append(seed_check(f"SDE limit is the Gibbs measure: |(E_inf F - F*)/(sD/4) - 1| ({loss})",
                                    np.abs(excess - 1), params.gibbs_tol, "<=", quantifier="every"))

            # (c) Villani property along rays
            t_r, Q, lead, norm_dev, slopes, slope_tol, _ = self._ray_stats(params, pr, fin, loss)
            curve = Curve(t_r, np.median(Q, axis=1), xlabel="ray length $t$",
                          ylabel=r"$\|\nabla F\|^2/s - \Delta F$", predicted=lead,
                          predicted_label=r"$\lambda^2 t^2/s$")
            later.append(seed_check(f"Villani quantity within the proven envelope of lam^2 t^2/s ({loss})",
                                    norm_dev.max(axis=(1, 2)), 1.0, "<=", curve=curve, quantifier="every"))
            later.append(seed_check(f"Villani quantity grows like t^2: |slope - 2| on the last decade ({loss})",
                                    np.abs(slopes - 2).max(1), slope_tol, "<=", quantifier="every"))
        return out + later

    def controls(self, params: VillaniParams, data, prediction, trajectory) -> list[CheckResult]:
        fin = trajectory.final
        out = []
        for loss, _ in SETTINGS:
            pr = prediction[loss]
            _, _, _, fits = self._sde_fits(params, pr, fin, loss)
            if all(f is not None for f in fits):
                d1 = np.array([f["sel"].delta_bic("1/t") for f in fits])
                out.append(seed_check(f"wrong law 1/t for the SDE fits within {params.bic_margin:g} BIC of the best ({loss})",
                                      d1, params.bic_margin, "<=", quantifier="every"))
            _, _, _, _, slopes, slope_tol, _ = self._ray_stats(params, pr, fin, loss)
            out.append(seed_check(f"wrong growth Q ~ t (slope 1) along rays ({loss})", np.abs(slopes - 1).max(1),
                                  slope_tol, "<=", quantifier="every"))
        return out
