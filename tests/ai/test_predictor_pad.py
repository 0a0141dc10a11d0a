"""The predictor and ``predict`` follow the card: a non-default input size, aspect-kept padding,
Platt calibration, float16 storage; each view's heatmap peak in the image's own pixels."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.ai.helpers import make_radiograph
from wristviewer.ai.bundle import BundleError, load_bundle, save_bundle
from wristviewer.ai.card import ModelCard
from wristviewer.ai.predictor import Predictor
from wristviewer.ai.recipe import Recipe, preprocess
from wristviewer.imaging import read
from wristviewer.imaging.radiograph import Radiograph, Study

RECIPE = Recipe(input_width=96, input_height=128, resize="pad")
SLOPE, OFFSET, TEMPERATURE = 0.7, -0.3, 1.25


@pytest.fixture(scope="module")
def pad_bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight DenseNet at 96x128 with padding and a Platt-calibrated card."""
    from wristviewer.ai.bundle import create_untrained_bundle

    folder = tmp_path_factory.mktemp("pad-bundle")
    raw = load_bundle(
        create_untrained_bundle("densenet161", folder / "raw.safetensors", recipe=RECIPE, seed=5)
    )
    card = dataclasses.replace(
        raw.card,
        name="pad-platt",
        temperature=TEMPERATURE,
        platt_slope=SLOPE,
        platt_offset=OFFSET,
    )
    return save_bundle(folder / "pad-platt.safetensors", raw.state_dict, card)


@pytest.fixture(scope="module")
def pad_bundle(pad_bundle_path: Path):  # -> ModelBundle
    return load_bundle(pad_bundle_path)


def _blob_image(cols: int, rows: int, cx: int, cy: int, name: str = "blob.png") -> Radiograph:
    """Dark 8-bit image with one bright disc (radius 15) centred at (cx, cy)."""
    img = np.full((rows, cols), 25, np.uint8)
    cv2.circle(img, (cx, cy), 15, 230, thickness=-1)
    return Radiograph(
        pixels=img.astype(np.float32) / 255.0,
        path=Path("/synthetic") / name,
        format="PNG",
        bits_stored=8,
        photometric="MONOCHROME2",
    )


def test_probability_is_a_manual_forward_with_the_cards_calibration(
    pad_bundle, fracatlas: Path
) -> None:
    views = [read(fracatlas / "images" / "IMG0000016.jpg"), make_radiograph(200, 300, seed=4)]
    assert views[0].rows > views[0].cols  # one portrait (real), one landscape (synthetic)
    result = Predictor([pad_bundle], device="cpu", precision="fp32").predict_study(
        Study("s", views)
    )
    model = pad_bundle.build_model()
    x = torch.from_numpy(np.stack([preprocess(r, RECIPE) for r in views]))
    assert x.shape == (2, 3, 128, 96)
    with torch.inference_mode():
        logits = model(x).reshape(-1).double().numpy()
    expected = 1.0 / (1.0 + np.exp(-(SLOPE * logits / TEMPERATURE + OFFSET)))
    got = [v.fracture_probability for v in result.views]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # without Platt the numbers differ: the card's calibration is really applied
    assert not np.allclose(got, 1.0 / (1.0 + np.exp(-logits / TEMPERATURE)), atol=1e-3)
    for v, r in zip(result.views, views, strict=True):
        assert v.heatmap.shape == (r.rows, r.cols) and v.heatmap.dtype == np.float32
        assert 0.0 <= float(v.heatmap.min()) <= float(v.heatmap.max()) <= 1.0
        assert v.heatmap_peak is not None
        px, py = v.heatmap_peak
        assert 0.0 <= px <= r.cols - 1 and 0.0 <= py <= r.rows - 1


@pytest.mark.parametrize(
    ("cols", "rows", "cx", "cy"),
    [(300, 200, 220, 140), (200, 300, 60, 210)],
    ids=["landscape", "portrait"],
)
def test_heatmap_peak_lands_on_a_bright_blob(
    pad_bundle, monkeypatch: pytest.MonkeyPatch, cols: int, rows: int, cx: int, cy: int
) -> None:
    """A stand-in network whose CAM is the input's brightness (blurred, pooled 2x2): the peak
    must come back on the disc in the radiograph's own pixels, through the padding."""

    def brightness_forward(self, loaded, batch: np.ndarray):  # noqa: ANN001
        cams = []
        for image in batch[:, 0]:
            smooth = cv2.GaussianBlur(image, (0, 0), 3.0)
            h, w = smooth.shape
            cams.append(smooth.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))
        return np.zeros(len(batch), np.float32), np.stack(cams)

    monkeypatch.setattr(Predictor, "_forward", brightness_forward)
    image = _blob_image(cols, rows, cx, cy)
    result = Predictor([pad_bundle], device="cpu").predict_study(Study("b", [image]))
    x, y = result.views[0].heatmap_peak
    assert math.hypot(x - cx, y - cy) <= 6.0, (x, y)
    assert result.views[0].heatmap.shape == (rows, cols)


