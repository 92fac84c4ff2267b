r"""Infinite-width kernels of fully connected networks, kernel regression, eigenlearning and the random-feature risk.

**Network and normalization** (NTK parametrization; Jacot, Gabriel & Hongler 2018 with $\sigma_w = 1$,
$\sigma_b = \beta$; neural-tangents' ``parameterization='ntk'``). Inputs $x\in\mathbb R^d$, $L$ hidden
layers of width $n$, scalar output, every raw weight and bias $\sim N(0, 1)$:

$$h^1 = \tfrac{\sigma_w}{\sqrt d} W^0 x + \sigma_b b^0,\qquad
h^{l+1} = \tfrac{\sigma_w}{\sqrt n} W^l \phi(h^l) + \sigma_b b^l \quad (l = 1..L,\ h^{L+1} = f).$$

**Recursion** (exact as $n\to\infty$; $(u, v)\sim N(0, [[\Sigma^l(x,x), \Sigma^l(x,x')], [\cdot, \Sigma^l(x',x')]])$):

$$\Sigma^1 = \sigma_w^2\, x\cdot x'/d + \sigma_b^2,\quad \Theta^1 = \Sigma^1,\qquad
\Sigma^{l+1} = \sigma_w^2\,\mathbb E[\phi(u)\phi(v)] + \sigma_b^2,\quad
\dot\Sigma^{l+1} = \sigma_w^2\,\mathbb E[\phi'(u)\phi'(v)],\quad
\Theta^{l+1} = \Sigma^{l+1} + \dot\Sigma^{l+1}\,\Theta^l.$$

The NNGP kernel of the output is $\Sigma^{L+1}$, the NTK $\Theta^{L+1}$ (every layer's weights *and*
biases; the $\Sigma^{l+1}$ term is the gradient with respect to layer $l$'s parameters).

**Expectations.** With $q_1 = \Sigma(x,x)$, $q_2 = \Sigma(x',x')$, $S = \Sigma(x,x')$,
$\cos\theta = S/\sqrt{q_1q_2}$:

* ReLU (arc-cosine kernels of Cho & Saul 2009): $\mathbb E[\phi(u)\phi(v)] = \frac{\sqrt{q_1q_2}}{2\pi}J_1(\theta)$,
  $J_1 = \sin\theta + (\pi-\theta)\cos\theta$, and $\mathbb E[\phi'(u)\phi'(v)] = \frac{\pi-\theta}{2\pi}$.
  The angle is carried through the layers in a cancellation-free form (:func:`_relu_layer`), exact at
  $\theta = 0$ (colinear inputs) and $\theta = \pi$ (antipodal inputs, $\sigma_b = 0$): the first angle is
  Kahan's $2\arctan(|\hat a-\hat b|/|\hat a+\hat b|)$ between the augmented inputs
  $(\sigma_w x/\sqrt d, \sigma_b)$, never $\arccos$ of a rounded cosine.
* erf (Williams 1997): $\mathbb E[\phi(u)\phi(v)] = \frac2\pi\arcsin\frac{2S}{\sqrt{(1+2q_1)(1+2q_2)}}$,
  $\mathbb E[\phi'(u)\phi'(v)] = \frac4\pi\big((1+2q_1)(1+2q_2) - 4S^2\big)^{-1/2}$.
* tanh: no closed form; tensor Gauss–Hermite quadrature on $(u, v) = (\sqrt{q_1}z_1,
  \tfrac{S}{\sqrt{q_1}}z_1 + \sqrt{q_2 - S^2/q_1}\,z_2)$ with a node count that grows with the
  pre-activation variance (:func:`hermite_nodes_for`): saturating activations become step-like at large
  variance and a fixed rule loses accuracy there.

**Kernel regression after $T$ GD steps** (Lee et al. 2019): on $L = \tfrac12\sum_i (f(x_i) - y_i)^2$ with
step $\eta$, the linearized network predicts
$f^{lin}_T(x) = f_0(x) + \Theta(x, X)\,\Theta^{-1}[I - (I - \eta\Theta)^T](y - f_0(X))$
(:func:`gd_predictor`); at $T\to\infty$ the mean over initializations is kernel regression
$\Theta(x, X)\Theta(X,X)^{-1}y$.

**Eigenlearning** (Simon, Dickens, Karkada & DeWeese 2023; Simon, Karkada, Ghosh & Belkin 2023): for a kernel
with population eigenvalues $\lambda_i$ and a target $f^* = \sum_i v_i\phi_i$ with label noise $\varepsilon^2$,
ridge $\delta$ (not multiplied by $n$), :func:`eigenlearning` solves $\sum_i\frac{\lambda_i}{\lambda_i+\kappa}
+ \frac\delta\kappa = n$ for $\kappa$ by a bracketed root-finder on $\log\kappa$ and returns
$\mathcal E_0 = n/(n - \sum_i L_i^2)$ and the test MSE $\mathcal E_0(\sum_i(1-L_i)^2v_i^2 + \varepsilon^2)$
(against noisy test labels). :func:`random_feature_risk` is the "omniscient risk" of ridge regression on $k$
random features $g_j(x) = \sum_i z_{ji}\sqrt{\lambda_i}\phi_i(x)$, $\hat K = GG^\top/k$ (the equations of the
authors' ``theory.py``, dkarkada/more-is-better): unknowns $(\kappa, \gamma)$ with
$\sum_i\frac{\lambda_i}{\lambda_i+\gamma} + \frac\delta\kappa = n$ and
$\sum_i\frac{\lambda_i}{\lambda_i+\gamma} + \frac{k\kappa}{\gamma} = k$; with $L_i = \lambda_i/(\lambda_i+\gamma)$,
$z = \sum L_i$, $q = \sum L_i^2$: $\mathcal E_0 = [1 - \frac{q(k-2z) + z^2}{n(k-q)}]^{-1}$ and
test MSE $= \mathcal E_0\big(\sum_i[(1-L_i) - \frac{\kappa L_i}{\lambda_i+\gamma}\frac{k}{k-q}]v_i^2 + \varepsilon^2\big)$
(the bias coefficient is linear in the bracket; it tends to $(1-L_i)^2$ as $k\to\infty$).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy.optimize import brentq
from scipy.special import roots_hermitenorm

from theorycheck.errors import InputError

ACTIVATIONS = ("relu", "erf", "tanh")


@dataclass(frozen=True)
class Kernels:
    """Output kernels of the infinite-width network on (X1, X2): the NNGP $\\Sigma^{L+1}$ and the NTK
    $\\Theta^{L+1}$, arrays of shape (N1, N2)."""

    nngp: np.ndarray
    ntk: np.ndarray


def _check(depth: int, sw: float, sb: float, activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise InputError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if depth < 1:
        raise InputError(f"depth (number of hidden layers) must be at least 1, got {depth}")
    if sw <= 0 or sb < 0:
        raise InputError(f"need sw > 0 and sb >= 0, got sw={sw}, sb={sb}")


# ------------------------------------------------------------------------------------------------
# ReLU: the angle carried without cancellation

def _kahan_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Angles between the rows of ``a`` (N1, p) and ``b`` (N2, p): $2\arctan(|\hat a-\hat b|/|\hat a+\hat b|)$,
    accurate to a few ulps at 0 and $\pi$ (zero rows get $\pi/2$; their kernel entries vanish anyway)."""
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    ua = a / np.where(na > 0, na, 1.0)
    ub = b / np.where(nb > 0, nb, 1.0)
    diff = np.linalg.norm(ua[:, None, :] - ub[None, :, :], axis=-1)
    summ = np.linalg.norm(ua[:, None, :] + ub[None, :, :], axis=-1)
    theta = 2.0 * np.arctan2(diff, summ)
    zero = (na == 0) | (nb.T == 0)
    return np.where(zero, np.pi / 2, theta)


