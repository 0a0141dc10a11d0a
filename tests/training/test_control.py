"""The pixel-free control: file-level features of real FracAtlas images, and a logistic
regression on them that must find what the flags give away."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import control
from training.data import Record


@pytest.fixture(scope="module")
def small_images(fracatlas: Path) -> list[Path]:
    """40 of the downsampled FracAtlas hand images (small files: quick to read)."""
    paths = sorted((fracatlas / "images").glob("*.jpg"))
    small = [p for p in paths if p.stat().st_size < 60_000][:40]
    assert len(small) == 40
    return small


def test_features_of_real_images(fracatlas: Path) -> None:
    wide = fracatlas / "images" / "IMG0000025.jpg"  # a full-size original, 2880x2304
    f = control.features(Record(wide, 1, view="frontal+oblique", hardware=1, multiscan=0))
    assert f.shape == (len(control.FEATURES),) and f.dtype == np.float64
    named = dict(zip(control.FEATURES, f, strict=True))
    assert named["log_width"] == pytest.approx(math.log(2880))
    assert named["log_height"] == pytest.approx(math.log(2304))
    assert named["aspect"] == pytest.approx(2880 / 2304) and named["landscape"] == 1.0
    assert named["log_file_size"] == pytest.approx(math.log(wide.stat().st_size))
    assert named["full_size"] == 1.0
    assert (named["frontal"], named["lateral"], named["oblique"]) == (1.0, 0.0, 1.0)
    assert (named["hardware"], named["multiscan"]) == (1.0, 0.0)
    small = next(
        p for p in sorted((fracatlas / "images").glob("*.jpg")) if p.stat().st_size < 30_000
    )
    r, c = cv2.imread(str(small), cv2.IMREAD_GRAYSCALE).shape
    g = dict(zip(control.FEATURES, control.features(Record(small, 0)), strict=True))
    assert g["log_width"] == pytest.approx(math.log(c)) and g["aspect"] == pytest.approx(c / r)
    assert g["full_size"] == float(max(r, c) > control.FULL_SIZE_PIXELS) == 0.0
    # unknown flags and views count as 0
    assert g["frontal"] == g["lateral"] == g["oblique"] == g["hardware"] == g["multiscan"] == 0.0


def _records(paths: list[Path], region: str | None = "hand", flip: bool = False) -> list[Record]:
    """Label = the multiscan flag (or its opposite with ``flip``)."""
    out = []
    for i, p in enumerate(paths):
        multi = i % 2
        out.append(Record(p, int(multi != flip), multiscan=multi, hardware=0, region=region))
    return out


def test_a_control_finds_a_label_that_the_flags_give_away(small_images: list[Path]) -> None:
    train = _records(small_images[:24])
    test = _records(small_images[24:])
    y = np.array([r.label for r in test])
    # a model that ranks backwards does not beat the control
    bad = control.compare_with_control(train, test, -y.astype(float) + 0.01 * np.arange(len(y)))
    assert {
        "control",
        "control_test_auroc",
        "model_minus_control",
        "model_beats_control",
        "scores",
    } <= set(bad)
    assert bad["control_test_auroc"]["auc"] == pytest.approx(1.0)
    assert bad["model_beats_control"] is False
    assert bad["model_minus_control"]["difference"] < 0
    assert {"ci_low", "ci_high", "p_value", "difference"} <= set(bad["model_minus_control"])
    assert {"auc", "ci_low", "ci_high"} <= set(bad["control_test_auroc"])
    scores = bad["scores"]
    assert scores.shape == (len(test),) and np.all(scores[y == 1] > scores[y == 0])
    coefs = bad["control"]["coefficients_standardised"]
    assert bad["control"]["features"] == list(control.FEATURES) and bad["control"]["n_train"] == 24
    assert coefs["multiscan"] > 1.0 and coefs["multiscan"] == max(coefs.values())


def test_a_model_beats_an_uninformative_control(small_images: list[Path]) -> None:
    rng = np.random.default_rng(2)
    labels = rng.permutation([0, 1] * 20)
    recs = [Record(p, int(v), region="hand") for p, v in zip(small_images, labels, strict=True)]
    train, test = recs[:24], recs[24:]
    y = np.array([r.label for r in test], dtype=float)
    result = control.compare_with_control(train, test, y + 0.01 * np.arange(len(y)))
    assert result["model_beats_control"] is True
    assert result["control_test_auroc"]["auc"] < 0.9
    assert result["model_minus_control"]["difference"] > 0


def test_the_control_is_fitted_on_hand_images_only(small_images: list[Path]) -> None:
    """Extra regions whose flags say the opposite are ignored when hand images are present."""
    hand = _records(small_images[:12])
    legs = _records(small_images[12:40], region="leg", flip=True)
    fitted = control.fit_control([*hand, *legs])
    assert fitted.n_train == 12
    x = control.feature_matrix(hand)
    assert np.all(fitted.score(x)[1::2] > fitted.score(x)[0::2])  # multiscan -> fracture
    everything = control.fit_control(
        [*_records(small_images[:12], region=None), *_records(small_images[12:40], None, True)]
    )
    assert everything.n_train == 40  # no regions: all records
    assert everything.to_dict()["coefficients_standardised"]["multiscan"] < 0  # the majority wins
    assert control.feature_matrix([]).shape == (0, len(control.FEATURES))
