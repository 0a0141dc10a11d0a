"""Training configuration: one dataclass, every field a command-line flag, saved as JSON.

Defaults follow Kim et al. (2021): CLAHE, 550x660 input, the minority class doubled with 10%
zoom-in copies, no flips or rotations, Adam (lr 1e-4, betas 0.9/0.999, weight decay 1e-4),
binary cross-entropy on the logit, learning rate x0.1 every 10 epochs down to 1e-7, batch 4,
early stopping from epoch 30 with patience 20 on the tuning AUROC.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.data import LAYOUTS
from wristviewer.ai.registry import ARCHITECTURES


def _f(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - argparse's word
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class FitConfig:
    """Everything ``python -m training fit`` needs; ``vars`` of the parsed flags."""

    data: str = _f(
        "",
        "data set: a folder or CSV of any supported layout (see training/README.md); required unless --resume",
    )
    out: str = _f(
        "runs/fit", "output folder: config.json, split/, checkpoint.pt, best.pt, metrics.csv"
    )
    preset: str = _f(
        "paper",
        "paper: Kim et al.'s fine-tuning recipe (a GPU and ImageNet weights); cpu-scratch: "
        "training from random weights on a few CPU cores (training/README.md lists every "
        "deviation). A preset sets the defaults of the flags it names; flags given win",
        choices=("paper", "cpu-scratch"),
    )
    layout: str = _f(
        "auto",
        "data layout",
        choices=("auto", *LAYOUTS),
    )
    extra_data: str | None = _f(
        None,
        "more training data (any layout, e.g. ../shared/data/fracatlas-other): added to the "
        "training part only, never tuned or tested on",
    )
    split: str | None = _f(None, "use this split (folder or split.csv) instead of drawing one")
    split_method: str = _f("patient", "how to draw the split", choices=("patient", "date"))
    cutoff: str | None = _f(None, "time-based split: ISO date; test = on or after it")
    test_fraction: float = _f(0.1, "patient split: share of images for test")
    tuning_fraction: float = _f(0.1, "share of the training part (by patient) for tuning")
    limit: int | None = _f(None, "use only this many images (seeded, stratified); for trials")
    seed: int = _f(0, "seed for the split, the shuffling and the weights")
    arch: str = _f(ARCHITECTURES[0], "network", choices=ARCHITECTURES)
    init: str = _f(
        "imagenet", "initial weights: none, imagenet (torch hub cache, else download) or a FILE"
    )
    offline: bool = _f(False, "never download (--init imagenet then needs the torch hub cache)")
    clahe_clip_limit: float = _f(2.0, "CLAHE clip limit (see wristviewer.imaging.enhance)")
    clahe_tile_grid: tuple[int, int] = _f((8, 8), "CLAHE tiles, columns rows", nargs=2)
    input_width: int = _f(550, "network input width in pixels")
    input_height: int = _f(660, "network input height in pixels")
    resize: str = _f(
        "stretch",
        "stretch: plain resize to the input (the paper); pad: aspect ratio kept, centred on 0",
        choices=("stretch", "pad"),
    )
    oversample: bool = _f(True, "double the minority class of the training part")
    zoom: float = _f(1.1, "oversampled copies are zoomed in by this factor (1 = plain duplicates)")
    epochs: int = _f(100, "maximum number of epochs")
    batch_size: int = _f(4, "images per batch (per process under DDP)")
    accumulate: int = _f(1, "batches per optimiser step (gradient accumulation)")
    optimizer: str = _f(
        "adam", "adam (L2 weight decay, the paper) or adamw (decoupled)", choices=("adam", "adamw")
    )
    schedule: str = _f(
        "step",
        "step: x lr-gamma every lr-step epochs (the paper); cosine: linear warm-up, then cosine "
        "decay to zero over all epochs, per optimiser step",
        choices=("step", "cosine"),
    )
    warmup_steps: int = _f(0, "cosine schedule: optimiser steps of linear warm-up")
    lr: float = _f(1e-4, "Adam learning rate")
    beta1: float = _f(0.9, "Adam beta 1")
    beta2: float = _f(0.999, "Adam beta 2")
    weight_decay: float = _f(1e-4, "Adam weight decay (L2, as torch.optim.Adam applies it)")
    lr_step: int = _f(10, "multiply the learning rate by --lr-gamma every this many epochs")
    lr_gamma: float = _f(0.1, "learning-rate decay factor")
    lr_floor: float = _f(1e-7, "the learning rate never goes below this")
    augment: bool = _f(
        False,
        "random flips, rotations, zoom/shift, gamma and contrast per sample (seeded by seed, "
        "epoch and draw, so a resumed run sees the same images)",
    )
    rotate_degrees: float = _f(15.0, "augmentation: largest rotation either way")
    scale_range: tuple[float, float] = _f(
        (0.85, 1.25), "augmentation: zoom factor range (>1 zooms in)", nargs=2
    )
    shift_fraction: float = _f(0.06, "augmentation: largest shift, as a fraction of the side")
    gamma_range: tuple[float, float] = _f((0.7, 1.4), "augmentation: gamma range", nargs=2)
    contrast_jitter: float = _f(0.15, "augmentation: contrast x (1 +- this)")
    epoch_samples: int | None = _f(
        None,
        "draw this many samples per epoch, balanced by region (--primary-share) and class "
        "(--fracture-weight), instead of every training image once",
    )
    primary_share: float = _f(
        0.5, "balanced sampling: share of samples from --data (the rest from --extra-data)"
    )
    fracture_weight: float = _f(
        2.0, "balanced sampling: a fractured image is this many times as likely as a normal one"
    )
    box_loss_weight: float = _f(
        0.0,
        "weight of the per-cell loss on the class-activation grid from fracture boxes "
        "(cells over a box positive on fractured images, every cell negative on normal ones); 0 = off",
    )
    box_balance_from_epoch: int = _f(
        1,
        "the box loss weighs positive and negative cells half each from this epoch (1-based) "
        "on; before it, one mean over all cells (training/README.md says why both exist)",
    )
    low_res_epochs: int = _f(
        0, "progressive resizing: the first N epochs at --low-res-scale of the input size"
    )
    low_res_scale: float = _f(0.7, "progressive resizing: side scale of the early epochs")
    early_stop_start: int = _f(30, "early stopping is considered from this epoch on (1-based)")
    patience: int = _f(20, "stop after this many epochs without a better tuning AUROC")
    device: str = _f("auto", "auto, cpu, cuda, cuda:N or mps")
    threads: int = _f(
        0,
        "CPU threads for torch (0 = torch's default, one per core); may change on --resume. "
        "On a 2-core machine shared with other work, 1 thread can be several times faster "
        "than 2 (measured: training/README.md)",
    )
    amp: str = _f(
        "auto",
        "mixed precision: auto (CUDA: bf16 if supported, else fp16; CPU: bf16 where the CPU "
        "has native bf16, else fp32), off, fp16, bf16",
        choices=("auto", "off", "fp16", "bf16"),
    )
    channels_last: str = _f(
        "auto", "channels-last memory format (auto: on CUDA)", choices=("auto", "on", "off")
    )
    workers: int = _f(2, "DataLoader worker processes (0 = in the main process)")
    cache_dir: str | None = _f(None, "preprocessed-image cache (default: <out>/../cache)")
    cache_dtype: str = _f("float16", "dtype of cached arrays", choices=("float16", "float32"))
    resume: bool = _f(False, "continue from <out>/checkpoint.pt")
    deterministic: bool = _f(False, "torch deterministic algorithms (slower; exact resume on GPU)")
    max_batches: int | None = _f(
        None, "stop each epoch after this many batches (timing, smoke tests)"
    )
    progress: bool = _f(True, "progress lines on stderr")
    tensorboard: bool = _f(True, "TensorBoard logs in <out>/tb when tensorboard is installed")

    def recipe_dict(self) -> dict[str, Any]:
        """The preprocessing recipe these flags describe (as ``Recipe.to_dict``)."""
        from wristviewer.ai.recipe import Recipe

        return Recipe(
            clahe_clip_limit=self.clahe_clip_limit,
            clahe_tile_grid=(int(self.clahe_tile_grid[0]), int(self.clahe_tile_grid[1])),
            input_width=self.input_width,
            input_height=self.input_height,
            resize=self.resize,
        ).to_dict()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in _PAIRS:
            d[key] = list(getattr(self, key))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FitConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
        kw = dict(d)
        for key in _PAIRS:
            if key in kw:
                kw[key] = tuple(kw[key])
        if "clahe_tile_grid" in kw:
            kw["clahe_tile_grid"] = tuple(int(v) for v in kw["clahe_tile_grid"])
        return cls(**kw)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return path


#: fields that are pairs of numbers (two values on the command line, a list in JSON)
_PAIRS = ("clahe_tile_grid", "scale_range", "gamma_range")

#: The from-scratch CPU recipe (training/README.md, "The cpu-scratch preset", says why each
#: value differs from the paper). Only defaults: any flag given on the command line wins.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu-scratch": {
        "init": "none",
        "offline": True,
        "test_fraction": 0.15,
        "tuning_fraction": 0.15,
        "input_width": 224,
        "input_height": 272,
        "resize": "pad",
        "oversample": False,
        "zoom": 1.0,
        "optimizer": "adamw",
        "schedule": "cosine",
        "warmup_steps": 100,
        "lr": 1e-3,
        "weight_decay": 0.01,
        "batch_size": 16,
        "augment": True,
        "epoch_samples": 1600,
        "primary_share": 0.5,
        "fracture_weight": 2.0,
        "box_loss_weight": 1.0,
        "low_res_epochs": 5,
        "low_res_scale": 0.7,
        "epochs": 7,
        "early_stop_start": 1000,
        "patience": 1000,
        "workers": 0,
    },
}


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type = FitConfig) -> None:
    """One ``--flag-name`` per dataclass field (booleans get ``--no-...``)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        meta = dict(f.metadata)
        help_text = meta.pop("help", "")
        hint = hints[f.name]
        default = f.default
        # SUPPRESS: only flags given on the command line appear, so --resume can tell them apart.
        kw: dict[str, Any] = {
            "default": argparse.SUPPRESS,
            "help": f"{help_text} (default: {default})",
            **meta,
        }
        if hint is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif f.name == "clahe_tile_grid":
            kw["type"] = int
        elif f.name in _PAIRS:
            kw["type"] = float
        else:
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            base = args[0] if args else hint
            kw["type"] = base
        parser.add_argument(flag, **kw)


def config_from_args(args: argparse.Namespace, cls: type = FitConfig) -> tuple[Any, set[str]]:
    """The dataclass from parsed flags, and the names of the flags actually given."""
    names = {f.name for f in dataclasses.fields(cls)}
    kw = {k: v for k, v in vars(args).items() if k in names}
    explicit = set(kw)
    for key in _PAIRS:
        if key in kw:
            kw[key] = tuple(kw[key])
    preset = PRESETS.get(kw.get("preset", "paper"), {}) if cls is FitConfig else {}
    for key, value in preset.items():
        kw.setdefault(key, value)
    return cls(**kw), explicit
