"""Attention and transformer numerics: closed-form gradients against autograd and a high-precision reference, the
(K, Q) convention against the authors' nn.Linear modules, batched runs against per-seed runs."""

import mpmath
import numpy as np
import pytest
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import attention as na
from theorycheck.numerics import transformer as nt


def _data(seeds=(0, 1, 2), n=3, T=4, d=5):
    return na.attention_data(list(seeds), n, T, d)


def _autograd_loss(W, X, Y, Z, v):
    s = torch.einsum("ntd,de,ne->nt", X, W, Z)
    f = (torch.softmax(s, -1) * (X @ v)).sum(-1)
    return torch.nn.functional.softplus(-Y * f).mean()


def test_closed_form_gradient_matches_autograd_per_seed():
    data = _data()
    W = torch.randn((3, 5, 5), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    loss, G, _ = na.loss_and_grad(W, data["X"], data["Y"], data["Z"], data["v"])
    for b in range(3):
        Wb = W[b].clone().requires_grad_(True)
        ref = _autograd_loss(Wb, data["X"][b], data["Y"][b], data["Z"][b], data["v"][b])
        ref.backward()
        assert float(loss[b]) == pytest.approx(ref.item(), rel=1e-12)
        assert torch.allclose(G[b], Wb.grad, rtol=1e-9, atol=1e-14)


def test_stable_gradient_direction_matches_high_precision_at_large_scale():
    # at score gaps of ~60 the naive p(u - f) form is rounding noise in float64; the pairwise log-domain form is not
    data = _data(seeds=(3,), n=2, T=3, d=2)
    X, Y, Z, v = (data[k][0].numpy() for k in ("X", "Y", "Z", "v"))
    W = np.array([[40.0, -25.0], [30.0, 55.0]])
    mpmath.mp.dps = 80
    G_ref = np.zeros((2, 2))
    for i in range(2):
        s = [mpmath.mpf(float(X[i, t] @ W @ Z[i])) for t in range(3)]
        m = max(s)
        e = [mpmath.exp(st - m) for st in s]
        p = [et / sum(e) for et in e]
        u = [mpmath.mpf(float(X[i, t] @ v)) for t in range(3)]
        f = sum(pt * ut for pt, ut in zip(p, u))
        g = -Y[i] * (1 / (1 + mpmath.exp(Y[i] * f))) / 2
        for t in range(3):
            c = g * p[t] * (u[t] - f)
            G_ref += float(c * 1e40) * np.outer(X[i, t], Z[i])  # scaled: only the direction is compared
    _, G, _ = na.loss_and_grad(torch.as_tensor(W)[None], data["X"], data["Y"], data["Z"], data["v"], rescale=True)
    G = G[0].numpy()
    cos = np.sum(G * G_ref) / np.linalg.norm(G) / np.linalg.norm(G_ref)
    assert cos == pytest.approx(1.0, abs=1e-10)


def test_kq_convention_matches_the_authors_linear_modules():
    # the authors: Q = query(z) = z Wq^T, K = key(X) = X Wk^T, scores Q K^T; ours: W = K Q^T with K = Wk^T, Q = Wq^T
    d = 4
    g = torch.Generator().manual_seed(1)
    query = torch.nn.Linear(d, d, bias=False).double()
    key = torch.nn.Linear(d, d, bias=False).double()
    X = torch.randn((5, d), dtype=torch.float64, generator=g)
    z = torch.randn((d,), dtype=torch.float64, generator=g)
    theirs = (query(z[None]) @ key(X).T)[0]
    K, Q = key.weight.T, query.weight.T
    ours = X @ (K @ Q.T) @ z
    assert torch.allclose(theirs, ours, atol=1e-12)
    # and the authors' univariate W module: their weight is our W^T
    lin = torch.nn.Linear(d, d, bias=False).double()
    assert torch.allclose((z[None] @ lin(X).T)[0], X @ lin.weight.T @ z, atol=1e-12)


def test_data_reproduce_the_authors_generator():
    gen = torch.Generator()
    gen.manual_seed(5)
    v = torch.randn(10, generator=gen)
    v /= torch.norm(v)
    Y = 2 * torch.ones(6) * (torch.randn(6, generator=gen) > 0) - 1
    X = torch.randn((6, 8, 10), generator=gen)
    X /= torch.norm(X, dim=-1, keepdim=True)
    Z = torch.randn((6, 10), generator=gen)
    Z /= torch.norm(Z, dim=-1, keepdim=True)
    data = na.attention_data([5], 6, 8, 10)
    assert sorted(data) == ["X", "Y", "Z", "v"]  # which token is optimal is theory's to say
    for name, ref in (("v", v), ("Y", Y), ("X", X), ("Z", Z)):
        assert torch.equal(data[name][0].to(ref.dtype), ref), name


def test_equal_score_data_have_one_best_token_and_equal_others():
    data = na.equal_score_data([0, 1], n=5, T=6, d=7, opt_score=0.6, other_score=-0.1)
    X, Y, v = data["X"], data["Y"], data["v"]
    assert torch.allclose(X.norm(dim=-1), torch.ones(2, 5, 6, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(v.norm(dim=-1), torch.ones(2, dtype=torch.float64), atol=1e-14)
    gamma = torch.einsum("bntd,bd->bnt", X, v) * Y[..., None]
    top = gamma.max(dim=-1).values
    assert torch.allclose(top, torch.full_like(top, 0.6), atol=1e-14)
    others = torch.sort(gamma, dim=-1).values[..., :-1]
    assert torch.allclose(others, torch.full_like(others, -0.1), atol=1e-14)
    assert torch.equal(na.equal_score_data([1], 5, 6, 7, 0.6, -0.1)["X"][0], X[1])  # batched = per seed
    with pytest.raises(InputError, match="other_score < opt_score"):
        na.equal_score_data([0], 2, 3, 4, opt_score=0.1, other_score=0.2)


@pytest.mark.parametrize("param", ["W", "KQ"])
def test_batched_training_equals_per_seed_runs(param):
    seeds = [0, 1, 2]
    data = _data(seeds)
    rec = np.array([1, 10, 50])
    inits = {k: na.init_weights(seeds, (5, 5), 0.3, offset=o) for k, o in (("W0", 1), ("K0", 2), ("Q0", 3))}
    kw = {"W0": inits["W0"]} if param == "W" else {"K0": inits["K0"], "Q0": inits["Q0"], "ridge": 1e-3}
    batched = na.train_attention(data, 50, 0.1, rec, param, **kw)
    for b in range(3):
        one = {k: v[b:b + 1] for k, v in data.items()}
        kw1 = {k: (v[b:b + 1] if torch.is_tensor(v) else v) for k, v in kw.items()}
        single = na.train_attention(one, 50, 0.1, rec, param, **kw1)
        assert np.allclose(batched.series["W"][b], single.series["W"][0], atol=1e-12)
        assert np.array_equal(batched.series["selected"][b], single.series["selected"][0])


def test_regularization_path_stays_on_the_sphere():
    data = _data()
    tr = na.regularization_path(data, [0.5, 2.0, 8.0], 100, torch.zeros((3, 5, 5), dtype=torch.float64))
    assert np.allclose(tr.series["norm"], [[0.5, 2.0, 8.0]] * 3, rtol=1e-9)
    assert np.all(tr.series["stationarity"][:, -1] < 1e-2)
    with pytest.raises(InputError, match="increasing"):
        na.regularization_path(data, [2.0, 1.0], 10, torch.zeros((3, 5, 5), dtype=torch.float64))


def test_bad_training_inputs():
    data = _data()
    with pytest.raises(InputError, match="param"):
        na.train_attention(data, 10, 0.1, np.array([10]), "V")
    with pytest.raises(InputError, match="steps"):
        na.train_attention(data, 0, 0.1, np.array([1]), "W", W0=torch.zeros((3, 5, 5), dtype=torch.float64))


# ---------------------------------------------------------------------------------------------------------------
# transformer
# ---------------------------------------------------------------------------------------------------------------

def test_transformer_batched_forward_equals_per_seed():
    params = nt.init_params([0, 1], vocab=5, length=6, width=8, heads=2, layers=2, ffn=16,
                            dtype=torch.float64, device="cpu", std=0.3)
    x, _ = nt.sequence_data([0, 1], "copy", 5, 6, 4)
    logits, scores = nt.forward(params, x, layers=2, heads=2, return_scores=True)
    for b in range(2):
        one = {k: v[b:b + 1] for k, v in params.items()}
        lb, sb = nt.forward(one, x[b:b + 1], layers=2, heads=2, return_scores=True)
        assert torch.allclose(logits[b], lb[0], atol=1e-12)
        assert torch.equal(torch.isinf(scores[0][b]), torch.isinf(sb[0][0]))
    # the fused attention used in training computes the same logits as the explicit scores
    assert torch.allclose(nt.forward(params, x, layers=2, heads=2), logits, atol=1e-12)
    # causal: changing a later token does not change earlier logits
    x2 = x.clone()
    x2[:, :, -1] = (x2[:, :, -1] + 1) % 5
    assert torch.allclose(nt.forward(params, x2, 2, 2)[..., :-1, :], logits[..., :-1, :], atol=1e-12)


def test_saturation_of_nearly_uniform_ties_and_hard_scores():
    L = 5
    causal = torch.ones((L, L), dtype=torch.bool).tril()
    base = torch.zeros((1, 1, 1, L, L), dtype=torch.float64).masked_fill(~causal, -torch.inf)
    # exact ties saturate to the uniform distribution over the tie (Merrill et al.): cosine 1
    assert float(nt.saturation([base])[0]) == pytest.approx(1.0, abs=1e-12)
    # distinct but tiny scores: softmax(s) ~ uniform over k keys, softmax(1000 s) ~ one-hot: cosine ~ 1/sqrt(k)
    ramp = base + 0.01 * torch.arange(L, dtype=torch.float64)
    expected = np.mean([1 / np.sqrt(k) for k in range(2, L + 1)])
    assert float(nt.saturation([ramp])[0]) == pytest.approx(expected, rel=0.05)
    hard = base + 50 * torch.eye(L, dtype=torch.float64)
    assert float(nt.saturation([hard])[0]) == pytest.approx(1.0, abs=1e-12)


def test_transformer_training_batched_equals_per_seed():
    kw = dict(vocab=5, length=6, width=8, heads=2, layers=1, ffn=8, train_size=16, batch=4, eval_size=4)
    rec = np.array([0, 3, 6])
    both = nt.train_lm([0, 1], 6, rec, **kw)
    one = nt.train_lm([1], 6, rec, **kw)
    assert np.allclose(both.series["norm"][1], one.series["norm"][0], rtol=1e-12)
    assert np.allclose(both.series["saturation"][1], one.series["saturation"][0], rtol=1e-12)
    with pytest.raises(InputError, match="optimizer"):
        nt.train_lm([0], 2, rec, optimizer="lion", **kw)


def test_equal_scores_make_the_gradient_point_against_the_svm_everywhere():
    # the identity behind the global-convergence condition (theory/attention.py): with equal non-optimal scores,
    # <grad L(W), W^mm> = (1/n) sum_i l'_i (gamma_opt - gamma_o) p_opt sum_{t != opt} p_t (x_opt - x_t)^T W^mm z_i < 0
    from theorycheck.theory import attention as th

    data = na.equal_score_data([3], n=4, T=5, d=6, opt_score=0.5, other_score=0.1)
    X, Y, Z, v = (data[k][0].numpy() for k in ("X", "Y", "Z", "v"))
    tokens = th.optimal_tokens(th.token_scores(X, Y, v))
    W_mm = th.att_svm(X, Z, tokens, "fro").W
    rng = np.random.default_rng(0)
    for scale in (0.1, 3.0, 30.0):
        W = torch.as_tensor(scale * rng.standard_normal((1, 6, 6)))
        _, G, p = na.loss_and_grad(W, data["X"], data["Y"], data["Z"], data["v"])
        p = p[0].numpy()
        f = (p * (X @ v)).sum(-1)
        dl = -1.0 / (1.0 + np.exp(Y * f))  # l'(Y f) for the logistic loss
        idx = np.arange(4)
        diff = np.einsum("itd,de,ie->it", X[idx, tokens][:, None] - X, W_mm, Z)
        rest = (p * diff).sum(-1)  # the opt term is 0
        expected = np.mean(dl * 0.4 * p[idx, tokens] * rest)
        assert float((G[0].numpy() * W_mm).sum()) == pytest.approx(expected, rel=1e-9)
        assert expected < 0
