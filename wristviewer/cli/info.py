"""``wristviewer info PATH... [--json]``: what each file is, or why it cannot be read, and the studies.

Every file is decoded (so "ok" means the viewer can show it), but its pixels are dropped at
once: memory stays at one image however large the folder. Multi-frame DICOM is reported with
its frame count; the viewer shows frame 1. What the reader repaired or ignored (an unusable
Pixel Spacing) is listed as the file's ``warnings``. Exit status 0 when at least one image was
read, 2 when none was.

``--json`` is strict JSON (:mod:`wristviewer.cli.jsonout`): no NaN or Infinity, and file names
that are not UTF-8 written losslessly as surrogate escapes (``\\udcff``). Each DICOM file's
``patient_identity`` holds the patient and examination its header names (name, ID, birth date,
study date, accession number, ...: :class:`~wristviewer.imaging.identity.PatientIdentity`);
it is null for plain images. It is the physician's own data on their own machine: pass an
anonymised export (``wristviewer`` File > Export anonymised) to share a report.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from wristviewer.cli import jsonout


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "info",
        help="describe radiograph files and how they group into studies",
        description="Print, for each file, what was read (format, size, bit depth, view, "
        "laterality, pixel spacing) or why it could not be read, then the study grouping.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (recursive)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run)


@dataclass
class _FileReport:
    path: str
    ok: bool
    error: str | None = None
    format: str | None = None
    rows: int | None = None
    cols: int | None = None
    bits_stored: int | None = None
    photometric: str | None = None
    transfer_syntax: str | None = None
    view: str | None = None
    laterality: str | None = None
    pixel_spacing_mm: list[float] | None = None
    pixel_spacing_source: str | None = None
    frame_count: int | None = None
    warnings: list[str] = field(default_factory=list)
    patient_identity: dict[str, str | None] | None = None
    study: str | None = field(default=None, repr=False)


def collect(paths: list[str]) -> tuple[list[_FileReport], list[dict[str, Any]]]:
    """Read every file (pixels dropped), returning per-file reports and the study grouping."""
    from wristviewer.imaging import ImagingError, View, expand_paths, read_many, study_key

    files, skipped = expand_paths(paths)
    reports = [_FileReport(path=str(s.path), ok=False, error=s.reason) for s in skipped]
    for path, result in read_many(files):
        if isinstance(result, ImagingError):
            reports.append(_FileReport(path=str(path), ok=False, error=result.reason))
            continue
        r = result
        reports.append(
            _FileReport(
                path=str(path),
                ok=True,
                format=r.format,
                rows=r.rows,
                cols=r.cols,
                bits_stored=r.bits_stored,
                photometric=r.photometric,
                transfer_syntax=r.transfer_syntax,
                view=str(r.view),
                laterality=r.laterality,
                pixel_spacing_mm=list(r.pixel_spacing_mm) if r.pixel_spacing_mm else None,
                pixel_spacing_source=r.pixel_spacing_source,
                frame_count=r.frame_count,
                warnings=list(r.warnings),
                patient_identity=asdict(r.identity) if r.identity is not None else None,
                study=study_key(r),
            )
        )
        del r, result  # drop the pixels before the next file

    groups: dict[str, list[_FileReport]] = {}  # in discovery order, like load_studies
    for report in reports:
        if report.ok and report.study is not None:
            groups.setdefault(report.study, []).append(report)
    studies = []
    for key, members in groups.items():
        members.sort(key=lambda m: (View(m.view or View.UNKNOWN.value).hanging_order, m.path))
        studies.append({"id": key, "views": [{"path": m.path, "view": m.view} for m in members]})
    reports.sort(key=lambda rep: rep.path)
    return reports, studies


def _ts_name(uid: str | None) -> str:
    if not uid:
        return ""
    from pydicom.uid import UID

    return UID(uid).name


def _text_line(report: _FileReport) -> str:
    if not report.ok:
        return f"SKIP  {report.path}: {report.error}"
    parts = [f"{report.format} {report.cols}×{report.rows}", f"{report.bits_stored}-bit"]
    parts.append(str(report.photometric))
    if report.transfer_syntax:
        parts.append(_ts_name(report.transfer_syntax))
    if report.frame_count and report.frame_count > 1:
        parts.append(f"{report.frame_count} frames (frame 1 shown)")
    parts.append(f"view {report.view}")
    parts.append(f"side {report.laterality or '?'}")
    if report.pixel_spacing_mm:
        parts.append("spacing {:.3g}×{:.3g} mm".format(*report.pixel_spacing_mm))
    line = f"OK    {report.path}: " + ", ".join(parts)
    return "\n".join([line, *(f"      warning: {w}" for w in report.warnings)])


def run(args: argparse.Namespace) -> int:
    reports, studies = collect(list(args.paths))
    if args.json:
        files = []
        for r in reports:
            entry = {k: v for k, v in r.__dict__.items() if k != "study"}
            files.append(entry)
        sys.stdout.write(jsonout.dumps({"files": files, "studies": studies}) + "\n")
    else:
        for report in reports:
            print(_text_line(report))
        n_ok = sum(r.ok for r in reports)
        print(f"\n{n_ok} of {len(reports)} file(s) read, {len(studies)} study(ies)")
        for study in studies:
            print(f"Study {study['id']}")
            for view in study["views"]:
                print(f"  {view['view']:<8} {view['path']}")
    return 0 if any(r.ok for r in reports) else 2
