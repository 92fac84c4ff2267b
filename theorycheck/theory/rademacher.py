r"""Rademacher-complexity bounds as sympy expressions, and exact empirical values where they exist.

**Convention** (used everywhere in theorycheck): the empirical Rademacher complexity of a class
$\mathcal F$ on a sample $S = (x_1, \dots, x_n)$ is

$$\hat{\mathfrak R}_S(\mathcal F) = \mathbb E_\sigma \sup_{f\in\mathcal F} \frac1n \sum_{i=1}^n \sigma_i f(x_i),$$

$\sigma_i$ independent uniform signs, **no absolute value** (Mohri, Rostamizadeh, Talwalkar,
*Foundations of ML*, 2018; Golowich, Rakhlin, Shamir 2018 use the same). Bartlett & Mendelson
(2002) use $\mathbb E \sup (2/n)|\sum_i \sigma_i f(x_i)|$: for classes closed under negation
their value is twice ours. Every constant below is for the convention above.

Each bound is a :class:`Bound`: a sympy expression whose free symbols are the assumptions
(norm radii, data radius, sample size, depth, Lipschitz constant, margin, confidence), its
LaTeX, the list of assumptions in words and the source. ``Bound.evaluate(**values)`` evaluates it
with numbers or numpy arrays (broadcast), e.g. with the measured norms of a trained model.

Bounds (with the symbol names used by ``evaluate``):

* $\ell_2$ ball, $\|w\|_2\le B$: $\hat{\mathfrak R} = (B/n)\,\mathbb E\|\sum\sigma_i x_i\|_2
  \le B\sqrt{S_2}/n \le BR/\sqrt n$ (Jensen), $S_2 = \sum_i\|x_i\|_2^2$, $\|x_i\|\le R$.
  Lower estimate (Khintchine–Kahane with Szarek's constant $1/\sqrt2$, valid for vectors by
  Latała–Oleszkiewicz 1994): $\hat{\mathfrak R} \ge B\sqrt{S_2}/(\sqrt2\,n)$.
* $\ell_1$ ball, $\|w\|_1\le B$: $\hat{\mathfrak R} = (B/n)\,\mathbb E\|\sum\sigma_i x_i\|_\infty$
  $\le (B/n)\,C_\infty\sqrt{2\ln(2d)}$ with $C_\infty = \max_j (\sum_i x_{ij}^2)^{1/2}$ (Massart's
  finite-class lemma over the $2d$ signed coordinates) $\le B R_\infty\sqrt{2\ln(2d)/n}$. Lower estimate
  (Khintchine on the best coordinate): $\ge B\,C_\infty/(\sqrt2\,n)$; the $n\to\infty$ value for a $\pm1$ design
  is the Gaussian maximum $B\,\mathbb E\max_{j\le d}|g_j|/\sqrt n$ (:func:`gaussian_max_abs`).
* Two-layer networks $\sum_j a_j\sigma(w_j^\top x)$, $\|a\|_1\le B_a$, $\|w_j\|_2\le B_w$,
  $\sigma$ $L$-Lipschitz with $\sigma(0)=0$: $\hat{\mathfrak R}\le 2LB_aB_w\sqrt{S_2}/n$ (the factor
  2 removes the absolute value that the $\ell_1$ outer layer produces; then contraction).
  For ReLU the path norm $\varphi = \sum_j|a_j|\|w_j\|_2$ gives $\hat{\mathfrak R}\le 2\varphi\sqrt{S_2}/n$, and
  $\mathrm{relu}(z)-\mathrm{relu}(-z)=z$ with Khintchine–Kahane gives the lower estimate
  $B_aB_w\sqrt{S_2}/(2\sqrt2\,n)$ (:func:`two_layer_lower`).
* Golowich, Rakhlin, Shamir (COLT 2018), Theorem 1 (depth $D$, $\|W_j\|_F\le M_F(j)$,
  1-Lipschitz positively homogeneous activation):
  $\hat{\mathfrak R}\le \frac1n(\sqrt{2\ln 2\cdot D}+1)\prod_j M_F(j)\sqrt{S_2}$.
  Constant confirmed against the public reference implementation
  ``rkwitt/excess_capacity`` (``bounds/rademacher_bounds.py``, ``golowich_fro``:
  ``norm(X)/sqrt(n) * prod(fro) * (1 + sqrt(2 log 2 L)) / sqrt(n)``).
* Generalization (Mohri et al. 2018, Thm. 3.3 with Talagrand's contraction, Lemma 5.7, as
  stated in Mohri, Rostamizadeh, Talwalkar 2018, Thm 3.3 and 5.8): for a loss in $[0,c]$ that is $L$-Lipschitz in $f(x)$, with
  probability $\ge1-\delta$, for all $f\in\mathcal F$:
  $\mathbb E\ell \le \hat{\mathbb E}\ell + 2L\hat{\mathfrak R}_S(\mathcal F) + 3c\sqrt{\ln(2/\delta)/(2n)}$.
  Margin form (ramp loss at margin $\gamma$, which is $1/\gamma$-Lipschitz, $c=1$):
  $P(yf(x)\le0) \le \hat R_\gamma(f) + (2/\gamma)\hat{\mathfrak R}_S(\mathcal F) + 3\sqrt{\ln(2/\delta)/(2n)}$.

Exact values (numpy): :func:`linear_rademacher_exact` enumerates all $2^n$ sign vectors
($n\le 22$); :func:`relu_sup_exact_2d` computes $\max_{\|u\|=1}|\sum_i\sigma_i\,\mathrm{relu}(u^\top x_i)|$
exactly in $d=2$ (arcs between the breakpoints $u\perp x_i$), :func:`relu_sup_grid` on a
certified cube-sphere grid in any $d\le3$ (with local polishing). By positive homogeneity the
two-layer ReLU classes above all have
$\hat{\mathfrak R} = (B_aB_w/n)\,\mathbb E_\sigma\max_{\|u\|=1}|\sum_i\sigma_i\,\mathrm{relu}(u^\top x_i)|$,
for every width $m\ge1$.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from theorycheck.errors import InputError

__all__ = [
    "CONVENTION",
    "Bound",
    "golowich_frobenius",
    "golowich_frobenius_bound",
    "linear_l2_bound",
    "linear_l2_lower",
    "linear_l1_massart_bound",
    "linear_l1_lower",
    "gaussian_max_abs",
    "two_layer_lower",
    "two_layer_bound",
    "path_norm_bound",
    "lipschitz_loss_bound",
    "margin_bound",
    "margin_concentration",
    "margin_bound_on_grid",
    "ramp_loss",
    "linear_rademacher_exact",
    "sign_vectors",
    "relu_sup_exact_2d",
    "relu_sup_grid",
    "cube_sphere_grid",
    "SYMBOLS",
]

CONVENTION = (
    "R_S(F) = E_sigma sup_{f in F} (1/n) sum_i sigma_i f(x_i), no absolute value "
    "(Mohri et al. 2018; Golowich et al. 2018). Bartlett-Mendelson's (2/n)|sum| is twice this "
    "for classes closed under negation."
)

# ---------------------------------------------------------------------------------------------
# symbols (all positive reals; names are the keyword arguments of Bound.evaluate)
n = sp.Symbol("n", positive=True)
d = sp.Symbol("d", positive=True)
B = sp.Symbol("B", positive=True)
R = sp.Symbol("R", positive=True)
R_inf = sp.Symbol("R_inf", positive=True)
C_inf = sp.Symbol("C_inf", positive=True)
S2 = sp.Symbol("S2", positive=True)
L = sp.Symbol("L", positive=True)
B_a = sp.Symbol("B_a", positive=True)
B_w = sp.Symbol("B_w", positive=True)
phi = sp.Symbol("phi", positive=True)
depth = sp.Symbol("depth", positive=True)
M_F = sp.Symbol("M_F", positive=True)  # product of the layers' Frobenius norms
gamma = sp.Symbol("gamma", positive=True)
delta = sp.Symbol("delta", positive=True)
c = sp.Symbol("c", positive=True)
rad = sp.Symbol("rad", positive=True)  # a Rademacher complexity (or an upper bound on it)
emp = sp.Symbol("emp", nonnegative=True)  # an empirical loss
capacity = sp.Symbol("C", positive=True)  # a capacity measure of a class (e.g. the DeepONet paper's C(theta))

SYMBOLS = {s.name: s for s in (n, d, B, R, R_inf, C_inf, S2, L, B_a, B_w, phi, depth, M_F, gamma, delta, c, rad, emp,
                               capacity)}
_NAMES = {
    "n": "sample size", "d": "input dimension", "B": "norm radius of w", "R": "max ||x_i||_2",
    "R_inf": "max ||x_i||_inf", "C_inf": "max_j (sum_i x_ij^2)^(1/2)", "S2": "sum_i ||x_i||_2^2",
    "L": "Lipschitz constant", "B_a": "||a||_1 radius", "B_w": "max_j ||w_j||_2 radius",
    "phi": "path norm sum_j |a_j| ||w_j||_2", "depth": "number of layers",
    "M_F": "product of Frobenius-norm radii", "gamma": "margin", "delta": "confidence",
    "c": "loss range", "rad": "Rademacher complexity", "emp": "empirical loss", "C": "capacity measure",
}


@dataclass(frozen=True)
class Bound:
    """A bound as a sympy expression in named positive symbols.

    ``assumptions`` lists, in words, what must hold for ``expr`` to be a valid bound;
    ``kind`` is ``"upper"`` or ``"lower"`` (a lower estimate of the complexity).
    """

    name: str
    expr: sp.Expr
    assumptions: tuple[str, ...]
    source: str
    kind: str = "upper"

    @property
    def latex(self) -> str:
        return sp.latex(self.expr)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(s.name for s in self.expr.free_symbols))

    def evaluate(self, **values: Any) -> np.ndarray:
        """Evaluate with numbers or arrays (broadcast). Every free symbol must be given, positive
        and finite (``emp`` may be zero); unknown names raise :class:`InputError`."""
        needed = set(self.symbols)
        unknown = set(values) - needed
        if unknown:
            raise InputError(f"bound {self.name!r} has no parameter(s) {sorted(unknown)}; it takes {sorted(needed)}")
        missing = needed - set(values)
        if missing:
            words = ", ".join(_NAMES.get(m, m) for m in sorted(missing))
            raise InputError(f"bound {self.name!r} needs {sorted(missing)} ({words})")
        arrays = {}
        for key, val in values.items():
            arr = np.asarray(val, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise InputError(f"bound {self.name!r}: parameter {key!r} must be finite, got {val!r}")
            if key == "emp":
                bad = np.any(arr < 0)
            elif key == "delta":
                bad = np.any((arr <= 0) | (arr >= 1))
            else:
                bad = np.any(arr <= 0)
            if bad:
                rule = "in (0, 1)" if key == "delta" else ("nonnegative" if key == "emp" else "positive")
                raise InputError(f"bound {self.name!r}: parameter {key!r} must be {rule}, got {val!r}")
            arrays[key] = arr
        order = self.symbols
        fn = sp.lambdify([SYMBOLS[k] for k in order], self.expr, "numpy")
        return np.asarray(fn(*[arrays[k] for k in order]), dtype=float)

    def __call__(self, **values: Any) -> np.ndarray:
        return self.evaluate(**values)


# ---------------------------------------------------------------------------------------------
# Golowich, Rakhlin, Shamir (2018), Theorem 1 — first, because other families import it.

def golowich_frobenius(depth_value: int | None = None) -> Bound:
    r"""Golowich, Rakhlin, Shamir (COLT 2018), Theorem 1, as a :class:`Bound`.

    $\hat{\mathfrak R}_S \le \frac1n\,(\sqrt{2\ln 2\cdot D}+1)\,M_F\,\sqrt{S_2}$ with
    $M_F = \prod_{j=1}^D M_F(j)$ the product of the layers' Frobenius-norm radii,
    $S_2=\sum_i\|x_i\|_2^2$ and $D$ the number of weight matrices (``depth``). Assumes real-valued
    networks $x\mapsto W_D\sigma(W_{D-1}\cdots\sigma(W_1x))$ without biases, activation applied
    element-wise, 1-Lipschitz and positively homogeneous (ReLU, leaky ReLU, $|\cdot|$).
    ``depth_value`` substitutes $D$ when given.
    """
    expr = (sp.sqrt(2 * sp.log(2) * depth) + 1) * M_F * sp.sqrt(S2) / n
    if depth_value is not None:
        if int(depth_value) < 1:
            raise InputError(f"depth must be >= 1, got {depth_value}")
        expr = expr.subs(depth, int(depth_value))
    return Bound(
        "golowich-frobenius",
        expr,
        ("real-valued network of depth D (D weight matrices), no biases",
         "activation 1-Lipschitz, positively homogeneous, element-wise",
         "||W_j||_F <= M_F(j); M_F = prod_j M_F(j)",
         "convention: " + CONVENTION),
        "Golowich, Rakhlin, Shamir (2018), Size-independent sample complexity of neural networks, COLT, Thm. 1",
    )


def golowich_frobenius_bound(frobenius_norms: Any, sum_sq_norms: Any, n_samples: Any) -> np.ndarray:
    r"""Numeric Golowich et al. (2018) Theorem 1 bound, batched.

    ``frobenius_norms``: array (..., D) of the layers' Frobenius norms (or radii) — D is read from
    the last axis; ``sum_sq_norms``: $\sum_i\|x_i\|_2^2$ of the sample, broadcastable to (...);
    ``n_samples``: $n$. Returns $\frac1n(\sqrt{2\ln2\cdot D}+1)\prod_j M_F(j)\sqrt{\sum_i\|x_i\|^2}$
    with shape (...). (Assumptions: see :func:`golowich_frobenius`.)
    """
    norms = np.asarray(frobenius_norms, dtype=float)
    if norms.ndim == 0:
        raise InputError("frobenius_norms must have a last axis over the layers, got a scalar")
    D = norms.shape[-1]
    if np.any(norms < 0) or not np.all(np.isfinite(norms)):
        raise InputError("frobenius_norms must be finite and nonnegative")
    s2 = np.asarray(sum_sq_norms, dtype=float)
    nn = np.asarray(n_samples, dtype=float)
    if np.any(s2 < 0) or np.any(nn <= 0):
        raise InputError("sum_sq_norms must be >= 0 and n_samples > 0")
    return (np.sqrt(2 * np.log(2) * D) + 1) * np.prod(norms, axis=-1) * np.sqrt(s2) / nn


# ---------------------------------------------------------------------------------------------
# linear classes

def linear_l2_bound(form: str = "data") -> Bound:
    r"""$\ell_2$ ball $\|w\|_2\le B$: ``form="data"`` $B\sqrt{S_2}/n$; ``form="radius"`` $BR/\sqrt n$."""
    assumptions = ("F = {x -> w.x : ||w||_2 <= B}", "convention: " + CONVENTION)
    if form == "data":
        return Bound("linear-l2", B * sp.sqrt(S2) / n, assumptions + ("S2 = sum_i ||x_i||_2^2",),
                     "Jensen on (B/n) E||sum sigma_i x_i||_2 (Mohri et al. 2018, Thm. 5.10)")
    if form == "radius":
        return Bound("linear-l2-radius", B * R / sp.sqrt(n), assumptions + ("||x_i||_2 <= R",),
                     "Mohri et al. 2018, Thm. 5.10")
    raise InputError(f"form must be 'data' or 'radius', got {form!r}")


def linear_l2_lower() -> Bound:
    r"""Khintchine–Kahane lower estimate $B\sqrt{S_2}/(\sqrt2\,n)$ (Szarek's constant; the vector
    version is Latała & Oleszkiewicz 1994): $\mathbb E\|\sum\sigma_ix_i\|\ge(\sum\|x_i\|^2)^{1/2}/\sqrt2$."""
    return Bound("linear-l2-khintchine", B * sp.sqrt(S2) / (sp.sqrt(2) * n),
                 ("F = {x -> w.x : ||w||_2 <= B}", "S2 = sum_i ||x_i||_2^2", "convention: " + CONVENTION),
                 "Szarek (1976); Latala & Oleszkiewicz (1994)", kind="lower")


def linear_l1_massart_bound(form: str = "data") -> Bound:
    r"""$\ell_1$ ball $\|w\|_1\le B$ via Massart's lemma over the $2d$ vectors $\pm X_{:,j}$:
    ``form="data"`` $B\,C_\infty\sqrt{2\ln(2d)}/n$ with $C_\infty=\max_j\|X_{:,j}\|_2$;
    ``form="radius"`` $BR_\infty\sqrt{2\ln(2d)/n}$ ($|x_{ij}|\le R_\infty$)."""
    assumptions = ("F = {x -> w.x : ||w||_1 <= B}", "convention: " + CONVENTION)
    if form == "data":
        return Bound("linear-l1-massart", B * C_inf * sp.sqrt(2 * sp.log(2 * d)) / n,
                     assumptions + ("C_inf = max_j (sum_i x_ij^2)^(1/2)",),
                     "Massart's finite-class lemma (Mohri et al. 2018, Thm. 3.7)")
    if form == "radius":
        return Bound("linear-l1-massart-radius", B * R_inf * sp.sqrt(2 * sp.log(2 * d) / n),
                     assumptions + ("|x_ij| <= R_inf",), "Massart's finite-class lemma (Mohri et al. 2018, Thm. 3.7)")
    raise InputError(f"form must be 'data' or 'radius', got {form!r}")


def linear_l1_lower() -> Bound:
    r"""$\ell_1$ ball, lower estimate $B\,C_\infty/(\sqrt2\,n)$: $\mathbb E\|\sum_i\sigma_ix_i\|_\infty\ge
    \max_j\mathbb E|\sum_i\sigma_ix_{ij}|\ge\max_j\|X_{:,j}\|_2/\sqrt2$ (Khintchine with Szarek's constant on the
    best coordinate). It does not grow with $d$; the $d$-dependence of the exact value is that of a
    maximum of $d$ (nearly) Gaussian sums, see :func:`gaussian_max_abs`."""
    return Bound("linear-l1-khintchine", B * C_inf / (sp.sqrt(2) * n),
                 ("F = {x -> w.x : ||w||_1 <= B}", "C_inf = max_j (sum_i x_ij^2)^(1/2)", "convention: " + CONVENTION),
                 "Szarek (1976) on one coordinate", kind="lower")


def gaussian_max_abs(dim: int) -> float:
    r"""$\mathbb E\max_{j\le d}|g_j|$ for $d$ independent standard Gaussians, by quadrature of
    $\int_0^\infty 1-(2\Phi(t)-1)^d\,dt$.

    For the $\ell_1$ ball on a $\pm1$ design this is the $n\to\infty$ limit (central limit theorem) of
    $\sqrt n\,\hat{\mathfrak R}_S/B$ — the value Massart's $\sqrt{2\ln(2d)}$ bounds from above (it is not a
    lower bound at finite $n$). Tends to $\sqrt{2\ln(2d)}$ slowly: 0.798 at $d=1$, 1.570 at $d=5$.
    """
    from scipy import integrate, special

    if int(dim) < 1:
        raise InputError(f"dimension must be >= 1, got {dim}")
    tail = lambda t: 1.0 - special.erf(t / np.sqrt(2.0)) ** int(dim)  # noqa: E731
    return float(integrate.quad(tail, 0.0, np.inf, limit=200)[0])


# ---------------------------------------------------------------------------------------------
# two-layer networks

def two_layer_bound() -> Bound:
    r"""$\sum_j a_j\sigma(w_j^\top x)$, $\|a\|_1\le B_a$, $\|w_j\|_2\le B_w$, $\sigma$ $L$-Lipschitz,
    $\sigma(0)=0$: $\hat{\mathfrak R}\le 2LB_aB_w\sqrt{S_2}/n$, any width.

    Proof sketch: $\sup_f\sum\sigma_if(x_i) = B_a\sup_w|\sum\sigma_i\sigma(w^\top x_i)|$; since
    $w=0$ is allowed, $\sup|\cdot|\le\sup(\cdot)+\sup(-\cdot)$, both with the same expectation, then
    Talagrand's contraction and the $\ell_2$ linear class.
    """
    return Bound("two-layer", 2 * L * B_a * B_w * sp.sqrt(S2) / n,
                 ("f(x) = sum_j a_j sigma(w_j.x), no biases, any width",
                  "||a||_1 <= B_a, ||w_j||_2 <= B_w", "sigma L-Lipschitz with sigma(0) = 0",
                  "S2 = sum_i ||x_i||_2^2", "convention: " + CONVENTION),
                 "Contraction + l2 class (e.g. Bartlett & Mendelson 2002, Thm. 18, converted to this convention)")


def two_layer_lower() -> Bound:
    r"""Two-layer ReLU nets, $\|a\|_1\le B_a$, $\|w_j\|_2\le B_w$, width $\ge1$: lower estimate
    $B_aB_w\sqrt{S_2}/(2\sqrt2\,n)$.

    $\mathrm{relu}(z)-\mathrm{relu}(-z)=z$, so for every unit $u$ one of $\pm u$ has
    $|\sum_i\sigma_i\mathrm{relu}(\pm u^\top x_i)|\ge|u^\top\sum_i\sigma_ix_i|/2$; hence
    $\hat{\mathfrak R}_S\ge\frac{B_aB_w}{2n}\mathbb E\|\sum_i\sigma_ix_i\|_2$ and Khintchine–Kahane
    (:func:`linear_l2_lower`) gives the stated value — $1/(4\sqrt2)$ of :func:`two_layer_bound` at $L=1$.
    """
    return Bound("two-layer-lower", B_a * B_w * sp.sqrt(S2) / (2 * sp.sqrt(2) * n),
                 ("f(x) = sum_j a_j relu(w_j.x), no biases, width >= 1", "||a||_1 <= B_a, ||w_j||_2 <= B_w",
                  "S2 = sum_i ||x_i||_2^2", "convention: " + CONVENTION),
                 "relu(z) - relu(-z) = z, then Khintchine-Kahane (Szarek 1976; Latala & Oleszkiewicz 1994)",
                 kind="lower")


def path_norm_bound() -> Bound:
    r"""ReLU two-layer nets with path norm $\varphi=\sum_j|a_j|\|w_j\|_2\le\varphi$:
    $\hat{\mathfrak R}\le2\varphi\sqrt{S_2}/n$ (rescale each neuron to $\|w_j\|=1$ by homogeneity,
    then :func:`two_layer_bound` with $B_a=\varphi$, $B_w=1$, $L=1$)."""
    return Bound("path-norm", 2 * phi * sp.sqrt(S2) / n,
                 ("f(x) = sum_j a_j relu(w_j.x), no biases, any width",
                  "sum_j |a_j| ||w_j||_2 <= phi", "S2 = sum_i ||x_i||_2^2", "convention: " + CONVENTION),
                 "Neyshabur, Tomioka, Srebro (2015) path norm; two-layer contraction argument")


# ---------------------------------------------------------------------------------------------
# generalization

def lipschitz_loss_bound() -> Bound:
    r"""$\mathbb E\ell\le\hat{\mathbb E}\ell+2L\,\mathrm{rad}+3c\sqrt{\ln(2/\delta)/(2n)}$ (loss in
    $[0,c]$, $L$-Lipschitz in $f(x)$; ``rad`` $=\hat{\mathfrak R}_S(\mathcal F)$ or an upper bound)."""
    return Bound("lipschitz-loss-generalization", emp + 2 * L * rad + 3 * c * sp.sqrt(sp.log(2 / delta) / (2 * n)),
                 ("loss in [0, c], L-Lipschitz in f(x)", "holds w.p. >= 1 - delta over the sample, for all f in F",
                  "rad >= empirical Rademacher complexity of F", "convention: " + CONVENTION),
                 "Mohri et al. (2018), Thm. 3.3 + Talagrand's contraction (Lemma 5.7)")


def margin_concentration() -> Bound:
    r"""The concentration term $3\sqrt{\ln(2/\delta)/(2n)}$ of the margin bound."""
    return Bound("margin-concentration", 3 * sp.sqrt(sp.log(2 / delta) / (2 * n)),
                 ("McDiarmid on the empirical Rademacher complexity and on the sup deviation",),
                 "Mohri et al. (2018), Thm. 3.3")


def margin_bound(with_complexity: bool = True) -> Bound:
    r"""Margin bound: $P(yf(x)\le0)\le\hat R_\gamma(f)+(2/\gamma)\,\mathrm{rad}+3\sqrt{\ln(2/\delta)/(2n)}$.

    $\hat R_\gamma$ (``emp``) is the empirical ramp loss at margin $\gamma$,
    $\min(1,\max(0,1-yf(x)/\gamma))$. ``with_complexity=False`` drops the Rademacher term — a
    deliberately wrong "bound" used as a control.
    """
    expr = emp + 3 * sp.sqrt(sp.log(2 / delta) / (2 * n))
    name = "margin-no-complexity"
    if with_complexity:
        expr = expr + 2 / gamma * rad
        name = "margin"
    return Bound(name, expr,
                 ("binary labels y in {-1, +1}; ramp loss at a margin gamma fixed before seeing the sample",
                  "holds w.p. >= 1 - delta over the sample, for all f in F",
                  "rad >= empirical Rademacher complexity of F", "convention: " + CONVENTION),
                 "Mohri et al. (2018), Thm. 5.8 (Koltchinskii & Panchenko 2002)")


def ramp_loss(margins: Any, gamma_value: Any) -> np.ndarray:
    r"""$\min(1,\max(0,1-m/\gamma))$ elementwise (the $1/\gamma$-Lipschitz margin loss)."""
    m = np.asarray(margins, dtype=float)
    return np.clip(1.0 - m / np.asarray(gamma_value, dtype=float), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# exact empirical values

MAX_ENUM_N = 22


def sign_vectors(n_signs: int, first_positive: bool = False) -> np.ndarray:
    r"""All $2^n$ sign vectors as an int8 array $(2^n, n)$; with ``first_positive`` only the
    $2^{n-1}$ with $\sigma_1=+1$ (enough for even functions of $\sigma$)."""
    if n_signs < 1 or n_signs > MAX_ENUM_N:
        raise InputError(f"sign enumeration needs 1 <= n <= {MAX_ENUM_N}, got n = {n_signs}")
    k = n_signs - 1 if first_positive else n_signs
    idx = np.arange(2**k, dtype=np.int64)[:, None]
    bits = ((idx >> np.arange(k, dtype=np.int64)[None, :]) & 1).astype(np.int8)
    signs = (1 - 2 * bits).astype(np.int8)
    if first_positive:
        signs = np.concatenate([np.ones((signs.shape[0], 1), np.int8), signs], axis=1)
    return signs


def _dual_norm(V: np.ndarray, q: float) -> np.ndarray:
    if q == np.inf:
        return np.abs(V).max(axis=-1)
    if q == 2:
        return np.sqrt(np.einsum("...d,...d->...", V, V))
    return np.sum(np.abs(V) ** q, axis=-1) ** (1.0 / q)


def linear_rademacher_exact(X: Any, radius: float = 1.0, p: float = 2.0, chunk: int = 1 << 16) -> float:
    r"""Exact $\hat{\mathfrak R}_S$ of $\{x\mapsto w^\top x:\|w\|_p\le B\}$ by enumerating all sign vectors.

    $\sup_{\|w\|_p\le B}\frac1n\sum\sigma_iw^\top x_i = \frac Bn\|\sum\sigma_ix_i\|_{p^*}$; the norm is
    even in $\sigma$, so the $2^{n-1}$ vectors with $\sigma_1=+1$ suffice. ``X``: (n, d), $n\le22$.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise InputError(f"X must be a 2-D (n, d) array, got shape {X.shape}")
    if p < 1:
        raise InputError(f"p must be >= 1, got {p}")
    q = np.inf if p == 1 else (1.0 if p == np.inf else p / (p - 1))
    nn = X.shape[0]
    signs = sign_vectors(nn, first_positive=True)
    total = 0.0
    for start in range(0, signs.shape[0], chunk):
        V = signs[start:start + chunk].astype(float) @ X
        total += float(_dual_norm(V, q).sum())
    return radius * total / signs.shape[0] / nn


