"""The verdict rules, applied to the whole catalog: every quick preset agrees on its default seeds *and* on a
held-out seed block, with at least one near-miss control rejected and a JSON report that validates."""

import json

import numpy as np
import pytest

from conftest import held_out_seeds
from theorycheck.report.documents import SCHEMA_FILE, report_json
from theorycheck.verify.registry import load_claims
from theorycheck.verify.stats import NEAR_MISS, median_order_interval

CATALOG = load_claims()
IDS = sorted(CATALOG)

#: claims shipped with an honest non-agreeing quick verdict, with the reason (their agreement tests are xfail)
KNOWN_NOT_AGREEING = {
    "dynamics.lazy-rich-delay": "no grokking setting found yet: the test loss drops before the training fit, so the "
                                "claim reports inconclusive by design (trap D11)",
}


def _skip_known(claim_id: str) -> None:
    if claim_id in KNOWN_NOT_AGREEING:
        pytest.xfail(KNOWN_NOT_AGREEING[claim_id])


def _describe(result) -> str:
    lines = [f"{result.claim}: {result.verdict.value} ({result.message})"]
    lines += [f"  {c.role} [{c.quantifier}] {c.name}: {c.value:.4g} {c.relation} {c.tolerance:.4g} -> {c.passed} "
              f"{c.reason}" for c in result.checks]
    lines += [f"  control [{c.quantifier}] {c.name}: margin {c.margin:.3g} rejected={c.passed is False}"
              for c in result.controls]
    return "\n".join(lines)


@pytest.mark.parametrize("claim_id", IDS)
def test_quick_preset_agrees_on_default_seeds(claim_id, quick_run):
    _skip_known(claim_id)
    result = quick_run(CATALOG[claim_id])
    assert result.verdict.value == "agrees", _describe(result)


@pytest.mark.parametrize("claim_id", IDS)
def test_quick_preset_agrees_on_the_held_out_seed_block(claim_id, quick_run):
    _skip_known(claim_id)
    cls = CATALOG[claim_id]
    result = quick_run(cls, held_out_seeds(cls))
    assert result.verdict.value == "agrees", _describe(result)


@pytest.mark.parametrize("claim_id", IDS)
def test_every_claim_rejects_a_near_miss_control(claim_id, quick_run):
    result = quick_run(CATALOG[claim_id])
    near = [c for c in result.controls if c.passed is False and np.isfinite(c.margin) and c.margin <= NEAR_MISS]
    assert near, f"{claim_id}: no rejected control within {NEAR_MISS}x of its tolerance\n" + _describe(result)


@pytest.mark.parametrize("claim_id", IDS)
def test_checks_declare_quantifiers_and_typical_checks_have_calibrated_seed_counts(claim_id, quick_run):
    result = quick_run(CATALOG[claim_id])
    assert any(c.counted for c in result.checks)
    for check in result.checks + result.controls:
        assert check.quantifier in ("every", "typical", "mean", "probability")
        if check.quantifier == "typical" and check.counted:
            found = median_order_interval(np.asarray(check.per_seed), check.level)
            assert found is not None, f"{check.name}: too few seeds for a median interval"
            assert found[3] <= check.level + 0.03, (
                f"{check.name}: {len(check.per_seed)} seeds give a {found[3]:.1%} interval (over-covers; use 6, 9, "
                "10, 12, 13, 15 or 16 seeds)")


def test_catalog_report_validates_against_the_shipped_schema(quick_run):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads(json.dumps(report_json([quick_run(CATALOG[cid]) for cid in IDS])))
    jsonschema.validate(doc, schema)