def _sin_minus_theta_cos(theta: np.ndarray) -> np.ndarray:
    r"""$\sin\theta - \theta\cos\theta$ without cancellation at small $\theta$ (Taylor series below 0.3)."""
    t2 = theta * theta
    series = theta * t2 * (1 / 3 - t2 * (1 / 30 - t2 * (1 / 840 - t2 * (1 / 45360 - t2 / 3991680))))
    return np.where(theta < 0.3, series, np.sin(theta) - theta * np.cos(theta))


def _j1(theta: np.ndarray) -> np.ndarray:
    r"""$J_1(\theta) = \sin\theta + (\pi-\theta)\cos\theta$ (Cho & Saul's degree-1 arc-cosine function)."""
    return np.sin(theta) + (np.pi - theta) * np.cos(theta)


def _relu_layer(q1, q2, s12, theta, sw, sb):
    """One ReLU layer of the recursion: (q1', q2', S', theta', Sdot') from (q1, q2, S, theta).

    $1 - \\rho'$ is assembled from non-negative parts: $\\sqrt{q_1'q_2'} - (a\\sqrt{q_1q_2} + s) =
    as(\\sqrt{q_1}-\\sqrt{q_2})^2/(\\sqrt{q_1'q_2'} + a\\sqrt{q_1q_2} + s)$ and
    $\\pi - J_1(\\theta) = 2\\pi\\sin^2(\\theta/2) - (\\sin\\theta - \\theta\\cos\\theta)$, with $a = \\sigma_w^2/2$, $s = \\sigma_b^2$;
    then $\\theta' = 2\\arcsin\\sqrt{(1-\\rho')/2}$ (after a ReLU $\\rho' \\ge 0$, so $\\theta' \\le \\pi/2$).
    """
    a, s = sw * sw / 2.0, sb * sb
    root = np.sqrt(np.outer(q1, q2))
    q1n, q2n = a * q1 + s, a * q2 + s
    rootn = np.sqrt(np.outer(q1n, q2n))
    j1 = _j1(theta)
    s_new = a * root * j1 / np.pi + s
    sdot = sw * sw * (np.pi - theta) / (2.0 * np.pi)
    spread = (np.sqrt(q1)[:, None] - np.sqrt(q2)[None, :]) ** 2
    gap = a * s * spread / np.where(rootn + a * root + s > 0, rootn + a * root + s, 1.0)
    pi_minus_j1 = 2.0 * np.pi * np.sin(theta / 2) ** 2 - _sin_minus_theta_cos(theta)
    one_minus_rho = (gap + a * root * pi_minus_j1 / np.pi) / np.where(rootn > 0, rootn, 1.0)
    theta_new = 2.0 * np.arcsin(np.sqrt(np.clip(one_minus_rho / 2.0, 0.0, 1.0)))
    theta_new = np.where(rootn > 0, theta_new, np.pi / 2)
    return q1n, q2n, s_new, theta_new, sdot


