"""The preprocessing recipe: how a :class:`Radiograph` becomes a model input.

Written into every model card by training and read back by the viewer, so both feed the
network identical arrays. numpy and OpenCV only (no torch), so DataLoader workers can use
it. The steps follow Kim et al. (2021): CLAHE on the full-resolution image, then a plain
resize to 550×660 (W×H) — no crop, no letterbox — so a heatmap resized back onto the
radiograph registers with it pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from wristviewer.imaging.enhance import clahe
from wristviewer.imaging.radiograph import Radiograph


@dataclass(frozen=True)
class Recipe:
    """Preprocessing parameters stored in every model card.

    ``clahe_tile_grid`` is (columns, rows) of tiles as OpenCV takes it; ``clahe_clip_limit``
    has the meaning documented in :mod:`wristviewer.imaging.enhance`. ``input_width`` and
    ``input_height`` are the network input in pixels (the paper: 550×660). ``mean``/``std``
    normalise the 0..1 CLAHE output per channel (ImageNet statistics by default).
    """

    clahe_clip_limit: float = 2.0
    clahe_tile_grid: tuple[int, int] = (8, 8)
    input_width: int = 550
    input_height: int = 660
    channels: int = 3
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self) -> None:
        if not self.clahe_clip_limit > 0:
            raise ValueError(f"CLAHE clip limit must be positive, got {self.clahe_clip_limit}")
        if len(self.clahe_tile_grid) != 2 or min(self.clahe_tile_grid) < 1:
            raise ValueError(
                f"CLAHE tile grid must be two positive integers, got {self.clahe_tile_grid}"
            )
        if self.input_width < 32 or self.input_height < 32:
            raise ValueError(
                f"input size must be at least 32×32 pixels, got {self.input_width}×{self.input_height}"
            )
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"mean and std need {self.channels} values each")
        if min(self.std) <= 0:
            raise ValueError(f"std values must be positive, got {self.std}")

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the network input, as OpenCV takes sizes."""
        return (self.input_width, self.input_height)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        for key in ("clahe_tile_grid", "mean", "std"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recipe:
        """Inverse of :meth:`to_dict`. Raises ``KeyError`` for a missing field, ``ValueError``
        for a bad value."""
        missing = [k for k in _FIELDS if k not in d]
        if missing:
            raise KeyError(f"preprocessing recipe lacks {', '.join(missing)}")
        try:
            return cls(
                clahe_clip_limit=float(d["clahe_clip_limit"]),
                clahe_tile_grid=(int(d["clahe_tile_grid"][0]), int(d["clahe_tile_grid"][1])),
                input_width=int(d["input_width"]),
                input_height=int(d["input_height"]),
                channels=int(d["channels"]),
                mean=tuple(float(v) for v in d["mean"]),  # type: ignore[arg-type]
                std=tuple(float(v) for v in d["std"]),  # type: ignore[arg-type]
            )
        except (TypeError, IndexError) as exc:
            raise ValueError(f"malformed preprocessing recipe: {exc}") from exc


_FIELDS = (
    "clahe_clip_limit",
    "clahe_tile_grid",
    "input_width",
    "input_height",
    "channels",
    "mean",
    "std",
)


def enhance_and_resize(radiograph: Radiograph, recipe: Recipe) -> np.ndarray:
    """CLAHE on the full-resolution pixels, then a plain INTER_AREA resize.

    Returns float32 (input_height, input_width) in 0..1, before channel replication and
    normalisation (what a reader would see of the model input).
    """
    enhanced = clahe(
        radiograph.pixels,
        recipe.clahe_clip_limit,
        recipe.clahe_tile_grid,
        bits=radiograph.bits_stored,
    )
    return cv2.resize(enhanced, recipe.input_size, interpolation=cv2.INTER_AREA).astype(
        np.float32, copy=False
    )


def preprocess(radiograph: Radiograph, recipe: Recipe) -> np.ndarray:
    """The model input of one radiograph.

    Returns float32, shape (channels, input_height, input_width): CLAHE
    (:func:`wristviewer.imaging.enhance.clahe`, bits = ``radiograph.bits_stored``) on the
    full-resolution pixels, ``cv2.resize`` to (input_width, input_height) with INTER_AREA,
    replicated to ``channels`` and normalised per channel with ``mean``/``std``.
    """
    small = enhance_and_resize(radiograph, recipe)
    mean = np.asarray(recipe.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(recipe.std, dtype=np.float32).reshape(-1, 1, 1)
    out = (small[None, :, :] - mean) / std
    return np.ascontiguousarray(out, dtype=np.float32)
