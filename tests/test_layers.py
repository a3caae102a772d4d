"""Phase 1 and Phase 2 layers against plain per-neuron PyTorch references: values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from smartmixed.activations import ACTIVATIONS, EXTRA, POOL, Activation, get
from smartmixed.layers import CLAMP, GroupedActivation, HardGumbelMixture

torch.set_default_dtype(torch.float32)


def _inputs(batch=16, units=24, seed=0) -> torch.Tensor:
    """Inputs spanning every clamp regime: ordinary values, > 10, < -1000, exact zeros."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, units, generator=g) * 4
    x[0, :] = 15.0  # relu/leaky/elu/selu clamp at +10
    x[1, :] = -2000.0  # leaky clamps at -10
    x[2, :] = 0.0
    x[3, :] = 9.8  # selu clamps (scale * 9.8 > 10), relu does not
    return x.requires_grad_(True)


def _gumbel(gen: torch.Generator, units: int) -> torch.Tensor:
    return -torch.empty(units, len(POOL)).exponential_(generator=gen).log()


def _official_forward(x, logits, noise, tau, hard=True):
    """The official formulation, written plainly: y_hard - y_soft.detach() + y_soft."""
    y_soft = torch.softmax((logits + noise) / tau, dim=-1)  # (units, K)
    if hard:
        y_hard = F.one_hot(y_soft.argmax(-1), len(POOL)).to(y_soft)
        w = y_hard - y_soft.detach() + y_soft
    else:
        w = y_soft
    out = 0
    for k, name in enumerate(POOL):
        out = out + w[:, k] * ACTIVATIONS[name](x).clamp(-CLAMP, CLAMP)
    return out.clamp(-CLAMP, CLAMP), y_soft


def _layer(units=24, seed=1, **kw) -> tuple[HardGumbelMixture, torch.Tensor]:
    layer = HardGumbelMixture(units, generator=torch.Generator().manual_seed(seed), **kw)
    with torch.no_grad():  # spread the logits so several candidates get picked
        layer.logits.add_(torch.randn(units, len(POOL), generator=torch.Generator().manual_seed(7)))
    gen = torch.Generator().manual_seed(123)
    layer.generator = gen
    return layer, gen.get_state()


def test_init_is_zeros_plus_one_marked_index():
    layer = HardGumbelMixture(300, generator=torch.Generator().manual_seed(0))
    nz = layer.logits.detach() != 0
    assert nz.sum(1).eq(1).all()
    assert torch.allclose(layer.logits.detach()[nz], torch.full((300,), 0.001))
    assert layer.logits.detach().argmax(1).equal(layer.initial_choice)
    # Uniformly random index: every candidate appears.
    assert set(layer.initial_choice.tolist()) == set(range(len(POOL)))


def test_forward_is_selected_clamped_candidate_per_neuron():
    layer, state = _layer()
    x = _inputs()
    out = layer(x)
    gen = torch.Generator()
    gen.set_state(state)
    noise = _gumbel(gen, layer.units)
    sel = torch.softmax((layer.logits.detach() + noise) / layer.tau, -1).argmax(-1)
    assert len(set(sel.tolist())) >= 4  # the test exercises several candidates
    for u in range(layer.units):
        ref = ACTIVATIONS[POOL[sel[u]]](x[:, u].detach()).clamp(-CLAMP, CLAMP)
        torch.testing.assert_close(out[:, u].detach(), ref, rtol=1e-6, atol=1e-6)


def test_gradients_match_official_straight_through():
    layer, state = _layer()
    x = _inputs()
    upstream = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    (layer(x) * upstream).sum().backward()

    gen = torch.Generator()
    gen.set_state(state)
    noise = _gumbel(gen, layer.units)
    logits = layer.logits.detach().clone().requires_grad_(True)
    x_ref = x.detach().clone().requires_grad_(True)
    ref, _ = _official_forward(x_ref, logits, noise, layer.tau)
    (ref * upstream).sum().backward()
    # Sums over the batch of values up to 10 in size: compare at float32 summation accuracy.
    torch.testing.assert_close(layer.logits.grad, logits.grad, rtol=1e-4, atol=2e-5)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-6)


