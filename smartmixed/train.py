"""Training: one (arch, method, seed) run as a resumable sequence of epochs; no I/O, no printing."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import RunConfig
from .data import Splits
from .models import MLP, architecture, layer_shares, mixed_mlp, selection_mlp, uniform_mlp

# Named random streams, all derived from the one run seed. Phase 2 and the baselines share "init"
# and "data": a Phase 2 network and a uniform network of the same widths start from the same
# weights and see the same batches (paired comparisons, common random numbers).
STREAMS = ("init", "data", "phase1_init", "phase1_data", "noise", "eval_noise", "control")


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one named stream of a run, independent across streams."""
    state = np.random.SeedSequence([seed, STREAMS.index(stream)]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def make_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for `stream`: draws are the same on every device."""
    return torch.Generator().manual_seed(stream_seed(seed, stream))


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int) -> tuple[float, float]:
    """Sample-weighted mean cross-entropy and accuracy of `model` on (x, y), in eval mode."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), batch_size):
        out = model(x[start : start + batch_size])  # (batch, 10)
        yb = y[start : start + batch_size]
        loss_sum += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def set_eval_noise(model: MLP, noisy: bool) -> None:
    """Phase 1 evaluation mode: fresh Gumbel noise per batch, or the noise-free argmax network."""
    for layer in model.selection_layers():
        layer.eval_noise = noisy


def assign(
    choices: Sequence[Sequence[str]], mode: str, generator: torch.Generator
) -> list[list[str]]:
    """Phase 2 assignment from the learned choices (SPEC section 3, assignment control).

    learned: as exported; shuffled: the learned choices permuted within each layer (same counts);
    random_proportions: each neuron drawn i.i.d. from its layer's learned shares.
    """
    out = []
    for layer in choices:
        layer = list(layer)
        if mode == "shuffled":
            layer = [layer[i] for i in torch.randperm(len(layer), generator=generator).tolist()]
        elif mode == "random_proportions":
            names = sorted(set(layer))
            probs = torch.tensor([layer.count(n) for n in names], dtype=torch.float)
            draw = torch.multinomial(probs, len(layer), replacement=True, generator=generator)
            layer = [names[i] for i in draw.tolist()]
        elif mode != "learned":
            raise ValueError(f"unknown assignment {mode!r}")
        out.append(layer)
    return out


@dataclass
class EpochRecord:
    """What one epoch produced; the CLI prints it and writes it to history.csv."""

    phase: str
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    train_seconds: float
    val_seconds: float
    best_epoch: int
    diverged: bool
    shares: list[dict[str, float]] | None = field(default=None)  # Phase 1: per layer


def _snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        k: v.detach().clone() if isinstance(v, Tensor) else copy.deepcopy(v)
        for k, v in model.state_dict().items()
    }


class PhaseTrainer:
    """Adam + clipping for `epochs` epochs, keeping the lowest-validation-loss checkpoint."""

    def __init__(
        self,
        phase: str,
        model: MLP,
        data: Splits,
        cfg: RunConfig,
        epochs: int,
        data_gen: torch.Generator,
    ):
        self.phase, self.model, self.data, self.cfg, self.epochs = phase, model, data, cfg, epochs
        self.data_gen = data_gen
        self.params = [p for p in model.parameters() if p.requires_grad]
        # Official: one Adam for weights and logits alike, lr 1e-4, default betas, no decay.
        self.opt = torch.optim.Adam(self.params, lr=cfg.lr, fused=cfg.fused_adam or None)
        self.epoch = 0
        self.best_loss, self.best_epoch, self.best_state = math.inf, 0, None
        self.records: list[EpochRecord] = []
        self.diverged = False

    @property
    def done(self) -> bool:
        return self.diverged or self.epoch >= self.epochs

    def train_epoch(self) -> EpochRecord:
        """One pass over the shuffled training set (last partial batch kept), then validation."""
        model, d, bs = self.model, self.data, self.cfg.batch_size
        model.train()
        t0 = time.perf_counter()
        n = len(d.x_train)
        order = torch.randperm(n, generator=self.data_gen).to(d.x_train.device)  # (n,)
        loss_sum = torch.zeros((), device=d.x_train.device)
        correct = torch.zeros((), dtype=torch.long, device=d.x_train.device)
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            xb, yb = d.x_train.index_select(0, idx), d.y_train.index_select(0, idx)  # (b, 784)
            out = model(xb)  # (b, 10)
            loss = F.cross_entropy(out, yb)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.params, self.cfg.clip_norm)
            self.opt.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.detach().argmax(1) == yb).sum()
        train_loss, train_acc = loss_sum.item() / n, correct.item() / n
        t1 = time.perf_counter()
        val_loss, val_acc = evaluate(model, d.x_val, d.y_val, self.cfg.eval_batch_size)
        t2 = time.perf_counter()
        self.epoch += 1
        # A NaN (or inf) loss stops the run; the best checkpoint so far stays valid.
        self.diverged = not (math.isfinite(train_loss) and math.isfinite(val_loss))
        if not self.diverged and val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, self.epoch
            self.best_state = _snapshot(model)
        shares = layer_shares(model.choices()) if model.selection_layers() else None
        record = EpochRecord(
            self.phase,
            self.epoch,
            self.epochs,
            train_loss,
            train_acc,
            val_loss,
            val_acc,
            t1 - t0,
            t2 - t1,
            self.best_epoch,
            self.diverged,
            shares,
        )
        self.records.append(record)
        return record

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "diverged": self.diverged,
            "records": [asdict(r) for r in self.records],
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "data_gen": self.data_gen.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.best_loss = state["epoch"], state["best_loss"]
        self.best_epoch, self.best_state = state["best_epoch"], state["best_state"]
        self.diverged = state["diverged"]
        self.records = [EpochRecord(**r) for r in state["records"]]
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.data_gen.set_state(state["data_gen"])


