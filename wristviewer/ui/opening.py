"""Reading files and folders into studies, in a worker (:func:`wristviewer.ui.jobs.load_job`):
the studies read replace the open ones, the files not opened are listed in the status bar."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from wristviewer.imaging import SkippedFile, Study
from wristviewer.ui.jobs import load_job
from wristviewer.ui.workers import Worker, WorkerPool

if TYPE_CHECKING:
    from wristviewer.ui.enhance import EnhanceController
    from wristviewer.ui.settings import ViewerSettings
    from wristviewer.ui.status_bar import StatusBarView
    from wristviewer.viewer import ViewerState

log = logging.getLogger(__name__)


class OpeningController(QObject):
    """Opens paths for the window (which asks about unsubmitted reads first).

    Signals: ``studies_loaded()`` when the studies read are in ``state``, ``busy_changed()``
    when a reading starts or ends (``loading`` says how many are going).
    """

    studies_loaded = Signal()
    busy_changed = Signal()

    def __init__(
        self,
        state: ViewerState,
        settings: ViewerSettings,
        workers: WorkerPool,
        status_bar: StatusBarView,
        enhance: EnhanceController,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._settings = settings
        self._workers = workers
        self._status_bar = status_bar
        self._enhance = enhance
        self._worker: Worker | None = None
        self.loading = 0

    def open(self, names: Sequence[str], one_study: bool) -> Worker:
        """Read ``names`` (files or folders, at least one) in a worker and remember them as
        recent. ``one_study``: plain images as one study per folder (the user's say-so)."""
        log.info("opening %d path(s)%s", len(names), " as one study" if one_study else "")
        self._settings.add_recent(list(names))
        first = Path(names[0])
        self._settings.last_folder = str(first if first.is_dir() else first.parent)
        self.loading += 1
        self._worker = self._workers.submit(
            load_job,
            list(names),
            one_study,
            _connect={
                "progress": self._status_bar.set_progress,
                "returned": self._on_loaded,
                "errored": lambda exc: self._state.status.report_error(
                    "Could not open the files", exc
                ),
                "finished": self._on_finished,
            },
        )
        self._state.status.show(f"Reading {len(names)} item(s)…")
        self._status_bar.set_indeterminate()  # until the job reports progress
        self.busy_changed.emit()
        return self._worker

    def cancel(self) -> None:
        """Stop the reading going, if any."""
        if self._worker is not None and not self._worker.is_done:
            self._worker.cancel()
            self._state.status.show("Reading cancelled.")

    def _on_loaded(self, result: tuple[list[Study], list[SkippedFile]]) -> None:
        studies, skipped = result
        log.info(
            "read %d study(ies), %d view(s), %d skipped",
            len(studies),
            sum(len(s.views) for s in studies),
            len(skipped),
        )
        self._enhance.forget()
        self._state.set_studies(studies, skipped)
        if not studies:
            self._state.status.show(
                "Nothing could be opened"
                + (f": {len(skipped)} file(s) skipped" if skipped else ".")
            )
        self.studies_loaded.emit()

    def _on_finished(self) -> None:
        self.loading -= 1
        self._status_bar.set_indeterminate()  # the reading's last fraction is no one else's
        self.busy_changed.emit()