def test_logit_gradient_is_the_straight_through_formula():
    """dL/dlogits = (1/tau) * y * (dw - <y, dw>), dw_k = sum_b g * clamp(f_k(x)), by hand.

    Inputs stay away from the clamp bounds, where float rounding of the official weight decides.
    """
    layer, state = _layer()
    x = (torch.randn(16, 24, generator=torch.Generator().manual_seed(0)) * 2).requires_grad_()
    upstream = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    (layer(x) * upstream).sum().backward()
    gen = torch.Generator()
    gen.set_state(state)
    y = torch.softmax((layer.logits.detach() + _gumbel(gen, layer.units)) / layer.tau, -1)
    dw = torch.stack(
        [(upstream * ACTIVATIONS[n](x.detach()).clamp(-CLAMP, CLAMP)).sum(0) for n in POOL], 1
    )  # (units, K)
    expected = y * (dw - (y * dw).sum(1, keepdim=True)) / layer.tau
    torch.testing.assert_close(layer.logits.grad, expected, rtol=1e-4, atol=1e-6)


def test_input_gradient_flows_only_through_selected_candidate():
    layer, state = _layer()
    x = (torch.randn(16, 24, generator=torch.Generator().manual_seed(0)) * 3).requires_grad_()
    layer(x).sum().backward()
    sel = None
    gen = torch.Generator()
    gen.set_state(state)
    sel = torch.softmax((layer.logits.detach() + _gumbel(gen, layer.units)) / layer.tau, -1)
    sel = sel.argmax(-1)
    for u in range(layer.units):
        xu = x[:, u].detach().clone().requires_grad_(True)
        ACTIVATIONS[POOL[sel[u]]](xu).clamp(-CLAMP, CLAMP).sum().backward()
        torch.testing.assert_close(x.grad[:, u], xu.grad, rtol=1e-6, atol=1e-7)


def test_one_gumbel_draw_per_forward_shared_by_the_batch():
    layer, state = _layer()
    x = _inputs(batch=8).detach()
    x[:] = x[5]  # every row the same input: with a shared draw every row is the same output
    out = layer(x)
    assert (out == out[0]).all()
    # Exactly one (units, 6) draw was consumed.
    gen = torch.Generator()
    gen.set_state(state)
    _gumbel(gen, layer.units)
    assert torch.equal(gen.get_state(), layer.generator.get_state())


