"""``wristviewer predict`` and ``wristviewer models``, run in-process."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
from pathlib import Path

import cv2
import pytest

from tests.helpers.dicom_factory import write_bad_deflate, write_dicom, write_rle_overrun
from tests.helpers.hostile import strict_loads
from wristviewer.cli import main
from wristviewer.paths import bundled_models_dir, user_models_dir

PICKS = ("IMG0000016.jpg", "IMG0000019.jpg", "IMG0000020.jpg")


@pytest.fixture
def two_studies(tmp_path: Path, fracatlas: Path) -> Path:
    """Two plain-image studies (folders) of FracAtlas radiographs."""
    root = tmp_path / "studies"
    for folder, names in (("a", PICKS[:2]), ("b", PICKS[2:])):
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copyfile(fracatlas / "images" / name, root / folder / name)
    return root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_json_heatmaps_and_csv(
    two_studies: Path, densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heat_dir, csv_path = tmp_path / "heat", tmp_path / "out.csv"
    code, out, err = _run(
        capsys,
        "predict",
        str(two_studies),
        "--model",
        str(densenet_path),
        "--json",
        "--one-study-per-folder",
        "--heatmaps",
        str(heat_dir),
        "--csv",
        str(csv_path),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"]["arch"] == "densenet161" and doc["model"]["untrained"] is True
    assert len(doc["model"]["sha256"]) == 64
    # auto precision: bf16 where this CPU has native bf16, fp32 elsewhere (both kinds exist)
    from wristviewer.ai.cpu import cpu_info

    assert doc["device"] == "CPU"
    assert doc["precision"] == ("bf16" if cpu_info().native_bf16 else "fp32")
    assert set(doc["seconds"]) >= {"load", "preprocess", "inference", "total"}
    assert doc["skipped"] == []
    assert [s["id"] for s in doc["studies"]] == [str(two_studies / "a"), str(two_studies / "b")]
    assert "UNTRAINED" in err and "MEANINGLESS" in err
    n_views = 0
    for study in doc["studies"]:
        probs = [v["fracture_probability"] for v in study["views"]]
        assert study["fracture_probability"] == pytest.approx(max(probs))
        assert study["suspected"] == (study["fracture_probability"] >= study["threshold"])
        for view in study["views"]:
            n_views += 1
            assert set(view) >= {"path", "view", "fracture_probability", "heatmap_png"}
            png = cv2.imread(view["heatmap_png"], cv2.IMREAD_COLOR)
            original = cv2.imread(view["path"], cv2.IMREAD_GRAYSCALE)
            assert png is not None and png.shape[:2] == original.shape
    assert n_views == 3
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 3 and {r["path"] for r in rows} == {
        v["path"] for s in doc["studies"] for v in s["views"]
    }


def test_corrupt_file_is_skipped_and_others_predicted(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = two_studies / "b" / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (two_studies / "b" / "empty.png").write_bytes(b"")
    code, out, err = _run(
        capsys, "predict", str(two_studies), "--model", str(densenet_path), "--json"
    )
    assert code == 0
    doc = json.loads(out)
    skipped = {Path(s["path"]).name: s["reason"] for s in doc["skipped"]}
    assert set(skipped) == {"corrupt.jpg", "empty.png"}
    assert all(reason for reason in skipped.values())
    assert "corrupt.jpg" in err
    predicted = [Path(v["path"]).name for s in doc["studies"] for v in s["views"]]
    assert sorted(predicted) == sorted(PICKS)


def test_plain_images_are_one_study_each_unless_asked(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of JPEGs may hold several people: no probability spans two of them by default."""
    code, out, _ = _run(
        capsys, "predict", str(two_studies / "a"), "--model", str(densenet_path), "--json"
    )
    assert code == 0
    studies = json.loads(out)["studies"]
    assert [s["id"] for s in studies] == [str(two_studies / "a" / n) for n in sorted(PICKS[:2])]
    assert all(len(s["views"]) == 1 for s in studies)


