"""``wristviewer info``: per-file report, study grouping, exit status."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.dicom_factory import phantom, write_dicom, write_study
from wristviewer.cli import main

KEYS = {
    "path", "ok", "error", "format", "rows", "cols", "bits_stored", "photometric",
    "transfer_syntax", "view", "laterality", "pixel_spacing_mm",
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
    assert files["cine"]["frame_count"] == 3
    assert files["broken.dcm"]["ok"] is False and "empty" in files["broken.dcm"]["error"]
    assert "not an image" in files["notes.csv"]["error"]
    assert files["wrist_lat.png"]["view"] == "lateral"
    studies = {s["id"]: s for s in report["studies"]}
    assert set(studies) == {uid, str(folder)}
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
