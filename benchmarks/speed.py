"""Speed benchmark: train-step and whole-epoch time of each method, ours vs the official style.

Single thread, batch 128, architectures 3 and 17 (by default). Prints a table and writes
benchmarks/results/steps.csv and benchmarks/results/epochs.csv. Usage:

    python benchmarks/speed.py [--archs 3 17] [--steps 40] [--rounds 15] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from smartmixed.activations import ACTIVATIONS, KERNELS, POOL
from smartmixed.config import RunConfig
from smartmixed.data import load_splits
from smartmixed.models import MLP, architecture, mixed_mlp, selection_mlp, uniform_mlp
from smartmixed.train import PhaseTrainer, make_generator

OUT = Path(__file__).resolve().parent / "results"


# -- the official style, rewritten for comparison ----------------------------------------------
class OfficialMixture(nn.Module):
    """Phase 1 as the official code computes it: six candidates stacked on the last axis."""

    def __init__(self, units: int, tau: float = 0.3):
        super().__init__()
        self.tau = tau
        self.logits = nn.Parameter(torch.zeros(units, len(POOL)))

    def forward(self, x):
        g = -torch.empty_like(self.logits).exponential_().log()
        y_soft = torch.softmax((self.logits + g) / self.tau, -1)  # (units, K)
        y_hard = F.one_hot(y_soft.argmax(-1), len(POOL)).to(y_soft)
        w = y_hard - y_soft.detach() + y_soft
        outs = torch.stack([ACTIVATIONS[n](x).clamp(-10, 10) for n in POOL], -1)  # (b, u, K)
        return (outs * w).sum(-1).clamp(-10, 10)


class OfficialGrouped(nn.Module):
    """Phase 2 as the official code computes it: gather each group's columns, scatter back."""

    def __init__(self, choices):
        super().__init__()
        self.groups = [
            (n, torch.tensor([i for i, c in enumerate(choices) if c == n]))
            for n in POOL
            if n in choices
        ]

    def forward(self, x):
        out = torch.zeros_like(x)
        for name, idx in self.groups:
            out[:, idx] = ACTIVATIONS[name](x[:, idx])
        return out


class TorchActivation(nn.Module):
    """A uniform activation through torch's own kernel (reference for our widened ELU/SELU)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def random_choices(widths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[POOL[i] for i in torch.randint(len(POOL), (w,), generator=g).tolist()] for w in widths]


def build(kind: str, widths) -> nn.Module:
    gen = torch.Generator().manual_seed(0)
    choices = random_choices(widths)
    if kind.startswith("uniform "):
        return uniform_mlp(widths, kind.removeprefix("uniform "), generator=gen)
    if kind.startswith("torch "):  # e.g. "torch elu": F.elu, float32 expm1 kernel
        fn = getattr(F, kind.removeprefix("torch "))
        return MLP(widths, lambda i, u: TorchActivation(fn), generator=gen)
    if kind == "phase2 (ours)":
        return mixed_mlp(widths, choices, generator=gen)
    if kind == "phase2 (six groups, ReLU kernels)":
        # The same groups and calls as Phase 2, every group computing ReLU: the cost of grouping
        # alone (six kernel calls per layer and direction instead of one), without the cost of
        # the activations themselves.
        model = mixed_mlp(widths, choices, generator=gen)
        for act in model.acts:
            act._kernels = (KERNELS["relu"],) * len(act._kernels)
        return model
    if kind == "phase2 (official style)":
        return MLP(widths, lambda i, u: OfficialGrouped(choices[i]), generator=gen)
    if kind == "phase1 (ours)":
        model = selection_mlp(widths, generator=gen)
        for layer in model.selection_layers():
            layer.generator = torch.Generator().manual_seed(1)
        return model
    if kind == "phase1 (official style)":
        return MLP(widths, lambda i, u: OfficialMixture(u), generator=gen)
    raise ValueError(kind)


STEP_KINDS = [
    *(f"uniform {a}" for a in POOL),
    "torch elu",
    "torch selu",
    "phase2 (ours)",
    "phase2 (six groups, ReLU kernels)",
    "phase2 (official style)",
    "phase1 (ours)",
    "phase1 (official style)",
]


def make_step(model: nn.Module):
    """One optimizer step (forward, loss, backward, clip, Adam) on a fixed batch."""
    x = torch.rand(128, 784, generator=torch.Generator().manual_seed(0))
    y = torch.randint(10, (128,), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(
        model.parameters(), lr=1e-4, fused=True
    )  # as PhaseTrainer: the comparison is of networks
    params = list(model.parameters())

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return step


def time_steps(models: dict[str, nn.Module], steps: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per step of each model in each round; every round times every model in turn.

    Round-robin, so slow drifts of the machine hit all models alike; ratios are then taken
    within a round (paired) and summarised by their median over rounds.
    """
    fns = {k: make_step(m) for k, m in models.items()}
    for fn in fns.values():
        for _ in range(20):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(steps):
                fn()
            times[k].append((time.perf_counter() - t) / steps)
    return times


