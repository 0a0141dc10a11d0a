"""Exports from the viewer: the report (PDF or PNG) and the anonymised study.

The report content comes from :func:`wristviewer.workflow.report.build_report` (in a worker:
it reads headers and resizes images); it is laid out here with Qt's own QTextDocument and
written with QPdfWriter (PDF, A4, the views on a page of their own) or painted onto a QImage
(PNG) — no new dependency. Patient identifiers appear only when the user ticks the box
(off by default).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QMarginsF, QSizeF, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from wristviewer.imaging import Study
from wristviewer.imaging.measure import Measurement
from wristviewer.viewer import Analysis
from wristviewer.workflow.blind_read import ReadSession
from wristviewer.workflow.report import ReportContent

if TYPE_CHECKING:
    from wristviewer.imaging.anonymise import AnonymisedStudy
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.workers import Worker

log = logging.getLogger(__name__)

PDF_RESOLUTION = 150  # dots per inch of the PDF's layout
PNG_WIDTH = 1240  # pixels: A4 width at 150 dpi


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    rows, cols = rgb.shape[:2]
    return QImage(rgb.data, cols, rows, 3 * cols, QImage.Format.Format_RGB888).copy()


def report_document(content: ReportContent, with_images: bool = True) -> QTextDocument:
    """The report laid out as a QTextDocument, the views' images added as resources."""
    doc = QTextDocument()
    doc.setDefaultFont(QFont("DejaVu Sans", 10))
    names: list[tuple[str, str | None]] = []
    if with_images:
        for i, view in enumerate(content.views):
            image_name = f"view{i}.png"
            doc.addResource(
                QTextDocument.ResourceType.ImageResource, QUrl(image_name), _qimage(view.image)
            )
            overlay_name = None
            if view.overlay is not None:
                overlay_name = f"overlay{i}.png"
                doc.addResource(
                    QTextDocument.ResourceType.ImageResource,
                    QUrl(overlay_name),
                    _qimage(view.overlay),
                )
            names.append((image_name, overlay_name))
    doc.setHtml(content.to_html(names))
    return doc


def write_pdf(content: ReportContent, path: str | Path) -> int:
    """Write the report as an A4 PDF. Returns the number of pages. Raises OSError naming
    ``path`` when it cannot be written."""
    path = Path(path)
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_RESOLUTION)
    writer.setTitle(content.title)
    writer.setCreator("WristViewer")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    doc = report_document(content)
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    pages = doc.pageCount()
    doc.print_(writer)
    del writer  # flushes and closes the file
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"{path}: the PDF could not be written")
    return pages


def write_png(content: ReportContent, path: str | Path, width: int = PNG_WIDTH) -> Path:
    """Write the report as one tall PNG, ``width`` pixels wide."""
    path = Path(path)
    doc = report_document(content)
    margin = 40
    doc.setTextWidth(width - 2 * margin)
    height = int(doc.size().height()) + 2 * margin
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.translate(margin, margin)
    doc.drawContents(painter)
    painter.end()
    if not image.save(str(path), "PNG"):  # type: ignore[call-overload]  # the stubs want bytes; PySide6 wants str
        raise OSError(f"{path}: the PNG could not be written")
    return path


def write_report(content: ReportContent, path: str | Path) -> Path:
    """PDF or PNG by the file's suffix (``.pdf`` otherwise added)."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        return write_png(content, path)
    if path.suffix.lower() != ".pdf":
        path = path.with_suffix(".pdf")
    write_pdf(content, path)
    return path


class ExportReportDialog(QDialog):
    """Asks whether to include patient identifiers (default: no) before choosing the file."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.identifiers_box = QCheckBox(
            "Include patient identifiers (name, ID, birth date; the file names of PNG/JPEG)"
        )
        self.identifiers_box.setChecked(False)
        info = QLabel(
            "The report holds the views, heatmaps, probabilities, threshold, model summary, "
            "your measurements, your read and decision, the date, the study reference (study "
            "date and accession number) and the disclaimer. Without identifiers it names no "
            "patient and no file."
        )
        info.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addWidget(self.identifiers_box)
        layout.addWidget(buttons)


