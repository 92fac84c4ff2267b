r"""Batched wide MLPs in any per-layer parametrization, their empirical NTK, and their training (torch, float64).

**A parametrization is data.** Layer $l$ (input dim $m_l$, output dim $m_{l+1}$) computes
$h^{l+1} = \alpha_l\,w^l\,x^l + \alpha^b_l\,b^l$ with trained parameters $w^l_{ij}\sim N(0, s_l^2)$,
$b^l_i\sim N(0, (s^b_l)^2)$ and per-layer learning-rate factors $\gamma_l$, $\gamma^b_l$: SGD moves
$w^l \leftarrow w^l - \eta\gamma_l\nabla_{w^l}\mathcal L$. :class:`Scaling` holds these numbers;
:func:`ntk_scaling` builds Jacot's NTK parametrization ($\alpha_l = \sigma_w/\sqrt{m_l}$, $\alpha^b = \sigma_b$,
$s = 1$, $\gamma = 1$) and :func:`abc_scaling` any abc-parametrization relative to a base width $n_0$
($\alpha_l = (n/n_0)^{-a_l}$, $s_l = (n/n_0)^{-b_l}/\sqrt{m_l^{(0)}}$ with $m_l^{(0)}$ the fan-in at the base
width, $\gamma_l = (n/n_0)^{-c}$), so that all abc-parametrizations coincide at $n = n_0$ (SP, SP with
lr ∝ 1/width, NTP and muP in the practical form of Yang et al. 2022, Table 3).

**Empirical NTK without Jacobians.** With activations $x^l$ and backpropagated vectors
$\delta^{l+1} = \partial f/\partial h^{l+1}$ ($\delta^{L+1} = 1$, $\delta^l = (\alpha_l w^{l\top}\delta^{l+1})\odot
\phi'(h^l)$), $\partial f/\partial w^l = \alpha_l\,\delta^{l+1}x^{l\top}$, so

$$\hat\Theta(x,x') = \sum_l \big[\alpha_l^2\langle x^l, x'^l\rangle + (\alpha^b_l)^2\big]\langle\delta^{l+1}, \delta'^{l+1}\rangle$$

(:func:`empirical_ntk`; with ``lr_weighted`` each term is multiplied by the layer's $\gamma$, the kernel that
drives the SGD dynamics). Cost: one forward and one backward pass per input, memory $O(\text{inputs}\times
\text{width})$ per layer; no width × width matrix besides the weights themselves, and no Jacobian
(tests compare with ``torch.func.jacrev`` J Jᵀ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from theorycheck.errors import DivergenceError, InputError

ACTIVATIONS = ("relu", "erf", "tanh")
_SQRT_PI = 1.7724538509055159


def activation_pair(name: str):
    """(phi, phi') as torch functions."""
    if name == "relu":
        return torch.relu, lambda h: (h > 0).to(h.dtype)
    if name == "erf":
        return torch.special.erf, lambda h: (2.0 / _SQRT_PI) * torch.exp(-h * h)
    if name == "tanh":
        return torch.tanh, lambda h: 1.0 - torch.tanh(h) ** 2
    raise InputError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


@dataclass(frozen=True)
class Scaling:
    """Per-layer multipliers, init standard deviations and lr factors of weights (and biases, if any).

    ``widths`` = (d, n_1, ..., n_L, 1). Bias tuples are empty for a network without biases.
    """

    widths: tuple[int, ...]
    multiplier: tuple[float, ...]
    init_std: tuple[float, ...]
    lr: tuple[float, ...]
    bias_multiplier: tuple[float, ...] = ()
    bias_std: tuple[float, ...] = ()
    bias_lr: tuple[float, ...] = ()

    @property
    def depth(self) -> int:
        """Number of weight layers (hidden layers + 1)."""
        return len(self.widths) - 1

    @property
    def has_bias(self) -> bool:
        return bool(self.bias_multiplier)


def _widths(dim: int, width: int, hidden_layers: int) -> tuple[int, ...]:
    if dim < 1 or width < 1 or hidden_layers < 1:
        raise InputError(f"need dim, width, hidden_layers >= 1; got {dim}, {width}, {hidden_layers}")
    return (dim, *([width] * hidden_layers), 1)


def ntk_scaling(dim: int, width: int, hidden_layers: int, sw: float, sb: float) -> Scaling:
    r"""Jacot's NTK parametrization: $h^{l+1} = \frac{\sigma_w}{\sqrt{m_l}}w^lx^l + \sigma_b b^l$, all raw
    parameters $N(0,1)$, learning-rate factors 1 (biases only when $\sigma_b > 0$)."""
    widths = _widths(dim, width, hidden_layers)
    layers = len(widths) - 1
    bias = sb > 0
    return Scaling(widths, tuple(sw / m**0.5 for m in widths[:-1]), (1.0,) * layers, (1.0,) * layers,
                   (sb,) * layers if bias else (), (1.0,) * layers if bias else (), (1.0,) * layers if bias else ())


def abc_scaling(dim: int, width: int, hidden_layers: int, a: Sequence[float], b: Sequence[float], c: float,
                base_width: int) -> Scaling:
    r"""An abc-parametrization relative to ``base_width`` $n_0$, without biases: ``a``, ``b`` are the exponents
    of (input layer, hidden layers, readout); layer $l$ gets $\alpha_l = (n/n_0)^{-a_l}$,
    $s_l = (n/n_0)^{-b_l}/\sqrt{m^{(0)}_l}$, $\gamma_l = (n/n_0)^{-c}$."""
    if base_width < 1:
        raise InputError(f"base_width must be at least 1, got {base_width}")
    widths = _widths(dim, width, hidden_layers)
    ratio = width / base_width
    roles = [0] + [1] * (hidden_layers - 1) + [2]
    base_fan_in = [dim] + [base_width] * hidden_layers
    return Scaling(widths,
                   tuple(ratio ** -a[r] for r in roles),
                   tuple(ratio ** -b[r] / m**0.5 for r, m in zip(roles, base_fan_in)),
                   (ratio ** -c,) * len(roles))


@dataclass
class Network:
    """A batch of B networks: ``weights[l]`` (B, m_{l+1}, m_l), ``biases[l]`` (B, m_{l+1}) or empty."""

    scaling: Scaling
    activation: str
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]

    @property
    def batch(self) -> int:
        return self.weights[0].shape[0]

    def clone(self) -> "Network":
        return Network(self.scaling, self.activation, [w.clone() for w in self.weights],
                       [b.clone() for b in self.biases])

    def parameters(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases]