def paired_ratios(times: dict[str, list[float]], reference: list[float]) -> dict[str, tuple]:
    """Per model: median, 25th and 75th percentile over rounds of time / reference time."""
    out = {}
    for k, v in times.items():
        r = sorted(a / b for a, b in zip(v, reference, strict=True))
        q = statistics.quantiles(r, n=4, method="inclusive")
        out[k] = (statistics.median(r), q[0], q[2])
    return out


def epoch_kind(method: str, style: str) -> str:
    """The `build` kind of an epoch benchmark: baseline is uniform ReLU in both pipelines."""
    return "uniform relu" if method == "baseline" else f"{method} ({style})"


def epoch_ours(method: str, arch: int, splits) -> dict[str, float]:
    """One epoch through PhaseTrainer (preloaded tensors) plus the CLI's per-epoch bookkeeping."""
    model = build(epoch_kind(method, "ours"), architecture(arch).widths)
    for layer in model.selection_layers():  # Phase 1: noisy evaluation gets its own stream
        layer.eval_generator = torch.Generator().manual_seed(2)
    trainer = PhaseTrainer(
        method, model, splits, RunConfig(arch=arch), 1, make_generator(0, "data")
    )
    rec = trainer.train_epoch()
    t = time.perf_counter()
    torch.save(trainer.state_dict(), io.BytesIO())  # the per-epoch resume checkpoint
    bookkeeping = time.perf_counter() - t
    # Data access alone: the same batch slicing with no model.
    t = time.perf_counter()
    order = torch.randperm(len(splits.x_train), generator=torch.Generator())
    for s in range(0, len(order), 128):
        idx = order[s : s + 128]
        splits.x_train.index_select(0, idx), splits.y_train.index_select(0, idx)
    data = time.perf_counter() - t
    return {
        "train_s": rec.train_seconds,
        "val_s": rec.val_seconds,
        "data_s": data,
        "bookkeeping_s": bookkeeping,
    }


