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

# ELU and SELU on float32 CPU tensors. PyTorch 2.14's AVX512 CPU kernels evaluate float32 expm1
# one element at a time (5-10x the cost of exp; the AVX2 and float64 kernels are vectorized), which
# made ELU/SELU networks cost 1.2x a ReLU network and dominated Phase 1. We evaluate the same ATen
# ELU kernel in float64 and round once to float32: ~2.7x faster on a (128, 512) batch and at least
# as accurate (within 1.06 ulp of the exact value where torch's float32 kernel is within 1.6 ulp;
# positive side bitwise identical; tests/test_layers.py checks both). The gradient is torch's own
# elu_backward on the float32 input, bitwise what autograd computes for F.elu. Other devices and
# dtypes use torch's kernel unchanged.
SELU_SCALE_F32 = float(torch.tensor(SELU_SCALE, dtype=torch.float32))  # as torch's kernel rounds it
# name: (alpha, scale, scale as the float32 kernel rounds it; used by the float64 evaluation so
# that the positive side x * scale rounds exactly as torch's float32 kernel)
_ELU_COEF = {"elu": (ELU_ALPHA, 1.0, 1.0), "selu": (SELU_ALPHA, SELU_SCALE, SELU_SCALE_F32)}


def _widened(x: Tensor) -> bool:
    """Whether ELU/SELU of `x` is evaluated through float64 (float32 on the CPU)."""
    return x.is_cpu and x.dtype == torch.float32


def elu_forward(x: Tensor, name: str, out: Tensor | None = None) -> Tensor:
    """ELU or SELU (`name`) of `x` (into `out` if given); float32 CPU: in float64, rounded once."""
    alpha, scale, scale_f32 = _ELU_COEF[name]
    if _widened(x):
        y = torch._C._nn.elu(x.double(), alpha, scale_f32, 1.0)
        return y.to(x.dtype) if out is None else out.copy_(y)
    if out is None:
        return torch._C._nn.elu(x, alpha, scale, 1.0)
    return torch._C._nn.elu(x, alpha, scale, 1.0, out=out)


class _ELU(torch.autograd.Function):
    """ELU/SELU with the widened forward and torch's own backward (from the input, as autograd)."""

    @staticmethod
    def forward(ctx, x: Tensor, name: str) -> Tensor:
        ctx.save_for_backward(x)
        ctx.name = name
        return elu_forward(x, name)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        alpha, scale, _ = _ELU_COEF[ctx.name]
        return torch.ops.aten.elu_backward(grad, alpha, scale, 1.0, False, x), None


def _elu_family(name: str) -> Callable[[Tensor], Tensor]:
    alpha, scale, _ = _ELU_COEF[name]

    def fn(x: Tensor) -> Tensor:
        if _widened(x):
            return _ELU.apply(x, name)
        return torch._C._nn.elu(x, alpha, scale, 1.0)

    fn.__name__ = name
    return fn


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_SLOPE),
    "elu": _elu_family("elu"),
    "selu": _elu_family("selu"),
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
    **{
        name: (
            lambda x, out, n=name: elu_forward(x, n, out=out),
            lambda g, x, y, out, c=coef[:2]: _aten.elu_backward.grad_input(
                g, *c, 1.0, False, x, grad_input=out
            ),
        )
        for name, coef in _ELU_COEF.items()
    },
    "silu": (
        lambda x, out: torch._C._nn.silu(x, out=out),
        lambda g, x, y, out: _aten.silu_backward.grad_input(g, x, grad_input=out),
    ),
    "gelu": (
        lambda x, out: torch._C._nn.gelu(x, out=out),
        lambda g, x, y, out: _aten.gelu_backward.grad_input(g, x, grad_input=out),
    ),
}
