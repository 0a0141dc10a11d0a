"""``wristviewer info``: per-file report, study grouping, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.dicom_factory import (
    phantom,
    write_bad_deflate,
    write_dicom,
    write_rle_overrun,
    write_study,
)
from tests.helpers.hostile import deny_stat, strict_loads
from wristviewer.cli import main

REPO = Path(__file__).resolve().parents[2]

KEYS = {
    "path", "ok", "error", "format", "rows", "cols", "bits_stored", "photometric",
    "transfer_syntax", "view", "laterality", "pixel_spacing_mm", "warnings",
}  # fmt: skip


def _folder(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "study"
    uid, _ = write_study(folder, views=("LATERAL", "PA"), pixel_spacing=(0.1, 0.12))
    write_dicom(folder / "cine", frames=3, study_uid=uid, view_position="OBLIQUE")
    (folder / "broken.dcm").write_bytes(b"")
    (folder / "notes.csv").write_text("x\n")
    ok, buf = cv2.imencode(".png", np.rint(phantom() * 255).astype(np.uint8))
    (folder / "wrist_lat.png").write_bytes(buf.tobytes())
    return folder, uid


def test_info_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, uid = _folder(tmp_path)
    assert main(["info", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert set(files) == {"IM0000", "IM0001", "cine", "broken.dcm", "notes.csv", "wrist_lat.png"}
    for entry in files.values():
        assert KEYS <= set(entry)
    pa = files["IM0001"]
    assert pa["ok"] is True and pa["error"] is None
    assert (pa["format"], pa["rows"], pa["cols"], pa["bits_stored"]) == ("DICOM", 48, 64, 12)
    assert pa["view"] == "PA" and pa["photometric"] == "MONOCHROME2"
    assert pa["transfer_syntax"] == "1.2.840.10008.1.2.1"
    assert pa["pixel_spacing_mm"] == [0.1, 0.12]
    assert pa["pixel_spacing_source"] == "PixelSpacing"
    assert pa["patient_identity"]["name"] == "TEST, Phantom"
    assert pa["patient_identity"]["patient_id"] == "PHANTOM"
    assert pa["patient_identity"]["study_uid"] == uid
    assert files["wrist_lat.png"]["patient_identity"] is None
    assert files["cine"]["frame_count"] == 3
    assert files["broken.dcm"]["ok"] is False and "empty" in files["broken.dcm"]["error"]
    assert "not an image" in files["notes.csv"]["error"]
    assert files["wrist_lat.png"]["view"] == "lateral"
    studies = {s["id"]: s for s in report["studies"]}
    assert set(studies) == {uid, str(folder / "wrist_lat.png")}  # a plain image: its own study
    assert [v["view"] for v in studies[uid]["views"]] == ["PA", "oblique", "lateral"]


def test_info_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, uid = _folder(tmp_path)
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "3 frames (frame 1 shown)" in out
    assert "broken.dcm: the file is empty" in out
    assert f"Study {uid}" in out
    assert "4 of 6 file(s) read, 2 study(ies)" in out


def test_info_exit_2_when_nothing_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text("x")
    assert main(["info", str(tmp_path), str(tmp_path / "missing.dcm"), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["studies"] == [] and len(report["files"]) == 2
    assert all(f["ok"] is False and f["error"] for f in report["files"])


# --- hostile input: info goes on, says why, and writes strict JSON ----------------------------


def test_info_goes_on_past_a_decoder_panic_and_a_bad_deflate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rle_overrun(tmp_path / "panic.dcm")
    write_bad_deflate(tmp_path / "deflate.dcm")
    write_dicom(
        tmp_path / "good.dcm", extra={"RescaleSlope": "1", "SeriesDescription": ["a", "PA"]}
    )
    write_dicom(tmp_path / "blank.dcm", extra={"RescaleSlope": "inf"})
    assert main(["info", str(tmp_path), "--json"]) == 0
    files = {Path(f["path"]).name: f for f in strict_loads(capsys.readouterr().out)["files"]}
    assert files["good.dcm"]["ok"] is True and files["good.dcm"]["view"] == "PA"
    for name in ("panic.dcm", "deflate.dcm", "blank.dcm"):
        assert files[name]["ok"] is False and files[name]["error"], name
    assert "Rescale Slope" in files["blank.dcm"]["error"]


def test_info_json_is_strict_and_spacing_inf_is_dropped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom(tmp_path / "a.dcm", extra={"PixelSpacing": ["inf", "0.1"]})
    assert main(["info", str(tmp_path / "a.dcm"), "--json"]) == 0
    (entry,) = strict_loads(capsys.readouterr().out)["files"]
    assert entry["pixel_spacing_mm"] is None
    assert len(entry["warnings"]) == 1 and "Pixel Spacing" in entry["warnings"][0]
    assert main(["info", str(tmp_path / "a.dcm")]) == 0
    assert "warning: the Pixel Spacing" in capsys.readouterr().out


def test_info_lists_special_files_and_unreachable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dicom(tmp_path / "good.dcm")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    hidden = tmp_path / "locked" / "inside.dcm"
    write_dicom(hidden)
    deny_stat(monkeypatch, hidden)
    assert main(["info", str(tmp_path), str(hidden), "--json"]) == 0
    files = {Path(f["path"]).name: f for f in strict_loads(capsys.readouterr().out)["files"]}
    assert files["good.dcm"]["ok"] is True
    assert "named pipe" in files["pipe"]["error"]
    assert "broken link" in files["dangling"]["error"]
    assert "permission denied" in files["inside.dcm"]["error"]


def _non_utf8_png(folder: Path) -> bytes:
    raw = os.fsencode(folder) + b"/wrist_\xff\xfe_PA.png"
    ok, buf = cv2.imencode(".png", np.rint(phantom() * 255).astype(np.uint8))
    with open(raw, "wb") as fh:
        fh.write(buf.tobytes())
    return raw


def test_info_json_keeps_names_that_are_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _non_utf8_png(tmp_path)
    assert main(["info", os.fsdecode(raw), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.isascii() and "\\udcff\\udcfe" in out
    (entry,) = strict_loads(out)["files"]
    assert os.fsencode(entry["path"]) == raw and entry["view"] == "PA"


def test_info_text_writes_names_that_are_not_utf8_as_their_bytes(tmp_path: Path) -> None:
    raw = _non_utf8_png(tmp_path)
    # a strict UTF-8 stdout, as on a UTF-8 desktop locale (the C locale would be lenient)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8:strict"}
    result = subprocess.run(
        [sys.executable, "-m", "wristviewer", "info", os.fsencode(tmp_path)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert b"OK    " + raw in result.stdout
