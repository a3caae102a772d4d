"""Per-neuron activation layers: hard Gumbel mixture (Phase 1), grouped activations (Phase 2)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .activations import (
    ACTIVATIONS,
    ELU_ALPHA,
    KERNELS,
    LEAKY_SLOPE,
    POOL,
    SELU_ALPHA,
    SELU_SCALE,
    SELU_SCALE_F32,
    _widened,
    check_name,
    elu_forward,
)

K = len(POOL)  # candidates per neuron
CLAMP = 10.0  # official: every candidate and the mixture are clamped to [-10, 10]

# The derivative of every clamped candidate, from x and its own value c:
#   d = a + delta * exp(x) [x <= 0 only] + c * (beta + gamma * c), with a depending on sign(x):
#   relu 1 | 0;  sigmoid c (1 - c);  tanh 1 - c^2;  leaky_relu 1 | slope;  elu 1 | alpha exp(x);
#   selu scale | scale alpha exp(x)  (x > 0 | x <= 0). exp(x) is recomputed, not recovered from
#   the ELU value (c + alpha cancels catastrophically for very negative x).
# Columns: a(x > 0), a(x <= 0), delta, beta, gamma; rows in pool order.
_DERIVATIVE = (
    (1.0, 0.0, 0.0, 0.0, 0.0),  # relu
    (0.0, 0.0, 0.0, 1.0, -1.0),  # sigmoid
    (1.0, 1.0, 0.0, 0.0, -1.0),  # tanh
    (1.0, LEAKY_SLOPE, 0.0, 0.0, 0.0),  # leaky_relu
    (1.0, 0.0, ELU_ALPHA, 0.0, 0.0),  # elu
    (SELU_SCALE, 0.0, SELU_SCALE * SELU_ALPHA, 0.0, 0.0),  # selu
)
_DERIVATIVE_TABLES: dict[tuple[torch.device, torch.dtype], Tensor] = {}


def _derivative_table(like: Tensor) -> Tensor:
    """_DERIVATIVE as a (5, K) tensor on `like`'s device and dtype, made once per device."""
    key = (like.device, like.dtype)
    if key not in _DERIVATIVE_TABLES:
        _DERIVATIVE_TABLES[key] = torch.tensor(_DERIVATIVE, dtype=like.dtype).t().to(like.device)
    return _DERIVATIVE_TABLES[key]


def candidates(x: Tensor) -> Tensor:
    """All six pool activations of `x`, each clamped to [-10, 10], stacked as (6, *x.shape).

    Candidates share their pieces (one expm1 serves ELU and SELU) and are written into one
    (6, batch, units) buffer: cheaper than six separate calls plus a stack on the last axis.
    ELU and SELU values are bitwise those of the registry (`activations.elu_forward`).
    """
    out = x.new_empty((K, *x.shape))  # (K, batch, units)
    pos = x.clamp(min=0)
    neg = x.clamp(max=0)
    torch.clamp(pos, max=CLAMP, out=out[0])  # relu
    torch.sigmoid(x, out=out[1])
    torch.tanh(x, out=out[2])
    torch.add(pos, neg, alpha=LEAKY_SLOPE, out=out[3]).clamp_(-CLAMP, CLAMP)
    if _widened(x):  # expm1 in float64, one rounding per value, as activations.elu_forward
        # One of the two terms of each sum below is zero, so the float32 additions are exact.
        em1 = neg.double().expm1_()  # exp(x) - 1 on the negative side, 0 elsewhere
        out[4].copy_(em1).add_(pos).clamp_(max=CLAMP)  # elu >= -1
        em1.mul_(SELU_ALPHA * SELU_SCALE_F32)
        out[5].copy_(em1).add_(pos, alpha=SELU_SCALE_F32).clamp_(max=CLAMP)
    else:
        elu_forward(x, "elu", out=out[4]).clamp_(max=CLAMP)
        elu_forward(x, "selu", out=out[5]).clamp_(max=CLAMP)
    return out


def _selected_derivative(x: Tensor, chosen: Tensor, sel: Tensor) -> Tensor:
    """d clamp(f_sel(x)) / dx for each neuron's selected candidate, (batch, units).

    `chosen` holds the selected clamped candidate values. Clamp gradients follow torch.clamp:
    they pass only strictly inside, -10 < f(x) < 10, i.e. where the clamped value is not +-10.
    """
    a_pos, a_neg, delta, beta, gamma = _derivative_table(x)[:, sel]  # each (units,)
    negative_side = torch.addcmul(a_neg, x.clamp(max=0).exp_(), delta)  # (batch, units)
    deriv = torch.where(x > 0, a_pos, negative_side)
    deriv.addcmul_(torch.addcmul(beta, gamma, chosen), chosen)
    return deriv.mul_(chosen.abs() < CLAMP)


