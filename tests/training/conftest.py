"""Shared fixtures for the training tests: a tiny folder-per-class data set of real PNGs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def make_png_dataset(
    root: Path, n_per_class: int = 8, size: tuple[int, int] = (48, 40), seed: int = 0
) -> Path:
    """``root/fracture/*.png`` (a bright diagonal 'line') and ``root/normal/*.png`` (noise only)."""
    rng = np.random.default_rng(seed)
    for label, folder in ((1, "fracture"), (0, "normal")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            img = rng.integers(40, 120, size=size, dtype=np.uint8)
            if label:
                cv2.line(img, (2, 2 + i), (size[1] - 3, size[0] - 3), 250, 2)
            assert cv2.imwrite(str(root / folder / f"{folder}{i:02d}.png"), img)
    return root


@pytest.fixture
def png_dataset(tmp_path: Path) -> Path:
    return make_png_dataset(tmp_path / "data")
