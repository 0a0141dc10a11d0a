"""The pixel-free control: what a network could learn without reading bone.

A logistic regression on what an image *file* says about itself — its width, height and
orientation, its file size, whether it is a full-size original, the view flags, whether metal
hardware is visible and whether several views share the image (the data set's own flags) —
fitted on the training part and scored on the same test images as the model. In FracAtlas
these alone rank fractures well above chance (fractured cases are more often full-size
files, with hardware, with several views), so a model must beat this control before its
AUROC means that it reads radiographs. Reported beside every model; a model that does not
beat it is not shipped.

Features are standardised on the training part; the penalty is fixed (``L2``), never tuned on
the test part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training import stats as st
from training.data import Record

FEATURES: tuple[str, ...] = (
    "log_width",
    "log_height",
    "aspect",
    "landscape",
    "log_file_size",
    "full_size",
    "frontal",
    "lateral",
    "oblique",
    "hardware",
    "multiscan",
)

#: the ridge penalty of the control (on standardised features); fixed, not tuned
L2 = 1.0

#: a side longer than this many pixels marks a full-size original (FracAtlas ships most images
#: downsampled to about 373×454 and about one in twelve at full size, e.g. 2304×2880)
FULL_SIZE_PIXELS = 1000


def features(record: Record) -> np.ndarray:
    """The control's feature vector of one image (:data:`FEATURES`), from the file's header
    and size and the record's flags (unknown flags count as 0)."""
    from wristviewer.imaging import read

    radiograph = read(record.path)
    cols, rows = radiograph.cols, radiograph.rows
    size = record.path.stat().st_size
    views = set((record.view or "").split("+"))
    return np.array(
        [
            math.log(cols),
            math.log(rows),
            cols / rows,
            float(cols > rows),
            math.log(max(size, 1)),
            float(max(cols, rows) > FULL_SIZE_PIXELS),
            float("frontal" in views),
            float("lateral" in views),
            float("oblique" in views),
            float(record.hardware or 0),
            float(record.multiscan or 0),
        ],
        dtype=np.float64,
    )


@dataclass
class Control:
    """A fitted control: standardisation and coefficients (intercept first)."""

    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    n_train: int

    def score(self, x: np.ndarray) -> np.ndarray:
        """The control's logit for each row of a feature matrix."""
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        return self.coef[0] + z @ self.coef[1:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "l2": L2,
            "n_train": self.n_train,
            "coefficients_standardised": {
                "intercept": float(self.coef[0]),
                **{f: float(c) for f, c in zip(FEATURES, self.coef[1:], strict=True)},
            },
        }


def feature_matrix(records: Sequence[Record]) -> np.ndarray:
    return np.stack([features(r) for r in records]) if records else np.zeros((0, len(FEATURES)))


def _readable(records: Sequence[Record]) -> tuple[list[Record], np.ndarray]:
    from wristviewer.imaging import ImagingError

    kept, rows = [], []
    for r in records:
        try:
            rows.append(features(r))
        except (ImagingError, OSError):
            continue  # the model skipped it too (training lists it in skipped.csv)
        kept.append(r)
    return kept, (np.stack(rows) if rows else np.zeros((0, len(FEATURES))))


def fit_control(records: Sequence[Record]) -> Control:
    """Fit on training records. When they carry regions, only the ``hand`` ones are used:
    the control gets the test population's own images (its strongest form). Unreadable
    images are left out, as training leaves them out."""
    hand = [r for r in records if r.region == "hand"]
    train, x = _readable(hand or list(records))
    y = np.array([r.label for r in train], dtype=np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    coef = st.logistic_regression((x - mean) / std, y, l2=L2)
    return Control(mean, std, coef, len(train))


def compare_with_control(
    train: Sequence[Record],
    test: Sequence[Record],
    model_scores: np.ndarray,
    ci_method: str = "logit",
) -> dict[str, Any]:
    """The control fitted on ``train`` and scored on ``test``, beside the model's test scores
    (same images, same order): both AUROCs with DeLong CIs and the paired DeLong test."""
    control = fit_control(train)
    scores = control.score(feature_matrix(test))
    y = np.array([r.label for r in test])
    auc = st.auroc_ci(y, scores, method=ci_method)
    test_result = st.delong_test(y, np.asarray(model_scores, dtype=np.float64), scores)
    return {
        "control": control.to_dict(),
        "control_test_auroc": auc.to_dict(),
        "model_minus_control": test_result.to_dict(),
        "model_beats_control": bool(test_result.difference > 0),
        "scores": scores,
    }
