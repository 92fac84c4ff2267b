"""The claim protocol: parameters, coercion, the interval rule and verdicts."""

from dataclasses import dataclass

import numpy as np
import pytest

from theorycheck.errors import InputError
from theorycheck.verify.claim import CheckResult, Params, Verdict, decide
from theorycheck.verify.stats import interval_decision, seed_check


@dataclass(frozen=True)
class P(Params):
    n: int = 3
    lr: float = 0.1
    loss: str = "logistic"
    flag: bool = False
    alphas: tuple[float, ...] = (0.1, 1.0)


def test_string_tuples_are_stripped():
    @dataclass(frozen=True)
    class Names(Params):
        names: tuple[str, ...] = ("sp",)

    assert Names().with_overrides({"names": "(sp, mup)"}).names == ("sp", "mup")


def test_overrides_are_typed():
    p = P().with_overrides({"n": "7", "lr": "1e-3", "flag": "true", "alphas": "0.5,2", "loss": "exp"})
    assert (p.n, p.lr, p.flag, p.alphas, p.loss) == (7, 1e-3, True, (0.5, 2.0), "exp")
    assert P().with_overrides({"n": "1e3"}).n == 1000


@pytest.mark.parametrize("key,value,needle", [
    ("m", "3", "unknown parameter 'm'"),
    ("n", "3.5", "parameter 'n' expects int"),
    ("lr", "fast", "parameter 'lr' expects float"),
    ("lr", "nan", "parameter 'lr' expects float"),
    ("flag", "maybe", "parameter 'flag' expects bool"),
    ("loss", 3, "parameter 'loss' expects str"),
])
def test_bad_overrides_name_the_problem(key, value, needle):
    with pytest.raises(InputError, match=needle) as err:
        P().with_overrides({key: value})
    if key == "m":
        assert "valid keys: alphas, flag, loss, lr, n" in str(err.value)


def test_unknown_preset():
    with pytest.raises(InputError, match="unknown preset"):
        P.preset("medium")


def test_interval_rule():
    assert interval_decision(0.1, 0.2, 0.3, "<=") is True
    assert interval_decision(0.4, 0.5, 0.3, "<=") is False
    assert interval_decision(0.2, 0.4, 0.3, "<=") is None
    assert interval_decision(0.4, 0.5, 0.3, ">=") is True


def test_seed_check_uses_the_interval_not_the_point():
    straddling = seed_check("gap", [0.01, 0.02, 0.5, 0.6, 0.03, 0.04], 0.1, quantifier="typical")
    assert straddling.passed is None and "straddles" in straddling.reason
    assert seed_check("gap", [0.01, 0.02, 0.03] * 2, 0.1, quantifier="typical").passed is True
    assert seed_check("gap", [0.5, 0.6, 0.7] * 2, 0.1, quantifier="typical").passed is False
    nan = seed_check("gap", [0.01, np.nan], 0.1, quantifier="every")
    assert nan.passed is None and "non-finite" in nan.reason


def _c(name, passed, role="check"):
    return CheckResult(name, 0.0, 1.0, "<=", passed, role=role)


def test_decide():
    assert decide([_c("a", True)], [_c("x", False)])[0] is Verdict.AGREES
    assert decide([_c("a", False)], [_c("x", False)])[0] is Verdict.DISAGREES
    assert decide([_c("a", None)], [_c("x", False)])[0] is Verdict.INCONCLUSIVE
    verdict, why = decide([_c("a", True)], [_c("x", True)])
    assert verdict is Verdict.INCONCLUSIVE and "control x not rejected" in why
    verdict, why = decide([_c("a", True)], [])
    assert verdict is Verdict.INCONCLUSIVE and "no control" in why


def test_no_counted_check_is_an_error_not_an_agreement():
    verdict, why = decide([], [_c("x", False)], "mine.empty")
    assert verdict is Verdict.ERROR and "mine.empty" in why and "no counted check" in why
    verdict, why = decide([_c("cvxpy = closed form", True, "certificate")], [_c("x", False)], "mine.cert")
    assert verdict is Verdict.ERROR and "no counted check" in why


def test_a_failed_certificate_is_an_error_and_a_passed_one_does_not_count():
    verdict, why = decide([_c("a", True), _c("KKT residual", False, "certificate")], [_c("x", False)])
    assert verdict is Verdict.ERROR and "certificate" in why and "KKT residual" in why
    verdict, why = decide([_c("a", True), _c("KKT residual", None, "certificate")], [_c("x", False)])
    assert verdict is Verdict.INCONCLUSIVE and "KKT residual undecided" in why
    verdict, why = decide([_c("a", True), _c("KKT residual", True, "certificate")], [_c("x", False)])
    assert verdict is Verdict.AGREES and "1 checks passed" in why and "1 certificates held" in why


def test_public_api_runs_a_claim(toy_claims):
    import theorycheck

    (result,) = theorycheck.run(["toy.mean"], preset="quick", seeds=2, device="cpu", claim_files=[toy_claims])
    assert result.verdict is theorycheck.Verdict.AGREES and result.seeds == [0, 1]
    assert result.to_json()["controls"][0]["rejected"] is True
