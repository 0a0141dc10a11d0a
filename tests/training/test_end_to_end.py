"""fit -> evaluate -> compare -> export -> the viewer's predictor, on a small FracAtlas subset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import cli


def test_fit_evaluate_export_predict(
    tmp_path: Path, fracatlas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    flags = [
        "--arch", "densenet161", "--init", "none", "--input-width", "64", "--input-height", "80",
        "--limit", "28", "--test-fraction", "0.3", "--tuning-fraction", "0.3", "--epochs", "2",
        "--workers", "0", "--no-progress", "--no-tensorboard", "--seed", "1",
        "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    assert cli.main(["fit", "--data", str(fracatlas), "--out", str(run), *flags]) == 0
    assert cli.main(["evaluate", str(run), "--no-progress", "--gallery", "2"]) == 0
    ev_dir = run / "evaluation"
    ev = json.loads((ev_dir / "evaluation.json").read_text())
    assert (
        0.0
        <= ev["test_auroc"]["ci_low"]
        <= ev["test_auroc"]["auc"]
        <= ev["test_auroc"]["ci_high"]
        <= 1.0
    )
    assert ev["temperature"] > 0 and ev["heatmap_scale"] > 0
    assert [p["name"] for p in ev["operating_points"]] == [
        "youden",
        "high_sensitivity",
        "high_specificity",
    ]
    assert ev["split"]["may_leak"] and "no patient ID" in ev["split"]["warnings"][0]
    # the pointing game on the tuning fractures too (what a recipe choice is judged by)
    tp = ev["tuning_pointing_game"]
    assert 0 <= tp["hits"] <= tp["n"] <= ev["data"]["tuning"]["fracture"]
    n_test = ev["data"]["test"]["images"]
    for m in ev["test_at_operating_points"].values():
        c = m["confusion"]
        assert c["tp"] + c["fp"] + c["tn"] + c["fn"] == n_test
    report = (ev_dir / "report.md").read_text()
    assert "Test AUROC" in report and "no patient ID" in report
    for fig in ("roc.png", "reliability.png", "confusion.png"):
        img = cv2.imread(str(ev_dir / fig))
        assert img is not None and img.shape[2] == 3 and img.std() > 10, fig
    for g in ev["gallery"]:
        assert cv2.imread(str(ev_dir / g)) is not None
    with (ev_dir / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["split"] == "test" for r in rows) == n_test

    # A model compared with itself: no difference.
    assert cli.main(["compare", str(ev_dir), str(ev_dir), "--out", str(tmp_path / "cmp")]) == 0
    cmp = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert cmp["difference"] == 0.0 and cmp["p_value"] == 1.0

    bundle = tmp_path / "wrist-test.safetensors"
    assert cli.main(["export", str(run), "--out", str(bundle), "--name", "wrist-test"]) == 0
    from wristviewer.ai.bundle import load_bundle

    b = load_bundle(bundle)
    assert b.card.name == "wrist-test" and not b.card.untrained
    assert b.card.recipe.input_width == 64 and b.card.recipe.input_height == 80
    # Platt scaling from the tuning set travels in the card; weights are stored in float16.
    assert b.card.platt_slope == pytest.approx(ev["calibration"]["slope"])
    assert b.card.platt_offset == pytest.approx(ev["calibration"]["offset"])
    assert b.card.temperature == 1.0
    assert {str(t.dtype) for t in b.state_dict.values() if t.is_floating_point()} == {
        "torch.float16"
    }
    assert b.card.training_data["init"] == "none"
    assert b.card.training_data["epochs_run"] == 2
    assert "no patient IDs" in b.card.training_data["caveats"]
    assert "control" in b.card.metrics and "pointing_game" in b.card.metrics
    assert b.card.threshold == pytest.approx(ev["operating_points"][0]["threshold"])
    assert b.card.metrics["auroc"]["value"] == pytest.approx(ev["test_auroc"]["auc"])

    # The viewer's predictor on one test image gives the evaluation's calibrated probability.
    from wristviewer.ai.predictor import Predictor
    from wristviewer.imaging import Study, read

    test_row = next(r for r in rows if r["split"] == "test")
    study = Study(id="s", views=[read(test_row["path"])])
    pred = Predictor([b], device="cpu", precision="fp32").predict_study(study)
    # (float16 storage moves the probability by far less than this)
    assert pred.views[0].fracture_probability == pytest.approx(
        float(test_row["probability"]), abs=2e-3
    )
    heat = pred.views[0].heatmap
    assert (
        heat.shape == study.views[0].pixels.shape
        and 0.0 <= float(np.min(heat)) <= float(np.max(heat)) <= 1.0
    )

    untrained = tmp_path / "untrained.safetensors"
    assert (
        cli.main(["export", "--random-init", "--arch", "resnet152", "--out", str(untrained)]) == 0
    )
    assert load_bundle(untrained).card.untrained

    from wristviewer.cli import SUBCOMMANDS

    if "predict" in SUBCOMMANDS:
        from wristviewer.cli import main as viewer_main

        capsys.readouterr()
        status = viewer_main(["predict", "--model", str(bundle), test_row["path"]])
        assert status == 0, capsys.readouterr()
