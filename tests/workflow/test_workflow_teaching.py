"""Case sets (CSV parsing, boxes), quiz scoring arithmetic, and the shipped sample set."""

from __future__ import annotations

from pathlib import Path

import pytest

from wristviewer.paths import resources_dir
from wristviewer.workflow.blind_read import Read
from wristviewer.workflow.teaching import (
    Box,
    CaseSetError,
    QuizAnswer,
    QuizScore,
    Tally,
    load_case_set,
    parse_boxes,
    score_text,
)

SAMPLE = resources_dir() / "teaching" / "fracatlas-sample"


def _write_set(folder: Path, rows: str, images: tuple[str, ...] = ("a.png", "b.png")) -> Path:
    folder.mkdir(exist_ok=True)
    for name in images:
        (folder / name).write_bytes(b"x")
    (folder / "cases.csv").write_text(rows, encoding="utf-8")
    return folder


def test_boxes_parse_and_map_to_pixels() -> None:
    boxes = parse_boxes("0.5 0.5 0.2 0.1; 0.25 0.75 0.1 0.1;")
    assert boxes == [Box(0.5, 0.5, 0.2, 0.1), Box(0.25, 0.75, 0.1, 0.1)]
    assert boxes[0].to_pixels(200, 100) == pytest.approx((80.0, 45.0, 40.0, 10.0))
    with pytest.raises(ValueError):
        parse_boxes("0.5 0.5 0.2")
    with pytest.raises(ValueError):
        parse_boxes("1.5 0.5 0.2 0.1")


def test_case_set_columns_aliases_and_notes(tmp_path: Path) -> None:
    folder = _write_set(
        tmp_path / "set",
        "path,fractured,note,fracture_boxes_yolo\na.png,yes,Look at the radius,0.5 0.5 0.1 0.1\nb.png,0,,\n",
    )
    cs = load_case_set(folder)
    assert len(cs) == 2 and cs.cases[0].fractured and not cs.cases[1].fractured
    assert cs.cases[0].note == "Look at the radius" and cs.cases[0].boxes == (
        Box(0.5, 0.5, 0.1, 0.1),
    )
    assert cs.cases[1].truth is Read.NO_FRACTURE and cs.cases[0].image == folder / "a.png"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("image,label\na.png,maybe\n", "line 2: label 'maybe'"),
        ("image,label\nmissing.png,1\n", "line 2: image missing.png not found"),
        ("picture,label\na.png,1\n", "needs an 'image'"),
        ("image,label,boxes\na.png,1,0.5 0.5\n", "line 2: a box needs 4 numbers"),
        ("image,label,boxes\na.png,1,0.5 0.5 nan 0.1\n", "line 2: box values must be"),
        ("image,label\n", "has no cases"),
        ("", "is empty"),
        ("image,label\na.png,1,surprise\n", "line 2: 3 fields where the header has 2"),
        ("image,label,note\na.png,1,ok\nb.png\n", "line 3: 1 fields where the header has 3"),
        ('image,label,note\na.png,1,"two\nlines"\n\nb.png,maybe,\n', "line 5: label 'maybe'"),
        ("image,label\na.png,1\nb.png,\x00\n", "line 3: label '\\x00'"),
        ('image,label\na.png,"1\n', "line 2: not a readable CSV row"),
        ("image,Image,label\na.png,a.png,1\n", "line 1: the column 'image' appears twice"),
    ],
)
def test_case_set_errors_name_the_file_and_line(tmp_path: Path, rows: str, message: str) -> None:
    folder = _write_set(tmp_path / "bad", rows)
    with pytest.raises(CaseSetError, match="cases.csv") as info:
        load_case_set(folder)
    assert message in str(info.value)


def test_a_table_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    folder = _write_set(tmp_path / "set", "")
    (folder / "cases.csv").write_bytes("image,label\na.png,1\n".encode("utf-16"))
    with pytest.raises(CaseSetError, match="cases.csv: is not UTF-8 text"):
        load_case_set(folder)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("../outside.png", "leaves the case-set folder"),
        ("sub/../../outside.png", "leaves the case-set folder"),
        ("sub\\..\\..\\outside.png", "leaves the case-set folder"),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\win.ini", "absolute path"),
        ("\\\\server\\share\\x.png", "absolute path"),
        ("link-out.png", "leads out of the case-set folder"),
        ("dir-out/outside.png", "leads out of the case-set folder"),
        ("loop.png", "cannot be resolved"),
    ],
)
def test_images_must_be_inside_the_case_set_folder(
    tmp_path: Path, image: str, message: str
) -> None:
    import os

    outside = tmp_path / "outside.png"
    outside.write_bytes(b"secret")
    folder = _write_set(tmp_path / "set", f"image,label\na.png,1\n{image},0\n")
    (folder / "sub").mkdir()
    (folder / "link-out.png").symlink_to(outside)
    (folder / "dir-out").symlink_to(tmp_path)
    os.symlink(folder / "loop.png", folder / "loop.png")
    with pytest.raises(CaseSetError, match="cases.csv") as info:
        load_case_set(folder)
    assert f"line 3: image {image!r}" in str(info.value) and message in str(info.value)


