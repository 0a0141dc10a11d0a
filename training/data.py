"""Training data: one record type, readers for the public wrist data sets, and a cached Dataset.

Every reader returns ``list[Record]``; paths are absolute. Layouts (see ``training/README.md``):

- ``manifest``: our own CSV with ``path,label`` and optional ``patient_id,study_id,view,date``
  (paths relative to the CSV's folder).
- ``fracatlas-hand``: the shared hand subset's ``manifest.csv`` (``image,fractured,frontal,
  lateral,oblique,hardware,multiscan,fracture_boxes_yolo``).
- ``fracatlas``: the original FracAtlas ``dataset.csv`` with images under
  ``images/Fractured`` and ``images/Non_fractured``.
- ``mura``: MURA v1.1 wrist studies (``XR_WRIST``) with ``{train,valid}_labeled_studies.csv``.
- ``grazpedwri``: GRAZPEDWRI-DX ``dataset.csv`` (``filestem``, ``patient_id``,
  ``fracture_visible``) with ``<filestem>.png`` under ``images/`` or ``img8bit/``.
- ``folders``: one folder per class (``fracture/``/``normal/`` or ``1/``/``0/``...).

FracAtlas has neither patient IDs nor dates, so splits of it may leak (see ``splits.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import inspect
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: File suffixes taken as images when walking folders ("" = DICOM without an extension).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom", ""})

LAYOUTS = (
    "manifest",
    "fracatlas-hand",
    "fracatlas-other",
    "fracatlas",
    "mura",
    "grazpedwri",
    "folders",
)

#: Folder names of the folder-per-class layout (case-insensitive).
POSITIVE_FOLDERS = frozenset({"fracture", "fractured", "fractures", "positive", "abnormal", "1"})
NEGATIVE_FOLDERS = frozenset(
    {"normal", "non_fractured", "non-fractured", "nonfractured", "no_fracture", "negative", "0"}
)


class DataError(Exception):
    """A data set that cannot be read; ``str(err)`` is ``"<path>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class Record:
    """One labelled radiograph.

    ``label``: 1 = fracture, 0 = none. ``view``: free text from the source ("frontal",
    "lateral", "oblique", "AP"...; several flags joined with "+"). ``date``: ISO 8601 date
    (YYYY-MM-DD) of the examination when the source has one. ``region``: body region(s)
    ("hand", "leg+hip"...). ``boxes``: fracture boxes as FracAtlas writes them (YOLO
    ``cx cy w h`` normalised to 0..1, ``;``-separated; :func:`parse_boxes`).
    ``hardware``/``multiscan``: 1/0 flags (metal implant; several views in one image).
    """

    path: Path
    label: int
    patient_id: str | None = None
    study_id: str | None = None
    view: str | None = None
    date: str | None = None
    region: str | None = None
    boxes: str | None = None
    hardware: int | None = None
    multiscan: int | None = None

    def to_row(self, relative_to: Path | None = None) -> dict[str, str]:
        p = self.path
        if relative_to is not None:
            # Relative only inside ``relative_to``: the data folder moves with its manifest.
            try:
                p = self.path.resolve().relative_to(relative_to)
            except ValueError:
                p = self.path.resolve()  # absolute: a cwd-relative path would not survive
        row = {k: ("" if v is None else str(v)) for k, v in asdict(self).items()}
        row["path"] = p.as_posix()
        return row


MANIFEST_COLUMNS = (
    "path",
    "label",
    "patient_id",
    "study_id",
    "view",
    "date",
    "region",
    "boxes",
    "hardware",
    "multiscan",
)


def parse_boxes(text: str | None, where: str = "") -> list[tuple[float, float, float, float]]:
    """YOLO boxes ``"cx cy w h;cx cy w h"`` (normalised 0..1) as tuples; empty for none."""
    out = []
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        try:
            cx, cy, w, h = (float(v) for v in part.split())
        except ValueError as exc:
            raise DataError(where or "boxes", f"box {part.strip()!r} is not 'cx cy w h'") from exc
        if not all(np.isfinite((cx, cy, w, h))) or w <= 0 or h <= 0:
            raise DataError(where or "boxes", f"box {part.strip()!r} has no positive size")
        out.append((cx, cy, w, h))
    return out


