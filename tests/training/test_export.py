"""Export details that need no fit run (the whole fit -> export path is in test_end_to_end)."""

from __future__ import annotations

from pathlib import Path

from training.export import default_model_name


def test_default_name_does_not_repeat_the_architecture(tmp_path: Path) -> None:
    assert default_model_name("densenet161", tmp_path / "densenet161") == "densenet161"
    assert default_model_name("resnet152", tmp_path / "ResNet152-fold2") == "ResNet152-fold2"
    assert default_model_name("resnet152", tmp_path / "run7") == "resnet152-run7"


def test_default_name_of_a_run_given_as_dot(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "run3").mkdir()
    monkeypatch.chdir(tmp_path / "run3")
    assert default_model_name("densenet161", Path(".")) == "densenet161-run3"


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
