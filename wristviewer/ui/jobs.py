"""The slow jobs the viewer runs in workers: reading, CLAHE, finding, installing and running
models, DICOM tags. Plain functions (no Qt); torch is imported inside them only, so the window
appears fast. The main window and the teaching window both run :func:`predict_job`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from wristviewer.imaging import ClaheSettings, Radiograph, SkippedFile, Study, apply_clahe
from wristviewer.paths import bundled_models_dir, user_models_dir
from wristviewer.ui.workers import JobCancelled

BUNDLE_SUFFIX = ".safetensors"


def bundle_files_present() -> bool:
    """Whether any bundle file exists (a cheap look that needs no torch)."""
    for folder in (bundled_models_dir(), user_models_dir()):
        if folder.is_dir() and any(folder.glob(f"*{BUNDLE_SUFFIX}")):
            return True
    return False


def load_job(paths: list[str]) -> Iterator[float | tuple[list[Study], list[SkippedFile]]]:
    """Read and sort ``paths`` into studies (files and folders, recursively), yielding progress
    so the window can show it and cancel a large folder. Returns (studies, skipped files)."""
    from wristviewer.imaging.studies import iter_load_studies

    return (yield from iter_load_studies(paths))


def clahe_job(
    radiographs: list[Radiograph], settings: ClaheSettings
) -> Iterator[float | tuple[ClaheSettings, dict[Path, np.ndarray], float]]:
    """CLAHE of each radiograph; yields progress between views (cancel points).

    Returns (settings, {path: float32 (rows, cols) in 0..1}, seconds spent).
    """
    start = time.perf_counter()
    out: dict[Path, np.ndarray] = {}
    for i, r in enumerate(radiographs):
        out[Path(r.path)] = apply_clahe(r.pixels, settings, r.bits_stored)
        yield (i + 1) / max(len(radiographs), 1)
    return settings, out, time.perf_counter() - start


def find_models_job() -> tuple[list[str], dict[str, Any], list[str]]:
    """Installed bundles: the model choices offered, the card the registry will prefer for
    each architecture (trained over untrained), and a sentence per unusable file."""
    from wristviewer.ai.registry import find_bundles
    from wristviewer.text import printable

    cards: dict[str, Any] = {}
    problems: list[str] = []
    for entry in find_bundles():
        card = entry.card
        if card is None:
            problems.append(f"{printable(entry.path)}: unusable: {printable(entry.error or '')}")
            continue
        best = cards.get(card.arch)
        if best is None or (best.untrained and not card.untrained):
            cards[card.arch] = card
    specs = [arch for arch in ("densenet161", "resnet152") if arch in cards]
    if len(specs) == 2:
        specs.append("ensemble")
    return specs, cards, problems


def install_job(path: str) -> Any:
    """Install a bundle; returns the registry's ``InstallResult``."""
    from wristviewer.ai.registry import install_bundle

    return install_bundle(path)


def predict_job(
    cache: dict[tuple[str, str], Any],
    spec: str,
    device: str,
    study: Study,
    *,
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
) -> tuple[Any, list[Any], Any]:
    """Load (or reuse) the predictor for ``spec`` on ``device`` and analyse ``study``.

    Returns (predictor, model cards, StudyPrediction). The first 10 % of progress is loading.
    """
    from wristviewer.ai.predictor import PredictionCancelled, Predictor
    from wristviewer.ai.registry import resolve_models

    key = (spec, device)
    loaded = cache.get(key)
    if loaded is None:
        progress(0.02)
        bundles = resolve_models(spec)
        loaded = (Predictor(bundles, device=device), [b.card for b in bundles])
        cache.clear()  # one model set in memory at a time
        cache[key] = loaded
    predictor, cards = loaded
    if cancelled():
        raise JobCancelled("inference")
    progress(0.1)
    try:
        prediction = predictor.predict_study(
            study, progress=lambda f: progress(0.1 + 0.9 * f), cancelled=cancelled
        )
    except PredictionCancelled as exc:
        raise JobCancelled("inference") from exc
    return predictor, cards, prediction


def tags_job(path: Path) -> list[Any]:
    """The DICOM header of ``path`` as rows for the tags dialog."""
    from wristviewer.imaging import read_dicom_tags

    return read_dicom_tags(path)
