"""Training: determinism, bitwise resume, divergence, variant switches, assignment controls."""

from __future__ import annotations

import dataclasses
import io
import math
from collections import Counter

import pytest
import torch

from smartmixed.config import RunConfig
from smartmixed.train import Run, assign, evaluate, set_eval_noise

SMALL = dict(arch=4, seed=3, train_subset=512, phase1_epochs=2, phase2_epochs=2, epochs=2)


def _train(cfg, splits, stop_after=None):
    run = Run(cfg, splits)
    for i, _ in enumerate(run, 1):
        if i == stop_after:
            return run
    return run


@pytest.mark.parametrize("method", ["smartmixed", "selu"])
def test_same_seed_same_numbers(small_splits, method):
    cfg = RunConfig(method=method, **SMALL)
    a, b = _train(cfg, small_splits), _train(cfg, small_splits)
    assert a.metrics() == b.metrics()
    assert [(r.train_loss, r.val_loss) for r in a.records()] == [
        (r.train_loss, r.val_loss) for r in b.records()
    ]
    c = _train(dataclasses.replace(cfg, seed=4), small_splits)
    assert c.metrics()["val_loss"] != a.metrics()["val_loss"]


@pytest.mark.parametrize("stop_after", [1, 2, 3])  # inside Phase 1, at its end, inside Phase 2
def test_resume_is_bitwise(small_splits, stop_after):
    cfg = RunConfig(method="smartmixed", **SMALL)
    full = _train(cfg, small_splits)
    part = _train(cfg, small_splits, stop_after)
    buf = io.BytesIO()
    torch.save(part.state_dict(), buf)
    buf.seek(0)
    resumed = Run(cfg, small_splits)
    resumed.load_state_dict(torch.load(buf, weights_only=False))
    for _ in resumed:
        pass
    assert resumed.metrics() == full.metrics()
    assert resumed.choice_rows() == full.choice_rows()
    assert [r.val_loss for r in resumed.records()] == [r.val_loss for r in full.records()]


def test_nan_loss_is_recorded_as_diverged(small_splits):
    bad = dataclasses.replace(small_splits, x_train=small_splits.x_train.clone())
    bad.x_train[0, 0] = math.nan
    run = _train(RunConfig(method="relu", **SMALL), bad)
    m = run.metrics()
    assert m["status"] == "diverged" and m["epochs_run"] == 1
    assert m["val_accuracy"] is math.nan or math.isnan(m["val_accuracy"])


def test_phase1_selects_lowest_validation_loss_and_exports_argmax(small_splits):
    cfg = RunConfig(method="smartmixed", **{**SMALL, "phase1_epochs": 3})
    run = _train(cfg, small_splits)
    p1 = [r for r in run.records() if r.phase == "phase1"]
    best = min(p1, key=lambda r: r.val_loss)
    m = run.metrics()["phase1"]
    assert m["best_epoch"] == best.epoch
    assert m["noisy"]["val_loss"] == best.val_loss  # reported: the value at the best epoch
    rows = run.choice_rows()
    assert len(rows) == sum((256, 128))
    assert {r["activation"] for r in rows} <= {
        "relu",
        "sigmoid",
        "tanh",
        "leaky_relu",
        "elu",
        "selu",
    }


def _at_phase2_start(cfg, splits):
    """A run trained through Phase 1, then switched to a freshly built Phase 2 network.

    Returns (run, the Phase 1 model, restored to its best checkpoint).
    """
    run = Run(cfg, splits)
    for rec in run:
        if rec.phase == "phase1" and rec.epoch == cfg.phase1_epochs:
            break
    phase1 = run.trainer.model
    run._finish_phase()  # restores Phase 1's best checkpoint, then builds Phase 2
    return run, phase1


def test_phase2_and_baseline_share_init_and_data_order(small_splits):
    """Same seed: a Phase 2 network and a baseline start from identical weights (paired design)."""
    cfg = RunConfig(method="smartmixed", **SMALL)
    run, _ = _at_phase2_start(cfg, small_splits)
    base = Run(dataclasses.replace(cfg, method="relu"), small_splits)
    p2, b = run.trainer.model, base.trainer.model
    for lp, lb, act in zip(p2.hidden, b.hidden, p2.acts):
        assert torch.equal(lp.bias, lb.bias[act.perm])


def test_warm_start_continues_the_phase1_function(small_splits):
    cfg = RunConfig(method="smartmixed", phase2_start="warm", **SMALL)
    run, phase1 = _at_phase2_start(cfg, small_splits)
    set_eval_noise(phase1, False)
    phase2 = run.trainer.model
    x = small_splits.x_val[:256]
    phase1.eval(), phase2.eval()
    # The Phase 2 network is the argmax Phase 1 network minus its clamps (inactive at this scale).
    torch.testing.assert_close(phase2(x), phase1(x), rtol=1e-5, atol=1e-6)
    a = evaluate(phase1, small_splits.x_val, small_splits.y_val, 128)
    b = evaluate(phase2, small_splits.x_val, small_splits.y_val, 128)
    assert a[1] == pytest.approx(b[1], abs=1e-3)


def test_reinit_starts_elsewhere(small_splits):
    cfg = RunConfig(method="smartmixed", **SMALL)
    run, phase1 = _at_phase2_start(cfg, small_splits)
    w1 = phase1.hidden[0].bias.detach().clone()
    assert not torch.equal(run.trainer.model.hidden[0].bias.sort().values, w1.sort().values)


def test_assignment_controls():
    g = torch.Generator().manual_seed(0)
    learned = [["relu"] * 30 + ["elu"] * 10, ["selu"] * 5 + ["tanh"] * 15]
    assert assign(learned, "learned", g) == learned
    shuffled = assign(learned, "shuffled", g)
    assert [Counter(a) for a in shuffled] == [Counter(a) for a in learned]
    assert shuffled != learned
    rand = assign(learned * 50, "random_proportions", g)
    for layer, src in zip(rand, learned * 50):
        assert set(layer) <= set(src)
    share = sum(layer.count("relu") for layer in rand[::2]) / (40 * 50)
    assert share == pytest.approx(0.75, abs=0.03)  # drawn from the learned proportions


@pytest.mark.parametrize(
    "switch", [{"output": "logits"}, {"phase1_eval": "argmax"}, {"gumbel": "soft"}]
)
def test_variant_switches_change_the_run(small_splits, switch):
    base = _train(RunConfig(method="smartmixed", **SMALL), small_splits).metrics()
    variant = _train(RunConfig(method="smartmixed", **SMALL, **switch), small_splits).metrics()
    assert variant["status"] == "completed"
    assert variant["phase1"]["val_loss"] != base["phase1"]["val_loss"]


def test_argmax_evaluation_is_deterministic(small_splits):
    cfg = RunConfig(method="smartmixed", phase1_eval="argmax", **SMALL)
    m = _train(cfg, small_splits).metrics()["phase1"]
    assert m["val_loss"] == m["argmax"]["val_loss"]
    assert m["noisy"]["val_loss"] != m["argmax"]["val_loss"]


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match="arch: unknown id 99"):
        RunConfig(arch=99)
    with pytest.raises(ValueError, match="method: unknown 'swish'"):
        RunConfig(method="swish")
    with pytest.raises(ValueError, match="phase2_start"):
        RunConfig(phase2_start="cold")
    with pytest.raises(ValueError, match="epochs: must be >= 0"):
        RunConfig(epochs=-1)
