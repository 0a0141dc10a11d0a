"""Training samples for the from-scratch recipe: balanced epochs, augmentation, box masks.

numpy and OpenCV only (no torch), so DataLoader workers can use it.

- :func:`epoch_plan`: which training images an epoch draws. Either each image once, or
  ``n`` draws with replacement: ``primary_share`` of them from the primary data (the hand
  images tuning and test are drawn from), the rest from the extra data with each region
  weighted by 1/sqrt(its size), so leg images (three quarters of the extra set) do not
  dominate; within each, a fractured image is ``fracture_weight`` times as likely.
- :class:`AugmentedDataset`: sample ``k`` of epoch ``e`` is fully determined by
  (seed, e, k) — which image, and its random flip, rotation, zoom, shift, gamma and contrast
  — so a run resumed at an epoch boundary sees exactly what an uninterrupted run would.
  Each item also carries two masks at the input resolution, moved by the same geometry:
  ``boxes`` (1 inside a fracture box) and ``content`` (1 where the radiograph is, 0 on the
  padding), from which the training loop builds the per-cell targets of the box loss.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from training.data import EnhancedCache, Record, parse_boxes


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms (see :class:`training.config.FitConfig`)."""

    enabled: bool = True
    rotate_degrees: float = 15.0
    scale_range: tuple[float, float] = (0.85, 1.25)
    shift_fraction: float = 0.06
    gamma_range: tuple[float, float] = (0.7, 1.4)
    contrast_jitter: float = 0.15
    hflip: bool = True


def epoch_plan(
    records: Sequence[Record],
    primary: Collection[str],
    n: int | None,
    seed: int,
    epoch: int,
    primary_share: float = 0.5,
    fracture_weight: float = 2.0,
) -> np.ndarray:
    """Indices into ``records`` for one epoch (module docstring). ``primary``: the paths (as
    strings) of the primary data's records; ``n=None``: every record once, shuffled."""
    rng = np.random.default_rng([seed, epoch, 7])
    if n is None:
        return rng.permutation(len(records))
    labels = np.array([r.label for r in records], dtype=np.float64)
    is_primary = np.array([str(r.path) in primary for r in records])
    weight = np.where(labels > 0, float(fracture_weight), 1.0)
    regions = [r.region or "unknown" for r in records]
    sizes = Counter(reg for reg, p in zip(regions, is_primary, strict=True) if not p)
    extra_w = np.array([1.0 / np.sqrt(sizes[reg]) if sizes[reg] else 0.0 for reg in regions])
    share = float(primary_share) if (~is_primary).any() and is_primary.any() else None
    if share is None:
        p = weight
    else:
        wp = np.where(is_primary, weight, 0.0)
        we = np.where(is_primary, 0.0, weight * extra_w)
        p = share * wp / wp.sum() + (1.0 - share) * we / we.sum()
    return rng.choice(len(records), size=int(n), replace=True, p=p / p.sum())


def box_mask(
    boxes: Sequence[tuple[float, float, float, float]],
    content: tuple[int, int, int, int],
    shape: tuple[int, int],
) -> np.ndarray:
    """uint8 (rows, cols) mask: 1 inside the boxes (YOLO, normalised to the radiograph),
    placed in the input through the content box (x, y, w, h) in input pixels."""
    out = np.zeros(shape, dtype=np.uint8)
    x0, y0, w, h = content
    for cx, cy, bw, bh in boxes:
        left = int(np.floor(x0 + (cx - bw / 2) * w))
        right = int(np.ceil(x0 + (cx + bw / 2) * w))
        top = int(np.floor(y0 + (cy - bh / 2) * h))
        bottom = int(np.ceil(y0 + (cy + bh / 2) * h))
        out[max(top, 0) : max(bottom, 0), max(left, 0) : max(right, 0)] = 1
    return out


