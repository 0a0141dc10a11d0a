"""Dialogs: DICOM tags, skipped files, shortcuts (from the real QActions), about."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wristviewer import __version__
from wristviewer.imaging import Radiograph, SkippedFile
from wristviewer.ui.actions import QUIZ_KEYS
from wristviewer.ui.results_panel import SECOND_OPINION_NOTICE


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> QTableWidget:
    rows = list(rows)
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    header = table.horizontalHeader()
    for c in range(len(headers) - 1):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _with_close(dialog: QDialog, layout: QVBoxLayout) -> None:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)


def image_info(radiograph: Radiograph) -> str:
    """Size, bit depth, pixel spacing and format of one radiograph, in one line."""
    parts = [
        f"{radiograph.cols} × {radiograph.rows} px",
        f"{radiograph.bits_stored}-bit",
        radiograph.format,
    ]
    if radiograph.pixel_spacing_mm:
        row_mm, col_mm = radiograph.pixel_spacing_mm
        parts.append(f"pixel spacing {row_mm:.3f} × {col_mm:.3f} mm (row × column)")
    else:
        parts.append("pixel spacing unknown")
    if radiograph.frame_count > 1:
        parts.append(f"{radiograph.frame_count} frames (first shown)")
    return " · ".join(parts)


class DicomTagsDialog(QDialog):
    """The DICOM tags of one file in a table, filtered as you type (tag, keyword or value)."""

    def __init__(self, radiograph: Radiograph, tags: Sequence[Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"DICOM tags — {radiograph.path.name}")
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        info = QLabel(image_info(radiograph))
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(info)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by tag, keyword or value…")
        self.filter_edit.setClearButtonEnabled(True)
        layout.addWidget(self.filter_edit)
        if tags:
            self.table = _table(
                ("Tag", "Keyword", "VR", "Value"),
                ((t.tag, t.keyword, t.vr, t.value) for t in tags),
            )
        else:
            self.table = _table(("Tag", "Keyword", "VR", "Value"), [])
            note = QLabel("This file is not DICOM: it has no tags.")
            layout.addWidget(note)
        layout.addWidget(self.table, 1)
        _with_close(self, layout)
        self.filter_edit.textChanged.connect(self._on_filter)

    def visible_rows(self) -> int:
        return sum(not self.table.isRowHidden(r) for r in range(self.table.rowCount()))

    def _on_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r in range(self.table.rowCount()):
            items = (self.table.item(r, c) for c in range(self.table.columnCount()))
            cells = (item.text().lower() for item in items if item is not None)
            self.table.setRowHidden(r, bool(needle) and not any(needle in cell for cell in cells))


class SkippedFilesDialog(QDialog):
    """Files that could not be opened: path and the reason, one per row."""

    def __init__(self, skipped: Sequence[SkippedFile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files not opened")
        self.resize(820, 380)
        layout = QVBoxLayout(self)
        failed = [s for s in skipped if not getattr(s, "document", False)]
        documents = [s for s in skipped if getattr(s, "document", False)]
        parts = []
        if failed:
            parts.append(f"{len(failed)} file(s) could not be opened")
        if documents:
            parts.append(f"{len(documents)} document(s) were passed over")
        layout.addWidget(QLabel("; ".join(parts) + ". Everything else was opened."))
        self.table = _table(
            ("File", "Reason"), ((str(s.path), s.reason) for s in failed + documents)
        )
        layout.addWidget(self.table, 1)
        _with_close(self, layout)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(action, shortcuts) for every action that has a shortcut, in the given order."""
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        keys = [k for k in keys if k]
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…. "), ", ".join(keys)))
    return rows


class ShortcutsDialog(QDialog):
    """Keyboard shortcuts, generated from the window's actions and the quiz's key table
    (:data:`~wristviewer.ui.actions.QUIZ_KEYS`) so the list cannot drift."""

    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(460, 560)
        layout = QVBoxLayout(self)
        self.rows = shortcut_rows(actions) + [
            (
                text,
                ", ".join(
                    QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys
                ),
            )
            for text, keys in QUIZ_KEYS.values()
        ]
        self.table = _table(("Action", "Shortcut"), self.rows)
        layout.addWidget(self.table, 1)
        layout.addWidget(
            QLabel("Mouse: wheel zooms, left-drag pans, right-drag sets window/level.")
        )
        _with_close(self, layout)


ABOUT_HTML = f"""
<h3>WristViewer {__version__}</h3>
<p>Wrist radiographs side by side, CLAHE contrast enhancement, and a fracture second
opinion from DenseNet-161 / ResNet-152 models with Grad-CAM heatmaps.</p>
<p><b>{SECOND_OPINION_NOTICE}</b></p>
<p>The sample study uses radiographs from <b>FracAtlas</b>: Abedeen I., Rahman M. A.,
Prottyasha F. Z. et al., <i>FracAtlas: A Dataset for Fracture Classification, Localization
and Segmentation of Musculoskeletal Radiographs</i>, Scientific Data 10, 521 (2023),
doi:10.6084/m9.figshare.22363012, licensed CC BY 4.0.</p>
"""


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, "About WristViewer", ABOUT_HTML)