def epoch_official(method: str, arch: int, root: str, splits) -> dict[str, float]:
    """One epoch the official way: torchvision dataset + ToTensor through a DataLoader."""
    import torchvision
    from torch.utils.data import DataLoader, Subset
    from torchvision import transforms

    widths = architecture(arch).widths
    model = build(epoch_kind(method, "official style"), widths)
    full = torchvision.datasets.MNIST(
        root, train=True, download=False, transform=transforms.ToTensor()
    )
    # Same split sizes as ours: 54,000 train / 6,000 validation.
    perm = torch.randperm(60000, generator=torch.Generator().manual_seed(42))
    train = DataLoader(Subset(full, perm[:54000].tolist()), batch_size=128, shuffle=True)
    val = DataLoader(Subset(full, perm[54000:].tolist()), batch_size=128)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    params = list(model.parameters())
    model.train()
    t = time.perf_counter()
    data = 0.0
    td = time.perf_counter()
    for xb, yb in train:
        data += time.perf_counter() - td
        loss = F.cross_entropy(model(xb.view(-1, 784)), yb)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        td = time.perf_counter()
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    model.eval()
    with torch.no_grad():
        for xb, yb in val:
            F.cross_entropy(model(xb.view(-1, 784)), yb)
    return {
        "train_s": train_s,
        "val_s": time.perf_counter() - t,
        "data_s": data,
        "bookkeeping_s": 0.0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--archs", type=int, nargs="+", default=[3, 17])
    p.add_argument("--steps", type=int, default=40, help="steps per model per round")
    p.add_argument("--rounds", type=int, default=15, help="round-robin rounds (paired ratios)")
    p.add_argument("--data-root", default="resources/data")
    p.add_argument("--no-epochs", action="store_true", help="step timings only")
    p.add_argument("--out", type=Path, default=OUT, help="where the CSVs go")
    args = p.parse_args()
    torch.set_num_threads(1)
    meta = {
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "threads": 1,
    }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    rows = []
    for arch in args.archs:
        widths = architecture(arch).widths
        torch.manual_seed(0)
        times = time_steps({k: build(k, widths) for k in STEP_KINDS}, args.steps, args.rounds)
        # Two references: uniform ReLU (the cheapest activation) and the mean of the six uniform
        # networks (what a network mixing the pool pays for its activations alone).
        uniform = [k for k in times if k.startswith("uniform ")]
        mean6 = [statistics.mean(r) for r in zip(*(times[k] for k in uniform), strict=True)]
        to_relu = paired_ratios(times, times["uniform relu"])
        to_mean = paired_ratios(times, mean6)
        for kind, v in times.items():
            ms = statistics.median(v) * 1e3
            rows.append(
                {
                    "arch": arch,
                    "network": kind,
                    "step_ms": ms,
                    "ratio_to_uniform_relu": to_relu[kind][0],
                    "ratio_to_uniform_relu_q25": to_relu[kind][1],
                    "ratio_to_uniform_relu_q75": to_relu[kind][2],
                    "ratio_to_uniform_mean": to_mean[kind][0],
                    "rounds": args.rounds,
                    "steps_per_round": args.steps,
                    **meta,
                }
            )
            print(f"arch {arch:>2}  {kind:<34} {ms:7.2f} ms/step", flush=True)
    steps = pd.DataFrame(rows)
    steps.to_csv(out / "steps.csv", index=False)
    cols = [
        "arch",
        "network",
        "step_ms",
        "ratio_to_uniform_relu",
        "ratio_to_uniform_relu_q25",
        "ratio_to_uniform_relu_q75",
        "ratio_to_uniform_mean",
    ]
    print("\n" + steps[cols].round(3).to_string(index=False))

    if args.no_epochs:
        return
    splits = load_splits(args.data_root)
    rows = []
    for arch in args.archs:
        for method in ("baseline", "phase1", "phase2"):
            for style, fn in (("ours", epoch_ours), ("official style", epoch_official)):
                torch.manual_seed(0)
                res = (
                    fn(method, arch, splits)
                    if style == "ours"
                    else fn(method, arch, args.data_root, splits)
                )
                total = res["train_s"] + res["val_s"] + res["bookkeeping_s"]
                rows.append(
                    {
                        "arch": arch,
                        "method": method,
                        "pipeline": style,
                        **res,
                        "epoch_s": total,
                        **meta,
                    }
                )
                print(f"arch {arch:>2}  {method:<8} {style:<15} {total:6.2f} s/epoch", flush=True)
    epochs = pd.DataFrame(rows)
    epochs["overhead_share"] = (epochs.data_s + epochs.bookkeeping_s) / epochs.epoch_s
    epochs.to_csv(out / "epochs.csv", index=False)
    cols = [
        "arch",
        "method",
        "pipeline",
        "train_s",
        "val_s",
        "data_s",
        "bookkeeping_s",
        "epoch_s",
        "overhead_share",
    ]
    print("\n" + epochs[cols].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
