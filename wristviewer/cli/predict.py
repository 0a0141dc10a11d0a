"""``wristviewer predict PATH...``: fracture probabilities for one study or a folder of studies.

Streaming: the files are grouped by the folder that holds them and read, predicted and
released a few at a time (at most :data:`FILES_PER_CHUNK` decoded images in memory), so a
folder of hundreds of studies never sits decoded in memory at once. Views of one study that
arrive in different chunks (a DICOM study spread over series folders, a big folder of plain
images) are merged by study id afterwards; that is exact, because each view's probability
does not depend on the others, and the study probability is re-aggregated over all views.

``--json`` writes ``{"model": {name, arch, sha256, untrained, ...} (an ensemble: name and arch
"ensemble", sha256 over the members' sorted checksums, and "members"), "device", "precision",
"studies": [{id, fracture_probability, threshold, suspected, views: [{path, view,
fracture_probability, heatmap_png, heatmap_peak: {x, y}, warnings}]}], "skipped": [{path,
reason}], "seconds": {load, preprocess, inference, total}}``, as strict JSON
(:mod:`wristviewer.cli.jsonout`: no NaN or Infinity; file names that are not UTF-8 as
surrogate escapes such as ``\\udcff``). ``--csv`` writes UTF-8 with those names as their
original bytes (``errors="surrogateescape"``). ``load`` is reading the bundles, building the
models and decoding the images; ``inference`` the forward passes, CAMs and heatmaps;
``total`` the wall time of the command. ``heatmap_peak`` is where the model looked hardest:
the maximum of the class-activation map, in the original image's pixel coordinates (x =
column, y = row, before any display rotation; null when unknown); ``--csv`` gives it as
``heatmap_peak_x`` and ``heatmap_peak_y``.

Exit status: 0 when at least one study was predicted, 2 when nothing readable was found,
3 when no usable model is installed (with a sentence saying how to install one), 4 when the
predictions were made and printed but the ``--csv`` file could not be written (a full disk, no
permission; said in a sentence).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from wristviewer.ai.registry import (
    ARCHITECTURES,
    AUTO,
    ENSEMBLE,
    ENSEMBLE_RULE,
    ensemble_sha256,
)
from wristviewer.cli import jsonout

EXIT_OK = 0
EXIT_NOTHING_READABLE = 2
EXIT_NO_MODEL = 3
EXIT_OUTPUT_FAILED = 4

#: most image files decoded at once
FILES_PER_CHUNK = 12


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="fracture probability and heatmaps for studies, without a window",
        description="Run the fracture models on one study or a folder of studies. "
        "A second opinion, not a diagnosis.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM/PNG/JPEG files or folders")
    p.add_argument(
        "--model",
        default=AUTO,
        metavar="|".join((*ARCHITECTURES, ENSEMBLE, AUTO, "FILE")),
        help="which installed model(s) to run, or a bundle file (default: auto = the ensemble "
        "when both architectures are installed, else the one that is)",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "fp16", "bf16"),
        help="auto: fp16 on CUDA, fp32 elsewhere",
    )
    p.add_argument("--json", action="store_true", help="write one JSON document on stdout")
    p.add_argument(
        "--heatmaps", metavar="DIR", help="write a heatmap overlay PNG per view into DIR"
    )
    p.add_argument("--csv", metavar="FILE", help="write one row per view to FILE")
    p.add_argument(
        "--one-study-per-folder",
        action="store_true",
        help="treat the PNG/JPEG images of each folder as one study (one probability over "
        "them all); by default each plain image is a study of its own, as they carry no "
        "patient data (DICOM always groups by Study Instance UID)",
    )
    p.set_defaults(run=run)


@dataclass
class _ViewRecord:
    path: str
    view: str
    fracture_probability: float
    heatmap_png: str | None
    hanging_order: int
    member_probabilities: dict[str, float] = field(default_factory=dict)
    heatmap_peak: tuple[float, float] | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class _StudyRecord:
    id: str
    number: int
    views: list[_ViewRecord] = field(default_factory=list)


def _safe(text: str, limit: int = 40) -> str:
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "view")[-limit:]


def _group_files(paths: Sequence[str]) -> tuple[list[list[Path]], list[tuple[Path, str]]]:
    """Files to read grouped by their folder (in a stable order), and what was skipped unopened.

    The file rules (recursion, hidden files, documents) are the imaging layer's
    :func:`~wristviewer.imaging.studies.expand_paths`.
    """
    from wristviewer.imaging import expand_paths

    files, skipped = expand_paths(paths)
    groups: dict[Path, list[Path]] = {}
    for f in files:
        groups.setdefault(f.parent, []).append(f)
    return list(groups.values()), [(s.path, s.reason) for s in skipped]


def _chunks(groups: list[list[Path]]) -> Iterator[list[Path]]:
    for files in groups:
        for i in range(0, len(files), FILES_PER_CHUNK):
            yield files[i : i + FILES_PER_CHUNK]


class _ProgressBar:
    """A plain text bar on stderr: redrawn in place on a terminal, every 10 % otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled and total > 1
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_decile = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        frac = done / self.total
        filled = int(round(30 * frac))
        text = f"[{'#' * filled}{'-' * (30 - filled)}] {done}/{self.total} groups of files"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done == self.total else ""))
            self.stream.flush()
        elif int(frac * 10) > self._last_decile:
            self._last_decile = int(frac * 10)
            self.stream.write(text + "\n")


