r"""Rademacher complexity of DeepONets: a checked norm bound, the paper's capacity measure and its
regularizer, on the antiderivative operator.

**Task** (generated in code, :func:`theorycheck.numerics.deeponet.antiderivative_data`): $u$ a
random trigonometric polynomial sampled at $m$ equispaced sensors, $y\sim U[0,1]$, target
$G(u)(y) = \int_0^y u$ in closed form; branch input $(u(x_j)/\sqrt m, 1)$, trunk input $(y, 1)$.
$N = $ ``n_funcs`` $\times$ ``n_points`` training pairs.

**Model.** DeepONet $G_\theta(u)(y) = \sum_{j=1}^p\mathcal B(u)_j\mathcal T(y)_j$, branch and
trunk with ``n_layers`` bias-free layers and activation $|\cdot|$ (as in the authors' code, whose
MLPs have the biases commented out).

**Which bound is which.**

* CHECKED: Golowich, Rakhlin & Shamir (2018) Theorem 1 applied to the exact tensor-product form
  of the DeepONet (:mod:`theorycheck.theory.deeponet`):
  $\hat{\mathfrak R}_S\le(\sqrt{2\ln2\cdot n}+1)\,\|B_n^\top T_n\|_F\prod_{k<n}\|B_k\|_F\|T_k\|_F
  \sqrt{\sum_i\|u_i\|^2\|y_i\|^2}/N$.
* REPORTED (in ``observations``, not checked): the paper's capacity measure $C(\theta)$ (Gopalani, Karmakar, Kumar & Mukherjee,
  arXiv 2205.11359 / TMLR 2024; the authors' ``calculate_radbound``, confirmed with the search
  tool) and $C/\sqrt N$ (what that function returns). Its theorem's remaining constants could not
  be confirmed, so it is not checked as a bound. The regularizer is the bound's capacity term
  added to the training loss: $c\,C(\theta)/\sqrt N$ (the authors' radbound times ``reg_weight``
  $= c$), so its weight shrinks like the bound's $1/\sqrt N$ as the sample grows.

  *History (reported honestly)*: a first version used a fixed weight $\beta = 10^{-3}$ on
  $C(\theta)$. It passed the quick preset ($N = 120$: test error ratio 0.68) but at the full
  preset ($N = 2000$) it underfit (train relative error 0.04 → 0.16) and hurt the test error by a
  factor 1.42 (check 4 failed). The $1/\sqrt N$ weighting above, which is how the capacity term
  enters the paper's generalization bound, replaced it after that result; $c = 10^{-2}$ gives
  the same weight as before at $N \approx 100$. With it the full preset still shows a cost:
  train relative error 0.04 → 0.10, test error ratio 1.15 (seeds 1.02–1.38; check 4 undecided,
  90% interval [1.02, 1.27]), while the checked bound drops ~55x. We did not tune the weight
  further: the finding is that on this task, at $N = 2000$, the capacity penalty at a weight that
  helps at $N = 120$ trades a large drop of the bound for a modest rise of the test error.

**Checks.**

1. *estimate below the bound* (key): for each seed, ``sign_draws`` sign vectors $\sigma$; for each,
   Adam ascent maximizes $\frac1N\sum_i\sigma_iG_\theta(x_i)$ over the DeepONets in the class
   whose layer norms equal those of the trained (unregularized) net (by positive homogeneity: the
   normalized correlation times the trained Frobenius product). Every value is attained by a
   member of the class, so the draw-average is a lower estimate of $\hat{\mathfrak R}_S$ (up to
   the Monte Carlo error of the draw-average). Check: estimate / checked bound $\le 1$.
2. *the tensor-product identity* at the trained weights: $\max|G_\theta - G^{\otimes}_\theta|
   \le 10^{-10}\max|G_\theta|$ (float64 round-off of two evaluation orders).
3. *the regularizer lowers the checked bound*: the same inits, data and schedule, trained with and
   without the penalty; checked bound (regularized) / (unregularized) $\le 1$.
4. *the regularizer does not hurt the test error*: relative $L^2$ test error on fresh functions
   and points, (regularized) / (unregularized) $\le$ ``test_ratio_tol`` (1.1, i.e. at most 10%
   worse — fixed before running).

**Control** (must be rejected): the checked bound with the rate $1/\sqrt N$ replaced by $1/N$;
the estimate exceeds it by about $\sqrt N\times$(estimate/bound), so it fails for $N \ge 100$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import deeponet as nd
from theorycheck.numerics.rademacher import rademacher_signs
from theorycheck.numerics.sde import batch_generator
from theorycheck.numerics.trajectory import Trajectory
from theorycheck.theory import deeponet as td
from theorycheck.verify.claim import CheckResult, Claim, Curve, Params, Source
from theorycheck.verify.registry import register
from theorycheck.verify.stats import seed_check


@dataclass(frozen=True)
class DeepONetParams(Params):
    sensors: int = 16
    modes: int = 6
    decay: float = 1.0
    n_funcs: int = 30
    n_points: int = 4
    test_funcs: int = 200
    test_points: int = 10
    width: int = 16
    latent: int = 8
    n_layers: int = 3
    steps: int = 500
    lr: float = 8e-3
    reg_weight: float = 1e-2         # c in the penalty c * C(theta) / sqrt(N)
    loss: str = "l2"
    huber_delta: float = 1.0
    sign_draws: int = 16
    restarts: int = 1
    ascent_steps: int = 60
    ascent_lr: float = 0.05
    test_ratio_tol: float = 1.1

    @classmethod
    def full(cls) -> "DeepONetParams":
        return cls(sensors=50, n_funcs=200, n_points=10, test_funcs=500, width=32, latent=16, steps=2000,
                   lr=3e-3, sign_draws=24, restarts=1, ascent_steps=60)

    def validate(self) -> None:
        for key in ("sensors", "modes", "n_funcs", "n_points", "test_funcs", "test_points", "width", "latent",
                    "steps", "sign_draws", "restarts", "ascent_steps"):
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.n_layers < 2:
            raise InputError(f"n_layers must be at least 2 (the paper's measure uses layers n-1 and n), got {self.n_layers}")
        for key in ("lr", "ascent_lr", "huber_delta", "test_ratio_tol"):
            if getattr(self, key) <= 0:
                raise InputError(f"{key} must be positive, got {getattr(self, key)}")
        if self.reg_weight <= 0:
            raise InputError(f"reg_weight (the regularizer's weight) must be positive, got {self.reg_weight}")
        if self.loss not in ("l2", "huber"):
            raise InputError(f"loss must be l2 or huber, got {self.loss!r}")


def _weights(final: dict, prefix: str, n: int, rows: slice) -> list[torch.Tensor]:
    return [torch.as_tensor(final[f"{prefix}{k}"][rows]) for k in range(n)]


@register
class DeepONetRademacher(Claim):
    """A Frobenius (Golowich) bound for bias-free |.|-DeepONets holds; the paper's regularizer lowers it."""

    id = "rademacher.deeponet"
    title = "DeepONet Rademacher complexity: tensor-product Golowich bound (checked), paper's capacity regularizer"
    source = Source(authors="Gopalani, Karmakar, Kumar, Mukherjee", year=2024,
                    title="Towards Size-Independent Generalization Bounds for Deep Operator Nets",
                    venue="TMLR", arxiv="2205.11359")
    statement = (r"\hat{\mathfrak R}_S \le \frac{\sqrt{2\ln 2\, n}+1}{N}\,\|B_n^\top T_n\|_F\prod_{k<n}\|B_k\|_F\|T_k\|_F"
                 r"\sqrt{\textstyle\sum_i\|u_i\|^2\|y_i\|^2}\quad\text{(checked; reported: } " + td.PAPER_LATEX + ")")
    statement_text = ("A bias-free |.| DeepONet is exactly an |.|-network on u (x) y with layers B_k (x) T_k, so Golowich "
                      "et al.'s Frobenius bound applies (checked against a lower estimate of the class complexity); the "
                      "paper's capacity measure, added to the loss, lowers that bound without hurting the test error.")
    Params = DeepONetParams
    default_seeds = 4

    def make_data(self, params: DeepONetParams, seeds):
        kw = dict(modes=params.modes, decay=params.decay)
        return {"train": nd.antiderivative_data(seeds, params.n_funcs, params.n_points, params.sensors, salt=0, **kw),
                "test": nd.antiderivative_data(seeds, params.test_funcs, params.test_points, params.sensors, salt=1, **kw)}

    def predict(self, params: DeepONetParams, data):
        N = params.n_funcs * params.n_points
        S2 = nd.sum_sq_norms(data["train"]["U"], data["train"]["Y"]).numpy()
        return {"N": N, "S2": S2, "unit_bound": td.unit_bound(params.n_layers, S2, N),
                "too_fast_unit": td.too_fast_bound(params.n_layers).evaluate(M_F=np.ones_like(S2), S2=S2, n=N),
                "latex": td.deeponet_bound(params.n_layers).latex, "paper_latex": td.PAPER_LATEX}

    def _widths(self, params: DeepONetParams, m_u: int, m_y: int) -> tuple[list[int], list[int]]:
        hidden = [params.width] * (params.n_layers - 1)
        return [m_u, *hidden, params.latent], [m_y, *hidden, params.latent]

    def simulate(self, params: DeepONetParams, data, device, seeds):
        tr_data = {k: v.to(device) for k, v in data["train"].items()}
        S = len(seeds)
        bw, tw = self._widths(params, tr_data["U"].shape[-1], tr_data["Y"].shape[-1])
        gens = [torch.Generator().manual_seed(int(s) * 7 + 3) for s in seeds]
        inits = [(nd.init_weights(1, bw, g), nd.init_weights(1, tw, g)) for g in gens]
        Bw = [torch.cat([b[k] for b, _ in inits]).to(device) for k in range(params.n_layers)]
        Tw = [torch.cat([t[k] for _, t in inits]).to(device) for k in range(params.n_layers)]
        # unregularized (rows 0..S-1) and regularized (rows S..2S-1) from the same inits, one program
        both = {k: torch.cat([v, v]) for k, v in tr_data.items()}
        beta_value = params.reg_weight / np.sqrt(params.n_funcs * params.n_points)
        beta = torch.cat([torch.zeros(S), torch.full((S,), beta_value)]).to(device=device, dtype=torch.float64)
        run = nd.train([torch.cat([w, w]) for w in Bw], [torch.cat([w, w]) for w in Tw], both, beta, params.steps,
                       params.lr, params.loss, params.huber_delta)
        final = dict(run.final)
        # the lower estimate of the class complexity (unit layer norms), batched over sign draws
        gen = batch_generator(seeds, salt=5, device=device)
        sigma = rademacher_signs((S, params.sign_draws, params.n_funcs, params.n_points), gen, device)
        best = nd.sign_correlation_max(tr_data["U"], tr_data["Y"], sigma, bw, tw, params.restarts,
                                       params.ascent_steps, params.ascent_lr, gen)
        final["unit_sup"] = best.cpu().numpy()                                           # (S, K)
        # identity check, test errors
        n = params.n_layers
        Bt = _weights(final, "B", n, slice(None))
        Tt = _weights(final, "T", n, slice(None))
        with torch.no_grad():
            g1 = nd.deeponet([b.to(device) for b in Bt], [t.to(device) for t in Tt], both["U"], both["Y"])
            g2 = nd.kron_forward([b.to(device) for b in Bt], [t.to(device) for t in Tt], both["U"], both["Y"])
        final["identity_err"] = ((g1 - g2).abs().amax((-1, -2)) / g1.abs().amax((-1, -2))).cpu().numpy()
        te = {k: torch.cat([v, v]).to(device) for k, v in data["test"].items()}
        Bd, Td = [b.to(device) for b in Bt], [t.to(device) for t in Tt]
        final["test_rel_err"] = nd.relative_l2_error(Bd, Td, te).cpu().numpy()
        final["train_rel_err"] = nd.relative_l2_error(Bd, Td, both).cpu().numpy()
        final["test_loss"] = nd.evaluate_loss(Bd, Td, te, params.loss, params.huber_delta).cpu().numpy()
        final["train_loss"] = nd.evaluate_loss(Bd, Td, both, params.loss, params.huber_delta).cpu().numpy()
        return Trajectory(run.steps, run.series, final, str(device), run.seconds)

    def _measures(self, params, prediction, trajectory):
        fin = trajectory.final
        n = params.n_layers
        S = fin["unit_sup"].shape[0]
        Bs = [fin[f"B{k}"] for k in range(n)]
        Ts = [fin[f"T{k}"] for k in range(n)]
        MF = td.frobenius_product(Bs, Ts)                                              # (2S,)
        bound = td.evaluate_bound(Bs, Ts, np.concatenate([prediction["S2"]] * 2), prediction["N"])
        paper = td.paper_capacity(Bs, Ts)
        est_unit = fin["unit_sup"].mean(1)                                             # (S,)
        return {"S": S, "MF": MF, "bound": bound, "paper": paper, "est_unit": est_unit,
                "est": est_unit * MF[:S], "ratio": est_unit / prediction["unit_bound"]}

    def observations(self, params: DeepONetParams, data, prediction, trajectory) -> dict[str, float]:
        r"""Reported, not checked (medians over seeds): the checked bound and the lower estimate, the paper's
        capacity $C(\theta)$ and the authors' radbound $C/\sqrt N$, relative $L^2$ errors and the generalization
        gap of the loss, each without and with the regularizer."""
        fin = trajectory.final
        m = self._measures(params, prediction, trajectory)
        S = m["S"]
        rootN = np.sqrt(prediction["N"])
        per_run = {
            "checked bound": m["bound"],
            "paper capacity C": m["paper"],
            "C/sqrt(N), authors' radbound": m["paper"] / rootN,
            "test rel. error": fin["test_rel_err"],
            "train rel. error": fin["train_rel_err"],
            "generalization gap of the loss": fin["test_loss"] - fin["train_loss"],
        }
        out = {"lower estimate of the class complexity": float(np.median(m["est"]))}
        for name, values in per_run.items():
            out[f"{name}, no reg"] = float(np.median(values[:S]))
            out[f"{name}, reg"] = float(np.median(values[S:]))
        return out

    def checks(self, params: DeepONetParams, data, prediction, trajectory) -> list[CheckResult]:
        fin = trajectory.final
        m = self._measures(params, prediction, trajectory)
        S = m["S"]
        draws = np.arange(1, fin["unit_sup"].shape[1] + 1)
        running = np.cumsum(fin["unit_sup"], 1) / draws / prediction["unit_bound"][:, None]
        N = prediction["N"]
        key = seed_check("lower estimate of the class complexity / checked (Golowich) bound", m["ratio"], 1.0, "<=",
                         curve=Curve(draws, running, xlabel="sign draws", ylabel="running estimate / bound",
                                     logx=False, logy=False, predicted=np.ones(draws.shape),
                                     predicted_label="checked bound"), quantifier="every")
        ident = seed_check("DeepONet equals the |.|-network on u (x) y (relative max deviation)",
                           np.maximum(fin["identity_err"][:S], fin["identity_err"][S:]), 1e-10, "<=", quantifier="every")
        steps = trajectory.steps[1:]                                                    # log axis: drop t = 0
        frob = trajectory.series["frobenius"][:, 1:]                                    # (2S, T)
        scale = (np.sqrt(2 * np.log(2) * params.n_layers) + 1) * np.sqrt(prediction["S2"]) / N
        lowers = seed_check("regularizer lowers the checked bound (reg / no reg)", m["bound"][S:] / m["bound"][:S], 1.0,
                            "<=", curve=Curve(steps, frob[S:] * scale[:, None], ylabel="checked bound",
                                              predicted=None, extra={"no regularizer": frob[:S] * scale[:, None]}), quantifier="every")
        test = seed_check(f"regularizer does not hurt the test error (reg / no reg <= {params.test_ratio_tol:g})",
                          fin["test_rel_err"][S:] / fin["test_rel_err"][:S], params.test_ratio_tol, "<=", quantifier="every")
        return [key, ident, lowers, test]

    def controls(self, params: DeepONetParams, data, prediction, trajectory) -> list[CheckResult]:
        m = self._measures(params, prediction, trajectory)
        return [seed_check("wrong rate: bound with 1/sqrt(N) -> 1/N (estimate / it <= 1)",
                           m["est_unit"] / prediction["too_fast_unit"], 1.0, "<=", quantifier="every")]
