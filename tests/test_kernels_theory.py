"""Infinite-width kernels, eigenlearning, the random-feature risk, abc exponents and model ranks against independent
references: a 40-digit mpmath evaluation of the recursion with the textbook (arccos) formulas, scipy adaptive 2-D
quadrature of the Gaussian expectations themselves, sympy identities, Monte Carlo and published numbers."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, special

from theorycheck.errors import InputError
from theorycheck.theory import kernels as K
from theorycheck.theory import model_rank as MR
from theorycheck.theory import width_scaling as W


def _inputs(count=6, dim=5, seed=0):
    """Gaussian inputs with a colinear (x1 = x0/2) and an antipodal (x2 = -x0) partner of x0."""
    X = np.random.default_rng(seed).standard_normal((count, dim))
    X[1] = 0.5 * X[0]
    X[2] = -X[0]
    return X


# ------------------------------------------------------------------------------------------------
# independent references

def _mp_expectations(activation, q1, q2, s):
    """E[phi phi], E[phi' phi'] from the textbook closed forms, in mpmath (arccos of the cosine, no reformulation)."""
    if activation == "relu":
        rho = s / mp.sqrt(q1 * q2)
        rho = min(max(rho, mp.mpf(-1)), mp.mpf(1))
        th = mp.acos(rho)
        return (mp.sqrt(q1 * q2) / (2 * mp.pi) * (mp.sin(th) + (mp.pi - th) * mp.cos(th)),
                (mp.pi - th) / (2 * mp.pi))
    a = (1 + 2 * q1) * (1 + 2 * q2)
    return 2 / mp.pi * mp.asin(2 * s / mp.sqrt(a)), 4 / mp.pi / mp.sqrt(a - 4 * s * s)


def _mp_kernels(X, depth, sw, sb, activation):
    """The NNGP/NTK recursion in 40-digit arithmetic, entry by entry."""
    with mp.workdps(40):
        sw, sb = mp.mpf(sw), mp.mpf(sb)
        N, d = X.shape
        rows = [[mp.mpf(float(v)) for v in x] for x in X]
        sig = [[sw**2 * mp.fsum(a * b for a, b in zip(rows[i], rows[j])) / d + sb**2 for j in range(N)] for i in range(N)]
        ntk = [row[:] for row in sig]
        for _ in range(depth):
            new = [[None] * N for _ in range(N)]
            dot = [[None] * N for _ in range(N)]
            for i in range(N):
                for j in range(N):
                    e, de = _mp_expectations(activation, sig[i][i], sig[j][j], sig[i][j])
                    new[i][j], dot[i][j] = sw**2 * e + sb**2, sw**2 * de
            ntk = [[new[i][j] + dot[i][j] * ntk[i][j] for j in range(N)] for i in range(N)]
            sig = new
        return (np.array([[float(v) for v in row] for row in sig]), np.array([[float(v) for v in row] for row in ntk]))


def _quad_pair(f, g, q1, q2, s, kinked=False):
    """E[f(u) g(v)], (u, v) ~ N(0, [[q1, s], [s, q2]]), by scipy adaptive 2-D quadrature over (z1, z2)."""
    a = s / np.sqrt(q1)
    b = np.sqrt(max(q2 - a * a, 0.0))
    dens = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    if b < 1e-6:       # degenerate pair (|rho| = 1 up to rounding): v = a z1
        return integrate.quad(lambda z: f(np.sqrt(q1) * z) * g(a * z) * dens(z), -14, 14, epsabs=1e-15,
                              epsrel=1e-13, limit=200, points=[0.0])[0]
    fn = lambda z2, z1: f(np.sqrt(q1) * z1) * g(a * z1 + b * z2) * dens(z1) * dens(z2)  # noqa: E731
    if kinked:         # ReLU-type: integrate over u > 0, v > 0 only, where the integrand is smooth
        return integrate.dblquad(fn, 0, 14, lambda z1: -a * z1 / b, 14, epsabs=1e-15, epsrel=1e-12)[0]
    return integrate.dblquad(fn, -14, 14, -14, 14, epsabs=1e-15, epsrel=1e-12)[0]


relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
step = lambda x: (x > 0) * 1.0  # noqa: E731
erf = special.erf
derf = lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x)  # noqa: E731
dtanh = lambda x: 1 / np.cosh(x) ** 2  # noqa: E731


# ------------------------------------------------------------------------------------------------
# the recursion

@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("sb", [0.0, 0.3])
def test_recursion_matches_a_40_digit_reference_including_colinear_and_antipodal_pairs(activation, sb):
    X = _inputs()
    got = K.infinite_width_kernels(X, depth=3, sw=1.4, sb=sb, activation=activation)
    nngp, ntk = _mp_kernels(X, 3, 1.4, sb, activation)
    np.testing.assert_allclose(got.nngp, nngp, rtol=1e-7, atol=0)
    np.testing.assert_allclose(got.ntk, ntk, rtol=1e-7, atol=0)


def test_relu_angles_are_exact_at_zero_and_pi():
    """The stable recursion keeps theta = 0 for colinear inputs and theta = pi for antipodal ones (sb = 0): one
    hidden layer gives exactly 0 for the antipodal pair, and the colinear pair stays an exact multiple of the
    diagonal at any depth, to a few ulps (arccos of a rounded cosine loses ~1e-8)."""
    X = _inputs()
    one = K.infinite_width_kernels(X, depth=1, sw=2**0.5, sb=0.0, activation="relu")
    assert abs(one.ntk[0, 2]) <= 1e-15 * one.ntk[0, 0] and abs(one.nngp[0, 2]) <= 1e-15 * one.nngp[0, 0]
    k = K.infinite_width_kernels(X, depth=4, sw=2**0.5, sb=0.0, activation="relu")
    np.testing.assert_allclose(k.ntk[0, 1], 0.5 * k.ntk[0, 0], rtol=1e-14)
    np.testing.assert_allclose(k.nngp[1, 1], 0.25 * k.nngp[0, 0], rtol=1e-14)


def test_relu_diagonal_has_the_known_closed_form():
    """sw^2 = 2, sb = 0: Sigma^l(x,x) = 2|x|^2/d at every layer and Theta^{L+1}(x,x) = (L+1) 2|x|^2/d."""
    X = _inputs()
    for depth in (1, 2, 5):
        k = K.infinite_width_kernels(X, depth=depth, sw=2**0.5, sb=0.0)
        np.testing.assert_allclose(np.diag(k.ntk), (depth + 1) * 2 * np.sum(X**2, 1) / X.shape[1], rtol=1e-13)


@pytest.mark.parametrize("q1, q2, s", [(1.3, 0.8, 0.4), (1.0, 2.0, -1.1), (0.7, 0.7, 0.7), (0.9, 0.4, -0.6)])
def test_closed_form_expectations_match_adaptive_quadrature(q1, q2, s):
    """The arc-cosine and erf expectations against scipy quadrature of the Gaussian integrals (the last two triples are
    degenerate: rho = 1 and rho = -1)."""
    Q1, Q2, S = np.array([q1]), np.array([q2]), np.array([[s]])
    rho = s / np.sqrt(q1 * q2)
    theta = np.array([[0.0 if rho > 1 - 1e-12 else (np.pi if rho < -1 + 1e-12 else np.arccos(rho))]])
    _, _, s_new, _, sdot = K._relu_layer(Q1, Q2, S, theta, 1.0, 0.0)
    assert s_new[0, 0] == pytest.approx(_quad_pair(relu, relu, q1, q2, s, kinked=True), rel=1e-9, abs=1e-13)
    assert sdot[0, 0] == pytest.approx(_quad_pair(step, step, q1, q2, s, kinked=True), rel=1e-9, abs=1e-13)
    _, _, e_new, edot = K._erf_layer(Q1, Q2, S, 1.0, 0.0)
    assert e_new[0, 0] == pytest.approx(_quad_pair(erf, erf, q1, q2, s), rel=1e-9)
    assert edot[0, 0] == pytest.approx(_quad_pair(derf, derf, q1, q2, s), rel=1e-9)


def test_tanh_quadrature_matches_scipy_reference_at_depth_one():
    X = _inputs(count=3, dim=4, seed=1)
    sw, sb = 1.3, 0.2
    got = K.infinite_width_kernels(X, depth=1, sw=sw, sb=sb, activation="tanh")
    aug = np.hstack([sw * X / 2.0, np.full((3, 1), sb)])
    k1 = aug @ aug.T
    for i in range(3):
        for j in range(i, 3):
            e = _quad_pair(np.tanh, np.tanh, k1[i, i], k1[j, j], k1[i, j])
            de = _quad_pair(dtanh, dtanh, k1[i, i], k1[j, j], k1[i, j])
            assert got.nngp[i, j] == pytest.approx(sw**2 * e + sb**2, rel=1e-7)
            assert got.ntk[i, j] == pytest.approx(sw**2 * e + sb**2 + sw**2 * de * k1[i, j], rel=1e-7)


@pytest.mark.parametrize("q, rtol_kernel, rtol_derivative", [(0.5, 1e-12, 1e-12), (4.0, 1e-9, 1e-9), (30.0, 1e-8, 1e-8)])
def test_gauss_hermite_rule_grows_with_variance(q, rtol_kernel, rtol_derivative):
    """Calibrated on erf, whose closed form is the reference; a fixed 80-node rule is 10% off at q = 30."""
    Q = np.array([q, 0.8 * q])
    S = np.array([[q, 0.3 * q], [0.3 * q, 0.8 * q]])
    e, de = K._erf_layer(Q, Q, S, 1.0, 0.0)[2:]
    quad = K.gaussian_pair_expectation(erf, erf, Q, Q, S)
    dquad = K.gaussian_pair_expectation(derf, derf, Q, Q, S)
    np.testing.assert_allclose(quad, e, rtol=rtol_kernel)
    np.testing.assert_allclose(dquad, de, rtol=rtol_derivative)
    if q == 30.0:
        coarse = K.gaussian_pair_expectation(derf, derf, Q, Q, S, nodes=80)
        assert np.max(np.abs(coarse / de - 1)) > 0.05


def test_one_hidden_layer_sympy_closed_forms_and_price_identity():
    for activation in ("relu", "erf"):
        closed = K.one_hidden_layer_sympy(activation)
        assert closed["price"] == 0
        q1, q2, s, sw, sb = closed["symbols"]
        X = np.random.default_rng(3).standard_normal((4, 3))
        aug = np.hstack([1.2 * X / np.sqrt(3), np.full((4, 1), 0.4)])
        k1 = aug @ aug.T
        rec = K.infinite_width_kernels(X, depth=1, sw=1.2, sb=0.4, activation=activation).ntk
        fn = sp.lambdify((q1, q2, s, sw, sb), closed["ntk"], "mpmath")
        for i in range(4):
            for j in range(4):
                val = float(fn(mp.mpf(k1[i, i]), mp.mpf(k1[j, j]), mp.mpf(min(k1[i, j], np.sqrt(k1[i, i] * k1[j, j]))),
                               mp.mpf(1.2), mp.mpf(0.4)).real)
                assert val == pytest.approx(rec[i, j], rel=1e-7)


def test_weights_only_ntk_differs_by_the_bias_gradients():
    X = _inputs()
    full = K.infinite_width_kernels(X, depth=1, sw=1.4, sb=0.5).ntk
    wo = K.weights_only_ntk(X, depth=1, sw=1.4, sb=0.5)
    aug = np.hstack([1.4 * X / np.sqrt(5), np.full((6, 1), 0.5)])
    sdot = K._relu_layer(np.sum(aug**2, 1), np.sum(aug**2, 1), aug @ aug.T, K._kahan_angle(aug, aug), 1.4, 0.5)[4]
    np.testing.assert_allclose(full - wo, 0.25 + sdot * 0.25, rtol=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="activation"):
        K.infinite_width_kernels(np.ones((2, 2)), activation="gelu")
    with pytest.raises(InputError, match="depth"):
        K.infinite_width_kernels(np.ones((2, 2)), depth=0)
    with pytest.raises(InputError, match="same d"):
        K.infinite_width_kernels(np.ones((2, 2)), np.ones((2, 3)))


# ------------------------------------------------------------------------------------------------
# finite-width fluctuation constant

def test_relu_unit_variance_matches_monte_carlo():
    rng = np.random.default_rng(0)
    X = _inputs(count=4, dim=4)
    sw, sb, d, m = 2**0.5, 0.5, 4, 400_000
    W, b, v = rng.standard_normal((m, d)), rng.standard_normal(m), rng.standard_normal(m)
    H = sw / np.sqrt(d) * X @ W.T + sb * b
    k1 = sw**2 * X @ X.T / d + sb**2
    T = sw**2 * relu(H)[:, None] * relu(H)[None] + sw**2 * v**2 * step(H)[:, None] * step(H)[None] * k1[..., None]
    np.testing.assert_allclose(K.relu_ntk_unit_variance(X, sw=sw, sb=sb), T.var(-1), rtol=0.03)
    A = sw**2 * relu(H)[:, None] * relu(H)[None]
    np.testing.assert_allclose(K.relu_nngp_unit_variance(X, sw=sw, sb=sb), A.var(-1), rtol=0.03)


# ------------------------------------------------------------------------------------------------
# kernel regression after T steps

def test_gd_predictor_limits():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 5))
    Ktr = A @ A.T + np.eye(5)
    Kte = rng.standard_normal((3, 5))
    eta = 1.0 / np.linalg.eigvalsh(Ktr).max()
    np.testing.assert_allclose(K.gd_predictor(Kte, Ktr, eta, 1), eta * Kte, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(K.gd_predictor(Kte, Ktr, eta, None), Kte @ np.linalg.inv(Ktr), rtol=1e-10)
    # T steps of GD on the linear model in the kernel's feature space
    resid, out = np.ones(5), np.zeros(3)
    for _ in range(7):
        out += eta * Kte @ resid
        resid -= eta * Ktr @ resid
    np.testing.assert_allclose(K.gd_predictor(Kte, Ktr, eta, 7) @ np.ones(5), out, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# eigenlearning and the random-feature risk

def test_eigenlearning_reproduces_published_numbers():
    """Published eigenlearning values (transcribing the authors' theory.py): n = 64, 256 at ridge 1e-4 and 1."""
    lam, v = K.power_law_task(2000, 1.5, 1.5)
    assert K.eigenlearning(lam, v, 64, 1e-4, 0.01).test_mse == pytest.approx(0.170, abs=6e-4)
    assert K.eigenlearning(lam, v, 256, 1e-4, 0.01).test_mse == pytest.approx(0.0809, abs=6e-4)
    assert K.eigenlearning(lam, v, 256, 1.0, 0.01).test_mse == pytest.approx(0.114, abs=6e-4)
    res = K.eigenlearning(lam, v, 64, 1e-4, 0.01)
    assert np.sum(res.learnabilities) + 1e-4 / res.kappa == pytest.approx(64, rel=1e-10)


def test_random_feature_risk_reduces_to_kernel_regression_and_has_the_interpolation_peak():
    lam, v = K.power_law_task(2000, 1.5, 1.5)
    krr = K.eigenlearning(lam, v, 128, 1e-3, 0.01).test_mse
    assert K.random_feature_risk(lam, v, 128, 10**7, 1e-3, 0.01).test_mse == pytest.approx(krr, rel=1e-4)
    peak = K.random_feature_risk(lam, v, 128, 128, 1e-6, 0.01).test_mse
    assert peak > 20 * K.random_feature_risk(lam, v, 128, 512, 1e-6, 0.01).test_mse
    r = K.random_feature_risk(lam, v, 128, 96, 1e-2, 0.01)
    n_side = np.sum(lam / (lam + r.gamma)) + 1e-2 / r.kappa
    k_side = np.sum(lam / (lam + r.gamma)) + 96 * r.kappa / r.gamma
    assert n_side == pytest.approx(128, rel=1e-9) and k_side == pytest.approx(96, rel=1e-9)


def test_risk_inputs_are_validated():
    lam, v = K.power_law_task(100, 1.5, 1.5)
    with pytest.raises(InputError, match="ridge > 0"):
        K.random_feature_risk(lam, v, 10, 10, 0.0)
    with pytest.raises(InputError, match="eigenvalues"):
        K.eigenlearning(-lam, v, 10, 1e-3)


# ------------------------------------------------------------------------------------------------
# abc exponents and model ranks

def test_abc_exponents_reproduce_the_measured_table():
    """Measured reference values (two hidden layers): Delta h^L at step 1 and Delta f."""
    expected = {"sp": (0.5, 1.0), "sp-lr/n": (-0.5, 0.0), "ntp": (-0.5, 0.0), "mup": (0.0, 0.0)}
    for name, (feat, out) in expected.items():
        p = W.parametrization(name)
        assert W.feature_update_exponent(p, 2, 1) == feat
        assert W.output_update_exponent(p, 2) == out
    assert W.yang_hu_r(W.parametrization("sp"), 2) == -1.0
    assert W.yang_hu_r(W.parametrization("mup"), 3) == 0.0
    assert W.stable_lr_exponent(W.parametrization("sp"), 1) == -1.0
    assert W.stable_lr_exponent(W.parametrization("mup"), 1) == 0.0
    with pytest.raises(InputError, match="parametrization"):
        W.parametrization("mfp")


def test_model_rank_formulas():
    assert MR.model_rank("factorization", d=6, r=2) == 20
    assert MR.model_rank("tanh2", d=5, k=2) == 12
    assert MR.model_rank("relu2", d=5, k=2) == 10
    assert MR.model_rank("tanh3", d=4, k=2, k2=2) == 14
    assert MR.model_rank("cnn1d", d=8, k=2, s=3) == 8
    with pytest.raises(InputError, match="architecture"):
        MR.model_rank("mlp", d=3)
