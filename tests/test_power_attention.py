"""Power of the attention / transformer claims: a realistic bug injected into the theory each claim calls must turn
its quick verdict into ``disagrees`` (or ``error`` where a certificate, theory checked against itself, catches it
first — each test says which)."""

import numpy as np

from theorycheck.theory import attention as th
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims import attention as claims
from theorycheck.verify.claims import transformer as tclaims
from theorycheck.verify.runner import run_claim

_att_svm_batch = th.att_svm_batch
_token_scores = th.token_scores


def _quick(cls):
    return run_claim(cls, preset="quick", device="cpu")


def _failed(result, role="check"):
    return [c.name for c in result.checks if c.role == role and c.passed is False]


def test_frobenius_claim_rejects_the_wrong_optimal_token(monkeypatch):
    # argmax of the loss-oriented scores -gamma (the least useful token) taken as the optimal one
    monkeypatch.setattr(th, "optimal_tokens", lambda gamma: np.argmin(np.asarray(gamma), axis=-1))
    result = _quick(claims.AttentionSvmFrobenius)
    assert result.verdict is Verdict.DISAGREES, result.message
    failed = _failed(result)
    assert any(name.startswith("selected tokens") for name in failed)
    assert any(name.startswith("corr(W(t)") for name in failed)


def test_frobenius_claim_rejects_a_sign_flip_of_the_scores(monkeypatch):
    # gamma = -Y v^T x: theory reads T - 1 tied "optimal" tokens, so the equal-score hypothesis fails -> certificate
    # error (the counted checks fail too)
    monkeypatch.setattr(th, "token_scores", lambda X, Y, v: -_token_scores(X, Y, v))
    result = _quick(claims.AttentionSvmFrobenius)
    assert result.verdict is Verdict.ERROR, result.message
    assert _failed(result, "certificate") == ["hypothesis: optimal token unique (score gap)",
                                              "hypothesis: non-optimal scores equal (spread)"]
    assert any(name.startswith("selected tokens") for name in _failed(result))


def test_frobenius_claim_rejects_the_transposed_svm(monkeypatch):
    # the nn.Linear convention mixed up: the weight (our W^T) reported as W -> the margin certificate fails
    monkeypatch.setattr(th, "att_svm_batch", lambda X, Z, ids, norm="fro": np.swapaxes(
        _att_svm_batch(X, Z, ids, norm), -1, -2))
    result = _quick(claims.AttentionSvmFrobenius)
    assert result.verdict is Verdict.ERROR, result.message
    assert _failed(result, "certificate") == ["fro SVM: |margin - 1| on the token constraints"]
    assert "corr(W(t), Frobenius SVM of the predicted tokens)" in _failed(result)


def test_nuclear_claim_rejects_the_frobenius_svm(monkeypatch):
    # the Frobenius program solved where the nuclear one is meant
    monkeypatch.setattr(th, "att_svm_batch", lambda X, Z, ids, norm="fro": _att_svm_batch(X, Z, ids, "fro"))
    result = _quick(claims.AttentionSvmNuclear)
    assert result.verdict is Verdict.DISAGREES, result.message
    assert _failed(result) == ["corr(KQ^T, nuclear SVM of the predicted tokens)"]


def test_regularization_path_rejects_the_nuclear_svm(monkeypatch):
    monkeypatch.setattr(th, "att_svm_batch", lambda X, Z, ids, norm="fro": _att_svm_batch(X, Z, ids, "nuc"))
    result = _quick(claims.AttentionRegularizationPath)
    assert result.verdict is Verdict.DISAGREES, result.message
    failed = _failed(result)
    assert "corr(W_R/R, Frobenius SVM of the predicted tokens)" in failed
    assert any(name.startswith("normalized margin") for name in failed)


def test_local_vs_global_rejects_support_tokens_without_the_activity_condition(monkeypatch):
    # every non-selected token counted as a support token: local optimality collapses to global optimality
    def all_tokens(X, Z, ids, W, tol=1e-6):
        out = np.ones(np.asarray(X).shape[:2], dtype=bool)
        out[np.arange(out.shape[0]), np.asarray(ids)] = False
        return out

    monkeypatch.setattr(th, "support_tokens", all_tokens)
    result = _quick(claims.AttentionLocalVsGlobal)
    assert result.verdict is Verdict.DISAGREES, result.message
    assert _failed(result) == ["selection locally optimal (indicator)"]


def test_norm_growth_rejects_the_regimes_swapped(monkeypatch):
    # the directed-drift exponent (updates aligned step after step: p = 1 under Adam) predicted in place of the
    # orthogonal-update one
    monkeypatch.setattr(tclaims.theory, "norm_growth_exponents", lambda optimizer: (1.0, 0.5))
    result = _quick(tclaims.TransformerNormGrowth)
    assert result.verdict is Verdict.DISAGREES, result.message
    assert _failed(result) == ["a t^1 + b fits better than a t^0.5 + b: RMS residual ratio"]

