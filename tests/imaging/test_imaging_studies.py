"""Sorting files into studies and views; bad files are skipped with a reason, never fatal."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest

from tests.helpers.dicom_factory import (
    write_basic_text_sr,
    write_dicom,
    write_dicomdir_like,
    write_png,
    write_study,
)
from tests.helpers.hostile import deny_scandir
from wristviewer.imaging import (
    View,
    expand_paths,
    load_studies,
    merge_studies,
    read_dicom_tags,
    split_study,
)
from wristviewer.imaging.studies import (
    GROUPING_DICOM,
    GROUPING_FOLDER,
    GROUPING_JOINED,
    GROUPING_NO_UID,
    GROUPING_PER_IMAGE,
    GROUPING_SPLIT,
    MIXED_PATIENTS,
)
from wristviewer.imaging.views import tokens, view_from_text

_png = write_png


def test_plain_images_are_one_study_each_by_default(tmp_path: Path) -> None:
    """PNG/JPEG carry no patient data: a folder of them may hold several people, so no study
    spans two of them without the user's say-so (issue 15 changed the old folder rule)."""
    for name in ("wrist_lateral.png", "extra.png", "wrist_oblique.png", "wrist_PA.png"):
        _png(tmp_path / "patient1" / name)
    studies, skipped = load_studies([tmp_path])
    assert skipped == []
    assert [s.id for s in studies] == [
        str(tmp_path / "patient1" / n)
        for n in ("extra.png", "wrist_PA.png", "wrist_lateral.png", "wrist_oblique.png")
    ]
    assert [s.name for s in studies][:2] == ["extra.png", "wrist_PA.png"]
    assert all(len(s.views) == 1 and s.grouping == GROUPING_PER_IMAGE for s in studies)


def test_plain_images_opened_as_one_study_group_by_folder_in_hanging_order(
    tmp_path: Path,
) -> None:
    for name in ("wrist_lateral.png", "extra.png", "wrist_oblique.png", "wrist_PA.png"):
        _png(tmp_path / "patient1" / name)
    _png(tmp_path / "patient2" / "ap.png")
    studies, skipped = load_studies([tmp_path], plain_images_by_folder=True)
    assert skipped == []
    assert [s.id for s in studies] == [str(tmp_path / "patient1"), str(tmp_path / "patient2")]
    first = studies[0]
    assert (first.name, first.grouping) == ("patient1", GROUPING_FOLDER)
    assert [r.view for r in first.views] == [View.PA, View.OBLIQUE, View.LATERAL, View.UNKNOWN]
    assert [r.path.name for r in first.views][-1] == "extra.png"
    assert studies[1].views[0].view is View.AP


def test_split_and_merge_studies(tmp_path: Path) -> None:
    for name in ("wrist_lateral.png", "wrist_PA.png"):
        _png(tmp_path / name)
    singles, _ = load_studies([tmp_path])
    joined = merge_studies(singles, "left wrist")
    assert (joined.name, joined.grouping) == ("left wrist", GROUPING_JOINED)
    assert [r.view for r in joined.views] == [View.PA, View.LATERAL]
    assert joined.id == merge_studies(list(reversed(singles)), "again").id  # same images, same id
    assert joined.id not in {s.id for s in singles}
    parts = split_study(joined)
    assert [s.id for s in parts] == [
        str(tmp_path / "wrist_PA.png"),
        str(tmp_path / "wrist_lateral.png"),
    ]
    assert all(s.grouping == GROUPING_SPLIT and len(s.views) == 1 for s in parts)
    assert split_study(parts[0]) == [parts[0]]
    with pytest.raises(ValueError, match="no images"):
        merge_studies([], "nothing")


def test_joining_images_of_two_patients_says_so(tmp_path: Path) -> None:
    write_dicom(tmp_path / "a.dcm", extra={"PatientID": "1", "PatientName": "Doe^John"})
    write_dicom(tmp_path / "b.dcm", extra={"PatientID": "2", "PatientName": "Roe^Jane"})
    studies, _ = load_studies([tmp_path])
    assert len(studies) == 2  # two Study Instance UIDs
    assert all(s.grouping == GROUPING_DICOM for s in studies)
    joined = merge_studies(studies, "both")
    assert joined.grouping == f"{GROUPING_JOINED}; {MIXED_PATIENTS}"


