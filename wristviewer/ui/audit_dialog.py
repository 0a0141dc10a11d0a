"""The audit log as a table (read in a worker), with an Export CSV… button."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wristviewer.ui.workers import WorkerPool
from wristviewer.workflow.audit import AuditRecord, read_records


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "; ".join(
            f"{v.get('view')}: {v.get('probability'):.3f}" if isinstance(v, dict) else str(v)
            for v in value
        )
    return str(value)


AUDIT_TABLE_COLUMNS = (
    ("updated_utc", "Time (UTC)"),
    ("study_key", "Study key"),
    ("physician_read", "Read"),
    ("ai_suspected", "AI suspected"),
    ("study_probability", "Study p"),
    ("threshold", "Threshold"),
    ("agreement", "Agreement"),
    ("final_decision", "Final decision"),
    ("models", "Models"),
    ("view_probabilities", "Views"),
    ("note", "Note"),
)


class AuditLogDialog(QDialog):
    """The audit log as a table (read in a worker), with an Export CSV… button."""

    loaded = Signal()

    def __init__(self, path: Path, workers: WorkerPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Audit log")
        self.resize(1100, 500)
        self._path = path
        self._workers = workers
        self.records: list[AuditRecord] = []
        self.table = QTableWidget(0, len(AUDIT_TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels([title for _, title in AUDIT_TABLE_COLUMNS])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.status_label = QLabel("Reading the audit log…")
        self.status_label.setWordWrap(True)
        export = QPushButton("Export CSV…")
        export.clicked.connect(self._on_export)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        row = QHBoxLayout()
        row.addWidget(export)
        row.addStretch(1)
        row.addWidget(buttons)
        layout.addLayout(row)
        workers.submit(
            _read_log,
            path,
            _connect={
                "returned": self._on_loaded,
                "errored": lambda exc: self.status_label.setText(
                    f"The audit log could not be read: {exc}"
                ),
            },
        )

    def _on_loaded(self, records: list[AuditRecord]) -> None:
        self.records = records
        self.table.setRowCount(len(records))
        for i, record in enumerate(records):
            for j, (name, _title) in enumerate(AUDIT_TABLE_COLUMNS):
                value = getattr(record, name)
                text = value[:12] + "…" if name == "study_key" and value else _cell(value)
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.status_label.setText(
            f"{len(records)} review(s). Study keys are salted SHA-256 hashes: no names, "
            "no IDs, no paths."
        )
        self.loaded.emit()

    def _on_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the audit log", "audit.csv", "CSV (*.csv)"
        )
        if path:
            self._workers.submit(
                _export_log,
                self._path,
                path,
                _connect={
                    "returned": lambda n: self.status_label.setText(
                        f"{n} review(s) written to {path}"
                    ),
                    "errored": lambda exc: self.status_label.setText(f"The export failed: {exc}"),
                },
            )


def _read_log(path: Path) -> list[AuditRecord]:
    if not path.exists():
        return []
    return read_records(path)


def _export_log(db_path: Path, out: str) -> int:
    from wristviewer.workflow.audit import AuditDatabase

    db = AuditDatabase(db_path)
    try:
        return db.export_csv(out)
    finally:
        db.close()
