"""The training loop: schedule, flags, the offline ImageNet message, exact resume."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from training import cli
from training.config import FitConfig
from training.fit import FitError, fit, lr_factor, should_stop

TINY = [
    "--arch", "densenet161", "--init", "none", "--input-width", "32", "--input-height", "40",
    "--batch-size", "4", "--workers", "0", "--seed", "3", "--no-progress", "--no-tensorboard",
    "--tuning-fraction", "0.25", "--test-fraction", "0.2",
]  # fmt: skip


def test_learning_rate_schedule_follows_the_paper() -> None:
    cfg = FitConfig()
    lrs = [cfg.lr * lr_factor(e, cfg) for e in range(45)]
    assert lrs[0] == lrs[9] == pytest.approx(1e-4)
    assert lrs[10] == pytest.approx(1e-5) and lrs[20] == pytest.approx(1e-6)
    assert lrs[30] == pytest.approx(1e-7) and lrs[44] == pytest.approx(1e-7)  # the floor


def test_early_stopping_starts_at_30_with_patience_20() -> None:
    cfg = FitConfig()
    assert not should_stop(29, 25, cfg)  # before the starting point: never
    assert not should_stop(30, 19, cfg)
    assert should_stop(30, 20, cfg) and should_stop(57, 20, cfg)


def test_every_config_field_is_a_flag() -> None:
    parser = cli._parser()
    fit_parser = parser._subparsers._group_actions[0].choices["fit"]  # type: ignore[union-attr]
    flags = {s for a in fit_parser._actions for s in a.option_strings}
    for f in dataclasses.fields(FitConfig):
        assert "--" + f.name.replace("_", "-") in flags


def test_imagenet_offline_is_a_sentence(
    tmp_path: Path,
    png_dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    out = tmp_path / "run"
    args = [
        "fit",
        "--data",
        str(png_dataset),
        "--out",
        str(out),
        *TINY,
        "--init",
        "imagenet",
        "--offline",
        "--epochs",
        "1",
    ]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "ImageNet weights for densenet161 are not in the torch hub cache" in err
    assert "Traceback" not in err and err.count("\n") == 1


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)["model"]


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(
    tmp_path: Path, png_dataset: Path
) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    a = tmp_path / "a"
    assert (
        cli.main(
            ["fit", "--data", str(png_dataset), "--out", str(a), *TINY, *cache, "--epochs", "2"]
        )
        == 0
    )
    b = tmp_path / "b"
    assert (
        cli.main(
            ["fit", "--data", str(png_dataset), "--out", str(b), *TINY, *cache, "--epochs", "1"]
        )
        == 0
    )
    with pytest.raises(FitError, match="already there"):
        fit(
            FitConfig(
                data=str(png_dataset),
                out=str(b),
                init="none",
                input_width=32,
                input_height=40,
                epochs=2,
            )
        )
    assert cli.main(["fit", "--out", str(b), "--resume", "--epochs", "2", "--no-progress"]) == 0

    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=1e-6, msg=k)
    ca = torch.load(a / "checkpoint.pt", weights_only=True)
    cb = torch.load(b / "checkpoint.pt", weights_only=True)
    assert ca["epoch"] == cb["epoch"] == 2
    assert ca["optimizer"]["state"].keys() == cb["optimizer"]["state"].keys()

    # Outputs: the full configuration, the split, per-epoch metrics, the best weights.
    cfg = json.loads((a / "config.json").read_text())
    assert cfg["lr"] == 1e-4 and cfg["batch_size"] == 4 and cfg["input_width"] == 32
    assert (a / "split" / "split.csv").is_file() and (a / "best.pt").is_file()
    rows = list(csv.DictReader((b / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(0.0 <= float(r["tuning_auroc"]) <= 1.0 for r in rows)
    with open(a / "metrics.csv") as fh:
        assert [r["train_loss"] for r in csv.DictReader(fh)] == [r["train_loss"] for r in rows]


def test_resume_refuses_changed_recipe(
    tmp_path: Path, png_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    assert (
        cli.main(
            [
                "fit",
                "--data",
                str(png_dataset),
                "--out",
                str(out),
                *TINY,
                "--epochs",
                "1",
                "--max-batches",
                "1",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert cli.main(["fit", "--out", str(out), "--resume", "--input-width", "64"]) == 2
    assert (
        capsys.readouterr().err
        == "error: --resume cannot change --input-width; start a new run instead\n"
    )


def test_unreadable_images_are_skipped_and_listed(tmp_path: Path, png_dataset: Path) -> None:
    (png_dataset / "normal" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "s"
    flags = [*TINY, "--test-fraction", "0", "--epochs", "1", "--max-batches", "1"]
    assert cli.main(["fit", "--data", str(png_dataset), "--out", str(out), *flags]) == 0
    skipped = list(csv.DictReader((out / "skipped.csv").open()))
    assert [Path(r["path"]).name for r in skipped] == ["broken.png"]
    assert "broken.png" in skipped[0]["reason"]


def test_distributed_two_gloo_processes(tmp_path: Path, png_dataset: Path) -> None:
    """torchrun with two CPU processes (gloo): runs, and only rank 0 writes."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).parent / "torchrun"
    cmd = [
        str(torchrun),
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "training",
        "fit",
        "--data",
        str(png_dataset),
        "--out",
        str(out),
        *TINY,
        "--epochs",
        "1",
        "--batch-size",
        "2",
    ]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1"]  # one writer
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and not any(k.startswith("module.") for k in ckpt["model"])
    assert result.stderr.count("done: best tuning AUROC") == 2  # both ranks finished


def test_init_from_a_weights_file(tmp_path: Path) -> None:
    from training.fit import initialise
    from wristviewer.ai.architectures import build_model

    torch.manual_seed(1)
    source = build_model("resnet152")
    path = tmp_path / "w.pt"
    torch.save({"model": source.state_dict(), "epoch": 3}, path)
    target = build_model("resnet152")
    note = initialise(target, FitConfig(arch="resnet152", init=str(path)))
    assert str(path) in note
    torch.testing.assert_close(target.fc.weight, source.fc.weight)
    with pytest.raises(FitError, match="do not fit densenet161"):
        initialise(build_model("densenet161"), FitConfig(arch="densenet161", init=str(path)))
    with pytest.raises(FitError, match="--init must be none, imagenet or an existing weights file"):
        initialise(target, FitConfig(init=str(tmp_path / "nothing.pt")))
