"""Mapping stored values to the 0..1 pixel scale, and the size limit checked before decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wristviewer.imaging.errors import ImageTooLargeError

#: No side may exceed this many pixels (a wrist radiograph is about 2000-4000 px a side).
MAX_SIDE = 20_000
#: No image may exceed this many pixels (400 Mpx; 1.6 GB as float32).
MAX_PIXELS = 400_000_000


def check_size(path: str | Path, rows: int, cols: int) -> None:
    """Raise :class:`ImageTooLargeError` for header dimensions beyond the limits (before decoding)."""
    if rows > MAX_SIDE or cols > MAX_SIDE or rows * cols > MAX_PIXELS:
        raise ImageTooLargeError(
            path,
            f"the image is {cols} × {rows} pixels, beyond the limit of {MAX_SIDE} pixels a side "
            f"and {MAX_PIXELS // 1_000_000} megapixels; the header may be corrupt",
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