def _flag(value: str | None) -> int | None:
    v = _opt(value)
    return None if v is None else int(v.strip() == "1")


def _opt(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _parse_label(value: str, where: str) -> int:
    v = value.strip().lower()
    if v in ("1", "1.0", "true", "yes", "fracture", "positive"):
        return 1
    if v in ("0", "0.0", "false", "no", "normal", "negative"):
        return 0
    raise DataError(where, f"label {value!r} is neither 1 nor 0")


def _parse_date(value: str | None, where: str) -> str | None:
    v = _opt(value)
    if v is None:
        return None
    try:
        return dt.date.fromisoformat(v[:10]).isoformat()
    except ValueError as exc:
        raise DataError(where, f"date {v!r} is not an ISO date (YYYY-MM-DD)") from exc


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError as exc:
        raise DataError(path, "file not found") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(path, f"cannot read CSV ({exc})") from exc


def _require_columns(path: Path, rows: list[dict[str, str]], columns: Iterable[str]) -> None:
    have = set(rows[0].keys()) if rows else set()
    missing = [c for c in columns if c not in have]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}")


# --------------------------------------------------------------------------- manifest


def read_manifest(path: str | Path) -> list[Record]:
    """Our manifest CSV: ``path,label`` required; ``patient_id,study_id,view,date`` optional."""
    path = Path(path)
    rows = _read_csv(path)
    if not rows:
        raise DataError(path, "no rows")
    _require_columns(path, rows, ("path", "label"))
    base = path.parent
    out = []
    for i, row in enumerate(rows, start=2):
        where = f"{path}:{i}"
        p = Path(row["path"])
        out.append(
            Record(
                path=(p if p.is_absolute() else base / p),
                label=_parse_label(row["label"], where),
                patient_id=_opt(row.get("patient_id")),
                study_id=_opt(row.get("study_id")),
                view=_opt(row.get("view")),
                date=_parse_date(row.get("date"), where),
                region=_opt(row.get("region")),
                boxes=_opt(row.get("boxes")),
                hardware=_flag(row.get("hardware")),
                multiscan=_flag(row.get("multiscan")),
            )
        )
    return out