def _warn(message: str) -> None:
    from wristviewer.text import printable

    sys.stderr.write(printable(message) + "\n")


UNTRAINED_WARNING = (
    "!!! WARNING: {names} {verb} UNTRAINED (random weights). The probabilities and heatmaps "
    "below are MEANINGLESS and must not be used for any clinical decision. !!!"
)


def run(args: argparse.Namespace) -> int:
    t_total = time.perf_counter()
    from wristviewer.ai.bundle import BundleError
    from wristviewer.ai.registry import HOW_TO_INSTALL, RegistryError, resolve_models

    t0 = time.perf_counter()
    try:
        bundles = resolve_models(args.model)
    except BundleError as exc:
        _warn(f"{exc}. {HOW_TO_INSTALL}")
        return EXIT_NO_MODEL
    except RegistryError as exc:
        _warn(str(exc))
        return EXIT_NO_MODEL

    from wristviewer.ai.predictor import Predictor

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        predictor = Predictor(bundles, device=args.device, precision=args.precision)
    for warning in caught:
        _warn(f"warning: {warning.message}")
    seconds = {"load": time.perf_counter() - t0, "preprocess": 0.0, "inference": 0.0}
    untrained = [b.card.name for b in bundles if b.card.untrained]
    if untrained:
        verb = "IS" if len(untrained) == 1 else "ARE"
        _warn(UNTRAINED_WARNING.format(names=", ".join(untrained), verb=verb))

    records, skipped = _predict_all(args, predictor, seconds)
    studies = _finish(records, predictor)
    seconds["total"] = time.perf_counter() - t_total

    csv_error = _write_csv(Path(args.csv), studies, predictor) if args.csv else None
    if args.json:
        doc = {
            "model": _describe_model(bundles),
            "device": predictor.device_name,
            "precision": predictor.precision,
            "precision_reason": predictor.precision_reason,
            "studies": studies,
            "skipped": [{"path": str(p), "reason": r} for p, r in skipped],
            "seconds": {k: round(v, 4) for k, v in seconds.items()},
        }
        sys.stdout.write(jsonout.dumps(doc) + "\n")
    else:
        _print_text(studies, predictor, seconds)
    if csv_error:
        _warn(csv_error)
    if not studies:
        _warn("No readable radiograph was found in the given paths.")
        return EXIT_NOTHING_READABLE
    return EXIT_OUTPUT_FAILED if csv_error else EXIT_OK