# ------------------------------------------------------------------------------------------------
# erf: closed forms

def _erf_layer(q1, q2, s12, sw, sb):
    """One erf layer: (q1', q2', S', Sdot') from (q1, q2, S)."""
    w2, s = sw * sw, sb * sb
    a1, a2 = 1.0 + 2.0 * q1, 1.0 + 2.0 * q2
    prod = np.outer(a1, a2)
    s_new = w2 * (2.0 / np.pi) * np.arcsin(np.clip(2.0 * s12 / np.sqrt(prod), -1.0, 1.0)) + s
    sdot = w2 * (4.0 / np.pi) / np.sqrt(prod - 4.0 * s12 * s12)
    q1n = w2 * (2.0 / np.pi) * np.arcsin(2.0 * q1 / a1) + s
    q2n = w2 * (2.0 / np.pi) * np.arcsin(2.0 * q2 / a2) + s
    return q1n, q2n, s_new, sdot


# ------------------------------------------------------------------------------------------------
# tanh: Gauss-Hermite quadrature

def hermite_nodes_for(variance: float) -> int:
    r"""Gauss–Hermite nodes per axis for a saturating activation at pre-activation variance $q$:
    $\lceil 64 + 40q\rceil$, capped at 1200. Calibrated on erf against its closed form
    (tests/test_kernels_theory.py): relative error below $10^{-9}$ for the kernel and the derivative kernel up to
    $q = 10$ and about $5\cdot10^{-9}$ at $q = 30$, where a fixed 80-node rule is off by 10% (the derivative
    $\phi'$ is a bump of width 1 seen through a Gaussian of width $\sqrt q$: the rule must resolve it)."""
    return int(min(1200, np.ceil(64.0 + 40.0 * max(variance, 0.0))))