def _relu_corr(U: np.ndarray, X: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """|sum_i sigma_i relu(u.x_i)| for U (..., C, d), X (n, d), sigma (..., n) -> (..., C)."""
    act = np.maximum(np.einsum("...cd,nd->...cn", U, X), 0.0)
    return np.abs(np.einsum("...cn,...n->...c", act, sigma))


def relu_sup_exact_2d(X: Any, sigma: Any) -> np.ndarray:
    r"""Exact $\max_{\|u\|_2=1}|\sum_i\sigma_i\,\mathrm{relu}(u^\top x_i)|$ in $d=2$, per sign vector.

    The breakpoints $u\perp x_i$ cut the circle into $\le 2n$ arcs; on each arc the active set $A$
    is fixed and the objective is $|u^\top v_A|$, $v_A=\sum_{i\in A}\sigma_ix_i$, maximized at an arc
    end or at $u=\pm v_A/\|v_A\|$ when that lies in the arc. All these candidates are unit vectors,
    so evaluating the objective at every candidate and taking the max is exact.
    ``X``: (n, 2); ``sigma``: (..., n). Returns (...).
    """
    X = np.asarray(X, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise InputError(f"relu_sup_exact_2d needs X of shape (n, 2), got {X.shape}")
    ang = np.arctan2(X[:, 1], X[:, 0])
    brk = np.sort(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
    mids = (brk + np.diff(np.concatenate([brk, brk[:1] + 2 * np.pi])) / 2)
    Umid = np.stack([np.cos(mids), np.sin(mids)], axis=-1)  # (arcs, 2)
    active = (Umid @ X.T > 0).astype(float)  # (arcs, n)
    V = np.einsum("...n,an,nd->...ad", sigma, active, X)  # (..., arcs, 2)
    norms = np.linalg.norm(V, axis=-1, keepdims=True)
    Vu = V / np.where(norms > 0, norms, 1.0)
    Ubrk = np.stack([np.cos(brk), np.sin(brk)], axis=-1)
    Ubrk = np.broadcast_to(Ubrk, sigma.shape[:-1] + Ubrk.shape)
    cand = np.concatenate([Ubrk, Vu, -Vu], axis=-2)
    return _relu_corr(cand, X, sigma).max(axis=-1)


def cube_sphere_grid(dim: int, per_side: int) -> tuple[np.ndarray, float]:
    r"""Unit vectors from a grid on the faces of the cube $[-1,1]^{dim}$, and a certified covering radius.

    Each face gets ``per_side``$^{dim-1}$ points at the centres of a regular subdivision (spacing
    $s=2/\text{per\_side}$). Any unit $u$ is $p/\|p\|$ for $p$ on a face; the nearest face point $q$
    has $\|p-q\|\le s\sqrt{dim-1}/2$, and radial projection onto the ball is 1-Lipschitz outside it,
    so $\|u-q/\|q\|\|\le s\sqrt{dim-1}/2$ — the returned radius.
    """
    if dim not in (2, 3):
        raise InputError(f"cube_sphere_grid supports dim 2 or 3, got {dim}")
    if per_side < 1:
        raise InputError(f"per_side must be >= 1, got {per_side}")
    s = 2.0 / per_side
    ticks = -1 + s * (np.arange(per_side) + 0.5)
    faces = []
    for axis in range(dim):
        for sign in (-1.0, 1.0):
            grids = np.meshgrid(*([ticks] * (dim - 1)), indexing="ij")
            pts = np.zeros((grids[0].size, dim))
            others = [k for k in range(dim) if k != axis]
            for k, g in zip(others, grids):
                pts[:, k] = g.ravel()
            pts[:, axis] = sign
            faces.append(pts)
    P = np.concatenate(faces)
    return P / np.linalg.norm(P, axis=1, keepdims=True), s * np.sqrt(dim - 1) / 2


def relu_sup_grid(X: Any, sigma: Any, per_side: int = 60, polish: int = 8, top: int = 16, ascent: int = 60,
                  chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    r"""Grid supremum of $g(u)=|\sum_i\sigma_i\,\mathrm{relu}(u^\top x_i)|$ over the unit sphere ($d\le3$).

    Returns ``(value, upper)``, each (...): ``value`` is the best of the grid points (a certified
    cube-sphere grid, :func:`cube_sphere_grid`) polished from the ``top`` best grid points by
    ``polish`` fixed-point steps $u\leftarrow s\,v_{A(u)}/\|v_{A(u)}\|$ ($A(u)$ the active set, $s$ the
    sign of the correlation; finds maxima inside a cell) and by ``ascent`` steps of subgradient
    ascent on the sphere with shrinking steps (finds maxima on cell boundaries). Every candidate is
    a unit vector, so ``value`` is attained: a lower bound on the supremum;
    ``upper`` $=$ best grid value $+\,h\sum_i\|x_i\|$ with $h$ the covering radius — a certified
    upper bound on the supremum since $g$ is $\sum_i\|x_i\|$-Lipschitz.
    """
    X = np.asarray(X, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    dim = X.shape[1]
    U, h = cube_sphere_grid(dim, per_side)
    batch_shape = sigma.shape[:-1]
    sig = sigma.reshape(-1, sigma.shape[-1])
    act = np.maximum(U @ X.T, 0.0)  # (G, n)
    lip = float(np.linalg.norm(X, axis=1).sum())
    values = np.empty(sig.shape[0])
    grid_best = np.empty(sig.shape[0])
    for start in range(0, sig.shape[0], chunk):
        s = sig[start:start + chunk]
        corr = s @ act.T  # (k, G)
        absc = np.abs(corr)
        grid_best[start:start + chunk] = absc.max(axis=1)
        k_top = min(top, U.shape[0])
        idx = np.argpartition(-absc, k_top - 1, axis=1)[:, :k_top]
        u = U[idx]  # (k, top, d)
        best = np.take_along_axis(absc, idx, axis=1).max(axis=1)
        u_fp = u.copy()
        for _ in range(polish):  # fixed point on the active set: u <- s v_A(u) / ||v_A(u)||
            z = np.einsum("ktd,nd->ktn", u_fp, X)
            val = np.einsum("ktn,kn->kt", np.maximum(z, 0.0), s)
            best = np.maximum(best, np.abs(val).max(axis=1))
            v = np.einsum("ktn,kn,nd->ktd", (z > 0).astype(float), s, X) * np.sign(val)[..., None]
            nv = np.linalg.norm(v, axis=-1, keepdims=True)
            u_fp = np.where(nv > 0, v / np.where(nv > 0, nv, 1.0), u_fp)
        z = np.einsum("ktd,nd->ktn", u_fp, X)
        best = np.maximum(best, np.abs(np.einsum("ktn,kn->kt", np.maximum(z, 0.0), s)).max(axis=1))
        step = 2 * h
        for _ in range(ascent):  # subgradient ascent on the sphere, steps shrinking from 2h to 2h/1000
            z = np.einsum("ktd,nd->ktn", u, X)
            val = np.einsum("ktn,kn->kt", np.maximum(z, 0.0), s)
            best = np.maximum(best, np.abs(val).max(axis=1))
            gdir = np.einsum("ktn,kn,nd->ktd", (z > 0).astype(float), s, X) * np.sign(val)[..., None]
            gdir -= np.einsum("ktd,ktd->kt", gdir, u)[..., None] * u
            ng = np.linalg.norm(gdir, axis=-1, keepdims=True)
            u = u + step * gdir / np.where(ng > 0, ng, 1.0)
            u /= np.linalg.norm(u, axis=-1, keepdims=True)
            step *= 1e-3 ** (1.0 / max(ascent - 1, 1))
        z = np.einsum("ktd,nd->ktn", u, X)
        best = np.maximum(best, np.abs(np.einsum("ktn,kn->kt", np.maximum(z, 0.0), s)).max(axis=1))
        values[start:start + chunk] = best
    upper = np.maximum(grid_best + h * lip, values)
    return values.reshape(batch_shape), upper.reshape(batch_shape)



def margin_bound_on_grid(normalized_margins: Any, gammas: Any, sum_sq: Any, n_samples: int, delta_value: float,
                         with_complexity: bool = True) -> dict[str, np.ndarray]:
    r"""The margin bound for two-layer ReLU nets, evaluated at trained weights, over a fixed margin grid.

    The class is $\mathcal F_1=\{\sum_ja_j\mathrm{relu}(w_j^\top x):\varphi\le1\}$ (path norm), fixed before
    seeing data, with $\hat{\mathfrak R}_S(\mathcal F_1)\le2\sqrt{S_2}/n$ (:func:`path_norm_bound`). A trained
    net $f$ enters through $f/\varphi(f)\in\mathcal F_1$, which has the same sign, so
    ``normalized_margins`` $=y_if(x_i)/\varphi(f)$. The stated bound (:func:`margin_bound`) is applied
    at each of the $K$ margins $\gamma_k$ of the fixed grid ``gammas`` with confidence $\delta/K$; by
    the union bound all $K$ hold together with probability $\ge1-\delta$, so the minimum over $k$ is
    a valid bound for every $f$ simultaneously:

    $$P(yf(x)\le0)\le\min_k\Big[\hat R_{\gamma_k}(f/\varphi)+\frac2{\gamma_k}\cdot\frac{2\sqrt{S_2}}n
    +3\sqrt{\frac{\ln(2K/\delta)}{2n}}\Big].$$

    Equivalently: the stated bound for the class $\{\varphi\le\varphi(f)\}$ at margin $\gamma_k\varphi(f)$
    (the complexity term is $(2/(\gamma_k\varphi))\cdot2\varphi\sqrt{S_2}/n$ with the measured norm).

    ``normalized_margins``: (..., n); ``sum_sq``: a number or one per net, broadcastable to (...); returns
    ``bound`` (...), ``gamma`` (...) the minimizing grid margin, ``ramp`` (..., K), ``complexity`` (K,) or
    (..., K), ``concentration`` (scalar).
    ``with_complexity=False`` drops the complexity term (a control).
    """
    m = np.asarray(normalized_margins, dtype=float)
    g = np.asarray(gammas, dtype=float).ravel()
    if g.size < 1 or np.any(g <= 0):
        raise InputError(f"gammas must be a nonempty list of positive margins, got {gammas!r}")
    if m.shape[-1] != int(n_samples):
        raise InputError(f"normalized_margins has {m.shape[-1]} samples on its last axis, expected n = {n_samples}")
    K = g.size
    ramp = ramp_loss(m[..., None, :], g[:, None]).mean(axis=-1)  # (..., K)
    rad_value = np.asarray(path_norm_bound().evaluate(phi=1.0, S2=sum_sq, n=n_samples), float)[..., None]
    bound_expr = margin_bound(with_complexity)
    values = {"emp": ramp, "delta": delta_value / K, "n": n_samples}
    if with_complexity:
        values.update(gamma=g, rad=rad_value)
    total = bound_expr.evaluate(**values)
    total = np.broadcast_to(total, ramp.shape)
    k_best = total.argmin(axis=-1)
    complexity = 2 / g * rad_value if with_complexity else np.zeros_like(g)
    if complexity.shape[:-1] == (1,) * (complexity.ndim - 1):
        complexity = complexity.reshape(-1)
    return {"bound": np.take_along_axis(total, k_best[..., None], -1)[..., 0], "gamma": g[k_best], "ramp": ramp,
            "complexity": np.asarray(complexity, float),
            "concentration": float(margin_concentration().evaluate(delta=delta_value / K, n=n_samples))}
