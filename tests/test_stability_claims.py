"""Claim-level behaviour of the stability family beyond the generic catalog tests (which check that each quick
preset agrees on the default and held-out seeds with a near miss): bad input, where controls are evaluated,
figures, observations, and the honest inconclusive verdict of the lazy-rich claim."""

import numpy as np
import pytest

from theorycheck.errors import InputError
from theorycheck.verify.registry import load_claims
from theorycheck.verify.runner import build_params

CATALOG = load_claims()
FAMILY = ["stability.delayed-threshold", "stability.async-minima-selection", "stability.gfs-sharpness",
          "stability.edge-of-stability", "stability.minima-function-space", "margins.ensemble-discards-shallow",
          "margins.diagonal-kkt", "dynamics.lazy-rich-delay"]


@pytest.mark.parametrize("claim_id, bad", [
    ("stability.delayed-threshold", {"taus": "-1,2"}),
    ("stability.delayed-threshold", {"betas": "0.5"}),
    ("stability.async-minima-selection", {"u": "1.5"}),
    ("stability.async-minima-selection", {"taus": "1,2"}),
    ("stability.gfs-sharpness", {"depths": "1"}),
    ("stability.edge-of-stability", {"etas": "0.4"}),
    ("stability.edge-of-stability", {"flow_eta": "0.9"}),
    ("stability.minima-function-space", {"etas": "2.5"}),
    ("margins.ensemble-discards-shallow", {"anneal": "0"}),
    ("margins.diagonal-kkt", {"dim": "2"}),
    ("dynamics.lazy-rich-delay", {"alphas": "0.1,0.5"}),
])
def test_bad_parameters_are_refused_before_training(claim_id, bad):
    with pytest.raises(InputError):
        build_params(CATALOG[claim_id], "quick", bad)


@pytest.mark.parametrize("claim_id", FAMILY)
def test_presets_validate_and_declare_sources(claim_id):
    cls = CATALOG[claim_id]
    for preset in ("quick", "full"):
        build_params(cls, preset).validate()
    assert cls.source.year and cls.source.title and cls.statement_text


def test_delayed_threshold_controls_only_where_they_differ(quick_run):
    result = quick_run(CATALOG["stability.delayed-threshold"])
    asymptotic = next(c for c in result.controls if c.name.startswith("asymptotic"))
    assert "tau=3" not in asymptotic.name and "tau=0" in asymptotic.name  # within 1% of a* for tau >= 3: skipped
    harmonic = next(c for c in result.controls if "1/(tau+1)" in c.name)
    assert "tau=1," not in harmonic.name  # equal to a* at tau = 1
    curve = next(c.curve for c in result.checks if c.name.startswith("simulated threshold"))
    assert curve.x.tolist() == list(range(9)) and len(curve.extra) == 4


def test_edge_of_stability_figure_and_loss_spike_observation(quick_run):
    result = quick_run(CATALOG["stability.edge-of-stability"])
    curve = result.checks[0].curve
    assert np.allclose(curve.predicted, 2 / 0.4) and not curve.logx
    frac = result.observations["loss spikes: fraction of rising steps with eta S/2 > 1"]
    assert 0.0 <= frac <= 1.0
    assert result.observations["max relative Lanczos residual of the tracked sharpness"] < 0.2


def test_gfs_figure_draws_phi_with_the_loss_beside_it(quick_run):
    curve = quick_run(CATALOG["stability.gfs-sharpness"]).checks[0].curve
    assert "loss" in curve.extra and curve.y.shape[1] == curve.x.size


def test_lazy_rich_is_inconclusive_because_the_setting_does_not_grok(quick_run):
    result = quick_run(CATALOG["dynamics.lazy-rich-delay"])
    assert result.verdict.value == "inconclusive"
    assert "does not grok" in result.message
    assert all(c.passed is False for c in result.controls)