@lru_cache(maxsize=32)
def _hermite(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalized to a N(0, 1) expectation (scipy's Golub-Welsch /
    asymptotic rule; numpy's ``hermegauss`` overflows above a few hundred nodes)."""
    z, w = roots_hermitenorm(count)
    return z, w / np.sqrt(2.0 * np.pi)


def gaussian_pair_expectation(f, g, q1: np.ndarray, q2: np.ndarray, s12: np.ndarray,
                              nodes: int | None = None) -> np.ndarray:
    r"""$\mathbb E[f(u)g(v)]$ for $(u,v)\sim N(0, [[q_1, S],[S, q_2]])$ elementwise over (N1, N2), by tensor
    Gauss–Hermite quadrature (``nodes`` per axis; default from :func:`hermite_nodes_for`)."""
    q1, q2 = np.asarray(q1, float), np.asarray(q2, float)
    s12 = np.asarray(s12, float)
    count = nodes or hermite_nodes_for(float(max(q1.max(), q2.max())))
    z, w = _hermite(count)
    out = np.empty(s12.shape)
    for i in range(s12.shape[0]):
        sq1 = np.sqrt(q1[i])
        u = sq1 * z                                                # (K,)
        slope = s12[i] / np.where(sq1 > 0, sq1, 1.0)              # (N2,)
        resid = np.sqrt(np.clip(q2 - slope * slope, 0.0, None))   # (N2,)
        v = slope[:, None, None] * z[None, :, None] + resid[:, None, None] * z[None, None, :]   # (N2, K, K)
        inner = (g(v) * w[None, None, :]).sum(axis=-1)            # (N2, K)
        out[i] = inner @ (f(u) * w)
    return out


def _tanh(x):
    return np.tanh(x)


def _dtanh(x):
    return 1.0 / np.cosh(np.clip(x, -350, 350)) ** 2


def _tanh_layer(q1, q2, s12, sw, sb, nodes):
    """One tanh layer by quadrature: (q1', q2', S', Sdot') from (q1, q2, S)."""
    w2, s = sw * sw, sb * sb
    s_new = w2 * gaussian_pair_expectation(_tanh, _tanh, q1, q2, s12, nodes) + s
    sdot = w2 * gaussian_pair_expectation(_dtanh, _dtanh, q1, q2, s12, nodes)
    return _diag_tanh(q1, w2, s, nodes), _diag_tanh(q2, w2, s, nodes), s_new, sdot


def _diag_tanh(q: np.ndarray, w2: float, s: float, nodes: int | None) -> np.ndarray:
    r"""$\sigma_w^2\mathbb E[\tanh(u)^2] + \sigma_b^2$ for $u\sim N(0, q)$, one entry per input (1-D quadrature)."""
    count = nodes or hermite_nodes_for(float(np.max(q)))
    z, w = _hermite(count)
    return w2 * (np.tanh(np.sqrt(q)[:, None] * z[None, :]) ** 2 @ w) + s


# ------------------------------------------------------------------------------------------------
# the recursion

def _recursion(X1, X2, depth, sw, sb, activation, nodes, bias_gradients):
    _check(depth, sw, sb, activation)
    X1 = np.asarray(X1, float)
    X2 = X1 if X2 is None else np.asarray(X2, float)
    if X1.ndim != 2 or X2.ndim != 2 or X1.shape[1] != X2.shape[1]:
        raise InputError(f"inputs must be (N, d) arrays with the same d, got {X1.shape} and {X2.shape}")
    d = X1.shape[1]
    aug1 = np.hstack([sw * X1 / np.sqrt(d), np.full((len(X1), 1), sb)])
    aug2 = np.hstack([sw * X2 / np.sqrt(d), np.full((len(X2), 1), sb)])
    q1, q2 = np.sum(aug1 * aug1, axis=1), np.sum(aug2 * aug2, axis=1)
    s12 = aug1 @ aug2.T
    theta = _kahan_angle(aug1, aug2) if activation == "relu" else None
    frozen = 0.0 if bias_gradients else sb * sb
    ntk = s12 - frozen
    for _ in range(depth):
        if activation == "relu":
            q1, q2, s12, theta, sdot = _relu_layer(q1, q2, s12, theta, sw, sb)
        elif activation == "erf":
            q1, q2, s12, sdot = _erf_layer(q1, q2, s12, sw, sb)
        else:
            q1, q2, s12, sdot = _tanh_layer(q1, q2, s12, sw, sb, nodes)
        ntk = (s12 - frozen) + sdot * ntk
    return Kernels(nngp=s12, ntk=ntk)


def infinite_width_kernels(X1: np.ndarray, X2: np.ndarray | None = None, *, depth: int = 1, sw: float = 1.0,
                           sb: float = 0.0, activation: str = "relu", nodes: int | None = None) -> Kernels:
    r"""NNGP $\Sigma^{L+1}$ and NTK $\Theta^{L+1}$ of the depth-``depth`` network (NTK parametrization) on the rows
    of ``X1`` (N1, d) and ``X2`` (N2, d) (default ``X1``). ``nodes`` fixes the Gauss–Hermite rule for tanh."""
    return _recursion(X1, X2, depth, sw, sb, activation, nodes, bias_gradients=True)


def weights_only_ntk(X1: np.ndarray, X2: np.ndarray | None = None, *, depth: int = 1, sw: float = 1.0,
                     sb: float = 0.0, activation: str = "relu") -> np.ndarray:
    r"""The NTK of the weights alone (biases frozen at their init): $\Theta^1 = \Sigma^1 - \sigma_b^2$,
    $\Theta^{l+1} = (\Sigma^{l+1} - \sigma_b^2) + \dot\Sigma^{l+1}\Theta^l$. What one gets by counting only
    the weight gradients of a network whose biases are trained too."""
    return _recursion(X1, X2, depth, sw, sb, activation, None, bias_gradients=False).ntk


# ------------------------------------------------------------------------------------------------
# finite-width fluctuation of the one-hidden-layer ReLU NTK

def _arccos_moment(q1: np.ndarray, q2: np.ndarray, theta: np.ndarray, degree: int) -> np.ndarray:
    r"""$\mathbb E[\mathrm{relu}(u)^p\mathrm{relu}(v)^p] = \frac{(q_1q_2)^{p/2}}{2\pi}J_p(\theta)$ (Cho & Saul 2009),
    $p = 0, 1, 2$: $J_0 = \pi-\theta$, $J_1 = \sin\theta + (\pi-\theta)\cos\theta$,
    $J_2 = 3\sin\theta\cos\theta + (\pi-\theta)(1 + 2\cos^2\theta)$ ($p = 0$: $\mathbb E[1_{u>0}1_{v>0}]$)."""
    c = np.cos(theta)
    j = {0: np.pi - theta, 1: _j1(theta), 2: 3 * np.sin(theta) * c + (np.pi - theta) * (1 + 2 * c * c)}[degree]
    return np.outer(q1, q2) ** (degree / 2) * j / (2 * np.pi)


def relu_ntk_unit_variance(X: np.ndarray, *, sw: float, sb: float, readout_fourth_moment: float = 3.0) -> np.ndarray:
    r"""Variance of one hidden unit's contribution to the empirical NTK of a one-hidden-layer ReLU network.

    With $h_j(x) = \frac{\sigma_w}{\sqrt d}w_j\cdot x + \sigma_b b_j$ and readout weight $v_j$,
    $\hat\Theta(x,x') = \sigma_b^2 + \frac1n\sum_j T_j(x,x')$ with i.i.d.
    $T_j = \sigma_w^2\phi(h_j)\phi(h_j') + \sigma_w^2v_j^2\phi'(h_j)\phi'(h_j')\Sigma^1(x,x')$, so
    $\mathbb E\hat\Theta = \Theta$ exactly and $n\,\mathbb E(\hat\Theta - \Theta)^2 = \mathrm{Var}\,T$, with
    $\mathbb E T^2 = \sigma_w^4(\mathbb E[\phi^2\phi'^2] + 2\Sigma^1\mathbb E[\phi\phi'] + \mathbb E[v^4]\,(\Sigma^1)^2
    \mathbb E[\phi'\phi'])$ in arc-cosine moments of degrees 2, 1, 0 ($\phi\phi' = \phi$, $\phi'^2 = \phi'$ for ReLU).
    Returns the (N, N) matrix of $\mathrm{Var}\,T(x_a, x_b)$; ``readout_fourth_moment`` is $\mathbb E[v^4] = 3$
    for a Gaussian readout (1 would treat $v_j^2$ as its mean).
    """
    _check(1, sw, sb, "relu")
    X = np.asarray(X, float)
    d = X.shape[1]
    aug = np.hstack([sw * X / np.sqrt(d), np.full((len(X), 1), sb)])
    q = np.sum(aug * aug, axis=1)
    k1 = aug @ aug.T
    theta = _kahan_angle(aug, aug)
    m0, m1, m2 = (_arccos_moment(q, q, theta, p) for p in (0, 1, 2))
    w4 = sw ** 4
    mean = sw * sw * (m1 + m0 * k1)
    second = w4 * (m2 + 2.0 * k1 * m1 + readout_fourth_moment * k1 * k1 * m0)
    return second - mean * mean


def relu_nngp_unit_variance(X: np.ndarray, *, sw: float, sb: float) -> np.ndarray:
    r"""Variance of one hidden unit's contribution $\sigma_w^2\phi(h_j)\phi(h_j')$ to the empirical NNGP kernel
    $\hat\Sigma^2 = \sigma_b^2 + \frac1n\sum_j\sigma_w^2\phi(h_j)\phi(h_j')$ of a one-hidden-layer ReLU network:
    $\sigma_w^4(\mathbb E[\phi(u)^2\phi(v)^2] - \mathbb E[\phi(u)\phi(v)]^2)$, (N, N)."""
    _check(1, sw, sb, "relu")
    X = np.asarray(X, float)
    aug = np.hstack([sw * X / np.sqrt(X.shape[1]), np.full((len(X), 1), sb)])
    q = np.sum(aug * aug, axis=1)
    theta = _kahan_angle(aug, aug)
    return sw**4 * (_arccos_moment(q, q, theta, 2) - _arccos_moment(q, q, theta, 1) ** 2)


# ------------------------------------------------------------------------------------------------
# how fast the NTK moves during training

#: Lee et al. (2019), Theorem 2.1: $\sup_t\|\hat\Theta_t - \hat\Theta_0\|_F = O(n^{-1/2})$ (an upper bound)
NTK_CHANGE_BOUND_EXPONENT = -0.5


def ntk_change_exponent(activation: str) -> tuple[float, float]:
    r"""Range $[e_{lo}, e_{hi}]$ of the width exponent of the relative NTK change after a fixed number of GD steps.

    Smooth activations (erf, tanh): exactly $n^{-1}$ (Dyer & Gur-Ari 2019, Huang & Yau 2019: the first
    correction of the NTK dynamics is $O(1/n)$). ReLU (derived here, no theorem): the $O(n^{-1/2})$ motion of the
    pre-activations flips the gates of an $O(n^{-1/2})$ fraction of units, each flip moving the kernel by
    $O(1/n)$; with random signs this is $n^{-3/4}$, a net drift of the flips gives up to $n^{-1/2}$, and the
    smooth part adds $n^{-1}$: the exponent lies strictly between the smooth law and Lee et al.'s bound.
    """
    if activation not in ACTIVATIONS:
        raise InputError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return (-1.0, -1.0) if activation in ("erf", "tanh") else (-1.0, NTK_CHANGE_BOUND_EXPONENT)


# ------------------------------------------------------------------------------------------------
# one hidden layer in sympy (tests and the derivation shown by `theorycheck show`)

def one_hidden_layer_sympy(activation: str) -> dict[str, sp.Expr]:
    r"""Closed forms of the one-hidden-layer kernels as sympy expressions in the input kernel entries
    $q_1 = \Sigma^1(x,x)$, $q_2 = \Sigma^1(x',x')$, $s = \Sigma^1(x,x')$ and $\sigma_w, \sigma_b$:
    ``{"nngp": Σ², "sdot": Σ̇², "ntk": Θ² = Σ² + Σ̇² s, "price": ∂E[φφ]/∂s − E[φ'φ']}``; the last is Price's
    theorem, which must simplify to 0 (an identity between the two expectations that does not use their
    derivations)."""
    q1, q2 = sp.symbols("q1 q2", positive=True)
    s = sp.Symbol("s", real=True)
    sw, sb = sp.symbols("sigma_w sigma_b", positive=True)
    if activation == "relu":
        theta = sp.acos(s / sp.sqrt(q1 * q2))
        e_phi = sp.sqrt(q1 * q2) / (2 * sp.pi) * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta))
        e_dphi = (sp.pi - theta) / (2 * sp.pi)
    elif activation == "erf":
        e_phi = 2 / sp.pi * sp.asin(2 * s / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))
        e_dphi = 4 / sp.pi / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2) - 4 * s**2)
    else:
        raise InputError(f"closed forms exist for relu and erf, not {activation!r}")
    nngp = sw**2 * e_phi + sb**2
    sdot = sw**2 * e_dphi
    price = sp.simplify(sp.diff(e_phi, s) - e_dphi)
    return {"nngp": nngp, "sdot": sdot, "ntk": nngp + sdot * s, "price": price,
            "symbols": (q1, q2, s, sw, sb)}


