"""Data readers: tiny fake trees of each layout (real PNGs) and the shared FracAtlas manifest."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import data
from training.data import DataError, Record


def _png(path: Path, value: int = 128, shape: tuple[int, int] = (12, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full(shape, value, np.uint8)
    img[2:5, 3:7] = 255 - value
    assert cv2.imwrite(str(path), img)
    return path


def _csv(path: Path, header: list[str] | None, rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def test_manifest_round_trip(tmp_path: Path) -> None:
    a = _png(tmp_path / "img" / "a.png")
    b = _png(tmp_path / "img" / "b.png")
    recs = [
        Record(a, 1, patient_id="p1", study_id="s1", view="PA", date="2019-03-04"),
        Record(b, 0),
    ]
    path = data.write_manifest(recs, tmp_path / "manifest.csv")
    text = path.read_text()
    assert "\nimg/a.png," in text  # relative to the manifest's folder
    elsewhere = data.write_manifest(recs, tmp_path / "m" / "manifest.csv")
    assert str(a.resolve()) in elsewhere.read_text()  # outside it: absolute
    assert [r.path.resolve() for r in data.read_manifest(elsewhere)] == [a.resolve(), b.resolve()]
    back = data.read_manifest(path)
    assert [r.path.resolve() for r in back] == [a.resolve(), b.resolve()]
    assert back[0].label == 1 and back[0].patient_id == "p1" and back[0].date == "2019-03-04"
    assert back[1].patient_id is None and back[1].view is None and back[1].date is None
    assert data.detect_layout(path) == "manifest"


def test_manifest_errors_name_the_file(tmp_path: Path) -> None:
    bad = _csv(tmp_path / "bad.csv", ["path", "label"], [["x.png", "maybe"]])
    with pytest.raises(DataError, match=r"bad\.csv:2: label 'maybe'"):
        data.read_manifest(bad)
    nolabel = _csv(tmp_path / "nolabel.csv", ["path"], [["x.png"]])
    with pytest.raises(DataError, match="missing column"):
        data.read_manifest(nolabel)
    baddate = _csv(tmp_path / "d.csv", ["path", "label", "date"], [["x.png", "1", "03/04/2019"]])
    with pytest.raises(DataError, match="ISO date"):
        data.read_manifest(baddate)
    with pytest.raises(DataError, match="file not found"):
        data.read_manifest(tmp_path / "none.csv")


def test_real_fracatlas_hand_manifest(fracatlas: Path) -> None:
    recs = data.load_records(fracatlas)
    assert data.detect_layout(fracatlas) == "fracatlas-hand"
    assert len(recs) == 985
    assert sum(r.label for r in recs) == 289
    assert all(r.path.is_file() for r in recs[:20])
    assert all(r.patient_id is None and r.date is None for r in recs)
    views = {r.view for r in recs}
    assert {"frontal", "lateral", "oblique"} <= views
    s = data.summarize(recs)
    assert s["images"] == 985 and s["fracture"] == 289 and s["patients"] is None


def test_original_fracatlas_layout(tmp_path: Path) -> None:
    root = tmp_path / "FracAtlas"
    header = "image_id,hand,leg,hip,shoulder,mixed,hardware,multiscan,fractured,fracture_count,frontal,lateral,oblique".split(
        ","
    )
    rows = [
        ["IMG0000001.jpg", 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0],
        ["IMG0000002.jpg", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        ["IMG0000003.jpg", 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],  # leg: dropped
        [
            "IMG0000004.jpg",
            1,
            1,
            0,
            0,
            1,
            0,
            0,
            1,
            1,
            0,
            0,
            1,
        ],  # hand + leg: dropped when exclusive
    ]
    _csv(root / "dataset.csv", header, rows)
    _png(root / "images" / "Fractured" / "IMG0000001.jpg".replace(".jpg", ".png")).rename(
        root / "images" / "Fractured" / "IMG0000001.jpg"
    )
    for name, folder in (
        ("IMG0000002.jpg", "Non_fractured"),
        ("IMG0000003.jpg", "Non_fractured"),
        ("IMG0000004.jpg", "Fractured"),
    ):
        p = _png(root / "images" / folder / (name + ".png"))
        p.rename(root / "images" / folder / name)
    assert data.detect_layout(root) == "fracatlas"
    recs = data.load_records(root)
    assert [(r.path.name, r.label, r.view) for r in recs] == [
        ("IMG0000001.jpg", 1, "frontal"),
        ("IMG0000002.jpg", 0, "lateral"),
    ]
    assert recs[0].path.parent.name == "Fractured" and recs[1].path.parent.name == "Non_fractured"
    both = data.read_fracatlas(root, body_parts=("hand", "leg"), exclusive=False)
    assert len(both) == 4
    inclusive = data.read_fracatlas(root, exclusive=False)
    assert [r.path.name for r in inclusive] == [
        "IMG0000001.jpg",
        "IMG0000002.jpg",
        "IMG0000004.jpg",
    ]


def test_mura_layout(tmp_path: Path) -> None:
    mura = tmp_path / "MURA-v1.1"
    studies = [
        ("train", "XR_WRIST", "patient00001", "study1_positive", 1, 2),
        ("train", "XR_WRIST", "patient00002", "study1_negative", 0, 1),
        ("train", "XR_ELBOW", "patient00003", "study1_negative", 0, 1),
        ("valid", "XR_WRIST", "patient11185", "study2_positive", 1, 3),
    ]
    for part in ("train", "valid"):
        rows = []
        for p, bp, pat, st, label, n in studies:
            if p != part:
                continue
            rel = f"MURA-v1.1/{p}/{bp}/{pat}/{st}/"
            rows.append([rel, label])
            for k in range(n):
                _png(tmp_path / rel / f"image{k + 1}.png")
        _csv(mura / f"{part}_labeled_studies.csv", None, rows)
    assert data.detect_layout(tmp_path) == "mura"
    recs = data.load_records(tmp_path)
    assert len(recs) == 2 + 1 + 3
    assert {r.study_id for r in recs} == {
        "patient00001/study1",
        "patient00002/study1",
        "patient11185/study2",
    }
    assert all(r.label == (1 if "positive" in str(r.path) else 0) for r in recs)
    assert {r.patient_id for r in recs if r.label == 1} == {"patient00001", "patient11185"}
    assert len(data.read_mura(mura, parts=("valid",))) == 3
    assert len(data.read_mura(tmp_path, body_part="XR_ELBOW")) == 1


def test_grazpedwri_layout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "GRAZPEDWRI-DX"
    stems = [
        ("0001_1297860395_01_WRI-L1_M014", "1", "1"),
        ("0001_1297860395_01_WRI-L2_M014", "1", "2"),
        ("0002_0354485759_01_WRI-R1_F012", "2", ""),  # no projection column value: from the stem
        ("0003_0662359302_01_WRI-R1_M011", "3", None),  # blank label: dropped
    ]
    rows = []
    for stem, pid, proj in stems:
        label = "" if proj is None else ("1" if pid == "1" else "0")
        rows.append([stem, pid, "M", "14", proj or "", label])
        _png(root / ("img8bit" if pid == "2" else "images") / f"{stem}.png")
    _csv(
        root / "dataset.csv",
        ["filestem", "patient_id", "gender", "age", "projection", "fracture_visible"],
        rows,
    )
    assert data.detect_layout(root) == "grazpedwri"
    with caplog.at_level("WARNING"):
        recs = data.load_records(root)
    assert "1 row(s) without fracture_visible" in caplog.text
    assert [(r.patient_id, r.label, r.view) for r in recs] == [
        ("1", 1, "AP"),
        ("1", 1, "lateral"),
        ("2", 0, "AP"),
    ]
    assert recs[2].path.parent.name == "img8bit" and recs[2].path.is_file()
    assert recs[0].study_id == recs[1].study_id == "0001_1297860395"


def test_class_folders(tmp_path: Path) -> None:
    _png(tmp_path / "fracture" / "a.png")
    _png(tmp_path / "fracture" / "case7" / "b.png")
    _png(tmp_path / "normal" / "c.png")
    (tmp_path / "normal" / "notes.txt").write_text("not an image")
    _png(tmp_path / "other" / "d.png")
    assert data.detect_layout(tmp_path) == "folders"
    recs = data.load_records(tmp_path)
    assert sorted((r.path.name, r.label, r.study_id) for r in recs) == [
        ("a.png", 1, None),
        ("b.png", 1, "case7"),
        ("c.png", 0, None),
    ]
    digits = tmp_path / "digits"
    _png(digits / "1" / "x.png")
    _png(digits / "0" / "y.png")
    assert sorted(r.label for r in data.load_records(digits, layout="folders")) == [0, 1]


def test_unknown_layout_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError, match="cannot tell the data layout"):
        data.load_records(tmp_path)


def test_oversampling_doubles_the_minority_with_zoomed_copies() -> None:
    recs = [Record(Path(f"{i}.png"), int(i < 3)) for i in range(10)]
    samples = data.oversample_minority(recs)
    assert len(samples) == 13
    extra = samples[10:]
    assert all(s.zoomed and s.record.label == 1 for s in extra)
    assert not any(s.zoomed for s in samples[:10])
    balanced = [Record(Path(f"{i}.png"), i % 2) for i in range(4)]
    assert len(data.oversample_minority(balanced)) == 4


def test_zoom_in_is_a_central_crop_resized_back() -> None:
    img = np.zeros((3, 110, 100), np.float32)
    img[:, 5:105, 4:95] = 1.0  # ones exactly where the central 100x91 crop lies
    z = data.zoom_in(img, 1.1)
    assert z.shape == img.shape and z.dtype == img.dtype
    # The crop keeps rows 5..104 and columns 4..94 only: the zoomed image is all ones.
    assert z.min() == pytest.approx(1.0)
    ramp = np.tile(np.linspace(0, 1, 100, dtype=np.float32), (1, 110, 1))
    zr = data.zoom_in(ramp, 1.1)
    assert zr[0, 0, 0] > 0.03 and zr[0, 0, -1] < 0.97  # the edges were cut away
    assert zr[0, 50, 50] == pytest.approx(ramp[0, 50, 50], abs=0.01)  # centre stays


# --------------------------------------------------------------------------- FracAtlas regions, boxes


FRACATLAS_OTHER = Path(__file__).resolve().parents[3] / "shared" / "data" / "fracatlas-other"


def _subset(source: Path, names: set[str] | None, n: int, out: Path) -> Path:
    """A FracAtlas manifest with the first ``n`` rows (plus ``names``) of ``source``'s, the image
    paths made absolute (hashing every file of the real set takes a while)."""
    with (source / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    keep = [r for i, r in enumerate(rows) if i < n or Path(r["image"]).name in (names or ())]
    for r in keep:
        r["image"] = str(source / r["image"])
    out.mkdir(parents=True, exist_ok=True)
    with (out / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)
    return out


def test_real_fracatlas_other_manifest(tmp_path: Path) -> None:
    assert data.detect_layout(FRACATLAS_OTHER) == "fracatlas-other"
    assert data.detect_layout(FRACATLAS_OTHER / "manifest.csv") == "fracatlas-other"
    quirk = "IMG0003298.jpg"  # a normal image that FracAtlas gives a fracture box anyway
    sub = _subset(FRACATLAS_OTHER, {"IMG0000044.jpg", quirk}, 30, tmp_path / "other")
    assert data.detect_layout(sub) == "fracatlas-other"
    recs = {r.path.name: r for r in data.load_records(sub)}
    assert len(recs) == 32 and all(r.path.is_file() for r in recs.values())
    assert all(r.region and r.region != "hand" for r in recs.values())
    assert recs["IMG0000000.jpg"].region == "leg" and recs["IMG0000044.jpg"].region == (
        "hand+shoulder"
    )
    assert recs["IMG0000000.jpg"].view == "frontal+lateral"
    assert recs["IMG0000000.jpg"].multiscan == 1 and recs["IMG0000000.jpg"].hardware == 0
    assert data.parse_boxes(recs["IMG0000044.jpg"].boxes) == [(0.6505, 0.3924, 0.0627, 0.0403)]
    assert recs["IMG0000044.jpg"].label == 1
    assert recs[quirk].label == 0 and recs[quirk].boxes
    assert all(r.study_id and r.study_id.startswith("sha256:") for r in recs.values())
    by_region = data.summarize(list(recs.values()))["by_region"]
    assert sum(d["images"] for d in by_region.values()) == 32
    for region, counts in by_region.items():
        members = [r for r in recs.values() if r.region == region]
        assert counts == {"images": len(members), "fracture": sum(r.label for r in members)}
    assert list(by_region) == sorted(by_region)


def test_fracatlas_hand_regions_boxes_and_duplicate_files(fracatlas: Path, tmp_path: Path) -> None:
    twins = {"IMG0002298.jpg", "IMG0002379.jpg", "IMG0002299.jpg", "IMG0002300.jpg"}
    sub = _subset(fracatlas, twins, 10, tmp_path / "hand")
    assert data.detect_layout(sub) == "fracatlas-hand"
    recs = {r.path.name: r for r in data.load_records(sub)}
    assert {r.region for r in recs.values()} == {"hand"}
    # FracAtlas files a few images twice, byte for byte: they share a study, so a split
    # can never put one copy in training and the other in test.
    assert recs["IMG0002298.jpg"].study_id == recs["IMG0002379.jpg"].study_id
    assert recs["IMG0002299.jpg"].study_id == recs["IMG0002300.jpg"].study_id
    assert recs["IMG0002298.jpg"].study_id != recs["IMG0002299.jpg"].study_id
    assert recs["IMG0002298.jpg"].study_id == "sha256:" + data.file_sha256(
        fracatlas / "images" / "IMG0002298.jpg"
    )
    boxes = data.parse_boxes(recs["IMG0002298.jpg"].boxes)
    assert boxes == [(0.7748, 0.3229, 0.0759, 0.046), (0.2193, 0.3874, 0.0639, 0.0435)]
    assert recs["IMG0002298.jpg"].multiscan == 1 and recs["IMG0002298.jpg"].hardware == 0
    assert recs["IMG0000016.jpg"].boxes is None and recs["IMG0000016.jpg"].multiscan == 0
    assert len({r.study_id for r in recs.values()}) == len(recs) - 2


def test_parse_boxes() -> None:
    assert (
        data.parse_boxes(None) == [] and data.parse_boxes("") == [] and data.parse_boxes(";") == []
    )
    assert data.parse_boxes(" 0.5 0.5 0.1 0.2 ;0.1 0.2 0.3 0.4") == [
        (0.5, 0.5, 0.1, 0.2),
        (0.1, 0.2, 0.3, 0.4),
    ]
    with pytest.raises(DataError, match=r"m\.csv:3.*'0\.5 0\.5 0\.1' is not 'cx cy w h'"):
        data.parse_boxes("0.5 0.5 0.1", "m.csv:3")
    with pytest.raises(DataError, match="is not 'cx cy w h'"):
        data.parse_boxes("a b c d")
    with pytest.raises(DataError, match="no positive size"):
        data.parse_boxes("0.5 0.5 0 0.2")
    with pytest.raises(DataError, match="no positive size"):
        data.parse_boxes("0.5 0.5 nan 0.2")


def test_fracatlas_manifest_with_a_bad_box_names_the_row(tmp_path: Path) -> None:
    _png(tmp_path / "images" / "a.png")
    _csv(
        tmp_path / "manifest.csv",
        ["image", "fractured", "region", "fracture_boxes_yolo"],
        [["images/a.png", 1, "leg", "0.5 0.5 -0.1 0.2"]],
    )
    with pytest.raises(DataError, match=r"manifest\.csv:2"):
        data.load_records(tmp_path)


def test_new_columns_survive_manifest_and_split_round_trips(tmp_path: Path) -> None:
    from training import splits

    paths = [_png(tmp_path / "img" / f"{i}.png", value=10 * i) for i in range(6)]
    recs = [
        Record(
            p,
            i % 2,
            study_id=f"s{i}",
            view="frontal+lateral",
            region="leg+hip" if i == 0 else "hand",
            boxes="0.5 0.4 0.1 0.2;0.2 0.3 0.05 0.06" if i % 2 else None,
            hardware=int(i % 3 == 0),
            multiscan=None if i == 5 else int(i > 2),
        )
        for i, p in enumerate(paths)
    ]
    back = data.read_manifest(data.write_manifest(recs, tmp_path / "manifest.csv"))
    fields = ("label", "study_id", "view", "region", "boxes", "hardware", "multiscan")

    def key(r: Record) -> tuple:
        return tuple(getattr(r, f) for f in fields)

    assert [key(r) for r in back] == [key(r) for r in recs]
    assert back[5].multiscan is None and back[0].region == "leg+hip"
    split = splits.Split(recs[:4], recs[4:5], recs[5:], "patient", 0, {}, [])
    loaded = splits.load_split(split.save(tmp_path / "run"))
    assert [key(r) for r in loaded.train + loaded.tuning + loaded.test] == [key(r) for r in recs]
