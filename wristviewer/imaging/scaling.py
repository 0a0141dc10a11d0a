"""Mapping stored values to the 0..1 pixel scale, and the size limit checked before decoding."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from wristviewer.imaging.errors import ImageTooLargeError

#: No side may exceed this many pixels (a wrist radiograph is about 2000-4000 px a side).
MAX_SIDE = 20_000
#: Default limit on the pixels of one image, all frames counted: 64 megapixels (256 MB as
#: float32; a wrist radiograph has 5-20). Checked against the header before anything is decoded,
#: so a small file whose header claims a huge image cannot exhaust memory.
MAX_PIXELS = 64_000_000
#: Environment variable overriding :data:`MAX_PIXELS` (a whole number of pixels).
MAX_PIXELS_ENV = "WRISTVIEWER_MAX_PIXELS"


def max_pixels() -> int:
    """The pixel limit in force: :data:`MAX_PIXELS_ENV` when set to a positive whole number,
    else :data:`MAX_PIXELS` (an unusable setting is warned about and ignored)."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not text:
        return MAX_PIXELS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        warnings.warn(
            f"{MAX_PIXELS_ENV}={text!r} is not a positive whole number of pixels; "
            f"the default limit of {MAX_PIXELS} pixels applies",
            RuntimeWarning,
            stacklevel=2,
        )
        return MAX_PIXELS
    return value


def _megapixels(n: int) -> str:
    mp = n / 1e6
    return f"{round(mp):,} megapixels" if mp >= 10 else f"{mp:.2g} megapixels"


def check_size(
    path: str | Path, rows: int, cols: int, frames: int = 1, limit: int | None = None
) -> None:
    """Raise :class:`ImageTooLargeError` when header dimensions exceed :data:`MAX_SIDE` a side
    or ``limit`` pixels in all (``rows * cols * frames``; default :func:`max_pixels`).

    Called with the dimensions the header claims, before any pixel is decoded.
    """
    limit = max_pixels() if limit is None else limit
    total = rows * cols * max(frames, 1)
    if rows <= MAX_SIDE and cols <= MAX_SIDE and total <= limit:
        return
    size = f"{cols} × {rows} pixels"
    if frames > 1:
        size = f"{frames} frames of {size} ({_megapixels(total)} in all)"
    else:
        size = f"{size} ({_megapixels(total)})"
    raise ImageTooLargeError(
        path,
        f"the header says the image is {size}, beyond the limit of {MAX_SIDE} pixels a side "
        f"and {_megapixels(limit)}; the header may be corrupt ({MAX_PIXELS_ENV} sets another "
        "limit)",
    )


def header_range_is_plausible(values: np.ndarray, lo: float, hi: float) -> bool:
    """Whether the data fit the range the header promises, and fill enough of it.

    Implausible: values outside ``[lo, hi]``, or a header range wider than 8 bits of which the
    data use less than 1/16 (four unused bits or more, e.g. 12-bit data declared as 16-bit).
    """
    if not hi > lo:
        return False
    vmin, vmax = float(values.min()), float(values.max())
    tol = 1e-6 * (hi - lo)
    if vmin < lo - tol or vmax > hi + tol:
        return False
    span = hi - lo
    return not (span > 255 and (vmax - vmin) * 16 <= span)


def to_unit_range(values: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, float, float]:
    """Map values from the header range ``[lo, hi]`` to float32 0..1.

    Falls back to the actual min..max when the header range is implausible
    (:func:`header_range_is_plausible`). Returns ``(pixels, lo_used, hi_used)`` so that windows
    given in stored units can be put on the same 0..1 scale. A constant image maps to zeros.
    """
    if not header_range_is_plausible(values, lo, hi):
        lo, hi = float(values.min()), float(values.max())
    x = values.astype(np.float32, copy=True)
    if hi > lo:
        x -= np.float32(lo)
        x *= np.float32(1.0 / (hi - lo))
        np.clip(x, 0.0, 1.0, out=x)
    else:
        x[...] = 0.0
    return x, float(lo), float(hi)


def colour_to_grey(rgb: np.ndarray, order: str = "RGB") -> np.ndarray:
    """(rows, cols, 3) colour to (rows, cols) grey in the stored units (float32 unless exact).

    Greyscale stored as colour (all channels equal) is collapsed exactly to one channel; true
    colour uses the Rec. 601 luma weights (0.299 R + 0.587 G + 0.114 B).
    """
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected (rows, cols, 3) colour pixels, got shape {rgb.shape}")
    c0, c1, c2 = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(c0, c1) and np.array_equal(c1, c2):
        return np.ascontiguousarray(c0)
    r, b = (c0, c2) if order == "RGB" else (c2, c0)
    grey = np.float32(0.299) * r.astype(np.float32)
    grey += np.float32(0.587) * c1.astype(np.float32)
    grey += np.float32(0.114) * b.astype(np.float32)
    return grey