# ------------------------------------------------------------------------------------------------
# kernel regression and the linearized GD predictor

def gd_predictor(k_test_train: np.ndarray, k_train: np.ndarray, eta: float, steps: int | None) -> np.ndarray:
    r"""The matrix $P = K(x, X)\,K^{-1}[I - (I - \eta K)^T]$ mapping training residuals to the change of the
    linearized network's test outputs after $T$ = ``steps`` GD steps on $\frac12\sum_i(f(x_i) - y_i)^2$;
    ``steps=None`` gives $T = \infty$, kernel regression $K(x,X)K^{-1}$. Computed in the eigenbasis of $K$
    (no explicit inverse)."""
    lam, vec = np.linalg.eigh(np.asarray(k_train, float))
    if lam.min() <= 0:
        raise InputError(f"the training kernel must be positive definite (smallest eigenvalue {lam.min():.3g})")
    if steps is None:
        filt = 1.0 / lam
    else:
        filt = (1.0 - (1.0 - eta * lam) ** int(steps)) / lam
    return np.asarray(k_test_train, float) @ (vec * filt) @ vec.T


# ------------------------------------------------------------------------------------------------
# eigenlearning and the random-feature risk

@dataclass(frozen=True)
class RiskPrediction:
    """Eigenlearning's prediction: effective regularization ``kappa`` (and ``gamma`` for random features),
    learnabilities $L_i$, overfitting coefficient $\\mathcal E_0$, test MSE (noisy test labels), train MSE."""

    kappa: float
    learnabilities: np.ndarray
    overfitting: float
    test_mse: float
    train_mse: float = float("nan")
    gamma: float = float("nan")


