"""MLPs built from widths and a per-layer activation factory; the official architecture table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .activations import POOL, Activation
from .layers import GroupedActivation, HardGumbelMixture

IN_FEATURES = 784  # flattened 28 x 28 MNIST
CLASSES = 10
OUTPUTS = ("softmax", "logits")  # official: softmax output fed to CrossEntropyLoss (double softmax)


class Architecture(NamedTuple):
    name: str
    widths: tuple[int, ...]


_W = (768, 512, 512, 256, 256, 128, 128, 64, 64, 32, 32, 16, 16)  # the wide_* family's widths
# SPEC section 2: ids 1-17 in the order the official iterate mode reaches them; 18 is the entry
# a duplicate dict key hides in the official list (kept here as an extra).
ARCHITECTURES: dict[int, Architecture] = {
    1: Architecture("simple_2layer", (512,)),
    2: Architecture("medium_4layer", (512, 256, 128)),
    3: Architecture("medium_5layer", (512, 256, 128, 64)),
    4: Architecture("small_3layer", (256, 128)),
    5: Architecture("medium_5layer_alt", (512, 256, 256, 128)),
    6: Architecture("wide_2layer", (768,)),
    7: Architecture("wide_3layer", _W[:2]),
    8: Architecture("wide_4layer", _W[:3]),
    **{i: Architecture(f"wide_{i - 3}layer", _W[: i - 4]) for i in range(9, 18)},
    18: Architecture("wide_5layer", _W[:4]),
}


def architecture(arch: int) -> Architecture:
    """Look up an architecture id, with a clear error for unknown ids."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture id {arch}; valid ids: 1-{max(ARCHITECTURES)}")
    return ARCHITECTURES[arch]


@torch.no_grad()
def init_linear_(layer: nn.Linear, generator: torch.Generator | None) -> None:
    """PyTorch's default nn.Linear init, drawn from an explicit generator."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bound = 1.0 / math.sqrt(layer.in_features)
    layer.bias.uniform_(-bound, bound, generator=generator)


class MLP(nn.Module):
    """784 -> widths -> 10; `layer_factory(layer_index, units)` makes each hidden activation."""

    def __init__(
        self,
        widths: Sequence[int],
        layer_factory: Callable[[int, int], nn.Module],
        output: str = "softmax",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; valid: {', '.join(OUTPUTS)}")
        dims = [IN_FEATURES, *widths]
        self.widths = tuple(widths)
        self.output = output
        self.hidden = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(widths)))
        self.acts = nn.ModuleList(layer_factory(i, w) for i, w in enumerate(widths))
        self.head = nn.Linear(dims[-1], CLASSES)
        self.units_first = False  # see make_contiguous
        if generator is not None:
            self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Re-draw every parameter from `generator`: Linear layers in order, then selection logits.

        Networks of the same widths therefore get the same weights from the same seed, whatever
        their activations (a Phase 2 network and a uniform baseline start from the same draws).
        """
        for layer in (*self.hidden, self.head):
            init_linear_(layer, generator)
        for act in self.acts:
            if isinstance(act, HardGumbelMixture):
                act.reset_parameters(generator)

    def forward(self, x: Tensor) -> Tensor:
        if self.units_first:  # the same network, hidden activations laid out (units, batch)
            h = x.t()
            for linear, act in zip(self.hidden, self.acts):
                h = act(torch.addmm(linear.bias.unsqueeze(1), linear.weight, h))  # (units, batch)
            x = torch.addmm(self.head.bias.unsqueeze(1), self.head.weight, h).t()  # (batch, 10)
        else:
            for linear, act in zip(self.hidden, self.acts):
                x = act(linear(x))  # (batch, units)
            x = self.head(x)  # (batch, 10)
        # Official: the network ends in a softmax and CrossEntropyLoss applies another one.
        return F.softmax(x, dim=-1) if self.output == "softmax" else x

    def selection_layers(self) -> list[HardGumbelMixture]:
        return [a for a in self.acts if isinstance(a, HardGumbelMixture)]

    def choices(self) -> list[list[str]]:
        """Per hidden layer, one activation name per neuron (original neuron order)."""
        out = []
        for act, units in zip(self.acts, self.widths):
            if isinstance(act, HardGumbelMixture):
                out.append(act.choices())
            elif isinstance(act, GroupedActivation):
                out.append(list(act.choices))
            else:
                out.append([act.name] * units)
        return out

    @torch.no_grad()
    def make_contiguous(self) -> MLP:
        """Permute neurons so every activation group is a contiguous slice; same function.

        Rows of a layer's weight and bias and the columns of the next layer's weight follow the
        grouped layer's permutation, so no gather or scatter remains in the forward pass.
        A network with mixed layers then runs units-first: hidden activations are (units, batch),
        so every activation group is one contiguous block of memory rather than a strided column
        slice (about 2 % faster a step; the matmuls compute the same products, transposed).
        """
        following = [*self.hidden[1:], self.head]
        for linear, act, nxt in zip(self.hidden, self.acts, following):
            if isinstance(act, GroupedActivation) and not act.contiguous:
                p = act.perm
                linear.weight.copy_(linear.weight[p])
                linear.bias.copy_(linear.bias[p])
                nxt.weight.copy_(nxt.weight[:, p])
                act.contiguous = True
        grouped = [a for a in self.acts if isinstance(a, GroupedActivation)]
        # Units-first only where it pays (a mixed layer) and where every layer is elementwise
        # or grouped: an all-uniform Phase 2 network stays exactly its uniform baseline.
        self.units_first = len(grouped) == len(self.acts) and any(
            len(a.groups) > 1 for a in grouped
        )
        for act in grouped:
            act.dim = 0 if self.units_first else 1
        return self


def uniform_mlp(
    widths: Sequence[int],
    activation: str,
    output: str = "softmax",
    generator: torch.Generator | None = None,
) -> MLP:
    """A baseline: one activation everywhere."""
    return MLP(widths, lambda i, units: Activation(activation), output, generator)


def selection_mlp(
    widths: Sequence[int],
    tau: float = 0.3,
    hard: bool = True,
    output: str = "softmax",
    generator: torch.Generator | None = None,
    eval_noise: bool = True,
) -> MLP:
    """Phase 1: a HardGumbelMixture after every hidden Linear."""
    return MLP(
        widths, lambda i, units: HardGumbelMixture(units, tau, hard, eval_noise), output, generator
    )


def mixed_mlp(
    widths: Sequence[int],
    choices: Sequence[Sequence[str]],
    output: str = "softmax",
    generator: torch.Generator | None = None,
    contiguous: bool = True,
) -> MLP:
    """Phase 2: fixed per-neuron activations (`choices`, one list per hidden layer)."""
    if [len(c) for c in choices] != list(widths):
        raise ValueError(f"choices sizes {[len(c) for c in choices]} do not match widths {widths}")
    model = MLP(widths, lambda i, units: GroupedActivation(choices[i]), output, generator)
    return model.make_contiguous() if contiguous else model


def layer_shares(choices: Sequence[Sequence[str]]) -> list[dict[str, float]]:
    """Per layer, the share of neurons on each pool activation."""
    return [{a: layer.count(a) / len(layer) for a in POOL} for layer in choices]
