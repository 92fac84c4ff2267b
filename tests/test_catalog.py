"""Every claim in the built-in catalog ships what docs/writing-claims.md asks of it."""

import dataclasses

import pytest

from theorycheck.verify.claim import Claim, Params
from theorycheck.verify.registry import load_claims

CATALOG = load_claims()


def test_catalog_is_not_empty():
    assert len(CATALOG) >= 1


@pytest.mark.parametrize("claim_id", sorted(CATALOG))
def test_claim_declares_its_metadata(claim_id):
    cls = CATALOG[claim_id]
    assert issubclass(cls, Claim) and cls.id == claim_id and claim_id.count(".") == 1
    assert cls.title and cls.statement and cls.statement_text
    src = cls.source
    assert src.authors and 1900 < src.year < 2100 and src.title
    assert src.arxiv or src.venue, f"{claim_id}: give an arXiv id or a venue"
    assert issubclass(cls.Params, Params) and dataclasses.is_dataclass(cls.Params)
    assert cls.Params.__dataclass_params__.frozen
    quick, full = cls.Params.quick(), cls.Params.full()
    full_seeds = cls.preset_seeds.get("full", cls.default_seeds)
    quick_seeds = cls.preset_seeds.get("quick", cls.default_seeds)
    assert quick != full or full_seeds > quick_seeds, f"{claim_id}: the quick and full presets are the same"
    for preset in (cls.Params(), quick, full):
        preset.validate()
    assert "controls" in vars(cls) or any("controls" in vars(base) for base in cls.__mro__[1:] if base is not Claim)


def test_every_claim_says_what_its_checks_test():
    from theorycheck.verify.claim import EVIDENCE
    from theorycheck.verify.registry import load_claims
    catalog = load_claims()
    assert all(cls.evidence in EVIDENCE for cls in catalog.values())
    assert catalog["regularizers.matrix-factorization"].evidence == "derived"