def build_report_job(
    study: Study,
    analysis: Analysis | None,
    session: ReadSession | None,
    include_identifiers: bool,
    display: dict[Path, np.ndarray],
    opacity: float,
    measurements: dict[Path, tuple[Measurement, ...]] | None = None,
) -> ReportContent:
    """Worker job: gather the report content (reads headers, resizes images)."""
    from wristviewer.workflow.report import build_report

    prediction = None if analysis is None else analysis.prediction
    cards = [] if analysis is None else analysis.cards
    return build_report(
        study,
        prediction,
        cards,
        session,
        include_identifiers=include_identifiers,
        display=display,
        heatmap_opacity=opacity,
        measurements=measurements,
    )


def _ask_for_report(
    window: MainWindow, path: str | Path | None, include_identifiers: bool | None
) -> tuple[str | Path, bool] | None:
    """Whether to name the patient, and the file, asked unless given; None when cancelled."""
    if include_identifiers is None:
        dialog = ExportReportDialog(window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        include_identifiers = dialog.identifiers_box.isChecked()
    if path is None:
        path, _ = QFileDialog.getSaveFileName(
            window, "Export report", "wristviewer-report.pdf", "PDF (*.pdf);;PNG image (*.png)"
        )
        if not path:
            return None
    return path, bool(include_identifiers)


def export_report(
    window: MainWindow,
    path: str | Path | None = None,
    include_identifiers: bool | None = None,
) -> Worker | None:
    """File ▸ Export report…: ask (unless given), gather in a worker, write PDF/PNG.

    Returns the worker (tests wait on it) or None when cancelled or nothing is open.
    """
    study = window.state.current_study
    if study is None:
        window.state.status.show("Open a study before exporting a report.")
        return None
    asked = _ask_for_report(window, path, include_identifiers)
    if asked is None:
        return None
    path, include_identifiers = asked
    analysis = window.state.visible_analysis(study.id)  # the blind-read gate, as on screen
    session = window.state.session(study)
    display = {
        p.radiograph.path: p.displayed_image() for p in window.panels if p.display.untransformed
    }

    def written(content: ReportContent) -> None:
        try:
            out = write_report(content, path)
        except OSError as exc:
            window.report_error("The report could not be written", exc)
            return
        window.last_report = out
        window.state.status.show(f"Report written: {out}")
        window.report_exported.emit(str(out))

    return window.workers.submit(
        build_report_job,
        study,
        analysis,
        session,
        include_identifiers,
        display,
        window.state.heatmap_opacity,
        {r.path: window.state.measurements.of(r.path) for r in study.views},
        _connect={
            "returned": written,
            "errored": lambda exc: window.report_error("The report failed", exc),
        },
    )


def export_anonymised(window: MainWindow, folder: str | Path | None = None) -> Worker | None:
    """File ▸ Export anonymised study…: de-identify the current study into a folder (worker)."""
    from wristviewer.imaging.anonymise import anonymise_files

    study = window.state.current_study
    if study is None:
        window.state.status.show("Open a study before exporting it.")
        return None
    if folder is None:
        folder = QFileDialog.getExistingDirectory(window, "Export anonymised study to…")
        if not folder:
            return None

    def done(result: AnonymisedStudy) -> None:
        window.last_anonymised = result
        text = f"{len(result.files)} file(s) anonymised into {folder}."
        window.state.status.show(
            text + (f" {len(result.warnings)} warning(s)." if result.warnings else "")
        )
        if result.warnings and window.isVisible() and not window.quiet_errors:
            QMessageBox(
                QMessageBox.Icon.Warning,
                "Burned-in text",
                text + "\n\n" + "\n".join(result.warnings),
                parent=window,
            ).open()
        window.anonymised_exported.emit(str(folder))

    return window.workers.submit(
        anonymise_files,
        [r.path for r in study.views],
        folder,
        _connect={
            "returned": done,
            "errored": lambda exc: window.report_error("The anonymised export failed", exc),
        },
    )
