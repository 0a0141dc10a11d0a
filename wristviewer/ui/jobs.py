"""The slow jobs the viewer runs in workers: reading, CLAHE, finding, installing and running
models, DICOM tags. Plain functions (no Qt); torch is imported inside them only, so the window
appears fast. The main window and the teaching window both run :func:`predict_job`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wristviewer.ai.card import ModelCard
from wristviewer.imaging import ClaheSettings, Radiograph, SkippedFile, Study, apply_clahe
from wristviewer.ui.workers import JobCancelled

if TYPE_CHECKING:  # the jobs import these in their worker; torch stays out of start-up
    from wristviewer.ai.predictor import Predictor
    from wristviewer.ai.registry import InstallResult
    from wristviewer.ai.results import StudyPrediction


def load_job(
    paths: list[str], one_study: bool = False
) -> Generator[float, None, tuple[list[Study], list[SkippedFile]]]:
    """Read and sort ``paths`` into studies (files and folders, recursively), yielding progress
    so the window can show it and cancel a large folder. Returns (studies, skipped files).

    ``one_study``: the user opened the plain images as one study (one per folder); by default
    each PNG/JPEG is a study of its own (:mod:`wristviewer.imaging.studies`)."""
    from wristviewer.imaging.studies import iter_load_studies

    return (yield from iter_load_studies(paths, plain_images_by_folder=one_study))


def clahe_job(
    radiographs: list[Radiograph], settings: ClaheSettings
) -> Generator[float, None, tuple[ClaheSettings, dict[Path, np.ndarray], float]]:
    """CLAHE of each radiograph; yields progress between views (cancel points).

    Returns (settings, {path: float32 (rows, cols) in 0..1}, seconds spent).
    """
    start = time.perf_counter()
    out: dict[Path, np.ndarray] = {}
    for i, r in enumerate(radiographs):
        out[Path(r.path)] = apply_clahe(r.pixels, settings, r.bits_stored)
        yield (i + 1) / max(len(radiographs), 1)
    return settings, out, time.perf_counter() - start


def find_models_job() -> tuple[list[str], dict[str, ModelCard], list[str]]:
    """Installed bundles: the model choices offered, the card the registry will prefer for
    each architecture, and a sentence per unusable file. The installed bundles may have
    changed, so the loaded models are forgotten."""
    from wristviewer.ai.predictor import clear_model_cache
    from wristviewer.ai.registry import find_bundles, model_choices, preferred_cards
    from wristviewer.text import printable

    entries = find_bundles()
    problems = [
        f"{printable(e.path)}: unusable: {printable(e.error or '')}"
        for e in entries
        if e.card is None
    ]
    cards = preferred_cards(entries)
    clear_model_cache()
    return model_choices(cards), cards, problems


def install_job(path: str) -> InstallResult:
    """Install a bundle; returns the registry's ``InstallResult``."""
    from wristviewer.ai.registry import install_bundle

    return install_bundle(path)


#: the stages of an AI run, in order: :func:`predict_job` reports the first when the model
#: has to be read and loaded, ``Predictor.predict_study`` the others (``running`` and
#: ``heatmaps`` once per model of an ensemble)
STAGE_LOADING = "loading model"
STAGES = (STAGE_LOADING, "preparing views", "running", "heatmaps")


def preload_job(spec: str, device: str) -> Predictor:
    """Read and load the model choice ``spec`` on ``device`` into the AI layer's one model
    cache (torch imported here, in the worker), so that a run finds it there and only the
    forward pass is left."""
    from wristviewer.ai.predictor import MODEL_CACHE

    return MODEL_CACHE.predictor(spec, device)


def predict_job(
    spec: str,
    device: str,
    study: Study,
    *,
    progress: Callable[[float | str], None],
    cancelled: Callable[[], bool],
) -> tuple[Predictor, list[ModelCard], StudyPrediction]:
    """Load (or reuse) the predictor for ``spec`` on ``device`` and analyse ``study``.

    The models come from the AI layer's one model cache (``MODEL_CACHE``: one model set in
    memory at a time). Returns (predictor, model cards, prediction). ``progress`` gets the
    stage names of :data:`STAGES` as they start (``loading model`` only when the model is not
    in the cache yet) and the fraction done of the prediction; ``cancelled`` is checked
    between stages.
    """
    from wristviewer.ai.predictor import MODEL_CACHE, PredictionCancelled

    if not MODEL_CACHE.ready(spec, device):
        progress(STAGE_LOADING)
    predictor = MODEL_CACHE.predictor(spec, device)
    cards = predictor.cards
    if cancelled():
        raise JobCancelled("inference")
    try:
        prediction = predictor.predict_study(
            study, progress=progress, cancelled=cancelled, stage=progress
        )
    except PredictionCancelled as exc:
        raise JobCancelled("inference") from exc
    return predictor, cards, prediction


def tags_job(path: Path) -> list[Any]:
    """The DICOM header of ``path`` as rows for the tags dialog."""
    from wristviewer.imaging import read_dicom_tags

    return read_dicom_tags(path)