def _split_metrics(val: tuple[float, float], test: tuple[float, float]) -> dict[str, float]:
    return {
        "val_loss": val[0],
        "val_accuracy": val[1],
        "test_loss": test[0],
        "test_accuracy": test[1],
    }


_NAN_METRICS = _split_metrics((math.nan, math.nan), (math.nan, math.nan))


class Run:
    """A whole run: Phase 1 then Phase 2 (smartmixed), or one baseline phase, resumable per epoch.

    Iterate it to train; after each yielded epoch `state_dict()` is a complete checkpoint, and a
    Run rebuilt with `load_state_dict` continues bitwise identically (on the CPU).
    """

    def __init__(self, cfg: RunConfig, data: Splits, device: torch.device | str = "cpu"):
        self.cfg, self.data, self.device = cfg, data, torch.device(device)
        self.widths = architecture(cfg.arch).widths
        self.gens = {s: make_generator(cfg.seed, s) for s in STREAMS}
        self.phase_index = 0
        self.results: dict[str, dict[str, Any]] = {}  # finished phases' metrics
        self.choices: dict[str, list[list[str]]] = {}  # initial / exported / phase2
        self.warm_state: dict[str, Tensor] | None = None
        self.history: list[EpochRecord] = []  # epochs of finished phases
        self.finished = False
        self.trainer = self._start(0)

    # -- building ---------------------------------------------------------------------------
    def _start(self, index: int) -> PhaseTrainer:
        cfg, gens = self.cfg, self.gens
        phase, epochs = cfg.phases[index]
        if phase == "phase1":
            model = selection_mlp(
                self.widths,
                cfg.tau,
                cfg.gumbel == "hard",
                cfg.output,
                generator=gens["phase1_init"],
                eval_noise=cfg.phase1_eval == "noisy",
            )
            for layer in model.selection_layers():
                layer.generator, layer.eval_generator = gens["noise"], gens["eval_noise"]
            data_gen = gens["phase1_data"]
        elif phase == "phase2":
            model = mixed_mlp(
                self.widths, self.choices["phase2"], cfg.output, gens["init"], contiguous=False
            )
            if self.warm_state is not None:  # "continued training": Phase 1 weights, no logits
                model.load_state_dict(self.warm_state, strict=False)
            model.make_contiguous()
            data_gen = gens["data"]
        else:
            model = uniform_mlp(self.widths, cfg.method, cfg.output, gens["init"])
            data_gen = gens["data"]
        return PhaseTrainer(phase, model.to(self.device), self.data, cfg, epochs, data_gen)

    # -- running ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[EpochRecord]:
        while not self.finished:
            if self.trainer.done:
                self._finish_phase()
            else:
                yield self.trainer.train_epoch()

    def _evaluate(self, split: str) -> tuple[float, float]:
        x, y = getattr(self.data, f"x_{split}"), getattr(self.data, f"y_{split}")
        return evaluate(self.trainer.model, x, y, self.cfg.eval_batch_size)

    def records(self) -> list[EpochRecord]:
        """Every epoch so far, all phases."""
        return self.history if self.finished else [*self.history, *self.trainer.records]

    def _finish_phase(self) -> None:
        t, cfg = self.trainer, self.cfg
        self.history.extend(t.records)
        summary: dict[str, Any] = {
            "status": "diverged" if t.diverged else "completed",
            "epochs_run": t.epoch,
            "best_epoch": t.best_epoch,
        }
        if t.best_state is None:  # diverged before any finite validation loss
            self.results[t.phase] = {**summary, **_NAN_METRICS}
            self.finished = True
            return
        t.model.load_state_dict(t.best_state)
        best = t.records[t.best_epoch - 1]
        # Official reporting: the validation numbers of the lowest-validation-loss epoch, and
        # the test numbers of that checkpoint.
        at_best = (best.val_loss, best.val_accuracy)
        if t.phase == "phase1":
            model = t.model
            self.choices["initial"] = [
                layer.initial_choices() for layer in model.selection_layers()
            ]
            self.choices["exported"] = model.choices()
            self.choices["phase2"] = assign(
                self.choices["exported"], cfg.assignment, self.gens["control"]
            )
            for mode, noisy in (("noisy", True), ("argmax", False)):
                set_eval_noise(model, noisy)
                val = at_best if mode == cfg.phase1_eval else self._evaluate("val")
                summary[mode] = _split_metrics(val, self._evaluate("test"))
            set_eval_noise(model, cfg.phase1_eval == "noisy")
            summary.update(summary[cfg.phase1_eval])
            if cfg.phase2_start == "warm":
                self.warm_state = {
                    k: v for k, v in t.best_state.items() if k.startswith(("hidden.", "head."))
                }
        else:
            summary.update(_split_metrics(at_best, self._evaluate("test")))
        self.results[t.phase] = summary
        if t.diverged or self.phase_index + 1 == len(cfg.phases):
            self.finished = True
        else:
            self.phase_index += 1
            self.trainer = self._start(self.phase_index)

    # -- results ----------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """Final and per-phase metrics; the final ones are the last phase's (Phase 2)."""
        cfg = self.cfg
        last = self.results.get(cfg.phases[-1][0])
        diverged = any(r["status"] == "diverged" for r in self.results.values())
        out: dict[str, Any] = {
            "arch": cfg.arch,
            "arch_name": architecture(cfg.arch).name,
            "method": cfg.method,
            "seed": cfg.seed,
            "status": "diverged" if diverged else "completed",
        }
        keys = ("best_epoch", "epochs_run", *_NAN_METRICS)
        out.update({k: (last or {}).get(k, math.nan) for k in keys})
        if cfg.method == "smartmixed":
            out.update({phase: self.results.get(phase) for phase in ("phase1", "phase2")})
        return out

    def choice_rows(self) -> list[dict[str, Any]]:
        """One row per hidden neuron: exported choice, initial random choice, Phase 2 choice."""
        if "exported" not in self.choices:
            return []
        rows = []
        for layer, (exp, init, p2) in enumerate(
            zip(self.choices["exported"], self.choices["initial"], self.choices["phase2"]), 1
        ):
            for neuron, (a, b, c) in enumerate(zip(exp, init, p2)):
                rows.append(
                    {
                        "layer": layer,
                        "neuron": neuron,
                        "activation": a,
                        "initial_activation": b,
                        "phase2_activation": c,
                    }
                )
        return rows

    def state_dict(self) -> dict[str, Any]:
        return {
            "phase_index": self.phase_index,
            "finished": self.finished,
            "results": self.results,
            "choices": self.choices,
            "warm_state": self.warm_state,
            "history": [asdict(r) for r in self.history],
            "trainer": self.trainer.state_dict(),
            "gens": {s: g.get_state() for s, g in self.gens.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.results, self.choices = state["results"], state["choices"]
        self.warm_state, self.finished = state["warm_state"], state["finished"]
        self.phase_index = state["phase_index"]
        self.history = [EpochRecord(**r) for r in state["history"]]
        self.trainer = self._start(self.phase_index)
        self.trainer.load_state_dict(state["trainer"])
        for s, g in self.gens.items():
            g.set_state(state["gens"][s])
