"""The second opinion in the window: the physician's read before the AI, the final decision,
and the audit log.

The reviews and the reveal rule are Qt-free state (:class:`wristviewer.viewer.ViewerState`:
``session()``, ``submit_read()``, ``decide()``, ``visible_analysis()``).
:class:`SecondOpinionController` keeps the reveal setting and hands each review to the
:class:`~wristviewer.workflow.audit.AuditWriter` (its own thread; the GUI thread only
enqueues). The panel is :class:`wristviewer.ui.read_panel.ReadPanel`, the log's table
:class:`wristviewer.ui.audit_dialog.AuditLogDialog`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from wristviewer import __version__
from wristviewer.imaging import Study
from wristviewer.ui.settings import ViewerSettings
from wristviewer.viewer import ViewerState
from wristviewer.workflow.audit import AuditRecord, AuditWriter
from wristviewer.workflow.blind_read import Read, ReadSession, RevealMode

log = logging.getLogger(__name__)


class _AuditSignals(QObject):
    """Carries the writer thread's callbacks into the GUI thread (queued connections)."""

    failed = Signal(str)
    written = Signal()


class SecondOpinionController(QObject):
    """The reveal setting, the physician's steps, and the audit writer.

    Signals: ``audit_failed(str)`` with a sentence; ``audit_written()``. What is shown follows
    the state's ``shown_changed`` event.
    """

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
        self.state = state
        self._settings = settings
        self._signals = _AuditSignals()
        self._signals.failed.connect(self._on_audit_failed)
        self._signals.written.connect(self.audit_written)
        self.last_audit_error: str | None = None
        self.writer = AuditWriter(
            audit_path,
            on_error=self._signals.failed.emit,
            on_written=lambda _r: self._signals.written.emit(),
        )
        state.review_changed.connect(self._audit)
        state.analysis_changed.connect(self._on_analysis_changed)

    # the reveal rule --------------------------------------------------------------------------
    @property
    def mode(self) -> RevealMode:
        return self.state.reviews.mode

    def set_mode(self, mode: RevealMode | str) -> None:
        """Change the reveal setting; applies to reviews still waiting for their read."""
        mode = RevealMode(mode)
        self._settings.reveal_ai = str(mode)
        self.state.set_reveal_mode(mode)

    def set_after_read(self, on: bool) -> None:
        """AI ▸ Reveal the AI only after my read (checked) or at once."""
        self.set_mode(RevealMode.AFTER_READ if on else RevealMode.IMMEDIATE)

    def session(self, study: Study | None = None) -> ReadSession | None:
        """The review of ``study`` (default: the current one), created on first use."""
        return self.state.session(study)

    def ai_visible(self, study_id: str | None = None) -> bool:
        """Whether the AI result of ``study_id`` (default: current study) may be shown."""
        return self.state.ai_visible(study_id)

    # steps --------------------------------------------------------------------------------
    def submit_read(self, read: Read | str, note: str = "") -> None:
        session = self.state.submit_read(read, note)
        if session is not None:
            log.info("read submitted (%s mode)", session.mode)

    def decide(self, decision: Read | str) -> None:
        if self.state.decide(decision) is not None:
            log.info("final decision recorded")

    def _on_analysis_changed(self, study_id: str) -> None:
        session = self.state.reviews.get(study_id)
        if study_id in self.state.analyses and session is not None and session.read is not None:
            self._audit(study_id)

    def _audit(self, study_id: str) -> None:
        study = self.state.study(study_id)
        session = self.state.reviews.get(study_id)
        if study is None or session is None:
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