class _HardMixture(torch.autograd.Function):
    """Straight-through hard selection of one clamped candidate per neuron, as the official code.

    The official weights are w = y_hard - y_soft.detach() + y_soft: exactly 0 for the other five
    candidates and w_sel = (1 - y_sel) + y_sel (1 up to float rounding) for the selected one, so
    its mixture is clamp(w_sel * c_sel, -10, 10). We compute exactly that, rounding included
    (torch.clamp passes gradients strictly inside its bounds, so a selected value clamped to
    +-10 passes none unless w_sel rounded below 1, as in the official code), without
    materialising the six-way weighted sum.
    Backward: to the logits through all six candidate values and the softmax Jacobian of y_soft;
    to `x` through the selected candidate only.
    """

    @staticmethod
    def forward(ctx, x: Tensor, logits: Tensor, noise: Tensor | None, tau: float) -> Tensor:
        scores = logits if noise is None else logits + noise  # (units, K)
        y_soft = torch.softmax(scores / tau, dim=-1)  # (units, K)
        sel = y_soft.argmax(dim=-1)  # (units,)
        y_sel = y_soft.gather(1, sel.unsqueeze(1)).squeeze(1)  # (units,)
        w_sel = (1.0 - y_sel) + y_sel  # (units,) the official straight-through weight
        cand = candidates(x)  # (K, batch, units)
        index = sel.view(1, 1, -1).expand(1, *x.shape)  # (1, batch, units)
        chosen = cand.gather(0, index).squeeze(0)  # (batch, units)
        mix = chosen * w_sel
        inside = mix.abs() < CLAMP  # where the outer clamp passes gradients
        ctx.save_for_backward(x, cand, chosen, y_soft, sel, w_sel, inside)
        ctx.tau = tau
        return mix.clamp(-CLAMP, CLAMP)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, cand, chosen, y_soft, sel, w_sel, inside = ctx.saved_tensors
        grad = grad * inside  # (batch, units)
        dx = dlogits = None
        if ctx.needs_input_grad[1]:
            dw = (cand * grad).sum(dim=1).t()  # (units, K): dL/dw_k
            dlogits = y_soft * (dw - (y_soft * dw).sum(-1, keepdim=True)) / ctx.tau
        if ctx.needs_input_grad[0]:
            dx = grad * w_sel * _selected_derivative(x, chosen, sel)
        return dx, dlogits, None, None


