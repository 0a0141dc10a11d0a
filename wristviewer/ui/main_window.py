"""The main window: a thin view over :class:`wristviewer.viewer.ViewerState`.

The window lays out the study selector, the views (:mod:`~wristviewer.ui.views_grid`), the
side panels and the status bar, builds its menus from the table in
:mod:`~wristviewer.ui.actions`, and forwards gestures. CLAHE runs in
:class:`~wristviewer.ui.enhance.EnhanceController`, models and AI runs in
:class:`~wristviewer.ui.analysis.AnalysisController`, the read and the audit in
:class:`~wristviewer.ui.second_opinion.SecondOpinionController`, reading files in
:class:`~wristviewer.ui.opening.OpeningController`; the question about unsubmitted reads is
:mod:`~wristviewer.ui.drafts`, the window's size and place :mod:`~wristviewer.ui.geometry`.
Slow work runs in workers (:mod:`~wristviewer.ui.jobs`); torch is imported only inside those
jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from wristviewer.ai.registry import BUNDLE_SUFFIX
from wristviewer.imaging import Study
from wristviewer.ui import drafts, geometry
from wristviewer.ui.actions import RECENT, build_menus
from wristviewer.ui.analysis import AnalysisController
from wristviewer.ui.dialogs import image_info
from wristviewer.ui.enhance import EnhanceController
from wristviewer.ui.geometry import initial_size as initial_size  # re-exported
from wristviewer.ui.grouping import GroupingController
from wristviewer.ui.measure_tools import MeasureController
from wristviewer.ui.opening import OpeningController
from wristviewer.ui.patient_banner import PatientBanner
from wristviewer.ui.second_opinion import SecondOpinionController
from wristviewer.ui.settings import ViewerSettings, anonymous
from wristviewer.ui.side_panel import SidePanel
from wristviewer.ui.status_bar import StatusBarView
from wristviewer.ui.study_selector import StudyBar
from wristviewer.ui.view_panel import ViewPanel
from wristviewer.ui.views_grid import ViewsGrid
from wristviewer.ui.window_dialogs import WindowDialogs
from wristviewer.ui.workers import Worker, WorkerPool
from wristviewer.viewer import ViewerState

if TYPE_CHECKING:
    from wristviewer.imaging.anonymise import AnonymisedStudy
    from wristviewer.ui.teaching import TeachingWindow

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The viewer window. ``settings`` defaults to the saved ones.

    Signals: ``studies_loaded()``, ``enhanced_ready()`` (CLAHE applied to the views),
    ``models_found(list)``, ``analysis_finished(bool)`` (True on success),
    ``report_exported(str)`` and ``anonymised_exported(str)`` (the file / folder written).
    ``is_busy()`` says whether any job is left (used by --screenshot).
    """

    studies_loaded = Signal()
    enhanced_ready = Signal()
    models_found = Signal(list)
    analysis_finished = Signal(bool)
    report_exported = Signal(str)
    anonymised_exported = Signal(str)

    def __init__(
        self, settings: ViewerSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else ViewerSettings.load()
        self.state = ViewerState(clahe=self.settings.clahe, reveal=self.settings.reveal_ai)
        self.state.set_heatmap(
            visible=self.settings.heatmap_visible, opacity=self.settings.heatmap_opacity
        )
        self.workers = WorkerPool()
        self.second_opinion = SecondOpinionController(self.state, self.settings, parent=self)
        self.last_report: Path | None = None
        self.last_anonymised: AnonymisedStudy | None = None
        self.teaching_window: TeachingWindow | None = None
        self.dialogs = WindowDialogs(self)
        self._closing = False
        self.persist_settings = True  # False for --screenshot: leave the user's settings alone
        self.quiet_errors = False  # True: errors go to the status bar only, no message box

        self.setWindowTitle("WristViewer")
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_controllers()
        self._build_menus()
        self._connect_state()
        self.fit_to_screen()
        geometry.restore_geometry(self, self.settings.geometry)
        self.refresh_models()

    # construction -----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.study_bar = StudyBar(self.state)
        self.study_combo = self.study_bar.selector
        self.grouping_label = self.study_bar.grouping_label
        self.patient_banner = PatientBanner(self.state, self.settings)
        self.views = ViewsGrid(self.state)
        self.views_layout = self.views.grid
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.study_bar)
        left_layout.addWidget(self.patient_banner)
        left_layout.addWidget(self.views, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        side = SidePanel(self.state, self.second_opinion)
        self.clahe_panel = side.clahe_panel
        self.results_panel = side.results_panel
        self.read_panel = side.read_panel
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([1240, 360])
        self.setCentralWidget(self.splitter)
        self.status_bar = StatusBarView(self.statusBar(), self.state)
        self.status_label = self.status_bar.status_label
        self.info_label = self.status_bar.info_label
        self.busy_bar = self.status_bar.busy_bar
        self.skipped_button = self.status_bar.skipped_button
        self.skipped_button.clicked.connect(self.dialogs.show_skipped)

    def _build_controllers(self) -> None:
        self.grouping = GroupingController(self.state)
        self.enhance = EnhanceController(
            self.state, self.settings, self.views, self.clahe_panel, self.workers, parent=self
        )
        self.enhance.enhanced_ready.connect(self.enhanced_ready)
        self.enhance.busy_changed.connect(self._update_busy)
        self.analysis = AnalysisController(
            self.state, self.settings, self.results_panel, self.workers, parent=self
        )
        self.analysis.models_found.connect(self.models_found)
        self.analysis.analysis_finished.connect(self.analysis_finished)
        self.analysis.busy_changed.connect(self._update_busy)
        self.opening = OpeningController(
            self.state, self.settings, self.workers, self.status_bar, self.enhance, parent=self
        )
        self.opening.studies_loaded.connect(self.studies_loaded)
        self.opening.busy_changed.connect(self._update_busy)

    def _build_menus(self) -> None:
        self.actions_by_id, submenus = build_menus(self)
        self.recent_menu = submenus[RECENT]
        self._fill_recent_menu()
        self.wl_action = self.actions_by_id["wl_mode"]
        self.clahe_action = self.actions_by_id["clahe"]
        self.heatmap_action = self.actions_by_id["heatmap"]
        self.reveal_action = self.actions_by_id["reveal_after_read"]
        self.reveal_action.setChecked(self.settings.reveal_ai == "after_read")
        self.measure = MeasureController(
            self.state, self.actions_by_id["ruler"], self.actions_by_id["angle"]
        )
        self.actions_by_id["patient_banner"].setChecked(self.settings.show_patient_banner)

    def _connect_state(self) -> None:
        s = self.state
        s.current_changed.connect(self._on_current_changed)
        s.views_reordered.connect(self._on_views_reordered)
        s.heatmap_changed.connect(self._on_heatmap_changed)
        s.shown_changed.connect(self.views.show_analysis)
        s.status.error_reported.connect(self._on_error_reported)
        self.views.active_changed.connect(self._on_active_changed)
        self.second_opinion.audit_failed.connect(s.status.show)

    # what other parts read ----------------------------------------------------------------
    @property
    def panels(self) -> list[ViewPanel]:
        return self.views.panels

    @property
    def active_panel(self) -> ViewPanel | None:
        return self.views.active_panel

    @property
    def model_specs(self) -> list[str] | None:
        """The model choices offered (None while still looking)."""
        return self.analysis.model_specs

    @property
    def last_error(self) -> str | None:
        return self.state.status.last_error

    @property
    def actions_with_shortcuts(self) -> list[QAction]:
        return [
            a for a in self.actions_by_id.values() if any(not k.isEmpty() for k in a.shortcuts())
        ]

    # opening ------------------------------------------------------------------------------
    def open_paths(self, paths: Sequence[str | Path], one_study: bool = False) -> Worker | None:
        """Read ``paths`` (files or folders) in a worker; the studies replace the open ones
        (after asking about reads begun and not submitted; None when the physician cancels).
        ``one_study``: plain images as one study per folder (the user's say-so)."""
        names = [str(p) for p in paths]
        if not names or not self.confirm_drafts("open"):
            return None
        worker = self.opening.open(names, one_study)
        self._fill_recent_menu()
        return worker

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.settings.recent))

    # studies and views --------------------------------------------------------------------
    def _on_current_changed(self, index: int) -> None:
        self.views.rebuild(self.enhance.enhanced)
        study = self.state.current_study
        if study is not None:
            self.state.status.show(
                f"Study {index + 1} of {len(self.state.studies)}: {len(study.views)} view(s)"
            )
            self.enhance.request()
            self.analysis.auto_run()

    def _on_views_reordered(self, study: Study) -> None:
        if study is self.state.current_study:
            self.views.rebuild(self.enhance.enhanced)

    def _on_active_changed(self, panel: ViewPanel) -> None:
        self.info_label.setText(image_info(panel.radiograph))

    def _on_active(self, fn: Callable[[ViewPanel], Any]) -> None:
        self.views.on_active(fn)

    def fit_all(self) -> None:
        self.views.fit_all()

    def apply_preset(self, name: str) -> None:
        """Window preset for every view ("DICOM default" = each radiograph's own window)."""
        self.views.apply_preset(name)
        self.state.status.show(f"Window: {name}")

    def set_wl_mode(self, on: bool) -> None:
        self.views.set_wl_mode(on)
        self.state.status.show("Left-drag sets window/level" if on else "Left-drag pans")

    def toggle_heatmap(self) -> None:
        self.state.set_heatmap(visible=not self.state.heatmap_visible)

    def _on_heatmap_changed(self) -> None:
        self.settings.heatmap_visible = self.state.heatmap_visible
        self.settings.heatmap_opacity = self.state.heatmap_opacity

    # models and AI (the analysis controller does the work) --------------------------------
    def refresh_models(self) -> None:
        self.analysis.refresh_models()

    def run_analysis(self) -> bool:
        """Analyse the current study with the chosen model, in a worker (one run at a time);
        True when the run starts (or waits for the model being loaded)."""
        return self.analysis.run()

    def cancel_analysis(self) -> None:
        self.analysis.cancel()

    def cancel_work(self) -> None:
        """Stop reading files and the AI run, whichever are going (and a measurement being
        placed)."""
        self.state.measurements.cancel()
        self.opening.cancel()
        self.analysis.cancel()

    def install_bundle(self, path: str | Path) -> Worker:
        """Install a bundle (checked by the AI layer) in a worker; the models are looked for
        again when it is in."""
        self.status_bar.set_indeterminate()
        return self.analysis.install_bundle(path)

    def open_case_set(self, folder: str | Path) -> TeachingWindow | None:
        """The quiz window on the case set in ``folder`` (None when it cannot be read)."""
        return self.dialogs.open_case_set(folder)

    def open_sample_case_set(self) -> TeachingWindow | None:
        return self.dialogs.open_sample_case_set()

    # errors and the busy state ------------------------------------------------------------
    def report_error(self, what: str, exc: BaseException) -> None:
        """Say "what: exc" in the status bar, and in a message box unless quiet or closing."""
        self.state.status.report_error(what, exc)

    def _on_error_reported(self, sentence: str) -> None:
        if not self._closing and self.isVisible() and not self.quiet_errors:
            QMessageBox(QMessageBox.Icon.Warning, "WristViewer", sentence, parent=self).open()

    def _update_busy(self) -> None:
        self.state.status.set_busy(self.is_busy())

    def is_busy(self) -> bool:
        """True while any job is queued or running (reading, CLAHE, models, inference)."""
        return bool(
            self.opening.loading or self.analysis.busy or self.enhance.busy or self.workers.active
        )

    # drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.handle_dropped(paths)
        event.acceptProposedAction()

    def handle_dropped(self, paths: Sequence[str]) -> None:
        """Bundles (``.safetensors``) are installed; everything else is opened."""
        bundles = [p for p in paths if p.lower().endswith(BUNDLE_SUFFIX)]
        others = [p for p in paths if p not in bundles]
        for path in bundles:
            self.install_bundle(path)
        if others:
            self.open_paths(others)

    # geometry, settings, shutdown ---------------------------------------------------------
    def available_geometry(self) -> QRect:
        """The available area (without task bars) of the screen the window is on."""
        return geometry.available_geometry(self)

    def fit_to_screen(self, available: QRect | None = None) -> None:
        """Open size for a fresh profile: :func:`initial_size` of ``available`` (default: this
        screen's available area), centred in it."""
        geometry.fit_to_screen(
            self, available if available is not None else self.available_geometry()
        )

    def save_settings(self) -> None:
        self.settings.geometry = geometry.saved_geometry(self)
        self.settings.set_clahe(self.state.clahe)
        self.settings.heatmap_opacity = self.state.heatmap_opacity
        self.settings.heatmap_visible = self.state.heatmap_visible
        try:
            self.settings.save()
        except OSError as exc:
            log.error("settings not saved: %s", exc)

    def ask_about_drafts(
        self, studies: Sequence[Study], then: str = "close"
    ) -> QMessageBox.StandardButton:
        """:func:`wristviewer.ui.drafts.ask_about_drafts` over this window."""
        return drafts.ask_about_drafts(self, self.state, studies, then)

    def confirm_drafts(self, then: str = "close") -> bool:
        """True when the window may ``then`` close (or open other studies): no read begun and
        unsubmitted, or the physician submitted or discarded them; Cancel goes back to the
        first such study."""
        return drafts.confirm_drafts(
            self.state, self.ask_about_drafts, self.read_panel.note_edit.setFocus, then
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._closing and not self.confirm_drafts():
            event.ignore()
            return
        self._closing = True
        self.analysis.closed = True
        if self.persist_settings:
            self.save_settings()
        self.enhance.cancel()
        self.workers.cancel_all()
        if not self.workers.wait_all(10.0):
            log.warning("workers still running at shutdown")
        for panel in self.panels:
            panel.detach()
        self.second_opinion.close()
        if self.teaching_window is not None:
            self.teaching_window.close()
        super().closeEvent(event)

    def describe(self) -> dict[str, Any]:
        """A few facts for logs and tests (no patient data)."""
        return {
            "studies": len(self.state.studies),
            "views": [anonymous(p.radiograph.path) for p in self.panels],
            "skipped": len(self.state.skipped),
        }