def test_links_and_subfolders_inside_the_folder_are_fine(tmp_path: Path) -> None:
    folder = _write_set(tmp_path / "set", "image,label\nsub/c.png,1\nlink.png,0\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "c.png").write_bytes(b"x")
    (folder / "link.png").symlink_to(folder / "a.png")
    cs = load_case_set(folder)
    assert [c.image for c in cs.cases] == [folder / "sub" / "c.png", folder / "link.png"]


@pytest.mark.timeout(30)
def test_special_files_are_refused_without_opening_them(tmp_path: Path) -> None:
    """A FIFO as cases.csv or as an image would block a reader forever: refused from stat."""
    import os

    folder = tmp_path / "fifo-table"
    folder.mkdir()
    os.mkfifo(folder / "cases.csv")
    with pytest.raises(CaseSetError, match="cases.csv: the case table is not a regular file"):
        load_case_set(folder)
    with pytest.raises(CaseSetError, match="not a regular file"):
        load_case_set(folder / "cases.csv")
    images = _write_set(tmp_path / "fifo-image", "image,label\na.png,1\npipe.png,0\n")
    os.mkfifo(images / "pipe.png")
    with pytest.raises(CaseSetError, match="line 3: image pipe.png is not a regular file"):
        load_case_set(images)
    folders = _write_set(tmp_path / "folder-image", "image,label\nsub,1\n")
    (folders / "sub").mkdir()
    with pytest.raises(CaseSetError, match="line 2: image sub is not a regular file"):
        load_case_set(folders)


def test_a_case_table_link_out_of_the_folder_and_a_huge_table_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wristviewer.workflow.teaching as teaching

    elsewhere = _write_set(tmp_path / "elsewhere", "image,label\na.png,1\n")
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "cases.csv").symlink_to(elsewhere / "cases.csv")
    with pytest.raises(CaseSetError, match="leads out of the case-set folder"):
        load_case_set(folder)
    with pytest.raises(CaseSetError, match="leaves the case-set folder"):
        load_case_set(folder, "../elsewhere/cases.csv")
    monkeypatch.setattr(teaching, "MAX_TABLE_BYTES", 10)
    with pytest.raises(CaseSetError, match="a case table has at most 10"):
        load_case_set(elsewhere)


def test_tally_rates() -> None:
    t = Tally()
    for answer, truth in [
        (Read.FRACTURE, True),
        (Read.FRACTURE, True),
        (Read.NO_FRACTURE, True),
        (Read.NO_FRACTURE, False),
        (Read.FRACTURE, False),
        (Read.NO_FRACTURE, False),
        (Read.NO_FRACTURE, False),
        (Read.UNSURE, True),
    ]:
        t.add(answer, truth)
    assert (t.tp, t.fn, t.tn, t.fp, t.unsure) == (2, 1, 3, 1, 1)
    assert t.sensitivity == pytest.approx(2 / 3) and t.specificity == pytest.approx(3 / 4)
    assert Tally().sensitivity is None and Tally().specificity is None


def test_quiz_pairs_only_cases_both_answered_and_unsure_is_not_an_answer() -> None:
    s = QuizScore()
    cases = [
        # (learner, ai_suspected, truth)
        (Read.FRACTURE, True, True),  # both right
        (Read.NO_FRACTURE, True, True),  # learner misses, AI finds
        (Read.UNSURE, True, True),  # learner unsure: not paired
        (Read.NO_FRACTURE, False, False),  # both right
        (Read.NO_FRACTURE, True, False),  # AI false positive
        (Read.FRACTURE, None, False),  # no AI result: not paired
    ]
    for i, (learner, ai, truth) in enumerate(cases):
        s.record(QuizAnswer(i, learner, ai, truth))
    s.record(QuizAnswer(0, Read.FRACTURE, True, True))  # re-answering replaces, not adds
    you = s.learner()
    assert (you.tp, you.fn, you.tn, you.fp, you.unsure) == (1, 1, 2, 1, 1)
    learner, ai = s.paired()
    assert learner.answered == ai.answered == 4
    assert (learner.sensitivity, learner.specificity) == (0.5, 1.0)
    assert (ai.sensitivity, ai.specificity) == (1.0, 0.5)
    text = score_text(s)
    assert "1 unsure" in text and "Same 4 case(s)" in text and "50% vs 100%" in text


def test_the_sample_case_set_is_small_labelled_and_attributed() -> None:
    cs = load_case_set(SAMPLE)
    assert len(cs) == 12
    fractured = [c for c in cs.cases if c.fractured]
    assert len(fractured) == 6 and all(c.boxes for c in fractured)
    assert all(not c.boxes for c in cs.cases if not c.fractured)
    assert len({c.note for c in cs.cases}) == 12  # each case its own note, not one template
    assert all("wrist" in c.note.lower() for c in cs.cases)
    total = sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file())
    assert total < 2_000_000
    import cv2

    for case in cs.cases:
        image = cv2.imread(str(case.image), cv2.IMREAD_UNCHANGED)
        assert image is not None and max(image.shape[:2]) <= 800
    attribution = (SAMPLE / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in attribution and "10.6084/m9.figshare.22363012" in attribution
    assert (SAMPLE / "make_caseset.py").is_file()


def test_sample_boxes_match_the_fracatlas_manifest(fracatlas: Path) -> None:
    import csv

    with open(fracatlas / "manifest.csv", encoding="utf-8", newline="") as fh:
        manifest = {Path(r["image"]).name: r for r in csv.DictReader(fh)}
    with open(SAMPLE / "cases.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            source = manifest[row["source"]]
            assert row["label"] == source["fractured"]
            assert row["boxes"] == source["fracture_boxes_yolo"].strip()
