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
    check_name,
)

K = len(POOL)  # candidates per neuron
CLAMP = 10.0  # official: every candidate and the mixture are clamped to [-10, 10]

# Per-candidate coefficients of the ReLU-family derivatives, indexed by pool position
# (relu, sigmoid, tanh, leaky_relu, elu, selu); sigmoid and tanh are handled apart.
_POS_SLOPE = (1.0, 0.0, 0.0, 1.0, 1.0, SELU_SCALE)  # d f / dx for x > 0
_NEG_SLOPE = (0.0, 0.0, 0.0, LEAKY_SLOPE, 0.0, 0.0)  # linear part for x <= 0
_NEG_EXP = (0.0, 0.0, 0.0, 0.0, ELU_ALPHA, SELU_SCALE * SELU_ALPHA)  # coefficient of exp(x), x <= 0


def candidates(x: Tensor) -> Tensor:
    """All six pool activations of `x`, each clamped to [-10, 10], stacked as (6, *x.shape).

    Candidates share their pieces (one expm1 serves ELU and SELU) and are written into one
    (6, batch, units) buffer: cheaper than six separate calls plus a stack on the last axis.
    """
    out = x.new_empty((K, *x.shape))  # (K, batch, units)
    pos = x.clamp(min=0)
    neg = x.clamp(max=0)
    em1 = torch.expm1(neg)  # exp(x) - 1 on the negative side, 0 elsewhere
    torch.clamp(pos, max=CLAMP, out=out[0])  # relu
    torch.sigmoid(x, out=out[1])
    torch.tanh(x, out=out[2])
    torch.add(pos, neg, alpha=LEAKY_SLOPE, out=out[3]).clamp_(-CLAMP, CLAMP)
    torch.add(pos, em1, alpha=ELU_ALPHA, out=out[4]).clamp_(max=CLAMP)  # elu >= -1
    torch.add(pos, em1, alpha=SELU_ALPHA, out=out[5]).mul_(SELU_SCALE).clamp_(max=CLAMP)
    return out


def _selected_derivative(x: Tensor, cand: Tensor, sel: Tensor) -> Tensor:
    """d clamp(f_sel(x)) / dx for each neuron's selected candidate, (batch, units).

    Clamp gradients follow torch.clamp: they pass only strictly inside, min < f(x) < max.
    """
    a = x.new_tensor(_POS_SLOPE)[sel]  # (units,)
    b = x.new_tensor(_NEG_SLOPE)[sel]
    c = x.new_tensor(_NEG_EXP)[sel]
    exp_neg = cand[4] + 1.0  # exp(x) where x <= 0 (elu with alpha 1 is expm1 there)
    relu_family = torch.where(
        x > 0,
        a * (a * x < CLAMP),  # upper clamp binds for relu, leaky, elu, selu
        b * (b * x > -CLAMP) + c * exp_neg,  # lower clamp binds only for leaky below -1000
    )
    s, t = cand[1], cand[2]
    deriv = torch.where(sel == 1, s * (1.0 - s), relu_family)
    return torch.where(sel == 2, 1.0 - t * t, deriv)


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
        mix = cand.gather(0, index).squeeze(0) * w_sel  # (batch, units)
        inside = (mix > -CLAMP) & (mix < CLAMP)  # where the outer clamp passes gradients
        ctx.save_for_backward(x, cand, y_soft, sel, w_sel, inside)
        ctx.tau = tau
        return mix.clamp(-CLAMP, CLAMP)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, cand, y_soft, sel, w_sel, inside = ctx.saved_tensors
        grad = grad * inside  # (batch, units)
        dx = dlogits = None
        if ctx.needs_input_grad[1]:
            dw = (cand * grad).sum(dim=1).t()  # (units, K): dL/dw_k
            dlogits = y_soft * (dw - (y_soft * dw).sum(-1, keepdim=True)) / ctx.tau
        if ctx.needs_input_grad[0]:
            dx = grad * w_sel * _selected_derivative(x, cand, sel)
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
    """Contiguous activation groups of a (batch, units) input, written into one output buffer.

    The autograd alternative (slice, activate, torch.cat) costs a concatenation forward and, per
    group, a full-size zero-filled gradient backward: too much for the many narrow layers of deep
    architectures. Values and gradients are the ATen kernels autograd itself runs.
    """

    @staticmethod
    def forward(ctx, x: Tensor, names: tuple[str, ...], sizes: tuple[int, ...]) -> Tensor:
        y = torch.empty_like(x)  # (batch, units); split() makes all group views in one call
        for name, xg, yg in zip(names, x.split(sizes, 1), y.split(sizes, 1)):
            KERNELS[name][0](xg, yg)
        ctx.save_for_backward(x, y)
        ctx.names, ctx.sizes = names, sizes
        return y

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, y = ctx.saved_tensors
        dx = torch.empty_like(x)
        views = (t.split(ctx.sizes, 1) for t in (grad, x, y, dx))
        for name, *group in zip(ctx.names, *views):
            KERNELS[name][1](*group)
        return dx, None, None


class GroupedActivation(nn.Module):
    """Phase 2: a fixed activation per neuron, one vectorized call per activation group.

    `choices` names one activation per neuron in the original neuron order (what is exported).
    The layer sorts neurons by activation (`perm`: permuted slot j holds original neuron
    perm[j]). By default it gathers the input into that order and scatters back; once the owning
    network has permuted its weights (`MLP.make_contiguous`), the input arrives already grouped
    and each group is a contiguous slice: no gather or scatter at all, one output buffer.
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
        self._names = tuple(n for n, _, _ in self.groups)
        self._sizes = tuple(b - a for _, a, b in self.groups)
        self.contiguous = False

    def get_extra_state(self) -> dict:
        return {"contiguous": self.contiguous}

    def set_extra_state(self, state: dict) -> None:
        self.contiguous = state["contiguous"]

    def _grouped(self, x: Tensor) -> Tensor:
        if len(self.groups) == 1:  # a uniform layer: exactly the uniform network's computation
            return ACTIVATIONS[self.groups[0][0]](x)
        return _Grouped.apply(x, self._names, self._sizes)

    def forward(self, x: Tensor) -> Tensor:
        if self.contiguous:
            return self._grouped(x)
        return self._grouped(x.index_select(1, self.perm)).index_select(1, self.inv_perm)

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{n}:{b - a}" for n, a, b in self.groups)
        return f"groups=[{sizes}], contiguous={self.contiguous}"
