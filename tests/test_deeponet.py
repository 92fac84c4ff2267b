"""DeepONets: tensor-product identity, bounds, the paper's capacity measure, the estimate, the claim."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from theorycheck.errors import InputError
from theorycheck.numerics import deeponet as nd
from theorycheck.theory import deeponet as td
from theorycheck.verify.claim import Verdict
from theorycheck.verify.claims.deeponet import DeepONetRademacher
from theorycheck.verify.runner import run_claim

torch.set_num_threads(1)


def _net(S, n_layers, m_u=5, m_y=2, h=4, p=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    bw = [m_u] + [h] * (n_layers - 1) + [p]
    tw = [m_y] + [h + 1] * (n_layers - 1) + [p]
    return nd.init_weights(S, bw, g), nd.init_weights(S, tw, g)


@pytest.mark.parametrize("n_layers", [2, 3, 4])
def test_deeponet_is_abs_network_on_tensor_product(n_layers):
    data = nd.antiderivative_data([0, 1], 6, 3, 4)
    Bw, Tw = _net(2, n_layers)
    g1 = nd.deeponet(Bw, Tw, data["U"], data["Y"])
    g2 = nd.kron_forward(Bw, Tw, data["U"], data["Y"])
    assert float((g1 - g2).abs().max()) <= 1e-12 * float(g1.abs().max())
    # Frobenius norms of the Kronecker layers factorize
    K = nd.kron_layers(Bw, Tw)
    torch.testing.assert_close(torch.stack([torch.linalg.matrix_norm(k) for k in K], -1), nd.layer_norms(Bw, Tw),
                               rtol=1e-12, atol=0)


def test_antiderivative_targets_match_quadrature():
    data = nd.antiderivative_data([3], 4, 5, 2001, modes=5)
    U, Y, G = data["U"][0], data["Y"][0], data["G"][0]
    xs = np.linspace(0, 1, 2001)
    u = U[:, :-1].numpy() * math.sqrt(2001)
    for f in range(4):
        for p in range(5):
            y = float(Y[f, p, 0])
            fine = np.linspace(0, y, 4001)
            val = np.trapezoid(np.interp(fine, xs, u[f]), fine)
            assert val == pytest.approx(float(G[f, p]), abs=2e-5)
    assert torch.all(U[:, -1] == 1) and torch.all(Y[..., 1] == 1)


def test_bound_hand_values_and_control():
    b = td.deeponet_bound(3)
    val = float(b.evaluate(M_F=2.0, S2=9.0, n=4))
    assert val == pytest.approx((math.sqrt(6 * math.log(2)) + 1) * 2 * 3 / 4, rel=1e-14)
    fast = float(td.too_fast_bound(3).evaluate(M_F=2.0, S2=9.0, n=4))
    assert fast == pytest.approx(val / 2, rel=1e-14)
    assert "sqrt" in b.latex


def test_capacity_measures_numpy_vs_torch_and_ordering():
    Bw, Tw = _net(3, 3, seed=2)
    Bs, Ts = [b.numpy() for b in Bw], [t.numpy() for t in Tw]
    np.testing.assert_allclose(td.paper_capacity(Bs, Ts), nd.paper_capacity(Bw, Tw).numpy(), rtol=1e-13)
    np.testing.assert_allclose(td.frobenius_product(Bs, Ts), nd.layer_norms(Bw, Tw).prod(-1).numpy(), rtol=1e-13)
    assert np.all(td.paper_capacity(Bs, Ts) <= td.frobenius_product(Bs, Ts) * (1 + 1e-12))


def test_paper_measure_matches_authors_code_transcription():
    """Transcription of the authors' ``calculate_radbound`` loops (weights stored (in, out))."""
    Bw, Tw = _net(1, 3, seed=4)
    branch = [b[0].numpy().T for b in Bw]
    trunk = [t[0].numpy().T for t in Tw]
    n = len(branch)
    p = branch[n - 1].T.shape[0]
    norm_matrix_n = np.abs(sum(np.outer(branch[n - 1].T[j], trunk[n - 1].T[j]) for j in range(p)))
    nb = np.array([np.linalg.norm(branch[n - 2].T[k]) for k in range(branch[n - 2].T.shape[0])])
    nt = np.array([np.linalg.norm(trunk[n - 2].T[k]) for k in range(trunk[n - 2].T.shape[0])])
    C = [nb @ norm_matrix_n @ nt]
    for k in range(2, n):
        bk, tk = branch[n - k - 1].T, trunk[n - k - 1].T
        M = np.array([[np.linalg.norm(bk[j1]) * np.linalg.norm(tk[j2]) for j2 in range(tk.shape[0])]
                      for j1 in range(bk.shape[0])])
        C.append(np.linalg.norm(M, ord=2))
    authors = C[0] * C[1] / np.sqrt(7 * 3)
    ours = td.authors_radbound([b.numpy() for b in Bw], [t.numpy() for t in Tw], 7, 3)
    assert float(ours[0]) == pytest.approx(authors, rel=1e-12)


