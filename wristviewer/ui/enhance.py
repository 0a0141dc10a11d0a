"""CLAHE for the views on screen: requests run in a worker (the latest wins), the outputs are
kept for quick study switching, and the views get them as they arrive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from wristviewer.imaging import ClaheSettings, Radiograph
from wristviewer.ui.enhance_panel import ClahePanel
from wristviewer.ui.jobs import clahe_job
from wristviewer.ui.settings import ViewerSettings
from wristviewer.ui.views_grid import ViewsGrid
from wristviewer.ui.workers import LatestRequestRunner, WorkerPool
from wristviewer.viewer import EnhancedCache, ViewerState

ClaheResult = tuple[ClaheSettings, dict[Path, np.ndarray], float]


class EnhanceController(QObject):
    """Keeps ``views`` showing the current study with the state's CLAHE settings.

    Signals: ``enhanced_ready()`` when the views show the current settings' output,
    ``busy_changed()``.
    """

    enhanced_ready = Signal()
    busy_changed = Signal()

    def __init__(
        self,
        state: ViewerState,
        settings: ViewerSettings,
        views: ViewsGrid,
        panel: ClahePanel,
        workers: WorkerPool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._settings = settings
        self._views = views
        self._panel = panel
        self.cache = EnhancedCache()
        self.last_seconds: float | None = None
        self._runner = LatestRequestRunner(workers, self._on_result, self._on_error, self._on_idle)
        state.clahe_changed.connect(self._on_clahe_changed)

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def enhanced(self, radiograph: Radiograph) -> np.ndarray | None:
        """The output for ``radiograph`` with the current settings, if made."""
        return self.cache.get(radiograph, self._state.clahe)

    def cancel(self) -> None:
        self._runner.cancel()

    def forget(self) -> None:
        """Drop the kept outputs (new studies were opened)."""
        self.cache.clear()

    def request(self) -> None:
        """CLAHE for the current study's views: from the cache, at once when off, or a job."""
        study = self._state.current_study
        if study is None:
            return
        settings = self._state.clahe
        if self.cache.covers(study.views, settings):
            self._views.apply_enhanced(self.enhanced)
            self.enhanced_ready.emit()
            return
        if not settings.enabled:  # no work: show the pixels now
            self._on_result((settings, {Path(r.path): r.pixels for r in study.views}, 0.0))
            self._runner.cancel()
            return
        self._panel.set_busy(True)
        self._runner.submit(clahe_job, list(study.views), settings)
        self.busy_changed.emit()

    def _on_clahe_changed(self, settings: ClaheSettings) -> None:
        self._settings.set_clahe(settings)
        self.request()

    def _on_result(self, result: ClaheResult) -> None:
        settings, arrays, seconds = result
        if settings != self._state.clahe:
            return
        self.cache.add(settings, arrays)
        self.last_seconds = seconds
        self._views.apply_enhanced(self.enhanced)
        self._panel.set_busy(self._runner.busy)
        self.busy_changed.emit()
        self.enhanced_ready.emit()

    def _on_idle(self) -> None:
        self._panel.set_busy(False)
        self.busy_changed.emit()

    def _on_error(self, exc: BaseException) -> None:
        self._panel.set_busy(False)
        self._state.status.report_error("CLAHE failed", exc)
