"""The kernel family's claims beyond the generic catalog tests: what their figures carry, rate laws given on the
command line, bad input refused before any training, and the measured quantities the docstrings quote."""

import numpy as np
import pytest

from theorycheck.errors import InputError
from theorycheck.verify.registry import load_claims
from theorycheck.verify.runner import build_params, run_claim

CATALOG = load_claims()


def _check(result, prefix):
    return next(c for c in result.checks if c.name.startswith(prefix))


def test_coord_check_has_one_panel_per_parametrization_with_later_steps(quick_run):
    result = quick_run(CATALOG["width.coord-check"])
    panels = [c for c in result.checks if c.curve is not None]
    assert [c.name.split(":")[0] for c in panels] == ["sp", "sp-lr/n", "ntp", "mup"]
    for c in panels:
        assert {"step 2", "step 3", r"$|\Delta f|$, step 1"} <= set(c.curve.extra)
        assert "slope" in c.curve.label and "[" in c.curve.label      # fitted slope with its interval


def test_init_limit_figure_draws_the_prediction_and_the_nngp_control(quick_run):
    check = quick_run(CATALOG["ntk.init-limit"]).checks[0]
    assert check.curve.predicted is not None and "vs NNGP (control)" in check.curve.extra
    assert check.curve.y.shape == (96, 4)


def test_more_is_better_figures_show_predicted_and_measured_risk_across_features_and_samples(quick_run):
    result = quick_run(CATALOG["features.more-is-better"])
    xlabels = {c.curve.xlabel for c in result.checks if c.curve is not None}
    assert xlabels == {"features $k$", "samples $n$"}
    assert result.observations["features: ridgeless peak at"] == 128      # double descent at k = n
    assert result.observations["features: ridgeless risk peak (trial mean)"] > 10 * \
        result.observations["features: optimal-ridge risk last"]


def test_kernel_regression_raw_seed_mean_stays_far_from_kernel_regression(quick_run):
    """A known trap: averaging trained nets over seeds does not approach kernel regression."""
    result = quick_run(CATALOG["ntk.kernel-regression"])
    assert result.observations["raw seed-mean of f_T vs NTK regression at the largest width (trap)"] > 0.15
    assert result.observations["median deviation, n=4096"] < 0.1


@pytest.mark.parametrize("law, verdict", [("1/t", "disagrees"), ("1/sqrt(t)", "agrees")])
def test_init_limit_accepts_a_predicted_rate_in_the_width(law, verdict):
    result = run_claim(CATALOG["ntk.init-limit"], preset="quick", device="cpu", overrides={"predicted_rate": law})
    assert result.verdict.value == verdict, result.message


@pytest.mark.parametrize("claim, overrides, match", [
    ("ntk.init-limit", {"widths": "(128, 512)"}, "widths"),
    ("ntk.init-limit", {"predicted_rate": "exp(-c*t)"}, "free parameter"),
    ("ntk.constancy", {"lr_factor": "2.5"}, "lr_factor"),
    ("ntk.kernel-regression", {"activation": "gelu"}, "activation"),
    ("width.coord-check", {"parametrizations": "(sp, mfp)"}, "parametrization"),
    ("width.coord-check", {"hidden_layers": "1"}, "hidden_layers"),
    ("width.lr-transfer", {"log2_lr_grid": "(0, -1, 0.5)"}, "log2_lr_grid"),
    ("width.super-consistency", {"checkpoints": "(0, 10)"}, "checkpoints"),
    ("features.more-is-better", {"alpha": "0.9"}, "alpha"),
    ("rank.model-rank", {"cases": "mlp:d=3"}, "architecture"),
    ("rank.optimistic-sample-size", {"width": "0"}, "width"),
])
def test_bad_input_is_refused_before_training(claim, overrides, match):
    with pytest.raises(InputError, match=match):
        build_params(CATALOG[claim], "quick", overrides)


def test_full_presets_validate():
    for cid in CATALOG:
        if cid.split(".")[0] in ("ntk", "width", "features", "rank"):
            build_params(CATALOG[cid], "full").validate()


def test_lr_transfer_marks_a_threshold_at_the_grid_edge_as_undecided():
    """A grid that never diverges cannot locate the threshold: the check is undecided, not passed."""
    result = run_claim(CATALOG["width.lr-transfer"], preset="quick", device="cpu", seeds=1,
                       overrides={"log2_lr_grid": (-7.0, -5.0, 0.5), "widths": (32, 64, 128, 256, 512),
                                  "parametrizations": ("mup",)})
    assert result.verdict.value == "inconclusive"
    assert np.isnan(result.checks[0].per_seed).all()
