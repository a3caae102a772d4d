"""Architectures, builders, and the contiguous permutation of Phase 2 networks (same function)."""

from __future__ import annotations

import torch

from smartmixed.activations import ACTIVATIONS, POOL
from smartmixed.models import ARCHITECTURES, mixed_mlp, selection_mlp, uniform_mlp


def test_architecture_table_matches_spec():
    assert sorted(ARCHITECTURES) == list(range(1, 19))
    assert ARCHITECTURES[3].name == "medium_5layer"
    assert ARCHITECTURES[3].widths == (512, 256, 128, 64)
    assert ARCHITECTURES[9].widths == (768, 512, 512, 256, 256)
    assert ARCHITECTURES[17].name == "wide_14layer"
    assert ARCHITECTURES[17].widths == (768, 512, 512, 256, 256, 128, 128, 64, 64, 32, 32, 16, 16)
    assert ARCHITECTURES[18] == ("wide_5layer", (768, 512, 512, 256))
    assert [len(ARCHITECTURES[i].widths) for i in range(9, 18)] == list(range(5, 14))


def _choices(widths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[POOL[i] for i in torch.randint(6, (w,), generator=g).tolist()] for w in widths]


def _reference_mixed(model, x, choices):
    """Per-neuron forward of a NON-permuted mixed model's weights."""
    for lin, layer in zip(model.hidden, choices):
        h = x @ lin.weight.T + lin.bias
        x = torch.stack([ACTIVATIONS[c](h[:, u]) for u, c in enumerate(layer)], 1)
    return torch.softmax(x @ model.head.weight.T + model.head.bias, -1)


def test_contiguous_permutation_keeps_the_function_and_gradients():
    widths = (12, 9, 7)
    choices = _choices(widths)
    plain = mixed_mlp(widths, choices, generator=torch.Generator().manual_seed(1), contiguous=False)
    fast = mixed_mlp(widths, choices, generator=torch.Generator().manual_seed(1))
    assert all(a.contiguous for a in fast.acts) and not any(a.contiguous for a in plain.acts)
    assert fast.units_first and not plain.units_first
    x = torch.randn(5, 784, generator=torch.Generator().manual_seed(2))
    ref = _reference_mixed(plain, x, choices)
    torch.testing.assert_close(plain(x), ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast(x), ref, rtol=1e-5, atol=1e-6)
    # Gradients agree once mapped back through each layer's permutation.
    plain(x)[:, 3].sum().backward()
    fast(x)[:, 3].sum().backward()
    cols = torch.arange(784)  # the previous layer's permutation reorders the columns
    for lp, lf, act in zip(plain.hidden, fast.hidden, fast.acts):
        expected = lp.weight.grad[act.perm][:, cols]
        torch.testing.assert_close(lf.weight.grad, expected, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(lf.bias.grad, lp.bias.grad[act.perm], rtol=1e-4, atol=1e-7)
        cols = act.perm
    assert fast.choices() == choices  # exported in the original neuron order


def test_units_first_layout_is_the_same_network():
    """A mixed network runs (units, batch); switched back to (batch, units) it is the same."""
    import copy

    widths = (40, 24, 9)
    fast = mixed_mlp(widths, _choices(widths, seed=5), generator=torch.Generator().manual_seed(6))
    rows = copy.deepcopy(fast)
    rows.units_first = False
    for act in rows.acts:
        act.dim = 1
    x = torch.randn(32, 784, generator=torch.Generator().manual_seed(7))
    y = torch.randint(10, (32,), generator=torch.Generator().manual_seed(8))
    out_fast, out_rows = fast(x), rows(x)
    assert out_fast.shape == (32, 10)
    torch.testing.assert_close(out_fast, out_rows, rtol=1e-5, atol=1e-7)
    torch.nn.functional.cross_entropy(out_fast, y).backward()
    torch.nn.functional.cross_entropy(out_rows, y).backward()
    for a, b in zip(fast.parameters(), rows.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-7)


def test_permuted_state_dict_round_trips():
    widths = (10, 6)
    choices = _choices(widths, seed=3)
    a = mixed_mlp(widths, choices, generator=torch.Generator().manual_seed(0))
    b = mixed_mlp(widths, choices, generator=torch.Generator().manual_seed(9))
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 784)
    assert torch.equal(a(x), b(x))


def test_all_relu_mixed_network_is_the_relu_baseline():
    widths = (32, 16)
    gen = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    mixed = mixed_mlp(widths, [["relu"] * w for w in widths], generator=gen())
    base = uniform_mlp(widths, "relu", generator=gen())
    x = torch.randn(8, 784)
    assert torch.equal(mixed(x), base(x))


def test_output_heads():
    x = torch.randn(4, 784)
    soft = uniform_mlp((8,), "tanh", "softmax", torch.Generator().manual_seed(0))
    logits = uniform_mlp((8,), "tanh", "logits", torch.Generator().manual_seed(0))
    torch.testing.assert_close(soft(x).sum(1), torch.ones(4))
    torch.testing.assert_close(soft(x), torch.softmax(logits(x), -1))


def test_same_seed_same_weights_whatever_the_activation():
    a = uniform_mlp((16, 8), "elu", generator=torch.Generator().manual_seed(5))
    b = selection_mlp((16, 8), generator=torch.Generator().manual_seed(5))
    for la, lb in zip(a.hidden, b.hidden):
        assert torch.equal(la.weight, lb.weight)
