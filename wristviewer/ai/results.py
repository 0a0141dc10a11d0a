"""What the :class:`~wristviewer.ai.predictor.Predictor` returns: per-view and per-study results.

torch-free (a contract in pyproject.toml keeps it so): the workflow and the window use these
types without loading torch. numpy arrays hold the heatmaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wristviewer.imaging.radiograph import View


@dataclass
class ViewPrediction:
    """One view's result.

    ``fracture_probability``: calibrated, 0..1. ``heatmap``: float32 (rows, cols) — the
    radiograph's own pixel geometry — in 0..1 on the card's fixed ``heatmap_scale``.
    ``member_probabilities``: each model's calibrated probability, by model name.
    ``heatmap_peak``: (x, y) of the raw CAM's maximum in the radiograph's own pixel
    coordinates (before any display rotation); for an ensemble, the peak of the first model.
    """

    path: Path
    view: View
    fracture_probability: float
    heatmap: np.ndarray
    member_probabilities: dict[str, float] = field(default_factory=dict)
    heatmap_peak: tuple[float, float] | None = None


@dataclass
class StudyPrediction:
    """One study's result: ``suspected`` is ``fracture_probability >= threshold``.

    ``models``: the names of the bundles that ran; ``untrained``: True when any of them is an
    untrained (random-weight) bundle, whose results are meaningless. ``seconds``:
    ``preprocess``, ``inference`` (forward passes and CAMs) and ``heatmaps`` (mapping onto
    the radiographs) for this study.
    """

    study_id: str
    fracture_probability: float
    threshold: float
    suspected: bool
    views: list[ViewPrediction]
    models: list[str]
    aggregation: str = "max"
    untrained: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
