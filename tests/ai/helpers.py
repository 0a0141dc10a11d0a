"""Helpers shared by the AI tests: synthetic radiographs and studies."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_radiograph(
    rows: int, cols: int, seed: int = 0, name: str = "view.png", view: str = "unknown"
):
    """A synthetic 8-bit radiograph: smooth 'bone' blobs on a dark background, with noise."""
    from wristviewer.imaging.radiograph import Radiograph, View

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    img = np.zeros((rows, cols), np.float32)
    for _ in range(4):
        cy, cx = rng.uniform(0, rows), rng.uniform(0, cols)
        sy, sx = rng.uniform(rows / 12, rows / 4), rng.uniform(cols / 12, cols / 4)
        img += np.exp(-(((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))
    img = np.clip(img / img.max() * 0.8 + rng.normal(0, 0.03, img.shape).astype(np.float32), 0, 1)
    pixels = (np.rint(img * 255) / 255).astype(np.float32)
    return Radiograph(
        pixels=pixels,
        path=Path("/synthetic") / name,
        format="PNG",
        bits_stored=8,
        photometric="MONOCHROME2",
        view=View(view),
    )


def make_study(shapes: list[tuple[int, int]], study_id: str = "study-1"):
    """A Study of synthetic radiographs with the given (rows, cols)."""
    from wristviewer.imaging.radiograph import Study

    views = [make_radiograph(r, c, seed=i, name=f"v{i}.png") for i, (r, c) in enumerate(shapes)]
    return Study(study_id, views)
