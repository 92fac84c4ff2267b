"""``theorycheck new NAME``: write a documented template claim that runs as it is."""

from __future__ import annotations

import re
from pathlib import Path

from theorycheck.errors import InputError

TEMPLATE = '''"""{claim_id}: a template claim written by `theorycheck new`.

Replace the theorem below with yours. As written, it checks a classical fact so that
`theorycheck run --claims {filename} {claim_id} --quick` agrees out of the box:

    Gradient descent on the least-squares loss L(w) = (1/2n)||Xw - y||^2 with n < d, started
    at w = 0 and step eta < 2/lambda_max(X^T X / n), converges to the minimum-norm interpolant
    w* = X^+ y; the error decays like exp(-c t) with c = -log(1 - eta*lambda_min^+).

The four parts of a claim:
  make_data  — the data, generated in code and deterministic in the seed;
  predict    — what theory predicts (numpy / sympy / cvxpy; no torch);
  simulate   — what training does (torch, one batched program for all seeds);
  checks     — compare them; controls — the same checks against wrong predictions, which
               must be rejected (otherwise the claim is inconclusive).
"""

from dataclasses import dataclass

import numpy as np
import torch

from theorycheck import Claim, Curve, InputError, Params, Recorder, Source, Trajectory, register, seed_check


@dataclass(frozen=True)
class TemplateParams(Params):
    n: int = 10
    d: int = 60
    lr: float = 1.0  # in units of 1/lambda_max: stable below 2
    steps: int = 300

    @classmethod
    def quick(cls):
        return cls(steps=200)

    @classmethod
    def full(cls):
        return cls(n=50, d=300, steps=1000)

    def validate(self):
        if not 0 < self.n < self.d:
            raise InputError(f"need 0 < n < d for an underdetermined problem, got n={{self.n}}, d={{self.d}}")
        if not 0 < self.lr < 2:
            raise InputError(f"lr must be in (0, 2) (units of 1/lambda_max), got {{self.lr}}")


@register
class TemplateClaim(Claim):
    id = "{claim_id}"
    title = "GD on underdetermined least squares converges to the min-norm interpolant"
    source = Source(authors="(your name)", year=2026, title="(your paper)", venue="", arxiv="")
    statement = r"w_t \\to X^+ y, \\quad \\|w_t - X^+ y\\| = O(e^{{-ct}})"
    statement_text = "GD from zero converges to the pseudo-inverse solution at a linear rate."
    # where the check departs from the paper's statement (`theorycheck show` prints it); empty if nowhere
    departures = "The rate is checked on the fitted decay constant, not as a bound for every t."
    Params = TemplateParams
    default_seeds = 4

    def make_data(self, params, seeds):
        rng = [np.random.default_rng(s) for s in seeds]
        X = np.stack([r.standard_normal((params.n, params.d)) for r in rng]) / np.sqrt(params.d)
        y = np.stack([r.standard_normal(params.n) for r in rng])
        return X, y

    def predict(self, params, data):
        X, y = data
        return np.einsum("bdn,bn->bd", np.linalg.pinv(X), y)

    def simulate(self, params, data, device, seeds):
        X, y = (torch.as_tensor(a, dtype=torch.float64, device=device) for a in data)
        lam_max = torch.linalg.eigvalsh(X.transpose(1, 2) @ X / params.n)[:, -1].max()
        lr = params.lr / float(lam_max)  # a safe step for every seed
        steps = np.arange(1, params.steps + 1)  # every step: the decay is linear in t
        recorder = Recorder(steps)
        w = torch.zeros(X.shape[0], X.shape[2], dtype=torch.float64, device=device)
        for t in range(1, params.steps + 1):
            residual = torch.einsum("bnd,bd->bn", X, w) - y
            w = w - lr * torch.einsum("bnd,bn->bd", X, residual) / params.n
            if recorder.wants(t):
                recorder.record(w=w)
        return Trajectory(steps=steps, series=recorder.finish(), device=str(device))

    def _gap(self, trajectory, target):
        w = trajectory.series["w"]
        return np.linalg.norm(w - target[:, None, :], axis=-1) / np.linalg.norm(target, axis=-1)[:, None]

    def _rates(self, params, data):
        """Predicted decay constants per seed: c = -log(1 - eta lambda_min^+) for the discrete GD map,
        and the gradient-flow value eta lambda_min^+ a researcher might write by mistake."""
        X, _ = data
        gram = np.einsum("bnd,bmd->bnm", X, X) / params.n  # nonzero spectrum of X^T X / n
        eig = np.linalg.eigvalsh(gram)
        lr = params.lr / eig[:, -1].max()
        return -np.log1p(-lr * eig[:, 0]), lr * eig[:, 0]

    def _fitted_rate(self, trajectory, gap):
        """Per seed, the decay constant fitted where the gap is in (1e-10, 1e-3): past the transient of the
        fast modes, before the float64 floor."""
        steps = trajectory.steps
        rates = []
        for g in gap:
            keep = (g > 1e-10) & (g < 1e-3)
            rates.append(-np.polyfit(steps[keep], np.log(g[keep]), 1)[0] if keep.sum() >= 3 else np.nan)
        return np.array(rates)

    def checks(self, params, data, prediction, trajectory):
        gap = self._gap(trajectory, prediction)
        # the figure draws what the check tests: the gap per seed (median and quartiles), its tolerance as a line
        curve = Curve(trajectory.steps, gap, ylabel=r"$\\|w_t - X^+y\\| / \\|X^+y\\|$", logy=True, band="line")
        # "for every dataset": each seed is judged on its own; one violation is a counterexample
        final = seed_check("relative error to X^+ y", gap[:, -1], 1e-6, "<=", curve=curve, quantifier="every")
        c_pred, _ = self._rates(params, data)
        rel = np.abs(self._fitted_rate(trajectory, gap) / c_pred - 1)
        rate = seed_check("fitted decay constant vs -log(1 - eta lambda_min) (relative)", rel, 0.05, "<=",
                          quantifier="every")
        return [final, rate]

    def controls(self, params, data, prediction, trajectory):
        X, y = data
        ridge = np.stack([np.linalg.solve(x.T @ x + np.eye(x.shape[1]), x.T @ v) for x, v in zip(X, y)])
        gap = self._gap(trajectory, ridge)
        _, c_flow = self._rates(params, data)
        wrong = np.abs(self._fitted_rate(trajectory, self._gap(trajectory, prediction)) / c_flow - 1)
        return [
            # a straw man: any data reject it by orders of magnitude
            seed_check("relative error to the ridge solution (lambda = 1)", gap[:, -1], 1e-6, "<=", quantifier="every"),
            # a near miss: the gradient-flow rate eta lambda_min in place of the discrete -log(1 - eta lambda_min)
            seed_check("gradient-flow decay constant eta lambda_min (relative)", wrong, 0.05, "<=", quantifier="every"),
        ]
'''


def write_template(claim_id: str, out: Path | None = None) -> Path:
    """Write the template for ``claim_id`` (``family.name``) to ``out`` (default ``<name>.py``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*", claim_id):
        raise InputError(f"claim id {claim_id!r} must look like family.name (lowercase letters, digits, - or _)")
    path = Path(out) if out is not None else Path(claim_id.split(".", 1)[1].replace("-", "_") + ".py")
    if path.exists():
        raise InputError(f"{str(path)!r} exists already; choose another --out")
    path.write_text(TEMPLATE.format(claim_id=claim_id, filename=path.name))
    return path