def _affine(rng: np.random.Generator, cfg: AugmentConfig, cols: int, rows: int) -> np.ndarray:
    angle = rng.uniform(-cfg.rotate_degrees, cfg.rotate_degrees)
    scale = rng.uniform(*cfg.scale_range)
    m = cv2.getRotationMatrix2D((cols / 2.0, rows / 2.0), angle, scale)
    m[0, 2] += rng.uniform(-cfg.shift_fraction, cfg.shift_fraction) * cols
    m[1, 2] += rng.uniform(-cfg.shift_fraction, cfg.shift_fraction) * rows
    if cfg.hflip and rng.random() < 0.5:
        flip = np.array([[-1.0, 0.0, cols - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        m = (np.vstack([m, [0.0, 0.0, 1.0]]) @ flip)[:2]
    return m


class AugmentedDataset:
    """Map-style dataset: item ``k`` of the current epoch is ``(image, label, boxes, content)``.

    ``image``: float32 (channels, H, W), normalised as the recipe says; ``label``: float32;
    ``boxes``/``content``: uint8 (H, W) masks (module docstring). H×W is the recipe's input
    size, or ``scale`` of it during progressive resizing (:meth:`set_epoch`).
    """

    def __init__(
        self,
        records: Sequence[Record],
        cache: EnhancedCache,
        *,
        primary: Collection[str],
        seed: int,
        augment: AugmentConfig,
        epoch_samples: int | None = None,
        primary_share: float = 0.5,
        fracture_weight: float = 2.0,
    ) -> None:
        self.records = list(records)
        self.cache = cache
        self.recipe = cache.recipe
        self.primary = frozenset(primary)
        self.seed = seed
        self.augment = augment
        self.epoch_samples = epoch_samples
        self.primary_share = primary_share
        self.fracture_weight = fracture_weight
        self._boxes = [parse_boxes(r.boxes, str(r.path)) for r in self.records]
        self.set_epoch(0)

    def set_epoch(self, epoch: int, scale: float = 1.0) -> None:
        """Draw epoch ``epoch``'s plan; images come out at ``scale`` of the input size."""
        self.epoch = epoch
        self.scale = scale
        self.plan = epoch_plan(
            self.records,
            self.primary,
            self.epoch_samples,
            self.seed,
            epoch,
            self.primary_share,
            self.fracture_weight,
        )

    def __len__(self) -> int:
        return len(self.plan)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the images of the current epoch."""
        w, h = self.recipe.input_size
        return (max(32, round(w * self.scale)), max(32, round(h * self.scale)))

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.float32, np.ndarray, np.ndarray]:
        from wristviewer.ai.recipe import normalise

        index = int(self.plan[k])
        record = self.records[index]
        image16, (cols, rows) = self.cache.get_with_size(record.path)
        image = image16.astype(np.float32)
        h, w = image.shape
        content_box = self.recipe.content_box(cols, rows)
        content = np.zeros((h, w), dtype=np.uint8)
        x0, y0, cw, ch = content_box
        content[y0 : y0 + ch, x0 : x0 + cw] = 1
        boxes = box_mask(self._boxes[index], content_box, (h, w))
        if self.augment.enabled:
            rng = np.random.default_rng([self.seed, self.epoch, k, 11])
            m = _affine(rng, self.augment, w, h)
            image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
            content = cv2.warpAffine(content, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
            boxes = cv2.warpAffine(boxes, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
            gamma = rng.uniform(*self.augment.gamma_range)
            contrast = 1.0 + rng.uniform(
                -self.augment.contrast_jitter, self.augment.contrast_jitter
            )
            image = np.power(np.clip(image, 0.0, 1.0), gamma)
            image = np.clip((image - 0.5) * contrast + 0.5, 0.0, 1.0) * content
        out_size = self.size
        if out_size != (w, h):
            image = cv2.resize(image, out_size, interpolation=cv2.INTER_AREA)
            content = cv2.resize(content, out_size, interpolation=cv2.INTER_NEAREST)
            boxes = cv2.resize(boxes, out_size, interpolation=cv2.INTER_NEAREST)
        return (
            normalise(image.astype(np.float32), self.recipe),
            np.float32(record.label),
            np.ascontiguousarray(boxes),
            np.ascontiguousarray(content),
        )