def test_dicom_without_a_study_uid_is_one_study_per_image(tmp_path: Path) -> None:
    for name in ("a.dcm", "b.dcm"):
        path = write_dicom(tmp_path / name)
        ds = pydicom.dcmread(path)
        del ds.StudyInstanceUID
        ds.save_as(path)
    studies, _ = load_studies([tmp_path])
    assert [len(s.views) for s in studies] == [1, 1]
    assert {s.grouping for s in studies} == {GROUPING_NO_UID}


def test_dicom_groups_by_study_uid_across_folders(tmp_path: Path) -> None:
    uid, _ = write_study(tmp_path / "a", views=("LATERAL", "PA"))
    write_study(tmp_path / "b", views=("OBLIQUE",), study_uid=uid)
    other_uid, _ = write_study(tmp_path / "b" / "other", views=("AP",))
    studies, skipped = load_studies([tmp_path])
    assert skipped == []
    by_id = {s.id: s for s in studies}
    assert set(by_id) == {uid, other_uid}
    assert [r.view for r in by_id[uid].views] == [View.PA, View.OBLIQUE, View.LATERAL]
    assert [r.view for r in by_id[other_uid].views] == [View.AP]


def test_dicom_copy_of_a_png_is_its_own_study(tmp_path: Path) -> None:
    _png(tmp_path / "wrist_PA.png")
    write_dicom(tmp_path / "dicom" / "wrist_PA_copy.dcm", view_position="PA", study_uid="1.2.3")
    studies, _ = load_studies([tmp_path])
    assert sorted(s.id for s in studies) == sorted(["1.2.3", str(tmp_path / "wrist_PA.png")])


def test_bad_files_do_not_stop_good_studies(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    uid, good = write_study(folder, views=("PA", "LATERAL"))
    (folder / "empty.dcm").write_bytes(b"")
    cut = folder / "cut.dcm"
    cut.write_bytes(good[0].read_bytes()[:-500])
    write_basic_text_sr(folder / "report.dcm", study_uid=uid)
    write_dicomdir_like(folder / "DICOMDIR")
    (folder / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "worklist.csv").write_text("a,b\n1,2\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / ".hidden").mkdir()
    _png(folder / ".hidden" / "thumb.png")
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")

    studies, skipped = load_studies([folder])
    assert len(studies) == 1 and studies[0].id == uid
    assert [r.view for r in studies[0].views] == [View.PA, View.LATERAL]
    reasons = {s.path.name: s.reason for s in skipped}
    assert set(reasons) == {
        "empty.dcm",
        "cut.dcm",
        "report.dcm",
        "DICOMDIR",
        "scan.jpg",
        "worklist.csv",
    }
    assert "empty" in reasons["empty.dcm"]
    assert "truncated" in reasons["cut.dcm"]
    assert "not an image" in reasons["report.dcm"]
    assert "DICOMDIR" in reasons["DICOMDIR"]
    assert "not an image" in reasons["worklist.csv"]
    assert [s.path.name for s in skipped if s.document] == ["worklist.csv"]
    assert reasons["scan.jpg"]  # a sentence, whatever the decoder said


def test_list_of_files_and_missing_paths(tmp_path: Path) -> None:
    a = _png(tmp_path / "x" / "lat.png")
    b = _png(tmp_path / "x" / "pa.png")
    studies, skipped = load_studies([a, b, a, tmp_path / "gone.png"], plain_images_by_folder=True)
    assert len(studies) == 1
    assert [r.path for r in studies[0].views] == [b, a]  # PA first; duplicate read once
    assert [s.path.name for s in skipped] == ["gone.png"]
    assert "does not exist" in skipped[0].reason


def test_explicit_dotfile_is_read(tmp_path: Path) -> None:
    path = _png(tmp_path / ".scan.png")
    studies, skipped = load_studies([path])
    assert len(studies) == 1 and not skipped


def test_nothing_readable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    studies, skipped = load_studies([tmp_path])
    assert studies == [] and len(skipped) == 1


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("Wrist PA", View.PA),
        ("WRIST_DP", View.PA),
        ("hand-oblique", View.OBLIQUE),
        ("LeftObl2", View.OBLIQUE),
        ("Lat", View.LATERAL),
        ("frontal", View.PA),
        ("wrist", None),
        ("PA + LAT", None),
        ("palmar", None),  # tokens, not substrings
        ("platform", None),
    ],
)
def test_view_words(text: str, view: View | None) -> None:
    assert view_from_text(text) == view


