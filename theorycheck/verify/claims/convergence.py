r"""Global convergence of Frobenius-regularized SGD on depth-2 nets (Villani functions), tested below the
convexity threshold.

Checks the **published conclusions** (SGD from every init reaches one minimum; continuous-time SGD converges
exponentially to its Gibbs measure; the Villani quantity diverges) in a regime the papers cover by our
derivation; the quantitative predictions read by the checks (the Gibbs limit $sD/4$, the ray envelope) are
**derived** here.

Gopalani & Mukherjee (arXiv 2210.11452, $\ell_2$ loss) and Gopalani, Jha & Mukherjee (arXiv 2309.09258,
logistic loss): for a depth-2 net $f_W(x) = \sum_j a_j\sigma(w_j^\top x)$ with a smooth bounded activation
(sigmoid, tanh), any width and any data, the regularized risk $F(W) = \hat L(W) + \frac\lambda2\|W\|_F^2$ is a
Villani function once $\lambda$ exceeds a width-independent threshold; then continuous-time SGD (the SDE
$d\theta = -\nabla F\,dt + \sqrt s\,dB$) converges exponentially fast to its Gibbs measure $\propto e^{-2F/s}$,
and SGD converges to the global minimum.

**Regime.** A first version took $\lambda = 1.5\,\kappa_+$, a closed-form strong-convexity bound: there $F$ is
strongly convex, and uniqueness and exponential convergence follow from convexity alone. The papers'
$\lambda_c$ could not be read from the stored material (abstracts and introductions only). For these
activations and a fixed outer layer the Villani conditions hold for every $\lambda > 0$ (derived in
:mod:`theorycheck.theory.villani`), so any threshold the papers state here is a sufficient condition at or
above $0^+$. The regime that says something is below the **convexity threshold** $\lambda_{\rm conv}$ (the
most negative curvature of $\hat L$): per data set the theory layer estimates it from below,
$h = \max_k -\lambda_{\min}(\nabla^2\hat L(W_k))$ over random points at four scales (≈ 0.029 for $\ell_2$/tanh,
≈ 0.0022 for logistic/sigmoid; $\kappa_+$ is 0.31 and 0.014 — the old $\lambda$ was 16× and 10× above
convexity), and $\lambda = $ ``lam_factor`` $\times\min_{\rm seeds}h$ (½). A certificate shows that $F$ is
non-convex **on the SGD path** at this $\lambda$ (a negative Hessian eigenvalue at a recorded iterate, for
every data set). $\lambda = 0$ is the control where the conclusion must fail.

**Checks** (every data set = seed; for the $\ell_2$ loss with tanh and the logistic loss with sigmoid):

(a) *same loss from every init* (published conclusion): minibatch SGD, $\eta_t = \eta_0/(1+t/\tau)$,
$\eta_0 = c/(\lambda+\kappa_+)$, from ``sgd_inits`` Gaussian inits: relative spread of the final $F$
$\le 10^{-3}$, and the common value is the lowest minimum found by the theory layer from
``minimum_starts`` starts (L-BFGS + Newton; not a certificate of global optimality — none exists below
convexity) within $10^{-3}$.

(b) *exponential convergence of the SDE to its Gibbs measure* (published conclusion): Euler–Maruyama with
$\Delta t = $ ``sde_dt``$/(\lambda+\kappa_+)$ over $T = $ ``sde_horizon``$/\lambda$ (the smallest Hessian
eigenvalue at the minimum, $h_{\min}$, is 1.0–1.7 $\lambda$); $E F_t$ over ``sde_paths`` paths, $F_\infty$ its
mean over
$t \ge T/2$; fit window from the first snapshot to the last before $E F_t - F_\infty$ falls below 5 standard
errors. Among $\{e^{-ct}, t^{-p}, 1/t\}$ the exponential must beat every polynomial law by ``bic_margin`` BIC.
The limit is the Gibbs measure (derived, Laplace): $E_\infty F - F^* = sD/4 + O(s^2)$, $D = pd$ trained
parameters, within 10% (Euler–Maruyama's stationary bias is $\le L\Delta t/2 = 5\%$ at the certified
smoothness, far less at the minimum's curvature; Monte Carlo error a few %). Reported: the fitted rate $c$ and
$c/(2h_{\min})$ (the small-$s$ asymptotic rate is $2h_{\min}$; the fit window mixes faster modes).

(c) *the Villani property along random rays* $W = tV$, $\|V\|_F = 1$, $t \in [t^*/10, $ ``ray_span``$\,t^*]$,
$t^* = \max(G/\lambda, \sqrt{s(\Lambda+\lambda D)}/\lambda)$: $Q(t) = \|\nabla F\|^2/s - \Delta F$ (closed-form
Laplacian, :func:`theorycheck.numerics.sde.laplacian_closed`, tested against the dense Hessian trace) stays
within the proven envelope $|Q - \lambda^2t^2/s| \le \mathrm{dev}(t)$, and its log-log slope over the last decade
is 2 within $3\max|\log(1\pm r)|/\ln 10$, $r = \mathrm{dev}/(\lambda^2t^2/s)$.

**Certificates**: $F$ has a negative Hessian eigenvalue on the SGD path (the regime is non-convex); the
minimum the theory layer found is strict (positive-definite Hessian).

**Controls** (must be rejected): $\lambda = 0$ — the $\ell_2$ SGD runs from the same inits end at losses
that differ by O(1) (the logistic runs drift towards the infimum at infinity alike, so their spread is only
reported), and $Q$ no longer grows like $t^2$ along the rays; the polynomial law $1/t$ for the SDE. Near
miss: the Gibbs limit with the outer layer counted as trained ($D = p(d+1)$: 25% more).
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
#: scales of the random points the convexity threshold is estimated on
CURVATURE_SCALES = (0.3, 1.0, 2.0, 4.0)


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
    lam_factor: float = 0.5          # lambda = lam_factor * (convexity-threshold estimate), below convexity
    curvature_samples: int = 50      # random points per scale for the convexity-threshold estimate
    init_scale: float = 1.0
    sgd_inits: int = 8
    sgd_steps: int = 1500
    sgd_batch: int = 16
    sgd_decay: float = 50.0          # tau of eta_t = eta_0 / (1 + t / tau)
    lr_factor: float = 1.0           # eta_0 = lr_factor / (lambda + kappa_plus)
    spread_tol: float = 1e-3
    minimum_starts: int = 16
    sde_paths: int = 32
    s: float = 1e-3
    sde_horizon: float = 6.0         # T = sde_horizon / lambda (<= 1/lambda_min of the Hessian at the minimum)
    sde_dt: float = 0.1              # dt = sde_dt / (lambda + kappa_plus)
    sde_snapshots: int = 200
    gibbs_tol: float = 0.1
    bic_margin: float = 6.0
    rays: int = 4
    ray_s: float = 0.1
    ray_span: float = 1000.0         # rays run over t in [t*/10, ray_span * t*], t* from the theory bounds
    ray_points: int = 13
    path_snapshots: int = 10         # SGD iterates per run searched for negative curvature

    @classmethod
    def full(cls) -> "VillaniParams":
        return cls(n=32, p=32, s=1e-4, sgd_inits=16, sgd_steps=3000, sgd_batch=16, sgd_decay=100.0, rays=8,
                   ray_points=19)

    def validate(self) -> None:
        for key in ("n", "d", "p", "sgd_inits", "sgd_steps", "sgd_batch", "sde_paths", "rays", "curvature_samples",
                    "minimum_starts", "path_snapshots"):
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.sgd_inits < 2:
            raise InputError(f"sgd_inits must be at least 2 (a spread needs two runs), got {self.sgd_inits}")
        if self.sgd_batch > self.n:
            raise InputError(f"sgd_batch must not exceed n={self.n}, got {self.sgd_batch}")
        if not 0 < self.lam_factor < 1:
            raise InputError(f"lam_factor must be in (0, 1) (lambda below the convexity threshold), "
                             f"got {self.lam_factor}")
        for key in ("activation_l2", "activation_logistic"):
            if getattr(self, key) not in sde.ACTIVATIONS:
                raise InputError(f"{key} must be one of {sde.ACTIVATIONS}, got {getattr(self, key)!r}")
        for key in ("s", "ray_s", "sde_dt", "sde_horizon", "sgd_decay", "lr_factor", "init_scale", "spread_tol",
                    "gibbs_tol"):
            if getattr(self, key) <= 0:
                raise InputError(f"{key} must be positive, got {getattr(self, key)}")
        if self.lr_factor >= 2:
            raise InputError(f"lr_factor must be below 2 (eta_0 < 2/L), got {self.lr_factor}")
        if self.ray_span < 100 or self.ray_points < 4:
            raise InputError("need ray_span >= 100 and ray_points >= 4 (a decade of t well above t* to fit the slope)")


@register
class VillaniRegularizedSGD(Claim):
    """Regularized SGD on depth-2 nets converges globally and the SDE exponentially, below the convexity threshold."""

    id = "convergence.villani-regularized"
    evidence = "published + derived"
    title = ("Frobenius-regularized depth-2 nets below convexity: SGD finds one minimum, continuous-time SGD converges "
             "exponentially")
    source = Source(authors="Gopalani, Mukherjee; Gopalani, Jha, Mukherjee", year=2022,
                    title="Global Convergence of SGD On Two Layer Neural Nets (l2); "
                          "Global Convergence of SGD For Logistic Loss on Two Layer Neural Nets",
                    venue="arXiv (2022; 2023)", arxiv="2210.11452, 2309.09258")
    statement = (r"F(W)=\frac1n\sum_i\ell(f_W(x_i),y_i)+\frac\lambda2\|W\|_F^2\ \text{Villani for }\lambda>0\ "
                 r"(\text{here }\lambda=\tfrac12\hat\lambda_{\rm conv},\ F\text{ non-convex})\ \Rightarrow\ "
                 r"\|\nabla F\|^2/s-\Delta F\to\infty,\ E F(\theta_t)\to E_{\rm Gibbs}F\text{ exponentially},\ "
                 r"\text{SGD}\to\arg\min F")
    statement_text = ("Published conclusions, derived quantitative checks. Below the convexity threshold (lambda = "
                      "half the most negative curvature of the data loss, F "
                      "non-convex on the SGD path; the papers' lambda_c could not be read, and for sigmoid/tanh the "
                      "Villani conditions hold for every lambda > 0), the regularized loss of a depth-2 net is a "
                      "Villani function: SGD from every init reaches the same minimum and the SGD SDE converges "
                      "exponentially to its Gibbs measure (limit E F - F* = sD/4 derived by Laplace); for the l2 and "
                      "the logistic loss; lambda = 0 is the control where this fails")
    departures = ("The papers' threshold lambda_c could not be read; lambda is half the estimated convexity "
                  "threshold, a regime the papers cover by our derivation (Villani for every lambda > 0 here). The "
                  "quantitative checks are derived: the Gibbs limit sD/4 (Laplace), an exponential law preferred over "
                  "polynomial ones by BIC, and the ray envelope of the Villani quantity; the SDE is simulated by "
                  "Euler-Maruyama.")
    Params = VillaniParams
    default_seeds = 4

    # ------------------------------------------------------------------ data and theory
    def make_data(self, params: VillaniParams, seeds):
        """Per loss: the data sets, the outer layers, and lambda — part of the experiment, chosen by theory:
        ``lam_factor`` times the smallest (over seeds) convexity-threshold estimate, from random points at
        four scales (:func:`~theorycheck.theory.villani.convexity_threshold_estimate`)."""
        params.validate()
        data = {}
        shape = (params.p, params.d)
        for k, (loss, act_key) in enumerate(SETTINGS):
            X, y, a = sde.teacher_data(seeds, params.n, params.d, params.p, loss)
            act = getattr(params, act_key)
            Xn, yn, an = X.numpy(), y.numpy(), a.numpy()
            h, starts = [], []
            for i, s in enumerate(seeds):
                rng = np.random.default_rng([11, k, int(s)])
                points = np.concatenate([scale * rng.normal(size=(params.curvature_samples, *shape))
                                         for scale in CURVATURE_SCALES])
                h.append(tv.convexity_threshold_estimate(Xn[i], yn[i], an[i], act, loss, points))
                random_starts = params.init_scale * rng.normal(size=(params.minimum_starts - 1, *shape))
                starts.append(np.concatenate([np.zeros((1, *shape)), random_starts]))
            bounds = [tv.net_bounds(Xn[i], yn[i], an[i], act, loss) for i in range(len(seeds))]
            h = np.array(h)
            data[loss] = {"X": X, "y": y, "a": a, "activation": act, "starts": np.stack(starts), "h_conv": h,
                          "lam": params.lam_factor * float(h.min()), "bounds": bounds,
                          "kappa_minus": max(b.kappa_minus for b in bounds),
                          "kappa_plus": max(b.kappa_plus for b in bounds)}
        return data

    def predict(self, params: VillaniParams, data):
        """Per loss: the lowest local minimum found from the starts at lambda (value, Hessian eigenvalues,
        distinct minima), with lambda, the curvature bounds and the convexity-threshold estimates."""
        pred = {}
        for loss, _ in SETTINGS:
            d = data[loss]
            X, y, a, act, lam = d["X"].numpy(), d["y"].numpy(), d["a"].numpy(), d["activation"], d["lam"]
            mins = [tv.multistart_minimum(X[i], y[i], a[i], lam, act, loss, d["starts"][i]) for i in range(X.shape[0])]
            pred[loss] = {
                **{k: d[k] for k in ("bounds", "h_conv", "lam", "kappa_minus", "kappa_plus")},
                "F_star": np.array([m.value for m in mins]), "distinct": np.array([m.distinct for m in mins]),
                "h_min": np.array([m.hess_eigs.min() for m in mins]),
            }
        return pred

    # ------------------------------------------------------------------ training
    def simulate(self, params: VillaniParams, data, device, seeds):
        final: dict[str, np.ndarray] = {}
        series: dict[str, np.ndarray] = {}
        steps, seconds = None, 0.0
        for k, (loss, _) in enumerate(SETTINGS):
            d = data[loss]
            X, y, a, act = d["X"].to(device), d["y"].to(device), d["a"].to(device), d["activation"]
            lam, L = d["lam"], d["lam"] + d["kappa_plus"]
            P, D, R = params.p, params.d, params.sgd_inits
            W0 = sde.seeded_normal(seeds, (R, P, D), params.init_scale, salt=10 + k, device=device)
            # the runs at lambda and, side by side from the same inits, the control lambda = 0
            lam_t = torch.cat([torch.full((len(seeds), R), lam), torch.zeros(len(seeds), R)], 1).to(W0)
            tr = sde.sgd(torch.cat([W0, W0], 1), X, y, a, lam_t, act, loss, params.sgd_steps, params.sgd_batch,
                         params.lr_factor / L, params.sgd_decay, sde.batch_generator(seeds, salt=20 + k, device=device),
                         record_weights=True)
            series[f"sgd_{loss}/F"], final[f"sgd_{loss}/F"] = tr.series["F"][..., :R], tr.final["F"][:, :R]
            series[f"sgd0_{loss}/F"], final[f"sgd0_{loss}/F"] = tr.series["F"][..., R:], tr.final["F"][:, R:]
            pick = np.unique(np.linspace(0, len(tr.steps) - 1, params.path_snapshots).round().astype(int))
            final[f"path_{loss}/W"] = tr.series["W"][:, pick, :R]                 # (S, snapshots, R, p, d)
            steps, seconds = tr.steps, seconds + tr.seconds
            # continuous-time SGD
            dt = params.sde_dt / L
            n_steps = int(np.ceil(params.sde_horizon / lam / dt))
            every = max(1, n_steps // params.sde_snapshots)
            Ws = sde.seeded_normal(seeds, (params.sde_paths, P, D), params.init_scale, salt=40 + k, device=device)
            em = sde.euler_maruyama(Ws, X, y, a, lam, act, loss, params.s, dt, n_steps, every,
                                    sde.batch_generator(seeds, salt=50 + k, device=device))
            final[f"sde_{loss}/t"], final[f"sde_{loss}/F"] = em.steps, em.series["F"]
            seconds += em.seconds
            # Villani quantity along rays, at lambda and at the control lambda = 0
            V = sde.seeded_normal(seeds, (params.rays, P, D), 1.0, salt=60 + k, device=device)
            V = V / V.norm(dim=(-1, -2), keepdim=True)
            t_star = max(max(b.grad_bound / lam, np.sqrt(params.ray_s * (b.lap_bound + lam * P * D)) / lam)
                         for b in d["bounds"])
            ts = torch.logspace(np.log10(t_star / 10), np.log10(params.ray_span * t_star), params.ray_points,
                                dtype=torch.float64, device=device)
            final[f"ray_{loss}/t"] = ts.cpu().numpy()
            for tag, lam_ray in (("", lam), ("0", 0.0)):
                g2, lap = sde.villani_along_rays(V, ts, X, y, a, lam_ray, act, loss)
                final[f"ray{tag}_{loss}/grad2"], final[f"ray{tag}_{loss}/lap"] = g2.cpu().numpy(), lap.cpu().numpy()
        return Trajectory(steps, series, final, str(device), seconds)

    # ------------------------------------------------------------------ measurements
    def _sde_fits(self, params, final, loss):
        """Fits of E F_t - F_inf per seed (memoized: checks, controls and observations share them)."""
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
            out.append({"sel": sel, "gap": gap, "Finf": Finf[i], "c": sel.fits["exp(-ct)"].param, "w": w})
        return t, out

    def _ray_stats(self, params, pred_loss, final, loss, tag=""):
        t = final[f"ray_{loss}/t"]
        Q = final[f"ray{tag}_{loss}/grad2"] / params.ray_s - final[f"ray{tag}_{loss}/lap"]      # (S, R, T)
        lam = pred_loss["lam"]
        lead = lam**2 * t**2 / params.ray_s
        env = np.stack([tv.villani_deviation(t, lam, params.ray_s, b, params.p * params.d)
                        for b in pred_loss["bounds"]])
        norm_dev = np.abs(Q - lead) / env[:, None, :]
        top = t >= t[-1] / 10
        slopes = np.array([[log_slope(t[top], np.maximum(np.abs(Q[i, r, top]), 1e-300)) for r in range(Q.shape[1])]
                           for i in range(Q.shape[0])])
        r = env[:, top] / lead[top]
        rmax = float(np.max(r))
        slope_tol = 3 * max(abs(np.log1p(-min(rmax, 0.999))), np.log1p(rmax)) / np.log(t[top][-1] / t[top][0])
        return t, Q, lead, norm_dev, slopes, slope_tol

    def _path_curvature(self, params, data, pred_loss, final, loss) -> np.ndarray:
        """Per seed: min over the recorded SGD iterates of lambda_min(Hess F) / lambda (< 0: non-convex on the path);
        memoized (checks and observations share it)."""
        cache = self.__dict__.setdefault("_curvature_cache", {})
        key = (loss, id(final[f"path_{loss}/W"]))
        if key not in cache:
            cache[key] = self._path_curvature_uncached(params, data, pred_loss, final, loss)
        return cache[key]

    def _path_curvature_uncached(self, params, data, pred_loss, final, loss) -> np.ndarray:
        d = data[loss]
        X, y, a, act = d["X"].numpy(), d["y"].numpy(), d["a"].numpy(), d["activation"]
        W = final[f"path_{loss}/W"]                                          # (S, snapshots, R, p, d)
        lam = pred_loss["lam"]
        out = []
        for i in range(W.shape[0]):
            eigs = [np.linalg.eigvalsh(tv.objective(w, X[i], y[i], a[i], lam, act, loss)[2]).min()
                    for w in W[i].reshape(-1, params.p, params.d)]
            out.append(min(eigs) / lam)
        return np.array(out)

    def _gibbs(self, params, pred_loss, fits, n_params: int) -> np.ndarray:
        """|measured (E_inf F - F*) / predicted - 1| per seed, the prediction the Laplace value for n_params."""
        excess = np.array([f["Finf"] for f in fits]) - pred_loss["F_star"]
        return np.abs(excess / tv.gibbs_excess(params.s, n_params) - 1)

    # ------------------------------------------------------------------ checks
    def observations(self, params: VillaniParams, data, prediction, trajectory) -> dict[str, float]:
        r"""Reported, not checked, per loss: $\lambda$, the convexity-threshold estimate and the strong-convexity
        bounds; the most negative Hessian eigenvalue on the SGD path / $\lambda$; distinct minima found by the
        theory layer; the $\lambda = 0$ runs (relative spread, mean final loss); the fitted SDE rate $c$ and
        $c/(2h_{\min})$ (medians over seeds)."""
        fin = trajectory.final
        out: dict[str, float] = {}
        for loss, _ in SETTINGS:
            pr = prediction[loss]
            F0 = fin[f"sgd0_{loss}/F"]
            out[f"lambda ({loss})"] = pr["lam"]
            out[f"convexity-threshold estimate, min over seeds ({loss})"] = float(pr["h_conv"].min())
            out[f"strong-convexity bounds kappa-, kappa+ ({loss})"] = pr["kappa_minus"]
            out[f"kappa+ ({loss})"] = pr["kappa_plus"]
            out[f"min Hessian eigenvalue on the SGD path / lambda, median ({loss})"] = float(
                np.median(self._path_curvature(params, data, pr, fin, loss)))
            out[f"distinct minima from {params.minimum_starts} starts, max over seeds ({loss})"] = float(
                pr["distinct"].max())
            out[f"lambda = 0: relative spread of final losses across inits ({loss})"] = float(
                np.median(_relative_spread(F0)))
            out[f"lambda = 0: mean final loss ({loss})"] = float(np.median(F0.mean(1)))
            _, fits = self._sde_fits(params, fin, loss)
            if all(f is not None for f in fits):
                cs = np.array([f["c"] for f in fits])
                out[f"SDE fitted rate c ({loss})"] = float(np.median(cs))
                out[f"c / (2 h_min) ({loss})"] = float(np.median(cs / (2 * pr["h_min"])))
        return out

    def checks(self, params: VillaniParams, data, prediction, trajectory) -> list[CheckResult]:
        fin = trajectory.final
        out: list[CheckResult] = []
        later: list[CheckResult] = []
        for loss, _ in SETTINGS:
            pr = prediction[loss]
            act = data[loss]["activation"]
            F_end = fin[f"sgd_{loss}/F"]                                      # (S, R)
            steps = trajectory.steps[1:]                                      # log axis: drop t = 0
            sp_t = _relative_spread(trajectory.series[f"sgd_{loss}/F"])[:, 1:]
            sp0_t = _relative_spread(trajectory.series[f"sgd0_{loss}/F"])[:, 1:]
            curve = Curve(steps, sp_t, ylabel="relative spread of $F$ across inits",
                          predicted=np.full(steps.shape, params.spread_tol), predicted_label="tolerance",
                          extra={r"$\lambda = 0$ (control)": sp0_t})
            out.append(seed_check(f"SGD from {params.sgd_inits} inits ends at one loss, F non-convex ({loss}, {act})",
                                  _relative_spread(F_end), params.spread_tol, "<=", curve=curve, quantifier="every"))
            rel = np.abs(F_end.mean(1) - pr["F_star"]) / np.abs(pr["F_star"])
            later.append(seed_check(f"SGD's loss is the lowest minimum found from {params.minimum_starts} starts "
                                    f"({loss})", rel, params.spread_tol, "<=", quantifier="every"))
            later.append(seed_check(f"F is non-convex on the SGD path: min Hessian eigenvalue / lambda ({loss})",
                                    self._path_curvature(params, data, pr, fin, loss), 0.0, "<=", quantifier="every",
                                    role="certificate"))
            later.append(seed_check(f"the minimum found is strict: min Hessian eigenvalue there / lambda ({loss})",
                                    pr["h_min"] / pr["lam"], 0.0, ">=", quantifier="every", role="certificate"))

            # (b) SDE
            t, fits = self._sde_fits(params, fin, loss)
            if any(f is None for f in fits):
                reason = "fewer than 8 snapshots above the noise floor: horizon/paths too small to fit a rate"
                nan = [np.nan] * len(fits)
                later.append(CheckResult(f"SDE: exponential law beats polynomial laws ({loss})", np.nan,
                                         params.bic_margin, ">=", None, nan, None, reason, quantifier="every"))
                continue
            dbic = np.array([min(f["sel"].fits[k].bic for k in ("t^-p", "1/t")) - f["sel"].fits["exp(-ct)"].bic
                             for f in fits])
            gaps = np.stack([f["gap"] for f in fits])
            tt = np.where(t > 0, t, np.nan)
            fitted = np.median([f["c"] for f in fits])
            amp = np.median([f["sel"].fits["exp(-ct)"].amplitude for f in fits])
            end = max(f["w"].stop for f in fits)
            curve = Curve(t[1:end], np.where(gaps[:, 1:end] > 0, gaps[:, 1:end], np.nan), xlabel="time $t$",
                          ylabel=r"$E F(\theta_t) - F_\infty$", logx=False, logy=True,
                          predicted=amp * np.exp(-fitted * tt[1:end]), predicted_label=r"fitted $a e^{-ct}$")
            later.append(seed_check(f"SDE: exponential law beats polynomial laws by >= {params.bic_margin:g} BIC "
                                    f"({loss})", dbic, params.bic_margin, ">=", curve=curve, quantifier="every"))
            later.append(seed_check(f"SDE limit is the Gibbs measure: |(E_inf F - F*)/(s p d/4) - 1| ({loss})",
                                    self._gibbs(params, pr, fits, params.p * params.d), params.gibbs_tol, "<=",
                                    quantifier="every"))

            # (c) Villani property along rays
            t_r, Q, lead, norm_dev, slopes, slope_tol = self._ray_stats(params, pr, fin, loss)
            curve = Curve(t_r, np.median(Q, axis=1), xlabel="ray length $t$",
                          ylabel=r"$\|\nabla F\|^2/s - \Delta F$", predicted=lead, predicted_label=r"$\lambda^2 t^2/s$")
            later.append(seed_check(f"Villani quantity within the proven envelope of lam^2 t^2/s ({loss})",
                                    norm_dev.max(axis=(1, 2)), 1.0, "<=", curve=curve, quantifier="every"))
            later.append(seed_check(f"Villani quantity grows like t^2: |slope - 2| on the last decade ({loss})",
                                    np.abs(slopes - 2).max(1), slope_tol, "<=", quantifier="every"))
        return out + later

    def controls(self, params: VillaniParams, data, prediction, trajectory) -> list[CheckResult]:
        fin = trajectory.final
        out = [seed_check(f"lambda = 0: SGD from {params.sgd_inits} inits ends at one loss (l2)",
                          _relative_spread(fin["sgd0_l2/F"]), params.spread_tol, "<=", quantifier="every")]
        for loss, _ in SETTINGS:
            pr = prediction[loss]
            _, fits = self._sde_fits(params, fin, loss)
            if all(f is not None for f in fits):
                out.append(seed_check(f"Gibbs limit with the outer layer counted as trained, D = p(d+1) ({loss})",
                                      self._gibbs(params, pr, fits, params.p * (params.d + 1)), params.gibbs_tol, "<=",
                                      quantifier="every"))
                d1 = np.array([f["sel"].delta_bic("1/t") for f in fits])
                out.append(seed_check(f"wrong law 1/t for the SDE fits within {params.bic_margin:g} BIC of the best "
                                      f"({loss})", d1, params.bic_margin, "<=", quantifier="every"))
            *_, slope_tol = self._ray_stats(params, pr, fin, loss)
            *_, slopes0, _ = self._ray_stats(params, pr, fin, loss, tag="0")
            out.append(seed_check(f"lambda = 0: Villani quantity grows like t^2 along rays ({loss})",
                                  np.abs(slopes0 - 2).max(1), slope_tol, "<=", quantifier="every"))
        return out
