"""The physician's read before the AI (second opinion), the final decision, and the audit log.

:class:`SecondOpinionController` keeps one :class:`~wristviewer.workflow.blind_read.ReadSession`
per open study, answers the window's one question — *may the AI result of this study be
shown now?* — and hands each review to the :class:`~wristviewer.workflow.audit.AuditWriter`
(its own thread; the GUI thread only enqueues). :class:`ReadPanel` is the side panel where
the read, the note, the agreement and the final decision live. :class:`AuditLogDialog`
shows the log as a table.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wristviewer import __version__
from wristviewer.imaging import Study
from wristviewer.ui.settings import ViewerSettings
from wristviewer.ui.state import ViewerState
from wristviewer.ui.workers import Worker, WorkerPool
from wristviewer.workflow.audit import AuditRecord, AuditWriter, read_records
from wristviewer.workflow.blind_read import (
    Agreement,
    Read,
    ReadSession,
    ReadState,
    RevealMode,
)

log = logging.getLogger(__name__)

HIDDEN_TEXT = "AI result hidden until you submit your read (Second opinion ▸ reveal setting)."
_AGREEMENT_STYLE = {
    Agreement.AGREE: "background:#e8f5e9; color:#1b5e20;",
    Agreement.DISAGREE: "background:#c62828; color:white; font-weight:bold;",
    Agreement.UNSURE: "background:#fff8e1; color:#5d4037;",
    Agreement.NO_AI: "background:#eeeeee; color:#424242;",
}


class _AuditSignals(QObject):
    """Carries the writer thread's callbacks into the GUI thread (queued connections)."""

    failed = Signal(str)
    written = Signal()


