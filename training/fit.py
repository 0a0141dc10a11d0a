"""The training loop: ``python -m training fit`` (see :mod:`training.config` for every flag).

Outputs in ``--out``: ``config.json`` (the full configuration), ``split/`` (split.csv and
split.json), ``checkpoint.pt`` (everything needed to resume, written atomically every epoch),
``best.pt`` (weights of the epoch with the best tuning AUROC), ``metrics.csv`` (one row per
epoch), ``skipped.csv`` (images that could not be read) and ``tb/`` when TensorBoard is
installed.

Reproducible resume: the order of each epoch's batches is a permutation seeded by
(seed, epoch), nothing else in the loop draws random numbers (no augmentation other than the
fixed zoom copies, no dropout), and the checkpoint restores model, optimiser, scheduler, grad
scaler and the RNG states. On the CPU, ``fit`` for 2 epochs and ``fit`` for 1 epoch plus
``--resume`` for the second give identical weights (tested).

Distributed: launched by ``torchrun --nproc-per-node N -m training fit ...``; each process
takes a DistributedSampler shard of the training batches, gradients are all-reduced by DDP,
rank 0 evaluates the tuning set and writes every file, and the stop decision is broadcast.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training import data as data_mod
from training import splits as splits_mod
from training.config import FitConfig
from training.stats import auroc

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
METRICS_COLUMNS = (
    "epoch",
    "lr",
    "train_loss",
    "tuning_loss",
    "tuning_auroc",
    "best_auroc",
    "seconds",
    "images_per_s",
)

#: Flags that may change on --resume (everything else must match the saved configuration).
RESUME_OVERRIDABLE = frozenset(
    {
        "epochs",
        "workers",
        "progress",
        "device",
        "threads",
        "max_batches",
        "tensorboard",
        "early_stop_start",
        "patience",
        "resume",
        "out",
        "cache_dir",
        "offline",
    }
)


class FitError(Exception):
    """A training run that cannot start or continue; the message is one sentence."""


# --------------------------------------------------------------------------- small helpers


class Progress:
    """Plain-text progress on stderr: a line at most every ``every`` seconds, and at the end."""

    def __init__(self, label: str, total: int, enabled: bool = True, every: float = 2.0) -> None:
        self.label, self.total, self.enabled, self.every = label, total, enabled, every
        self.start = self.last = time.monotonic()

    def update(self, done: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < self.every:
            return
        self.last = now
        width = 24
        filled = int(width * done / max(self.total, 1))
        elapsed = now - self.start
        rate = done / max(elapsed, 1e-9)
        eta = (self.total - done) / rate if done else float("nan")
        sys.stderr.write(
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
            f"{rate:.2f}/s elapsed {_clock(elapsed)} eta {_clock(eta)} {extra}\n"
        )
        sys.stderr.flush()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    m, sec = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{sec:02d}"


def training_device(requested: str) -> torch.device:
    """:func:`wristviewer.ai.device.select_device` in strict mode: ``auto`` = CUDA, else MPS,
    else CPU; an explicit device must exist (a run meant for a GPU never falls back)."""
    from wristviewer.ai.device import DeviceUnavailable, select_device

    try:
        return select_device(requested, strict=True)
    except (DeviceUnavailable, ValueError) as exc:
        raise FitError(str(exc)) from exc


def amp_dtype(cfg: FitConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for full precision. ``auto``: on CUDA bf16 if supported,
    else fp16; on the CPU bf16 only where it is native (:mod:`wristviewer.ai.cpu`)."""
    from wristviewer.ai.cpu import cpu_info

    if cfg.amp == "auto" and device.type == "cpu":
        return torch.bfloat16 if cpu_info().native_bf16 else None
    if cfg.amp == "off" or (cfg.amp == "auto" and device.type != "cuda"):
        return None
    if cfg.amp == "fp16":
        return torch.float16
    if cfg.amp == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def lr_factor(epoch: int, cfg: FitConfig) -> float:
    """Learning-rate multiplier of 0-based ``epoch``: gamma^(epoch // step), floored at lr_floor."""
    return max(cfg.lr_gamma ** (epoch // max(cfg.lr_step, 1)), cfg.lr_floor / cfg.lr)


def should_stop(epoch: int, epochs_since_best: int, cfg: FitConfig) -> bool:
    """Early stopping after 1-based ``epoch``: only from ``early_stop_start`` on, once
    ``patience`` epochs have passed without a better tuning AUROC."""
    return epoch >= cfg.early_stop_start and epochs_since_best >= cfg.patience


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "python_gauss": random.getstate()[2],
        "numpy": [
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then os.replace (never half-written)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


class EpochPermutation(torch.utils.data.Sampler[int]):
    """A fresh permutation of ``range(n)`` each epoch, seeded by (seed, epoch) only."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


# --------------------------------------------------------------------------- model initialisation


def _fix_densenet_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's DenseNet checkpoints name ``norm.1``; the modules are ``norm1`` (same fix as torchvision)."""
    import re

    pattern = re.compile(
        r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
    )
    out = {}
    for k, v in state.items():
        m = pattern.match(k)
        out[m.group(1) + m.group(2) if m else k] = v
    return out


def imagenet_state_dict(arch: str, offline: bool) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights from the torch hub cache (downloaded unless ``offline``)."""
    import torchvision

    weights = {
        "densenet161": torchvision.models.DenseNet161_Weights.IMAGENET1K_V1,
        "resnet152": torchvision.models.ResNet152_Weights.IMAGENET1K_V1,
    }[arch]
    filename = weights.url.rsplit("/", 1)[-1]
    cached = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if not cached.is_file():
        if offline:
            raise FitError(
                f"ImageNet weights for {arch} are not in the torch hub cache ({cached}) and --offline forbids "
                f"downloading them; copy {filename} there, or use --init none or --init FILE"
            )
        try:
            return _fix_densenet_keys(
                torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=True)
            )
        except (
            OSError,
            RuntimeError,
        ) as exc:  # URLError is an OSError; a bad hash is a RuntimeError
            raise FitError(
                f"ImageNet weights for {arch} are not in the torch hub cache ({cached}) and could not be downloaded "
                f"({exc}); copy {filename} there, or use --init none or --init FILE"
            ) from exc
    return _fix_densenet_keys(torch.load(cached, map_location="cpu", weights_only=True))


def initialise(model: nn.Module, cfg: FitConfig) -> str:
    """Apply ``--init``; returns a sentence saying what was loaded."""
    from wristviewer.ai.architectures import head_name

    if cfg.init == "none":
        return "random initialisation"
    if cfg.init == "imagenet":
        state = imagenet_state_dict(cfg.arch, cfg.offline)
        head = head_name(cfg.arch) + "."
        state = {k: v for k, v in state.items() if not k.startswith(head)}
        result = model.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(head)]
        if missing or result.unexpected_keys:
            raise FitError(
                f"ImageNet weights for {cfg.arch} do not fit the network (missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})"
            )
        return f"ImageNet weights (torchvision {cfg.arch}), new fracture head"
    path = Path(cfg.init)
    if not path.is_file():
        raise FitError(f"{path}: --init must be none, imagenet or an existing weights file")
    state = load_weights_file(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise FitError(
            f"{path}: the weights do not fit {cfg.arch} ({str(exc).splitlines()[0]})"
        ) from exc
    return f"weights from {path}"


def load_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a bundle (.safetensors), a checkpoint/best file, or a raw state dict."""
    from wristviewer.ai.registry import BUNDLE_SUFFIX

    if path.suffix == BUNDLE_SUFFIX:
        from wristviewer.ai.bundle import load_bundle

        return dict(load_bundle(path).state_dict)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise FitError(f"{path}: not a weights file torch can read ({exc})") from exc
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise FitError(f"{path}: no state dict inside")
    return obj


# --------------------------------------------------------------------------- data


def select_subset(records: Sequence[data_mod.Record], n: int, seed: int) -> list[data_mod.Record]:
    """``n`` records drawn with the class ratio kept (at least one per class when possible)."""
    if n >= len(records):
        return list(records)
    rng = np.random.default_rng(seed)
    pos = [r for r in records if r.label == 1]
    neg = [r for r in records if r.label == 0]
    k_pos = min(len(pos), max(1 if pos else 0, round(n * len(pos) / len(records))))
    k_neg = min(len(neg), n - k_pos)
    pick_p = [pos[i] for i in sorted(rng.choice(len(pos), k_pos, replace=False))] if k_pos else []
    pick_n = [neg[i] for i in sorted(rng.choice(len(neg), k_neg, replace=False))] if k_neg else []
    return pick_p + pick_n


def prepare_split(cfg: FitConfig, out: Path) -> splits_mod.Split:
    """Load ``--split``, or the run's saved split, or draw one from ``--data`` and save it."""
    saved = out / "split" / "split.csv"
    if cfg.split:
        split = splits_mod.load_split(cfg.split)
    elif saved.is_file():
        split = splits_mod.load_split(saved)
    else:
        if not cfg.data:
            raise FitError("--data is required for a new run")
        records = data_mod.load_records(cfg.data, cfg.layout)
        if cfg.limit:
            records = select_subset(records, cfg.limit, cfg.seed)
        if cfg.split_method == "date":
            if not cfg.cutoff:
                raise FitError("--split-method date needs --cutoff YYYY-MM-DD")
            split = splits_mod.split_by_date(records, cfg.cutoff, cfg.tuning_fraction, cfg.seed)
        else:
            split = splits_mod.split_by_patient(
                records, cfg.test_fraction, cfg.tuning_fraction, cfg.seed
            )
        if cfg.extra_data:
            extra = data_mod.load_records(cfg.extra_data)
            split = splits_mod.add_training_only(split, extra)
    return split


def lr_lambda(cfg: FitConfig, total_steps: int) -> Any:
    """The learning-rate multiplier per scheduler step: per epoch for ``step``; per optimiser
    step for ``cosine`` (linear warm-up over ``warmup_steps``, then cosine to 0 at
    ``total_steps``)."""
    if cfg.schedule == "step":
        return lambda e: lr_factor(e, cfg)
    warm = max(0, cfg.warmup_steps)

    def cosine(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total_steps - warm))
        return 0.5 * (1.0 + math.cos(math.pi * t))

    return cosine


def cell_logits(features: torch.Tensor, head: nn.Linear) -> torch.Tensor:
    """The fracture logit of every cell of the last feature map, (N, h, w): the head applied
    to each cell. Their mean is the image logit (global average pooling is linear), and
    :func:`wristviewer.ai.gradcam.linear_head_cam` is ReLU(cell logit - bias) / (h·w)."""
    return (
        torch.einsum("nkhw,k->nhw", features.float(), head.weight[0].float()) + head.bias[0].float()
    )


def box_loss(
    cells: torch.Tensor,
    labels: torch.Tensor,
    boxes: torch.Tensor,
    content: torch.Tensor,
    balanced: bool = True,
) -> torch.Tensor:
    """Per-cell BCE from fracture boxes: on a fractured image the cells a box touches are
    positive (its other cells are left alone: a fracture need not fill its box's neighbours);
    on a normal image every cell at least half on the radiograph (not padding) is negative.
    Fractured images without boxes contribute nothing.

    ``balanced`` (the default): the mean over the positive cells and the mean over the
    negative cells, half each. Pooled (``balanced=False``): one mean over all the cells used,
    where a normal image's 30-100 negative cells outweigh a fracture's few positive ones about
    twenty to one; measured in the shipped run, that drove every cell logit down and held the
    image-level loss at chance for four epochs (training/README.md). 0 when no cell is used."""
    grid = cells.shape[-2:]
    touched = nn.functional.adaptive_max_pool2d(boxes[:, None].float(), grid)[:, 0] > 0
    on_image = nn.functional.adaptive_avg_pool2d(content[:, None].float(), grid)[:, 0] >= 0.5
    fractured = labels.reshape(-1, 1, 1) > 0.5
    positive = touched & fractured
    negative = on_image & ~fractured
    used = positive | negative
    if not bool(used.any()):
        return cells.sum() * 0.0
    if not balanced:
        return nn.functional.binary_cross_entropy_with_logits(
            cells[used], positive[used].float(), reduction="mean"
        )
    parts = [
        nn.functional.binary_cross_entropy_with_logits(cells[mask], target, reduction="mean")
        for mask, target in (
            (positive, torch.ones_like(cells[positive])),
            (negative, torch.zeros_like(cells[negative])),
        )
        if bool(mask.any())
    ]
    return sum(parts) / len(parts)


def git_commit() -> str | None:
    """The code's git commit (``+dirty`` when the work tree has changes), or None."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def default_cache_dir(cfg: FitConfig) -> Path:
    return Path(cfg.cache_dir) if cfg.cache_dir else Path(cfg.out).resolve().parent / "cache"


RUN_INFO = "run_info.json"


def _write_run_info(
    out: Path, cfg: FitConfig, split: splits_mod.Split, train_recs: Sequence[Any], skipped: Any
) -> None:
    """``run_info.json``: what the card needs about the run that is not in config.json —
    training counts per region (readable images only), skipped images, the code commit, the
    CPU. Written when a run starts; a resumed run keeps the first commit and adds its own."""
    import json

    from wristviewer.ai.cpu import cpu_info

    path = out / RUN_INFO
    info: dict[str, Any] = {}
    if path.is_file():
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
    commit = git_commit()
    info.setdefault("code_commit", commit)
    if commit != info["code_commit"]:
        info.setdefault("resumed_with_commits", []).append(commit)
    info.update(
        {
            "training_by_region": data_mod.by_region(train_recs),
            "skipped_images": len(skipped),
            "split": split.summary(),
            "split_warnings": split.warnings,
            "cpu": cpu_info().to_dict(),
        }
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _write_skipped(skipped: Sequence[Any], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "reason"])
        for s in skipped:
            w.writerow([str(s.path), s.reason])


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    dataset: data_mod.RadiographDataset,
    device: torch.device,
    batch_size: int = 8,
    workers: int = 0,
    autocast: torch.dtype | None = None,
    channels_last: bool = False,
    progress: Progress | None = None,
) -> np.ndarray:
    """Fracture logits (float64, one per sample, dataset order) with the model in eval mode."""
    model.eval()
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers
    )
    out: list[np.ndarray] = []
    done = 0
    for images, _ in loader:
        x = images.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            logits = model(x)
        out.append(logits.float().reshape(-1).cpu().numpy().astype(np.float64))
        done += x.shape[0]
        if progress:
            progress.update(done)
    return np.concatenate(out) if out else np.zeros(0)


def _bce(labels: np.ndarray, logits: np.ndarray) -> float:
    return (
        float(np.mean(np.logaddexp(0.0, logits) - labels * logits)) if len(labels) else float("nan")
    )


# --------------------------------------------------------------------------- the loop


@dataclass
class FitResult:
    """What a finished run leaves behind."""

    out: Path
    best_epoch: int
    best_auroc: float
    epochs_run: int
    stopped_early: bool
    skipped: int


def _merge_resume(cfg: FitConfig, explicit: set[str]) -> FitConfig:
    out = Path(cfg.out)
    saved_path = out / "config.json"
    if not saved_path.is_file():
        raise FitError(f"{saved_path}: --resume needs the configuration of the earlier run")
    import json

    saved = FitConfig.from_dict(json.loads(saved_path.read_text(encoding="utf-8")))
    changed = sorted(
        k
        for k in explicit - RESUME_OVERRIDABLE
        if getattr(cfg, k) != getattr(saved, k) and k != "data"
    )
    if changed:
        raise FitError(
            f"--resume cannot change {', '.join('--' + k.replace('_', '-') for k in changed)}; start a new run instead"
        )
    if saved.schedule == "cosine" and "epochs" in explicit and cfg.epochs != saved.epochs:
        # the cosine curve spans all epochs: a new count would bend the rest of it
        raise FitError(
            f"--resume cannot change --epochs of a cosine schedule (the run has {saved.epochs}); "
            "start a new run instead"
        )
    for k in explicit & RESUME_OVERRIDABLE:
        setattr(saved, k, getattr(cfg, k))
    saved.resume = True
    return saved


@dataclass
class _Run:
    """One training run as it goes: what :func:`_setup` builds, :func:`_resume` restores and
    every epoch (:func:`_train_epoch`, :func:`_tune_and_checkpoint`) advances."""

    cfg: FitConfig
    out: Path
    device: torch.device
    distributed: bool
    rank: int
    world: int
    owns_group: bool
    recipe: Any  # wristviewer.ai.recipe.Recipe
    scratch: bool
    skipped: list[Any]
    train_ds: Any
    tuning_ds: data_mod.RadiographDataset
    tuning_labels: np.ndarray
    model: nn.Module
    net: nn.Module
    use_cl: bool
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    per_step: bool
    autocast: torch.dtype | None
    head: nn.Module
    cam_layer: nn.Module
    scaler: torch.amp.GradScaler
    loss_fn: nn.Module
    sampler: Any = None
    loader: Any = None
    writer: Any = None
    metrics_path: Path | None = None
    start_epoch: int = 0
    best_auroc: float = -math.inf
    best_epoch: int = 0
    since_best: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: evaluates the tuning set and writes every file."""
        return self.rank == 0


def _start_processes(cfg: FitConfig) -> tuple[torch.device, bool, int, int, bool]:
    """The device and, under torchrun, the process group: (device, distributed, rank, world,
    whether this call created the group)."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    world = 1
    owns_group = False
    device = training_device(cfg.device)
    if distributed:
        import torch.distributed as dist

        backend = "nccl" if device.type == "cuda" else "gloo"
        owns_group = not dist.is_initialized()
        if owns_group:
            dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    return device, distributed, rank, world, owns_group


def _barrier(distributed: bool) -> None:
    if distributed:
        import torch.distributed as dist

        dist.barrier()


def _datasets(
    cfg: FitConfig, out: Path, recipe: Any, main: bool, distributed: bool
) -> tuple[bool, list[Any], Any, data_mod.RadiographDataset]:
    """Split, preprocess cache and datasets: (scratch, skipped images, training set, tuning
    set). ``scratch``: the augmented (from-scratch) training set is used."""
    split = prepare_split(cfg, out)
    if main and not (out / "split" / "split.csv").is_file():
        split.save(out / "split")
    for w in split.warnings:
        log.warning("%s", w)
    if not split.train or not split.tuning:
        raise FitError(
            f"{out}: the split has {len(split.train)} training and {len(split.tuning)} tuning images; both must be non-empty"
        )

    scratch = bool(
        cfg.augment or cfg.epoch_samples or cfg.box_loss_weight > 0 or cfg.low_res_epochs > 0
    )
    cache = data_mod.PreprocessCache(default_cache_dir(cfg), recipe, cfg.cache_dtype)
    train_cache = (
        data_mod.EnhancedCache(default_cache_dir(cfg), recipe, cfg.cache_dtype)
        if scratch
        else cache
    )
    bar = Progress("preprocess", len(split.train) + len(split.tuning), cfg.progress and main)
    if not main:  # rank 0 fills the cache; the others then read it
        _barrier(distributed)
    train_recs, skipped_a = data_mod.warm_cache(
        split.train, train_cache, cfg.workers if main else 0, lambda d, t: bar.update(d)
    )
    tuning_recs, skipped_b = data_mod.warm_cache(
        split.tuning, cache, cfg.workers if main else 0, None
    )
    if main:
        _barrier(distributed)
    skipped = skipped_a + skipped_b
    if main:
        _write_skipped(skipped, out / "skipped.csv")
        _write_run_info(out, cfg, split, train_recs, skipped)
    train_ds = _training_set(cfg, train_recs, train_cache if scratch else cache, scratch)
    return scratch, skipped, train_ds, data_mod.RadiographDataset(tuning_recs, cache)


def _training_set(
    cfg: FitConfig, train_recs: Sequence[data_mod.Record], cache: Any, scratch: bool
) -> Any:
    """The augmented set (``scratch``) or the plain one, oversampled when ``cfg`` says."""
    if scratch:
        from training.augment import AugmentConfig, AugmentedDataset

        primary = {str(r.path) for r in train_recs if r.region in (None, "hand")}
        return AugmentedDataset(
            train_recs,
            cache,
            primary=primary
            if len(primary) < len(train_recs)
            else {str(r.path) for r in train_recs},
            seed=cfg.seed,
            augment=AugmentConfig(
                enabled=cfg.augment,
                rotate_degrees=cfg.rotate_degrees,
                scale_range=cfg.scale_range,
                shift_fraction=cfg.shift_fraction,
                gamma_range=cfg.gamma_range,
                contrast_jitter=cfg.contrast_jitter,
            ),
            epoch_samples=cfg.epoch_samples,
            primary_share=cfg.primary_share,
            fracture_weight=cfg.fracture_weight,
        )
    samples = (
        data_mod.oversample_minority(train_recs, zoom=cfg.zoom != 1.0)
        if cfg.oversample
        else [data_mod.Sample(r) for r in train_recs]
    )
    return data_mod.RadiographDataset(samples, cache, cfg.zoom)


def _optimiser(
    cfg: FitConfig, model: nn.Module, n_train: int, world: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Adam(W) and its learning-rate schedule over the whole run's optimiser steps."""
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(
        model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay
    )
    world_batches = -(-n_train // (cfg.batch_size * world))
    if cfg.max_batches is not None:
        world_batches = min(world_batches, cfg.max_batches)
    steps_per_epoch = -(-world_batches // cfg.accumulate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(cfg, steps_per_epoch * cfg.epochs)
    )
    return optimizer, scheduler


def _prepare_output(cfg: FitConfig, out: Path, main: bool) -> None:
    """The output folder and config.json (rank 0), determinism, and the seeds."""
    if main:
        out.mkdir(parents=True, exist_ok=True)
        if (out / CHECKPOINT).exists() and not cfg.resume:
            raise FitError(
                f"{out}: a run is already there; pass --resume to continue it or choose another --out"
            )
        cfg.save(out / "config.json")
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    seed_everything(cfg.seed)


def _setup(cfg: FitConfig) -> _Run:
    """Everything before the first epoch of a new or resumed run: processes, output folder,
    seeds, data, the network, the optimiser and its schedule (the checkpoint is
    :func:`_resume`'s)."""
    from wristviewer.ai.architectures import build_model, cam_layer_name, head_name
    from wristviewer.ai.recipe import Recipe

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device, distributed, rank, world, owns_group = _start_processes(cfg)
    main = rank == 0
    out = Path(cfg.out)
    _prepare_output(cfg, out, main)
    recipe = Recipe.from_dict(cfg.recipe_dict())
    scratch, skipped, train_ds, tuning_ds = _datasets(cfg, out, recipe, main, distributed)

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch)
    init_note = initialise(model, cfg) if not cfg.resume else "resumed"
    log.info("%s: %s", cfg.arch, init_note)
    model.to(device)
    use_cl = cfg.channels_last == "on" or (cfg.channels_last == "auto" and device.type == "cuda")
    if use_cl:
        model = model.to(memory_format=torch.channels_last)
    net: nn.Module = model
    if distributed:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    optimizer, scheduler = _optimiser(cfg, model, len(train_ds), world)
    autocast = amp_dtype(cfg, device)
    if main and cfg.progress:
        from wristviewer.ai.cpu import cpu_info

        why = cpu_info().bf16_reason() if device.type == "cpu" and cfg.amp == "auto" else cfg.amp
        sys.stderr.write(
            f"device {device}, precision {autocast or 'fp32'} ({why}); "
            f"CPU {cpu_info().describe()}, {torch.get_num_threads()} threads\n"
        )
    return _Run(
        cfg=cfg,
        out=out,
        device=device,
        distributed=distributed,
        rank=rank,
        world=world,
        owns_group=owns_group,
        recipe=recipe,
        scratch=scratch,
        skipped=skipped,
        train_ds=train_ds,
        tuning_ds=tuning_ds,
        tuning_labels=tuning_ds.labels.astype(np.float64),
        model=model,
        net=net,
        use_cl=use_cl,
        optimizer=optimizer,
        scheduler=scheduler,
        per_step=cfg.schedule == "cosine",
        autocast=autocast,
        head=model.get_submodule(head_name(cfg.arch)),
        cam_layer=model.get_submodule(cam_layer_name(cfg.arch)),
        scaler=torch.amp.GradScaler(device.type, enabled=autocast == torch.float16),
        loss_fn=nn.BCEWithLogitsLoss(),
    )


def _resume(run: _Run) -> None:
    """Restore model, optimiser, scheduler, grad scaler, RNG states and the best-so-far from
    ``checkpoint.pt`` (a resumed run only)."""
    ckpt_path = run.out / CHECKPOINT
    if not ckpt_path.is_file():
        raise FitError(f"{ckpt_path}: no checkpoint to resume from")
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["scheduler"])
    run.scaler.load_state_dict(ckpt["scaler"])
    _set_rng_state(ckpt["rng"])
    run.start_epoch = int(ckpt["epoch"])
    run.best_auroc, run.best_epoch, run.since_best = (
        float(ckpt["best_auroc"]),
        int(ckpt["best_epoch"]),
        int(ckpt["since_best"]),
    )


def _open_loader(run: _Run) -> None:
    """The training batches' sampler and loader, TensorBoard, and metrics.csv's header."""
    cfg = run.cfg
    if run.distributed:
        run.sampler = torch.utils.data.distributed.DistributedSampler(
            run.train_ds, num_replicas=run.world, rank=run.rank, shuffle=True, seed=cfg.seed
        )
    else:
        run.sampler = EpochPermutation(len(run.train_ds), cfg.seed)
    run.loader = torch.utils.data.DataLoader(
        run.train_ds,
        batch_size=cfg.batch_size,
        sampler=run.sampler,
        num_workers=cfg.workers,
        pin_memory=run.device.type == "cuda",
        # The augmented dataset draws each epoch's plan in set_epoch: workers must start
        # afresh every epoch to see it (a persistent worker keeps its first copy).
        persistent_workers=cfg.workers > 0 and not run.scratch,
        # A last batch of one image would give BatchNorm a single sample: drop it (its images
        # come back in other epochs' batches, the permutation changes every epoch).
        drop_last=cfg.batch_size > 1 and len(run.sampler) % cfg.batch_size == 1,
    )
    run.writer = _tensorboard(run.out) if cfg.tensorboard and run.main else None
    run.metrics_path = run.out / "metrics.csv"
    if run.main and (not cfg.resume or not run.metrics_path.is_file()):
        with run.metrics_path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(METRICS_COLUMNS)


@dataclass
class _EpochStats:
    """One epoch's training: the summed loss over ``seen`` images and the seconds it took."""

    total_loss: float
    seen: int
    seconds: float


def _train_epoch(run: _Run, epoch: int) -> _EpochStats:
    """One pass over the training batches (0-based ``epoch``), with the box loss when set."""
    from wristviewer.ai.gradcam import captured_outputs

    cfg, device = run.cfg, run.device
    if run.scratch:
        run.train_ds.set_epoch(epoch, cfg.low_res_scale if epoch < cfg.low_res_epochs else 1.0)
    run.sampler.set_epoch(epoch)
    run.net.train()
    t0 = time.monotonic()
    n_batches = (
        len(run.loader) if cfg.max_batches is None else min(len(run.loader), cfg.max_batches)
    )
    bar = Progress(f"epoch {epoch + 1}/{cfg.epochs}", n_batches, cfg.progress and run.main)
    total_loss = 0.0
    total_box = 0.0
    seen = 0
    run.optimizer.zero_grad(set_to_none=True)
    pending = 0
    with contextlib.ExitStack() as hooks:
        boxes = cfg.box_loss_weight > 0
        captured = hooks.enter_context(captured_outputs(run.cam_layer)) if boxes else []
        for b, batch in enumerate(run.loader):
            if b >= n_batches:
                break
            images, labels = batch[0], batch[1]
            x = images.to(device, non_blocking=True)
            if run.use_cl:
                x = x.contiguous(memory_format=torch.channels_last)
            y = labels.to(device, non_blocking=True).reshape(-1, 1)
            captured.clear()
            with torch.autocast(device.type, dtype=run.autocast, enabled=run.autocast is not None):
                logits = run.net(x)
            loss = run.loss_fn(logits.float(), y)
            if boxes:
                cells = cell_logits(captured[-1], run.head)
                extra = box_loss(
                    cells,
                    y,
                    batch[2].to(device),
                    batch[3].to(device),
                    balanced=epoch + 1 >= cfg.box_balance_from_epoch,
                )
                total_box += float(extra.detach()) * x.shape[0]
                loss = loss + cfg.box_loss_weight * extra
            captured.clear()
            run.scaler.scale(loss / cfg.accumulate).backward()
            pending += 1
            if pending == cfg.accumulate or b + 1 == n_batches:
                run.scaler.step(run.optimizer)
                run.scaler.update()
                run.optimizer.zero_grad(set_to_none=True)
                pending = 0
                if run.per_step:
                    run.scheduler.step()
            total_loss += float(loss.detach()) * x.shape[0]
            seen += x.shape[0]
            box_note = f" box {total_box / max(seen, 1):.4f}" if boxes else ""
            bar.update(b + 1, f"loss {total_loss / max(seen, 1):.4f}{box_note}")
    if not run.per_step:
        run.scheduler.step()
    return _EpochStats(total_loss, seen, time.monotonic() - t0)


def _tune(run: _Run, epoch: int) -> tuple[float, float]:
    """Rank 0: the tuning set's (loss, AUROC) after 0-based ``epoch``; ``best.pt`` and the
    best-so-far when the AUROC improved (or, with one class only, after the first epoch)."""
    cfg = run.cfg
    tl = predict_logits(
        run.model, run.tuning_ds, run.device, max(cfg.batch_size, 8), 0, run.autocast, run.use_cl
    )
    labels = run.tuning_labels
    both = 0 < labels.sum() < len(labels)
    tune_auc = auroc(labels, tl) if both else float("nan")
    tune_loss = _bce(labels, tl)
    improved = both and tune_auc > run.best_auroc
    if improved or (run.best_epoch == 0 and not both):
        run.best_auroc = tune_auc if both else run.best_auroc
        run.best_epoch = epoch + 1
        run.since_best = 0
        atomic_save(
            {
                "model": run.model.state_dict(),
                "arch": cfg.arch,
                "recipe": run.recipe.to_dict(),
                "epoch": epoch + 1,
                "tuning_auroc": tune_auc,
            },
            run.out / BEST,
        )
    else:
        run.since_best += 1
    return tune_loss, tune_auc


def _checkpoint(
    run: _Run, epoch: int, stats: _EpochStats, tune_loss: float, tune_auc: float
) -> None:
    """Rank 0: the epoch's metrics row (metrics.csv, TensorBoard) and ``checkpoint.pt``."""
    cfg = run.cfg
    row = [
        epoch + 1,
        run.optimizer.param_groups[0]["lr"] if run.per_step else cfg.lr * lr_factor(epoch, cfg),
        stats.total_loss / max(stats.seen, 1),
        tune_loss,
        tune_auc,
        run.best_auroc,
        round(stats.seconds, 3),
        round(stats.seen * run.world / max(stats.seconds, 1e-9), 3),
    ]
    assert run.metrics_path is not None
    with run.metrics_path.open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(row)
    if run.writer is not None:
        run.writer.add_scalar("loss/train", row[2], epoch + 1)
        run.writer.add_scalar("loss/tuning", tune_loss, epoch + 1)
        run.writer.add_scalar("auroc/tuning", tune_auc, epoch + 1)
    atomic_save(
        {
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "scaler": run.scaler.state_dict(),
            "rng": _rng_state(),
            "epoch": epoch + 1,
            "best_auroc": run.best_auroc,
            "best_epoch": run.best_epoch,
            "since_best": run.since_best,
            "arch": cfg.arch,
        },
        run.out / CHECKPOINT,
    )
    if cfg.progress:
        sys.stderr.write(
            f"epoch {epoch + 1}: train loss {row[2]:.4f}, tuning loss {tune_loss:.4f}, tuning AUROC {tune_auc:.4f} (best {run.best_auroc:.4f} at epoch {run.best_epoch})\n"
        )


def _tune_and_checkpoint(run: _Run, epoch: int, stats: _EpochStats) -> bool:
    """After each epoch: rank 0 tunes and checkpoints; returns whether to stop early (every
    rank gets the same answer)."""
    stop = torch.zeros(1)
    if run.main:
        tune_loss, tune_auc = _tune(run, epoch)
        _checkpoint(run, epoch, stats, tune_loss, tune_auc)
        if should_stop(epoch + 1, run.since_best, run.cfg):
            stop[0] = 1
    if run.distributed:
        import torch.distributed as dist

        dist.broadcast(stop, src=0)
    return bool(stop[0] > 0)


def _finish(run: _Run) -> None:
    if run.writer is not None:
        run.writer.close()
    if run.distributed:
        import torch.distributed as dist

        dist.barrier()
        if run.owns_group:
            dist.destroy_process_group()


def fit(cfg: FitConfig, explicit: set[str] | None = None) -> FitResult:
    """Train one network as ``cfg`` says; resumable; returns where the results are."""
    if cfg.resume:
        cfg = _merge_resume(cfg, explicit if explicit is not None else set())
    run = _setup(cfg)
    if cfg.resume:
        _resume(run)
    _open_loader(run)
    stopped_early = False
    epoch = run.start_epoch
    for epoch in range(run.start_epoch, cfg.epochs):
        stats = _train_epoch(run, epoch)
        if _tune_and_checkpoint(run, epoch, stats):
            stopped_early = True
            break
    _finish(run)
    return FitResult(
        run.out,
        run.best_epoch,
        run.best_auroc,
        epoch + 1 - run.start_epoch if cfg.epochs > run.start_epoch else 0,
        stopped_early,
        len(run.skipped),
    )


def _tensorboard(out: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out / "tb"))
