"""Export details that need no fit run (the whole fit -> export path is in test_end_to_end)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from training.export import default_model_name


def test_default_name_does_not_repeat_the_architecture(tmp_path: Path) -> None:
    assert default_model_name("densenet161", tmp_path / "densenet161") == "densenet161"
    assert default_model_name("resnet152", tmp_path / "ResNet152-fold2") == "ResNet152-fold2"
    assert default_model_name("resnet152", tmp_path / "run7") == "resnet152-run7"


def test_default_name_of_a_run_given_as_dot(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "run3").mkdir()
    monkeypatch.chdir(tmp_path / "run3")
    assert default_model_name("densenet161", Path(".")) == "densenet161-run3"


# --------------------------------------------------------------------------- refusals and the card


def _metric(value: float) -> dict:
    return {"value": value, "ci_low": value - 0.1, "ci_high": min(1.0, value + 0.1), "total": 10}


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run folder as fit leaves it (best.pt, config.json, run_info.json, metrics.csv) and an
    evaluation.json as evaluate writes it, without training: zero weights built on the meta
    device (nothing is ever run through them). Returns (run, the weights' sha256)."""
    from training.config import FitConfig
    from wristviewer.ai.architectures import build_model
    from wristviewer.ai.bundle import weights_sha256

    run = tmp_path_factory.mktemp("runs") / "scratch"
    run.mkdir()
    with torch.device("meta"):
        model = build_model("densenet161")
    state = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in model.state_dict().items()}
    for k, v in state.items():
        if k.endswith("running_var"):
            v.fill_(1.0)
    cfg = FitConfig(
        data="/somewhere/fracatlas-hand",
        extra_data="/somewhere/fracatlas-other",
        out=str(run),
        init="/home/someone/private/weights.pt",
        input_width=64,
        input_height=80,
        resize="pad",
    )
    torch.save(
        {"model": state, "arch": "densenet161", "recipe": cfg.recipe_dict(), "epoch": 2},
        run / "best.pt",
    )
    (run / "config.json").write_text(json.dumps(cfg.to_dict()))
    (run / "run_info.json").write_text(
        json.dumps({"code_commit": "abc123", "training_by_region": {"hand": {"images": 3}}})
    )
    (run / "metrics.csv").write_text("epoch,lr\n1,0.001\n2,0.0005\n")
    sha = weights_sha256(state)
    ops = [
        {"name": n, "threshold": t, "sensitivity": 0.8, "specificity": 0.7}
        for n, t in (("youden", 0.5), ("high_sensitivity", 0.3), ("high_specificity", 0.7))
    ]
    metrics = {k: _metric(0.7) for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")}
    ev = {
        "model": str(run / "best.pt"),
        "arch": "densenet161",
        "epoch": 2,
        "weights_sha256": sha,
        "recipe": cfg.recipe_dict(),
        "test_auroc": {"auc": 0.8, "ci_low": 0.7, "ci_high": 0.9, "ci_method": "logit"},
        "tuning_auroc": {"auc": 0.75},
        "temperature": 1.5,
        "calibration": {"method": "platt", "slope": 0.6, "offset": -0.4},
        "control": {
            "control_test_auroc": {"auc": 0.7, "ci_low": 0.6, "ci_high": 0.8},
            "model_minus_control": {
                "difference": 0.1,
                "ci_low": 0.0,
                "ci_high": 0.2,
                "p_value": 0.04,
            },
            "model_beats_control": True,
        },
        "pointing_game": {"hits": 2, "n": 4, "hit_rate": 0.5},
        "ece_test": {"uncalibrated": 0.2, "calibrated": 0.1},
        "heatmap_scale": 0.25,
        "operating_points": ops,
        "test_at_operating_points": {op["name"]: metrics for op in ops},
        "split": {"method": "patient", "may_leak": True},
        "data": {"tuning": {"images": 4}, "test": {"images": 4}},
    }
    (run / "evaluation").mkdir()
    (run / "evaluation" / "evaluation.json").write_text(json.dumps(ev))
    return run, sha


def _with_evaluation(fake_run: tuple[Path, str], tmp_path: Path, **changes: object) -> Path:
    """A copy of the fake run (best.pt linked, not copied) with evaluation.json changed."""
    run, _ = fake_run
    copy = tmp_path / "run"
    copy.mkdir(parents=True)
    for f in run.iterdir():
        if f.is_file():
            (copy / f.name).symlink_to(f)
    ev = json.loads((run / "evaluation" / "evaluation.json").read_text())
    for key, value in changes.items():
        target = ev
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    (copy / "evaluation").mkdir()
    (copy / "evaluation" / "evaluation.json").write_text(json.dumps(ev))
    return copy


def test_export_refuses_an_evaluation_of_other_weights(
    fake_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training import cli

    stale = _with_evaluation(fake_run, tmp_path, weights_sha256="0" * 64, epoch=1)
    out = tmp_path / "never.safetensors"
    assert cli.main(["export", str(stale), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not computed from the weights being exported" in err
    assert "evaluated epoch 1, exporting epoch 2" in err and "evaluate' again" in err
    assert "Traceback" not in err and not out.exists()


def test_export_refuses_a_model_that_does_not_beat_the_control(
    fake_run: tuple[Path, str], tmp_path: Path
) -> None:
    from training.export import export_run
    from training.fit import FitError
    from wristviewer.ai.bundle import load_bundle

    run = _with_evaluation(fake_run, tmp_path, control__model_beats_control=False)
    out = tmp_path / "b.safetensors"
    with pytest.raises(FitError, match=r"does not beat the pixel-free control \(0\.700\)"):
        export_run(run, out, device="cpu")
    assert not out.exists()
    path = export_run(run, out, device="cpu", allow_no_better_than_control=True, name="dev")
    card = load_bundle(path).card
    assert card.name == "dev" and card.metrics["control"]["auroc"]["value"] == 0.7
    no_control = _with_evaluation(fake_run, tmp_path / "x", control=None)
    with pytest.raises(FitError, match="no pixel-free control"):
        export_run(no_control, tmp_path / "c.safetensors", device="cpu")


def test_exported_card_never_holds_a_local_path(fake_run: tuple[Path, str], tmp_path: Path) -> None:
    from training.export import export_run
    from wristviewer.ai.bundle import load_bundle

    run, sha = fake_run
    bundle = load_bundle(export_run(run, tmp_path / "ok.safetensors", device="cpu"))
    td = bundle.card.training_data
    assert td["init"] == "a weights file"
    text = json.dumps(bundle.card.to_dict())
    assert "/home/someone" not in text and "/somewhere" not in text and str(run) not in text
    assert td["source"] == ["fracatlas-hand", "fracatlas-other"]
    assert td["code_commit"] == "abc123" and td["epochs_run"] == 2
    assert td["training_by_region"] == {"hand": {"images": 3}}
    assert td["weights_dtype"] == "float16"
    assert "init" not in td["hyperparameters"] and "out" not in td["hyperparameters"]
    assert td["hyperparameters"]["resize"] == "pad"
    card = bundle.card
    assert (card.platt_slope, card.platt_offset, card.temperature) == (0.6, -0.4, 1.0)
    assert card.recipe.resize == "pad" and card.recipe.input_size == (64, 80)
    assert bundle.state_dict["classifier.weight"].dtype == torch.float16
    assert bundle.card.metrics["pointing_game"]["hit_rate"] == 0.5


def test_undefined_metrics_become_null_so_the_bundle_loads() -> None:
    """A PPV without positive calls or a degenerate interval is NaN in the evaluation; the
    card must carry null instead, because the viewer refuses non-finite card numbers."""
    import math

    from training.export import _defined, _metrics

    interval = {"value": math.nan, "ci_low": math.nan, "ci_high": math.inf, "total": 0}
    ev = {
        "test_auroc": {"auc": 0.5, "ci_low": math.nan, "ci_high": 1.0, "ci_method": "logit"},
        "tuning_auroc": {"auc": math.nan},
        "ece_test": 0.1,
        "test_at_operating_points": {
            "youden": {
                k: interval for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")
            }
        },
    }
    metrics = _metrics(ev)
    assert metrics["auroc"]["ci95"] == [None, 1.0] and metrics["tuning_auroc"]["value"] is None
    assert metrics["youden"]["ppv"] == {"value": None, "ci95": [None, None], "n": 0}
    assert _defined((1.0, -math.inf)) == [1.0, None]
