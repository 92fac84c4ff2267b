r"""Norm growth of approximately homogeneous networks (Merrill, Ramanujan, Goldberg, Schwartz, Smith 2021).

For parameters $\theta$ on which the loss is scale-invariant (everything a LayerNorm normalizes), the gradient is
orthogonal to $\theta$, so an update $\theta_{t+1} = \theta_t - \eta\,u_t$ with $u_t \perp \theta_t$ gives

.. math:: \|\theta_{t+1}\|^2 = \|\theta_t\|^2 + \eta^2\|u_t\|^2 .

How $\|u_t\|$ behaves decides the exponent of $\|\theta_t\| \propto t^p$:

* Adam / AdamW (no weight decay): the update is normalized coordinate-wise, $\|u_t\|$ does not depend on the
  gradient's scale, so $\|\theta_t\|^2$ grows linearly and $p = 1/2$ — the $\sqrt t$ growth Merrill et al. report for
  T5;
* plain SGD: $u_t = \nabla L$ and the gradient of a scale-invariant loss scales as $1/\|\theta\|$, so
  $\mathrm d\|\theta\|^2/\mathrm dt \propto \|\theta\|^{-2}$, $\|\theta_t\|^4$ grows linearly and $p = 1/4$.

The competing regime is a directed drift: updates that keep a component along $\theta$ step after step add
$\eta\|u_t\|$ (not $\eta^2\|u_t\|^2$) to the norm, giving $p = 1$ under Adam and, with $\|u_t\| \propto 1/\|\theta\|$,
$p = 1/2$ under SGD.
"""

from __future__ import annotations

from theorycheck.errors import InputError

#: (orthogonal-update exponent, directed-drift exponent) of ||theta_t|| ~ t^p for each optimizer
EXPONENTS = {"adamw": (0.5, 1.0), "sgd": (0.25, 0.5)}


def norm_growth_exponents(optimizer: str) -> tuple[float, float]:
    r"""The exponents $p$ of $\|\theta_t\| \propto t^p$ under ``optimizer``: for updates orthogonal to $\theta$ (the
    approximately homogeneous network: Merrill et al.'s prediction) and for a directed drift (the alternative)."""
    if optimizer not in EXPONENTS:
        raise InputError(f"optimizer must be one of {sorted(EXPONENTS)}, got {optimizer!r}")
    return EXPONENTS[optimizer]