class HardGumbelMixture(nn.Module):
    """Phase 1: every neuron picks one of the six pool activations with a Gumbel-Softmax.

    One Gumbel draw of shape (units, 6) per forward call, shared by the whole batch (official).
    `hard=False` gives the soft mixture sum_k y_soft_k * clamp(f_k(x)) (a variant). With
    `eval_noise=False` evaluation is deterministic: the noise-free argmax network (the one that
    is exported), whatever `hard` is.
    """

    def __init__(
        self,
        units: int,
        tau: float = 0.3,
        hard: bool = True,
        eval_noise: bool = True,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.units, self.tau, self.hard, self.eval_noise = units, tau, hard, eval_noise
        self.logits = nn.Parameter(torch.zeros(units, K))  # (units, K), columns in POOL order
        self.register_buffer("initial_choice", torch.zeros(units, dtype=torch.long))
        self.generator: torch.Generator | None = None  # Gumbel source in training
        self.eval_generator: torch.Generator | None = None  # Gumbel source in noisy evaluation
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Official init: zeros, plus 0.001 at one uniformly random index per neuron."""
        idx = torch.randint(K, (self.units,), generator=generator, device="cpu")
        self.logits.zero_()
        self.logits[torch.arange(self.units), idx.to(self.logits.device)] += 0.001
        self.initial_choice.copy_(idx)

    def draw_noise(self) -> Tensor:
        """Gumbel(0, 1) noise of shape (units, 6), as torch's gumbel_softmax draws it."""
        gen = self.generator if self.training else self.eval_generator
        dev = "cpu" if gen is None else gen.device
        g = -torch.empty((self.units, K), device=dev).exponential_(generator=gen).log()
        return g.to(self.logits.device, non_blocking=True)

    def forward(self, x: Tensor) -> Tensor:
        noisy = self.training or self.eval_noise
        if self.hard or not noisy:
            noise = self.draw_noise() if noisy else None
            return _HardMixture.apply(x, self.logits, noise, self.tau)
        y_soft = torch.softmax((self.logits + self.draw_noise()) / self.tau, dim=-1)  # (units, K)
        stack = torch.stack([ACTIVATIONS[n](x).clamp(-CLAMP, CLAMP) for n in POOL])  # (K, b, u)
        return (y_soft.t().unsqueeze(1) * stack).sum(0).clamp(-CLAMP, CLAMP)

    def choices(self) -> list[str]:
        """Exported choice per neuron: argmax of the logits, no noise."""
        return [POOL[i] for i in self.logits.argmax(-1).tolist()]

    def initial_choices(self) -> list[str]:
        """The argmax of the initial logits: the random assignment training started from."""
        return [POOL[i] for i in self.initial_choice.tolist()]

    def extra_repr(self) -> str:
        return f"units={self.units}, tau={self.tau}, hard={self.hard}, eval_noise={self.eval_noise}"


class _Grouped(torch.autograd.Function):
    """Contiguous activation groups of a (batch, units) or (units, batch) input, one output buffer.

    The autograd alternative (split, activate, torch.cat) costs a concatenation each way and one
    autograd node per group: too much for the many narrow layers of deep architectures. Values
    and gradients are the registry's buffer kernels (`activations.KERNELS`). `kernels` holds one
    (forward, backward) pair per group, `sizes` the group widths along `dim` (the units axis).
    """

    @staticmethod
    def forward(ctx, x: Tensor, kernels: tuple, sizes: tuple[int, ...], dim: int) -> Tensor:
        y = torch.empty_like(x)  # one split call makes all group views
        split = torch.split_with_sizes  # the C++ binding: Tensor.split adds a Python wrapper
        for (fwd, _), xg, yg in zip(kernels, split(x, sizes, dim), split(y, sizes, dim)):
            fwd(xg, yg)
        ctx.save_for_backward(x, y)
        ctx.kernels, ctx.sizes, ctx.dim = kernels, sizes, dim
        return y

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, y = ctx.saved_tensors
        dx = torch.empty_like(x)
        sizes, dim, split = ctx.sizes, ctx.dim, torch.split_with_sizes
        views = zip(
            split(grad, sizes, dim),
            split(x, sizes, dim),
            split(y, sizes, dim),
            split(dx, sizes, dim),
        )
        for (_, bwd), group in zip(ctx.kernels, views):
            bwd(*group)
        return dx, None, None, None


class GroupedActivation(nn.Module):
    """Phase 2: a fixed activation per neuron, one vectorized call per activation group.

    `choices` names one activation per neuron in the original neuron order (what is exported).
    The layer sorts neurons by activation (`perm`: permuted slot j holds original neuron
    perm[j]). By default it gathers the input into that order and scatters back; once the owning
    network has permuted its weights (`MLP.make_contiguous`), the input arrives already grouped
    and each group is a contiguous slice: no gather or scatter at all, one output buffer.
    `dim` is the units axis: 1 for (batch, units) inputs, 0 when the network runs units-first
    (`MLP.units_first`), where every group is one contiguous block of memory.
    """

    def __init__(self, choices: Sequence[str]):
        super().__init__()
        self.choices = [check_name(c) for c in choices]
        rank = {name: i for i, name in enumerate(ACTIVATIONS)}
        order = sorted(range(len(self.choices)), key=lambda i: (rank[self.choices[i]], i))
        perm = torch.tensor(order, dtype=torch.long)
        self.register_buffer("perm", perm)  # (units,)
        self.register_buffer("inv_perm", torch.argsort(perm))  # (units,)
        self.groups: list[tuple[str, int, int]] = []  # (activation, start, stop), permuted layout
        for slot, i in enumerate(order):
            name = self.choices[i]
            if self.groups and self.groups[-1][0] == name:
                self.groups[-1] = (name, self.groups[-1][1], slot + 1)
            else:
                self.groups.append((name, slot, slot + 1))
        self._kernels = tuple(KERNELS[n] for n, _, _ in self.groups)
        self._sizes = tuple(b - a for _, a, b in self.groups)
        self.contiguous = False
        self.dim = 1

    def get_extra_state(self) -> dict:
        return {"contiguous": self.contiguous}

    def set_extra_state(self, state: dict) -> None:
        self.contiguous = state["contiguous"]

    def _grouped(self, x: Tensor) -> Tensor:
        if len(self.groups) == 1:  # a uniform layer: exactly the uniform network's computation
            return ACTIVATIONS[self.groups[0][0]](x)
        return _Grouped.apply(x, self._kernels, self._sizes, self.dim)

    def forward(self, x: Tensor) -> Tensor:
        if self.contiguous:
            return self._grouped(x)
        d = self.dim
        return self._grouped(x.index_select(d, self.perm)).index_select(d, self.inv_perm)

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{n}:{b - a}" for n, a, b in self.groups)
        return f"groups=[{sizes}], contiguous={self.contiguous}, dim={self.dim}"