def _predict_all(
    args: argparse.Namespace, predictor: Any, seconds: dict[str, float]
) -> tuple[dict[str, _StudyRecord], list[tuple[Path, str]]]:
    import cv2

    from wristviewer.ai.heatmap import overlay_heatmap
    from wristviewer.imaging import apply_window, load_studies

    groups, skipped = _group_files(args.paths)
    for path, reason in skipped:
        _warn(f"skipped {path}: {reason}")
    heat_dir = Path(args.heatmaps) if args.heatmaps else None
    if heat_dir is not None:
        try:
            heat_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _warn(
                f"{heat_dir}: no heatmaps written, the folder cannot be made ({exc.strerror or exc})"
            )
            heat_dir = None
    records: dict[str, _StudyRecord] = {}
    chunks = list(_chunks(groups))
    bar = _ProgressBar(len(chunks), sys.stderr, enabled=True)
    for done, chunk in enumerate(chunks, start=1):
        t0 = time.perf_counter()
        studies, unreadable = load_studies(chunk, plain_images_by_folder=args.one_study_per_folder)
        seconds["load"] += time.perf_counter() - t0
        for item in unreadable:
            skipped.append((item.path, item.reason))
            _warn(f"skipped {item.path}: {item.reason}")
        for radiograph in (r for s in studies for r in s.views):
            for text in radiograph.warnings:
                _warn(f"warning: {radiograph.path}: {text}")
        while studies:
            study = studies.pop(0)
            try:
                prediction = predictor.predict_study(study)
            except (ValueError, RuntimeError, MemoryError, cv2.error) as exc:
                # NonFiniteResult names the views that gave NaN/inf; the others of the study
                # get the whole sentence: no verdict for a study with an unusable view
                view_errors = getattr(exc, "view_errors", {})
                for radiograph in study.views:
                    reason = view_errors.get(radiograph.path) or f"prediction failed: {exc}"
                    skipped.append((radiograph.path, reason))
                    _warn(f"skipped {radiograph.path}: {reason}")
                continue
            seconds["preprocess"] += prediction.seconds.get("preprocess", 0.0)
            seconds["inference"] += prediction.seconds.get(
                "inference", 0.0
            ) + prediction.seconds.get("heatmaps", 0.0)
            record = records.setdefault(study.id, _StudyRecord(study.id, number=len(records) + 1))
            for radiograph, vp in zip(study.views, prediction.views, strict=True):
                png: str | None = None
                if heat_dir is not None:
                    stem = _safe(radiograph.path.stem)
                    name = f"s{record.number:04d}_v{len(record.views) + 1}_{stem}.png"
                    target = heat_dir / name
                    image = overlay_heatmap(
                        apply_window(radiograph.pixels, radiograph.window), vp.heatmap
                    )
                    png = _write_png(target, image)
                record.views.append(
                    _ViewRecord(
                        path=str(radiograph.path),
                        view=str(radiograph.view.value),
                        fracture_probability=vp.fracture_probability,
                        heatmap_png=png,
                        hanging_order=radiograph.view.hanging_order,
                        member_probabilities=vp.member_probabilities,
                        heatmap_peak=vp.heatmap_peak,
                        warnings=radiograph.warnings,
                    )
                )
            del study, prediction
        bar.update(done)
    return records, skipped


def _finish(records: dict[str, _StudyRecord], predictor: Any) -> list[dict[str, Any]]:
    from wristviewer.ai.predictor import aggregate

    out = []
    for record in records.values():
        views = sorted(record.views, key=lambda v: (v.hanging_order, v.path))
        probability = aggregate([v.fracture_probability for v in views], predictor.aggregation)
        entry: dict[str, Any] = {
            "id": record.id,
            "fracture_probability": probability,
            "threshold": predictor.threshold,
            "suspected": bool(probability >= predictor.threshold),
            "views": [
                {
                    "path": v.path,
                    "view": v.view,
                    "fracture_probability": v.fracture_probability,
                    "heatmap_png": v.heatmap_png,
                    "heatmap_peak": (
                        None
                        if v.heatmap_peak is None
                        else {"x": round(v.heatmap_peak[0], 1), "y": round(v.heatmap_peak[1], 1)}
                    ),
                    "warnings": list(v.warnings),
                }
                | ({"members": v.member_probabilities} if len(v.member_probabilities) > 1 else {})
                for v in views
            ],
        }
        out.append(entry)
    return out