def _spectrum(eigenvalues, coefficients) -> tuple[np.ndarray, np.ndarray]:
    lam = np.asarray(eigenvalues, float)
    v = np.asarray(coefficients, float)
    if lam.ndim != 1 or lam.shape != v.shape or np.any(lam <= 0):
        raise InputError("eigenvalues must be a positive 1-D array with one target coefficient each")
    return lam, v


def _log_root(fn, lo: float, hi: float) -> float:
    """Root of a decreasing-or-increasing ``fn`` of log(x) bracketed in [lo, hi] (natural logs), by Brent's method."""
    return float(np.exp(brentq(fn, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500)))


def effective_regularization(eigenvalues: np.ndarray, n: float, ridge: float) -> float:
    r"""$\kappa>0$ with $\sum_i\lambda_i/(\lambda_i+\kappa) + \delta/\kappa = n$, by Brent's method on $\log\kappa\in[-80, 80]$;
    0 when $\delta = 0$ and $n$ is at least the number of eigenvalues (no root: the underparametrized limit)."""
    lam = np.asarray(eigenvalues, float)
    if n <= 0 or ridge < 0:
        raise InputError(f"need n > 0 and ridge >= 0, got n={n}, ridge={ridge}")

    def excess(log_kappa: float) -> float:
        kappa = np.exp(log_kappa)
        return float(np.sum(lam / (lam + kappa)) + ridge / kappa - n)

    if excess(-80.0) <= 0:
        if ridge == 0 and lam.size > n:
            raise InputError("effective regularization below e^-80: rescale the eigenvalues")
        return 0.0
    return _log_root(excess, -80.0, 80.0)