def test_normalized_correlation_is_scale_invariant():
    data = nd.antiderivative_data([0], 5, 3, 4)
    Bw, Tw = _net(1, 3, seed=5)
    sigma = torch.tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(1, 5, 3)))
    v = nd.normalized_correlation(Bw, Tw, data["U"], data["Y"], sigma)
    scaled_B = [Bw[0] * 3.0, Bw[1] * 0.2, Bw[2] * 7.0]
    scaled_T = [Tw[0] * 0.5, Tw[1] * 2.0, Tw[2] / 7.0]
    torch.testing.assert_close(nd.normalized_correlation(scaled_B, scaled_T, data["U"], data["Y"], sigma), v)
    # it is the correlation of a member of the unit class (layer norms all 1)
    unit_B = [b / torch.linalg.matrix_norm(b)[:, None, None] for b in Bw]
    unit_T = [t / torch.linalg.matrix_norm(t)[:, None, None] for t in Tw]
    last = torch.linalg.matrix_norm(torch.einsum("sjk,sjl->skl", unit_B[-1], unit_T[-1]))
    unit_B[-1] = unit_B[-1] / last[:, None, None]
    assert torch.allclose(nd.layer_norms(unit_B, unit_T), torch.ones(1, 3, dtype=torch.float64))
    corr = (sigma * nd.deeponet(unit_B, unit_T, data["U"], data["Y"])).mean((-1, -2))
    torch.testing.assert_close(corr, v)
    # the paper's measure is scale-invariant too, and its unit-ball member attains the same ratio
    vp = nd.normalized_correlation(Bw, Tw, data["U"], data["Y"], sigma, measure="paper")
    torch.testing.assert_close(nd.normalized_correlation(scaled_B, scaled_T, data["U"], data["Y"], sigma, "paper"), vp)
    C = nd.paper_capacity(Bw, Tw)
    unit_C = [Bw[0], Bw[1], Bw[2] / C[:, None, None]]
    torch.testing.assert_close(nd.paper_capacity(unit_C, Tw), torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close((sigma * nd.deeponet(unit_C, Tw, data["U"], data["Y"])).mean((-1, -2)), vp)
    assert float(vp) >= float(v) if float(v) > 0 else True        # C <= Frobenius product
    with pytest.raises(InputError, match="measure"):
        nd.normalized_correlation(Bw, Tw, data["U"], data["Y"], sigma, measure="spectral")


def test_sign_correlation_max_batched_equals_loop():
    data = nd.antiderivative_data([0, 1], 4, 2, 3)
    g = torch.Generator().manual_seed(0)
    sigma = torch.tensor(np.random.default_rng(1).choice([-1.0, 1.0], size=(2, 3, 4, 2)))
    bw, tw = [4, 5, 3], [2, 4, 3]
    init = (nd.init_weights(12, bw, g), nd.init_weights(12, tw, g))            # S*K*restarts = 2*3*2
    batched = nd.sign_correlation_max(data["U"], data["Y"], sigma, bw, tw, 2, 30, 0.05, g, init=init)
    for s in range(2):
        for k in range(3):
            rows = slice((s * 3 + k) * 2, (s * 3 + k) * 2 + 2)
            one = nd.sign_correlation_max(data["U"][s:s + 1], data["Y"][s:s + 1], sigma[s:s + 1, k:k + 1], bw, tw,
                                          2, 30, 0.05, g, init=([w[rows] for w in init[0]], [w[rows] for w in init[1]]))
            assert float(one[0, 0]) == pytest.approx(float(batched[s, k]), rel=1e-10)


def test_estimate_below_bound_on_all_sign_vectors_of_a_tiny_sample():
    """Exact expectation over all 2^N sign vectors (N = 8) of the ascent's value stays below the bound."""
    data = nd.antiderivative_data([0], 4, 2, 4)
    signs = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=8)), dtype=torch.float64).reshape(1, 256, 4, 2)
    g = torch.Generator().manual_seed(0)
    best = nd.sign_correlation_max(data["U"], data["Y"], signs, [5, 6, 6, 3], [2, 6, 6, 3], 1, 60, 0.05, g)
    S2 = nd.sum_sq_norms(data["U"], data["Y"]).numpy()
    bound = td.unit_bound(3, S2, 8)
    assert 0 < float(best.mean()) <= float(bound[0])
    assert float(best.mean()) > float(td.too_fast_bound(3).evaluate(M_F=1.0, S2=S2, n=8)[0]) * 0.5