def test_a_study_split_over_several_reads_is_merged(
    two_studies: Path,
    densenet_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Streaming reads one file at a time here; views of one study still form one study."""
    import wristviewer.cli.predict as predict_module

    argv = ("predict", str(two_studies / "a"), "--model", str(densenet_path), "--json")
    code, out, _ = _run(capsys, *argv, "--one-study-per-folder")
    whole = json.loads(out)["studies"]
    monkeypatch.setattr(predict_module, "FILES_PER_CHUNK", 1)
    code, out, _ = _run(capsys, *argv, "--one-study-per-folder")
    assert code == 0
    streamed = json.loads(out)["studies"]
    assert len(whole) == len(streamed) == 1 and len(streamed[0]["views"]) == 2
    assert streamed[0]["fracture_probability"] == pytest.approx(
        whole[0]["fracture_probability"], abs=1e-6
    )
    assert [v["path"] for v in streamed[0]["views"]] == [v["path"] for v in whole[0]["views"]]


def test_hostile_files_are_skipped_with_a_reason_and_never_predicted(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A native decoder panic, a Deflate stream that does not inflate, an infinite rescale
    slope (a blank image) and a named pipe: each is one skip; the rest is predicted."""
    folder = two_studies / "b"
    write_rle_overrun(folder / "panic.dcm")
    write_bad_deflate(folder / "deflate.dcm")
    write_dicom(folder / "blank.dcm", extra={"RescaleSlope": "inf"})
    os.mkfifo(folder / "pipe")
    code, out, err = _run(
        capsys, "predict", str(two_studies), "--model", str(densenet_path), "--json"
    )
    assert code == 0
    doc = strict_loads(out)
    skipped = {Path(s["path"]).name: s["reason"] for s in doc["skipped"]}
    assert set(skipped) == {"panic.dcm", "deflate.dcm", "blank.dcm", "pipe"}
    assert "Rescale Slope" in skipped["blank.dcm"] and "named pipe" in skipped["pipe"]
    predicted = [Path(v["path"]).name for s in doc["studies"] for v in s["views"]]
    assert sorted(predicted) == sorted(PICKS)


def test_a_csv_that_cannot_be_written_does_not_lose_the_json(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys,
        "predict",
        str(two_studies / "b"),
        "--model",
        str(densenet_path),
        "--json",
        "--csv",
        "/dev/full",
    )
    assert code == 4
    doc = strict_loads(out)
    assert len(doc["studies"]) == 1 and doc["studies"][0]["views"]
    assert "/dev/full: the CSV file could not be written (No space left on device)" in err


def test_names_that_are_not_utf8_in_json_and_csv(
    two_studies: Path, densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(folder)
    raw = folder + b"/wrist_\xff_PA.jpg"
    with open(raw, "wb") as fh:
        fh.write((two_studies / "a" / PICKS[0]).read_bytes())
    csv_path = tmp_path / "out.csv"
    heat = os.fsdecode(os.fsencode(tmp_path) + b"/heat\xfe")
    code, out, err = _run(
        capsys,
        "predict",
        os.fsdecode(folder),
        "--model",
        str(densenet_path),
        "--json",
        "--csv",
        str(csv_path),
        "--heatmaps",
        heat,
    )
    assert code == 0, err
    doc = strict_loads(out)
    (study,) = doc["studies"]
    assert os.fsencode(study["id"]) == raw  # a plain image is a study of its own
    (view,) = study["views"]
    assert os.fsencode(view["path"]) == raw and view["view"] == "PA"
    assert os.path.isfile(os.fsencode(view["heatmap_png"]))
    with open(csv_path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [os.fsencode(r["path"]) for r in rows] == [raw]
    assert raw in csv_path.read_bytes()


def test_text_output(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "predict", str(two_studies / "b"), "--model", str(densenet_path))
    assert code == 0
    assert "fracture probability" in out and "second opinion" in out


def test_cuda_request_without_a_gpu_falls_back_with_a_sentence(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, out, err = _run(
        capsys,
        "predict",
        str(two_studies / "b"),
        "--model",
        str(densenet_path),
        "--device",
        "cuda",
        "--json",
    )
    assert code == 0 and json.loads(out)["device"] == "CPU"
    assert "warning: CUDA was requested but no CUDA GPU is available" in err


def test_exit_2_when_nothing_is_readable(
    tmp_path: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a png")
    code, out, err = _run(
        capsys,
        "predict",
        str(folder),
        str(tmp_path / "missing"),
        "--model",
        str(densenet_path),
        "--json",
    )
    assert code == 2
    doc = json.loads(out)
    assert doc["studies"] == [] and len(doc["skipped"]) == 2
    assert "No readable radiograph" in err


def test_exit_3_without_a_model(two_studies: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "predict", str(two_studies), "--json")
    assert code == 3 and out == ""
    assert "wristviewer models install FILE" in err and "python -m training export" in err
    code, _, err = _run(capsys, "predict", str(two_studies), "--model", "ensemble")
    assert code == 3 and "wristviewer models install" in err


def test_exit_3_for_an_invalid_bundle_file(
    two_studies: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "fake.safetensors"
    fake.write_text("not weights")
    code, _, err = _run(capsys, "predict", str(two_studies), "--model", str(fake))
    assert code == 3 and str(fake) in err and "not a model bundle" in err


def test_predict_with_installed_ensemble(
    two_studies: Path, densenet_path: Path, resnet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "models", "install", str(densenet_path))[0] == 0
    assert _run(capsys, "models", "install", str(resnet_path))[0] == 0
    code, out, err = _run(
        capsys, "predict", str(two_studies / "b"), "--model", "ensemble", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"]["arch"] == "ensemble"
    assert {m["arch"] for m in doc["model"]["members"]} == {"densenet161", "resnet152"}
    view = doc["studies"][0]["views"][0]
    assert view["fracture_probability"] == pytest.approx(sum(view["members"].values()) / 2)


def test_models_install_list_remove(
    densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "models", "--json")
    assert code == 0 and json.loads(out)["models"] == []

    code, out, _ = _run(capsys, "models", "install", str(densenet_path))
    installed = user_models_dir() / "densenet161-untrained.safetensors"
    assert code == 0 and installed.is_file() and str(installed) in out
    assert not [p for p in user_models_dir().iterdir() if p.name.startswith(".")]
    assert _run(capsys, "models", "install", str(densenet_path))[0] == 0  # same bundle again: fine

    (user_models_dir() / "broken.safetensors").write_bytes(b"junk")
    code, out, _ = _run(capsys, "models", "--json")
    models = {m["name"]: m for m in json.loads(out)["models"]}
    assert (
        models["densenet161-untrained"]["valid"]
        and models["densenet161-untrained"]["source"] == "user"
    )
    assert models["densenet161-untrained"]["untrained"] is True
    assert len(models["densenet161-untrained"]["sha256"]) == 12
    assert not models["broken"]["valid"] and "not a model bundle" in models["broken"]["reason"]
    code, out, _ = _run(capsys, "models")
    assert code == 0 and "UNUSABLE" in out and "UNTRAINED" in out

    code, out, _ = _run(capsys, "models", "remove", "densenet161-untrained")
    assert code == 0 and not installed.exists()
    code, _, err = _run(capsys, "models", "remove", "densenet161-untrained")
    assert code == 1 and "No installed model" in err


def test_install_refuses_a_different_bundle_with_the_same_name(
    densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from wristviewer.ai.bundle import load_bundle, save_bundle

    original = load_bundle(densenet_path)
    weights = {
        **original.state_dict,
        "classifier.bias": original.state_dict["classifier.bias"] + 1.0,
    }
    card = dataclasses.replace(original.card, version="2")
    other = save_bundle(tmp_path / "other.safetensors", weights, card)
    assert _run(capsys, "models", "install", str(densenet_path))[0] == 0
    code, _, err = _run(capsys, "models", "install", str(other))
    assert code == 1 and "already installed" in err and "--force" in err
    code, _, _ = _run(capsys, "models", "install", str(other), "--force")
    assert code == 0
    from wristviewer.ai.bundle import inspect_bundle

    installed = user_models_dir() / "densenet161-untrained.safetensors"
    assert inspect_bundle(installed).version == "2"


def test_install_refuses_an_invalid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    code, _, err = _run(capsys, "models", "install", str(bad))
    assert code == 1 and str(bad) in err
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())


def test_bundled_models_are_read_only(
    densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(densenet_path, bundled_models_dir() / "shipped.safetensors")
    code, out, _ = _run(capsys, "models", "--json")
    (entry,) = json.loads(out)["models"]
    assert entry["source"] == "bundled" and entry["valid"]
    code, _, err = _run(capsys, "models", "remove", "densenet161-untrained")
    assert code == 1 and "read-only" in err
    assert (bundled_models_dir() / "shipped.safetensors").exists()


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "Not enough disk space"),
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    ],
    ids=["disk-full", "unwritable"],
)
def test_install_reports_full_disk_and_unwritable_folder(
    densenet_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: OSError,
    sentence: str,
) -> None:
    import wristviewer.ai.registry as registry

    def failing_copy(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(registry.shutil, "copyfileobj", failing_copy)
    code, _, err = _run(capsys, "models", "install", str(densenet_path))
    assert code == 1 and sentence in err and str(user_models_dir()) in err
    assert [p for p in user_models_dir().iterdir()] == []  # the temporary file is gone


def test_create_untrained_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import wristviewer.ai.bundle as bundle_module

    calls: list[tuple[str, Path]] = []

    def fake_create(arch: str, path: str, **kwargs: object) -> Path:
        calls.append((arch, Path(path)))
        return Path(path)

    monkeypatch.setattr(bundle_module, "create_untrained_bundle", fake_create)
    code, out, _ = _run(
        capsys, "models", "create-untrained", "resnet152", str(tmp_path / "r.safetensors")
    )
    assert code == 0 and calls == [("resnet152", tmp_path / "r.safetensors")] and "UNTRAINED" in out
    assert os.fspath(tmp_path) in out


# --- hostile files in the models folder, install semantics, names shown ----------------------


def _hostile_models(folder: Path, densenet_path: Path) -> list[str]:
    """Unusable files of every kind in ``folder``; returns their stems."""
    from tests.ai.helpers import edit_card, rewrite_header

    folder.mkdir(parents=True, exist_ok=True)
    n = (8).to_bytes(8, "little")
    (folder / "junk.safetensors").write_bytes(b"junk")
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    (folder / "deep.safetensors").write_bytes(len(deep).to_bytes(8, "little") + deep)
    (folder / "short.safetensors").write_bytes(n + b"{}")
    rewrite_header(
        densenet_path,
        folder / "offsets.safetensors",
        lambda h: h["classifier.bias"].update(data_offsets=[1]),
    )
    rewrite_header(
        densenet_path, folder / "shape.safetensors", lambda h: h["classifier.bias"].update(shape=1)
    )
    edit_card(
        densenet_path,
        folder / "inf-card.safetensors",
        lambda c: json.dumps({**c, "temperature": 4321.5}).replace("4321.5", "1e999"),
    )
    os.mkfifo(folder / "fifo.safetensors")
    (folder / "dir.safetensors").mkdir()
    return ["junk", "deep", "short", "offsets", "shape", "inf-card", "fifo", "dir"]


def test_unusable_files_never_hide_the_good_bundles(
    two_studies: Path, densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "models", "install", str(densenet_path))[0] == 0
    bad = _hostile_models(user_models_dir(), densenet_path)
    _hostile_models(bundled_models_dir(), densenet_path)

    code, out, err = _run(capsys, "models", "--json")
    assert code == 0, err
    models = json.loads(out)["models"]
    good = [m for m in models if m["valid"]]
    assert [m["name"] for m in good] == ["densenet161-untrained"]
    unusable = {m["name"]: m["reason"] for m in models if not m["valid"] and m["source"] == "user"}
    assert set(unusable) == set(bad) and all(unusable.values())

    code, out, _ = _run(capsys, "models")
    assert code == 0 and "densenet161-untrained" in out
    assert out.count("UNUSABLE:") == 2 * len(bad)

    code, out, err = _run(capsys, "predict", str(two_studies / "b"), "--json")  # --model auto
    assert code == 0, err
    assert json.loads(out)["model"]["name"] == "densenet161-untrained"

    from wristviewer.ui.jobs import find_models_job

    specs, cards, problems = find_models_job()
    assert specs == ["densenet161"] and len(problems) == 2 * len(bad)
    assert all(": unusable: " in p for p in problems)


def test_reinstalling_an_identical_bundle_says_so(
    densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "models", "install", str(densenet_path))
    installed = user_models_dir() / "densenet161-untrained.safetensors"
    assert code == 0 and out.startswith("Installed ") and "replacing" not in out
    before = installed.stat().st_mtime_ns
    code, out, _ = _run(capsys, "models", "install", str(densenet_path))
    assert code == 0 and "Already installed, identical" in out and str(installed) in out
    assert installed.stat().st_mtime_ns == before


def test_a_changed_card_is_a_different_bundle(
    densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same weights, another card (a lowered threshold): refused, then replaced with --force."""
    from tests.ai.helpers import edit_card
    from wristviewer.ai.bundle import inspect_bundle

    lowered = tmp_path / "lowered.safetensors"
    edit_card(densenet_path, lowered, lambda c: c["operating_points"][0].update(threshold=0.05))
    assert _run(capsys, "models", "install", str(densenet_path))[0] == 0
    installed = user_models_dir() / "densenet161-untrained.safetensors"
    code, out, err = _run(capsys, "models", "install", str(lowered))
    assert code == 1 and "model card differs" in err and "--force" in err and out == ""
    assert inspect_bundle(installed).threshold == 0.5  # untouched
    code, out, err = _run(capsys, "models", "install", str(lowered), "--force")
    assert code == 0 and "replacing" in out and str(installed) in out
    assert inspect_bundle(installed).threshold == 0.05


def test_names_that_sanitise_to_the_same_file_do_not_overwrite(
    densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.ai.helpers import edit_card
    from wristviewer.ai.bundle import inspect_bundle

    slash, underscore = tmp_path / "slash.safetensors", tmp_path / "underscore.safetensors"
    edit_card(densenet_path, slash, lambda c: c.update(name="wrist/model"))
    edit_card(densenet_path, underscore, lambda c: c.update(name="wrist_model"))
    assert _run(capsys, "models", "install", str(slash))[0] == 0
    installed = user_models_dir() / "wrist_model.safetensors"
    code, _, err = _run(capsys, "models", "install", str(underscore))
    assert code == 1 and "'wrist/model'" in err and "same file name" in err
    assert inspect_bundle(installed).name == "wrist/model"
    code, out, _ = _run(capsys, "models", "install", str(underscore), "--force")
    assert code == 0 and "replacing" in out and "'wrist/model'" in out
    assert inspect_bundle(installed).name == "wrist_model"


def test_an_unusable_file_in_the_way_is_replaced_and_named(
    densenet_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user_models_dir().mkdir(parents=True)
    (user_models_dir() / "densenet161-untrained.safetensors").write_bytes(b"junk")
    code, out, err = _run(capsys, "models", "install", str(densenet_path))
    assert code == 0, err
    assert "replacing the unusable file" in out


def test_bundles_with_non_finite_values_are_refused_at_install(
    densenet_bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    import torch
    from safetensors.torch import save_file

    from tests.ai.helpers import edit_card
    from wristviewer.ai.bundle import card_metadata, weights_sha256

    weights = dict(densenet_bundle.state_dict)
    weights["classifier.bias"] = torch.full_like(weights["classifier.bias"], float("nan"))
    card = dataclasses.replace(densenet_bundle.card, weights_sha256=weights_sha256(weights))
    nan_weights = tmp_path / "nan-weights.safetensors"
    save_file(weights, str(nan_weights), metadata=card_metadata(card))
    inf_scale = tmp_path / "inf-scale.safetensors"
    edit_card(
        densenet_bundle.path,
        inf_scale,
        lambda c: json.dumps({**c, "heatmap_scale": 4321.5}).replace("4321.5", "1e999"),
    )
    for bad, reason in ((nan_weights, "NaN or infinite"), (inf_scale, "non-finite")):
        code, out, err = _run(capsys, "models", "install", str(bad))
        assert code == 1 and out == "" and str(bad) in err and reason in err
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())


def test_model_names_are_shown_without_control_or_bidi_characters(
    densenet_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.ai.helpers import edit_card

    evil = "\x1b[31mdn161\u202egnp.exe\u2066\x07"
    shown = tmp_path / "evil.safetensors"
    edit_card(densenet_path, shown, lambda c: c.update(name=evil, version="1\u202e2"))
    code, out, err = _run(capsys, "models", "install", str(shown))
    assert code == 0, err
    for text in (out, *(_run(capsys, "models")[1:])):
        assert not any(ch in text for ch in "\x1b\x07\u202e\u2066"), repr(text)
    assert "[31mdn161gnp.exe" in _run(capsys, "models")[1]
    (entry,) = json.loads(_run(capsys, "models", "--json")[1])["models"]
    assert entry["name"] == "[31mdn161gnp.exe" and entry["version"] == "12"


def test_a_model_that_outputs_nan_gives_an_error_per_view_never_no_fracture(
    two_studies: Path, densenet_bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finite weights that still compute NaN (a negative BatchNorm variance): each view is
    reported as failed, no study gets a verdict, and --json stays strict JSON."""
    from wristviewer.ai.bundle import save_bundle

    weights = dict(densenet_bundle.state_dict)
    weights["features.norm5.running_var"] = -weights["features.norm5.running_var"].abs() - 1
    nan_out = save_bundle(tmp_path / "nan-out.safetensors", weights, densenet_bundle.card)
    code, out, err = _run(
        capsys, "predict", str(two_studies / "a"), "--model", str(nan_out), "--json"
    )
    doc = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in --json"))
    assert doc["studies"] == [] and code != 0
    reasons = {Path(s["path"]).name: s["reason"] for s in doc["skipped"]}
    assert set(reasons) == set(PICKS[:2])
    assert all("non-finite" in r for r in reasons.values())
    code, out, err = _run(capsys, "predict", str(two_studies / "a"), "--model", str(nan_out))
    assert "no fracture suspected" not in out and "non-finite" in err
