"""The content of an exported report, Qt-free: what goes on the page, as HTML and plain text.

:func:`build_report` gathers the views (greyscale and heatmap overlay as uint8 RGB arrays,
at most :data:`MAX_IMAGE_SIDE` px on the long side), the probabilities against the threshold,
a summary of each model card, the physician's read and decision, the date and the
disclaimer, and the study reference (:func:`report_reference`: study date and time and the
accession number, else the Study ID or UID) so the page can be matched to the examination.
Patient identifiers (name, ID, birth date, study date, from the DICOM header) are included
**only** with ``include_identifiers=True``; otherwise the report names no patient and no file
(a study of plain images is then referred to by its number of images only). The Qt side (:mod:`wristviewer.ui.report`) lays the HTML out to PDF/PNG.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np

from wristviewer.ai.card import ModelCard
from wristviewer.ai.results import StudyPrediction
from wristviewer.imaging import Radiograph, Study, read_dicom_tags
from wristviewer.imaging.identity import NO_PATIENT_DATA, study_identity, study_reference
from wristviewer.imaging.measure import Measurement, measurements_report
from wristviewer.text import printable
from wristviewer.workflow.blind_read import ReadSession

MAX_IMAGE_SIDE = 800
DISCLAIMER = (
    "A second opinion, not a diagnosis: the radiographs must be read by a clinician, who "
    "decides. The model can miss fractures and flag normal wrists. Not a medical device "
    "report."
)
IDENTIFIER_TAGS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "AccessionNumber",
)


@dataclass
class ReportView:
    """One view: ``image`` uint8 RGB (rows, cols, 3), ``overlay`` the same with the heatmap
    (None without an AI result), ``probability`` 0..1 or None."""

    label: str
    image: np.ndarray
    overlay: np.ndarray | None
    probability: float | None


@dataclass
class ReportContent:
    """Everything a report shows. ``identifiers`` is empty unless the user opted in."""

    created_utc: str
    views: list[ReportView]
    threshold: float | None = None
    study_probability: float | None = None
    suspected: bool | None = None
    untrained: bool = False
    models: list[str] = field(default_factory=list)
    physician_read: str | None = None
    note: str = ""
    agreement: str | None = None
    final_decision: str | None = None
    identifiers: dict[str, str] = field(default_factory=dict)
    measurements: list[str] = field(default_factory=list)
    reference: str = ""  # :func:`report_reference`
    disclaimer: str = DISCLAIMER
    title: str = "WristViewer report"

    # text forms ------------------------------------------------------------------------------
    def facts(self) -> list[tuple[str, str]]:
        """(label, value) lines shared by the HTML and the text form."""
        rows: list[tuple[str, str]] = [("Date (UTC)", self.created_utc)]
        if self.reference:
            rows.append(("Study reference", self.reference))
        rows += list(self.identifiers.items())
        rows.append(("Views", ", ".join(v.label for v in self.views) or "none"))
        if self.study_probability is None:
            rows.append(("AI result", "none (no model run on this study)"))
        else:
            verdict = "fracture suspected" if self.suspected else "no fracture suspected"
            rows.append(("AI result", verdict))
            rows.append(("Study fracture probability", f"{self.study_probability:.3f}"))
            rows.append(("Model threshold", f"{self.threshold:.3f}"))
            for v in self.views:
                if v.probability is not None:
                    rows.append((f"  {v.label}", f"{v.probability:.3f}"))
        rows.append(("Physician's read", _label(self.physician_read)))
        if self.note:
            rows.append(("Note", self.note))
        if self.agreement:
            rows.append(("Agreement with the AI", self.agreement.replace("_", " ")))
        rows.append(("Final decision", _label(self.final_decision)))
        return rows

    def to_text(self) -> str:
        """The report as plain text (for checks, logs and the clipboard)."""
        lines = [self.title, ""]
        if self.untrained:
            lines.append("UNTRAINED MODEL — results are random, not for clinical use")
        lines += [f"{k}: {v}" for k, v in self.facts()]
        if self.measurements:
            lines += ["", "Measurements:"] + [f"- {m}" for m in self.measurements]
        lines += ["", "Models:"] + [f"- {m}" for m in self.models] + ["", self.disclaimer]
        return "\n".join(lines)

    def to_html(self, image_names: Sequence[tuple[str, str | None]] = ()) -> str:
        """The report as HTML for QTextDocument. ``image_names`` gives, per view, the resource
        names of its image and overlay (``None`` for none); the views start on a new page."""
        esc = html.escape
        parts = [f"<h1>{esc(self.title)}</h1>"]
        if self.untrained:
            parts.append(
                "<p style='color:#c62828'><b>UNTRAINED MODEL — results are random, "
                "not for clinical use</b></p>"
            )
        parts.append("<table cellpadding='3'>")
        for k, v in self.facts():
            parts.append(f"<tr><td><b>{esc(k)}</b></td><td>{esc(v)}</td></tr>")
        parts.append("</table>")
        if self.measurements:
            parts.append("<h3>Measurements</h3><ul>")
            parts += [f"<li>{esc(m)}</li>" for m in self.measurements]
            parts.append("</ul>")
        parts.append("<h3>Models</h3><ul>")
        parts += [f"<li>{esc(m)}</li>" for m in self.models] or ["<li>none</li>"]
        parts.append(f"</ul><p><i>{esc(self.disclaimer)}</i></p>")
        if image_names:
            parts.append("<div style='page-break-before: always'><h2>Views</h2></div>")
            for view, (image, overlay) in zip(self.views, image_names, strict=False):
                prob = "" if view.probability is None else f" — probability {view.probability:.3f}"
                parts.append(f"<p><b>{esc(view.label)}</b>{esc(prob)}</p><p>")
                parts.append(f"<img src='{esc(image)}' width='300'>")
                if overlay:
                    parts.append(f"&nbsp;<img src='{esc(overlay)}' width='300'>")
                parts.append("</p>")
            parts.append(f"<p><i>{esc(self.disclaimer)}</i></p>")
        return "\n".join(parts)


def _label(read: str | None) -> str:
    return {"fracture": "fracture", "no_fracture": "no fracture", "unsure": "unsure"}.get(
        read or "", "not recorded"
    )


def _rgb(grey01: np.ndarray) -> np.ndarray:
    g = np.clip(np.rint(np.asarray(grey01, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))


def _shrink(array: np.ndarray, max_side: int) -> np.ndarray:
    rows, cols = array.shape[:2]
    scale = max_side / max(rows, cols)
    if scale >= 1.0:
        return array
    size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)


def card_line(card: ModelCard) -> str:
    """One line per model card: name, architecture, version, weights SHA-256 (first 12), and
    the test AUROC with its interval when the card has one."""
    sha = str(card.weights_sha256 or "")[:12] or "?"
    untrained = " — UNTRAINED (random weights)" if card.untrained else ""
    auroc = (card.metrics or {}).get("auroc")
    tested = ""
    if isinstance(auroc, dict) and isinstance(auroc.get("value"), int | float):
        ci = auroc.get("ci95")
        interval = (
            f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})"
            if isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, int | float) for v in ci)
            else ""
        )
        tested = f"; test AUROC {auroc['value']:.2f}{interval}"
    name, version = printable(card.name), printable(card.version)
    return f"{name} ({card.arch}, v{version}, weights {sha}…{tested}){untrained}"


def patient_identifiers(radiograph: Radiograph) -> dict[str, str]:
    """Name, ID, birth date, sex, study date, accession number from a DICOM header ({} else)."""
    if radiograph.format != "DICOM":
        return {}
    wanted = set(IDENTIFIER_TAGS)
    return {t.keyword: t.value for t in read_dicom_tags(radiograph.path) if t.keyword in wanted}


def report_reference(study: Study, include_identifiers: bool) -> str:
    """The study reference of the report: :func:`~wristviewer.imaging.identity.study_reference`
    (DICOM: "study 2024-06-15 10:32, accession A123"). For plain images it is their file or
    folder name, which may name the patient: given only with ``include_identifiers``."""
    if include_identifiers or study_identity(study) is not None:
        return study_reference(study)
    return f"{len(study.views)} image(s), {NO_PATIENT_DATA} (file names only with identifiers)"


def build_report(
    study: Study,
    prediction: StudyPrediction | None,
    cards: Sequence[ModelCard] = (),
    session: ReadSession | None = None,
    *,
    include_identifiers: bool = False,
    display: dict[Any, np.ndarray] | None = None,
    heatmap_opacity: float = 0.6,
    measurements: Mapping[Any, Sequence[Measurement]] | None = None,
) -> ReportContent:
    """Gather a report. ``prediction``: the AI result or None; ``display``: optional
    per-path arrays to show instead of the raw pixels (e.g. the CLAHE output), 0..1;
    ``measurements``: per path, the ruler and angle measurements, listed under their view."""
    from wristviewer.ai.heatmap import overlay_heatmap  # numpy/OpenCV only, no torch

    by_path = {}
    if prediction is not None:
        by_path = {str(v.path): v for v in prediction.views}
    views: list[ReportView] = []
    measured: list[str] = []
    for r in study.views:
        grey = (display or {}).get(r.path, r.pixels)
        vp = by_path.get(str(r.path))
        overlay = None
        if vp is not None and vp.heatmap is not None and vp.heatmap.shape == grey.shape:
            bgr = overlay_heatmap(grey, vp.heatmap, opacity=heatmap_opacity)
            overlay = _shrink(np.ascontiguousarray(bgr[:, :, ::-1]), MAX_IMAGE_SIDE)
        label = str(r.view.value)
        if r.laterality:
            label += f" ({'left' if r.laterality == 'L' else 'right'})"
        made = (measurements or {}).get(r.path, ())
        measured += [f"{label}: {line}" for line in measurements_report(made)]
        views.append(
            ReportView(
                label=label,
                image=_shrink(_rgb(grey), MAX_IMAGE_SIDE),
                overlay=overlay,
                probability=None if vp is None else float(vp.fracture_probability),
            )
        )
    content = ReportContent(
        created_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        views=views,
        measurements=measured,
        reference=report_reference(study, include_identifiers),
    )
    if prediction is not None:
        content.threshold = float(prediction.threshold)
        content.study_probability = float(prediction.fracture_probability)
        content.suspected = bool(prediction.suspected)
        content.untrained = bool(prediction.untrained)
        content.models = [card_line(c) for c in cards] or list(prediction.models)
    if session is not None:
        content.physician_read = None if session.read is None else str(session.read)
        content.note = session.note
        content.agreement = str(session.agreement) if session.read is not None else None
        content.final_decision = (
            None if session.final_decision is None else str(session.final_decision)
        )
    if include_identifiers and study.views:
        content.identifiers = patient_identifiers(study.views[0])
    return content