def test_tokens_split_camel_case_and_digits() -> None:
    assert tokens("LeftWristPA_02") == ["left", "wrist", "pa", "02"]


def test_dicom_tags_for_dialog(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "a.dcm", view_position="PA", view_code=("272479007", "SCT", "postero-anterior")
    )
    tags = read_dicom_tags(path)
    by_keyword = {t.keyword: t for t in tags}
    assert by_keyword["TransferSyntaxUID"].tag == "(0002,0010)"
    assert by_keyword["ViewPosition"].value == "PA"
    assert by_keyword["ViewPosition"].vr == "CS"
    assert by_keyword["ViewCodeSequence"].value == "<sequence of 1 item>"
    assert by_keyword[">CodeValue"].value == "272479007"
    assert "PixelData" not in by_keyword
    assert read_dicom_tags(_png(tmp_path / "p.png")) == []
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_dicom_tags(empty) == []


# --- folder expansion never passes over silently, never hangs ---------------------------------


@pytest.mark.timeout(120)
def test_special_files_links_and_locked_folders_are_listed_as_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    good = _png(folder / "good.png")
    os.mkfifo(folder / "pipe")
    os.mkfifo(folder / ".hidden-pipe")  # hidden names stay silent
    (folder / "dangling.png").symlink_to(folder / "gone.png")
    (folder / "self").symlink_to(folder / "self")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to(folder)  # back to a folder that holds it
    (folder / "alias.png").symlink_to(good)  # the same file twice: read once
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock"))
    locked = folder / "locked"
    _png(locked / "inside.png")
    deny_scandir(monkeypatch, locked)
    try:
        files, skipped = expand_paths([folder])
    finally:
        sock.close()
        locked.chmod(0o755)
    assert files == [folder / "alias.png"]  # good.png is the same file, found first by name
    reasons = {s.path.relative_to(folder).as_posix(): s.reason for s in skipped}
    assert set(reasons) == {"pipe", "dangling.png", "self", "sub/up", "sock", "locked"}
    assert "named pipe" in reasons["pipe"]
    assert "broken link" in reasons["dangling.png"]
    assert "loop" in reasons["self"] and "loop" in reasons["sub/up"]
    assert "socket" in reasons["sock"]
    assert "permission denied" in reasons["locked"]
    assert not any(s.document for s in skipped)


@pytest.mark.timeout(120)
def test_a_named_pipe_given_by_name_is_skipped_unopened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.dcm")
    studies, skipped = load_studies([tmp_path / "pipe.dcm"])
    assert studies == [] and len(skipped) == 1 and "named pipe" in skipped[0].reason


def test_links_to_folders_are_followed_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _png(real / "wrist_pa.png")
    (tmp_path / "alias").symlink_to(real)
    files, skipped = expand_paths([tmp_path])
    assert len(files) == 1 and skipped == []


def test_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    raw_folder = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(raw_folder)
    ok, buf = cv2.imencode(".png", np.full((16, 24), 100, np.uint8))
    with open(raw_folder + b"/wrist_\xff_PA.png", "wb") as fh:
        fh.write(buf.tobytes())
    for given in (tmp_path, raw_folder):
        studies, skipped = load_studies([given])
        assert skipped == [] and len(studies) == 1
        (radiograph,) = studies[0].views
        assert os.fsencode(radiograph.path) == raw_folder + b"/wrist_\xff_PA.png"
        assert radiograph.view is View.PA