class SecondOpinionController(QObject):
    """Read sessions per study, the reveal rule, and the audit writer.

    Signals: ``changed()`` when the current session changed (read, decision, analysis,
    mode) — the window then re-shows or hides the AI result; ``audit_failed(str)`` with a
    sentence; ``audit_written()``.
    """

    changed = Signal()
    audit_failed = Signal(str)
    audit_written = Signal()

    def __init__(
        self,
        state: ViewerState,
        settings: ViewerSettings,
        audit_path: str | Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._settings = settings
        self.sessions: dict[str, ReadSession] = {}
        self._signals = _AuditSignals()
        self._signals.failed.connect(self._on_audit_failed)
        self._signals.written.connect(self.audit_written)
        self.last_audit_error: str | None = None
        self.writer = AuditWriter(
            audit_path,
            on_error=self._signals.failed.emit,
            on_written=lambda _r: self._signals.written.emit(),
        )
        state.studies_changed.connect(self.sessions.clear)
        state.analysis_changed.connect(self._on_analysis_changed)

    # the reveal rule --------------------------------------------------------------------------
    @property
    def mode(self) -> RevealMode:
        try:
            return RevealMode(self._settings.reveal_ai)
        except ValueError:
            return RevealMode.IMMEDIATE

    def set_mode(self, mode: RevealMode | str) -> None:
        """Change the reveal setting; applies to reviews still waiting for their read."""
        mode = RevealMode(mode)
        self._settings.reveal_ai = str(mode)
        for session in self.sessions.values():
            if session.state is ReadState.AWAITING_READ:
                session.mode = mode
        self.changed.emit()

    def session(self, study: Study | None = None) -> ReadSession | None:
        """The review of ``study`` (default: the current one), created on first use."""
        study = study if study is not None else self._state.current_study
        if study is None:
            return None
        session = self.sessions.get(study.id)
        if session is None:
            session = ReadSession(study.id, mode=self.mode)
            analysis = self._state.analyses.get(study.id)
            if analysis is not None:
                session.set_analysis(analysis.prediction, analysis.cards)
            self.sessions[study.id] = session
        return session

    def ai_visible(self, study_id: str | None = None) -> bool:
        """Whether the AI result of ``study_id`` (default: current study) may be shown."""
        if study_id is None:
            study = self._state.current_study
            if study is None:
                return True
            study_id = study.id
        session = self.sessions.get(study_id)
        if session is None:
            return self.mode is RevealMode.IMMEDIATE
        return session.ai_visible

    # steps --------------------------------------------------------------------------------
    def submit_read(self, read: Read | str, note: str = "") -> None:
        session = self.session()
        if session is None:
            return
        session.submit_read(read, note)
        log.info("read submitted (%s mode)", session.mode)
        self._audit(session)
        self.changed.emit()

    def decide(self, decision: Read | str) -> None:
        session = self.session()
        if session is None:
            return
        session.decide(decision)
        log.info("final decision recorded")
        self._audit(session)
        self.changed.emit()

    def _on_analysis_changed(self, study_id: str) -> None:
        analysis = self._state.analyses.get(study_id)
        session = self.sessions.get(study_id)
        if session is None:
            study = next((s for s in self._state.studies if s.id == study_id), None)
            session = self.session(study) if study is not None else None
        if session is None:
            return
        if analysis is not None:
            session.set_analysis(analysis.prediction, analysis.cards)
            if session.read is not None:
                self._audit(session)
        self.changed.emit()

    def _audit(self, session: ReadSession) -> None:
        study = next((s for s in self._state.studies if s.id == session.study_id), None)
        if study is None:
            return
        uids = {r.study_uid for r in study.views if r.study_uid}
        record: AuditRecord = session.audit_record(__version__, len(study.views))
        self.writer.submit(
            record,
            study_uid=next(iter(uids)) if len(uids) == 1 else None,
            files=[r.path for r in study.views],
        )

    def _on_audit_failed(self, sentence: str) -> None:
        self.last_audit_error = sentence
        self.audit_failed.emit(sentence)

    def close(self) -> None:
        """Write what is queued and stop the writer thread (window shutdown)."""
        self.writer.close()


class ReadPanel(QGroupBox):
    """Your read (fracture / no fracture / unsure + note), then the agreement with the AI and
    the final decision. Drives a :class:`SecondOpinionController`."""

    def __init__(self, controller: SecondOpinionController, parent: QWidget | None = None):
        super().__init__("Your read", parent)
        self._controller = controller
        self._shown_study_id: str | None = None
        self.read_buttons: dict[Read, QRadioButton] = {}
        self._group = QButtonGroup(self)
        row = QHBoxLayout()
        for read in Read:
            button = QRadioButton(read.label)
            self._group.addButton(button)
            self.read_buttons[read] = button
            row.addWidget(button)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Optional note (no patient names)")
        self.note_edit.setMaxLength(500)
        self.submit_button = QPushButton("Submit my read")
        self.submit_button.setEnabled(False)
        self.hidden_label = QLabel(HIDDEN_TEXT)
        self.hidden_label.setWordWrap(True)
        self.hidden_label.setStyleSheet("color:#5d4037; font-style: italic;")
        self.read_label = QLabel("")
        self.agreement_label = QLabel("")
        self.agreement_label.setWordWrap(True)
        self.agreement_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.decision_label = QLabel("Final decision:")
        self.decision_buttons: dict[Read, QPushButton] = {}
        decision_row = QHBoxLayout()
        for read in Read:
            button = QPushButton(read.label)
            button.clicked.connect(lambda _=False, r=read: self._controller.decide(r))
            self.decision_buttons[read] = button
            decision_row.addWidget(button)
        self.audit_label = QLabel("")
        self.audit_label.setWordWrap(True)
        self.audit_label.setStyleSheet("color:#b26a00; font-size: 11px;")
        self.audit_label.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.note_edit)
        layout.addWidget(self.submit_button)
        layout.addWidget(self.hidden_label)
        layout.addWidget(self.read_label)
        layout.addWidget(self.agreement_label)
        layout.addWidget(self.decision_label)
        layout.addLayout(decision_row)
        layout.addWidget(self.audit_label)

        self._group.buttonToggled.connect(lambda *_: self._update_submit())
        self.submit_button.clicked.connect(self._on_submit)
        controller.changed.connect(self.refresh)
        controller.audit_failed.connect(self._on_audit_failed)
        controller._state.current_changed.connect(lambda _i: self.refresh())
        self.refresh()

    def chosen_read(self) -> Read | None:
        for read, button in self.read_buttons.items():
            if button.isChecked():
                return read
        return None

    def _update_submit(self) -> None:
        session = self._controller.session()
        awaiting = session is not None and session.state is ReadState.AWAITING_READ
        self.submit_button.setEnabled(awaiting and self.chosen_read() is not None)

    def _on_submit(self) -> None:
        read = self.chosen_read()
        if read is not None:
            self._controller.submit_read(read, self.note_edit.text())

    def _on_audit_failed(self, sentence: str) -> None:
        self.audit_label.setText(sentence)
        self.audit_label.show()

    def refresh(self) -> None:
        """Show the current study's review as it stands."""
        session = self._controller.session()
        has_study = session is not None
        self.setEnabled(has_study)
        awaiting = has_study and session.state is ReadState.AWAITING_READ
        for button in self.read_buttons.values():
            button.setEnabled(awaiting)
        self.note_edit.setEnabled(awaiting)
        study_id = session.study_id if has_study else None
        if has_study and (not awaiting or study_id != self._shown_study_id):
            self._group.setExclusive(False)
            for read, button in self.read_buttons.items():
                button.setChecked(read is session.read)
            self._group.setExclusive(True)
            self.note_edit.setText(session.note)
        self._shown_study_id = study_id
        self._update_submit()
        self.hidden_label.setVisible(has_study and not session.ai_visible)
        submitted = has_study and session.read is not None
        self.read_label.setVisible(submitted)
        self.agreement_label.setVisible(submitted)
        self.decision_label.setVisible(submitted)
        for button in self.decision_buttons.values():
            button.setVisible(submitted)
        if not submitted:
            return
        self.read_label.setText(f"Your read: <b>{session.read.label}</b>")
        agreement = session.agreement
        self.agreement_label.setText(agreement.sentence)
        self.agreement_label.setStyleSheet(_AGREEMENT_STYLE[agreement] + " padding: 4px;")
        decided = session.final_decision
        self.decision_label.setText(
            "Final decision: " + (f"<b>{decided.label}</b> (recorded)" if decided else "—")
        )
        for read, button in self.decision_buttons.items():
            button.setDefault(read is decided)


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
        worker = Worker(_read_log, path)
        worker.signals.returned.connect(self._on_loaded)
        worker.signals.errored.connect(
            lambda exc: self.status_label.setText(f"The audit log could not be read: {exc}")
        )
        workers.start(worker)

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
            worker = Worker(_export_log, self._path, path)
            worker.signals.returned.connect(
                lambda n: self.status_label.setText(f"{n} review(s) written to {path}")
            )
            worker.signals.errored.connect(
                lambda exc: self.status_label.setText(f"The export failed: {exc}")
            )
            self._workers.start(worker)


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
