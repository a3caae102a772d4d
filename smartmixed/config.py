"""The run configuration: one dataclass whose fields are the config keys, CLI flags and columns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .activations import EXTRA, POOL
from .models import ARCHITECTURES, OUTPUTS

METHODS: tuple[str, ...] = ("smartmixed", *POOL, *EXTRA)

# SPEC section 3: every faithful-vs-variant choice, faithful value first. This table is the one
# place they are documented; the CLI help, the workflow schema and the README are checked
# against it by the tests.
VARIANTS: dict[str, tuple[str, ...]] = {
    "output": OUTPUTS,
    "phase1_eval": ("noisy", "argmax"),
    "phase2_start": ("reinit", "warm"),
    "gumbel": ("hard", "soft"),
    "assignment": ("learned", "random_proportions", "shuffled"),
}


def _f(default: Any, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class RunConfig:
    """One training run: an (architecture, method, seed) cell of the protocol and its switches."""

    arch: int = _f(3, "architecture id, 1-18 (SPEC section 2; 3 is the official default)")
    method: str = _f("smartmixed", "smartmixed (Phase 1 then Phase 2) or a uniform activation")
    seed: int = _f(42, "run seed: drives init, data order, Gumbel noise and controls")
    epochs: int = _f(400, "epochs of a uniform baseline")
    phase1_epochs: int = _f(50, "epochs of Phase 1 (selection)")
    phase2_epochs: int = _f(350, "epochs of Phase 2 (fixed mixed network)")
    batch_size: int = _f(128, "training mini-batch; the last partial batch is kept")
    eval_batch_size: int = _f(128, "evaluation batch (Phase 1 noisy evaluation draws per batch)")
    lr: float = _f(1e-4, "Adam learning rate, for weights and logits alike")
    clip_norm: float = _f(1.0, "global gradient-norm clip, every step")
    fused_adam: bool = _f(
        True,
        "fused Adam kernel (same update, about 20 % faster steps on CPU; differs from the "
        "official for-loop Adam only by float rounding); false for the for-loop kernel",
    )
    tau: float = _f(0.3, "Gumbel-Softmax temperature, constant (no annealing)")
    val_size: int = _f(6000, "stratified validation samples taken from the 60k training set")
    split_seed: int = _f(42, "seed of the train/validation split, independent of the run seed")
    train_subset: int | None = _f(None, "train on the first N training samples (tests, smoke)")
    output: str = _f(
        "softmax",
        "output head: softmax then CrossEntropy (official double softmax) | logits into CE",
        choices=VARIANTS["output"],
    )
    phase1_eval: str = _f(
        "noisy",
        "Phase 1 evaluation and model selection: fresh Gumbel noise per batch (official) | "
        "argmax, the deterministic network that is exported",
        choices=VARIANTS["phase1_eval"],
    )
    phase2_start: str = _f(
        "reinit",
        "Phase 2 weights: re-initialised (official) | warm start from the Phase 1 checkpoint",
        choices=VARIANTS["phase2_start"],
    )
    gumbel: str = _f(
        "hard",
        "Phase 1 selection: hard straight-through one-hot (official) | soft mixture",
        choices=VARIANTS["gumbel"],
    )
    assignment: str = _f(
        "learned",
        "Phase 2 assignment: learned (official) | random_proportions (each neuron drawn from its "
        "layer's learned shares) | shuffled (the learned choices permuted within each layer)",
        choices=VARIANTS["assignment"],
    )
    device: str = _f("auto", "auto (CUDA when available), cpu, cuda, cuda:N", execution=True)
    threads: int = _f(0, "torch CPU threads; 0 keeps torch's default", execution=True)
    data_root: str = _f("resources/data", "folder holding MNIST/raw/", execution=True)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the key for any invalid value."""
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch: unknown id {self.arch}; valid: 1-{max(ARCHITECTURES)}")
        if self.method not in METHODS:
            raise ValueError(f"method: unknown {self.method!r}; valid: {', '.join(METHODS)}")
        for key, values in VARIANTS.items():
            if getattr(self, key) not in values:
                raise ValueError(f"{key}: {getattr(self, key)!r} is not one of {values}")
        for key in ("epochs", "phase1_epochs", "phase2_epochs", "val_size", "threads"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}: must be >= 0, got {getattr(self, key)}")
        for key in ("batch_size", "eval_batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be >= 1, got {getattr(self, key)}")
        if self.train_subset is not None and self.train_subset < 1:
            raise ValueError(f"train_subset: must be >= 1, got {self.train_subset}")
        if self.lr <= 0 or self.tau <= 0 or self.clip_norm <= 0:
            raise ValueError("lr, tau and clip_norm must be > 0")

    @property
    def phases(self) -> tuple[tuple[str, int], ...]:
        """(phase name, epochs) in order."""
        if self.method == "smartmixed":
            return (("phase1", self.phase1_epochs), ("phase2", self.phase2_epochs))
        return (("baseline", self.epochs),)

    def science(self) -> dict[str, Any]:
        """The fields that define the result (execution details such as device excluded)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.metadata.get("execution")
        }


def fields() -> list[dataclasses.Field]:
    return list(dataclasses.fields(RunConfig))


def from_dict(values: dict[str, Any]) -> RunConfig:
    """Build a RunConfig, rejecting unknown keys by name."""
    known = {f.name for f in fields()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config key(s): {', '.join(unknown)}; valid: {', '.join(known)}")
    return RunConfig(**values)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of RunConfig keys."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config keys")
    return data
