r"""abc-parametrizations (Yang & Hu 2021): how features, outputs and the stable learning rate scale with width.

**Definition.** $L$ hidden layers of width $n$, input and output dimensions fixed. Layer $l = 1..L+1$ has
effective weights $W^l = n^{-a_l}w^l$, trained parameters $w^l_{ij}\sim N(0, n^{-2b_l})$ (times fan-in constants
that do not depend on $n$), and SGD on $w$ with learning rate $\eta n^{-c}$. A parametrization is the data
$(a_1, a_{hid}, a_{L+1};\ b_1, b_{hid}, b_{L+1};\ c)$, one exponent for the input layer, one shared by the hidden
layers $2..L$, one for the readout. Rows used here (:data:`PARAMETRIZATIONS`):

| name | $a_1, a_{hid}, a_{L+1}$ | $b_1, b_{hid}, b_{L+1}$ | $c$ |
|---|---|---|---|
| ``sp`` (standard, fixed lr) | 0, 0, 0 | 0, ½, ½ | 0 |
| ``sp-lr/n`` (standard, lr ∝ 1/width) | 0, 0, 0 | 0, ½, ½ | 1 |
| ``ntp`` (neural tangent) | 0, ½, ½ | 0, 0, 0 | 0 |
| ``mup`` (maximal update) | −½, 0, ½ | ½, ½, ½ | 0 |

**Exponents** (derived here from the definition, for full-batch SGD started at a stable init, $a_1 + b_1 = 0$,
$a_l + b_l = \frac12$ for hidden layers). At init every pre-activation coordinate is $\Theta(1)$ and the
backpropagated vector $\partial f/\partial h^l$ has coordinates $\Theta(n^{-(a_{L+1}+b_{L+1})})$ in every hidden
layer. The first step changes $W^l$ by $\eta n^{-c-2a_l}\,\chi\,(\partial f/\partial h^l)\otimes x^{l-1}$, which
moves $h^l$ by $n^{-c-2a_l-(a_{L+1}+b_{L+1})}\,|x^{l-1}|^2$ ($|x^{l-1}|^2 = \Theta(n)$ for $l \ge 2$, $\Theta(1)$
for $l = 1$); the move is aligned with the next layer's weights and so reaches $h^L$ at the same size. Hence
the last hidden layer moves per coordinate as $n^{-r_1}$ at step 1, with

$$r_1 = (a_{L+1} + b_{L+1}) + c - 1 + \min_{1\le l\le L}(2a_l + 1[l = 1]).$$

From step 2 on, the readout has moved by $\Theta(n^{-(2a_{L+1}+c)})$ per coordinate and the backpropagated vector
becomes $n^{-\min(a_{L+1}+b_{L+1},\,2a_{L+1}+c)}$: the exponent is Yang & Hu's

$$r = \min(a_{L+1}+b_{L+1},\ 2a_{L+1}+c) + c - 1 + \min_{1\le l\le L}(2a_l + 1[l=1]),$$

which equals $r_1$ for ``sp-lr/n``, ``ntp`` and ``mup`` ($\frac12, \frac12, 0$) but not for ``sp`` ($r_1 = -\frac12$,
$r = -1$: the features blow up). The output moves at step 1 by
$\Delta f = \Theta(n^{\max(1 - c - 2a_{L+1},\ 1 - (a_{L+1}+b_{L+1}) - r_1)})$ (readout update times $|x^L|^2$, and
the feature move read out by the aligned readout). A learning rate $\eta$ is stable only if $\eta\,\Delta f$
stays bounded, so the largest stable (and, in practice, the best) base learning rate scales as
$n^{-\max(\ldots)}$: $n^{-1}$ under ``sp``, $n^0$ under ``mup`` (muTransfer).
"""

from __future__ import annotations

from dataclasses import dataclass

from theorycheck.errors import InputError


@dataclass(frozen=True)
class Parametrization:
    """An abc-parametrization: exponents for the input layer, the hidden layers 2..L and the readout."""

    name: str
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    c: float

    def layer_exponents(self, hidden_layers: int) -> list[tuple[float, float]]:
        """(a_l, b_l) for l = 1..L+1."""
        if hidden_layers < 1:
            raise InputError(f"hidden_layers must be at least 1, got {hidden_layers}")
        inner = [(self.a[1], self.b[1])] * (hidden_layers - 1)
        return [(self.a[0], self.b[0]), *inner, (self.a[2], self.b[2])]


PARAMETRIZATIONS: dict[str, Parametrization] = {
    "sp": Parametrization("sp", (0.0, 0.0, 0.0), (0.0, 0.5, 0.5), 0.0),
    "sp-lr/n": Parametrization("sp-lr/n", (0.0, 0.0, 0.0), (0.0, 0.5, 0.5), 1.0),
    "ntp": Parametrization("ntp", (0.0, 0.5, 0.5), (0.0, 0.0, 0.0), 0.0),
    "mup": Parametrization("mup", (-0.5, 0.0, 0.5), (0.5, 0.5, 0.5), 0.0),
}


def parametrization(name: str) -> Parametrization:
    """The row called ``name``; InputError lists the rows."""
    if name not in PARAMETRIZATIONS:
        raise InputError(f"unknown parametrization {name!r}; choose from {sorted(PARAMETRIZATIONS)}")
    return PARAMETRIZATIONS[name]


def _hidden_min(p: Parametrization, hidden_layers: int) -> float:
    layers = p.layer_exponents(hidden_layers)[:-1]
    return min(2 * a + (1.0 if l == 0 else 0.0) for l, (a, _) in enumerate(layers))


def yang_hu_r(p: Parametrization, hidden_layers: int) -> float:
    r"""Yang & Hu's $r = \min(a_{L+1}+b_{L+1}, 2a_{L+1}+c) + c - 1 + \min_l(2a_l + 1[l=1])$."""
    a_out, b_out = p.a[2], p.b[2]
    return min(a_out + b_out, 2 * a_out + p.c) + p.c - 1 + _hidden_min(p, hidden_layers)


def feature_update_exponent(p: Parametrization, hidden_layers: int, step: int) -> float:
    r"""Predicted exponent $e$ of $\mathrm{RMS}(h^L_t - h^L_0)\propto n^{e}$: $-r_1$ at step 1, $-r$ after."""
    if step < 1:
        raise InputError(f"step must be at least 1, got {step}")
    if step == 1:
        return -((p.a[2] + p.b[2]) + p.c - 1 + _hidden_min(p, hidden_layers))
    return -yang_hu_r(p, hidden_layers)


def output_update_exponent(p: Parametrization, hidden_layers: int) -> float:
    r"""Predicted exponent of $|f_1 - f_0|$ after one step: $\max(1 - c - 2a_{L+1}, 1 - (a_{L+1}+b_{L+1}) - r_1)$."""
    r1 = -feature_update_exponent(p, hidden_layers, 1)
    return max(1 - p.c - 2 * p.a[2], 1 - (p.a[2] + p.b[2]) - r1)


def stable_lr_exponent(p: Parametrization, hidden_layers: int) -> float:
    r"""Predicted exponent of the largest stable (and the optimal) base learning rate, $\eta^*\propto n^{e}$:
    minus the output-update exponent (:func:`output_update_exponent`)."""
    return -output_update_exponent(p, hidden_layers)
