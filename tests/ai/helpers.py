"""Helpers shared by the AI tests: synthetic radiographs and studies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def rewrite_header(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Copy a safetensors file with its JSON header edited in place (data bytes unchanged)."""
    raw = src.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    dst.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n :])


def edit_card(src: Path, dst: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    """Copy a bundle with its card JSON edited and the card checksum recomputed, so the check
    under test is reached. ``edit`` changes the dict in place, or returns the new card text."""
    from wristviewer.ai.bundle import CARD_KEY, CARD_SHA_KEY

    def rewrite(header: dict[str, Any]) -> None:
        card = json.loads(header["__metadata__"][CARD_KEY])
        text = edit(card) or json.dumps(card, sort_keys=True)
        header["__metadata__"][CARD_KEY] = text
        header["__metadata__"][CARD_SHA_KEY] = hashlib.sha256(text.encode()).hexdigest()

    rewrite_header(src, dst, rewrite)