def init_network(scaling: Scaling, activation: str, seeds: Sequence[int], device: torch.device | str = "cpu",
                 stream: int = 0) -> Network:
    """Draw one network per seed (each from its own generator, so a seed's network does not depend on the
    other seeds in the batch); ``stream`` separates independent draws for the same seed (e.g. per width)."""
    activation_pair(activation)
    weights = [[] for _ in range(scaling.depth)]
    biases = [[] for _ in range(scaling.depth)] if scaling.has_bias else []
    for seed in seeds:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed) * 1_000_003 + 7919 * int(stream) + 17)
        for l, (fan_in, fan_out) in enumerate(zip(scaling.widths[:-1], scaling.widths[1:])):
            weights[l].append(torch.randn((fan_out, fan_in), generator=gen, dtype=torch.float64)
                              * scaling.init_std[l])
            if scaling.has_bias:
                biases[l].append(torch.randn((fan_out,), generator=gen, dtype=torch.float64) * scaling.bias_std[l])
    return Network(scaling, activation, [torch.stack(w).to(device) for w in weights],
                   [torch.stack(b).to(device) for b in biases])


def forward(net: Network, X: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Outputs (B, N) for inputs ``X`` (N, d) or (B, N, d), with the layer inputs x^l (B, N, m_l) and the hidden
    pre-activations h^l (B, N, n_l), l = 1..L."""
    phi, _ = activation_pair(net.activation)
    sc = net.scaling
    x = X.expand(net.batch, *X.shape) if X.ndim == 2 else X
    inputs, pre = [], []
    for l, w in enumerate(net.weights):
        inputs.append(x)
        h = sc.multiplier[l] * torch.matmul(x, w.transpose(1, 2))
        if sc.has_bias:
            h = h + sc.bias_multiplier[l] * net.biases[l][:, None, :]
        if l < sc.depth - 1:
            pre.append(h)
            x = phi(h)
    return h[..., 0], inputs, pre


def backprop_vectors(net: Network, pre: list[torch.Tensor]) -> list[torch.Tensor]:
    r"""$\delta^{l+1} = \partial f(x_i)/\partial h^{l+1}(x_i)$ per input, for l = 0..L: list of (B, N, m_{l+1});
    the last is all ones."""
    _, dphi = activation_pair(net.activation)
    sc = net.scaling
    delta = torch.ones(*pre[0].shape[:2], 1, dtype=pre[0].dtype, device=pre[0].device) if pre else None
    deltas = [delta]
    for l in range(sc.depth - 1, 0, -1):
        delta = sc.multiplier[l] * torch.matmul(delta, net.weights[l]) * dphi(pre[l - 1])
        deltas.append(delta)
    return deltas[::-1]


def empirical_ntk(net: Network, X1: torch.Tensor, X2: torch.Tensor | None = None,
                  lr_weighted: bool = False) -> torch.Tensor:
    r"""$\hat\Theta(X_1, X_2)$ of every network in the batch, (B, N1, N2), by the layer-by-layer formula."""
    _, in1, pre1 = forward(net, X1)
    d1 = backprop_vectors(net, pre1)
    if X2 is None:
        in2, d2 = in1, d1
    else:
        _, in2, pre2 = forward(net, X2)
        d2 = backprop_vectors(net, pre2)
    sc = net.scaling
    out = 0.0
    for l in range(sc.depth):
        gram_x = sc.multiplier[l] ** 2 * torch.matmul(in1[l], in2[l].transpose(1, 2))
        if sc.has_bias:
            bias = sc.bias_multiplier[l] ** 2 * (sc.bias_lr[l] if lr_weighted else 1.0)
            gram_x = gram_x * (sc.lr[l] if lr_weighted else 1.0) + bias
        elif lr_weighted:
            gram_x = gram_x * sc.lr[l]
        out = out + gram_x * torch.matmul(d1[l], d2[l].transpose(1, 2))
    return out


def gradients(net: Network, inputs: list[torch.Tensor], pre: list[torch.Tensor], residual: torch.Tensor
              ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    r"""Gradients of $\sum_i r_i f(x_i)$ (``residual`` $r$: (B, N)) in the weights and biases, from the layer inputs
    and pre-activations of :func:`forward`; for $\mathcal L = \frac12\sum_i(f_i - y_i)^2$ pass $r = f - y$."""
    deltas = backprop_vectors(net, pre)
    sc = net.scaling
    gw, gb = [], []
    for l in range(sc.depth):
        weighted = deltas[l] * residual[..., None]
        gw.append(sc.multiplier[l] * torch.matmul(weighted.transpose(1, 2), inputs[l]))
        if sc.has_bias:
            gb.append(sc.bias_multiplier[l] * weighted.sum(dim=1))
    return gw, gb


def sgd_step(net: Network, grad_w: list[torch.Tensor], grad_b: list[torch.Tensor], lr: torch.Tensor | float) -> None:
    """In place: w_l -= lr * gamma_l * grad (``lr`` a float or a (B,) tensor of per-network rates)."""
    sc = net.scaling
    rate = lr if not torch.is_tensor(lr) else lr.reshape(-1, 1, 1)
    for l, g in enumerate(grad_w):
        net.weights[l].sub_(rate * sc.lr[l] * g)
    rate_b = lr if not torch.is_tensor(lr) else lr.reshape(-1, 1)
    for l, g in enumerate(grad_b):
        net.biases[l].sub_(rate_b * sc.bias_lr[l] * g)


def train_squared_loss(net: Network, X: torch.Tensor, y: torch.Tensor, lr: torch.Tensor | float, steps: int,
                       mean: bool = False, centered: torch.Tensor | None = None) -> torch.Tensor:
    r"""Full-batch GD in place on $\frac12\sum_i(f(x_i) - y_i)^2$ (``mean``: divided by the number of points);
    ``centered`` (B, N) is subtracted from the output inside the loss (the centered network $f - f_0$).
    Returns the final outputs (B, N); raises DivergenceError on a non-finite loss."""
    count = X.shape[-2]
    for _ in range(steps):
        f, inputs, pre = forward(net, X)
        out = f if centered is None else f - centered
        gw, gb = gradients(net, inputs, pre, (out - y) / (count if mean else 1.0))
        sgd_step(net, gw, gb, lr)
    f, _, _ = forward(net, X)
    if not torch.isfinite(f).all():
        raise DivergenceError("network output", steps, float("nan"))
    return f


def _chunks(seeds: Sequence[int], width: int, hidden_layers: int, points: int, budget: float = 3e7
            ) -> list[list[int]]:
    """Seed batches whose weights and activations fit in about ``budget`` doubles (a deep net costs width^2 per
    hidden layer, the activations about 8 x points x width per seed)."""
    per_seed = float(width) * width * max(hidden_layers - 1, 0) + 8.0 * (points + 8) * width * hidden_layers
    size = max(1, int(budget // per_seed))
    seeds = list(seeds)
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def ntk_at_init(X: torch.Tensor, widths: Sequence[int], seeds: Sequence[int], *, activation: str, sw: float,
                sb: float, hidden_layers: int) -> torch.Tensor:
    r"""Empirical NTK at initialization, (S, W, N, N): one independent network per (seed, width) in Jacot's
    parametrization (:func:`ntk_scaling`), batched over seeds."""
    out = []
    for width in widths:
        scaling = ntk_scaling(X.shape[-1], width, hidden_layers, sw, sb)
        parts = [empirical_ntk(init_network(scaling, activation, chunk, X.device, stream=width), X)
                 for chunk in _chunks(seeds, width, hidden_layers, X.shape[-2])]
        out.append(torch.cat(parts))
    return torch.stack(out, dim=1)


def train_and_track(X_train: torch.Tensor, y_train: torch.Tensor, X_eval: torch.Tensor, widths: Sequence[int],
                    seeds: Sequence[int], *, activation: str, sw: float, sb: float, hidden_layers: int, lr: float,
                    steps: int) -> dict[str, torch.Tensor]:
    r"""Full-batch GD on $\frac12\sum_i(f(x_i) - y_i)^2$ for ``steps`` steps, one network per (seed, width) in
    Jacot's parametrization; returns the outputs on ``X_eval`` at init and at the end (``f0``, ``fT``: (S, W, Ne)),
    the empirical NTK on ``X_eval`` at both times (``ntk0``, ``ntkT``: (S, W, Ne, Ne)) and the final training
    residual norm ``residual`` (S, W)."""
    keys = ("f0", "fT", "ntk0", "ntkT", "residual")
    out = {k: [] for k in keys}
    for width in widths:
        scaling = ntk_scaling(X_train.shape[-1], width, hidden_layers, sw, sb)
        parts = {k: [] for k in keys}
        for chunk in _chunks(seeds, width, hidden_layers, X_eval.shape[-2]):
            net = init_network(scaling, activation, chunk, X_train.device, stream=width)
            parts["f0"].append(forward(net, X_eval)[0])
            parts["ntk0"].append(empirical_ntk(net, X_eval))
            f_train = train_squared_loss(net, X_train, y_train, lr, steps)
            parts["residual"].append(torch.linalg.vector_norm(f_train - y_train, dim=-1))
            parts["fT"].append(forward(net, X_eval)[0])
            parts["ntkT"].append(empirical_ntk(net, X_eval))
        for k in keys:
            out[k].append(torch.cat(parts[k]))
    return {k: torch.stack(v, dim=1) for k, v in out.items()}