def write_manifest(records: Sequence[Record], path: str | Path) -> Path:
    """Write records as a manifest CSV; atomic. Paths inside the CSV's folder are written
    relative to it, others absolute."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS)
        w.writeheader()
        for r in records:
            w.writerow(r.to_row(path.parent.resolve()))
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- FracAtlas


def _fracatlas_view(row: dict[str, str]) -> str | None:
    names = [v for v in ("frontal", "lateral", "oblique") if (row.get(v) or "0").strip() == "1"]
    return "+".join(names) or None


def _fracatlas_manifest(path: str | Path, region: str | None) -> list[Record]:
    """A shared FracAtlas subset's ``manifest.csv`` (hand, or every other region).

    No patient IDs or dates exist. ``study_id`` is ``sha256:<hash of the file's bytes>``, so
    byte-identical files (FracAtlas files a few images twice) always share a split group.
    """
    path = Path(path)
    csv_path = path / "manifest.csv" if path.is_dir() else path
    rows = _read_csv(csv_path)
    _require_columns(csv_path, rows, ("image", "fractured"))
    base = csv_path.parent
    out = []
    for i, row in enumerate(rows, start=2):
        where = f"{csv_path}:{i}"
        image = base / row["image"]
        boxes = _opt(row.get("fracture_boxes_yolo"))
        parse_boxes(boxes, where)
        try:
            digest = file_sha256(image)
        except OSError:
            digest = None  # a missing image is reported when it is read, with the others
        out.append(
            Record(
                path=image,
                label=_parse_label(row["fractured"], where),
                study_id=f"sha256:{digest}" if digest else Path(row["image"]).stem,
                view=_fracatlas_view(row),
                region=_opt(row.get("region")) or region,
                boxes=boxes,
                hardware=_flag(row.get("hardware")),
                multiscan=_flag(row.get("multiscan")),
            )
        )
    return out


def read_fracatlas_hand(path: str | Path) -> list[Record]:
    """The shared FracAtlas hand/wrist/forearm subset (``fracatlas-hand/``)."""
    return _fracatlas_manifest(path, "hand")


def read_fracatlas_other(path: str | Path) -> list[Record]:
    """The shared FracAtlas images of every other region (``fracatlas-other/``: leg, hip,
    shoulder, mixed; a ``region`` column). Extra training data: never tuned or tested on."""
    return _fracatlas_manifest(path, None)


FRACATLAS_BODY_PARTS = ("hand", "leg", "hip", "shoulder")


def read_fracatlas(
    path: str | Path, body_parts: Sequence[str] = ("hand",), exclusive: bool = True
) -> list[Record]:
    """The original FracAtlas release: ``dataset.csv`` and ``images/{Fractured,Non_fractured}/``.

    ``body_parts``: keep images flagged with any of these; ``exclusive``: and with no other
    body part and not ``mixed`` (the shared hand subset was built this way).
    """
    path = Path(path)
    csv_path = path / "dataset.csv" if path.is_dir() else path
    root = csv_path.parent
    rows = _read_csv(csv_path)
    _require_columns(csv_path, rows, ("image_id", "fractured", *FRACATLAS_BODY_PARTS))
    wanted = set(body_parts)
    unknown = wanted - set(FRACATLAS_BODY_PARTS)
    if unknown:
        raise ValueError(f"unknown FracAtlas body part(s): {', '.join(sorted(unknown))}")
    out = []
    for i, row in enumerate(rows, start=2):
        flags = {b for b in FRACATLAS_BODY_PARTS if (row.get(b) or "0").strip() == "1"}
        if not flags & wanted:
            continue
        if exclusive and (flags - wanted or (row.get("mixed") or "0").strip() == "1"):
            continue
        label = _parse_label(row["fractured"], f"{csv_path}:{i}")
        folder = "Fractured" if label else "Non_fractured"
        image = root / "images" / folder / row["image_id"]
        if not image.exists():
            other = root / "images" / ("Non_fractured" if label else "Fractured") / row["image_id"]
            image = other if other.exists() else image
        out.append(
            Record(
                path=image,
                label=label,
                study_id=Path(row["image_id"]).stem,
                view=_fracatlas_view(row),
            )
        )
    return out


# --------------------------------------------------------------------------- MURA

_MURA_STUDY = re.compile(
    r"(?P<part>XR_[A-Z]+)/(?P<patient>patient\d+)/(?P<study>study\d+)_(?P<result>positive|negative)/?$"
)


def read_mura(
    path: str | Path, parts: Sequence[str] = ("train", "valid"), body_part: str = "XR_WRIST"
) -> list[Record]:
    """MURA v1.1 studies of one body part (default wrists).

    ``path``: the ``MURA-v1.1`` folder or its parent. Labels come from
    ``{part}_labeled_studies.csv`` (rows ``MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/,1``,
    no header; paths relative to the parent of ``MURA-v1.1``); every image in the study folder
    inherits the study label. ``patient_id`` = ``patientNNNNN``; ``study_id`` =
    ``patientNNNNN/studyK``. MURA has no dates.
    """
    path = Path(path)
    mura = (
        path
        if (path / "train_labeled_studies.csv").exists()
        or (path / "valid_labeled_studies.csv").exists()
        else path / "MURA-v1.1"
    )
    if not mura.is_dir():
        raise DataError(path, "no MURA-v1.1 folder with *_labeled_studies.csv")
    out: list[Record] = []
    for part in parts:
        csv_path = mura / f"{part}_labeled_studies.csv"
        try:
            with csv_path.open(newline="", encoding="utf-8") as fh:
                rows = [r for r in csv.reader(fh) if r]
        except FileNotFoundError as exc:
            raise DataError(csv_path, "file not found") from exc
        for i, row in enumerate(rows, start=1):
            if len(row) < 2:
                raise DataError(f"{csv_path}:{i}", "expected 'study_path/,label'")
            rel = row[0].strip().replace("\\", "/")
            m = _MURA_STUDY.search(rel)
            if m is None:
                raise DataError(f"{csv_path}:{i}", f"unexpected study path {rel!r}")
            if m["part"] != body_part:
                continue
            label = _parse_label(row[1], f"{csv_path}:{i}")
            rel_inside = rel.split("MURA-v1.1/", 1)[-1]
            folder = mura / rel_inside
            images = (
                sorted(
                    p
                    for p in folder.iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES
                    and p.is_file()
                    and not p.name.startswith(".")
                )
                if folder.is_dir()
                else []
            )
            if not images:
                log.warning("%s: study folder missing or empty, skipped", folder)
            for img in images:
                out.append(
                    Record(
                        path=img,
                        label=label,
                        patient_id=m["patient"],
                        study_id=f"{m['patient']}/{m['study']}",
                    )
                )
    return out


# --------------------------------------------------------------------------- GRAZPEDWRI-DX

_GRAZ_PROJECTION = {"1": "AP", "2": "lateral", "3": "oblique"}
_GRAZ_STEM = re.compile(r"^(?P<patient>\d+)_(?P<time>\d+)_\d+_WRI-(?P<side>[LR])(?P<proj>\d)")


def read_grazpedwri(path: str | Path) -> list[Record]:
    """GRAZPEDWRI-DX (Nagy et al., Scientific Data 2022): ``dataset.csv`` plus PNG images.

    Columns used: ``filestem``, ``patient_id``, ``fracture_visible`` (1, 0 or blank) and
    ``projection`` when present (1 = AP, 2 = lateral, 3 = oblique; else read from the
    filestem ``..._WRI-L1_...``). Rows with a blank ``fracture_visible`` are dropped (logged).
    ``study_id`` = the filestem's first two fields (patient and time hash). The time hash is an
    anonymised timestamp, not a calendar date, so ``date`` stays empty. Images are looked up as
    ``<filestem>.png`` anywhere under ``images/``, ``img8bit/`` or the data set folder.
    """
    path = Path(path)
    csv_path = path / "dataset.csv" if path.is_dir() else path
    root = csv_path.parent
    rows = _read_csv(csv_path)
    _require_columns(csv_path, rows, ("filestem", "fracture_visible"))
    index: dict[str, Path] = {}
    for sub in (
        "images",
        "img8bit",
        "images_part1",
        "images_part2",
        "images_part3",
        "images_part4",
        ".",
    ):
        d = root / sub
        if d.is_dir():
            for p in d.rglob("*.png") if sub != "." else d.glob("*.png"):
                index.setdefault(p.stem, p)
    out: list[Record] = []
    blank = 0
    for i, row in enumerate(rows, start=2):
        fv = (row.get("fracture_visible") or "").strip()
        if fv == "":
            blank += 1
            continue
        stem = row["filestem"].strip()
        m = _GRAZ_STEM.match(stem)
        proj = (row.get("projection") or "").strip() or (m["proj"] if m else "")
        patient = _opt(row.get("patient_id")) or (m["patient"] if m else None)
        out.append(
            Record(
                path=index.get(stem, root / "images" / f"{stem}.png"),
                label=_parse_label(fv, f"{csv_path}:{i}"),
                patient_id=patient,
                study_id=f"{m['patient']}_{m['time']}" if m else None,
                view=_GRAZ_PROJECTION.get(proj.split(".")[0]),
            )
        )
    if blank:
        log.warning("%s: %d row(s) without fracture_visible dropped", csv_path, blank)
    return out


# --------------------------------------------------------------------------- folder per class


def read_class_folders(path: str | Path) -> list[Record]:
    """Images under ``fracture/`` (or fractured, positive, abnormal, 1) and ``normal/`` (or
    non_fractured, negative, 0). Sub-folders inside a class folder become ``study_id``."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(path, "not a folder")
    out: list[Record] = []
    found = False
    for d in sorted(p for p in path.iterdir() if p.is_dir()):
        name = d.name.lower()
        if name in POSITIVE_FOLDERS:
            label = 1
        elif name in NEGATIVE_FOLDERS:
            label = 0
        else:
            continue
        found = True
        for f in sorted(d.rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                parent = f.parent.relative_to(d)
                out.append(
                    Record(
                        path=f, label=label, study_id=parent.as_posix() if parent.parts else None
                    )
                )
    if not found:
        raise DataError(path, "no class folders (fracture/ and normal/, or 1/ and 0/)")
    return out


# --------------------------------------------------------------------------- dispatch


def detect_layout(path: str | Path) -> str:
    """Guess the layout of ``path`` (a folder or a CSV file); raises DataError when unsure."""
    path = Path(path)
    if path.is_file():
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
        cols = {c.strip() for c in header}
        if {"path", "label"} <= cols:
            return "manifest"
        if {"image", "fractured", "region"} <= cols:
            return "fracatlas-other"
        if {"image", "fractured"} <= cols:
            return "fracatlas-hand"
        if {"image_id", "fractured"} <= cols:
            return "fracatlas"
        if {"filestem", "fracture_visible"} <= cols:
            return "grazpedwri"
        if path.name.endswith("_labeled_studies.csv"):
            return "mura"
        raise DataError(path, "unknown CSV layout (columns: " + ", ".join(sorted(cols)) + ")")
    if not path.is_dir():
        raise DataError(path, "no such file or folder")
    for name in ("manifest.csv", "dataset.csv"):
        if (path / name).is_file():
            try:
                return detect_layout(path / name)
            except DataError:
                continue
    if (
        (path / "MURA-v1.1").is_dir()
        or (path / "train_labeled_studies.csv").is_file()
        or (path / "valid_labeled_studies.csv").is_file()
    ):
        return "mura"
    if any(
        p.is_dir() and p.name.lower() in POSITIVE_FOLDERS | NEGATIVE_FOLDERS for p in path.iterdir()
    ):
        return "folders"
    raise DataError(path, "cannot tell the data layout; pass --layout")


def load_records(path: str | Path, layout: str = "auto", **options: Any) -> list[Record]:
    """Read any supported layout into records (``layout="auto"`` detects it)."""
    path = Path(path)
    if layout == "auto":
        layout = detect_layout(path)
    readers: dict[str, Callable[..., list[Record]]] = {
        "manifest": read_manifest,
        "fracatlas-hand": read_fracatlas_hand,
        "fracatlas-other": read_fracatlas_other,
        "fracatlas": read_fracatlas,
        "mura": read_mura,
        "grazpedwri": read_grazpedwri,
        "folders": read_class_folders,
    }
    if layout not in readers:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if layout == "manifest" and path.is_dir():
        path = path / "manifest.csv"
    if layout == "mura" and path.is_file():
        path = path.parent
    records = readers[layout](path, **options)
    if not records:
        raise DataError(path, f"no records found ({layout} layout)")
    return records


def summarize(records: Sequence[Record]) -> dict[str, Any]:
    """Counts for reports and model cards (no paths, no patient identifiers)."""
    labels = [r.label for r in records]
    patients = {r.patient_id for r in records if r.patient_id is not None}
    dates = sorted(r.date for r in records if r.date)
    return {
        "images": len(records),
        "fracture": int(sum(labels)),
        "no_fracture": len(labels) - int(sum(labels)),
        "patients": len(patients) if patients else None,
        "images_without_patient_id": sum(r.patient_id is None for r in records),
        "date_range": [dates[0], dates[-1]] if dates else None,
        "by_region": by_region(records),
    }


def by_region(records: Sequence[Record]) -> dict[str, dict[str, int]]:
    """Images and fractures per region (``"unknown"`` where the source names none)."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        d = out.setdefault(r.region or "unknown", {"images": 0, "fracture": 0})
        d["images"] += 1
        d["fracture"] += r.label
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- preprocessing cache and Dataset


def recipe_hash(recipe: Any) -> str:
    """Hex key of a preprocessing recipe and of the code that applies it (16 characters).

    Includes the source of ``wristviewer.ai.recipe`` and ``imaging.enhance.clahe``
    so a changed implementation never reuses stale cached arrays.
    """
    from wristviewer.ai import recipe as recipe_module
    from wristviewer.imaging import enhance

    h = hashlib.sha256(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    for fn in (recipe_module, enhance.clahe):
        try:
            h.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):  # frozen app without sources
            h.update(fn.__qualname__.encode())
    return h.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def zoom_in(image: np.ndarray, factor: float = 1.1) -> np.ndarray:
    """The paper's 10% zoom-in: the central 1/``factor`` of each side, resized back.

    ``image``: (channels, rows, cols) float; returns the same shape and dtype (bilinear).
    """
    import cv2

    c, h, w = image.shape
    ch, cw = max(1, round(h / factor)), max(1, round(w / factor))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = np.ascontiguousarray(
        image[:, y0 : y0 + ch, x0 : x0 + cw].transpose(1, 2, 0), dtype=np.float32
    )
    out = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
    if out.ndim == 2:
        out = out[:, :, None]
    return np.ascontiguousarray(out.transpose(2, 0, 1)).astype(image.dtype, copy=False)


@dataclass(frozen=True)
class Sample:
    """One item a Dataset yields: a record, and whether it is a zoomed-in oversampled copy."""

    record: Record
    zoomed: bool = False


def oversample_minority(records: Sequence[Record], zoom: bool = True) -> list[Sample]:
    """The paper's oversampling: every image of the minority class once more, as a 10% zoom-in.

    With ``zoom=False`` the extra copies are plain duplicates. Classes of equal size: no copies.
    """
    samples = [Sample(r) for r in records]
    pos = sum(r.label for r in records)
    neg = len(records) - pos
    if pos == neg or min(pos, neg) == 0:
        return samples
    minority = 1 if pos < neg else 0
    samples += [Sample(r, zoomed=zoom) for r in records if r.label == minority]
    return samples


class PreprocessCache:
    """Preprocessed model inputs on disk, keyed by sha256(file bytes) and the recipe hash.

    Layout: ``<root>/<recipe_hash>/<file_sha256>.npy`` (float16 by default, shape
    (channels, input_height, input_width)). Later epochs skip decoding, CLAHE and resizing.
    Writes are atomic (temporary file + os.replace), so parallel workers can share a cache.
    """

    def __init__(self, root: str | Path, recipe: Any, dtype: str = "float16") -> None:
        self.recipe = recipe
        self.key = recipe_hash(recipe)
        self.folder = Path(root) / self.key
        self.dtype = np.dtype(dtype)
        self._file_hash: dict[tuple[str, int, int], str] = {}

    def _hash(self, path: Path) -> str:
        st = path.stat()
        k = (str(path), st.st_size, st.st_mtime_ns)
        h = self._file_hash.get(k)
        if h is None:
            h = self._file_hash[k] = file_sha256(path)
        return h

    def get(self, path: Path) -> np.ndarray:
        """The preprocessed array of ``path`` as float32, computing and storing it if needed.

        Raises ``wristviewer.imaging.ImagingError`` (or OSError) when the file cannot be read.
        """
        entry = self.folder / f"{self._hash(path)}.npy"
        if entry.exists():
            try:
                return np.load(entry).astype(np.float32)
            except (OSError, ValueError):
                log.warning("%s: damaged cache entry, recomputed", entry)
        from wristviewer.ai.recipe import preprocess
        from wristviewer.imaging import read

        arr = preprocess(read(path), self.recipe)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr.astype(self.dtype))
        os.replace(tmp, entry)
        return (
            np.load(entry).astype(np.float32)
            if self.dtype != np.float32
            else arr.astype(np.float32)
        )


class EnhancedCache(PreprocessCache):
    """The enhanced single-channel image before normalisation, for augmentation: CLAHE on the
    full-resolution pixels and the recipe's resize (``recipe.fit_to_input``), float16
    (input_height, input_width) in 0..1, with the radiograph's (cols, rows) so the content box
    (where the padding is not) and the fracture boxes can be placed. Kept in memory after the
    first read (a FracAtlas image is about 120 kB at 224×272)."""

    def __init__(self, root: str | Path, recipe: Any, dtype: str = "float16") -> None:
        super().__init__(root, recipe, dtype)
        self.folder = Path(root) / f"{self.key}-enhanced"
        self._memory: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}

    def get(self, path: Path) -> np.ndarray:
        return self.get_with_size(path)[0].astype(np.float32)

    def get_with_size(self, path: Path) -> tuple[np.ndarray, tuple[int, int]]:
        """(image float16 (H, W) in 0..1, (cols, rows) of the radiograph)."""
        key = str(path)
        hit = self._memory.get(key)
        if hit is not None:
            return hit
        entry = self.folder / f"{self._hash(path)}.npz"
        value = None
        if entry.exists():
            try:
                with np.load(entry) as z:
                    value = (z["image"].astype(np.float16), (int(z["size"][0]), int(z["size"][1])))
            except (OSError, ValueError, KeyError):
                log.warning("%s: damaged cache entry, recomputed", entry)
        if value is None:
            from wristviewer.ai.recipe import enhance_and_resize
            from wristviewer.imaging import read

            radiograph = read(path)
            image = enhance_and_resize(radiograph, self.recipe).astype(np.float16)
            value = (image, (radiograph.cols, radiograph.rows))
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".npz.tmp")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, image=image, size=np.array(value[1], dtype=np.int64))
            os.replace(tmp, entry)
        self._memory[key] = value
        return value


def _try_cache(cache: PreprocessCache, path: str) -> tuple[str, str | None]:
    from wristviewer.imaging import ImagingError

    try:
        cache.get(Path(path))
    except ImagingError as exc:
        return path, str(exc)
    except (OSError, ValueError) as exc:
        return path, f"{path}: {exc}"
    return path, None


_WORKER_CACHE: PreprocessCache | None = None


def _init_worker(root: str, recipe_dict: dict, dtype: str, enhanced: bool = False) -> None:
    global _WORKER_CACHE
    from wristviewer.ai.recipe import Recipe

    kind = EnhancedCache if enhanced else PreprocessCache
    _WORKER_CACHE = kind(root, Recipe.from_dict(recipe_dict), dtype)


def _warm_one(path: str) -> tuple[str, str | None]:
    assert _WORKER_CACHE is not None
    return _try_cache(_WORKER_CACHE, path)


def warm_cache(
    records: Sequence[Record],
    cache: PreprocessCache,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Record], list[Any]]:
    """Preprocess every record into the cache; returns (readable records, skipped files).

    Unreadable images are skipped and listed as ``wristviewer.imaging.SkippedFile`` (path and
    the sentence why) rather than crashing a run hours later. ``workers`` > 0 uses processes.
    """
    from wristviewer.imaging import SkippedFile

    jobs = list(dict.fromkeys(str(r.path) for r in records))
    results: dict[str, str | None] = {}
    if workers > 0 and len(jobs) > 1:
        import multiprocessing as mp

        init = (
            str(cache.folder.parent),
            cache.recipe.to_dict(),
            cache.dtype.name,
            isinstance(cache, EnhancedCache),
        )
        with mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=init) as pool:
            for k, (p, err) in enumerate(
                pool.imap_unordered(_warm_one, jobs, chunksize=4), start=1
            ):
                results[p] = err
                if progress:
                    progress(k, len(jobs))
    else:
        for k, job in enumerate(jobs, start=1):
            p, err = _try_cache(cache, job)
            results[p] = err
            if progress:
                progress(k, len(jobs))
    good = [r for r in records if results[str(r.path)] is None]
    skipped = [
        SkippedFile(r.path, results[str(r.path)] or "")
        for r in records
        if results[str(r.path)] is not None
    ]
    for s in skipped:
        log.warning("skipped %s", s.reason)
    return good, skipped


class RadiographDataset:
    """Map-style dataset for torch's DataLoader: ``(image, label)`` as numpy arrays.

    ``image``: float32 (channels, input_height, input_width), preprocessed by
    ``wristviewer.ai.recipe.preprocess`` (via the cache); zoomed samples get :func:`zoom_in`
    applied to the preprocessed array. ``label``: float32 scalar (1 = fracture). No torch
    import: the default collate turns the arrays into tensors.
    """

    def __init__(
        self, samples: Sequence[Sample | Record], cache: PreprocessCache, zoom_factor: float = 1.1
    ) -> None:
        self.samples = [s if isinstance(s, Sample) else Sample(s) for s in samples]
        self.cache = cache
        self.zoom_factor = zoom_factor

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.record.label for s in self.samples], dtype=np.int64)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.float32]:
        s = self.samples[index]
        image = self.cache.get(s.record.path)
        if s.zoomed:
            image = zoom_in(image, self.zoom_factor)
        return image, np.float32(s.record.label)
