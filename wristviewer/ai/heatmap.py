"""From a raw CAM on the feature grid to a heatmap on the radiograph, and overlays.

numpy and OpenCV only, so the viewer can draw overlays without importing torch.

The heatmap is on the model's fixed scale (``heatmap_scale`` in its card: the CAM value that
maps to 1.0, clipped to 0..1), never min-max normalised per image: a normal radiograph
whose CAM stays small stays cool instead of having its largest value stretched to red.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Heatmap values (fixed 0..1 scale) below this are not drawn, so a normal radiograph stays
#: clean. One value for every rendering: the viewer's overlay, ``predict --heatmaps`` PNGs, the
#: PDF report and the training gallery.
HEATMAP_FLOOR = 0.2


def _box(input_size: tuple[int, int], content_box: tuple[int, int, int, int] | None):
    w_in, h_in = (int(v) for v in input_size)
    return (0, 0, w_in, h_in) if content_box is None else tuple(int(v) for v in content_box)


def cam_to_heatmap(
    cam: np.ndarray,
    scale: float,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    content_box: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Map one raw CAM (h, w) onto a radiograph.

    ``scale``: the CAM value shown as 1.0 (``ModelCard.heatmap_scale``); ``input_size``:
    (width, height) of the model input; ``output_size``: (cols, rows) of the radiograph;
    ``content_box``: (x, y, width, height) of the radiograph inside the input
    (:meth:`~wristviewer.ai.recipe.Recipe.content_box`; default the whole input). The CAM is
    divided by ``scale`` and clipped to 0..1, resized bilinearly to the model input, cropped
    to the content box and resized to the radiograph — the inverse of preprocessing, so the
    result registers with the displayed pixels. Returns float32 (rows, cols) in 0..1.
    """
    if not scale > 0:
        raise ValueError(f"heatmap scale must be positive, got {scale}")
    x, y, w, h = _box(input_size, content_box)
    scaled = np.clip(np.asarray(cam, dtype=np.float32) / np.float32(scale), 0.0, 1.0)
    at_input = cv2.resize(scaled, tuple(int(v) for v in input_size), interpolation=cv2.INTER_LINEAR)
    content = np.ascontiguousarray(at_input[y : y + h, x : x + w])
    out = cv2.resize(content, tuple(int(v) for v in output_size), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def cam_peak(
    cam: np.ndarray,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    content_box: tuple[int, int, int, int] | None = None,
) -> tuple[float, float]:
    """Where the model looked hardest: the maximum of the raw (unclipped) CAM, resized
    bilinearly to the input as :func:`cam_to_heatmap` does, inside the content box; returned
    as (x, y) in the radiograph's own pixel coordinates (pixel centres at integers, before any
    display rotation). Unclipped, so a heatmap saturated at 1.0 still has one peak."""
    x, y, w, h = _box(input_size, content_box)
    at_input = cv2.resize(
        np.asarray(cam, dtype=np.float32),
        tuple(int(v) for v in input_size),
        interpolation=cv2.INTER_LINEAR,
    )[y : y + h, x : x + w]
    row, col = np.unravel_index(int(np.argmax(at_input)), at_input.shape)
    cols, rows = (int(v) for v in output_size)
    return (
        float((col + 0.5) * cols / w - 0.5),
        float((row + 0.5) * rows / h - 0.5),
    )


def overlay_heatmap(
    grey: np.ndarray,
    heatmap: np.ndarray,
    *,
    opacity: float = 0.6,
    colormap: int = cv2.COLORMAP_JET,
    floor: float = HEATMAP_FLOOR,
) -> np.ndarray:
    """Colour map over the greyscale image, as uint8 BGR (rows, cols, 3) for ``cv2.imwrite``.

    ``grey``: (rows, cols) float in 0..1; ``heatmap``: same shape, 0..1. Each pixel's colour
    weight is ``opacity × heatmap`` where the heatmap reaches ``floor`` and 0 below it (as in
    the viewer), so where the heatmap is cold the radiograph shows unchanged.
    """
    if grey.shape != heatmap.shape:
        raise ValueError(f"image {grey.shape} and heatmap {heatmap.shape} differ in shape")
    grey8 = np.clip(np.rint(np.asarray(grey, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    base = cv2.cvtColor(grey8, cv2.COLOR_GRAY2BGR).astype(np.float32)
    h = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    colour = cv2.applyColorMap(np.rint(h * 255.0).astype(np.uint8), colormap).astype(np.float32)
    alpha = np.where(h >= np.float32(floor), np.float32(opacity) * h, np.float32(0.0))[:, :, None]
    out = base * (1.0 - alpha) + colour * alpha
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
