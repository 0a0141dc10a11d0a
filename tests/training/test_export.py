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