def test_predict_json_and_csv_carry_the_heatmap_peak(
    pad_bundle_path: Path, pad_bundle, fracatlas: Path, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    from wristviewer.cli import main

    folder = tmp_path / "study"
    folder.mkdir()
    real = folder / "IMG0000019.jpg"
    real.write_bytes((fracatlas / "images" / "IMG0000019.jpg").read_bytes())
    synthetic = folder / "wide.png"
    img = np.full((200, 300), 25, np.uint8)
    cv2.circle(img, (220, 140), 15, 230, thickness=-1)
    assert cv2.imwrite(str(synthetic), img)
    out_csv = tmp_path / "out.csv"
    code = main(
        ["predict", str(folder), "--model", str(pad_bundle_path), "--json", "--csv", str(out_csv)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    views = [v for s in doc["studies"] for v in s["views"]]
    assert sorted(Path(v["path"]).name for v in views) == ["IMG0000019.jpg", "wide.png"]
    radiographs = [read(v["path"]) for v in views]
    direct = Predictor([pad_bundle], device="cpu", precision="fp32").predict_study(
        Study("direct", radiographs)
    )
    for v, radiograph, expected in zip(views, radiographs, direct.views, strict=True):
        peak = v["heatmap_peak"]
        assert set(peak) == {"x", "y"}
        assert 0.0 <= peak["x"] <= radiograph.cols - 1 and 0.0 <= peak["y"] <= radiograph.rows - 1
        x, y = expected.heatmap_peak
        assert (peak["x"], peak["y"]) == (round(x, 1), round(y, 1))
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 2
    by_path = {v["path"]: v["heatmap_peak"] for v in views}
    for row in rows:
        peak = by_path[row["path"]]
        assert float(row["heatmap_peak_x"]) == peak["x"]
        assert float(row["heatmap_peak_y"]) == peak["y"]


# --------------------------------------------------------------------------- the card


def test_platt_fields_round_trip_and_default_for_old_cards(pad_bundle) -> None:
    card = pad_bundle.card
    assert (card.platt_slope, card.platt_offset, card.temperature) == (SLOPE, OFFSET, TEMPERATURE)
    assert card.recipe == RECIPE
    d = json.loads(json.dumps(card.to_dict()))
    assert d["platt_slope"] == SLOPE and d["platt_offset"] == OFFSET
    assert ModelCard.from_dict(d) == card
    old = {k: v for k, v in d.items() if k not in ("platt_slope", "platt_offset")}
    back = ModelCard.from_dict(old)
    assert back.platt_slope == 1.0 and back.platt_offset == 0.0
    with pytest.raises(KeyError, match="temperature"):
        ModelCard.from_dict({k: v for k, v in d.items() if k != "temperature"})


@pytest.mark.parametrize("slope", [0.0, -0.5, float("nan")])
def test_non_positive_platt_slope_is_refused(pad_bundle, tmp_path: Path, slope: float) -> None:
    card = dataclasses.replace(pad_bundle.card, platt_slope=slope)
    assert any("platt_slope must be a finite positive number" in p for p in card.problems())
    with pytest.raises(BundleError, match="platt_slope"):
        save_bundle(tmp_path / "bad.safetensors", pad_bundle.state_dict, card)
    assert dataclasses.replace(pad_bundle.card, platt_offset=-4.0).problems() == []


def test_float16_bundle_loads_and_builds_a_float32_model(pad_bundle, tmp_path: Path) -> None:
    half = {k: v.half() if v.is_floating_point() else v for k, v in pad_bundle.state_dict.items()}
    path = save_bundle(tmp_path / "half.safetensors", half, pad_bundle.card)
    loaded = load_bundle(path)
    assert loaded.state_dict["classifier.weight"].dtype == torch.float16
    model = loaded.build_model()
    dtypes = {p.dtype for p in model.parameters()} | {
        b.dtype for b in model.buffers() if b.is_floating_point()
    }
    assert dtypes == {torch.float32}
    assert model.features.norm0.num_batches_tracked.dtype == torch.int64
    torch.testing.assert_close(
        model.classifier.weight, pad_bundle.state_dict["classifier.weight"], atol=1e-3, rtol=1e-3
    )
    # the loaded bundle's own tensors are left as stored (the model got copies)
    assert loaded.state_dict["classifier.weight"].dtype == torch.float16
    image = make_radiograph(160, 120, seed=9)
    p16 = Predictor([loaded], device="cpu", precision="fp32").predict_study(Study("h", [image]))
    p32 = Predictor([pad_bundle], device="cpu", precision="fp32").predict_study(Study("f", [image]))
    assert p16.views[0].fracture_probability == pytest.approx(
        p32.views[0].fracture_probability, abs=2e-3
    )
