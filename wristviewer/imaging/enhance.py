"""Contrast enhancement, implemented once: the display and the model preprocessing call these.

CLAHE runs on the full bit depth of the radiograph. OpenCV's ``clipLimit`` is a multiple of
the mean bin height of its histogram (256 bins for 8-bit input, 65536 for 16-bit). Data
stored with fewer than 16 bits occupies only ``2**bits`` of the 65536 bins, which would make
every occupied bin look ``65536 / 2**bits`` times too full and flatten the equalisation. We
therefore rescale the clip limit so that it always means the same thing: the largest slope
of the mapping, in grey levels of the source bit depth.

``bits`` is an upper bound: when every value lies on the grid of a coarser depth (8, 10, 12 or
14 bits; e.g. 8-bit content scaled into a 16-bit container), CLAHE runs at that depth. So an
8-bit image gives the same result whether it arrives as 8 or as 16 bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from wristviewer.imaging.radiograph import Window

#: OpenCV's own default clip limit; the paper names no value.
DEFAULT_CLIP_LIMIT = 2.0
DEFAULT_TILE_GRID = (8, 8)


@dataclass(frozen=True)
class ClaheSettings:
    """CLAHE parameters. ``tile_grid`` is (columns, rows) of tiles, as OpenCV takes it."""

    enabled: bool = True
    clip_limit: float = DEFAULT_CLIP_LIMIT
    tile_grid: tuple[int, int] = DEFAULT_TILE_GRID

    def __post_init__(self) -> None:
        if not self.clip_limit > 0:
            raise ValueError(f"CLAHE clip limit must be positive, got {self.clip_limit}")
        if len(self.tile_grid) != 2 or min(self.tile_grid) < 1:
            raise ValueError(f"CLAHE tile grid must be two positive integers, got {self.tile_grid}")


def clahe(
    pixels: np.ndarray,
    clip_limit: float = DEFAULT_CLIP_LIMIT,
    tile_grid: tuple[int, int] = DEFAULT_TILE_GRID,
    bits: int = 8,
) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation.

    ``pixels``: float array (rows, cols) in 0..1. ``bits``: the bit depth the image was stored
    with (8 for PNG/JPEG, BitsStored for DICOM); the image is quantised to ``2**bits`` levels
    (at most 16 bits; fewer when :func:`effective_bits` finds a coarser grid), equalised by
    OpenCV in an 8- or 16-bit container, and returned as float32 in 0..1.
    """
    if pixels.ndim != 2:
        raise ValueError(f"CLAHE takes a single-channel image, got shape {pixels.shape}")
    x = np.clip(np.asarray(pixels, dtype=np.float32), 0.0, 1.0)
    bits = effective_bits(x, int(min(max(bits, 1), 16)))
    levels = 1 << bits
    container = 256 if bits <= 8 else 65536
    # Quantise to the source depth, then spread those levels over the whole container so that
    # OpenCV's redistribution of clipped counts (over all container bins) covers 0..1 evenly.
    q = np.rint(x * np.float32(levels - 1))
    if levels != container:
        q *= np.float32((container - 1) / (levels - 1))
        q = np.rint(q, out=q)
    q = q.astype(np.uint8 if container == 256 else np.uint16)
    opencv_clip = float(clip_limit) * container / levels
    out_scale = 1.0 / (container - 1)
    tiles = (int(tile_grid[0]), int(tile_grid[1]))
    engine = cv2.createCLAHE(clipLimit=opencv_clip, tileGridSize=tiles)
    out = engine.apply(np.ascontiguousarray(q))
    return out.astype(np.float32) * np.float32(out_scale)


#: Coarser depths tried by :func:`effective_bits`, and how far (in grid steps) a value may sit
#: from the grid and still count as on it (float32 rounding of k / (2**b - 1)).
_GRID_DEPTHS = (8, 10, 12, 14)
_GRID_TOLERANCE = 1e-2


def _on_grid(x: np.ndarray, levels: int) -> bool:
    scaled = x * np.float32(levels - 1)
    return bool(np.all(np.abs(scaled - np.rint(scaled)) <= _GRID_TOLERANCE))


def effective_bits(pixels: np.ndarray, bits: int) -> int:
    """The smallest depth among 8, 10, 12, 14 below ``bits`` whose grid holds every value, else ``bits``.

    ``pixels``: float in 0..1. A strided sample is tested first, so real 16-bit data cost one
    cheap pass; only a sample that fits is confirmed on the whole image.
    """
    if bits <= 8:
        return bits
    flat = pixels.reshape(-1)
    sample = flat[:: max(1, flat.size // 4096)]
    for depth in _GRID_DEPTHS:
        if depth >= bits:
            break
        if _on_grid(sample, 1 << depth) and _on_grid(flat, 1 << depth):
            return depth
    return bits


def apply_clahe(pixels: np.ndarray, settings: ClaheSettings, bits: int) -> np.ndarray:
    """``clahe`` when ``settings.enabled``, else the pixels unchanged (as float32)."""
    if not settings.enabled:
        return pixels.astype(np.float32, copy=False)
    return clahe(pixels, settings.clip_limit, settings.tile_grid, bits)


def apply_window(pixels: np.ndarray, window: Window) -> np.ndarray:
    """Map ``pixels`` (0..1) through a display window to 0..1 (DICOM PS3.3 C.11.2.1.2 forms)."""
    c = np.float32(window.center)
    w = np.float32(max(window.width, 1e-6))
    x = pixels.astype(np.float32, copy=False)
    fn = window.function.upper()
    if fn == "SIGMOID":
        return (1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))).astype(np.float32)
    # LINEAR and LINEAR_EXACT agree on a continuous 0..1 scale.
    return np.clip((x - c) / w + 0.5, 0.0, 1.0).astype(np.float32)


def invert(pixels: np.ndarray) -> np.ndarray:
    """Swap bright and dark (0..1 in, 0..1 out)."""
    return (np.float32(1.0) - pixels).astype(np.float32, copy=False)
