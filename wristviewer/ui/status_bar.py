"""The window's status bar: the status line, the active image's facts, the files not opened,
and the busy bar — a view of :class:`~wristviewer.viewer.Status` and the skipped files."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from wristviewer.viewer import ViewerState

log = logging.getLogger(__name__)


class StatusBarView:
    """Fills ``bar`` with its widgets and keeps them in step with ``state``."""

    def __init__(self, bar: QStatusBar, state: ViewerState) -> None:
        self._state = state
        self.status_label = QLabel(state.status.message)
        self.info_label = QLabel("")
        self.info_label.setStyleSheet("color: #666;")
        # long sentences and image facts are cut rather than widening the window; each
        # label carries its full text as the tool tip
        for label in (self.status_label, self.info_label):
            label.setMinimumWidth(40)  # an explicit minimum overrides the text's width
        self.busy_bar = QProgressBar()
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.hide()
        self.skipped_button = QPushButton("")
        self.skipped_button.setFlat(True)
        self.skipped_button.setStyleSheet("color: #b26a00; text-decoration: underline;")
        self.skipped_button.setToolTip("Show which files were not opened, and why")
        self.skipped_button.hide()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.info_label)
        bar.addPermanentWidget(self.skipped_button)
        bar.addPermanentWidget(self.busy_bar)
        state.status.message_changed.connect(self._on_message)
        state.status.busy_changed.connect(self._on_busy_changed)
        state.skipped_changed.connect(self._on_skipped_changed)

    def _on_message(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)

    def _on_busy_changed(self, busy: bool) -> None:
        """Shown while work goes on; when it stops, reset, so that the next job starts without
        a fraction (never a bar frozen at one)."""
        if not busy:
            self.set_indeterminate()
        self.busy_bar.setVisible(busy)

    def set_indeterminate(self) -> None:
        """The busy bar without a fraction, until a job reports progress."""
        self.busy_bar.setRange(0, 0)

    def set_progress(self, fraction: float) -> None:
        self.busy_bar.setRange(0, 100)
        self.busy_bar.setValue(round(fraction * 100))

    def _on_skipped_changed(self) -> None:
        """A warning for files that failed; documents (.md, .csv…) are only mentioned."""
        skipped = self._state.skipped
        failed = sum(not getattr(s, "document", False) for s in skipped)
        documents = len(skipped) - failed
        self.skipped_button.setVisible(bool(skipped))
        if failed:
            text = f"⚠ {failed} file{'s' if failed != 1 else ''} not opened — details"
            style = "color: #b26a00; text-decoration: underline;"
        else:
            text = (
                f"{documents} non-image file{'s' if documents != 1 else ''} passed over — details"
            )
            style = "color: #777; text-decoration: underline;"
        self.skipped_button.setText(text)
        self.skipped_button.setStyleSheet(style)
        if skipped:
            log.warning("%d file(s) not opened, %d document(s) passed over", failed, documents)