def _describe_model(bundles: Sequence[Any]) -> dict[str, Any]:
    members = [
        {
            "name": b.card.name,
            "arch": b.card.arch,
            "sha256": b.card.weights_sha256,
            "untrained": b.card.untrained,
            "version": b.card.version,
            "path": str(b.path),
        }
        for b in bundles
    ]
    if len(members) == 1:
        return members[0]
    return {
        "name": ENSEMBLE,
        "arch": ENSEMBLE,
        "sha256": ensemble_sha256(m["sha256"] for m in members),
        "untrained": any(m["untrained"] for m in members),
        "members": members,
        "rule": ENSEMBLE_RULE,
    }


def _write_png(target: Path, image: Any) -> str | None:
    """Write a heatmap overlay; its path, or None (with a sentence) when it cannot be written.

    Encoded here and written by Python, so any file name works (OpenCV's own writer does not
    take every name the file system does)."""
    import cv2

    ok, buf = cv2.imencode(".png", image)
    try:
        if not ok:
            raise OSError("OpenCV could not encode the image")
        target.write_bytes(buf.tobytes())
    except OSError as exc:
        _warn(f"{target}: could not write the heatmap overlay ({exc.strerror or exc})")
        return None
    return str(target)


def _write_csv(path: Path, studies: list[dict[str, Any]], predictor: Any) -> str | None:
    """Write the CSV; None when done, else the sentence why it could not be (it may be partial).

    UTF-8; file names that are not UTF-8 are written as their original bytes.
    """
    try:
        _write_csv_rows(path, studies, predictor)
    except OSError as exc:
        return (
            f"{path}: the CSV file could not be written ({exc.strerror or exc}); "
            "it may be missing or incomplete"
        )
    return None


def _write_csv_rows(path: Path, studies: list[dict[str, Any]], predictor: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "study_id",
                "path",
                "view",
                "fracture_probability",
                "study_fracture_probability",
                "threshold",
                "suspected",
                "heatmap_png",
                "heatmap_peak_x",
                "heatmap_peak_y",
                "models",
            ]
        )
        models = "+".join(predictor.model_names)
        for s in studies:
            for v in s["views"]:
                writer.writerow(
                    [
                        s["id"],
                        v["path"],
                        v["view"],
                        f"{v['fracture_probability']:.6f}",
                        f"{s['fracture_probability']:.6f}",
                        f"{s['threshold']:.6f}",
                        int(s["suspected"]),
                        v["heatmap_png"] or "",
                        *(
                            ("", "")
                            if v["heatmap_peak"] is None
                            else (v["heatmap_peak"]["x"], v["heatmap_peak"]["y"])
                        ),
                        models,
                    ]
                )


def _print_text(studies: list[dict[str, Any]], predictor: Any, seconds: dict[str, float]) -> None:
    from wristviewer.text import printable

    out = sys.stdout
    names = " + ".join(printable(n) for n in predictor.model_names)
    out.write(f"model: {names} on {predictor.device_name} ({predictor.precision})\n")
    for s in studies:
        verdict = "FRACTURE SUSPECTED" if s["suspected"] else "no fracture suspected"
        out.write(
            f"{s['id']}: fracture probability {s['fracture_probability']:.3f} "
            f"(threshold {s['threshold']:.3f}) - {verdict}\n"
        )
        for v in s["views"]:
            extra = f"  heatmap: {v['heatmap_png']}" if v["heatmap_png"] else ""
            out.write(f"    {v['view']:<8} {v['fracture_probability']:.3f}  {v['path']}{extra}\n")
    out.write(
        f"{len(studies)} studies in {seconds['total']:.1f} s. A second opinion, not a diagnosis.\n"
    )