def test_train_regularizer_lowers_capacity():
    data = nd.antiderivative_data([0], 10, 3, 6)
    Bw, Tw = _net(1, 3, m_u=7, h=6, p=4, seed=7)
    both = {k: torch.cat([v, v]) for k, v in data.items()}
    tr = nd.train([torch.cat([w, w]) for w in Bw], [torch.cat([w, w]) for w in Tw], both,
                  torch.tensor([0.0, 1e-2], dtype=torch.float64), 200, 5e-3)
    assert tr.series["capacity"][1, -1] < tr.series["capacity"][0, -1]
    assert tr.series["loss"].shape[0] == 2


def test_paper_bound_hand_value_and_order():
    b = td.paper_bound(3)
    assert float(b.evaluate(C=2.0, S2=9.0, n=4)) == pytest.approx((math.sqrt(4 * math.log(2)) + 1) * 2 * 3 / 4)
    assert float(td.paper_bound(2).evaluate(C=1.0, S2=1.0, n=1)) == pytest.approx(math.sqrt(2 * math.log(2)) + 1)
    with pytest.raises(InputError, match="n_layers"):
        td.paper_bound(1)
    # at equal norms the paper's measure and depth factor make it the tighter of the two bounds
    Bw, Tw = _net(1, 3)
    Bs, Ts = [b.numpy() for b in Bw], [t.numpy() for t in Tw]
    C, MF = td.paper_capacity(Bs, Ts), td.frobenius_product(Bs, Ts)
    assert float(b.evaluate(C=C, S2=9.0, n=4)[0]) < float(td.deeponet_bound(3).evaluate(M_F=MF, S2=9.0, n=4)[0])


def test_paper_unit_class_estimate_below_paper_bound_on_all_sign_vectors():
    """Exact expectation over all 2^8 sign vectors of the ascent's value on the unit-C class stays below the
    paper's bound (constants derived by Golowich's peeling at depth n - 1), and so does the unit-Frobenius one."""
    data = nd.antiderivative_data([0], 4, 2, 4)
    signs = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=8)), dtype=torch.float64).reshape(1, 256, 4, 2)
    g = torch.Generator().manual_seed(0)
    paper = nd.sign_correlation_max(data["U"], data["Y"], signs, [5, 6, 6, 3], [2, 6, 6, 3], 1, 60, 0.05, g,
                                    measure="paper")
    frob = nd.sign_correlation_max(data["U"], data["Y"], signs, [5, 6, 6, 3], [2, 6, 6, 3], 1, 60, 0.05, g)
    S2 = nd.sum_sq_norms(data["U"], data["Y"]).numpy()
    bound = float(td.paper_bound(3).evaluate(C=1.0, S2=S2, n=8)[0])
    assert 0 < float(paper.mean()) <= bound
    assert float(frob.mean()) <= bound                      # the unit-Frobenius class lies inside the unit-C class


def test_claim_checks_the_paper_bound_across_width_and_n(quick_run):
    res = quick_run(DeepONetRademacher)
    key = res.checks[0]
    assert "paper's bound" in key.name and key.quantifier == "every"
    assert len(key.per_seed) == len(res.seeds) * (len(res.params["widths"]) + len(res.params["func_grid"]))
    names = [c.name for c in res.checks]
    assert any("slope in hidden width" in n for n in names) and any("slope in N" in n for n in names)
    assert {c.role for c in res.checks} == {"check", "certificate"}
    assert res.observations["paper's bound, reg"] < res.observations["paper's bound, no reg"]


def test_claim_bad_input():
    with pytest.raises(InputError, match="n_layers"):
        run_claim(DeepONetRademacher, preset="quick", overrides={"n_layers": "1"})
    with pytest.raises(InputError, match="reg_weight"):
        run_claim(DeepONetRademacher, preset="quick", overrides={"reg_weight": "0"})
    with pytest.raises(InputError, match="widths"):
        run_claim(DeepONetRademacher, preset="quick", overrides={"widths": "(4, 8)"})
    Bw, Tw = _net(1, 3)
    with pytest.raises(InputError, match="depth"):
        td.frobenius_factors([b.numpy() for b in Bw], [t.numpy() for t in Tw[:2]])


@pytest.mark.slow
def test_claim_full():
    res = run_claim(DeepONetRademacher, preset="full")
    assert res.verdict is Verdict.AGREES, res.message
