"""The preprocessing recipe: how a :class:`Radiograph` becomes a model input.

Written into every model card by training and read back by the viewer, so both feed the
network identical arrays. numpy and OpenCV only (no torch), so DataLoader workers can use
it. The steps follow Kim et al. (2021): CLAHE on the full-resolution image, then a resize
to the input size (the paper: 550×660 W×H). ``resize="stretch"`` is the paper's plain resize
(no crop, no letterbox); ``resize="pad"`` keeps the aspect ratio: the image is scaled to fit
and centred on a black (0) canvas. Either way :func:`content_box` says where the radiograph
lies in the input, so a heatmap maps back onto it pixel for pixel.
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
    ``resize``: ``"stretch"`` (plain resize, the paper) or ``"pad"`` (aspect ratio kept,
    centred, padded with 0 after CLAHE).
    """

    clahe_clip_limit: float = 2.0
    clahe_tile_grid: tuple[int, int] = (8, 8)
    input_width: int = 550
    input_height: int = 660
    channels: int = 3
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    resize: str = "stretch"

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
        if self.resize not in RESIZE_MODES:
            raise ValueError(
                f"resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}"
            )

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the network input, as OpenCV takes sizes."""
        return (self.input_width, self.input_height)

    def content_box(self, cols: int, rows: int) -> tuple[int, int, int, int]:
        """Where a ``cols``×``rows`` radiograph lies in the model input: (x, y, width, height)
        in input pixels. The whole input for ``"stretch"``; the centred, aspect-kept
        rectangle for ``"pad"``."""
        if self.resize == "stretch":
            return (0, 0, self.input_width, self.input_height)
        s = min(self.input_width / cols, self.input_height / rows)
        w = min(self.input_width, max(1, round(cols * s)))
        h = min(self.input_height, max(1, round(rows * s)))
        return ((self.input_width - w) // 2, (self.input_height - h) // 2, w, h)

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
                # cards written before aspect-kept padding existed resized plainly
                resize=str(d.get("resize", "stretch")),
            )
        except (TypeError, IndexError) as exc:
            raise ValueError(f"malformed preprocessing recipe: {exc}") from exc


RESIZE_MODES: tuple[str, ...] = ("stretch", "pad")

_FIELDS = (
    "clahe_clip_limit",
    "clahe_tile_grid",
    "input_width",
    "input_height",
    "channels",
    "mean",
    "std",
)


def fit_to_input(image: np.ndarray, recipe: Recipe) -> np.ndarray:
    """An enhanced (rows, cols) image resized into the model input as ``recipe.resize``
    says (INTER_AREA; ``"pad"``: centred on 0). float32 (input_height, input_width)."""
    rows, cols = image.shape[:2]
    x, y, w, h = recipe.content_box(cols, rows)
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32, copy=False)
    if (w, h) == recipe.input_size:
        return small
    out = np.zeros((recipe.input_height, recipe.input_width), dtype=np.float32)
    out[y : y + h, x : x + w] = small
    return out


def enhance_and_resize(radiograph: Radiograph, recipe: Recipe) -> np.ndarray:
    """CLAHE on the full-resolution pixels, then :func:`fit_to_input`.

    Returns float32 (input_height, input_width) in 0..1, before channel replication and
    normalisation (what a reader would see of the model input).
    """
    enhanced = clahe(
        radiograph.pixels,
        recipe.clahe_clip_limit,
        recipe.clahe_tile_grid,
        bits=radiograph.bits_stored,
    )
    return fit_to_input(enhanced, recipe)


def normalise(small: np.ndarray, recipe: Recipe) -> np.ndarray:
    """(rows, cols) 0..1 float → (channels, rows, cols) float32, normalised per channel."""
    mean = np.asarray(recipe.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(recipe.std, dtype=np.float32).reshape(-1, 1, 1)
    out = (small[None, :, :] - mean) / std
    return np.ascontiguousarray(out, dtype=np.float32)


def preprocess(radiograph: Radiograph, recipe: Recipe) -> np.ndarray:
    """The model input of one radiograph.

    Returns float32, shape (channels, input_height, input_width): CLAHE
    (:func:`wristviewer.imaging.enhance.clahe`, bits = ``radiograph.bits_stored``) on the
    full-resolution pixels, resized into (input_width, input_height) with INTER_AREA as
    ``recipe.resize`` says, replicated to ``channels`` and normalised per channel with ``mean``/``std``.
    """
    return normalise(enhance_and_resize(radiograph, recipe), recipe)