def test_soft_mode_is_the_weighted_sum():
    layer, state = _layer(hard=False)
    x = _inputs()
    out = layer(x)
    gen = torch.Generator()
    gen.set_state(state)
    logits = layer.logits.detach().clone().requires_grad_(True)
    ref, _ = _official_forward(x.detach(), logits, _gumbel(gen, layer.units), layer.tau, hard=False)
    torch.testing.assert_close(out.detach(), ref.detach(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(layer.logits.grad, logits.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hard", [True, False])
def test_eval_noise_switch(hard):
    layer, _ = _layer(hard=hard)
    x = _inputs().detach()
    layer.eval()
    layer.eval_generator = torch.Generator().manual_seed(3)
    noisy_a, noisy_b = layer(x), layer(x)
    assert not torch.equal(noisy_a, noisy_b)  # faithful: fresh noise at every evaluation call
    layer.eval_noise = False
    det = layer(x)
    assert torch.equal(det, layer(x))
    expected = torch.stack(
        [get(c)(x[:, u]).clamp(-CLAMP, CLAMP) for u, c in enumerate(layer.choices())], 1
    )
    torch.testing.assert_close(det, expected, rtol=1e-6, atol=1e-6)


def _reference_grouped(x, choices):
    return torch.stack([ACTIVATIONS[c](x[:, u]) for u, c in enumerate(choices)], 1)


def test_grouped_activation_matches_per_neuron_loop():
    g = torch.Generator().manual_seed(0)
    names = [*POOL, *EXTRA]
    choices = [names[i] for i in torch.randint(len(names), (40,), generator=g).tolist()]
    layer = GroupedActivation(choices)
    x = _inputs(units=40)
    x_ref = x.detach().clone().requires_grad_(True)
    up = torch.randn(16, 40, generator=g)
    out = layer(x)
    ref = _reference_grouped(x_ref, choices)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    (out * up).sum().backward()
    (ref * up).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=0, atol=0)
    assert layer.choices == choices  # exported in the original neuron order
    # Groups are contiguous slices in sorted order and cover every neuron once.
    assert [b for _, _, b in layer.groups][-1] == 40
    assert sorted(layer.perm.tolist()) == list(range(40))


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="valid names: relu, sigmoid"):
        GroupedActivation(["relu", "swishh"])
    with pytest.raises(ValueError, match="leaky_relu"):
        get("nope")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_registry_module_matches_functional(name):
    x = torch.linspace(-5, 5, 101)
    assert torch.equal(Activation(name)(x), ACTIVATIONS[name](x))


def test_pool_order_is_official():
    assert POOL == ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_buffer_kernels_match_autograd(name):
    from smartmixed.activations import KERNELS

    x = torch.randn(64, 50, generator=torch.Generator().manual_seed(1)) * 3
    g = torch.randn(64, 50, generator=torch.Generator().manual_seed(2))
    xr = x.clone().requires_grad_(True)
    y_ref = ACTIVATIONS[name](xr)
    y_ref.backward(g)
    y, dx = torch.empty_like(x), torch.empty_like(x)
    KERNELS[name][0](x, y)
    KERNELS[name][1](g, x, y, dx)
    assert torch.equal(y, y_ref.detach()) and torch.equal(dx, xr.grad)


def _ulps(y: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """|y - exact| in units of the last place of float32 y."""
    ulp = (torch.nextafter(y, torch.tensor(float("inf"))) - y).double()
    return (y.double() - exact).abs() / ulp


@pytest.mark.parametrize("name", ["elu", "selu"])
def test_widened_elu_selu_are_at_least_as_accurate_as_torch(name):
    from smartmixed.activations import _ELU_COEF

    alpha, scale, _ = _ELU_COEF[name]
    x = torch.cat([torch.linspace(-30, 12, 400_001), torch.tensor([0.0, -0.0, -1e-30, -1e-8])])
    xd = x.double()
    exact = torch.where(xd > 0, xd * scale, torch.expm1(xd) * (alpha * scale))
    ours, theirs = ACTIVATIONS[name](x), getattr(F, name)(x)
    assert ours.dtype == torch.float32
    assert _ulps(ours, exact).max() <= 1.1  # float64 evaluation, one rounding
    assert _ulps(ours, exact).max() <= _ulps(theirs, exact).max()
    assert torch.equal(ours[x > 0], theirs[x > 0])  # positive side: bitwise torch's kernel


@pytest.mark.parametrize("name", ["elu", "selu"])
def test_widened_elu_selu_gradient_is_torchs(name):
    x = torch.randn(64, 40, generator=torch.Generator().manual_seed(3)) * 5
    g = torch.randn(64, 40, generator=torch.Generator().manual_seed(4))
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ACTIVATIONS[name](xa).backward(g)
    getattr(F, name)(xb).backward(g)
    assert torch.equal(xa.grad, xb.grad)
    # float64 (and any non-CPU device) runs torch's own kernel unchanged.
    x64 = x.double()
    assert torch.equal(ACTIVATIONS[name](x64), getattr(F, name)(x64))


def test_phase1_candidates_are_the_registry_values():
    from smartmixed.layers import candidates

    x = _inputs(units=40).detach()
    cand = candidates(x)
    for k, name in enumerate(POOL):
        assert torch.equal(cand[k], ACTIVATIONS[name](x).clamp(-CLAMP, CLAMP)), name
