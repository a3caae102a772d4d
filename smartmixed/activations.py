"""The activation registry: the six-function SmartMixed pool and extra baselines, one interface."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# SPEC section 2: the candidate pool, in the official column order (index k of a neuron's logits).
POOL: tuple[str, ...] = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu")
# Not in the pool: stronger single-activation baselines for the ablation study (SPEC C4, paper v3).
EXTRA: tuple[str, ...] = ("silu", "gelu")

LEAKY_SLOPE = 0.01  # official nn.LeakyReLU() default
ELU_ALPHA = 1.0
# PyTorch's SELU constants (torch/nn/functional.py).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_SLOPE),
    "elu": lambda x: F.elu(x, ELU_ALPHA),
    "selu": F.selu,
    "silu": F.silu,
    "gelu": F.gelu,
}


def check_name(name: str) -> str:
    """Return `name` if it is a registered activation, else raise a ValueError listing them."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid names: {', '.join(ACTIVATIONS)}")
    return name


def get(name: str) -> Callable[[Tensor], Tensor]:
    """The functional form of a registered activation."""
    return ACTIVATIONS[check_name(name)]


class Activation(nn.Module):
    """A registered activation as a module (what uniform networks use between layers)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = check_name(name)
        self.fn = ACTIVATIONS[name]

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


# Write-into-buffer forms of every activation and of its gradient: the same ATen kernels autograd
# uses, so grouped Phase 2 layers fill one output buffer with no concatenation and no per-group
# autograd nodes. forward(x, out); backward(grad, x, y, out) with y = forward(x).
_aten = torch.ops.aten
KERNELS: dict[str, tuple[Callable[..., Tensor], Callable[..., Tensor]]] = {
    "relu": (
        lambda x, out: torch.clamp_min(x, 0, out=out),
        lambda g, x, y, out: _aten.threshold_backward.grad_input(g, y, 0, grad_input=out),
    ),
    "sigmoid": (
        lambda x, out: torch.sigmoid(x, out=out),
        lambda g, x, y, out: _aten.sigmoid_backward.grad_input(g, y, grad_input=out),
    ),
    "tanh": (
        lambda x, out: torch.tanh(x, out=out),
        lambda g, x, y, out: _aten.tanh_backward.grad_input(g, y, grad_input=out),
    ),
    "leaky_relu": (
        lambda x, out: torch._C._nn.leaky_relu(x, LEAKY_SLOPE, out=out),
        lambda g, x, y, out: _aten.leaky_relu_backward.grad_input(
            g, x, LEAKY_SLOPE, False, grad_input=out
        ),
    ),
    "elu": (
        lambda x, out: torch._C._nn.elu(x, ELU_ALPHA, 1.0, 1.0, out=out),
        lambda g, x, y, out: _aten.elu_backward.grad_input(
            g, ELU_ALPHA, 1.0, 1.0, False, x, grad_input=out
        ),
    ),
    "selu": (
        lambda x, out: torch._C._nn.elu(x, SELU_ALPHA, SELU_SCALE, 1.0, out=out),
        lambda g, x, y, out: _aten.elu_backward.grad_input(
            g, SELU_ALPHA, SELU_SCALE, 1.0, False, x, grad_input=out
        ),
    ),
    "silu": (
        lambda x, out: torch._C._nn.silu(x, out=out),
        lambda g, x, y, out: _aten.silu_backward.grad_input(g, x, grad_input=out),
    ),
    "gelu": (
        lambda x, out: torch._C._nn.gelu(x, out=out),
        lambda g, x, y, out: _aten.gelu_backward.grad_input(g, x, grad_input=out),
    ),
}