def eigenlearning(eigenvalues: np.ndarray, coefficients: np.ndarray, n: int, ridge: float,
                  noise: float = 0.0) -> RiskPrediction:
    r"""Kernel ridge regression's test and train MSE predicted from the population spectrum (module docstring).
    ``noise`` is the label-noise variance $\varepsilon^2$; the test MSE is against noisy test labels."""
    lam, v = _spectrum(eigenvalues, coefficients)
    kappa = effective_regularization(lam, n, ridge)
    learn = lam / (lam + kappa)
    denom = n - np.sum(learn**2)
    if denom <= 0:
        raise InputError(f"n={n} equals the number of modes at zero ridge: the risk diverges")
    e0 = n / denom
    test = e0 * (np.sum((1 - learn) ** 2 * v**2) + noise)
    train = (ridge / (n * kappa)) ** 2 * test if kappa > 0 else 0.0
    return RiskPrediction(kappa=kappa, learnabilities=learn, overfitting=float(e0), test_mse=float(test),
                          train_mse=float(train))


def random_feature_risk(eigenvalues: np.ndarray, coefficients: np.ndarray, n: int, k: int, ridge: float,
                        noise: float = 0.0) -> RiskPrediction:
    r"""Test MSE of ridge regression on $k$ Gaussian random features of the kernel (module docstring), ridge > 0.

    Nested bracketed solves: for $\kappa > \delta/n$, $\gamma(\kappa)$ from the first equation; then $\kappa$ from
    the second, whose left side minus $k$ runs from $-k$ (at $\kappa\downarrow\delta/n$) to $+\infty$."""
    lam, v = _spectrum(eigenvalues, coefficients)
    if ridge <= 0 or n < 1 or k < 1:
        raise InputError(f"random-feature risk needs ridge > 0, n >= 1, k >= 1; got {ridge}, {n}, {k}")

    def gamma_of(kappa: float) -> float:
        target = n - ridge / kappa
        return _log_root(lambda lg: float(np.sum(lam / (lam + np.exp(lg))) - target), -120.0, 120.0)

    def excess(log_kappa: float) -> float:
        kappa = np.exp(log_kappa)
        gamma = gamma_of(kappa)
        return float(np.sum(lam / (lam + gamma)) + k * kappa / gamma - k)

    lo = np.log(ridge / n) + 1e-9                       # kappa > ridge/n: the first equation needs sum L > 0
    ceiling = np.log(ridge / (n - lam.size)) - 1e-9 if lam.size < n else np.inf   # ... and sum L < M
    hi = min(lo + 1.0, ceiling)
    while excess(hi) < 0:
        if hi >= ceiling or hi - lo > 400:
            raise InputError("random-feature risk: no root for kappa (check eigenvalues, n, k)")
        hi = min(hi + 5.0, ceiling)
    kappa = _log_root(excess, lo, hi)
    gamma = gamma_of(kappa)
    learn = lam / (lam + gamma)
    z, q = float(np.sum(learn)), float(np.sum(learn**2))
    e0 = 1.0 / (1.0 - (q * (k - 2 * z) + z * z) / (n * (k - q)))
    bias = (1 - learn) - kappa * learn / (lam + gamma) * k / (k - q)
    test = e0 * (float(bias @ v**2) + noise)
    return RiskPrediction(kappa=kappa, learnabilities=learn, overfitting=float(e0), test_mse=float(test),
                          gamma=gamma)


def power_law_task(modes: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The Gaussian power-law task of "More is Better": $\lambda_i = i^{-\alpha}$ and target coefficients
    $v_i\propto i^{-\beta/2}$ normalized to $\sum_i v_i^2 = 1$, $i = 1..M$."""
    if modes < 2 or alpha <= 0 or beta <= 0:
        raise InputError(f"need modes >= 2, alpha > 0, beta > 0; got {modes}, {alpha}, {beta}")
    i = np.arange(1, modes + 1, dtype=float)
    v = i ** (-beta / 2)
    return i ** (-alpha), v / np.linalg.norm(v)
